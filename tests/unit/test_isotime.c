/* Unit tests for isotime.c: the one reader and writer of times in files and answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "isotime.h"

/* Written and read back the same, and as gmtime() and strftime() write it. */
static void
test_round_trip(void **unused)
{
	static const time_t times[] = {0, 1, 86399, 951782400 /* 2000-02-29 */,
	    1709164800 /* 2024-02-29 */, 1795176000, 4102444800 /* 2100-01-01 */,
	    ISO_TIME_LAST};
	(void)unused;

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char mine[ISO_TIME_BYTES], libc[64];
		struct tm tm;
		time_t back = -1;

		iso_time_format(times[i], mine);
		assert_non_null(gmtime_r(&times[i], &tm));
		assert_true(strftime(libc, sizeof(libc), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
		assert_string_equal(mine, libc);
		assert_int_equal(iso_time_parse(mine, &back), 0);
		assert_true(back == times[i]);
	}
}

/* Outside 1970 .. 9999 a time is written as 1970-01-01T00:00:00Z. */
static void
test_out_of_range_written_as_epoch(void **unused)
{
	char buf[ISO_TIME_BYTES];
	(void)unused;

	iso_time_format(-1, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	iso_time_format(ISO_TIME_LAST + 1, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
}

/* Anything but a real time, exactly "YYYY-MM-DDTHH:MM:SSZ", is refused. */
static void
test_parse_refuses(void **unused)
{
	static const char *const bad[] = {
		"", "2026", "2026-11-20T08:00:00", "2026-11-20T08:00:00z", "2026-11-20T08:00:00Z ",
		"2026-11-20 08:00:00Z", "2026-11-20T08:00:00.5Z", "2026-02-30T00:00:00Z",
		"2025-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-11-20T24:00:00Z",
		"2026-11-20T08:60:00Z", "2026-11-20T08:00:60Z", "1969-12-31T23:59:59Z",
		"2026-1-20T08:00:00Z", "+026-11-20T08:00:00Z", "2026-11-20T08:00:0Z",
	};
	(void)unused;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		time_t t = 42;

		assert_int_equal(iso_time_parse(bad[i], &t), -1);
		assert_true(t == 42);  /* untouched */
	}
	assert_int_equal(iso_time_parse(NULL, &(time_t){0}), -1);
	assert_int_equal(iso_time_parse("2024-02-29T12:00:00Z", &(time_t){0}), 0);
}

/* Every cut of a time ends the text early: nothing past its end is read (ASan watches). */
static void
test_short_text_not_overread(void **unused)
{
	static const char whole[] = "2026-11-20T08:00:00Z";
	(void)unused;

	for (size_t n = 0; n < sizeof(whole) - 1; n++) {
		char *cut = malloc(n + 1);
		time_t t;

		assert_non_null(cut);
		memcpy(cut, whole, n);
		cut[n] = '\0';
		if (n < 19)
			assert_null(iso_time_prefix(cut, &t));
		else
			assert_string_equal(iso_time_prefix(cut, &t), "");
		assert_int_equal(iso_time_parse(cut, &t), -1);
		free(cut);
	}
}

/* The prefix reader gives what follows, for Jamf's times and bridge's deadlines. */
static void
test_prefix_gives_the_rest(void **unused)
{
	time_t t = 0;
	(void)unused;

	assert_string_equal(iso_time_prefix("2026-11-23T10:00:00.123Z", &t), ".123Z");
	assert_true(t == 1795428000);
	assert_string_equal(iso_time_prefix("2026-11-26T18:00:00", &t), "");
	assert_true(t == 1795716000);
	assert_null(iso_time_prefix("2026-11-26", &t));
	assert_null(iso_time_prefix(NULL, &t));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_out_of_range_written_as_epoch),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_short_text_not_overread),
		cmocka_unit_test(test_prefix_gives_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
