/*
 * What Jamf Pro's managed software update plans say, in words an admin can act on: the
 * failure reasons of PlanStatus.errorReasons and the phase of PlanStatus.state. Jamf documents
 * neither, so the catalogue is the enums of Jamf Pro 11.25.2 (the same in 11.30.1) explained
 * from how plans run: validation, then DDM (a declaration) or MDM commands, then verification
 * against inventory. Pure tables: no I/O, no allocation.
 *
 * A reason's kind says who has to act. REASON_COMPLIANT is not a verdict: Jamf answers
 * DOWNGRADE_NOT_SUPPORTED (and, for "latest" plans, NO_UPDATES_AVAILABLE) to a device that is
 * already at or past the target, so the caller must look at inventory and alert only when it
 * shows the device below the target.
 */
#ifndef BRIDGE_REASONS_H
#define BRIDGE_REASONS_H

#include <stddef.h>

enum reason_kind {
	REASON_DEVICE,     /* the device could not or did not install: a real failure */
	REASON_SETUP,      /* Jamf / tenant / policy setup is wrong (toggle, config,
	                      declaration, scope): fix once, affects many devices */
	REASON_TRANSIENT,  /* Jamf or Apple service trouble, or another plan in the way:
	                      retry later */
	REASON_COMPLIANT,  /* may just mean the device is already at or past the target
	                      (DOWNGRADE_NOT_SUPPORTED): check inventory before alerting */
};

struct reason_info {
	const char *code;         /* Jamf's errorReasons value */
	enum reason_kind kind;
	const char *explanation;  /* one sentence for admins: what happened */
	const char *hint;         /* one sentence: what to do about it */
};

/*
 * The catalogue entry of a Jamf failure reason, or NULL for one bridge does not know (show it
 * verbatim) and for NULL. The match is exact and case-sensitive, as Jamf sends them. The entry
 * is static: never freed.
 */
const struct reason_info *reason_lookup(const char *code);

/* Every entry, sorted by code (strcmp), for tests and docs: *n gets the count. Static. */
const struct reason_info *reason_all(size_t *n);

/* "device", "setup", "transient", "compliant"; "?" for a value outside the enum. */
const char *reason_kind_name(enum reason_kind k);

enum plan_phase {
	PLAN_PENDING,      /* created, not yet validated: Init, PendingPlanValidation */
	PLAN_IN_PROGRESS,  /* accepted and running, or on its way to PlanFailed (RejectingPlan) */
	PLAN_COMPLETED,    /* PlanCompleted: Jamf verified the install (or a download) */
	PLAN_FAILED,       /* PlanFailed, PlanException: errorReasons says why */
	PLAN_CANCELED,     /* PlanCanceled: stopped early, e.g. the plans feature was turned off */
	PLAN_UNKNOWN,      /* "Unknown", a state Jamf added after 11.25.2, or none */
};

/*
 * The phase of a PlanStatus.state value (exact, case-sensitive): Init and
 * PendingPlanValidation are PENDING; PlanCompleted COMPLETED; PlanFailed and PlanException
 * FAILED; PlanCanceled CANCELED; "Unknown", NULL and any value not in the enum UNKNOWN; the
 * rest IN_PROGRESS. RejectingPlan counts as IN_PROGRESS: validation has failed, but the plan is
 * not final and its errorReasons are complete only once it reaches PlanFailed.
 */
enum plan_phase plan_phase_of(const char *state);

/* "pending", "in_progress", "completed", "failed", "canceled", "unknown"; "?" outside. */
const char *plan_phase_name(enum plan_phase p);

/* Every PlanStatus.state value bridge knows, in Jamf's order (for tests); *n gets the count. */
const char *const *plan_states_all(size_t *n);

#endif
