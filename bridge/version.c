/*
 * Apple version and build model. Inputs come from the feed, from Jamf inventory and from DDM
 * status, so every parser is strict and reads at most a few bytes past what it accepts: a
 * malformed value becomes VERSION_UNKNOWN upstream instead of a wrong decision.
 */
#include "version.h"

#include <stdio.h>
#include <string.h>

#define BUILD_MIN_MAJOR_DIGITS 2
#define BUILD_MAX_MAJOR_DIGITS 3
#define BUILD_MAX_NUMBER_DIGITS 7
#define VERSION_MAX_PART_DIGITS 4
#define DATE_BYTES 10  /* "YYYY-MM-DD" */

/* Sign of the difference of a and b: -1, 0 or 1. */
static int
version_sign(long a, long b)
{
	return (a > b) - (a < b);
}

/* Whether s is NULL or the empty string (an optional field that is absent). */
static bool
version_absent(const char *s)
{
	return s == NULL || *s == '\0';
}

/*
 * Read 1 to maxdigits decimal digits at *p without a leading zero ("0" alone is fine), store
 * the value in *out and advance *p. Return the number of digits read, or -1.
 */
static int
version_digits(const char **p, int maxdigits, long *out)
{
	const char *s = *p;
	long value = 0;
	int n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n == maxdigits)
			return -1;
		value = value * 10 + (s[n] - '0');
		n++;
	}
	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	*out = value;
	*p = s + n;
	return n;
}

int
version_parse(const char *s, struct version *out)
{
	struct version v;
	long part;

	if (s == NULL)
		return -1;
	memset(&v, 0, sizeof(v));
	for (;;) {
		if (v.nparts == VERSION_MAX_PARTS ||
		    version_digits(&s, VERSION_MAX_PART_DIGITS, &part) == -1)
			return -1;
		v.part[v.nparts++] = (int)part;
		if (*s == '\0')
			break;
		if (*s++ != '.')
			return -1;
	}
	*out = v;
	return 0;
}

int
version_compare(const struct version *a, const struct version *b)
{
	for (int i = 0; i < VERSION_MAX_PARTS; i++) {
		int pa = i < a->nparts ? a->part[i] : 0;
		int pb = i < b->nparts ? b->part[i] : 0;

		if (pa != pb)
			return version_sign(pa, pb);
	}
	return 0;
}

/* Whether v holds what version_parse could have produced. */
static bool
version_valid(const struct version *v)
{
	if (v->nparts < 1 || v->nparts > VERSION_MAX_PARTS)
		return false;
	for (int i = 0; i < v->nparts; i++) {
		if (v->part[i] < 0 || v->part[i] > VERSION_MAX_PART)
			return false;
	}
	return true;
}

void
version_format(const struct version *v, char *buf, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (!version_valid(v))
		return;
	for (int i = 0; i < v->nparts && used < size; i++) {
		int n = snprintf(buf + used, size - used, i == 0 ? "%d" : ".%d", v->part[i]);

		if (n < 0) {
			buf[0] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

int
build_parse(const char *s, struct build *out)
{
	struct build b;
	long major;
	int n;

	if (s == NULL)
		return -1;
	memset(&b, 0, sizeof(b));
	n = version_digits(&s, BUILD_MAX_MAJOR_DIGITS, &major);
	if (n < BUILD_MIN_MAJOR_DIGITS)
		return -1;
	b.major = (int)major;
	if (*s < 'A' || *s > 'Z')
		return -1;
	b.train = *s++;
	if (version_digits(&s, BUILD_MAX_NUMBER_DIGITS, &b.number) == -1)
		return -1;
	if (*s >= 'a' && *s <= 'z')
		b.suffix = *s++;
	if (*s != '\0')
		return -1;
	*out = b;
	return 0;
}

int
build_compare(const struct build *a, const struct build *b)
{
	if (a->major != b->major)
		return version_sign(a->major, b->major);
	if (a->train != b->train)
		return version_sign(a->train, b->train);
	if (a->number != b->number)
		return version_sign(a->number, b->number);
	/* '\0' (no suffix) sorts before 'a'. */
	return version_sign((unsigned char)a->suffix, (unsigned char)b->suffix);
}

void
build_format(const struct build *b, char *buf, size_t size)
{
	if (size == 0)
		return;
	buf[0] = '\0';
	if (b->major < 10 || b->major > 999 || b->train < 'A' || b->train > 'Z' ||
	    b->number < 0 || b->number > 9999999 ||
	    (b->suffix != '\0' && (b->suffix < 'a' || b->suffix > 'z')))
		return;
	if (b->suffix == '\0')
		(void)snprintf(buf, size, "%d%c%ld", b->major, b->train, b->number);
	else
		(void)snprintf(buf, size, "%d%c%ld%c", b->major, b->train, b->number, b->suffix);
}

bool
build_same_number(const struct build *a, const struct build *b)
{
	return a->major == b->major && a->train == b->train && a->number == b->number;
}

int
version_extra_rank(const char *extra)
{
	const char *letter = extra;

	if (version_absent(extra))
		return 0;
	if (extra[0] == '(') {
		if (extra[1] == '\0' || extra[2] != ')' || extra[3] != '\0')
			return -1;
		letter = extra + 1;
	} else if (extra[1] != '\0') {
		return -1;
	}
	if (*letter < 'a' || *letter > 'z')
		return -1;
	return *letter - 'a' + 1;
}

/* Whether y is a leap year in the Gregorian calendar. */
static bool
version_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
version_date_parse(const char *s, int *y, int *m, int *d)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int v[3] = {0, 0, 0};
	int field = 0, max;

	if (s == NULL)
		return -1;
	for (int i = 0; i < DATE_BYTES; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return -1;
			field++;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v[field] = v[field] * 10 + (s[i] - '0');
	}
	if (s[DATE_BYTES] != '\0' || v[0] < 1 || v[1] < 1 || v[1] > 12 || v[2] < 1)
		return -1;
	max = days[v[1] - 1] + (v[1] == 2 && version_leap_year(v[0]));
	if (v[2] > max)
		return -1;
	*y = v[0];
	*m = v[1];
	*d = v[2];
	return 0;
}

/* Parse s as a date into a key that orders like the date (YYYYMMDD); return 0 or -1. */
static int
version_date_key(const char *s, long *key)
{
	int y, m, d;

	if (version_date_parse(s, &y, &m, &d) == -1)
		return -1;
	*key = (long)y * 10000 + m * 100 + d;
	return 0;
}

/* A BSI's fields, parsed. */
struct version_bsi_parsed {
	struct version version;
	int rank;
	bool has_build;
	struct build build;
	struct build prerequisite;
	bool has_expiry;
	long expires;
};

/* A device's fields, parsed. */
struct version_device_parsed {
	struct version version;
	struct build build;
	bool has_supplemental;
	struct build supplemental;
	int rank;
};

/* Parse the fields of bsi the standing rules need into *p; return 0, or -1 if one is bad. */
static int
version_bsi_load(const struct version_bsi *bsi, struct version_bsi_parsed *p)
{
	memset(p, 0, sizeof(*p));
	if (version_parse(bsi->version, &p->version) == -1 ||
	    build_parse(bsi->prerequisite_build, &p->prerequisite) == -1)
		return -1;
	/* A BSI without an extra would make every device on its version look up to date. */
	if ((p->rank = version_extra_rank(bsi->extra)) < 1)
		return -1;
	if (!version_absent(bsi->build)) {
		if (build_parse(bsi->build, &p->build) == -1)
			return -1;
		p->has_build = true;
	}
	if (bsi->expires != NULL) {
		if (version_date_key(bsi->expires, &p->expires) == -1)
			return -1;
		p->has_expiry = true;
	}
	if (bsi->ndevices > 0 && bsi->devices == NULL)
		return -1;
	return 0;
}

/* Parse the fields of dev into *p; return 0, or -1 if one is bad. */
static int
version_device_load(const struct version_device *dev, struct version_device_parsed *p)
{
	memset(p, 0, sizeof(*p));
	if (version_parse(dev->version, &p->version) == -1 ||
	    build_parse(dev->build, &p->build) == -1)
		return -1;
	if ((p->rank = version_extra_rank(dev->extra)) == -1)
		return -1;
	if (!version_absent(dev->supplemental_build)) {
		if (build_parse(dev->supplemental_build, &p->supplemental) == -1)
			return -1;
		p->has_supplemental = true;
	}
	return 0;
}

/* Whether the device already runs the BSI or something newer (rule 3 in version.h). */
static bool
version_at_or_past(const struct version_bsi_parsed *b, const struct version_device_parsed *d)
{
	int cmp = version_compare(&d->version, &b->version);

	if (cmp > 0 || (cmp == 0 && d->rank >= b->rank))
		return true;
	if (!b->has_build)
		return false;
	if (d->has_supplemental && build_same_number(&d->supplemental, &b->build) &&
	    build_compare(&d->supplemental, &b->build) >= 0)
		return true;
	return build_same_number(&d->build, &b->build) && build_compare(&d->build, &b->build) >= 0;
}

/* Whether model is one of the BSI's supported devices (exact match). */
static bool
version_bsi_lists(const struct version_bsi *bsi, const char *model)
{
	for (size_t i = 0; i < bsi->ndevices; i++) {
		if (bsi->devices[i] != NULL && strcmp(bsi->devices[i], model) == 0)
			return true;
	}
	return false;
}

enum version_standing
version_bsi_standing(const struct version_bsi *bsi, const struct version_device *dev,
    const char *today)
{
	struct version_bsi_parsed b;
	struct version_device_parsed d;
	long now;

	if (bsi == NULL || dev == NULL || version_bsi_load(bsi, &b) == -1 ||
	    version_device_load(dev, &d) == -1 || version_date_key(today, &now) == -1)
		return VERSION_UNKNOWN;
	if (b.has_expiry && b.expires < now)
		return VERSION_EXPIRED;
	if (version_at_or_past(&b, &d))
		return VERSION_AT_OR_PAST;
	if (build_compare(&d.build, &b.prerequisite) == 0) {
		if (version_absent(dev->model))
			return VERSION_UNKNOWN;
		return version_bsi_lists(bsi, dev->model) ? VERSION_NEEDS_BSI :
		    VERSION_MODEL_UNSUPPORTED;
	}
	if (d.version.part[0] == b.version.part[0] && version_compare(&d.version, &b.version) < 0)
		return VERSION_OLDER_BASE;
	return VERSION_OTHER_BASE_LINE;
}

bool
version_bsi_applies(const struct version_bsi *bsi, const struct version_device *dev,
    const char *today)
{
	return version_bsi_standing(bsi, dev, today) == VERSION_NEEDS_BSI;
}

/* Compare two optional version strings; one that is missing or bad sorts first. */
static int
version_compare_strings(const char *a, const char *b)
{
	struct version va, vb;
	bool oka = version_parse(a, &va) == 0, okb = version_parse(b, &vb) == 0;

	if (!oka || !okb)
		return version_sign(oka, okb);
	return version_compare(&va, &vb);
}

/* Compare two optional build strings; one that is missing or bad sorts first. */
static int
build_compare_strings(const char *a, const char *b)
{
	struct build ba, bb;
	bool oka = build_parse(a, &ba) == 0, okb = build_parse(b, &bb) == 0;

	if (!oka || !okb)
		return version_sign(oka, okb);
	return build_compare(&ba, &bb);
}

int
version_bsi_compare(const struct version_bsi *a, const struct version_bsi *b)
{
	int cmp;

	if ((cmp = version_compare_strings(a->version, b->version)) != 0)
		return cmp;
	if ((cmp = build_compare_strings(a->prerequisite_build, b->prerequisite_build)) != 0)
		return cmp;
	if ((cmp = version_sign(version_extra_rank(a->extra), version_extra_rank(b->extra))) != 0)
		return cmp;
	return build_compare_strings(a->build, b->build);
}

bool
version_bsi_supersedes(const struct version_bsi *newer, const struct version_bsi *older)
{
	struct build pn, po, bn, bo;
	int rn = version_extra_rank(newer->extra), ro = version_extra_rank(older->extra);

	if (build_parse(newer->prerequisite_build, &pn) == -1 ||
	    build_parse(older->prerequisite_build, &po) == -1 || build_compare(&pn, &po) != 0 ||
	    rn == -1 || ro == -1)
		return false;
	if (rn != ro)
		return rn > ro;
	return build_parse(newer->build, &bn) == 0 && build_parse(older->build, &bo) == 0 &&
	    build_compare(&bn, &bo) > 0;
}

const char *
version_standing_name(enum version_standing s)
{
	switch (s) {
	case VERSION_NEEDS_BSI:
		return "needs-bsi";
	case VERSION_AT_OR_PAST:
		return "at-or-past";
	case VERSION_OLDER_BASE:
		return "older-base";
	case VERSION_OTHER_BASE_LINE:
		return "other-base-line";
	case VERSION_MODEL_UNSUPPORTED:
		return "model-unsupported";
	case VERSION_EXPIRED:
		return "expired";
	case VERSION_UNKNOWN:
		break;
	}
	return "unknown";
}
