/*
 * Unit tests for version.c: parsing and ordering of Apple versions, builds, extras and dates,
 * and whether a BSI applies to a device. The BSIs are the real entries of the GDMF capture of
 * 2026-03-17 (reference/gdmf/pmv-2026-03-17.json); hand-made ones are marked as such.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "version.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* SupportedDevices of macOS 26.3.1 (a), 25D771280a (real; J700AP is not among them). */
static const char *const mac_2631a_devices[] = {
	"J152FAP", "J160AP", "J180dAP", "J185AP", "J185FAP", "J214KAP", "J215AP", "J274AP",
	"J293AP", "J313AP", "J314cAP", "J314sAP", "J316cAP", "J316sAP", "J375cAP", "J375dAP",
	"J413AP", "J414cAP", "J414sAP", "J415AP", "J416cAP", "J416sAP", "J433AP", "J434AP",
	"J456AP", "J457AP", "J473AP", "J474sAP", "J475cAP", "J475dAP", "J493AP", "J504AP",
	"J514cAP", "J514mAP", "J514sAP", "J516cAP", "J516mAP", "J516sAP", "J575cAP", "J575dAP",
	"J604AP", "J613AP", "J614cAP", "J614sAP", "J615AP", "J616cAP", "J616sAP", "J623AP",
	"J624AP", "J704AP", "J713AP", "J714cAP", "J714sAP", "J715AP", "J716cAP", "J716sAP",
	"J773gAP", "J773sAP", "J813AP", "J815AP", "VMA2MACOSAP", "VMM-x86_64",
};

/* SupportedDevices of macOS 26.3.2 (a), 25D771400a (real). */
static const char *const mac_2632a_devices[] = {"J700AP"};

/* SupportedDevices of iOS 26.3.1 (a), 23D771330a (real). */
static const char *const ios_2631a_devices[] = {
	"iPad11,1", "iPad11,2", "iPad11,3", "iPad11,4", "iPad11,6", "iPad11,7", "iPad12,1",
	"iPad12,2", "iPad13,1", "iPad13,10", "iPad13,11", "iPad13,16", "iPad13,17", "iPad13,18",
	"iPad13,19", "iPad13,2", "iPad13,4", "iPad13,5", "iPad13,6", "iPad13,7", "iPad13,8",
	"iPad13,9", "iPad14,1", "iPad14,10", "iPad14,11", "iPad14,2", "iPad14,3", "iPad14,4",
	"iPad14,5", "iPad14,6", "iPad14,8", "iPad14,9", "iPad15,3", "iPad15,4", "iPad15,5",
	"iPad15,6", "iPad15,7", "iPad15,8", "iPad16,1", "iPad16,10", "iPad16,11", "iPad16,2",
	"iPad16,3", "iPad16,4", "iPad16,5", "iPad16,6", "iPad16,8", "iPad16,9", "iPad17,1",
	"iPad17,2", "iPad17,3", "iPad17,4", "iPad8,1", "iPad8,10", "iPad8,11", "iPad8,12",
	"iPad8,2", "iPad8,3", "iPad8,4", "iPad8,5", "iPad8,6", "iPad8,7", "iPad8,8", "iPad8,9",
	"iPhone12,1", "iPhone12,3", "iPhone12,5", "iPhone12,8", "iPhone13,1", "iPhone13,2",
	"iPhone13,3", "iPhone13,4", "iPhone14,2", "iPhone14,3", "iPhone14,4", "iPhone14,5",
	"iPhone14,6", "iPhone14,7", "iPhone14,8", "iPhone15,2", "iPhone15,3", "iPhone15,4",
	"iPhone15,5", "iPhone16,1", "iPhone16,2", "iPhone17,1", "iPhone17,2", "iPhone17,3",
	"iPhone17,4", "iPhone17,5", "iPhone18,1", "iPhone18,2", "iPhone18,3", "iPhone18,4",
	"iPhone18,5",
};

/* The three BSIs of the 2026-03-17 capture, as the feed gives them. */
static const struct version_bsi mac_2631a = {
	"26.3.1", "(a)", "25D771280a", "25D2128", mac_2631a_devices, NELEM(mac_2631a_devices),
	"2026-06-15",
};
static const struct version_bsi mac_2632a = {
	"26.3.2", "(a)", "25D771400a", "25D2140", mac_2632a_devices, NELEM(mac_2632a_devices),
	"2026-06-15",
};
static const struct version_bsi ios_2631a = {
	"26.3.1", "(a)", "23D771330a", "23D8133", ios_2631a_devices, NELEM(ios_2631a_devices),
	"2026-06-15",
};

/* Hand-made: a (b) on the same base as mac_2631a, and the same BSI without an expiry date. */
static const struct version_bsi mac_2631b = {
	"26.3.1", "(b)", "25D771290b", "25D2128", mac_2631a_devices, NELEM(mac_2631a_devices),
	"2026-07-01",
};
static const struct version_bsi mac_2631a_forever = {
	"26.3.1", "(a)", "25D771280a", "25D2128", mac_2631a_devices, NELEM(mac_2631a_devices),
	NULL,
};

/* Hand-made after the reference notes: an extra "(a)" whose build ends in 'b', an RSR-style
 * entry without a build, and broken entries. */
static const char *const ios_1651_devices[] = {"iPhone15,2"};
static const struct version_bsi ios_1651a = {
	"16.5.1", "(a)", "20F770750b", "20F75", ios_1651_devices, 1, NULL,
};
static const struct version_bsi ios_1651c = {
	"16.5.1", "(c)", "20F770750d", "20F75", ios_1651_devices, 1, NULL,
};
static const struct version_bsi ios_1651a_nobuild = {
	"16.5.1", "(a)", NULL, "20F75", ios_1651_devices, 1, NULL,
};
static const struct version_bsi bad_no_extra = {
	"26.3.1", NULL, "25D771280a", "25D2128", mac_2631a_devices, NELEM(mac_2631a_devices), NULL,
};
static const struct version_bsi bad_expiry = {
	"26.3.1", "(a)", "25D771280a", "25D2128", mac_2631a_devices, NELEM(mac_2631a_devices),
	"2026-06-31",
};
static const struct version_bsi bad_version = {
	"26.3.1 (a)", "(a)", "25D771280a", "25D2128", mac_2631a_devices, NELEM(mac_2631a_devices),
	NULL,
};
static const struct version_bsi bad_prerequisite = {
	"26.3.1", "(a)", "25D771280a", "", mac_2631a_devices, NELEM(mac_2631a_devices), NULL,
};
static const struct version_bsi bad_devices = {
	"26.3.1", "(a)", "25D771280a", "25D2128", NULL, 3, NULL,
};

#define TODAY "2026-03-17"

struct standing_case {
	const char *what;
	const struct version_bsi *bsi;
	struct version_device dev;  /* version, build, supplemental_build, extra, model */
	const char *today;
	enum version_standing want;
};

static const struct standing_case standing_cases[] = {
	/* macOS 26.3.1 (a) on 25D2128 */
	{"on the prerequisite, supported model", &mac_2631a,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, TODAY, VERSION_NEEDS_BSI},
	{"empty optional fields as inventory sends them", &mac_2631a,
	    {"26.3.1", "25D2128", "", "", "VMA2MACOSAP"}, TODAY, VERSION_NEEDS_BSI},
	{"on the prerequisite, model not listed", &mac_2631a,
	    {"26.3.1", "25D2128", NULL, NULL, "J700AP"}, TODAY, VERSION_MODEL_UNSUPPORTED},
	{"model match is exact", &mac_2631a,
	    {"26.3.1", "25D2128", NULL, NULL, "j413ap"}, TODAY, VERSION_MODEL_UNSUPPORTED},
	{"already on 26.3.1 (a) (inventory)", &mac_2631a,
	    {"26.3.1", "25D2128", "25D771280a", "(a)", "J413AP"}, TODAY, VERSION_AT_OR_PAST},
	{"already on 26.3.1 (a) (DDM status: no parentheses)", &mac_2631a,
	    {"26.3.1", "25D2128", "25D771280a", "a", "J413AP"}, TODAY, VERSION_AT_OR_PAST},
	{"supplemental build without extra", &mac_2631a,
	    {"26.3.1", "25D2128", "25D771280a", NULL, "J413AP"}, TODAY, VERSION_AT_OR_PAST},
	{"supplemental build reported as the build", &mac_2631a,
	    {"26.3.1", "25D771280a", NULL, NULL, "J413AP"}, TODAY, VERSION_AT_OR_PAST},
	{"on a later (b) already", &mac_2631a,
	    {"26.3.1", "25D2128", "25D771290b", "(b)", "J413AP"}, TODAY, VERSION_AT_OR_PAST},
	{"on 26.4", &mac_2631a,
	    {"26.4", "25E246", NULL, NULL, "J413AP"}, TODAY, VERSION_AT_OR_PAST},
	{"on 26.3.2 (J700AP's line)", &mac_2631a,
	    {"26.3.2", "25D2140", NULL, NULL, "J700AP"}, TODAY, VERSION_AT_OR_PAST},
	{"on 26.2", &mac_2631a,
	    {"26.2", "25C56", NULL, NULL, "J413AP"}, TODAY, VERSION_OLDER_BASE},
	{"on 26.3 (26.3 < 26.3.1)", &mac_2631a,
	    {"26.3", "25D125", NULL, NULL, "J413AP"}, TODAY, VERSION_OLDER_BASE},
	{"on macOS 15.7.4: another major line", &mac_2631a,
	    {"15.7.4", "24G517", NULL, NULL, "J413AP"}, TODAY, VERSION_OTHER_BASE_LINE},
	{"same version, another build", &mac_2631a,
	    {"26.3.1", "25D2130", NULL, NULL, "J413AP"}, TODAY, VERSION_OTHER_BASE_LINE},
	{"expired the day after ExpirationDate", &mac_2631a,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, "2026-06-16", VERSION_EXPIRED},
	{"expiry is checked before at-or-past", &mac_2631a,
	    {"26.4", "25E246", NULL, NULL, "J413AP"}, "2027-01-01", VERSION_EXPIRED},
	{"still valid on ExpirationDate itself", &mac_2631a,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, "2026-06-15", VERSION_NEEDS_BSI},
	{"no expiry date: never expires", &mac_2631a_forever,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, "2099-12-31", VERSION_NEEDS_BSI},
	/* macOS 26.3.2 (a) on 25D2140, J700AP only */
	{"J700AP on 25D2140", &mac_2632a,
	    {"26.3.2", "25D2140", NULL, NULL, "J700AP"}, TODAY, VERSION_NEEDS_BSI},
	{"J700AP on 26.3.1: base update first", &mac_2632a,
	    {"26.3.1", "25D2128", NULL, NULL, "J700AP"}, TODAY, VERSION_OLDER_BASE},
	{"J413AP on 26.3.1 (a)", &mac_2632a,
	    {"26.3.1", "25D2128", "25D771280a", "(a)", "J413AP"}, TODAY, VERSION_OLDER_BASE},
	/* iOS 26.3.1 (a) on 23D8133; 26.3.1 also shipped as 23D9133 to the same devices */
	{"iPhone on 23D8133", &ios_2631a,
	    {"26.3.1", "23D8133", NULL, NULL, "iPhone17,1"}, TODAY, VERSION_NEEDS_BSI},
	{"iPhone on 23D9133: other build line", &ios_2631a,
	    {"26.3.1", "23D9133", NULL, NULL, "iPhone17,1"}, TODAY, VERSION_OTHER_BASE_LINE},
	{"iPhone already on 23D771330a", &ios_2631a,
	    {"26.3.1", "23D8133", "23D771330a", "(a)", "iPhone17,1"}, TODAY, VERSION_AT_OR_PAST},
	{"unlisted iPhone", &ios_2631a,
	    {"26.3.1", "23D8133", NULL, NULL, "iPhone11,8"}, TODAY, VERSION_MODEL_UNSUPPORTED},
	/* a later letter on the same base */
	{"on (a), (b) is out", &mac_2631b,
	    {"26.3.1", "25D2128", "25D771280a", "(a)", "J413AP"}, TODAY, VERSION_NEEDS_BSI},
	/* the extra and the build's letter differ: never derive one from the other */
	{"extra (a) with build 20F770750b", &ios_1651a,
	    {"16.5.1", "20F75", "20F770750b", "(a)", "iPhone15,2"}, TODAY, VERSION_AT_OR_PAST},
	{"supplemental 20F770750b alone", &ios_1651a,
	    {"16.5.1", "20F75", "20F770750b", NULL, "iPhone15,2"}, TODAY, VERSION_AT_OR_PAST},
	{"(a) 20F770750b does not satisfy (c) 20F770750d", &ios_1651c,
	    {"16.5.1", "20F75", "20F770750b", "(a)", "iPhone15,2"}, TODAY, VERSION_NEEDS_BSI},
	{"BSI without a build", &ios_1651a_nobuild,
	    {"16.5.1", "20F75", NULL, NULL, "iPhone15,2"}, TODAY, VERSION_NEEDS_BSI},
	{"BSI without a build, device on (a)", &ios_1651a_nobuild,
	    {"16.5.1", "20F75", "20F770750b", "a", "iPhone15,2"}, TODAY, VERSION_AT_OR_PAST},
	/* unparsable input */
	{"device version with extra", &mac_2631a,
	    {"26.3.1 (a)", "25D2128", NULL, NULL, "J413AP"}, TODAY, VERSION_UNKNOWN},
	{"device version missing", &mac_2631a,
	    {NULL, "25D2128", NULL, NULL, "J413AP"}, TODAY, VERSION_UNKNOWN},
	{"device build empty", &mac_2631a,
	    {"26.3.1", "", NULL, NULL, "J413AP"}, TODAY, VERSION_UNKNOWN},
	{"device supplemental build bad", &mac_2631a,
	    {"26.3.1", "25D2128", "25D771280A", NULL, "J413AP"}, TODAY, VERSION_UNKNOWN},
	{"device extra uppercase", &mac_2631a,
	    {"26.3.1", "25D2128", NULL, "(A)", "J413AP"}, TODAY, VERSION_UNKNOWN},
	{"device model missing on the prerequisite", &mac_2631a,
	    {"26.3.1", "25D2128", NULL, NULL, NULL}, TODAY, VERSION_UNKNOWN},
	{"device model missing but past", &mac_2631a,
	    {"26.4", "25E246", NULL, NULL, NULL}, TODAY, VERSION_AT_OR_PAST},
	{"today malformed", &mac_2631a,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, "2026-3-17", VERSION_UNKNOWN},
	{"today missing", &mac_2631a,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, NULL, VERSION_UNKNOWN},
	{"BSI without extra", &bad_no_extra,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, TODAY, VERSION_UNKNOWN},
	{"BSI expiry not a date", &bad_expiry,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, TODAY, VERSION_UNKNOWN},
	{"BSI version with extra", &bad_version,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, TODAY, VERSION_UNKNOWN},
	{"BSI prerequisite empty", &bad_prerequisite,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, TODAY, VERSION_UNKNOWN},
	{"BSI devices count without list", &bad_devices,
	    {"26.3.1", "25D2128", NULL, NULL, "J413AP"}, TODAY, VERSION_UNKNOWN},
};

/* Parse s as a version that must be valid. */
static struct version
must_version(const char *s)
{
	struct version v;

	if (version_parse(s, &v) != 0)
		fail_msg("version %s refused", s);
	return v;
}

/* Parse s as a build that must be valid. */
static struct build
must_build(const char *s)
{
	struct build b;

	if (build_parse(s, &b) != 0)
		fail_msg("build %s refused", s);
	return b;
}

/* Sign of x: -1, 0 or 1. */
static int
sign(int x)
{
	return (x > 0) - (x < 0);
}

static void
test_version_parse(void **state)
{
	static const struct {
		const char *s;
		int nparts, p0, p1, p2;
	} good[] = {
		{"26", 1, 26, 0, 0},
		{"26.3", 2, 26, 3, 0},
		{"26.3.1", 3, 26, 3, 1},
		{"15.7.4", 3, 15, 7, 4},
		{"0", 1, 0, 0, 0},
		{"26.0", 2, 26, 0, 0},
		{"9999.9999.9999", 3, 9999, 9999, 9999},
	};
	static const char *const bad[] = {
		"", "26.", ".3", "26..3", "26.3.1.4", "a.b", "26.3a", "99999", " 26", "+26", "26 ",
		"-1", "26.-3", "10000", "26.3.10000", "026", "26.03", "26.3.1 (a)", "26.3.1(a)",
		"26,3", ".", "26.3.1.", "\xd9\xa2\xd9\xa6",
	};
	struct version v;

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++) {
		if (version_parse(good[i].s, &v) != 0)
			fail_msg("%s refused", good[i].s);
		assert_int_equal(v.nparts, good[i].nparts);
		assert_int_equal(v.part[0], good[i].p0);
		assert_int_equal(v.part[1], good[i].p1);
		assert_int_equal(v.part[2], good[i].p2);
	}
	for (size_t i = 0; i < NELEM(bad); i++) {
		v.nparts = 42;
		if (version_parse(bad[i], &v) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(v.nparts, 42);  /* out untouched on failure */
	}
	assert_int_equal(version_parse(NULL, &v), -1);
}

static void
test_version_compare(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{"26.3", "26.3.0", 0},
		{"26", "26.0.0", 0},
		{"26.3.1", "26.3.1", 0},
		{"26.3.1", "26.3", 1},
		{"26.3.2", "26.3.1", 1},
		{"26.10", "26.9", 1},
		{"26.4", "26.3.9", 1},
		{"15.7.4", "26", -1},
		{"9.9.9", "10", -1},
		{"26.2", "26.3.1", -1},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct version a = must_version(cases[i].a), b = must_version(cases[i].b);

		if (sign(version_compare(&a, &b)) != cases[i].want ||
		    sign(version_compare(&b, &a)) != -cases[i].want)
			fail_msg("%s vs %s: want %d", cases[i].a, cases[i].b, cases[i].want);
	}
}

static void
test_version_format(void **state)
{
	static const char *const cases[] = {"26", "26.3", "26.3.1", "0.0.0", "9999.9999.9999"};
	struct version v, bad = {{26, -1, 0}, 2}, none = {{0, 0, 0}, 0};
	char buf[VERSION_FORMAT_BYTES];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		v = must_version(cases[i]);
		version_format(&v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i]);
	}
	v = must_version("26.3.1");
	version_format(&v, buf, 5);  /* truncated, still terminated */
	assert_string_equal(buf, "26.3");
	version_format(&v, buf, 3);
	assert_string_equal(buf, "26");
	buf[0] = 'x';
	version_format(&v, buf, 0);  /* writes nothing */
	assert_int_equal(buf[0], 'x');
	version_format(&bad, buf, sizeof(buf));
	assert_string_equal(buf, "");
	version_format(&none, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void
test_build_parse(void **state)
{
	static const struct {
		const char *s;
		int major;
		char train;
		long number;
		char suffix;
	} good[] = {
		{"25D2128", 25, 'D', 2128, '\0'},
		{"23F6077", 23, 'F', 6077, '\0'},
		{"25D771280a", 25, 'D', 771280, 'a'},
		{"20F770750b", 20, 'F', 770750, 'b'},
		{"22A380", 22, 'A', 380, '\0'},
		{"21G5020a", 21, 'G', 5020, 'a'},
		{"16H88", 16, 'H', 88, '\0'},
		{"100A1", 100, 'A', 1, '\0'},
		{"99Z9999999z", 99, 'Z', 9999999, 'z'},
	};
	static const char *const bad[] = {
		"25d2128", "D2128", "25D", "25D2128aa", "25D2128A", "", "5D2128", "1000A1", "025D2128",
		"25D0128", "25D12345678", "25DD2128", "25D2128 ", " 25D2128", "25D-2128", "25D+2128",
		"25 D2128", "25D2128.", "25D771280a\n",
	};
	struct build b;

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++) {
		char buf[BUILD_FORMAT_BYTES];

		if (build_parse(good[i].s, &b) != 0)
			fail_msg("%s refused", good[i].s);
		assert_int_equal(b.major, good[i].major);
		assert_int_equal(b.train, good[i].train);
		assert_int_equal(b.number, good[i].number);
		assert_int_equal(b.suffix, good[i].suffix);
		build_format(&b, buf, sizeof(buf));
		assert_string_equal(buf, good[i].s);
	}
	for (size_t i = 0; i < NELEM(bad); i++) {
		if (build_parse(bad[i], &b) != -1)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	assert_int_equal(build_parse(NULL, &b), -1);
}

static void
test_build_compare(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{"25D2128", "25D771280a", -1},
		{"23F79", "23F6077", -1},
		{"22A380", "23A5", -1},
		{"25D2128", "25D2128", 0},
		{"25D2128", "25D2128a", -1},
		{"25D2128a", "25D2128b", -1},
		{"25D2140", "25D2128", 1},
		{"25E1", "25D9999999", 1},
		{"25D771400a", "25D771280a", 1},
		{"20F770750b", "20F770750a", 1},
		{"100A1", "99Z9999999z", 1},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct build a = must_build(cases[i].a), b = must_build(cases[i].b);

		if (sign(build_compare(&a, &b)) != cases[i].want ||
		    sign(build_compare(&b, &a)) != -cases[i].want)
			fail_msg("%s vs %s: want %d", cases[i].a, cases[i].b, cases[i].want);
	}
}

static void
test_build_same_number(void **state)
{
	struct build a = must_build("25D771280a"), b = must_build("25D771280b");
	struct build c = must_build("25D771280"), d = must_build("25D771400a");

	(void)state;
	assert_true(build_same_number(&a, &b));
	assert_true(build_same_number(&a, &c));
	assert_false(build_same_number(&a, &d));
}

static void
test_extra_rank(void **state)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
		{"(a)", 1}, {"a", 1}, {"(b)", 2}, {"b", 2}, {"(c)", 3}, {"(z)", 26}, {"z", 26},
		{NULL, 0}, {"", 0},
		{"(A)", -1}, {"A", -1}, {"( a)", -1}, {"(a", -1}, {"a)", -1}, {"(ab)", -1},
		{"ab", -1}, {"()", -1}, {"(", -1}, {" (a)", -1}, {"(a) ", -1}, {"1", -1},
		{"(1)", -1}, {"[a]", -1},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int got = version_extra_rank(cases[i].s);

		if (got != cases[i].want)
			fail_msg("\"%s\": want %d, got %d", cases[i].s ? cases[i].s : "(null)",
			    cases[i].want, got);
	}
}

static void
test_date_parse(void **state)
{
	static const struct {
		const char *s;
		int y, m, d;  /* y == 0: invalid */
	} cases[] = {
		{"2026-03-17", 2026, 3, 17},
		{"2026-06-15", 2026, 6, 15},
		{"2028-02-29", 2028, 2, 29},
		{"2000-02-29", 2000, 2, 29},
		{"2026-12-31", 2026, 12, 31},
		{"9999-12-31", 9999, 12, 31},
		{"2026-02-29", 0, 0, 0},
		{"1900-02-29", 0, 0, 0},
		{"2026-04-31", 0, 0, 0},
		{"2026-13-01", 0, 0, 0},
		{"2026-00-10", 0, 0, 0},
		{"2026-01-00", 0, 0, 0},
		{"2026-01-32", 0, 0, 0},
		{"0000-01-01", 0, 0, 0},
		{"2026-1-01", 0, 0, 0},
		{"2026-01-1", 0, 0, 0},
		{"26-01-01", 0, 0, 0},
		{"2026/01/01", 0, 0, 0},
		{"2026-01-01T00:00:00", 0, 0, 0},
		{"2026-01-01 ", 0, 0, 0},
		{" 2026-01-01", 0, 0, 0},
		{"+026-01-01", 0, 0, 0},
		{"", 0, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int y = -1, m = -1, d = -1;
		int rc = version_date_parse(cases[i].s, &y, &m, &d);

		if (cases[i].y == 0) {
			if (rc != -1)
				fail_msg("\"%s\" accepted", cases[i].s);
			assert_int_equal(y, -1);  /* out untouched on failure */
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\" refused", cases[i].s);
		assert_int_equal(y, cases[i].y);
		assert_int_equal(m, cases[i].m);
		assert_int_equal(d, cases[i].d);
	}
}

static void
test_bsi_standing(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(standing_cases); i++) {
		const struct standing_case *c = &standing_cases[i];
		enum version_standing got = version_bsi_standing(c->bsi, &c->dev, c->today);

		if (got != c->want)
			fail_msg("%s: want %s, got %s", c->what, version_standing_name(c->want),
			    version_standing_name(got));
		assert_int_equal(version_bsi_applies(c->bsi, &c->dev, c->today),
		    c->want == VERSION_NEEDS_BSI);
	}
}

/* A J700AP on 25D2140 gets 26.3.2 (a) and not 26.3.1 (a), out of the whole real feed. */
static void
test_j700ap_picks_its_bsi(void **state)
{
	static const struct version_device j700 = {"26.3.2", "25D2140", NULL, NULL, "J700AP"};
	static const struct version_device j413 = {"26.3.1", "25D2128", NULL, NULL, "J413AP"};

	(void)state;
	assert_true(version_bsi_applies(&mac_2632a, &j700, TODAY));
	assert_false(version_bsi_applies(&mac_2631a, &j700, TODAY));
	assert_false(version_bsi_applies(&ios_2631a, &j700, TODAY));
	assert_true(version_bsi_applies(&mac_2631a, &j413, TODAY));
	assert_false(version_bsi_applies(&mac_2632a, &j413, TODAY));
	assert_false(version_bsi_applies(&mac_2632a, &j700, "2026-06-16"));
	assert_int_equal(version_bsi_standing(NULL, &j700, TODAY), VERSION_UNKNOWN);
	assert_int_equal(version_bsi_standing(&mac_2632a, NULL, TODAY), VERSION_UNKNOWN);
}

static void
test_bsi_supersedes(void **state)
{
	static const struct version_bsi mac_2631a_rebuilt = {  /* hand-made: same (a), later build */
		"26.3.1", "(a)", "25D771281a", "25D2128", NULL, 0, NULL,
	};
	static const struct version_bsi mac_2631b_ddm = {  /* the extra as DDM status writes it */
		"26.3.1", "b", "25D771290b", "25D2128", NULL, 0, NULL,
	};
	static const struct version_bsi mac_2631b_lower = {  /* hand-made: later extra, lower build */
		"26.3.1", "(b)", "25D771270a", "25D2128", NULL, 0, NULL,
	};
	static const struct version_bsi bad_extra = {
		"26.3.1", "(B)", "25D771290b", "25D2128", NULL, 0, NULL,
	};

	(void)state;
	assert_true(version_bsi_supersedes(&mac_2631b, &mac_2631a));
	assert_true(version_bsi_supersedes(&mac_2631b_ddm, &mac_2631a));
	assert_false(version_bsi_supersedes(&mac_2631a, &mac_2631b));
	assert_false(version_bsi_supersedes(&mac_2631a, &mac_2631a));
	assert_true(version_bsi_supersedes(&mac_2631a_rebuilt, &mac_2631a));
	assert_false(version_bsi_supersedes(&mac_2631a, &mac_2631a_rebuilt));
	/* the extra decides before the build does */
	assert_true(version_bsi_supersedes(&mac_2631b_lower, &mac_2631a));
	assert_false(version_bsi_supersedes(&mac_2631a, &mac_2631b_lower));
	/* (a) on another base does not supersede, in either direction */
	assert_false(version_bsi_supersedes(&mac_2632a, &mac_2631a));
	assert_false(version_bsi_supersedes(&mac_2631a, &mac_2632a));
	assert_false(version_bsi_supersedes(&ios_2631a, &mac_2631a));
	/* the letter of the extra counts, not the letter of the build */
	assert_true(version_bsi_supersedes(&ios_1651c, &ios_1651a));
	assert_false(version_bsi_supersedes(&ios_1651a, &ios_1651c));
	/* same rank, one without a build: nothing to tell them apart */
	assert_false(version_bsi_supersedes(&ios_1651a, &ios_1651a_nobuild));
	assert_false(version_bsi_supersedes(&ios_1651a_nobuild, &ios_1651a));
	assert_false(version_bsi_supersedes(&bad_extra, &mac_2631a));
	assert_false(version_bsi_supersedes(&mac_2631a, &bad_prerequisite));
}

/* qsort callback over pointers to BSIs. */
static int
cmp_bsi_ptr(const void *a, const void *b)
{
	const struct version_bsi *const *pa = a, *const *pb = b;

	return version_bsi_compare(*pa, *pb);
}

static void
test_bsi_compare(void **state)
{
	const struct version_bsi *list[] = {
		&mac_2632a, &mac_2631b, &bad_version, &mac_2631a, &ios_1651c, &ios_2631a, &ios_1651a,
		&ios_1651a_nobuild,
	};
	const struct version_bsi *const want[] = {
		&bad_version,         /* unparsable version first */
		&ios_1651a_nobuild,   /* 16.5.1 on 20F75: (a) without build ... */
		&ios_1651a,           /* ... (a) 20F770750b ... */
		&ios_1651c,           /* ... (c) */
		&ios_2631a,           /* 26.3.1 on 23D8133 */
		&mac_2631a,           /* 26.3.1 on 25D2128: (a) ... */
		&mac_2631b,           /* ... (b) */
		&mac_2632a,           /* 26.3.2 */
	};

	(void)state;
	assert_true(version_bsi_compare(&mac_2631b, &mac_2631a) > 0);
	assert_true(version_bsi_compare(&mac_2631a, &mac_2631b) < 0);
	assert_int_equal(version_bsi_compare(&mac_2631a, &mac_2631a_forever), 0);
	assert_true(version_bsi_compare(&mac_2632a, &mac_2631b) > 0);
	qsort(list, NELEM(list), sizeof(list[0]), cmp_bsi_ptr);
	for (size_t i = 0; i < NELEM(list); i++) {
		if (list[i] != want[i])
			fail_msg("position %zu: got %s %s %s", i, list[i]->version,
			    list[i]->extra, list[i]->build ? list[i]->build : "(no build)");
	}
}

static void
test_standing_names(void **state)
{
	(void)state;
	assert_string_equal(version_standing_name(VERSION_NEEDS_BSI), "needs-bsi");
	assert_string_equal(version_standing_name(VERSION_AT_OR_PAST), "at-or-past");
	assert_string_equal(version_standing_name(VERSION_OLDER_BASE), "older-base");
	assert_string_equal(version_standing_name(VERSION_OTHER_BASE_LINE), "other-base-line");
	assert_string_equal(version_standing_name(VERSION_MODEL_UNSUPPORTED), "model-unsupported");
	assert_string_equal(version_standing_name(VERSION_EXPIRED), "expired");
	assert_string_equal(version_standing_name(VERSION_UNKNOWN), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_version_compare),
		cmocka_unit_test(test_version_format),
		cmocka_unit_test(test_build_parse),
		cmocka_unit_test(test_build_compare),
		cmocka_unit_test(test_build_same_number),
		cmocka_unit_test(test_extra_rank),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_bsi_standing),
		cmocka_unit_test(test_j700ap_picks_its_bsi),
		cmocka_unit_test(test_bsi_supersedes),
		cmocka_unit_test(test_bsi_compare),
		cmocka_unit_test(test_standing_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
