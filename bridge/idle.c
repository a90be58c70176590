/* Whether a sync may leave a tenant alone (see idle.h). */
#include "idle.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "gdmf.h"
#include "hash.h"
#include "isotime.h"
#include "json.h"
#include "log.h"
#include "state.h"
#include "template.h"

#ifndef BRIDGE_VERSION
#define BRIDGE_VERSION "0.0.0"
#endif

#define MARK_FILE "watched.json"
#define MARK_FORMAT 1
#define MARK_MAX_BYTES 4096
#define FILE_MAX_BYTES (16 * 1024 * 1024)   /* a template read to digest */
#define CLOCK_SKEW 60                       /* a watch this far in the future: the clock moved */

/*
 * h with a separator and the template at path (its absence, too) added; in->unread set when
 * it cannot be read.
 */
static uint64_t
hash_file(uint64_t h, const char *path, struct idle_inputs *in)
{
	char *text;
	size_t len;

	h = hash_bytes(hash_str(h, path), "\x1f", 1);
	switch (fileio_read(path, FILE_MAX_BYTES, &text, &len)) {
	case FILEIO_OK:
		h = hash_bytes(h, text, len);
		free(text);
		return hash_bytes(h, "\x1e", 1);
	case FILEIO_ERROR:
		if (errno == ENOENT)
			return hash_bytes(h, "\x1d", 1);
		log_warn("template \"%s\": %s; every tenant is read in full", path,
		    strerror(errno));
		break;
	case FILEIO_TOO_BIG:
	default:
		log_warn("template \"%s\" is larger than %d bytes; every tenant is read in full",
		    path, FILE_MAX_BYTES);
		break;
	}
	in->unread = true;
	return h;
}

/* h with the string s, or NULL, added and ended. */
static uint64_t
hash_field(uint64_t h, const char *s)
{
	return s == NULL ? hash_bytes(h, "\x1d", 1) : hash_bytes(hash_str(h, s), "\x1f", 1);
}

void
idle_inputs(const struct config *cfg, const struct gdmf_feed *feed, struct idle_inputs *in)
{
	static const enum template_which defaults[] = {TEMPLATE_PLAN, TEMPLATE_DECLARATION,
	    TEMPLATE_BLUEPRINT};
	uint64_t h = hash_field(HASH_START, BRIDGE_VERSION);
	struct stat sb;

	in->unread = in->no_metrics = false;
	h = hash_bytes(h, &cfg->digest, sizeof(cfg->digest));
	/* the installed templates, then each policy's own */
	for (size_t k = 0; k < sizeof(defaults) / sizeof(defaults[0]); k++) {
		char buf[PATH_MAX];
		const char *path = template_default_path(defaults[k], buf, sizeof(buf));

		h = path != NULL ? hash_file(h, path, in) : hash_field(h, NULL);
	}
	for (size_t t = 0; t < cfg->ntenants; t++) {
		for (size_t i = 0; i < cfg->tenants[t].npolicies; i++) {
			const struct config_templates *own = &cfg->tenants[t].policies[i].templates;
			const char *paths[] = {own->plan, own->declaration, own->blueprint};

			for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++)
				h = paths[k] != NULL ? hash_file(h, paths[k], in) : hash_field(h, NULL);
		}
	}
	in->config = h;
	if (cfg->metrics_file != NULL && stat(cfg->metrics_file, &sb) == -1) {
		log_info("metrics_file \"%s\": %s; every tenant is read in full to write it",
		    cfg->metrics_file, strerror(errno));
		in->no_metrics = true;
	}

	h = HASH_START;
	for (size_t i = 0; i < feed->n; i++) {
		const struct gdmf_entry *e = &feed->entries[i];

		h = hash_field(h, gdmf_list_name(e->list));
		h = hash_field(hash_field(hash_field(h, e->platform), e->version), e->extra);
		h = hash_field(hash_field(hash_field(h, e->build), e->prerequisite), e->posted);
		h = hash_field(h, e->expires);
		for (size_t k = 0; k < e->ndevices; k++)
			h = hash_field(h, e->devices[k]);
		h = hash_bytes(h, "\x1e", 1);
	}
	in->feed = h;
}

/* A digest as JSON writes it: 16 hex digits. */
static void
digest_text(uint64_t d, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, d);
}

/* Whether member name of root is the digest d. */
static bool
digest_is(const cJSON *root, const char *name, uint64_t d)
{
	const char *s = json_str(root, name);
	char want[17];

	digest_text(d, want);
	return s != NULL && strcmp(s, want) == 0;
}

time_t
idle_due(time_t watched_at, long interval)
{
	return watched_at + interval - interval / 10;
}

bool
idle_check(const char *state_dir, long interval, const struct idle_inputs *in, time_t now,
    time_t *watched_at)
{
	char path[PATH_MAX], *text = NULL;
	const char *at;
	size_t len;
	cJSON *root = NULL;
	uint64_t state;
	long format;
	bool idle = false;

	if (interval <= 0 || in->unread || in->no_metrics ||
	    fileio_path_in(state_dir, MARK_FILE, path) == -1 ||
	    fileio_read(path, MARK_MAX_BYTES, &text, &len) != FILEIO_OK)
		goto out;
	if ((root = cJSON_ParseWithLength(text, len)) == NULL || !json_long(root, "format", &format) ||
	    format != MARK_FORMAT || (at = json_str(root, "watched_at")) == NULL ||
	    iso_time_parse(at, watched_at) == -1) {
		log_warn("%s does not read; this run reads Jamf", path);
		goto out;
	}
	if (*watched_at > now + CLOCK_SKEW || now >= idle_due(*watched_at, interval))
		log_debug("the last full run was at %s: due again", at);
	else if (!digest_is(root, "config", in->config))
		log_info("the policy file or a template changed since the last full run");
	else if (!digest_is(root, "feed", in->feed))
		log_info("the feed changed since the last full run");
	else if (!state_identity(state_dir, &state) || !digest_is(root, "state", state))
		log_info("the state changed since the last full run");
	else
		idle = true;
out:
	cJSON_Delete(root);
	free(text);
	return idle;
}

int
idle_forget(const char *state_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (fileio_path_in(state_dir, MARK_FILE, path) == -1) {
		snprintf(err, errlen, "state_dir \"%s\" is too long", state_dir);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove \"%s\": %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
idle_note(const char *state_dir, const struct idle_inputs *in, time_t started, char *err,
    size_t errlen)
{
	char path[PATH_MAX], at[ISO_TIME_BYTES], config[17], feed[17], state[17], text[256];
	uint64_t id;
	int n;

	if (fileio_path_in(state_dir, MARK_FILE, path) == -1) {
		snprintf(err, errlen, "state_dir \"%s\" is too long", state_dir);
		return -1;
	}
	if (in->unread) {
		snprintf(err, errlen, "a template could not be read");
		return -1;
	}
	if (!state_identity(state_dir, &id)) {
		snprintf(err, errlen, "the state file in \"%s\" cannot be seen, or its journal is "
		    "not empty", state_dir);
		return -1;
	}
	iso_time_format(started, at);
	digest_text(in->config, config);
	digest_text(in->feed, feed);
	digest_text(id, state);
	n = snprintf(text, sizeof(text), "{\"format\":%d,\"watched_at\":\"%s\",\"config\":\"%s\","
	    "\"feed\":\"%s\",\"state\":\"%s\"}\n", MARK_FORMAT, at, config, feed, state);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		snprintf(err, errlen, "cannot write \"%s\": too long", path);
		return -1;
	}
	if (fileio_write_atomic(path, text, (size_t)n, 0600) == -1) {
		snprintf(err, errlen, "cannot write \"%s\": %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
