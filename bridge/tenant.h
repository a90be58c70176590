/*
 * One tenant during a run: its state, when it first saw each BSI, a signed-in Jamf Pro
 * session (and a Jamf Platform one for blueprint policies), and each kind of inventory, read
 * at most once. Shared by sync, plan, render and status.
 */
#ifndef BRIDGE_TENANT_H
#define BRIDGE_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cJSON.h>

#include "config.h"
#include "jamf.h"
#include "jamf_pro.h"
#include "state.h"

struct config;
struct config_tenant;
struct gdmf_feed;
struct http_client;

/* One tenant's connection and inventories, read at most once each. */
struct tenant_run {
	const struct config *cfg;
	const struct config_tenant *tenant;
	struct jamf_session pro;
	struct jamf_session platform;  /* for blueprint policies */
	bool have_platform;
	struct jamf_inventory inv[2];  /* by enum jamf_kind */
	bool have_inv[2];
	char *inv_error[2];            /* why an inventory could not be read (told once asked) */
	unsigned inventory_want;       /* JAMF_INVENTORY_*: 0 unless set after tenant_open(),
	                                  before an inventory is read */
	struct jamf_groups groups[2];  /* by kind: the groups named in group_names, when read */
	bool have_groups[2];
	const char **group_names[2];   /* by kind: the names to read with the inventories */
	size_t ngroup_names[2];
	size_t group_filter[2];        /* by kind: the bytes their filter takes */
	struct jamf_reply group_error[2];  /* by kind: why they could not be read (fail, error) */
	struct state state;
	bool have_state;
	char (*seen_dates)[16];        /* per feed entry: the day bridge first saw it */
	const char **first_seen;       /* per feed entry: seen_dates[i] or NULL */
};

/*
 * Open a tenant for a run: its state (read-only when readonly, which also notes nothing),
 * when it first saw each BSI of feed (feed may be NULL: none), and a signed-in Jamf Pro
 * session; the state is read on a thread of its own while the session signs in. 0, or -1
 * with the reason in err (a state that cannot be used first) and, when signing in failed,
 * Jamf's answer in r.
 * From here to tenant_run_release() (which must follow, even after a failure), this
 * thread's log lines name the tenant (log_set_tenant).
 */
int tenant_open(struct tenant_run *tr, const struct config *cfg, const struct config_tenant *t,
    struct http_client *http, const struct gdmf_feed *feed, bool readonly, time_t now,
    struct jamf_reply *r, char *err, size_t errlen);

/*
 * tenant_open() for a command that reports per tenant (sync, plan, status): with jtenants,
 * adds {"name", "policies": []} to it (*jt and *jpolicies get them, else NULL) and, when
 * opening fails, the tenant's "error". A failure is logged and sets *failed, and
 * *auth_failed when Jamf refused to sign in. 0 or -1.
 */
int tenant_start(struct tenant_run *tr, const struct config *cfg, const struct config_tenant *t,
    struct http_client *http, const struct gdmf_feed *feed, bool readonly, time_t now,
    cJSON *jtenants, cJSON **jt, cJSON **jpolicies, bool *failed, bool *auth_failed);

/* Whether an enabled policy of t works through mode (only the policy named only, if not NULL). */
bool tenant_has_mode(const struct config_tenant *t, enum config_mode mode, const char *only);

/* The inventory of a kind for the tenant, read on first use; NULL with err on failure. */
const struct jamf_inventory *tenant_inventory(struct tenant_run *tr, enum jamf_kind kind,
    char *err, size_t errlen);

/*
 * Reading inventories together with other lists (jamf_pro_read_lists): set up lists[] for
 * each kind in kinds (bits 1 << kind) not read or tried yet, how many (at most 2); once they
 * were read, tenant_inventory_take() keeps each inventory, or why it failed, for
 * tenant_inventory().
 */
size_t tenant_inventory_lists(struct tenant_run *tr, unsigned kinds, struct jamf_list *lists);
void tenant_inventory_take(struct tenant_run *tr, struct jamf_list *lists, size_t n);

/*
 * Groups looked up by name together with the inventories: tenant_group_want() notes a name
 * (kept as given: it must live as long as tr) while their filter has room; 0 or -1 (out of
 * memory). tenant_group_lists() sets up lists[] for the names noted, one per kind (at most
 * 2), and tenant_group_take() keeps what they read, or why that failed. tenant_group_find()
 * then answers as jamf_pro_group_find() does: from that read (or its failure) when it
 * covered name, else with a request of its own.
 */
int tenant_group_want(struct tenant_run *tr, enum jamf_kind kind, const char *name);
size_t tenant_group_lists(struct tenant_run *tr, struct jamf_list *lists);
void tenant_group_take(struct tenant_run *tr, struct jamf_list *lists, size_t n);
int tenant_group_find(struct tenant_run *tr, enum jamf_kind kind, const char *name,
    struct jamf_group *out, struct jamf_reply *r);

void tenant_run_release(struct tenant_run *tr);

#endif
