/* Exit statuses of bridge: a contract with cron jobs and scripts (see bridge(1)). */
#ifndef BRIDGE_EXITCODE_H
#define BRIDGE_EXITCODE_H

enum bridge_exit {
	BRIDGE_EXIT_OK = 0,      /* everything done */
	BRIDGE_EXIT_FAILED = 1,  /* the run finished, but a tenant, policy, create, deployment or
	                          * webhook failed */
	BRIDGE_EXIT_USAGE = 2,   /* usage or configuration error */
	BRIDGE_EXIT_AUTH = 3,    /* authentication with Jamf failed */
	BRIDGE_EXIT_FEED = 4,    /* GDMF feed unavailable and no usable cached copy */
	BRIDGE_EXIT_LOCKED = 5,  /* another run holds the lock */
};

#endif
