/* Unit tests for cli.c: commands and options as a user types them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

#define MAX_ARGS 12

/* Parse a NULL-terminated list of arguments (after "bridge"). */
static int
parse(struct cli_options *o, char *err, const char *first, ...)
{
	static char args[MAX_ARGS + 1][64];
	char *argv[MAX_ARGS + 2] = {args[0]};
	int argc = 1;
	va_list ap;

	snprintf(args[0], sizeof(args[0]), "bridge");
	va_start(ap, first);
	for (const char *a = first; a != NULL && argc <= MAX_ARGS; a = va_arg(ap, const char *)) {
		snprintf(args[argc], sizeof(args[argc]), "%s", a);
		argv[argc] = args[argc];
		argc++;
	}
	va_end(ap);
	argv[argc] = NULL;
	err[0] = '\0';
	return cli_parse(o, argc, argv, err, 256);
}

static int
setup(void **state)
{
	(void)state;
	unsetenv("BRIDGE_CONFIG");
	return 0;
}

static void
test_global_options_anywhere(void **state)
{
	struct cli_options o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "-c", "a.yaml", "-v", "check", NULL), 0);
	assert_int_equal(o.command, CLI_CHECK);
	assert_string_equal(o.config_path, "a.yaml");
	assert_int_equal(o.verbosity, 1);

	assert_int_equal(parse(&o, err, "check", "--config=b.yaml", "-vv", "--json", NULL), 0);
	assert_string_equal(o.config_path, "b.yaml");
	assert_int_equal(o.verbosity, 2);
	assert_true(o.json);

	assert_int_equal(parse(&o, err, "sync", "-q", "-cc.yaml", "--dry-run", "--log-json", NULL), 0);
	assert_int_equal(o.command, CLI_SYNC);
	assert_int_equal(o.verbosity, -1);
	assert_string_equal(o.config_path, "c.yaml");
	assert_true(o.dry_run);
	assert_true(o.log_json);

	assert_int_equal(parse(&o, err, "--tenant", "acme", "sync", "--tenant=globex", NULL), 0);
	assert_int_equal(o.ntenants, 2);
	assert_string_equal(o.tenants[1], "globex");

	assert_int_equal(parse(&o, err, "feed", "--platform", "iOS", "--bsi", "--refresh", NULL), 0);
	assert_string_equal(o.platform, "iOS");
	assert_true(o.bsi_only && o.refresh);
}

static void
test_config_path_order(void **state)
{
	struct cli_options o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "check", NULL), 0);
	assert_string_equal(o.config_path, BRIDGE_SYSCONFDIR "/bridge/bridge.yaml");
	setenv("BRIDGE_CONFIG", "/srv/env.yaml", 1);
	assert_int_equal(parse(&o, err, "check", NULL), 0);
	assert_string_equal(o.config_path, "/srv/env.yaml");
	assert_int_equal(parse(&o, err, "check", "-c", "/srv/flag.yaml", NULL), 0);
	assert_string_equal(o.config_path, "/srv/flag.yaml");
	unsetenv("BRIDGE_CONFIG");
}

static void
test_help_and_version(void **state)
{
	struct cli_options o;
	char err[256];

	(void)state;
	assert_int_equal(parse(&o, err, "--help", NULL), 0);
	assert_true(o.help);
	assert_int_equal(o.help_topic, CLI_NONE);
	assert_int_equal(parse(&o, err, "help", "sync", NULL), 0);
	assert_true(o.help);
	assert_int_equal(o.help_topic, CLI_SYNC);
	assert_int_equal(parse(&o, err, "feed", "-h", NULL), 0);
	assert_int_equal(o.help_topic, CLI_FEED);
	assert_int_equal(parse(&o, err, "--version", NULL), 0);
	assert_int_equal(o.command, CLI_VERSION);
	assert_int_equal(parse(&o, err, "version", NULL), 0);
	assert_int_equal(o.command, CLI_VERSION);
}

static void
test_usage_errors(void **state)
{
	static const struct {
		const char *args[4];
		const char *error;
	} cases[] = {
		{{NULL}, "no command given"},
		{{"frobnicate"}, "unknown command 'frobnicate'"},
		{{"check", "extra"}, "unexpected argument 'extra'"},
		{{"check", "--frob"}, "unknown option '--frob'"},
		{{"check", "-x"}, "unknown option '-x'"},
		{{"check", "-c"}, "option '-c' needs a value"},
		{{"check", "--config="}, "option '--config' needs a non-empty value"},
		{{"check", "--json=yes"}, "option '--json' takes no value"},
		{{"check", "--dry-run"}, "'check' does not accept --dry-run (see 'bridge help check')"},
		{{"feed", "--devices"}, "'feed' does not accept --devices (see 'bridge help feed')"},
		{{"sync", "-q", "-v"}, "use either -q or -v, not both"},
		{{"render"}, "'render' needs --policy NAME"},
		{{"help", "nope"}, "no help for unknown command 'nope'"},
	};
	struct cli_options o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;

		assert_int_equal(parse(&o, err, a[0], a[0] ? a[1] : NULL, a[0] && a[1] ? a[2] : NULL,
		    NULL), -1);
		if (strcmp(err, cases[i].error) != 0)
			fail_msg("case %zu:\n  want %s\n  got  %s", i, cases[i].error, err);
	}
}

/* The help text names every command and every exit status. */
static void
test_help_text(void **state)
{
	static const char *const must[] = {"sync", "plan", "feed", "status", "check", "doctor",
		"render", "version", "  0  ", "  1  ", "  2  ", "  3  ", "  4  ", "  5  ",
		"--config", "--json", "BRIDGE_CONFIG"};
	char buf[8192];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	assert_non_null(f);
	cli_help(f, CLI_NONE);
	fclose(f);
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		if (strstr(buf, must[i]) == NULL)
			fail_msg("--help lacks \"%s\"", must[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global_options_anywhere),
		cmocka_unit_test(test_config_path_order),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help_text),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
