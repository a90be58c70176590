/* Unit tests for json_scan.c: values read as written, malformed text refused at the right byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_scan.h"

/* Skip one whole value of text; json_scan_end()'s result. */
static int
scan_all(const char *text, size_t len, struct json_scan *js)
{
	json_scan_init(js, text, len);
	(void)json_scan_skip(js);
	return json_scan_end(js);
}

/* Malformed texts: each refused, with what is wrong and where. */
static void
test_malformed_text_is_refused(void **state)
{
	static const struct {
		const char *text;
		const char *error;
		size_t at;
	} cases[] = {
		{"", "ends where a value", 0},
		{"   ", "ends where a value", 3},
		{"{", "ends inside", 1},
		{"[1,", "ends where a value", 3},
		{"[1,]", "unexpected character", 3},
		{"{\"a\":1,}", "member name", 7},
		{"{\"a\" 1}", "expected ':'", 5},
		{"{a:1}", "member name", 1},
		{"[1 2]", "expected ',' or ']'", 3},
		{"{\"a\":1 \"b\":2}", "expected ',' or '}'", 7},
		{"[01]", "leading zero", 2},
		{"[1.]", "malformed number", 3},
		{"[-]", "malformed number", 2},
		{"[1e]", "malformed number", 3},
		{"[+1]", "unexpected character", 1},
		{"[\"a\tb\"]", "control character", 3},
		{"[\"\\x\"]", "bad escape", 3},
		{"[\"\\u12G4\"]", "bad \\u escape", 6},
		{"[\"\\ud800\"]", "without its low", 8},
		{"[\"\\ud800\\u0041\"]", "without its low", 14},
		{"[\"\\udc00\"]", "lone low surrogate", 8},
		{"[\"abc", "closing quote", 5},
		{"[tru]", "unexpected character", 1},
		{"[nul]", "unexpected character", 1},
		{"{} x", "text after", 3},
		{"[1]]", "text after", 3},
		{"{}\xEF\xBB\xBF", "text after", 2},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_scan js;

		if (scan_all(cases[i].text, strlen(cases[i].text), &js) != -1)
			fail_msg("accepted: %s", cases[i].text);
		if (strstr(js.error, cases[i].error) == NULL || js.error_at != cases[i].at)
			fail_msg("%s: got \"%s\" at %zu, want \"%s\" at %zu", cases[i].text, js.error,
			    js.error_at, cases[i].error, cases[i].at);
	}
}

/* Well-formed texts of every kind are accepted whole. */
static void
test_wellformed_text_is_accepted(void **state)
{
	static const char *cases[] = {
		"{}", "[]", " [ ] ", "0", "-0", "-12.5e+3", "1E-2", "\"\"", "true", "false", "null",
		"{\"a\":[1,{\"b\":null},\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"]}",
		"\n{\"\":{\"\":[[],{}]}}\r\n", "\xEF\xBB\xBF{}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_scan js;

		if (scan_all(cases[i], strlen(cases[i]), &js) != 0)
			fail_msg("refused: %s (%s at %zu)", cases[i], js.error, js.error_at);
	}
}

/* Members are read as written, decoded, in order; unwanted ones are skipped whole. */
static void
test_members_read_as_written(void **state)
{
	const char *text = "{\"id\":\"12\",\"skip\":{\"x\":[1,{\"y\":[]}]},\"general\":"
	    "{\"name\":\"Caf\\u00e9 \\ud83d\\ude00 \\\"A\\\"\",\"n\":42},\"list\":[7,8]}";
	char key[32], buf[64];
	struct json_scan js;
	long n = 0, sum = 0;
	int seen = 0;

	(void)state;
	json_scan_init(&js, text, strlen(text));
	assert_true(json_scan_object(&js));
	while (json_scan_member(&js, key, sizeof(key))) {
		if (strcmp(key, "id") == 0) {
			assert_true(json_scan_string(&js, buf, sizeof(buf)));
			assert_string_equal(buf, "12");
			seen |= 1;
		} else if (strcmp(key, "general") == 0) {
			assert_true(json_scan_object(&js));
			while (json_scan_member(&js, key, sizeof(key))) {
				if (strcmp(key, "name") == 0) {
					assert_true(json_scan_string(&js, buf, sizeof(buf)));
					assert_string_equal(buf, "Caf\xc3\xa9 \xf0\x9f\x98\x80 \"A\"");
				} else {
					assert_true(json_scan_long(&js, &n));
				}
			}
			seen |= 2;
		} else if (strcmp(key, "list") == 0) {
			assert_true(json_scan_array(&js));
			while (json_scan_item(&js)) {
				long v;

				assert_true(json_scan_long(&js, &v));
				sum += v;
			}
			seen |= 4;
		} else {
			assert_string_equal(key, "skip");
			assert_true(json_scan_skip(&js));
			seen |= 8;
		}
	}
	assert_int_equal(json_scan_end(&js), 0);
	assert_int_equal(seen, 15);
	assert_int_equal(n, 42);
	assert_int_equal(sum, 15);
}

/*
 * A member named as expected is taken by its raw name; anything else (another name, one that
 * only starts the same, the same name escaped or spaced, the end, an error) is left to
 * json_scan_member(), which then reads it as if nothing had been tried.
 */
static void
test_expected_members_taken_raw(void **state)
{
	const char *text = "{\"id\":\"7\",\"idx\":1, \"id\" :2,\"i\\u0064\":3,\"last\":true}";
	const char *bad = "{\"id\":1 \"id\":2}";
	char key[32], buf[8];
	struct json_scan js;
	bool b = false;
	long n;

	(void)state;
	json_scan_init(&js, text, strlen(text));
	assert_true(json_scan_object(&js));
	assert_true(json_scan_member_as(&js, "\"id\":", 5));
	assert_true(json_scan_string(&js, buf, sizeof(buf)));
	assert_string_equal(buf, "7");
	assert_false(json_scan_member_as(&js, "\"id\":", 5));   /* "idx" */
	assert_true(json_scan_member(&js, key, sizeof(key)));
	assert_string_equal(key, "idx");
	assert_true(json_scan_long(&js, &n));
	assert_false(json_scan_member_as(&js, "\"id\":", 5));   /* a space before the colon */
	assert_true(json_scan_member(&js, key, sizeof(key)));
	assert_string_equal(key, "id");
	assert_true(json_scan_long(&js, &n));
	assert_int_equal(n, 2);
	assert_false(json_scan_member_as(&js, "\"id\":", 5));   /* escaped */
	assert_true(json_scan_member(&js, key, sizeof(key)));
	assert_string_equal(key, "id");
	assert_true(json_scan_long(&js, &n));
	assert_int_equal(n, 3);
	assert_true(json_scan_member_as(&js, "\"last\":", 7));
	assert_true(json_scan_bool(&js, &b));
	assert_true(b);
	assert_false(json_scan_member_as(&js, "\"id\":", 5));   /* the end of the object */
	assert_false(json_scan_member(&js, key, sizeof(key)));
	assert_int_equal(json_scan_end(&js), 0);

	/* an error is not taken either: json_scan_member() finds and tells it */
	json_scan_init(&js, bad, strlen(bad));
	assert_true(json_scan_object(&js));
	assert_true(json_scan_member_as(&js, "\"id\":", 5));
	assert_true(json_scan_long(&js, &n));
	assert_false(json_scan_member_as(&js, "\"id\":", 5));
	assert_null(js.error);
	assert_false(json_scan_member(&js, key, sizeof(key)));
	assert_int_equal(json_scan_end(&js), -1);
	assert_string_equal(js.error, "expected ',' or '}'");
}

/* A value of another type, or a string too long, reads as absent and the reading goes on. */
static void
test_unwanted_values_are_skipped(void **state)
{
	const char *text = "{\"a\":{\"deep\":[1,2]},\"b\":\"0123456789\",\"c\":\"x\\u0000y\","
	    "\"a_name_longer_than_the_key_buffer\":[\"z\"],\"d\":\"ok\"}";
	char key[8], buf[8];
	struct json_scan js;
	int members = 0;

	(void)state;
	json_scan_init(&js, text, strlen(text));
	assert_true(json_scan_object(&js));
	while (json_scan_member(&js, key, sizeof(key))) {
		members++;
		if (strcmp(key, "a") == 0)
			assert_false(json_scan_string(&js, buf, sizeof(buf)));  /* an object */
		else if (strcmp(key, "b") == 0)
			assert_false(json_scan_string(&js, buf, sizeof(buf)));  /* 10 bytes, 7 fit */
		else if (strcmp(key, "c") == 0)
			assert_false(json_scan_string(&js, buf, sizeof(buf)));  /* holds U+0000 */
		else if (strcmp(key, "") == 0)
			assert_false(json_scan_object(&js));                    /* too long a name */
		else {
			assert_true(json_scan_string(&js, buf, sizeof(buf)));
			assert_string_equal(buf, "ok");
		}
	}
	assert_int_equal(json_scan_end(&js), 0);
	assert_int_equal(members, 5);
}

/* Ids come as strings or integral numbers; anything else is no id. */
static void
test_ids_as_strings_or_numbers(void **state)
{
	static const struct {
		const char *text;
		const char *id;  /* NULL: no id */
	} cases[] = {
		{"\"12\"", "12"}, {"12", "12"}, {"12.0", "12"}, {"1e3", "1000"}, {"0", "0"},
		{"\"\"", NULL}, {"-1", NULL}, {"1.5", NULL}, {"1e300", NULL}, {"true", NULL},
		{"null", NULL}, {"{\"id\":1}", NULL}, {"\"123456789012345678901234\"", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_scan js;
		char buf[16] = "";
		bool got;

		json_scan_init(&js, cases[i].text, strlen(cases[i].text));
		got = json_scan_id(&js, buf, sizeof(buf));
		assert_int_equal(json_scan_end(&js), 0);
		if (cases[i].id == NULL && got)
			fail_msg("%s: read as id \"%s\"", cases[i].text, buf);
		if (cases[i].id != NULL && (!got || strcmp(buf, cases[i].id) != 0))
			fail_msg("%s: want id %s", cases[i].text, cases[i].id);
	}
}

/* After an error every call says no, and the first error is the one reported. */
static void
test_first_error_sticks(void **state)
{
	const char *text = "[1,@,\"x\"]";
	struct json_scan js;
	char buf[8];
	long n;

	(void)state;
	json_scan_init(&js, text, strlen(text));
	assert_true(json_scan_array(&js));
	assert_true(json_scan_item(&js));
	assert_true(json_scan_long(&js, &n));
	assert_true(json_scan_item(&js));
	assert_false(json_scan_long(&js, &n));
	assert_false(json_scan_item(&js));
	assert_false(json_scan_string(&js, buf, sizeof(buf)));
	assert_false(json_scan_object(&js));
	assert_int_equal(json_scan_peek(&js), JSON_SCAN_ERROR);
	assert_int_equal(json_scan_end(&js), -1);
	assert_string_equal(js.error, "an unexpected character");
	assert_int_equal(js.error_at, 3);
}

/* Only len bytes are read: what follows them in memory is not part of the text. */
static void
test_reads_only_len_bytes(void **state)
{
	const char text[] = "[12]34";
	char str[] = {'"', 'a', 'b'};  /* no closing quote, no NUL */
	struct json_scan js;
	long n = 0;

	(void)state;
	assert_int_equal(scan_all(text, 4, &js), 0);
	json_scan_init(&js, text + 1, 1);
	assert_true(json_scan_long(&js, &n));
	assert_int_equal(n, 1);
	assert_int_equal(json_scan_end(&js), 0);
	assert_int_equal(scan_all(str, sizeof(str), &js), -1);
	assert_string_equal(js.error, "a string without its closing quote");
}

/* Nesting up to JSON_SCAN_MAX_DEPTH is read; one level more is refused, not recursed into. */
static void
test_nesting_is_bounded(void **state)
{
	char text[2 * (JSON_SCAN_MAX_DEPTH + 1) + 1];
	struct json_scan js;

	(void)state;
	for (int deep = JSON_SCAN_MAX_DEPTH; deep <= JSON_SCAN_MAX_DEPTH + 1; deep++) {
		memset(text, '[', (size_t)deep);
		memset(text + deep, ']', (size_t)deep);
		text[2 * deep] = '\0';
		assert_int_equal(scan_all(text, strlen(text), &js),
		    deep > JSON_SCAN_MAX_DEPTH ? -1 : 0);
	}
	assert_string_equal(js.error, "nested too deeply");
	assert_int_equal(js.error_at, JSON_SCAN_MAX_DEPTH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_text_is_refused),
		cmocka_unit_test(test_wellformed_text_is_accepted),
		cmocka_unit_test(test_members_read_as_written),
		cmocka_unit_test(test_expected_members_taken_raw),
		cmocka_unit_test(test_unwanted_values_are_skipped),
		cmocka_unit_test(test_ids_as_strings_or_numbers),
		cmocka_unit_test(test_first_error_sticks),
		cmocka_unit_test(test_reads_only_len_bytes),
		cmocka_unit_test(test_nesting_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
