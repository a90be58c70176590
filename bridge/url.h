/* Checking the URLs bridge is configured to talk to. */
#ifndef BRIDGE_URL_H
#define BRIDGE_URL_H

#include <stdbool.h>
#include <stddef.h>

enum url_flags {
	URL_ALLOW_QUERY = 1 << 0,  /* webhooks carry signatures in the query string */
};

/* Whether host (as written in a URL, IPv6 without brackets) names this machine's loopback. */
bool url_host_is_loopback(const char *host);

/*
 * Check that s is an absolute https URL (plain http only for a loopback host), without
 * credentials or fragment, with a query only when flags allow it. On failure write a reason
 * to err that does not repeat the URL (it may hold a secret) and return -1; else return 0.
 */
int url_check(const char *s, unsigned flags, char *err, size_t errlen);

#endif
