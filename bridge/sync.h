/*
 * One run over every tenant and policy: the feed, each policy's groups and inventory, the
 * decision step, and (for `bridge sync`) enforcement. `bridge plan` is the same run with
 * nothing written: it prints every intended action with its reason and the counts per
 * policy, ring and BSI, and sends no write request.
 */
#ifndef BRIDGE_SYNC_H
#define BRIDGE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct config;

struct sync_options {
	bool dry_run;            /* bridge plan, or sync --dry-run: no write request */
	bool refresh;            /* fetch the feed even if the cached copy is fresh */
	bool full;               /* read Jamf for every tenant, idle or not (idle.h) */
	bool json;               /* the summary as JSON on stdout */
	const char *policy;      /* only this policy (NULL: all) */
	const char *const *tenants;  /* only these tenants (none: all) */
	size_t ntenants;
	time_t now;
};

/* Run; returns the exit status (exitcode.h). */
int sync_run(const struct config *cfg, const struct sync_options *opts);

/*
 * bridge render: decide for opts->policy as a run would, pick the device (device_id, else the
 * first one the policy would send something to) and print exactly what would be sent for it:
 * the plan request body, or the declaration payload and the blueprint body. No write
 * request. Returns the exit status.
 */
int sync_render(const struct config *cfg, const struct sync_options *opts,
    const char *device_id);

#endif
