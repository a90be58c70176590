/*
 * The metrics file (metrics_file): what a sync run saw, in the Prometheus text exposition
 * format, for node_exporter's textfile collector. Written atomically at the end of a run, so
 * the collector never reads half a file. Series:
 *
 *   bridge_devices{tenant,policy,target,class}   devices bridge targets, by watch class
 *   bridge_alerts_sent{webhook}                  digests delivered by the run
 *   bridge_last_run_timestamp_seconds            when the run ended
 *   bridge_last_run_success                      1 when it exited 0, else 0
 *   bridge_last_success_timestamp_seconds        the last run that succeeded (kept from the
 *                                                previous file when this one failed)
 */
#ifndef BRIDGE_METRICS_H
#define BRIDGE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "watch.h"

struct metrics_group {
	char *tenant, *policy, *target;
	size_t counts[WATCH_NCLASSES];
};

struct metrics {
	struct metrics_group *groups;
	size_t ngroups;
	char **webhooks;
	size_t *sent;
	size_t nwebhooks;
	char **kept;          /* tenants whose device counts stay as the file has them */
	size_t nkept;
};

/* Count a policy's rows by target and class; 0 or -1 (out of memory). */
int metrics_add_rows(struct metrics *m, const char *tenant, const char *policy,
    const struct watch_row *rows, size_t n);

/*
 * Keep tenant's bridge_devices series as the file has them now: a tenant that this run left
 * idle (idle.h) still has its devices. 0 or -1 (out of memory).
 */
int metrics_keep(struct metrics *m, const char *tenant);

/* Count a digest delivered to webhook; 0 or -1. */
int metrics_add_sent(struct metrics *m, const char *webhook);

/*
 * Move from's device counts and kept tenants to the end of to's, and release from (a
 * tenant's counts, made while other tenants ran, join the run's). 0, or -1 when out of
 * memory (nothing moved).
 */
int metrics_take(struct metrics *to, struct metrics *from);

/* Write the file at path atomically; 0, or -1 (logged). */
int metrics_write(const struct metrics *m, const char *path, bool success, time_t now);

void metrics_release(struct metrics *m);

#endif
