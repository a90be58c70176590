/*
 * The state of one tenant, in its state_dir: the lock, the state file and the intent journal.
 *
 * bridge.lock: flock(2)ed for the whole run and holding the runner's pid ("4242\n"). The
 * kernel drops the lock when the process ends, however it ends, so there is never a stale lock.
 *
 * state.json: replaced as a whole on each save (temp file, fsync, rename, fsync of the folder,
 * as fileio_write_atomic() does, but written as it goes), one record a line, so that it is
 * written and read a line at a time, never as one tree (100,000 plans make a 30 MB file):
 *
 *   {"format":1,"bridge":"0.1.0","saved_at":"2026-11-20T08:00:00Z",…,"journal_folded":41,
 *   "bsis":[
 *   {"bsi":…,"first_seen":…},
 *   {"bsi":…,"first_seen":…}
 *   ],
 *   "rings":[                    {"policy","ring","bsi","started_at"}
 *   ],
 *   "plans":[ … ], "blueprints":[ … ], "groups":[ … ]   (members named as in state.h)
 *   "intents":[
 *   {"id":42,"kind":"plan","begun_at":…,"plan":{… no "id" yet}}
 *   ]}
 *
 * It is one JSON document all the same, with the members of format 1, so an older bridge
 * reads it and a file in any other layout (an older bridge's, one reformatted by jq or by
 * hand; tests/fixtures/state/valid.json shows every field) is read as one document instead.
 * Times are RFC 3339 UTC; absent optional values are null. Every member is checked for type
 * and length on reading; a file that fails any check is corrupt as a whole (a record skipped
 * could be a plan created again), whichever way it was read. Members this bridge does not
 * know are ignored. The records' strings live in a string table (strtab.h), each once.
 *
 * journal.jsonl: one JSON object a line, appended with write(2) and numbered by "seq":
 *
 *   {"seq":42,"op":"begin","id":42,"kind":"plan","begun_at":"…","plan":{"device_id":"7",…}}
 *   {"seq":43,"op":"done","id":42,"created_id":"a1b2c3"}
 *   {"seq":44,"op":"failed","id":42,"reason":"…"}
 *
 * An intent's id is the seq of its begin line. "journal_folded" in state.json is the last seq
 * the file includes, so reading the journal again never applies a line twice. A write that
 * fails half-way is cut back off, so only a kill can leave a torn line, and only the last.
 * Only a run holding the lock changes these files; state_load_readonly() only reads them.
 *
 * Why a kill at any moment never leads to a duplicate, step by step:
 *  1. Killed before a begin line is complete: begin did not return, no request was sent; the
 *     torn line is dropped on the next load, which decides afresh.
 *  2. Killed after begin's fsync, before or after the request reached Jamf, before the done
 *     line: the next run finds the intent open, and may not create anything until the caller
 *     looked the object up in Jamf and resolved it (found: recorded; not found: failed).
 *  3. Killed after the done line: the next load replays begin and done, so the record is
 *     there. Done lines are not fsynced: the kernel keeps them across a kill, and one lost in a
 *     power cut leaves case 2 (a lookup), never a duplicate. The next fsync flushes them too.
 *  4. Killed while saving, before the rename: the old state.json and the whole journal are
 *     read again (the leftover temp file is removed). After the rename but before the journal
 *     is emptied: lines up to journal_folded are skipped, the rest applied.
 *  5. A corrupt state.json is moved aside; with no file, needs_reconcile is set, and stays set
 *     (saved with the file) until the caller has rebuilt the records from Jamf. A journal line
 *     that is not the torn last one and does not read sets needs_reconcile too.
 *  6. A save with nothing changed since the load writes nothing: every journal line past
 *     journal_folded, and every create, changes the state, so the file holds all the journal
 *     does and emptying the journal loses nothing.
 */
/* sync_file_range(2): Linux, with _GNU_SOURCE (see writer_flush()) */
#define _GNU_SOURCE
#include "state.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "hash.h"
#include "isotime.h"
#include "json.h"
#include "json_scan.h"
#include "log.h"

#define STATE_FILE "state.json"
#define JOURNAL_FILE "journal.jsonl"
#define LOCK_FILE "bridge.lock"
#define TEMP_PREFIX STATE_FILE ".tmp."   /* the temp files of a save */

/*
 * The longest line of state.json read a line at a time; a longer one is not in the layout
 * bridge writes. Each of its records has at most 16 members, strings of at most
 * STATE_MAX_FIELD_BYTES that JSON writes in at most 6 bytes each ("\u001f").
 */
#define STATE_MAX_LINE_BYTES (128 * 1024)
_Static_assert(STATE_MAX_LINE_BYTES >= 16 * (6 * STATE_MAX_FIELD_BYTES + 64),
    "a record of the longest strings fits in a line");
#define WRITE_BUF_BYTES (2 * STATE_MAX_LINE_BYTES)  /* state.json is written in such pieces */
#define WRITEBACK_BYTES (2 * 1024 * 1024)  /* and sent on to the disk in such (writer_flush()) */

/*
 * Each record struct is described by a table of its members, which reading, writing, checking,
 * copying and comparing all follow. Every member must be in its table, or it is lost on save.
 */
enum field_type {
	FIELD_ID,          /* string, not empty; absent in an intent before Jamf answered */
	FIELD_STRING,      /* string (may be empty) */
	FIELD_STRING_OPT,  /* string or null */
	FIELD_TIME,        /* RFC 3339 UTC */
	FIELD_TIME_OPT,    /* RFC 3339 UTC or null (0) */
	FIELD_BOOL,
};

struct field {
	const char *name;
	enum field_type type;
	size_t offset;
	bool unshared;     /* a string few records share (a device id): kept, not interned */
	const char *key;   /* "name": as state.json writes it, and its length */
	size_t keylen;
};

#define FIELD_KEY(m) "\"" #m "\":", sizeof("\"" #m "\":") - 1
#define FIELD(t, s, m) {#m, t, offsetof(struct s, m), false, FIELD_KEY(m)}
#define FIELD_UNSHARED(t, s, m) {#m, t, offsetof(struct s, m), true, FIELD_KEY(m)}

static const struct field bsi_fields[] = {
	FIELD(FIELD_STRING, state_bsi, bsi),
	FIELD(FIELD_TIME, state_bsi, first_seen),
	{NULL, 0, 0, false, NULL, 0},
};

static const struct field ring_fields[] = {
	FIELD(FIELD_STRING, state_ring, policy),
	FIELD(FIELD_STRING, state_ring, ring),
	FIELD(FIELD_STRING_OPT, state_ring, bsi),  /* null in files of bridge 0.1 before rings
	                                             were kept per BSI: never matched */
	FIELD(FIELD_TIME, state_ring, started_at),
	{NULL, 0, 0, false, NULL, 0},
};

static const struct field plan_fields[] = {
	FIELD(FIELD_ID, state_plan, id),
	FIELD_UNSHARED(FIELD_STRING, state_plan, device_id),
	FIELD(FIELD_STRING, state_plan, policy),
	FIELD(FIELD_STRING, state_plan, ring),
	FIELD(FIELD_STRING, state_plan, platform),
	FIELD(FIELD_STRING, state_plan, version),
	FIELD(FIELD_STRING_OPT, state_plan, build),
	FIELD(FIELD_STRING, state_plan, deadline),
	FIELD(FIELD_TIME, state_plan, created_at),
	FIELD(FIELD_STRING_OPT, state_plan, last_state),
	FIELD(FIELD_TIME_OPT, state_plan, last_state_at),
	FIELD(FIELD_STRING_OPT, state_plan, last_reason),
	{NULL, 0, 0, false, NULL, 0},
};

static const struct field blueprint_fields[] = {
	FIELD(FIELD_ID, state_blueprint, id),
	FIELD(FIELD_STRING, state_blueprint, name),
	FIELD(FIELD_STRING, state_blueprint, policy),
	FIELD(FIELD_STRING, state_blueprint, ring),
	FIELD(FIELD_STRING, state_blueprint, platform),
	FIELD(FIELD_STRING, state_blueprint, version),
	FIELD(FIELD_STRING_OPT, state_blueprint, build),
	FIELD(FIELD_STRING, state_blueprint, deadline),
	FIELD(FIELD_STRING_OPT, state_blueprint, group_id),
	FIELD(FIELD_STRING_OPT, state_blueprint, group_platform_id),
	FIELD(FIELD_BOOL, state_blueprint, deployed),
	FIELD(FIELD_TIME, state_blueprint, created_at),
	FIELD(FIELD_STRING_OPT, state_blueprint, last_state),
	{NULL, 0, 0, false, NULL, 0},
};

static const struct field group_fields[] = {
	FIELD(FIELD_ID, state_group, id),
	FIELD(FIELD_STRING, state_group, name),
	FIELD(FIELD_TIME, state_group, created_at),
	FIELD(FIELD_STRING_OPT, state_group, devices),
	{NULL, 0, 0, false, NULL, 0},
};

/* The record arrays of struct state, in the order state.json lists them. */
enum record_kind {
	RECORD_BSI,
	RECORD_RING,
	RECORD_PLAN,
	RECORD_BLUEPRINT,
	RECORD_GROUP,
	RECORD_NKINDS
};

static const struct record_type {
	const char *name;     /* an intent's member holding it */
	const char *array;    /* the member of state.json listing them */
	const struct field *fields;
	size_t size;
	int nkeys;            /* the first nkeys fields (strings) identify a record */
} record_types[RECORD_NKINDS] = {
	[RECORD_BSI] = {"bsi", "bsis", bsi_fields, sizeof(struct state_bsi), 1},
	[RECORD_RING] = {"ring", "rings", ring_fields, sizeof(struct state_ring), 3},
	[RECORD_PLAN] = {"plan", "plans", plan_fields, sizeof(struct state_plan), 1},
	[RECORD_BLUEPRINT] = {"blueprint", "blueprints", blueprint_fields,
	    sizeof(struct state_blueprint), 1},
	[RECORD_GROUP] = {"group", "groups", group_fields, sizeof(struct state_group), 1},
};

/* Any record, for a copy on the stack. */
union any_record {
	struct state_bsi bsi;
	struct state_ring ring;
	struct state_plan plan;
	struct state_blueprint blueprint;
	struct state_group group;
};

static const char *const kind_names[] = {"plan", "blueprint", "group", "deploy"};

/* A member of a record, by its table entry. */
#define MEMBER(rec, f, type) ((type *)(void *)((char *)(rec) + (f)->offset))
#define CMEMBER(rec, f, type) ((type const *)(const void *)((const char *)(rec) + (f)->offset))

/* Write a message to err and return STATE_ERROR. */
static enum state_status __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return STATE_ERROR;
}

/* A string as state files may hold it: at most STATE_MAX_FIELD_BYTES. */
static bool
string_fits(const char *s)
{
	return s != NULL && strnlen(s, STATE_MAX_FIELD_BYTES + 1) <= STATE_MAX_FIELD_BYTES;
}

/* An id or name that identifies something: also not empty. */
static bool
id_ok(const char *s)
{
	return string_fits(s) && s[0] != '\0';
}

/* The table's copy of s into *out (NULL stays NULL); false when out of memory. */
static bool
intern(struct state *st, const char *s, char **out)
{
	const char *copy = strtab_intern(&st->strings, s);

	if (s != NULL && copy == NULL)
		return false;
	*out = (char *)(uintptr_t)copy;
	return true;
}

/* Whether field f's strings are kept in the table without being interned (keep()). */
static bool
unshared(const struct field *f)
{
	return f->type == FIELD_ID || f->unshared;
}

/*
 * A copy of field f's string s into *out, kept in st's table: interned, or only added for an
 * id or a string few records share (a hash of 75,000 plan ids would only cost time).
 */
static bool
keep(struct state *st, const struct field *f, const char *s, char **out)
{
	const char *copy;

	if (!unshared(f))
		return intern(st, s, out);
	if ((copy = strtab_add(&st->strings, s)) == NULL && s != NULL)
		return false;
	*out = (char *)(uintptr_t)copy;
	return true;
}

/*
 * The first field of rec that could not be written and read back (a required string missing,
 * a string too long, a time out of range), or NULL when rec is fine.
 */
static const char *
record_invalid(const struct record_type *t, const void *rec, bool with_id)
{
	for (const struct field *f = t->fields; f->name != NULL; f++) {
		const char *s = NULL;
		time_t tv = 0;

		switch (f->type) {
		case FIELD_ID:
		case FIELD_STRING:
		case FIELD_STRING_OPT:
			s = *CMEMBER(rec, f, char *);
			if (s == NULL && (f->type == FIELD_STRING || (f->type == FIELD_ID && with_id)))
				return f->name;
			if (s != NULL && (f->type == FIELD_ID ? !id_ok(s) : !string_fits(s)))
				return f->name;
			break;
		case FIELD_TIME:
		case FIELD_TIME_OPT:
			tv = *CMEMBER(rec, f, time_t);
			if (tv < 0 || tv > ISO_TIME_LAST)
				return f->name;
			break;
		case FIELD_BOOL:
			break;
		}
	}
	return NULL;
}

/* Whether two strings of a field that is not interned are the same text (or both NULL). */
static bool
same_text(const char *x, const char *y)
{
	return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

/*
 * src into dst, its strings kept in st (keep()); with was, a record of st with the same id,
 * its id and the strings not interned that it has alike are taken rather than copied again.
 * 0, or -1 when out of memory.
 */
static int
record_copy(struct state *st, const struct record_type *t, void *dst, const void *src,
    const void *was)
{
	memcpy(dst, src, t->size);
	for (const struct field *f = t->fields; f->name != NULL; f++)
		if (was != NULL && unshared(f) &&
		    same_text(*CMEMBER(was, f, char *), *CMEMBER(src, f, char *)))
			*MEMBER(dst, f, char *) = *CMEMBER(was, f, char *);
		else if ((f->type == FIELD_ID || f->type == FIELD_STRING ||
		    f->type == FIELD_STRING_OPT) &&
		    !keep(st, f, *CMEMBER(src, f, char *), MEMBER(dst, f, char *)))
			return -1;
	return 0;
}

/* Whether records a and b (strings kept in the same table, keep()) are the same. */
static bool
record_same(const struct record_type *t, const void *a, const void *b)
{
	for (const struct field *f = t->fields; f->name != NULL; f++) {
		const char *x, *y;

		switch (f->type) {
		case FIELD_ID:
		case FIELD_STRING:
		case FIELD_STRING_OPT:
			x = *CMEMBER(a, f, char *);
			y = *CMEMBER(b, f, char *);
			/* interned: the same text is the same pointer */
			if (unshared(f) ? !same_text(x, y) : x != y)
				return false;
			break;
		case FIELD_TIME:
		case FIELD_TIME_OPT:
			if (*CMEMBER(a, f, time_t) != *CMEMBER(b, f, time_t))
				return false;
			break;
		case FIELD_BOOL:
			if (*CMEMBER(a, f, bool) != *CMEMBER(b, f, bool))
				return false;
			break;
		}
	}
	return true;
}

/* One member's value, as the record readers hand it to field_take(). */
struct field_value {
	enum { VALUE_ABSENT, VALUE_STRING, VALUE_BOOL, VALUE_OTHER } type;  /* absent: or null */
	const char *s;   /* VALUE_STRING */
	bool b;          /* VALUE_BOOL */
};

/*
 * Set field f of rec from v, strings interned in st. 0; -1 when v is missing but required, of
 * the wrong type or too long; -2 when out of memory.
 */
static int
field_take(struct state *st, const struct field *f, bool with_id, const struct field_value *v,
    void *rec)
{
	const char *s = v->type == VALUE_STRING ? v->s : NULL;

	if (v->type == VALUE_ABSENT)
		return f->type == FIELD_STRING || f->type == FIELD_TIME || f->type == FIELD_BOOL ||
		    (f->type == FIELD_ID && with_id) ? -1 : 0;
	switch (f->type) {
	case FIELD_ID:
	case FIELD_STRING:
	case FIELD_STRING_OPT:
		if (f->type == FIELD_ID ? !id_ok(s) : !string_fits(s))
			return -1;
		return keep(st, f, s, MEMBER(rec, f, char *)) ? 0 : -2;
	case FIELD_TIME:
	case FIELD_TIME_OPT:
		return s != NULL && iso_time_parse(s, MEMBER(rec, f, time_t)) == 0 ? 0 : -1;
	case FIELD_BOOL:
		if (v->type != VALUE_BOOL)
			return -1;
		*MEMBER(rec, f, bool) = v->b;
		return 0;
	}
	return -1;
}

/*
 * The member name of obj, the first so named, as cJSON_GetObjectItemCaseSensitive() finds it,
 * but looked for at *next first: bridge writes the members in the order of the table, so each
 * is found at once (a record has a dozen). *next moves on while every member so far was found
 * there; those all have other names, so the member at *next is then the first so named.
 */
static const cJSON *
member(const cJSON *obj, const char *name, const cJSON **next)
{
	const cJSON *v = *next;

	if (v != NULL && v->string != NULL && strcmp(v->string, name) == 0) {
		*next = v->next;
		return v;
	}
	*next = NULL;  /* out of order: each is looked up from now on */
	return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/*
 * Fill rec (zeroed) from the JSON object obj, its strings interned in st. Returns 0; -1 with
 * the name of the first field that is missing, of the wrong type or too long in *bad (rec
 * then holds what was read); or -2 when out of memory.
 */
static int
record_read(struct state *st, const struct record_type *t, const cJSON *obj, void *rec,
    bool with_id, const char **bad)
{
	const cJSON *next = obj->child;

	for (const struct field *f = t->fields; f->name != NULL; f++) {
		const cJSON *v = member(obj, f->name, &next);
		struct field_value fv = {VALUE_OTHER, NULL, false};
		int rc;

		if (v == NULL || cJSON_IsNull(v))
			fv.type = VALUE_ABSENT;
		else if (cJSON_IsString(v))
			fv = (struct field_value){VALUE_STRING, v->valuestring, false};
		else if (cJSON_IsBool(v))
			fv = (struct field_value){VALUE_BOOL, NULL, cJSON_IsTrue(v)};
		if ((rc = field_take(st, f, with_id, &fv, rec)) != 0) {
			*bad = f->name;
			return rc;
		}
	}
	*bad = NULL;
	return 0;
}

/* The index of the field named key in t, looked for at guess first; -1 when none is. */
static int
field_index(const struct record_type *t, const char *key, int guess)
{
	if (t->fields[guess].name != NULL && strcmp(t->fields[guess].name, key) == 0)
		return guess;
	for (int i = 0; t->fields[i].name != NULL; i++)
		if (strcmp(t->fields[i].name, key) == 0)
			return i;
	return -1;
}

/*
 * What each field held in the record line before, for record_scan() to reuse: the lines of
 * an array mostly repeat their policy, ring, version, state and times, and a string found
 * here needs no hashing, a time no parsing. Per field, by its place in the record's table.
 */
struct scan_memo {
	const char *kept;    /* a string field's copy in the table; NULL: none yet */
	char text[32];       /* a time field's text, and its value */
	time_t t;
	bool has_time;
};

#define SCAN_MEMO_FIELDS 32  /* as many as record_scan() has bits for */
_Static_assert(SCAN_MEMO_FIELDS == sizeof(unsigned) * CHAR_BIT, "a memo per bit of a field set");

/* Set field f of rec to s as memo m read it the line before; false when s is another value. */
static bool
memo_take(const struct scan_memo *m, const struct field *f, const char *s, void *rec)
{
	switch (f->type) {
	case FIELD_STRING:
	case FIELD_STRING_OPT:
		if (m->kept == NULL || strcmp(m->kept, s) != 0)
			return false;
		*MEMBER(rec, f, char *) = (char *)(uintptr_t)m->kept;
		return true;
	case FIELD_TIME:
	case FIELD_TIME_OPT:
		if (!m->has_time || strcmp(m->text, s) != 0)
			return false;
		*MEMBER(rec, f, time_t) = m->t;
		return true;
	default:
		return false;
	}
}

/* Note in m the string s that field f of rec was just set from. */
static void
memo_keep(struct scan_memo *m, const struct field *f, const char *s, const void *rec)
{
	if (f->type == FIELD_STRING || f->type == FIELD_STRING_OPT) {
		m->kept = *CMEMBER(rec, f, char *);
	} else if ((f->type == FIELD_TIME || f->type == FIELD_TIME_OPT) &&
	    strlen(s) < sizeof(m->text)) {
		memcpy(m->text, s, strlen(s) + 1);
		m->t = *CMEMBER(rec, f, time_t);
		m->has_time = true;
	}
}

/*
 * record_read() for a record as one JSON text (len bytes, a line of state.json), read in one
 * pass without a tree: the same fields, values and checks (the first member of a name
 * counts); -3 when the text is not one JSON object. memo[SCAN_MEMO_FIELDS]: the fields of
 * the line before of the same array, kept up to date here.
 */
static int
record_scan(struct state *st, const struct record_type *t, const char *text, size_t len,
    void *rec, struct scan_memo *memo, const char **bad)
{
	char key[32], value[STATE_MAX_FIELD_BYTES + 2];
	unsigned seen = 0, failed = 0;
	struct json_scan js;
	int next = 0, oom = 0;

	json_scan_init(&js, text, len);
	if (!json_scan_object(&js))
		return -3;
	for (;;) {
		/* the members come in the table's order, as bridge writes them: no name to decode */
		const struct field *expect = &t->fields[next];
		int i = next;
		struct field_value fv = {VALUE_OTHER, value, false};
		int rc;

		if (expect->name == NULL || !json_scan_member_as(&js, expect->key, expect->keylen)) {
			if (!json_scan_member(&js, key, sizeof(key)))
				break;
			i = field_index(t, key, next);
		}

		if (i == -1 || (seen & 1u << i)) {
			(void)json_scan_skip(&js);
			continue;
		}
		seen |= 1u << i;
		next = i + 1;
		switch (json_scan_peek(&js)) {
		case JSON_SCAN_NULL:
			fv.type = VALUE_ABSENT;
			(void)json_scan_skip(&js);
			break;
		case JSON_SCAN_STRING:
			/* one that does not fit is too long: of the wrong type, then */
			if (json_scan_string(&js, value, sizeof(value)))
				fv.type = VALUE_STRING;
			break;
		case JSON_SCAN_BOOL:
			if (json_scan_bool(&js, &fv.b))
				fv.type = VALUE_BOOL;
			break;
		default:
			(void)json_scan_skip(&js);
			break;
		}
		if (fv.type == VALUE_STRING && memo_take(&memo[i], &t->fields[i], value, rec))
			continue;
		if ((rc = field_take(st, &t->fields[i], true, &fv, rec)) == -2)
			oom = 1;
		else if (rc == -1)
			failed |= 1u << i;
		else if (fv.type == VALUE_STRING)
			memo_keep(&memo[i], &t->fields[i], value, rec);
	}
	if (json_scan_end(&js) == -1)
		return -3;
	if (oom)
		return -2;
	/* the first field in the table's order that is wrong, as record_read() tells it */
	for (int i = 0; t->fields[i].name != NULL; i++) {
		static const struct field_value absent = {VALUE_ABSENT, NULL, false};

		if ((failed & 1u << i) ||
		    (!(seen & 1u << i) && field_take(st, &t->fields[i], true, &absent, rec) == -1)) {
			*bad = t->fields[i].name;
			return -1;
		}
	}
	*bad = NULL;
	return 0;
}

/*
 * rec as a new JSON object, or NULL when out of memory. Its strings are rec's own, not
 * copies: print it before rec changes.
 */
static cJSON *
record_json(const struct record_type *t, const void *rec)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj == NULL)
		return NULL;
	for (const struct field *f = t->fields; f->name != NULL; f++) {
		const char *s;
		char tbuf[ISO_TIME_BYTES];
		time_t tv;
		cJSON *v = NULL;

		switch (f->type) {
		case FIELD_ID:
		case FIELD_STRING:
		case FIELD_STRING_OPT:
			s = *CMEMBER(rec, f, char *);
			v = s != NULL ? cJSON_CreateStringReference(s) : cJSON_CreateNull();
			break;
		case FIELD_TIME:
		case FIELD_TIME_OPT:
			tv = *CMEMBER(rec, f, time_t);
			iso_time_format(tv, tbuf);
			v = f->type == FIELD_TIME_OPT && tv == 0 ? cJSON_CreateNull() :
			    cJSON_CreateString(tbuf);
			break;
		case FIELD_BOOL:
			v = cJSON_CreateBool(*CMEMBER(rec, f, bool));
			break;
		}
		/* the names are the tables' constants: not copied either */
		if (v == NULL || !cJSON_AddItemToObjectCS(obj, f->name, v)) {
			cJSON_Delete(v);
			cJSON_Delete(obj);
			return NULL;
		}
	}
	return obj;
}

/* Key field i of rec (a string). */
static const char *
record_key(const struct record_type *t, const void *rec, int i)
{
	return *CMEMBER(rec, &t->fields[i], char *);
}

/* The most key fields a record has (rings: policy, ring, bsi). */
#define MAX_KEYS 3

/* Whether rec's key fields are keys[0 .. nkeys-1]. */
static bool
record_has_keys(const struct record_type *t, const void *rec, const char *const keys[MAX_KEYS])
{
	for (int i = 0; i < t->nkeys; i++) {
		const char *s = record_key(t, rec, i);

		if (s == NULL || keys[i] == NULL || strcmp(s, keys[i]) != 0)
			return false;
	}
	return true;
}

/* The array of records of kind k in st (its elements are writable) and its length in *n. */
static void *
record_array(const struct state *st, enum record_kind k, size_t *n)
{
	switch (k) {
	case RECORD_BSI:
		*n = st->nbsis;
		return st->bsis;
	case RECORD_RING:
		*n = st->nrings;
		return st->rings;
	case RECORD_PLAN:
		*n = st->nplans;
		return st->plans;
	case RECORD_BLUEPRINT:
		*n = st->nblueprints;
		return st->blueprints;
	case RECORD_GROUP:
	default:
		*n = st->ngroups;
		return st->groups;
	}
}

/* The plans changed (or moved): state_plans_by_device() sorts them again. */
static void
plans_changed(struct state *st)
{
	free(st->by_device);
	st->by_device = NULL;
}

/* Set the array of records of kind k in st to v, of n records. */
static void
record_array_set(struct state *st, enum record_kind k, void *v, size_t n)
{
	switch (k) {
	case RECORD_BSI:
		st->bsis = v;
		st->nbsis = n;
		break;
	case RECORD_RING:
		st->rings = v;
		st->nrings = n;
		break;
	case RECORD_PLAN:
		st->plans = v;
		st->nplans = n;
		plans_changed(st);
		break;
	case RECORD_BLUEPRINT:
		st->blueprints = v;
		st->nblueprints = n;
		break;
	case RECORD_GROUP:
	default:
		st->groups = v;
		st->ngroups = n;
		break;
	}
}

/* st->room[] of the intents; the record kinds use theirs. */
#define ROOM_INTENTS RECORD_NKINDS
_Static_assert(sizeof(((struct state *)0)->room) == (RECORD_NKINDS + 1) * sizeof(size_t),
    "a room per record kind and one for the intents");

/*
 * v (n elements of size bytes, *room of them allocated) with room for more, or NULL when out
 * of memory (v unchanged). Grows by half again, so that n appends cost O(n) copies.
 */
static void *
reserve(void *v, size_t n, size_t *room, size_t size, size_t more)
{
	size_t want;

	if (more <= *room - n)
		return v;
	if (more > SIZE_MAX / size - n)
		return NULL;
	want = *room + *room / 2;
	if (want < 16)
		want = 16;
	if (want < n + more || want > SIZE_MAX / size)
		want = n + more;
	if ((v = realloc(v, want * size)) != NULL)
		*room = want;
	return v;
}

/* Give back the room past the last element of v (n elements of size bytes); returns v. */
static void *
trim(void *v, size_t n, size_t *room, size_t size)
{
	void *p;

	if (n == *room)
		return v;
	if (n == 0) {
		free(v);
		*room = 0;
		return NULL;
	}
	if ((p = realloc(v, n * size)) == NULL)
		return v;  /* keeps the room it had */
	*room = n;
	return p;
}

/*
 * Add a zeroed record of kind k to st; returns it, or NULL when out of memory. Fill in its
 * keys before the next lookup: one without keys then is never indexed (record_index).
 */
static void *
record_append(struct state *st, enum record_kind k)
{
	const struct record_type *t = &record_types[k];
	size_t n;
	char *v = record_array(st, k, &n);

	if ((v = reserve(v, n, &st->room[k], t->size, 1)) == NULL)
		return NULL;
	memset(v + n * t->size, 0, t->size);
	record_array_set(st, k, v, n + 1);
	return v + n * t->size;
}

/*
 * Room in st for n more records of kind k, made at once rather than by growing: only a hint,
 * as appends still grow the room when it is short (or could not be made).
 */
static void
records_reserve(struct state *st, enum record_kind k, size_t n)
{
	size_t have;
	void *v = record_array(st, k, &have);

	if ((v = reserve(v, have, &st->room[k], record_types[k].size, n)) != NULL)
		record_array_set(st, k, v, have);
}

/* Room in st for n more intents; 0, or -1 when out of memory. */
static int
intents_reserve(struct state *st, size_t n)
{
	struct state_intent *v = reserve(st->intents, st->nintents, &st->room[ROOM_INTENTS],
	    sizeof(*v), n);

	if (v == NULL)
		return -1;
	st->intents = v;
	return 0;
}

/* Give back the room past the last record of each kind and intent (after a load). */
static void
records_trim(struct state *st)
{
	for (int k = 0; k < RECORD_NKINDS; k++) {
		size_t n;
		void *v = record_array(st, (enum record_kind)k, &n);

		record_array_set(st, (enum record_kind)k, trim(v, n, &st->room[k],
		    record_types[k].size), n);
	}
	st->intents = trim(st->intents, st->nintents, &st->room[ROOM_INTENTS],
	    sizeof(*st->intents));
}

/*
 * Records by key, so that a lookup costs the same with 100,000 plans as with ten: per kind,
 * an open-addressing hash table of record numbers. Records are only ever appended (a put
 * replaces one in place, with the same keys), so each lookup first adds the records appended
 * since the last one. A record with a missing key is never found, so never indexed; of two
 * with the same keys (a hand-edited file), the first is found, as a linear search would.
 */
struct record_index {
	uint32_t *slots;  /* record number + 1; 0: empty (4 bytes: 1 MiB for 100,000 plans) */
	size_t cap;       /* a power of two, or 0 */
	size_t indexed;   /* records 0 .. indexed - 1 are in */
};

struct state_index {
	struct record_index kinds[RECORD_NKINDS];
};

/* FNV-1a of the key fields, each ended by a 0x1f unit separator. */
static size_t
keys_hash(int nkeys, const char *const keys[MAX_KEYS])
{
	uint64_t h = HASH_START;

	for (int i = 0; i < nkeys; i++)
		h = hash_bytes(hash_str(h, keys[i]), "\x1f", 1);
	return (size_t)h;
}

/* rec's key fields into keys; false when one is missing. */
static bool
record_keys(const struct record_type *t, const void *rec, const char *keys[MAX_KEYS])
{
	for (int i = 0; i < MAX_KEYS; i++)
		keys[i] = i < t->nkeys ? record_key(t, rec, i) : NULL;
	for (int i = 0; i < t->nkeys; i++)
		if (keys[i] == NULL)
			return false;
	return true;
}

/* Put record number i (of n, in v) into ix, which has room; keeps an earlier equal one. */
static void
index_insert(struct record_index *ix, const struct record_type *t, const char *v, size_t i)
{
	const char *keys[MAX_KEYS];
	size_t at;

	if (!record_keys(t, v + i * t->size, keys))
		return;
	for (at = keys_hash(t->nkeys, keys) & (ix->cap - 1); ix->slots[at] != 0;
	    at = (at + 1) & (ix->cap - 1))
		if (record_has_keys(t, v + (ix->slots[at] - 1) * t->size, keys))
			return;
	ix->slots[at] = (uint32_t)(i + 1);
}

/* Bring the index of kind k up to the records of st; false when out of memory. */
static bool
index_update(const struct state *st, enum record_kind k)
{
	const struct record_type *t = &record_types[k];
	struct record_index *ix;
	size_t n;
	const char *v = record_array(st, k, &n);

	if (st->index == NULL &&
	    (((struct state *)(uintptr_t)st)->index = calloc(1, sizeof(*st->index))) == NULL)
		return false;
	ix = &st->index->kinds[k];
	if (n >= UINT32_MAX / 4)  /* far past what a state file of STATE_MAX_FILE_BYTES holds */
		return false;
	if (n * 2 >= ix->cap) {  /* at most half full: short probes */
		size_t cap = 64;
		uint32_t *slots;

		while (cap <= n * 2)
			cap *= 2;
		if ((slots = calloc(cap, sizeof(*slots))) == NULL)
			return false;
		free(ix->slots);
		*ix = (struct record_index){slots, cap, 0};
	}
	for (; ix->indexed < n; ix->indexed++)
		index_insert(ix, t, v, ix->indexed);
	return true;
}

static void
index_free(struct state *st)
{
	if (st->index != NULL)
		for (int k = 0; k < RECORD_NKINDS; k++)
			free(st->index->kinds[k].slots);
	free(st->index);
	st->index = NULL;
}

/* The record of kind k whose key fields are keys (as many as the kind has), or NULL. */
static void *
record_find_keys(const struct state *st, enum record_kind k, const char *const keys[MAX_KEYS])
{
	const struct record_type *t = &record_types[k];
	const struct record_index *ix;
	size_t n;
	char *v = record_array(st, k, &n);

	for (int i = 0; i < t->nkeys; i++)
		if (keys[i] == NULL)
			return NULL;
	if (!index_update(st, k)) {  /* out of memory: the slow way */
		for (size_t i = 0; i < n; i++)
			if (record_has_keys(t, v + i * t->size, keys))
				return v + i * t->size;
		return NULL;
	}
	ix = &st->index->kinds[k];
	for (size_t at = keys_hash(t->nkeys, keys) & (ix->cap - 1); ix->slots[at] != 0;
	    at = (at + 1) & (ix->cap - 1))
		if (record_has_keys(t, v + (ix->slots[at] - 1) * t->size, keys))
			return v + (ix->slots[at] - 1) * t->size;
	return NULL;
}

/* The record of kind k with a one-field key, or NULL. */
static void *
record_find(const struct state *st, enum record_kind k, const char *key)
{
	const char *const keys[MAX_KEYS] = {key, NULL, NULL};

	return record_find_keys(st, k, keys);
}

/*
 * Copy rec into st, replacing the record with its identity (a record replaced in place points
 * at other strings of the table; none is freed). 0, or -1 (logged).
 */
static int
record_put(struct state *st, enum record_kind k, const void *rec)
{
	const struct record_type *t = &record_types[k];
	const char *bad = record_invalid(t, rec, true);
	union any_record copy;
	const char *keys[MAX_KEYS];
	void *slot;

	if (bad != NULL) {
		log_error("state: cannot record a %s: its %s is missing, too long or out of range",
		    t->name, bad);
		return -1;
	}
	for (int i = 0; i < MAX_KEYS; i++)
		keys[i] = i < t->nkeys ? record_key(t, rec, i) : NULL;
	slot = record_find_keys(st, k, keys);
	/* a record with an id has it as its key: the one found has the same */
	if (record_copy(st, t, &copy, rec, slot) == -1)
		goto oom;
	if (slot != NULL && record_same(t, slot, &copy))
		return 0;  /* nothing to save */
	if (slot == NULL && (slot = record_append(st, k)) == NULL)
		goto oom;
	memcpy(slot, &copy, t->size);
	if (k == RECORD_PLAN)
		plans_changed(st);
	st->changed = true;
	return 0;
oom:
	log_error("state: out of memory");
	return -1;
}

/* Which record an intent of kind k carries. */
static enum record_kind
intent_record_kind(enum state_kind k)
{
	return k == STATE_KIND_PLAN ? RECORD_PLAN : k == STATE_KIND_GROUP ? RECORD_GROUP :
	    RECORD_BLUEPRINT;
}

/* The record in carries. */
static void *
intent_record(struct state_intent *in)
{
	switch (intent_record_kind(in->kind)) {
	case RECORD_PLAN:
		return &in->plan;
	case RECORD_GROUP:
		return &in->group;
	default:
		return &in->blueprint;
	}
}

/* in as a new JSON object (as in state.json's "intents"), or NULL when out of memory. */
static cJSON *
intent_json(struct state_intent *in)
{
	const struct record_type *t = &record_types[intent_record_kind(in->kind)];
	cJSON *obj = cJSON_CreateObject(), *rec = record_json(t, intent_record(in));
	char begun[ISO_TIME_BYTES];

	iso_time_format(in->begun_at, begun);
	if (obj == NULL || rec == NULL ||
	    cJSON_AddNumberToObject(obj, "id", (double)in->id) == NULL ||
	    cJSON_AddStringToObject(obj, "kind", kind_names[in->kind]) == NULL ||
	    cJSON_AddStringToObject(obj, "begun_at", begun) == NULL ||
	    !cJSON_AddItemToObject(obj, t->name, rec)) {
		cJSON_Delete(rec);
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/*
 * Fill in (zeroed) from obj, its strings interned in st; 0, -1 with the bad member's name in
 * *bad, or -2 when out of memory.
 */
static int
intent_read(struct state *st, const cJSON *obj, struct state_intent *in, const char **bad)
{
	const char *kind = json_str(obj, "kind"), *begun = json_str(obj, "begun_at");
	const struct record_type *t;
	const cJSON *rec;
	size_t k;

	*bad = "id";
	if (!json_long(obj, "id", &in->id) || in->id <= 0)
		return -1;
	*bad = "kind";
	for (k = 0; kind != NULL && k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (strcmp(kind, kind_names[k]) == 0)
			break;
	if (kind == NULL || k == sizeof(kind_names) / sizeof(kind_names[0]))
		return -1;
	in->kind = (enum state_kind)k;
	in->status = STATE_INTENT_OPEN;
	*bad = "begun_at";
	if (begun == NULL || iso_time_parse(begun, &in->begun_at) == -1)
		return -1;
	t = &record_types[intent_record_kind(in->kind)];
	*bad = t->name;
	if ((rec = json_obj(obj, t->name)) == NULL)
		return -1;
	return record_read(st, t, rec, intent_record(in), in->kind == STATE_KIND_DEPLOY, bad);
}

/*
 * Where intent id is or would go in st->intents, which is kept in the order of the ids (so
 * that 100,000 creates of a first run do not each look through all the others).
 */
static size_t
intent_at(const struct state *st, long id)
{
	size_t lo = 0, hi = st->nintents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->intents[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The intent id of st, or NULL. */
static struct state_intent *
intent_find(const struct state *st, long id)
{
	size_t at = intent_at(st, id);

	return at < st->nintents && st->intents[at].id == id ? &st->intents[at] : NULL;
}

/* Add a copy of in to st in the order of the ids; 0, or -1 when out of memory. */
static int
intent_insert(struct state *st, const struct state_intent *in)
{
	size_t at = intent_at(st, in->id);

	if (intents_reserve(st, 1) == -1)
		return -1;
	memmove(&st->intents[at + 1], &st->intents[at], (st->nintents - at) * sizeof(*in));
	st->intents[at] = *in;
	st->nintents++;
	return 0;
}

static int
intent_cmp(const void *a, const void *b)
{
	long x = ((const struct state_intent *)a)->id, y = ((const struct state_intent *)b)->id;

	return (x > y) - (x < y);
}

/*
 * Put the intents read from a file in the order of their ids (bridge writes them so; a file
 * edited by hand may not be), and number new ones after every one of them.
 */
static void
intents_order(struct state *st)
{
	size_t i;

	for (i = 1; i < st->nintents && st->intents[i - 1].id < st->intents[i].id; i++)
		continue;
	if (i < st->nintents)
		qsort(st->intents, st->nintents, sizeof(*st->intents), intent_cmp);
	if (st->nintents > 0 && st->intents[st->nintents - 1].id > st->last_seq)
		st->last_seq = st->intents[st->nintents - 1].id;
}

/*
 * The intent in is done and created_id is what Jamf made: put its record into the state (a
 * deploy marks its blueprint deployed). 0, or -1 when out of memory (in stays open).
 */
static int
intent_fold(struct state *st, struct state_intent *in, const char *created_id)
{
	enum record_kind k = intent_record_kind(in->kind);
	const struct record_type *t = &record_types[k];
	union any_record rec;
	struct state_blueprint *b;
	int rc;

	if (in->kind == STATE_KIND_DEPLOY &&
	    (b = record_find(st, RECORD_BLUEPRINT, in->blueprint.id)) != NULL) {
		b->deployed = true;
		in->status = STATE_INTENT_DONE;
		st->changed = true;
		return 0;
	}
	memcpy(&rec, intent_record(in), t->size);  /* its strings are st's already */
	if (in->kind == STATE_KIND_DEPLOY) {
		rec.blueprint.deployed = true;
	} else {
		/* the record's id is the first field of its table */
		char **id = MEMBER(&rec, &t->fields[0], char *);

		if (!keep(st, &t->fields[0], created_id, id))
			return -1;
	}
	rc = record_put(st, k, &rec);
	if (rc == 0) {
		in->status = STATE_INTENT_DONE;
		st->changed = true;
	}
	return rc;
}

/* Free every record, intent and string of st and empty its arrays. */
static void
records_clear(struct state *st)
{
	for (int k = 0; k < RECORD_NKINDS; k++) {
		size_t n;

		free(record_array(st, (enum record_kind)k, &n));
		record_array_set(st, (enum record_kind)k, NULL, 0);
	}
	free(st->intents);
	st->intents = NULL;
	st->nintents = 0;
	memset(st->room, 0, sizeof(st->room));
	index_free(st);
	strtab_release(&st->strings);
}

/* ---- the lock ---- */

enum state_status
state_lock(const char *state_dir, struct state_lock *lk, char *err, size_t errlen)
{
	char path[PATH_MAX], pid[32];
	int fd, rc, n;

	lk->fd = -1;
	if (fileio_mkdirs(state_dir, 0700) == -1)
		return fail(err, errlen, "cannot create state_dir \"%s\": %s", state_dir,
		    strerror(errno));
	if (fileio_path_in(state_dir, LOCK_FILE, path) == -1)
		return fail(err, errlen, "state_dir \"%s\" is too long", state_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600)) == -1)
		return fail(err, errlen, "cannot open lock file \"%s\": %s", path, strerror(errno));
	while ((rc = flock(fd, LOCK_EX | LOCK_NB)) == -1 && errno == EINTR)
		continue;
	if (rc == -1 && errno == EWOULDBLOCK) {
		/* the holder wrote its pid right after taking the lock */
		ssize_t r = pread(fd, pid, sizeof(pid) - 1, 0);
		long holder = 0;

		(void)close(fd);
		pid[r > 0 ? r : 0] = '\0';
		if (sscanf(pid, "%ld", &holder) == 1 && holder > 0)
			snprintf(err, errlen, "another bridge run (pid %ld) holds the lock \"%s\"",
			    holder, path);
		else
			snprintf(err, errlen, "another bridge run holds the lock \"%s\"", path);
		return STATE_LOCKED;
	}
	if (rc == -1) {
		int saved = errno;

		(void)close(fd);
		return fail(err, errlen, "cannot lock \"%s\": %s", path, strerror(saved));
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("cannot write the pid into lock file \"%s\": %s", path, strerror(errno));
	lk->fd = fd;
	return STATE_OK;
}

void
state_unlock(struct state_lock *lk)
{
	if (lk->fd != -1)
		(void)close(lk->fd);  /* closing the descriptor drops the flock */
	lk->fd = -1;
}

/* ---- loading ---- */

enum load_result {
	LOAD_OK,
	LOAD_MISSING,
	LOAD_CORRUPT,       /* why in err */
	LOAD_REFUSED,       /* why in err */
	LOAD_OTHER_LAYOUT,  /* not a record a line as bridge writes it: read as one document */
};

/* Remove temp files that a save killed half-way left behind (we hold the lock). */
static void
remove_stale_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, TEMP_PREFIX, strlen(TEMP_PREFIX)) != 0 ||
		    fileio_path_in(dir, de->d_name, path) == -1)
			continue;
		if (unlink(path) == 0)
			log_info("removed \"%s\", left by a run stopped while saving", path);
	}
	(void)closedir(d);
}

/* What reading element i of array came to (rc as record_read() returns it), with err set. */
static enum load_result
read_result(int rc, const char *array, size_t i, const char *bad, char *err, size_t errlen)
{
	if (rc == 0)
		return LOAD_OK;
	if (rc == -2) {
		/* not the file's fault: moving it aside would make a good state a reconcile */
		snprintf(err, errlen, "out of memory");
		return LOAD_REFUSED;
	}
	snprintf(err, errlen, "%s[%zu]: \"%s\" is missing, of the wrong type or too long", array,
	    i, bad);
	return LOAD_CORRUPT;
}

/*
 * Add a record, element i of the array of records of kind k, to st: the JSON object obj, or
 * when obj is NULL the JSON text (len bytes) of one. LOAD_OK, or why not in err
 * (LOAD_OTHER_LAYOUT when the text is not one JSON object).
 */
static enum load_result
add_record(struct state *st, enum record_kind k, const cJSON *obj, const char *text,
    size_t len, struct scan_memo *memo, size_t i, char *err, size_t errlen)
{
	const struct record_type *t = &record_types[k];
	const char *bad = "the record";
	void *rec = record_append(st, k);
	int rc = -2;

	if (rec != NULL && obj != NULL)
		rc = cJSON_IsObject(obj) ? record_read(st, t, obj, rec, true, &bad) : -1;
	else if (rec != NULL && (rc = record_scan(st, t, text, len, rec, memo, &bad)) == -3)
		return LOAD_OTHER_LAYOUT;
	return read_result(rc, t->array, i, bad, err, errlen);
}

/* Add obj, element i of "intents", to st as an open intent; LOAD_OK, or why not in err. */
static enum load_result
add_intent(struct state *st, const cJSON *obj, size_t i, char *err, size_t errlen)
{
	const char *bad = "the intent";
	int rc = -2;

	if (intents_reserve(st, 1) == 0) {
		struct state_intent *in = &st->intents[st->nintents++];

		memset(in, 0, sizeof(*in));
		rc = cJSON_IsObject(obj) ? intent_read(st, obj, in, &bad) : -1;
	}
	return read_result(rc, "intents", i, bad, err, errlen);
}

/* The members of state.json other than its arrays, from root into st and *folded. */
static enum load_result
read_header(struct state *st, const cJSON *root, long *folded, char *err, size_t errlen)
{
	const char *bridge = json_str(root, "bridge"), *saved = json_str(root, "saved_at");
	const cJSON *flag = cJSON_GetObjectItemCaseSensitive(root, "needs_reconcile");
	long format;

	if (!json_long(root, "format", &format) || format < 1) {
		snprintf(err, errlen, "\"format\" is missing or not a positive integer");
		return LOAD_CORRUPT;
	}
	if (format > STATE_FORMAT) {
		snprintf(err, errlen, "it has format %ld, newer than this bridge (%s) reads (%d): "
		    "run a newer bridge, or move the file away to start over", format,
		    BRIDGE_VERSION, STATE_FORMAT);
		return LOAD_REFUSED;
	}
	if (bridge == NULL || saved == NULL || iso_time_parse(saved, &st->saved_at) == -1 ||
	    !cJSON_IsBool(flag) || !json_long(root, "journal_folded", folded) || *folded < 0) {
		snprintf(err, errlen, "\"bridge\", \"saved_at\", \"needs_reconcile\" or "
		    "\"journal_folded\" is missing or of the wrong type");
		return LOAD_CORRUPT;
	}
	st->needs_reconcile = cJSON_IsTrue(flag);
	return LOAD_OK;
}

/* The array member name of root; NULL (err set) when it is missing or not an array. */
static const cJSON *
array_of(const cJSON *root, const char *name, char *err, size_t errlen)
{
	const cJSON *arr = json_arr(root, name);

	if (arr == NULL)
		snprintf(err, errlen, "\"%s\" is missing or not an array", name);
	return arr;
}

/* Parse the state file text, in any layout, as one JSON document into st. */
static enum load_result
parse_state(struct state *st, const char *text, size_t len, long *folded, char *err,
    size_t errlen)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	enum load_result res = LOAD_CORRUPT;
	const cJSON *arr, *item;
	size_t i;

	if (root == NULL || !cJSON_IsObject(root)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	while (end != NULL && end < text + len && strchr(" \t\r\n", *end) != NULL)
		end++;
	if (end != text + len) {
		snprintf(err, errlen, "text after the JSON object");
		goto out;
	}
	if ((res = read_header(st, root, folded, err, errlen)) != LOAD_OK)
		goto out;
	for (int k = 0; k < RECORD_NKINDS; k++) {
		res = LOAD_CORRUPT;
		if ((arr = array_of(root, record_types[k].array, err, errlen)) == NULL)
			goto out;
		i = 0;
		cJSON_ArrayForEach(item, arr)
			if ((res = add_record(st, (enum record_kind)k, item, NULL, 0, NULL, i++,
			    err, errlen)) != LOAD_OK)
				goto out;
	}
	res = LOAD_CORRUPT;
	if ((arr = array_of(root, "intents", err, errlen)) == NULL)
		goto out;
	i = 0;
	cJSON_ArrayForEach(item, arr)
		if ((res = add_intent(st, item, i++, err, errlen)) != LOAD_OK)
			goto out;
	res = LOAD_OK;
out:
	cJSON_Delete(root);
	return res;
}

/* state.json read a line at a time, through a buffer that holds the longest line. */
struct line_reader {
	int fd;
	char *buf;      /* STATE_MAX_LINE_BYTES and a NUL */
	size_t start;   /* where the next line starts */
	size_t end;     /* bytes in buf */
	size_t total;   /* bytes read from the file */
	size_t size;    /* the file's size when opened */
	bool eof;
};

/*
 * The fewest bytes a record line of state.json takes as bridge writes it (a plan's is some
 * 320): the lines left in a file are at most its bytes left over this.
 */
#define RECORD_LINE_MIN_BYTES 128

enum line_status {
	LINE_OK,
	LINE_END,       /* no line left */
	LINE_TOO_LONG,  /* longer than STATE_MAX_LINE_BYTES */
	LINE_TOO_BIG,   /* the file is larger than STATE_MAX_FILE_BYTES */
	LINE_ERROR,     /* errno says why */
};

/*
 * The next line of r without its newline, NUL-terminated, in *line (valid until the next call)
 * and its length in *len. The last line may lack its newline.
 */
static enum line_status
line_next(struct line_reader *r, char **line, size_t *len)
{
	for (;;) {
		char *at = r->buf + r->start, *nl = memchr(at, '\n', r->end - r->start);
		ssize_t got;

		if (nl != NULL || (r->eof && r->start < r->end)) {
			*line = at;
			*len = nl != NULL ? (size_t)(nl - at) : r->end - r->start;
			at[*len] = '\0';
			r->start += *len + (nl != NULL);
			return LINE_OK;
		}
		if (r->eof)
			return LINE_END;
		if (r->start > 0) {
			memmove(r->buf, at, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->end == STATE_MAX_LINE_BYTES)
			return LINE_TOO_LONG;
		got = read(r->fd, r->buf + r->end, STATE_MAX_LINE_BYTES - r->end);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1)
			return LINE_ERROR;
		r->eof = got == 0;
		r->end += (size_t)got;
		if ((r->total += (size_t)got) > STATE_MAX_FILE_BYTES)
			return LINE_TOO_BIG;
	}
}

/*
 * What it means that no line could be read inside the document: the file ends before the
 * object is closed (corrupt, in any layout), or is too big or unreadable (refused).
 */
static enum load_result
line_trouble(enum line_status ls, char *err, size_t errlen)
{
	switch (ls) {
	case LINE_END:
		snprintf(err, errlen, "not a JSON object: it ends early");
		return LOAD_CORRUPT;
	case LINE_TOO_BIG:
		snprintf(err, errlen, "it is larger than %d bytes", STATE_MAX_FILE_BYTES);
		return LOAD_REFUSED;
	case LINE_ERROR:
		snprintf(err, errlen, "%s", strerror(errno));
		return LOAD_REFUSED;
	case LINE_TOO_LONG:
	case LINE_OK:
	default:
		return LOAD_OTHER_LAYOUT;
	}
}

/* How deep objects and arrays nest in v (an empty object: 1), counted up to limit + 1. */
static int
nesting(const cJSON *v, int limit)
{
	int deepest = 0;

	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return 0;
	for (const cJSON *c = v->child; c != NULL && deepest <= limit; c = c->next) {
		int d = nesting(c, limit - 1);

		if (d > deepest)
			deepest = d;
	}
	return deepest + 1;
}

/* Whether line (len bytes) is s. */
static bool
line_is(const char *line, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(line, s, len) == 0;
}

/*
 * The first line as bridge writes it: the members before the arrays in an object left open,
 * {"format":1,…,"journal_folded":41, (line is changed). LOAD_OTHER_LAYOUT when it is not.
 */
static enum load_result
read_header_line(struct state *st, char *line, size_t len, long *folded, char *err,
    size_t errlen)
{
	static const char *const members[] = {"format", "bridge", "saved_at", "needs_reconcile",
	    "journal_folded"};
	enum load_result res = LOAD_OTHER_LAYOUT;
	const char *end = NULL;
	cJSON *root;

	if (len < 2 || line[0] != '{' || line[len - 1] != ',')
		return LOAD_OTHER_LAYOUT;
	line[len - 1] = '}';  /* closed there, it is an object of exactly those members */
	if ((root = cJSON_ParseWithLengthOpts(line, len, &end, false)) == NULL || end != line + len)
		goto out;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (cJSON_GetObjectItemCaseSensitive(root, members[i]) == NULL)
			goto out;
	/* an array here would be found before the one on its own lines */
	if (cJSON_GetObjectItemCaseSensitive(root, "intents") != NULL)
		goto out;
	for (int k = 0; k < RECORD_NKINDS; k++)
		if (cJSON_GetObjectItemCaseSensitive(root, record_types[k].array) != NULL)
			goto out;
	/* a newer bridge's file is refused only if it is one JSON document: read it whole */
	if ((res = read_header(st, root, folded, err, errlen)) == LOAD_REFUSED)
		res = LOAD_OTHER_LAYOUT;
out:
	cJSON_Delete(root);
	return res;
}

/*
 * The lines of one array as bridge writes it: "plans":[ alone, then a record a line, each but
 * the last followed by a comma, then ], alone (]} after the intents, the last array). k is a
 * record kind, or RECORD_NKINDS for the intents.
 */
static enum load_result
read_array_lines(struct state *st, struct line_reader *r, int k, char *err, size_t errlen)
{
	const char *name = k < RECORD_NKINDS ? record_types[k].array : "intents";
	const char *close = k < RECORD_NKINDS ? "]," : "]}";
	enum { WANT_ANY, WANT_RECORD, WANT_CLOSE } want = WANT_ANY;
	struct scan_memo memo[SCAN_MEMO_FIELDS] = {{0}};
	enum line_status ls;
	enum load_result res;
	char open[32], *line;
	size_t len;

	snprintf(open, sizeof(open), "\"%s\":[", name);
	if ((ls = line_next(r, &line, &len)) != LINE_OK)
		return line_trouble(ls, err, errlen);
	if (!line_is(line, len, open))
		return LOAD_OTHER_LAYOUT;
	/*
	 * Room for as many records as the rest of the file could hold, made once: growing an
	 * array of 100,000 plans half again at a time copies it and touches memory thrice.
	 * What is not used is never touched, and is given back after the load.
	 */
	if (k < RECORD_NKINDS && r->size > r->total - (r->end - r->start))
		records_reserve(st, (enum record_kind)k,
		    (r->size - (r->total - (r->end - r->start))) / RECORD_LINE_MIN_BYTES);
	for (size_t i = 0; ; i++) {
		const char *end = NULL;
		cJSON *obj;
		bool comma;

		if ((ls = line_next(r, &line, &len)) != LINE_OK)
			return line_trouble(ls, err, errlen);
		if (line_is(line, len, close))
			return want == WANT_RECORD ? LOAD_OTHER_LAYOUT : LOAD_OK;
		if (want == WANT_CLOSE || len == 0 || line[0] != '{')
			return LOAD_OTHER_LAYOUT;
		comma = line[len - 1] == ',';
		len -= comma;
		if (k < RECORD_NKINDS) {
			/* read in one pass: 100,000s of lines (nesting: JSON_SCAN_MAX_DEPTH) */
			res = add_record(st, (enum record_kind)k, NULL, line, len, memo, i, err,
			    errlen);
		} else {
			/* in the document, an intent is two levels deeper than alone: as deep
			   as cJSON goes, it would not read there */
			if ((obj = cJSON_ParseWithLengthOpts(line, len, &end, false)) == NULL ||
			    end != line + len ||
			    nesting(obj, CJSON_NESTING_LIMIT) > CJSON_NESTING_LIMIT - 2) {
				cJSON_Delete(obj);
				return LOAD_OTHER_LAYOUT;
			}
			res = add_intent(st, obj, i, err, errlen);
			cJSON_Delete(obj);
		}
		if (res != LOAD_OK)
			return res;
		want = comma ? WANT_RECORD : WANT_CLOSE;
	}
}

/* Read the open file r in the layout bridge writes into st. */
static enum load_result
read_lines(struct state *st, struct line_reader *r, long *folded, char *err, size_t errlen)
{
	enum line_status ls;
	enum load_result res;
	char *line;
	size_t len;

	if ((ls = line_next(r, &line, &len)) != LINE_OK)
		return ls == LINE_END ? LOAD_OTHER_LAYOUT : line_trouble(ls, err, errlen);
	if ((res = read_header_line(st, line, len, folded, err, errlen)) != LOAD_OK)
		return res;
	for (int k = 0; k <= RECORD_NKINDS; k++)
		if ((res = read_array_lines(st, r, k, err, errlen)) != LOAD_OK)
			return res;
	/* anything after the document is for the whole-document reader to judge */
	if ((ls = line_next(r, &line, &len)) != LINE_END)
		return ls == LINE_OK ? LOAD_OTHER_LAYOUT : line_trouble(ls, err, errlen);
	return LOAD_OK;
}

/*
 * Read state.json at path into st a line at a time, with one line in memory; *folded: the
 * last journal line it includes. LOAD_OTHER_LAYOUT (st then holds part of it) when the file
 * is not in the layout bridge writes.
 */
static enum load_result
read_streamed(struct state *st, const char *path, long *folded, char *err, size_t errlen)
{
	struct line_reader r = {.fd = -1};
	enum load_result res;
	struct stat sb;

	if ((r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return LOAD_MISSING;
		snprintf(err, errlen, "%s", strerror(errno));
		return LOAD_REFUSED;
	}
	if (fstat(r.fd, &sb) == -1 || (!S_ISREG(sb.st_mode) && (errno = EINVAL)) ||
	    (r.buf = malloc(STATE_MAX_LINE_BYTES + 1)) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		res = LOAD_REFUSED;
	} else if (sb.st_size > STATE_MAX_FILE_BYTES) {
		snprintf(err, errlen, "it is larger than %d bytes", STATE_MAX_FILE_BYTES);
		res = LOAD_REFUSED;
	} else {
		r.size = (size_t)sb.st_size;
		res = read_lines(st, &r, folded, err, errlen);
	}
	free(r.buf);
	if (close(r.fd) == -1 && res == LOAD_OK) {
		snprintf(err, errlen, "%s", strerror(errno));
		res = LOAD_REFUSED;
	}
	return res;
}

/* Read state.json into st; *folded: the last journal line it includes. */
static enum load_result
read_state_file(struct state *st, const char *path, long *folded, char *err, size_t errlen)
{
	char *text;
	size_t len;
	enum load_result res;

	*folded = 0;
	if ((res = read_streamed(st, path, folded, err, errlen)) != LOAD_OTHER_LAYOUT)
		return res;
	/* start over, with the whole file in memory: its size is the user's choice then */
	records_clear(st);
	st->saved_at = 0;
	st->needs_reconcile = false;
	*folded = 0;
	log_debug("state file \"%s\" is not in the layout bridge writes: reading it whole", path);
	switch (fileio_read(path, STATE_MAX_FILE_BYTES, &text, &len)) {
	case FILEIO_OK:
		break;
	case FILEIO_TOO_BIG:
		snprintf(err, errlen, "it is larger than %d bytes", STATE_MAX_FILE_BYTES);
		return LOAD_REFUSED;
	case FILEIO_ERROR:
	default:
		if (errno == ENOENT)
			return LOAD_MISSING;
		snprintf(err, errlen, "%s", strerror(errno));
		return LOAD_REFUSED;
	}
	res = parse_state(st, text, len, folded, err, errlen);
	free(text);
	if (res == LOAD_OK)
		st->changed = true;  /* the next save writes it a record a line */
	return res;
}

/* Name for a bad file moved or copied aside: path.corrupt-20261120T080000Z (-2, -3… if taken). */
static int
aside_name(const char *path, char out[PATH_MAX])
{
	char stamp[32];
	struct stat sb;
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ",
	    &tm) == 0)
		return -1;
	for (int i = 1; i < 100; i++) {
		int n = i == 1 ? snprintf(out, PATH_MAX, "%s.corrupt-%s", path, stamp) :
		    snprintf(out, PATH_MAX, "%s.corrupt-%s-%d", path, stamp, i);

		if (n < 0 || n >= PATH_MAX)
			return -1;
		if (lstat(out, &sb) == -1 && errno == ENOENT)
			return 0;
	}
	return -1;
}

/*
 * Start from an empty state that must be reconciled, as the state file is corrupt; move the
 * file aside unless only looking.
 */
static enum state_status
move_aside(struct state *st, const char *path, const char *why, bool writable, char *err,
    size_t errlen)
{
	char aside[PATH_MAX];

	records_clear(st);
	st->saved_at = 0;
	st->needs_reconcile = true;
	st->changed = true;
	if (!writable) {
		log_warn("state file \"%s\" is corrupt (%s); the next bridge sync moves it aside and "
		    "reconciles with Jamf", path, why);
		return STATE_OK;
	}
	if (aside_name(path, aside) == -1 || rename(path, aside) == -1)
		return fail(err, errlen, "state file \"%s\" is corrupt (%s) and cannot be moved "
		    "aside: %s", path, why, strerror(errno));
	if ((st->moved_aside = strdup(aside)) == NULL)
		return fail(err, errlen, "out of memory");
	log_error("state file \"%s\" is corrupt (%s): moved it to \"%s\"; nothing will be created "
	    "until bridge has reconciled with Jamf", path, why, aside);
	return STATE_OK;
}

/*
 * Apply one journal line (without its newline) to st. Lines up to folded are already in the
 * state file. Returns 0, or -1 when the line does not read (why in *bad).
 */
static int
replay_line(struct state *st, const char *line, size_t len, long folded, const char **bad)
{
	cJSON *obj = cJSON_ParseWithLength(line, len);
	struct state_intent in = {0}, *known;
	const char *op = json_str(obj, "op"), *created;
	long seq, id;
	int rc = -1;

	*bad = "not a JSON object with \"seq\" and \"op\"";
	if (!cJSON_IsObject(obj) || !json_long(obj, "seq", &seq) || seq <= 0 || op == NULL)
		goto out;
	if (seq > st->last_seq)
		st->last_seq = seq;
	if (seq <= folded) {
		rc = 0;
		goto out;
	}
	st->changed = true;  /* the file does not hold it yet */
	if (strcmp(op, "begin") == 0) {
		*bad = "a begin line without a whole intent";
		if ((rc = intent_read(st, obj, &in, bad)) != 0) {
			if (rc == -2)
				*bad = "out of memory";
			rc = -1;
			goto out;
		}
		*bad = "out of memory";
		if (intent_find(st, in.id) == NULL && intent_insert(st, &in) == -1)
			goto out;
		rc = 0;
		goto out;
	}
	*bad = "a done or failed line for an intent that was not begun";
	if (!json_long(obj, "id", &id) || (known = intent_find(st, id)) == NULL)
		goto out;
	rc = 0;
	if (known->status != STATE_INTENT_OPEN)
		goto out;
	if (strcmp(op, "failed") == 0) {
		known->status = STATE_INTENT_FAILED;
	} else if (strcmp(op, "done") == 0) {
		*bad = "a done line without a usable \"created_id\"";
		created = json_str(obj, "created_id");
		if (!id_ok(created) || intent_fold(st, known, created) == -1)
			rc = -1;
	} else {
		*bad = "an unknown \"op\"";
		rc = -1;
	}
out:
	cJSON_Delete(obj);
	return rc;
}

/*
 * Apply the journal's lines past folded (and, when writable, open it for appending). A last
 * line without its newline is a write cut short by a kill: cut off (when writable) and
 * ignored. Any other line that does not read sets needs_reconcile; a copy of the journal is
 * kept beside it for the admin.
 */
static enum state_status
journal_open(struct state *st, long folded, bool writable, char *err, size_t errlen)
{
	char path[PATH_MAX], aside[PATH_MAX];
	char *text = NULL;
	size_t len = 0, whole, bad_lines = 0;
	const char *bad = NULL;
	struct stat sb;

	if (fileio_path_in(st->dir, JOURNAL_FILE, path) == -1)
		return fail(err, errlen, "state_dir \"%s\" is too long", st->dir);
	if (writable && (st->journal_fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY, 0600)) == -1)
		return fail(err, errlen, "cannot open journal \"%s\": %s", path, strerror(errno));
	/* empty, as every save leaves it: nothing to read (nor a buffer of the cap to make) */
	if ((writable ? fstat(st->journal_fd, &sb) : stat(path, &sb)) == 0 &&
	    S_ISREG(sb.st_mode) && sb.st_size == 0)
		return STATE_OK;
	switch (fileio_read(path, STATE_MAX_FILE_BYTES, &text, &len)) {
	case FILEIO_OK:
		break;
	case FILEIO_TOO_BIG:
		return fail(err, errlen, "journal \"%s\" is larger than %d bytes", path,
		    STATE_MAX_FILE_BYTES);
	default:
		if (!writable && errno == ENOENT)
			return STATE_OK;
		return fail(err, errlen, "cannot read journal \"%s\": %s", path, strerror(errno));
	}
	for (whole = len; whole > 0 && text[whole - 1] != '\n'; whole--)
		continue;
	if (whole < len && writable) {
		log_warn("journal \"%s\": dropped a torn last line (%zu bytes) left by a run stopped "
		    "while writing it", path, len - whole);
		if (ftruncate(st->journal_fd, (off_t)whole) == -1) {
			free(text);
			return fail(err, errlen, "cannot cut the torn line off journal \"%s\": %s",
			    path, strerror(errno));
		}
	}
	for (size_t at = 0; at < whole; ) {
		size_t end = at;
		const char *why;

		while (text[end] != '\n')
			end++;
		if (replay_line(st, text + at, end - at, folded, &why) == -1 && bad_lines++ == 0)
			bad = why;
		at = end + 1;
	}
	if (bad_lines > 0) {
		st->needs_reconcile = true;
		st->changed = true;
		if (writable && aside_name(path, aside) == 0 &&
		    fileio_write_atomic(aside, text, len, 0600) == 0)
			log_error("journal \"%s\": %zu lines do not read (first: %s); kept a copy in "
			    "\"%s\"; nothing will be created until bridge has reconciled with Jamf",
			    path, bad_lines, bad, aside);
		else
			log_error("journal \"%s\": %zu lines do not read (first: %s); nothing will "
			    "be created until bridge has reconciled with Jamf", path, bad_lines, bad);
	}
	free(text);
	return STATE_OK;
}

/* Load state_dir into st; writable: to change it, under the lock (see state.h). */
static enum state_status
load(struct state *st, const char *state_dir, bool writable, char *err, size_t errlen)
{
	char path[PATH_MAX], why[256];
	long folded = 0;
	size_t open_intents;

	memset(st, 0, sizeof(*st));
	st->journal_fd = -1;
	if (fileio_path_in(state_dir, STATE_FILE, path) == -1)
		return fail(err, errlen, "state_dir \"%s\" is too long", state_dir);
	if ((st->dir = strdup(state_dir)) == NULL)
		return fail(err, errlen, "out of memory");
	/* a tenant's own folder (state_dir/<tenant>) is made on its first run */
	if (writable && fileio_mkdirs(state_dir, 0700) == -1) {
		fail(err, errlen, "cannot create the state folder \"%s\": %s", state_dir,
		    strerror(errno));
		goto out;
	}
	switch (read_state_file(st, path, &folded, why, sizeof(why))) {
	case LOAD_OK:
		break;
	case LOAD_MISSING:
		st->needs_reconcile = true;
		st->changed = true;
		if (writable)
			log_info("no state file \"%s\": a first run (or it was removed), so bridge "
			    "reconciles with Jamf before creating anything", path);
		break;
	case LOAD_CORRUPT:
		folded = 0;
		if (move_aside(st, path, why, writable, err, errlen) != STATE_OK)
			goto out;
		break;
	case LOAD_REFUSED:
	case LOAD_OTHER_LAYOUT:  /* read_state_file() read it whole */
		fail(err, errlen, "cannot use state file \"%s\": %s", path, why);
		goto out;
	}
	intents_order(st);
	if (writable)
		remove_stale_temps(st->dir);
	if (journal_open(st, folded, writable, err, errlen) != STATE_OK)
		goto out;
	if (st->last_seq < folded)
		st->last_seq = folded;
	st->first_new_id = st->last_seq + 1;
	records_trim(st);
	if ((open_intents = state_unfinished(st)) > 0 && writable)
		log_warn("%zu creates of an earlier run were interrupted; they are looked up in "
		    "Jamf before anything else is created", open_intents);
	return STATE_OK;
out:
	state_release(st);
	return STATE_ERROR;
}

enum state_status
state_load(struct state *st, const char *state_dir, char *err, size_t errlen)
{
	return load(st, state_dir, true, err, errlen);
}

enum state_status
state_load_readonly(struct state *st, const char *state_dir, char *err, size_t errlen)
{
	return load(st, state_dir, false, err, errlen);
}

/* ---- saving ---- */

#define WRITER_TIMES 16  /* last times kept, one per member by its place in the table */

/* state.json being written: a temp file beside it, filled through a buffer. */
struct state_writer {
	int fd;
	char *buf;   /* WRITE_BUF_BYTES */
	size_t len;  /* bytes in buf */
	off_t written;   /* bytes written to fd */
	off_t flushing;  /* of those, the ones whose writeback was started (writer_flush()) */
	/* the last time each member wrote, and that as text: the records share their times */
	time_t time[WRITER_TIMES];
	char time_text[WRITER_TIMES][ISO_TIME_BYTES];
};

/* Write out what w holds; 0, or -1 with errno. */
static int
writer_flush(struct state_writer *w)
{
	const char *p = w->buf;

	while (w->len > 0) {
		ssize_t n = write(w->fd, p, w->len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		w->len -= (size_t)n;
		w->written += n;
	}
#ifdef SYNC_FILE_RANGE_WRITE
	/*
	 * Start the disk writes of each WRITEBACK_BYTES written, so that they go on while the
	 * rest is formatted and the closing fsync() waits for little more than the tail. Only a
	 * head start: whether it works or not, the fsync() makes the file durable.
	 */
	if (w->written - w->flushing >= WRITEBACK_BYTES) {
		(void)sync_file_range(w->fd, w->flushing, w->written - w->flushing,
		    SYNC_FILE_RANGE_WRITE);
		w->flushing = w->written;
	}
#endif
	return 0;
}

/* Append s to w; 0, or -1 with errno. */
static int
writer_put(struct state_writer *w, const char *s)
{
	size_t n = strlen(s);

	if (n > WRITE_BUF_BYTES - w->len && writer_flush(w) == -1)
		return -1;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	return 0;
}

/*
 * Append a line that print() writes into the room it is given (its length, or 0 when it does
 * not fit): into what is left of w's buffer, or after a flush into all of it. 0, or -1 with
 * errno.
 */
static int
writer_line(struct state_writer *w, size_t (*print)(void *ctx, char *out, size_t room),
    void *ctx)
{
	for (int tries = 0; tries < 2; tries++) {
		size_t n = print(ctx, w->buf + w->len, WRITE_BUF_BYTES - w->len);

		if (n > 0) {
			w->len += n;
			return 0;
		}
		if (w->len == 0)
			break;
		if (writer_flush(w) == -1)
			return -1;
	}
	/* record_invalid() keeps every record far below a line of WRITE_BUF_BYTES */
	return errno = EOVERFLOW, -1;
}

/* A cJSON object to print on one line (json_line()). */
struct json_line {
	cJSON *obj;
	bool open;          /* its closing brace becomes a comma, leaving it open */
	const char *after;
};

static size_t
json_line(void *ctx, char *out, size_t room)
{
	const struct json_line *l = ctx;
	size_t tail = strlen(l->after) + 1, n;

	if (room <= tail || !cJSON_PrintPreallocated(l->obj, out, (int)(room - tail), false))
		return 0;
	n = strlen(out);
	if (l->open)
		out[n - 1] = ',';
	memcpy(out + n, l->after, tail - 1);
	return n + tail - 1;
}

/*
 * Append obj printed on one line (cJSON prints it straight into w's buffer), then after; with
 * open, the object's closing brace becomes a comma, leaving it open. 0, or -1 with errno.
 */
static int
writer_json(struct state_writer *w, cJSON *obj, bool open, const char *after)
{
	return writer_line(w, json_line, &(struct json_line){obj, open, after});
}

/* s as a JSON string into out, escaped as cJSON prints one; its length, or 0: not in room. */
static size_t
text_string(char *out, size_t room, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	static const char named[] = "\"\\\b\f\n\r\t", as[] = "\"\\bfnrt";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (room < 2)
		return 0;
	out[o++] = '"';
	for (;; p++) {
		const unsigned char *run = p;
		const char *hit;
		size_t n;

		/* what needs no escape is copied a run at a time */
		while (*p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		n = (size_t)(p - run);
		if (room - o < n + 7)  /* the run, the longest escape, and the closing quote */
			return 0;
		memcpy(out + o, run, n);
		o += n;
		if (*p == '\0')
			break;
		if ((hit = strchr(named, *p)) != NULL) {
			out[o++] = '\\';
			out[o++] = as[hit - named];
		} else {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[*p >> 4];
			out[o + 5] = hex[*p & 15];
			o += 6;
		}
	}
	out[o++] = '"';
	return o;
}

/*
 * rec (of type t) as one line of JSON, as record_json() would print, then after, into out;
 * its length, or 0 when that does not fit in room. Written straight: the 75,000 plans of a
 * large fleet are 24 MB of these.
 */
static size_t
record_text(struct state_writer *w, const struct record_type *t, const void *rec,
    const char *after, char *out, size_t room)
{
	size_t o = 0, n;

#define TEXT_PUT(text, len) do {					\
		if (room - o < (len))					\
			return 0;					\
		memcpy(out + o, (text), (len));				\
		o += (len);						\
	} while (0)
	TEXT_PUT("{", 1);
	for (const struct field *f = t->fields; f->name != NULL; f++) {
		const char *s = NULL;
		size_t slot = (size_t)(f - t->fields) % WRITER_TIMES;  /* its last time's */
		time_t tv;

		if (f != t->fields)
			TEXT_PUT(",", 1);
		TEXT_PUT(f->key, f->keylen);  /* the tables' names: nothing to escape */
		switch (f->type) {
		case FIELD_ID:
		case FIELD_STRING:
		case FIELD_STRING_OPT:
			s = *CMEMBER(rec, f, char *);
			break;
		case FIELD_TIME:
		case FIELD_TIME_OPT:
			tv = *CMEMBER(rec, f, time_t);
			if (tv != w->time[slot] || w->time_text[slot][0] == '\0') {
				iso_time_format(tv, w->time_text[slot]);
				w->time[slot] = tv;
			}
			s = f->type == FIELD_TIME_OPT && tv == 0 ? NULL : w->time_text[slot];
			break;
		case FIELD_BOOL:
			if (*CMEMBER(rec, f, bool))
				TEXT_PUT("true", 4);
			else
				TEXT_PUT("false", 5);
			continue;
		}
		if (s == NULL)
			TEXT_PUT("null", 4);
		else if ((n = text_string(out + o, room - o, s)) == 0)
			return 0;
		else
			o += n;
	}
	TEXT_PUT("}", 1);
	TEXT_PUT(after, strlen(after));
#undef TEXT_PUT
	return o;
}

/* A record to write on one line (record_line()). */
struct record_line {
	struct state_writer *w;
	const struct record_type *t;
	const void *rec;
	const char *after;
};

static size_t
record_line(void *ctx, char *out, size_t room)
{
	const struct record_line *l = ctx;

	return record_text(l->w, l->t, l->rec, l->after, out, room);
}

/* Append rec (of type t) on one line, then after; 0, or -1 with errno. */
static int
writer_record(struct state_writer *w, const struct record_type *t, const void *rec,
    const char *after)
{
	return writer_line(w, record_line, &(struct record_line){w, t, rec, after});
}

/* Append array name of n records of kind t (v) to w; the last one closes the document. */
static int
write_records(struct state_writer *w, const char *name, const struct record_type *t,
    const char *v, size_t n, bool last)
{
	char open[32];

	snprintf(open, sizeof(open), "\"%s\":[\n", name);
	if (writer_put(w, open) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (writer_record(w, t, v + i * t->size, i + 1 < n ? ",\n" : "\n") == -1)
			return -1;
	return writer_put(w, last ? "]}\n" : "],\n");
}

/* Append the open intents of st to w, closing the document; 0, or -1 with errno. */
static int
write_intents(struct state_writer *w, struct state *st)
{
	size_t left = 0;

	for (size_t i = 0; i < st->nintents; i++)
		left += st->intents[i].status == STATE_INTENT_OPEN;
	if (writer_put(w, "\"intents\":[\n") == -1)
		return -1;
	for (size_t i = 0; i < st->nintents; i++) {
		cJSON *in;
		int rc;

		if (st->intents[i].status != STATE_INTENT_OPEN)
			continue;
		in = intent_json(&st->intents[i]);
		rc = in != NULL ? writer_json(w, in, false, --left > 0 ? ",\n" : "\n") :
		    (errno = ENOMEM, -1);
		cJSON_Delete(in);
		if (rc == -1)
			return -1;
	}
	return writer_put(w, "]}\n");
}

/* Write st to w as state.json, a record a line (see the top of the file); 0 or -1 with errno. */
static int
write_document(struct state_writer *w, struct state *st, time_t now)
{
	cJSON *head = cJSON_CreateObject();
	char saved[ISO_TIME_BYTES];
	int rc;

	iso_time_format(now, saved);
	if (head == NULL ||
	    cJSON_AddNumberToObject(head, "format", STATE_FORMAT) == NULL ||
	    cJSON_AddStringToObject(head, "bridge", BRIDGE_VERSION) == NULL ||
	    cJSON_AddStringToObject(head, "saved_at", saved) == NULL ||
	    cJSON_AddBoolToObject(head, "needs_reconcile", st->needs_reconcile) == NULL ||
	    cJSON_AddNumberToObject(head, "journal_folded", (double)st->last_seq) == NULL) {
		cJSON_Delete(head);
		return errno = ENOMEM, -1;
	}
	rc = writer_json(w, head, true, "\n");
	cJSON_Delete(head);
	if (rc == -1)
		return -1;
	for (int k = 0; k < RECORD_NKINDS; k++) {
		size_t n;
		const char *v = record_array(st, (enum record_kind)k, &n);

		if (write_records(w, record_types[k].array, &record_types[k], v, n, false) == -1)
			return -1;
	}
	return write_intents(w, st);
}

/* fsync the folder dir, so that a rename in it is durable; 0 or -1 with errno. */
static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/*
 * Replace state.json (path, in st->dir) with st durably, as fileio_write_atomic() replaces a
 * file with a buffer, only written as it goes: temp file, fsync, close, rename, fsync of the
 * folder. Readers see the old or the new file, never a mix. 0, or -1 with errno set (the temp
 * file is removed).
 */
static int
write_state_file(struct state *st, const char *path, time_t now)
{
	struct state_writer w = {.fd = -1};
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()), saved;

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return errno = ENAMETOOLONG, -1;
	if ((w.buf = malloc(WRITE_BUF_BYTES)) == NULL)
		return -1;
	if ((w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		saved = errno;
		free(w.buf);
		return errno = saved, -1;
	}
	if (write_document(&w, st, now) == -1 || writer_flush(&w) == -1 || fsync(w.fd) == -1)
		goto fail;
	n = close(w.fd);
	w.fd = -1;
	if (n == -1 || rename(tmp, path) == -1)
		goto fail;
	free(w.buf);
	return fsync_dir(st->dir);
fail:
	saved = errno;
	if (w.fd != -1)
		(void)close(w.fd);
	(void)unlink(tmp);
	free(w.buf);
	errno = saved;
	return -1;
}

/* Drop the intents that are done or failed: the saved file holds their outcome. */
static void
drop_finished_intents(struct state *st)
{
	size_t kept = 0;

	for (size_t i = 0; i < st->nintents; i++)
		if (st->intents[i].status == STATE_INTENT_OPEN)
			st->intents[kept++] = st->intents[i];
	st->nintents = kept;
}

enum state_status
state_save(struct state *st, char *err, size_t errlen)
{
	char path[PATH_MAX];
	time_t now = time(NULL);
	struct stat sb;

	if (st->dir == NULL || st->journal_fd == -1)
		return fail(err, errlen, "the state was not loaded to be changed");
	state_outcomes_write(st);
	if (fileio_path_in(st->dir, STATE_FILE, path) == -1)
		return fail(err, errlen, "state_dir \"%s\" is too long", st->dir);
	if (st->changed) {
		if (write_state_file(st, path, now) == -1)
			return fail(err, errlen, "cannot save state file \"%s\": %s", path,
			    errno == ENOMEM ? "out of memory" : strerror(errno));
		st->saved_at = now;
		st->changed = false;
		drop_finished_intents(st);
	}

	/*
	 * The file now holds every journal line up to journal_folded, durably. Emptying the
	 * journal only keeps it short: if this fails or is lost, the next load skips those lines.
	 * Unchanged, the journal holds only such lines, if any (see the top of the file).
	 */
	if (!st->journal_broken && fstat(st->journal_fd, &sb) == 0 && sb.st_size == 0)
		;  /* nothing to empty: no fsync either */
	else if (ftruncate(st->journal_fd, 0) == -1 || fsync(st->journal_fd) == -1)
		log_warn("cannot empty journal in \"%s\": %s (harmless: it is read again and "
		    "skipped)", st->dir, strerror(errno));
	else
		st->journal_broken = false;
	return STATE_OK;
}

void
state_release(struct state *st)
{
	if (st->journal_fd != -1)
		state_outcomes_write(st);
	records_clear(st);
	free(st->held);
	if (st->journal_fd != -1)
		(void)close(st->journal_fd);
	free(st->moved_aside);
	free(st->dir);
	memset(st, 0, sizeof(*st));
	st->journal_fd = -1;
}

/* ---- intents ---- */

/*
 * Append whole lines to the journal; with sync, they are on disk when it returns. A write cut
 * short is cut back off, so a torn line can only ever be the last one. 0 or -1 with errno.
 */
static int
journal_append(struct state *st, const char *buf, size_t len, bool sync)
{
	struct stat sb;
	int saved;

	if (st->held_len > 0)
		state_outcomes_write(st);  /* lines keep their order (it empties held first) */
	if (st->journal_broken)
		return errno = EIO, -1;
	st->changed = true;  /* the journal is emptied on save: the file must hold what it says */
	if (fstat(st->journal_fd, &sb) == -1)
		return -1;
	while (len > 0) {
		ssize_t w = write(st->journal_fd, buf, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			goto cut;
		buf += w;
		len -= (size_t)w;
	}
	if (sync && fsync(st->journal_fd) == -1) {
		/* after a failed fsync nothing is known about the file: write no more to it */
		st->journal_broken = true;
		return -1;
	}
	return 0;
cut:
	saved = errno;
	if (ftruncate(st->journal_fd, sb.st_size) == -1)
		st->journal_broken = true;
	errno = saved;
	return -1;
}

/* Keep line[0..len) for state_outcomes_write(); false when out of memory. */
static bool
hold_line(struct state *st, const char *line, size_t len)
{
	if (st->held_cap - st->held_len < len) {
		size_t cap = st->held_cap ? st->held_cap : 64 * 1024;
		char *grown;

		while (cap - st->held_len < len)
			cap *= 2;
		if ((grown = realloc(st->held, cap)) == NULL)
			return false;
		st->held = grown;
		st->held_cap = cap;
	}
	memcpy(st->held + st->held_len, line, len);
	st->held_len += len;
	return true;
}

void
state_outcomes_hold(struct state *st)
{
	st->holding = true;
}

void
state_outcomes_write(struct state *st)
{
	size_t len = st->held_len;

	st->holding = false;
	if (len == 0)
		return;
	st->held_len = 0;  /* first: journal_append() must not write them again */
	if (journal_append(st, st->held, len, false) == -1)
		log_warn("cannot write journal in \"%s\": %s (the next run looks the intents of "
		    "this batch up in Jamf)", st->dir, strerror(errno));
}

/*
 * Append obj as one line (not synced: see the top of the file), or keep it while outcomes
 * are held. 0 or -1 with errno.
 */
static int
journal_append_line(struct state *st, cJSON *obj)
{
	char *text = obj != NULL ? json_print(obj) : NULL, *line;
	size_t len;
	int rc;

	if (text == NULL)
		return errno = ENOMEM, -1;
	len = strlen(text);
	if (st->holding && !st->journal_broken) {
		bool kept;

		text[len] = '\n';  /* over the NUL: the line is copied by length */
		kept = hold_line(st, text, len + 1);
		free(text);
		return kept ? 0 : (errno = ENOMEM, -1);
	}
	if ((line = realloc(text, len + 2)) == NULL) {
		free(text);
		return errno = ENOMEM, -1;
	}
	memcpy(line + len, "\n", 2);
	rc = journal_append(st, line, len + 1, false);
	free(line);
	return rc;
}

const char *
state_create_blocked(const struct state *st)
{
	if (st->needs_reconcile)
		return "the state must first be reconciled with Jamf (it was missing or corrupt)";
	if (state_unfinished(st) > 0)
		return "creates of an earlier run were interrupted and must first be looked up in Jamf";
	if (st->journal_broken)
		return "the journal could not be written";
	if (st->journal_fd == -1)
		return "the state was not loaded to be changed";
	return NULL;
}

/*
 * Begin n intents of kind, one per record in recs (each size bytes): check and copy them,
 * write their begin lines with one write and one fsync, then add them to st.
 */
static enum state_status
begin(struct state *st, enum state_kind kind, const void *recs, size_t size, size_t n,
    long *ids, char *err, size_t errlen)
{
	const struct record_type *t = &record_types[intent_record_kind(kind)];
	const char *blocked = state_create_blocked(st), *bad;
	struct state_intent *fresh;
	char *buf = NULL;
	size_t len = 0, cap = 0, i;
	time_t now = time(NULL);
	enum state_status rc = STATE_ERROR;

	if (blocked != NULL)
		return fail(err, errlen, "cannot create a %s: %s", kind_names[kind], blocked);
	if (n == 0)
		return STATE_OK;
	for (i = 0; i < n; i++)
		if ((bad = record_invalid(t, (const char *)recs + i * size,
		    kind == STATE_KIND_DEPLOY)) != NULL)
			return fail(err, errlen, "cannot create a %s: its %s is missing, too long or "
			    "out of range", kind_names[kind], bad);
	/*
	 * The new intents are made in the room past st's, and count only once the lines are on
	 * disk; their ids come after every other, so st->intents stays in the order of the ids.
	 */
	if (intents_reserve(st, n) == -1)
		goto oom;
	fresh = &st->intents[st->nintents];
	memset(fresh, 0, n * sizeof(*fresh));
	for (i = 0; i < n; i++) {
		struct state_intent *in = &fresh[i];
		cJSON *obj;
		char *line;
		size_t l;

		in->id = st->last_seq + 1 + (long)i;
		in->kind = kind;
		in->status = STATE_INTENT_OPEN;
		in->begun_at = now;
		if (record_copy(st, t, intent_record(in), (const char *)recs + i * size, NULL) == -1)
			goto oom;
		obj = intent_json(in);
		if (obj == NULL || cJSON_AddNumberToObject(obj, "seq", (double)in->id) == NULL ||
		    cJSON_AddStringToObject(obj, "op", "begin") == NULL ||
		    (line = json_print(obj)) == NULL) {
			cJSON_Delete(obj);
			goto oom;
		}
		cJSON_Delete(obj);
		l = strlen(line);
		if (len + l + 1 > cap) {
			char *nb = realloc(buf, cap = (len + l + 1) * 2);

			if (nb == NULL) {
				free(line);
				goto oom;
			}
			buf = nb;
		}
		memcpy(buf + len, line, l);
		buf[len + l] = '\n';
		len += l + 1;
		free(line);
	}
	/* ids are never used twice, even when this write fails half-way */
	st->last_seq += (long)n;
	if (journal_append(st, buf, len, true) == -1) {
		fail(err, errlen, "cannot write journal in \"%s\": %s", st->dir, strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++)
		ids[i] = fresh[i].id;
	st->nintents += n;
	rc = STATE_OK;
	goto out;
oom:
	fail(err, errlen, "out of memory");
out:
	free(buf);
	return rc;
}

enum state_status
state_begin_plans(struct state *st, const struct state_plan *plans, size_t n, long *ids,
    char *err, size_t errlen)
{
	return begin(st, STATE_KIND_PLAN, plans, sizeof(*plans), n, ids, err, errlen);
}

enum state_status
state_begin_blueprint(struct state *st, const struct state_blueprint *b, long *id, char *err,
    size_t errlen)
{
	return begin(st, STATE_KIND_BLUEPRINT, b, sizeof(*b), 1, id, err, errlen);
}

enum state_status
state_begin_group(struct state *st, const struct state_group *g, long *id, char *err,
    size_t errlen)
{
	return begin(st, STATE_KIND_GROUP, g, sizeof(*g), 1, id, err, errlen);
}

enum state_status
state_begin_deploy(struct state *st, const struct state_blueprint *b, long *id, char *err,
    size_t errlen)
{
	return begin(st, STATE_KIND_DEPLOY, b, sizeof(*b), 1, id, err, errlen);
}

/* The open intent id of st, or NULL with err set. */
static struct state_intent *
open_intent(const struct state *st, long id, char *err, size_t errlen)
{
	struct state_intent *in = intent_find(st, id);

	if (in == NULL || in->status != STATE_INTENT_OPEN) {
		fail(err, errlen, "intent %ld is not open", id);
		return NULL;
	}
	return in;
}

/* Write a done or failed line for intent id; a failure only costs a lookup next run. */
static void
journal_outcome(struct state *st, long id, const char *op, const char *key, const char *value)
{
	cJSON *obj = cJSON_CreateObject();

	if (obj == NULL ||
	    cJSON_AddNumberToObject(obj, "seq", (double)++st->last_seq) == NULL ||
	    cJSON_AddStringToObject(obj, "op", op) == NULL ||
	    cJSON_AddNumberToObject(obj, "id", (double)id) == NULL ||
	    cJSON_AddStringToObject(obj, key, value) == NULL ||
	    journal_append_line(st, obj) == -1)
		log_warn("cannot write journal in \"%s\": %s (the next run looks intent %ld up "
		    "in Jamf)", st->dir, obj == NULL ? strerror(ENOMEM) : strerror(errno), id);
	cJSON_Delete(obj);
}

enum state_status
state_intent_done(struct state *st, long id, const char *created_id, char *err, size_t errlen)
{
	struct state_intent *in = open_intent(st, id, err, errlen);

	if (in == NULL)
		return STATE_ERROR;
	if (!id_ok(created_id))
		return fail(err, errlen, "intent %ld: the created id is empty or too long", id);
	journal_outcome(st, id, "done", "created_id", created_id);
	if (intent_fold(st, in, created_id) == -1)
		return fail(err, errlen, "out of memory");
	return STATE_OK;
}

enum state_status
state_intent_failed(struct state *st, long id, const char *reason, char *err, size_t errlen)
{
	struct state_intent *in = open_intent(st, id, err, errlen);
	char shortened[STATE_MAX_FIELD_BYTES + 1];

	if (in == NULL)
		return STATE_ERROR;
	snprintf(shortened, sizeof(shortened), "%s", reason != NULL ? reason : "");
	journal_outcome(st, id, "failed", "reason", shortened);
	in->status = STATE_INTENT_FAILED;
	return STATE_OK;
}

enum state_status
state_intent_resolve(struct state *st, long id, const char *found_id, char *err, size_t errlen)
{
	if (found_id != NULL)
		return state_intent_done(st, id, found_id, err, errlen);
	return state_intent_failed(st, id, "not found in Jamf after an interrupted run", err,
	    errlen);
}

bool
state_intent_unfinished(const struct state *st, const struct state_intent *in)
{
	return in->status == STATE_INTENT_OPEN && in->id < st->first_new_id;
}

size_t
state_unfinished(const struct state *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nintents; i++)
		if (state_intent_unfinished(st, &st->intents[i]))
			n++;
	return n;
}

bool
state_settled(const struct state *st)
{
	if (st->needs_reconcile)
		return false;
	for (size_t i = 0; i < st->nintents; i++)
		if (st->intents[i].status == STATE_INTENT_OPEN)
			return false;
	return true;
}

bool
state_identity(const char *state_dir, uint64_t *id)
{
	char path[PATH_MAX];
	struct stat sb;
	uint64_t v[4];

	if (fileio_path_in(state_dir, JOURNAL_FILE, path) == -1 ||
	    (stat(path, &sb) == 0 ? sb.st_size != 0 : errno != ENOENT) ||
	    fileio_path_in(state_dir, STATE_FILE, path) == -1 || stat(path, &sb) == -1 ||
	    !S_ISREG(sb.st_mode))
		return false;
	v[0] = (uint64_t)sb.st_ino;
	v[1] = (uint64_t)sb.st_size;
	v[2] = (uint64_t)sb.st_mtim.tv_sec;
	v[3] = (uint64_t)sb.st_mtim.tv_nsec;
	*id = hash_bytes(HASH_START, v, sizeof(v));
	return true;
}

void
state_reconciled(struct state *st)
{
	if (st->needs_reconcile)
		st->changed = true;
	st->needs_reconcile = false;
}

/* ---- records ---- */

int
state_put_plan(struct state *st, const struct state_plan *rec)
{
	return record_put(st, RECORD_PLAN, rec);
}

int
state_put_blueprint(struct state *st, const struct state_blueprint *rec)
{
	return record_put(st, RECORD_BLUEPRINT, rec);
}

int
state_put_group(struct state *st, const struct state_group *rec)
{
	return record_put(st, RECORD_GROUP, rec);
}

int
state_note_bsi(struct state *st, const char *bsi, time_t now)
{
	struct state_bsi *b;
	char *copy;

	if (state_find_bsi(st, bsi) != NULL)
		return 0;
	if (!id_ok(bsi) || now < 0 || now > ISO_TIME_LAST) {
		log_error("state: cannot record a BSI: its name is empty or too long");
		return -1;
	}
	if (!intern(st, bsi, &copy) || (b = record_append(st, RECORD_BSI)) == NULL) {
		log_error("state: out of memory");
		return -1;
	}
	b->bsi = copy;
	b->first_seen = now;
	st->changed = true;
	return 0;
}

int
state_note_ring(struct state *st, const char *policy, const char *ring, const char *bsi,
    time_t now)
{
	struct state_ring *r;
	char *p, *n, *b;

	if (state_find_ring(st, policy, ring, bsi) != NULL)
		return 0;
	if (!id_ok(policy) || !id_ok(ring) || !id_ok(bsi) || now < 0 || now > ISO_TIME_LAST) {
		log_error("state: cannot record a ring: a name is empty or too long");
		return -1;
	}
	if (!intern(st, policy, &p) || !intern(st, ring, &n) || !intern(st, bsi, &b) ||
	    (r = record_append(st, RECORD_RING)) == NULL) {
		log_error("state: out of memory");
		return -1;
	}
	r->policy = p;
	r->ring = n;
	r->bsi = b;
	r->started_at = now;
	st->changed = true;
	return 0;
}

int
state_plan_seen(struct state *st, const char *id, const char *jamf_state, const char *reason,
    time_t now)
{
	struct state_plan *p = record_find(st, RECORD_PLAN, id);
	char *seen, *why;

	if (p == NULL || !id_ok(jamf_state) || (reason != NULL && !id_ok(reason))) {
		log_error("state: no plan \"%s\" to record the state of, or the state is unusable",
		    id != NULL ? id : "");
		return -1;
	}
	if (!intern(st, jamf_state, &seen) || !intern(st, reason, &why)) {
		log_error("state: out of memory");
		return -1;
	}
	/* interned: the same text is the same pointer */
	if (p->last_state == seen && p->last_reason == why)
		return 0;
	if (p->last_state != seen)
		p->last_state_at = now;
	p->last_state = seen;
	p->last_reason = why;
	st->changed = true;
	return 0;
}

const struct state_plan *
state_find_plan(const struct state *st, const char *id)
{
	return record_find(st, RECORD_PLAN, id);
}

/* p with its device id read as a number once, not at every comparison. */
static struct state_plan_ref
state_plan_ref(const struct state_plan *p)
{
	return (struct state_plan_ref){strtol(p->device_id, NULL, 10), p};
}

/* Devices as state_plan_ref_cmp() orders them. */
static int
cmp_device(long xnum, const char *x, long ynum, const char *y)
{
	return xnum != ynum ? (xnum > ynum) - (xnum < ynum) : strcmp(x, y);
}

/* Plans as state_plans_by_device() orders them, for qsort. */
static int
state_plan_ref_cmp(const void *a, const void *b)
{
	const struct state_plan_ref *x = a, *y = b;
	int c = cmp_device(x->device, x->p->device_id, y->device, y->p->device_id);

	if (c != 0)
		return c;
	return (x->p->created_at > y->p->created_at) - (x->p->created_at < y->p->created_at);
}

const struct state_plan_ref *
state_plans_by_device(struct state *st)
{
	bool sorted = true;

	if (st->by_device != NULL)
		return st->by_device;
	if ((st->by_device = calloc(st->nplans > 0 ? st->nplans : 1,
	    sizeof(*st->by_device))) == NULL)
		return NULL;
	for (size_t i = 0; i < st->nplans; i++) {
		st->by_device[i] = state_plan_ref(&st->plans[i]);
		if (i > 0 && state_plan_ref_cmp(&st->by_device[i - 1], &st->by_device[i]) > 0)
			sorted = false;
	}
	/* plans made for an inventory read in order of id are in order already */
	if (!sorted)
		qsort(st->by_device, st->nplans, sizeof(*st->by_device), state_plan_ref_cmp);
	return st->by_device;
}

size_t
state_plan_refs_first(const struct state_plan_ref *v, size_t n, const char *device)
{
	long num = strtol(device, NULL, 10);
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_device(v[mid].device, v[mid].p->device_id, num, device) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct state_blueprint *
state_find_blueprint(const struct state *st, const char *id)
{
	return record_find(st, RECORD_BLUEPRINT, id);
}

const struct state_group *
state_find_group(const struct state *st, const char *id)
{
	return record_find(st, RECORD_GROUP, id);
}

const struct state_bsi *
state_find_bsi(const struct state *st, const char *bsi)
{
	return record_find(st, RECORD_BSI, bsi);
}

const struct state_ring *
state_find_ring(const struct state *st, const char *policy, const char *ring,
    const char *bsi)
{
	const char *const keys[MAX_KEYS] = {policy, ring, bsi};

	return record_find_keys(st, RECORD_RING, keys);
}

const struct state_intent *
state_find_intent(const struct state *st, long id)
{
	return intent_find(st, id);
}

const char *
state_kind_name(enum state_kind kind)
{
	return kind_names[kind];
}
