/* RFC 3339 times in UTC (see isotime.h). */
#include "isotime.h"

#include <stdbool.h>
#include <string.h>

/*
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, and back (Howard
 * Hinnant's days_from_civil and civil_from_days).
 */
static long
days_from_civil(long y, long m, long d)
{
	long era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void
civil_from_days(long z, long *y, long *m, long *d)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/* v as n decimal digits at p. */
static void
put_digits(char *p, long v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
iso_time_format(time_t t, char buf[ISO_TIME_BYTES])
{
	long y, m, d, secs;

	if (t < 0 || t > ISO_TIME_LAST)
		t = 0;
	secs = (long)(t % 86400);
	civil_from_days((long)(t / 86400), &y, &m, &d);
	memcpy(buf, "0000-00-00T00:00:00Z", ISO_TIME_BYTES);
	put_digits(buf, y, 4);
	put_digits(buf + 5, m, 2);
	put_digits(buf + 8, d, 2);
	put_digits(buf + 11, secs / 3600, 2);
	put_digits(buf + 14, secs / 60 % 60, 2);
	put_digits(buf + 17, secs % 60, 2);
}

/* The n decimal digits at s, or -1 when one is not a digit (or the text ends). */
static long
get_digits(const char *s, int n)
{
	long v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

const char *
iso_time_prefix(const char *s, time_t *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	long y, m, d, hh, mm, ss;
	bool leap;

	/* each check stops at the first byte that differs, so a short s is never overread */
	if (s == NULL || (y = get_digits(s, 4)) < 0 || s[4] != '-' ||
	    (m = get_digits(s + 5, 2)) < 0 || s[7] != '-' || (d = get_digits(s + 8, 2)) < 0 ||
	    s[10] != 'T' || (hh = get_digits(s + 11, 2)) < 0 || s[13] != ':' ||
	    (mm = get_digits(s + 14, 2)) < 0 || s[16] != ':' || (ss = get_digits(s + 17, 2)) < 0)
		return NULL;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || hh > 23 || mm > 59 || ss > 59)
		return NULL;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] + (m == 2 && leap))
		return NULL;
	*out = (time_t)days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
	return s + 19;
}

int
iso_time_parse(const char *s, time_t *out)
{
	const char *rest;
	time_t t;

	if ((rest = iso_time_prefix(s, &t)) == NULL || strcmp(rest, "Z") != 0)
		return -1;
	*out = t;
	return 0;
}
