/*
 * Unit tests for notify.c's decision: what one webhook hears, given what it was told before
 * and the problems of this run (new, repeated after repeat_after, resolved, quiet), and which
 * problems are its business (events, the policy's alerts list).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <cmocka.h>

#include "config.h"
#include "notify.h"

#define HOUR 3600L
#define NOW 1795000000L

static void
test_decide(void **state)
{
	struct config_alert ops = {.name = (char *)(uintptr_t)"ops", .events =
		CONFIG_EVENT_PLAN_FAILED | CONFIG_EVENT_PLAN_STUCK | CONFIG_EVENT_RESOLVED,
		.repeat_after = 24 * HOUR, .max_devices = 2};
	struct config_alert quiet = ops;
	struct notify_list l = {.max_names = 2};
	struct notify_said said[2];
	struct notify_memory mem = {said, 0};
	struct notify_digest d;

	(void)state;
	quiet.name = (char *)(uintptr_t)"quiet";
	quiet.events = CONFIG_EVENT_PLAN_FAILED;
	/* three devices share one problem; a second problem; a feed error nobody subscribed to */
	assert_int_equal(notify_add(&l, CONFIG_EVENT_PLAN_FAILED, "t", "macs", "26.3.1 25D771280a",
	    "NO_DISK_SPACE", "e", "h", "Ann (1)", "https://j/computers.html?id=1&o=r"), 0);
	assert_int_equal(notify_add(&l, CONFIG_EVENT_PLAN_FAILED, "t", "macs", "26.3.1 25D771280a",
	    "NO_DISK_SPACE", "e", "h", "Bob (2)", NULL), 0);
	assert_int_equal(notify_add(&l, CONFIG_EVENT_PLAN_FAILED, "t", "macs", "26.3.1 25D771280a",
	    "NO_DISK_SPACE", "e", "h", "Cy (3)", NULL), 0);
	assert_int_equal(notify_add(&l, CONFIG_EVENT_PLAN_STUCK, "t", "macs", "26.3.1 25D771280a",
	    "WaitingToStartDDMUpdate", NULL, NULL, "Di (4)", NULL), 0);
	assert_int_equal(notify_add(&l, CONFIG_EVENT_FEED_ERROR, NULL, NULL, NULL, "feed down",
	    NULL, NULL, NULL, NULL), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].devices, 3);
	assert_int_equal(l.v[0].nnames, 2);  /* max_names */
	assert_string_equal(l.v[0].names[1], "Bob (2)");
	assert_string_equal(l.v[0].fingerprint, "plan_failed|t|macs|26.3.1 25D771280a|NO_DISK_SPACE");

	/* nothing said before: both of ops's problems are new; quiet hears only the failure */
	assert_int_equal(notify_decide(&mem, &ops, &l, NOW, &d), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.counts[NOTIFY_NEW], 2);
	notify_digest_release(&d);
	assert_int_equal(notify_decide(&mem, &quiet, &l, NOW, &d), 0);
	assert_int_equal(d.n, 1);
	assert_ptr_equal(d.items[0].problem, &l.v[0]);
	notify_digest_release(&d);

	/* told of the failure an hour ago: quiet; 25 hours ago: repeated */
	said[0] = (struct notify_said){(char *)(uintptr_t)"ops", l.v[0].fingerprint,
		CONFIG_EVENT_PLAN_FAILED, NULL, NULL, NULL, NULL, 3, NOW - HOUR, NOW - HOUR};
	/* and of a problem that is gone */
	said[1] = (struct notify_said){(char *)(uintptr_t)"ops",
		(char *)(uintptr_t)"plan_failed|t|macs|26.3.1 25D771280a|NOT_SUPERVISED",
		CONFIG_EVENT_PLAN_FAILED, (char *)(uintptr_t)"t", (char *)(uintptr_t)"macs", NULL,
		NULL, 1, NOW - HOUR, NOW - HOUR};
	mem.n = 2;
	assert_int_equal(notify_watched(&l, "t", "macs", 0), 0);  /* this run looked at it */
	assert_int_equal(notify_decide(&mem, &ops, &l, NOW, &d), 0);
	assert_int_equal(d.counts[NOTIFY_NEW], 1);       /* the stuck one */
	assert_int_equal(d.counts[NOTIFY_REPEATED], 0);
	assert_int_equal(d.counts[NOTIFY_RESOLVED], 1);
	notify_digest_release(&d);
	said[0].last_sent = NOW - 25 * HOUR;
	assert_int_equal(notify_decide(&mem, &ops, &l, NOW, &d), 0);
	assert_int_equal(d.counts[NOTIFY_REPEATED], 1);
	notify_digest_release(&d);

	/* without the resolved event, a cleared problem is not announced */
	ops.events &= ~(unsigned)CONFIG_EVENT_RESOLVED;
	assert_int_equal(notify_decide(&mem, &ops, &l, NOW, &d), 0);
	assert_int_equal(d.counts[NOTIFY_RESOLVED], 0);
	notify_digest_release(&d);

	/* what another webhook was told is not this one's */
	assert_int_equal(notify_decide(&mem, &quiet, &l, NOW, &d), 0);
	assert_int_equal(d.counts[NOTIFY_NEW], 1);
	notify_digest_release(&d);
	notify_list_release(&l);
}

static void
test_policy_subscription(void **state)
{
	struct config_alert ops = {.name = (char *)(uintptr_t)"ops",
		.events = CONFIG_EVENT_PLAN_FAILED, .repeat_after = HOUR};
	char *only_mac_ops[] = {(char *)(uintptr_t)"mac-ops"};
	struct config_policy policy = {.name = (char *)(uintptr_t)"macs"};
	struct config_tenant tenant = {.name = (char *)(uintptr_t)"t", .policies = &policy,
		.npolicies = 1};
	struct config cfg = {.tenants = &tenant, .ntenants = 1};
	struct notify_list l = {.cfg = &cfg};
	struct notify_memory mem = {NULL, 0};
	struct notify_digest d;

	(void)state;
	assert_int_equal(notify_add(&l, CONFIG_EVENT_PLAN_FAILED, "t", "macs", "x", "R", NULL,
	    NULL, "Ann (1)", NULL), 0);
	/* a policy without an alerts list tells every webhook */
	assert_int_equal(notify_decide(&mem, &ops, &l, NOW, &d), 0);
	assert_int_equal(d.n, 1);
	notify_digest_release(&d);
	/* one that names other webhooks does not tell this one */
	policy.alerts.v = only_mac_ops;
	policy.alerts.n = 1;
	assert_int_equal(notify_decide(&mem, &ops, &l, NOW, &d), 0);
	assert_int_equal(d.n, 0);
	notify_digest_release(&d);
	notify_list_release(&l);
}

/* Only what this run looked at can be found gone: a failed or skipped policy stays as it was. */
static void
test_resolved_only_in_scope(void **state)
{
	struct config_alert ops = {.name = (char *)(uintptr_t)"ops", .events =
		CONFIG_EVENT_PLAN_FAILED | CONFIG_EVENT_RESOLVED, .repeat_after = HOUR};
	struct notify_list l = {.max_names = 2};
	struct notify_said said = {(char *)(uintptr_t)"ops",
		(char *)(uintptr_t)"plan_failed|t|macs|x|R", CONFIG_EVENT_PLAN_FAILED,
		(char *)(uintptr_t)"t", (char *)(uintptr_t)"macs", (char *)(uintptr_t)"x",
		(char *)(uintptr_t)"R", 3, NOW - HOUR, NOW - HOUR};
	struct notify_memory mem = {&said, 1};
	struct notify_digest d;

	(void)state;
	/* this run did not look at policy macs (its tenant failed, or --policy left it out) */
	assert_int_equal(notify_watched(&l, "t", "ipads", 0), 0);
	assert_int_equal(notify_decide(&mem, &ops, &l, NOW, &d), 0);
	assert_int_equal(d.n, 0);
	notify_digest_release(&d);
	/* it did, and the problem is gone: resolved */
	assert_int_equal(notify_watched(&l, "t", "macs", 0), 0);
	assert_int_equal(notify_decide(&mem, &ops, &l, NOW, &d), 0);
	assert_int_equal(d.counts[NOTIFY_RESOLVED], 1);
	notify_digest_release(&d);
	/* a webhook that no longer follows plan_failed is not told it cleared */
	ops.events = CONFIG_EVENT_PLAN_STUCK | CONFIG_EVENT_RESOLVED;
	assert_int_equal(notify_decide(&mem, &ops, &l, NOW, &d), 0);
	assert_int_equal(d.n, 0);
	notify_digest_release(&d);
	notify_list_release(&l);
}

/*
 * Tenants run side by side fill their own lists; taken into the run's, their problems and
 * what they looked at count as if made there: tenant a's problem is new, b's cleared one is
 * resolved, and a tenant's list is left empty.
 */
static void
test_take_joins_tenants(void **state)
{
	struct config_alert ops = {.name = (char *)(uintptr_t)"ops", .events =
		CONFIG_EVENT_PLAN_FAILED | CONFIG_EVENT_RESOLVED, .repeat_after = HOUR};
	struct notify_list run = {.max_names = 2}, a = {.max_names = 2}, b = {.max_names = 2};
	struct notify_said said = {(char *)(uintptr_t)"ops",
		(char *)(uintptr_t)"plan_failed|b|macs|x|R", CONFIG_EVENT_PLAN_FAILED,
		(char *)(uintptr_t)"b", (char *)(uintptr_t)"macs", (char *)(uintptr_t)"x",
		(char *)(uintptr_t)"R", 3, NOW - HOUR, NOW - HOUR};
	struct notify_memory mem = {&said, 1};
	struct notify_digest d;

	(void)state;
	assert_int_equal(notify_add(&a, CONFIG_EVENT_PLAN_FAILED, "a", "macs", "x", "R", NULL,
	    NULL, "Ann's Mac (1)", NULL), 0);
	assert_int_equal(notify_watched(&a, "a", "macs", 0), 0);
	assert_int_equal(notify_watched(&b, "b", "macs", 0), 0);
	assert_int_equal(notify_list_take(&run, &a), 0);
	assert_int_equal(notify_list_take(&run, &b), 0);
	assert_int_equal(a.n + a.nscopes + b.n + b.nscopes, 0);
	assert_null(a.v);
	assert_int_equal(run.n, 1);
	assert_string_equal(run.v[0].tenant, "a");
	assert_string_equal(run.v[0].names[0], "Ann's Mac (1)");
	assert_int_equal(notify_decide(&mem, &ops, &run, NOW, &d), 0);
	assert_int_equal(d.counts[NOTIFY_NEW], 1);
	assert_int_equal(d.counts[NOTIFY_RESOLVED], 1);
	notify_digest_release(&d);
	notify_list_release(&a);
	notify_list_release(&b);
	notify_list_release(&run);
}

/* Each webhook lists its own max_devices names; cut names stay valid UTF-8. */
static void
test_names_per_webhook(void **state)
{
	struct config_alert few = {.name = (char *)(uintptr_t)"few", .kind = CONFIG_ALERT_JSON,
		.events = CONFIG_EVENT_PLAN_FAILED, .repeat_after = HOUR, .max_devices = 1};
	struct notify_list l = {.max_names = 5};
	struct notify_memory mem = {NULL, 0};
	struct notify_digest d;
	const cJSON *p, *names;
	cJSON *root;
	char err[512], *body, cut[8];

	(void)state;
	/* "Zoë" cut after the first byte of the "ë": as a fixed buffer would leave it */
	snprintf(cut, sizeof(cut), "Zo%c", "\xc3\xab"[0]);
	assert_int_equal(notify_add(&l, CONFIG_EVENT_PLAN_FAILED, "t", "macs", "x", "R", NULL,
	    NULL, cut, NULL), 0);
	assert_int_equal(notify_add(&l, CONFIG_EVENT_PLAN_FAILED, "t", "macs", "x", "R", NULL,
	    NULL, "Bad \xff byte", NULL), 0);
	assert_int_equal(notify_add(&l, CONFIG_EVENT_PLAN_FAILED, "t", "macs", "x", "R", NULL,
	    NULL, "Cy", NULL), 0);
	assert_string_equal(l.v[0].names[0], "Zo");
	assert_string_equal(l.v[0].names[1], "Bad ? byte");
	assert_int_equal(notify_decide(&mem, &few, &l, NOW, &d), 0);
	body = notify_render(&d, NOW, err, sizeof(err));
	if (body == NULL)
		fail_msg("%s", err);
	assert_non_null(root = cJSON_Parse(body));
	p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "digest"), "new"), 0);
	assert_non_null(names = cJSON_GetObjectItemCaseSensitive(p, "device_names"));
	assert_int_equal(cJSON_GetArraySize(names), 1);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "devices")->valueint, 3);
	assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(root, "text")->valuestring,
	    "Devices: Zo and 2 more"));
	cJSON_Delete(root);
	free(body);
	notify_digest_release(&d);
	notify_list_release(&l);
}

/* A digest of many problems with long device lists still fits Slack's limits. */
static void
test_slack_limits(void **state)
{
	struct config_alert slack = {.name = (char *)(uintptr_t)"s", .kind = CONFIG_ALERT_SLACK,
		.events = CONFIG_EVENT_PLAN_FAILED, .repeat_after = HOUR, .max_devices = 100};
	struct notify_list l = {.max_names = 100};
	struct notify_memory mem = {NULL, 0};
	struct notify_digest d;
	const cJSON *blocks, *b;
	cJSON *root;
	char err[512], *body;
	int n = 0;

	(void)state;
	for (int p = 0; p < 60; p++)
		for (int k = 0; k < 100; k++) {
			char reason[32], name[96];

			snprintf(reason, sizeof(reason), "REASON_%d", p);
			snprintf(name, sizeof(name), "A rather long device name, number %d <%d> & co", k,
			    p);
			assert_int_equal(notify_add(&l, CONFIG_EVENT_PLAN_FAILED, "t", "macs", "x",
			    reason, NULL, NULL, name, "https://jamf.example/computers.html?id=1&o=r"),
			    0);
		}
	assert_int_equal(notify_decide(&mem, &slack, &l, NOW, &d), 0);
	assert_int_equal(d.n, 60);
	body = notify_render(&d, NOW, err, sizeof(err));
	if (body == NULL)
		fail_msg("%s", err);
	assert_non_null(root = cJSON_Parse(body));
	assert_non_null(blocks = cJSON_GetObjectItemCaseSensitive(root, "blocks"));
	assert_int_equal(cJSON_GetArraySize(blocks), 50);
	cJSON_ArrayForEach(b, blocks) {
		const char *text = cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(b, "text"), "text")->valuestring;

		assert_true(strlen(text) <= 3000);
		assert_null(strstr(text, "<0>"));  /* Slack's <, > and & are escaped in names */
		if (++n == 50)
			assert_non_null(strstr(text, "and 12 more problems"));
	}
	/* the text fallback has them all */
	assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(root, "text")->valuestring,
	    "REASON_59"));
	cJSON_Delete(root);
	free(body);
	notify_digest_release(&d);
	notify_list_release(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_policy_subscription),
		cmocka_unit_test(test_slack_limits),
		cmocka_unit_test(test_resolved_only_in_scope),
		cmocka_unit_test(test_names_per_webhook),
		cmocka_unit_test(test_take_joins_tenants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
