/*
 * libFuzzer target for state.c: arbitrary bytes as state.json, read only to look (nothing on
 * disk changes), then the same JSON document as an older bridge wrote it (cJSON_Print), which
 * is read as one document: both ways must come to the same state, and a file that is not one
 * JSON document must come to nothing but a report. What loads is saved and must load again
 * the same, now read a line at a time.
 *   make build/fuzz/fuzz_state && build/fuzz/fuzz_state tests/fuzz/corpus/state
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "log.h"
#include "state.h"

#define FUZZ_MAX_INPUT_BYTES (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];       /* the state_dir, made once */
static char logbuf[8192];  /* what the last load logged */

/* Replace state_dir's files with state.json holding len bytes of text. */
static void
put_file(const void *text, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	f = fopen(path, "wb");
	assert(f != NULL);
	assert(fwrite(text, 1, len, f) == len);
	assert(fclose(f) == 0);
}

/* Load state_dir into st (to change it, or only to look); whether it was corrupt. */
static bool
load(struct state *st, bool readonly, enum state_status *rc)
{
	char err[512];
	FILE *log = fmemopen(logbuf, sizeof(logbuf), "w");

	assert(log != NULL);
	memset(logbuf, 0, sizeof(logbuf));
	log_set_stream(log);
	*rc = readonly ? state_load_readonly(st, dir, err, sizeof(err)) :
	    state_load(st, dir, err, sizeof(err));
	log_set_stream(NULL);
	fclose(log);
	return strstr(logbuf, "is corrupt") != NULL;
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
same_plan(const struct state_plan *a, const struct state_plan *b)
{
	assert(same_str(a->id, b->id) && same_str(a->device_id, b->device_id));
	assert(same_str(a->policy, b->policy) && same_str(a->ring, b->ring));
	assert(same_str(a->platform, b->platform) && same_str(a->version, b->version));
	assert(same_str(a->build, b->build) && same_str(a->deadline, b->deadline));
	assert(a->created_at == b->created_at && a->last_state_at == b->last_state_at);
	assert(same_str(a->last_state, b->last_state) && same_str(a->last_reason, b->last_reason));
}

static void
same_blueprint(const struct state_blueprint *a, const struct state_blueprint *b)
{
	assert(same_str(a->id, b->id) && same_str(a->name, b->name));
	assert(same_str(a->policy, b->policy) && same_str(a->ring, b->ring));
	assert(same_str(a->platform, b->platform) && same_str(a->version, b->version));
	assert(same_str(a->build, b->build) && same_str(a->deadline, b->deadline));
	assert(same_str(a->group_id, b->group_id));
	assert(same_str(a->group_platform_id, b->group_platform_id));
	assert(a->deployed == b->deployed && a->created_at == b->created_at);
	assert(same_str(a->last_state, b->last_state));
}

static void
same_group(const struct state_group *a, const struct state_group *b)
{
	assert(same_str(a->id, b->id) && same_str(a->name, b->name));
	assert(a->created_at == b->created_at && same_str(a->devices, b->devices));
}

/* a and b hold the same records and intents (saved_at aside when a was saved since). */
static void
same_state(const struct state *a, const struct state *b, bool saved)
{
	assert(a->needs_reconcile == b->needs_reconcile);
	assert(saved || a->saved_at == b->saved_at);
	assert(a->nbsis == b->nbsis && a->nrings == b->nrings && a->nplans == b->nplans);
	assert(a->nblueprints == b->nblueprints && a->ngroups == b->ngroups);
	assert(a->nintents == b->nintents);
	for (size_t i = 0; i < a->nbsis; i++)
		assert(same_str(a->bsis[i].bsi, b->bsis[i].bsi) &&
		    a->bsis[i].first_seen == b->bsis[i].first_seen);
	for (size_t i = 0; i < a->nrings; i++)
		assert(same_str(a->rings[i].policy, b->rings[i].policy) &&
		    same_str(a->rings[i].ring, b->rings[i].ring) &&
		    same_str(a->rings[i].bsi, b->rings[i].bsi) &&
		    a->rings[i].started_at == b->rings[i].started_at);
	for (size_t i = 0; i < a->nplans; i++)
		same_plan(&a->plans[i], &b->plans[i]);
	for (size_t i = 0; i < a->nblueprints; i++)
		same_blueprint(&a->blueprints[i], &b->blueprints[i]);
	for (size_t i = 0; i < a->ngroups; i++)
		same_group(&a->groups[i], &b->groups[i]);
	for (size_t i = 0; i < a->nintents; i++) {
		const struct state_intent *x = &a->intents[i], *y = &b->intents[i];

		assert(x->id == y->id && x->kind == y->kind && x->status == y->status);
		assert(x->begun_at == y->begun_at);
		same_plan(&x->plan, &y->plan);
		same_blueprint(&x->blueprint, &y->blueprint);
		same_group(&x->group, &y->group);
	}
}

/* Remove the state_dir and what a load or save left in it (at exit). */
static void
remove_dir(void)
{
	static const char *const names[] = {"state.json", "journal.jsonl", "bridge.lock"};
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state lines, whole, again;
	enum state_status rc, rc_whole;
	const char *end = NULL;
	bool corrupt, corrupt_whole;
	cJSON *doc;
	char *old;

	if (dir[0] == '\0') {
		/* on tmpfs where there is one: a save fsyncs */
		snprintf(dir, sizeof(dir), "%s/fuzz-state-XXXXXX",
		    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		assert(mkdtemp(dir) != NULL);
		atexit(remove_dir);
		log_init(LOG_LEVEL_WARN, false);
	}
	if (size > FUZZ_MAX_INPUT_BYTES)
		size = FUZZ_MAX_INPUT_BYTES;
	put_file(data, size);
	corrupt = load(&lines, true, &rc);

	/* the same document, as the bridge before a record a line wrote it */
	doc = cJSON_ParseWithLengthOpts((const char *)data, size, &end, false);
	while (doc != NULL && end < (const char *)data + size && strchr(" \t\r\n", *end) != NULL)
		end++;
	if (doc == NULL || !cJSON_IsObject(doc) || end != (const char *)data + size) {
		/* not one JSON object: a report, and nothing of it */
		assert(rc == STATE_OK && corrupt && lines.needs_reconcile && lines.nplans == 0);
		cJSON_Delete(doc);
		state_release(&lines);
		return 0;
	}
	assert((old = cJSON_Print(doc)) != NULL);
	cJSON_Delete(doc);
	put_file(old, strlen(old));
	free(old);
	corrupt_whole = load(&whole, true, &rc_whole);
	assert(rc == rc_whole && corrupt == corrupt_whole);
	if (rc == STATE_OK)
		same_state(&lines, &whole, false);
	state_release(&whole);

	/* what loads is saved a record a line and loads again the same */
	if (rc == STATE_OK && !corrupt) {
		put_file(data, size);
		assert(!load(&again, false, &rc) && rc == STATE_OK);
		/* a change, so that it is written */
		if (state_find_bsi(&again, "fuzz") == NULL && state_note_bsi(&again, "fuzz", 1) == 0) {
			char err[512];

			assert(state_save(&again, err, sizeof(err)) == STATE_OK);
			state_release(&again);
			assert(!load(&again, true, &rc) && rc == STATE_OK);
			assert(again.nbsis == lines.nbsis + 1);
			again.nbsis--;  /* the BSI noted is the last */
			same_state(&again, &lines, true);
			again.nbsis++;
		}
		state_release(&again);
	}
	state_release(&lines);
	return 0;
}
