/* bridge status (see status.h). */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "config.h"
#include "exitcode.h"
#include "http.h"
#include "isotime.h"
#include "jamf.h"
#include "jamf_pro.h"
#include "json.h"
#include "log.h"
#include "reasons.h"
#include "tenant.h"
#include "watch.h"

static int
cmp_opt(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* Rows by target (version, build), ring, then device id as a number. */
static int
cmp_row(const void *a, const void *b)
{
	const struct watch_row *x = a, *y = b;
	long dx, dy;
	int c;

	if ((c = cmp_opt(x->version, y->version)) != 0 || (c = cmp_opt(x->build, y->build)) != 0 ||
	    (c = cmp_opt(x->ring, y->ring)) != 0)
		return c;
	dx = strtol(x->device_id, NULL, 10);
	dy = strtol(y->device_id, NULL, 10);
	return (dx > dy) - (dx < dy);
}

static bool
same_group(const struct watch_row *a, const struct watch_row *b)
{
	return cmp_opt(a->version, b->version) == 0 && cmp_opt(a->build, b->build) == 0 &&
	    cmp_opt(a->ring, b->ring) == 0;
}

/* What one group of rows (a target in a ring) adds up to. */
struct group_sum {
	struct watch_tally t;
	const char *deadline;           /* the latest */
	const struct watch_row *stuck;  /* the one stuck the longest, or NULL */
};

static void
sum_group(const struct watch_row *rows, size_t n, struct group_sum *g)
{
	memset(g, 0, sizeof(*g));
	watch_tally(rows, n, &g->t);
	for (size_t i = 0; i < n; i++) {
		if (rows[i].deadline != NULL && (g->deadline == NULL ||
		    strcmp(rows[i].deadline, g->deadline) > 0))
			g->deadline = rows[i].deadline;
		if (rows[i].v.cls == WATCH_STUCK && (g->stuck == NULL ||
		    rows[i].since < g->stuck->since))
			g->stuck = &rows[i];
	}
}

static const char *
device_name(const struct watch_row *r)
{
	return r->device != NULL && r->device->name != NULL ? r->device->name : "-";
}

static void
print_group(const struct watch_row *rows, size_t n, const struct group_sum *g,
    const struct config_watch *w, time_t now)
{
	const struct watch_row *r = &rows[0];
	char note[WATCH_NOTE_BYTES];

	printf("  %s %s, ring %s, deadline %s: %zu device%s:", r->version,
	    r->build != NULL ? r->build : "(base update)", r->ring,
	    g->deadline != NULL ? g->deadline : "-", n, n == 1 ? "" : "s");
	watch_counts_print(stdout, g->t.counts);
	printf("\n");
	if (g->stuck != NULL) {
		watch_row_note(g->stuck, w, now, note, sizeof(note));
		printf("    oldest stuck: device %s (%s): %s\n", g->stuck->device_id,
		    device_name(g->stuck), note);
	}
	for (size_t i = 0; i < g->t.nreasons; i++) {
		const struct reason_info *info = reason_lookup(g->t.reasons[i].reason);

		printf("    failed: %s x%zu: %s%s%s\n", g->t.reasons[i].reason, g->t.reasons[i].n,
		    info != NULL ? info->explanation : "a reason bridge does not know; see the "
		    "plan's events in Jamf Pro.", info != NULL ? " Fix: " : "",
		    info != NULL ? info->hint : "");
	}
}

static cJSON *
group_json(const struct watch_row *rows, size_t n, const struct group_sum *g)
{
	cJSON *o = cJSON_CreateObject(), *reasons;
	char since[32];

	cJSON_AddStringToObject(o, "version", rows[0].version);
	json_add_str_or_null(o, "build", rows[0].build);
	cJSON_AddStringToObject(o, "ring", rows[0].ring);
	json_add_str_or_null(o, "deadline", g->deadline);
	cJSON_AddNumberToObject(o, "devices", (double)n);
	watch_counts_json(cJSON_AddObjectToObject(o, "counts"), g->t.counts);
	if (g->stuck != NULL) {
		cJSON *s = cJSON_AddObjectToObject(o, "oldest_stuck");

		cJSON_AddStringToObject(s, "device", g->stuck->device_id);
		json_add_str_or_null(s, "state", g->stuck->state);
		iso_time_format(g->stuck->since, since);
		cJSON_AddStringToObject(s, "since", since);
	} else {
		cJSON_AddNullToObject(o, "oldest_stuck");
	}
	reasons = cJSON_AddArrayToObject(o, "reasons");
	for (size_t i = 0; i < g->t.nreasons; i++) {
		const struct reason_info *info = reason_lookup(g->t.reasons[i].reason);
		cJSON *jr = cJSON_CreateObject();

		cJSON_AddItemToArray(reasons, jr);
		cJSON_AddStringToObject(jr, "reason", g->t.reasons[i].reason);
		cJSON_AddNumberToObject(jr, "devices", (double)g->t.reasons[i].n);
		json_add_str_or_null(jr, "kind", info != NULL ? reason_kind_name(info->kind) : NULL);
		json_add_str_or_null(jr, "explanation", info != NULL ? info->explanation : NULL);
		json_add_str_or_null(jr, "hint", info != NULL ? info->hint : NULL);
	}
	return o;
}

static void
print_device(const struct watch_row *r, const struct config_watch *w, time_t now)
{
	char note[WATCH_NOTE_BYTES];

	watch_row_note(r, w, now, note, sizeof(note));
	printf("    device %s (%s): %s %s, ring %s, by %s: %s: %s\n", r->device_id, device_name(r),
	    r->version, r->build != NULL ? r->build : "(base update)", r->ring,
	    r->deadline != NULL ? r->deadline : "-", watch_class_name(r->v.cls), note);
}

static cJSON *
device_json(const struct watch_row *r, const struct config_watch *w, time_t now)
{
	cJSON *o = cJSON_CreateObject();
	char note[WATCH_NOTE_BYTES];

	watch_row_note(r, w, now, note, sizeof(note));
	cJSON_AddStringToObject(o, "id", r->device_id);
	json_add_str_or_null(o, "name", r->device != NULL ? r->device->name : NULL);
	cJSON_AddStringToObject(o, "ring", r->ring);
	cJSON_AddStringToObject(o, "version", r->version);
	json_add_str_or_null(o, "build", r->build);
	json_add_str_or_null(o, "deadline", r->deadline);
	cJSON_AddStringToObject(o, "class", watch_class_name(r->v.cls));
	json_add_str_or_null(o, "state", r->state);
	json_add_str_or_null(o, "reason", r->reason);
	cJSON_AddStringToObject(o, "note", note);
	return o;
}

/* One policy: rows grouped by target and ring, then (--devices) one per device. */
static int
status_policy(struct tenant_run *tr, const struct config_policy *p,
    const struct status_options *o, cJSON *jpolicies)
{
	enum jamf_kind kind = jamf_pro_kind(p->platform);
	const struct jamf_inventory *inv;
	struct watch_row *rows;
	struct watch_tally all;
	cJSON *jp = NULL, *jgroups = NULL;
	char err[JAMF_ERROR_BYTES];
	size_t n;

	if ((inv = tenant_inventory(tr, kind, err, sizeof(err))) == NULL) {
		log_error("policy %s: %s", p->name, err);
		return -1;
	}
	if (watch_rows(&tr->state, p->name, inv->v, inv->n, &tr->cfg->watch, o->now, &rows,
	    &n) == -1) {
		log_error("policy %s: out of memory", p->name);
		return -1;
	}
	qsort(rows, n, sizeof(*rows), cmp_row);
	watch_tally(rows, n, &all);
	if (jpolicies != NULL) {
		jp = cJSON_CreateObject();
		cJSON_AddItemToArray(jpolicies, jp);
		cJSON_AddStringToObject(jp, "name", p->name);
		cJSON_AddStringToObject(jp, "platform", config_os_name(p->platform));
		cJSON_AddStringToObject(jp, "mode", config_mode_name(p->mode));
		cJSON_AddNumberToObject(jp, "devices", (double)n);
		watch_counts_json(cJSON_AddObjectToObject(jp, "counts"), all.counts);
		jgroups = cJSON_AddArrayToObject(jp, "groups");
	} else {
		printf("tenant %s, policy %s (%s, %s mode): %zu device%s targeted\n",
		    tr->tenant->name, p->name, config_os_name(p->platform),
		    config_mode_name(p->mode), n, n == 1 ? "" : "s");
	}
	for (size_t start = 0, end; start < n; start = end) {
		struct group_sum g;

		for (end = start; end < n && same_group(&rows[start], &rows[end]); end++)
			continue;
		sum_group(&rows[start], end - start, &g);
		if (jgroups != NULL)
			cJSON_AddItemToArray(jgroups, group_json(&rows[start], end - start, &g));
		else
			print_group(&rows[start], end - start, &g, &tr->cfg->watch, o->now);
	}
	if (o->devices) {
		cJSON *jd = jp != NULL ? cJSON_AddArrayToObject(jp, "devices") : NULL;

		for (size_t i = 0; i < n; i++) {
			if (jd != NULL)
				cJSON_AddItemToArray(jd, device_json(&rows[i], &tr->cfg->watch,
				    o->now));
			else
				print_device(&rows[i], &tr->cfg->watch, o->now);
		}
	}
	free(rows);
	return 0;
}

/* One tenant; sets *failed and *auth_failed. */
static void
status_tenant(const struct config *cfg, const struct config_tenant *t, struct http_client *http,
    const struct status_options *o, cJSON *jtenants, bool *failed, bool *auth_failed)
{
	struct tenant_run tr;
	struct jamf_reply r = {0};
	cJSON *jt, *jpolicies;

	if (tenant_start(&tr, cfg, t, http, NULL, true, o->now, jtenants, &jt, &jpolicies, failed,
	    auth_failed) == -1)
		goto out;
	/* where the plans stand now; recorded in memory only */
	if (tenant_has_mode(t, CONFIG_MODE_PLAN, o->policy)) {
		size_t read;

		if (watch_follow_plans(&tr.pro, &tr.state, o->now, &read, &r) == -1) {
			log_error("reading plans: %s", r.error);
			if (jt != NULL)
				cJSON_AddStringToObject(jt, "error", r.error);
			*failed = true;
			goto out;
		}
	}
	for (size_t i = 0; i < t->npolicies; i++) {
		const struct config_policy *p = &t->policies[i];

		if (o->policy != NULL && strcmp(o->policy, p->name) != 0)
			continue;
		if (status_policy(&tr, p, o, jpolicies) == -1)
			*failed = true;
	}
out:
	jamf_reply_release(&r);
	tenant_run_release(&tr);
}

int
status_run(const struct config *cfg, const struct status_options *o)
{
	struct http_client *http;
	cJSON *root = NULL, *jtenants = NULL;
	bool failed = false, auth_failed = false;
	const char *unknown = config_unknown_tenant(cfg, o->tenants, o->ntenants);

	if (unknown != NULL) {
		log_error("--tenant %s: no such tenant in %s", unknown, cfg->path);
		return BRIDGE_EXIT_USAGE;
	}
	if (!config_policy_known(cfg, o->policy)) {
		log_error("--policy %s: no such policy in %s", o->policy, cfg->path);
		return BRIDGE_EXIT_USAGE;
	}
	if ((http = http_client_new()) == NULL) {
		log_error("out of memory");
		return BRIDGE_EXIT_FAILED;
	}
	if (o->json) {
		root = cJSON_CreateObject();
		jtenants = cJSON_AddArrayToObject(root, "tenants");
	}
	for (size_t i = 0; i < cfg->ntenants; i++) {
		if (!config_tenant_selected(&cfg->tenants[i], o->tenants, o->ntenants))
			continue;
		status_tenant(cfg, &cfg->tenants[i], http, o, jtenants, &failed, &auth_failed);
	}
	if (root != NULL) {
		char *text;

		cJSON_AddBoolToObject(root, "ok", !failed);
		if ((text = json_print(root)) != NULL)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(root);
	}
	http_client_free(http);
	if (auth_failed)
		return BRIDGE_EXIT_AUTH;
	return failed ? BRIDGE_EXIT_FAILED : BRIDGE_EXIT_OK;
}
