/* Apple's GDMF feed: fetch at most once per refresh interval, keep the last good copy, parse. */
#ifndef BRIDGE_GDMF_H
#define BRIDGE_GDMF_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct config;
struct http_client;

#define GDMF_MAX_BODY_BYTES (16 * 1024 * 1024)
#define GDMF_MAX_ENTRIES 50000
#define GDMF_MAX_DEVICES 4096      /* per entry as Apple lists it */
#define GDMF_MAX_FIELD_BYTES 64

enum gdmf_list {
	GDMF_LIST_BSI,     /* PublicBackgroundSecurityImprovements (formerly ...RapidSecurityResponses) */
	GDMF_LIST_PUBLIC,  /* PublicAssetSets */
	GDMF_LIST_ASSET,   /* AssetSets */
};

/* One release or BSI. Identity: (list, platform, version, build, extra, prerequisite). */
struct gdmf_entry {
	enum gdmf_list list;
	char *platform;      /* "macOS", "iOS", "visionOS", "xrOS", or whatever Apple adds */
	char *version;       /* ProductVersion, never with the extra */
	char *extra;         /* ProductVersionExtra, e.g. "(a)"; NULL for releases */
	char *build;         /* Build; NULL when the feed omits it */
	char *prerequisite;  /* PrerequisiteBuild (the base build of a BSI); NULL for releases */
	char *posted;        /* PostingDate "YYYY-MM-DD"; NULL when missing */
	char *expires;       /* ExpirationDate; NULL: does not expire */
	char **devices;      /* SupportedDevices */
	size_t ndevices;
};

struct gdmf_feed {
	struct gdmf_entry *entries;  /* sorted: list, platform, newest version first, build */
	size_t n;
	size_t skipped;              /* malformed entries left out */
	char *source;                /* URL it came from */
	time_t fetched_at;
};

/* Where gdmf_load() found the feed it returned. */
enum gdmf_origin {
	GDMF_ORIGIN_NETWORK,    /* fetched now */
	GDMF_ORIGIN_CACHE,      /* the cached copy is younger than gdmf.refresh */
	GDMF_ORIGIN_FALLBACK,   /* fetching failed or was refused: the last good copy */
};

/*
 * Parse a GDMF document into feed (entries only; source and fetched_at untouched). Returns 0,
 * or -1 with a reason in err when it is not a usable feed (not JSON, no known lists, no entries).
 */
int gdmf_feed_parse(const char *json, size_t len, struct gdmf_feed *feed, char *err,
    size_t errlen);

/*
 * Give the feed to use now: the cached copy when it is fresh (no request at all), else a new
 * fetch, which is refused in favour of the last good copy when it fails, is not a feed, or
 * lost more than half of the entries. Writes a new good copy to state_dir atomically.
 * Returns 0 with *origin set, or -1 when there is no usable feed at all (logged).
 */
int gdmf_load(struct http_client *http, const struct config *cfg, bool refresh, time_t now,
    struct gdmf_feed *feed, enum gdmf_origin *origin);

void gdmf_feed_release(struct gdmf_feed *feed);

/* "bsi", "public" or "asset". */
const char *gdmf_list_name(enum gdmf_list list);

/*
 * The identity under which bridge's state remembers a BSI (first seen, ring starts):
 * "macOS 26.3.1 (a) 25D771280a on 25D2128". At most GDMF_IDENTITY_BYTES - 1 characters.
 */
#define GDMF_IDENTITY_BYTES 256
void gdmf_entry_identity(const struct gdmf_entry *e, char buf[GDMF_IDENTITY_BYTES]);

#endif
