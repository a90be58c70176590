/* Typed, bounded reads of untrusted JSON; see json.h. */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsString(v) || v->valuestring == NULL ||
	    strnlen(v->valuestring, JSON_MAX_STRING_BYTES + 1) > JSON_MAX_STRING_BYTES)
		return NULL;
	return v->valuestring;
}

const char *
json_id(const cJSON *obj, const char *key, char *buf, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *s;
	long n;

	if ((s = json_str(obj, key)) != NULL) {
		if (s[0] == '\0' || strlen(s) >= size)
			return NULL;
		memcpy(buf, s, strlen(s) + 1);
		return buf;
	}
	if (!cJSON_IsNumber(v) || !json_long(obj, key, &n) || n < 0)
		return NULL;
	snprintf(buf, size, "%ld", n);
	return buf;
}

bool
json_long(const cJSON *obj, const char *key, long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	/* exactly integral and well inside long on every platform we build for */
	if (!isfinite(d) || d != floor(d) || d < -9.0e15 || d > 9.0e15)
		return false;
	*out = (long)d;
	return true;
}

bool
json_bool(const cJSON *obj, const char *key, bool def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

const cJSON *
json_obj(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *
json_arr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsArray(v) ? v : NULL;
}

char *
json_dup(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}

void
json_add_str_or_null(cJSON *obj, const char *key, const char *s)
{
	if (s != NULL)
		cJSON_AddStringToObject(obj, key, s);
	else
		cJSON_AddNullToObject(obj, key);
}

char *
json_print(const cJSON *v)
{
	return cJSON_PrintUnformatted(v);
}

/* The length of the UTF-8 sequence starting at s (1 to 4), or 0 when it is not valid. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;  /* also stops at the NUL of a cut sequence */
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

void
json_utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p != '\0') {
		size_t n = utf8_len(p);

		if (n > 0) {
			p += n;
			continue;
		}
		/* a sequence the end cut short: drop it; anything else invalid: '?' */
		if (*p >= 0xC2 && *p <= 0xF4) {
			size_t k = 1;

			while (k < 4 && (p[k] & 0xC0) == 0x80)
				k++;
			if (p[k] == '\0') {
				*p = '\0';
				return;
			}
		}
		*p++ = '?';
	}
}
