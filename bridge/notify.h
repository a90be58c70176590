/*
 * Telling people, once: the problems of a run become one digest per webhook.
 *
 * A problem is identified by its fingerprint: event, tenant, policy, target and reason (e.g.
 * "plan_failed|default|macs|26.3.1 25D771280a|NO_DISK_SPACE"); many devices share one. What
 * each webhook was told is remembered in state_dir/alerts.json (written atomically). Each run,
 * for each webhook and the problems it subscribes to (its events; for a policy's problems,
 * the policy's alerts list, empty meaning every webhook):
 *   - NEW       a problem it was not told of: announced;
 *   - REPEATED  told of at least repeat_after ago and still there: announced again;
 *   - RESOLVED  told of and no longer there: announced once (with the resolved event), then
 *               forgotten;
 *   - anything else stays quiet.
 * A webhook with something to say gets one digest, built from its template (templates/
 * alert-<kind>.json, or its own). Only a delivered digest is remembered: one that fails is
 * built again on the next run, and the run exits 1.
 *
 * notify_decide() is pure; notify_run() does the file and the network.
 */
#ifndef BRIDGE_NOTIFY_H
#define BRIDGE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct config;
struct config_alert;
struct http_client;

#define NOTIFY_FINGERPRINT_BYTES 512

struct notify_problem {
	unsigned event;            /* one CONFIG_EVENT_* bit */
	char *tenant;              /* NULL: the whole run (feed_error, run_failed) */
	char *policy;              /* NULL: not one policy's */
	char *target;              /* "26.3.1 25D771280a"; NULL: none */
	char *reason;              /* Jamf's reason, a plan state, or a message */
	char *explanation;         /* what it means, or NULL */
	char *hint;                /* how to fix it, or NULL */
	size_t devices;            /* devices concerned (0: not about devices) */
	char **names;              /* the first device names ("Ann's Mac (17)"), at most max */
	char **links;              /* their Jamf Pro pages, same length; an entry may be NULL */
	size_t nnames;
	char fingerprint[NOTIFY_FINGERPRINT_BYTES];
};

struct notify_list {
	struct notify_problem *v;
	size_t n;
	size_t max_names;          /* device names kept per problem */
	const struct config *cfg;  /* for policy subscriptions */
	char **scopes;             /* what this run looked at (notify_watched) */
	size_t nscopes;
};

/*
 * Add one device (or, with name NULL, one run-level problem) to the problem with this
 * fingerprint, creating it. 0, or -1 when out of memory.
 */
int notify_add(struct notify_list *l, unsigned event, const char *tenant, const char *policy,
    const char *target, const char *reason, const char *explanation, const char *hint,
    const char *name, const char *link);

/*
 * Say that this run looked at a policy's devices (tenant, policy), or, with both NULL, at
 * what event is about for the whole run (the feed, the run). Only a problem this run looked
 * at can be found gone (resolved): one of a tenant or policy that failed, or that --tenant
 * or --policy left out, stays as it was. 0, or -1 when out of memory.
 */
int notify_watched(struct notify_list *l, const char *tenant, const char *policy,
    unsigned event);

/*
 * Move every problem and scope of from to the end of to, leaving from empty (a tenant's own
 * list, run at the same time as others, joins the run's). 0, or -1 when out of memory
 * (nothing moved).
 */
int notify_list_take(struct notify_list *to, struct notify_list *from);

void notify_list_release(struct notify_list *l);

/* What one webhook was told of one problem (alerts.json). */
struct notify_said {
	char *webhook;
	char *fingerprint;
	unsigned event;
	char *tenant, *policy, *target, *reason;
	size_t devices;
	time_t first_sent;
	time_t last_sent;
};

struct notify_memory {
	struct notify_said *v;
	size_t n;
};

enum notify_news { NOTIFY_NEW, NOTIFY_REPEATED, NOTIFY_RESOLVED };

/* One line of a digest: a current problem, or (RESOLVED) what was said of a cleared one. */
struct notify_item {
	enum notify_news news;
	const struct notify_problem *problem;  /* NEW, REPEATED */
	const struct notify_said *said;        /* REPEATED, RESOLVED */
};

struct notify_digest {
	const struct config_alert *alert;
	struct notify_item *items;
	size_t n;
	size_t counts[3];                      /* by enum notify_news */
};

/*
 * What webhook a hears this run (pure). Problems of a policy whose alerts list leaves a out
 * are not its business. 0, or -1 when out of memory; d->n == 0: nothing to say.
 */
int notify_decide(const struct notify_memory *mem, const struct config_alert *a,
    const struct notify_list *problems, time_t now, struct notify_digest *d);

void notify_digest_release(struct notify_digest *d);

/*
 * The body d's webhook gets, rendered from its template (its own, or templates/alert-<kind>.json)
 * with the digest as title, text, Slack blocks (within Slack's 50 blocks and 3000 characters
 * a section), an Adaptive Card body and the JSON digest. A new string, or NULL with err.
 */
char *notify_render(const struct notify_digest *d, time_t now, char *err, size_t errlen);

/*
 * Decide, build and deliver every webhook's digest, and remember what was delivered in
 * cfg->state_dir/alerts.json; delivered[i] (cfg->nalerts of them, or NULL) gets 1 when
 * alert i's digest was delivered. Returns 0, or -1 when a digest could not be delivered (it is
 * kept for the next run) or the memory could not be saved.
 */
int notify_run(struct http_client *http, const struct config *cfg,
    const struct notify_list *problems, time_t now, size_t *delivered);

#endif
