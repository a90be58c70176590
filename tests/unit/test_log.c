/* Unit tests for log.c: levels, formats and escaping of what servers send. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static char buf[65536];
static FILE *stream;

static int
open_stream(void **state)
{
	(void)state;
	memset(buf, 0, sizeof(buf));
	stream = fmemopen(buf, sizeof(buf), "w");
	log_set_stream(stream);
	return stream == NULL ? -1 : 0;
}

static int
close_stream(void **state)
{
	(void)state;
	log_set_stream(NULL);
	return fclose(stream);
}

static void
test_levels(void **state)
{
	(void)state;
	log_init(LOG_LEVEL_WARN, false);
	log_info("hidden");
	log_debug("hidden too");
	log_warn("disk %d%% full", 91);
	log_error("cannot open \"%s\"", "x");
	fflush(stream);
	assert_string_equal(buf, "bridge: warning: disk 91% full\n"
	    "bridge: error: cannot open \"x\"\n");
	assert_false(log_enabled(LOG_LEVEL_INFO));
	assert_true(log_enabled(LOG_LEVEL_ERROR));
}

/* A server's text with CR/LF or ESC cannot forge log lines or drive the terminal. */
static void
test_escaping(void **state)
{
	(void)state;
	log_init(LOG_LEVEL_INFO, false);
	log_info("reason: %s", "bad\r\nbridge: error: forged\x1b[31m");
	fflush(stream);
	assert_string_equal(buf, "bridge: reason: bad\\x0d\\x0abridge: error: forged\\x1b[31m\n");
}

static void
test_json_lines(void **state)
{
	char *p;

	(void)state;
	log_init(LOG_LEVEL_DEBUG, true);
	log_debug("say \"hi\"\\\n");
	log_diag("a.yaml", 3, 7, "bad \"x\"");
	fflush(stream);
	p = strstr(buf, "\"level\":\"debug\",\"msg\":\"say \\\"hi\\\"\\\\\\u000a\"}\n");
	assert_non_null(p);
	assert_non_null(strstr(buf, "{\"time\":\""));
	assert_non_null(strstr(buf, "\"level\":\"error\",\"file\":\"a.yaml\",\"line\":3,\"col\":7,"
	    "\"msg\":\"bad \\\"x\\\"\"}\n"));
}

/* The lines of a thread working for a tenant name it; other threads' lines do not. */
static void *
other_thread(void *arg)
{
	(void)arg;
	log_info("from another thread");
	return NULL;
}

static void
test_tenant_lines(void **state)
{
	pthread_t t;

	(void)state;
	log_init(LOG_LEVEL_INFO, false);
	log_set_tenant("acme");
	log_error("policy macs: gone");
	log_info("120 computers");
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	log_init(LOG_LEVEL_INFO, true);
	log_warn("slow");
	log_set_tenant(NULL);
	log_info("done");
	fflush(stream);
	assert_non_null(strstr(buf, "bridge: error: acme: policy macs: gone\n"
	    "bridge: acme: 120 computers\n"
	    "bridge: from another thread\n"
	    "{\"time\":\""));
	assert_non_null(strstr(buf, "\",\"level\":\"warning\",\"tenant\":\"acme\",\"msg\":\"slow\"}\n"));
	assert_non_null(strstr(buf, "\",\"level\":\"info\",\"msg\":\"done\"}\n"));
}

static void
test_diag_text(void **state)
{
	(void)state;
	log_init(LOG_LEVEL_INFO, false);
	log_diag("conf/b.yaml", 12, 5, "unknown key \"x\"");
	fflush(stream);
	assert_string_equal(buf, "conf/b.yaml:12:5: unknown key \"x\"\n");
}

static void
test_long_message_cut(void **state)
{
	static char big[10000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	log_init(LOG_LEVEL_INFO, false);
	log_info("%s", big);
	fflush(stream);
	assert_true(strlen(buf) < 4200);
	assert_non_null(strstr(buf, "aaa...\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_levels, open_stream, close_stream),
		cmocka_unit_test_setup_teardown(test_escaping, open_stream, close_stream),
		cmocka_unit_test_setup_teardown(test_json_lines, open_stream, close_stream),
		cmocka_unit_test_setup_teardown(test_tenant_lines, open_stream, close_stream),
		cmocka_unit_test_setup_teardown(test_diag_text, open_stream, close_stream),
		cmocka_unit_test_setup_teardown(test_long_message_cut, open_stream, close_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
