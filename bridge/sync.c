/*
 * One run (see sync.h). For each tenant: one Jamf Pro session, each kind of inventory read
 * once; for each policy: its group names resolved to ids, the decision step, and the
 * actions printed (bridge plan) or carried out (bridge sync).
 */
#include "sync.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decide.h"
#include "enforce.h"
#include "exitcode.h"
#include "gdmf.h"
#include "http.h"
#include "idle.h"
#include "isotime.h"
#include "jamf.h"
#include "jamf_pro.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "reasons.h"
#include "state.h"
#include "template.h"
#include "tenant.h"
#include "watch.h"
#include "jamf_platform.h"

/* One policy's groups, rings and decision. */
struct policy_run {
	const struct config_policy *policy;
	enum jamf_kind kind;
	long *scope, *exclude;
	size_t nscope, nexclude;
	struct decide_ring *rings;
	long **ring_groups;
	time_t *ring_started;          /* [ring * feed entries + entry], from the state file */
	struct decide_policy dp;
	const struct jamf_inventory *inv;
	struct decide_result result;
};

/* Resolve group names to ids; 0, or -1 with err naming the group that is missing. */
static int
resolve_groups(struct tenant_run *tr, enum jamf_kind kind, const struct config_strlist *names,
    long **ids, size_t *n, char *err, size_t errlen)
{
	*ids = NULL;
	*n = 0;
	if (names->n == 0)
		return 0;
	if ((*ids = calloc(names->n, sizeof(long))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < names->n; i++) {
		struct jamf_group g;
		struct jamf_reply r = {0};
		int rc = tenant_group_find(tr, kind, names->v[i], &g, &r);

		if (rc == 0)
			(*ids)[(*n)++] = g.id;
		else if (rc == 1)
			snprintf(err, errlen, "the %s group \"%s\" does not exist in Jamf Pro",
			    jamf_kind_name(kind), names->v[i]);
		else
			snprintf(err, errlen, "%s", r.error);
		jamf_group_release(&g);
		jamf_reply_release(&r);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static void
policy_run_release(struct policy_run *pr)
{
	free(pr->scope);
	free(pr->exclude);
	for (size_t i = 0; pr->ring_groups != NULL && i < pr->policy->nrings; i++)
		free(pr->ring_groups[i]);
	free(pr->ring_groups);
	free(pr->rings);
	free(pr->ring_started);
	decide_result_release(&pr->result);
}

/* Note in started[e] that a ring started on feed entry e at t, unless it is known earlier. */
static void
started_at(time_t *started, size_t e, time_t t)
{
	if (started[e] == 0 || t < started[e])
		started[e] = t;
}

/* Mark the BSIs a target (version, build) belongs to as started at t in started[]. */
static void
target_started(const struct gdmf_feed *feed, const char *version, const char *build, time_t t,
    time_t *started)
{
	for (size_t e = 0; e < feed->n; e++) {
		const struct gdmf_entry *b = &feed->entries[e];

		if (b->list != GDMF_LIST_BSI)
			continue;
		/* the BSI itself, or a base update towards it (its base version) */
		if ((build != NULL && b->build != NULL && strcmp(b->build, build) == 0) ||
		    (build == NULL && strcmp(b->version, version) == 0))
			started_at(started, e, t);
	}
}

/*
 * A ring has started on a BSI as soon as bridge made something for it there, even if the
 * ring record was lost (a kill before the state was saved, or a state file of an older
 * bridge): take the earliest plan or blueprint of each ring and target as its start.
 */
static void
ring_starts_from_records(const struct state *st, const struct config_policy *p,
    const struct gdmf_feed *feed, time_t *ring_started)
{
	for (size_t i = 0; i < p->nrings; i++) {
		time_t *started = &ring_started[i * feed->n];

		for (size_t k = 0; k < st->nplans; k++) {
			const struct state_plan *pl = &st->plans[k];

			if (pl->id != NULL && strcmp(pl->policy, p->name) == 0 &&
			    strcmp(pl->ring, p->rings[i].name) == 0)
				target_started(feed, pl->version, pl->build, pl->created_at, started);
		}
		for (size_t k = 0; k < st->nblueprints; k++) {
			const struct state_blueprint *b = &st->blueprints[k];

			if (b->id != NULL && strcmp(b->policy, p->name) == 0 &&
			    strcmp(b->ring, p->rings[i].name) == 0)
				target_started(feed, b->version, b->build, b->created_at, started);
		}
	}
}

/* Resolve a policy's groups, read its inventory and decide; 0 or -1 with err. */
static int
policy_prepare(struct tenant_run *tr, const struct config_policy *p, const struct gdmf_feed *feed,
    time_t now, struct policy_run *pr, char *err, size_t errlen)
{
	struct decide_input in;

	memset(pr, 0, sizeof(*pr));
	pr->policy = p;
	pr->kind = jamf_pro_kind(p->platform);
	if (resolve_groups(tr, pr->kind, &p->scope.groups, &pr->scope, &pr->nscope, err,
	    errlen) == -1 || resolve_groups(tr, pr->kind, &p->scope.exclude_groups,
	    &pr->exclude, &pr->nexclude, err, errlen) == -1)
		return -1;
	if (p->nrings > 0) {
		pr->rings = calloc(p->nrings, sizeof(*pr->rings));
		pr->ring_groups = calloc(p->nrings, sizeof(long *));
		pr->ring_started = calloc(p->nrings * (feed->n > 0 ? feed->n : 1), sizeof(time_t));
		if (pr->rings == NULL || pr->ring_groups == NULL || pr->ring_started == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < p->nrings; i++) {
		struct decide_ring *r = &pr->rings[i];

		if (resolve_groups(tr, pr->kind, &p->rings[i].groups, &pr->ring_groups[i],
		    &r->ngroups, err, errlen) == -1)
			return -1;
		r->name = p->rings[i].name;
		r->groups = pr->ring_groups[i];
		r->delay_days = p->rings[i].delay_days;
		r->min_success_percent = p->rings[i].min_success_percent;
		/* when the ring started on each BSI comes from the state file */
		r->started = &pr->ring_started[i * feed->n];
		for (size_t e = 0; tr->have_state && e < feed->n; e++) {
			const struct state_ring *sr;
			char bsi[GDMF_IDENTITY_BYTES];

			if (feed->entries[e].list != GDMF_LIST_BSI)
				continue;
			gdmf_entry_identity(&feed->entries[e], bsi);
			if ((sr = state_find_ring(&tr->state, p->name, r->name, bsi)) != NULL)
				pr->ring_started[i * feed->n + e] = sr->started_at;
		}
	}
	if (tr->have_state)
		ring_starts_from_records(&tr->state, p, feed, pr->ring_started);
	pr->dp = (struct decide_policy){p, pr->scope, pr->nscope, pr->exclude, pr->nexclude,
		pr->rings, p->nrings};
	if ((pr->inv = tenant_inventory(tr, pr->kind, err, errlen)) == NULL)
		return -1;
	in = (struct decide_input){&pr->dp, feed, tr->first_seen, pr->inv->v, pr->inv->n, now};
	if (decide_policy(&in, &pr->result) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The extra of the target when it is the BSI itself (not its base), else NULL. */
static const char *
target_extra(const struct decide_action *a)
{
	if (a->bsi == NULL || a->target_version == NULL || a->target_build == NULL ||
	    a->bsi->build == NULL || strcmp(a->target_build, a->bsi->build) != 0)
		return NULL;
	return a->bsi->extra;
}

static const char *
ring_name(const struct policy_run *pr, size_t ring)
{
	return pr->policy->nrings > 0 ? pr->policy->rings[ring].name : "default";
}

/* One line of the counts per ring and target. */
struct target_count {
	const struct decide_action *first;
	size_t n;
};

/*
 * Count the actions that send (or wait to send) something per ring and target; *out holds
 * one entry per (ring, version, build, deadline, outcome). Returns how many, or 0 on OOM.
 */
static size_t
count_targets(const struct policy_run *pr, struct target_count **out)
{
	size_t n = 0;

	if ((*out = calloc(pr->result.n ? pr->result.n : 1, sizeof(**out))) == NULL)
		return 0;
	for (size_t i = 0; i < pr->result.n; i++) {
		const struct decide_action *a = &pr->result.v[i];
		size_t k;

		if (!decide_sends(a->outcome) && a->outcome != DECIDE_RING_WAITING)
			continue;
		for (k = 0; k < n; k++)
			if ((*out)[k].first->outcome == a->outcome &&
			    enforce_same_target((*out)[k].first, a))
				break;
		if (k == n)
			(*out)[n++].first = a;
		(*out)[k].n++;
	}
	return n;
}

/*
 * Text on out: for plan (not real), every action that sends something; then the counts per
 * ring and target, the rollouts and the counts. sync leaves the device lines out: a run of a
 * large fleet would print one per device every time (plan and status show them).
 */
static void
print_policy_text(FILE *out, const struct config_tenant *t, const struct policy_run *pr, bool real)
{
	const struct config_policy *p = pr->policy;

	fprintf(out, "tenant %s, policy %s (%s, %s mode)%s\n", t->name, p->name,
	    config_os_name(p->platform), config_mode_name(p->mode), real ? "" : ": would send");
	for (size_t i = 0; !real && i < pr->result.n; i++) {
		const struct decide_action *a = &pr->result.v[i];
		const struct jamf_device *d = &pr->inv->v[a->device];

		if (!decide_sends(a->outcome) && a->outcome != DECIDE_RING_WAITING &&
		    a->outcome != DECIDE_NEEDS_BASE)
			continue;
		fprintf(out, "  %-12s %s %s (%s): ", decide_outcome_name(a->outcome),
		    jamf_kind_name(pr->kind), d->id, d->name != NULL ? d->name : "-");
		if (a->target_version != NULL)
			fprintf(out, "%s%s%s%s%s by %s, ring %s; ", a->target_version,
			    target_extra(a) ? " " : "", target_extra(a) ? target_extra(a) : "",
			    a->target_build ? " " : "", a->target_build ? a->target_build : "",
			    a->deadline[0] ? a->deadline : "-", ring_name(pr, a->ring));
		fprintf(out, "%s\n", a->reason);
	}
	{
		struct target_count *tc;
		size_t nt = count_targets(pr, &tc);

		for (size_t k = 0; k < nt; k++) {
			const struct decide_action *a = tc[k].first;

			fprintf(out, "  ring %s: %s %s%s%s%s%s by %s: %zu %s%s\n", ring_name(pr, a->ring),
			    decide_outcome_name(a->outcome), a->target_version,
			    target_extra(a) ? " " : "", target_extra(a) ? target_extra(a) : "",
			    enforce_sent_build(a) ? " " : "",
			    enforce_sent_build(a) ? enforce_sent_build(a) : "", a->deadline, tc[k].n,
			    jamf_kind_name(pr->kind), tc[k].n == 1 ? "" : "s");
		}
		free(tc);
	}
	for (size_t k = 0; p->nrings > 0 && k < pr->result.nrollouts; k++) {
		const struct decide_rollout *ro = &pr->result.rollouts[k];
		char state[DECIDE_REASON_BYTES + 16] = "open";
		struct tm tm;

		if (!ro->open)
			snprintf(state, sizeof(state), "waits (%s)", ro->waits);
		else if (ro->started != 0 && gmtime_r(&ro->started, &tm) != NULL)
			strftime(state, sizeof(state), "open since %Y-%m-%d", &tm);
		fprintf(out, "  rollout: ring %s, %s %s %s: %s, %zu of %zu compliant\n",
		    ring_name(pr, ro->ring), ro->bsi->version, ro->bsi->extra ? ro->bsi->extra : "-",
		    ro->bsi->build ? ro->bsi->build : "-", state, ro->compliant,
		    ro->compliant + ro->wanting);
	}
	fprintf(out, "  counts:");
	for (int o = 0; o < DECIDE_NOUTCOMES; o++)
		if (pr->result.counts[o] > 0)
			fprintf(out, " %s %zu", decide_outcome_name((enum decide_outcome)o),
			    pr->result.counts[o]);
	fprintf(out, " (of %zu %ss)\n", pr->result.n, jamf_kind_name(pr->kind));
}

/*
 * JSON of one policy: counts, groups of actions by ring and target, and (plan, not real)
 * every action; sync leaves the actions out, as it does in text.
 */
static cJSON *
policy_json(const struct config_tenant *t, const struct policy_run *pr, bool real)
{
	cJSON *o = cJSON_CreateObject(), *counts, *actions;

	(void)t;
	cJSON_AddStringToObject(o, "name", pr->policy->name);
	cJSON_AddStringToObject(o, "platform", config_os_name(pr->policy->platform));
	cJSON_AddStringToObject(o, "mode", config_mode_name(pr->policy->mode));
	counts = cJSON_AddObjectToObject(o, "counts");
	for (int k = 0; k < DECIDE_NOUTCOMES; k++)
		cJSON_AddNumberToObject(counts, decide_outcome_name((enum decide_outcome)k),
		    (double)pr->result.counts[k]);
	{
		cJSON *targets = cJSON_AddArrayToObject(o, "targets");
		struct target_count *tc;
		size_t nt = count_targets(pr, &tc);

		for (size_t k = 0; k < nt; k++) {
			const struct decide_action *a = tc[k].first;
			cJSON *jt = cJSON_CreateObject();

			cJSON_AddItemToArray(targets, jt);
			cJSON_AddStringToObject(jt, "ring", ring_name(pr, a->ring));
			cJSON_AddStringToObject(jt, "outcome", decide_outcome_name(a->outcome));
			cJSON_AddStringToObject(jt, "version", a->target_version);
			json_add_str_or_null(jt, "extra", target_extra(a));
			json_add_str_or_null(jt, "build", enforce_sent_build(a));
			cJSON_AddStringToObject(jt, "deadline", a->deadline);
			cJSON_AddNumberToObject(jt, "devices", (double)tc[k].n);
		}
		free(tc);
	}
	{
		cJSON *rollouts = cJSON_AddArrayToObject(o, "rollouts");

		for (size_t k = 0; k < pr->result.nrollouts; k++) {
			const struct decide_rollout *ro = &pr->result.rollouts[k];
			cJSON *jr = cJSON_CreateObject();
			char since[32];

			cJSON_AddItemToArray(rollouts, jr);
			cJSON_AddStringToObject(jr, "ring", ring_name(pr, ro->ring));
			cJSON_AddStringToObject(jr, "version", ro->bsi->version);
			json_add_str_or_null(jr, "extra", ro->bsi->extra);
			json_add_str_or_null(jr, "build", ro->bsi->build);
			cJSON_AddNumberToObject(jr, "compliant", (double)ro->compliant);
			cJSON_AddNumberToObject(jr, "wanting", (double)ro->wanting);
			iso_time_format(ro->started, since);
			json_add_str_or_null(jr, "started_at", ro->started != 0 ? since : NULL);
			cJSON_AddBoolToObject(jr, "open", ro->open);
			json_add_str_or_null(jr, "waits", ro->open ? NULL : ro->waits);
		}
	}
	if (real)
		return o;
	actions = cJSON_AddArrayToObject(o, "actions");
	for (size_t i = 0; i < pr->result.n; i++) {
		const struct decide_action *a = &pr->result.v[i];
		const struct jamf_device *d = &pr->inv->v[a->device];
		cJSON *ja, *dev;

		if (a->outcome == DECIDE_NOT_IN_SCOPE)
			continue;  /* counted, not listed: most of a fleet is out of most scopes */
		ja = cJSON_CreateObject();
		cJSON_AddItemToArray(actions, ja);
		dev = cJSON_AddObjectToObject(ja, "device");
		cJSON_AddStringToObject(dev, "id", d->id);
		json_add_str_or_null(dev, "name", d->name);
		json_add_str_or_null(dev, "serial", d->serial);
		json_add_str_or_null(dev, "model", d->model_id);
		json_add_str_or_null(dev, "version", d->version);
		json_add_str_or_null(dev, "build", d->build);
		json_add_str_or_null(dev, "supplemental_build", d->supplemental_build);
		cJSON_AddStringToObject(ja, "outcome", decide_outcome_name(a->outcome));
		cJSON_AddStringToObject(ja, "ring", ring_name(pr, a->ring));
		if (a->target_version != NULL) {
			cJSON *target = cJSON_AddObjectToObject(ja, "target");

			cJSON_AddStringToObject(target, "version", a->target_version);
			json_add_str_or_null(target, "extra", target_extra(a));
			json_add_str_or_null(target, "build", a->target_build);
		}
		json_add_str_or_null(ja, "deadline", a->deadline[0] ? a->deadline : NULL);
		cJSON_AddStringToObject(ja, "reason", a->reason);
	}
	return o;
}

/*
 * Plans bridge made whose target Apple no longer lists (withdrawn) or lists as expired: a
 * plan cannot be cancelled one by one in Jamf Pro, so they are reported, once per target.
 * Returns how many plans are concerned.
 */
static size_t
report_withdrawn(const struct tenant_run *tr, const struct gdmf_feed *feed, const char *today)
{
	size_t count = 0;

	for (size_t i = 0; i < tr->state.nplans; i++) {
		const struct state_plan *p = &tr->state.plans[i];
		const struct gdmf_entry *live = NULL;
		bool first = true;

		if (p->build == NULL)
			continue;  /* a base update targets a release, not a BSI */
		for (size_t k = 0; k < feed->n && live == NULL; k++) {
			const struct gdmf_entry *e = &feed->entries[k];

			if (e->list == GDMF_LIST_BSI && e->build != NULL &&
			    strcmp(e->platform, p->platform) == 0 && strcmp(e->version, p->version) == 0 &&
			    strcmp(e->build, p->build) == 0 &&
			    (e->expires == NULL || strcmp(e->expires, today) >= 0))
				live = e;
		}
		if (live != NULL)
			continue;
		for (size_t k = 0; k < i && first; k++)
			first = !(tr->state.plans[k].build != NULL &&
			    strcmp(tr->state.plans[k].build, p->build) == 0 &&
			    strcmp(tr->state.plans[k].platform, p->platform) == 0);
		if (first)
			log_warn("Apple no longer offers %s %s %s (withdrawn or expired), but "
			    "bridge's plans for it stay in Jamf Pro: plans cannot be cancelled one by one "
			    "(only by switching the plans feature off and on)", p->platform, p->version,
			    p->build);
		count++;
	}
	return count;
}


/*
 * Before creating anything, settle what earlier runs left open: plans are looked up, and
 * groups, blueprints and deployments by name. 0 or -1 with err. When the state is new or was
 * lost, every unfinished plan in Jamf is adopted too, from the list read_jamf() reads with
 * the inventory; until it was, nothing is created.
 */
static int
reconcile(struct tenant_run *tr, char *err, size_t errlen)
{
	bool plans = tenant_has_mode(tr->tenant, CONFIG_MODE_PLAN, NULL);

	if (plans && enforce_reconcile_plans(&tr->pro, &tr->state, err, errlen) == -1)
		return -1;
	if (tr->have_platform && enforce_reconcile_blueprints(&tr->pro, &tr->platform,
	    &tr->state, err, errlen) == -1)
		return -1;
	/*
	 * blueprints and their groups are always looked up by name before they are made; the
	 * plans Jamf has are adopted from the list read with the inventory (read_jamf())
	 */
	if (!plans && tr->state.needs_reconcile && state_unfinished(&tr->state) == 0)
		state_reconciled(&tr->state);
	return 0;
}

/* Carry out one prepared policy (sync); prints on out or fills jp. False when it failed. */
static bool
enforce_policy(struct tenant_run *tr, const struct policy_run *pr, time_t now, cJSON *jp,
    FILE *out)
{
	const struct config_policy *p = pr->policy;
	struct enforce_summary sum;
	const char **rings;
	bool ok;

	if ((rings = calloc(p->nrings > 0 ? p->nrings : 1, sizeof(char *))) == NULL)
		return false;
	rings[0] = "default";
	for (size_t i = 0; i < p->nrings; i++)
		rings[i] = p->rings[i].name;
	if (p->mode == CONFIG_MODE_BLUEPRINT)
		ok = enforce_blueprints(&tr->pro, &tr->platform, &tr->state, tr->cfg, p, rings,
		    &pr->result, pr->inv->v, pr->inv->n, now, tr->tenant->platform.deploy_wait,
		    &sum) == 0;
	else
		ok = enforce_plans(&tr->pro, &tr->state, p, rings, &pr->result, pr->inv->v, now,
		    &sum) == 0;
	free(rings);
	if (!ok)
		log_error("policy %s: %s", p->name, sum.error);
	if (jp != NULL) {
		cJSON *je = cJSON_AddObjectToObject(jp, "enforced");

		cJSON_AddNumberToObject(je, "created", (double)sum.created);
		cJSON_AddNumberToObject(je, "updated", (double)sum.updated);
		cJSON_AddNumberToObject(je, "deployed", (double)sum.deployed);
		cJSON_AddNumberToObject(je, "existing", (double)sum.existing);
		cJSON_AddNumberToObject(je, "refused", (double)sum.refused);
		cJSON_AddNumberToObject(je, "unknown", (double)sum.unknown);
		if (p->mode == CONFIG_MODE_BLUEPRINT) {
			cJSON *jr = cJSON_AddObjectToObject(je, "reported");

			cJSON_AddNumberToObject(jr, "succeeded", (double)sum.reported[0]);
			cJSON_AddNumberToObject(jr, "pending", (double)sum.reported[1]);
			cJSON_AddNumberToObject(jr, "failed", (double)sum.reported[2]);
		}
		if (!ok)
			cJSON_AddStringToObject(je, "error", sum.error);
	} else if (p->mode == CONFIG_MODE_BLUEPRINT) {
		fprintf(out, "  blueprints: %zu created (groups and blueprints), %zu updated, %zu deployed%s; "
		    "devices reporting: %ld succeeded, %ld pending, %ld failed\n", sum.created,
		    sum.updated, sum.deployed, sum.refused ? ", a deployment failed" : "",
		    sum.reported[0], sum.reported[1], sum.reported[2]);
	} else {
		fprintf(out, "  plans: %zu created, %zu already there, %zu refused%s%s\n", sum.created,
		    sum.existing, sum.refused, sum.unknown ? ", answer lost for " : "",
		    sum.unknown ? "some (the next run checks them)" : "");
	}
	return ok;
}

/* Add the failed, stuck and late devices of rows to the run's problems; 0 or -1 (OOM). */
static int
add_problems(const struct tenant_run *tr, const struct policy_run *pr,
    const struct watch_row *rows, size_t n, struct notify_list *problems)
{
	static const unsigned events[WATCH_NCLASSES] = {[WATCH_FAILED] =
		CONFIG_EVENT_PLAN_FAILED, [WATCH_STUCK] = CONFIG_EVENT_PLAN_STUCK, [WATCH_LATE] =
		CONFIG_EVENT_DEADLINE_MISSED};
	const char *page = pr->kind == JAMF_COMPUTER ? "computers" : "mobileDevices";

	for (size_t i = 0; i < n; i++) {
		const struct watch_row *r = &rows[i];
		const struct reason_info *info = r->v.info;
		char target[128], name[320], link[1024];
		const char *reason, *explanation = NULL, *hint = NULL;

		if (events[r->v.cls] == 0)
			continue;
		snprintf(target, sizeof(target), "%s %s", r->version, r->build != NULL ? r->build :
		    "(base update)");
		snprintf(name, sizeof(name), "%s (%s)", r->device != NULL && r->device->name != NULL ?
		    r->device->name : "unnamed", r->device_id);
		snprintf(link, sizeof(link), "%s/%s.html?id=%s&o=r", tr->tenant->jamf.url, page,
		    r->device_id);
		if (r->v.cls == WATCH_FAILED) {
			reason = r->reason != NULL ? r->reason : r->state;
			if (info != NULL) {
				explanation = info->explanation;
				hint = info->hint;
			}
		} else if (r->v.cls == WATCH_STUCK) {
			reason = r->state;
			explanation = "No change of the plan's state for longer than watch.stuck_after.";
			hint = "Check that the device checks in with Jamf Pro, and read the plan's "
			    "events.";
		} else {
			reason = "deadline passed";
			explanation = "The deadline and watch.deadline_grace have passed, and "
			    "inventory does not show the device at the target.";
			hint = "Check that the device checks in and updates its inventory.";
		}
		if (notify_add(problems, events[r->v.cls], tr->tenant->name, pr->policy->name, target,
		    reason, explanation, hint, name, link) == -1)
			return -1;
	}
	return 0;
}

/*
 * How the policy's plans stand (watch.h): a line of counts by class with the top failure
 * reasons on out, or "watch" in jp; the failed, stuck and late devices go to problems.
 * Returns false when out of memory.
 */
static bool
report_watch(struct tenant_run *tr, const struct policy_run *pr, time_t now, cJSON *jp,
    FILE *out, struct notify_list *problems, struct metrics *metrics)
{
	struct watch_tally t;
	struct watch_row *rows;
	size_t n;

	if (watch_rows(&tr->state, pr->policy->name, pr->inv->v, pr->inv->n, &tr->cfg->watch,
	    now, &rows, &n) == -1 || add_problems(tr, pr, rows, n, problems) == -1 ||
	    notify_watched(problems, tr->tenant->name, pr->policy->name, 0) == -1 ||
	    metrics_add_rows(metrics, tr->tenant->name, pr->policy->name, rows, n) == -1) {
		log_error("policy %s: out of memory", pr->policy->name);
		return false;
	}
	watch_tally(rows, n, &t);
	free(rows);
	if (jp != NULL) {
		cJSON *jw = cJSON_AddObjectToObject(jp, "watch"), *jr;

		watch_counts_json(jw, t.counts);
		jr = cJSON_AddObjectToObject(jw, "reasons");
		for (size_t i = 0; i < t.nreasons; i++)
			cJSON_AddNumberToObject(jr, t.reasons[i].reason, (double)t.reasons[i].n);
		return true;
	}
	fprintf(out, "  watch: %zu device%s:", t.rows, t.rows == 1 ? "" : "s");
	watch_counts_print(out, t.counts);
	for (size_t i = 0; i < t.nreasons && i < 5; i++)
		fprintf(out, "%s%s %zu", i ? ", " : " (", t.reasons[i].reason, t.reasons[i].n);
	fprintf(out, "%s\n", t.nreasons > 0 ? ")" : "");
	return true;
}

/*
 * One tenant's part of a run. Tenants run side by side (max_parallel_tenants), so each
 * writes only to its own job: its text, its JSON, its problems and metrics, its verdict.
 * sync_run() joins them in the policy file's order once all are done.
 */
struct tenant_job {
	const struct config_tenant *t;
	FILE *out;                     /* stdout, or text (a buffer) when tenants run together */
	char *text;
	size_t textlen;
	cJSON *jtenants;               /* --json: an array that gets the tenant's object */
	struct notify_list problems;
	struct metrics metrics;
	bool failed, auth_failed;
	bool settled;                  /* a full run that left nothing open (idle.h) */
};

/*
 * A tenant left idle (idle.h): say so, and keep its device counts in the metrics. Its alerts
 * stay as they are: not watched, none is found resolved or repeated.
 */
static void
report_idle(const struct config *cfg, time_t watched_at, struct tenant_job *j)
{
	long interval = cfg->watch.interval;
	char at[ISO_TIME_BYTES], next[ISO_TIME_BYTES];

	iso_time_format(watched_at, at);
	iso_time_format(idle_due(watched_at, interval), next);
	if (j->jtenants != NULL) {
		cJSON *jt = cJSON_CreateObject();

		if (jt == NULL || !cJSON_AddItemToArray(j->jtenants, jt)) {
			cJSON_Delete(jt);
			log_error("out of memory");
			j->failed = true;
			return;
		}
		cJSON_AddStringToObject(jt, "name", j->t->name);
		cJSON_AddTrueToObject(jt, "idle");
		cJSON_AddStringToObject(jt, "watched_at", at);
		cJSON_AddStringToObject(jt, "next_full_run", next);
		cJSON_AddArrayToObject(jt, "policies");
	} else {
		fprintf(j->out, "tenant %s: nothing new since the full run at %s; Jamf is read "
		    "again from %s (or now: bridge sync --full)\n", j->t->name, at, next);
	}
	if (metrics_keep(&j->metrics, j->t->name) == -1) {
		log_error("out of memory");
		j->failed = true;
	}
}

/* Whether policy p is run (it is enabled, chosen, and its backend is up). */
static bool
policy_runs(const struct config_policy *p, const struct sync_options *o, bool platform_down)
{
	return p->enabled && (o->policy == NULL || strcmp(o->policy, p->name) == 0) &&
	    !(platform_down && p->mode == CONFIG_MODE_BLUEPRINT);
}

/* Note the groups p names, to be looked up with the inventories; 0 or -1 (out of memory). */
static int
want_groups(struct tenant_run *tr, const struct config_policy *p)
{
	enum jamf_kind kind = jamf_pro_kind(p->platform);
	const struct config_strlist *lists[] = {&p->scope.groups, &p->scope.exclude_groups};

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			if (tenant_group_want(tr, kind, lists[l]->v[i]) == -1)
				return -1;
	for (size_t r = 0; r < p->nrings; r++)
		for (size_t i = 0; i < p->rings[r].groups.n; i++)
			if (tenant_group_want(tr, kind, p->rings[r].groups.v[i]) == -1)
				return -1;
	return 0;
}

/*
 * What the run reads from Jamf Pro, all at once so that no list waits for another to end:
 * where the plans of earlier runs stand (sync only: plan changes nothing; the list of
 * unfinished plans is also where a lost state adopts Jamf's), the inventory of each kind of
 * device the policies work on, and the groups they name. A failure fails the run; an
 * inventory's or the groups' is told by each policy that needs them.
 */
static void
read_jamf(struct tenant_run *tr, const struct sync_options *o, bool platform_down,
    struct tenant_job *j)
{
	const struct config_tenant *t = tr->tenant;
	struct jamf_list lists[JAMF_PRO_MAX_LISTS];
	struct jamf_reply r = {0};
	struct watch_follow f;
	bool follow = !o->dry_run && tenant_has_mode(t, CONFIG_MODE_PLAN, NULL);
	bool with_list = false;
	unsigned kinds = 0;
	size_t n, ninv;

	if (follow && watch_follow_begin(&f, &tr->state, o->now, tr->state.needs_reconcile,
	    &lists[0], &with_list, &r) == -1) {
		log_error("following plans: %s", r.error);
		j->failed = true;
		follow = false;
		watch_follow_release(&f);
		jamf_reply_release(&r);
	}
	for (size_t i = 0; i < t->npolicies; i++)
		if (policy_runs(&t->policies[i], o, platform_down)) {
			kinds |= 1u << jamf_pro_kind(t->policies[i].platform);
			if (want_groups(tr, &t->policies[i]) == -1) {
				log_error("out of memory");
				j->failed = true;
			}
		}
	n = with_list;
	n += ninv = tenant_inventory_lists(tr, kinds, &lists[n]);
	n += tenant_group_lists(tr, &lists[n]);
	if (n > 0)
		(void)jamf_pro_read_lists(&tr->pro, lists, n);
	tenant_inventory_take(tr, &lists[with_list], ninv);
	tenant_group_take(tr, &lists[with_list + ninv], n - with_list - ninv);
	if (!follow)
		return;
	if (watch_follow_end(&f, &tr->pro, with_list ? &lists[0] : NULL, &r) == -1) {
		log_error("following plans: %s", r.error);
		j->failed = true;
	} else if (f.read > 0) {
		log_info("read the state of %zu unfinished plan%s", f.read, f.read == 1 ? "" : "s");
	}
	jamf_reply_release(&r);
	watch_follow_release(&f);
}

/*
 * One tenant: idle, or state and sign-in (together), reconcile, read Jamf (adopting its plans
 * when the state was lost), then every policy; with its own HTTP client, as transfers stay
 * in the thread that made the client. Sets j->failed / j->auth_failed.
 */
static void
run_tenant(const struct config *cfg, const struct gdmf_feed *feed, const struct sync_options *o,
    const struct idle_inputs *idle, struct tenant_job *j)
{
	const struct config_tenant *t = j->t;
	struct http_client *http;
	struct tenant_run tr;
	struct jamf_reply r = {0};
	cJSON *jt = NULL, *jpolicies = NULL;
	char err[JAMF_ERROR_BYTES];
	bool platform_down = false;
	time_t watched_at;
	int rc;

	if (!o->dry_run) {
		log_set_tenant(t->name);
		if (!o->full && idle_check(t->state_dir, cfg->watch.interval, idle, o->now,
		    &watched_at)) {
			report_idle(cfg, watched_at, j);
			log_set_tenant(NULL);
			return;
		}
		/* from here on, until this run succeeded, the next one reads Jamf */
		if (idle_forget(t->state_dir, err, sizeof(err)) == -1) {
			log_error("%s", err);
			j->failed = true;
			log_set_tenant(NULL);
			return;
		}
	}
	if ((http = http_client_new()) == NULL) {
		log_error("tenant %s: cannot start libcurl", t->name);
		j->failed = true;
		log_set_tenant(NULL);
		return;
	}
	rc = tenant_start(&tr, cfg, t, http, feed, o->dry_run, o->now, j->jtenants, &jt,
	    &jpolicies, &j->failed, &j->auth_failed);
	if (jt != NULL)
		cJSON_AddFalseToObject(jt, "idle");
	if (rc == -1)
		goto out;
	/* plan lists each device with its serial number; sync never shows one */
	tr.inventory_want = o->dry_run ? JAMF_INVENTORY_SERIALS : 0;
	if (!o->dry_run && tenant_has_mode(t, CONFIG_MODE_BLUEPRINT, NULL)) {
		if (jamf_session_init(&tr.platform, JAMF_API_PLATFORM, cfg, t, http, err,
		    sizeof(err)) == -1) {
			log_error("%s", err);
			j->failed = true;
			goto out;
		}
		tr.have_platform = true;
		/*
		 * Signed in up front, so that a refused sign-in is told as one (exit 3); the
		 * blueprint policies are then left out, the others go on.
		 */
		if (jamf_authenticate(&tr.platform, &r) == -1) {
			log_error("%s; the blueprint policies are left out", r.error);
			if (jt != NULL)
				cJSON_AddStringToObject(jt, "error", r.error);
			j->auth_failed |= r.fail == JAMF_FAIL_AUTH;
			j->failed = true;
			jamf_session_close(&tr.platform);
			tr.have_platform = false;
			platform_down = true;
		}
		jamf_reply_release(&r);
	}
	/* before creating anything: settle what earlier runs left open */
	if (!o->dry_run && (state_unfinished(&tr.state) > 0 || tr.state.needs_reconcile) &&
	    reconcile(&tr, err, sizeof(err)) == -1) {
		log_error("reconciling with Jamf Pro: %s; nothing is created until it succeeds",
		    err);
		j->failed = true;
		goto save;
	}
	read_jamf(&tr, o, platform_down, j);
	if (!o->dry_run && tr.state.needs_reconcile) {
		log_error("reconciling with Jamf Pro: the plans it has could not be read; nothing "
		    "is created until that succeeds");
		j->failed = true;
		goto save;
	}
	{
		char today[16];
		struct tm tm;
		size_t withdrawn;

		gmtime_r(&o->now, &tm);
		strftime(today, sizeof(today), "%Y-%m-%d", &tm);
		withdrawn = report_withdrawn(&tr, feed, today);
		if (jt != NULL)
			cJSON_AddNumberToObject(jt, "plans_for_withdrawn_bsis", (double)withdrawn);
	}
	for (size_t i = 0; i < t->npolicies; i++) {
		const struct config_policy *p = &t->policies[i];
		struct policy_run pr;
		cJSON *jp = NULL;

		if (!policy_runs(p, o, platform_down))
			continue;
		if (policy_prepare(&tr, p, feed, o->now, &pr, err, sizeof(err)) == -1) {
			log_error("policy %s: %s", p->name, err);
			if (jpolicies != NULL) {
				jp = cJSON_CreateObject();
				cJSON_AddItemToArray(jpolicies, jp);
				cJSON_AddStringToObject(jp, "name", p->name);
				cJSON_AddStringToObject(jp, "error", err);
			}
			j->failed = true;
			policy_run_release(&pr);
			continue;
		}
		if (jpolicies != NULL)
			cJSON_AddItemToArray(jpolicies, jp = policy_json(t, &pr, !o->dry_run));
		else
			print_policy_text(j->out, t, &pr, !o->dry_run);
		if (!o->dry_run && !enforce_policy(&tr, &pr, o->now, jp, j->out))
			j->failed = true;
		/* the decision is spent: its memory goes before the watch rows take theirs */
		decide_result_release(&pr.result);
		if (!o->dry_run && !report_watch(&tr, &pr, o->now, jp, j->out, &j->problems,
		    &j->metrics))
			j->failed = true;
		policy_run_release(&pr);
	}
save:
	if (!o->dry_run && state_save(&tr.state, err, sizeof(err)) != STATE_OK) {
		log_error("saving the state: %s", err);
		j->failed = true;
	}
	/* once the alerts are out, the next runs may leave this tenant alone (idle.h) */
	j->settled = !o->dry_run && !j->failed && state_settled(&tr.state) &&
	    enforce_deployments_running(&tr.state) == 0;
out:
	jamf_reply_release(&r);
	tenant_run_release(&tr);
	http_client_free(http);
}

/* The tenants of a run and the next one no worker has taken yet. */
struct tenant_pool {
	const struct config *cfg;
	const struct gdmf_feed *feed;
	const struct sync_options *o;
	const struct idle_inputs *idle;
	struct tenant_job *jobs;
	size_t njobs;
	size_t next;
	pthread_mutex_t lock;
};

/* A worker: run tenants one after the other until none is left. */
static void *
tenant_worker(void *arg)
{
	struct tenant_pool *pool = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&pool->lock);
		i = pool->next++;
		pthread_mutex_unlock(&pool->lock);
		if (i >= pool->njobs)
			return NULL;
		run_tenant(pool->cfg, pool->feed, pool->o, pool->idle, &pool->jobs[i]);
	}
}

/*
 * Run every job, up to max_parallel_tenants at once: this thread is one of the workers, so
 * a thread that cannot be made only means fewer at once. With one worker, output goes
 * straight to stdout as it is made; with more, each tenant's text waits in its buffer.
 */
static void
run_tenants(const struct config *cfg, const struct gdmf_feed *feed,
    const struct sync_options *o, const struct idle_inputs *idle, struct tenant_job *jobs,
    size_t njobs)
{
	struct tenant_pool pool = {.cfg = cfg, .feed = feed, .o = o, .idle = idle, .jobs = jobs,
		.njobs = njobs};
	size_t nworkers = (size_t)cfg->max_parallel_tenants, started = 0;
	pthread_t *threads = NULL;

	if (nworkers > njobs)
		nworkers = njobs;
	if (nworkers > 1 && (threads = calloc(nworkers - 1, sizeof(*threads))) == NULL)
		nworkers = 1;
	if (nworkers > 1 && pthread_mutex_init(&pool.lock, NULL) != 0)
		nworkers = 1;
	for (size_t i = 0; i < njobs; i++) {
		jobs[i].out = nworkers > 1 ? open_memstream(&jobs[i].text, &jobs[i].textlen) : NULL;
		if (jobs[i].out == NULL)
			jobs[i].out = stdout;  /* out of memory: this one's lines go out as made */
	}
	if (nworkers <= 1) {
		for (size_t i = 0; i < njobs; i++)
			run_tenant(cfg, feed, o, idle, &jobs[i]);
		free(threads);
		return;
	}
	while (started < nworkers - 1 && pthread_create(&threads[started], NULL, tenant_worker,
	    &pool) == 0)
		started++;
	(void)tenant_worker(&pool);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pthread_mutex_destroy(&pool.lock);
}

/* Send the digests (notify_run) and count those delivered in metrics; 0 or -1. */
static int
tell_and_count(struct http_client *http, const struct config *cfg,
    const struct notify_list *problems, time_t now, struct metrics *metrics)
{
	size_t *delivered = calloc(cfg->nalerts ? cfg->nalerts : 1, sizeof(size_t));
	int rc;

	if (delivered == NULL)
		return -1;
	rc = notify_run(http, cfg, problems, now, delivered);
	for (size_t i = 0; i < cfg->nalerts; i++)
		if (delivered[i] > 0 && metrics_add_sent(metrics, cfg->alerts[i].name) == -1)
			rc = -1;
	free(delivered);
	return rc;
}

/*
 * Keep in metrics the device counts of the tenants this run leaves out (not in o's --tenant
 * selection; o NULL: every tenant), as the metrics file has them; 0 or -1 (out of memory).
 */
static int
keep_unselected(const struct config *cfg, const struct sync_options *o, struct metrics *metrics)
{
	for (size_t i = 0; i < cfg->ntenants; i++)
		if ((o == NULL || !config_tenant_selected(&cfg->tenants[i], o->tenants, o->ntenants)) &&
		    metrics_keep(metrics, cfg->tenants[i].name) == -1)
			return -1;
	return 0;
}

/* A problem of the whole run (feed, failure); 0 or -1 (out of memory). */
static int
tell(struct notify_list *problems, unsigned event, const char *reason, const char *explanation,
    const char *hint)
{
	return notify_add(problems, event, NULL, NULL, NULL, reason, explanation, hint, NULL, NULL);
}

int
sync_run(const struct config *cfg, const struct sync_options *o)
{
	struct http_client *http = http_client_new();
	struct gdmf_feed feed;
	enum gdmf_origin origin;
	cJSON *root = NULL, *jtenants = NULL;
	bool failed = false, auth_failed = false;
	struct state_lock lock = {-1};
	struct notify_list problems = {.cfg = cfg};
	const char *unknown = config_unknown_tenant(cfg, o->tenants, o->ntenants);
	struct metrics metrics = {0};
	struct tenant_job *jobs = NULL;
	struct idle_inputs idle = {0};
	bool told = false;
	size_t njobs = 0;
	char err[512], failed_names[512] = "";

	for (size_t i = 0; i < cfg->nalerts; i++)
		if ((size_t)cfg->alerts[i].max_devices > problems.max_names)
			problems.max_names = (size_t)cfg->alerts[i].max_devices;
	if (http == NULL) {
		log_error("cannot start libcurl");
		return BRIDGE_EXIT_FAILED;
	}
	if (!o->dry_run) {
		enum state_status ls = state_lock(cfg->state_dir, &lock, err, sizeof(err));

		if (ls != STATE_OK) {
			log_error("%s", err);
			http_client_free(http);
			return ls == STATE_LOCKED ? BRIDGE_EXIT_LOCKED : BRIDGE_EXIT_FAILED;
		}
	}
	if (!config_policy_known(cfg, o->policy) || unknown != NULL) {
		if (unknown != NULL)
			log_error("--tenant %s: no such tenant in %s", unknown, cfg->path);
		else
			log_error("--policy %s: no such policy in %s", o->policy, cfg->path);
		state_unlock(&lock);
		http_client_free(http);
		return BRIDGE_EXIT_USAGE;
	}
	if (gdmf_load(http, cfg, o->refresh, o->now, &feed, &origin) == -1) {
		if (!o->dry_run) {
			(void)notify_watched(&problems, NULL, NULL, CONFIG_EVENT_FEED_ERROR);
			(void)tell(&problems, CONFIG_EVENT_FEED_ERROR, "Apple's GDMF feed could not be "
			    "read", "There is no good copy of the feed either, so bridge enforced "
			    "nothing.", "Check the host reaches gdmf.url and trusts gdmf.ca_file; "
			    "bridge doctor shows it.");
			(void)tell_and_count(http, cfg, &problems, o->now, &metrics);
			if (cfg->metrics_file != NULL && keep_unselected(cfg, NULL, &metrics) == 0)
				(void)metrics_write(&metrics, cfg->metrics_file, false, o->now);
		}
		notify_list_release(&problems);
		metrics_release(&metrics);
		state_unlock(&lock);
		http_client_free(http);
		return BRIDGE_EXIT_FEED;
	}
	if (o->json) {
		char stamp[32];

		root = cJSON_CreateObject();
		iso_time_format(feed.fetched_at, stamp);
		cJSON_AddBoolToObject(root, "dry_run", o->dry_run);
		cJSON_AddStringToObject(root, "feed_fetched_at", stamp);
		jtenants = cJSON_AddArrayToObject(root, "tenants");
	}
	if ((jobs = calloc(cfg->ntenants, sizeof(*jobs))) == NULL) {
		log_error("out of memory");
		failed = true;
	}
	for (size_t i = 0; jobs != NULL && i < cfg->ntenants; i++) {
		if (!config_tenant_selected(&cfg->tenants[i], o->tenants, o->ntenants))
			continue;
		jobs[njobs] = (struct tenant_job){.t = &cfg->tenants[i],
			.problems = {.cfg = cfg, .max_names = problems.max_names}};
		if (o->json && (jobs[njobs].jtenants = cJSON_CreateArray()) == NULL)
			failed = true;
		njobs++;
	}
	if (!o->dry_run && cfg->watch.interval > 0)
		idle_inputs(cfg, &feed, &idle);
	if (!failed)
		run_tenants(cfg, &feed, o, &idle, jobs, njobs);
	/* put the tenants' parts together, in the policy file's order */
	for (size_t i = 0; i < njobs; i++) {
		struct tenant_job *j = &jobs[i];

		if (j->out != NULL && j->out != stdout) {
			fclose(j->out);
			fwrite(j->text, 1, j->textlen, stdout);
		}
		free(j->text);
		while (j->jtenants != NULL && cJSON_GetArraySize(j->jtenants) > 0)
			cJSON_AddItemToArray(jtenants, cJSON_DetachItemFromArray(j->jtenants, 0));
		cJSON_Delete(j->jtenants);
		if (notify_list_take(&problems, &j->problems) == -1 ||
		    metrics_take(&metrics, &j->metrics) == -1)
			failed = true;
		notify_list_release(&j->problems);
		metrics_release(&j->metrics);
		if (j->failed && strlen(failed_names) + strlen(j->t->name) + 3 < sizeof(failed_names))
			snprintf(failed_names + strlen(failed_names), sizeof(failed_names) -
			    strlen(failed_names), "%s%s", failed_names[0] ? ", " : "", j->t->name);
		failed |= j->failed;
		auth_failed |= j->auth_failed;
	}
	fflush(stdout);
	if (!o->dry_run) {
		char explanation[sizeof(failed_names) + 128];

		snprintf(explanation, sizeof(explanation), "%s%s%s could not be carried out; the "
		    "run's log says why.", failed_names[0] ? "Tenant " : "A tenant or policy",
		    failed_names[0] ? failed_names : "", failed_names[0] ? " (or a policy of it)" :
		    "");
		if (notify_watched(&problems, NULL, NULL, CONFIG_EVENT_FEED_ERROR) == -1 ||
		    notify_watched(&problems, NULL, NULL, CONFIG_EVENT_RUN_FAILED) == -1)
			failed = true;
		if (failed && tell(&problems, CONFIG_EVENT_RUN_FAILED, "a run of bridge sync failed",
		    explanation, "Run bridge doctor, and read the log of the run.") == -1)
			failed = true;
		if (origin == GDMF_ORIGIN_FALLBACK && tell(&problems, CONFIG_EVENT_FEED_ERROR,
		    "Apple's GDMF feed could not be read", "bridge used its last good copy of the "
		    "feed, so a new BSI may be missed.", "Check the host reaches gdmf.url and "
		    "trusts gdmf.ca_file; bridge doctor shows it.") == -1)
			failed = true;
		told = tell_and_count(http, cfg, &problems, o->now, &metrics) == 0;
		failed |= !told;
		if (keep_unselected(cfg, o, &metrics) == -1 || (cfg->metrics_file != NULL &&
		    metrics_write(&metrics, cfg->metrics_file, !failed && !auth_failed,
		    o->now) == -1)) {
			failed = true;
			told = false;
		}
		/* only now is a tenant's full run complete: what it found was told and counted */
		for (size_t i = 0; told && cfg->watch.interval > 0 && i < njobs; i++)
			if (jobs[i].settled && idle_note(jobs[i].t->state_dir, &idle, o->now, err,
			    sizeof(err)) == -1)
				log_warn("%s: %s; its next run reads Jamf again", jobs[i].t->name, err);
	}
	free(jobs);
	notify_list_release(&problems);
	metrics_release(&metrics);
	if (root != NULL) {
		char *text;

		cJSON_AddBoolToObject(root, "ok", !failed);
		if ((text = json_print(root)) != NULL)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(root);
	}
	gdmf_feed_release(&feed);
	http_client_free(http);
	state_unlock(&lock);
	if (auth_failed)
		return BRIDGE_EXIT_AUTH;
	return failed ? BRIDGE_EXIT_FAILED : BRIDGE_EXIT_OK;
}

/* The action render shows: the device asked for, else the first that would send something. */
static const struct decide_action *
render_pick(const struct policy_run *pr, const char *device_id)
{
	static const enum decide_outcome order[] = {DECIDE_ENFORCE, DECIDE_BASE_UPDATE,
		DECIDE_RING_WAITING};

	for (size_t i = 0; device_id != NULL && i < pr->result.n; i++)
		if (strcmp(pr->inv->v[pr->result.v[i].device].id, device_id) == 0)
			return &pr->result.v[i];
	if (device_id != NULL)
		return NULL;
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (size_t i = 0; i < pr->result.n; i++)
			if (pr->result.v[i].outcome == order[k])
				return &pr->result.v[i];
	return NULL;
}

/* Load a policy's template (its own, or the default) and render it for a; NULL on error. */
static char *
render_one(const struct config_policy *p, enum template_which which, const char *ring,
    const struct decide_action *a, const struct template_var *more, size_t nmore, char *err,
    size_t errlen)
{
	struct template tpl;
	char *out = NULL;

	if (enforce_load_template(p, which, &tpl, err, errlen) == -1)
		return NULL;
	if (enforce_render(&tpl, p, ring, a, more, nmore, &out, err, errlen) == -1)
		out = NULL;
	template_release(&tpl);
	return out;
}

/* Build what render prints for a (plan body, or declaration and blueprint); NULL on error. */
static cJSON *
render_body(const struct config *cfg, const struct policy_run *pr,
    const struct decide_action *a, char *err, size_t errlen)
{
	const struct config_policy *p = pr->policy;
	const char *ring = ring_name(pr, a->ring);
	cJSON *root = cJSON_CreateObject();
	char *text;

	if (p->mode == CONFIG_MODE_PLAN) {
		cJSON *devices = cJSON_AddArrayToObject(root, "devices"), *d = cJSON_CreateObject();

		cJSON_AddItemToArray(devices, d);
		cJSON_AddStringToObject(d, "deviceId", pr->inv->v[a->device].id);
		cJSON_AddStringToObject(d, "objectType", pr->kind == JAMF_COMPUTER ? "COMPUTER" :
		    "MOBILE_DEVICE");
		if ((text = render_one(p, TEMPLATE_PLAN, ring, a, NULL, 0, err,
		    errlen)) == NULL)
			goto fail;
		cJSON_AddItemToObject(root, "config", cJSON_Parse(text));
	} else {
		char name[512];
		char *decl = render_one(p, TEMPLATE_DECLARATION, ring, a, NULL, 0, err, errlen);
		struct template_var more[4] = {
			{"blueprint_name", TEMPLATE_STRING, name},
			{"group_uuid", TEMPLATE_STRING, "<the platform UUID of the group sync keeps>"},
			{"component", TEMPLATE_STRING, JAMF_PLATFORM_CUSTOM_DECLARATIONS},
			{"declaration", TEMPLATE_JSON, decl},
		};

		if (decl == NULL)
			goto fail;
		enforce_target_name(cfg, p, ring, a, name, sizeof(name));
		text = render_one(p, TEMPLATE_BLUEPRINT, ring, a, more, 4, err, errlen);
		cJSON_AddItemToObject(root, "declaration", cJSON_Parse(decl));
		free(decl);
		if (text == NULL)
			goto fail;
		cJSON_AddItemToObject(root, "blueprint", cJSON_Parse(text));
	}
	free(text);
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

int
sync_render(const struct config *cfg, const struct sync_options *o, const char *device_id)
{
	struct http_client *http = http_client_new();
	const struct config_tenant *t = NULL;
	const struct config_policy *p = NULL;
	struct tenant_run tr;
	struct policy_run pr;
	struct gdmf_feed feed;
	enum gdmf_origin origin;
	struct jamf_reply r = {0};
	const struct decide_action *a;
	char err[JAMF_ERROR_BYTES];
	int status = BRIDGE_EXIT_FAILED;

	memset(&tr, 0, sizeof(tr));
	memset(&pr, 0, sizeof(pr));
	for (size_t i = 0; i < cfg->ntenants && p == NULL; i++) {
		if (!config_tenant_selected(&cfg->tenants[i], o->tenants, o->ntenants))
			continue;
		for (size_t k = 0; k < cfg->tenants[i].npolicies && p == NULL; k++)
			if (strcmp(cfg->tenants[i].policies[k].name, o->policy) == 0) {
				t = &cfg->tenants[i];
				p = &t->policies[k];
			}
	}
	if (http == NULL || p == NULL) {
		log_error("--policy %s: no such policy in %s", o->policy, cfg->path);
		http_client_free(http);
		return BRIDGE_EXIT_USAGE;
	}
	if (gdmf_load(http, cfg, o->refresh, o->now, &feed, &origin) == -1) {
		http_client_free(http);
		return BRIDGE_EXIT_FEED;
	}
	if (tenant_open(&tr, cfg, t, http, &feed, true, o->now, &r, err, sizeof(err)) == -1) {
		log_error("%s", err);
		status = r.fail == JAMF_FAIL_AUTH ? BRIDGE_EXIT_AUTH : BRIDGE_EXIT_FAILED;
		goto out;
	}
	if (policy_prepare(&tr, p, &feed, o->now, &pr, err, sizeof(err)) == -1) {
		log_error("policy %s: %s", p->name, err);
		goto out;
	}
	if ((a = render_pick(&pr, device_id)) == NULL) {
		if (device_id != NULL)
			log_error("policy %s: no %s with id %s in Jamf Pro", p->name,
			    jamf_kind_name(pr.kind), device_id);
		else
			log_error("policy %s: no device needs anything now: nothing would be sent",
			    p->name);
		goto out;
	}
	if (!decide_sends(a->outcome) && a->outcome != DECIDE_RING_WAITING) {
		log_error("policy %s, %s %s: %s (%s): nothing would be sent", p->name,
		    jamf_kind_name(pr.kind), pr.inv->v[a->device].id, decide_outcome_name(a->outcome),
		    a->reason);
		goto out;
	}
	{
		cJSON *body = render_body(cfg, &pr, a, err, sizeof(err));
		char *text;

		if (body == NULL) {
			log_error("policy %s: %s", p->name, err);
			status = BRIDGE_EXIT_USAGE;
			goto out;
		}
		log_info("policy %s, %s %s (%s): %s", p->name, jamf_kind_name(pr.kind),
		    pr.inv->v[a->device].id, decide_outcome_name(a->outcome), a->reason);
		if ((text = cJSON_Print(body)) != NULL)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(body);
		status = BRIDGE_EXIT_OK;
	}
out:
	policy_run_release(&pr);
	jamf_reply_release(&r);
	tenant_run_release(&tr);
	gdmf_feed_release(&feed);
	http_client_free(http);
	return status;
}
