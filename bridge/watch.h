/*
 * Watching what bridge created: where each targeted device stands.
 *
 * watch_classify() is pure (plain structs in, a verdict out; the caller passes "now"). The
 * first rule that holds wins:
 *  1. DONE          inventory shows the device at or past its target (the final word),
 *                   and its plan did not fail;
 *     COMPLIANT     the same, but the plan failed (typically DOWNGRADE_NOT_SUPPORTED: the
 *                   device was already there). Never a failure, never alerted;
 *  2. FAILED        the plan failed or was canceled (Jamf's reason, explained by reasons.h),
 *                   or the blueprint's deployment FAILED;
 *  3. LATE          deadline + watch.deadline_grace has passed (the deadline is device-local;
 *                   it is read as UTC, so it is late by up to a time zone's offset);
 *  4. STUCK         the plan state has not changed for watch.stuck_after (for a plan Jamf
 *                   has not validated yet, Init or PendingPlanValidation, for
 *                   watch.stuck_pending_after);
 *  5. IN_PROGRESS   anything else: pending, running, or completed in Jamf while inventory does
 *                   not show the target yet.
 *
 * watch_follow_plans() reads bridge's unfinished plans in bulk through the plans list and a
 * planUuid=in=(...) filter, and records each state and reason in the state.
 */
#ifndef BRIDGE_WATCH_H
#define BRIDGE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <cJSON.h>

struct config_watch;
struct jamf_device;
struct jamf_list;
struct jamf_reply;
struct jamf_session;
struct reason_info;
struct state;

enum watch_class {
	WATCH_DONE,
	WATCH_COMPLIANT,
	WATCH_IN_PROGRESS,
	WATCH_STUCK,
	WATCH_FAILED,
	WATCH_LATE,
	WATCH_NCLASSES
};

/* One device bridge targeted, and what Jamf says of it. */
struct watch_item {
	const struct jamf_device *device;  /* NULL: no longer in inventory */
	const char *version;               /* the target version */
	const char *build;                 /* its build; NULL: a base update */
	const char *deadline;              /* "YYYY-MM-DDTHH:MM:SS", device-local */
	const char *state;                 /* Jamf's plan state (or deployment state); NULL */
	const char *reason;                /* Jamf's first errorReasons value; NULL */
	time_t state_since;                /* when that state was first seen; 0: unknown */
};

struct watch_verdict {
	enum watch_class cls;
	const struct reason_info *info;    /* FAILED/COMPLIANT with a known reason, else NULL */
};

#define WATCH_NOTE_BYTES 192

/* "done", "compliant", "in_progress", "stuck", "failed", "late". */
const char *watch_class_name(enum watch_class c);

/* Whether the device's inventory shows it at or past version (and build, when not NULL). */
bool watch_at_target(const struct jamf_device *d, const char *version, const char *build);

/*
 * Classify one item into out, and when note is not NULL say why in one line there (rows of a
 * large fleet keep no note: status asks for it with watch_row_note()).
 */
void watch_classify(const struct watch_item *it, const struct config_watch *w, time_t now,
    struct watch_verdict *out, char *note, size_t notesize);

/* One device bridge targets, from the state, with its verdict. */
struct watch_row {
	const char *device_id;
	const struct jamf_device *device;  /* NULL: no longer in inventory */
	const char *ring;
	const char *version;
	const char *build;                 /* NULL: a base update */
	const char *deadline;
	const char *state;                 /* plan state, or blueprint deployment state */
	const char *reason;
	time_t since;
	struct watch_verdict v;
};

/*
 * Every device the state says bridge targets for policy, classified: one row per device for
 * its newest plan (older ones were superseded or retried), and for blueprints one per member
 * of its group (members as inventory lists them, state the last deployment state the state
 * recorded). Devices no longer in inventory are left out. *rows (free it) and *n; 0, or -1
 * when out of memory.
 */
int watch_rows(struct state *st, const char *policy, const struct jamf_device *devices,
    size_t ndevices, const struct config_watch *w, time_t now, struct watch_row **rows,
    size_t *n);

/* The note of a row from watch_rows() (with the same w and now), into note. */
void watch_row_note(const struct watch_row *row, const struct config_watch *w, time_t now,
    char *note, size_t size);

#define WATCH_MAX_REASONS 64  /* distinct failure reasons a tally keeps */

struct watch_reason_count {
	const char *reason;   /* Jamf's errorReasons value (the state's string) */
	size_t n;
};

/* Rows counted by class, with the failure reasons, most first. */
struct watch_tally {
	size_t counts[WATCH_NCLASSES];
	size_t rows;
	struct watch_reason_count reasons[WATCH_MAX_REASONS];
	size_t nreasons;
};

/* Count rows[0..n) into *t (zeroed first). */
void watch_tally(const struct watch_row *rows, size_t n, struct watch_tally *t);

/* Counts by class as JSON members of obj: {"done": N, "compliant": N, ...}. */
void watch_counts_json(cJSON *obj, const size_t counts[WATCH_NCLASSES]);

/* Counts by class as text on out: " N done, N compliant, ..." (no line break). */
void watch_counts_print(FILE *out, const size_t counts[WATCH_NCLASSES]);

/*
 * Read, in bulk, every plan of the state that Jamf has not finished (as last seen), and record
 * its state and first reason (state_plan_seen). Plans Jamf no longer knows are logged and
 * kept. *read gets how many were read. 0, or -1 with r describing the failure.
 */
int watch_follow_plans(struct jamf_session *pro, struct state *st, time_t now, size_t *read,
    struct jamf_reply *r);

/*
 * watch_follow_plans() in steps, for a caller that reads the list of Jamf's unfinished plans
 * together with other lists (sync reads it with the inventories, jamf_pro_read_lists):
 * begin picks the plans to follow and, when they are many, sets up *list and *with_list;
 * once that list was read, end takes its outcome (list; NULL without one: its reply is
 * released, or moved into r when it failed) and reads the others by id. f->read counts the
 * plans read. Each returns 0 or -1 (r); release f after begin, whatever happened. With adopt
 * (sync, while the state cannot be trusted: st->needs_reconcile), the list is always read and
 * its plans the state lacks are adopted (enforce_adopt_plans()); once it was read whole, end
 * marks the state reconciled.
 */
struct watch_follow {
	struct state *st;
	time_t now;
	unsigned char *marks;/* by place in st->plans when begun: FOLLOWED, LISTED (watch.c) */
	size_t nmarks;       /* st->nplans when begun (plans adopted since come after) */
	size_t n;            /* the plans followed */
	size_t read;         /* out: plans whose state was read */
	bool adopt;          /* the list's plans the state lacks are taken in (reconcile) */
	size_t adopted;      /* out: how many */
	char filter[256];
};

int watch_follow_begin(struct watch_follow *f, struct state *st, time_t now, bool adopt,
    struct jamf_list *list, bool *with_list, struct jamf_reply *r);
int watch_follow_end(struct watch_follow *f, struct jamf_session *pro, struct jamf_list *list,
    struct jamf_reply *r);
void watch_follow_release(struct watch_follow *f);

#endif
