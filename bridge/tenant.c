/* One tenant during a run (see tenant.h). */
#include "tenant.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gdmf.h"
#include "http.h"
#include "log.h"

/*
 * Note (sync) and look up (all) when bridge first saw each BSI; one not seen before counts as
 * seen now, as the next sync would note it. 0, or -1 when out of memory.
 */
static int
first_seen(struct tenant_run *tr, const struct gdmf_feed *feed, bool note, time_t now)
{
	if ((tr->seen_dates = calloc(feed->n ? feed->n : 1, sizeof(*tr->seen_dates))) == NULL ||
	    (tr->first_seen = calloc(feed->n ? feed->n : 1, sizeof(char *))) == NULL)
		return -1;
	for (size_t i = 0; i < feed->n; i++) {
		const struct state_bsi *b;
		char id[GDMF_IDENTITY_BYTES];
		struct tm tm;

		if (feed->entries[i].list != GDMF_LIST_BSI)
			continue;
		gdmf_entry_identity(&feed->entries[i], id);
		if (note && state_note_bsi(&tr->state, id, now) == -1)
			return -1;
		/* one bridge has not seen yet (plan, render, status): a sync now would see it now */
		gmtime_r((b = state_find_bsi(&tr->state, id)) != NULL ? &b->first_seen : &now, &tm);
		if (strftime(tr->seen_dates[i], sizeof(tr->seen_dates[i]), "%Y-%m-%d", &tm) > 0)
			tr->first_seen[i] = tr->seen_dates[i];
	}
	return 0;
}

void
tenant_run_release(struct tenant_run *tr)
{
	for (int k = 0; k < 2; k++) {
		if (tr->have_inv[k])
			jamf_inventory_release(&tr->inv[k]);
		free(tr->inv_error[k]);
		if (tr->have_groups[k])
			jamf_groups_release(&tr->groups[k]);
		free(tr->group_names[k]);
	}
	jamf_session_close(&tr->pro);
	if (tr->have_platform)
		jamf_session_close(&tr->platform);
	if (tr->have_state)
		state_release(&tr->state);
	free(tr->seen_dates);
	free(tr->first_seen);
	log_set_tenant(NULL);
}

/* Loading a tenant's state on a thread of its own while the tenant signs in (load_state()). */
struct state_job {
	struct tenant_run *tr;
	bool readonly;
	char *err;
	size_t errlen;
	int rc;
};

static void *
load_state(void *ctx)
{
	struct state_job *job = ctx;
	struct state *st = &job->tr->state;
	const char *dir = job->tr->tenant->state_dir;

	log_set_tenant(job->tr->tenant->name);
	/* plan, render and status read the state without the lock and change nothing on disk */
	job->rc = (job->readonly ? state_load_readonly(st, dir, job->err, job->errlen) :
	    state_load(st, dir, job->err, job->errlen)) == STATE_OK ? 0 : -1;
	job->tr->have_state = job->rc == 0;
	return NULL;
}

int
tenant_open(struct tenant_run *tr, const struct config *cfg, const struct config_tenant *t,
    struct http_client *http, const struct gdmf_feed *feed, bool readonly, time_t now,
    struct jamf_reply *r, char *err, size_t errlen)
{
	char state_err[JAMF_ERROR_BYTES];
	struct state_job job = {.tr = tr, .readonly = readonly, .err = state_err,
	    .errlen = sizeof(state_err)};
	pthread_t loader;
	bool threaded;
	int signed_in = -1;

	memset(tr, 0, sizeof(*tr));
	tr->cfg = cfg;
	tr->tenant = t;
	log_set_tenant(t->name);
	/*
	 * The state file (24 MB at 100,000 plans) is read on a thread of its own while the
	 * connection is set up and the token request travels; where no thread can start, first.
	 * A state that cannot be used is told first, as it was read first.
	 */
	if (!(threaded = pthread_create(&loader, NULL, load_state, &job) == 0))
		(void)load_state(&job);
	if (jamf_session_init(&tr->pro, JAMF_API_PRO, cfg, t, http, err, errlen) == 0 &&
	    (signed_in = jamf_authenticate(&tr->pro, r)) == -1)
		snprintf(err, errlen, "%s", r->error);
	if (threaded)
		pthread_join(loader, NULL);
	if (job.rc == -1) {
		jamf_reply_release(r);
		snprintf(err, errlen, "%s", state_err);
		return -1;
	}
	if (signed_in == -1)
		return -1;
	if (feed != NULL && first_seen(tr, feed, !readonly, now) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

size_t
tenant_inventory_lists(struct tenant_run *tr, unsigned kinds, struct jamf_list *lists)
{
	size_t n = 0;

	for (int k = JAMF_COMPUTER; k <= JAMF_MOBILE; k++)
		if ((kinds & 1u << k) && !tr->have_inv[k] && tr->inv_error[k] == NULL)
			lists[n++] = (struct jamf_list){.what = JAMF_LIST_INVENTORY,
			    .kind = (enum jamf_kind)k, .want = tr->inventory_want, .inv = &tr->inv[k]};
	return n;
}

void
tenant_inventory_take(struct tenant_run *tr, struct jamf_list *lists, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct jamf_inventory *inv = lists[i].inv;
		enum jamf_kind k = lists[i].kind;

		if (lists[i].rc == 0) {
			tr->have_inv[k] = true;
			log_info("%zu %ss in Jamf Pro (%ld request%s)", inv->n, jamf_kind_name(k),
			    inv->requests, inv->requests == 1 ? "" : "s");
		} else if ((tr->inv_error[k] = strdup(lists[i].r.error)) == NULL) {
			tr->inv_error[k] = strdup("out of memory");  /* NULL: tried again */
		}
		jamf_reply_release(&lists[i].r);
	}
}

/* Whether name is among the names of kind noted by tenant_group_want(). */
static bool
group_wanted(const struct tenant_run *tr, enum jamf_kind kind, const char *name)
{
	for (size_t i = 0; i < tr->ngroup_names[kind]; i++)
		if (strcmp(tr->group_names[kind][i], name) == 0)
			return true;
	return false;
}

int
tenant_group_want(struct tenant_run *tr, enum jamf_kind kind, const char *name)
{
	char value[JAMF_GROUPS_NAMES_BYTES];
	const char **grown;
	size_t len;

	if (group_wanted(tr, kind, name))
		return 0;
	/* a name that does not fit any more is looked up on its own */
	if (jamf_rsql_value(name, value, sizeof(value)) == -1 ||
	    (len = strlen(value) + 3) > JAMF_GROUPS_NAMES_BYTES - tr->group_filter[kind])
		return 0;
	tr->group_filter[kind] += len;
	if ((grown = realloc(tr->group_names[kind], (tr->ngroup_names[kind] + 1) *
	    sizeof(*grown))) == NULL)
		return -1;
	grown[tr->ngroup_names[kind]++] = name;
	tr->group_names[kind] = grown;
	return 0;
}

size_t
tenant_group_lists(struct tenant_run *tr, struct jamf_list *lists)
{
	size_t n = 0;

	for (int k = JAMF_COMPUTER; k <= JAMF_MOBILE; k++)
		if (tr->ngroup_names[k] > 0 && !tr->have_groups[k])
			lists[n++] = (struct jamf_list){.what = JAMF_LIST_GROUPS,
			    .kind = (enum jamf_kind)k, .names = tr->group_names[k],
			    .nnames = tr->ngroup_names[k], .groups = &tr->groups[k]};
	return n;
}

void
tenant_group_take(struct tenant_run *tr, struct jamf_list *lists, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		enum jamf_kind k = lists[i].kind;

		/* a failure is told to each policy that names one of the groups */
		tr->have_groups[k] = true;
		if (lists[i].rc != 0)
			(void)jamf_reply_fail(&tr->group_error[k], lists[i].r.fail, "%s",
			    lists[i].r.error);
		jamf_reply_release(&lists[i].r);
	}
}

int
tenant_group_find(struct tenant_run *tr, enum jamf_kind kind, const char *name,
    struct jamf_group *out, struct jamf_reply *r)
{
	memset(out, 0, sizeof(*out));
	if (tr->have_groups[kind] && group_wanted(tr, kind, name)) {
		if (tr->group_error[kind].fail != JAMF_OK)
			return jamf_reply_fail(r, tr->group_error[kind].fail, "%s",
			    tr->group_error[kind].error);
		return jamf_groups_pick(&tr->pro, &tr->groups[kind], kind, name, out, r);
	}
	return jamf_pro_group_find(&tr->pro, kind, name, out, r);
}

const struct jamf_inventory *
tenant_inventory(struct tenant_run *tr, enum jamf_kind kind, char *err, size_t errlen)
{
	struct jamf_list list;

	if (!tr->have_inv[kind] && tenant_inventory_lists(tr, 1u << kind, &list) == 1) {
		(void)jamf_pro_read_lists(&tr->pro, &list, 1);
		tenant_inventory_take(tr, &list, 1);
	}
	if (tr->have_inv[kind])
		return &tr->inv[kind];
	snprintf(err, errlen, "%s", tr->inv_error[kind] != NULL ? tr->inv_error[kind] :
	    "out of memory");
	return NULL;
}

int
tenant_start(struct tenant_run *tr, const struct config *cfg, const struct config_tenant *t,
    struct http_client *http, const struct gdmf_feed *feed, bool readonly, time_t now,
    cJSON *jtenants, cJSON **jt, cJSON **jpolicies, bool *failed, bool *auth_failed)
{
	struct jamf_reply r = {0};
	char err[JAMF_ERROR_BYTES];
	int rc;

	*jt = *jpolicies = NULL;
	if (jtenants != NULL) {
		*jt = cJSON_CreateObject();
		cJSON_AddItemToArray(jtenants, *jt);
		cJSON_AddStringToObject(*jt, "name", t->name);
		*jpolicies = cJSON_AddArrayToObject(*jt, "policies");
	}
	if ((rc = tenant_open(tr, cfg, t, http, feed, readonly, now, &r, err, sizeof(err))) == -1) {
		log_error("%s", err);
		if (*jt != NULL)
			cJSON_AddStringToObject(*jt, "error", err);
		*auth_failed |= r.fail == JAMF_FAIL_AUTH;
		*failed = true;
	}
	jamf_reply_release(&r);
	return rc;
}

bool
tenant_has_mode(const struct config_tenant *t, enum config_mode mode, const char *only)
{
	for (size_t i = 0; i < t->npolicies; i++)
		if (t->policies[i].enabled && t->policies[i].mode == mode &&
		    (only == NULL || strcmp(only, t->policies[i].name) == 0))
			return true;
	return false;
}
