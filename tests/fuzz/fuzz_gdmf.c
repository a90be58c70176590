/*
 * libFuzzer target for the GDMF feed parser: arbitrary bytes must give either a clear refusal
 * with nothing allocated, or a feed whose every entry keeps the promises of gdmf.h.
 * Seeded with Apple's real captures (tests/fixtures/gdmf); run by `make fuzz`.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "gdmf.h"
#include "version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A field the parser accepted: 1..GDMF_MAX_FIELD_BYTES printable ASCII characters. */
static void
check_field(const char *s)
{
	size_t len;

	if (s == NULL)
		return;
	len = strlen(s);
	assert(len >= 1 && len <= GDMF_MAX_FIELD_BYTES);
	for (size_t i = 0; i < len; i++)
		assert(s[i] >= 0x20 && s[i] <= 0x7e);
}

static void
check_entry(const struct gdmf_entry *e)
{
	struct version v;
	struct build b;

	assert(e->list == GDMF_LIST_BSI || e->list == GDMF_LIST_PUBLIC || e->list == GDMF_LIST_ASSET);
	assert(e->platform != NULL && e->version != NULL);
	check_field(e->platform);
	check_field(e->version);
	check_field(e->extra);
	check_field(e->build);
	check_field(e->prerequisite);
	check_field(e->posted);
	check_field(e->expires);
	assert(version_parse(e->version, &v) == 0);
	assert(e->build == NULL || build_parse(e->build, &b) == 0);
	if (e->list == GDMF_LIST_BSI) {
		assert(e->extra != NULL && e->prerequisite != NULL);
		assert(build_parse(e->prerequisite, &b) == 0);
	}
	for (size_t i = 0; i < e->ndevices; i++) {
		check_field(e->devices[i]);
		if (i > 0)
			assert(strcmp(e->devices[i - 1], e->devices[i]) < 0);  /* sorted, unique */
	}
}

/* Whether two optional fields are equal, NULL equal only to NULL. */
static int
same_opt(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gdmf_feed feed;
	char err[256];

	memset(&feed, 0, sizeof(feed));
	if (gdmf_feed_parse((const char *)data, size, &feed, err, sizeof(err)) == -1) {
		assert(feed.n == 0 && feed.entries == NULL);
		assert(err[0] != '\0');
		return 0;
	}
	assert(feed.n >= 1 && feed.n <= GDMF_MAX_ENTRIES);
	for (size_t i = 0; i < feed.n; i++) {
		const struct gdmf_entry *e = &feed.entries[i];

		check_entry(e);
		if (i > 0)
			assert(feed.entries[i - 1].list <= e->list);  /* lists stay in order */
		for (size_t k = 0; k < i; k++) {               /* no identity twice */
			const struct gdmf_entry *p = &feed.entries[k];

			assert(!(p->list == e->list && strcmp(p->platform, e->platform) == 0 &&
			    strcmp(p->version, e->version) == 0 && same_opt(p->build, e->build) &&
			    same_opt(p->extra, e->extra) && same_opt(p->prerequisite, e->prerequisite)));
		}
	}
	gdmf_feed_release(&feed);
	assert(feed.n == 0 && feed.entries == NULL);
	return 0;
}
