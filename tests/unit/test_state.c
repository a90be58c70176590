/* Unit tests for state.c: the lock, the state file and the intent journal, in temp folders. */
#define _GNU_SOURCE  /* nftw's FTW_DEPTH and FTW_PHYS */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#include "log.h"
#include "state.h"

#define STATE_FIXTURES FIXTURES "/state"
#define T0 ((time_t)1763452800)  /* 2025-11-18T08:00:00Z */

static char dir[64];        /* this test's state_dir */
static char logbuf[65536];  /* what the module logged during this test */
static FILE *logstream;
static char err[512];

/* ---- helpers ---- */

static int
remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Each test gets a fresh temp folder and a log buffer. */
static int
setup(void **unused)
{
	(void)unused;
	snprintf(dir, sizeof(dir), "/tmp/bridge-state-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	memset(logbuf, 0, sizeof(logbuf));
	if ((logstream = fmemopen(logbuf, sizeof(logbuf) - 1, "w")) == NULL)
		return -1;
	setvbuf(logstream, NULL, _IONBF, 0);
	log_init(LOG_LEVEL_INFO, false);
	log_set_stream(logstream);
	return 0;
}

static int
teardown(void **unused)
{
	(void)unused;
	log_set_stream(NULL);
	fclose(logstream);
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
path_of(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
		fail_msg("path too long: %s", name);
}

/* The whole file name in dir, in a new buffer (the caller frees it); NULL when missing. */
static char *
slurp(const char *name, size_t *len)
{
	char path[256];
	FILE *f;
	char *buf;
	long n;

	path_of(path, sizeof(path), name);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static void
spill(const char *name, const char *text, size_t len)
{
	char path[256];
	FILE *f;

	path_of(path, sizeof(path), name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Copy a fixture file into dir under name. */
static void
copy_fixture(const char *fixture, const char *name)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", STATE_FIXTURES, fixture);
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	spill(name, buf, (size_t)n);
	free(buf);
}

static bool
exists(const char *name)
{
	char path[256];
	struct stat sb;

	path_of(path, sizeof(path), name);
	return lstat(path, &sb) == 0;
}

/* How many entries of dir start with prefix. */
static int
count_files(const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* The name of the first entry of dir that starts with prefix, into out. */
static void
find_file(const char *prefix, char *out, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	out[0] = '\0';
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			snprintf(out, size, "%s", de->d_name);
	closedir(d);
	assert_true(out[0] != '\0');
}

/* Load dir, expecting success. */
static void
load(struct state *st)
{
	if (state_load(st, dir, err, sizeof(err)) != STATE_OK)
		fail_msg("state_load: %s", err);
}

/* Load an empty dir and allow creates, as a caller does after reconciling a first run. */
static void
load_reconciled(struct state *st)
{
	load(st);
	state_reconciled(st);
}

static void
save(struct state *st)
{
	if (state_save(st, err, sizeof(err)) != STATE_OK)
		fail_msg("state_save: %s", err);
}

/* A plan for device as the enforcer would begin it (device stays the caller's). */
static struct state_plan
plan_for(char *device)
{
	static char policy[] = "macs", ring[] = "pilot", platform[] = "macOS",
	    version[] = "26.3.1", build[] = "25D771280a", deadline[] = "2026-11-25T18:00:00";

	return (struct state_plan){
		.device_id = device, .policy = policy, .ring = ring, .platform = platform,
		.version = version, .build = build, .deadline = deadline, .created_at = T0,
	};
}

/*
 * Lookups by key, with many records: each of 20,000 plans (put, then saved and loaded) is
 * found, an unknown id is not, putting an id again replaces its record, and a ring is found
 * by all three of its keys only.
 */
static void
test_many_records(void **unused)
{
	enum { N = 20000 };
	struct state st;
	char ids[N][16];
	struct state_plan p = plan_for((char[]){"7"});

	(void)unused;
	load(&st);
	state_reconciled(&st);
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "plan-%d", i);
		p.id = ids[i];
		assert_int_equal(state_put_plan(&st, &p), 0);
		if (i % 1000 == 0)  /* lookups between puts see every earlier put */
			assert_ptr_equal(state_find_plan(&st, ids[i / 2]), &st.plans[i / 2]);
	}
	assert_int_equal(state_note_ring(&st, "macs", "pilot", "bsi-a", T0), 0);
	save(&st);
	state_release(&st);
	load(&st);
	assert_int_equal(st.nplans, N);
	for (int i = 0; i < N; i++)
		assert_string_equal(state_find_plan(&st, ids[i])->id, ids[i]);
	assert_null(state_find_plan(&st, "plan-20000"));
	assert_null(state_find_plan(&st, ""));
	p.id = ids[123];
	p.last_state = (char[]){"PlanFailed"};
	assert_int_equal(state_put_plan(&st, &p), 0);
	assert_int_equal(st.nplans, N);
	assert_string_equal(state_find_plan(&st, ids[123])->last_state, "PlanFailed");
	assert_non_null(state_find_ring(&st, "macs", "pilot", "bsi-a"));
	assert_null(state_find_ring(&st, "macs", "pilot", "bsi-b"));
	assert_null(state_find_ring(&st, "macs", "pilotbsi-a", ""));
	assert_null(state_find_ring(&st, "macs", "pilot", NULL));
	state_release(&st);
}

/* ---- the state file ---- */

/* Every record kind, with optional fields set and unset, comes back exactly as saved. */
static void
test_round_trip(void **unused)
{
	struct state st;
	struct state_plan p1 = plan_for((char[]){"42"}), p2 = plan_for((char[]){"43"});
	struct state_blueprint b = {
		.id = (char[]){"bp-1"}, .name = (char[]){"bridge: iphones pilot iOS 26.3.1 (a)"},
		.policy = (char[]){"iphones"}, .ring = (char[]){"pilot"},
		.platform = (char[]){"iOS"}, .version = (char[]){"26.3.1"},
		.build = (char[]){"23D771330a"}, .deadline = (char[]){"2026-11-26T09:00:00"},
		.group_id = (char[]){"17"}, .group_platform_id = (char[]){"5e6f-uuid"},
		.deployed = true, .created_at = T0 + 60, .last_state = (char[]){"SUCCEEDED"},
	};
	struct state_blueprint b2 = b;
	/* every character JSON escapes, and UTF-8 kept as it is */
	struct state_group g = {.id = (char[]){"17"},
	    .name = (char[]){"bridge: \"quoted\"\n\\ \b\f\r\t\x01\x1f\x7f caf\xc3\xa9"},
	    .created_at = T0 + 50};
	char *text;
	struct state_plan open_plan = plan_for((char[]){"44"});
	const struct state_plan *p;
	const struct state_blueprint *bp;
	const struct state_intent *in;
	long id;

	(void)unused;
	load(&st);
	assert_true(st.needs_reconcile);  /* no file: a first run */
	state_reconciled(&st);
	p1.id = (char[]){"plan-1"};
	p1.last_state = (char[]){"PlanInProgress"};
	p1.last_state_at = T0 + 3600;
	p2.id = (char[]){"plan-2"};
	p2.build = NULL;  /* a base update */
	b2.id = (char[]){"bp-2"};
	b2.build = b2.group_id = b2.group_platform_id = b2.last_state = NULL;
	b2.deployed = false;
	assert_int_equal(state_put_plan(&st, &p1), 0);
	assert_int_equal(state_put_plan(&st, &p2), 0);
	assert_int_equal(state_put_blueprint(&st, &b), 0);
	assert_int_equal(state_put_blueprint(&st, &b2), 0);
	assert_int_equal(state_put_group(&st, &g), 0);
	assert_int_equal(state_note_bsi(&st, "macOS 26.3.1 (a) 25D771280a", T0), 0);
	assert_int_equal(state_note_bsi(&st, "macOS 26.3.1 (a) 25D771280a", T0 + 999), 0);
	assert_int_equal(state_note_ring(&st, "macs", "pilot", "macOS 26.3.1 (a) 25D771280a on 25D2128", T0 + 4), 0);
	assert_int_equal(state_note_ring(&st, "macs", "pilot", "macOS 26.3.1 (a) 25D771280a on 25D2128", T0 + 999), 0);
	assert_int_equal(state_note_ring(&st, "macs", "broad", "macOS 26.3.1 (a) 25D771280a on 25D2128", T0 + 86400), 0);
	assert_int_equal(state_note_ring(&st, "macs", "pilot", "macOS 26.3.2 (a) 25D771400a on 25D2140", T0 + 7), 0);
	assert_int_equal(state_begin_plans(&st, &open_plan, 1, &id, err, sizeof(err)), STATE_OK);
	save(&st);
	state_release(&st);

	load(&st);
	assert_false(st.needs_reconcile);
	assert_true(st.saved_at > 0);
	assert_int_equal(st.nplans, 2);
	assert_non_null(p = state_find_plan(&st, "plan-1"));
	assert_string_equal(p->device_id, "42");
	assert_string_equal(p->policy, "macs");
	assert_string_equal(p->ring, "pilot");
	assert_string_equal(p->platform, "macOS");
	assert_string_equal(p->version, "26.3.1");
	assert_string_equal(p->build, "25D771280a");
	assert_string_equal(p->deadline, "2026-11-25T18:00:00");
	assert_int_equal(p->created_at, T0);
	assert_string_equal(p->last_state, "PlanInProgress");
	assert_int_equal(p->last_state_at, T0 + 3600);
	assert_non_null(p = state_find_plan(&st, "plan-2"));
	assert_null(p->build);
	assert_null(p->last_state);
	assert_int_equal(p->last_state_at, 0);

	assert_int_equal(st.nblueprints, 2);
	assert_non_null(bp = state_find_blueprint(&st, "bp-1"));
	assert_string_equal(bp->name, b.name);
	assert_string_equal(bp->policy, "iphones");
	assert_string_equal(bp->platform, "iOS");
	assert_string_equal(bp->version, "26.3.1");
	assert_string_equal(bp->build, "23D771330a");
	assert_string_equal(bp->deadline, "2026-11-26T09:00:00");
	assert_string_equal(bp->group_id, "17");
	assert_string_equal(bp->group_platform_id, "5e6f-uuid");
	assert_true(bp->deployed);
	assert_int_equal(bp->created_at, T0 + 60);
	assert_string_equal(bp->last_state, "SUCCEEDED");
	assert_non_null(bp = state_find_blueprint(&st, "bp-2"));
	assert_null(bp->build);
	assert_null(bp->group_id);
	assert_null(bp->group_platform_id);
	assert_null(bp->last_state);
	assert_false(bp->deployed);

	assert_int_equal(st.ngroups, 1);
	assert_string_equal(state_find_group(&st, "17")->name, g.name);
	assert_non_null(text = slurp("state.json", NULL));
	assert_non_null(strstr(text, "\"name\":\"bridge: \\\"quoted\\\"\\n\\\\ \\b\\f\\r\\t"
	    "\\u0001\\u001f\x7f caf\xc3\xa9\""));
	free(text);
	assert_int_equal(state_find_group(&st, "17")->created_at, T0 + 50);

	/* first seen and ring starts keep the first time */
	assert_int_equal(st.nbsis, 1);
	assert_int_equal(state_find_bsi(&st, "macOS 26.3.1 (a) 25D771280a")->first_seen, T0);
	assert_int_equal(st.nrings, 3);
	assert_int_equal(state_find_ring(&st, "macs", "pilot", "macOS 26.3.1 (a) 25D771280a on 25D2128")->started_at, T0 + 4);
	assert_int_equal(state_find_ring(&st, "macs", "broad", "macOS 26.3.1 (a) 25D771280a on 25D2128")->started_at, T0 + 86400);
	/* each BSI has its own start in each ring */
	assert_int_equal(state_find_ring(&st, "macs", "pilot", "macOS 26.3.2 (a) 25D771400a on 25D2140")->started_at, T0 + 7);
	assert_null(state_find_ring(&st, "macs", "broad", "macOS 26.3.2 (a) 25D771400a on 25D2140"));
	assert_null(state_find_ring(&st, "iphones", "pilot", "macOS 26.3.1 (a) 25D771280a on 25D2128"));

	/* the open intent is kept, whole, and is now unfinished */
	assert_int_equal(st.nintents, 1);
	assert_non_null(in = state_find_intent(&st, id));
	assert_int_equal(in->kind, STATE_KIND_PLAN);
	assert_int_equal(in->status, STATE_INTENT_OPEN);
	assert_null(in->plan.id);
	assert_string_equal(in->plan.device_id, "44");
	assert_string_equal(in->plan.build, "25D771280a");
	assert_true(state_intent_unfinished(&st, in));
	assert_int_equal(state_unfinished(&st), 1);
	state_release(&st);
	state_release(&st);  /* harmless twice */
}

/*
 * A state file of bridge 0.1 before rings were kept per BSI (a ring record without "bsi")
 * still loads whole: nothing is moved aside, and the old ring record matches no BSI.
 */
static void
test_rings_before_bsi(void **unused)
{
	struct state st;

	(void)unused;
	copy_fixture("before-bsi-rings.json", "state.json");
	load(&st);
	assert_false(st.needs_reconcile);
	assert_null(st.moved_aside);
	assert_int_equal(st.nplans, 2);
	assert_int_equal(st.nrings, 1);
	assert_null(st.rings[0].bsi);
	assert_null(state_find_ring(&st, "macs", "pilot", "macOS 26.3.1 (a) 25D771280a on 25D2128"));
	assert_int_equal(state_note_ring(&st, "macs", "pilot",
	    "macOS 26.3.1 (a) 25D771280a on 25D2128", T0), 0);
	assert_int_equal(st.nrings, 2);
	save(&st);
	state_release(&st);
	load(&st);
	assert_int_equal(st.nrings, 2);
	state_release(&st);
}

/* The documented example loads, and saving it changes nothing but saved_at. */
static void
test_valid_fixture(void **unused)
{
	struct state st;
	const struct state_plan *p;

	(void)unused;
	copy_fixture("valid.json", "state.json");
	load(&st);
	assert_false(st.needs_reconcile);
	assert_null(st.moved_aside);
	assert_int_equal(st.nplans, 2);
	assert_int_equal(st.nblueprints, 1);
	assert_int_equal(st.ngroups, 1);
	assert_int_equal(st.nbsis, 1);
	assert_int_equal(st.nrings, 1);
	assert_non_null(p = state_find_plan(&st, "0f9a3c1e-6b1d-4c55-9d7e-2a1b3c4d5e6f"));
	assert_string_equal(p->last_state, "PlanInProgress");
	assert_int_equal(p->created_at, (time_t)1794988805);  /* 2026-11-18T08:00:05Z */
	assert_int_equal(st.nintents, 1);
	assert_int_equal(st.intents[0].id, 40);
	assert_true(state_intent_unfinished(&st, &st.intents[0]));
	/* new intents are numbered after what the file folded */
	assert_int_equal(st.last_seq, 41);
	save(&st);
	state_release(&st);

	load(&st);
	assert_int_equal(st.nplans, 2);
	assert_string_equal(state_find_blueprint(&st, "b7c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e")->
	    group_platform_id, "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9");
	assert_int_equal(st.nintents, 1);
	state_release(&st);
}

/* Saves leave no temp file; one left by a save that was killed is removed on load. */
static void
test_atomic_save_leaves_no_temp_files(void **unused)
{
	struct state st;
	struct stat sb;
	char path[256];

	(void)unused;
	load_reconciled(&st);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(state_note_bsi(&st, i % 2 ? "a" : "b", T0 + i), 0);
		save(&st);
	}
	state_release(&st);
	assert_int_equal(count_files("state.json"), 1);
	assert_int_equal(count_files("state.json.tmp."), 0);
	path_of(path, sizeof(path), "state.json");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	spill("state.json.tmp.99999", "{\"half\":", 8);
	load(&st);
	assert_false(exists("state.json.tmp.99999"));
	assert_int_equal(st.nbsis, 2);
	state_release(&st);
}

/* Every file in fixtures/state/corrupt is moved aside, byte for byte, and creates are refused. */
static void
test_corrupt_files_moved_aside(void **unused)
{
	struct dirent *de;
	DIR *d = opendir(STATE_FIXTURES "/corrupt");
	size_t files = 0;

	(void)unused;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char fixture[300], aside[256], *before, *after;
		size_t blen, alen;
		struct state st;
		struct state_plan p = plan_for((char[]){"42"});
		long id;

		if (de->d_name[0] == '.')
			continue;
		snprintf(fixture, sizeof(fixture), "corrupt/%s", de->d_name);
		copy_fixture(fixture, "state.json");
		before = slurp("state.json", &blen);
		if (state_load(&st, dir, err, sizeof(err)) != STATE_OK)
			fail_msg("%s: %s", de->d_name, err);
		if (!st.needs_reconcile || st.moved_aside == NULL || st.nplans != 0 ||
		    st.nintents != 0)
			fail_msg("%s: not treated as corrupt", de->d_name);
		assert_false(exists("state.json"));
		find_file("state.json.corrupt-", aside, sizeof(aside));
		assert_non_null(strstr(st.moved_aside, aside));
		assert_non_null(after = slurp(aside, &alen));
		assert_int_equal(alen, blen);
		assert_memory_equal(after, before, blen);
		assert_non_null(strstr(logbuf, "is corrupt"));

		/* nothing may be created until reconciled */
		assert_non_null(state_create_blocked(&st));
		assert_int_equal(state_begin_plans(&st, &p, 1, &id, err, sizeof(err)), STATE_ERROR);
		assert_non_null(strstr(err, "reconciled"));

		/* the flag survives a save (and so a run that ends before reconciling) */
		save(&st);
		state_release(&st);
		load(&st);
		assert_true(st.needs_reconcile);
		state_release(&st);

		free(before);
		free(after);
		path_of(fixture, sizeof(fixture), aside);
		assert_int_equal(unlink(fixture), 0);
		memset(logbuf, 0, sizeof(logbuf));
		rewind(logstream);
		files++;
	}
	closedir(d);
	assert_true(files >= 20);
}

/* A state file from a newer bridge is refused and left exactly as it was. */
static void
test_future_format_refused(void **unused)
{
	struct state st;
	char *before, *after;
	size_t blen, alen;

	(void)unused;
	copy_fixture("future.json", "state.json");
	before = slurp("state.json", &blen);
	assert_int_equal(state_load(&st, dir, err, sizeof(err)), STATE_ERROR);
	assert_non_null(strstr(err, "format 2"));
	assert_non_null(strstr(err, "newer"));
	assert_non_null(after = slurp("state.json", &alen));
	assert_int_equal(alen, blen);
	assert_memory_equal(before, after, blen);
	assert_int_equal(count_files("state.json"), 1);  /* nothing moved aside */
	assert_false(exists("journal.jsonl"));
	state_release(&st);  /* harmless after a failed load */
	free(before);
	free(after);
}

/* ---- the state file, read and written a line at a time ---- */

/* The fields of plan i of a large state, in bufs (ids and devices unique, the rest repeating). */
static struct state_plan
large_plan(int i, char id[48], char device[16])
{
	static char macs[] = "macs", iphones[] = "iphones", ipads[] = "ipads", pilot[] = "pilot",
	    early[] = "early", broad[] = "broad", progress[] = "PlanInProgress",
	    completed[] = "PlanCompleted", failed[] = "PlanFailed";
	static char *const policies[] = {macs, iphones, ipads}, *const rings[] = {pilot, early,
	    broad}, *const states[] = {progress, completed, failed, NULL};
	static char platform_mac[] = "macOS", platform_ios[] = "iOS", version[] = "26.3.1",
	    build_mac[] = "25D771280a", build_ios[] = "23D771330a",
	    deadline[] = "2026-11-25T18:00:00", reason[] = "DOWNGRADE_NOT_SUPPORTED \"q\"\n",
	    odd[] = "caf\xc3\xa9 \\ \t";

	snprintf(id, 48, "%08x-%04x-4%03x-8%03x-%012x", (unsigned)i * 2654435761u, i & 0xffff,
	    i % 4096, (i * 7) % 4096, (unsigned)i);
	snprintf(device, 16, "%d", 1000 + i);
	return (struct state_plan){
		.id = id, .device_id = device, .policy = policies[i % 3], .ring = rings[i % 3],
		.platform = i % 3 ? platform_ios : platform_mac, .version = version,
		.build = i % 5 == 0 ? NULL : i % 3 ? build_ios : build_mac,
		.deadline = i % 1000 == 7 ? odd : deadline, .created_at = T0 + i % 86400,
		.last_state = states[i % 4], .last_state_at = states[i % 4] ? T0 + 7200 : 0,
		.last_reason = i % 4 == 2 ? reason : NULL,
	};
}

static bool
same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether p is large_plan(i) field for field. */
static bool
is_large_plan(const struct state_plan *p, int i)
{
	char id[48], device[16];
	struct state_plan want = large_plan(i, id, device);

	return same_string(p->id, want.id) && same_string(p->device_id, want.device_id) &&
	    same_string(p->policy, want.policy) && same_string(p->ring, want.ring) &&
	    same_string(p->platform, want.platform) && same_string(p->version, want.version) &&
	    same_string(p->build, want.build) && same_string(p->deadline, want.deadline) &&
	    p->created_at == want.created_at && same_string(p->last_state, want.last_state) &&
	    p->last_state_at == want.last_state_at &&
	    same_string(p->last_reason, want.last_reason);
}

/* How many lines text has. */
static size_t
count_lines(const char *text)
{
	size_t n = 0;

	for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	return n;
}

/*
 * 100,000 plans (a fleet of that size) are saved a record a line and come back field for
 * field, in their order, each found by id; the file is one JSON document all the same.
 */
static void
test_large_state_round_trip(void **unused)
{
	enum { N = 100000 };
	struct state st;
	char *text;
	cJSON *doc;
	long id;
	struct state_plan open_plan = plan_for((char[]){"open"});

	(void)unused;
	load_reconciled(&st);
	for (int i = 0; i < N; i++) {
		char pid[48], device[16];
		struct state_plan p = large_plan(i, pid, device);

		assert_int_equal(state_put_plan(&st, &p), 0);
	}
	assert_int_equal(state_note_bsi(&st, "macOS 26.3.1 (a) 25D771280a", T0), 0);
	assert_int_equal(state_begin_plans(&st, &open_plan, 1, &id, err, sizeof(err)), STATE_OK);
	save(&st);
	state_release(&st);

	text = slurp("state.json", NULL);
	/* header, then per array its opening line, its records and its closing line */
	assert_int_equal(count_lines(text), 1 + 6 * 2 + N + 1 + 1);
	assert_true(strncmp(text, "{\"format\":1,", 12) == 0);
	assert_non_null(strstr(text, "\n\"plans\":[\n{\"id\":\""));
	assert_non_null(doc = cJSON_Parse(text));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "plans")), N);
	cJSON_Delete(doc);
	free(text);

	load(&st);
	assert_null(st.moved_aside);
	assert_false(st.needs_reconcile);
	assert_int_equal(st.nplans, N);
	for (int i = 0; i < N; i++)
		if (!is_large_plan(&st.plans[i], i))
			fail_msg("plan %d did not come back as saved", i);
	for (int i = 0; i < N; i += 997) {
		char pid[48], device[16];

		(void)large_plan(i, pid, device);
		assert_ptr_equal(state_find_plan(&st, pid), &st.plans[i]);
	}
	assert_int_equal(st.nbsis, 1);
	assert_int_equal(st.nintents, 1);
	assert_string_equal(st.intents[0].plan.device_id, "open");
	state_release(&st);
}

/*
 * A small state of every kind, saved in dir: plans plan-1 .. plan-3 (plan-2 failed), a
 * blueprint, a group, a BSI, a ring and an open intent for device 4.
 */
static void
save_small_state(void)
{
	struct state st;
	struct state_blueprint b = {
		.id = (char[]){"bp-1"}, .name = (char[]){"bridge: macs pilot"},
		.policy = (char[]){"macs"}, .ring = (char[]){"pilot"},
		.platform = (char[]){"macOS"}, .version = (char[]){"26.3.1"},
		.build = (char[]){"25D771280a"}, .deadline = (char[]){"2026-11-25T18:00:00"},
		.group_id = (char[]){"17"}, .deployed = true, .created_at = T0 + 60,
	};
	struct state_group g = {.id = (char[]){"17"}, .name = (char[]){"bridge: macs pilot"},
	    .created_at = T0 + 50, .devices = (char[]){"computer"}};
	struct state_plan open_plan = plan_for((char[]){"4"});
	static char failed[] = "PlanFailed", reason[] = "NOT_SUPERVISED";
	long id;

	load_reconciled(&st);
	for (int i = 1; i <= 3; i++) {
		char pid[16], device[8];
		struct state_plan p;

		snprintf(pid, sizeof(pid), "plan-%d", i);
		snprintf(device, sizeof(device), "%d", i);
		p = plan_for(device);
		p.id = pid;
		if (i == 2) {
			p.last_state = failed;
			p.last_reason = reason;
			p.last_state_at = T0 + 5;
		}
		assert_int_equal(state_put_plan(&st, &p), 0);
	}
	assert_int_equal(state_put_blueprint(&st, &b), 0);
	assert_int_equal(state_put_group(&st, &g), 0);
	assert_int_equal(state_note_bsi(&st, "macOS 26.3.1 (a) 25D771280a", T0), 0);
	assert_int_equal(state_note_ring(&st, "macs", "pilot", "macOS 26.3.1 (a) 25D771280a",
	    T0 + 4), 0);
	assert_int_equal(state_begin_plans(&st, &open_plan, 1, &id, err, sizeof(err)), STATE_OK);
	save(&st);
	state_release(&st);
}

/* Whether st holds what save_small_state() saved (fail_msg names the first difference). */
static void
check_small_state(const struct state *st, const char *what)
{
	const struct state_plan *p = state_find_plan(st, "plan-2");
	const struct state_blueprint *b = state_find_blueprint(st, "bp-1");

	if (st->moved_aside != NULL || st->needs_reconcile)
		fail_msg("%s: treated as corrupt", what);
	if (st->nplans != 3 || st->nblueprints != 1 || st->ngroups != 1 || st->nbsis != 1 ||
	    st->nrings != 1 || st->nintents != 1)
		fail_msg("%s: records lost or added", what);
	if (p == NULL || strcmp(p->device_id, "2") != 0 || strcmp(p->last_reason,
	    "NOT_SUPERVISED") != 0 || p->last_state_at != T0 + 5 || p->build == NULL ||
	    state_find_plan(st, "plan-3")->last_state != NULL)
		fail_msg("%s: plans differ", what);
	if (b == NULL || !b->deployed || strcmp(b->group_id, "17") != 0 || b->last_state != NULL ||
	    b->created_at != T0 + 60)
		fail_msg("%s: blueprint differs", what);
	if (strcmp(state_find_group(st, "17")->devices, "computer") != 0 ||
	    state_find_ring(st, "macs", "pilot", "macOS 26.3.1 (a) 25D771280a")->started_at !=
	    T0 + 4 || strcmp(st->intents[0].plan.device_id, "4") != 0 ||
	    !state_intent_unfinished(st, &st->intents[0]))
		fail_msg("%s: group, ring or intent differs", what);
}

/* Replace the first needle in text (len bytes) with with; the result in a new buffer. */
static char *
replaced(const char *text, const char *needle, const char *with, size_t *len)
{
	const char *at = strstr(text, needle);
	size_t before, nlen = strlen(needle), wlen = strlen(with);
	char *out;

	if (at == NULL)
		fail_msg("\"%s\" is not in the state file", needle);
	before = (size_t)(at - text);
	assert_non_null(out = malloc(*len - nlen + wlen + 1));
	memcpy(out, text, before);
	memcpy(out + before, with, wlen);
	memcpy(out + before + wlen, at + nlen, *len - before - nlen + 1);
	*len = *len - nlen + wlen;
	return out;
}

/*
 * A state file written by the bridge before this one (one cJSON_Print'ed document, tabs and
 * all) loads whole, and its next save writes it a record a line.
 */
static void
test_old_layout_loads(void **unused)
{
	struct state st;
	char *text, *old;
	cJSON *doc;

	(void)unused;
	save_small_state();
	text = slurp("state.json", NULL);
	assert_non_null(doc = cJSON_Parse(text));
	assert_non_null(old = cJSON_Print(doc));  /* exactly how it was written before */
	assert_non_null(strstr(old, "{\n\t\"format\":\t1,\n"));
	spill("state.json", old, strlen(old));
	cJSON_Delete(doc);
	free(old);
	free(text);

	load(&st);
	check_small_state(&st, "the old layout");
	save(&st);  /* unchanged, but written again in the layout read a line at a time */
	state_release(&st);
	text = slurp("state.json", NULL);
	assert_true(strncmp(text, "{\"format\":1,", 12) == 0);
	free(text);
	load(&st);
	check_small_state(&st, "saved again");
	state_release(&st);
}

/* The lines bridge writes for st: the first, an opening and a closing one per array, records. */
static size_t
lines_for(const struct state *st)
{
	size_t open = 0;

	for (size_t i = 0; i < st->nintents; i++)
		open += st->intents[i].status == STATE_INTENT_OPEN;
	return 1 + 6 * 2 + st->nbsis + st->nrings + st->nplans + st->nblueprints + st->ngroups +
	    open;
}

/*
 * A file in any other layout that is the same JSON document (reformatted by jq or by hand)
 * loads as that document, read as a whole; a save writes it a record a line again.
 */
static void
test_other_layouts_load(void **unused)
{
	static const struct {
		const char *what, *needle, *with;
		int bsis, intents;  /* how many the document has, when not the small state's */
		bool lines;         /* still bridge's layout: read a line at a time, left alone */
	} edits[] = {
		{"a record split over two lines", "\"device_id\":\"2\",",
		    "\n\"device_id\":\"2\",\n", 1, 1, false},
		{"a blank line at the end", "]}\n", "]}\n\n", 1, 1, false},
		{"spaces", "\"plans\":[\n", "\"plans\" : [ \n", 1, 1, false},
		{"Windows line ends", "\n\"rings\":[\n", "\r\n\"rings\":[\r\n", 1, 1, false},
		/* the first of two members so named counts, as cJSON finds it */
		{"an array in the first line", "\"journal_folded\":",
		    "\"bsis\":[],\"journal_folded\":", 0, 1, false},
		{"arrays in another order", "\"bsis\":[\n", "\"intents\":[],\n\"bsis\":[\n", 1, 0,
		    false},
		{"an unknown member longer than a line", "\"device_id\":\"3\",",
		    "\"device_id\":\"3\",\"notes\":\"@\",", 1, 1, false},
		{"no newline at the end", "]}\n", "]}", 1, 1, true},
		{"an unknown member in the first line", "\"journal_folded\":",
		    "\"extra\":[1],\"journal_folded\":", 1, 1, true},
		{"members in another order in the first line", "{\"format\":1,",
		    "{\"bridge\":\"0.0.9\",\"format\":1,", 1, 1, true},
		/* a record line is read without a tree, with what cJSON would find */
		{"a record's members in another order", "{\"id\":\"plan-1\",\"device_id\":\"1\",",
		    "{\"device_id\":\"1\",\"id\":\"plan-1\",", 1, 1, true},
		{"a record's member name escaped", "\"device_id\":\"2\",",
		    "\"device\\u005fid\":\"2\",", 1, 1, true},
		{"a record's member twice", "\"device_id\":\"2\",",
		    "\"device_id\":\"2\",\"device_id\":\"9\",", 1, 1, true},
		{"an unknown member in a record", "\"device_id\":\"3\",",
		    "\"device_id\":\"3\",\"notes\":{\"a\":[1,2.5e3,null,true]},", 1, 1, true},
	};
	char *text;
	size_t len;

	(void)unused;
	save_small_state();
	text = slurp("state.json", &len);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		struct state st;
		size_t elen = len, lines;
		char *edited = replaced(text, edits[i].needle, edits[i].with, &elen), *again, *at;

		if ((at = strchr(edited, '@')) != NULL) {  /* a string of 200,000 x instead */
			size_t before = (size_t)(at - edited), n = 200000;
			char *big = malloc(elen + n);

			assert_non_null(big);
			memcpy(big, edited, before);
			memset(big + before, 'x', n);
			memcpy(big + before + n, at + 1, elen - before);
			free(edited);
			edited = big;
			elen += n - 1;
		}
		if (edits[i].intents == 0) {  /* the second "intents" would count: end before it */
			assert_non_null(at = strstr(edited, "],\n\"intents\":[\n{"));
			memcpy(at, "]}\n", 4);
			elen = strlen(edited);
		}
		spill("state.json", edited, elen);
		load(&st);
		if (edits[i].bsis == 1 && edits[i].intents == 1)
			check_small_state(&st, edits[i].what);
		else if (st.moved_aside != NULL || st.nplans != 3 ||
		    st.nbsis != (size_t)edits[i].bsis || st.nintents != (size_t)edits[i].intents)
			fail_msg("%s: not read as that document", edits[i].what);
		lines = lines_for(&st);
		save(&st);
		state_release(&st);
		again = slurp("state.json", NULL);
		if (edits[i].lines && strcmp(again, edited) != 0)
			fail_msg("%s: written again though nothing changed", edits[i].what);
		if (!edits[i].lines && (strncmp(again, "{\"format\":1,", 12) != 0 ||
		    count_lines(again) != lines))
			fail_msg("%s: not saved a record a line again", edits[i].what);
		free(again);
		free(edited);
	}
	free(text);
}

/*
 * A file in bridge's layout damaged anywhere (cut short in or between lines, a line garbled,
 * a member of the wrong type) is corrupt as a whole, as any corrupt file: only reported when
 * looking, else moved aside byte for byte, and nothing is created until reconciled.
 */
static void
test_damaged_lines_are_corrupt(void **unused)
{
	static const struct {
		const char *what, *needle, *with;  /* with NULL: the file ends cut bytes in */
		size_t cut;
	} damage[] = {
		{"cut in a record", "\"ring\":\"pilot\",\"platform\"", NULL, 3},
		{"cut in the first line", "\"saved_at\"", NULL, 0},
		{"cut between lines", "\"blueprints\":[\n", NULL, 0},
		{"cut after an opening line", "{\"id\":\"plan-1\"", NULL, 0},
		{"cut before the last line", "]}\n", NULL, 0},
		{"cut in the last line", "]}\n", NULL, 1},
		{"a garbled record", "{\"id\":\"plan-2\"", "{\"id\":\"plan-2", 0},
		{"a garbled opening line", "\"groups\":[", "\"groups\":{", 0},
		{"a record without its comma", "},\n{\"id\":\"plan-2\"", "}\n{\"id\":\"plan-2\"",
		    0},
		{"a comma after the last record", "}\n],\n\"blueprints\"", "},\n],\n\"blueprints\"",
		    0},
		{"text after the document", "]}\n", "]}\n{}\n", 0},
		{"a record of the wrong type", "{\"id\":\"plan-1\"", "7,\n{\"id\":\"plan-1\"", 0},
		{"a number for a string", "\"device_id\":\"2\"", "\"device_id\":2", 0},
		{"an empty id", "\"id\":\"plan-3\"", "\"id\":\"\"", 0},
		{"an impossible leap day", "\"created_at\":\"2025-11-18T08:00:00Z\"",
		    "\"created_at\":\"2100-02-29T08:00:00Z\"", 0},
		{"a second past the minute", "\"first_seen\":\"2025-11-18T08:00:00Z\"",
		    "\"first_seen\":\"2025-11-18T08:00:60Z\"", 0},
		{"a string for the format", "\"format\":1,", "\"format\":\"1\",", 0},
		{"a number for a flag", "\"needs_reconcile\":false", "\"needs_reconcile\":0", 0},
		{"an intent of an unknown kind", "\"kind\":\"plan\"", "\"kind\":\"printer\"", 0},
		{"a string for a boolean", "\"deployed\":true", "\"deployed\":\"true\"", 0},
		/* # is 999 arrays in one another: a record line reads alone, the document not */
		{"a record nested too deep for the document", "\"device_id\":\"3\",",
		    "\"device_id\":\"3\",\"x\":#,", 0},
	};
	char *text;
	size_t len;

	(void)unused;
	save_small_state();
	text = slurp("state.json", &len);
	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		struct state st;
		size_t dlen = len, alen;
		char *damaged, *after, aside[256], path[512];
		struct state_plan p = plan_for((char[]){"9"});
		long id;

		if (damage[i].with != NULL) {
			damaged = replaced(text, damage[i].needle, damage[i].with, &dlen);
			if ((after = strchr(damaged, '#')) != NULL) {
				size_t before = (size_t)(after - damaged), n = 999;
				char *deep = malloc(dlen + 2 * n);

				assert_non_null(deep);
				memcpy(deep, damaged, before);
				memset(deep + before, '[', n);
				memset(deep + before + n, ']', n);
				memcpy(deep + before + 2 * n, after + 1, dlen - before);
				free(damaged);
				damaged = deep;
				dlen += 2 * n - 1;
			}
		} else {
			assert_non_null(damaged = strdup(text));
			assert_non_null(after = strstr(damaged, damage[i].needle));
			dlen = (size_t)(after - damaged) + damage[i].cut;
		}
		spill("state.json", damaged, dlen);

		/* only looking: reported, left where it is */
		assert_int_equal(state_load_readonly(&st, dir, err, sizeof(err)), STATE_OK);
		if (!st.needs_reconcile || st.moved_aside != NULL || st.nplans != 0 ||
		    !exists("state.json") || strstr(logbuf, "is corrupt") == NULL)
			fail_msg("%s: not reported as corrupt", damage[i].what);
		state_release(&st);

		if (state_load(&st, dir, err, sizeof(err)) != STATE_OK)
			fail_msg("%s: %s", damage[i].what, err);
		if (!st.needs_reconcile || st.moved_aside == NULL || st.nplans != 0 ||
		    st.nintents != 0)
			fail_msg("%s: not treated as corrupt", damage[i].what);
		assert_false(exists("state.json"));
		find_file("state.json.corrupt-", aside, sizeof(aside));
		assert_non_null(after = slurp(aside, &alen));
		assert_int_equal(alen, dlen);
		assert_memory_equal(after, damaged, dlen);
		assert_int_equal(state_begin_plans(&st, &p, 1, &id, err, sizeof(err)), STATE_ERROR);
		state_release(&st);
		free(after);
		free(damaged);
		path_of(path, sizeof(path), aside);
		assert_int_equal(unlink(path), 0);
		memset(logbuf, 0, sizeof(logbuf));
		rewind(logstream);
	}
	free(text);
}

/*
 * A state file from a newer bridge in this layout is refused too, and left as it was; cut
 * short, it is corrupt, as any file that is not one JSON document.
 */
static void
test_future_format_refused_in_lines(void **unused)
{
	struct state st;
	char *text, *newer, *after;
	size_t len, alen;

	(void)unused;
	save_small_state();
	text = slurp("state.json", &len);
	newer = replaced(text, "\"format\":1,", "\"format\":2,", &len);
	spill("state.json", newer, len);
	assert_int_equal(state_load(&st, dir, err, sizeof(err)), STATE_ERROR);
	assert_non_null(strstr(err, "format 2"));
	assert_non_null(after = slurp("state.json", &alen));
	assert_int_equal(alen, len);
	assert_memory_equal(after, newer, len);
	assert_int_equal(count_files("state.json.corrupt-"), 0);
	free(after);

	/* but one that is not a whole JSON document is corrupt, whatever format it says */
	spill("state.json", newer, len / 2);
	load(&st);
	assert_true(st.needs_reconcile);
	assert_non_null(st.moved_aside);
	state_release(&st);
	free(newer);
	free(text);
}

/* The inode of state.json: a save that writes replaces the file, so changes it. */
static ino_t
state_inode(void)
{
	char path[256];
	struct stat sb;

	path_of(path, sizeof(path), "state.json");
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_ino;
}

/*
 * A run with nothing to do writes nothing: saving a state that did not change since it was
 * loaded leaves the file alone (putting a record as it is, seeing a plan in the state it was
 * in, noting a known BSI change nothing). Anything that changes it is written.
 */
static void
test_unchanged_state_not_written(void **unused)
{
	struct state st;
	struct state_plan p;
	char *before, *after;
	ino_t ino;
	time_t saved;

	(void)unused;
	save_small_state();
	ino = state_inode();
	before = slurp("state.json", NULL);
	load(&st);
	saved = st.saved_at;
	p = *state_find_plan(&st, "plan-2");
	assert_int_equal(state_put_plan(&st, &p), 0);
	p.last_reason = (char[]){"NOT_SUPERVISED"};  /* the same text, another pointer */
	assert_int_equal(state_put_plan(&st, &p), 0);
	assert_int_equal(state_plan_seen(&st, "plan-2", "PlanFailed", "NOT_SUPERVISED", T0 + 99),
	    0);
	assert_int_equal(state_find_plan(&st, "plan-2")->last_state_at, T0 + 5);
	assert_int_equal(state_note_bsi(&st, "macOS 26.3.1 (a) 25D771280a", T0 + 99), 0);
	assert_int_equal(state_note_ring(&st, "macs", "pilot", "macOS 26.3.1 (a) 25D771280a",
	    T0 + 99), 0);
	state_reconciled(&st);
	save(&st);
	assert_int_equal(st.saved_at, saved);
	state_release(&st);
	assert_int_equal(state_inode(), ino);
	after = slurp("state.json", NULL);
	assert_string_equal(after, before);
	free(after);

	/* a change is written */
	load(&st);
	assert_int_equal(state_plan_seen(&st, "plan-2", "PlanFailed", NULL, T0 + 99), 0);
	save(&st);
	state_release(&st);
	assert_true(state_inode() != ino);
	load(&st);
	assert_null(state_find_plan(&st, "plan-2")->last_reason);
	assert_int_equal(state_find_plan(&st, "plan-2")->last_state_at, T0 + 5);
	ino = state_inode();

	/* so is an intent resolved, and one begun and done */
	assert_int_equal(state_intent_resolve(&st, st.intents[0].id, NULL, err, sizeof(err)),
	    STATE_OK);
	save(&st);
	state_release(&st);
	assert_true(state_inode() != ino);
	load(&st);
	assert_int_equal(st.nintents, 0);
	ino = state_inode();
	p = plan_for((char[]){"5"});
	{
		long id;

		assert_int_equal(state_begin_plans(&st, &p, 1, &id, err, sizeof(err)), STATE_OK);
		assert_int_equal(state_intent_done(&st, id, "plan-5", err, sizeof(err)), STATE_OK);
	}
	state_release(&st);  /* killed: the journal has it */
	load(&st);
	assert_non_null(state_find_plan(&st, "plan-5"));
	save(&st);  /* what the journal added is folded into the file */
	state_release(&st);
	assert_true(state_inode() != ino);
	after = slurp("journal.jsonl", NULL);
	assert_string_equal(after, "");
	free(after);
	load(&st);
	assert_non_null(state_find_plan(&st, "plan-5"));
	state_release(&st);
	free(before);
}

/*
 * Many intents in one run (a first run creates a plan per device) are found by id whatever
 * order they finish in, also when read back from the journal; intents of a file edited out of
 * order are found too, and new ones are numbered after all of them.
 */
static void
test_many_intents(void **unused)
{
	enum { N = 3000 };
	struct state st;
	struct state_plan *plans = calloc(N, sizeof(*plans));
	static char devices[N][8];
	long *ids = calloc(N, sizeof(*ids)), id;
	char *text, *edited;
	size_t len;

	(void)unused;
	assert_non_null(plans);
	assert_non_null(ids);
	load_reconciled(&st);
	for (int i = 0; i < N; i++) {
		snprintf(devices[i], sizeof(devices[i]), "%d", i);
		plans[i] = plan_for(devices[i]);
	}
	assert_int_equal(state_begin_plans(&st, plans, N, ids, err, sizeof(err)), STATE_OK);
	for (int i = N - 1; i >= 0; i -= 2) {  /* from the last, every other one */
		char pid[16];

		snprintf(pid, sizeof(pid), "plan-%d", i);
		assert_int_equal(state_intent_done(&st, ids[i], pid, err, sizeof(err)), STATE_OK);
	}
	state_release(&st);  /* killed */

	load_reconciled(&st);  /* it never saved: a first run again */
	assert_int_equal(st.nintents, N);
	assert_int_equal(st.nplans, N / 2);
	for (int i = 0; i < N; i++) {
		const struct state_intent *in = state_find_intent(&st, ids[i]);

		assert_non_null(in);
		assert_string_equal(in->plan.device_id, devices[i]);
		assert_int_equal(in->status, i % 2 ? STATE_INTENT_DONE : STATE_INTENT_OPEN);
	}
	for (int i = 0; i < N; i += 2)
		assert_int_equal(state_intent_resolve(&st, ids[i], NULL, err, sizeof(err)),
		    STATE_OK);
	assert_int_equal(state_begin_plans(&st, plans, 2, ids, err, sizeof(err)), STATE_OK);
	save(&st);
	state_release(&st);

	/* swap the two open intents in the file and give the second a far higher id */
	text = slurp("state.json", &len);
	{
		char *a = strstr(text, "\"intents\":[\n") + strlen("\"intents\":[\n");
		char *b = strchr(a, '\n') + 1;
		char *end = strstr(b, "\n]}");
		char first[2048], second[2048], idbuf[32];

		snprintf(first, sizeof(first), "%.*s", (int)(b - 2 - a), a);
		snprintf(second, sizeof(second), "%.*s", (int)(end - b), b);
		snprintf(idbuf, sizeof(idbuf), "{\"id\":%ld,", ids[1]);
		assert_non_null(strstr(second, idbuf));
		assert_non_null(edited = malloc(len + 64));
		snprintf(edited, len + 64, "%.*s{\"id\":999999,%s,\n%s\n]}\n", (int)(a - text),
		    text, second + strlen(idbuf), first);
	}
	spill("state.json", edited, strlen(edited));
	load(&st);
	assert_null(st.moved_aside);
	assert_int_equal(st.nintents, 2);
	assert_non_null(state_find_intent(&st, ids[0]));
	assert_non_null(state_find_intent(&st, 999999));
	assert_null(state_find_intent(&st, ids[1]));
	assert_int_equal(state_unfinished(&st), 2);
	assert_int_equal(state_intent_resolve(&st, ids[0], "plan-a", err, sizeof(err)), STATE_OK);
	assert_int_equal(state_intent_resolve(&st, 999999, "plan-b", err, sizeof(err)), STATE_OK);
	assert_int_equal(state_begin_plans(&st, plans, 1, &id, err, sizeof(err)), STATE_OK);
	assert_true(id > 999999);
	state_release(&st);
	free(edited);
	free(text);
	free(plans);
	free(ids);
}

/* Times at the ends of the range and on leap days come back to the second. */
static void
test_times_round_trip(void **unused)
{
	static const time_t times[] = {
		0, 1, 86399, 951782400 /* 2000-02-29 */, 951868799, 4107542399 /* 2100-02-28 */,
		4107542400 /* 2100-03-01 */, 1709164800 /* 2024-02-29 */, 253402300799,
	};
	static const char *const texts[] = {
		"1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z", "1970-01-01T23:59:59Z",
		"2000-02-29T00:00:00Z", "2000-02-29T23:59:59Z", "2100-02-28T23:59:59Z",
		"2100-03-01T00:00:00Z", "2024-02-29T00:00:00Z", "9999-12-31T23:59:59Z",
	};
	enum { N = sizeof(times) / sizeof(times[0]) };
	struct state st;
	char ids[N][16], *text;

	(void)unused;
	load_reconciled(&st);
	for (size_t i = 0; i < N; i++) {
		struct state_plan p = plan_for((char[]){"1"});

		snprintf(ids[i], sizeof(ids[i]), "plan-%zu", i);
		p.id = ids[i];
		p.created_at = times[i];
		assert_int_equal(state_put_plan(&st, &p), 0);
	}
	save(&st);
	state_release(&st);
	text = slurp("state.json", NULL);
	for (size_t i = 0; i < N; i++) {
		char want[64];

		snprintf(want, sizeof(want), "\"created_at\":\"%s\"", texts[i]);
		if (strstr(text, want) == NULL)
			fail_msg("%ld is not written as %s", (long)times[i], texts[i]);
	}
	free(text);
	load(&st);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(state_find_plan(&st, ids[i])->created_at, times[i]);
	state_release(&st);
}

/* ---- the lock ---- */

/* A child process cannot take a lock the parent holds, and is told who holds it. */
static void
test_lock_excludes_other_process(void **unused)
{
	struct state_lock lk, again;
	char sub[128], want[64];
	struct stat sb;
	pid_t child;
	int status;

	(void)unused;
	snprintf(sub, sizeof(sub), "%s/tenants/a", dir);
	assert_int_equal(state_lock(sub, &lk, err, sizeof(err)), STATE_OK);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct state_lock c;
		char e[512];

		if (state_lock(sub, &c, e, sizeof(e)) != STATE_LOCKED)
			_exit(1);
		if (strstr(e, want) == NULL || strstr(e, "bridge.lock") == NULL)
			_exit(2);
		_exit(c.fd == -1 ? 0 : 3);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* a second descriptor in this process is a second holder too */
	assert_int_equal(state_lock(sub, &again, err, sizeof(err)), STATE_LOCKED);
	state_unlock(&lk);
	state_unlock(&lk);  /* harmless twice */
	assert_int_equal(state_lock(sub, &again, err, sizeof(err)), STATE_OK);
	state_unlock(&again);
}

/* A run killed with SIGKILL while holding the lock leaves no stale lock behind. */
static void
test_lock_released_by_kill(void **unused)
{
	struct state_lock lk;
	char want[64], byte;
	int fds[2], status;
	pid_t child;

	(void)unused;
	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct state_lock c;
		char e[512];

		close(fds[0]);
		if (state_lock(dir, &c, e, sizeof(e)) != STATE_OK)
			_exit(1);
		if (write(fds[1], "L", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &byte, 1), 1);
	close(fds[0]);

	snprintf(want, sizeof(want), "(pid %ld)", (long)child);
	assert_int_equal(state_lock(dir, &lk, err, sizeof(err)), STATE_LOCKED);
	assert_non_null(strstr(err, want));

	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(state_lock(dir, &lk, err, sizeof(err)), STATE_OK);
	state_unlock(&lk);
}

/* ---- the journal ---- */

/* A begun intent without its outcome survives a crash; resolving it allows creates again. */
static void
test_unfinished_intent_after_crash(void **unused)
{
	struct state st;
	struct state_plan plans[3] = {plan_for((char[]){"1"}), plan_for((char[]){"2"}),
	    plan_for((char[]){"3"})};
	struct state_plan more = plan_for((char[]){"4"});
	long ids[3], id;
	const struct state_intent *in;

	(void)unused;
	load_reconciled(&st);
	assert_int_equal(state_begin_plans(&st, plans, 3, ids, err, sizeof(err)), STATE_OK);
	assert_true(ids[0] < ids[1] && ids[1] < ids[2]);
	assert_int_equal(state_intent_done(&st, ids[0], "plan-1", err, sizeof(err)), STATE_OK);
	assert_int_equal(state_intent_failed(&st, ids[2], "NOT_SUPERVISED", err, sizeof(err)),
	    STATE_OK);
	assert_int_equal(state_intent_done(&st, ids[0], "again", err, sizeof(err)), STATE_ERROR);
	/* killed here: no save; the journal alone tells the story. (No state file either, so
	   the next run must also reconcile; pretend it did, to look at the intents.) */
	state_release(&st);

	load(&st);
	assert_true(st.needs_reconcile);
	state_reconciled(&st);
	assert_int_equal(st.nplans, 1);
	assert_string_equal(state_find_plan(&st, "plan-1")->device_id, "1");
	assert_int_equal(state_unfinished(&st), 1);
	assert_non_null(in = state_find_intent(&st, ids[1]));
	assert_true(state_intent_unfinished(&st, in));
	assert_string_equal(in->plan.device_id, "2");
	assert_int_equal(state_find_intent(&st, ids[2])->status, STATE_INTENT_FAILED);
	assert_non_null(strstr(logbuf, "interrupted"));

	/* no create until the unfinished one is looked up */
	assert_int_equal(state_begin_plans(&st, &more, 1, &id, err, sizeof(err)), STATE_ERROR);
	assert_non_null(strstr(err, "looked up"));
	assert_int_equal(state_intent_resolve(&st, ids[1], "plan-2", err, sizeof(err)), STATE_OK);
	assert_null(state_create_blocked(&st));
	assert_int_equal(state_find_plan(&st, "plan-2")->created_at, T0);
	assert_int_equal(state_begin_plans(&st, &more, 1, &id, err, sizeof(err)), STATE_OK);
	assert_true(id > ids[2]);
	/* an intent of this run that stays open (a timeout) does not block others */
	assert_null(state_create_blocked(&st));
	assert_false(state_intent_unfinished(&st, state_find_intent(&st, id)));
	state_release(&st);

	/* not found in Jamf: nothing was created */
	load(&st);
	state_reconciled(&st);
	assert_int_equal(state_unfinished(&st), 1);
	assert_int_equal(state_intent_resolve(&st, id, NULL, err, sizeof(err)), STATE_OK);
	assert_int_equal(st.nplans, 2);
	assert_null(state_find_plan(&st, "4"));
	save(&st);
	state_release(&st);
	load(&st);
	assert_int_equal(st.nintents, 0);
	assert_int_equal(st.nplans, 2);
	state_release(&st);
}

/* Done intents are folded into the file on save and the journal is emptied. */
static void
test_done_intents_folded_on_save(void **unused)
{
	struct state st;
	struct state_plan p = plan_for((char[]){"7"});
	struct state_group g = {.name = (char[]){"bridge: macs pilot"}, .created_at = T0};
	struct state_blueprint b = {
		.name = (char[]){"bridge: macs pilot macOS 26.3.1 (a) 25D771280a"},
		.policy = (char[]){"macs"}, .ring = (char[]){"pilot"}, .platform = (char[]){"macOS"},
		.version = (char[]){"26.3.1"}, .build = (char[]){"25D771280a"},
		.deadline = (char[]){"2026-11-25T18:00:00"}, .created_at = T0,
	};
	long pid, gid, bid, did;
	size_t len;
	char *journal, *text;

	(void)unused;
	load_reconciled(&st);
	assert_int_equal(state_begin_plans(&st, &p, 1, &pid, err, sizeof(err)), STATE_OK);
	assert_int_equal(state_intent_done(&st, pid, "plan-7", err, sizeof(err)), STATE_OK);
	assert_int_equal(state_begin_group(&st, &g, &gid, err, sizeof(err)), STATE_OK);
	assert_int_equal(state_intent_done(&st, gid, "17", err, sizeof(err)), STATE_OK);
	b.group_id = (char[]){"17"};
	assert_int_equal(state_begin_blueprint(&st, &b, &bid, err, sizeof(err)), STATE_OK);
	assert_int_equal(state_intent_done(&st, bid, "bp-9", err, sizeof(err)), STATE_OK);
	assert_false(state_find_blueprint(&st, "bp-9")->deployed);

	/* a deploy needs the blueprint's id */
	assert_int_equal(state_begin_deploy(&st, &b, &did, err, sizeof(err)), STATE_ERROR);
	assert_non_null(strstr(err, "id"));
	b.id = (char[]){"bp-9"};
	assert_int_equal(state_begin_deploy(&st, &b, &did, err, sizeof(err)), STATE_OK);
	assert_int_equal(state_intent_done(&st, did, "bp-9", err, sizeof(err)), STATE_OK);
	assert_true(state_find_blueprint(&st, "bp-9")->deployed);
	assert_int_equal(st.nblueprints, 1);

	journal = slurp("journal.jsonl", &len);
	assert_non_null(strstr(journal, "\"op\":\"begin\""));
	assert_non_null(strstr(journal, "\"op\":\"done\""));
	free(journal);
	save(&st);
	assert_int_equal(st.nintents, 0);
	journal = slurp("journal.jsonl", &len);
	assert_int_equal(len, 0);
	free(journal);
	text = slurp("state.json", NULL);
	assert_non_null(strstr(text, "\n\"intents\":[\n]}\n"));  /* none left open */
	free(text);
	state_release(&st);

	load(&st);
	assert_int_equal(st.nintents, 0);
	assert_string_equal(state_find_plan(&st, "plan-7")->device_id, "7");
	assert_string_equal(state_find_group(&st, "17")->name, "bridge: macs pilot");
	assert_true(state_find_blueprint(&st, "bp-9")->deployed);
	assert_string_equal(state_find_blueprint(&st, "bp-9")->group_id, "17");
	state_release(&st);
}

/* Outcome lines held for a batch are written together, in order, and a load reads them. */
static void
test_held_outcomes_written_together(void **unused)
{
	struct state st;
	struct state_plan p[3] = {plan_for((char[]){"1"}), plan_for((char[]){"2"}),
		plan_for((char[]){"3"})};
	struct state_plan later = plan_for((char[]){"4"});
	long ids[3], id4;
	size_t before, len;
	char *journal;

	(void)unused;
	load_reconciled(&st);
	assert_int_equal(state_begin_plans(&st, p, 3, ids, err, sizeof(err)), STATE_OK);
	free(slurp("journal.jsonl", &before));
	state_outcomes_hold(&st);
	assert_int_equal(state_intent_done(&st, ids[0], "plan-1", err, sizeof(err)), STATE_OK);
	assert_int_equal(state_intent_failed(&st, ids[1], "refused", err, sizeof(err)), STATE_OK);
	free(slurp("journal.jsonl", &len));
	assert_int_equal(len, before);  /* held: nothing written yet */
	assert_non_null(state_find_plan(&st, "plan-1"));  /* the state itself has it already */

	/* another journal write sends the held lines first, so the order stays */
	assert_int_equal(state_begin_plans(&st, &later, 1, &id4, err, sizeof(err)), STATE_OK);
	journal = slurp("journal.jsonl", &len);
	assert_true(strstr(journal, "\"created_id\":\"plan-1\"") < strstr(journal, "refused"));
	assert_true(strstr(journal, "refused") < strrchr(journal, '{'));
	assert_null(strstr(strrchr(journal, '{'), "\"done\""));
	free(journal);

	state_outcomes_hold(&st);
	assert_int_equal(state_intent_done(&st, ids[2], "plan-3", err, sizeof(err)), STATE_OK);
	state_outcomes_write(&st);
	journal = slurp("journal.jsonl", &len);
	assert_non_null(strstr(journal, "\"created_id\":\"plan-3\""));
	free(journal);
	state_outcomes_hold(&st);
	assert_int_equal(state_intent_done(&st, id4, "plan-4", err, sizeof(err)), STATE_OK);
	state_release(&st);  /* a release writes what is held */

	load(&st);  /* from the journal alone: nothing was saved */
	assert_string_equal(state_find_plan(&st, "plan-1")->device_id, "1");
	assert_null(state_find_plan(&st, "plan-2"));
	assert_string_equal(state_find_plan(&st, "plan-3")->device_id, "3");
	assert_string_equal(state_find_plan(&st, "plan-4")->device_id, "4");
	assert_int_equal(state_unfinished(&st), 0);
	state_release(&st);
}

/* A line cut short by a kill is dropped with a warning; the lines before it count. */
static void
test_torn_last_line_tolerated(void **unused)
{
	struct state st;
	struct state_plan p = plan_for((char[]){"5"});
	long ids[2];
	char *journal, *cut;
	size_t len;

	(void)unused;
	load_reconciled(&st);
	save(&st);
	assert_int_equal(state_begin_plans(&st, &p, 1, &ids[0], err, sizeof(err)), STATE_OK);
	assert_int_equal(state_begin_plans(&st, &p, 1, &ids[1], err, sizeof(err)), STATE_OK);
	state_release(&st);

	/* the second begin line loses its end, as if killed inside write(2) */
	journal = slurp("journal.jsonl", &len);
	cut = strchr(journal, '\n') + 1;
	len = (size_t)(cut - journal) + strlen(cut) / 2;
	spill("journal.jsonl", journal, len);
	free(journal);

	load(&st);
	assert_false(st.needs_reconcile);
	assert_non_null(strstr(logbuf, "torn last line"));
	assert_int_equal(st.nintents, 1);
	assert_true(state_intent_unfinished(&st, state_find_intent(&st, ids[0])));
	assert_null(state_find_intent(&st, ids[1]));
	/* the torn part is cut off, so new lines start on a line of their own */
	assert_int_equal(state_intent_resolve(&st, ids[0], NULL, err, sizeof(err)), STATE_OK);
	state_release(&st);
	journal = slurp("journal.jsonl", &len);
	assert_int_equal(len > 0 ? journal[len - 1] : 0, '\n');
	assert_null(strstr(journal, "}{"));
	free(journal);
	load(&st);
	assert_false(st.needs_reconcile);
	assert_int_equal(state_unfinished(&st), 0);
	state_release(&st);
}

/*
 * Killed after state.json was replaced but before the journal was emptied: reading the same
 * journal again neither loses nor repeats anything, and ids keep increasing.
 */
static void
test_crash_between_save_and_truncate(void **unused)
{
	struct state st;
	struct state_plan a = plan_for((char[]){"1"}), b = plan_for((char[]){"2"});
	long ida, idb, idc;
	char *journal;
	size_t len;

	(void)unused;
	load_reconciled(&st);
	assert_int_equal(state_begin_plans(&st, &a, 1, &ida, err, sizeof(err)), STATE_OK);
	assert_int_equal(state_intent_done(&st, ida, "plan-a", err, sizeof(err)), STATE_OK);
	assert_int_equal(state_begin_plans(&st, &b, 1, &idb, err, sizeof(err)), STATE_OK);
	journal = slurp("journal.jsonl", &len);
	save(&st);
	state_release(&st);
	spill("journal.jsonl", journal, len);  /* the truncate never happened */
	free(journal);

	for (int run = 0; run < 2; run++) {
		load(&st);
		assert_false(st.needs_reconcile);
		assert_int_equal(st.nplans, 1);
		assert_int_equal(st.nintents, 1);
		assert_int_equal(st.intents[0].id, idb);
		assert_true(state_intent_unfinished(&st, &st.intents[0]));
		assert_true(st.first_new_id > idb);
		state_release(&st);
	}

	/* the watch updated plan-a since; a replay must not undo that either */
	load(&st);
	assert_int_equal(state_plan_seen(&st, "plan-a", "PlanCompleted", NULL, T0 + 100), 0);
	assert_int_equal(state_intent_resolve(&st, idb, "plan-b", err, sizeof(err)), STATE_OK);
	assert_int_equal(state_begin_plans(&st, &a, 1, &idc, err, sizeof(err)), STATE_OK);
	assert_true(idc > idb);
	journal = slurp("journal.jsonl", &len);
	save(&st);
	state_release(&st);
	spill("journal.jsonl", journal, len);
	free(journal);

	load(&st);
	assert_int_equal(st.nplans, 2);
	assert_string_equal(state_find_plan(&st, "plan-a")->last_state, "PlanCompleted");
	assert_int_equal(state_find_plan(&st, "plan-a")->last_state_at, T0 + 100);
	assert_string_equal(state_find_plan(&st, "plan-b")->device_id, "2");
	assert_int_equal(st.nintents, 1);
	assert_int_equal(st.intents[0].id, idc);
	state_release(&st);
}

/* A line in the middle that does not read is not a torn write: reconcile, keep a copy. */
static void
test_bad_journal_line_needs_reconcile(void **unused)
{
	struct state st;
	struct state_plan p = plan_for((char[]){"9"});
	long id;
	char *journal, *mangled, aside[256];
	size_t len;

	(void)unused;
	load_reconciled(&st);
	save(&st);
	assert_int_equal(state_begin_plans(&st, &p, 1, &id, err, sizeof(err)), STATE_OK);
	assert_int_equal(state_intent_done(&st, id, "plan-9", err, sizeof(err)), STATE_OK);
	state_release(&st);

	journal = slurp("journal.jsonl", &len);
	assert_non_null(mangled = malloc(len + 32));
	snprintf(mangled, len + 32, "{\"seq\": oops\n%s", journal);
	spill("journal.jsonl", mangled, strlen(mangled));

	load(&st);
	assert_true(st.needs_reconcile);
	assert_non_null(strstr(logbuf, "do not read"));
	assert_string_equal(state_find_plan(&st, "plan-9")->device_id, "9");  /* good lines count */
	find_file("journal.jsonl.corrupt-", aside, sizeof(aside));
	free(journal);
	journal = slurp(aside, &len);
	assert_string_equal(journal, mangled);
	save(&st);
	state_release(&st);
	load(&st);
	assert_true(st.needs_reconcile);  /* until the caller reconciled */
	state_release(&st);
	free(journal);
	free(mangled);
}

/* Records that could not be read back are refused before anything is written. */
static void
test_invalid_records_refused(void **unused)
{
	struct state st;
	struct state_plan p = plan_for((char[]){"1"}), bad = p;
	char longname[STATE_MAX_FIELD_BYTES + 2];
	long id;
	size_t len;
	char *journal;

	(void)unused;
	load_reconciled(&st);
	bad.device_id = NULL;
	assert_int_equal(state_begin_plans(&st, &bad, 1, &id, err, sizeof(err)), STATE_ERROR);
	assert_non_null(strstr(err, "device_id"));
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	bad = p;
	bad.policy = longname;
	assert_int_equal(state_begin_plans(&st, &bad, 1, &id, err, sizeof(err)), STATE_ERROR);
	bad = p;
	bad.created_at = -5;
	assert_int_equal(state_begin_plans(&st, &bad, 1, &id, err, sizeof(err)), STATE_ERROR);
	journal = slurp("journal.jsonl", &len);
	assert_int_equal(len, 0);
	free(journal);

	assert_int_equal(state_put_plan(&st, &p), -1);  /* no id */
	p.id = (char[]){""};
	assert_int_equal(state_put_plan(&st, &p), -1);
	assert_int_equal(state_note_bsi(&st, "", T0), -1);
	assert_int_equal(state_plan_seen(&st, "nope", "PlanCompleted", NULL, T0), -1);
	assert_int_equal(st.nplans, 0);
	assert_int_equal(state_intent_done(&st, 12345, "x", err, sizeof(err)), STATE_ERROR);
	state_release(&st);
}

/* A plan adopted from Jamf, whose policy and ring bridge does not know, is kept as such. */
static void
test_adopted_plan_with_empty_fields(void **unused)
{
	struct state st;
	struct state_plan p = plan_for((char[]){"8"});

	(void)unused;
	load_reconciled(&st);
	p.id = (char[]){"adopted"};
	p.policy = p.ring = p.deadline = (char[]){""};
	p.build = NULL;
	assert_int_equal(state_put_plan(&st, &p), 0);
	save(&st);
	state_release(&st);
	load(&st);
	assert_false(st.needs_reconcile);
	assert_string_equal(state_find_plan(&st, "adopted")->policy, "");
	assert_string_equal(state_find_plan(&st, "adopted")->deadline, "");
	state_release(&st);
}

/* Only looking (bridge plan, status) changes nothing on disk, and cannot create or save. */
static void
test_readonly_load_changes_nothing(void **unused)
{
	static const char partial[] = "{\"seq\":99,\"op\":\"be";
	struct state st, rw;
	struct state_plan p = plan_for((char[]){"3"});
	struct state_lock lk;
	char *before, *after;
	size_t blen, alen;
	long id;

	(void)unused;
	/* no state at all: nothing is created, not even the journal */
	assert_int_equal(state_load_readonly(&st, dir, err, sizeof(err)), STATE_OK);
	assert_true(st.needs_reconcile);
	assert_false(exists("journal.jsonl"));
	assert_int_equal(state_begin_plans(&st, &p, 1, &id, err, sizeof(err)), STATE_ERROR);
	state_reconciled(&st);
	assert_int_equal(state_begin_plans(&st, &p, 1, &id, err, sizeof(err)), STATE_ERROR);
	assert_non_null(strstr(err, "not loaded to be changed"));
	assert_int_equal(state_save(&st, err, sizeof(err)), STATE_ERROR);
	state_release(&st);

	/* a sync holds the lock and is half-way through writing a line */
	assert_int_equal(state_lock(dir, &lk, err, sizeof(err)), STATE_OK);
	load_reconciled(&rw);
	assert_int_equal(state_begin_plans(&rw, &p, 1, &id, err, sizeof(err)), STATE_OK);
	spill("state.json.tmp.4242", "{", 1);
	before = slurp("journal.jsonl", &blen);
	assert_non_null(after = malloc(blen + strlen(partial)));
	memcpy(after, before, blen);
	memcpy(after + blen, partial, strlen(partial));
	spill("journal.jsonl", after, blen + strlen(partial));
	free(after);

	assert_int_equal(state_load_readonly(&st, dir, err, sizeof(err)), STATE_OK);
	assert_int_equal(st.nintents, 1);
	assert_true(exists("state.json.tmp.4242"));
	after = slurp("journal.jsonl", &alen);
	assert_int_equal(alen, blen + strlen(partial));  /* the line in progress is left alone */
	assert_memory_equal(after, before, blen);
	state_release(&st);
	free(before);
	free(after);
	state_release(&rw);
	state_unlock(&lk);

	/* a corrupt file is reported, not moved */
	copy_fixture("corrupt/truncated.json", "state.json");
	assert_int_equal(state_load_readonly(&st, dir, err, sizeof(err)), STATE_OK);
	assert_true(st.needs_reconcile);
	assert_null(st.moved_aside);
	assert_true(exists("state.json"));
	assert_int_equal(count_files("state.json.corrupt-"), 0);
	assert_non_null(strstr(logbuf, "is corrupt"));
	state_release(&st);
}

/* A put replaces by id, also when given the stored record's own strings. */
static void
test_put_replaces(void **unused)
{
	struct state st;
	struct state_blueprint b = {
		.id = (char[]){"bp"}, .name = (char[]){"n"}, .policy = (char[]){"p"},
		.ring = (char[]){"r"}, .platform = (char[]){"iOS"}, .version = (char[]){"26.3.1"},
		.build = (char[]){"23D1a"}, .deadline = (char[]){"2026-11-26T09:00:00"},
		.deployed = true, .created_at = T0,
	};
	struct state_blueprint copy;

	(void)unused;
	load_reconciled(&st);
	assert_int_equal(state_put_blueprint(&st, &b), 0);
	copy = *state_find_blueprint(&st, "bp");  /* shallow: its strings are the stored ones */
	copy.build = (char[]){"23D1b"};
	copy.deployed = false;
	assert_int_equal(state_put_blueprint(&st, &copy), 0);
	assert_int_equal(st.nblueprints, 1);
	assert_string_equal(state_find_blueprint(&st, "bp")->build, "23D1b");
	assert_string_equal(state_find_blueprint(&st, "bp")->name, "n");
	assert_false(state_find_blueprint(&st, "bp")->deployed);
	/* put again and again, with its id in another buffer: nothing more is kept */
	{
		size_t kept = st.strings.bytes;

		copy.id = (char[]){"bp"};
		for (int i = 0; i < 100; i++) {
			copy.deployed = i % 2 == 0;  /* changed, every other time */
			assert_int_equal(state_put_blueprint(&st, &copy), 0);
		}
		assert_int_equal(st.strings.bytes, kept);
		assert_int_equal(st.nblueprints, 1);
	}

	assert_int_equal(state_put_plan(&st, &(struct state_plan){0}), -1);
	state_release(&st);
}

/*
 * Lines that repeat a value and lines that change it load each as written: the loader reuses
 * what the line before held (a string's copy, a time's value) only for the same text. A
 * device id, kept without interning, costs nothing more when its plan is put again.
 */
static void
test_repeated_values_load_apart(void **unused)
{
	static const struct {
		const char *device, *ring, *state;
		time_t created, seen;
	} want[] = {
		{"1", "pilot", "Waiting", T0, T0 + 10},
		{"2", "pilot", "Waiting", T0, T0 + 10},
		{"3", "broad", NULL, T0 + 1, 0},
		{"4", "broad", "Waiting", T0 + 1, T0 + 10},
		{"5", "pilot", "Failed", T0, T0 + 11},
		{"5", "pilot", NULL, T0, 0},
		{"50", "pilot", "Failed", T0 + 2, T0 + 11},
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	struct state st;

	(void)unused;
	load_reconciled(&st);
	for (size_t i = 0; i < n; i++) {
		char id[16];
		struct state_plan p = plan_for((char *)(uintptr_t)want[i].device);

		snprintf(id, sizeof(id), "plan-%zu", i);
		p.id = id;
		p.ring = (char *)(uintptr_t)want[i].ring;
		p.last_state = (char *)(uintptr_t)want[i].state;
		p.created_at = want[i].created;
		p.last_state_at = want[i].seen;
		assert_int_equal(state_put_plan(&st, &p), 0);
	}
	save(&st);
	state_release(&st);

	load(&st);
	assert_int_equal(st.nplans, n);
	for (size_t i = 0; i < n; i++) {
		const struct state_plan *p = &st.plans[i];

		assert_string_equal(p->device_id, want[i].device);
		assert_string_equal(p->ring, want[i].ring);
		if (want[i].state == NULL)
			assert_null(p->last_state);
		else
			assert_string_equal(p->last_state, want[i].state);
		assert_int_equal(p->created_at, want[i].created);
		assert_int_equal(p->last_state_at, want[i].seen);
		assert_string_equal(p->version, "26.3.1");
		/* interned: the same text is the same pointer, whichever line held it first */
		assert_ptr_equal(p->ring, st.plans[want[i].ring[0] == 'p' ? 0 : 2].ring);
	}
	{
		size_t kept = st.strings.bytes;
		struct state_plan again = st.plans[6];

		again.device_id = (char[]){"50"};  /* the same text in another buffer */
		again.last_state = NULL;
		assert_int_equal(state_put_plan(&st, &again), 0);
		assert_int_equal(st.strings.bytes, kept);
		assert_string_equal(st.plans[6].device_id, "50");
		assert_null(st.plans[6].last_state);
	}
	state_release(&st);
}

/* A plan's device and creation time. */
struct plan_at {
	const char *device;
	time_t created;
};

/* Put plan "plan-<i>" for at's device, created then, into st. */
static void
put_plan_at(struct state *st, int i, struct plan_at at)
{
	struct state_plan p = plan_for((char *)(uintptr_t)at.device);
	char id[32];

	snprintf(id, sizeof(id), "plan-%d", i);
	p.id = id;
	p.created_at = at.created;
	assert_int_equal(state_put_plan(st, &p), 0);
}

/* Plans by device: as numbers first (10 after 9), then as text, then by creation. */
static void
test_plans_by_device(void **unused)
{
	static const struct plan_at plans[5] = {
		{"10", T0}, {"9", T0 + 60}, {"abc", T0}, {"9", T0}, {"09", T0},
	};
	/* "abc" reads as 0; "09" as 9, before "9" as text */
	static const char *const want[5] = {"plan-2", "plan-4", "plan-3", "plan-1", "plan-0"};
	const struct state_plan_ref *v;
	struct state st;

	(void)unused;
	load_reconciled(&st);
	for (int i = 0; i < 5; i++)
		put_plan_at(&st, i, plans[i]);
	assert_non_null(v = state_plans_by_device(&st));
	for (int i = 0; i < 5; i++)
		assert_string_equal(v[i].p->id, want[i]);
	assert_int_equal(state_plan_refs_first(v, 5, "9"), 2);
	assert_int_equal(state_plan_refs_first(v, 5, "09"), 1);
	assert_int_equal(state_plan_refs_first(v, 5, "abc"), 0);
	assert_int_equal(state_plan_refs_first(v, 5, "10"), 4);
	assert_int_equal(state_plan_refs_first(v, 5, "11"), 5);  /* none: past the end */
	state_release(&st);
}

/*
 * The state's plans in that order are sorted once, and again after any change of its plans:
 * a plan added, one put again for another device, and a load.
 */
static void
test_state_plans_by_device(void **unused)
{
	const char *devices[] = {"30", "4", "200"}, *loaded[] = {"1", "30", "200", "500"};
	const struct state_plan_ref *by;
	struct state_plan p;
	struct state st;

	(void)unused;
	load_reconciled(&st);
	for (int i = 0; i < 3; i++)
		put_plan_at(&st, i, (struct plan_at){devices[i], T0});
	assert_non_null(by = state_plans_by_device(&st));
	assert_string_equal(by[0].p->device_id, "4");
	assert_string_equal(by[2].p->device_id, "200");
	assert_ptr_equal(state_plans_by_device(&st), by);  /* kept while nothing changed */
	assert_int_equal(state_plan_seen(&st, "plan-0", "PlanFailed", NULL, T0 + 9), 0);
	assert_ptr_equal(state_plans_by_device(&st), by);  /* a plan's Jamf state is no order */

	p = plan_for((char[]){"1"});
	p.id = (char[]){"plan-3"};
	assert_int_equal(state_put_plan(&st, &p), 0);
	assert_non_null(by = state_plans_by_device(&st));
	assert_string_equal(by[0].p->device_id, "1");
	assert_string_equal(by[0].p->id, "plan-3");

	p = *state_find_plan(&st, "plan-1");  /* device 4 moves past 200 */
	p.device_id = (char[]){"500"};
	assert_int_equal(state_put_plan(&st, &p), 0);
	assert_non_null(by = state_plans_by_device(&st));
	assert_string_equal(by[1].p->device_id, "30");
	assert_string_equal(by[3].p->device_id, "500");
	assert_string_equal(by[3].p->id, "plan-1");
	save(&st);
	state_release(&st);

	load(&st);
	assert_non_null(by = state_plans_by_device(&st));
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(by[i].p->device_id, loaded[i]);
	state_release(&st);
}

/*
 * Plans already in the order by device (as made for an inventory read by id) keep it, with
 * a device's plans by creation; one plan out of place, last, still moves to its place.
 */
static void
test_plans_in_order(void **unused)
{
	static const struct plan_at plans[5] = {
		{"2", T0}, {"2", T0 + 60}, {"9", T0}, {"10", T0}, {"3", T0},
	};
	static const char *const want[5] = {"plan-0", "plan-1", "plan-4", "plan-2", "plan-3"};
	const struct state_plan_ref *by;
	struct state st;

	(void)unused;
	load_reconciled(&st);
	for (int i = 0; i < 5; i++) {
		put_plan_at(&st, i, plans[i]);
		assert_non_null(by = state_plans_by_device(&st));
		/* the first four come in order; the fifth, device 3, goes between 2 and 9 */
		for (int k = 0; k <= i; k++)
			assert_string_equal(by[k].p->id, i < 4 ? st.plans[k].id :
			    want[k]);
	}
	state_release(&st);
}

/*
 * The crash-safety argument, exercised: a run that creates a plan per device (recording each
 * in a stand-in for Jamf) is killed after each step in turn; the next run resolves what was
 * interrupted by looking in the stand-in and finishes. Jamf must end with exactly one plan per
 * device, and the state must know each of them.
 */
#define DEVICES 3

static int steps_left;  /* the simulated run _exits when this reaches 0; < 0: never */

static void
step(void)
{
	if (steps_left >= 0 && steps_left-- == 0)
		_exit(0);
}

/* Jamf's plans, one line "device plan-id" each, in the file jamf.txt. */
static const char *
jamf_lookup(const char *device, char *buf, size_t size)
{
	char *text = slurp("jamf.txt", NULL), *line, *save = NULL;
	const char *found = NULL;

	for (line = text != NULL ? strtok_r(text, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char dev[32], id[32];

		if (sscanf(line, "%31s %31s", dev, id) == 2 && strcmp(dev, device) == 0) {
			snprintf(buf, size, "%s", id);
			found = buf;
		}
	}
	free(text);
	return found;
}

static void
jamf_create(const char *device, char *id, size_t size)
{
	char path[256], line[128];
	FILE *f;
	static int next;

	snprintf(id, size, "plan-%s-%d-%d", device, (int)getpid(), next++);
	snprintf(line, sizeof(line), "%s %s\n", device, id);
	path_of(path, sizeof(path), "jamf.txt");
	if ((f = fopen(path, "a")) == NULL || fputs(line, f) == EOF || fclose(f) != 0)
		_exit(9);
}

/* One run of a tiny enforcer; returns 0 when it finished. Never uses cmocka (may be a child). */
static int
enforcer_run(void)
{
	struct state st;
	struct state_lock lk;
	char e[512], found[64], made[64];
	int rc = 1;

	if (state_lock(dir, &lk, e, sizeof(e)) != STATE_OK)
		return 1;
	if (state_load(&st, dir, e, sizeof(e)) != STATE_OK)
		goto out;
	step();
	/* reconcile: unfinished intents by lookup; a missing state from what Jamf holds */
	for (size_t i = 0; i < st.nintents; i++) {
		const struct state_intent *in = &st.intents[i];

		if (!state_intent_unfinished(&st, in))
			continue;
		if (state_intent_resolve(&st, in->id, jamf_lookup(in->plan.device_id, found,
		    sizeof(found)), e, sizeof(e)) != STATE_OK)
			goto out;
		step();
	}
	if (st.needs_reconcile) {
		for (int d = 1; d <= DEVICES; d++) {
			char dev[8];
			struct state_plan p;

			snprintf(dev, sizeof(dev), "%d", d);
			p = plan_for(dev);
			if (jamf_lookup(dev, found, sizeof(found)) == NULL)
				continue;
			p.id = found;
			if (state_put_plan(&st, &p) == -1)
				goto out;
		}
		state_reconciled(&st);
	}
	for (int d = 1; d <= DEVICES; d++) {
		char dev[8];
		struct state_plan p;
		bool have = false;
		long id;

		snprintf(dev, sizeof(dev), "%d", d);
		for (size_t i = 0; i < st.nplans; i++)
			have |= strcmp(st.plans[i].device_id, dev) == 0;
		if (have)
			continue;
		p = plan_for(dev);
		if (state_begin_plans(&st, &p, 1, &id, e, sizeof(e)) != STATE_OK)
			goto out;
		step();
		jamf_create(dev, made, sizeof(made));
		step();
		if (state_intent_done(&st, id, made, e, sizeof(e)) != STATE_OK)
			goto out;
		step();
		if (d == 2) {
			if (state_save(&st, e, sizeof(e)) != STATE_OK)
				goto out;
			step();
		}
	}
	if (state_save(&st, e, sizeof(e)) != STATE_OK)
		goto out;
	step();
	rc = 0;
out:
	state_release(&st);
	state_unlock(&lk);
	return rc;
}

static void
test_killed_at_every_step(void **unused)
{
	int stop;

	(void)unused;
	for (stop = 0; ; stop++) {
		struct state st;
		pid_t child;
		int status;
		char *jamf;

		child = fork();
		assert_true(child >= 0);
		if (child == 0) {
			steps_left = stop;
			_exit(enforcer_run() == 0 ? 100 : 101);
		}
		assert_int_equal(waitpid(child, &status, 0), child);
		assert_true(WIFEXITED(status));
		assert_int_not_equal(WEXITSTATUS(status), 101);

		steps_left = -1;
		assert_int_equal(enforcer_run(), 0);
		assert_int_equal(enforcer_run(), 0);  /* a second run changes nothing */

		jamf = slurp("jamf.txt", NULL);
		for (int d = 1; d <= DEVICES; d++) {
			char want[16];
			const char *at = jamf;
			int n = 0;

			snprintf(want, sizeof(want), "%d plan-", d);
			while ((at = strstr(at, want)) != NULL && ++n)
				at++;
			if (n != 1)
				fail_msg("killed after step %d: device %d has %d plans", stop, d, n);
		}
		load(&st);
		assert_int_equal(st.nplans, DEVICES);
		assert_int_equal(st.nintents, 0);
		assert_false(st.needs_reconcile);
		for (size_t i = 0; i < st.nplans; i++)
			assert_non_null(strstr(jamf, st.plans[i].id));
		state_release(&st);
		free(jamf);

		/* start the next round from nothing */
		assert_int_equal(nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
		assert_int_equal(mkdir(dir, 0700), 0);
		if (WEXITSTATUS(status) == 100)
			break;  /* the child got through every step */
	}
	assert_true(stop > 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_valid_fixture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rings_before_bsi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_save_leaves_no_temp_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files_moved_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_future_format_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_state_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_layout_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_layouts_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_lines_are_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_future_format_refused_in_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_state_not_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_intents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_times_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_excludes_other_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_released_by_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished_intent_after_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_intents_folded_on_save, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_outcomes_written_together, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_last_line_tolerated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_between_save_and_truncate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_journal_line_needs_reconcile, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_invalid_records_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeated_values_load_apart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plans_by_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_plans_by_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plans_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopted_plan_with_empty_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_readonly_load_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_at_every_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_records, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
