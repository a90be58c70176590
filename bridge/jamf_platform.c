/*
 * The Jamf Platform API: device groups, blueprint components and blueprints. Paths are the
 * production form (namespace first, no /v1/tenant/{tenantId}); field names, paging and
 * answers follow Jamf's published schemas (tests/fixtures/jamf/platform-*.json). Every
 * answer is untrusted: members are read through json.h and copied into our structs. Each
 * function leaves the last answer in r, which the caller releases as after jamf_request().
 */
#include "jamf_platform.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUPS_PATH "/device-groups/v1/device-groups"
#define COMPONENTS_PATH "/blueprints/v1/blueprint-components"
#define BLUEPRINTS_PATH "/blueprints/v1/blueprints"

/* Both schemas page with page (0-based) and page-size (default 100, no documented maximum). */
#define PAGE_SIZE 100
#define MAX_PAGES 200  /* 20000 items: far beyond any tenant, short of a server that never ends */

/* The identifiers the custom declarations component has had, most current first. */
static const char *const declaration_components[] = {
	JAMF_PLATFORM_CUSTOM_DECLARATIONS,
	"com.jamf.ddm-strict",
	"com.jamf.ddm.free-form",
};
#define NCOMPONENTS (sizeof(declaration_components) / sizeof(declaration_components[0]))

/* A 2xx answer to method path (no query) that lacks what; returns -1. */
static int
bad_reply(const struct jamf_session *s, struct jamf_reply *r, const char *method,
    const char *path, const char *what)
{
	return jamf_reply_fail(r, JAMF_FAIL_BAD_REPLY, "%s %s %s: the answer has no %s", s->name, method,
	    path, what);
}

/* Allocation failed; returns -1 (reported like jamf.c does). */
static int
no_memory(const struct jamf_session *s, struct jamf_reply *r)
{
	return jamf_reply_fail(r, JAMF_FAIL_TRANSPORT, "%s: out of memory", s->name);
}

/* Write "/blueprints/v1/blueprints/<id><suffix>" into buf; 0, or -1 with r set. */
static int
blueprint_path(const struct jamf_session *s, const char *id, const char *suffix, char *buf,
    size_t size, struct jamf_reply *r)
{
	char enc[JAMF_MAX_URL / 2];
	int n;

	if (id == NULL || id[0] == '\0' || jamf_url_encode(id, enc, sizeof(enc)) == -1)
		return jamf_reply_fail(r, JAMF_FAIL_REJECTED, "%s: blueprint id \"%.64s\" is empty or too long",
		    s->name, id != NULL ? id : "");
	n = snprintf(buf, size, "%s/%s%s", BLUEPRINTS_PATH, enc, suffix);
	if (n < 0 || (size_t)n >= size)
		return jamf_reply_fail(r, JAMF_FAIL_REJECTED, "%s: blueprint path too long", s->name);
	return 0;
}

/* What a pager hands each item of a page: returns 0 to go on, 1 to stop, -1 on error. */
struct pager {
	struct jamf_session *s;
	const char *path;    /* without query, for messages */
	const char *query;   /* "filter=...&" or "" */
	int (*item)(struct pager *pg, const cJSON *item, struct jamf_reply *r);
	void *ctx;
};

/* Whether a page after page follows, from hasNext, else totalCount, else a full page. */
static bool
more_pages(const cJSON *reply, long page, int got)
{
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(reply, "hasNext");
	long total;

	if (got == 0)
		return false;
	if (cJSON_IsBool(next))
		return cJSON_IsTrue(next);
	if (json_long(reply, "totalCount", &total))
		return (page + 1) * PAGE_SIZE < total;
	return got == PAGE_SIZE;
}

/* GET every page of pg->path and hand each result to pg->item; 0 or -1 (r says why). */
static int
page_through(struct pager *pg, struct jamf_reply *r)
{
	char url[JAMF_MAX_URL];

	for (long page = 0; page < MAX_PAGES; page++) {
		const cJSON *results, *item;
		int n;

		n = snprintf(url, sizeof(url), "%s?%spage=%ld&page-size=%d", pg->path, pg->query,
		    page, PAGE_SIZE);
		if (n < 0 || (size_t)n >= sizeof(url))
			return jamf_reply_fail(r, JAMF_FAIL_REJECTED, "%s: query for %s too long", pg->s->name,
			    pg->path);
		if (page > 0)
			jamf_reply_release(r);
		if (jamf_get(pg->s, url, r) == -1)
			return -1;
		if ((results = json_arr(r->json, "results")) == NULL)
			return bad_reply(pg->s, r, "GET", pg->path, "\"results\" list");
		cJSON_ArrayForEach(item, results) {
			int rc = pg->item(pg, item, r);

			if (rc != 0)
				return rc == 1 ? 0 : -1;
		}
		if (!more_pages(r->json, page, cJSON_GetArraySize(results)))
			return 0;
	}
	return jamf_reply_fail(r, JAMF_FAIL_BAD_REPLY, "%s GET %s: more than %d pages of %d", pg->s->name,
	    pg->path, MAX_PAGES, PAGE_SIZE);
}

/* Device groups named exactly like the one sought. */
struct group_search {
	const char *name;
	char *uuid;
};

/* Take the id of a group whose name is exactly the one sought; a second one is an error. */
static int
group_item(struct pager *pg, const cJSON *item, struct jamf_reply *r)
{
	struct group_search *gs = pg->ctx;
	const char *name = json_str(item, "name"), *id = json_str(item, "id");
	bool oom = false;

	if (name == NULL || id == NULL || id[0] == '\0')
		return bad_reply(pg->s, r, "GET", pg->path,
		    name == NULL ? "group \"name\"" : "group \"id\"");
	if (strcmp(name, gs->name) != 0)
		return 0;  /* RSQL matched a wildcard or ignored case */
	if (gs->uuid != NULL)
		return jamf_reply_fail(r, JAMF_FAIL_CONFLICT, "%s: device group name \"%s\" is ambiguous: "
		    "more than one group has it", pg->s->name, gs->name);
	if ((gs->uuid = json_dup(id, &oom)) == NULL)
		return no_memory(pg->s, r);
	return 0;
}

int
jamf_platform_group_find(struct jamf_session *s, const char *name, char **uuid,
    struct jamf_reply *r)
{
	char value[JAMF_MAX_URL / 2], query[JAMF_MAX_URL / 2 + 32];
	struct group_search gs = {name, NULL};
	struct pager pg = {s, GROUPS_PATH, query, group_item, &gs};

	*uuid = NULL;
	memset(r, 0, sizeof(*r));
	if (jamf_rsql_value(name, value, sizeof(value)) == -1)
		return jamf_reply_fail(r, JAMF_FAIL_REJECTED, "%s: device group name \"%.64s...\" is too long",
		    s->name, name);
	snprintf(query, sizeof(query), "filter=name==%s&", value);
	if (page_through(&pg, r) == -1) {
		free(gs.uuid);
		return -1;
	}
	*uuid = gs.uuid;
	return gs.uuid != NULL ? 0 : 1;
}

/* Which of declaration_components the tenant offers: the best index so far, or NCOMPONENTS. */
struct component_search {
	size_t best;
};

/* Note the item's identifier when it is a better custom declarations component. */
static int
component_item(struct pager *pg, const cJSON *item, struct jamf_reply *r)
{
	struct component_search *cs = pg->ctx;
	const char *identifier = json_str(item, "identifier");

	if (identifier == NULL)
		return bad_reply(pg->s, r, "GET", pg->path, "component \"identifier\"");
	for (size_t i = 0; i < cs->best; i++)
		if (strcmp(identifier, declaration_components[i]) == 0)
			cs->best = i;
	return cs->best == 0 ? 1 : 0;  /* the preferred one: no need to read on */
}

int
jamf_platform_declaration_component(struct jamf_session *s, char **identifier,
    struct jamf_reply *r)
{
	struct component_search cs = {NCOMPONENTS};
	struct pager pg = {s, COMPONENTS_PATH, "", component_item, &cs};

	*identifier = NULL;
	memset(r, 0, sizeof(*r));
	if (page_through(&pg, r) == -1)
		return -1;
	if (cs.best == NCOMPONENTS)
		return 1;
	if ((*identifier = strdup(declaration_components[cs.best])) == NULL)
		return no_memory(s, r);
	return 0;
}

void
jamf_blueprint_release(struct jamf_blueprint *b)
{
	free(b->id);
	free(b->name);
	free(b->description);
	free(b->deployment_state);
	free(b->last_deployment);
	for (size_t i = 0; i < b->ngroups; i++)
		free(b->groups[i]);
	free(b->groups);
	cJSON_Delete(b->raw);
	memset(b, 0, sizeof(*b));
}

void
jamf_blueprints_free(struct jamf_blueprint *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		jamf_blueprint_release(&v[i]);
	free(v);
}

/*
 * Copy scope.deviceGroups (absent in list answers) into b. 0, or -1 with *bad naming the
 * malformed member, or with *bad NULL when out of memory.
 */
static int
groups_parse(const cJSON *obj, struct jamf_blueprint *b, const char **bad)
{
	const cJSON *scope = json_obj(obj, "scope");
	const cJSON *list = json_arr(scope, "deviceGroups"), *g;
	int n = cJSON_GetArraySize(list);

	*bad = "valid \"scope.deviceGroups\" list";
	if (scope == NULL)
		return 0;
	if (list == NULL)
		return -1;
	if (n > 0 && (b->groups = calloc((size_t)n, sizeof(*b->groups))) == NULL) {
		*bad = NULL;
		return -1;
	}
	cJSON_ArrayForEach(g, list) {
		if (!cJSON_IsString(g) || g->valuestring == NULL || g->valuestring[0] == '\0' ||
		    strnlen(g->valuestring, JSON_MAX_STRING_BYTES + 1) > JSON_MAX_STRING_BYTES)
			return -1;
		if ((b->groups[b->ngroups++] = strdup(g->valuestring)) == NULL) {
			*bad = NULL;
			return -1;
		}
	}
	return 0;
}

/*
 * Copy a blueprint object (BlueprintOverview or BlueprintDetail) into b: id and name are
 * required; deploymentState.state and deploymentState.lastDeployment.state (nullable) are
 * kept as sent when present. 0, or -1 with *bad as for groups_parse() (release b either way).
 */
static int
blueprint_parse(const cJSON *obj, struct jamf_blueprint *b, const char **bad)
{
	const cJSON *state = json_obj(obj, "deploymentState");
	const cJSON *last = json_obj(state, "lastDeployment");
	const char *id = json_str(obj, "id"), *name = json_str(obj, "name");
	bool oom = false;

	memset(b, 0, sizeof(*b));
	*bad = id == NULL || id[0] == '\0' ? "blueprint \"id\"" : "blueprint \"name\"";
	if (id == NULL || id[0] == '\0' || name == NULL)
		return -1;
	b->id = json_dup(id, &oom);
	b->name = json_dup(name, &oom);
	b->description = json_dup(json_str(obj, "description"), &oom);
	b->deployment_state = json_dup(json_str(state, "state"), &oom);
	b->last_deployment = json_dup(json_str(last, "state"), &oom);
	b->raw = cJSON_Duplicate(obj, true);
	if (oom || b->raw == NULL) {
		*bad = NULL;
		return -1;
	}
	return groups_parse(obj, b, bad);
}

/* Blueprints whose name starts with prefix, collected across pages. */
struct blueprint_search {
	const char *prefix;
	struct jamf_blueprint *v;
	size_t n, cap;
};

/* Whether id is already collected: a blueprint created while paging shifts the pages. */
static bool
blueprint_seen(const struct blueprint_search *bs, const char *id)
{
	for (size_t i = 0; i < bs->n; i++)
		if (strcmp(bs->v[i].id, id) == 0)
			return true;
	return false;
}

/* Collect the item when its name starts with the prefix. */
static int
blueprint_item(struct pager *pg, const cJSON *item, struct jamf_reply *r)
{
	struct blueprint_search *bs = pg->ctx;
	const char *name = json_str(item, "name"), *id = json_str(item, "id"), *bad;

	if (name == NULL || id == NULL)
		return bad_reply(pg->s, r, "GET", pg->path,
		    name == NULL ? "blueprint \"name\"" : "blueprint \"id\"");
	if (strncmp(name, bs->prefix, strlen(bs->prefix)) != 0 || blueprint_seen(bs, id))
		return 0;
	if (bs->n == bs->cap) {
		size_t cap = bs->cap == 0 ? 16 : bs->cap * 2;
		struct jamf_blueprint *v = realloc(bs->v, cap * sizeof(*v));

		if (v == NULL)
			return no_memory(pg->s, r);
		bs->v = v;
		bs->cap = cap;
	}
	if (blueprint_parse(item, &bs->v[bs->n], &bad) == -1) {
		jamf_blueprint_release(&bs->v[bs->n]);
		return bad != NULL ? bad_reply(pg->s, r, "GET", pg->path, bad) :
		    no_memory(pg->s, r);
	}
	bs->n++;
	return 0;
}

/*
 * The list endpoint has no name filter (only search=, which matches name and description in
 * ways the schema does not define), so the prefix is applied here, on every page.
 */
int
jamf_platform_blueprints_list(struct jamf_session *s, const char *prefix,
    struct jamf_blueprint **out, size_t *n, struct jamf_reply *r)
{
	struct blueprint_search bs = {prefix != NULL ? prefix : "", NULL, 0, 0};
	struct pager pg = {s, BLUEPRINTS_PATH, "", blueprint_item, &bs};

	*out = NULL;
	*n = 0;
	memset(r, 0, sizeof(*r));
	if (page_through(&pg, r) == -1) {
		jamf_blueprints_free(bs.v, bs.n);
		return -1;
	}
	*out = bs.v;
	*n = bs.n;
	return 0;
}

int
jamf_platform_blueprint_get(struct jamf_session *s, const char *id,
    struct jamf_blueprint *out, struct jamf_reply *r)
{
	char path[JAMF_MAX_URL];
	const char *bad;

	memset(out, 0, sizeof(*out));
	memset(r, 0, sizeof(*r));
	if (blueprint_path(s, id, "", path, sizeof(path), r) == -1)
		return -1;
	if (jamf_get(s, path, r) == -1)
		return r->fail == JAMF_FAIL_NOT_FOUND ? 1 : -1;
	if (blueprint_parse(r->json, out, &bad) == -1) {
		jamf_blueprint_release(out);
		return bad != NULL ? bad_reply(s, r, "GET", path, bad) : no_memory(s, r);
	}
	return 0;
}

int
jamf_platform_blueprint_create(struct jamf_session *s, const char *body, char **id,
    struct jamf_reply *r)
{
	struct jamf_call call = {"POST", BLUEPRINTS_PATH, NULL, body, strlen(body), false};
	const char *got;
	bool oom = false;

	*id = NULL;
	if (jamf_request(s, &call, r) == -1)
		return -1;
	/* CreateResponse: {id, href}; the Location header is not available to us */
	if ((got = json_str(r->json, "id")) == NULL || got[0] == '\0')
		return bad_reply(s, r, "POST", BLUEPRINTS_PATH, "blueprint \"id\"");
	if ((*id = json_dup(got, &oom)) == NULL)
		return no_memory(s, r);
	return 0;
}

int
jamf_platform_blueprint_update(struct jamf_session *s, const char *id, const char *patch,
    struct jamf_reply *r)
{
	char path[JAMF_MAX_URL];
	struct jamf_call call = {"PATCH", path, "application/merge-patch+json", patch,
	    strlen(patch), false};

	memset(r, 0, sizeof(*r));
	if (blueprint_path(s, id, "", path, sizeof(path), r) == -1)
		return -1;
	return jamf_request(s, &call, r);
}

/* POST .../{id}/deploy or /undeploy (suffix), which answers 202 with no body; 0 or -1. */
static int
blueprint_action(struct jamf_session *s, const char *id, const char *suffix,
    struct jamf_reply *r)
{
	char path[JAMF_MAX_URL];
	struct jamf_call call = {"POST", path, NULL, NULL, 0, false};

	memset(r, 0, sizeof(*r));
	if (blueprint_path(s, id, suffix, path, sizeof(path), r) == -1)
		return -1;
	if (jamf_request(s, &call, r) == -1)
		return -1;
	if (r->status != 202 && r->status != 200 && r->status != 204)
		return jamf_reply_fail(r, JAMF_FAIL_BAD_REPLY, "%s POST %s: answered %ld, not 202 (started)",
		    s->name, path, r->status);
	return 0;
}

int
jamf_platform_blueprint_deploy(struct jamf_session *s, const char *id, struct jamf_reply *r)
{
	return blueprint_action(s, id, "/deploy", r);
}

int
jamf_platform_blueprint_undeploy(struct jamf_session *s, const char *id,
    struct jamf_reply *r)
{
	return blueprint_action(s, id, "/undeploy", r);
}

/*
 * The device counts of the blueprint's deployment, from BlueprintStatusDetail, whose
 * members map one to one: succeeded -> succeeded, pending -> pending, failed -> failed
 * (all three required, int32). 0 or -1.
 */
int
jamf_platform_blueprint_report(struct jamf_session *s, const char *id,
    struct jamf_blueprint_report *out, struct jamf_reply *r)
{
	char path[JAMF_MAX_URL];

	memset(out, 0, sizeof(*out));
	memset(r, 0, sizeof(*r));
	if (blueprint_path(s, id, "/report", path, sizeof(path), r) == -1)
		return -1;
	if (jamf_get(s, path, r) == -1)
		return -1;
	if (!json_long(r->json, "succeeded", &out->succeeded) || out->succeeded < 0)
		return bad_reply(s, r, "GET", path, "count \"succeeded\"");
	if (!json_long(r->json, "pending", &out->pending) || out->pending < 0)
		return bad_reply(s, r, "GET", path, "count \"pending\"");
	if (!json_long(r->json, "failed", &out->failed) || out->failed < 0)
		return bad_reply(s, r, "GET", path, "count \"failed\"");
	return 0;
}

int
jamf_platform_blueprint_delete(struct jamf_session *s, const char *id, struct jamf_reply *r)
{
	char path[JAMF_MAX_URL];
	struct jamf_call call = {"DELETE", path, NULL, NULL, 0, false};

	memset(r, 0, sizeof(*r));
	if (blueprint_path(s, id, "", path, sizeof(path), r) == -1)
		return -1;
	if (jamf_request(s, &call, r) == -1 && r->fail != JAMF_FAIL_NOT_FOUND)
		return -1;
	r->fail = JAMF_OK;  /* 404: already gone, which is what was asked */
	r->error[0] = '\0';
	return 0;
}
