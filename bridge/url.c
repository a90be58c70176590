/*
 * URL checks for configured endpoints. bridge only ever talks https to the outside world;
 * plain http is allowed for loopback hosts so that tests and local proxies work.
 */
#include "url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_MAX_BYTES 2048
#define URL_MAX_HOST_BYTES 253

bool
url_host_is_loopback(const char *host)
{
	unsigned a, b, c, d;
	char tail;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return true;
	if (sscanf(host, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &tail) == 4)
		return a == 127 && b <= 255 && c <= 255 && d <= 255;
	return false;
}

/* Whether host is a plausible DNS name or IPv4 address (letters, digits, '-', '.'). */
static bool
url_host_valid(const char *host, size_t len)
{
	if (len == 0 || len > URL_MAX_HOST_BYTES || host[0] == '.' || host[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)host[i];

		if (!isalnum(ch) && ch != '-' && ch != '.')
			return false;
	}
	return true;
}

/* Whether an IPv6 literal (between brackets) holds only hex digits, ':' and '.'. */
static bool
url_ipv6_valid(const char *host, size_t len)
{
	if (len < 2)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)host[i];

		if (!isxdigit(ch) && ch != ':' && ch != '.')
			return false;
	}
	return true;
}

int
url_check(const char *s, unsigned flags, char *err, size_t errlen)
{
	char host[URL_MAX_HOST_BYTES + 1];
	const char *p, *auth, *auth_end, *host_end;
	size_t host_len;
	bool https;

	if (strlen(s) > URL_MAX_BYTES) {
		snprintf(err, errlen, "URL is longer than %d bytes", URL_MAX_BYTES);
		return -1;
	}
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "URL contains a space or control character");
			return -1;
		}
	}
	if (strncasecmp(s, "https://", 8) == 0) {
		https = true;
		auth = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		https = false;
		auth = s + 7;
	} else {
		snprintf(err, errlen, "URL must start with https://");
		return -1;
	}

	auth_end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL) {
		snprintf(err, errlen, "URL must not contain a user name or password");
		return -1;
	}
	if (*auth == '[') {
		const char *close = memchr(auth, ']', (size_t)(auth_end - auth));

		if (close == NULL || !url_ipv6_valid(auth + 1, (size_t)(close - auth - 1))) {
			snprintf(err, errlen, "URL has a malformed IPv6 address");
			return -1;
		}
		host_len = (size_t)(close - auth - 1);
		memcpy(host, auth + 1, host_len);
		host_end = close + 1;
		if (host_end != auth_end && *host_end != ':') {
			snprintf(err, errlen, "URL has a malformed IPv6 address");
			return -1;
		}
	} else {
		host_end = auth + strcspn(auth, ":/?#");
		host_len = (size_t)(host_end - auth);
		if (!url_host_valid(auth, host_len)) {
			snprintf(err, errlen, "URL has no valid host name");
			return -1;
		}
		memcpy(host, auth, host_len);
	}
	host[host_len] = '\0';

	if (*host_end == ':') {
		const char *port = host_end + 1;
		size_t digits = (size_t)(auth_end - port);
		long value = 0;

		if (digits == 0 || digits > 5 || strspn(port, "0123456789") != digits ||
		    (value = strtol(port, NULL, 10)) < 1 || value > 65535) {
			snprintf(err, errlen, "URL has an invalid port (expected 1-65535)");
			return -1;
		}
	}
	if (strchr(auth_end, '#') != NULL) {
		snprintf(err, errlen, "URL must not contain a fragment ('#')");
		return -1;
	}
	if (!(flags & URL_ALLOW_QUERY) && strchr(auth_end, '?') != NULL) {
		snprintf(err, errlen, "URL must not contain a query ('?')");
		return -1;
	}
	if (!https && !url_host_is_loopback(host)) {
		snprintf(err, errlen, "URL must use https (plain http is allowed only for loopback hosts)");
		return -1;
	}
	return 0;
}
