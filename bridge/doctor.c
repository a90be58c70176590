/*
 * bridge doctor (see doctor.h). Each check adds one line to a checklist: what was checked,
 * whether it passed, what was found, and for a failure the fix. Checks that depend on one
 * that failed (everything after a refused token) are reported as skipped, not as failures of
 * their own, so that the first line to fix is obvious.
 */
#include "doctor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "config.h"
#include "exitcode.h"
#include "http.h"
#include "jamf.h"
#include "jamf_platform.h"
#include "jamf_pro.h"
#include "log.h"

#define DOCTOR_TEXT_BYTES 768

enum doctor_result { DOCTOR_PASS, DOCTOR_FAIL, DOCTOR_SKIP };

struct doctor_line {
	char tenant[64];
	char check[160];
	enum doctor_result result;
	char detail[DOCTOR_TEXT_BYTES];
	char fix[DOCTOR_TEXT_BYTES];
};

struct doctor {
	const struct config *cfg;
	struct doctor_line *v;
	size_t n;
	bool oom;
};

/* Add a line; detail and fix may be NULL. */
static void
add(struct doctor *d, const char *tenant, enum doctor_result result, const char *check,
    const char *detail, const char *fix)
{
	struct doctor_line *grown = realloc(d->v, (d->n + 1) * sizeof(*grown)), *l;

	if (grown == NULL) {
		d->oom = true;
		return;
	}
	d->v = grown;
	l = &d->v[d->n++];
	memset(l, 0, sizeof(*l));
	snprintf(l->tenant, sizeof(l->tenant), "%s", tenant);
	snprintf(l->check, sizeof(l->check), "%s", check);
	snprintf(l->detail, sizeof(l->detail), "%s", detail != NULL ? detail : "");
	snprintf(l->fix, sizeof(l->fix), "%s", fix != NULL ? fix : "");
	l->result = result;
}

/* The fix for a failed call, from what failed. */
static const char *
fix_for(const struct jamf_session *s, const struct jamf_reply *r)
{
	bool pro = s->api == JAMF_API_PRO;

	switch (r->fail) {
	case JAMF_FAIL_TLS:
		return pro ? "set jamf.ca_file to the CA bundle that signed the server's certificate" :
		    "set platform.ca_file to the CA bundle that signed the server's certificate";
	case JAMF_FAIL_TRANSPORT:
		return pro ? "check jamf.url and that this host can reach it (proxy, firewall)" :
		    "check platform.url (us, eu or apac) and that this host can reach it";
	case JAMF_FAIL_AUTH:
		return pro ? "check the API client in Jamf Pro (Settings > API roles and clients): "
		    "enabled, and jamf.client_id / jamf.client_secret match it" :
		    "check the API integration in Jamf Account and platform.client_id / "
		    "platform.client_secret";
	case JAMF_FAIL_FORBIDDEN:
		return pro ? "add the privilege named above to the API client's role (Jamf Pro > "
		    "Settings > API roles and clients)" : "grant the API integration access to "
		    "this API in Jamf Account";
	default:
		return "see the error above; run with -vv for the HTTP trace";
	}
}

/* Policies of the tenant in a mode; counts of plan and blueprint policies, and platforms. */
static void
tenant_needs(const struct config_tenant *t, bool *plans, bool *blueprints, bool *macs,
    bool *mobiles)
{
	*plans = *blueprints = *macs = *mobiles = false;
	for (size_t i = 0; i < t->npolicies; i++) {
		const struct config_policy *p = &t->policies[i];

		if (!p->enabled)
			continue;
		*plans |= p->mode == CONFIG_MODE_PLAN;
		*blueprints |= p->mode == CONFIG_MODE_BLUEPRINT;
		*macs |= p->platform == CONFIG_OS_MACOS;
		*mobiles |= p->platform == CONFIG_OS_IOS;
	}
}

/* Check the read privileges a run needs, all at once. */
static void
check_privileges(struct doctor *d, const struct config_tenant *t, struct jamf_session *s,
    bool plans, bool macs, bool mobiles)
{
	static const struct {
		const char *what;
		const char *path;
	} reads[] = {
		{"read computers", "/api/v4/computers-inventory?section=GENERAL&page=0&page-size=1"},
		{"read mobile devices", "/api/v2/mobile-devices/detail?section=GENERAL&page=0&"
		    "page-size=1"},
		{"read groups", "/api/v2/groups?page=0&page-size=1"},
		{"read software update plans", "/api/v1/managed-software-updates/plans?page=0&"
		    "page-size=1"},
	};
	struct jamf_call calls[4];
	struct jamf_reply replies[4];
	const char *what[4];
	size_t n = 0;

	for (size_t i = 0; i < 4; i++) {
		if ((i == 0 && !macs) || (i == 1 && !mobiles) || (i == 3 && !plans))
			continue;
		calls[n] = (struct jamf_call){"GET", reads[i].path, NULL, NULL, 0, false};
		what[n++] = reads[i].what;
	}
	(void)jamf_request_many(s, calls, replies, n);
	for (size_t i = 0; i < n; i++) {
		char check[160];

		snprintf(check, sizeof(check), "Jamf Pro: %s", what[i]);
		if (replies[i].fail == JAMF_OK)
			add(d, t->name, DOCTOR_PASS, check, NULL, NULL);
		else
			add(d, t->name, DOCTOR_FAIL, check, replies[i].error, fix_for(s, &replies[i]));
		jamf_reply_release(&replies[i]);
	}
}

/* Check the plans feature toggle and customVersionEnabled. */
static void
check_toggle(struct doctor *d, const struct config_tenant *t, struct jamf_session *s)
{
	struct jamf_toggle tg;
	struct jamf_reply r = {0};

	if (jamf_pro_toggle_get(s, &tg, &r) == -1) {
		add(d, t->name, DOCTOR_FAIL, "Jamf Pro: plans feature toggle", r.error,
		    fix_for(s, &r));
		add(d, t->name, DOCTOR_SKIP, "Jamf Pro: custom versions (customVersionEnabled)",
		    "the feature toggle could not be read", NULL);
		jamf_reply_release(&r);
		return;
	}
	jamf_reply_release(&r);
	if (tg.toggle)
		add(d, t->name, DOCTOR_PASS, "Jamf Pro: plans feature toggle", "on", NULL);
	else
		add(d, t->name, DOCTOR_FAIL, "Jamf Pro: plans feature toggle",
		    "off: plan policies cannot create plans", "turn on managed software update "
		    "plans in Jamf Pro (Settings > Computer management > Software updates), or PUT "
		    "{\"toggle\": true} to /api/v1/managed-software-updates/plans/feature-toggle");
	if (tg.custom_version)
		add(d, t->name, DOCTOR_PASS, "Jamf Pro: custom versions (customVersionEnabled)", "on",
		    NULL);
	else
		add(d, t->name, DOCTOR_FAIL, "Jamf Pro: custom versions (customVersionEnabled)",
		    "off: plans with a build version (CUSTOM_VERSION), which BSIs need, are refused",
		    "ask Jamf Support to enable custom versions (customVersionEnabled) for "
		    "managed software update plans");
}

/* Check that every group a policy names exists, in Jamf Pro and for blueprints the Platform. */
static void
check_groups(struct doctor *d, const struct config_tenant *t, struct jamf_session *pro,
    struct jamf_session *platform)
{
	for (size_t i = 0; i < t->npolicies; i++) {
		const struct config_policy *p = &t->policies[i];
		const struct config_strlist *lists[2] = {&p->scope.groups, &p->scope.exclude_groups};
		enum jamf_kind kind = jamf_pro_kind(p->platform);

		if (!p->enabled)
			continue;
		for (size_t l = 0; l < 2 + p->nrings; l++) {
			const struct config_strlist *names = l < 2 ? lists[l] : &p->rings[l - 2].groups;

			for (size_t g = 0; g < names->n; g++) {
				struct jamf_group group;
				struct jamf_reply r = {0};
				char check[160], detail[DOCTOR_TEXT_BYTES], fix[DOCTOR_TEXT_BYTES];
				int rc = jamf_pro_group_find(pro, kind, names->v[g], &group, &r);

				snprintf(check, sizeof(check), "policy %s: %s group \"%s\"", p->name,
				    jamf_kind_name(kind), names->v[g]);
				if (rc == 0) {
					snprintf(detail, sizeof(detail), "Jamf Pro id %ld, %s", group.id,
					    group.smart ? "smart" : "static");
					if (p->mode == CONFIG_MODE_BLUEPRINT && platform != NULL &&
					    group.platform_id == NULL) {
						add(d, t->name, DOCTOR_FAIL, check, "Jamf Pro gives no "
						    "platform id for it, which a blueprint scope needs",
						    "check that the Jamf Pro instance is connected to the "
						    "Jamf Platform");
					} else {
						add(d, t->name, DOCTOR_PASS, check, detail, NULL);
					}
					jamf_group_release(&group);
				} else if (rc == 1) {
					snprintf(fix, sizeof(fix), "create the group in Jamf Pro, or correct "
					    "the name in %s (policy %s, line %d)", d->cfg->path, p->name,
					    p->pos.line);
					add(d, t->name, DOCTOR_FAIL, check, "no such group", fix);
				} else {
					add(d, t->name, DOCTOR_FAIL, check, r.error, fix_for(pro, &r));
				}
				jamf_reply_release(&r);
			}
		}
	}
}

/* The Jamf Platform checks, for blueprint policies. */
static void
check_platform(struct doctor *d, const struct config *cfg, const struct config_tenant *t,
    struct http_client *http, struct jamf_session *s, bool *ready)
{
	char err[256], *component = NULL;
	struct jamf_reply r = {0};
	int rc;

	*ready = false;
	if (jamf_session_init(s, JAMF_API_PLATFORM, cfg, t, http, err, sizeof(err)) == -1) {
		add(d, t->name, DOCTOR_FAIL, "Jamf Platform: configuration", err, "add a platform: "
		    "section (see bridge.yaml(5)); blueprint policies need it");
		return;
	}
	if (jamf_authenticate(s, &r) == -1) {
		add(d, t->name, DOCTOR_FAIL, r.fail == JAMF_FAIL_TLS ? "Jamf Platform: TLS trust" :
		    "Jamf Platform: token", r.error, fix_for(s, &r));
		jamf_reply_release(&r);
		return;
	}
	add(d, t->name, DOCTOR_PASS, "Jamf Platform: TLS trust and token", NULL, NULL);
	*ready = true;
	jamf_reply_release(&r);
	rc = jamf_platform_declaration_component(s, &component, &r);
	if (rc == 0)
		add(d, t->name, DOCTOR_PASS, "Jamf Platform: custom-declaration component",
		    component, NULL);
	else if (rc == 1)
		add(d, t->name, DOCTOR_FAIL, "Jamf Platform: custom-declaration component",
		    "the tenant offers no custom-declarations component, which BSI blueprints need",
		    "ask Jamf to enable custom declarations in Blueprints for this environment");
	else
		add(d, t->name, DOCTOR_FAIL, "Jamf Platform: custom-declaration component", r.error,
		    fix_for(s, &r));
	free(component);
	jamf_reply_release(&r);
}

/* Every check for one tenant. */
static void
check_tenant(struct doctor *d, const struct config *cfg, const struct config_tenant *t,
    struct http_client *http)
{
	struct jamf_session pro, platform;
	struct jamf_reply r = {0};
	bool plans, blueprints, macs, mobiles, platform_ready = false;
	char err[256];

	tenant_needs(t, &plans, &blueprints, &macs, &mobiles);
	if (jamf_session_init(&pro, JAMF_API_PRO, cfg, t, http, err, sizeof(err)) == -1) {
		add(d, t->name, DOCTOR_FAIL, "Jamf Pro: configuration", err, "see bridge.yaml(5)");
		return;
	}
	if (jamf_authenticate(&pro, &r) == -1) {
		add(d, t->name, DOCTOR_FAIL, r.fail == JAMF_FAIL_TLS ? "Jamf Pro: TLS trust" :
		    "Jamf Pro: token", r.error, fix_for(&pro, &r));
		add(d, t->name, DOCTOR_SKIP, "Jamf Pro: privileges, feature toggle and groups",
		    "no token", NULL);
		jamf_reply_release(&r);
		jamf_session_close(&pro);
		return;
	}
	jamf_reply_release(&r);
	add(d, t->name, DOCTOR_PASS, "Jamf Pro: TLS trust and token", pro.basic ?
	    "legacy user sign-in" : "API client", NULL);
	check_privileges(d, t, &pro, plans, macs, mobiles);
	if (plans)
		check_toggle(d, t, &pro);
	if (blueprints)
		check_platform(d, cfg, t, http, &platform, &platform_ready);
	check_groups(d, t, &pro, platform_ready ? &platform : NULL);
	if (blueprints)
		jamf_session_close(&platform);
	jamf_session_close(&pro);
}

/* Send a test message to every alert. */
static void
check_alerts(struct doctor *d, const struct config *cfg, struct http_client *http)
{
	for (size_t i = 0; i < cfg->nalerts; i++) {
		const struct config_alert *a = &cfg->alerts[i];
		char check[160], err[HTTP_MAX_ERROR_BYTES];

		snprintf(check, sizeof(check), "alert %s: test message (%s)", a->name,
		    config_alert_kind_name(a->kind));
		if (alert_send_test(http, cfg, a, err, sizeof(err)) == 0)
			add(d, "-", DOCTOR_PASS, check, "delivered", NULL);
		else
			add(d, "-", DOCTOR_FAIL, check, err, "check the webhook URL in the secret "
			    "the alert names, and that this host can reach the receiver");
	}
}

static const char *
result_name(enum doctor_result r)
{
	return r == DOCTOR_PASS ? "ok" : r == DOCTOR_FAIL ? "FAIL" : "skip";
}

static void
print_text(const struct doctor *d, size_t failed)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct doctor_line *l = &d->v[i];

		printf("%-4s  [%s] %s%s%s\n", result_name(l->result), l->tenant, l->check,
		    l->detail[0] != '\0' ? ": " : "", l->detail);
		if (l->result == DOCTOR_FAIL && l->fix[0] != '\0')
			printf("      fix: %s\n", l->fix);
	}
	if (failed == 0)
		printf("doctor: all %zu checks passed\n", d->n);
	else
		printf("doctor: %zu of %zu checks failed\n", failed, d->n);
}

static void
print_json(const struct doctor *d, size_t failed)
{
	cJSON *root = cJSON_CreateObject(), *checks = cJSON_AddArrayToObject(root, "checks");
	char *text;

	for (size_t i = 0; checks != NULL && i < d->n; i++) {
		const struct doctor_line *l = &d->v[i];
		cJSON *o = cJSON_CreateObject();

		if (o == NULL)
			break;
		cJSON_AddItemToArray(checks, o);
		cJSON_AddStringToObject(o, "tenant", l->tenant);
		cJSON_AddStringToObject(o, "check", l->check);
		cJSON_AddStringToObject(o, "result", result_name(l->result));
		cJSON_AddStringToObject(o, "detail", l->detail);
		if (l->result == DOCTOR_FAIL)
			cJSON_AddStringToObject(o, "fix", l->fix);
	}
	cJSON_AddBoolToObject(root, "ok", failed == 0);
	if ((text = json_print(root)) != NULL)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(root);
}

int
doctor_run(const struct config *cfg, const char *const *tenants, size_t ntenants,
    bool send_test_alert, bool json)
{
	struct http_client *http = http_client_new();
	struct doctor d = {cfg, NULL, 0, false};
	size_t failed = 0;
	const char *unknown;

	if (http == NULL) {
		log_error("cannot start libcurl");
		return BRIDGE_EXIT_FAILED;
	}
	if ((unknown = config_unknown_tenant(cfg, tenants, ntenants)) != NULL) {
		log_error("--tenant %s: no such tenant in %s", unknown, cfg->path);
		http_client_free(http);
		return BRIDGE_EXIT_USAGE;
	}
	for (size_t i = 0; i < cfg->ntenants; i++)
		if (config_tenant_selected(&cfg->tenants[i], tenants, ntenants))
			check_tenant(&d, cfg, &cfg->tenants[i], http);
	if (send_test_alert)
		check_alerts(&d, cfg, http);
	http_client_free(http);
	for (size_t i = 0; i < d.n; i++)
		failed += d.v[i].result == DOCTOR_FAIL;
	if (json)
		print_json(&d, failed);
	else
		print_text(&d, failed);
	free(d.v);
	if (d.oom) {
		log_error("out of memory");
		return BRIDGE_EXIT_FAILED;
	}
	return failed == 0 ? BRIDGE_EXIT_OK : BRIDGE_EXIT_FAILED;
}
