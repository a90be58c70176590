/*
 * PCRE2 wrapper: the only file that includes pcre2.h. Patterns come from the policy file
 * and are compiled once, at load time, so a typo is a config error and not a runtime surprise.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "match.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits against catastrophic backtracking on hostile input (subjects are short identifiers). */
#define MATCH_MAX_STEPS 100000
#define MATCH_MAX_DEPTH 1000

struct match {
	char *pattern;
	pcre2_code *code;
	pcre2_match_context *ctx;
};

struct match *
match_compile(const char *pattern, char *err, size_t errlen, size_t *erroffset)
{
	struct match *m;
	PCRE2_SIZE offset = 0;
	int code = 0;

	*erroffset = 0;
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->pattern = strdup(pattern)) == NULL) {
		snprintf(err, errlen, "out of memory");
		match_free(m);
		return NULL;
	}
	m->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code,
	    &offset, NULL);
	if (m->code == NULL) {
		PCRE2_UCHAR msg[256];

		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		snprintf(err, errlen, "%s", (const char *)msg);
		*erroffset = offset;
		match_free(m);
		return NULL;
	}
	if ((m->ctx = pcre2_match_context_create(NULL)) == NULL) {
		snprintf(err, errlen, "out of memory");
		match_free(m);
		return NULL;
	}
	pcre2_set_match_limit(m->ctx, MATCH_MAX_STEPS);
	pcre2_set_depth_limit(m->ctx, MATCH_MAX_DEPTH);
	return m;
}

bool
match_test(const struct match *m, const char *subject)
{
	pcre2_match_data *md;
	int rc;

	if (m == NULL)
		return true;
	if ((md = pcre2_match_data_create_from_pattern(m->code, NULL)) == NULL)
		return false;
	rc = pcre2_match(m->code, (PCRE2_SPTR)subject, PCRE2_ZERO_TERMINATED, 0, 0, md, m->ctx);
	pcre2_match_data_free(md);
	return rc >= 0;
}

const char *
match_pattern(const struct match *m)
{
	return m->pattern;
}

void
match_free(struct match *m)
{
	if (m == NULL)
		return;
	pcre2_match_context_free(m->ctx);
	pcre2_code_free(m->code);
	free(m->pattern);
	free(m);
}

const char *
match_library_version(void)
{
	static char version[64];

	if (version[0] == '\0' && pcre2_config(PCRE2_CONFIG_VERSION, version) < 0)
		snprintf(version, sizeof(version), "unknown");
	return version;
}
