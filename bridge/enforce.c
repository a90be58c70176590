/*
 * The plan backend (see enforce.h). The order of every create is: intent on disk, request,
 * outcome on disk. An answer that never came (connection lost, 5xx after retries) leaves the
 * intent open, and the next run looks the plans up before it creates anything.
 */
#include "enforce.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decide.h"
#include "gdmf.h"
#include "jamf.h"
#include "jamf_pro.h"
#include "log.h"
#include "reasons.h"
#include "state.h"
#include "template.h"

#define RETRY_AFTER 3600L  /* seconds before a plan that ended in trouble is sent again */
#define FILTER_BYTES 2048

bool
enforce_same_opt(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/* Whether a Jamf plan state is final. */
static bool
plan_final(const char *state)
{
	return state != NULL && (strcmp(state, "PlanCompleted") == 0 ||
	    strcmp(state, "PlanFailed") == 0 || strcmp(state, "PlanCanceled") == 0 ||
	    strcmp(state, "PlanException") == 0);
}

/* The platform of a plan's device object type. */
static const char *
platform_of(const char *object_type)
{
	return object_type != NULL && strcmp(object_type, "COMPUTER") == 0 ? "macOS" : "iOS";
}

/*
 * Whether a plan has ended in a way worth another try: canceled (e.g. the plans feature was
 * reset), or failed for a transient reason (reasons.h: Jamf or Apple trouble, or another plan
 * in the way), at least RETRY_AFTER ago by bridge's clock.
 */
static bool
retry_due(const struct state_plan *p, time_t now)
{
	enum plan_phase ph = plan_phase_of(p->last_state);
	const struct reason_info *info = reason_lookup(p->last_reason);

	if (ph != PLAN_CANCELED && !(ph == PLAN_FAILED && info != NULL &&
	    info->kind == REASON_TRANSIENT))
		return false;
	return now - p->last_state_at >= RETRY_AFTER;
}

/* bridge's plan for this device and target, if the state has one that still counts. */
static const struct state_plan *
planned(const struct state_plan_ref *by, size_t n, const char *device, const char *version,
    const char *build, time_t now)
{
	const struct state_plan *found = NULL;

	for (size_t i = state_plan_refs_first(by, n, device);
	    i < n && strcmp(by[i].p->device_id, device) == 0; i++) {
		const struct state_plan *p = by[i].p;

		if (strcmp(p->version, version) == 0 && enforce_same_opt(p->build, build)) {
			if (!retry_due(p, now))
				return p;
			found = p;
		}
	}
	if (found != NULL)
		log_info("device %s: its plan %s ended %s%s%s; trying again", device, found->id,
		    found->last_state, found->last_reason ? ", " : "",
		    found->last_reason ? found->last_reason : "");
	return NULL;
}

/* An unfinished plan intent being looked up in Jamf, and the plan found for it. */
struct open_intent {
	long id;
	const struct state_plan *plan;  /* what it asked for (the intent's, interned: stable) */
	char *found;                    /* the smallest matching planUuid so far, or NULL */
};

/* The unfinished plan intents of a run, sorted by device (enforce_reconcile_plans()). */
struct intent_lookup {
	struct open_intent *v;
	size_t n;
};

static int
cmp_open_device(const void *a, const void *b)
{
	const struct open_intent *x = a, *y = b;
	int c = strcmp(x->plan->device_id, y->plan->device_id);

	return c != 0 ? c : (x->id > y->id) - (x->id < y->id);
}

/* The first of l's intents (sorted) for device, or l->n. */
static size_t
first_of_device(const struct intent_lookup *l, const char *device)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(l->v[mid].plan->device_id, device) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * jamf_plans_fn: a page of the plans of some intents' devices; each plan that is what an
 * intent asked for (version, build, deadline) is its plan, the smallest planUuid of several,
 * as a list in Jamf's order would give first.
 */
static int
match_intents(void *ctx, const struct jamf_plan *plans, size_t n, struct jamf_reply *r)
{
	struct intent_lookup *l = ctx;

	for (size_t k = 0; k < n; k++) {
		const struct jamf_plan *p = &plans[k];

		if (p->device_id == NULL || p->version == NULL)
			continue;
		for (size_t i = first_of_device(l, p->device_id);
		    i < l->n && strcmp(l->v[i].plan->device_id, p->device_id) == 0; i++) {
			struct open_intent *in = &l->v[i];
			char *id;

			if (strcmp(p->version, in->plan->version) != 0 ||
			    !enforce_same_opt(p->build, in->plan->build) ||
			    !enforce_same_opt(p->force_install, in->plan->deadline) ||
			    (in->found != NULL && strcmp(p->id, in->found) >= 0))
				continue;
			if ((id = strdup(p->id)) == NULL)
				return jamf_reply_fail(r, JAMF_FAIL_TRANSPORT, "out of memory");
			free(in->found);
			in->found = id;
		}
	}
	return 0;
}

/*
 * The filter device.deviceId=in=(…) of devices[*from..n), as many as fit in FILTER_BYTES,
 * into buf; *from moves past them. 0, or -1 when a device id does not fit.
 */
static int
devices_filter(const char *const *devices, size_t n, size_t *from, char *buf)
{
	static const char head[] = "device.deviceId%3Din%3D%28", tail[] = "%29";
	size_t len = sizeof(head) - 1, k;

	memcpy(buf, head, len);
	k = jamf_rsql_values(devices + *from, n - *from, buf + len,
	    FILTER_BYTES - len - (sizeof(tail) - 1));
	if (k == 0)
		return -1;
	len += strlen(buf + len);
	memcpy(buf + len, tail, sizeof(tail));
	*from += k;
	return 0;
}

int
enforce_reconcile_plans(struct jamf_session *pro, struct state *st, char *err, size_t errlen)
{
	struct intent_lookup l = {0};
	char (*filters)[FILTER_BYTES] = NULL;
	const char **devices = NULL;
	size_t at = 0, ndevices = 0, exist = 0;
	int rc = -1;

	err[0] = '\0';
	if ((l.v = calloc(st->nintents > 0 ? st->nintents : 1, sizeof(*l.v))) == NULL ||
	    (devices = calloc(st->nintents > 0 ? st->nintents : 1, sizeof(*devices))) == NULL ||
	    (filters = calloc(JAMF_PRO_MAX_LISTS, sizeof(*filters))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < st->nintents; i++)
		if (st->intents[i].kind == STATE_KIND_PLAN &&
		    state_intent_unfinished(st, &st->intents[i]))
			l.v[l.n++] = (struct open_intent){st->intents[i].id, &st->intents[i].plan, NULL};
	if (l.n == 0) {
		rc = 0;
		goto out;
	}
	qsort(l.v, l.n, sizeof(*l.v), cmp_open_device);
	/* each device once, though it may have several intents */
	for (size_t i = 0; i < l.n; i++)
		if (i == 0 || strcmp(l.v[i].plan->device_id, devices[ndevices - 1]) != 0)
			devices[ndevices++] = l.v[i].plan->device_id;
	while (at < ndevices) {
		struct jamf_list lists[JAMF_PRO_MAX_LISTS];
		size_t nlists = 0;

		for (; nlists < JAMF_PRO_MAX_LISTS && at < ndevices; nlists++) {
			if (devices_filter(devices, ndevices, &at, filters[nlists]) == -1) {
				snprintf(err, errlen, "intent %ld: its device id is too long",
				    l.v[first_of_device(&l, devices[at])].id);
				goto out;
			}
			lists[nlists] = (struct jamf_list){.what = JAMF_LIST_PLANS,
			    .filter = filters[nlists], .each = match_intents, .ctx = &l};
		}
		(void)jamf_pro_read_lists(pro, lists, nlists);
		for (size_t k = 0; k < nlists; k++) {
			if (lists[k].rc == -1 && err[0] == '\0')
				snprintf(err, errlen, "looking up the plans of interrupted creates: %s",
				    lists[k].r.error);
			jamf_reply_release(&lists[k].r);
		}
		if (err[0] != '\0')
			goto out;
	}
	/* the pointers into st->intents are not used past here: resolving may move them */
	for (size_t i = 0; i < l.n; i++) {
		const struct state_plan *p = l.v[i].plan;

		log_debug("reconcile: the plan for device %s (%s%s%s, by %s) %s%s", p->device_id,
		    p->version, p->build ? " " : "", p->build ? p->build : "", p->deadline,
		    l.v[i].found ? "exists: " : "was never created",
		    l.v[i].found ? l.v[i].found : "");
		exist += l.v[i].found != NULL;
	}
	for (size_t i = 0; i < l.n; i++)
		if (state_intent_resolve(st, l.v[i].id, l.v[i].found, err, errlen) != STATE_OK)
			goto out;
	log_info("reconcile: %zu interrupted plan create%s looked up: %zu plan%s exist%s, %zu "
	    "never created", l.n, l.n == 1 ? "" : "s", exist, exist == 1 ? "" : "s",
	    exist == 1 ? "s" : "", l.n - exist);
	rc = 0;
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].found);
	free(l.v);
	free(devices);
	free(filters);
	return rc;
}

int
enforce_adopt_plans(struct state *st, const struct jamf_plan *plans, size_t n, time_t now,
    size_t *adopted, struct jamf_reply *r)
{
	for (size_t i = 0; i < n; i++) {
		const struct jamf_plan *p = &plans[i];
		struct state_plan rec = {0};

		if (plan_final(p->state) || p->device_id == NULL || p->version == NULL ||
		    state_find_plan(st, p->id) != NULL)
			continue;
		rec.id = p->id;
		rec.device_id = p->device_id;
		rec.policy = (char *)(uintptr_t)"";
		rec.ring = (char *)(uintptr_t)"";
		rec.platform = (char *)(uintptr_t)platform_of(p->object_type);
		rec.version = p->version;
		rec.build = p->build;
		rec.deadline = p->force_install != NULL ? p->force_install : (char *)(uintptr_t)"";
		rec.created_at = now;
		rec.last_state = p->state;
		rec.last_state_at = now;
		if (state_put_plan(st, &rec) == -1)
			return jamf_reply_fail(r, JAMF_FAIL_TRANSPORT, "out of memory");
		(*adopted)++;
	}
	return 0;
}

/* The plans feature must be on (and allow custom versions when a build is sent). */
static int
check_toggle(struct jamf_session *pro, bool custom, struct enforce_summary *sum)
{
	struct jamf_toggle t;
	struct jamf_reply r = {0};
	bool busy = false;
	int rc = -1;

	if (jamf_pro_toggle_check(pro, &t, &busy, &r) == -1)
		snprintf(sum->error, sizeof(sum->error), "%s", r.error);
	else if (!t.toggle)
		snprintf(sum->error, sizeof(sum->error), "the managed software update plans feature "
		    "is off in Jamf Pro: turn it on (Settings > Computer management > Software "
		    "updates); bridge doctor checks it");
	else if (busy)
		snprintf(sum->error, sizeof(sum->error), "the plans feature toggle is still being "
		    "switched in Jamf Pro: try again when it has finished");
	else if (custom && !t.custom_version)
		snprintf(sum->error, sizeof(sum->error), "custom versions (customVersionEnabled) are "
		    "off in Jamf Pro, and a BSI plan needs one: ask Jamf Support to enable them");
	else
		rc = 0;
	jamf_reply_release(&r);
	return rc;
}

const char *
enforce_sent_build(const struct decide_action *a)
{
	/* the BSI itself (also for a ring still waiting), not its base */
	if (a->bsi == NULL || a->target_build == NULL || a->bsi->build == NULL ||
	    strcmp(a->target_build, a->bsi->build) != 0)
		return NULL;
	return a->target_build;
}

/* Order actions by ring, target and deadline, so that one target's devices are adjacent. */
static int
key_cmp(const void *pa, const void *pb)
{
	const struct decide_action *a = *(const struct decide_action *const *)pa;
	const struct decide_action *b = *(const struct decide_action *const *)pb;
	int c;

	if (a->ring != b->ring)
		return a->ring < b->ring ? -1 : 1;
	if ((c = strcmp(a->target_version, b->target_version)) != 0)
		return c;
	if ((c = strcmp(enforce_sent_build(a) ? enforce_sent_build(a) : "",
	    enforce_sent_build(b) ? enforce_sent_build(b) : "")) != 0)
		return c;
	if ((c = strcmp(a->deadline, b->deadline)) != 0)
		return c;
	return a->device < b->device ? -1 : a->device > b->device;
}

void
enforce_sort_actions(const struct decide_action **v, size_t n)
{
	qsort(v, n, sizeof(*v), key_cmp);
}

bool
enforce_same_target(const struct decide_action *a, const struct decide_action *b)
{
	return a->ring == b->ring && strcmp(a->target_version, b->target_version) == 0 &&
	    enforce_same_opt(enforce_sent_build(a), enforce_sent_build(b)) &&
	    strcmp(a->deadline, b->deadline) == 0;
}

void
enforce_target_name(const struct config *cfg, const struct config_policy *policy,
    const char *ring, const struct decide_action *a, char *buf, size_t size)
{
	const char *build = enforce_sent_build(a);
	const char *extra = build != NULL ? a->bsi->extra : NULL;

	snprintf(buf, size, "%s %s %s %s %s%s%s%s%s", cfg->name_prefix, policy->name, ring,
	    config_os_name(policy->platform), a->target_version, extra ? " " : "",
	    extra ? extra : "", build ? " " : "", build ? build : "");
}

int
enforce_load_template(const struct config_policy *policy, enum template_which which,
    struct template *t, char *err, size_t errlen)
{
	const char *own = which == TEMPLATE_PLAN ? policy->templates.plan :
	    which == TEMPLATE_DECLARATION ? policy->templates.declaration :
	    policy->templates.blueprint;
	char path[4096];

	return template_load(t, own != NULL ? own : template_default_path(which, path,
	    sizeof(path)), err, errlen);
}

int
enforce_render(const struct template *tpl, const struct config_policy *policy, const char *ring,
    const struct decide_action *a, const struct template_var *more, size_t nmore, char **out,
    char *err, size_t errlen)
{
	struct template_var vars[16];
	char deferrals[32];
	const char *build = enforce_sent_build(a);
	size_t n = 0;

	snprintf(deferrals, sizeof(deferrals), "%ld", policy->max_deferrals);
	vars[n++] = (struct template_var){"policy", TEMPLATE_STRING, policy->name};
	vars[n++] = (struct template_var){"ring", TEMPLATE_STRING, ring};
	vars[n++] = (struct template_var){"platform", TEMPLATE_STRING,
		config_os_name(policy->platform)};
	vars[n++] = (struct template_var){"version", TEMPLATE_STRING, a->target_version};
	vars[n++] = (struct template_var){"extra", TEMPLATE_STRING,
		build != NULL && a->bsi != NULL ? a->bsi->extra : NULL};
	vars[n++] = (struct template_var){"build", TEMPLATE_STRING, build};
	vars[n++] = (struct template_var){"version_type", TEMPLATE_STRING,
		build != NULL ? "CUSTOM_VERSION" : "SPECIFIC_VERSION"};
	vars[n++] = (struct template_var){"deadline", TEMPLATE_STRING, a->deadline};
	vars[n++] = (struct template_var){"max_deferrals", TEMPLATE_NUMBER, deferrals};
	vars[n++] = (struct template_var){"details_url", TEMPLATE_STRING, policy->details_url};
	for (size_t i = 0; i < nmore && n < sizeof(vars) / sizeof(vars[0]); i++)
		vars[n++] = more[i];
	return template_render(tpl, vars, n, TEMPLATE_DROP_NULLS, out, err, errlen);
}

/* One batch of plans: one target and ring, up to batch_size devices, one request. */
struct plan_batch {
	const struct decide_action *const *acts;
	size_t n;
	const char *ring;
	char *config;             /* the rendered plan config */
	const char **ids;         /* device ids */
	long *intents;            /* journaled before the request is sent */
	struct jamf_plan_config pc;
};

static void
batch_release(struct plan_batch *b)
{
	free(b->config);
	free(b->ids);
	free(b->intents);
	memset(b, 0, sizeof(*b));
}

/* Render b's config and journal an intent per device; 0, or -1 (sum->error) to stop. */
static int
batch_begin(struct state *st, const struct config_policy *policy, const struct template *tpl,
    const struct jamf_device *devices, time_t now, struct plan_batch *b,
    struct enforce_summary *sum)
{
	const struct decide_action *a = b->acts[0];
	struct state_plan *recs = calloc(b->n, sizeof(*recs));
	char err[512] = "out of memory";
	int rc = -1;

	b->ids = calloc(b->n, sizeof(*b->ids));
	b->intents = calloc(b->n, sizeof(*b->intents));
	if (recs == NULL || b->ids == NULL || b->intents == NULL) {
		snprintf(sum->error, sizeof(sum->error), "out of memory");
		goto out;
	}
	if (enforce_render(tpl, policy, b->ring, a, NULL, 0, &b->config, sum->error,
	    sizeof(sum->error)) == -1)
		goto out;
	b->pc = (struct jamf_plan_config){a->target_version, enforce_sent_build(a), a->deadline,
		policy->max_deferrals, b->config};
	for (size_t i = 0; i < b->n; i++) {
		b->ids[i] = devices[b->acts[i]->device].id;
		recs[i] = (struct state_plan){NULL, (char *)(uintptr_t)b->ids[i],
			(char *)(uintptr_t)policy->name, (char *)(uintptr_t)b->ring,
			(char *)(uintptr_t)config_os_name(policy->platform),
			(char *)(uintptr_t)a->target_version, (char *)(uintptr_t)enforce_sent_build(a),
			(char *)(uintptr_t)a->deadline, now, NULL, 0, NULL};
	}
	if (state_begin_plans(st, recs, b->n, b->intents, err, sizeof(err)) != STATE_OK) {
		snprintf(sum->error, sizeof(sum->error), "not creating plans: %s", err);
		goto out;
	}
	rc = 0;
out:
	free(recs);
	return rc;
}

/*
 * The plan Jamf created for device_id, the i-th device of the request, or NULL. Jamf answers
 * in the order it was asked, so the i-th answer is looked at first: a thousand devices are not
 * each searched for among a thousand answers.
 */
static const char *
batch_plan_of(const struct jamf_plan_post *post, size_t i, const char *device_id)
{
	if (i < post->nrefs && strcmp(post->refs[i].device_id, device_id) == 0)
		return post->refs[i].plan_id;
	for (size_t k = 0; k < post->nrefs; k++)
		if (strcmp(post->refs[k].device_id, device_id) == 0)
			return post->refs[k].plan_id;
	return NULL;
}

/* Record what Jamf answered to b's request; 0, or -1 to stop this policy. */
static int
batch_end(struct state *st, const struct config_policy *policy, struct plan_batch *b,
    struct jamf_plan_post *post, struct enforce_summary *sum)
{
	const struct jamf_reply *r = &post->reply;
	const char *build = enforce_sent_build(b->acts[0]);
	char err[512];

	if (r->fail != JAMF_OK) {
		if (sum->error[0] == '\0')
			snprintf(sum->error, sizeof(sum->error), "%s", r->error);
		if (jamf_write_unknown(r)) {
			/* did Jamf create them? The next run looks before it creates again. */
			sum->unknown += b->n;
			return -1;
		}
		for (size_t i = 0; i < b->n; i++)
			(void)state_intent_failed(st, b->intents[i], r->error, err, sizeof(err));
		sum->refused += b->n;
		return -1;
	}
	for (size_t i = 0; i < b->n; i++) {
		const char *plan = batch_plan_of(post, i, b->ids[i]);

		if (plan != NULL) {
			if (state_intent_done(st, b->intents[i], plan, err, sizeof(err)) != STATE_OK) {
				snprintf(sum->error, sizeof(sum->error), "%s", err);
				return -1;
			}
			sum->created++;
		} else {
			(void)state_intent_failed(st, b->intents[i], "Jamf Pro created no plan for it",
			    err, sizeof(err));
			sum->refused++;
		}
	}
	log_info("policy %s, ring %s: %zu plan%s for %s%s%s by %s", policy->name, b->ring,
	    post->nrefs, post->nrefs == 1 ? "" : "s", b->acts[0]->target_version,
	    build != NULL ? " " : "", build != NULL ? build : "", b->acts[0]->deadline);
	return 0;
}

/*
 * Plans are created in rounds: up to max_connections batches are journaled, then sent
 * together. While one round travels, the outcomes of the one before are recorded and the
 * next one is journaled, so that Jamf's round trips are not spent waiting for the disk or
 * the other way round. The order of each create stays intent on disk, request, outcome: a
 * round goes out only once its intents are written, and only when every request of the
 * round before was answered; one that may not go out has its intents closed as not sent.
 */
struct plan_round {
	struct plan_batch *b;          /* [width] */
	struct jamf_plan_post *posts;  /* [width]: what Jamf answered */
	size_t n;                      /* batches journaled */
};

/* One enforce_plans() under way, shared with what runs while a round travels. */
struct plan_run {
	struct state *st;
	const struct config_policy *policy;
	const char *const *ring_names;
	const struct template *tpl;
	const struct jamf_device *devices;
	time_t now;
	const struct decide_action **todo;
	size_t ntodo, next;     /* todo[next..ntodo) are not journaled yet */
	size_t batch, width;
	struct enforce_summary *sum;
	bool stop;              /* journal and send no more */
	struct plan_round *answered, *coming;  /* for while_sending() */
};

static void
round_release(struct plan_round *rd)
{
	for (size_t i = 0; i < rd->n; i++)
		batch_release(&rd->b[i]);
	rd->n = 0;
}

/* Journal the next round into rd: up to width batches of one target each. */
static void
round_begin(struct plan_run *run, struct plan_round *rd)
{
	while (run->next < run->ntodo && rd->n < run->width && !run->stop) {
		const struct decide_action *const *todo = run->todo;
		struct plan_batch *b = &rd->b[rd->n];
		size_t start = run->next, end = start + 1;

		while (end < run->ntodo && end - start < run->batch &&
		    enforce_same_target(todo[start], todo[end]))
			end++;
		b->acts = &todo[start];
		b->n = end - start;
		b->ring = run->ring_names[todo[start]->ring];
		if (batch_begin(run->st, run->policy, run->tpl, run->devices, run->now, b,
		    run->sum) == -1) {
			/* the batches journaled before it are still sent: their intents are written */
			batch_release(b);
			run->stop = true;
			break;
		}
		rd->n++;
		run->next = end;
	}
}

/* Record what Jamf answered to rd's batches, in order; then rd is empty. */
static void
round_end(struct plan_run *run, struct plan_round *rd)
{
	/* the round's outcome lines go to the journal in one write */
	state_outcomes_hold(run->st);
	for (size_t i = 0; i < rd->n; i++) {
		if (batch_end(run->st, run->policy, &rd->b[i], &rd->posts[i], run->sum) == -1)
			run->stop = true;
		jamf_plan_refs_free(rd->posts[i].refs, rd->posts[i].nrefs);
		jamf_reply_release(&rd->posts[i].reply);
	}
	state_outcomes_write(run->st);
	round_release(rd);
}

/* Close the intents of rd, journaled but never sent; then rd is empty. */
static void
round_unsent(struct plan_run *run, struct plan_round *rd)
{
	char err[512];

	for (size_t i = 0; i < rd->n; i++)
		for (size_t k = 0; k < rd->b[i].n; k++)
			(void)state_intent_failed(run->st, rd->b[i].intents[k], "not sent: an earlier "
			    "request of the run failed", err, sizeof(err));
	round_release(rd);
}

/* What runs while a round travels: the round before's outcomes, then the next round. */
static void
while_sending(void *ctx)
{
	struct plan_run *run = ctx;

	if (run->answered != NULL)
		round_end(run, run->answered);
	round_begin(run, run->coming);
}

/* Send rd's batches at once, while_sending() meanwhile; whether every one was answered. */
static bool
round_send(struct jamf_session *pro, struct plan_run *run, struct plan_round *rd)
{
	const struct config_policy *policy = run->policy;
	bool all_answered = true;

	for (size_t i = 0; i < rd->n; i++) {
		const struct plan_batch *b = &rd->b[i];
		char bsi[GDMF_IDENTITY_BYTES];

		gdmf_entry_identity(b->acts[0]->bsi, bsi);
		if (state_note_ring(run->st, policy->name, b->ring, bsi, run->now) == -1) {
			snprintf(run->sum->error, sizeof(run->sum->error), "not creating plans: the "
			    "ring %s could not be recorded", b->ring);
			run->stop = true;
			while_sending(run);
			round_unsent(run, rd);
			return false;
		}
		rd->posts[i] = (struct jamf_plan_post){jamf_pro_kind(policy->platform), b->ids, b->n,
			&b->pc, NULL, 0, {0}};
	}
	(void)jamf_pro_plans_post(pro, rd->posts, rd->n, while_sending, run);
	for (size_t i = 0; i < rd->n; i++)
		all_answered &= rd->posts[i].reply.fail == JAMF_OK;
	return all_answered;
}

/*
 * Journal and send run's plans, round after round (struct plan_round). 0, or -1 when the
 * policy stopped (run->sum->error says why).
 */
static int
send_rounds(struct jamf_session *pro, struct plan_run *run)
{
	struct plan_round rounds[3] = {{0}};
	struct plan_round *answered = NULL, *sending = &rounds[0], *coming = &rounds[1];
	struct plan_round *idle = &rounds[2];

	for (size_t i = 0; i < 3; i++)
		if ((rounds[i].b = calloc(run->width, sizeof(*rounds[i].b))) == NULL ||
		    (rounds[i].posts = calloc(run->width, sizeof(*rounds[i].posts))) == NULL) {
			snprintf(run->sum->error, sizeof(run->sum->error), "out of memory");
			run->stop = true;
			goto out;
		}
	round_begin(run, sending);
	while (sending->n > 0) {
		struct plan_round *freed = answered != NULL ? answered : idle;

		run->answered = answered;
		run->coming = coming;
		if (!round_send(pro, run, sending)) {
			run->stop = true;
			round_unsent(run, coming);
		}
		/* the round before was recorded meanwhile: its room takes the one after next */
		answered = sending;
		sending = coming;
		coming = freed;
	}
	if (answered != NULL)
		round_end(run, answered);
out:
	for (size_t i = 0; i < 3; i++) {
		free(rounds[i].b);
		free(rounds[i].posts);
	}
	return run->stop ? -1 : 0;
}

int
enforce_plans(struct jamf_session *pro, struct state *st, const struct config_policy *policy,
    const char *const *ring_names, const struct decide_result *decision,
    const struct jamf_device *devices, time_t now, struct enforce_summary *sum)
{
	const struct decide_action **todo;
	const struct state_plan_ref *by;
	size_t n = 0, batch = policy->batch_size > 0 ? (size_t)policy->batch_size : 100;
	size_t width = pro->max_connections > 0 ? (size_t)pro->max_connections : 1;
	struct template tpl;
	bool custom = false;
	int rc;

	memset(sum, 0, sizeof(*sum));
	if (enforce_load_template(policy, TEMPLATE_PLAN, &tpl, sum->error,
	    sizeof(sum->error)) == -1)
		return -1;
	/* a device's plans by binary search, not by a pass over every plan */
	if ((todo = calloc(decision->n > 0 ? decision->n : 1, sizeof(*todo))) == NULL ||
	    (by = state_plans_by_device(st)) == NULL) {
		snprintf(sum->error, sizeof(sum->error), "out of memory");
		free(todo);
		template_release(&tpl);
		return -1;
	}
	for (size_t i = 0; i < decision->n; i++) {
		const struct decide_action *a = &decision->v[i];

		if (!decide_sends(a->outcome))
			continue;
		if (planned(by, st->nplans, devices[a->device].id, a->target_version,
		    enforce_sent_build(a), now) != NULL) {
			sum->existing++;
			continue;
		}
		custom |= enforce_sent_build(a) != NULL;
		todo[n++] = a;
	}
	if (n > 0 && check_toggle(pro, custom, sum) == -1) {
		free(todo);
		template_release(&tpl);
		return -1;
	}
	enforce_sort_actions(todo, n);
	rc = send_rounds(pro, &(struct plan_run){st, policy, ring_names, &tpl, devices, now, todo,
		n, 0, batch, width, sum, false, NULL, NULL});
	free(todo);
	template_release(&tpl);
	return rc == 0 && sum->refused == 0 ? 0 : -1;
}
