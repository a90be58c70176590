/* Unit tests for idle.c: when a sync may leave a tenant alone, and when it may not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "gdmf.h"
#include "idle.h"

#define HOUR 3600
#define NOW ((time_t)1795176000)

struct fixture {
	char dir[64];
	char policy[96];
	char template[96];
	struct config cfg;
	struct config_tenant tenant;
	struct config_policy own;   /* a policy with its own plan template */
	struct gdmf_entry entry;
	char *devices[2];
	struct gdmf_feed feed;
	char text[10][32];   /* the strings the entry points at */
};

/* fx->text[i], set to s. */
static char *
text(struct fixture *fx, int i, const char *s)
{
	snprintf(fx->text[i], sizeof(fx->text[i]), "%s", s);
	return fx->text[i];
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *
file_in(const struct fixture *fx, const char *name)
{
	static char path[160];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	return path;
}

/* A state folder with a state file and an empty journal, a policy file, a one-BSI feed. */
static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/bridge-idle-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	write_file(file_in(fx, "state.json"), "{}\n");
	write_file(file_in(fx, "journal.jsonl"), "");
	snprintf(fx->policy, sizeof(fx->policy), "%s/bridge.yaml", fx->dir);
	write_file(fx->policy, "state_dir: .\n");
	fx->cfg.path = fx->policy;
	fx->cfg.digest = 42;        /* config_load() sets it from the text it parsed */
	snprintf(fx->template, sizeof(fx->template), "%s/plan.json", fx->dir);
	write_file(fx->template, "{\"a\": 1}\n");
	fx->own.templates.plan = fx->template;
	fx->tenant.policies = &fx->own;
	fx->tenant.npolicies = 1;
	fx->cfg.tenants = &fx->tenant;
	fx->cfg.ntenants = 1;
	fx->devices[0] = text(fx, 0, "Mac16,1");
	fx->devices[1] = text(fx, 1, "Mac16,2");
	fx->entry = (struct gdmf_entry){GDMF_LIST_BSI, text(fx, 2, "macOS"),
		text(fx, 3, "26.3.1"), text(fx, 4, "(a)"), text(fx, 5, "25D771280a"),
		text(fx, 6, "25D2128"), text(fx, 7, "2026-03-17"), NULL, fx->devices, 2};
	fx->feed = (struct gdmf_feed){&fx->entry, 1, 0, text(fx, 8, "test"), NOW};
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	const char *names[] = {"state.json", "journal.jsonl", "watched.json", "bridge.yaml",
	    "plan.json", "metrics.prom"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		(void)unlink(file_in(fx, names[i]));
	assert_int_equal(rmdir(fx->dir), 0);
	free(fx);
	return 0;
}

static struct idle_inputs
inputs(const struct fixture *fx)
{
	struct idle_inputs in;

	idle_inputs(&fx->cfg, &fx->feed, &in);
	return in;
}

/* After a full run is noted, a run within the interval is idle; never with interval 0. */
static void
test_noted_then_idle(void **state)
{
	struct fixture *fx = *state;
	struct idle_inputs in = inputs(fx);
	char err[256];
	time_t at = 0;

	assert_false(idle_check(fx->dir, HOUR, &in, NOW, &at));  /* nothing noted yet */
	assert_int_equal(idle_note(fx->dir, &in, NOW, err, sizeof(err)), 0);
	assert_true(idle_check(fx->dir, HOUR, &in, NOW + 60, &at));
	assert_true(at == NOW);
	assert_false(idle_check(fx->dir, 0, &in, NOW + 60, &at));
	/* a tenth of the interval is forgiven; a watch in the future is a clock gone back */
	assert_true(idle_check(fx->dir, HOUR, &in, NOW + HOUR - HOUR / 10 - 1, &at));
	assert_false(idle_check(fx->dir, HOUR, &in, NOW + HOUR - HOUR / 10, &at));
	assert_false(idle_check(fx->dir, HOUR, &in, NOW - 3600, &at));
	/* forgotten: no longer idle */
	assert_int_equal(idle_forget(fx->dir, err, sizeof(err)), 0);
	assert_false(idle_check(fx->dir, HOUR, &in, NOW + 60, &at));
	assert_int_equal(idle_forget(fx->dir, err, sizeof(err)), 0);  /* nothing to forget */
}

/* Any change to the policy file or to the feed's entries is something new. */
static void
test_changed_inputs_are_not_idle(void **state)
{
	struct fixture *fx = *state;
	struct idle_inputs in = inputs(fx), now;
	char err[256];
	time_t at;

	assert_int_equal(idle_note(fx->dir, &in, NOW, err, sizeof(err)), 0);
	fx->cfg.digest = 43;                /* the policy file as loaded */
	now = inputs(fx);
	assert_true(now.config != in.config);
	assert_true(now.feed == in.feed);
	assert_false(idle_check(fx->dir, HOUR, &now, NOW + 60, &at));
	fx->cfg.digest = 42;
	write_file(fx->template, "{\"a\": 2}\n");  /* a policy's own template */
	now = inputs(fx);
	assert_false(idle_check(fx->dir, HOUR, &now, NOW + 60, &at));
	assert_int_equal(unlink(fx->template), 0);   /* gone is a change too */
	now = inputs(fx);
	assert_false(now.unread);
	assert_false(idle_check(fx->dir, HOUR, &now, NOW + 60, &at));
	write_file(fx->template, "{\"a\": 1}\n");
	now = inputs(fx);
	assert_true(idle_check(fx->dir, HOUR, &now, NOW + 60, &at));
	/* a template that cannot be read: nobody idle, nothing noted */
	fx->own.templates.plan = fx->dir;
	now = inputs(fx);
	assert_true(now.unread);
	assert_false(idle_check(fx->dir, HOUR, &now, NOW + 60, &at));
	assert_int_equal(idle_note(fx->dir, &now, NOW, err, sizeof(err)), -1);
	fx->own.templates.plan = fx->template;
	/* a metrics file that is missing: nobody idle, as the run must write it */
	fx->cfg.metrics_file = file_in(fx, "metrics.prom");
	now = inputs(fx);
	assert_true(now.no_metrics);
	assert_false(idle_check(fx->dir, HOUR, &now, NOW + 60, &at));
	write_file(fx->cfg.metrics_file, "");
	now = inputs(fx);
	assert_true(idle_check(fx->dir, HOUR, &now, NOW + 60, &at));
	fx->cfg.metrics_file = NULL;

	fx->entry.expires = text(fx, 9, "2026-04-01");  /* Apple set an expiry */
	assert_true(inputs(fx).feed != in.feed);
	fx->entry.expires = NULL;
	text(fx, 1, "Mac16,3");             /* another device model */
	assert_true(inputs(fx).feed != in.feed);
	text(fx, 1, "Mac16,2");
	fx->entry.ndevices = 1;             /* one model fewer */
	assert_true(inputs(fx).feed != in.feed);
	fx->entry.ndevices = 2;
	fx->entry.extra = NULL;             /* a field gone is not the same as one empty */
	assert_true(inputs(fx).feed != in.feed);
	fx->entry.extra = text(fx, 4, "");
	assert_true(inputs(fx).feed != in.feed);
	text(fx, 4, "(a)");
	assert_true(inputs(fx).feed == in.feed);
}

/* A state file that is not the one noted, or a journal that holds something, is not idle. */
static void
test_changed_state_is_not_idle(void **state)
{
	struct fixture *fx = *state;
	struct idle_inputs in = inputs(fx);
	char err[256];
	time_t at;

	assert_int_equal(idle_note(fx->dir, &in, NOW, err, sizeof(err)), 0);
	write_file(file_in(fx, "journal.jsonl"), "{\"seq\":1}\n");
	assert_false(idle_check(fx->dir, HOUR, &in, NOW + 60, &at));
	assert_int_equal(idle_note(fx->dir, &in, NOW, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "journal is not empty"));
	write_file(file_in(fx, "journal.jsonl"), "");
	assert_true(idle_check(fx->dir, HOUR, &in, NOW + 60, &at));
	write_file(file_in(fx, "state.json"), "{} \n");
	assert_false(idle_check(fx->dir, HOUR, &in, NOW + 60, &at));
	assert_int_equal(unlink(file_in(fx, "state.json")), 0);
	assert_int_equal(idle_note(fx->dir, &in, NOW, err, sizeof(err)), -1);
	write_file(file_in(fx, "state.json"), "{}\n");
}

/* A marker that does not read, or of another format, is not idle (and no crash). */
static void
test_bad_marker_is_not_idle(void **state)
{
	static const char *const bad[] = {"", "{", "[]", "{\"format\":2}",
	    "{\"format\":1,\"watched_at\":\"yesterday\"}",
	    "{\"format\":1,\"watched_at\":\"2026-11-20T08:00:00Z\"}",
	    "{\"format\":1,\"watched_at\":\"2026-11-20T08:00:00Z\",\"config\":7,\"feed\":null}"};
	struct fixture *fx = *state;
	struct idle_inputs in = inputs(fx);
	time_t at;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(file_in(fx, "watched.json"), bad[i]);
		assert_false(idle_check(fx->dir, HOUR, &in, NOW + 60, &at));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_noted_then_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_inputs_are_not_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_state_is_not_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_marker_is_not_idle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
