/*
 * bridge: keep a Jamf Pro fleet current with Apple's Background Security Improvements.
 *
 * This file is the program's story: read the command line, set up logging, load and check the
 * policy file, run the command, exit with a documented status. Each step lives in its own
 * module; nothing below main() exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "alert.h"
#include "cli.h"
#include "config.h"
#include "doctor.h"
#include "exitcode.h"
#include "gdmf.h"
#include "http.h"
#include "isotime.h"
#include "json.h"
#include "log.h"
#include "match.h"
#include "status.h"
#include "sync.h"
#include "template.h"

#ifndef BRIDGE_VERSION
#define BRIDGE_VERSION "0.0.0"
#endif

/* Log threshold for -q, nothing, -v, -vv. */
static enum log_level
log_level_for(int verbosity)
{
	if (verbosity < 0)
		return LOG_LEVEL_WARN;
	if (verbosity == 0)
		return LOG_LEVEL_INFO;
	return verbosity == 1 ? LOG_LEVEL_DEBUG : LOG_LEVEL_TRACE;
}

/* bridge version: ours and the libraries'. */
static int
cmd_version(const struct cli_options *opts)
{
	if (opts->json) {
		printf("{\"bridge\":\"%s\",\"libcurl\":\"%s\",\"libyaml\":\"%s\","
		    "\"pcre2\":\"%s\",\"cjson\":\"%s\"}\n", BRIDGE_VERSION, http_library_version(),
		    config_library_version(), match_library_version(), cJSON_Version());
		return BRIDGE_EXIT_OK;
	}
	printf("bridge %s\nlibcurl %s\nlibyaml %s\nPCRE2 %s\ncJSON %s\n", BRIDGE_VERSION,
	    http_library_version(), config_library_version(), match_library_version(),
	    cJSON_Version());
	return BRIDGE_EXIT_OK;
}

/* Whether entry e passes bridge feed's --platform and --bsi filters. */
static bool
feed_selected(const struct gdmf_entry *e, const struct cli_options *opts)
{
	if (opts->bsi_only && e->list != GDMF_LIST_BSI)
		return false;
	return opts->platform == NULL || strcasecmp(opts->platform, e->platform) == 0;
}

/* bridge feed --json: {"source", "fetched_at", "entries": [...]}; -1 when out of memory. */
static int
print_feed_json(const struct gdmf_feed *feed, const struct cli_options *opts)
{
	cJSON *root = cJSON_CreateObject(), *entries;
	char stamp[32], *text;

	iso_time_format(feed->fetched_at, stamp);
	if (root == NULL)
		return -1;
	cJSON_AddStringToObject(root, "source", feed->source);
	cJSON_AddStringToObject(root, "fetched_at", stamp);
	entries = cJSON_AddArrayToObject(root, "entries");
	for (size_t i = 0; entries != NULL && i < feed->n; i++) {
		const struct gdmf_entry *e = &feed->entries[i];
		cJSON *je;

		if (!feed_selected(e, opts))
			continue;
		if ((je = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddItemToArray(entries, je);
		cJSON_AddStringToObject(je, "list", gdmf_list_name(e->list));
		cJSON_AddStringToObject(je, "platform", e->platform);
		cJSON_AddStringToObject(je, "version", e->version);
		json_add_str_or_null(je, "extra", e->extra);
		json_add_str_or_null(je, "build", e->build);
		json_add_str_or_null(je, "prerequisite_build", e->prerequisite);
		json_add_str_or_null(je, "posted", e->posted);
		json_add_str_or_null(je, "expires", e->expires);
		cJSON_AddItemToObject(je, "devices", cJSON_CreateStringArray(
		    (const char *const *)e->devices, (int)e->ndevices));
	}
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (text == NULL)
		return -1;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* bridge feed: a table of the feed's entries. */
static void
print_feed_table(const struct gdmf_feed *feed, const struct cli_options *opts)
{
	char stamp[32];

	iso_time_format(feed->fetched_at, stamp);
	printf("%s (fetched %s)\n", feed->source, stamp);
	printf("%-6s %-9s %-12s %-12s %-12s %-10s %-10s %s\n", "LIST", "PLATFORM", "VERSION",
	    "BUILD", "PREREQUISITE", "POSTED", "EXPIRES", "DEVICES");
	for (size_t i = 0; i < feed->n; i++) {
		const struct gdmf_entry *e = &feed->entries[i];
		char version[40];

		if (!feed_selected(e, opts))
			continue;
		snprintf(version, sizeof(version), "%s%s%s", e->version, e->extra ? " " : "",
		    e->extra ? e->extra : "");
		printf("%-6s %-9s %-12s %-12s %-12s %-10s %-10s %zu\n", gdmf_list_name(e->list),
		    e->platform, version, e->build ? e->build : "-",
		    e->prerequisite ? e->prerequisite : "-", e->posted ? e->posted : "-",
		    e->expires ? e->expires : "-", e->ndevices);
	}
}

/* bridge feed: load the feed (cache rules apply) and print it. */
static int
cmd_feed(const struct config *cfg, const struct cli_options *opts)
{
	struct http_client *http = http_client_new();
	struct gdmf_feed feed;
	enum gdmf_origin origin;
	int status = BRIDGE_EXIT_OK;

	if (http == NULL) {
		log_error("cannot start libcurl");
		return BRIDGE_EXIT_FAILED;
	}
	if (gdmf_load(http, cfg, opts->refresh, time(NULL), &feed, &origin) == -1) {
		http_client_free(http);
		return BRIDGE_EXIT_FEED;
	}
	if (opts->json) {
		if (print_feed_json(&feed, opts) == -1) {
			log_error("out of memory");
			status = BRIDGE_EXIT_FAILED;
		}
	} else {
		print_feed_table(&feed, opts);
	}
	gdmf_feed_release(&feed);
	http_client_free(http);
	return status;
}

/*
 * Check the templates each policy uses (its own, or the installed defaults): the declaration
 * and blueprint templates in blueprint mode, the plan template in plan mode; and each alert's
 * message template. Every problem is logged as FILE:LINE:COL; returns how many failed.
 */
static int
check_templates(const struct config *cfg)
{
	int bad = 0;

	for (size_t t = 0; t < cfg->ntenants; t++) {
		for (size_t i = 0; i < cfg->tenants[t].npolicies; i++) {
			const struct config_policy *p = &cfg->tenants[t].policies[i];
			const struct {
				enum template_which which;
				const char *path;
				bool used;
			} uses[] = {
				{TEMPLATE_PLAN, p->templates.plan, p->mode == CONFIG_MODE_PLAN},
				{TEMPLATE_DECLARATION, p->templates.declaration,
				    p->mode == CONFIG_MODE_BLUEPRINT},
				{TEMPLATE_BLUEPRINT, p->templates.blueprint,
				    p->mode == CONFIG_MODE_BLUEPRINT},
			};

			for (size_t k = 0; k < sizeof(uses) / sizeof(uses[0]); k++) {
				char buf[4096], err[1024];
				const char *path = uses[k].path != NULL ? uses[k].path :
				    template_default_path(uses[k].which, buf, sizeof(buf));

				if (!uses[k].used || template_check(path, uses[k].which, err,
				    sizeof(err)) == 0)
					continue;
				log_error("policy %s: %s", p->name, err);
				bad++;
			}
		}
	}
	for (size_t i = 0; i < cfg->nalerts; i++) {
		const struct config_alert *a = &cfg->alerts[i];
		char buf[4096], err[1024];
		const char *path = a->template_file != NULL ? a->template_file :
		    template_default_path(alert_template(a->kind), buf, sizeof(buf));

		if (template_check(path, alert_template(a->kind), err, sizeof(err)) == 0)
			continue;
		log_error("alert %s: %s", a->name, err);
		bad++;
	}
	return bad;
}

/* Print every problem of a policy file that failed to load. */
static void
report_config_errors(const char *path, const struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		if (errs->v[i].line > 0)
			log_diag(path, errs->v[i].line, errs->v[i].col, errs->v[i].msg);
		else
			log_error("%s: %s", path, errs->v[i].msg);
	}
	if (errs->truncated)
		log_error("%s: more than %d problems; fix these first", path, CONFIG_MAX_ERRORS);
	log_error("%s: the policy file is not valid (%zu problem%s)", path, errs->n,
	    errs->n == 1 ? "" : "s");
}

/* "a", "a" minus "b": a scope in words. */
static void
print_groups(const struct config_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		printf("%s\"%s\"", i == 0 ? "" : ", ", l->v[i]);
}

/* Text summary of a policy, for bridge check. */
static void
print_policy(const struct config_policy *p)
{
	const struct config_deadline *d = &p->deadline;

	printf("  policy %s: %s, mode %s%s\n", p->name, config_os_name(p->platform),
	    config_mode_name(p->mode), p->enabled ? "" : " (disabled)");
	printf("    scope: ");
	print_groups(&p->scope.groups);
	if (p->scope.exclude_groups.n > 0) {
		printf(" except ");
		print_groups(&p->scope.exclude_groups);
	}
	printf("\n    versions: %s; models: %s%s%s\n",
	    p->versions != NULL ? match_pattern(p->versions) : "all",
	    p->models.include != NULL ? match_pattern(p->models.include) : "all",
	    p->models.exclude != NULL ? " except " : "",
	    p->models.exclude != NULL ? match_pattern(p->models.exclude) : "");
	printf("    deadline: %ld day%s after posting at %02ld:%02ld device time%s; "
	    "base update: %s\n", d->days_after_posting, d->days_after_posting == 1 ? "" : "s",
	    d->minute_of_day / 60, d->minute_of_day % 60,
	    d->skip_weekends ? ", weekends skipped" : "", config_base_update_name(p->base_update));
	for (size_t i = 0; i < p->nrings; i++) {
		const struct config_ring *r = &p->rings[i];

		printf("    ring %s: ", r->name);
		if (r->groups.n > 0)
			print_groups(&r->groups);
		else
			printf("every other device");
		printf(", starts %ld day%s after %s", r->delay_days, r->delay_days == 1 ? "" : "s",
		    i == 0 ? "the BSI's rollout begins" : "the previous ring");
		if (r->min_success_percent >= 0)
			printf(" once it reached %ld%%", r->min_success_percent);
		printf("\n");
	}
}

/* JSON summary of the loaded file, for bridge check --json; NULL when out of memory. */
static cJSON *
check_json(const struct config *cfg)
{
	cJSON *root = cJSON_CreateObject(), *tenants, *alerts;

	if (root == NULL)
		return NULL;
	cJSON_AddStringToObject(root, "config", cfg->path);
	cJSON_AddStringToObject(root, "state_dir", cfg->state_dir);
	cJSON_AddStringToObject(root, "name_prefix", cfg->name_prefix);
	tenants = cJSON_AddArrayToObject(root, "tenants");
	for (size_t i = 0; tenants != NULL && i < cfg->ntenants; i++) {
		const struct config_tenant *t = &cfg->tenants[i];
		cJSON *jt = cJSON_CreateObject(), *policies;

		cJSON_AddItemToArray(tenants, jt);
		cJSON_AddStringToObject(jt, "name", t->name);
		cJSON_AddStringToObject(jt, "jamf_url", t->jamf.url);
		policies = cJSON_AddArrayToObject(jt, "policies");
		for (size_t k = 0; policies != NULL && k < t->npolicies; k++) {
			const struct config_policy *p = &t->policies[k];
			cJSON *jp = cJSON_CreateObject();

			cJSON_AddItemToArray(policies, jp);
			cJSON_AddStringToObject(jp, "name", p->name);
			cJSON_AddStringToObject(jp, "platform", config_os_name(p->platform));
			cJSON_AddStringToObject(jp, "mode", config_mode_name(p->mode));
			cJSON_AddBoolToObject(jp, "enabled", p->enabled);
			cJSON_AddItemToObject(jp, "groups", cJSON_CreateStringArray(
			    (const char *const *)p->scope.groups.v, (int)p->scope.groups.n));
			cJSON_AddNumberToObject(jp, "rings", (double)p->nrings);
		}
	}
	alerts = cJSON_AddArrayToObject(root, "alerts");
	for (size_t i = 0; alerts != NULL && i < cfg->nalerts; i++) {
		cJSON *ja = cJSON_CreateObject();

		cJSON_AddItemToArray(alerts, ja);
		cJSON_AddStringToObject(ja, "name", cfg->alerts[i].name);
		cJSON_AddStringToObject(ja, "kind", config_alert_kind_name(cfg->alerts[i].kind));
	}
	return root;
}

/* bridge check: the file loaded, so summarise it. */
static int
cmd_check(const struct config *cfg, const struct cli_options *opts)
{
	if (check_templates(cfg) > 0)
		return BRIDGE_EXIT_USAGE;
	if (opts->json) {
		cJSON *root = check_json(cfg);
		char *text = root != NULL ? cJSON_PrintUnformatted(root) : NULL;

		cJSON_Delete(root);
		if (text == NULL) {
			log_error("out of memory");
			return BRIDGE_EXIT_FAILED;
		}
		printf("%s\n", text);
		free(text);
		return BRIDGE_EXIT_OK;
	}
	printf("%s: OK\n", cfg->path);
	printf("state directory %s; names in Jamf start with \"%s\"\n", cfg->state_dir,
	    cfg->name_prefix);
	printf("feed %s, fetched at most every %ldh\n", cfg->gdmf.url, cfg->gdmf.refresh / 3600);
	if (cfg->watch.interval > 0) {
		char every[32];

		config_format_duration(cfg->watch.interval, every, sizeof(every));
		printf("a sync that finds nothing new leaves a tenant alone until nine tenths of "
		    "%s after its last full run (watch.interval)\n", every);
	} else
		printf("every sync reads Jamf in full (watch.interval 0s)\n");
	for (size_t i = 0; i < cfg->ntenants; i++) {
		const struct config_tenant *t = &cfg->tenants[i];

		printf("tenant %s: Jamf Pro %s%s%s, %zu polic%s\n", t->name, t->jamf.url,
		    config_present(&t->platform.pos) ? ", Jamf Platform " : "",
		    config_present(&t->platform.pos) ? t->platform.url : "", t->npolicies,
		    t->npolicies == 1 ? "y" : "ies");
		for (size_t k = 0; k < t->npolicies; k++)
			print_policy(&t->policies[k]);
	}
	for (size_t i = 0; i < cfg->nalerts; i++)
		printf("alert %s: %s webhook from %s\n", cfg->alerts[i].name,
		    config_alert_kind_name(cfg->alerts[i].kind), cfg->alerts[i].url.ref);
	return BRIDGE_EXIT_OK;
}

/*
 * A run allocates and frees Jamf pages of a few MiB each, dozens of times. glibc gives each
 * back to the kernel (mmap above 128 KiB, heap trimming), and faulting the memory in again
 * costs more CPU than reading the pages did (make bench, steady run at 100,000 Macs: 2.2 s of
 * CPU against 1.2 s). Keep freed memory for the next page instead; the peak stays the same.
 */
static void
keep_freed_memory(void)
{
#ifdef __GLIBC__
	if (mallopt(M_MMAP_THRESHOLD, 32 << 20) == 0 || mallopt(M_TRIM_THRESHOLD, 64 << 20) == 0)
		log_debug("malloc kept its defaults: freed pages go back to the kernel");
#endif
}

int
main(int argc, char *argv[])
{
	struct cli_options opts;
	struct config cfg;
	struct config_errors errs;
	char err[256];
	int status;

	/* 1. The command line. */
	if (cli_parse(&opts, argc, argv, err, sizeof(err)) == -1) {
		fprintf(stderr, "bridge: %s\n", err);
		cli_usage(stderr);
		return BRIDGE_EXIT_USAGE;
	}
	if (opts.help) {
		cli_help(stdout, opts.help_topic);
		return BRIDGE_EXIT_OK;
	}
	log_init(log_level_for(opts.verbosity), opts.log_json);
	keep_freed_memory();
	if (opts.command == CLI_VERSION)
		return cmd_version(&opts);

	/* 2. The policy file: every problem reported at once, then exit 2. */
	if (config_load(&cfg, opts.config_path, &errs) == -1) {
		report_config_errors(opts.config_path, &errs);
		config_errors_release(&errs);
		return BRIDGE_EXIT_USAGE;
	}
	log_debug("loaded %s: %zu tenant%s", cfg.path, cfg.ntenants, cfg.ntenants == 1 ? "" : "s");

	/* 3. The command. */
	switch (opts.command) {
	case CLI_CHECK:
		status = cmd_check(&cfg, &opts);
		break;
	case CLI_FEED:
		status = cmd_feed(&cfg, &opts);
		break;
	case CLI_PLAN:
	case CLI_SYNC: {
		struct sync_options so = {.dry_run = opts.command == CLI_PLAN || opts.dry_run,
			.refresh = opts.refresh, .full = opts.full, .json = opts.json,
			.policy = opts.policy, .tenants = opts.tenants, .ntenants = opts.ntenants,
			.now = time(NULL)};

		status = sync_run(&cfg, &so);
		break;
	}
	case CLI_RENDER: {
		struct sync_options so = {.dry_run = true, .refresh = opts.refresh,
			.json = opts.json, .policy = opts.policy, .tenants = opts.tenants,
			.ntenants = opts.ntenants, .now = time(NULL)};

		status = sync_render(&cfg, &so, opts.device);
		break;
	}
	case CLI_STATUS: {
		struct status_options so = {opts.json, opts.devices, opts.policy, opts.tenants,
			opts.ntenants, time(NULL)};

		status = status_run(&cfg, &so);
		break;
	}
	case CLI_DOCTOR:
		status = doctor_run(&cfg, opts.tenants, opts.ntenants, opts.send_test_alert,
		    opts.json);
		break;
	default:  /* help and version were handled above */
		log_error("'%s' cannot be run here", cli_command_name(opts.command));
		status = BRIDGE_EXIT_USAGE;
		break;
	}
	config_release(&cfg);
	return status;
}
