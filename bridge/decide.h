/*
 * The decision step: from one policy, the feed, the inventory and what bridge remembers, work
 * out for each device what to enforce, by when and why. Pure: plain structs in, a list of
 * actions out; no I/O and no clock reads (the caller passes "now").
 *
 * For each device, the first rule that holds wins:
 *  1. NOT_IN_SCOPE   in none of the policy's scope groups (or in no ring);
 *  2. EXCLUDED       in one of its exclude groups;
 *  3. MODEL_FILTERED its model fails models.include / models.exclude;
 *  4. UNKNOWN        inventory lacks its version, build or model;
 *  5. against every BSI of the feed for the policy's platform whose base version passes
 *     `versions` (version_bsi_standing, see version.h):
 *     ENFORCE        the newest BSI the device can install now (on its base build, model
 *                    listed, not expired); a later extra on the same base supersedes;
 *     COMPLIANT      none to install, and it is at or past one of them (or on a newer base);
 *     BASE_UPDATE    (base_update: two_step) on an older version of the same major for which
 *                    a BSI lists its model: first the newest such BSI's base version;
 *     NEEDS_BASE     the same with base_update: report: listed, nothing sent;
 *     NO_BSI         nothing applies (other build line, model not listed, expired, filtered);
 *  6. RING_WAITING   ENFORCE or BASE_UPDATE, but the device's ring has not opened yet.
 *
 * Rings: a device belongs to the first ring whose groups hold it (a ring without groups holds
 * everyone left). Each BSI rolls out through the rings on its own: its "target" for a device
 * is the BSI of ENFORCE, or the BSI a BASE_UPDATE leads to. For a BSI, ring 0 opens
 * delay_days after the later of its PostingDate and the day bridge first saw it (at once
 * without a delay), and ring N is open when
 *   - it has already started on the BSI (bridge sent something for it: once open, it stays
 *     open; this holds for ring 0 too), or
 *   - ring N-1 is open, and either it has nothing to do for the BSI (it never started on it and
 *     none of its devices wants it), or it started on it at least delay_days ago and, when
 *     min_success_percent is set, at least that share of its devices concerned with the BSI
 *     are compliant with it. Concerned: compliant with it (inventory shows them at or past it;
 *     the final word) or wanting it (ENFORCE, BASE_UPDATE or RING_WAITING for it).
 * A ring that starts in this run counts as started from the next run on.
 *
 * Deadline, device-local "YYYY-MM-DDTHH:MM:SS": the later of the BSI's PostingDate and the day
 * bridge first saw it, plus deadline.days_after_posting, plus the delay_days of every ring up
 * to the device's, at deadline.time; a Saturday or Sunday moves to Monday with skip_weekends.
 * A deadline not after "now" (taken as UTC) becomes the next allowed slot: today at the time
 * if that is still ahead, else the next day (weekends skipped likewise).
 */
#ifndef BRIDGE_DECIDE_H
#define BRIDGE_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "strtab.h"

struct config_policy;
struct gdmf_entry;
struct gdmf_feed;
struct jamf_device;

#define DECIDE_DEADLINE_BYTES 20  /* "YYYY-MM-DDTHH:MM:SS" and its NUL */
#define DECIDE_REASON_BYTES 192

enum decide_outcome {
	DECIDE_ENFORCE,
	DECIDE_BASE_UPDATE,
	DECIDE_NEEDS_BASE,
	DECIDE_COMPLIANT,
	DECIDE_RING_WAITING,
	DECIDE_NOT_IN_SCOPE,
	DECIDE_EXCLUDED,
	DECIDE_MODEL_FILTERED,
	DECIDE_NO_BSI,
	DECIDE_UNKNOWN,
	DECIDE_NOUTCOMES
};

/* A ring with its group names resolved to Jamf Pro group ids by the caller. */
struct decide_ring {
	const char *name;
	const long *groups;      /* empty: every device in scope not held by an earlier ring */
	size_t ngroups;
	long delay_days;
	long min_success_percent;  /* < 0: no gate */
	const time_t *started;     /* per feed entry: when bridge first sent something for that
	                              BSI in this ring (from the state file); 0: not yet.
	                              NULL: never on any */
};

/* A policy with its group names resolved to ids. Without rings, one open ring is assumed. */
struct decide_policy {
	const struct config_policy *policy;
	const long *scope;
	size_t nscope;
	const long *exclude;
	size_t nexclude;
	const struct decide_ring *rings;
	size_t nrings;
};

struct decide_input {
	const struct decide_policy *policy;
	const struct gdmf_feed *feed;
	const char *const *first_seen;  /* per feed entry, "YYYY-MM-DD" or NULL; NULL: none known */
	const struct jamf_device *devices;
	size_t ndevices;
	time_t now;
};

struct decide_action {
	size_t device;                   /* index into the input's devices */
	enum decide_outcome outcome;
	const struct gdmf_entry *bsi;    /* the BSI concerned, or NULL */
	const char *target_version;      /* ENFORCE: the BSI's version; BASE_UPDATE: its base */
	const char *target_build;        /* ENFORCE: the BSI's build (may be NULL in old feeds);
	                                    BASE_UPDATE: the base build (its prerequisite) */
	size_t ring;
	/* in the result's string table (a fleet has few distinct ones); never NULL */
	const char *deadline;            /* set for ENFORCE, BASE_UPDATE, RING_WAITING, else "" */
	const char *reason;
};

/* How one BSI rolls out through one ring (one for each ring and BSI it has devices for). */
struct decide_rollout {
	size_t ring;
	const struct gdmf_entry *bsi;
	size_t compliant;                /* devices of the ring compliant with it */
	size_t wanting;                  /* ENFORCE, BASE_UPDATE or RING_WAITING for it */
	time_t started;                  /* 0: not started on it */
	bool open;
	char waits[DECIDE_REASON_BYTES]; /* when closed: what it waits for */
};

struct decide_result {
	struct decide_action *v;         /* one per device, in input order */
	size_t n;
	size_t counts[DECIDE_NOUTCOMES];
	struct decide_rollout *rollouts; /* by ring, then feed order */
	size_t nrollouts;
	struct strtab strings;           /* the actions' reasons and deadlines */
};

/* Decide for every device of the input. 0, or -1 when out of memory (out left empty). */
int decide_policy(const struct decide_input *in, struct decide_result *out);

void decide_result_release(struct decide_result *r);

/* Whether bridge sends something for this outcome: ENFORCE or BASE_UPDATE. */
bool decide_sends(enum decide_outcome o);

/* "enforce", "base_update", "needs_base", "compliant", ... */
const char *decide_outcome_name(enum decide_outcome o);

/*
 * The deadline rule above on its own: start dates "YYYY-MM-DD" (either may be NULL; both NULL:
 * the day of now), days to add, the time of day in minutes. Writes "YYYY-MM-DDTHH:MM:SS" to
 * out. Returns 0, or -1 when a date does not parse.
 */
int decide_deadline(const char *posted, const char *first_seen, long days, long minute_of_day,
    bool skip_weekends, time_t now, char out[DECIDE_DEADLINE_BYTES]);

#endif
