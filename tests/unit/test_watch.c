/*
 * Unit tests for watch.c: when a device counts as at its target, and a table of verdicts for
 * plans in every situation (done, compliant, failed with a known or unknown reason, stuck,
 * late, in progress).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "jamf_pro.h"
#include "reasons.h"
#include "watch.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400L
#define NOW 1795000000L  /* 2026-11-18T11:06:40Z */

static struct jamf_device
mac(const char *version, const char *build, const char *supplemental)
{
	struct jamf_device d = {0};

	d.id = (char *)(uintptr_t)"7";
	d.version = (char *)(uintptr_t)version;
	d.build = (char *)(uintptr_t)build;
	d.supplemental_build = (char *)(uintptr_t)supplemental;
	return d;
}

static void
test_at_target(void **state)
{
	struct jamf_device base = mac("26.3.1", "25D2128", "25D2128"),
	    on_a = mac("26.3.1", "25D2128", "25D771280a"),
	    on_b = mac("26.3.1", "25D2128", "25D771280b"),
	    later = mac("26.3.1", "25D2128", "25D771300b"),
	    other_train = mac("26.3.1", "25D2128", "25E771300a"),
	    newer = mac("26.4", "25E100", "25E100"),
	    older = mac("26.2", "25C56", NULL),
	    blank = mac(NULL, NULL, NULL);

	(void)state;
	assert_false(watch_at_target(&base, "26.3.1", "25D771280a"));
	assert_true(watch_at_target(&on_a, "26.3.1", "25D771280a"));
	assert_true(watch_at_target(&on_b, "26.3.1", "25D771280a"));   /* (b) is past (a) */
	/* a later BSI on the same base has a later build, whatever its number */
	assert_true(watch_at_target(&later, "26.3.1", "25D771280a"));
	assert_false(watch_at_target(&other_train, "26.3.1", "25D771280a"));
	assert_false(watch_at_target(&on_a, "26.3.1", "25D771290b"));  /* another number */
	assert_true(watch_at_target(&newer, "26.3.1", "25D771280a"));  /* a newer base */
	assert_true(watch_at_target(&base, "26.3.1", NULL));           /* a base update reached */
	assert_false(watch_at_target(&older, "26.3.1", NULL));
	assert_false(watch_at_target(&blank, "26.3.1", NULL));
	assert_false(watch_at_target(NULL, "26.3.1", NULL));
}

static void
test_verdicts(void **state)
{
	struct jamf_device base = mac("26.3.1", "25D2128", "25D2128"),
	    on_a = mac("26.3.1", "25D2128", "25D771280a");
	struct config_watch w = {.stuck_after = 3 * DAY, .stuck_pending_after = 2 * 3600,
		.deadline_grace = DAY};
	static const char future[] = "2026-11-20T18:00:00", past[] = "2026-11-15T18:00:00",
	    just_past[] = "2026-11-18T08:00:00";
	const struct {
		const struct jamf_device *device;
		const char *state, *reason, *deadline;
		long since_days;
		enum watch_class want;
		const char *note;
	} cases[] = {
		{&on_a, "PlanCompleted", NULL, future, 1, WATCH_DONE, "inventory shows 26.3.1"},
		/* inventory first: a device at the target is done, whatever the plan says */
		{&on_a, "WaitingToStartDDMUpdate", NULL, past, 9, WATCH_DONE, NULL},
		{&on_a, "PlanFailed", "DOWNGRADE_NOT_SUPPORTED", future, 1, WATCH_COMPLIANT,
		    "the plan failed with DOWNGRADE_NOT_SUPPORTED"},
		/* DOWNGRADE_NOT_SUPPORTED while inventory shows it below the target: a failure */
		{&base, "PlanFailed", "DOWNGRADE_NOT_SUPPORTED", future, 1, WATCH_FAILED,
		    "DOWNGRADE_NOT_SUPPORTED: "},
		{&base, "PlanFailed", "NO_DISK_SPACE", future, 1, WATCH_FAILED, "NO_DISK_SPACE: "},
		{&base, "PlanFailed", "SOMETHING_NEW_IN_JAMF", future, 1, WATCH_FAILED,
		    "SOMETHING_NEW_IN_JAMF: (a reason bridge does not know"},
		{&base, "PlanCanceled", NULL, future, 1, WATCH_FAILED, "PlanCanceled"},
		{&base, "PlanException", NULL, future, 1, WATCH_FAILED, "PlanException"},
		/* failed wins over late */
		{&base, "PlanFailed", "NO_DISK_SPACE", past, 9, WATCH_FAILED, NULL},
		{&base, "WaitingToStartDDMUpdate", NULL, past, 1, WATCH_LATE,
		    "deadline 2026-11-15T18:00:00 passed 2d ago"},
		/* within the grace: not late yet */
		{&base, "WaitingToStartDDMUpdate", NULL, just_past, 1, WATCH_IN_PROGRESS, NULL},
		{&base, "WaitingToStartDDMUpdate", NULL, future, 4, WATCH_STUCK,
		    "WaitingToStartDDMUpdate for 4d"},
		{&base, "WaitingToStartDDMUpdate", NULL, future, 2, WATCH_IN_PROGRESS, NULL},
		/* not validated after a day: stuck long before stuck_after */
		{&base, "PendingPlanValidation", NULL, future, 1, WATCH_STUCK,
		    "PendingPlanValidation for 1d"},
		/* Jamf completed it but inventory has not caught up: not stuck, not done */
		{&base, "PlanCompleted", NULL, future, 9, WATCH_IN_PROGRESS,
		    "inventory does not show the target yet"},
		{&base, NULL, NULL, future, 0, WATCH_IN_PROGRESS, "not seen in Jamf yet"},
		/* gone from inventory: never done */
		{NULL, "PlanCompleted", NULL, future, 1, WATCH_IN_PROGRESS, NULL},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct watch_item it = {cases[i].device, "26.3.1", "25D771280a", cases[i].deadline,
			cases[i].state, cases[i].reason, NOW - cases[i].since_days * DAY};
		struct watch_verdict v, quiet;
		char note[WATCH_NOTE_BYTES] = "";

		watch_classify(&it, &w, NOW, &v, note, sizeof(note));
		if (v.cls != cases[i].want)
			fail_msg("case %zu: got %s (%s), want %s", i, watch_class_name(v.cls), note,
			    watch_class_name(cases[i].want));
		if (cases[i].note != NULL && strstr(note, cases[i].note) == NULL)
			fail_msg("case %zu: note \"%s\" lacks \"%s\"", i, note, cases[i].note);
		/* without a note buffer: the same verdict */
		watch_classify(&it, &w, NOW, &quiet, NULL, 0);
		assert_int_equal(quiet.cls, v.cls);
		assert_ptr_equal(quiet.info, v.info);
	}
	{
		struct watch_item it = {&base, "26.3.1", "25D771280a", future, "PlanFailed",
			"NO_DISK_SPACE", NOW};
		struct watch_verdict v;
		char note[WATCH_NOTE_BYTES];

		watch_classify(&it, &w, NOW, &v, note, sizeof(note));
		assert_non_null(v.info);
		assert_string_equal(v.info->code, "NO_DISK_SPACE");
		assert_non_null(strstr(note, v.info->explanation));
	}
	assert_string_equal(watch_class_name(WATCH_COMPLIANT), "compliant");
	assert_string_equal(watch_class_name(WATCH_NCLASSES), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_at_target),
		cmocka_unit_test(test_verdicts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
