/* Regular expressions (PCRE2) used by policies to select versions and device models. */
#ifndef BRIDGE_MATCH_H
#define BRIDGE_MATCH_H

#include <stdbool.h>
#include <stddef.h>

struct match;

/*
 * Compile pattern. On failure write PCRE2's message to err, the byte offset of the problem
 * to *erroffset, and return NULL. The caller frees the result with match_free().
 */
struct match *match_compile(const char *pattern, char *err, size_t errlen, size_t *erroffset);

/* Whether subject matches m. A NULL m matches everything. */
bool match_test(const struct match *m, const char *subject);

/* The source pattern of m. */
const char *match_pattern(const struct match *m);

/* Free m; NULL is a no-op. */
void match_free(struct match *m);

/* PCRE2's version, e.g. "10.42 2022-12-11". */
const char *match_library_version(void);

#endif
