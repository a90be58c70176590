/*
 * The blueprint backend. For each (policy, ring, target) bridge keeps, under one name
 * ("<name_prefix> <policy> <ring> <platform> <version> [<extra> <build>]"):
 *   - a static group (of computers or mobile devices) holding exactly the devices that need
 *     that target now,
 *   - a blueprint scoped to that group's platform UUID, holding the custom declaration
 *     com.apple.configuration.softwareupdate.enforcement.specific (rendered from templates),
 *   - deployed, and its deployment followed: read back on every run, and within the run
 *     that deployed it, until SUCCEEDED or FAILED (up to platform.deploy_wait).
 * Before anything is created it is looked up by name, in the state and then in Jamf, and every
 * create goes through the intent journal: a rerun after a kill creates nothing twice. A run
 * whose targets are already in place sends no write request.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "decide.h"
#include "enforce.h"
#include "gdmf.h"
#include "jamf.h"
#include "jamf_platform.h"
#include "jamf_pro.h"
#include "log.h"
#include "state.h"
#include "template.h"

#define NAME_BYTES 512

/* What the blueprint backend needs for one policy. */
struct bp_run {
	struct jamf_session *pro;
	struct jamf_session *platform;
	struct state *st;
	const struct config *cfg;
	const struct config_policy *policy;
	const char *const *rings;
	const struct jamf_device *devices;
	size_t ndevices;
	time_t now;
	long deploy_wait;          /* seconds to follow deployments (platform.deploy_wait) */
	enum jamf_kind kind;       /* of the policy's devices and groups */
	char *component;           /* the custom-declaration component the tenant offers */
	struct template decl;
	struct template body;
	struct enforce_summary *sum;
};

/* What a group holds, as its state record says. */
static const char *
group_devices(enum jamf_kind kind)
{
	return kind == JAMF_MOBILE ? "mobile_device" : "computer";
}

static const struct state_group *
group_by_name(const struct state *st, const char *name)
{
	for (size_t i = 0; i < st->ngroups; i++)
		if (st->groups[i].id != NULL && strcmp(st->groups[i].name, name) == 0)
			return &st->groups[i];
	return NULL;
}

static const struct state_blueprint *
blueprint_by_name(const struct state *st, const char *name)
{
	for (size_t i = 0; i < st->nblueprints; i++)
		if (st->blueprints[i].id != NULL && strcmp(st->blueprints[i].name, name) == 0)
			return &st->blueprints[i];
	return NULL;
}

/* Set sum->error from a reply, prefixed with what was being done; returns -1. */
static int
failed(struct bp_run *run, const char *what, const char *name, const char *why)
{
	int n = snprintf(run->sum->error, sizeof(run->sum->error), "%s \"%.200s\": ", what,
	    name);

	if (n > 0 && (size_t)n < sizeof(run->sum->error))
		snprintf(run->sum->error + n, sizeof(run->sum->error) - (size_t)n, "%.500s", why);
	return -1;
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* The devices of the inventory in group gid (ids, sorted); 0, or -1 when out of memory. */
static int
group_members(const struct bp_run *run, long gid, long **out, size_t *n)
{
	*n = 0;
	if ((*out = calloc(run->ndevices ? run->ndevices : 1, sizeof(long))) == NULL)
		return -1;
	for (size_t i = 0; i < run->ndevices; i++) {
		const struct jamf_device *d = &run->devices[i];

		for (size_t k = 0; k < d->ngroups; k++)
			if (d->groups[k] == gid) {
				(*out)[(*n)++] = strtol(d->id, NULL, 10);
				break;
			}
	}
	qsort(*out, *n, sizeof(long), cmp_long);
	return 0;
}

/*
 * The static group of a target, holding exactly want (device ids, sorted): adopted from the
 * state or Jamf by name, else created; its members set when they differ. *id gets its Jamf Pro
 * id.
 */
static int
ensure_group(struct bp_run *run, const char *name, const long *want, size_t nwant, char *id,
    size_t idsize)
{
	const struct state_group *known = group_by_name(run->st, name);
	struct jamf_reply r = {0};
	char err[512];
	long gid = -1, *have;
	size_t nhave, kept = 0, ndrop = 0;
	int rc;

	if (known != NULL) {
		gid = strtol(known->id, NULL, 10);
	} else {
		struct jamf_group g;

		rc = jamf_pro_group_find(run->pro, run->kind, name, &g, &r);
		if (rc == -1)
			return failed(run, "looking up group", name, r.error);
		jamf_reply_release(&r);
		if (rc == 0) {
			struct state_group rec = {NULL, (char *)(uintptr_t)name, run->now,
				(char *)(uintptr_t)group_devices(run->kind)};
			char buf[32];

			gid = g.id;
			snprintf(buf, sizeof(buf), "%ld", gid);
			rec.id = buf;
			jamf_group_release(&g);
			if (state_put_group(run->st, &rec) == -1)
				return failed(run, "recording group", name, "out of memory");
			log_info("policy %s: group \"%s\" exists in Jamf Pro (id %ld): taken over",
			    run->policy->name, name, gid);
		} else {
			struct state_group rec = {NULL, (char *)(uintptr_t)name, run->now,
				(char *)(uintptr_t)group_devices(run->kind)};
			long intent;
			char buf[32];

			if (state_begin_group(run->st, &rec, &intent, err, sizeof(err)) != STATE_OK)
				return failed(run, "not creating group", name, err);
			if (jamf_pro_static_group_create(run->pro, run->kind, name, want, nwant, &gid,
			    &r) == -1) {
				if (!jamf_write_unknown(&r))
					(void)state_intent_failed(run->st, intent, r.error, err,
					    sizeof(err));
				failed(run, "creating group", name, r.error);
				jamf_reply_release(&r);
				return -1;
			}
			jamf_reply_release(&r);
			snprintf(buf, sizeof(buf), "%ld", gid);
			if (state_intent_done(run->st, intent, buf, err, sizeof(err)) != STATE_OK)
				return failed(run, "recording group", name, err);
			run->sum->created++;
			snprintf(id, idsize, "%ld", gid);
			return 0;
		}
	}
	snprintf(id, idsize, "%ld", gid);
	/* its members now, from inventory (group memberships include static groups) */
	if (group_members(run, gid, &have, &nhave) == -1)
		return failed(run, "reading the members of group", name, "out of memory");
	for (size_t i = 0; i < nhave; i++) {
		if (bsearch(&have[i], want, nwant, sizeof(*want), cmp_long) != NULL)
			kept++;
		else
			have[ndrop++] = have[i];  /* to drop; the array is only read ahead */
	}
	if (ndrop == 0 && kept == nwant) {
		free(have);
		return 0;
	}
	rc = jamf_pro_static_group_set(run->pro, run->kind, gid, name, want, nwant, have, ndrop,
	    &r);
	free(have);
	if (rc == -1) {
		failed(run, "setting the members of group", name, r.error);
		jamf_reply_release(&r);
		return -1;
	}
	jamf_reply_release(&r);
	run->sum->updated++;
	log_info("policy %s: group \"%s\" now holds %zu device%s", run->policy->name, name, nwant,
	    nwant == 1 ? "" : "s");
	return 0;
}

/* Render the blueprint body for target a scoped to group_uuid; NULL with sum->error set. */
static char *
render_body(struct bp_run *run, const struct decide_action *a, const char *name,
    const char *group_uuid)
{
	char *decl = NULL, *body = NULL;
	struct template_var more[4] = {
		{"blueprint_name", TEMPLATE_STRING, name},
		{"group_uuid", TEMPLATE_STRING, group_uuid},
		{"component", TEMPLATE_STRING, run->component},
		{"declaration", TEMPLATE_JSON, NULL},
	};

	if (enforce_render(&run->decl, run->policy, run->rings[a->ring], a, NULL, 0, &decl,
	    run->sum->error, sizeof(run->sum->error)) == -1)
		return NULL;
	more[3].value = decl;
	if (enforce_render(&run->body, run->policy, run->rings[a->ring], a, more, 4, &body,
	    run->sum->error, sizeof(run->sum->error)) == -1)
		body = NULL;
	free(decl);
	return body;
}

/* The blueprint of a target: adopted, created, or patched when its target moved; deployed. */
static int
ensure_blueprint(struct bp_run *run, const struct decide_action *a, const char *name,
    const char *group_id, const char *group_uuid)
{
	const struct state_blueprint *known = blueprint_by_name(run->st, name);
	struct state_blueprint rec = {0};
	struct jamf_reply r = {0};
	char err[512], *body, *id = NULL;
	long intent;
	int rc = -1;

	if ((body = render_body(run, a, name, group_uuid)) == NULL)
		return -1;
	rec.name = (char *)(uintptr_t)name;
	rec.policy = (char *)(uintptr_t)run->policy->name;
	rec.ring = (char *)(uintptr_t)run->rings[a->ring];
	rec.platform = (char *)(uintptr_t)config_os_name(run->policy->platform);
	rec.version = (char *)(uintptr_t)a->target_version;
	rec.build = (char *)(uintptr_t)enforce_sent_build(a);
	rec.deadline = (char *)(uintptr_t)a->deadline;
	rec.group_id = (char *)(uintptr_t)group_id;
	rec.group_platform_id = (char *)(uintptr_t)group_uuid;
	rec.created_at = run->now;
	if (known == NULL) {
		struct jamf_blueprint *list = NULL;
		size_t n = 0;

		if (jamf_platform_blueprints_list(run->platform, name, &list, &n, &r) == -1) {
			failed(run, "looking up blueprint", name, r.error);
			goto out;
		}
		for (size_t i = 0; i < n && id == NULL; i++)
			if (strcmp(list[i].name, name) == 0 && (id = strdup(list[i].id)) == NULL)
				break;
		jamf_blueprints_free(list, n);
		jamf_reply_release(&r);
		if (id != NULL) {
			/* made by an earlier run whose state is gone: take it over, patch it below */
			rec.id = id;
			rec.version = (char *)(uintptr_t)"";
			if (state_put_blueprint(run->st, &rec) == -1) {
				failed(run, "recording blueprint", name, "out of memory");
				goto out;
			}
			rec.version = (char *)(uintptr_t)a->target_version;
			known = blueprint_by_name(run->st, name);
		} else {
			if (state_begin_blueprint(run->st, &rec, &intent, err, sizeof(err)) != STATE_OK) {
				failed(run, "not creating blueprint", name, err);
				goto out;
			}
			if (jamf_platform_blueprint_create(run->platform, body, &id, &r) == -1) {
				if (!jamf_write_unknown(&r))
					(void)state_intent_failed(run->st, intent, r.error, err,
					    sizeof(err));
				failed(run, "creating blueprint", name, r.error);
				goto out;
			}
			jamf_reply_release(&r);
			if (state_intent_done(run->st, intent, id, err, sizeof(err)) != STATE_OK) {
				failed(run, "recording blueprint", name, err);
				goto out;
			}
			run->sum->created++;
			log_info("policy %s: blueprint \"%s\" created", run->policy->name, name);
			known = blueprint_by_name(run->st, name);
		}
	}
	if (known == NULL) {
		failed(run, "recording blueprint", name, "lost from the state");
		goto out;
	}
	if (!enforce_same_opt(known->version, rec.version) ||
	    !enforce_same_opt(known->build, rec.build) ||
	    !enforce_same_opt(known->deadline, rec.deadline) ||
	    !enforce_same_opt(known->group_platform_id, rec.group_platform_id)) {
		/* the whole body as a merge patch: its members replace what is there */
		if (jamf_platform_blueprint_update(run->platform, known->id, body, &r) == -1) {
			failed(run, "updating blueprint", name, r.error);
			goto out;
		}
		jamf_reply_release(&r);
		rec.id = known->id;
		rec.deployed = false;
		rec.created_at = known->created_at;
		if (state_put_blueprint(run->st, &rec) == -1) {
			failed(run, "recording blueprint", name, "out of memory");
			goto out;
		}
		run->sum->updated++;
		if ((known = blueprint_by_name(run->st, name)) == NULL) {
			failed(run, "recording blueprint", name, "lost from the state");
			goto out;
		}
	}
	if (!known->deployed) {
		if (state_begin_deploy(run->st, known, &intent, err, sizeof(err)) != STATE_OK) {
			failed(run, "not deploying blueprint", name, err);
			goto out;
		}
		if (jamf_platform_blueprint_deploy(run->platform, known->id, &r) == -1) {
			if (!jamf_write_unknown(&r))
				(void)state_intent_failed(run->st, intent, r.error, err, sizeof(err));
			failed(run, "deploying blueprint", name, r.error);
			goto out;
		}
		jamf_reply_release(&r);
		if (state_intent_done(run->st, intent, known->id, err, sizeof(err)) != STATE_OK) {
			failed(run, "recording the deployment of", name, err);
			goto out;
		}
		run->sum->deployed++;
		log_info("policy %s: blueprint \"%s\" deployed", run->policy->name, name);
	}
	rc = 0;
out:
	jamf_reply_release(&r);
	free(id);
	free(body);
	return rc;
}

/*
 * A blueprint of the policy whose target no device needs any more (superseded by a later
 * extra, withdrawn or expired in the feed, or every device moved on): its group is emptied and
 * it is undeployed, so it stops enforcing. Kept, not deleted: the name is reused if the target
 * comes back. names[0..n) are the targets of this run.
 */
static int
retire_stale(struct bp_run *run, char (*names)[NAME_BYTES], size_t n)
{
	for (size_t i = 0; i < run->st->nblueprints; i++) {
		struct state_blueprint rec = run->st->blueprints[i];
		const struct state_group *g;
		struct jamf_reply r = {0};
		bool current = false;
		long gid, *members;
		size_t nmembers;
		int rc;

		if (rec.id == NULL || strcmp(rec.policy, run->policy->name) != 0)
			continue;
		for (size_t k = 0; k < n && !current; k++)
			current = strcmp(names[k], rec.name) == 0;
		if (current)
			continue;
		if ((g = group_by_name(run->st, rec.name)) != NULL) {
			gid = strtol(g->id, NULL, 10);
			if (group_members(run, gid, &members, &nmembers) == -1)
				return failed(run, "reading the members of group", rec.name,
				    "out of memory");
			rc = nmembers == 0 ? 0 : jamf_pro_static_group_set(run->pro, run->kind, gid,
			    rec.name, NULL, 0, members, nmembers, &r);
			free(members);
			if (rc == -1) {
				failed(run, "emptying group", rec.name, r.error);
				jamf_reply_release(&r);
				return -1;
			}
			if (nmembers > 0) {
				jamf_reply_release(&r);
				run->sum->updated++;
			}
		}
		if (rec.deployed) {
			if (jamf_platform_blueprint_undeploy(run->platform, rec.id, &r) == -1)
				return failed(run, "undeploying blueprint", rec.name, r.error);
			jamf_reply_release(&r);
			log_info("policy %s: blueprint \"%s\" undeployed: no device needs its target "
			    "any more", run->policy->name, rec.name);
			/* rec's strings are the stored record's: not to be used after the put */
			rec.deployed = false;
			if (state_put_blueprint(run->st, &rec) == -1)
				return failed(run, "recording blueprint", "(undeployed)", "out of memory");
		}
	}
	return 0;
}

/* Whether a deployment state is final: SUCCEEDED or FAILED. */
static bool
deployment_final(const char *state)
{
	return state != NULL && (strcmp(state, "SUCCEEDED") == 0 || strcmp(state, "FAILED") == 0);
}

size_t
enforce_deployments_running(const struct state *st)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nblueprints; i++)
		if (st->blueprints[i].deployed && !deployment_final(st->blueprints[i].last_state))
			n++;
	return n;
}

/* Read the last deployment of blueprint record i of the state; 0, or -1 (left as it was). */
static int
read_deployment(struct bp_run *run, size_t i)
{
	struct state_blueprint rec = run->st->blueprints[i];
	struct jamf_blueprint b;
	struct jamf_reply r = {0};

	if (jamf_platform_blueprint_get(run->platform, rec.id, &b, &r) != 0) {
		log_warn("policy %s: reading the deployment of blueprint \"%s\": %s",
		    run->policy->name, rec.name, r.fail != JAMF_OK ? r.error : "not found");
		jamf_reply_release(&r);
		return -1;
	}
	jamf_reply_release(&r);
	if (!enforce_same_opt(rec.last_state, b.last_deployment)) {
		if (b.last_deployment != NULL && strcmp(b.last_deployment, "FAILED") == 0)
			log_error("policy %s: the deployment of blueprint \"%s\" FAILED in Jamf",
			    run->policy->name, rec.name);
		else
			log_info("policy %s: blueprint \"%s\": deployment %s", run->policy->name,
			    rec.name, b.last_deployment != NULL ? b.last_deployment : "-");
		rec.last_state = b.last_deployment;
		(void)state_put_blueprint(run->st, &rec);
	}
	jamf_blueprint_release(&b);
	return 0;
}

static double
monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define DEPLOY_POLL_MAX_SECONDS 8L  /* reads start 1 s apart and double up to this */

/*
 * Follow the policy's blueprints: read each one's last deployment, then read again those
 * deployed and still PENDING or DEPLOYING, 1, 2, 4, 8, 8... seconds apart, for up to
 * deploy_wait seconds.
 * A FAILED one counts as refused.
 */
static void
follow_deployments(struct bp_run *run)
{
	double until = monotonic() + (double)run->deploy_wait;
	long pause = 1;
	size_t running;

	for (bool first = true;; first = false) {
		running = 0;
		for (size_t i = 0; i < run->st->nblueprints; i++) {
			const struct state_blueprint *rec = &run->st->blueprints[i];

			if (rec->id == NULL || strcmp(rec->policy, run->policy->name) != 0)
				continue;
			if (!first && (!rec->deployed || deployment_final(rec->last_state)))
				continue;
			if (read_deployment(run, i) == 0 && rec->deployed &&
			    !deployment_final(run->st->blueprints[i].last_state))
				running++;
		}
		if (running == 0 || monotonic() + (double)pause > until)
			break;
		log_info("policy %s: waiting for %zu deployment%s", run->policy->name, running,
		    running == 1 ? "" : "s");
		nanosleep(&(struct timespec){(time_t)pause, 0}, NULL);
		if ((pause *= 2) > DEPLOY_POLL_MAX_SECONDS)
			pause = DEPLOY_POLL_MAX_SECONDS;
	}
	if (running > 0)
		log_info("policy %s: %zu deployment%s still running; the next run follows %s",
		    run->policy->name, running, running == 1 ? " is" : "s are",
		    running == 1 ? "it" : "them");
	for (size_t i = 0; i < run->st->nblueprints; i++) {
		const struct state_blueprint *rec = &run->st->blueprints[i];
		struct jamf_blueprint_report rep;
		struct jamf_reply r = {0};

		if (rec->id == NULL || strcmp(rec->policy, run->policy->name) != 0 || !rec->deployed)
			continue;
		if (rec->last_state != NULL && strcmp(rec->last_state, "FAILED") == 0)
			run->sum->refused++;
		/* what the devices in scope report of the declaration (inventory stays the final
		 * word on compliance) */
		if (jamf_platform_blueprint_report(run->platform, rec->id, &rep, &r) == 0) {
			run->sum->reported[0] += rep.succeeded;
			run->sum->reported[1] += rep.pending;
			run->sum->reported[2] += rep.failed;
		} else {
			log_warn("policy %s: reading the report of blueprint \"%s\": %s",
			    run->policy->name, rec->name, r.error);
		}
		jamf_reply_release(&r);
	}
}

int
enforce_blueprints(struct jamf_session *pro, struct jamf_session *platform, struct state *st,
    const struct config *cfg, const struct config_policy *policy, const char *const *ring_names,
    const struct decide_result *decision, const struct jamf_device *devices, size_t ndevices,
    time_t now, long deploy_wait, struct enforce_summary *sum)
{
	struct bp_run run = {pro, platform, st, cfg, policy, ring_names, devices, ndevices, now,
		deploy_wait, jamf_pro_kind(policy->platform), NULL, {0}, {0}, sum};
	const struct decide_action **todo = NULL;
	struct jamf_reply r = {0};
	char (*names)[NAME_BYTES] = NULL;
	char bsi[GDMF_IDENTITY_BYTES];
	size_t n = 0, ntargets = 0;
	long *ids = NULL;
	int rc = -1;

	memset(sum, 0, sizeof(*sum));
	if (enforce_load_template(policy, TEMPLATE_DECLARATION, &run.decl, sum->error,
	    sizeof(sum->error)) == -1 ||
	    enforce_load_template(policy, TEMPLATE_BLUEPRINT, &run.body, sum->error,
	    sizeof(sum->error)) == -1)
		goto out;
	if ((todo = calloc(decision->n ? decision->n : 1, sizeof(*todo))) == NULL ||
	    (ids = calloc(decision->n ? decision->n : 1, sizeof(long))) == NULL ||
	    (names = calloc(decision->n ? decision->n : 1, sizeof(*names))) == NULL) {
		snprintf(sum->error, sizeof(sum->error), "out of memory");
		goto out;
	}
	for (size_t i = 0; i < decision->n; i++)
		if (decide_sends(decision->v[i].outcome))
			todo[n++] = &decision->v[i];
	if (n > 0) {
		int found = jamf_platform_declaration_component(platform, &run.component, &r);

		if (found != 0) {
			snprintf(sum->error, sizeof(sum->error), "%.600s",
			    found == 1 ? "the Jamf Platform offers no custom-declarations component "
			    "(bridge doctor checks it)" : r.error);
			goto out;
		}
		jamf_reply_release(&r);
	}
	enforce_sort_actions(todo, n);
	for (size_t start = 0; start < n;) {
		size_t end = start, nids = 0;
		char name[NAME_BYTES], gid[32];
		struct jamf_group g;

		while (end < n && enforce_same_target(todo[start], todo[end]))
			ids[nids++] = strtol(devices[todo[end++]->device].id, NULL, 10);
		qsort(ids, nids, sizeof(*ids), cmp_long);  /* ensure_group() searches them */
		enforce_target_name(cfg, policy, ring_names[todo[start]->ring], todo[start], name,
		    sizeof(name));
		memcpy(names[ntargets++], name, sizeof(name));
		if (ensure_group(&run, name, ids, nids, gid, sizeof(gid)) == -1)
			goto out;
		if (jamf_pro_group_find(pro, run.kind, name, &g, &r) != 0 ||
		    g.platform_id == NULL) {
			if (r.fail == JAMF_OK)
				jamf_group_release(&g);
			failed(&run, "reading the platform id of group", name, r.fail != JAMF_OK ?
			    r.error : "Jamf Pro gives none (is it connected to the Jamf Platform?)");
			goto out;
		}
		jamf_reply_release(&r);
		rc = ensure_blueprint(&run, todo[start], name, gid, g.platform_id);
		jamf_group_release(&g);
		if (rc == -1)
			goto out;
		/* the ring has started on this BSI: later rings count their delay from now */
		gdmf_entry_identity(todo[start]->bsi, bsi);
		if (state_note_ring(st, policy->name, ring_names[todo[start]->ring], bsi, now) ==
		    -1) {
			snprintf(sum->error, sizeof(sum->error), "out of memory");
			goto out;
		}
		rc = -1;
		start = end;
	}
	if (retire_stale(&run, names, ntargets) == -1)
		goto out;
	follow_deployments(&run);
	rc = sum->refused == 0 ? 0 : -1;
	if (rc == -1 && sum->error[0] == '\0')
		snprintf(sum->error, sizeof(sum->error), "a blueprint deployment failed");
out:
	jamf_reply_release(&r);
	template_release(&run.decl);
	template_release(&run.body);
	free(run.component);
	free(todo);
	free(ids);
	free(names);
	return rc;
}

int
enforce_reconcile_blueprints(struct jamf_session *pro, struct jamf_session *platform,
    struct state *st, char *err, size_t errlen)
{
	for (size_t i = 0; i < st->nintents; i++) {
		const struct state_intent *in = &st->intents[i];
		struct jamf_reply r = {0};
		char *found = NULL, buf[STATE_MAX_FIELD_BYTES + 1];
		int rc = 0;

		if (!state_intent_unfinished(st, in))
			continue;
		if (in->kind == STATE_KIND_GROUP) {
			struct jamf_group g;

			/* groups recorded before bridge kept their kind are of computers */
			rc = jamf_pro_group_find(pro, in->group.devices != NULL &&
			    strcmp(in->group.devices, group_devices(JAMF_MOBILE)) == 0 ? JAMF_MOBILE :
			    JAMF_COMPUTER, in->group.name, &g, &r);
			if (rc == 0) {
				snprintf(buf, sizeof(buf), "%ld", g.id);
				found = buf;
				jamf_group_release(&g);
			}
		} else if (in->kind == STATE_KIND_BLUEPRINT) {
			struct jamf_blueprint *list = NULL;
			size_t n = 0;

			rc = jamf_platform_blueprints_list(platform, in->blueprint.name, &list, &n, &r);
			for (size_t k = 0; rc == 0 && k < n && found == NULL; k++)
				if (strcmp(list[k].name, in->blueprint.name) == 0) {
					/* a Platform id is a UUID: 36 characters */
					if (strlen(list[k].id) < sizeof(buf))
						found = strcpy(buf, list[k].id);
				}
			jamf_blueprints_free(list, n);
		} else if (in->kind == STATE_KIND_DEPLOY) {
			struct jamf_blueprint b;

			rc = jamf_platform_blueprint_get(platform, in->blueprint.id, &b, &r);
			if (rc == 0) {
				if (b.deployment_state != NULL &&
				    strcmp(b.deployment_state, "NOT_DEPLOYED") != 0)
					found = in->blueprint.id;
				jamf_blueprint_release(&b);
			}
		} else {
			continue;
		}
		if (rc == -1) {
			snprintf(err, errlen, "reconciling intent %ld: %s", in->id, r.error);
			jamf_reply_release(&r);
			return -1;
		}
		jamf_reply_release(&r);
		log_info("reconcile: %s \"%s\" %s", state_kind_name(in->kind), in->kind ==
		    STATE_KIND_GROUP ? in->group.name : in->blueprint.name, found ? "exists" :
		    "was never made");
		if (state_intent_resolve(st, in->id, found, err, errlen) != STATE_OK)
			return -1;
	}
	return 0;
}
