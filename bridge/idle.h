/*
 * Whether a sync may leave a tenant alone this run. Reading a tenant's fleet costs one page
 * per 2,000 devices, however little changed; with watch.interval set, a sync that finds
 * nothing new since the tenant's last full run sends Jamf nothing at all.
 *
 * A full run that succeeded writes state_dir/<tenant>/watched.json: when it started, and
 * digests of what it went by (the policy file and its templates, the feed, state.json). A
 * later sync leaves the tenant idle while all of these hold:
 *   - watch.interval is set, and has not passed since that run started (a tenth of it is
 *     forgiven, so that a timer's jitter does not skip a whole interval);
 *   - the policy file, the templates its policies use and bridge's version are the same;
 *   - the feed lists exactly the same entries (no new, changed or withdrawn BSI);
 *   - state.json is the very file that run saved, and the intent journal is empty (nothing
 *     left open, nothing changed by hand);
 *   - the run is a sync without --full.
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
	uint64_t config;  /* policy file, policy templates, bridge version; 0: unreadable */
	uint64_t feed;
};

/* The digests of cfg's files and of feed. */
void idle_inputs(const struct config *cfg, const struct gdmf_feed *feed, struct idle_inputs *in);

/*
 * Whether the tenant whose state is in state_dir is idle at now (see the top): true with
 * *watched_at, when its last full run started. Anything unreadable means not idle.
 */
bool idle_check(const char *state_dir, long interval, const struct idle_inputs *in, time_t now,
    time_t *watched_at);

/* Before a full run changes anything: remove watched.json. 0, or -1 with err. */
int idle_forget(const char *state_dir, char *err, size_t errlen);

/*
 * After a full run that started at started, succeeded and saved its state with nothing left
 * open: write watched.json. 0, or -1 with err (the next run is then full).
 */
int idle_note(const char *state_dir, const struct idle_inputs *in, time_t started, char *err,
    size_t errlen);

#endif
