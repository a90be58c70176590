/*
 * jamf-probe: drive bridge's Jamf Pro and Jamf Platform clients (libbridge.a, the same code
 * the bridge binary runs) against a server, one step after another in one process, so that
 * the integration tests can check what a long run sees: tokens renewed mid-run, one fresh
 * token after a 401, concurrency, RSQL quoting, merge-patch bodies. Not installed.
 *
 *   jamf-probe POLICY-FILE STEP [-- STEP ...]
 *
 * Steps (one JSON line is printed per step; the first failing step ends the run with exit 1,
 * printing {"step", "error", "fail"}):
 *   inventory computer|mobile [ID] {"devices", "requests", "first": {...}, "device": {...}}
 *   group computer|mobile NAME     {"id", "smart", "platform_id"} or {"found": false}
 *   members computer|mobile ID     {"members": [ids]}
 *   static-create KIND NAME [ID...]                {"id"}
 *   static-set KIND ID NAME [ID...] [- DROP...]    {}   (DROP: members to remove)
 *   toggle                         {"toggle", "custom_version", "busy"}
 *   plans computer VERSION BUILD|- FORCE BATCH ID...     {"plans": [{"device", "plan"}]}
 *   plans-group computer GROUP VERSION BUILD|- FORCE     {"plans": [...]}
 *   plans-list [RSQL]              {"plans": [{"id", "device", "state", "reasons"}]}
 *   plan ID                        {"id", "state", ...}
 *   events ID                      {"length"}
 *   ddm MANAGEMENT-ID              {"items": {key: value}}
 *   pf-group NAME                  {"uuid"} or {"found": false}
 *   pf-component                   {"identifier"}
 *   bp-list PREFIX                 {"blueprints": [{"id", "name", "state", "last"}]}
 *   bp-create FILE                 {"id"}
 *   bp-get ID                      {"id", "name", "state", "last", "groups"}
 *   bp-update ID FILE              {}      (the file holds the merge patch)
 *   bp-deploy ID | bp-undeploy ID | bp-delete ID          {}
 *   bp-report ID                   {"succeeded", "pending", "failed"}
 *   wait-file PATH                 {}      (blocks until PATH exists, for tests to step in)
 *   tokens                         {"pro", "platform"}  (tokens issued so far)
 *   close                          {}      (give tokens back, as the end of a run does)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fileio.h"
#include "http.h"
#include "jamf.h"
#include "jamf_platform.h"
#include "jamf_pro.h"
#include "log.h"

struct probe {
	struct config cfg;
	struct http_client *http;
	struct jamf_session pro;
	struct jamf_session platform;
	bool platform_ready;
};

static void
emit(cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);

	printf("%s\n", text != NULL ? text : "{}");
	fflush(stdout);
	free(text);
	cJSON_Delete(o);
}

static const char *
fail_name(enum jamf_fail f)
{
	static const char *const names[] = {"ok", "transport", "tls", "auth", "forbidden",
		"not_found", "conflict", "rejected", "server", "bad_reply"};

	return names[f];
}

static enum jamf_kind
kind_of(const char *s)
{
	return strcmp(s, "mobile") == 0 ? JAMF_MOBILE : JAMF_COMPUTER;
}

static char *
read_text(const char *path)
{
	char *text = NULL;
	size_t len;

	if (fileio_read(path, 1024 * 1024, &text, &len) != FILEIO_OK) {
		fprintf(stderr, "jamf-probe: cannot read %s\n", path);
		exit(2);
	}
	return text;
}

static struct jamf_session *
platform(struct probe *p)
{
	char err[256];

	if (!p->platform_ready) {
		if (jamf_session_init(&p->platform, JAMF_API_PLATFORM, &p->cfg, &p->cfg.tenants[0],
		    p->http, err, sizeof(err)) == -1) {
			fprintf(stderr, "jamf-probe: %s\n", err);
			exit(2);
		}
		p->platform_ready = true;
	}
	return &p->platform;
}

/* Whether the inventory's devices are in ascending id order, as Jamf sorted them. */
static bool
ids_ascend(const struct jamf_inventory *inv)
{
	for (size_t i = 1; i < inv->n; i++)
		if (strtol(inv->v[i - 1].id, NULL, 10) >= strtol(inv->v[i].id, NULL, 10))
			return false;
	return true;
}

static cJSON *
ids_json(const long *ids, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)ids[i]));
	return a;
}

/* One inventory record as JSON, every field (null when Jamf gave none). */
static cJSON *
device_json(const struct jamf_device *d)
{
	cJSON *o = cJSON_CreateObject();

	json_add_str_or_null(o, "id", d->id);
	json_add_str_or_null(o, "name", d->name);
	json_add_str_or_null(o, "serial", d->serial);
	json_add_str_or_null(o, "management_id", d->management_id);
	json_add_str_or_null(o, "version", d->version);
	json_add_str_or_null(o, "build", d->build);
	json_add_str_or_null(o, "supplemental_build", d->supplemental_build);
	json_add_str_or_null(o, "extra", d->extra);
	json_add_str_or_null(o, "model", d->model_id);
	cJSON_AddItemToObject(o, "groups", ids_json(d->groups, d->ngroups));
	return o;
}

static cJSON *
refs_json(const struct jamf_plan_ref *refs, size_t n)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "plans");

	for (size_t i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "device", refs[i].device_id);
		cJSON_AddStringToObject(e, "plan", refs[i].plan_id);
		cJSON_AddItemToArray(a, e);
	}
	return o;
}

static cJSON *
plan_json(const struct jamf_plan *pl)
{
	cJSON *o = cJSON_CreateObject(), *reasons = cJSON_AddArrayToObject(o, "reasons");

	json_add_str_or_null(o, "id", pl->id);
	json_add_str_or_null(o, "device", pl->device_id);
	json_add_str_or_null(o, "state", pl->state);
	json_add_str_or_null(o, "version", pl->version);
	json_add_str_or_null(o, "build", pl->build);
	json_add_str_or_null(o, "version_type", pl->version_type);
	for (size_t i = 0; i < pl->nreasons; i++)
		cJSON_AddItemToArray(reasons, cJSON_CreateString(pl->reasons[i]));
	return o;
}

static cJSON *
blueprint_json(const struct jamf_blueprint *b)
{
	cJSON *o = cJSON_CreateObject(), *g = cJSON_AddArrayToObject(o, "groups");

	json_add_str_or_null(o, "id", b->id);
	json_add_str_or_null(o, "name", b->name);
	json_add_str_or_null(o, "state", b->deployment_state);
	json_add_str_or_null(o, "last", b->last_deployment);
	for (size_t i = 0; i < b->ngroups; i++)
		cJSON_AddItemToArray(g, cJSON_CreateString(b->groups[i]));
	return o;
}

/* Collect ids from argv[from..argc) as strings (plans) or longs (groups). */
static long *
long_args(int argc, char **argv, int from, size_t *n)
{
	long *v = calloc((size_t)(argc > from ? argc - from : 1), sizeof(long));

	*n = 0;
	for (int i = from; v != NULL && i < argc; i++)
		v[(*n)++] = strtol(argv[i], NULL, 10);
	return v;
}

/* Run one step (argv[0] is its name); 0, or -1 with r describing the failure. */
static int
step(struct probe *p, int argc, char **argv, struct jamf_reply *r)
{
	const char *cmd = argv[0];
	cJSON *out = cJSON_CreateObject();
	int rc = 0;

#define NEED(n) do { if (argc < (n)) { fprintf(stderr, "jamf-probe: %s: missing arguments\n", \
	cmd); exit(2); } } while (0)
	if (strcmp(cmd, "inventory") == 0) {
		struct jamf_inventory inv;

		NEED(2);
		if ((rc = jamf_pro_inventory(&p->pro, kind_of(argv[1]), NULL,
		    JAMF_INVENTORY_SERIALS, &inv, r)) == 0) {
			cJSON_AddNumberToObject(out, "devices", (double)inv.n);
			cJSON_AddNumberToObject(out, "requests", (double)inv.requests);
			cJSON_AddBoolToObject(out, "ascending", ids_ascend(&inv));
			if (inv.n > 0) {
				cJSON_AddStringToObject(out, "last_id", inv.v[inv.n - 1].id);
				cJSON_AddItemToObject(out, "first", device_json(&inv.v[0]));
			}
			for (size_t i = 0; argc > 2 && i < inv.n; i++)
				if (strcmp(inv.v[i].id, argv[2]) == 0)
					cJSON_AddItemToObject(out, "device", device_json(&inv.v[i]));
			jamf_inventory_release(&inv);
		}
	} else if (strcmp(cmd, "group") == 0) {
		struct jamf_group g;

		NEED(3);
		rc = jamf_pro_group_find(&p->pro, kind_of(argv[1]), argv[2], &g, r);
		if (rc == 0) {
			cJSON_AddNumberToObject(out, "id", (double)g.id);
			cJSON_AddBoolToObject(out, "smart", g.smart);
			json_add_str_or_null(out, "platform_id", g.platform_id);
			jamf_group_release(&g);
		} else if (rc == 1) {
			cJSON_AddBoolToObject(out, "found", 0);
			rc = 0;
		}
	} else if (strcmp(cmd, "members") == 0) {
		long *ids;
		size_t n;

		NEED(3);
		if ((rc = jamf_pro_smart_members(&p->pro, kind_of(argv[1]), strtol(argv[2], NULL, 10),
		    &ids, &n, r)) == 0) {
			cJSON_AddItemToObject(out, "members", ids_json(ids, n));
			free(ids);
		}
	} else if (strcmp(cmd, "static-create") == 0) {
		size_t n;
		long id, *ids;

		NEED(3);
		ids = long_args(argc, argv, 3, &n);
		if ((rc = jamf_pro_static_group_create(&p->pro, kind_of(argv[1]), argv[2], ids, n,
		    &id, r)) == 0)
			cJSON_AddNumberToObject(out, "id", (double)id);
		free(ids);
	} else if (strcmp(cmd, "static-set") == 0) {
		size_t n, ndrop = 0;
		long *ids, *drop;
		int dash = 4;

		NEED(4);
		while (dash < argc && strcmp(argv[dash], "-") != 0)
			dash++;
		ids = long_args(dash, argv, 4, &n);
		drop = long_args(argc, argv, dash + 1, &ndrop);
		rc = jamf_pro_static_group_set(&p->pro, kind_of(argv[1]), strtol(argv[2], NULL, 10),
		    argv[3], ids, n, drop, ndrop, r);
		free(ids);
		free(drop);
	} else if (strcmp(cmd, "toggle") == 0) {
		struct jamf_toggle t;
		bool busy = false;

		if ((rc = jamf_pro_toggle_check(&p->pro, &t, &busy, r)) == 0) {
			cJSON_AddBoolToObject(out, "toggle", t.toggle);
			cJSON_AddBoolToObject(out, "custom_version", t.custom_version);
			cJSON_AddBoolToObject(out, "busy", busy);
		}
	} else if (strcmp(cmd, "plans") == 0 || strcmp(cmd, "plans-group") == 0) {
		bool group = strcmp(cmd, "plans-group") == 0;
		struct jamf_plan_config pc = {0};
		struct jamf_plan_ref *refs = NULL;
		size_t nrefs = 0;

		NEED(group ? 6 : 7);
		pc.version = argv[group ? 3 : 2];
		pc.build = strcmp(argv[group ? 4 : 3], "-") == 0 ? NULL : argv[group ? 4 : 3];
		pc.force_install = argv[group ? 5 : 4];
		pc.max_deferrals = 3;
		if (group)
			rc = jamf_pro_plans_create_group(&p->pro, kind_of(argv[1]),
			    strtol(argv[2], NULL, 10), &pc, &refs, &nrefs, r);
		else
			rc = jamf_pro_plans_create(&p->pro, kind_of(argv[1]),
			    (const char *const *)&argv[6], (size_t)(argc - 6),
			    (size_t)strtol(argv[5], NULL, 10), &pc, &refs, &nrefs, r);
		cJSON_Delete(out);
		out = refs_json(refs, nrefs);
		jamf_plan_refs_free(refs, nrefs);
	} else if (strcmp(cmd, "plans-list") == 0) {
		struct jamf_plan *v;
		size_t n;
		char filter[1024];

		if (argc > 1)
			jamf_url_encode(argv[1], filter, sizeof(filter));
		if ((rc = jamf_pro_plans_list(&p->pro, argc > 1 ? filter : NULL, &v, &n, r)) == 0) {
			cJSON *a = cJSON_AddArrayToObject(out, "plans");

			for (size_t i = 0; i < n; i++)
				cJSON_AddItemToArray(a, plan_json(&v[i]));
			jamf_plans_free(v, n);
		}
	} else if (strcmp(cmd, "plan") == 0) {
		struct jamf_plan pl;

		NEED(2);
		rc = jamf_pro_plan_get(&p->pro, argv[1], &pl, r);
		if (rc == 0) {
			cJSON_Delete(out);
			out = plan_json(&pl);
			jamf_plan_release(&pl);
		} else if (rc == 1) {
			cJSON_AddBoolToObject(out, "found", 0);
			rc = 0;
		}
	} else if (strcmp(cmd, "events") == 0) {
		char *events;

		NEED(2);
		if ((rc = jamf_pro_plan_events(&p->pro, argv[1], &events, r)) == 0) {
			cJSON_AddNumberToObject(out, "length", (double)strlen(events));
			free(events);
		}
	} else if (strcmp(cmd, "ddm") == 0) {
		struct jamf_status_item *items;
		size_t n;

		NEED(2);
		if ((rc = jamf_pro_ddm_status(&p->pro, argv[1], &items, &n, r)) == 0) {
			cJSON *o = cJSON_AddObjectToObject(out, "items");

			for (size_t i = 0; i < n; i++)
				json_add_str_or_null(o, items[i].key, items[i].value);
			jamf_status_items_free(items, n);
		}
	} else if (strcmp(cmd, "pf-group") == 0) {
		char *uuid;

		NEED(2);
		rc = jamf_platform_group_find(platform(p), argv[1], &uuid, r);
		if (rc == 0) {
			cJSON_AddStringToObject(out, "uuid", uuid);
			free(uuid);
		} else if (rc == 1) {
			cJSON_AddBoolToObject(out, "found", 0);
			rc = 0;
		}
	} else if (strcmp(cmd, "pf-component") == 0) {
		char *id;

		rc = jamf_platform_declaration_component(platform(p), &id, r);
		if (rc == 0) {
			cJSON_AddStringToObject(out, "identifier", id);
			free(id);
		} else if (rc == 1) {
			cJSON_AddNullToObject(out, "identifier");
			rc = 0;
		}
	} else if (strcmp(cmd, "bp-list") == 0) {
		struct jamf_blueprint *v;
		size_t n;

		NEED(2);
		if ((rc = jamf_platform_blueprints_list(platform(p), argv[1], &v, &n, r)) == 0) {
			cJSON *a = cJSON_AddArrayToObject(out, "blueprints");

			for (size_t i = 0; i < n; i++)
				cJSON_AddItemToArray(a, blueprint_json(&v[i]));
			jamf_blueprints_free(v, n);
		}
	} else if (strcmp(cmd, "bp-create") == 0) {
		char *body, *id;

		NEED(2);
		body = read_text(argv[1]);
		if ((rc = jamf_platform_blueprint_create(platform(p), body, &id, r)) == 0) {
			cJSON_AddStringToObject(out, "id", id);
			free(id);
		}
		free(body);
	} else if (strcmp(cmd, "bp-get") == 0) {
		struct jamf_blueprint b;

		NEED(2);
		rc = jamf_platform_blueprint_get(platform(p), argv[1], &b, r);
		if (rc == 0) {
			cJSON_Delete(out);
			out = blueprint_json(&b);
			jamf_blueprint_release(&b);
		} else if (rc == 1) {
			cJSON_AddBoolToObject(out, "found", 0);
			rc = 0;
		}
	} else if (strcmp(cmd, "bp-update") == 0) {
		char *patch;

		NEED(3);
		patch = read_text(argv[2]);
		rc = jamf_platform_blueprint_update(platform(p), argv[1], patch, r);
		free(patch);
	} else if (strcmp(cmd, "bp-deploy") == 0) {
		NEED(2);
		rc = jamf_platform_blueprint_deploy(platform(p), argv[1], r);
	} else if (strcmp(cmd, "bp-undeploy") == 0) {
		NEED(2);
		rc = jamf_platform_blueprint_undeploy(platform(p), argv[1], r);
	} else if (strcmp(cmd, "bp-delete") == 0) {
		NEED(2);
		rc = jamf_platform_blueprint_delete(platform(p), argv[1], r);
	} else if (strcmp(cmd, "bp-report") == 0) {
		struct jamf_blueprint_report rep;

		NEED(2);
		if ((rc = jamf_platform_blueprint_report(platform(p), argv[1], &rep, r)) == 0) {
			cJSON_AddNumberToObject(out, "succeeded", (double)rep.succeeded);
			cJSON_AddNumberToObject(out, "pending", (double)rep.pending);
			cJSON_AddNumberToObject(out, "failed", (double)rep.failed);
		}
	} else if (strcmp(cmd, "wait-file") == 0) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		FILE *f;

		NEED(2);
		while ((f = fopen(argv[1], "r")) == NULL)
			nanosleep(&ts, NULL);
		fclose(f);
	} else if (strcmp(cmd, "tokens") == 0) {
		cJSON_AddNumberToObject(out, "pro", p->pro.tokens_issued);
		cJSON_AddNumberToObject(out, "platform", p->platform_ready ?
		    p->platform.tokens_issued : 0);
	} else if (strcmp(cmd, "close") == 0) {
		jamf_session_close(&p->pro);
		if (p->platform_ready)
			jamf_session_close(&p->platform);
	} else {
		fprintf(stderr, "jamf-probe: unknown step %s\n", cmd);
		exit(2);
	}
#undef NEED
	if (rc == 0)
		emit(out);
	else
		cJSON_Delete(out);
	return rc == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct probe p = {0};
	struct config_errors errs = {0};
	char err[256];
	int start = 2, status = 0;
	const char *level = getenv("JAMF_PROBE_LOG");

	if (argc < 3) {
		fprintf(stderr, "usage: jamf-probe POLICY-FILE STEP [-- STEP ...]\n");
		return 2;
	}
	log_init(level != NULL && strcmp(level, "trace") == 0 ? LOG_LEVEL_TRACE :
	    LOG_LEVEL_INFO, false);
	if (config_load(&p.cfg, argv[1], &errs) == -1) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s:%d:%d: %s\n", argv[1], errs.v[i].line, errs.v[i].col,
			    errs.v[i].msg);
		config_errors_release(&errs);
		return 2;
	}
	if ((p.http = http_client_new()) == NULL ||
	    jamf_session_init(&p.pro, JAMF_API_PRO, &p.cfg, &p.cfg.tenants[0], p.http, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "jamf-probe: %s\n", err);
		return 2;
	}
	while (start < argc) {
		int end = start;
		struct jamf_reply r = {0};

		while (end < argc && strcmp(argv[end], "--") != 0)
			end++;
		if (step(&p, end - start, &argv[start], &r) == -1) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "step", argv[start]);
			cJSON_AddStringToObject(o, "error", r.error);
			cJSON_AddStringToObject(o, "fail", fail_name(r.fail));
			cJSON_AddNumberToObject(o, "status", (double)r.status);
			emit(o);
			jamf_reply_release(&r);
			status = 1;
			break;
		}
		jamf_reply_release(&r);
		start = end + 1;
	}
	jamf_session_close(&p.pro);
	if (p.platform_ready)
		jamf_session_close(&p.platform);
	http_client_free(p.http);
	config_release(&p.cfg);
	return status;
}
