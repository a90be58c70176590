/* Unit tests for metrics.c: the Prometheus text file, and series kept for tenants left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "metrics.h"

static char dir[64], path[96];

static int
setup(void **unused)
{
	(void)unused;
	snprintf(dir, sizeof(dir), "/tmp/bridge-metrics-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bridge.prom", dir);
	return 0;
}

static int
teardown(void **unused)
{
	(void)unused;
	(void)unlink(path);
	assert_int_equal(rmdir(dir), 0);
	return 0;
}

static char *
read_back(void)
{
	char *text;
	size_t len;

	assert_int_equal(fileio_read(path, 1 << 20, &text, &len), FILEIO_OK);
	return text;
}

/* A tenant's kept series are copied as they were; another whose name it begins is not. */
static void
test_kept_series_are_copied_exactly(void **unused)
{
	static const char previous[] =
	    "# HELP bridge_devices x\n"
	    "bridge_devices{tenant=\"east\",policy=\"macs\",target=\"26.3.1 25D771280a\","
	    "class=\"done\"} 7\n"
	    "bridge_devices{tenant=\"eastern\",policy=\"macs\",target=\"26.3.1 25D771280a\","
	    "class=\"done\"} 9\n"
	    "bridge_devices{tenant=\"we\\\"st\",policy=\"p\",target=\"t\",class=\"late\"} 2\n"
	    "bridge_last_success_timestamp_seconds 1700000000\n";
	struct metrics m = {0}, tenant = {0};
	char *text;

	(void)unused;
	assert_int_equal(fileio_write_atomic(path, previous, sizeof(previous) - 1, 0644), 0);
	assert_int_equal(metrics_keep(&tenant, "east"), 0);
	assert_int_equal(metrics_keep(&m, "we\"st"), 0);
	assert_int_equal(metrics_take(&m, &tenant), 0);   /* a tenant's job joins the run's */
	assert_int_equal(m.nkept, 2);
	assert_int_equal(metrics_write(&m, path, false, 1800000000), 0);
	text = read_back();
	assert_non_null(strstr(text, "bridge_devices{tenant=\"east\",policy=\"macs\","
	    "target=\"26.3.1 25D771280a\",class=\"done\"} 7\n"));
	assert_non_null(strstr(text, "bridge_devices{tenant=\"we\\\"st\",policy=\"p\","
	    "target=\"t\",class=\"late\"} 2\n"));
	assert_null(strstr(text, "eastern"));
	/* a run that failed keeps the last success time of the file it replaces */
	assert_non_null(strstr(text, "bridge_last_success_timestamp_seconds 1700000000\n"));
	assert_non_null(strstr(text, "bridge_last_run_success 0\n"));
	free(text);
	metrics_release(&m);
}

/* Nothing kept, or no file before: only this run's series. */
static void
test_nothing_to_keep(void **unused)
{
	struct metrics m = {0};
	char *text;

	(void)unused;
	assert_int_equal(metrics_keep(&m, "east"), 0);
	assert_int_equal(metrics_write(&m, path, true, 1800000000), 0);
	text = read_back();
	assert_null(strstr(text, "bridge_devices{"));
	assert_non_null(strstr(text, "bridge_last_success_timestamp_seconds 1800000000\n"));
	free(text);
	metrics_release(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kept_series_are_copied_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_keep, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
