/*
 * Apple's GDMF feed (https://gdmf.apple.com/v2/pmv). Apple asks device management services to
 * check it no more than once a day, so a copy is kept in state_dir and reused until it is older
 * than gdmf.refresh. The feed is untrusted input: every field is type- and length-checked and
 * copied into our structs; a feed that is empty, not JSON, truncated or that suddenly lost
 * most of its entries is refused, and the last good copy stays in use.
 */
#include "gdmf.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fileio.h"
#include "http.h"
#include "isotime.h"
#include "log.h"
#include "version.h"

#define GDMF_CACHE_FILE "gdmf-feed.json"
#define GDMF_CACHE_MAX_BYTES (GDMF_MAX_BODY_BYTES * 2)

/* The lists of the feed, by their key; the supplemental list has had two names. */
static const struct {
	const char *key;
	enum gdmf_list list;
} gdmf_lists[] = {
	{"PublicBackgroundSecurityImprovements", GDMF_LIST_BSI},
	{"PublicRapidSecurityResponses", GDMF_LIST_BSI},
	{"PublicAssetSets", GDMF_LIST_PUBLIC},
	{"AssetSets", GDMF_LIST_ASSET},
};

const char *
gdmf_list_name(enum gdmf_list list)
{
	static const char *const names[] = {"bsi", "public", "asset"};

	return names[list];
}

void
gdmf_entry_identity(const struct gdmf_entry *e, char buf[GDMF_IDENTITY_BYTES])
{
	snprintf(buf, GDMF_IDENTITY_BYTES, "%s %s %s %s on %s", e->platform, e->version,
	    e->extra != NULL ? e->extra : "-", e->build != NULL ? e->build : "-",
	    e->prerequisite != NULL ? e->prerequisite : "-");
}

static void
entry_release(struct gdmf_entry *e)
{
	free(e->platform);
	free(e->version);
	free(e->extra);
	free(e->build);
	free(e->prerequisite);
	free(e->posted);
	free(e->expires);
	for (size_t i = 0; i < e->ndevices; i++)
		free(e->devices[i]);
	free(e->devices);
	memset(e, 0, sizeof(*e));
}

void
gdmf_feed_release(struct gdmf_feed *feed)
{
	for (size_t i = 0; i < feed->n; i++)
		entry_release(&feed->entries[i]);
	free(feed->entries);
	free(feed->source);
	memset(feed, 0, sizeof(*feed));
}

/* Whether s is 1..GDMF_MAX_FIELD_BYTES printable ASCII characters. */
static bool
field_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > GDMF_MAX_FIELD_BYTES)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/*
 * Copy the string member key of obj into *out. Returns 0 (absent members leave *out NULL
 * unless required), or -1 when it has the wrong type or shape.
 */
static int
take_string(const cJSON *obj, const char *key, bool required, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return required ? -1 : 0;
	if (!cJSON_IsString(v) || !field_ok(v->valuestring))
		return -1;
	return (*out = strdup(v->valuestring)) == NULL ? -1 : 0;
}

/* Copy one feed entry into e after checking every field; -1 when it is malformed. */
static int
entry_from_json(const cJSON *obj, enum gdmf_list list, const char *platform, struct gdmf_entry *e)
{
	const cJSON *devices, *d;
	struct version v;
	struct build b;
	int y, m, day;
	size_t n;

	memset(e, 0, sizeof(*e));
	e->list = list;
	if (!cJSON_IsObject(obj) || (e->platform = strdup(platform)) == NULL ||
	    take_string(obj, "ProductVersion", true, &e->version) == -1 ||
	    take_string(obj, "Build", false, &e->build) == -1 ||
	    take_string(obj, "ProductVersionExtra", false, &e->extra) == -1 ||
	    take_string(obj, "PrerequisiteBuild", false, &e->prerequisite) == -1 ||
	    take_string(obj, "PostingDate", false, &e->posted) == -1 ||
	    take_string(obj, "ExpirationDate", false, &e->expires) == -1)
		goto bad;
	if (version_parse(e->version, &v) == -1 ||
	    (e->build != NULL && build_parse(e->build, &b) == -1) ||
	    (e->prerequisite != NULL && build_parse(e->prerequisite, &b) == -1) ||
	    (e->extra != NULL && version_extra_rank(e->extra) <= 0) ||
	    (e->posted != NULL && version_date_parse(e->posted, &y, &m, &day) == -1) ||
	    (e->expires != NULL && version_date_parse(e->expires, &y, &m, &day) == -1))
		goto bad;
	/* a supplemental entry names its base build and its extra */
	if (list == GDMF_LIST_BSI && (e->extra == NULL || e->prerequisite == NULL))
		goto bad;
	devices = cJSON_GetObjectItemCaseSensitive(obj, "SupportedDevices");
	if (devices == NULL)
		return 0;
	if (!cJSON_IsArray(devices) || (n = (size_t)cJSON_GetArraySize(devices)) > GDMF_MAX_DEVICES)
		goto bad;
	if (n > 0 && (e->devices = calloc(n, sizeof(char *))) == NULL)
		goto bad;
	cJSON_ArrayForEach(d, devices) {
		if (!cJSON_IsString(d) || !field_ok(d->valuestring) ||
		    (e->devices[e->ndevices] = strdup(d->valuestring)) == NULL)
			goto bad;
		e->ndevices++;
	}
	return 0;
bad:
	entry_release(e);
	return -1;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compare two strings, NULL first. */
static int
null_cmp(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* Order by identity (list, platform, version, build, extra, prerequisite): equal ones touch. */
static int
identity_cmp(const void *pa, const void *pb)
{
	const struct gdmf_entry *a = pa, *b = pb;
	int c;

	if (a->list != b->list)
		return a->list < b->list ? -1 : 1;
	if ((c = strcmp(a->platform, b->platform)) != 0 || (c = strcmp(a->version, b->version)) != 0 ||
	    (c = null_cmp(a->build, b->build)) != 0 || (c = null_cmp(a->extra, b->extra)) != 0)
		return c;
	return null_cmp(a->prerequisite, b->prerequisite);
}

/* Sort the devices of e and drop repeated ones. */
static void
devices_normalise(struct gdmf_entry *e)
{
	size_t out = 0;

	if (e->ndevices == 0)
		return;
	qsort(e->devices, e->ndevices, sizeof(char *), str_cmp);
	for (size_t i = 0; i < e->ndevices; i++) {
		if (out > 0 && strcmp(e->devices[out - 1], e->devices[i]) == 0)
			free(e->devices[i]);
		else
			e->devices[out++] = e->devices[i];
	}
	e->ndevices = out;
}

/*
 * Merge the (sorted, unique) devices of from into those of into, keeping them sorted and
 * unique; from's strings move. Linear in both lists. 0, or -1 when out of memory.
 */
static int
merge_devices(struct gdmf_entry *into, struct gdmf_entry *from)
{
	size_t i = 0, j = 0, n = 0, cap = into->ndevices + from->ndevices;
	char **merged;

	if (from->ndevices == 0)
		return 0;
	if ((merged = calloc(cap, sizeof(char *))) == NULL)
		return -1;
	while (i < into->ndevices || j < from->ndevices) {
		int c = i == into->ndevices ? 1 : j == from->ndevices ? -1 :
		    strcmp(into->devices[i], from->devices[j]);

		if (c <= 0)
			merged[n++] = into->devices[i++];
		else
			merged[n++] = from->devices[j++];
		if (c == 0)
			j++;  /* the same model: keep into's copy, from's is freed with from */
		else if (c > 0)
			from->devices[j - 1] = NULL;
	}
	free(into->devices);
	into->devices = merged;
	into->ndevices = n;
	return 0;
}

/* Display order: list, platform, newest version first, extra, build. */
static int
entry_cmp(const void *pa, const void *pb)
{
	const struct gdmf_entry *a = pa, *b = pb;
	struct version va, vb;
	int c;

	if (a->list != b->list)
		return a->list < b->list ? -1 : 1;
	if ((c = strcmp(a->platform, b->platform)) != 0)
		return c;
	if (version_parse(a->version, &va) == 0 && version_parse(b->version, &vb) == 0 &&
	    (c = version_compare(&vb, &va)) != 0)
		return c;
	if ((c = version_extra_rank(b->extra) - version_extra_rank(a->extra)) != 0)
		return c;
	return strcmp(a->build ? a->build : "", b->build ? b->build : "");
}

/*
 * Apple lists some releases more than once (in one list, with different device lists): keep
 * one entry per identity with the union of the devices. Sorting first keeps this O(n log n)
 * however large a hostile feed is. 0, or -1 when out of memory.
 */
static int
merge_duplicates(struct gdmf_feed *feed)
{
	size_t out = 0;

	if (feed->n == 0)
		return 0;
	qsort(feed->entries, feed->n, sizeof(feed->entries[0]), identity_cmp);
	for (size_t i = 0; i < feed->n; i++) {
		if (out > 0 && identity_cmp(&feed->entries[out - 1], &feed->entries[i]) == 0) {
			int rc = merge_devices(&feed->entries[out - 1], &feed->entries[i]);

			entry_release(&feed->entries[i]);
			if (rc == -1) {
				/* entries out..i-1 were moved or released: leave a consistent array */
				for (size_t k = i + 1; k < feed->n; k++)
					entry_release(&feed->entries[k]);
				feed->n = out;
				return -1;
			}
			continue;
		}
		if (out != i)
			feed->entries[out] = feed->entries[i];
		out++;
	}
	feed->n = out;
	return 0;
}

/* Read every list of a parsed feed object into feed; 0, or -1 with err. */
static int
feed_from_json(const cJSON *root, struct gdmf_feed *feed, char *err, size_t errlen)
{
	bool any_list = false;

	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "the feed is not a JSON object");
		return -1;
	}
	for (size_t l = 0; l < sizeof(gdmf_lists) / sizeof(gdmf_lists[0]); l++) {
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, gdmf_lists[l].key);
		const cJSON *platform;

		if (list == NULL)
			continue;
		any_list = true;
		if (!cJSON_IsObject(list)) {
			snprintf(err, errlen, "\"%s\" is not an object of platforms", gdmf_lists[l].key);
			return -1;
		}
		cJSON_ArrayForEach(platform, list) {
			const cJSON *item;

			if (!cJSON_IsArray(platform) || !field_ok(platform->string)) {
				feed->skipped++;
				continue;
			}
			cJSON_ArrayForEach(item, platform) {
				struct gdmf_entry e, *grown;

				if (entry_from_json(item, gdmf_lists[l].list, platform->string, &e) == -1) {
					feed->skipped++;
					continue;
				}
				devices_normalise(&e);
				if (feed->n >= GDMF_MAX_ENTRIES) {
					entry_release(&e);
					snprintf(err, errlen, "the feed has more than %d entries",
					    GDMF_MAX_ENTRIES);
					return -1;
				}
				grown = realloc(feed->entries, (feed->n + 1) * sizeof(*grown));
				if (grown == NULL) {
					entry_release(&e);
					snprintf(err, errlen, "out of memory");
					return -1;
				}
				feed->entries = grown;
				feed->entries[feed->n++] = e;
			}
		}
	}
	if (!any_list) {
		snprintf(err, errlen, "not a GDMF feed: none of PublicAssetSets, AssetSets, "
		    "PublicBackgroundSecurityImprovements or PublicRapidSecurityResponses");
		return -1;
	}
	if (merge_duplicates(feed) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (feed->n == 0) {
		snprintf(err, errlen, "the feed holds no usable entries (%zu malformed)", feed->skipped);
		return -1;
	}
	qsort(feed->entries, feed->n, sizeof(feed->entries[0]), entry_cmp);
	return 0;
}

int
gdmf_feed_parse(const char *json, size_t len, struct gdmf_feed *feed, char *err, size_t errlen)
{
	cJSON *root;
	int rc;

	feed->entries = NULL;
	feed->n = 0;
	feed->skipped = 0;
	if (len == 0) {
		snprintf(err, errlen, "the feed is empty");
		return -1;
	}
	if ((root = cJSON_ParseWithLength(json, len)) == NULL) {
		snprintf(err, errlen, "the feed is not valid JSON (truncated or damaged near byte "
		    "%zu)", (size_t)(cJSON_GetErrorPtr() != NULL ? cJSON_GetErrorPtr() - json : 0));
		return -1;
	}
	rc = feed_from_json(root, feed, err, errlen);
	cJSON_Delete(root);
	if (rc == -1) {
		for (size_t i = 0; i < feed->n; i++)
			entry_release(&feed->entries[i]);
		free(feed->entries);
		feed->entries = NULL;
		feed->n = 0;
	}
	return rc;
}

/* Path of the cache file in state_dir (PATH_MAX bytes); 0 or -1 when too long. */
static int
cache_path(const struct config *cfg, char *buf)
{
	return fileio_path_in(cfg->state_dir, GDMF_CACHE_FILE, buf);
}

/*
 * Read the last good copy into feed (with its source and time). Returns 0, or -1 when there
 * is none or it cannot be used (a damaged copy is reported once).
 */
static int
cache_read(const char *path, struct gdmf_feed *feed)
{
	const cJSON *source, *fetched;
	char *text = NULL, err[256];
	cJSON *root = NULL;
	size_t len;
	int rc = -1;

	switch (fileio_read(path, GDMF_CACHE_MAX_BYTES, &text, &len)) {
	case FILEIO_OK:
		break;
	case FILEIO_TOO_BIG:
		log_warn("ignoring the cached feed \"%s\": larger than %d bytes", path,
		    GDMF_CACHE_MAX_BYTES);
		return -1;
	default:
		if (errno != ENOENT)
			log_warn("cannot read the cached feed \"%s\": %s", path, strerror(errno));
		return -1;
	}
	root = cJSON_ParseWithLength(text, len);
	source = cJSON_GetObjectItemCaseSensitive(root, "source");
	fetched = cJSON_GetObjectItemCaseSensitive(root, "fetched_at");
	if (root == NULL || !cJSON_IsString(source) || !cJSON_IsString(fetched) ||
	    iso_time_parse(fetched->valuestring, &feed->fetched_at) == -1) {
		log_warn("ignoring the cached feed \"%s\": it is damaged", path);
		goto out;
	}
	if (feed_from_json(cJSON_GetObjectItemCaseSensitive(root, "feed"), feed, err,
	    sizeof(err)) == -1) {
		log_warn("ignoring the cached feed \"%s\": %s", path, err);
		gdmf_feed_release(feed);
		goto out;
	}
	if ((feed->source = strdup(source->valuestring)) == NULL) {
		gdmf_feed_release(feed);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	free(text);
	return rc;
}

/* Save body (already parsed as a good feed) as the last good copy. Failures are warnings. */
static void
cache_write(const struct config *cfg, const char *path, const char *body, size_t len,
    time_t fetched_at)
{
	cJSON *wrapper = cJSON_CreateObject(), *feed = cJSON_ParseWithLength(body, len);
	char stamp[32], *text = NULL;

	iso_time_format(fetched_at, stamp);
	if (wrapper == NULL || feed == NULL ||
	    cJSON_AddStringToObject(wrapper, "source", cfg->gdmf.url) == NULL ||
	    cJSON_AddStringToObject(wrapper, "fetched_at", stamp) == NULL ||
	    !cJSON_AddItemToObject(wrapper, "feed", feed)) {
		cJSON_Delete(feed);
		log_warn("cannot save the feed: out of memory");
		goto out;
	}
	if ((text = cJSON_PrintUnformatted(wrapper)) == NULL) {
		log_warn("cannot save the feed: out of memory");
		goto out;
	}
	if (fileio_mkdirs(cfg->state_dir, 0700) == -1 ||
	    fileio_write_atomic(path, text, strlen(text), 0600) == -1)
		log_warn("cannot save the feed to \"%s\": %s", path, strerror(errno));
out:
	free(text);
	cJSON_Delete(wrapper);
}

/* Fetch the feed now into fresh; 0, or -1 with a reason in err. body is kept for the cache. */
static int
fetch(struct http_client *http, const struct config *cfg, struct gdmf_feed *fresh,
    struct http_response *resp, char *err, size_t errlen)
{
	struct http_endpoint ep;
	struct http_request req = {.method = "GET", .url = cfg->gdmf.url,
		.headers = {"Accept: application/json"}, .nheaders = 1};

	http_endpoint_init(&ep, &cfg->http, cfg->gdmf.ca_file, GDMF_MAX_BODY_BYTES);
	if (http_do(http, &ep, &req, resp) == -1) {
		snprintf(err, errlen, "%s", resp->error);
		return -1;
	}
	if (resp->status != 200) {
		snprintf(err, errlen, "%s answered HTTP %ld", cfg->gdmf.url, resp->status);
		return -1;
	}
	return gdmf_feed_parse(resp->body != NULL ? resp->body : "", resp->body_len, fresh, err,
	    errlen);
}

int
gdmf_load(struct http_client *http, const struct config *cfg, bool refresh, time_t now,
    struct gdmf_feed *feed, enum gdmf_origin *origin)
{
	struct gdmf_feed cached = {0}, fresh = {0};
	struct http_response resp = {0};
	char path[PATH_MAX], err[HTTP_MAX_ERROR_BYTES + 64], stamp[32];
	bool have_cache;

	memset(feed, 0, sizeof(*feed));
	if (cache_path(cfg, path) == -1) {
		log_error("state_dir \"%s\" is too long", cfg->state_dir);
		return -1;
	}
	have_cache = cache_read(path, &cached) == 0;
	if (have_cache && !refresh && strcmp(cached.source, cfg->gdmf.url) == 0 &&
	    now >= cached.fetched_at && now - cached.fetched_at < cfg->gdmf.refresh) {
		iso_time_format(cached.fetched_at, stamp);
		log_debug("using the feed fetched at %s (younger than gdmf.refresh)", stamp);
		*feed = cached;
		*origin = GDMF_ORIGIN_CACHE;
		return 0;
	}

	if (fetch(http, cfg, &fresh, &resp, err, sizeof(err)) == 0) {
		if (have_cache && fresh.n * 2 < cached.n) {
			snprintf(err, sizeof(err), "the new feed lost more than half of its entries "
			    "(%zu, the last good copy has %zu); refused", fresh.n, cached.n);
			gdmf_feed_release(&fresh);
		} else {
			if (fresh.skipped > 0)
				log_warn("the feed has %zu malformed entries; they are left out",
				    fresh.skipped);
			cache_write(cfg, path, resp.body, resp.body_len, now);
			http_response_release(&resp);
			gdmf_feed_release(&cached);
			if ((fresh.source = strdup(cfg->gdmf.url)) == NULL) {
				gdmf_feed_release(&fresh);
				log_error("out of memory");
				return -1;
			}
			fresh.fetched_at = now;
			*feed = fresh;
			*origin = GDMF_ORIGIN_NETWORK;
			return 0;
		}
	}
	http_response_release(&resp);
	if (!have_cache) {
		log_error("GDMF feed unavailable and no cached copy: %s", err);
		return -1;
	}
	iso_time_format(cached.fetched_at, stamp);
	log_warn("GDMF feed not updated: %s; using the last good copy, fetched at %s", err, stamp);
	*feed = cached;
	*origin = GDMF_ORIGIN_FALLBACK;
	return 0;
}
