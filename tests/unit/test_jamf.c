/*
 * Unit tests for the pure parts of the Jamf session layer (jamf.c) and json.c: RSQL quoting,
 * URL encoding, the privilege table behind 403 messages, and typed reads of hostile JSON.
 * Everything that talks HTTP is tested against the simulator (tests/integration).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jamf.h"

static void
test_rsql_quotes_and_escapes(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(jamf_rsql_value("Lab \"A\", 2nd floor", out, sizeof(out)), 0);
	/* "Lab \"A\", 2nd floor" URL-encoded */
	assert_string_equal(out, "%22Lab%20%5C%22A%5C%22%2C%202nd%20floor%22");
	assert_int_equal(jamf_rsql_value("back\\slash", out, sizeof(out)), 0);
	assert_string_equal(out, "%22back%5C%5Cslash%22");
	assert_int_equal(jamf_rsql_value("", out, sizeof(out)), 0);
	assert_string_equal(out, "%22%22");
	/* too long for the buffer: refused, not cut */
	assert_int_equal(jamf_rsql_value("Ring 1 - Pilot", out, 10), -1);
}

/* The list inside in=(…): as many values as fit, whole, joined by an encoded comma. */
static void
test_rsql_values(void **state)
{
	const char *const values[] = {"a", "b \"c\"", "d"};
	char out[64];

	(void)state;
	assert_int_equal(jamf_rsql_values(values, 3, out, sizeof(out)), 3);
	assert_string_equal(out, "%22a%22%2C%22b%20%5C%22c%5C%22%22%2C%22d%22");
	/* room for the first two and not the third: two, and nothing of the third */
	assert_int_equal(jamf_rsql_values(values, 3, out, 36), 2);
	assert_string_equal(out, "%22a%22%2C%22b%20%5C%22c%5C%22%22");
	assert_int_equal(jamf_rsql_values(values, 3, out, 5), 0);
	assert_string_equal(out, "");
	assert_int_equal(jamf_rsql_values(values, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void
test_url_encode(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(jamf_url_encode("a-b_c.d~e", out, sizeof(out)), 0);
	assert_string_equal(out, "a-b_c.d~e");
	assert_int_equal(jamf_url_encode("p&q=r s/é", out, sizeof(out)), 0);
	assert_string_equal(out, "p%26q%3Dr%20s%2F%C3%A9");
	assert_int_equal(jamf_url_encode("abc", out, 3), -1);
	assert_int_equal(jamf_url_encode("abc", out, 4), 0);
}

static void
test_privileges_by_endpoint(void **state)
{
	(void)state;
	assert_string_equal(jamf_pro_privileges("GET",
	    "/api/v4/computers-inventory?section=GENERAL&page=0"), "Read Computers");
	assert_string_equal(jamf_pro_privileges("GET",
	    "/api/v3/computer-groups/smart-group-membership/12"), "Read Smart Computer Groups");
	assert_string_equal(jamf_pro_privileges("PUT",
	    "/api/v3/computer-groups/static-groups/7"), "Update Static Computer Groups");
	assert_non_null(strstr(jamf_pro_privileges("POST",
	    "/api/v1/managed-software-updates/plans"), "Create Managed Software Updates"));
	assert_string_equal(jamf_pro_privileges("GET",
	    "/api/v1/managed-software-updates/plans/feature-toggle"),
	    "Read Managed Software Updates");
	/* a segment wildcard matches one segment only */
	assert_null(jamf_pro_privileges("GET", "/api/v3/computer-groups/static-groups/7/x"));
	assert_null(jamf_pro_privileges("DELETE", "/api/v4/computers-inventory"));
}

static void
test_json_typed_reads(void **state)
{
	cJSON *o = cJSON_Parse("{\"s\":\"x\",\"n\":12,\"f\":1.5,\"neg\":-3,\"b\":true,"
	    "\"id\":\"42\",\"nid\":42,\"null\":null,\"arr\":[1],\"obj\":{}}");
	char buf[16];
	long v;

	(void)state;
	assert_non_null(o);
	assert_string_equal(json_str(o, "s"), "x");
	assert_null(json_str(o, "n"));          /* wrong type reads as absent */
	assert_null(json_str(o, "missing"));
	assert_null(json_str(NULL, "s"));
	assert_true(json_long(o, "n", &v));
	assert_int_equal(v, 12);
	assert_false(json_long(o, "f", &v));    /* not integral */
	assert_false(json_long(o, "s", &v));
	assert_string_equal(json_id(o, "id", buf, sizeof(buf)), "42");
	assert_string_equal(json_id(o, "nid", buf, sizeof(buf)), "42");
	assert_null(json_id(o, "neg", buf, sizeof(buf)));
	assert_null(json_id(o, "null", buf, sizeof(buf)));
	assert_true(json_bool(o, "b", false));
	assert_true(json_bool(o, "s", true));   /* default when not a boolean */
	assert_non_null(json_arr(o, "arr"));
	assert_null(json_arr(o, "obj"));
	assert_non_null(json_obj(o, "obj"));
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsql_quotes_and_escapes),
		cmocka_unit_test(test_rsql_values),
		cmocka_unit_test(test_url_encode),
		cmocka_unit_test(test_privileges_by_endpoint),
		cmocka_unit_test(test_json_typed_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
