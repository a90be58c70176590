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

struct config_policy;
struct decide_result;
struct jamf_device;
struct jamf_session;
struct state;
struct template;
struct decide_action;

#define ENFORCE_ERROR_BYTES 768

/* What enforcing one policy did. */
struct enforce_summary {
	size_t created;        /* plans created now */
	size_t existing;       /* already had bridge's plan for the same target */
	size_t refused;        /* devices Jamf refused a plan for */
	size_t unknown;        /* sent, answer lost: the next run reconciles them */
	char error[ENFORCE_ERROR_BYTES];  /* the first problem, when there was one */
};

/*
 * Reconcile before creating: resolve every unfinished plan intent by looking its plan up in
 * Jamf, and when the state cannot be trusted (first run, corrupt file), adopt every plan Jamf
 * has that is not finished, so that nothing is created twice. 0, or -1 with err.
 */
int enforce_reconcile_plans(struct jamf_session *pro, struct state *st, time_t now, char *err,
    size_t errlen);

/*
 * Create the plans the decision asks for (ENFORCE and BASE_UPDATE actions), in batches of
 * policy->batch_size, skipping devices that already have bridge's plan for the same target.
 * Checks the plans feature toggle and customVersionEnabled first. ring_names[i] names ring i.
 * Returns 0 when everything asked for exists now, else -1 (sum says what happened).
 */
int enforce_plans(struct jamf_session *pro, struct state *st, const struct config_policy *policy,
    const char *const *ring_names, const struct decide_result *decision,
    const struct jamf_device *devices, time_t now, struct enforce_summary *sum);

struct template_var;

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

#endif
