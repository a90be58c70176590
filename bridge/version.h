/*
 * Apple versions ("26.3.1"), builds ("25D2128", "25D771280a"), supplemental extras ("(a)") and
 * the decision whether a Background Security Improvement (BSI) applies to a device.
 *
 * Everything here is pure: no I/O, no allocation, no clock reads (the caller passes today's date).
 *
 * Orders:
 * - Versions compare numerically part by part; a missing part is 0, so "26.3" == "26.3.0".
 * - Builds compare by (major, train letter, number, suffix), suffix none < 'a' < 'b' < ...
 * - Extras rank "(a)"/"a" = 1 ... "(z)"/"z" = 26; none = 0. On one base build a later letter
 *   supersedes an earlier one. A supplemental build's suffix letter does not reliably equal the
 *   extra (extra "(a)" once had build 20F770750b), so neither is ever derived from the other.
 *
 * Standing of a device against one BSI (version_bsi_standing), the first rule that holds wins:
 *  1. VERSION_UNKNOWN: an input does not parse: BSI version, extra (must be present: a BSI always
 *     has one), build (may be missing, as in old RSR entries), prerequisite build or expiry date;
 *     the device's version, build, supplemental build (may be missing) or extra (may be missing);
 *     or today. Also when the decision reaches rule 4 and the device has no model.
 *  2. VERSION_EXPIRED: the BSI has an expiry date and it is before today (the expiry date itself
 *     is still valid; no expiry date means it never expires).
 *  3. VERSION_AT_OR_PAST: the device already has the BSI or something newer:
 *     a. device version > BSI version; or
 *     b. device version == BSI version and device extra rank >= BSI extra rank; or
 *     c. the BSI has a build, and the device's supplemental build (or its build, for inventories
 *        that report the supplemental build there) has the same major, train and number and a
 *        suffix >= the BSI build's suffix.
 *  4. The device build == the BSI's prerequisite build: VERSION_NEEDS_BSI when the device model
 *     (softwareUpdateDeviceId, exact match) is in the BSI's devices, else VERSION_MODEL_UNSUPPORTED.
 *  5. VERSION_OLDER_BASE: device version < BSI version on the same major version (first part):
 *     the device must first update to the base version, then install the BSI.
 *  6. VERSION_OTHER_BASE_LINE: anything else, e.g. the same version on a different build, or a
 *     device on an older major version (a major upgrade is not a BSI's business).
 */
#ifndef BRIDGE_VERSION_H
#define BRIDGE_VERSION_H

#include <stdbool.h>
#include <stddef.h>

#define VERSION_MAX_PARTS 3
#define VERSION_MAX_PART 9999          /* largest value of one version part */
#define VERSION_FORMAT_BYTES 16        /* enough for "9999.9999.9999" and its NUL */
#define BUILD_FORMAT_BYTES 16          /* enough for "999Z9999999z" and its NUL */
#define VERSION_EXTRA_MAX_RANK 26      /* "(z)" */

/* A product version such as "26.3.1"; parts past nparts are 0. */
struct version {
	int part[VERSION_MAX_PARTS];
	int nparts;
};

/* A build such as "25D771280a": major 25, train 'D', number 771280, suffix 'a'. */
struct build {
	int major;
	char train;
	long number;
	char suffix;  /* '\0' if none */
};

/* A BSI as the decision step sees it (strings are borrowed, not owned). */
struct version_bsi {
	const char *version;             /* "26.3.1", never with the extra */
	const char *extra;               /* "(a)" (or "a") */
	const char *build;               /* "25D771280a"; NULL or "" if the feed has none */
	const char *prerequisite_build;  /* "25D2128" */
	const char *const *devices;      /* softwareUpdateDeviceIds the BSI supports */
	size_t ndevices;
	const char *expires;             /* "YYYY-MM-DD" or NULL = never */
};

/* A device as inventory reports it (strings are borrowed, not owned). */
struct version_device {
	const char *version;             /* "26.3.1" */
	const char *build;               /* "25D2128" */
	const char *supplemental_build;  /* NULL or "" if none */
	const char *extra;               /* "(a)" / "a" / NULL or "" if none */
	const char *model;               /* softwareUpdateDeviceId, e.g. "J413AP" */
};

enum version_standing {
	VERSION_NEEDS_BSI,           /* on the prerequisite build, supported model: deploy it */
	VERSION_AT_OR_PAST,          /* already has this BSI or something newer */
	VERSION_OLDER_BASE,          /* older version on the same major: base update first */
	VERSION_OTHER_BASE_LINE,     /* on another build line or major: this BSI is not for it */
	VERSION_MODEL_UNSUPPORTED,   /* on the prerequisite build, but the model is not listed */
	VERSION_EXPIRED,             /* the BSI expired before today */
	VERSION_UNKNOWN,             /* unparsable input */
};

/*
 * Parse s strictly: 1 to 3 parts of digits separated by single dots, each 0..9999 without
 * leading zeros ("0" itself is fine); no sign, space or other character. Return 0 or -1.
 */
int version_parse(const char *s, struct version *out);

/* Compare a and b numerically, missing parts as 0; return <0, 0 or >0. */
int version_compare(const struct version *a, const struct version *b);

/* Write v as "26.3.1" (its parts as parsed) to buf, truncated to size; "" if v is invalid. */
void version_format(const struct version *v, char *buf, size_t size);

/*
 * Parse s strictly: a major of 2-3 digits, one uppercase train letter, a number of 1-7 digits
 * (neither with a leading zero), an optional lowercase suffix letter. Return 0 or -1.
 */
int build_parse(const char *s, struct build *out);

/* Compare by (major, train, number, suffix) with no suffix first; return <0, 0 or >0. */
int build_compare(const struct build *a, const struct build *b);

/* Write b as "25D771280a" to buf, truncated to size; "" if b is invalid. */
void build_format(const struct build *b, char *buf, size_t size);

/* Whether a and b share major, train and number (and so differ at most in the suffix). */
bool build_same_number(const struct build *a, const struct build *b);

/*
 * Rank of a supplemental extra: "(a)" or "a" -> 1 ... "(z)" or "z" -> 26; NULL or "" -> 0
 * (no extra); anything else (uppercase, spaces, "(ab)") -> -1.
 */
int version_extra_rank(const char *extra);

/* Parse s as a strict "YYYY-MM-DD" that names a real calendar date; return 0 or -1. */
int version_date_parse(const char *s, int *y, int *m, int *d);

/* Standing of dev against bsi on date today ("YYYY-MM-DD"), by the rules at the top. */
enum version_standing version_bsi_standing(const struct version_bsi *bsi,
    const struct version_device *dev, const char *today);

/* Whether bsi should be deployed to dev: its standing is VERSION_NEEDS_BSI. */
bool version_bsi_applies(const struct version_bsi *bsi, const struct version_device *dev,
    const char *today);

/*
 * Order BSIs by base version, then prerequisite build, then extra rank, then build (a field
 * that is missing or does not parse sorts first). Return <0, 0 or >0; >0 means a supersedes b
 * when both share a prerequisite build.
 */
int version_bsi_compare(const struct version_bsi *a, const struct version_bsi *b);

/*
 * Whether newer supersedes older: both have the same (parsable) prerequisite build and newer
 * has a later extra rank, or the same rank and a later build.
 */
bool version_bsi_supersedes(const struct version_bsi *newer, const struct version_bsi *older);

/* A short lowercase name for s, e.g. "needs-bsi", for logs and JSON output. */
const char *version_standing_name(enum version_standing s);

#endif
