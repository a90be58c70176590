/*
 * The Jamf Pro API calls bridge makes: inventory in pages of 2000 read into compact device
 * records, groups (lookup by name, smart membership, static groups, platform ids), the
 * managed software update plans feature toggle, plans (create in batches or for a group,
 * list with RSQL filters, get, events) and a device's DDM status items.
 */
#ifndef BRIDGE_JAMF_PRO_H
#define BRIDGE_JAMF_PRO_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "jamf.h"
#include "strtab.h"

#define JAMF_PRO_PAGE_SIZE 2000  /* Jamf caps page-size here, silently */

enum jamf_kind {
	JAMF_COMPUTER,
	JAMF_MOBILE,
};

/*
 * One device, as much as bridge needs of it; its strings belong to the inventory's string
 * table and may be NULL when Jamf has no value.
 */
struct jamf_device {
	const char *id;
	const char *name;
	const char *serial;              /* NULL for computers unless JAMF_INVENTORY_SERIALS */
	const char *management_id;
	const char *version;             /* "26.3.1" */
	const char *build;               /* "25D2128" */
	const char *supplemental_build;  /* "25D771280a" when a BSI is installed */
	const char *extra;               /* "(a)" when a BSI is installed */
	const char *model_id;            /* softwareUpdateDeviceId / product type (GDMF devices) */
	long *groups;                    /* ids of the groups it belongs to */
	size_t ngroups;
};

struct jamf_inventory {
	enum jamf_kind kind;
	struct jamf_device *v;
	size_t n;
	long requests;             /* inventory requests it took */
	struct strtab strings;     /* every device string, each distinct one once */
};

struct jamf_group {
	long id;
	char *name;
	bool smart;
	char *platform_id;         /* the Jamf Platform UUID of the group, or NULL */
};

struct jamf_toggle {
	bool toggle;               /* the plans feature is on */
	bool force_install_local_date;
	bool custom_version;       /* CUSTOM_VERSION plans allowed (Jamf Support enables it) */
	bool dss;
	bool recipe;
};

/* The config of a plan: what to install and by when. */
struct jamf_plan_config {
	const char *version;       /* specificVersion, e.g. "26.3.1" (never with the extra) */
	const char *build;         /* buildVersion, e.g. "25D771280a"; NULL: SPECIFIC_VERSION */
	const char *force_install; /* forceInstallLocalDateTime "yyyy-mm-ddThh:mm:ss" */
	long max_deferrals;
	const char *json;          /* the whole config as JSON (a rendered plan template); when
	                              set it is sent as it is and the fields above are unused */
};

/* A created plan: which device it is for. */
struct jamf_plan_ref {
	char *device_id;
	char *plan_id;
};

struct jamf_plan {
	char *id;                  /* planUuid */
	char *device_id;
	char *object_type;         /* COMPUTER, MOBILE_DEVICE ... */
	char *version_type;
	char *version;
	char *build;
	char *force_install;
	char *state;               /* status.state: Init ... PlanCompleted, PlanFailed ... */
	char **reasons;            /* status.errorReasons */
	size_t nreasons;
};

struct jamf_status_item {
	char *key;
	char *value;
	char *updated;
};

/*
 * What an inventory read asks for beyond what every run needs. A computer's serial number is
 * in its HARDWARE section, a fifth of each page, which only `bridge plan` shows.
 */
#define JAMF_INVENTORY_SERIALS 0x1u

/*
 * Every device of a kind, optionally narrowed by an RSQL filter (already encoded), in pages of
 * JAMF_PRO_PAGE_SIZE; after the first page the others are read concurrently. want: 0 or
 * JAMF_INVENTORY_SERIALS. 0 or -1 (r).
 */
int jamf_pro_inventory(struct jamf_session *s, enum jamf_kind kind, const char *filter,
    unsigned want, struct jamf_inventory *out, struct jamf_reply *r);
void jamf_inventory_release(struct jamf_inventory *inv);

/* The group of that kind named exactly name: 0, 1 when there is none, -1 on error. */
int jamf_pro_group_find(struct jamf_session *s, enum jamf_kind kind, const char *name,
    struct jamf_group *out, struct jamf_reply *r);
void jamf_group_release(struct jamf_group *g);

/* The groups of a kind bearing some names, read by jamf_pro_read_lists() (JAMF_LIST_GROUPS). */
/* room in one groups list's filter for the names, each encoded (jamf_rsql_value()) and with
   a 3-byte comma */
#define JAMF_GROUPS_NAMES_BYTES 3008
struct jamf_groups {
	struct jamf_group *v;
	size_t n;
};

/*
 * The group of g (read for names that held name) named exactly name, as jamf_pro_group_find()
 * tells it: 0 with a copy in *out, 1 when there is none, -1 (r) when there are several.
 */
int jamf_groups_pick(const struct jamf_session *s, const struct jamf_groups *g,
    enum jamf_kind kind, const char *name, struct jamf_group *out, struct jamf_reply *r);
void jamf_groups_release(struct jamf_groups *g);

/* Members (device ids) of a smart group; 0 or -1. Free *ids. */
int jamf_pro_smart_members(struct jamf_session *s, enum jamf_kind kind, long group_id,
    long **ids, size_t *n, struct jamf_reply *r);

/*
 * Static groups of computers or mobile devices: create one with members (0 with *id), or make
 * its members exactly want (0); -1 (r). drop lists the members it has now that want lacks:
 * the mobile device API adds and removes members one by one (PATCH), while the computer API
 * replaces the whole list (PUT) and needs no drop.
 */
int jamf_pro_static_group_create(struct jamf_session *s, enum jamf_kind kind, const char *name,
    const long *ids, size_t n, long *id, struct jamf_reply *r);
int jamf_pro_static_group_set(struct jamf_session *s, enum jamf_kind kind, long id,
    const char *name, const long *want, size_t nwant, const long *drop, size_t ndrop,
    struct jamf_reply *r);

/*
 * The plans feature toggle; and with it, asked at the same time, whether switching it is
 * still in progress. 0 or -1.
 */
int jamf_pro_toggle_get(struct jamf_session *s, struct jamf_toggle *t, struct jamf_reply *r);
int jamf_pro_toggle_check(struct jamf_session *s, struct jamf_toggle *t, bool *busy,
    struct jamf_reply *r);

/* One request for plans: devices of one kind, one config (jamf_pro_plans_post). */
struct jamf_plan_post {
	enum jamf_kind kind;
	const char *const *device_ids;
	size_t n;
	const struct jamf_plan_config *cfg;
	struct jamf_plan_ref *refs;   /* out: the plans created (jamf_plan_refs_free) */
	size_t nrefs;
	struct jamf_reply reply;      /* out: why the request failed; release it */
};

/*
 * Send posts[0..n) at once, max_connections at a time (429 handled by http's retries); each
 * gets its own refs and reply. meanwhile(ctx), unless NULL, runs once while they travel
 * (http_client_meanwhile(): after they went out, or at the end if none could go), so that the
 * caller's own work does not wait for Jamf. 0 when all succeeded, else -1.
 */
int jamf_pro_plans_post(struct jamf_session *s, struct jamf_plan_post *posts, size_t n,
    http_meanwhile_fn meanwhile, void *ctx);

/*
 * Plans for devices, batch_size devices per request, the requests sent at once. Appends to
 * *refs and *nrefs the plans created, so a failed request still tells the caller which plans
 * exist. 0, or -1 with r describing the first failed request.
 */
int jamf_pro_plans_create(struct jamf_session *s, enum jamf_kind kind,
    const char *const *device_ids, size_t n, size_t batch_size,
    const struct jamf_plan_config *cfg, struct jamf_plan_ref **refs, size_t *nrefs,
    struct jamf_reply *r);

/* Plans for every member of a group (one plan per device). Same contract as above. */
int jamf_pro_plans_create_group(struct jamf_session *s, enum jamf_kind kind, long group_id,
    const struct jamf_plan_config *cfg, struct jamf_plan_ref **refs, size_t *nrefs,
    struct jamf_reply *r);
void jamf_plan_refs_free(struct jamf_plan_ref *refs, size_t n);

/* Takes a page of plans (freed when it returns); 0, or -1 (with r set) to stop. */
typedef int (*jamf_plans_fn)(void *ctx, const struct jamf_plan *plans, size_t n,
    struct jamf_reply *r);

/*
 * Lists read together by jamf_pro_read_lists(). Set what and that kind's fields; the
 * outcome comes back in rc and r.
 */
enum jamf_list_what {
	JAMF_LIST_INVENTORY,       /* as jamf_pro_inventory(): kind, want, inv */
	JAMF_LIST_PLANS,           /* the plans matching filter (encoded RSQL) handed to each()
	                              a page at a time: memory holds a page, not the list */
	JAMF_LIST_GROUPS,          /* the groups of kind named names[0..nnames) into *groups
	                              (jamf_groups_pick()); a list of names too long fails */
};

struct jamf_list {
	enum jamf_list_what what;
	enum jamf_kind kind;
	unsigned want;
	struct jamf_inventory *inv;
	const char *filter;
	jamf_plans_fn each;
	void *ctx;
	const char *const *names;
	size_t nnames;
	struct jamf_groups *groups;
	int rc;                    /* out: 0, or -1 with r (release it either way) */
	struct jamf_reply r;
};

#define JAMF_PRO_MAX_LISTS 6  /* plans, and inventory and groups of both kinds */

/*
 * Read lists[0..n) (n <= JAMF_PRO_MAX_LISTS) together: the first page of each, all at once,
 * then (once every first page is in: they say how many pages follow) every other page of all
 * of them, max_connections at a time whatever their list, so that no list waits for another
 * to end. A list that fails ends there; the others go on. 0 when every list was read, else
 * -1.
 */
int jamf_pro_read_lists(struct jamf_session *s, struct jamf_list *lists, size_t n);

/* Plans matching an RSQL filter (already encoded; NULL: all), every page. 0 or -1. */
int jamf_pro_plans_list(struct jamf_session *s, const char *filter, struct jamf_plan **out,
    size_t *n, struct jamf_reply *r);
/*
 * The plans with these ids (each a UUID's characters, at most 64: JAMF_PLAN_ID_OK), 32 to
 * a list request with a planUuid=in=(...) filter, max_connections requests at a time.
 * Plans Jamf does not have are left out. 0 or -1.
 */
#define JAMF_PLANS_PER_REQUEST 32
bool jamf_plan_id_ok(const char *id);
int jamf_pro_plans_by_ids(struct jamf_session *s, const char *const *ids, size_t n,
    struct jamf_plan **out, size_t *got, struct jamf_reply *r);

/* One plan: 0, 1 when unknown, -1. */
int jamf_pro_plan_get(struct jamf_session *s, const char *id, struct jamf_plan *out,
    struct jamf_reply *r);
/* A plan's event log as Jamf gives it (a string); 0 with *events (free it) or -1. */
int jamf_pro_plan_events(struct jamf_session *s, const char *id, char **events,
    struct jamf_reply *r);
void jamf_plan_release(struct jamf_plan *p);
void jamf_plans_free(struct jamf_plan *v, size_t n);

/* A device's DDM status items; 0 or -1. */
int jamf_pro_ddm_status(struct jamf_session *s, const char *management_id,
    struct jamf_status_item **items, size_t *n, struct jamf_reply *r);
void jamf_status_items_free(struct jamf_status_item *v, size_t n);

const char *jamf_kind_name(enum jamf_kind kind);

/* The kind of device Jamf Pro manages a platform as: macOS computers, iOS mobile devices. */
enum jamf_kind jamf_pro_kind(enum config_os os);

#endif
