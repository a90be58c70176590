/* Unit tests for url.c: which endpoint URLs bridge accepts, and why it refuses the others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "url.h"

struct url_case {
	const char *url;
	unsigned flags;
	const char *error;  /* NULL: accepted */
};

static const struct url_case cases[] = {
	{"https://acme.jamfcloud.com", 0, NULL},
	{"https://jamf.example.com:8443/jamf", 0, NULL},
	{"https://gdmf.apple.com/v2/pmv", 0, NULL},
	{"HTTPS://Acme.JamfCloud.com/", 0, NULL},
	{"http://127.0.0.1:8080/api", 0, NULL},
	{"http://localhost:3000", 0, NULL},
	{"http://[::1]:8443/x", 0, NULL},
	{"https://[2001:db8::1]/", 0, NULL},
	{"https://hooks.example.com/wf?api-version=1&sig=abc", URL_ALLOW_QUERY, NULL},
	{"http://jamf.example.com", 0,
	    "URL must use https (plain http is allowed only for loopback hosts)"},
	{"http://128.0.0.1", 0, "URL must use https (plain http is allowed only for loopback hosts)"},
	{"http://localhost.evil.com", 0,
	    "URL must use https (plain http is allowed only for loopback hosts)"},
	{"ftp://jamf.example.com", 0, "URL must start with https://"},
	{"jamf.example.com", 0, "URL must start with https://"},
	{"https://", 0, "URL has no valid host name"},
	{"https://-bad.example.com", 0, "URL has no valid host name"},
	{"https://jamf_example.com", 0, "URL has no valid host name"},
	{"https://user:pw@jamf.example.com", 0, "URL must not contain a user name or password"},
	{"https://jamf.example.com:0", 0, "URL has an invalid port (expected 1-65535)"},
	{"https://jamf.example.com:65536", 0, "URL has an invalid port (expected 1-65535)"},
	{"https://jamf.example.com:", 0, "URL has an invalid port (expected 1-65535)"},
	{"https://jamf.example.com:80a", 0, "URL has an invalid port (expected 1-65535)"},
	{"https://jamf.example.com/a b", 0, "URL contains a space or control character"},
	{"https://jamf.example.com/\r\nX-Injected: 1", 0, "URL contains a space or control character"},
	{"https://jamf.example.com/#top", 0, "URL must not contain a fragment ('#')"},
	{"https://jamf.example.com/?a=b", 0, "URL must not contain a query ('?')"},
	{"https://[::1", 0, "URL has a malformed IPv6 address"},
	{"https://[zz::1]/", 0, "URL has a malformed IPv6 address"},
};

static void
test_url_table(void **state)
{
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		err[0] = '\0';
		rc = url_check(cases[i].url, cases[i].flags, err, sizeof(err));
		if (cases[i].error == NULL && rc != 0)
			fail_msg("%s refused: %s", cases[i].url, err);
		if (cases[i].error != NULL) {
			if (rc != -1)
				fail_msg("%s accepted", cases[i].url);
			if (strcmp(err, cases[i].error) != 0)
				fail_msg("%s:\n  want %s\n  got  %s", cases[i].url, cases[i].error, err);
		}
	}
}

/* A refusal never repeats the URL: webhook URLs are secrets. */
static void
test_error_hides_url(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(url_check("http://hooks.example.com/services/T0/SECRETTOKEN", 0, err,
	    sizeof(err)), -1);
	assert_null(strstr(err, "SECRETTOKEN"));
	assert_null(strstr(err, "hooks.example.com"));
}

static void
test_loopback(void **state)
{
	(void)state;
	assert_true(url_host_is_loopback("127.0.0.1"));
	assert_true(url_host_is_loopback("127.255.1.2"));
	assert_true(url_host_is_loopback("LOCALHOST"));
	assert_true(url_host_is_loopback("::1"));
	assert_false(url_host_is_loopback("127.0.0.1.nip.io"));
	assert_false(url_host_is_loopback("10.0.0.1"));
	assert_false(url_host_is_loopback("127.0.0.256"));
	assert_false(url_host_is_loopback(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_table),
		cmocka_unit_test(test_error_hides_url),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
