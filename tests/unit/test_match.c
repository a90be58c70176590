/* Unit tests for match.c: PCRE2 patterns from the policy file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "match.h"

static void
test_matching(void **state)
{
	char err[256];
	size_t off;
	struct match *m = match_compile("^26\\.", err, sizeof(err), &off);

	(void)state;
	assert_non_null(m);
	assert_string_equal(match_pattern(m), "^26\\.");
	assert_true(match_test(m, "26.3.1"));
	assert_true(match_test(m, "26.0"));
	assert_false(match_test(m, "15.7.4"));
	assert_false(match_test(m, "126.1"));
	assert_false(match_test(m, ""));
	match_free(m);
	assert_true(match_test(NULL, "anything"));  /* no pattern: everything */
	match_free(NULL);
}

static void
test_compile_errors(void **state)
{
	static const struct {
		const char *pattern;
		size_t offset;
		const char *message;
	} cases[] = {
		{"^26\\.(1", 7, "missing closing parenthesis"},
		{"[a-", 3, "missing terminating ] for character class"},
		{"*J", 0, "quantifier does not follow a repeatable item"},
		{"a{2,1}", 5, "numbers out of order in {} quantifier"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t off = 99;

		assert_null(match_compile(cases[i].pattern, err, sizeof(err), &off));
		assert_string_equal(err, cases[i].message);
		assert_int_equal(off, cases[i].offset);
	}
}

/* A hostile pattern against a long subject gives up instead of running for ever. */
static void
test_backtracking_bounded(void **state)
{
	char err[256], subject[64];
	size_t off;
	struct match *m = match_compile("^(a+)+$", err, sizeof(err), &off);

	(void)state;
	assert_non_null(m);
	memset(subject, 'a', sizeof(subject) - 2);
	subject[sizeof(subject) - 2] = 'b';
	subject[sizeof(subject) - 1] = '\0';
	assert_false(match_test(m, subject));
	match_free(m);
	assert_non_null(strchr(match_library_version(), '.'));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_backtracking_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
