/*
 * libFuzzer target for version.c: every parser on arbitrary bytes, the format/parse round trip,
 * and the BSI decision on fields cut from the input.
 *   clang -fsanitize=fuzzer,address,undefined -Ibridge tests/fuzz/fuzz_version.c bridge/version.c
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "version.h"

#define FUZZ_MAX_INPUT_BYTES 256
#define FUZZ_FIELDS 9  /* 5 BSI fields, 4 device fields; a tenth field is today */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check the parsers on s and the round trips of what they accept. */
static void
fuzz_parsers(const char *s)
{
	char buf[VERSION_FORMAT_BYTES];
	struct version v, again;
	struct build b, bagain;
	int y, m, d, rank;

	if (version_parse(s, &v) == 0) {
		assert(v.nparts >= 1 && v.nparts <= VERSION_MAX_PARTS);
		version_format(&v, buf, sizeof(buf));
		assert(strcmp(buf, s) == 0);  /* strict parsing means canonical input */
		assert(version_parse(buf, &again) == 0);
		assert(version_compare(&v, &again) == 0);
	}
	if (build_parse(s, &b) == 0) {
		build_format(&b, buf, sizeof(buf));
		assert(strcmp(buf, s) == 0);
		assert(build_parse(buf, &bagain) == 0);
		assert(build_compare(&b, &bagain) == 0);
	}
	rank = version_extra_rank(s);
	assert(rank >= -1 && rank <= VERSION_EXTRA_MAX_RANK);
	if (version_date_parse(s, &y, &m, &d) == 0)
		assert(y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= 31);
}

/* Split buf at newlines into up to n fields; missing ones are NULL. */
static void
fuzz_split(char *buf, const char **field, size_t n)
{
	char *p = buf;

	for (size_t i = 0; i < n; i++) {
		char *nl;

		if (p == NULL) {
			field[i] = NULL;
			continue;
		}
		field[i] = p;
		if ((nl = strchr(p, '\n')) != NULL) {
			*nl = '\0';
			p = nl + 1;
		} else {
			p = NULL;
		}
	}
}

/* Run the BSI decision on fields cut from the input and check it is self-consistent. */
static void
fuzz_standing(char *buf)
{
	const char *f[FUZZ_FIELDS + 1];
	struct version_bsi bsi, other;
	struct version_device dev;
	enum version_standing st;

	fuzz_split(buf, f, FUZZ_FIELDS + 1);
	bsi.version = f[0];
	bsi.extra = f[1];
	bsi.build = f[2];
	bsi.prerequisite_build = f[3];
	bsi.devices = &f[8];  /* the model itself, or whatever follows it */
	bsi.ndevices = f[8] != NULL ? 1 : 0;
	bsi.expires = f[4];
	dev.version = f[5];
	dev.build = f[6];
	dev.supplemental_build = f[7];
	dev.extra = f[1];
	dev.model = f[8];
	st = version_bsi_standing(&bsi, &dev, f[9] != NULL ? f[9] : "2026-03-17");
	assert(st >= VERSION_NEEDS_BSI && st <= VERSION_UNKNOWN);
	assert(version_standing_name(st) != NULL);
	assert(version_bsi_applies(&bsi, &dev, "2026-03-17") ==
	    (version_bsi_standing(&bsi, &dev, "2026-03-17") == VERSION_NEEDS_BSI));

	other = bsi;
	other.extra = f[7];
	other.build = f[6];
	assert((version_bsi_compare(&bsi, &other) > 0) == (version_bsi_compare(&other, &bsi) < 0));
	assert(version_bsi_compare(&bsi, &bsi) == 0);
	assert(!version_bsi_supersedes(&bsi, &bsi));
	assert(!(version_bsi_supersedes(&bsi, &other) && version_bsi_supersedes(&other, &bsi)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[FUZZ_MAX_INPUT_BYTES + 1];

	if (size > FUZZ_MAX_INPUT_BYTES)
		size = FUZZ_MAX_INPUT_BYTES;
	memcpy(buf, data, size);
	buf[size] = '\0';
	fuzz_parsers(buf);
	fuzz_standing(buf);
	return 0;
}
