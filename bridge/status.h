/*
 * bridge status: what bridge enforces and how each device stands, from the state file, Jamf
 * Pro's inventory and the plans bridge created (read in bulk, as sync does). Takes no lock
 * and writes nothing: safe while a sync runs.
 */
#ifndef BRIDGE_STATUS_H
#define BRIDGE_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct config;

struct status_options {
	bool json;
	bool devices;                /* one row per device too */
	const char *policy;          /* only this policy (NULL: all) */
	const char *const *tenants;  /* only these tenants (none: all) */
	size_t ntenants;
	time_t now;
};

/* Print the status; returns the exit status (exitcode.h). */
int status_run(const struct config *cfg, const struct status_options *o);

#endif
