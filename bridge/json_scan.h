/*
 * Reading a JSON text in one pass, without building a tree: the caller walks the objects and
 * arrays it cares about and takes the members it wants; everything else is checked and skipped.
 * It serves Jamf's list pages, where a cJSON tree of 2000 devices costs some 100,000
 * allocations to build and free again, and the record lines of state.json (state.c);
 * everything else reads cJSON trees (json.h).
 *
 * The grammar is RFC 8259's, checked as the text is read: no control characters in strings,
 * no lone surrogates in \u escapes, strict numbers, nothing after the value, nesting at most
 * JSON_SCAN_MAX_DEPTH; a leading byte order mark is ignored. Bytes above 0x7F in strings are
 * taken as they are (not checked as UTF-8, as cJSON does not). After the first error every
 * call returns false and json_scan_end() reports it; callers test once, at the end.
 *
 * Usage: after json_scan_member() or json_scan_item() returns true, the caller takes exactly
 * one value, with json_scan_object()/_array() and a loop, or one of the readers, or
 * json_scan_skip(). A reader that meets a value of another type skips it and returns false.
 */
#ifndef BRIDGE_JSON_SCAN_H
#define BRIDGE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_SCAN_MAX_DEPTH 128  /* objects and arrays inside each other */

enum json_scan_type {
	JSON_SCAN_ERROR,  /* the text is malformed (or ends) where a value should be */
	JSON_SCAN_OBJECT,
	JSON_SCAN_ARRAY,
	JSON_SCAN_STRING,
	JSON_SCAN_NUMBER,
	JSON_SCAN_BOOL,
	JSON_SCAN_NULL,
};

struct json_scan {
	const char *text;
	const char *p;      /* the next byte to read */
	const char *end;
	int depth;          /* objects and arrays entered and not yet left */
	bool first;         /* nothing read yet in the innermost object or array */
	const char *error;  /* NULL while well formed so far; else what is wrong (static text) */
	size_t error_at;    /* byte offset of the error */
};

/* Start reading text[0..len); the text need not be NUL-terminated. */
void json_scan_init(struct json_scan *js, const char *text, size_t len);

/* The type of the next value, without taking it; JSON_SCAN_ERROR when there is none. */
enum json_scan_type json_scan_peek(struct json_scan *js);

/* Enter the next value when it is an object (or array): true; otherwise skip it: false. */
bool json_scan_object(struct json_scan *js);
bool json_scan_array(struct json_scan *js);

/*
 * The next member of the object being read: true, with its name decoded into key (a name that
 * does not fit reads as ""). false at the end of the object (which is then left) or on error.
 */
bool json_scan_member(struct json_scan *js, char *key, size_t size);

/*
 * json_scan_member() for a name the caller expects next, faster: when the next member's name
 * is written exactly as raw (len bytes: the name in quotes and the colon, as in "\"id\":",
 * nothing escaped in it, no space before the colon), it is taken: true, and its value
 * follows. Otherwise nothing is taken, whatever comes (another member, the end of the
 * object, an error): false, and json_scan_member() reads on from where it was.
 */
bool json_scan_member_as(struct json_scan *js, const char *raw, size_t len);

/* The next element of the array being read: true; false at its end (then left) or on error. */
bool json_scan_item(struct json_scan *js);

/*
 * The next value into buf when it is a string that fits (decoded, NUL-terminated, holding no
 * U+0000): true. Any other value is skipped: false.
 */
bool json_scan_string(struct json_scan *js, char *buf, size_t size);

/*
 * The next value as an id into buf: a non-empty string that fits, or an integral number >= 0
 * written in decimal. Jamf sends ids both ways. Anything else is skipped: false.
 */
bool json_scan_id(struct json_scan *js, char *buf, size_t size);

/* The next value into *out when it is an integral number within +-9e15: true; else skip it. */
bool json_scan_long(struct json_scan *js, long *out);

/* The next value into *out when it is true or false: true; any other value is skipped. */
bool json_scan_bool(struct json_scan *js, bool *out);

/* Skip the next value, checking it; false on error. */
bool json_scan_skip(struct json_scan *js);

/* 0 when the text was well formed and nothing but white space follows what was read; else -1. */
int json_scan_end(struct json_scan *js);

#endif
