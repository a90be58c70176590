/*
 * Carrying out the decision through Jamf, exactly once: every create is written to the intent
 * journal before it is sent and completed after, and a run that finds intents unfinished (or
 * no trustworthy state) first reconciles from what Jamf has. This file holds the plan backend
 * (Jamf Pro managed software update plans).
 */
#ifndef BRIDGE_ENFORCE_H
#define BRIDGE_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "template.h"

struct config_policy;
struct decide_result;
struct jamf_device;
struct jamf_session;
struct jamf_plan;
struct jamf_reply;
struct config;
struct state;
struct decide_action;

#define ENFORCE_ERROR_BYTES 768

/* What enforcing one policy did. */
struct enforce_summary {
	size_t created;        /* plans (or groups and blueprints) created now */
	size_t updated;        /* groups whose members changed, blueprints patched */
	size_t deployed;       /* blueprints deployed */
	size_t existing;       /* already had bridge's plan for the same target */
	size_t refused;        /* devices Jamf refused a plan for */
	size_t unknown;        /* sent, answer lost: the next run reconciles them */
	long reported[3];      /* blueprints: devices reporting succeeded, pending, failed */
	char error[ENFORCE_ERROR_BYTES];  /* the first problem, when there was one */
};

/*
 * Reconcile before creating: resolve every unfinished plan intent by looking its plan up in
 * Jamf (the plans of many devices a request, device.deviceId=in=(…), JAMF_PRO_MAX_LISTS
 * requests at a time), so that nothing is created twice. 0, or -1 with err. When the state
 * cannot be trusted (first run, corrupt file), the plans Jamf has are adopted too, from the
 * list of unfinished plans sync reads with the inventory (enforce_adopt_plans(), watch.h).
 */
int enforce_reconcile_plans(struct jamf_session *pro, struct state *st, char *err,
    size_t errlen);

/*
 * Take the plans of a page of Jamf's (plans[0..n)) that are not finished and that st does not
 * hold into st, as bridge's own without a policy, so that none is created again; *adopted
 * counts them. 0, or -1 (r) when out of memory.
 */
int enforce_adopt_plans(struct state *st, const struct jamf_plan *plans, size_t n, time_t now,
    size_t *adopted, struct jamf_reply *r);

/*
 * Create the plans the decision asks for (ENFORCE and BASE_UPDATE actions), in batches of
 * policy->batch_size, skipping devices that already have bridge's plan for the same target.
 * Batches go out max_connections at a time, each journaled before it is sent; while one
 * round travels, the round before is recorded and the next one journaled (a round after a
 * failed request is not sent: its intents are closed as not sent). Checks the plans feature
 * toggle and customVersionEnabled first. ring_names[i] names ring i.
 * Returns 0 when everything asked for exists now, else -1 (sum says what happened).
 */
int enforce_plans(struct jamf_session *pro, struct state *st, const struct config_policy *policy,
    const char *const *ring_names, const struct decide_result *decision,
    const struct jamf_device *devices, time_t now, struct enforce_summary *sum);


/*
 * The blueprint backend (macOS and iOS): per ring and target a static group of exactly the
 * devices that need it and a blueprint holding the custom declaration scoped to it, deployed; the
 * last deployment of each is read back, and those still running are read again every few
 * seconds for up to deploy_wait seconds, until SUCCEEDED or FAILED (the next run follows
 * what is still running then). Nothing is created before it was looked up by name.
 * 0, or -1 with sum->error.
 */
int enforce_blueprints(struct jamf_session *pro, struct jamf_session *platform,
    struct state *st, const struct config *cfg, const struct config_policy *policy,
    const char *const *ring_names, const struct decide_result *decision,
    const struct jamf_device *devices, size_t ndevices, time_t now, long deploy_wait,
    struct enforce_summary *sum);

/* How many of st's blueprints were deployed and their deployment is not final yet. */
size_t enforce_deployments_running(const struct state *st);

/* Resolve unfinished group, blueprint and deploy intents by looking them up; 0 or -1. */
int enforce_reconcile_blueprints(struct jamf_session *pro, struct jamf_session *platform,
    struct state *st, char *err, size_t errlen);

/*
 * Render a template (plan config, declaration or blueprint) for one action: the variables of
 * templates/README.md for the policy, ring and target, plus more (the blueprint's own).
 * Null members are dropped. *out is JSON (free it); 0, or -1 with err naming file and line.
 */
int enforce_render(const struct template *tpl, const struct config_policy *policy,
    const char *ring, const struct decide_action *a, const struct template_var *more,
    size_t nmore, char **out, char *err, size_t errlen);

/* The build a plan or declaration sends: the BSI's for ENFORCE, none for a base update. */
const char *enforce_sent_build(const struct decide_action *a);

/*
 * The name bridge gives the group and blueprint of a target in Jamf, and finds them by:
 * "<name_prefix> <policy> <ring> <platform> <version>[ <extra> <build>]".
 */
void enforce_target_name(const struct config *cfg, const struct config_policy *policy,
    const char *ring, const struct decide_action *a, char *buf, size_t size);

/* Load the template of that kind the policy uses: its own, else the installed default. */
int enforce_load_template(const struct config_policy *policy, enum template_which which,
    struct template *t, char *err, size_t errlen);

/* Sort actions by ring, target version, build and deadline; one target's are then adjacent. */
void enforce_sort_actions(const struct decide_action **v, size_t n);

/* Whether a and b share ring, target version, build and deadline. */
bool enforce_same_target(const struct decide_action *a, const struct decide_action *b);

/* Whether two strings that may be NULL are equal (both NULL counts as equal). */
bool enforce_same_opt(const char *a, const char *b);

#endif
