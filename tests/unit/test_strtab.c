/* Unit tests for strtab.c: one copy per distinct string, however many and however long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strtab.h"

/* The same text gives the same pointer; other text another; NULL stays NULL. */
static void
test_repeats_share_one_copy(void **state)
{
	struct strtab t = {0};
	char buf[16] = "26.3.1";
	const char *a, *b, *c;

	(void)state;
	assert_null(strtab_intern(&t, NULL));
	a = strtab_intern(&t, "26.3.1");
	b = strtab_intern(&t, buf);
	c = strtab_intern(&t, "26.3.2");
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, buf);
	assert_string_equal(c, "26.3.2");
	assert_ptr_not_equal(a, c);
	assert_ptr_equal(strtab_intern(&t, ""), strtab_intern(&t, ""));
	assert_int_equal(t.n, 3);
	strtab_release(&t);
	assert_int_equal(t.n, 0);
	assert_string_equal(strtab_intern(&t, "again"), "again");  /* usable after release */
	strtab_release(&t);
}

/* 200,000 distinct strings across many blocks all stay intact and findable. */
/* strtab_add keeps its own copy each time, and an added string is not found by intern. */
static void
test_added_strings_are_copies(void **state)
{
	struct strtab t = {0};
	char buf[16] = "C02XK1ABCD";
	const char *a, *b, *c;

	(void)state;
	assert_null(strtab_add(&t, NULL));
	a = strtab_add(&t, buf);
	b = strtab_add(&t, buf);
	memset(buf, 0, sizeof(buf));
	assert_string_equal(a, "C02XK1ABCD");
	assert_string_equal(b, "C02XK1ABCD");
	assert_ptr_not_equal(a, b);
	c = strtab_intern(&t, "C02XK1ABCD");
	assert_ptr_not_equal(c, a);
	assert_ptr_equal(strtab_intern(&t, "C02XK1ABCD"), c);
	assert_int_equal(t.n, 1);
	strtab_release(&t);
}

static void
test_many_strings(void **state)
{
	enum { N = 200000 };
	struct strtab t = {0};
	const char **kept = calloc(N, sizeof(*kept));
	char buf[32];

	(void)state;
	assert_non_null(kept);
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "device-%d", i);
		assert_non_null(kept[i] = strtab_intern(&t, buf));
	}
	assert_int_equal(t.n, N);
	assert_true(t.nblocks > 1);
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof(buf), "device-%d", i);
		assert_string_equal(kept[i], buf);
		assert_ptr_equal(strtab_intern(&t, buf), kept[i]);
	}
	free(kept);
	strtab_release(&t);
}

/* Strings longer than a block, first and in between, do not disturb the others. */
static void
test_long_strings(void **state)
{
	struct strtab t = {0};
	size_t len = 200 * 1024;
	char *big = malloc(len + 1), *big2 = malloc(len + 1);
	const char *a, *b, *c, *d;

	(void)state;
	assert_non_null(big);
	assert_non_null(big2);
	memset(big, 'x', len);
	big[len] = '\0';
	memset(big2, 'y', len);
	big2[len] = '\0';
	a = strtab_intern(&t, big);
	b = strtab_intern(&t, "short");
	c = strtab_intern(&t, big2);
	d = strtab_intern(&t, "short too");
	assert_non_null(a);
	assert_non_null(c);
	assert_string_equal(a, big);
	assert_string_equal(b, "short");
	assert_string_equal(c, big2);
	assert_string_equal(d, "short too");
	assert_ptr_equal(strtab_intern(&t, big), a);
	free(big);
	free(big2);
	strtab_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repeats_share_one_copy),
		cmocka_unit_test(test_added_strings_are_copies),
		cmocka_unit_test(test_many_strings),
		cmocka_unit_test(test_long_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
