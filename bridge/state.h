/*
 * What bridge remembers between runs, per tenant, in its state_dir:
 *
 *   bridge.lock     held (flock) for the whole run, so a second run stops at once (exit 5)
 *   state.json      the state file: what bridge created in Jamf and when rings and BSIs started
 *   journal.jsonl   the intent journal: every create, written down before it is sent
 *
 * A create goes: state_begin_*() (the intent is on disk) → send the request →
 * state_intent_done() with the id Jamf gave (or state_intent_failed() when Jamf refused it).
 * When a run dies in between, the next run finds the intent unfinished, looks Jamf up and
 * calls state_intent_resolve(); until then, and while needs_reconcile is set, state_begin_*()
 * refuses, so a kill at any moment never leads to a duplicate. The formats and the argument
 * for why this holds are at the top of state.c.
 *
 * The records are plain structs that the decision step and the tests read directly; change
 * them only through the functions below. Their strings belong to the state and stay valid
 * until state_release(), also when a record changes; never free or change them.
 */
#ifndef BRIDGE_STATE_H
#define BRIDGE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "strtab.h"

#define STATE_FORMAT 1                             /* the state file format this bridge writes */
#define STATE_MAX_FILE_BYTES (64 * 1024 * 1024)    /* state.json and journal.jsonl, each */
#define STATE_MAX_FIELD_BYTES 1024                 /* any string in them */

enum state_status {
	STATE_OK = 0,
	STATE_ERROR = -1,   /* err says why */
	STATE_LOCKED = -2,  /* another process holds the lock; err names the file and its pid */
};

/* A BSI as bridge first saw it in the feed (deadlines may count from then). */
struct state_bsi {
	char *bsi;           /* the caller's identity for it, e.g. "macOS 26.3.1 (a) 25D771280a" */
	time_t first_seen;
};

/* When a ring of a policy started on a BSI (its first create for it). */
struct state_ring {
	char *policy;
	char *ring;
	char *bsi;           /* the BSI's identity, as in struct state_bsi; NULL in older files */
	time_t started_at;
};

/* A Jamf Pro managed software update plan that bridge created, for one device. */
struct state_plan {
	char *id;            /* planUuid; NULL only inside an intent, before Jamf answered */
	char *device_id;
	char *policy;
	char *ring;
	char *platform;      /* "macOS", "iOS" */
	char *version;       /* specificVersion, e.g. "26.3.1" */
	char *build;         /* buildVersion, e.g. "25D771280a"; NULL: a base update */
	char *deadline;      /* forceInstallLocalDateTime, device-local "2026-11-23T10:00:00" */
	time_t created_at;
	char *last_state;    /* Jamf's status.state when last seen; NULL: not seen yet */
	time_t last_state_at;  /* when last_state was first seen; 0: never */
	char *last_reason;   /* Jamf's first errorReasons value then; NULL: none */
};

/* A Jamf Platform blueprint that bridge created, for one policy, ring and target. */
struct state_blueprint {
	char *id;            /* NULL only inside an intent, before Jamf answered */
	char *name;
	char *policy;
	char *ring;
	char *platform;
	char *version;       /* TargetOSVersion */
	char *build;         /* TargetBuildVersion; NULL: a base update */
	char *deadline;      /* TargetLocalDateTime */
	char *group_id;      /* the static group it is scoped to (Jamf Pro id); NULL: none yet */
	char *group_platform_id;  /* that group's platform UUID, as the scope needs it */
	bool deployed;       /* deployed since it was created or last changed */
	time_t created_at;
	char *last_state;    /* lastDeployment.state when last seen; NULL: not seen yet */
};

/* A static device group that bridge created. */
struct state_group {
	char *id;            /* NULL only inside an intent, before Jamf answered */
	char *name;
	time_t created_at;
	char *devices;       /* "computer" or "mobile_device"; NULL (older files): computer */
};

enum state_kind {
	STATE_KIND_PLAN,       /* creating intent.plan */
	STATE_KIND_BLUEPRINT,  /* creating intent.blueprint */
	STATE_KIND_GROUP,      /* creating intent.group */
	STATE_KIND_DEPLOY,     /* deploying intent.blueprint (id set) */
};

enum state_intent_status {
	STATE_INTENT_OPEN,     /* begun; whether Jamf got it is not known */
	STATE_INTENT_DONE,     /* created; its record is in the state */
	STATE_INTENT_FAILED,   /* not created */
};

/* A create in flight, with the record it becomes once done. */
struct state_intent {
	long id;               /* unique in this state_dir, increasing */
	enum state_kind kind;
	enum state_intent_status status;
	time_t begun_at;
	struct state_plan plan;            /* the one that kind names; the others stay empty */
	struct state_blueprint blueprint;
	struct state_group group;
};

struct state_index;

struct state {
	struct state_bsi *bsis;
	size_t nbsis;
	struct state_ring *rings;
	size_t nrings;
	struct state_plan *plans;
	size_t nplans;
	struct state_blueprint *blueprints;
	size_t nblueprints;
	struct state_group *groups;
	size_t ngroups;
	struct state_intent *intents;  /* open ones from earlier runs, and this run's */
	size_t nintents;

	/*
	 * Set when the state cannot be trusted to know everything bridge created: no state file
	 * (a first run, or someone removed it), a corrupt one moved aside, or an earlier run that
	 * saved before reconciling. No create until the caller rebuilt the records from Jamf
	 * and called state_reconciled().
	 */
	bool needs_reconcile;
	char *moved_aside;   /* where a corrupt state file or journal went; NULL: none */
	time_t saved_at;     /* when the file was last written; 0: never */

	/* private to state.c */
	char *dir;
	struct strtab strings;  /* every string of the records and intents, each kept once */
	size_t room[6];      /* allocated: bsis, rings, plans, blueprints, groups, intents */
	bool changed;        /* since loaded or saved: state_save() has something to write */
	int journal_fd;      /* -1: loaded read-only */
	long last_seq;       /* the last journal line number used */
	long first_new_id;   /* intents with a smaller id come from earlier runs */
	bool journal_broken; /* a write failed half-way: no more intents this run */
	bool holding;        /* outcome lines go to held (state_outcomes_hold) */
	char *held;          /* outcome lines not written yet */
	size_t held_len, held_cap;
	struct state_index *index;  /* records by key, per kind; made on first lookup */
	struct state_plan_ref *by_device;  /* state_plans_by_device(); NULL: to be made */
};

struct state_lock {
	int fd;              /* -1: not held */
};

/*
 * Take the run lock of state_dir (created with mode 0700 if missing): state_dir/bridge.lock,
 * flock'd, holding our pid. The kernel drops it when the process ends, even by kill -9.
 * Returns STATE_OK, STATE_LOCKED when another process holds it, or STATE_ERROR.
 */
enum state_status state_lock(const char *state_dir, struct state_lock *lk, char *err,
    size_t errlen);

/* Release the lock; harmless when not held. The lock file stays (removing it would race). */
void state_unlock(struct state_lock *lk);

/*
 * Load the state of state_dir into st, to change it; hold the lock of state_dir first. No
 * file: an empty state with needs_reconcile. A corrupt file is moved aside (logged, path in
 * moved_aside) and gives the same; so does a journal line that does not read (a copy of the
 * journal is kept). Journal lines past the file are replayed; a torn last line is cut off
 * with a warning. Returns STATE_OK, or STATE_ERROR (st empty, nothing on disk changed) when
 * the file is from a newer bridge, too big or unreadable.
 */
enum state_status state_load(struct state *st, const char *state_dir, char *err,
    size_t errlen);

/*
 * The same, only to look (bridge plan, bridge status), without the lock: nothing on disk is
 * changed, since a sync may be writing right now (a corrupt file is only reported, a last line
 * without its newline only skipped). state_save() and state_begin_*() refuse such a state.
 */
enum state_status state_load_readonly(struct state *st, const char *state_dir, char *err,
    size_t errlen);

/*
 * Save st to state.json atomically, then empty the journal: finished intents are folded into
 * the records and dropped, open ones are kept. When nothing changed since st was loaded or
 * last saved, the file is left as it is (saved_at too). Returns STATE_OK or STATE_ERROR.
 */
enum state_status state_save(struct state *st, char *err, size_t errlen);

/* Free everything st holds and close its journal; st may be loaded again. */
void state_release(struct state *st);

/*
 * Intents. Each state_begin_*() copies its records into new open intents, appends them to
 * the journal with one write and one fsync, and puts their ids in ids[] (one per record).
 * Send the request only after it returned STATE_OK. It refuses (STATE_ERROR) while
 * needs_reconcile is set or an intent from an earlier run is still open.
 */
enum state_status state_begin_plans(struct state *st, const struct state_plan *plans, size_t n,
    long *ids, char *err, size_t errlen);
enum state_status state_begin_blueprint(struct state *st, const struct state_blueprint *b,
    long *id, char *err, size_t errlen);
enum state_status state_begin_group(struct state *st, const struct state_group *g, long *id,
    char *err, size_t errlen);
enum state_status state_begin_deploy(struct state *st, const struct state_blueprint *b, long *id,
    char *err, size_t errlen);

/*
 * Jamf created it with created_id (for a deploy: any non-NULL string, e.g. the blueprint id):
 * the intent's record goes into the state (a deploy marks its blueprint deployed).
 */
enum state_status state_intent_done(struct state *st, long id, const char *created_id, char *err,
    size_t errlen);

/*
 * Between state_outcomes_hold() and state_outcomes_write(), the journal lines of
 * state_intent_done() and _failed() are kept and then written at once: one write for a
 * round of plan requests' answers (thousands), not one each. Any other journal write, and state_save(), writes
 * them first. Nothing waits on the network in between, so a kill there loses at most lines
 * the next run makes up for by looking the intents up in Jamf.
 */
void state_outcomes_hold(struct state *st);
void state_outcomes_write(struct state *st);

/* Jamf refused it, so nothing was created; reason goes into the journal. */
enum state_status state_intent_failed(struct state *st, long id, const char *reason, char *err,
    size_t errlen);

/*
 * After a lookup in Jamf for an unfinished intent: found_id is what exists (done with it), or
 * NULL when nothing does (failed).
 */
enum state_status state_intent_resolve(struct state *st, long id, const char *found_id,
    char *err, size_t errlen);

/*
 * Whether in is an intent of an earlier run that was neither done nor failed: look it up in
 * Jamf and resolve it before creating anything. Loop over st->intents with it.
 */
bool state_intent_unfinished(const struct state *st, const struct state_intent *in);

/* How many intents of earlier runs are unfinished. */
size_t state_unfinished(const struct state *st);

/* Whether nothing of st is open: no intent of any run without its outcome, no reconcile owed. */
bool state_settled(const struct state *st);

/*
 * Which state.json of state_dir this is, as *id (a save replaces the file: a new inode), for
 * noticing that the file changed; false when it cannot be seen, or when the intent journal
 * holds something (or cannot be seen). Reads neither file.
 */
bool state_identity(const char *state_dir, uint64_t *id);

/* The caller rebuilt the records from Jamf: creates are allowed again (once saved, for good). */
void state_reconciled(struct state *st);

/* Whether state_begin_*() would refuse now, and why (for messages); NULL: it would not. */
const char *state_create_blocked(const struct state *st);

/*
 * Records. Each put copies rec and replaces the record with the same id (or adds it);
 * rec's strings may be the stored record's own. Returns 0, or -1 when out of memory.
 */
int state_put_plan(struct state *st, const struct state_plan *rec);
int state_put_blueprint(struct state *st, const struct state_blueprint *rec);
int state_put_group(struct state *st, const struct state_group *rec);

/* Remember when bsi was first seen (kept when known); 0 or -1 when out of memory. */
int state_note_bsi(struct state *st, const char *bsi, time_t now);

/* Remember that ring of policy started on bsi at now (kept when known); 0 or -1. */
int state_note_ring(struct state *st, const char *policy, const char *ring, const char *bsi,
    time_t now);

/*
 * Record the Jamf state of plan id and its first failure reason (NULL: none);
 * last_state_at moves only when the state changed. 0 or -1.
 */
int state_plan_seen(struct state *st, const char *id, const char *jamf_state,
    const char *reason, time_t now);

/* Lookups; NULL when unknown. Pointers stay valid until the next change to st. */
const struct state_plan *state_find_plan(const struct state *st, const char *id);

/*
 * A plan of the state by its device. state_plans_by_device() gives all of st's plans (st->nplans
 * refs) by device: Jamf's device ids are numbers, so each is ordered by its number first (0
 * when it is not one), then by its text, then by when the plan was created. It sorts them
 * once and keeps them in st until a plan is put or added, so that enforcing and watching a
 * policy share one sort; NULL when out of memory. Good until the next change of st's plans.
 * state_plan_refs_first() finds the first plan of device in them (or n).
 */
struct state_plan_ref {
	long device;
	const struct state_plan *p;
};

size_t state_plan_refs_first(const struct state_plan_ref *v, size_t n, const char *device);
const struct state_plan_ref *state_plans_by_device(struct state *st);

const struct state_blueprint *state_find_blueprint(const struct state *st, const char *id);
const struct state_group *state_find_group(const struct state *st, const char *id);
const struct state_bsi *state_find_bsi(const struct state *st, const char *bsi);
const struct state_ring *state_find_ring(const struct state *st, const char *policy,
    const char *ring, const char *bsi);
const struct state_intent *state_find_intent(const struct state *st, long id);

/* "plan", "blueprint", "group", "deploy". */
const char *state_kind_name(enum state_kind kind);

#endif
