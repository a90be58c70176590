/* One-pass, allocation-free reading of a JSON text; see json_scan.h. */
#include "json_scan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUMBER_BYTES 64  /* a number longer than this is checked, never converted */

/* Record the first error at the current position; returns false. */
static bool
fail(struct json_scan *js, const char *what)
{
	if (js->error == NULL) {
		js->error = what;
		js->error_at = (size_t)(js->p - js->text);
	}
	js->p = js->end;
	return false;
}

/* Skip white space; true when a byte follows. */
static bool
more(struct json_scan *js)
{
	while (js->p < js->end && (*js->p == ' ' || *js->p == '\n' || *js->p == '\r' ||
	    *js->p == '\t'))
		js->p++;
	return js->p < js->end;
}

/* The value of hex digit c, or -1. */
static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at js->p into *cp; false (error) when they are not there. */
static bool
read_hex4(struct json_scan *js, unsigned *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		int d = js->p < js->end ? hex(*js->p) : -1;

		if (d < 0)
			return fail(js, "bad \\u escape");
		*cp = *cp << 4 | (unsigned)d;
		js->p++;
	}
	return true;
}

/* A \u escape (js->p after the 'u'), with its low surrogate when it needs one, into *cp. */
static bool
read_unicode(struct json_scan *js, unsigned *cp)
{
	unsigned low;

	if (!read_hex4(js, cp))
		return false;
	if (*cp >= 0xDC00 && *cp <= 0xDFFF)
		return fail(js, "a lone low surrogate");
	if (*cp < 0xD800 || *cp > 0xDBFF)
		return true;
	if (js->end - js->p < 2 || js->p[0] != '\\' || js->p[1] != 'u')
		return fail(js, "a high surrogate without its low one");
	js->p += 2;
	if (!read_hex4(js, &low))
		return false;
	if (low < 0xDC00 || low > 0xDFFF)
		return fail(js, "a high surrogate without its low one");
	*cp = 0x10000 + ((*cp - 0xD800) << 10) + (low - 0xDC00);
	return true;
}

/* Code point cp as UTF-8 into out; its length (1 to 4). */
static size_t
utf8_put(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The escape after a backslash (js->p on it) as UTF-8 into out; its length, or 0 (error). */
static size_t
read_escape(struct json_scan *js, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	unsigned cp;

	if (js->p >= js->end)
		return fail(js, "a string without its closing quote"), 0;
	if (*js->p == 'u') {
		js->p++;
		return read_unicode(js, &cp) ? utf8_put(cp, out) : 0;
	}
	if (*js->p == '\0' || (e = strchr(from, *js->p)) == NULL)
		return fail(js, "bad escape in a string"), 0;
	js->p++;
	out[0] = to[e - from];
	return 1;
}

/*
 * The string at js->p (on its opening quote), decoded into buf when buf is not NULL. *fits
 * says whether all of it (and its NUL) went into buf and it holds no U+0000. false on error.
 */
static bool
read_string(struct json_scan *js, char *buf, size_t size, bool *fits)
{
	size_t len = 0;

	*fits = buf != NULL && size > 0;
	js->p++;
	for (;;) {
		const char *run = js->p;
		char esc[4];
		size_t n;

		/* the plain bytes up to a quote, a backslash or the end */
		while (js->p < js->end && *js->p != '"' && *js->p != '\\' &&
		    (unsigned char)*js->p >= 0x20)
			js->p++;
		n = (size_t)(js->p - run);
		if (*fits && n < size - len) {
			memcpy(buf + len, run, n);
			len += n;
		} else {
			*fits = false;
		}
		if (js->p >= js->end)
			return fail(js, "a string without its closing quote");
		if (*js->p == '"')
			break;
		if (*js->p != '\\')
			return fail(js, "a control character in a string");
		js->p++;
		if ((n = read_escape(js, esc)) == 0)
			return false;
		if (n == 1 && esc[0] == '\0')
			*fits = false;
		if (*fits && n < size - len) {
			memcpy(buf + len, esc, n);
			len += n;
		} else {
			*fits = false;
		}
	}
	js->p++;
	if (*fits)
		buf[len] = '\0';
	return true;
}

/* Digits at js->p; how many. */
static size_t
digits(struct json_scan *js)
{
	const char *start = js->p;

	while (js->p < js->end && *js->p >= '0' && *js->p <= '9')
		js->p++;
	return (size_t)(js->p - start);
}

/* The number at js->p, checked; *integral when it has no fraction or exponent. */
static bool
read_number(struct json_scan *js, bool *integral)
{
	if (*js->p == '-')
		js->p++;
	if (js->p < js->end && *js->p == '0')
		js->p++;
	else if (digits(js) == 0)
		return fail(js, "a malformed number");
	*integral = true;
	if (js->p < js->end && *js->p == '.') {
		js->p++;
		*integral = false;
		if (digits(js) == 0)
			return fail(js, "a malformed number");
	}
	if (js->p < js->end && (*js->p == 'e' || *js->p == 'E')) {
		js->p++;
		*integral = false;
		if (js->p < js->end && (*js->p == '+' || *js->p == '-'))
			js->p++;
		if (digits(js) == 0)
			return fail(js, "a malformed number");
	}
	if (js->p < js->end && *js->p >= '0' && *js->p <= '9')
		return fail(js, "a number with a leading zero");
	return true;
}

/* The literal word at js->p. */
static bool
read_literal(struct json_scan *js, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(js->end - js->p) < n || memcmp(js->p, word, n) != 0)
		return fail(js, "an unexpected character");
	js->p += n;
	return true;
}

void
json_scan_init(struct json_scan *js, const char *text, size_t len)
{
	memset(js, 0, sizeof(*js));
	js->text = js->p = text;
	js->end = text + len;
	js->first = true;
	/* RFC 8259 8.1: a reader may ignore a UTF-8 byte order mark (cJSON does) */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		js->p += 3;
}

enum json_scan_type
json_scan_peek(struct json_scan *js)
{
	if (js->error != NULL)
		return JSON_SCAN_ERROR;
	if (!more(js))
		return fail(js, "the text ends where a value should be"), JSON_SCAN_ERROR;
	switch (*js->p) {
	case '{':
		return JSON_SCAN_OBJECT;
	case '[':
		return JSON_SCAN_ARRAY;
	case '"':
		return JSON_SCAN_STRING;
	case 't':
	case 'f':
		return JSON_SCAN_BOOL;
	case 'n':
		return JSON_SCAN_NULL;
	default:
		if (*js->p == '-' || (*js->p >= '0' && *js->p <= '9'))
			return JSON_SCAN_NUMBER;
		return fail(js, "an unexpected character"), JSON_SCAN_ERROR;
	}
}

/* Enter the object or array at js->p when it is of type want; else skip the value. */
static bool
enter(struct json_scan *js, enum json_scan_type want)
{
	enum json_scan_type t = json_scan_peek(js);

	if (t != want) {
		if (t != JSON_SCAN_ERROR)
			(void)json_scan_skip(js);
		return false;
	}
	if (js->depth >= JSON_SCAN_MAX_DEPTH)
		return fail(js, "nested too deeply");
	js->p++;
	js->depth++;
	js->first = true;
	return true;
}

bool
json_scan_object(struct json_scan *js)
{
	return enter(js, JSON_SCAN_OBJECT);
}

bool
json_scan_array(struct json_scan *js)
{
	return enter(js, JSON_SCAN_ARRAY);
}

/* Before the next member or element: false (the container left) at close, or on error. */
static bool
next(struct json_scan *js, char close)
{
	bool first = js->first;

	js->first = false;
	if (js->error != NULL)
		return false;
	if (!more(js))
		return fail(js, "the text ends inside an object or array");
	if (*js->p == close) {
		js->p++;
		js->depth--;
		return false;
	}
	if (!first) {
		if (*js->p != ',')
			return fail(js, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
		js->p++;
	}
	return true;
}

bool
json_scan_member(struct json_scan *js, char *key, size_t size)
{
	char none[1];
	bool fits;

	if (key == NULL || size == 0) {
		key = none;
		size = sizeof(none);
	}
	if (!next(js, '}'))
		return false;
	if (!more(js) || *js->p != '"')
		return fail(js, "expected a member name");
	if (!read_string(js, key, size, &fits))
		return false;
	if (!fits)
		key[0] = '\0';
	if (!more(js) || *js->p != ':')
		return fail(js, "expected ':' after a member name");
	js->p++;
	return true;
}

bool
json_scan_member_as(struct json_scan *js, const char *raw, size_t len)
{
	struct json_scan at = *js;

	if (next(js, '}') && more(js) && (size_t)(js->end - js->p) >= len &&
	    memcmp(js->p, raw, len) == 0) {
		js->p += len;
		return true;
	}
	*js = at;
	return false;
}

bool
json_scan_item(struct json_scan *js)
{
	return next(js, ']');
}

bool
json_scan_skip(struct json_scan *js)
{
	bool flag;

	switch (json_scan_peek(js)) {
	case JSON_SCAN_OBJECT:
		if (json_scan_object(js))
			while (json_scan_member(js, NULL, 0))
				(void)json_scan_skip(js);
		break;
	case JSON_SCAN_ARRAY:
		if (json_scan_array(js))
			while (json_scan_item(js))
				(void)json_scan_skip(js);
		break;
	case JSON_SCAN_STRING:
		(void)read_string(js, NULL, 0, &flag);
		break;
	case JSON_SCAN_NUMBER:
		(void)read_number(js, &flag);
		break;
	case JSON_SCAN_BOOL:
		(void)read_literal(js, *js->p == 't' ? "true" : "false");
		break;
	case JSON_SCAN_NULL:
		(void)read_literal(js, "null");
		break;
	case JSON_SCAN_ERROR:
		break;
	}
	return js->error == NULL;
}

bool
json_scan_bool(struct json_scan *js, bool *out)
{
	if (json_scan_peek(js) != JSON_SCAN_BOOL) {
		(void)json_scan_skip(js);
		return false;
	}
	*out = *js->p == 't';
	return read_literal(js, *out ? "true" : "false");
}

bool
json_scan_string(struct json_scan *js, char *buf, size_t size)
{
	bool fits;

	if (json_scan_peek(js) != JSON_SCAN_STRING) {
		(void)json_scan_skip(js);
		return false;
	}
	return read_string(js, buf, size, &fits) && fits;
}

bool
json_scan_long(struct json_scan *js, long *out)
{
	char num[NUMBER_BYTES];
	const char *start;
	bool integral;
	double d;
	size_t n;

	if (json_scan_peek(js) != JSON_SCAN_NUMBER) {
		(void)json_scan_skip(js);
		return false;
	}
	start = js->p;
	if (!read_number(js, &integral))
		return false;
	if ((n = (size_t)(js->p - start)) >= sizeof(num))
		return false;
	memcpy(num, start, n);
	num[n] = '\0';
	/* as json_long(): exactly integral and well inside long, also when written 2.0 or 1e3 */
	d = strtod(num, NULL);
	if (!isfinite(d) || d != floor(d) || d < -9.0e15 || d > 9.0e15)
		return false;
	*out = (long)d;
	return true;
}

bool
json_scan_id(struct json_scan *js, char *buf, size_t size)
{
	long n;
	int len;

	if (json_scan_peek(js) == JSON_SCAN_STRING)
		return json_scan_string(js, buf, size) && buf[0] != '\0';
	if (!json_scan_long(js, &n) || n < 0)
		return false;
	len = snprintf(buf, size, "%ld", n);
	return len > 0 && (size_t)len < size;
}

int
json_scan_end(struct json_scan *js)
{
	if (js->error == NULL && js->depth != 0)
		(void)fail(js, "the text ends inside an object or array");
	if (js->error == NULL && more(js))
		(void)fail(js, "text after the JSON value");
	return js->error == NULL ? 0 : -1;
}
