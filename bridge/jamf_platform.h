/*
 * The Jamf Platform API (Blueprints live here): device groups by name, the blueprint
 * components the tenant offers, and blueprints: list, get, create, update (merge patch),
 * deploy, undeploy, report, delete. Calls go through a jamf_session (JAMF_API_PLATFORM),
 * which adds the bearer token and X-Environment-Id.
 */
#ifndef BRIDGE_JAMF_PLATFORM_H
#define BRIDGE_JAMF_PLATFORM_H

#include <stddef.h>

#include "jamf.h"

/* The component that carries custom declarations, under its known identifiers. */
#define JAMF_PLATFORM_CUSTOM_DECLARATIONS "com.jamf.ddm.custom-declarations"

struct jamf_blueprint {
	char *id;
	char *name;
	char *description;
	char *deployment_state;   /* NOT_DEPLOYED, DEPLOYED, OUT_OF_DATE, or NULL */
	char *last_deployment;    /* PENDING, DEPLOYING, SUCCEEDED, FAILED, or NULL */
	char **groups;            /* scope.deviceGroups: platform group UUIDs */
	size_t ngroups;
	cJSON *raw;               /* the whole object as the API sent it */
};

struct jamf_blueprint_report {
	long succeeded;
	long pending;
	long failed;
};

/*
 * The platform UUID of the device group named exactly name (RSQL filter, then an exact
 * comparison, since * is a wildcard in RSQL). Returns 0 with *uuid (free it), 1 when there
 * is no such group, -1 on error (r says why).
 */
int jamf_platform_group_find(struct jamf_session *s, const char *name, char **uuid,
    struct jamf_reply *r);

/*
 * Which custom-declaration component the tenant offers: com.jamf.ddm.custom-declarations,
 * else com.jamf.ddm-strict or com.jamf.ddm.free-form. 0 with *identifier (free it), 1 when
 * the tenant offers none of them, -1 on error.
 */
int jamf_platform_declaration_component(struct jamf_session *s, char **identifier,
    struct jamf_reply *r);

/* Every blueprint whose name starts with prefix (all pages). 0 or -1. Free with the below. */
int jamf_platform_blueprints_list(struct jamf_session *s, const char *prefix,
    struct jamf_blueprint **out, size_t *n, struct jamf_reply *r);

/* One blueprint by id; 0, 1 when it does not exist, -1 on error. */
int jamf_platform_blueprint_get(struct jamf_session *s, const char *id,
    struct jamf_blueprint *out, struct jamf_reply *r);

/* Create from a JSON body ({name, description, scope, steps}); 0 with *id (free it) or -1. */
int jamf_platform_blueprint_create(struct jamf_session *s, const char *body, char **id,
    struct jamf_reply *r);

/* Update with an RFC 7396 merge patch (sent as application/merge-patch+json); 0 or -1. */
int jamf_platform_blueprint_update(struct jamf_session *s, const char *id, const char *patch,
    struct jamf_reply *r);

/* Start a deployment (202: asynchronous) or an undeployment; 0 or -1. */
int jamf_platform_blueprint_deploy(struct jamf_session *s, const char *id, struct jamf_reply *r);
int jamf_platform_blueprint_undeploy(struct jamf_session *s, const char *id,
    struct jamf_reply *r);

int jamf_platform_blueprint_report(struct jamf_session *s, const char *id,
    struct jamf_blueprint_report *out, struct jamf_reply *r);

/* Delete; 0 (also when it was already gone) or -1. */
int jamf_platform_blueprint_delete(struct jamf_session *s, const char *id, struct jamf_reply *r);

void jamf_blueprint_release(struct jamf_blueprint *b);
void jamf_blueprints_free(struct jamf_blueprint *v, size_t n);

#endif
