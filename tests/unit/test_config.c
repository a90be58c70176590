/* Unit tests for config.c: the policy file, from files and from strings. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "match.h"

#define INVALID_DIR FIXTURES "/config/invalid"
#define EXAMPLE FIXTURES "/../../config/bridge.example.yaml"

static const char minimal[] =
    "jamf:\n"
    "  url: https://jamf.example.com\n"
    "  client_id: bridge\n"
    "  client_secret: env:BRIDGE_TEST_SECRET\n"
    "policies:\n"
    "  - name: macos-bsi\n"
    "    platform: macOS\n"
    "    mode: plan\n"
    "    scope: {groups: [\"All Managed Macs\"]}\n";

static int
setup_env(void **state)
{
	(void)state;
	setenv("BRIDGE_TEST_SECRET", "s3cret-value", 1);
	setenv("BRIDGE_TEST_WEBHOOK", "https://hooks.example.com/services/x", 1);
	setenv("BRIDGE_TEST_HTTP_WEBHOOK", "http://hooks.example.com/x", 1);
	setenv("JAMF_CLIENT_ID", "client-id", 1);
	setenv("JAMF_CLIENT_SECRET", "client-secret", 1);
	setenv("JAMF_PLATFORM_CLIENT_ID", "platform-id", 1);
	setenv("JAMF_PLATFORM_CLIENT_SECRET", "platform-secret", 1);
	setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/XYZ", 1);
	unsetenv("BRIDGE_TEST_UNSET");
	return 0;
}

/* Load text and expect exactly one error "line:col: msg". */
static void
expect_one_error(const char *text, const char *want)
{
	struct config cfg;
	struct config_errors errs;
	char got[1024];

	assert_int_equal(config_load_string(&cfg, "t.yaml", text, strlen(text), &errs), -1);
	assert_int_equal(errs.n, 1);
	snprintf(got, sizeof(got), "%d:%d: %s", errs.v[0].line, errs.v[0].col, errs.v[0].msg);
	assert_string_equal(got, want);
	config_errors_release(&errs);
}

/* Every file in tests/fixtures/config/invalid states its errors in "# expect:" lines. */
static void
test_invalid_fixtures(void **state)
{
	struct dirent *de;
	DIR *dir = opendir(INVALID_DIR);
	size_t files = 0;

	(void)state;
	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL) {
		char path[1024], line[1024], got[1024];
		char *want[8];
		size_t nwant = 0;
		struct config cfg;
		struct config_errors errs;
		FILE *f;

		if (strstr(de->d_name, ".yaml") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", INVALID_DIR, de->d_name);
		assert_non_null(f = fopen(path, "r"));
		while (fgets(line, sizeof(line), f) != NULL && strncmp(line, "# expect: ", 10) == 0) {
			line[strcspn(line, "\n")] = '\0';
			assert_true(nwant < 8);
			want[nwant++] = strdup(line + 10);
		}
		fclose(f);
		if (nwant == 0)
			fail_msg("%s has no '# expect:' line", path);

		assert_int_equal(config_load(&cfg, path, &errs), -1);
		if (errs.n != nwant)
			fail_msg("%s: expected %zu errors, got %zu (first: %s)", de->d_name, nwant,
			    errs.n, errs.n > 0 ? errs.v[0].msg : "none");
		for (size_t i = 0; i < nwant; i++) {
			snprintf(got, sizeof(got), "%d:%d: %s", errs.v[i].line, errs.v[i].col,
			    errs.v[i].msg);
			if (strcmp(got, want[i]) != 0)
				fail_msg("%s:\n  want %s\n  got  %s", de->d_name, want[i], got);
			free(want[i]);
		}
		/* a failed load leaves nothing behind */
		assert_null(cfg.tenants);
		assert_null(cfg.alerts);
		config_errors_release(&errs);
		files++;
	}
	closedir(dir);
	assert_true(files >= 25);
}

static void
test_defaults(void **state)
{
	struct config cfg;
	struct config_errors errs;
	const struct config_policy *p;

	(void)state;
	assert_int_equal(config_load_string(&cfg, "/etc/bridge/bridge.yaml", minimal,
	    strlen(minimal), &errs), 0);
	assert_string_equal(cfg.state_dir, "/var/lib/bridge");
	assert_string_equal(cfg.name_prefix, "bridge:");
	assert_string_equal(cfg.gdmf.url, "https://gdmf.apple.com/v2/pmv");
	assert_string_equal(cfg.gdmf.ca_file, BRIDGE_DATADIR "/apple-root-ca.pem");
	assert_int_equal(cfg.gdmf.refresh, 24 * 3600);
	assert_false(config_present(&cfg.gdmf.pos));
	assert_int_equal(cfg.http.connect_timeout, 10);
	assert_int_equal(cfg.http.timeout, 120);
	assert_int_equal(cfg.http.retries, 4);
	assert_int_equal(cfg.watch.stuck_after, 3 * 24 * 3600);
	assert_int_equal(cfg.watch.stuck_pending_after, 2 * 3600);
	assert_int_equal(cfg.max_parallel_tenants, 4);
	assert_int_equal(cfg.nalerts, 0);

	assert_int_equal(cfg.ntenants, 1);
	assert_string_equal(cfg.tenants[0].name, "default");
	assert_string_equal(cfg.tenants[0].state_dir, "/var/lib/bridge");
	assert_string_equal(cfg.tenants[0].jamf.url, "https://jamf.example.com");
	assert_int_equal(cfg.tenants[0].jamf.auth, CONFIG_AUTH_OAUTH);
	assert_null(cfg.tenants[0].jamf.client_id.ref);
	assert_string_equal(cfg.tenants[0].jamf.client_id.value, "bridge");
	assert_string_equal(cfg.tenants[0].jamf.client_secret.ref, "env:BRIDGE_TEST_SECRET");
	assert_string_equal(cfg.tenants[0].jamf.client_secret.value, "s3cret-value");
	assert_null(cfg.tenants[0].jamf.token_path);  /* jamf.c picks the path that fits jamf.auth */
	assert_int_equal(cfg.tenants[0].jamf.max_connections, 5);
	assert_false(config_present(&cfg.tenants[0].platform.pos));

	assert_int_equal(cfg.tenants[0].npolicies, 1);
	p = &cfg.tenants[0].policies[0];
	assert_string_equal(p->name, "macos-bsi");
	assert_true(p->enabled);
	assert_int_equal(p->platform, CONFIG_OS_MACOS);
	assert_int_equal(p->mode, CONFIG_MODE_PLAN);
	assert_int_equal(p->scope.groups.n, 1);
	assert_string_equal(p->scope.groups.v[0], "All Managed Macs");
	assert_int_equal(p->scope.exclude_groups.n, 0);
	assert_null(p->versions);
	assert_int_equal(p->deadline.days_after_posting, 7);
	assert_int_equal(p->deadline.minute_of_day, 18 * 60);
	assert_false(p->deadline.skip_weekends);
	assert_int_equal(p->nrings, 0);
	assert_int_equal(p->base_update, CONFIG_BASE_UPDATE_TWO_STEP);
	assert_int_equal(p->batch_size, 100);
	assert_null(p->templates.plan);
	config_release(&cfg);
	assert_null(cfg.tenants);
}

/* The shipped example is valid and means what its comments say. */
static void
test_example(void **state)
{
	struct config cfg;
	struct config_errors errs;
	const struct config_policy *p;

	(void)state;
	if (config_load(&cfg, EXAMPLE, &errs) != 0)
		fail_msg("example: %d:%d: %s", errs.v[0].line, errs.v[0].col, errs.v[0].msg);
	assert_int_equal(cfg.ntenants, 1);
	assert_true(config_present(&cfg.tenants[0].platform.pos));
	assert_string_equal(cfg.tenants[0].platform.environment_id,
	    "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
	assert_string_equal(cfg.tenants[0].platform.client_secret.value, "platform-secret");
	assert_int_equal(cfg.nalerts, 1);
	assert_int_equal(cfg.alerts[0].kind, CONFIG_ALERT_SLACK);
	assert_string_equal(cfg.alerts[0].url.value, "https://hooks.slack.com/services/T0/B0/XYZ");
	assert_int_equal(cfg.alerts[0].events, CONFIG_EVENT_PLAN_FAILED | CONFIG_EVENT_PLAN_STUCK |
	    CONFIG_EVENT_DEADLINE_MISSED | CONFIG_EVENT_FEED_ERROR | CONFIG_EVENT_RUN_FAILED |
	    CONFIG_EVENT_RESOLVED);

	assert_int_equal(cfg.tenants[0].npolicies, 2);
	p = &cfg.tenants[0].policies[0];
	assert_true(match_test(p->versions, "26.3.1"));
	assert_false(match_test(p->versions, "15.7.4"));
	assert_true(match_test(p->models.exclude, "VMA2MACOSAP"));
	assert_false(match_test(p->models.exclude, "J413AP"));
	assert_null(p->models.include);
	assert_int_equal(p->deadline.days_after_posting, 3);
	assert_true(p->deadline.skip_weekends);
	assert_int_equal(p->nrings, 2);
	assert_string_equal(p->rings[0].name, "pilot");
	assert_int_equal(p->rings[0].min_success_percent, -1);
	assert_int_equal(p->rings[1].groups.n, 0);
	assert_int_equal(p->rings[1].delay_days, 2);
	assert_int_equal(p->rings[1].min_success_percent, 90);
	assert_int_equal(p->alerts.n, 1);

	p = &cfg.tenants[0].policies[1];
	assert_int_equal(p->platform, CONFIG_OS_IOS);
	assert_int_equal(p->mode, CONFIG_MODE_BLUEPRINT);
	assert_int_equal(p->deadline.minute_of_day, 20 * 60);
	config_release(&cfg);
}

struct duration_case {
	const char *text;
	long seconds;  /* -1: refused */
};

static void
test_durations(void **state)
{
	static const struct duration_case cases[] = {
		{"1h", 3600}, {"90m", 5400}, {"24h", 86400}, {"3d", 259200}, {"3600s", 3600},
		{"24", -1}, {"h", -1}, {"-1h", -1}, {"1.5h", -1}, {"24H", -1}, {"1w", -1},
		{"24 h", -1}, {"", -1}, {"999999999999d", -1},
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		struct config_errors errs;
		int rc;

		snprintf(text, sizeof(text), "gdmf: {refresh: \"%s\"}\n%s", cases[i].text, minimal);
		rc = config_load_string(&cfg, "t.yaml", text, strlen(text), &errs);
		if (cases[i].seconds < 0) {
			if (rc != -1)
				fail_msg("duration \"%s\" was accepted", cases[i].text);
			config_errors_release(&errs);
		} else {
			if (rc != 0)
				fail_msg("duration \"%s\": %s", cases[i].text, errs.v[0].msg);
			assert_int_equal(cfg.gdmf.refresh, cases[i].seconds);
			config_release(&cfg);
		}
	}
}

/* Problems found only in strings: the parts of a load that no file fixture reaches. */
static void
test_string_errors(void **state)
{
	char big[CONFIG_MAX_FILE_BYTES + 16];
	char deep[200] = "";

	(void)state;
	expect_one_error("", "1:1: the file is empty");
	expect_one_error("  \n\t\n", "1:1: the file is empty");
	expect_one_error("# only a comment\n", "1:1: the file holds no settings (only comments)");
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_one_error(big, "1:1: the file is larger than 1048576 bytes");
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	expect_one_error(deep, "1:33: nesting is deeper than 32 levels");
	expect_one_error("a: *nope\n", "1:4: unknown alias \"*nope\"");
	{
		static const char nul[] = "a: 1\0\n";
		struct config cfg;
		struct config_errors errs;

		assert_int_equal(config_load_string(&cfg, "t.yaml", nul, sizeof(nul) - 1, &errs), -1);
		assert_int_equal(errs.n, 1);
		assert_int_equal(errs.v[0].col, 5);
		assert_string_equal(errs.v[0].msg, "NUL byte in the file");
		config_errors_release(&errs);
	}
}

/* Aliases used sensibly are fine: one group list shared by two keys. */
static void
test_alias_reuse(void **state)
{
	static const char text[] =
	    "jamf: {url: https://jamf.example.com, client_id: a, client_secret: env:BRIDGE_TEST_SECRET}\n"
	    "policies:\n"
	    "  - name: macs\n"
	    "    platform: macOS\n"
	    "    mode: plan\n"
	    "    scope: {groups: &macs [\"Lab \\\"A\\\", 2nd floor\", \"Office\"]}\n"
	    "    rings: [{name: all, groups: *macs}]\n";
	struct config cfg;
	struct config_errors errs;

	(void)state;
	assert_int_equal(config_load_string(&cfg, "t.yaml", text, strlen(text), &errs), 0);
	assert_int_equal(cfg.tenants[0].policies[0].rings[0].groups.n, 2);
	assert_string_equal(cfg.tenants[0].policies[0].rings[0].groups.v[0], "Lab \"A\", 2nd floor");
	config_release(&cfg);
}

static void
test_tenants(void **state)
{
	static const char text[] =
	    "state_dir: state\n"
	    "tenants:\n"
	    "  - name: acme\n"
	    "    jamf: {url: https://acme.jamfcloud.com, client_id: a, client_secret: env:BRIDGE_TEST_SECRET}\n"
	    "    policies: [{name: p, platform: macOS, mode: plan, scope: {groups: [All]}}]\n"
	    "  - name: globex\n"
	    "    jamf: {url: \"http://127.0.0.1:8443/jamf/\", client_id: b, client_secret: env:BRIDGE_TEST_SECRET}\n"
	    "    policies: [{name: p, platform: iOS, mode: plan, scope: {groups: [All]}}]\n";
	struct config cfg;
	struct config_errors errs;

	(void)state;
	assert_int_equal(config_load_string(&cfg, "/srv/bridge/bridge.yaml", text, strlen(text),
	    &errs), 0);
	assert_string_equal(cfg.state_dir, "/srv/bridge/state");
	assert_int_equal(cfg.ntenants, 2);
	assert_string_equal(cfg.tenants[0].state_dir, "/srv/bridge/state/acme");
	assert_string_equal(cfg.tenants[1].state_dir, "/srv/bridge/state/globex");
	/* loopback http with a port and a path prefix; the trailing slash is dropped */
	assert_string_equal(cfg.tenants[1].jamf.url, "http://127.0.0.1:8443/jamf");
	config_release(&cfg);
}

static void
test_secret_file_modes(void **state)
{
	char dir[] = "/tmp/bridge-test-XXXXXX", path[256], secret[256], text[1024];
	struct config cfg;
	struct config_errors errs;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(path, sizeof(path), "%s/bridge.yaml", dir);
	assert_non_null(f = fopen(secret, "w"));
	fputs("from-a-file\n", f);
	fclose(f);
	snprintf(text, sizeof(text), "jamf: {url: https://j.example.com, client_id: a, "
	    "client_secret: file:secret}\npolicies: [{name: p, platform: macOS, mode: plan, "
	    "scope: {groups: [All]}}]\n");

	/* relative to the policy file's folder; the trailing newline is not part of it */
	assert_int_equal(chmod(secret, 0600), 0);
	assert_int_equal(config_load_string(&cfg, path, text, strlen(text), &errs), 0);
	assert_string_equal(cfg.tenants[0].jamf.client_secret.value, "from-a-file");
	config_release(&cfg);

	assert_int_equal(chmod(secret, 0640), 0);
	assert_int_equal(config_load_string(&cfg, path, text, strlen(text), &errs), -1);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.v[0].msg, "is accessible by group or others (mode 0640)"));
	assert_null(strstr(errs.v[0].msg, "from-a-file"));
	config_errors_release(&errs);
	unlink(secret);
	rmdir(dir);
}

/* Loading the same text twice gives the same result; release leaves nothing (ASan/valgrind). */
static void
test_reload(void **state)
{
	struct config cfg;
	struct config_errors errs;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(config_load_string(&cfg, "t.yaml", minimal, strlen(minimal), &errs),
		    0);
		assert_string_equal(cfg.tenants[0].policies[0].name, "macos-bsi");
		config_release(&cfg);
	}
	config_release(&cfg);  /* releasing an empty config is harmless */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_fixtures),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_string_errors),
		cmocka_unit_test(test_alias_reuse),
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_secret_file_modes),
		cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, setup_env, NULL);
}
