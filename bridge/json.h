/*
 * Reading untrusted JSON (Jamf's answers) safely: typed lookups that check type and length,
 * so that a missing, null or wrongly typed member reads as absent instead of crashing.
 * Values are cJSON trees; this header is how the API modules reach cJSON.
 */
#ifndef BRIDGE_JSON_H
#define BRIDGE_JSON_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_STRING_BYTES 16384  /* longer strings from a server read as absent (JWTs fit) */

/* The string member key of obj when it is a string of at most JSON_MAX_STRING_BYTES; else NULL. */
const char *json_str(const cJSON *obj, const char *key);

/*
 * The member key as an id string: a JSON string (as above) or an integral number, written
 * into buf. NULL when absent or of another type. Jamf sends ids both ways.
 */
const char *json_id(const cJSON *obj, const char *key, char *buf, size_t size);

/* The integral number member key into *out; false when absent, not a number or out of range. */
bool json_long(const cJSON *obj, const char *key, long *out);

/* The boolean member key, or def when absent or not a boolean. */
bool json_bool(const cJSON *obj, const char *key, bool def);

/* The member key when it is an object (or array); else NULL. */
const cJSON *json_obj(const cJSON *obj, const char *key);
const cJSON *json_arr(const cJSON *obj, const char *key);

/* strdup of s, or NULL for NULL; *oom set when allocation failed for a non-NULL s. */
char *json_dup(const char *s, bool *oom);

/* Add the string member key to obj, or null when s is NULL. */
void json_add_str_or_null(cJSON *obj, const char *key, const char *s);

/*
 * Make s valid UTF-8 in place: an invalid or overlong sequence becomes '?', and an incomplete
 * one at the end (a string cut by a fixed buffer) is dropped.
 */
void json_utf8_clean(char *s);

/* Print v compactly into a new string (NULL when out of memory). */
char *json_print(const cJSON *v);

#endif
