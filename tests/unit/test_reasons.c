/*
 * Unit tests for reasons.c: the catalogue covers exactly the PlanStatus enums of Jamf Pro
 * 11.25.2 (fixtures/jamf/jamf-pro-11.25.2-enums.json), its sentences are fit for an alert, and
 * the plan states fall into the right phases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "fileio.h"
#include "reasons.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ENUMS_FILE FIXTURES "/jamf/jamf-pro-11.25.2-enums.json"
#define ENUMS_MAX_BYTES (1024 * 1024)
#define SENTENCE_MAX_CHARS 200

struct enums {
	char *text;
	cJSON *root;
	const cJSON *reasons;  /* PlanStatus.errorReasons: array of strings */
	const cJSON *states;   /* PlanStatus.state */
};

/* The enumValues of the one entry for schema PlanStatus and this field, or NULL. */
static const cJSON *
plan_status_enum(const cJSON *root, const char *field)
{
	const cJSON *entry, *found = NULL, *v;

	cJSON_ArrayForEach(entry, root) {
		const cJSON *schema = cJSON_GetObjectItemCaseSensitive(entry, "schema");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "field");

		if (!cJSON_IsString(schema) || strcmp(schema->valuestring, "PlanStatus") != 0 ||
		    !cJSON_IsString(name) || strcmp(name->valuestring, field) != 0)
			continue;
		if (found != NULL)
			return NULL;  /* two answers: the fixture is not what we think */
		found = cJSON_GetObjectItemCaseSensitive(entry, "enumValues");
	}
	if (!cJSON_IsArray(found))
		return NULL;
	cJSON_ArrayForEach(v, found)
		if (!cJSON_IsString(v))
			return NULL;
	return found;
}

static int
teardown(void **state)
{
	struct enums *e = *state;

	if (e != NULL) {
		cJSON_Delete(e->root);
		free(e->text);
		free(e);
	}
	*state = NULL;
	return 0;
}

/* Load the enums once for the group; -1 (every test skipped) when they are not as expected. */
static int
setup(void **state)
{
	struct enums *e = calloc(1, sizeof(*e));
	size_t len;

	*state = e;
	if (e == NULL || fileio_read(ENUMS_FILE, ENUMS_MAX_BYTES, &e->text, &len) != FILEIO_OK ||
	    (e->root = cJSON_ParseWithLength(e->text, len)) == NULL ||
	    (e->reasons = plan_status_enum(e->root, "errorReasons")) == NULL ||
	    (e->states = plan_status_enum(e->root, "state")) == NULL) {
		fprintf(stderr, "%s: missing, unreadable or without the PlanStatus enums\n",
		    ENUMS_FILE);
		teardown(state);
		return -1;
	}
	return 0;
}

/* Whether s is one of the strings of the array. */
static bool
in_enum(const cJSON *values, const char *s)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, values)
		if (strcmp(v->valuestring, s) == 0)
			return true;
	return false;
}

/* Every reason Jamf can send is explained, and the catalogue invents none. */
static void
test_catalogue_matches_enum(void **state)
{
	const struct enums *e = *state;
	const struct reason_info *all, *r;
	const cJSON *v;
	size_t n;

	all = reason_all(&n);
	assert_int_equal(cJSON_GetArraySize(e->reasons), 44);
	assert_int_equal(n, 44);
	cJSON_ArrayForEach(v, e->reasons) {
		if ((r = reason_lookup(v->valuestring)) == NULL)
			fail_msg("no catalogue entry for %s", v->valuestring);
		assert_string_equal(r->code, v->valuestring);
	}
	for (size_t i = 0; i < n; i++)
		if (!in_enum(e->reasons, all[i].code))
			fail_msg("%s is not a PlanStatus.errorReasons value", all[i].code);
}

/* bsearch needs strict strcmp order (which also rules out duplicates). */
static void
test_catalogue_sorted(void **state)
{
	const struct reason_info *all;
	size_t n;

	(void)state;
	all = reason_all(&n);
	for (size_t i = 1; i < n; i++)
		if (strcmp(all[i - 1].code, all[i].code) >= 0)
			fail_msg("out of order: %s before %s", all[i - 1].code, all[i].code);
	for (size_t i = 0; i < n; i++)
		assert_ptr_equal(reason_lookup(all[i].code), &all[i]);
}

/* One sentence fit for a Slack or Teams alert: ASCII, short, trimmed, ending with a period. */
static void
check_sentence(const char *code, const char *what, const char *s)
{
	size_t len;

	assert_non_null(s);
	len = strlen(s);
	if (len == 0 || len >= SENTENCE_MAX_CHARS)
		fail_msg("%s: %s is %zu characters", code, what, len);
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			fail_msg("%s: %s has byte 0x%02x at %zu", code, what,
			    (unsigned char)s[i], i);
	if (s[0] == ' ' || strstr(s, "  ") != NULL || strstr(s, " .") != NULL)
		fail_msg("%s: %s has stray spaces: \"%s\"", code, what, s);
	if (s[len - 1] != '.')
		fail_msg("%s: %s does not end with a period: \"%s\"", code, what, s);
	if (!(s[0] >= 'A' && s[0] <= 'Z') && strncmp(s, "bridge ", 7) != 0)
		fail_msg("%s: %s starts in lower case: \"%s\"", code, what, s);
}

static void
test_sentences(void **state)
{
	const struct reason_info *all;
	size_t n;

	(void)state;
	all = reason_all(&n);
	for (size_t i = 0; i < n; i++) {
		check_sentence(all[i].code, "explanation", all[i].explanation);
		check_sentence(all[i].code, "hint", all[i].hint);
		if (strcmp(all[i].explanation, all[i].hint) == 0)
			fail_msg("%s: the hint repeats the explanation", all[i].code);
		assert_string_not_equal(reason_kind_name(all[i].kind), "?");
	}
}

/* The reasons bridge acts on differently: not alerting, retrying, or alerting once. */
static void
test_kinds(void **state)
{
	static const struct {
		const char *code;
		enum reason_kind kind;
	} cases[] = {
		{"DOWNGRADE_NOT_SUPPORTED", REASON_COMPLIANT},
		{"NO_UPDATES_AVAILABLE", REASON_COMPLIANT},
		{"EXISTING_PLAN_FOR_DEVICE_IN_PROGRESS", REASON_TRANSIENT},
		{"APPLE_SOFTWARE_LOOKUP_SERVICE_ERROR", REASON_TRANSIENT},
		{"NO_DISK_SPACE", REASON_DEVICE},
		{"NO_DEVICE_STATUS_BY_GRACE_PERIOD", REASON_DEVICE},
		{"APPLE_SILICON_NO_ESCROW_KEY", REASON_DEVICE},
		{"NOT_SUPERVISED", REASON_DEVICE},
		{"SPECIFIC_VERSION_UNAVAILABLE", REASON_DEVICE},
		{"INVALID_CONFIGURATION_DECLARATION", REASON_SETUP},
	};
	const struct reason_info *r;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		assert_non_null(r = reason_lookup(cases[i].code));
		assert_string_equal(reason_kind_name(r->kind), reason_kind_name(cases[i].kind));
	}
	r = reason_lookup("APPLE_SILICON_NO_ESCROW_KEY");
	assert_non_null(strstr(r->hint, "profiles install -type bootstraptoken"));
}

/* Anything else is shown verbatim by the caller: exact, case-sensitive, no prefixes. */
static void
test_unknown_codes(void **state)
{
	static const char *const codes[] = {
		"NOT_A_REASON", "", "downgrade_not_supported", "DOWNGRADE_NOT_SUPPORTED ",
		" DOWNGRADE_NOT_SUPPORTED", "DOWNGRADE", "DOWNGRADE_NOT_SUPPORTED_X", "Unknown",
		"AAA", "ZZZ",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(codes); i++)
		if (reason_lookup(codes[i]) != NULL)
			fail_msg("\"%s\" found", codes[i]);
	assert_null(reason_lookup(NULL));
}

/* Every state Jamf lists has a phase; only "Unknown" is unknown. */
static void
test_states_match_enum(void **state)
{
	const struct enums *e = *state;
	const char *const *all;
	const cJSON *v;
	size_t n;

	all = plan_states_all(&n);
	assert_int_equal(cJSON_GetArraySize(e->states), 32);
	assert_int_equal(n, 32);
	cJSON_ArrayForEach(v, e->states) {
		enum plan_phase p = plan_phase_of(v->valuestring);

		if (strcmp(v->valuestring, "Unknown") == 0)
			assert_int_equal(p, PLAN_UNKNOWN);
		else if (p == PLAN_UNKNOWN)
			fail_msg("state %s has no phase", v->valuestring);
	}
	for (size_t i = 0; i < n; i++)
		if (!in_enum(e->states, all[i]))
			fail_msg("%s is not a PlanStatus.state value", all[i]);
}

static void
test_phases(void **state)
{
	static const struct {
		const char *state;
		enum plan_phase phase;
	} cases[] = {
		{"Init", PLAN_PENDING},
		{"PendingPlanValidation", PLAN_PENDING},
		{"AcceptingPlan", PLAN_IN_PROGRESS},
		{"RejectingPlan", PLAN_IN_PROGRESS},  /* not final until PlanFailed */
		{"WaitingToStartDDMUpdate", PLAN_IN_PROGRESS},
		{"CollectingOSUpdateStatus", PLAN_IN_PROGRESS},
		{"VerifyingInstallation", PLAN_IN_PROGRESS},
		{"PlanCompleted", PLAN_COMPLETED},
		{"PlanFailed", PLAN_FAILED},
		{"PlanException", PLAN_FAILED},
		{"PlanCanceled", PLAN_CANCELED},
		{"Unknown", PLAN_UNKNOWN},
		{"Bogus", PLAN_UNKNOWN},
		{"", PLAN_UNKNOWN},
		{"plancompleted", PLAN_UNKNOWN},
		{"PlanCompleted ", PLAN_UNKNOWN},
		{"PLAN_COMPLETED", PLAN_UNKNOWN},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++)
		if (plan_phase_of(cases[i].state) != cases[i].phase)
			fail_msg("\"%s\": %s, want %s", cases[i].state,
			    plan_phase_name(plan_phase_of(cases[i].state)),
			    plan_phase_name(cases[i].phase));
	assert_int_equal(plan_phase_of(NULL), PLAN_UNKNOWN);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(reason_kind_name(REASON_DEVICE), "device");
	assert_string_equal(reason_kind_name(REASON_SETUP), "setup");
	assert_string_equal(reason_kind_name(REASON_TRANSIENT), "transient");
	assert_string_equal(reason_kind_name(REASON_COMPLIANT), "compliant");
	assert_string_equal(reason_kind_name((enum reason_kind)99), "?");
	assert_string_equal(plan_phase_name(PLAN_PENDING), "pending");
	assert_string_equal(plan_phase_name(PLAN_IN_PROGRESS), "in_progress");
	assert_string_equal(plan_phase_name(PLAN_COMPLETED), "completed");
	assert_string_equal(plan_phase_name(PLAN_FAILED), "failed");
	assert_string_equal(plan_phase_name(PLAN_CANCELED), "canceled");
	assert_string_equal(plan_phase_name(PLAN_UNKNOWN), "unknown");
	assert_string_equal(plan_phase_name((enum plan_phase)99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue_matches_enum),
		cmocka_unit_test(test_catalogue_sorted),
		cmocka_unit_test(test_sentences),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_unknown_codes),
		cmocka_unit_test(test_states_match_enum),
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
