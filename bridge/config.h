/*
 * The policy file: YAML in, typed structs out. The file format is documented in
 * bridge.yaml(5) and config/bridge.example.yaml; keep the three in step.
 */
#ifndef BRIDGE_CONFIG_H
#define BRIDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secret.h"

struct match;

#define CONFIG_MAX_FILE_BYTES (1024 * 1024)
#define CONFIG_MAX_ERRORS 50

/* Where something was written in the file (1-based). line 0: not in the file (a default). */
struct config_pos {
	int line;
	int col;
};

struct config_strlist {
	char **v;
	size_t n;
};

enum config_os {
	CONFIG_OS_MACOS,
	CONFIG_OS_IOS,  /* also iPadOS */
};

enum config_mode {
	CONFIG_MODE_PLAN,       /* Jamf Pro managed software update plans */
	CONFIG_MODE_BLUEPRINT,  /* Jamf Platform blueprints with a custom declaration */
};

enum config_base_update {
	CONFIG_BASE_UPDATE_TWO_STEP,  /* update to the BSI's base version first, then the BSI */
	CONFIG_BASE_UPDATE_REPORT,    /* only report devices that need their base update */
};

enum config_auth {
	CONFIG_AUTH_OAUTH,  /* API client: client credentials */
	CONFIG_AUTH_BASIC,  /* legacy: user name and password exchanged for a bearer token */
};

enum config_alert_kind {
	CONFIG_ALERT_SLACK,
	CONFIG_ALERT_TEAMS,
	CONFIG_ALERT_JSON,
};

/* Alert events, as a bit set. */
enum config_event {
	CONFIG_EVENT_PLAN_FAILED = 1 << 0,
	CONFIG_EVENT_PLAN_STUCK = 1 << 1,
	CONFIG_EVENT_DEADLINE_MISSED = 1 << 2,
	CONFIG_EVENT_FEED_ERROR = 1 << 3,
	CONFIG_EVENT_RUN_FAILED = 1 << 4,
	CONFIG_EVENT_RESOLVED = 1 << 5,
};

struct config_http {
	struct config_pos pos;
	long connect_timeout;  /* seconds */
	long timeout;          /* seconds, per request */
	long retries;          /* attempts after the first */
	long retry_max_time;   /* seconds, across all attempts of one request */
};

struct config_gdmf {
	struct config_pos pos;
	char *url;
	char *ca_file;
	long refresh;  /* seconds between fetches */
};

struct config_jamf {
	struct config_pos pos;
	char *url;             /* base URL, may carry a port and a path prefix */
	char *ca_file;         /* NULL: the system's CA bundle */
	enum config_auth auth;
	struct secret client_id;
	struct secret client_secret;
	struct secret username;
	struct secret password;
	char *token_path;
	char *issuer;          /* OIDC issuer for discovery; NULL: use token_path */
	long max_connections;
};

struct config_platform {
	struct config_pos pos;  /* line 0: no platform section */
	char *url;
	char *ca_file;
	char *environment_id;
	struct secret client_id;
	struct secret client_secret;
	char *token_path;
	long deploy_wait;       /* seconds a run follows the deployments it started */
};

struct config_alert {
	struct config_pos pos;
	char *name;
	enum config_alert_kind kind;
	struct secret url;
	unsigned events;       /* enum config_event bits */
	char *ca_file;
	char *template_file;   /* NULL: the built-in template for kind */
	long repeat_after;     /* seconds before an unresolved problem is announced again */
	long max_devices;      /* device names listed per digest */
};

struct config_scope {
	struct config_pos pos;
	struct config_strlist groups;
	struct config_strlist exclude_groups;
};

struct config_models {
	struct config_pos pos;
	struct match *include;  /* NULL: every model */
	struct match *exclude;  /* NULL: none */
};

struct config_deadline {
	struct config_pos pos;
	long days_after_posting;
	long minute_of_day;     /* device-local time, minutes after midnight */
	bool skip_weekends;
};

struct config_ring {
	struct config_pos pos;
	char *name;
	struct config_strlist groups;  /* empty: every device in scope not held by an earlier ring */
	long delay_days;
	long min_success_percent;      /* -1: no gate */
};

struct config_templates {
	struct config_pos pos;
	char *declaration;  /* NULL: the installed default */
	char *plan;
	char *blueprint;
};

struct config_policy {
	struct config_pos pos;
	char *name;
	bool enabled;
	enum config_os platform;
	enum config_mode mode;
	struct config_scope scope;
	struct match *versions;  /* on the base ProductVersion; NULL: every version */
	struct config_models models;
	struct config_deadline deadline;
	struct config_ring *rings;
	size_t nrings;
	enum config_base_update base_update;
	long batch_size;         /* devices per plan request */
	long max_deferrals;
	char *details_url;
	struct config_templates templates;
	struct config_strlist alerts;  /* alert names; empty: every alert */
};

struct config_watch {
	struct config_pos pos;
	long stuck_after;     /* seconds without a plan state change */
	long stuck_pending_after;  /* the same for a plan Jamf has not validated yet */
	long deadline_grace;  /* seconds after a deadline before it counts as missed */
	long interval;        /* seconds a sync may go without reading Jamf when nothing is new;
	                         0: it reads Jamf every run (idle.h) */
};

struct config_tenant {
	struct config_pos pos;
	char *name;
	char *state_dir;  /* the tenant's own part of the state directory */
	struct config_jamf jamf;
	struct config_platform platform;
	struct config_policy *policies;
	size_t npolicies;
};

/* Every struct filled from a mapping starts with its position, config_pos. */
struct config {
	struct config_pos pos;
	char *path;       /* as given */
	char *dir;        /* the file's folder: relative paths in the file start here */
	uint64_t digest;  /* FNV-1a of the text that was loaded (hash.h) */
	char *state_dir;
	char *name_prefix;
	char *metrics_file;
	long max_parallel_tenants;
	struct config_http http;
	struct config_gdmf gdmf;
	struct config_watch watch;
	struct config_alert *alerts;
	size_t nalerts;
	struct config_tenant *tenants;  /* a file without tenants: has one, named "default" */
	size_t ntenants;
	struct config_tenant top;       /* the top-level jamf/platform/policies while loading */
};

/* One problem found in the file. */
struct config_error {
	int line;
	int col;
	char *msg;
};

/* Problems found while loading, in file order. */
struct config_errors {
	struct config_error *v;
	size_t n;
	bool truncated;  /* more than CONFIG_MAX_ERRORS were found */
};

/*
 * Load and check the policy file at path into cfg. Returns 0, or -1 with every problem found
 * in errs (each with a position) and cfg left empty. Release both with the functions below.
 */
int config_load(struct config *cfg, const char *path, struct config_errors *errs);

/* Same as config_load(), from text in memory; path is used for messages and relative paths. */
int config_load_string(struct config *cfg, const char *path, const char *text, size_t len,
    struct config_errors *errs);

/* Free everything cfg holds (secrets wiped); cfg may be loaded again. */
void config_release(struct config *cfg);

void config_errors_release(struct config_errors *errs);

/* Seconds as the largest whole unit that writes them exactly: 3d, 90m, 45s. */
void config_format_duration(long secs, char *buf, size_t size);

/* Names for enums, as written in the file. */
const char *config_os_name(enum config_os os);
const char *config_mode_name(enum config_mode mode);
const char *config_alert_kind_name(enum config_alert_kind kind);
const char *config_base_update_name(enum config_base_update b);

/* Whether tenant t is among names (--tenant); with no names every tenant is. */
bool config_tenant_selected(const struct config_tenant *t, const char *const *names, size_t n);

/* The first of names that no tenant has, or NULL when all are known. */
const char *config_unknown_tenant(const struct config *cfg, const char *const *names, size_t n);

/* Whether some tenant has a policy of that name (a NULL name: yes, no choice was made). */
bool config_policy_known(const struct config *cfg, const char *name);

/* Whether a section was written in the file. */
bool config_present(const struct config_pos *pos);

/* libyaml's version, e.g. "0.2.5". */
const char *config_library_version(void);

#endif
