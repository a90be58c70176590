/*
 * Unit tests for the GDMF parser (gdmf_feed_parse) on Apple's real feed captures
 * (tests/fixtures/gdmf/pmv-*.json, copied from reference/gdmf/) and on hand-made damage.
 * The expected figures were counted independently from the captures with a JSON tool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fileio.h"
#include "gdmf.h"

struct fixture {
	char *text;
	size_t len;
	struct gdmf_feed feed;
};

static struct fixture *
load(const char *name)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[512], err[256] = "";

	assert_non_null(f);
	snprintf(path, sizeof(path), "%s/gdmf/%s", FIXTURES, name);
	assert_int_equal(fileio_read(path, GDMF_MAX_BODY_BYTES, &f->text, &f->len), FILEIO_OK);
	if (gdmf_feed_parse(f->text, f->len, &f->feed, err, sizeof(err)) != 0)
		fail_msg("%s: %s", name, err);
	return f;
}

static void
unload(struct fixture *f)
{
	gdmf_feed_release(&f->feed);
	free(f->text);
	free(f);
}

/* Number of entries in one list for one platform. */
static size_t
count(const struct gdmf_feed *feed, enum gdmf_list list, const char *platform)
{
	size_t n = 0;

	for (size_t i = 0; i < feed->n; i++)
		if (feed->entries[i].list == list && strcmp(feed->entries[i].platform, platform) == 0)
			n++;
	return n;
}

/* The entry with this list, platform and build (build NULL: the first without one). */
static const struct gdmf_entry *
find(const struct gdmf_feed *feed, enum gdmf_list list, const char *platform, const char *version,
    const char *build)
{
	for (size_t i = 0; i < feed->n; i++) {
		const struct gdmf_entry *e = &feed->entries[i];

		if (e->list != list || strcmp(e->platform, platform) != 0 ||
		    strcmp(e->version, version) != 0)
			continue;
		if (build == NULL ? e->build == NULL : (e->build && strcmp(e->build, build) == 0))
			return e;
	}
	return NULL;
}

static bool
has_device(const struct gdmf_entry *e, const char *id)
{
	for (size_t i = 0; i < e->ndevices; i++)
		if (strcmp(e->devices[i], id) == 0)
			return true;
	return false;
}

static void
test_2026_bsis_exact(void **state)
{
	struct fixture *f = load("pmv-2026-03-17.json");
	const struct gdmf_entry *e;

	(void)state;
	assert_int_equal(f->feed.n, 128);  /* 133 listed, 5 listed twice */
	assert_int_equal(f->feed.skipped, 0);
	assert_int_equal(count(&f->feed, GDMF_LIST_BSI, "macOS"), 2);
	assert_int_equal(count(&f->feed, GDMF_LIST_BSI, "iOS"), 1);
	assert_int_equal(count(&f->feed, GDMF_LIST_BSI, "visionOS"), 0);

	/* sorted: the BSI list first, iOS before macOS, newest version first */
	e = &f->feed.entries[0];
	assert_int_equal(e->list, GDMF_LIST_BSI);
	assert_string_equal(e->platform, "iOS");
	assert_string_equal(e->version, "26.3.1");
	assert_string_equal(e->extra, "(a)");
	assert_string_equal(e->build, "23D771330a");
	assert_string_equal(e->prerequisite, "23D8133");
	assert_string_equal(e->posted, "2026-03-17");
	assert_string_equal(e->expires, "2026-06-15");
	assert_int_equal(e->ndevices, 95);
	assert_true(has_device(e, "iPhone17,1"));

	e = &f->feed.entries[1];
	assert_string_equal(e->platform, "macOS");
	assert_string_equal(e->version, "26.3.2");
	assert_string_equal(e->extra, "(a)");
	assert_string_equal(e->build, "25D771400a");
	assert_string_equal(e->prerequisite, "25D2140");
	assert_string_equal(e->expires, "2026-06-15");
	assert_int_equal(e->ndevices, 1);
	assert_string_equal(e->devices[0], "J700AP");

	e = &f->feed.entries[2];
	assert_string_equal(e->platform, "macOS");
	assert_string_equal(e->version, "26.3.1");
	assert_string_equal(e->extra, "(a)");
	assert_string_equal(e->build, "25D771280a");
	assert_string_equal(e->prerequisite, "25D2128");
	assert_int_equal(e->ndevices, 62);
	assert_true(has_device(e, "J413AP"));
	assert_true(has_device(e, "VMA2MACOSAP"));
	assert_false(has_device(e, "J700AP"));
	unload(f);
}

static void
test_2026_releases(void **state)
{
	struct fixture *f = load("pmv-2026-03-17.json");
	const struct gdmf_entry *e;

	(void)state;
	assert_int_equal(count(&f->feed, GDMF_LIST_PUBLIC, "iOS"), 31);
	assert_int_equal(count(&f->feed, GDMF_LIST_PUBLIC, "macOS"), 7);
	assert_int_equal(count(&f->feed, GDMF_LIST_PUBLIC, "visionOS"), 2);
	assert_int_equal(count(&f->feed, GDMF_LIST_ASSET, "iOS"), 67);
	assert_int_equal(count(&f->feed, GDMF_LIST_ASSET, "macOS"), 12);
	assert_int_equal(count(&f->feed, GDMF_LIST_ASSET, "visionOS"), 6);

	/* the base builds of both macOS BSIs are public releases */
	e = find(&f->feed, GDMF_LIST_PUBLIC, "macOS", "26.3.1", "25D2128");
	assert_non_null(e);
	assert_null(e->extra);
	assert_null(e->prerequisite);
	assert_int_equal(e->ndevices, 62);
	e = find(&f->feed, GDMF_LIST_PUBLIC, "macOS", "26.3.2", "25D2140");
	assert_non_null(e);
	assert_int_equal(e->ndevices, 1);
	assert_string_equal(e->devices[0], "J700AP");

	/* AssetSets lists 26.3.1 25D2128 twice (62 models, then 1): one entry, the union */
	e = find(&f->feed, GDMF_LIST_ASSET, "macOS", "26.3.1", "25D2128");
	assert_non_null(e);
	assert_int_equal(e->ndevices, 63);
	for (size_t i = 1; i < e->ndevices; i++)
		assert_true(strcmp(e->devices[i - 1], e->devices[i]) < 0);  /* sorted, unique */
	unload(f);
}

static void
test_2025_no_bsis(void **state)
{
	struct fixture *f = load("pmv-2025-10-30.json");

	(void)state;
	/* PublicBackgroundSecurityImprovements is present and empty */
	assert_int_equal(f->feed.n, 128);
	assert_int_equal(count(&f->feed, GDMF_LIST_BSI, "macOS"), 0);
	assert_int_equal(count(&f->feed, GDMF_LIST_BSI, "iOS"), 0);
	assert_int_equal(count(&f->feed, GDMF_LIST_ASSET, "iOS"), 62);
	assert_int_equal(count(&f->feed, GDMF_LIST_PUBLIC, "macOS"), 7);
	assert_non_null(find(&f->feed, GDMF_LIST_PUBLIC, "macOS", "26.0.1", "25A362"));
	assert_int_equal(f->feed.entries[0].list, GDMF_LIST_PUBLIC);
	unload(f);
}

static void
test_2024_rsr_name_and_xros(void **state)
{
	struct fixture *f = load("pmv-2024-06-30.json");
	const struct gdmf_entry *e;

	(void)state;
	/* the old PublicRapidSecurityResponses (empty here), and both xrOS and visionOS keys */
	assert_int_equal(f->feed.n, 81);
	assert_int_equal(count(&f->feed, GDMF_LIST_PUBLIC, "xrOS"), 1);
	assert_int_equal(count(&f->feed, GDMF_LIST_PUBLIC, "visionOS"), 2);
	assert_int_equal(count(&f->feed, GDMF_LIST_ASSET, "xrOS"), 1);
	assert_int_equal(count(&f->feed, GDMF_LIST_ASSET, "visionOS"), 4);
	e = find(&f->feed, GDMF_LIST_PUBLIC, "xrOS", "1.0.3", "21N333");
	assert_non_null(e);
	e = find(&f->feed, GDMF_LIST_PUBLIC, "macOS", "14.5", "23F79");
	assert_non_null(e);
	assert_int_equal(e->ndevices, 56);
	unload(f);
}

static void
test_rsr_without_build(void **state)
{
	struct fixture *f = load("rsr-shape-2023-handmade.json");
	const struct gdmf_entry *e;

	(void)state;
	assert_int_equal(count(&f->feed, GDMF_LIST_BSI, "macOS"), 1);
	e = &f->feed.entries[0];
	assert_int_equal(e->list, GDMF_LIST_BSI);
	assert_string_equal(e->version, "13.3.1");
	assert_string_equal(e->extra, "(a)");
	assert_null(e->build);  /* the 2023 shape had no Build */
	assert_string_equal(e->prerequisite, "22E261");
	assert_string_equal(e->expires, "2023-07-31");
	e = find(&f->feed, GDMF_LIST_PUBLIC, "iOS", "16.2", NULL);
	assert_non_null(e);
	unload(f);
}

/* Parse a hand-made document; return the error (or "" on success). */
static const char *
parse_text(const char *json, struct gdmf_feed *feed)
{
	static char err[256];

	err[0] = '\0';
	if (gdmf_feed_parse(json, strlen(json), feed, err, sizeof(err)) == 0)
		return "";
	assert_int_equal(feed->n, 0);
	assert_null(feed->entries);
	return err;
}

static void
test_refused_documents(void **state)
{
	struct gdmf_feed feed = {0};
	char *text, *cut;
	size_t len;
	char path[512], err[256];

	(void)state;
	assert_non_null(strstr(parse_text("{\"a\":1}", &feed), "not a GDMF feed"));
	assert_non_null(strstr(parse_text("[1,2]", &feed), "not a JSON object"));
	assert_non_null(strstr(parse_text("<html>503</html>", &feed), "not valid JSON"));
	assert_non_null(strstr(parse_text("{\"PublicAssetSets\":{}}", &feed), "no usable entries"));
	assert_non_null(strstr(parse_text("{\"AssetSets\":[]}", &feed), "not an object"));
	assert_int_equal(gdmf_feed_parse("", 0, &feed, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));

	/* the real capture cut in half, as a dropped connection would leave it */
	snprintf(path, sizeof(path), "%s/gdmf/pmv-2026-03-17.json", FIXTURES);
	assert_int_equal(fileio_read(path, GDMF_MAX_BODY_BYTES, &text, &len), FILEIO_OK);
	cut = text;
	assert_int_equal(gdmf_feed_parse(cut, len / 2, &feed, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated"));
	free(text);
}

static void
test_malformed_entries_skipped(void **state)
{
	struct gdmf_feed feed = {0};
	const char *json =
	    "{\"PublicBackgroundSecurityImprovements\":{\"macOS\":["
	    /* good */
	    "{\"ProductVersion\":\"26.3.1\",\"ProductVersionExtra\":\"(a)\",\"Build\":\"25D771280a\","
	    "\"PrerequisiteBuild\":\"25D2128\",\"SupportedDevices\":[\"J413AP\",\"J413AP\"]},"
	    /* a BSI without its base build */
	    "{\"ProductVersion\":\"26.3.1\",\"ProductVersionExtra\":\"(b)\",\"Build\":\"25D771290a\"},"
	    /* a number where a string belongs */
	    "{\"ProductVersion\":26.3,\"ProductVersionExtra\":\"(a)\",\"PrerequisiteBuild\":\"25D2128\"},"
	    /* a control character */
	    "{\"ProductVersion\":\"26.3.1\",\"ProductVersionExtra\":\"(a)\",\"Build\":\"25D\\u0007\","
	    "\"PrerequisiteBuild\":\"25D2128\"},"
	    /* an over-long field */
	    "{\"ProductVersion\":\"26.3.1\",\"ProductVersionExtra\":\"(a)\",\"PrerequisiteBuild\":"
	    "\"25D2128\",\"PostingDate\":\"2026-03-17xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},"
	    /* not a date */
	    "{\"ProductVersion\":\"26.3.1\",\"ProductVersionExtra\":\"(a)\",\"PrerequisiteBuild\":"
	    "\"25D2128\",\"ExpirationDate\":\"2026-13-45\"},"
	    /* devices not strings */
	    "{\"ProductVersion\":\"26.3.1\",\"ProductVersionExtra\":\"(a)\",\"PrerequisiteBuild\":"
	    "\"25D2128\",\"SupportedDevices\":[1]},"
	    "7],"
	    "\"newOS\":[{\"ProductVersion\":\"1.0\",\"ProductVersionExtra\":\"(a)\","
	    "\"PrerequisiteBuild\":\"10A100\"}]}}";

	(void)state;
	assert_string_equal(parse_text(json, &feed), "");
	assert_int_equal(feed.n, 2);      /* the good one, and the unknown platform kept */
	assert_int_equal(feed.skipped, 7);
	assert_string_equal(feed.entries[0].platform, "macOS");
	assert_int_equal(feed.entries[0].ndevices, 1);  /* the repeated model listed once */
	assert_string_equal(feed.entries[1].platform, "newOS");
	gdmf_feed_release(&feed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_2026_bsis_exact),
		cmocka_unit_test(test_2026_releases),
		cmocka_unit_test(test_2025_no_bsis),
		cmocka_unit_test(test_2024_rsr_name_and_xros),
		cmocka_unit_test(test_rsr_without_build),
		cmocka_unit_test(test_refused_documents),
		cmocka_unit_test(test_malformed_entries_skipped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
