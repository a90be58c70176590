/*
 * Unit tests for the decision step (decide.c): a table of deadline cases, ring gates, and the
 * outcome for devices against Apple's real feed of 2026-03-17 (three BSIs: macOS 26.3.1 (a)
 * on 25D2128 for 62 models, 26.3.2 (a) on 25D2140 for J700AP only, iOS 26.3.1 (a) on
 * 23D8133), plus hand-made feeds for supersession.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "decide.h"
#include "fileio.h"
#include "gdmf.h"
#include "jamf_pro.h"
#include "match.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SCOPE 1L     /* the policy's scope group */
#define EXCLUDE 2L   /* its exclude group */
#define PILOT 10L    /* ring 0's group */

/* 2026-03-18 12:00 UTC, the day after the capture: every BSI is live. */
static time_t
at(const char *iso)
{
	struct tm tm = {0};

	assert_int_equal(sscanf(iso, "%d-%d-%dT%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min), 5);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static void
test_deadline_table(void **state)
{
	static const struct {
		const char *posted, *first_seen;
		long days;
		bool skip;
		const char *now, *want;
	} cases[] = {
		/* posted Tuesday, +3: Friday */
		{"2026-03-17", NULL, 3, false, "2026-03-17T10:00", "2026-03-20T18:00:00"},
		/* +4 is a Saturday: kept, or moved to Monday */
		{"2026-03-17", NULL, 4, false, "2026-03-17T10:00", "2026-03-21T18:00:00"},
		{"2026-03-17", NULL, 4, true, "2026-03-17T10:00", "2026-03-23T18:00:00"},
		/* +5 is a Sunday: Monday */
		{"2026-03-17", NULL, 5, true, "2026-03-17T10:00", "2026-03-23T18:00:00"},
		/* first seen later than posted: counts from first seen */
		{"2026-03-17", "2026-03-19", 3, false, "2026-03-19T10:00", "2026-03-22T18:00:00"},
		/* first seen earlier than posted (dates move): counts from posted */
		{"2026-03-17", "2026-03-10", 3, false, "2026-03-17T10:00", "2026-03-20T18:00:00"},
		/* long past: today at the time, while still ahead */
		{"2026-01-01", NULL, 3, false, "2026-03-18T10:00", "2026-03-18T18:00:00"},
		/* long past and the time of day has gone: tomorrow */
		{"2026-01-01", NULL, 3, false, "2026-03-18T19:00", "2026-03-19T18:00:00"},
		/* exactly now is not in the future: tomorrow */
		{"2026-03-17", NULL, 3, false, "2026-03-20T18:00", "2026-03-21T18:00:00"},
		/* past on a Friday evening, weekends skipped: Monday */
		{"2026-01-01", NULL, 3, true, "2026-03-20T19:00", "2026-03-23T18:00:00"},
		/* nothing known: from today */
		{NULL, NULL, 2, false, "2026-03-18T09:00", "2026-03-20T18:00:00"},
		/* zero days, same day, still ahead */
		{"2026-03-18", NULL, 0, false, "2026-03-18T09:00", "2026-03-18T18:00:00"},
	};
	char out[DECIDE_DEADLINE_BYTES];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		assert_int_equal(decide_deadline(cases[i].posted, cases[i].first_seen, cases[i].days,
		    18 * 60, cases[i].skip, at(cases[i].now), out), 0);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, out, cases[i].want);
	}
	assert_int_equal(decide_deadline("2026-02-30", NULL, 3, 0, false, at("2026-03-18T09:00"),
	    out), -1);
	/* another time of day */
	assert_int_equal(decide_deadline("2026-03-17", NULL, 1, 9 * 60 + 30, false,
	    at("2026-03-17T08:00"), out), 0);
	assert_string_equal(out, "2026-03-18T09:30:00");
}

/* The feed, a policy and devices for one test. */
struct world {
	char *text;
	struct gdmf_feed feed;
	struct config_policy policy;
	struct decide_ring rings[2];
	struct decide_policy dp;
	long scope[1];
	long exclude[1];
	long pilot[1];
	struct jamf_device devices[16];
	long groups[16][2];
	size_t n;
	struct decide_result result;
};

static void
world_feed_text(struct world *w, const char *json)
{
	char err[256];

	assert_int_equal(gdmf_feed_parse(json, strlen(json), &w->feed, err, sizeof(err)), 0);
}

static struct world *
world_new(const char *capture)
{
	struct world *w = calloc(1, sizeof(*w));
	char path[512];
	size_t len;

	assert_non_null(w);
	if (capture != NULL) {
		char err[256];

		snprintf(path, sizeof(path), "%s/gdmf/%s", FIXTURES, capture);
		assert_int_equal(fileio_read(path, GDMF_MAX_BODY_BYTES, &w->text, &len), FILEIO_OK);
		assert_int_equal(gdmf_feed_parse(w->text, len, &w->feed, err, sizeof(err)), 0);
	}
	w->policy.name = (char *)(uintptr_t)"macs";
	w->policy.platform = CONFIG_OS_MACOS;
	w->policy.base_update = CONFIG_BASE_UPDATE_TWO_STEP;
	w->policy.deadline.days_after_posting = 3;
	w->policy.deadline.minute_of_day = 18 * 60;
	w->scope[0] = SCOPE;
	w->exclude[0] = EXCLUDE;
	w->pilot[0] = PILOT;
	w->dp = (struct decide_policy){&w->policy, w->scope, 1, w->exclude, 1, NULL, 0};
	return w;
}

/* Add a device in the scope group (and extra, unless 0). */
static void
add(struct world *w, const char *model, const char *version, const char *build,
    const char *supplemental, const char *extra, long group)
{
	struct jamf_device *d = &w->devices[w->n];

	d->id = (char *)(uintptr_t)"id";
	d->model_id = (char *)(uintptr_t)model;
	d->version = (char *)(uintptr_t)version;
	d->build = (char *)(uintptr_t)build;
	d->supplemental_build = (char *)(uintptr_t)supplemental;
	d->extra = (char *)(uintptr_t)extra;
	w->groups[w->n][0] = SCOPE;
	w->groups[w->n][1] = group;
	d->groups = w->groups[w->n];
	d->ngroups = group != 0 ? 2 : 1;
	w->n++;
}

static const struct decide_result *
run(struct world *w, const char *now)
{
	struct decide_input in = {&w->dp, &w->feed, NULL, w->devices, w->n, at(now)};

	decide_result_release(&w->result);
	assert_int_equal(decide_policy(&in, &w->result), 0);
	assert_int_equal(w->result.n, w->n);
	return &w->result;
}

static void
world_free(struct world *w)
{
	decide_result_release(&w->result);
	gdmf_feed_release(&w->feed);
	match_free(w->policy.models.exclude);
	match_free(w->policy.versions);
	free(w->text);
	free(w);
}

static void
expect(const struct decide_action *a, enum decide_outcome o, const char *version,
    const char *build)
{
	if (a->outcome != o)
		fail_msg("got %s (%s), want %s", decide_outcome_name(a->outcome), a->reason,
		    decide_outcome_name(o));
	if (version != NULL)
		assert_string_equal(a->target_version, version);
	if (build != NULL)
		assert_string_equal(a->target_build, build);
}

static void
test_real_feed_outcomes(void **state)
{
	struct world *w = world_new("pmv-2026-03-17.json");
	const struct decide_result *r;

	(void)state;
	add(w, "J413AP", "26.3.1", "25D2128", "25D2128", NULL, 0);        /* 0 the BSI */
	add(w, "J700AP", "26.3.2", "25D2140", "25D2140", NULL, 0);        /* 1 its own BSI */
	add(w, "J700AP", "26.3.1", "25D2128", NULL, NULL, 0);             /* 2 base 26.3.2 first */
	add(w, "J413AP", "26.3.1", "25D2128", "25D771280a", "(a)", 0);    /* 3 has it */
	add(w, "J413AP", "26.4", "25E100", NULL, NULL, 0);                /* 4 newer base */
	add(w, "J413AP", "26.2", "25C56", NULL, NULL, 0);                 /* 5 base 26.3.1 first */
	add(w, "J413AP", "15.7.4", "24G517", NULL, NULL, 0);              /* 6 older major */
	add(w, "J999AP", "26.3.1", "25D2128", NULL, NULL, 0);             /* 7 model not listed */
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, EXCLUDE);       /* 8 excluded */
	add(w, "J413AP", "26.3.1", NULL, NULL, NULL, 0);                  /* 9 no build */
	add(w, "VMA2MACOSAP", "26.3.1", "25D2128", NULL, NULL, 0);        /* 10 a VM: listed */
	w->groups[w->n - 1][0] = 99;                                      /*    ...but out of scope */
	r = run(w, "2026-03-18T12:00");

	expect(&r->v[0], DECIDE_ENFORCE, "26.3.1", "25D771280a");
	assert_string_equal(r->v[0].deadline, "2026-03-20T18:00:00");
	assert_string_equal(r->v[0].bsi->extra, "(a)");
	expect(&r->v[1], DECIDE_ENFORCE, "26.3.2", "25D771400a");
	expect(&r->v[2], DECIDE_BASE_UPDATE, "26.3.2", "25D2140");
	expect(&r->v[3], DECIDE_COMPLIANT, NULL, NULL);
	expect(&r->v[4], DECIDE_COMPLIANT, NULL, NULL);
	expect(&r->v[5], DECIDE_BASE_UPDATE, "26.3.1", "25D2128");
	expect(&r->v[6], DECIDE_NO_BSI, NULL, NULL);
	expect(&r->v[7], DECIDE_NO_BSI, NULL, NULL);
	assert_non_null(strstr(r->v[7].reason, "model not listed"));
	expect(&r->v[8], DECIDE_EXCLUDED, NULL, NULL);
	expect(&r->v[9], DECIDE_UNKNOWN, NULL, NULL);
	expect(&r->v[10], DECIDE_NOT_IN_SCOPE, NULL, NULL);
	assert_int_equal(r->counts[DECIDE_ENFORCE], 2);
	assert_int_equal(r->counts[DECIDE_BASE_UPDATE], 2);
	assert_int_equal(r->counts[DECIDE_COMPLIANT], 2);
	assert_int_equal(r->counts[DECIDE_NO_BSI], 2);

	/* base_update: report lists the older bases without sending anything */
	w->policy.base_update = CONFIG_BASE_UPDATE_REPORT;
	r = run(w, "2026-03-18T12:00");
	expect(&r->v[2], DECIDE_NEEDS_BASE, NULL, NULL);
	assert_string_equal(r->v[2].deadline, "");
	expect(&r->v[5], DECIDE_NEEDS_BASE, NULL, NULL);

	/* after the expiry date the BSIs are gone */
	r = run(w, "2026-06-16T12:00");
	expect(&r->v[0], DECIDE_NO_BSI, NULL, NULL);
	assert_non_null(strstr(r->v[0].reason, "expired"));
	world_free(w);
}

static void
test_filters(void **state)
{
	struct world *w = world_new("pmv-2026-03-17.json");
	char err[128];
	size_t off;
	const struct decide_result *r;

	(void)state;
	w->policy.models.exclude = match_compile("^VMA", err, sizeof(err), &off);
	w->policy.versions = match_compile("^26\\.3\\.2$", err, sizeof(err), &off);
	assert_non_null(w->policy.models.exclude);
	add(w, "VMA2MACOSAP", "26.3.1", "25D2128", NULL, NULL, 0);
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, 0);
	add(w, "J700AP", "26.3.2", "25D2140", NULL, NULL, 0);
	r = run(w, "2026-03-18T12:00");
	expect(&r->v[0], DECIDE_MODEL_FILTERED, NULL, NULL);
	expect(&r->v[1], DECIDE_NO_BSI, NULL, NULL);  /* its BSI's base is filtered out */
	expect(&r->v[2], DECIDE_ENFORCE, "26.3.2", "25D771400a");
	world_free(w);
}

static void
test_ios(void **state)
{
	struct world *w = world_new("pmv-2026-03-17.json");
	const struct decide_result *r;

	(void)state;
	w->policy.platform = CONFIG_OS_IOS;
	add(w, "iPhone17,1", "26.3.1", "23D8133", NULL, NULL, 0);
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, 0);  /* a Mac has no iOS BSI */
	r = run(w, "2026-03-18T12:00");
	expect(&r->v[0], DECIDE_ENFORCE, "26.3.1", "23D771330a");
	expect(&r->v[1], DECIDE_NO_BSI, NULL, NULL);
	world_free(w);
}

static void
test_superseded(void **state)
{
	struct world *w = world_new(NULL);
	const struct decide_result *r;

	(void)state;
	world_feed_text(w, "{\"PublicBackgroundSecurityImprovements\":{\"macOS\":["
	    "{\"ProductVersion\":\"26.3.1\",\"ProductVersionExtra\":\"(a)\",\"Build\":\"25D771280a\","
	    "\"PrerequisiteBuild\":\"25D2128\",\"PostingDate\":\"2026-03-17\","
	    "\"SupportedDevices\":[\"J413AP\"]},"
	    "{\"ProductVersion\":\"26.3.1\",\"ProductVersionExtra\":\"(b)\",\"Build\":\"25D771290b\","
	    "\"PrerequisiteBuild\":\"25D2128\",\"PostingDate\":\"2026-03-24\","
	    "\"SupportedDevices\":[\"J413AP\"]}]}}");
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, 0);
	add(w, "J413AP", "26.3.1", "25D2128", "25D771280a", "(a)", 0);
	add(w, "J413AP", "26.3.1", "25D2128", "25D771290b", "(b)", 0);
	r = run(w, "2026-03-25T12:00");
	expect(&r->v[0], DECIDE_ENFORCE, "26.3.1", "25D771290b");
	assert_string_equal(r->v[0].deadline, "2026-03-27T18:00:00");  /* (b) posted 03-24 */
	expect(&r->v[1], DECIDE_ENFORCE, "26.3.1", "25D771290b");
	expect(&r->v[2], DECIDE_COMPLIANT, NULL, NULL);
	world_free(w);
}

/* The index in w's feed of the entry with that build. */
static size_t
entry_of(const struct world *w, const char *build)
{
	for (size_t i = 0; i < w->feed.n; i++)
		if (w->feed.entries[i].build != NULL && strcmp(w->feed.entries[i].build, build) == 0)
			return i;
	fail_msg("no entry %s", build);
	return 0;
}

static const struct decide_rollout *
rollout_of(const struct decide_result *r, size_t ring, const char *build)
{
	for (size_t i = 0; i < r->nrollouts; i++)
		if (r->rollouts[i].ring == ring && strcmp(r->rollouts[i].bsi->build, build) == 0)
			return &r->rollouts[i];
	fail_msg("no rollout of %s in ring %zu", build, ring);
	return NULL;
}

static void
expect_reason(const struct decide_action *a, const char *part)
{
	if (strstr(a->reason, part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", a->reason, part);
}

static void
test_rings(void **state)
{
	struct world *w = world_new("pmv-2026-03-17.json");
	time_t *pilot_started = calloc(w->feed.n, sizeof(time_t));
	time_t *everyone_started = calloc(w->feed.n, sizeof(time_t));
	size_t a = entry_of(w, "25D771280a");
	const struct decide_result *r;

	(void)state;
	assert_non_null(pilot_started);
	assert_non_null(everyone_started);
	w->rings[0] = (struct decide_ring){"pilot", w->pilot, 1, 0, -1, pilot_started};
	w->rings[1] = (struct decide_ring){"everyone", NULL, 0, 2, 90, everyone_started};
	w->dp.rings = w->rings;
	w->dp.nrings = 2;
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, PILOT);
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, PILOT);
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, 0);
	add(w, "J700AP", "26.3.2", "25D2140", NULL, NULL, 0);  /* 26.3.2 (a): no pilot device */
	r = run(w, "2026-03-18T12:00");
	expect(&r->v[0], DECIDE_ENFORCE, NULL, NULL);
	assert_int_equal(r->v[0].ring, 0);
	assert_string_equal(r->v[0].deadline, "2026-03-20T18:00:00");
	expect(&r->v[2], DECIDE_RING_WAITING, NULL, NULL);
	expect_reason(&r->v[2], "ring everyone waits: ring pilot has not started yet");
	assert_int_equal(r->v[2].ring, 1);
	assert_string_equal(r->v[2].deadline, "2026-03-22T18:00:00");  /* +2 days of delay */
	/* the pilot has nothing to do for 26.3.2 (a): that BSI goes to everyone at once */
	expect(&r->v[3], DECIDE_ENFORCE, "26.3.2", "25D771400a");
	assert_int_equal(r->counts[DECIDE_ENFORCE], 3);
	assert_int_equal(r->counts[DECIDE_RING_WAITING], 1);
	assert_int_equal(r->nrollouts, 3);
	assert_true(rollout_of(r, 0, "25D771280a")->open);
	assert_int_equal(rollout_of(r, 0, "25D771280a")->wanting, 2);
	assert_false(rollout_of(r, 1, "25D771280a")->open);
	assert_true(rollout_of(r, 1, "25D771400a")->open);

	/* the pilot started on the 18th: everyone waits its 2 days, then for 90% */
	pilot_started[a] = at("2026-03-18T12:00");
	r = run(w, "2026-03-19T12:00");
	expect(&r->v[2], DECIDE_RING_WAITING, NULL, NULL);
	expect_reason(&r->v[2], "opens 2026-03-20, 2 days after ring pilot started");
	r = run(w, "2026-03-20T12:00");
	expect(&r->v[2], DECIDE_RING_WAITING, NULL, NULL);
	expect_reason(&r->v[2], "ring pilot is 0% compliant (0 of 2), needs 90%");
	/* inventory is the final word: one pilot Mac on the BSI is 50% */
	w->devices[0].supplemental_build = (char *)(uintptr_t)"25D771280a";
	w->devices[0].extra = (char *)(uintptr_t)"(a)";
	r = run(w, "2026-03-20T12:00");
	expect(&r->v[0], DECIDE_COMPLIANT, NULL, NULL);
	expect_reason(&r->v[2], "ring pilot is 50% compliant (1 of 2), needs 90%");
	assert_int_equal(rollout_of(r, 0, "25D771280a")->compliant, 1);
	/* without a gate the delay is enough */
	w->rings[1].min_success_percent = -1;
	r = run(w, "2026-03-20T12:00");
	expect(&r->v[2], DECIDE_ENFORCE, "26.3.1", "25D771280a");
	w->rings[1].min_success_percent = 90;
	/* both pilot Macs on it: 100% */
	w->devices[1].supplemental_build = (char *)(uintptr_t)"25D771280a";
	w->devices[1].extra = (char *)(uintptr_t)"(a)";
	r = run(w, "2026-03-20T12:00");
	expect(&r->v[2], DECIDE_ENFORCE, "26.3.1", "25D771280a");
	assert_true(rollout_of(r, 1, "25D771280a")->open);
	/* once everyone started, it stays open, whatever the pilot does later */
	everyone_started[a] = at("2026-03-20T12:00");
	w->devices[1].supplemental_build = NULL;
	w->devices[1].extra = NULL;
	r = run(w, "2026-03-21T12:00");
	expect(&r->v[1], DECIDE_ENFORCE, NULL, NULL);
	expect(&r->v[2], DECIDE_ENFORCE, "26.3.1", "25D771280a");
	/* a device that joins the pilot later is not held back by anything */
	world_free(w);
	free(pilot_started);
	free(everyone_started);
}

/* The first ring's own delay counts from the later of posted and first seen. */
static void
test_first_ring_delay(void **state)
{
	struct world *w = world_new("pmv-2026-03-17.json");
	time_t *started = calloc(w->feed.n, sizeof(time_t));
	const char **seen = calloc(w->feed.n, sizeof(char *));
	size_t a = entry_of(w, "25D771280a");
	struct decide_input in;

	(void)state;
	assert_non_null(started);
	assert_non_null(seen);
	w->rings[0] = (struct decide_ring){"pilot", w->pilot, 1, 1, -1, started};
	w->dp.rings = w->rings;
	w->dp.nrings = 1;
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, PILOT);
	/* posted 2026-03-17: opens the 18th, and the deadline moves by the delay too */
	expect_reason(&run(w, "2026-03-17T12:00")->v[0],
	    "ring pilot waits: opens 2026-03-18, 1 day after the BSI was posted or first seen");
	expect(&run(w, "2026-03-18T00:00")->v[0], DECIDE_ENFORCE, NULL, NULL);
	assert_string_equal(w->result.v[0].deadline, "2026-03-21T18:00:00");
	/* first seen later than posted: counts from then */
	seen[a] = "2026-03-19";
	in = (struct decide_input){&w->dp, &w->feed, seen, w->devices, w->n, at("2026-03-19T12:00")};
	decide_result_release(&w->result);
	assert_int_equal(decide_policy(&in, &w->result), 0);
	expect(&w->result.v[0], DECIDE_RING_WAITING, NULL, NULL);
	/* started: open whatever the dates say */
	started[a] = at("2026-03-19T12:00");
	decide_result_release(&w->result);
	assert_int_equal(decide_policy(&in, &w->result), 0);
	expect(&w->result.v[0], DECIDE_ENFORCE, NULL, NULL);
	world_free(w);
	free(started);
	free(seen);
}

/* Three rings: a closed middle ring keeps the last one closed too. */
static void
test_rings_chain(void **state)
{
	struct world *w = world_new("pmv-2026-03-17.json");
	struct decide_ring rings[3];
	time_t *started[3];
	long second[1] = {PILOT + 1};
	size_t a = entry_of(w, "25D771280a");
	const struct decide_result *r;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_non_null(started[i] = calloc(w->feed.n, sizeof(time_t)));
	rings[0] = (struct decide_ring){"pilot", w->pilot, 1, 0, -1, started[0]};
	rings[1] = (struct decide_ring){"early", second, 1, 1, -1, started[1]};
	rings[2] = (struct decide_ring){"everyone", NULL, 0, 1, -1, started[2]};
	w->dp.rings = rings;
	w->dp.nrings = 3;
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, PILOT);
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, PILOT + 1);
	add(w, "J413AP", "26.3.1", "25D2128", NULL, NULL, 0);
	started[0][a] = at("2026-03-18T12:00");
	r = run(w, "2026-03-25T12:00");
	expect(&r->v[1], DECIDE_ENFORCE, NULL, NULL);
	expect(&r->v[2], DECIDE_RING_WAITING, NULL, NULL);
	expect_reason(&r->v[2], "ring early has not started yet");
	/* the middle ring's devices all done before it started: it has nothing to do */
	w->devices[1].supplemental_build = (char *)(uintptr_t)"25D771280a";
	w->devices[1].extra = (char *)(uintptr_t)"(a)";
	r = run(w, "2026-03-25T12:00");
	expect(&r->v[2], DECIDE_ENFORCE, NULL, NULL);
	/* the pilot not started: both later rings wait */
	started[0][a] = 0;
	w->devices[1].supplemental_build = NULL;
	w->devices[1].extra = NULL;
	r = run(w, "2026-03-25T12:00");
	expect_reason(&r->v[1], "ring pilot has not started yet");
	expect_reason(&r->v[2], "ring early has not opened yet");
	world_free(w);
	for (int i = 0; i < 3; i++)
		free(started[i]);
}

/*
 * A large fleet: devices alike (ring, OS strings, model) are decided alike, whether they share
 * the inventory's strings or hold copies, and no device gets another kind's decision.
 */
static void
test_alike_devices(void **state)
{
	enum { NDEV = 1200, NMODELS = 400 };
	struct world *w = world_new("pmv-2026-03-17.json");
	struct jamf_device *devs = calloc(NDEV, sizeof(*devs));
	long (*groups)[2] = calloc(NDEV, sizeof(*groups));
	char *models[NMODELS], *copies[NDEV][3];
	time_t *started[2];
	struct decide_input in;
	char want[64];

	(void)state;
	assert_non_null(devs);
	assert_non_null(groups);
	for (int i = 0; i < 2; i++)
		assert_non_null(started[i] = calloc(w->feed.n, sizeof(time_t)));
	w->rings[0] = (struct decide_ring){"pilot", w->pilot, 1, 0, -1, started[0]};
	w->rings[1] = (struct decide_ring){"everyone", NULL, 0, 2, -1, started[1]};
	w->dp.rings = w->rings;
	w->dp.nrings = 2;
	for (int m = 0; m < NMODELS; m++) {
		snprintf(want, sizeof(want), "Mac%d,1", m);
		assert_non_null(models[m] = strdup(want));
	}
	for (size_t i = 0; i < NDEV; i++) {
		bool copy = i % 3 == 0;  /* a third hold copies of the strings */

		memset(copies[i], 0, sizeof(copies[i]));
		if (copy) {
			assert_non_null(copies[i][0] = strdup("26.3.1"));
			assert_non_null(copies[i][1] = strdup("25D2128"));
		}
		/* the first 800 are models no BSI lists, the others one 26.3.1 (a) lists */
		if (i >= 800 && copy)
			assert_non_null(copies[i][2] = strdup("J413AP"));
		devs[i].version = copy ? copies[i][0] : "26.3.1";
		devs[i].build = copy ? copies[i][1] : "25D2128";
		devs[i].model_id = i < 800 ? models[i % NMODELS] : copy ? copies[i][2] : "J413AP";
		groups[i][0] = SCOPE;
		groups[i][1] = i % 2 == 0 ? PILOT : 0;
		devs[i].groups = groups[i];
		devs[i].ngroups = 2;
	}
	started[0][entry_of(w, "25D771280a")] = at("2026-03-17T12:00");
	started[1][entry_of(w, "25D771280a")] = at("2026-03-18T12:00");
	in = (struct decide_input){&w->dp, &w->feed, NULL, devs, NDEV, at("2026-03-18T12:00")};
	assert_int_equal(decide_policy(&in, &w->result), 0);
	assert_int_equal(w->result.n, NDEV);
	for (size_t i = 0; i < NDEV; i++) {
		const struct decide_action *a = &w->result.v[i];

		assert_int_equal(a->device, i);
		assert_int_equal(a->ring, i % 2 == 0 ? 0 : 1);
		if (i < 800) {
			expect(a, DECIDE_NO_BSI, NULL, NULL);
			snprintf(want, sizeof(want), "Mac%zu,1 on 25D2128: model not listed", i % NMODELS);
			expect_reason(a, want);
			assert_string_equal(a->deadline, "");
		} else {
			expect(a, DECIDE_ENFORCE, "26.3.1", "25D771280a");
			/* the second ring's two days of delay */
			assert_string_equal(a->deadline, i % 2 == 0 ? "2026-03-20T18:00:00" :
			    "2026-03-22T18:00:00");
		}
	}
	assert_int_equal(w->result.counts[DECIDE_NO_BSI], 800);
	assert_int_equal(w->result.counts[DECIDE_ENFORCE], NDEV - 800);
	for (size_t i = 0; i < NDEV; i++)
		for (int k = 0; k < 3; k++)
			free(copies[i][k]);
	for (int m = 0; m < NMODELS; m++)
		free(models[m]);
	for (int i = 0; i < 2; i++)
		free(started[i]);
	free(devs);
	free(groups);
	world_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline_table),
		cmocka_unit_test(test_real_feed_outcomes),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_ios),
		cmocka_unit_test(test_superseded),
		cmocka_unit_test(test_rings),
		cmocka_unit_test(test_rings_chain),
		cmocka_unit_test(test_first_ring_delay),
		cmocka_unit_test(test_alike_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
