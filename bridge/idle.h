/*
 * Whether a sync may leave a tenant alone this run. Reading a tenant's fleet costs one page
 * per 2,000 devices, however little changed; with watch.interval set, a sync that finds
 * nothing new since the tenant's last full run sends Jamf nothing at all.
 *
 * A full run that succeeded to the end (its alerts delivered, the metrics file written) and
 * left nothing open (no intent without its outcome, no blueprint deployment still running)
 * writes state_dir/<tenant>/watched.json: when it started, and digests of what it went by
 * (the policy file as loaded and the templates, the feed, state.json). A later sync leaves
 * the tenant idle while all of these hold:
 *   - watch.interval is set, and nine tenths of it have not passed since that run started
 *     (so that a timer that fires a little early does not skip a whole interval);
 *   - the policy file, the templates its policies use and bridge's version are the same;
 *   - the feed lists exactly the same entries (no new, changed or withdrawn BSI or release);
 *   - state.json is the very file that run saved, and the intent journal is empty (nothing
 *     left open, nothing changed by hand);
 *   - the run is a sync without --full, and metrics_file, if set, exists (an idle tenant's
 *     series are copied from it).
 * A full run removes the file before it changes anything, so a run that fails or is killed
 * is always followed by a full one.
 */
#ifndef BRIDGE_IDLE_H
#define BRIDGE_IDLE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct config;
struct gdmf_feed;

/* What a run goes by, digested once for every tenant. */
struct idle_inputs {
	uint64_t config;  /* the policy file as loaded, its templates, bridge's version */
	uint64_t feed;
	bool unread;      /* a template could not be read: no tenant idle, none noted */
	bool no_metrics;  /* metrics_file is missing: no tenant idle (its series come from it) */
};

/*
 * The digests of cfg (with its templates as they are now) and of feed, and whether anything
 * keeps every tenant from being idle this run.
 */
void idle_inputs(const struct config *cfg, const struct gdmf_feed *feed, struct idle_inputs *in);

/* When a tenant whose last full run started at watched_at is due again. */
time_t idle_due(time_t watched_at, long interval);

/*
 * Whether the tenant whose state is in state_dir is idle at now (see the top): true with
 * *watched_at, when its last full run started. Anything unreadable means not idle.
 */
bool idle_check(const char *state_dir, long interval, const struct idle_inputs *in, time_t now,
    time_t *watched_at);

/* Before a full run changes anything: remove watched.json. 0, or -1 with err. */
int idle_forget(const char *state_dir, char *err, size_t errlen);

/*
 * After a full run that started at started and succeeded to the end (alerts delivered,
 * metrics written), having saved its state with nothing left open: write watched.json. 0, or
 * -1 with err (the next run is then full).
 */
int idle_note(const char *state_dir, const struct idle_inputs *in, time_t started, char *err,
    size_t errlen);

#endif
