/* Unit tests for secret.c: env: and file: references. */
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

#include "secret.h"

static char dir[] = "/tmp/bridge-secret-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write a file name in the test folder with content and mode. */
static void
write_file(const char *name, const char *content, size_t len, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_env(void **state)
{
	struct secret s;
	char err[256];

	(void)state;
	setenv("BRIDGE_T_SECRET", "abc123", 1);
	assert_int_equal(secret_resolve(&s, "env:BRIDGE_T_SECRET", NULL, err, sizeof(err)), 0);
	assert_string_equal(s.ref, "env:BRIDGE_T_SECRET");
	assert_string_equal(s.value, "abc123");
	secret_release(&s);
	assert_null(s.value);

	unsetenv("BRIDGE_T_UNSET");
	assert_int_equal(secret_resolve(&s, "env:BRIDGE_T_UNSET", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "environment variable BRIDGE_T_UNSET is not set");
	setenv("BRIDGE_T_EMPTY", "", 1);
	assert_int_equal(secret_resolve(&s, "env:BRIDGE_T_EMPTY", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "environment variable BRIDGE_T_EMPTY is empty");
	setenv("BRIDGE_T_NL", "abc\r\nX-Evil: 1", 1);
	assert_int_equal(secret_resolve(&s, "env:BRIDGE_T_NL", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "environment variable BRIDGE_T_NL contains a control character");
	assert_int_equal(secret_resolve(&s, "env:1BAD", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "\"env:1BAD\" is not a valid environment variable name");
	assert_int_equal(secret_resolve(&s, "hunter2", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "expected a reference env:NAME or file:PATH");
	assert_false(secret_is_reference("hunter2"));
	assert_true(secret_is_reference("file:/x"));
}

static void
test_file(void **state)
{
	struct secret s;
	char err[512], ref[300];

	(void)state;
	write_file("ok", "from-file\r\n", 11, 0600);
	assert_int_equal(secret_resolve(&s, "file:ok", dir, err, sizeof(err)), 0);
	assert_string_equal(s.value, "from-file");
	secret_release(&s);

	snprintf(ref, sizeof(ref), "file:%s/ok", dir);  /* absolute: base_dir ignored */
	assert_int_equal(secret_resolve(&s, ref, "/nonexistent", err, sizeof(err)), 0);
	assert_string_equal(s.value, "from-file");
	secret_release(&s);

	write_file("shared", "value\n", 6, 0644);
	assert_int_equal(secret_resolve(&s, "file:shared", dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is accessible by group or others (mode 0644); run: chmod 600"));
	assert_null(strstr(err, "value"));

	write_file("empty", "\n", 1, 0600);
	assert_int_equal(secret_resolve(&s, "file:empty", dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\" is empty"));

	write_file("twolines", "a\nb\n", 4, 0600);
	assert_int_equal(secret_resolve(&s, "file:twolines", dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "contains a control character"));

	assert_int_equal(secret_resolve(&s, "file:missing", dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(secret_resolve(&s, "file:", dir, err, sizeof(err)), -1);
	assert_string_equal(err, "\"file:\" needs a path");
	assert_int_equal(secret_resolve(&s, "file:.", dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a regular file"));
}

static void
test_file_too_big(void **state)
{
	static char big[70 * 1024];
	struct secret s;
	char err[512];

	(void)state;
	memset(big, 'x', sizeof(big));
	write_file("big", big, sizeof(big), 0600);
	assert_int_equal(secret_resolve(&s, "file:big", dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is larger than 65536 bytes"));
	assert_null(s.value);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_file_too_big),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
