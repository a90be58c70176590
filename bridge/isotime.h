/*
 * Times as bridge writes and reads them: RFC 3339 in UTC, "2026-11-20T08:00:00Z", and the
 * "YYYY-MM-DDTHH:MM:SS" prefix that Jamf's times and deadlines share. One parser for every
 * file and answer, checked field by field (no "02-30", "24:00" or ":60"), without sscanf
 * or timegm: a state file holds hundreds of thousands of times, and a run reads them all.
 */
#ifndef BRIDGE_ISOTIME_H
#define BRIDGE_ISOTIME_H

#include <time.h>

#define ISO_TIME_BYTES 21                   /* "2026-11-20T08:00:00Z" and its NUL */
#define ISO_TIME_LAST ((time_t)253402300799) /* 9999-12-31T23:59:59Z: four-digit years only */

/*
 * The "YYYY-MM-DDTHH:MM:SS" at the start of s, a time from 1970 on, read as UTC into *out;
 * returns what follows it (for the caller to judge: "Z", "", ".123Z"...), or NULL (*out
 * untouched) when s does not start with such a time.
 */
const char *iso_time_prefix(const char *s, time_t *out);

/* Exactly "YYYY-MM-DDTHH:MM:SSZ" into *out; 0, or -1 (*out untouched) for anything else. */
int iso_time_parse(const char *s, time_t *out);

/* t (0 .. ISO_TIME_LAST; anything else as 1970-01-01T00:00:00Z) as "2026-11-20T08:00:00Z". */
void iso_time_format(time_t t, char buf[ISO_TIME_BYTES]);

#endif
