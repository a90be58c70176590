/*
 * Jamf Pro API calls (see jamf_pro.h). Every answer is untrusted: values are read through
 * json.h, or json_scan.h for list pages and plans (the bulk of a run), and an answer without
 * what the API promises is a JAMF_FAIL_BAD_REPLY naming the endpoint. Paths and enums follow Jamf's published schema (11.30.1).
 */
#include "jamf_pro.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "log.h"

#define PLANS_PATH "/api/v1/managed-software-updates/plans"
#define TOGGLE_PATH PLANS_PATH "/feature-toggle"
#define TOGGLE_STATUS_PATH TOGGLE_PATH "/status"
#define PATH_BYTES 2048
#define ID_BYTES 64
#define MAX_RESULTS 20000000L  /* in one list: 10,000 pages, far beyond any Jamf Pro */
/* a groups list's filter: its names, then groupName=in=(…);groupType==MOBILE around them */
#define GROUPS_FILTER_BYTES (JAMF_GROUPS_NAMES_BYTES + 64)

const char *
jamf_kind_name(enum jamf_kind kind)
{
	return kind == JAMF_COMPUTER ? "computer" : "mobile device";
}

enum jamf_kind
jamf_pro_kind(enum config_os os)
{
	return os == CONFIG_OS_MACOS ? JAMF_COMPUTER : JAMF_MOBILE;
}

/* Mark r as a bad reply from path, with a reason. Returns -1 for the caller to return. */
static int
bad_reply(struct jamf_session *s, struct jamf_reply *r, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
bad_reply(struct jamf_session *s, struct jamf_reply *r, const char *path, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	const char *q = strchr(path, '?');

	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return jamf_reply_fail(r, JAMF_FAIL_BAD_REPLY, "%s %.*s: unexpected answer: %s", s->name,
	    q != NULL ? (int)(q - path) : (int)strlen(path), path, why);
}

void
jamf_inventory_release(struct jamf_inventory *inv)
{
	for (size_t i = 0; i < inv->n; i++)
		free(inv->v[i].groups);
	free(inv->v);
	strtab_release(&inv->strings);
	memset(inv, 0, sizeof(*inv));
}

/* How keep() holds a value. */
enum {
	KEEP_UNIQUE = 0,        /* one per device (ids, names, serials): copied, not looked up */
	KEEP_SHARED = 1,        /* repeats across the fleet (versions, builds, models): interned */
	KEEP_EMPTY_IS_NONE = 2, /* "" is Jamf's way of saying none here: NULL */
};

/* Jamf's value, kept in t as how says; NULL for none, or with *oom set. */
static const char *
keep(struct strtab *t, const char *v, int how, bool *oom)
{
	const char *kept;

	if (v == NULL || ((how & KEEP_EMPTY_IS_NONE) && v[0] == '\0'))
		return NULL;
	kept = (how & KEEP_SHARED) ? strtab_intern(t, v) : strtab_add(t, v);
	if (kept == NULL)
		*oom = true;
	return kept;
}

/*
 * One inventory result as it is read: the record, a model to fall back on, and the members
 * seen so far. As with a cJSON lookup, the first of a member said twice counts, whatever its
 * type: seen has a bit per field of struct device_keys, and the SEEN_ bits.
 */
struct device_read {
	struct jamf_device d;
	const char *model_fallback;
	unsigned seen;
};

#define SEEN_ID (1u << 16)
#define SEEN_GROUPS (1u << 17)
#define SEEN_SECTION(s) (1u << (20 + (s)))

/* The objects of an inventory result that hold what bridge needs. */
enum device_section {
	SECTION_GENERAL,          /* "general" */
	SECTION_HARDWARE,         /* "hardware" */
	SECTION_OS,               /* "operatingSystem" (computers) */
	SECTION_NONE,
};

/* A string of an inventory result: where Jamf has it and where bridge keeps it. */
struct device_field {
	enum device_section section;
	const char *key;
	size_t at;            /* offset of its const char * in struct device_read */
	int how;              /* KEEP_* */
};

/* Where a kind of device keeps what bridge needs in an inventory result. */
struct device_keys {
	const char *id;      /* member of the result */
	const char *groups;  /* member of the result: a list of {groupId, ...} */
	struct device_field fields[9];  /* up to the first without a key */
};

#define AT(m) offsetof(struct device_read, m)

static const struct device_keys computer_keys = {"id", "groupMemberships", {
	{SECTION_GENERAL, "name", AT(d.name), KEEP_UNIQUE},
	{SECTION_GENERAL, "managementId", AT(d.management_id), KEEP_UNIQUE},
	{SECTION_OS, "version", AT(d.version), KEEP_SHARED},
	{SECTION_OS, "build", AT(d.build), KEEP_SHARED},
	{SECTION_OS, "supplementalBuildVersion", AT(d.supplemental_build),
	    KEEP_SHARED | KEEP_EMPTY_IS_NONE},
	{SECTION_OS, "rapidSecurityResponse", AT(d.extra), KEEP_SHARED | KEEP_EMPTY_IS_NONE},
	{SECTION_OS, "softwareUpdateDeviceId", AT(d.model_id), KEEP_SHARED},
	{SECTION_HARDWARE, "serialNumber", AT(d.serial), KEEP_UNIQUE},
}};

static const struct device_keys mobile_keys = {"mobileDeviceId", "groups", {
	{SECTION_GENERAL, "displayName", AT(d.name), KEEP_UNIQUE},
	{SECTION_GENERAL, "managementId", AT(d.management_id), KEEP_UNIQUE},
	{SECTION_GENERAL, "osVersion", AT(d.version), KEEP_SHARED},
	{SECTION_GENERAL, "osBuild", AT(d.build), KEEP_SHARED},
	{SECTION_GENERAL, "osSupplementalBuildVersion", AT(d.supplemental_build),
	    KEEP_SHARED | KEEP_EMPTY_IS_NONE},
	{SECTION_GENERAL, "osRapidSecurityResponse", AT(d.extra), KEEP_SHARED | KEEP_EMPTY_IS_NONE},
	{SECTION_GENERAL, "softwareUpdateDeviceId", AT(d.model_id), KEEP_SHARED},
	{SECTION_HARDWARE, "modelIdentifier", AT(model_fallback), KEEP_SHARED},
	{SECTION_HARDWARE, "serialNumber", AT(d.serial), KEEP_UNIQUE},
}};

#undef AT
#define NFIELDS (sizeof(computer_keys.fields) / sizeof(computer_keys.fields[0]))

/* An inventory being read: the list, its filter, and room for one device's group ids. */
struct inventory_read {
	struct jamf_inventory *inv;
	const char *filter;
	unsigned want;     /* JAMF_INVENTORY_* */
	const struct device_keys *keys;
	size_t cap;        /* room in inv->v */
	size_t skipped;    /* results without an id */
	bool unsorted;     /* a device came before one with a larger id (its page was early) */
	bool sized;        /* cap is the total Jamf announced */
	long *groups;      /* the group ids of the result being read */
	size_t ngroups, groups_cap;
};

/*
 * Jamf's order of device ids (sort=id:asc): numbers by value, before anything else, which
 * goes as text. A total order, as qsort needs, whatever ids a server sends.
 */
static int
cmp_ids(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	bool na = la > 0 && strspn(a, "0123456789") == la;
	bool nb = lb > 0 && strspn(b, "0123456789") == lb;

	if (na != nb)
		return na ? -1 : 1;
	if (na && la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

static int
cmp_devices(const void *a, const void *b)
{
	return cmp_ids(((const struct jamf_device *)a)->id, ((const struct jamf_device *)b)->id);
}

/* The section of an inventory result a member name is, or SECTION_NONE. */
static enum device_section
section_of(const char *key)
{
	if (strcmp(key, "general") == 0)
		return SECTION_GENERAL;
	if (strcmp(key, "hardware") == 0)
		return SECTION_HARDWARE;
	if (strcmp(key, "operatingSystem") == 0)
		return SECTION_OS;
	return SECTION_NONE;
}

/* The members of section (js inside it) that keys names, into dr; false when out of memory. */
static bool
read_section(struct inventory_read *ir, struct json_scan *js, enum device_section section,
    struct device_read *dr)
{
	char key[32], value[JSON_MAX_STRING_BYTES + 1];
	bool oom = false;

	while (json_scan_member(js, key, sizeof(key))) {
		const struct device_field *f = NULL;
		size_t i;

		for (i = 0; i < NFIELDS && ir->keys->fields[i].key != NULL; i++)
			if (ir->keys->fields[i].section == section &&
			    strcmp(ir->keys->fields[i].key, key) == 0) {
				f = &ir->keys->fields[i];
				break;
			}
		if (f == NULL || (dr->seen & 1u << i)) {
			(void)json_scan_skip(js);
			continue;
		}
		dr->seen |= 1u << i;
		if (json_scan_string(js, value, sizeof(value)))
			*(const char **)(void *)((char *)dr + f->at) =
			    keep(&ir->inv->strings, value, f->how, &oom);
	}
	return !oom;
}

/* The group ids of a list of {groupId, ...} objects (js on it) into ir->groups; false: OOM. */
static bool
read_groups(struct inventory_read *ir, struct json_scan *js)
{
	char key[16], id[ID_BYTES];

	if (!json_scan_array(js))
		return true;
	while (json_scan_item(js)) {
		bool said = false;
		char *end;
		long group;

		if (!json_scan_object(js))
			continue;
		while (json_scan_member(js, key, sizeof(key))) {
			if (strcmp(key, "groupId") != 0 || said) {
				(void)json_scan_skip(js);
				continue;
			}
			said = true;
			if (!json_scan_id(js, id, sizeof(id)))
				continue;  /* not an id: skipped */
			errno = 0;
			group = strtol(id, &end, 10);
			if (*end != '\0' || errno != 0 || group < 0)
				continue;  /* Jamf Pro's group ids are numbers */
			if (ir->ngroups == ir->groups_cap) {
				size_t cap = ir->groups_cap ? 2 * ir->groups_cap : 64;
				long *grown = realloc(ir->groups, cap * sizeof(*grown));

				if (grown == NULL)
					return false;
				ir->groups = grown;
				ir->groups_cap = cap;
			}
			ir->groups[ir->ngroups++] = group;
		}
	}
	return true;
}

/* Room for one more device in ir->inv; false when out of memory. */
static bool
inventory_grow(struct inventory_read *ir)
{
	struct jamf_inventory *inv = ir->inv;
	struct jamf_device *grown;
	size_t cap;

	if (inv->n < ir->cap)
		return true;
	/* past the announced total (devices added while reading): a page more, not double */
	cap = ir->cap == 0 ? JAMF_PRO_PAGE_SIZE : ir->sized ? ir->cap + JAMF_PRO_PAGE_SIZE :
	    2 * ir->cap;
	if ((grown = realloc(inv->v, cap * sizeof(*grown))) == NULL)
		return false;
	inv->v = grown;
	ir->cap = cap;
	return true;
}

/*
 * Room for as many devices as Jamf says it has, at once: the array is not doubled (and copied)
 * while the pages come in. Only a hint: without the room, doubling takes over.
 */
static int
inventory_sized(void *ctx, long total)
{
	struct inventory_read *ir = ctx;
	struct jamf_device *grown;

	if (total <= 0 || (size_t)total <= ir->cap)
		return 0;
	if ((grown = realloc(ir->inv->v, (size_t)total * sizeof(*grown))) == NULL)
		return 0;
	ir->inv->v = grown;
	ir->cap = (size_t)total;
	ir->sized = true;
	return 0;
}

/*
 * One inventory result (the next value of js) appended to the inventory, keeping only what
 * bridge needs; a result without an id is counted and left out. 0, or -1 when out of memory.
 */
static int
inventory_item(void *ctx, struct json_scan *js)
{
	struct inventory_read *ir = ctx;
	struct device_read dr = {0};
	char key[32], id[ID_BYTES];
	bool has_id = false, ok = true, oom = false;
	enum device_section section = SECTION_NONE;
	unsigned bit;

	ir->ngroups = 0;
	if (json_scan_object(js)) {
		while (ok && json_scan_member(js, key, sizeof(key))) {
			if (strcmp(key, ir->keys->id) == 0)
				bit = SEEN_ID;
			else if (strcmp(key, ir->keys->groups) == 0)
				bit = SEEN_GROUPS;
			else if ((section = section_of(key)) != SECTION_NONE)
				bit = SEEN_SECTION(section);
			else
				bit = 0;
			if (bit == 0 || (dr.seen & bit)) {
				(void)json_scan_skip(js);
				continue;
			}
			dr.seen |= bit;
			if (bit == SEEN_ID)
				has_id = json_scan_id(js, id, sizeof(id));
			else if (bit == SEEN_GROUPS)
				ok = read_groups(ir, js);
			else
				ok = !json_scan_object(js) || read_section(ir, js, section, &dr);
		}
	}
	if (!ok)
		return -1;
	if (!has_id) {
		ir->skipped++;
		return 0;  /* its strings stay in the table, freed with the inventory */
	}
	if (dr.d.model_id == NULL)
		dr.d.model_id = dr.model_fallback;
	if ((dr.d.id = keep(&ir->inv->strings, id, KEEP_UNIQUE, &oom)) == NULL || !inventory_grow(ir))
		return -1;
	if (ir->inv->n > 0 && cmp_ids(dr.d.id, ir->inv->v[ir->inv->n - 1].id) < 0)
		ir->unsorted = true;
	if (ir->ngroups > 0) {
		if ((dr.d.groups = malloc(ir->ngroups * sizeof(long))) == NULL)
			return -1;
		memcpy(dr.d.groups, ir->groups, ir->ngroups * sizeof(long));
		dr.d.ngroups = ir->ngroups;
	}
	ir->inv->v[ir->inv->n++] = dr.d;
	return 0;
}

/*
 * The path of one inventory page; 0, or -1 when it does not fit in buf. A mobile device's
 * HARDWARE section is always asked for: its model identifier stands in for a missing
 * softwareUpdateDeviceId.
 */
static int
inventory_path(enum jamf_kind kind, const char *filter, unsigned want, long page, char *buf,
    size_t size)
{
	int len;

	if (kind == JAMF_COMPUTER)
		len = snprintf(buf, size, "/api/v4/computers-inventory?section=GENERAL%s"
		    "&section=OPERATING_SYSTEM&section=GROUP_MEMBERSHIPS&page=%ld"
		    "&page-size=%d&sort=id%%3Aasc%s%s",
		    want & JAMF_INVENTORY_SERIALS ? "&section=HARDWARE" : "", page,
		    JAMF_PRO_PAGE_SIZE, filter ? "&filter=" : "", filter ? filter : "");
	else
		len = snprintf(buf, size, "/api/v2/mobile-devices/detail?section=GENERAL"
		    "&section=HARDWARE&section=GROUPS&page=%ld&page-size=%d"
		    "&sort=mobileDeviceId%%3Aasc%s%s", page, JAMF_PRO_PAGE_SIZE,
		    filter ? "&filter=" : "", filter ? filter : "");
	return len < 0 || (size_t)len >= size ? -1 : 0;
}

/*
 * Reading every page of a list: page 0 first (its totalCount says how many follow), then the
 * others, max_connections at a time; several lists are read together (read_lists), their
 * pages sharing those connections. Each page is read as soon as it is in, whatever its
 * place, straight from its text (json_scan.h: no tree of 2000 records), each result handed
 * to item(); then the text is freed. The pages are read on a thread of their own (struct
 * page_reader) while the transfers go on: each next request goes out as soon as the page
 * before is in, and an answer coming in is taken in at once, not after the page being read.
 * Memory holds the pages downloading and those being handed over, at most 2 x
 * max_connections, plus PAGES_WAITING in line and the one being read, never a parsed page:
 * a list that must come out in Jamf's order is sorted once read (cmp_devices, plans_sort).
 */
struct pager {
	/* the path of page into buf; 0, or -1 when it does not fit (a filter too long) */
	int (*path)(const void *ctx, long page, char *buf, size_t size);
	/* NULL, or told each page's totalCount as soon as it is read; 0, or -1 (out of memory) */
	int (*sized)(void *ctx, long total);
	/* take one result (exactly one value of js); 0, or -1 when out of memory */
	int (*item)(void *ctx, struct json_scan *js);
	/* NULL, or called after each page's results; 0 or -1 (r) */
	int (*page_done)(void *ctx, struct jamf_reply *r);
	void *ctx;
	struct jamf_reply *r;  /* where a failure is told */
	int rc;           /* out: 0, or -1 once the list failed (r) */
	long requests;    /* out: pages asked for */
	long total;       /* out: totalCount of the first page */
};

/*
 * Read one list page, {"totalCount": n, "results": [...]}, from its text: each result to
 * pg->item(), totalCount into *total, then pg->page_done(). 0, or -1 (r) when the page is
 * not JSON, lacks either member, or memory runs out.
 */
static int
page_read(struct jamf_session *s, const char *path, const char *text, size_t len,
    const char *content_type, const struct pager *pg, long *total, struct jamf_reply *r)
{
	bool results = false, said_total = false, said_results = false;
	struct json_scan js;
	char key[16];
	int rc = 0;

	*total = -1;
	json_scan_init(&js, text != NULL ? text : "", text != NULL ? len : 0);
	if (json_scan_object(&js)) {
		while (rc == 0 && json_scan_member(&js, key, sizeof(key))) {
			long n;

			if (strcmp(key, "totalCount") == 0 && !said_total) {
				said_total = true;
				if (json_scan_long(&js, &n) && n >= 0)
					*total = n;
				if (*total > MAX_RESULTS)
					rc = -2;
				else if (*total >= 0 && pg->sized != NULL)
					rc = pg->sized(pg->ctx, *total);
			} else if (strcmp(key, "results") == 0 && !said_results) {
				said_results = true;
				if ((results = json_scan_array(&js)))
					while (rc == 0 && json_scan_item(&js))
						rc = pg->item(pg->ctx, &js);
			} else {
				(void)json_scan_skip(&js);
			}
		}
	}
	if (rc == -1)
		return bad_reply(s, r, path, "out of memory");
	if (rc == -2)
		return bad_reply(s, r, path, "totalCount %ld: more than the %ld results bridge reads "
		    "from a list", *total, MAX_RESULTS);
	if (json_scan_end(&js) == -1)
		return bad_reply(s, r, path, "not JSON (%zu bytes, %s): %s at byte %zu", len,
		    content_type[0] != '\0' ? content_type : "no content type", js.error,
		    js.error_at);
	if (!results)
		return bad_reply(s, r, path, "no \"results\" list");
	if (*total < 0)
		return bad_reply(s, r, path, "no \"totalCount\"");
	if (pg->page_done != NULL)
		return pg->page_done(pg->ctx, r);
	return 0;
}

/* Answers waiting for the page reader at most, besides the one it reads. */
#define PAGES_WAITING 2

/*
 * The thread that reads the pages of one get_pages() slice as the transfers hand them over,
 * in the order they came in, each through its list's pager. Everything it touches (the
 * pagers, their lists, failed) is the caller's again once it has ended.
 */
struct page_reader {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;    /* a page in line, room in it, one read, or closing */
	struct waiting_page {
		size_t i;                  /* the call it answers */
		struct jamf_reply reply;   /* owned */
	} line[PAGES_WAITING];
	size_t head, n;
	bool reading;              /* one taken from the line is being read */
	bool closing;              /* no more pages: end once the line is empty */
	const char *tenant;        /* its log lines name the tenant of its caller */
};

/* GETs whose answers are read as they arrive (get_pages), each through its list's pager. */
struct page_round {
	struct jamf_session *s;
	const struct jamf_call *calls;   /* calls[k] is path first + k */
	size_t first;
	struct pager *const *pgs;        /* the lists */
	size_t nlists;
	const size_t *list_of;           /* the list of each path; NULL: all pgs[0] */
	size_t failed;                   /* lists that failed (under reader->lock, if any) */
	size_t answered;
	struct page_reader *reader;      /* NULL: each page is read as it arrives, here */
};

/* Read answer i (owned) through its list's pager; whether that list failed with it. */
static bool
page_settle(struct page_round *o, size_t i, struct jamf_reply *reply)
{
	struct pager *pg = o->pgs[o->list_of != NULL ? o->list_of[o->first + i] : 0];
	bool failed = false;
	long total;

	if (pg->rc == 0 && reply->fail != JAMF_OK) {
		*pg->r = *reply;
		memset(reply, 0, sizeof(*reply));
		failed = true;
	} else if (pg->rc == 0) {
		if (page_read(o->s, o->calls[i].path, reply->body, reply->body_len,
		    reply->content_type, pg, &total, pg->r) != 0)
			failed = true;
		else if (pg->total < 0)
			pg->total = total;  /* the first page's says how many follow */
	}
	if (failed)
		pg->rc = -1;  /* its first failure: it is read no further */
	jamf_reply_release(reply);
	return failed;
}

/* The page reader's thread: read the pages in line until it is closed and empty. */
static void *
page_reader_run(void *arg)
{
	struct page_round *o = arg;
	struct page_reader *rd = o->reader;

	log_set_tenant(rd->tenant);
	pthread_mutex_lock(&rd->lock);
	for (;;) {
		struct waiting_page w;
		bool failed;

		while (rd->n == 0 && !rd->closing)
			pthread_cond_wait(&rd->changed, &rd->lock);
		if (rd->n == 0)
			break;
		w = rd->line[rd->head];
		rd->head = (rd->head + 1) % PAGES_WAITING;
		rd->n--;
		rd->reading = true;
		pthread_cond_broadcast(&rd->changed);
		pthread_mutex_unlock(&rd->lock);
		failed = page_settle(o, w.i, &w.reply);
		pthread_mutex_lock(&rd->lock);
		o->failed += failed;
		rd->reading = false;
		pthread_cond_broadcast(&rd->changed);
	}
	pthread_mutex_unlock(&rd->lock);
	return NULL;
}

/* Start o's page reader in rd; false (o reads its pages itself) when no thread can start. */
static bool
page_reader_start(struct page_round *o, struct page_reader *rd)
{
	memset(rd, 0, sizeof(*rd));
	rd->tenant = log_tenant_name();
	if (pthread_mutex_init(&rd->lock, NULL) != 0)
		return false;
	if (pthread_cond_init(&rd->changed, NULL) != 0) {
		pthread_mutex_destroy(&rd->lock);
		return false;
	}
	o->reader = rd;
	if (pthread_create(&rd->thread, NULL, page_reader_run, o) != 0) {
		o->reader = NULL;
		pthread_cond_destroy(&rd->changed);
		pthread_mutex_destroy(&rd->lock);
		return false;
	}
	return true;
}

/* Let o's page reader read what is in line, then end it: o's pagers are the caller's again. */
static void
page_reader_finish(struct page_round *o)
{
	struct page_reader *rd = o->reader;

	if (rd == NULL)
		return;
	pthread_mutex_lock(&rd->lock);
	rd->closing = true;
	pthread_cond_broadcast(&rd->changed);
	pthread_mutex_unlock(&rd->lock);
	pthread_join(rd->thread, NULL);
	pthread_cond_destroy(&rd->changed);
	pthread_mutex_destroy(&rd->lock);
	o->reader = NULL;
}

/*
 * jamf_request_each()'s callback: answer i is in. Handed to the page reader (waiting for room
 * in its line), or read now: without a reader, and when it is a failure, which is told here
 * once the reader read what came before, so that it may stop the batch before anything more
 * goes out. false (stop) once every list failed.
 */
static bool
page_take(void *ctx, size_t i, struct jamf_reply *reply)
{
	struct page_round *o = ctx;
	struct page_reader *rd = o->reader;
	bool more;

	o->answered++;
	if (rd == NULL) {
		o->failed += page_settle(o, i, reply);
		return o->failed < o->nlists;
	}
	pthread_mutex_lock(&rd->lock);
	if (reply->fail != JAMF_OK) {
		while (rd->n > 0 || rd->reading)
			pthread_cond_wait(&rd->changed, &rd->lock);
		o->failed += page_settle(o, i, reply);
	} else {
		while (rd->n == PAGES_WAITING)
			pthread_cond_wait(&rd->changed, &rd->lock);
		rd->line[(rd->head + rd->n) % PAGES_WAITING] = (struct waiting_page){i, *reply};
		rd->n++;
		memset(reply, 0, sizeof(*reply));
		pthread_cond_broadcast(&rd->changed);
	}
	more = o->failed < o->nlists;
	pthread_mutex_unlock(&rd->lock);
	return more;
}

/*
 * GET paths[0..n) and read each page through the pager of its list (list_of[i] of
 * pgs[0..nlists); list_of NULL: all pgs[0]) as it arrives. Each list's outcome is in its
 * pager (rc, r, and total: the totalCount of the first of its pages read).
 */
static void
get_pages(struct jamf_session *s, char *const *paths, const size_t *list_of, size_t n,
    struct pager *const *pgs, size_t nlists)
{
	size_t most = n < JAMF_MAX_CALLS ? n : JAMF_MAX_CALLS;
	struct page_round o = {.s = s, .pgs = pgs, .nlists = nlists, .list_of = list_of};
	struct jamf_call *calls = calloc(most > 0 ? most : 1, sizeof(*calls));
	const char *lost = NULL;

	for (size_t l = 0; l < nlists; l++)
		if (pgs[l]->rc != 0)
			o.failed++;
	o.calls = calls;
	/* JAMF_MAX_CALLS at a time: 8 million devices before a second slice */
	for (size_t first = 0, m; calls != NULL && first < n && o.failed < nlists; first += m) {
		struct page_reader rd;

		m = n - first < most ? n - first : most;
		for (size_t i = 0; i < m; i++)
			calls[i] = (struct jamf_call){"GET", paths[first + i], NULL, NULL, 0, true};
		o.first = first;
		o.answered = 0;
		/* one page is read here: a thread would only wait for it */
		if (m > 1)
			(void)page_reader_start(&o, &rd);
		(void)jamf_request_each(s, calls, m, page_take, &o);
		page_reader_finish(&o);
		if (o.failed < nlists && o.answered < m) {
			lost = paths[first];  /* never expected: every call is answered */
			break;
		}
	}
	for (size_t l = 0; l < nlists && (calls == NULL || lost != NULL); l++)
		if (pgs[l]->rc == 0)
			pgs[l]->rc = calls == NULL ? jamf_reply_fail(pgs[l]->r, JAMF_FAIL_TRANSPORT,
			    "%s: out of memory", s->name) : bad_reply(s, pgs[l]->r, lost,
			    "a page was never answered");
	free(calls);
}

/* Free paths[0..n) and the list. */
static void
paths_free(char **paths, size_t n)
{
	for (size_t i = 0; paths != NULL && i < n; i++)
		free(paths[i]);
	free(paths);
}

/* The pages of a list after its first one, by the totalCount of that one. */
static long
later_pages(const struct pager *pg)
{
	long pages = (pg->total + JAMF_PRO_PAGE_SIZE - 1) / JAMF_PRO_PAGE_SIZE;

	return pages > 1 ? pages - 1 : 0;
}

/*
 * The paths of the pages to read of each list of pgs[0..nlists) that has not failed: its
 * page 0 (first), or every page after it. Into *paths, with the list of each into *list_of;
 * how many. A list whose path does not fit fails; out of memory, every list fails (0).
 */
static size_t
list_paths(struct jamf_session *s, struct pager *const *pgs, size_t nlists, bool first,
    char ***paths, size_t **list_of)
{
	char path[2 * PATH_BYTES];
	size_t n = 0, cap = 0;

	for (size_t l = 0; l < nlists; l++)
		if (pgs[l]->rc == 0)
			cap += first ? 1 : (size_t)later_pages(pgs[l]);
	*paths = calloc(cap > 0 ? cap : 1, sizeof(**paths));
	*list_of = calloc(cap > 0 ? cap : 1, sizeof(**list_of));
	if (*paths == NULL || *list_of == NULL)
		goto oom;
	for (size_t l = 0; l < nlists; l++) {
		long from = first ? 0 : 1, to = first ? 1 : 1 + later_pages(pgs[l]);

		for (long p = from; pgs[l]->rc == 0 && p < to; p++) {
			if (pgs[l]->path(pgs[l]->ctx, p, path, sizeof(path)) == -1) {
				pgs[l]->rc = bad_reply(s, pgs[l]->r, path, "the filter is too long");
				break;
			}
			if (((*paths)[n] = strdup(path)) == NULL)
				goto oom;
			(*list_of)[n++] = l;
			pgs[l]->requests++;
		}
	}
	return n;
oom:
	for (size_t l = 0; l < nlists; l++)
		if (pgs[l]->rc == 0)
			pgs[l]->rc = jamf_reply_fail(pgs[l]->r, JAMF_FAIL_TRANSPORT,
			    "%s: out of memory", s->name);
	paths_free(*paths, n);
	free(*list_of);
	*paths = NULL;
	*list_of = NULL;
	return 0;
}

/*
 * Read every page of the lists pgs[0..nlists) together: page 0 of each, then every other
 * page of all of them, max_connections at a time whatever their list. A list that fails
 * ends there (its pages already asked for are not read); the others go on. Each list's
 * outcome is in its pager: rc 0, or -1 with r; requests; total.
 */
static void
read_lists(struct jamf_session *s, struct pager *const *pgs, size_t nlists)
{
	size_t *list_of = NULL, n;
	char **paths = NULL;

	for (size_t l = 0; l < nlists; l++) {
		pgs[l]->rc = 0;
		pgs[l]->requests = 0;
		pgs[l]->total = -1;
	}
	for (int first = 1; first >= 0; first--) {
		n = list_paths(s, pgs, nlists, first, &paths, &list_of);
		get_pages(s, paths, list_of, n, pgs, nlists);
		paths_free(paths, n);
		free(list_of);
	}
}

/* Read every page of one list through pg; 0 or -1 (pg->r). */
static int
read_pages(struct jamf_session *s, struct pager *pg)
{
	read_lists(s, &pg, 1);
	return pg->rc;
}

/* The path of one page of an inventory being read. */
static int
inventory_page_path(const void *ctx, long page, char *buf, size_t size)
{
	const struct inventory_read *ir = ctx;

	return inventory_path(ir->inv->kind, ir->filter, ir->want, page, buf, size);
}

/* Set up ir and pg to read the inventory l asks for (jamf_pro_read_lists). */
static void
inventory_begin(struct inventory_read *ir, struct pager *pg, struct jamf_list *l)
{
	*ir = (struct inventory_read){.inv = l->inv, .filter = l->filter, .want = l->want,
	    .keys = l->kind == JAMF_COMPUTER ? &computer_keys : &mobile_keys};
	*pg = (struct pager){.path = inventory_page_path, .sized = inventory_sized,
	    .item = inventory_item, .ctx = ir, .r = &l->r};
	memset(l->inv, 0, sizeof(*l->inv));
	l->inv->kind = l->kind;
}

/* The inventory read through ir and pg: in Jamf's order, or released when it failed. */
static void
inventory_end(struct jamf_session *s, struct inventory_read *ir, const struct pager *pg)
{
	struct jamf_inventory *out = ir->inv;

	free(ir->groups);
	if (pg->rc == -1) {
		jamf_inventory_release(out);
		out->requests = pg->requests;
		return;
	}
	out->requests = pg->requests;
	/* pages come in as they are ready: put the devices back in Jamf's order */
	if (ir->unsorted)
		qsort(out->v, out->n, sizeof(*out->v), cmp_devices);
	if (ir->cap > out->n && out->n > 0) {
		/* give back the room doubling left: the inventory is kept for the whole run */
		struct jamf_device *fit = realloc(out->v, out->n * sizeof(*fit));

		if (fit != NULL)
			out->v = fit;
	}
	if (ir->skipped > 0)
		log_warn("%s: skipped %zu %s%s without an id in the inventory", s->name,
		    ir->skipped, jamf_kind_name(out->kind), ir->skipped == 1 ? "" : "s");
	if (out->n + ir->skipped != (size_t)pg->total)
		log_warn("%s: inventory said %ld %ss but gave %zu (devices added or removed while "
		    "reading)", s->name, pg->total, jamf_kind_name(out->kind),
		    out->n + ir->skipped);
}

int
jamf_pro_inventory(struct jamf_session *s, enum jamf_kind kind, const char *filter,
    unsigned want, struct jamf_inventory *out, struct jamf_reply *r)
{
	struct jamf_list l = {.what = JAMF_LIST_INVENTORY, .kind = kind, .want = want,
	    .inv = out, .filter = filter};
	int rc = jamf_pro_read_lists(s, &l, 1);

	*r = l.r;
	return rc;
}

void
jamf_group_release(struct jamf_group *g)
{
	free(g->name);
	free(g->platform_id);
	memset(g, 0, sizeof(*g));
}

/* A groups list being read (JAMF_LIST_GROUPS): its filter, names and the groups so far. */
struct groups_read {
	char filter[GROUPS_FILTER_BYTES];  /* encoded; "" when the names do not fit in it */
	const char *const *names;
	size_t nnames;
	struct jamf_groups *out;
	size_t cap;
};

/*
 * Set up gr to read the groups of kind named names[0..n) into out (emptied): RSQL treats * as
 * a wildcard, so Jamf is asked for the names and each is then compared exactly.
 */
static void
groups_begin(struct groups_read *gr, enum jamf_kind kind, const char *const *names, size_t n,
    struct jamf_groups *out)
{
	size_t len;

	*gr = (struct groups_read){.names = names, .nnames = n, .out = out};
	memset(out, 0, sizeof(*out));
	/* one name: groupName=="a"; several: groupName=in=("a","b") */
	len = (size_t)snprintf(gr->filter, sizeof(gr->filter), "groupName%s",
	    n == 1 ? "%3D%3D" : "%3Din%3D%28");
	if (jamf_rsql_values(names, n, gr->filter + len, sizeof(gr->filter) - len) < n) {
		gr->filter[0] = '\0';
		return;
	}
	len += strlen(gr->filter + len);
	if ((size_t)snprintf(gr->filter + len, sizeof(gr->filter) - len, "%s%%3BgroupType%%3D%%3D%s",
	    n == 1 ? "" : "%29", kind == JAMF_COMPUTER ? "COMPUTER" : "MOBILE") >=
	    sizeof(gr->filter) - len)
		gr->filter[0] = '\0';
}

static int
groups_page_path(const void *ctx, long page, char *buf, size_t size)
{
	const struct groups_read *gr = ctx;
	int len;

	if (gr->filter[0] == '\0')
		return -1;  /* told as a filter too long */
	len = snprintf(buf, size, "/api/v2/groups?page=%ld&page-size=%d&filter=%s", page,
	    JAMF_PRO_PAGE_SIZE, gr->filter);
	return len < 0 || (size_t)len >= size ? -1 : 0;
}

/* One group of a page (the next value of js), kept when it bears one of the names asked. */
static int
groups_item(void *ctx, struct json_scan *js)
{
	struct groups_read *gr = ctx;
	char key[32], name[GROUPS_FILTER_BYTES], id[ID_BYTES], platform[ID_BYTES];
	bool has_name = false, has_id = false, has_platform = false, smart = false;
	struct jamf_group *g;
	bool asked = false;

	if (!json_scan_object(js))
		return 0;
	while (json_scan_member(js, key, sizeof(key))) {
		if (strcmp(key, "groupName") == 0 && !has_name)
			has_name = json_scan_string(js, name, sizeof(name));
		else if (strcmp(key, "groupJamfProId") == 0 && !has_id)
			has_id = json_scan_id(js, id, sizeof(id));
		else if (strcmp(key, "groupPlatformId") == 0 && !has_platform)
			has_platform = json_scan_string(js, platform, sizeof(platform));
		else if (strcmp(key, "smart") == 0)
			(void)json_scan_bool(js, &smart);
		else
			(void)json_scan_skip(js);
	}
	for (size_t i = 0; has_name && has_id && i < gr->nnames && !asked; i++)
		asked = strcmp(gr->names[i], name) == 0;
	if (!asked)
		return 0;
	if (gr->out->n == gr->cap) {
		size_t cap = gr->cap ? 2 * gr->cap : 8;
		struct jamf_group *grown = realloc(gr->out->v, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		gr->out->v = grown;
		gr->cap = cap;
	}
	g = &gr->out->v[gr->out->n];
	*g = (struct jamf_group){.id = strtol(id, NULL, 10), .smart = smart,
	    .name = strdup(name), .platform_id = has_platform ? strdup(platform) : NULL};
	if (g->name == NULL || (has_platform && g->platform_id == NULL)) {
		jamf_group_release(g);
		return -1;
	}
	gr->out->n++;
	return 0;
}

/* The pager of a groups list read into gr, its failure told in r. */
static struct pager
groups_pager(struct groups_read *gr, struct jamf_reply *r)
{
	return (struct pager){.path = groups_page_path, .item = groups_item, .ctx = gr, .r = r};
}

void
jamf_groups_release(struct jamf_groups *g)
{
	for (size_t i = 0; i < g->n; i++)
		jamf_group_release(&g->v[i]);
	free(g->v);
	memset(g, 0, sizeof(*g));
}

int
jamf_groups_pick(const struct jamf_session *s, const struct jamf_groups *g,
    enum jamf_kind kind, const char *name, struct jamf_group *out, struct jamf_reply *r)
{
	const struct jamf_group *found = NULL;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < g->n; i++) {
		if (strcmp(g->v[i].name, name) != 0)
			continue;
		if (found != NULL)
			return jamf_reply_fail(r, JAMF_FAIL_REJECTED, "%s has more than one %s group "
			    "named \"%s\": rename one", s->name, jamf_kind_name(kind), name);
		found = &g->v[i];
	}
	if (found == NULL)
		return 1;
	*out = (struct jamf_group){.id = found->id, .smart = found->smart,
	    .name = strdup(found->name),
	    .platform_id = found->platform_id ? strdup(found->platform_id) : NULL};
	if (out->name == NULL || (found->platform_id != NULL && out->platform_id == NULL)) {
		jamf_group_release(out);
		return jamf_reply_fail(r, JAMF_FAIL_TRANSPORT, "%s: out of memory", s->name);
	}
	return 0;
}

int
jamf_pro_group_find(struct jamf_session *s, enum jamf_kind kind, const char *name,
    struct jamf_group *out, struct jamf_reply *r)
{
	struct jamf_groups found;
	struct groups_read gr;
	struct pager pg;
	int rc;

	memset(out, 0, sizeof(*out));
	groups_begin(&gr, kind, &name, 1, &found);
	if (gr.filter[0] == '\0')
		return jamf_reply_fail(r, JAMF_FAIL_REJECTED, "the group name \"%.80s...\" is too "
		    "long", name);
	pg = groups_pager(&gr, r);
	rc = read_pages(s, &pg) == -1 ? -1 : jamf_groups_pick(s, &found, kind, name, out, r);
	jamf_groups_release(&found);
	return rc;
}

int
jamf_pro_smart_members(struct jamf_session *s, enum jamf_kind kind, long group_id, long **ids,
    size_t *n, struct jamf_reply *r)
{
	char path[PATH_BYTES];
	const cJSON *members, *m;
	int count;

	*ids = NULL;
	*n = 0;
	snprintf(path, sizeof(path), kind == JAMF_COMPUTER ?
	    "/api/v3/computer-groups/smart-group-membership/%ld" :
	    "/api/v1/mobile-device-groups/smart-group-membership/%ld", group_id);
	if (jamf_get(s, path, r) == -1)
		return -1;
	if ((members = json_arr(r->json, "members")) == NULL)
		return bad_reply(s, r, path, "no \"members\" list");
	if ((count = cJSON_GetArraySize(members)) == 0)
		return 0;
	if ((*ids = calloc((size_t)count, sizeof(long))) == NULL)
		return bad_reply(s, r, path, "out of memory");
	cJSON_ArrayForEach(m, members) {
		if (cJSON_IsNumber(m) && m->valuedouble >= 0)
			(*ids)[(*n)++] = (long)m->valuedouble;
		else if (cJSON_IsString(m) && m->valuestring[0] != '\0')
			(*ids)[(*n)++] = strtol(m->valuestring, NULL, 10);
	}
	return 0;
}

/* Where static groups of each kind live. */
static const char *const static_group_path[] = {
	[JAMF_COMPUTER] = "/api/v3/computer-groups/static-groups",
	[JAMF_MOBILE] = "/api/v2/mobile-device-groups/static-groups",
};

/* Add the ids to a, as strings (computers) or as {mobileDeviceId, selected} (mobile). */
static bool
add_assignments(cJSON *a, enum jamf_kind kind, const long *ids, size_t n, bool selected)
{
	for (size_t i = 0; i < n; i++) {
		char buf[ID_BYTES];
		cJSON *item;

		snprintf(buf, sizeof(buf), "%ld", ids[i]);
		if (kind == JAMF_COMPUTER) {
			if (!cJSON_AddItemToArray(a, cJSON_CreateString(buf)))
				return false;
			continue;
		}
		if ((item = cJSON_CreateObject()) == NULL || !cJSON_AddItemToArray(a, item) ||
		    cJSON_AddStringToObject(item, "mobileDeviceId", buf) == NULL ||
		    cJSON_AddBoolToObject(item, "selected", selected) == NULL)
			return false;
	}
	return true;
}

/*
 * The JSON body of a static group. Computers (StaticComputerGroupAssignment): {name,
 * assignments: [ids]}, the whole list (empty clears it). Mobile devices (StaticGroupAssignment):
 * {groupName, assignments: [{mobileDeviceId, selected}]}, changes: want selected, drop not.
 */
static char *
static_group_body(enum jamf_kind kind, const char *name, const long *want, size_t nwant,
    const long *drop, size_t ndrop)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
	char *text = NULL;

	if (o == NULL || a == NULL) {
		cJSON_Delete(o);
		cJSON_Delete(a);
		return NULL;
	}
	cJSON_AddItemToObject(o, "assignments", a);
	if (cJSON_AddStringToObject(o, kind == JAMF_COMPUTER ? "name" : "groupName", name) ==
	    NULL || !add_assignments(a, kind, want, nwant, true) ||
	    (kind == JAMF_MOBILE && !add_assignments(a, kind, drop, ndrop, false)))
		goto out;
	text = json_print(o);
out:
	cJSON_Delete(o);
	return text;
}

int
jamf_pro_static_group_create(struct jamf_session *s, enum jamf_kind kind, const char *name,
    const long *ids, size_t n, long *id, struct jamf_reply *r)
{
	char *body = static_group_body(kind, name, ids, n, NULL, 0), buf[ID_BYTES];
	struct jamf_call call = {"POST", static_group_path[kind], NULL, body,
		body ? strlen(body) : 0, false};
	const char *got;
	int rc;

	if (body == NULL)
		return bad_reply(s, r, call.path, "out of memory");
	rc = jamf_request(s, &call, r);
	free(body);
	if (rc == -1)
		return -1;
	if ((got = json_id(r->json, "id", buf, sizeof(buf))) == NULL)
		return bad_reply(s, r, call.path, "no \"id\" for the new group");
	*id = strtol(got, NULL, 10);
	return 0;
}

int
jamf_pro_static_group_set(struct jamf_session *s, enum jamf_kind kind, long id,
    const char *name, const long *want, size_t nwant, const long *drop, size_t ndrop,
    struct jamf_reply *r)
{
	char path[PATH_BYTES], *body = static_group_body(kind, name, want, nwant, drop, ndrop);
	struct jamf_call call = {kind == JAMF_COMPUTER ? "PUT" : "PATCH", path, NULL, body,
		body ? strlen(body) : 0, false};
	int rc;

	snprintf(path, sizeof(path), "%s/%ld", static_group_path[kind], id);
	if (body == NULL)
		return bad_reply(s, r, path, "out of memory");
	rc = jamf_request(s, &call, r);
	free(body);
	return rc;
}

/* The feature toggle from r, the answer to GET TOGGLE_PATH; 0 or -1 (r). */
static int
toggle_from(struct jamf_session *s, struct jamf_reply *r, struct jamf_toggle *t)
{
	if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(r->json, "toggle")))
		return bad_reply(s, r, TOGGLE_PATH, "no \"toggle\"");
	t->toggle = json_bool(r->json, "toggle", false);
	t->force_install_local_date = json_bool(r->json, "forceInstallLocalDateEnabled", false);
	t->custom_version = json_bool(r->json, "customVersionEnabled", false);
	t->dss = json_bool(r->json, "dssEnabled", false);
	t->recipe = json_bool(r->json, "recipeEnabled", false);
	return 0;
}

/* Whether switching the toggle runs, from r, the answer to GET TOGGLE_STATUS_PATH; 0 or -1. */
static int
toggle_busy_from(struct jamf_session *s, struct jamf_reply *r, bool *busy)
{
	const cJSON *on, *off;

	/* {toggleOn: {state}, toggleOff: {state}}, state NOT_RUNNING, RUNNING or NEVER_RAN */
	on = json_obj(r->json, "toggleOn");
	off = json_obj(r->json, "toggleOff");
	if (on == NULL || off == NULL)
		return bad_reply(s, r, TOGGLE_STATUS_PATH, "no \"toggleOn\" and \"toggleOff\"");
	*busy = (json_str(on, "state") != NULL && strcmp(json_str(on, "state"), "RUNNING") == 0) ||
	    (json_str(off, "state") != NULL && strcmp(json_str(off, "state"), "RUNNING") == 0);
	return 0;
}

int
jamf_pro_toggle_get(struct jamf_session *s, struct jamf_toggle *t, struct jamf_reply *r)
{
	if (jamf_get(s, TOGGLE_PATH, r) == -1)
		return -1;
	return toggle_from(s, r, t);
}

int
jamf_pro_toggle_check(struct jamf_session *s, struct jamf_toggle *t, bool *busy,
    struct jamf_reply *r)
{
	const struct jamf_call calls[2] = {
		{"GET", TOGGLE_PATH, NULL, NULL, 0, false},
		{"GET", TOGGLE_STATUS_PATH, NULL, NULL, 0, false},
	};
	struct jamf_reply replies[2];
	int failed = -1;  /* the call whose reply says why */

	*busy = false;
	(void)jamf_request_many(s, calls, replies, 2);
	if (replies[0].fail != JAMF_OK || toggle_from(s, &replies[0], t) == -1)
		failed = 0;
	else if (replies[1].fail != JAMF_OK || toggle_busy_from(s, &replies[1], busy) == -1)
		failed = 1;
	if (failed != -1) {
		*r = replies[failed];  /* the caller releases it */
		memset(&replies[failed], 0, sizeof(replies[failed]));
	}
	jamf_reply_release(&replies[0]);
	jamf_reply_release(&replies[1]);
	return failed == -1 ? 0 : -1;
}

/* The JSON of a plan's config. */
static cJSON *
plan_config_json(const struct jamf_plan_config *cfg)
{
	cJSON *c;

	if (cfg->json != NULL) {
		c = cJSON_Parse(cfg->json);
		if (!cJSON_IsObject(c)) {
			cJSON_Delete(c);
			return NULL;
		}
		return c;
	}
	c = cJSON_CreateObject();

	if (c == NULL ||
	    cJSON_AddStringToObject(c, "updateAction", "DOWNLOAD_INSTALL_SCHEDULE") == NULL ||
	    cJSON_AddStringToObject(c, "versionType", cfg->build != NULL ? "CUSTOM_VERSION" :
	    "SPECIFIC_VERSION") == NULL ||
	    cJSON_AddStringToObject(c, "specificVersion", cfg->version) == NULL ||
	    (cfg->build != NULL && cJSON_AddStringToObject(c, "buildVersion", cfg->build) == NULL) ||
	    cJSON_AddNumberToObject(c, "maxDeferrals", (double)cfg->max_deferrals) == NULL ||
	    (cfg->force_install != NULL &&
	    cJSON_AddStringToObject(c, "forceInstallLocalDateTime", cfg->force_install) == NULL)) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

void
jamf_plan_refs_free(struct jamf_plan_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(refs[i].device_id);
		free(refs[i].plan_id);
	}
	free(refs);
}

/* Append the plans of a 201 answer ({plans:[{device{deviceId}, planId}]}) to refs. */
static int
add_plan_refs(struct jamf_session *s, const char *path, const cJSON *json,
    struct jamf_plan_ref **refs, size_t *nrefs, struct jamf_reply *r)
{
	const cJSON *plans = json_arr(json, "plans"), *p;
	struct jamf_plan_ref *grown;
	size_t n;

	if (plans == NULL)
		return bad_reply(s, r, path, "no \"plans\" list");
	n = (size_t)cJSON_GetArraySize(plans);
	if (n == 0)
		return 0;
	if ((grown = realloc(*refs, (*nrefs + n) * sizeof(*grown))) == NULL)
		return bad_reply(s, r, path, "out of memory");
	*refs = grown;
	cJSON_ArrayForEach(p, plans) {
		char dbuf[ID_BYTES], pbuf[ID_BYTES];
		const char *dev = json_id(json_obj(p, "device"), "deviceId", dbuf, sizeof(dbuf));
		const char *plan = json_id(p, "planId", pbuf, sizeof(pbuf));
		struct jamf_plan_ref *ref = &(*refs)[*nrefs];

		if (dev == NULL || plan == NULL)
			return bad_reply(s, r, path, "a plan without device.deviceId or planId");
		ref->device_id = strdup(dev);
		ref->plan_id = strdup(plan);
		if (ref->device_id == NULL || ref->plan_id == NULL) {
			free(ref->device_id);
			free(ref->plan_id);
			return bad_reply(s, r, path, "out of memory");
		}
		(*nrefs)++;
	}
	return 0;
}

/* POST body to path and collect the plans created; 0 or -1. */
static int
post_plans(struct jamf_session *s, const char *path, cJSON *body, struct jamf_plan_ref **refs,
    size_t *nrefs, struct jamf_reply *r)
{
	char *text = json_print(body);
	struct jamf_call call = {"POST", path, NULL, text, text ? strlen(text) : 0, false};
	int rc;

	if (text == NULL)
		return bad_reply(s, r, path, "out of memory");
	rc = jamf_request(s, &call, r);
	free(text);
	if (rc == -1)
		return -1;
	return add_plan_refs(s, path, r->json, refs, nrefs, r);
}

/* The JSON text of a request for plans for p's devices; NULL when out of memory. */
static char *
plan_post_body(const struct jamf_plan_post *p)
{
	const char *type = p->kind == JAMF_COMPUTER ? "COMPUTER" : "MOBILE_DEVICE";
	cJSON *body = cJSON_CreateObject(), *devices = cJSON_AddArrayToObject(body, "devices");
	char *text = NULL;

	if (devices == NULL || !cJSON_AddItemToObject(body, "config", plan_config_json(p->cfg)))
		goto out;
	for (size_t i = 0; i < p->n; i++) {
		cJSON *d = cJSON_CreateObject();

		if (d == NULL || !cJSON_AddItemToArray(devices, d) ||
		    cJSON_AddStringToObject(d, "deviceId", p->device_ids[i]) == NULL ||
		    cJSON_AddStringToObject(d, "objectType", type) == NULL)
			goto out;
	}
	text = json_print(body);
out:
	cJSON_Delete(body);
	return text;
}

int
jamf_pro_plans_post(struct jamf_session *s, struct jamf_plan_post *posts, size_t n,
    http_meanwhile_fn meanwhile, void *ctx)
{
	struct jamf_call *calls = calloc(n > 0 ? n : 1, sizeof(*calls));
	struct jamf_reply *replies = calloc(n > 0 ? n : 1, sizeof(*replies));
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		memset(&posts[i].reply, 0, sizeof(posts[i].reply));
		posts[i].refs = NULL;
		posts[i].nrefs = 0;
	}
	for (size_t i = 0; i < n && calls != NULL && replies != NULL; i++) {
		char *text = plan_post_body(&posts[i]);

		calls[i] = (struct jamf_call){"POST", PLANS_PATH, NULL, text, text ? strlen(text) : 0,
			false};
		if (text == NULL)
			goto out;
	}
	if (calls == NULL || replies == NULL)
		goto out;
	http_client_meanwhile(s->http, meanwhile, ctx);
	(void)jamf_request_many(s, calls, replies, n);
	http_client_meanwhile_run(s->http);  /* when no request could go out */
	for (size_t i = 0; i < n; i++) {
		posts[i].reply = replies[i];
		if (posts[i].reply.fail != JAMF_OK ||
		    add_plan_refs(s, PLANS_PATH, posts[i].reply.json, &posts[i].refs,
		    &posts[i].nrefs, &posts[i].reply) == -1)
			rc = -1;
		/* the plans stay in refs; the answer's text is no longer needed */
		cJSON_Delete(posts[i].reply.json);
		posts[i].reply.json = NULL;
		free(posts[i].reply.body);
		posts[i].reply.body = NULL;
	}
	for (size_t i = 0; i < n; i++)
		free((char *)(uintptr_t)calls[i].body);
	free(calls);
	free(replies);
	return rc;
out:
	/*
	 * out of memory before anything was sent: every post fails, as a bad reply (so counted
	 * unknown: the next run looks before it creates, and finds nothing)
	 */
	for (size_t i = 0; i < n; i++) {
		if (calls != NULL)
			free((char *)(uintptr_t)calls[i].body);
		bad_reply(s, &posts[i].reply, PLANS_PATH, "out of memory");
	}
	free(calls);
	free(replies);
	if (meanwhile != NULL)
		meanwhile(ctx);
	return -1;
}

int
jamf_pro_plans_create(struct jamf_session *s, enum jamf_kind kind,
    const char *const *device_ids, size_t n, size_t batch_size,
    const struct jamf_plan_config *cfg, struct jamf_plan_ref **refs, size_t *nrefs,
    struct jamf_reply *r)
{
	size_t nposts, i;
	struct jamf_plan_post *posts;
	int rc = 0;

	if (batch_size == 0)
		batch_size = 1;
	nposts = (n + batch_size - 1) / batch_size;
	if ((posts = calloc(nposts > 0 ? nposts : 1, sizeof(*posts))) == NULL)
		return bad_reply(s, r, PLANS_PATH, "out of memory");
	for (i = 0; i < nposts; i++)
		posts[i] = (struct jamf_plan_post){kind, device_ids + i * batch_size,
			n - i * batch_size < batch_size ? n - i * batch_size : batch_size, cfg,
			NULL, 0, {0}};
	(void)jamf_pro_plans_post(s, posts, nposts, NULL, NULL);
	for (i = 0; i < nposts; i++) {
		struct jamf_plan_ref *grown = posts[i].nrefs == 0 ? *refs :
		    realloc(*refs, (*nrefs + posts[i].nrefs) * sizeof(*grown));

		if (posts[i].nrefs == 0) {
			free(posts[i].refs);
		} else if (grown != NULL) {
			*refs = grown;
			memcpy(*refs + *nrefs, posts[i].refs, posts[i].nrefs * sizeof(*grown));
			*nrefs += posts[i].nrefs;
			free(posts[i].refs);
		} else {
			jamf_plan_refs_free(posts[i].refs, posts[i].nrefs);
			if (rc == 0)
				bad_reply(s, r, PLANS_PATH, "out of memory");
			rc = -1;
		}
		if (posts[i].reply.fail != JAMF_OK && rc == 0) {
			jamf_reply_release(r);
			*r = posts[i].reply;
			memset(&posts[i].reply, 0, sizeof(posts[i].reply));
			rc = -1;
		}
		jamf_reply_release(&posts[i].reply);
	}
	free(posts);
	return rc;
}

int
jamf_pro_plans_create_group(struct jamf_session *s, enum jamf_kind kind, long group_id,
    const struct jamf_plan_config *cfg, struct jamf_plan_ref **refs, size_t *nrefs,
    struct jamf_reply *r)
{
	const char *path = PLANS_PATH "/group";
	cJSON *body = cJSON_CreateObject(), *group = cJSON_CreateObject();
	cJSON *config = plan_config_json(cfg);
	char id[ID_BYTES];
	int rc;

	snprintf(id, sizeof(id), "%ld", group_id);
	if (body == NULL || group == NULL || config == NULL ||
	    cJSON_AddStringToObject(group, "groupId", id) == NULL ||
	    cJSON_AddStringToObject(group, "objectType", kind == JAMF_COMPUTER ?
	    "COMPUTER_GROUP" : "MOBILE_DEVICE_GROUP") == NULL) {
		cJSON_Delete(body);
		cJSON_Delete(group);
		cJSON_Delete(config);
		return bad_reply(s, r, path, "out of memory");
	}
	cJSON_AddItemToObject(body, "group", group);
	cJSON_AddItemToObject(body, "config", config);
	rc = post_plans(s, path, body, refs, nrefs, r);
	cJSON_Delete(body);
	return rc;
}

void
jamf_plan_release(struct jamf_plan *p)
{
	free(p->id);
	free(p->device_id);
	free(p->object_type);
	free(p->version_type);
	free(p->version);
	free(p->build);
	free(p->force_install);
	free(p->state);
	for (size_t i = 0; i < p->nreasons; i++)
		free(p->reasons[i]);
	free(p->reasons);
	memset(p, 0, sizeof(*p));
}

void
jamf_plans_free(struct jamf_plan *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jamf_plan_release(&v[i]);
	free(v);
}

/* A string member of a Plan object: the object it is in (NULL: the plan) and where it goes. */
static const struct plan_field {
	const char *section;
	const char *key;
	size_t at;  /* offset of its char * in struct jamf_plan */
} plan_fields[] = {
	{NULL, "planUuid", offsetof(struct jamf_plan, id)},
	{NULL, "versionType", offsetof(struct jamf_plan, version_type)},
	{NULL, "specificVersion", offsetof(struct jamf_plan, version)},
	{NULL, "buildVersion", offsetof(struct jamf_plan, build)},
	{NULL, "forceInstallLocalDateTime", offsetof(struct jamf_plan, force_install)},
	{"device", "objectType", offsetof(struct jamf_plan, object_type)},
	{"status", "state", offsetof(struct jamf_plan, state)},
};

/* A copy of the next value of js into *slot when it is a string. */
static void
plan_string(struct json_scan *js, char **slot, bool *oom)
{
	char value[JSON_MAX_STRING_BYTES + 1];

	if (json_scan_string(js, value, sizeof(value)) && (*slot = strdup(value)) == NULL)
		*oom = true;
}

/* The strings of status.errorReasons (js on it) into p; false when out of memory. */
static bool
plan_reasons(struct json_scan *js, struct jamf_plan *p)
{
	size_t cap = 0;

	if (!json_scan_array(js))
		return true;
	while (json_scan_item(js)) {
		char *r = NULL;
		bool oom = false;

		plan_string(js, &r, &oom);
		if (oom)
			return false;
		if (r == NULL)
			continue;
		if (p->nreasons == cap) {
			char **grown = realloc(p->reasons, (cap ? 2 * cap : 4) * sizeof(*grown));

			if (grown == NULL) {
				free(r);
				return false;
			}
			p->reasons = grown;
			cap = cap ? 2 * cap : 4;
		}
		p->reasons[p->nreasons++] = r;
	}
	return true;
}

/* Bits of the members of a Plan object seen so far, after one per plan_fields entry. */
#define PLAN_SEEN_DEVICE (1u << 16)
#define PLAN_SEEN_STATUS (1u << 17)
#define PLAN_SEEN_DEVICE_ID (1u << 18)
#define PLAN_SEEN_REASONS (1u << 19)

/*
 * The members of a Plan object, or of its section (js inside it), into p. As with a cJSON
 * lookup, the first of a member said twice counts, whatever its type (*seen).
 */
static void
plan_members(struct json_scan *js, const char *section, struct jamf_plan *p, unsigned *seen,
    bool *oom)
{
	const size_t nfields = sizeof(plan_fields) / sizeof(plan_fields[0]);
	char key[32], id[ID_BYTES];

	while (!*oom && json_scan_member(js, key, sizeof(key))) {
		const struct plan_field *f = NULL;
		unsigned bit = 0;

		for (size_t i = 0; i < nfields && f == NULL; i++)
			if ((plan_fields[i].section == NULL ? section == NULL : section != NULL &&
			    strcmp(plan_fields[i].section, section) == 0) &&
			    strcmp(plan_fields[i].key, key) == 0) {
				f = &plan_fields[i];
				bit = 1u << i;
			}
		if (bit == 0 && section == NULL && strcmp(key, "device") == 0)
			bit = PLAN_SEEN_DEVICE;
		else if (bit == 0 && section == NULL && strcmp(key, "status") == 0)
			bit = PLAN_SEEN_STATUS;
		else if (bit == 0 && section != NULL && strcmp(key, "deviceId") == 0 &&
		    strcmp(section, "device") == 0)
			bit = PLAN_SEEN_DEVICE_ID;
		else if (bit == 0 && section != NULL && strcmp(key, "errorReasons") == 0 &&
		    strcmp(section, "status") == 0)
			bit = PLAN_SEEN_REASONS;
		if (bit == 0 || (*seen & bit)) {
			(void)json_scan_skip(js);
			continue;
		}
		*seen |= bit;
		if (bit == PLAN_SEEN_DEVICE || bit == PLAN_SEEN_STATUS) {
			if (json_scan_object(js))
				plan_members(js, bit == PLAN_SEEN_DEVICE ? "device" : "status", p, seen,
				    oom);
		} else if (bit == PLAN_SEEN_DEVICE_ID) {
			*oom = json_scan_id(js, id, sizeof(id)) && (p->device_id = strdup(id)) == NULL;
		} else if (bit == PLAN_SEEN_REASONS) {
			*oom = !plan_reasons(js, p);
		} else {
			plan_string(js, (char **)(void *)((char *)p + f->at), oom);
		}
	}
}

/* One Plan object (the next value of js) into p: 0; 1 when it has no planUuid; -1 on OOM. */
static int
plan_read(struct json_scan *js, struct jamf_plan *p)
{
	unsigned seen = 0;
	bool oom = false;

	memset(p, 0, sizeof(*p));
	if (json_scan_object(js))
		plan_members(js, NULL, p, &seen, &oom);
	if (p->id == NULL || oom) {
		jamf_plan_release(p);
		return oom ? -1 : 1;
	}
	return 0;
}

/* A plans list being read: its filter and what it holds so far. */
struct plans_read {
	const char *filter;
	struct jamf_plan *v;
	size_t n, cap;
	bool unsorted;    /* a plan came before one with a larger planUuid (its page was early) */
	/* with each: every page is handed over, then freed (JAMF_LIST_PLANS) */
	jamf_plans_fn each;
	void *ctx;
};

static int
plans_page_path(const void *ctx, long page, char *buf, size_t size)
{
	const struct plans_read *pr = ctx;
	int len = snprintf(buf, size, PLANS_PATH "?page=%ld&page-size=%d&sort=planUuid%%3Aasc%s%s",
	    page, JAMF_PRO_PAGE_SIZE, pr->filter ? "&filter=" : "", pr->filter ? pr->filter : "");

	return len < 0 || (size_t)len >= size ? -1 : 0;
}

/* One plan of a page (the next value of js) appended; one without a planUuid is left out. */
static int
plans_item(void *ctx, struct json_scan *js)
{
	struct plans_read *pr = ctx;
	int rc;

	if (pr->n == pr->cap) {
		size_t cap = pr->cap ? 2 * pr->cap : 64;
		struct jamf_plan *grown = realloc(pr->v, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		pr->v = grown;
		pr->cap = cap;
	}
	if ((rc = plan_read(js, &pr->v[pr->n])) == 0) {
		if (pr->n > 0 && strcmp(pr->v[pr->n].id, pr->v[pr->n - 1].id) < 0)
			pr->unsorted = true;
		pr->n++;
	}
	return rc == -1 ? -1 : 0;
}

static int
cmp_plans(const void *a, const void *b)
{
	return strcmp(((const struct jamf_plan *)a)->id, ((const struct jamf_plan *)b)->id);
}

/* The plans read, in Jamf's order (sort=planUuid:asc) whatever order their pages came in. */
static void
plans_sort(struct plans_read *pr)
{
	if (pr->unsorted)
		qsort(pr->v, pr->n, sizeof(*pr->v), cmp_plans);
}

/* After a page: with each, hand its plans over and free them. */
static int
plans_page_done(void *ctx, struct jamf_reply *r)
{
	struct plans_read *pr = ctx;
	int rc;

	if (pr->each == NULL || pr->n == 0)
		return 0;
	rc = pr->each(pr->ctx, pr->v, pr->n, r);
	jamf_plans_free(pr->v, pr->n);
	pr->v = NULL;
	pr->n = pr->cap = 0;
	return rc;
}

/* The pager of a plans list read into pr, its failure told in r. */
static struct pager
plans_pager(struct plans_read *pr, struct jamf_reply *r)
{
	return (struct pager){.path = plans_page_path, .item = plans_item,
	    .page_done = plans_page_done, .ctx = pr, .r = r};
}

int
jamf_pro_plans_list(struct jamf_session *s, const char *filter, struct jamf_plan **out,
    size_t *n, struct jamf_reply *r)
{
	struct plans_read pr = {.filter = filter};
	struct pager pg = plans_pager(&pr, r);

	*out = NULL;
	*n = 0;
	if (read_pages(s, &pg) == -1) {
		jamf_plans_free(pr.v, pr.n);
		return -1;
	}
	plans_sort(&pr);
	*out = pr.v;
	*n = pr.n;
	return 0;
}

int
jamf_pro_read_lists(struct jamf_session *s, struct jamf_list *lists, size_t n)
{
	struct inventory_read ir[JAMF_PRO_MAX_LISTS];
	struct plans_read pr[JAMF_PRO_MAX_LISTS];
	struct groups_read gr[JAMF_PRO_MAX_LISTS];
	struct pager pg[JAMF_PRO_MAX_LISTS], *pgs[JAMF_PRO_MAX_LISTS] = {NULL};
	int rc = 0;

	if (n > JAMF_PRO_MAX_LISTS) {
		for (size_t i = 0; i < n; i++) {
			memset(&lists[i].r, 0, sizeof(lists[i].r));
			lists[i].rc = jamf_reply_fail(&lists[i].r, JAMF_FAIL_TRANSPORT,
			    "%s: more than %d lists at once", s->name, JAMF_PRO_MAX_LISTS);
		}
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&lists[i].r, 0, sizeof(lists[i].r));
		pgs[i] = &pg[i];
		if (lists[i].what == JAMF_LIST_INVENTORY) {
			inventory_begin(&ir[i], &pg[i], &lists[i]);
		} else if (lists[i].what == JAMF_LIST_GROUPS) {
			groups_begin(&gr[i], lists[i].kind, lists[i].names, lists[i].nnames,
			    lists[i].groups);
			pg[i] = groups_pager(&gr[i], &lists[i].r);
		} else {
			pr[i] = (struct plans_read){.filter = lists[i].filter, .each = lists[i].each,
			    .ctx = lists[i].ctx};
			pg[i] = plans_pager(&pr[i], &lists[i].r);
		}
	}
	read_lists(s, pgs, n);
	for (size_t i = 0; i < n; i++) {
		if (lists[i].what == JAMF_LIST_INVENTORY)
			inventory_end(s, &ir[i], &pg[i]);
		else if (lists[i].what == JAMF_LIST_GROUPS && pg[i].rc != 0)
			jamf_groups_release(lists[i].groups);
		else if (lists[i].what == JAMF_LIST_PLANS)
			jamf_plans_free(pr[i].v, pr[i].n);
		if ((lists[i].rc = pg[i].rc) != 0)
			rc = -1;
	}
	return rc;
}

bool
jamf_plan_id_ok(const char *id)
{
	size_t n = 0;

	for (; id[n] != '\0'; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f') ||
		    (id[n] >= 'A' && id[n] <= 'F') || id[n] == '-'))
			return false;
	return n > 0 && n <= 64;
}

/*
 * The filter planUuid=in=(ids[0..n)), URL-encoded, into buf; 0 or -1 (an id that is not one).
 * 32 ids of at most 64 characters encode to at most 2.3 KiB.
 */
#define IDS_FILTER_BYTES 3072

static int
ids_filter(const char *const *ids, size_t n, char *buf, size_t size)
{
	char raw[JAMF_PLANS_PER_REQUEST * 66 + 32];
	size_t len = (size_t)snprintf(raw, sizeof(raw), "planUuid=in=(");

	for (size_t i = 0; i < n; i++) {
		if (!jamf_plan_id_ok(ids[i]))
			return -1;
		/* at most 64 characters each: this always fits */
		len += (size_t)snprintf(raw + len, sizeof(raw) - len, "%s%s", i ? "," : "", ids[i]);
	}
	snprintf(raw + len, sizeof(raw) - len, ")");
	return jamf_url_encode(raw, buf, size);
}

int
jamf_pro_plans_by_ids(struct jamf_session *s, const char *const *ids, size_t n,
    struct jamf_plan **out, size_t *got, struct jamf_reply *r)
{
	size_t nchunks = (n + JAMF_PLANS_PER_REQUEST - 1) / JAMF_PLANS_PER_REQUEST, k;
	struct plans_read pr = {0};
	struct pager pg = plans_pager(&pr, r);
	struct pager *pgp = &pg;
	char **paths = calloc(nchunks > 0 ? nchunks : 1, sizeof(*paths));
	int rc = -1;

	*out = NULL;
	*got = 0;
	if (paths == NULL)
		return jamf_reply_fail(r, JAMF_FAIL_TRANSPORT, "%s: out of memory", s->name);
	for (k = 0; k < nchunks; k++) {
		size_t at = k * JAMF_PLANS_PER_REQUEST;
		size_t m = n - at < JAMF_PLANS_PER_REQUEST ? n - at : JAMF_PLANS_PER_REQUEST;
		char filter[IDS_FILTER_BYTES], path[2 * PATH_BYTES];

		if (ids_filter(ids + at, m, filter, sizeof(filter)) == -1) {
			bad_reply(s, r, PLANS_PATH, "a plan id is not one Jamf gives");
			goto out;
		}
		pr.filter = filter;
		/* an IDS_FILTER_BYTES filter always fits in a path buffer */
		(void)plans_page_path(&pr, 0, path, sizeof(path));
		if ((paths[k] = strdup(path)) == NULL) {
			jamf_reply_fail(r, JAMF_FAIL_TRANSPORT, "%s: out of memory", s->name);
			goto out;
		}
	}
	get_pages(s, paths, NULL, nchunks, &pgp, 1);
	if (pg.rc == -1)
		goto out;
	plans_sort(&pr);
	*out = pr.v;
	*got = pr.n;
	pr.v = NULL;
	pr.n = 0;
	rc = 0;
out:
	jamf_plans_free(pr.v, pr.n);
	paths_free(paths, k);
	return rc;
}

int
jamf_pro_plan_get(struct jamf_session *s, const char *id, struct jamf_plan *out,
    struct jamf_reply *r)
{
	struct jamf_call call = {.method = "GET", .unparsed = true};
	char path[PATH_BYTES], enc[256];
	struct json_scan js;
	int rc;

	memset(out, 0, sizeof(*out));
	if (jamf_url_encode(id, enc, sizeof(enc)) == -1)
		return bad_reply(s, r, PLANS_PATH, "plan id too long");
	snprintf(path, sizeof(path), PLANS_PATH "/%s", enc);
	call.path = path;
	if (jamf_request(s, &call, r) == -1)
		return r->fail == JAMF_FAIL_NOT_FOUND ? 1 : -1;
	json_scan_init(&js, r->body != NULL ? r->body : "", r->body != NULL ? r->body_len : 0);
	if ((rc = plan_read(&js, out)) == -1)
		return jamf_reply_fail(r, JAMF_FAIL_TRANSPORT, "%s: out of memory", s->name);
	if (json_scan_end(&js) == -1) {
		jamf_plan_release(out);
		return bad_reply(s, r, path, "not JSON (%zu bytes): %s at byte %zu", r->body_len,
		    js.error, js.error_at);
	}
	if (rc == 1)
		return bad_reply(s, r, path, "no \"planUuid\"");
	return 0;
}

int
jamf_pro_plan_events(struct jamf_session *s, const char *id, char **events,
    struct jamf_reply *r)
{
	char path[PATH_BYTES], enc[256];
	const char *text;

	*events = NULL;
	if (jamf_url_encode(id, enc, sizeof(enc)) == -1)
		return bad_reply(s, r, PLANS_PATH, "plan id too long");
	snprintf(path, sizeof(path), PLANS_PATH "/%s/events", enc);
	if (jamf_get(s, path, r) == -1)
		return -1;
	/* the events are one string (itself JSON); it can be long, so no json_str cap here */
	text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->json, "events"));
	if (text == NULL)
		return bad_reply(s, r, path, "no \"events\" string");
	if ((*events = strdup(text)) == NULL)
		return bad_reply(s, r, path, "out of memory");
	return 0;
}

void
jamf_status_items_free(struct jamf_status_item *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
		free(v[i].updated);
	}
	free(v);
}

int
jamf_pro_ddm_status(struct jamf_session *s, const char *management_id,
    struct jamf_status_item **items, size_t *n, struct jamf_reply *r)
{
	char path[PATH_BYTES], enc[256];
	const cJSON *list, *o;
	int count;

	*items = NULL;
	*n = 0;
	if (jamf_url_encode(management_id, enc, sizeof(enc)) == -1)
		return bad_reply(s, r, "/api/v1/ddm", "management id too long");
	snprintf(path, sizeof(path), "/api/v1/ddm/%s/status-items", enc);
	if (jamf_get(s, path, r) == -1)
		return -1;
	if ((list = json_arr(r->json, "statusItems")) == NULL)
		return bad_reply(s, r, path, "no \"statusItems\" list");
	if ((count = cJSON_GetArraySize(list)) == 0)
		return 0;
	if ((*items = calloc((size_t)count, sizeof(**items))) == NULL)
		return bad_reply(s, r, path, "out of memory");
	cJSON_ArrayForEach(o, list) {
		struct jamf_status_item *it = &(*items)[*n];
		bool oom = false;

		if (json_str(o, "key") == NULL)
			continue;
		it->key = json_dup(json_str(o, "key"), &oom);
		it->value = json_dup(json_str(o, "value"), &oom);
		it->updated = json_dup(json_str(o, "lastUpdateTime"), &oom);
		(*n)++;
		if (oom) {
			jamf_status_items_free(*items, *n);
			*items = NULL;
			*n = 0;
			return bad_reply(s, r, path, "out of memory");
		}
	}
	return 0;
}
