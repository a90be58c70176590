/*
 * The policy file. Loading happens in three steps, each reporting every problem it finds with
 * its FILE:LINE:COL before bridge gives up:
 *   1. read: size cap, valid UTF-8, then libyaml events into a small tree of nodes (duplicate
 *      keys, nesting depth and alias expansion are checked here);
 *   2. map: the tree into typed structs, driven by the schema tables below (unknown keys, types,
 *      ranges, URLs, regexes, secret references, defaults);
 *   3. validate: rules that span several keys (names used twice, modes that need a section).
 * This is the only file that includes yaml.h.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "fileio.h"
#include "hash.h"
#include "match.h"
#include "url.h"

#define CONFIG_MAX_DEPTH 32
#define CONFIG_MAX_NODES 20000      /* after expanding aliases: stops "billion laughs" */
#define CONFIG_MAX_NAME_BYTES 64
#define CONFIG_MAX_STRING_BYTES 1024
#define CONFIG_MAX_PATH_BYTES 4096
#define CONFIG_MAX_KEYPATH_BYTES 256
#define CONFIG_MAX_MSG_BYTES 512

#define CONFIG_DEFAULT_STATE_DIR "/var/lib/bridge"

/* ---- the node tree ----------------------------------------------------------------------- */

enum node_kind {
	NODE_SCALAR,
	NODE_SEQ,
	NODE_MAP,
};

/* A YAML node. Maps hold keys and values alternately in items. Aliases share nodes. */
struct node {
	enum node_kind kind;
	int line;
	int col;
	char *text;           /* scalars */
	bool plain;           /* scalar written without quotes */
	struct node **items;
	size_t n;
	size_t cap;
	size_t weight;        /* this node plus everything below it, aliases expanded */
	bool complete;
	struct node *next;    /* every node of a document, for freeing */
};

struct anchor {
	char *name;
	struct node *node;
};

/* State of one load. */
struct loader {
	const char *path;
	const char *dir;
	struct config_errors *errs;
	struct node *nodes;
	struct anchor *anchors;
	size_t nanchors;
	size_t expanded;
};

/* ---- errors ------------------------------------------------------------------------------ */

/* Record one problem at line:col (1-based). */
static void
loader_error(struct loader *ld, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
loader_error(struct loader *ld, int line, int col, const char *fmt, ...)
{
	struct config_errors *errs = ld->errs;
	struct config_error *v;
	char msg[CONFIG_MAX_MSG_BYTES];
	va_list ap;

	if (errs->n >= CONFIG_MAX_ERRORS) {
		errs->truncated = true;
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((v = realloc(errs->v, (errs->n + 1) * sizeof(*v))) == NULL)
		return;
	errs->v = v;
	v[errs->n].line = line;
	v[errs->n].col = col;
	if ((v[errs->n].msg = strdup(msg)) == NULL)
		return;
	errs->n++;
}

/* Order errors by position, keeping the order of errors found at one place. */
static int
config_error_cmp(const void *a, const void *b)
{
	const struct config_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x < y ? -1 : (x > y);
}

void
config_errors_release(struct config_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->v[i].msg);
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
	errs->truncated = false;
}

/* ---- step 1: bytes to nodes -------------------------------------------------------------- */

/* Report the first byte that is not valid UTF-8 (or is NUL); returns 0 when all is well. */
static int
check_utf8(struct loader *ld, const unsigned char *s, size_t len)
{
	int line = 1;
	size_t line_start = 0;

	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t need;
		unsigned long cp;

		if (c == '\n') {
			line++;
			line_start = ++i;
			continue;
		}
		if (c == 0) {
			loader_error(ld, line, (int)(i - line_start + 1), "NUL byte in the file");
			return -1;
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			goto bad;
		i += need + 1;
		continue;
bad:
		loader_error(ld, line, (int)(i - line_start + 1), "invalid UTF-8 (byte 0x%02x)", c);
		return -1;
	}
	return 0;
}

/* Allocate a node at mark; NULL when out of memory. */
static struct node *
node_new(struct loader *ld, enum node_kind kind, yaml_mark_t mark)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->line = (int)mark.line + 1;
	n->col = (int)mark.column + 1;
	n->weight = 1;
	n->next = ld->nodes;
	ld->nodes = n;
	return n;
}

static void
nodes_free(struct loader *ld)
{
	struct node *n, *next;

	for (n = ld->nodes; n != NULL; n = next) {
		next = n->next;
		free(n->text);
		free(n->items);
		free(n);
	}
	ld->nodes = NULL;
	for (size_t i = 0; i < ld->nanchors; i++)
		free(ld->anchors[i].name);
	free(ld->anchors);
	ld->anchors = NULL;
	ld->nanchors = 0;
}

/* Remember node under anchor name; -1 when out of memory. */
static int
anchor_add(struct loader *ld, const char *name, struct node *node)
{
	struct anchor *a = realloc(ld->anchors, (ld->nanchors + 1) * sizeof(*a));

	if (a == NULL)
		return -1;
	ld->anchors = a;
	if ((a[ld->nanchors].name = strdup(name)) == NULL)
		return -1;
	a[ld->nanchors++].node = node;
	return 0;
}

/* The node most recently given anchor name (YAML allows redefining), or NULL. */
static struct node *
anchor_find(struct loader *ld, const char *name)
{
	for (size_t i = ld->nanchors; i > 0; i--)
		if (strcmp(ld->anchors[i - 1].name, name) == 0)
			return ld->anchors[i - 1].node;
	return NULL;
}

/* Whether a scalar means "no value" (null, ~ or nothing). */
static bool
node_is_null(const struct node *n)
{
	return n == NULL || (n->kind == NODE_SCALAR && n->plain &&
	    (n->text[0] == '\0' || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
	    strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0));
}

/* Add child to parent (a sequence or a map); checks duplicate keys. 0, or -1 to stop. */
static int
node_add(struct loader *ld, struct node *parent, struct node *child)
{
	bool is_key = parent->kind == NODE_MAP && parent->n % 2 == 0;

	if (is_key) {
		if (child->kind != NODE_SCALAR) {
			loader_error(ld, child->line, child->col, "a key must be a plain string");
			return -1;
		}
		for (size_t i = 0; i < parent->n; i += 2) {
			const struct node *k = parent->items[i];

			if (strcmp(k->text, child->text) == 0) {
				loader_error(ld, child->line, child->col,
				    "duplicate key \"%s\" (first at %d:%d)", child->text, k->line,
				    k->col);
				break;
			}
		}
	}
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct node **items = realloc(parent->items, cap * sizeof(*items));

		if (items == NULL)
			return -1;
		parent->items = items;
		parent->cap = cap;
	}
	parent->items[parent->n++] = child;
	return 0;
}

/* Position of the problem libyaml reports; reader errors only know a byte offset. */
static void
yaml_problem_pos(const yaml_parser_t *p, const char *text, size_t len, int *line, int *col)
{
	if (p->error == YAML_READER_ERROR) {
		size_t off = p->problem_offset < len ? p->problem_offset : len;
		size_t start = 0;

		*line = 1;
		for (size_t i = 0; i < off; i++) {
			if (text[i] == '\n') {
				(*line)++;
				start = i + 1;
			}
		}
		*col = (int)(off - start + 1);
		return;
	}
	*line = (int)p->problem_mark.line + 1;
	*col = (int)p->problem_mark.column + 1;
}

/* Parse text into a tree of nodes; *root is NULL for an empty document. 0 or -1. */
static int
parse_tree(struct loader *ld, const char *text, size_t len, struct node **root)
{
	struct node *stack[CONFIG_MAX_DEPTH + 1];
	size_t depth = 0;
	yaml_parser_t parser;
	yaml_event_t ev;
	int documents = 0, rc = -1;
	bool done = false;

	*root = NULL;
	if (!yaml_parser_initialize(&parser)) {
		loader_error(ld, 1, 1, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		struct node *n = NULL;
		const char *anchor = NULL;

		if (!yaml_parser_parse(&parser, &ev)) {
			int line, col;

			yaml_problem_pos(&parser, text, len, &line, &col);
			if (parser.context != NULL)
				loader_error(ld, line, col, "YAML syntax error: %s %s that started "
				    "at %d:%d", parser.problem ? parser.problem : "unknown problem",
				    parser.context, (int)parser.context_mark.line + 1,
				    (int)parser.context_mark.column + 1);
			else
				loader_error(ld, line, col, "YAML syntax error: %s",
				    parser.problem ? parser.problem : "unknown problem");
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++documents > 1) {
				loader_error(ld, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "the file must hold one YAML document, not several");
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		case YAML_ALIAS_EVENT:
			n = anchor_find(ld, (const char *)ev.data.alias.anchor);
			if (n == NULL || !n->complete) {
				loader_error(ld, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1, "%s alias \"*%s\"",
				    n == NULL ? "unknown" : "recursive",
				    (const char *)ev.data.alias.anchor);
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		case YAML_SCALAR_EVENT:
			if ((n = node_new(ld, NODE_SCALAR, ev.start_mark)) == NULL ||
			    (n->text = strndup((const char *)ev.data.scalar.value,
			    ev.data.scalar.length)) == NULL)
				goto oom;
			if (strlen(n->text) != ev.data.scalar.length) {
				loader_error(ld, n->line, n->col, "NUL character in a value");
				yaml_event_delete(&ev);
				goto out;
			}
			n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			n->complete = true;
			anchor = (const char *)ev.data.scalar.anchor;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == CONFIG_MAX_DEPTH) {
				loader_error(ld, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1,
				    "nesting is deeper than %d levels", CONFIG_MAX_DEPTH);
				yaml_event_delete(&ev);
				goto out;
			}
			n = node_new(ld, ev.type == YAML_SEQUENCE_START_EVENT ? NODE_SEQ : NODE_MAP,
			    ev.start_mark);
			if (n == NULL)
				goto oom;
			anchor = (const char *)(ev.type == YAML_SEQUENCE_START_EVENT ?
			    ev.data.sequence_start.anchor : ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			n = stack[--depth];
			n->complete = true;
			for (size_t i = 0; i < n->n; i++)
				n->weight += n->items[i]->weight;
			n = NULL;
			break;
		default:
			break;
		}
		if (anchor != NULL && anchor_add(ld, anchor, n) == -1)
			goto oom;
		if (n != NULL) {
			if (ev.type == YAML_ALIAS_EVENT || n->kind == NODE_SCALAR) {
				ld->expanded += n->weight;
				if (ld->expanded > CONFIG_MAX_NODES) {
					loader_error(ld, n->line, n->col, "more than %d values after "
					    "expanding aliases; the file is too large or an alias bomb",
					    CONFIG_MAX_NODES);
					yaml_event_delete(&ev);
					goto out;
				}
			} else {
				ld->expanded++;
			}
			if (depth == 0) {
				*root = n;
			} else if (node_add(ld, stack[depth - 1], n) == -1) {
				yaml_event_delete(&ev);
				goto out;
			}
			if (n->kind != NODE_SCALAR && ev.type != YAML_ALIAS_EVENT)
				stack[depth++] = n;
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
	goto out;
oom:
	yaml_event_delete(&ev);
	loader_error(ld, 1, 1, "out of memory");
out:
	yaml_parser_delete(&parser);
	return rc;
}

/* Format a key path such as "policies[0].deadline"; a (never expected) overlong one is cut. */
static void
keypath(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
keypath(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = '\0';
}

/* ---- step 2: nodes to structs ------------------------------------------------------------ */

enum ftype {
	FT_STRING,      /* char *: one line of printable text */
	FT_NAME,        /* char *: letters, digits, '.', '_', '-' (used in names and paths) */
	FT_PATH,        /* char *: relative paths start at the config file's folder */
	FT_URL,         /* char *: https (or loopback http), trailing '/' dropped */
	FT_URLPATH,     /* char *: a path on a server, starting with '/' */
	FT_SECRET,      /* struct secret: env:NAME or file:PATH only */
	FT_CREDENTIAL,  /* struct secret: a reference or a literal value */
	FT_WEBHOOK,     /* struct secret: a reference to an https URL (query allowed) */
	FT_DURATION,    /* long seconds: 30s, 30m, 24h, 3d */
	FT_INT,         /* long */
	FT_BOOL,        /* bool */
	FT_ENUM,        /* int-sized enum, from names */
	FT_FLAGS,       /* unsigned: a list of names, each a bit */
	FT_REGEX,       /* struct match *: PCRE2 */
	FT_TIME,        /* long minutes after midnight, from HH:MM */
	FT_UUID,        /* char * */
	FT_STRLIST,     /* struct config_strlist */
	FT_MAP,         /* an embedded struct that starts with struct config_pos */
	FT_LIST,        /* an array of such structs and its count */
};

enum fflag {
	F_REQUIRED = 1 << 0,
	F_EXISTS = 1 << 1,     /* FT_PATH: must name a readable file */
	F_NONEMPTY = 1 << 2,   /* FT_STRLIST, FT_LIST: at least one item */
	F_UNSET_NEG = 1 << 3,  /* FT_INT: -1 when absent */
};

struct schema;

struct field {
	const char *key;
	enum ftype type;
	size_t off;
	unsigned flags;
	long min;
	long max;
	const char *const *names;  /* FT_ENUM, FT_FLAGS: NULL-terminated */
	const struct schema *sub;  /* FT_MAP, FT_LIST */
	size_t count_off;          /* FT_LIST */
	const char *def;           /* default, read as if written in the file */
};

struct schema {
	const char *what;          /* for messages */
	size_t size;
	const struct field *fields;
	size_t nfields;
};

#define FIELDS(f) (f), sizeof(f) / sizeof((f)[0])
#define FIELD(k, t, st, member) .key = (k), .type = (t), .off = offsetof(st, member)
#define DAY (24L * 3600)

static const char *const os_names[] = {"macOS", "iOS", NULL};
static const char *const mode_names[] = {"plan", "blueprint", NULL};
static const char *const base_update_names[] = {"two_step", "report", NULL};
static const char *const auth_names[] = {"oauth", "basic", NULL};
static const char *const alert_kind_names[] = {"slack", "teams", "json", NULL};
static const char *const event_names[] = {"plan_failed", "plan_stuck", "deadline_missed",
	"feed_error", "run_failed", "resolved", NULL};

static const struct field http_fields[] = {
	{FIELD("connect_timeout", FT_DURATION, struct config_http, connect_timeout), .min = 1,
	    .max = 300, .def = "10s"},
	{FIELD("timeout", FT_DURATION, struct config_http, timeout), .min = 1, .max = 3600,
	    .def = "2m"},
	{FIELD("retries", FT_INT, struct config_http, retries), .min = 0, .max = 10, .def = "4"},
	{FIELD("retry_max_time", FT_DURATION, struct config_http, retry_max_time), .min = 1,
	    .max = 3600, .def = "5m"},
};
static const struct schema http_schema = {"http", sizeof(struct config_http), FIELDS(http_fields)};

static const struct field gdmf_fields[] = {
	{FIELD("url", FT_URL, struct config_gdmf, url), .def = "https://gdmf.apple.com/v2/pmv"},
	{FIELD("ca_file", FT_PATH, struct config_gdmf, ca_file), .flags = F_EXISTS,
	    .def = BRIDGE_DATADIR "/apple-root-ca.pem"},
	{FIELD("refresh", FT_DURATION, struct config_gdmf, refresh), .min = 3600, .max = 30 * DAY,
	    .def = "24h"},
};
static const struct schema gdmf_schema = {"gdmf", sizeof(struct config_gdmf), FIELDS(gdmf_fields)};

static const struct field watch_fields[] = {
	{FIELD("stuck_after", FT_DURATION, struct config_watch, stuck_after), .min = 3600,
	    .max = 90 * DAY, .def = "3d"},
	{FIELD("stuck_pending_after", FT_DURATION, struct config_watch, stuck_pending_after),
	    .min = 600, .max = 7 * DAY, .def = "2h"},
	{FIELD("deadline_grace", FT_DURATION, struct config_watch, deadline_grace), .min = 0,
	    .max = 30 * DAY, .def = "1d"},
	{FIELD("interval", FT_DURATION, struct config_watch, interval), .min = 0, .max = DAY,
	    .def = "0s"},
};
static const struct schema watch_schema = {"watch", sizeof(struct config_watch),
	FIELDS(watch_fields)};

static const struct field jamf_fields[] = {
	{FIELD("url", FT_URL, struct config_jamf, url), .flags = F_REQUIRED},
	{FIELD("ca_file", FT_PATH, struct config_jamf, ca_file), .flags = F_EXISTS},
	{FIELD("auth", FT_ENUM, struct config_jamf, auth), .names = auth_names, .def = "oauth"},
	{FIELD("client_id", FT_CREDENTIAL, struct config_jamf, client_id)},
	{FIELD("client_secret", FT_SECRET, struct config_jamf, client_secret)},
	{FIELD("username", FT_CREDENTIAL, struct config_jamf, username)},
	{FIELD("password", FT_SECRET, struct config_jamf, password)},
	/* NULL: /api/oauth/token for oauth, /api/v1/auth/token for basic (jamf.c decides) */
	{FIELD("token_path", FT_URLPATH, struct config_jamf, token_path)},
	{FIELD("issuer", FT_URL, struct config_jamf, issuer)},
	{FIELD("max_connections", FT_INT, struct config_jamf, max_connections), .min = 1,
	    .max = 16, .def = "5"},
};
static const struct schema jamf_schema = {"jamf", sizeof(struct config_jamf), FIELDS(jamf_fields)};

static const struct field platform_fields[] = {
	{FIELD("url", FT_URL, struct config_platform, url), .flags = F_REQUIRED},
	{FIELD("ca_file", FT_PATH, struct config_platform, ca_file), .flags = F_EXISTS},
	{FIELD("environment_id", FT_UUID, struct config_platform, environment_id),
	    .flags = F_REQUIRED},
	{FIELD("client_id", FT_CREDENTIAL, struct config_platform, client_id), .flags = F_REQUIRED},
	{FIELD("client_secret", FT_SECRET, struct config_platform, client_secret),
	    .flags = F_REQUIRED},
	{FIELD("token_path", FT_URLPATH, struct config_platform, token_path), .def = "/auth/token"},
	{FIELD("deploy_wait", FT_DURATION, struct config_platform, deploy_wait), .min = 0,
	    .max = 3600, .def = "60s"},
};
static const struct schema platform_schema = {"platform", sizeof(struct config_platform),
	FIELDS(platform_fields)};

static const struct field alert_fields[] = {
	{FIELD("name", FT_NAME, struct config_alert, name), .flags = F_REQUIRED},
	{FIELD("kind", FT_ENUM, struct config_alert, kind), .flags = F_REQUIRED,
	    .names = alert_kind_names},
	{FIELD("url", FT_WEBHOOK, struct config_alert, url), .flags = F_REQUIRED},
	{FIELD("events", FT_FLAGS, struct config_alert, events), .names = event_names,
	    .def = "[plan_failed, plan_stuck, deadline_missed, feed_error, run_failed, resolved]"},
	{FIELD("ca_file", FT_PATH, struct config_alert, ca_file), .flags = F_EXISTS},
	{FIELD("template", FT_PATH, struct config_alert, template_file), .flags = F_EXISTS},
	{FIELD("repeat_after", FT_DURATION, struct config_alert, repeat_after), .min = 3600,
	    .max = 30 * DAY, .def = "24h"},
	{FIELD("max_devices", FT_INT, struct config_alert, max_devices), .min = 0, .max = 100,
	    .def = "10"},
};
static const struct schema alert_schema = {"alert", sizeof(struct config_alert),
	FIELDS(alert_fields)};

static const struct field scope_fields[] = {
	{FIELD("groups", FT_STRLIST, struct config_scope, groups),
	    .flags = F_REQUIRED | F_NONEMPTY},
	{FIELD("exclude_groups", FT_STRLIST, struct config_scope, exclude_groups)},
};
static const struct schema scope_schema = {"scope", sizeof(struct config_scope),
	FIELDS(scope_fields)};

static const struct field models_fields[] = {
	{FIELD("include", FT_REGEX, struct config_models, include)},
	{FIELD("exclude", FT_REGEX, struct config_models, exclude)},
};
static const struct schema models_schema = {"models", sizeof(struct config_models),
	FIELDS(models_fields)};

static const struct field deadline_fields[] = {
	{FIELD("days_after_posting", FT_INT, struct config_deadline, days_after_posting), .min = 0,
	    .max = 365, .def = "7"},
	{FIELD("time", FT_TIME, struct config_deadline, minute_of_day), .def = "18:00"},
	{FIELD("skip_weekends", FT_BOOL, struct config_deadline, skip_weekends), .def = "false"},
};
static const struct schema deadline_schema = {"deadline", sizeof(struct config_deadline),
	FIELDS(deadline_fields)};

static const struct field ring_fields[] = {
	{FIELD("name", FT_NAME, struct config_ring, name), .flags = F_REQUIRED},
	{FIELD("groups", FT_STRLIST, struct config_ring, groups)},
	{FIELD("delay_days", FT_INT, struct config_ring, delay_days), .min = 0, .max = 365,
	    .def = "0"},
	{FIELD("min_success_percent", FT_INT, struct config_ring, min_success_percent),
	    .flags = F_UNSET_NEG, .min = 0, .max = 100},
};
static const struct schema ring_schema = {"ring", sizeof(struct config_ring), FIELDS(ring_fields)};

static const struct field templates_fields[] = {
	{FIELD("declaration", FT_PATH, struct config_templates, declaration), .flags = F_EXISTS},
	{FIELD("plan", FT_PATH, struct config_templates, plan), .flags = F_EXISTS},
	{FIELD("blueprint", FT_PATH, struct config_templates, blueprint), .flags = F_EXISTS},
};
static const struct schema templates_schema = {"templates", sizeof(struct config_templates),
	FIELDS(templates_fields)};

static const struct field policy_fields[] = {
	{FIELD("name", FT_NAME, struct config_policy, name), .flags = F_REQUIRED},
	{FIELD("enabled", FT_BOOL, struct config_policy, enabled), .def = "true"},
	{FIELD("platform", FT_ENUM, struct config_policy, platform), .flags = F_REQUIRED,
	    .names = os_names},
	{FIELD("mode", FT_ENUM, struct config_policy, mode), .flags = F_REQUIRED,
	    .names = mode_names},
	{FIELD("scope", FT_MAP, struct config_policy, scope), .flags = F_REQUIRED,
	    .sub = &scope_schema},
	{FIELD("versions", FT_REGEX, struct config_policy, versions)},
	{FIELD("models", FT_MAP, struct config_policy, models), .sub = &models_schema},
	{FIELD("deadline", FT_MAP, struct config_policy, deadline), .sub = &deadline_schema},
	{FIELD("rings", FT_LIST, struct config_policy, rings), .flags = F_NONEMPTY,
	    .sub = &ring_schema, .count_off = offsetof(struct config_policy, nrings)},
	{FIELD("base_update", FT_ENUM, struct config_policy, base_update),
	    .names = base_update_names, .def = "two_step"},
	{FIELD("batch_size", FT_INT, struct config_policy, batch_size), .min = 1, .max = 1000,
	    .def = "100"},
	{FIELD("max_deferrals", FT_INT, struct config_policy, max_deferrals), .min = 0, .max = 100,
	    .def = "0"},
	{FIELD("details_url", FT_URL, struct config_policy, details_url)},
	{FIELD("templates", FT_MAP, struct config_policy, templates), .sub = &templates_schema},
	{FIELD("alerts", FT_STRLIST, struct config_policy, alerts)},
};
static const struct schema policy_schema = {"policy", sizeof(struct config_policy),
	FIELDS(policy_fields)};

static const struct field tenant_fields[] = {
	{FIELD("name", FT_NAME, struct config_tenant, name), .flags = F_REQUIRED},
	{FIELD("jamf", FT_MAP, struct config_tenant, jamf), .flags = F_REQUIRED,
	    .sub = &jamf_schema},
	{FIELD("platform", FT_MAP, struct config_tenant, platform), .sub = &platform_schema},
	{FIELD("policies", FT_LIST, struct config_tenant, policies),
	    .flags = F_REQUIRED | F_NONEMPTY, .sub = &policy_schema,
	    .count_off = offsetof(struct config_tenant, npolicies)},
};
static const struct schema tenant_schema = {"tenant", sizeof(struct config_tenant),
	FIELDS(tenant_fields)};

/* The top level. jamf, platform and policies land in cfg->top until tenants are formed. */
static const struct field root_fields[] = {
	{FIELD("state_dir", FT_PATH, struct config, state_dir), .def = CONFIG_DEFAULT_STATE_DIR},
	{FIELD("name_prefix", FT_STRING, struct config, name_prefix), .min = 0, .max = 32,
	    .def = "bridge:"},
	{FIELD("metrics_file", FT_PATH, struct config, metrics_file)},
	{FIELD("max_parallel_tenants", FT_INT, struct config, max_parallel_tenants), .min = 1,
	    .max = 64, .def = "4"},
	{FIELD("http", FT_MAP, struct config, http), .sub = &http_schema},
	{FIELD("gdmf", FT_MAP, struct config, gdmf), .sub = &gdmf_schema},
	{FIELD("watch", FT_MAP, struct config, watch), .sub = &watch_schema},
	{FIELD("alerts", FT_LIST, struct config, alerts), .sub = &alert_schema,
	    .count_off = offsetof(struct config, nalerts)},
	{FIELD("jamf", FT_MAP, struct config, top.jamf), .sub = &jamf_schema},
	{FIELD("platform", FT_MAP, struct config, top.platform), .sub = &platform_schema},
	{FIELD("policies", FT_LIST, struct config, top.policies), .flags = F_NONEMPTY,
	    .sub = &policy_schema, .count_off = offsetof(struct config, top.npolicies)},
	{FIELD("tenants", FT_LIST, struct config, tenants), .flags = F_NONEMPTY,
	    .sub = &tenant_schema, .count_off = offsetof(struct config, ntenants)},
};
static const struct schema root_schema = {"top level", sizeof(struct config), FIELDS(root_fields)};

/* What a node is, for "expected X, got Y": a list, a mapping, or the value quoted. */
static const char *
node_kind_name(const struct node *n)
{
	static char buf[80];

	if (n->kind == NODE_SEQ)
		return "a list";
	if (n->kind == NODE_MAP)
		return "a mapping";
	(void)snprintf(buf, sizeof(buf), "\"%.40s%s\"", n->text, strlen(n->text) > 40 ? "..." : "");
	return buf;
}

/* Levenshtein distance of a and b, capped at 9 (only small distances matter). */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 9;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb] > 9 ? 9 : prev[lb];
}

/* The schema key closest to key (for "did you mean"), or NULL when none is close. */
static const char *
closest_key(const struct schema *s, const char *key)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < s->nfields; i++) {
		size_t d = edit_distance(key, s->fields[i].key);

		if (d < best_d) {
			best_d = d;
			best = s->fields[i].key;
		}
	}
	return best;
}

/* "a, b or c" from a NULL-terminated list, for messages. */
static void
names_join(const char *const *names, char *buf, size_t size)
{
	size_t len = 0, count = 0;

	while (names[count] != NULL)
		count++;
	buf[0] = '\0';
	for (size_t i = 0; i < count && len < size; i++) {
		const char *sep = i == 0 ? "" : (i + 1 == count ? " or " : ", ");
		int n = snprintf(buf + len, size - len, "%s%s", sep, names[i]);

		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* Index of text in names, or -1. */
static int
name_index(const char *const *names, const char *text)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], text) == 0)
			return i;
	return -1;
}

/* A scalar's text, checked to be one line of text; NULL after reporting a problem. */
static const char *
scalar_text(struct loader *ld, const struct node *n, const char *kp, const char *expected)
{
	if (n->kind != NODE_SCALAR) {
		loader_error(ld, n->line, n->col, "%s: expected %s, got %s", kp, expected,
		    node_kind_name(n));
		return NULL;
	}
	if (strlen(n->text) > CONFIG_MAX_STRING_BYTES) {
		loader_error(ld, n->line, n->col, "%s: value is longer than %d bytes", kp,
		    CONFIG_MAX_STRING_BYTES);
		return NULL;
	}
	for (const unsigned char *p = (const unsigned char *)n->text; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			loader_error(ld, n->line, n->col,
			    "%s: value contains a control character (0x%02x); values are one line "
			    "of text", kp, *p);
			return NULL;
		}
	}
	return n->text;
}

/* Parse a duration such as 90s, 30m, 24h or 3d into seconds; -1 if malformed. */
static long
parse_duration(const char *s)
{
	char *end;
	long v, unit;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0' || v > 100000)
		return -1;
	switch (end[0]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = DAY; break;
	default: return -1;
	}
	return v * unit;
}

void
config_format_duration(long secs, char *buf, size_t size)
{
	if (secs != 0 && secs % DAY == 0)
		snprintf(buf, size, "%ldd", secs / DAY);
	else if (secs != 0 && secs % 3600 == 0)
		snprintf(buf, size, "%ldh", secs / 3600);
	else if (secs != 0 && secs % 60 == 0)
		snprintf(buf, size, "%ldm", secs / 60);
	else
		snprintf(buf, size, "%lds", secs);
}

/* Resolve a path from the file against the file's folder; the caller frees the result. */
static char *
resolve_path(struct loader *ld, const char *path)
{
	char buf[CONFIG_MAX_PATH_BYTES];
	int n;

	if (path[0] == '/' || strcmp(ld->dir, ".") == 0)
		return strdup(path);
	n = snprintf(buf, sizeof(buf), "%s/%s", ld->dir, path);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	return strdup(buf);
}

/* Whether s looks like 8-4-4-4-12 hex digits. */
static bool
is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == '-' ? s[i] != '-' : strchr("0123456789abcdefABCDEF", s[i]) == NULL)
			return false;
		if (s[i] == '\0')
			return false;
	}
	return true;
}

static int map_struct(struct loader *ld, const struct schema *s, const struct node *map,
    void *out, const char *kp, int line, int col);

/* Make a node for a default value (position 0:0, "not in the file"); def is trusted text. */
static struct node *
default_node(struct loader *ld, const char *def)
{
	yaml_mark_t mark = {0, 0, 0};
	struct node *n;

	if (def[0] == '[') {
		/* a flow list of plain names: "[a, b]" */
		char *copy = strdup(def + 1), *save = NULL, *tok;

		if (copy == NULL || (n = node_new(ld, NODE_SEQ, mark)) == NULL) {
			free(copy);
			return NULL;
		}
		copy[strcspn(copy, "]")] = '\0';
		for (tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
			struct node *item = node_new(ld, NODE_SCALAR, mark);

			if (item == NULL || (item->text = strdup(tok)) == NULL ||
			    node_add(ld, n, item) == -1) {
				free(copy);
				return NULL;
			}
			item->plain = true;
			item->line = item->col = 0;
		}
		free(copy);
		n->line = n->col = 0;
		return n;
	}
	if ((n = node_new(ld, NODE_SCALAR, mark)) == NULL || (n->text = strdup(def)) == NULL)
		return NULL;
	n->plain = true;
	n->line = n->col = 0;
	return n;
}

/* Read one string list. */
static int
map_strlist(struct loader *ld, const struct field *f, const struct node *v,
    struct config_strlist *out, const char *kp)
{
	if (v->kind != NODE_SEQ) {
		loader_error(ld, v->line, v->col, "%s: expected a list, got %s", kp,
		    node_kind_name(v));
		return -1;
	}
	if ((f->flags & F_NONEMPTY) && v->n == 0) {
		loader_error(ld, v->line, v->col, "%s: the list is empty", kp);
		return -1;
	}
	if (v->n > 0 && (out->v = calloc(v->n, sizeof(char *))) == NULL) {
		loader_error(ld, v->line, v->col, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct node *item = v->items[i];
		const char *text = scalar_text(ld, item, kp, "a string");

		if (text == NULL)
			return -1;
		if (text[0] == '\0') {
			loader_error(ld, item->line, item->col, "%s: empty name in the list", kp);
			return -1;
		}
		for (size_t j = 0; j < out->n; j++) {
			if (strcmp(out->v[j], text) == 0) {
				loader_error(ld, item->line, item->col,
				    "%s: \"%s\" is listed twice", kp, text);
				return -1;
			}
		}
		if ((out->v[out->n] = strdup(text)) == NULL) {
			loader_error(ld, item->line, item->col, "out of memory");
			return -1;
		}
		out->n++;
	}
	return 0;
}

/* Read a list of structs described by f->sub. */
static int
map_list(struct loader *ld, const struct field *f, const struct node *v, void *base,
    const char *kp)
{
	char ekp[CONFIG_MAX_KEYPATH_BYTES];
	void **arr = (void **)((char *)base + f->off);
	size_t *count = (size_t *)(void *)((char *)base + f->count_off);
	char *items;
	int rc = 0;

	if (v->kind != NODE_SEQ) {
		loader_error(ld, v->line, v->col, "%s: expected a list, got %s", kp,
		    node_kind_name(v));
		return -1;
	}
	if ((f->flags & F_NONEMPTY) && v->n == 0) {
		loader_error(ld, v->line, v->col, "%s: the list is empty", kp);
		return -1;
	}
	if (v->n == 0)
		return 0;
	if ((items = calloc(v->n, f->sub->size)) == NULL) {
		loader_error(ld, v->line, v->col, "out of memory");
		return -1;
	}
	*arr = items;
	*count = v->n;
	for (size_t i = 0; i < v->n; i++) {
		keypath(ekp, sizeof(ekp), "%s[%zu]", kp, i);
		if (map_struct(ld, f->sub, v->items[i], items + i * f->sub->size, ekp,
		    v->items[i]->line, v->items[i]->col) == -1)
			rc = -1;
	}
	return rc;
}

/* Read a secret-valued field: a reference (or, for FT_CREDENTIAL, a literal). */
static int
map_secret(struct loader *ld, const struct field *f, const struct node *v, struct secret *out,
    const char *kp)
{
	char err[CONFIG_MAX_MSG_BYTES];
	const char *text = scalar_text(ld, v, kp, "a reference env:NAME or file:PATH");

	if (text == NULL)
		return -1;
	if (!secret_is_reference(text)) {
		if (f->type == FT_CREDENTIAL && text[0] != '\0') {
			out->ref = NULL;
			if ((out->value = strdup(text)) == NULL) {
				loader_error(ld, v->line, v->col, "out of memory");
				return -1;
			}
			return 0;
		}
		loader_error(ld, v->line, v->col, "%s: expected a reference env:NAME or file:PATH "
		    "(the secret itself does not belong in this file)", kp);
		return -1;
	}
	if (secret_resolve(out, text, ld->dir, err, sizeof(err)) == -1) {
		loader_error(ld, v->line, v->col, "%s: %s", kp, err);
		return -1;
	}
	if (f->type == FT_WEBHOOK && url_check(out->value, URL_ALLOW_QUERY, err, sizeof(err)) == -1) {
		loader_error(ld, v->line, v->col, "%s: the webhook from %s: %s", kp, out->ref, err);
		secret_release(out);
		return -1;
	}
	return 0;
}

/* Read a scalar-valued field of any simple type into its slot at base + f->off. */
static int
map_scalar(struct loader *ld, const struct field *f, const struct node *v, void *base,
    const char *kp)
{
	char err[CONFIG_MAX_MSG_BYTES], names[256];
	void *slot = (char *)base + f->off;
	const char *text;

	switch (f->type) {
	case FT_STRING:
	case FT_NAME:
	case FT_PATH:
	case FT_URL:
	case FT_URLPATH:
	case FT_UUID: {
		char *copy;

		if ((text = scalar_text(ld, v, kp, "a string")) == NULL)
			return -1;
		if (text[0] == '\0') {
			loader_error(ld, v->line, v->col, "%s: value is empty", kp);
			return -1;
		}
		if (f->max > 0 && strlen(text) > (size_t)f->max) {
			loader_error(ld, v->line, v->col, "%s: value is longer than %ld bytes", kp,
			    f->max);
			return -1;
		}
		if (f->type == FT_NAME && (strlen(text) > CONFIG_MAX_NAME_BYTES || text[0] == '.' ||
		    text[0] == '-' || strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-") != strlen(text))) {
			loader_error(ld, v->line, v->col, "%s: \"%s\" is not a valid name (up to %d "
			    "letters, digits, '.', '_' or '-', not starting with '.' or '-')", kp, text,
			    CONFIG_MAX_NAME_BYTES);
			return -1;
		}
		if (f->type == FT_URL && url_check(text, 0, err, sizeof(err)) == -1) {
			loader_error(ld, v->line, v->col, "%s: %s", kp, err);
			return -1;
		}
		if (f->type == FT_URLPATH && (text[0] != '/' || strpbrk(text, " ?#") != NULL)) {
			loader_error(ld, v->line, v->col, "%s: expected a path on the server "
			    "starting with '/', got \"%s\"", kp, text);
			return -1;
		}
		if (f->type == FT_UUID && !is_uuid(text)) {
			loader_error(ld, v->line, v->col, "%s: expected a UUID such as "
			    "3f2504e0-4f89-11d3-9a0c-0305e82c3301, got \"%s\"", kp, text);
			return -1;
		}
		copy = f->type == FT_PATH ? resolve_path(ld, text) : strdup(text);
		if (copy == NULL) {
			loader_error(ld, v->line, v->col, "%s: path is too long", kp);
			return -1;
		}
		if (f->type == FT_URL)
			for (size_t len = strlen(copy); len > 8 && copy[len - 1] == '/'; len--)
				copy[len - 1] = '\0';
		if (f->type == FT_PATH && (f->flags & F_EXISTS) && v->line > 0) {
			struct stat st;

			if (access(copy, R_OK) == -1 || stat(copy, &st) == -1) {
				loader_error(ld, v->line, v->col, "%s: cannot read \"%s\": %s", kp,
				    copy, strerror(errno));
				free(copy);
				return -1;
			}
			if (!S_ISREG(st.st_mode)) {
				loader_error(ld, v->line, v->col, "%s: \"%s\" is not a file", kp,
				    copy);
				free(copy);
				return -1;
			}
		}
		*(char **)slot = copy;
		return 0;
	}
	case FT_SECRET:
	case FT_CREDENTIAL:
	case FT_WEBHOOK:
		return map_secret(ld, f, v, slot, kp);
	case FT_DURATION: {
		char lo[24], hi[24];
		long secs;

		if ((text = scalar_text(ld, v, kp, "a duration")) == NULL)
			return -1;
		if ((secs = parse_duration(text)) < 0) {
			loader_error(ld, v->line, v->col, "%s: expected a duration such as 30m, 24h "
			    "or 3d, got \"%s\"", kp, text);
			return -1;
		}
		if (secs < f->min || secs > f->max) {
			config_format_duration(f->min, lo, sizeof(lo));
			config_format_duration(f->max, hi, sizeof(hi));
			loader_error(ld, v->line, v->col, "%s: %s is out of range (%s to %s)", kp,
			    text, lo, hi);
			return -1;
		}
		*(long *)slot = secs;
		return 0;
	}
	case FT_INT: {
		char *end;
		long n;

		if ((text = scalar_text(ld, v, kp, "a whole number")) == NULL)
			return -1;
		errno = 0;
		n = strtol(text, &end, 10);
		if (text[0] == '\0' || *end != '\0' || errno != 0 ||
		    strspn(text, "-0123456789") != strlen(text)) {
			loader_error(ld, v->line, v->col, "%s: expected a whole number, got \"%s\"",
			    kp, text);
			return -1;
		}
		if (n < f->min || n > f->max) {
			loader_error(ld, v->line, v->col, "%s: %s is out of range (%ld to %ld)", kp,
			    text, f->min, f->max);
			return -1;
		}
		*(long *)slot = n;
		return 0;
	}
	case FT_BOOL:
		if ((text = scalar_text(ld, v, kp, "true or false")) == NULL)
			return -1;
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
			loader_error(ld, v->line, v->col, "%s: expected true or false, got \"%s\"",
			    kp, text);
			return -1;
		}
		*(bool *)slot = text[0] == 't';
		return 0;
	case FT_ENUM: {
		int i;

		if ((text = scalar_text(ld, v, kp, "a name")) == NULL)
			return -1;
		if ((i = name_index(f->names, text)) < 0) {
			names_join(f->names, names, sizeof(names));
			loader_error(ld, v->line, v->col, "%s: unknown value \"%s\" (expected %s)",
			    kp, text, names);
			return -1;
		}
		*(int *)slot = i;
		return 0;
	}
	case FT_FLAGS: {
		unsigned bits = 0;

		if (v->kind != NODE_SEQ) {
			loader_error(ld, v->line, v->col, "%s: expected a list, got %s", kp,
			    node_kind_name(v));
			return -1;
		}
		for (size_t k = 0; k < v->n; k++) {
			const struct node *item = v->items[k];
			int i;

			if ((text = scalar_text(ld, item, kp, "a name")) == NULL)
				return -1;
			if ((i = name_index(f->names, text)) < 0) {
				names_join(f->names, names, sizeof(names));
				loader_error(ld, item->line, item->col, "%s: unknown value \"%s\" "
				    "(expected %s)", kp, text, names);
				return -1;
			}
			if (bits & (1u << i)) {
				loader_error(ld, item->line, item->col, "%s: \"%s\" is listed twice",
				    kp, text);
				return -1;
			}
			bits |= 1u << i;
		}
		*(unsigned *)slot = bits;
		return 0;
	}
	case FT_REGEX: {
		struct match *m;
		size_t off;

		if ((text = scalar_text(ld, v, kp, "a regular expression")) == NULL)
			return -1;
		if ((m = match_compile(text, err, sizeof(err), &off)) == NULL) {
			loader_error(ld, v->line, v->col, "%s: invalid regular expression at offset "
			    "%zu: %s", kp, off, err);
			return -1;
		}
		*(struct match **)slot = m;
		return 0;
	}
	case FT_TIME: {
		unsigned h, m;
		char tail;

		if ((text = scalar_text(ld, v, kp, "a time of day")) == NULL)
			return -1;
		if (strlen(text) != 5 || strspn(text, "0123456789") != 2 || text[2] != ':' ||
		    strspn(text + 3, "0123456789") != 2 ||
		    sscanf(text, "%2u:%2u%c", &h, &m, &tail) != 2 || h > 23 || m > 59) {
			loader_error(ld, v->line, v->col, "%s: expected a time of day HH:MM (00:00 "
			    "to 23:59), got \"%s\"", kp, text);
			return -1;
		}
		*(long *)slot = (long)(h * 60 + m);
		return 0;
	}
	case FT_STRLIST:
		return map_strlist(ld, f, v, slot, kp);
	case FT_MAP:
		return map_struct(ld, f->sub, v, slot, kp, v->line, v->col);
	case FT_LIST:
		return map_list(ld, f, v, base, kp);
	}
	return -1;
}

/* Whether a schema can be filled from defaults alone (no required keys). */
static bool
schema_has_required(const struct schema *s)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (s->fields[i].flags & F_REQUIRED)
			return true;
	return false;
}

/* Read map into the struct at out according to schema s; kp names it in messages. */
static int
map_struct(struct loader *ld, const struct schema *s, const struct node *map, void *out,
    const char *kp, int line, int col)
{
	const struct node *values[64] = {NULL};
	char fkp[CONFIG_MAX_KEYPATH_BYTES];
	struct config_pos *pos = out;
	int rc = 0;

	if (map != NULL && map->kind != NODE_MAP) {
		loader_error(ld, map->line, map->col, "%s: expected a mapping, got %s", kp,
		    node_kind_name(map));
		return -1;
	}
	if (map != NULL) {
		pos->line = map->line;
		pos->col = map->col;
	}
	for (size_t i = 0; map != NULL && i + 1 < map->n; i += 2) {
		const struct node *k = map->items[i];
		size_t j;

		for (j = 0; j < s->nfields; j++)
			if (strcmp(s->fields[j].key, k->text) == 0)
				break;
		if (j == s->nfields) {
			const char *hint = closest_key(s, k->text);

			if (strcmp(k->text, "<<") == 0)
				loader_error(ld, k->line, k->col, "merge keys (<<) are not supported; "
				    "repeat the settings or use an alias for the whole value");
			else if (kp[0] == '\0')
				loader_error(ld, k->line, k->col, "unknown key \"%s\"%s%s%s", k->text,
				    hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "");
			else
				loader_error(ld, k->line, k->col, "unknown key \"%s\" in %s%s%s%s",
				    k->text, kp, hint ? " (did you mean \"" : "", hint ? hint : "",
				    hint ? "\"?)" : "");
			rc = -1;
			continue;
		}
		if (values[j] == NULL)  /* a duplicate was reported while parsing */
			values[j] = map->items[i + 1];
	}
	for (size_t j = 0; j < s->nfields; j++) {
		const struct field *f = &s->fields[j];
		const struct node *v = values[j];

		keypath(fkp, sizeof(fkp), "%s%s%s", kp, kp[0] ? "." : "", f->key);
		if (node_is_null(v))
			v = NULL;
		if (v == NULL) {
			if (f->flags & F_REQUIRED) {
				if (kp[0] == '\0')
					loader_error(ld, line, col, "missing required key \"%s\"",
					    f->key);
				else
					loader_error(ld, line, col, "%s: missing required key \"%s\"",
					    kp, f->key);
				rc = -1;
				continue;
			}
			if (f->flags & F_UNSET_NEG)
				*(long *)(void *)((char *)out + f->off) = -1;
			if (f->def != NULL) {
				v = default_node(ld, f->def);
				if (v == NULL) {
					loader_error(ld, line, col, "out of memory");
					return -1;
				}
			} else if (f->type == FT_MAP && !schema_has_required(f->sub)) {
				if (map_struct(ld, f->sub, NULL, (char *)out + f->off, fkp, line,
				    col) == -1)
					rc = -1;
				continue;
			} else {
				continue;
			}
		}
		if (map_scalar(ld, f, v, out, fkp) == -1)
			rc = -1;
	}
	return rc;
}

/* Free what map_struct() allocated in the struct at p, following schema s. */
static void
free_struct(const struct schema *s, void *p)
{
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		void *slot = (char *)p + f->off;

		switch (f->type) {
		case FT_STRING:
		case FT_NAME:
		case FT_PATH:
		case FT_URL:
		case FT_URLPATH:
		case FT_UUID:
			free(*(char **)slot);
			*(char **)slot = NULL;
			break;
		case FT_SECRET:
		case FT_CREDENTIAL:
		case FT_WEBHOOK:
			secret_release(slot);
			break;
		case FT_REGEX:
			match_free(*(struct match **)slot);
			*(struct match **)slot = NULL;
			break;
		case FT_STRLIST: {
			struct config_strlist *l = slot;

			for (size_t k = 0; k < l->n; k++)
				free(l->v[k]);
			free(l->v);
			l->v = NULL;
			l->n = 0;
			break;
		}
		case FT_MAP:
			free_struct(f->sub, slot);
			break;
		case FT_LIST: {
			char *items = *(char **)slot;
			size_t *count = (size_t *)(void *)((char *)p + f->count_off);

			for (size_t k = 0; items != NULL && k < *count; k++)
				free_struct(f->sub, items + k * f->sub->size);
			free(items);
			*(char **)slot = NULL;
			*count = 0;
			break;
		}
		default:
			break;
		}
	}
}

/* ---- step 3: rules across keys ----------------------------------------------------------- */

/* Check one policy against its tenant and the alerts. */
static void
validate_policy(struct loader *ld, const struct config *cfg, const struct config_tenant *t,
    const struct config_policy *p, const char *kp)
{
	if (p->mode == CONFIG_MODE_BLUEPRINT && !config_present(&t->platform.pos))
		loader_error(ld, p->pos.line, p->pos.col, "%s: mode \"blueprint\" needs a "
		    "\"platform:\" section with Jamf Platform API credentials", kp);
	for (size_t i = 0; i < p->nrings; i++) {
		const struct config_ring *r = &p->rings[i];

		for (size_t j = 0; j < i; j++) {
			if (strcmp(p->rings[j].name, r->name) == 0)
				loader_error(ld, r->pos.line, r->pos.col, "%s.rings[%zu]: ring name "
				    "\"%s\" is already used at %d:%d", kp, i, r->name,
				    p->rings[j].pos.line, p->rings[j].pos.col);
			if (p->rings[j].groups.n == 0)
				loader_error(ld, r->pos.line, r->pos.col, "%s.rings[%zu]: ring \"%s\" "
				    "can never hold a device: ring \"%s\" before it has no groups and "
				    "takes every device", kp, i, r->name, p->rings[j].name);
		}
	}
	for (size_t i = 0; i < p->alerts.n; i++) {
		size_t j;

		for (j = 0; j < cfg->nalerts; j++)
			if (strcmp(cfg->alerts[j].name, p->alerts.v[i]) == 0)
				break;
		if (j == cfg->nalerts)
			loader_error(ld, p->pos.line, p->pos.col, "%s.alerts: no alert is named "
			    "\"%s\"", kp, p->alerts.v[i]);
	}
}

/* Check one tenant's Jamf credentials and policies. */
static void
validate_tenant(struct loader *ld, const struct config *cfg, const struct config_tenant *t,
    const char *kp)
{
	char pkp[CONFIG_MAX_KEYPATH_BYTES];
	const struct config_jamf *j = &t->jamf;
	char jamf_kp[CONFIG_MAX_KEYPATH_BYTES];

	keypath(jamf_kp, sizeof(jamf_kp), "%s%sjamf", kp, kp[0] ? "." : "");
	if (j->auth == CONFIG_AUTH_OAUTH) {
		if (j->client_id.value == NULL)
			loader_error(ld, j->pos.line, j->pos.col, "%s: missing required key "
			    "\"client_id\" (auth oauth)", jamf_kp);
		if (j->client_secret.value == NULL)
			loader_error(ld, j->pos.line, j->pos.col, "%s: missing required key "
			    "\"client_secret\" (auth oauth)", jamf_kp);
	} else {
		if (j->username.value == NULL)
			loader_error(ld, j->pos.line, j->pos.col, "%s: missing required key "
			    "\"username\" (auth basic)", jamf_kp);
		if (j->password.value == NULL)
			loader_error(ld, j->pos.line, j->pos.col, "%s: missing required key "
			    "\"password\" (auth basic)", jamf_kp);
		if (j->issuer != NULL)
			loader_error(ld, j->pos.line, j->pos.col, "%s: \"issuer\" is for auth oauth; "
			    "auth basic signs in at token_path", jamf_kp);
	}
	for (size_t i = 0; i < t->npolicies; i++) {
		const struct config_policy *p = &t->policies[i];

		keypath(pkp, sizeof(pkp), "%s%spolicies[%zu]", kp, kp[0] ? "." : "", i);
		for (size_t k = 0; k < i; k++)
			if (strcmp(t->policies[k].name, p->name) == 0)
				loader_error(ld, p->pos.line, p->pos.col, "%s: policy name \"%s\" is "
				    "already used at %d:%d", pkp, p->name, t->policies[k].pos.line,
				    t->policies[k].pos.col);
		validate_policy(ld, cfg, t, p, pkp);
	}
}

/* Join dir and name into a new string; NULL when out of memory. */
static char *
path_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *s = malloc(len);

	if (s != NULL)
		(void)snprintf(s, len, "%s/%s", dir, name);
	return s;
}

/* Turn the top-level jamf/platform/policies into tenant "default", or check tenants. */
static int
form_tenants(struct loader *ld, struct config *cfg)
{
	struct config_tenant *t;

	if (cfg->ntenants > 0) {
		if (config_present(&cfg->top.jamf.pos) || config_present(&cfg->top.platform.pos) ||
		    cfg->top.npolicies > 0) {
			loader_error(ld, cfg->tenants[0].pos.line, cfg->tenants[0].pos.col,
			    "tenants: with \"tenants:\", jamf, platform and policies belong inside "
			    "each tenant, not at the top level");
			return -1;
		}
		for (size_t i = 0; i < cfg->ntenants; i++) {
			t = &cfg->tenants[i];
			for (size_t k = 0; k < i; k++)
				if (strcmp(cfg->tenants[k].name, t->name) == 0)
					loader_error(ld, t->pos.line, t->pos.col, "tenants[%zu]: tenant "
					    "name \"%s\" is already used at %d:%d", i, t->name,
					    cfg->tenants[k].pos.line, cfg->tenants[k].pos.col);
			if ((t->state_dir = path_join(cfg->state_dir, t->name)) == NULL)
				return -1;
		}
		return 0;
	}
	if (!config_present(&cfg->top.jamf.pos))
		loader_error(ld, 1, 1, "missing required key \"jamf\"");
	if (cfg->top.npolicies == 0)
		loader_error(ld, 1, 1, "missing required key \"policies\"");
	if (!config_present(&cfg->top.jamf.pos) || cfg->top.npolicies == 0)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	*t = cfg->top;
	memset(&cfg->top, 0, sizeof(cfg->top));
	t->pos = t->jamf.pos;
	if ((t->name = strdup("default")) == NULL || (t->state_dir = strdup(cfg->state_dir)) == NULL) {
		cfg->tenants = t;
		cfg->ntenants = 1;
		return -1;
	}
	cfg->tenants = t;
	cfg->ntenants = 1;
	return 0;
}

/* Check everything that spans several keys. */
static void
validate(struct loader *ld, struct config *cfg)
{
	char kp[CONFIG_MAX_KEYPATH_BYTES];

	for (size_t i = 0; i < cfg->nalerts; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(cfg->alerts[k].name, cfg->alerts[i].name) == 0)
				loader_error(ld, cfg->alerts[i].pos.line, cfg->alerts[i].pos.col,
				    "alerts[%zu]: alert name \"%s\" is already used at %d:%d", i,
				    cfg->alerts[i].name, cfg->alerts[k].pos.line,
				    cfg->alerts[k].pos.col);
	if (form_tenants(ld, cfg) == -1)
		return;
	for (size_t i = 0; i < cfg->ntenants; i++) {
		if (cfg->ntenants == 1 && strcmp(cfg->tenants[i].name, "default") == 0 &&
		    cfg->tenants[i].state_dir != NULL && strcmp(cfg->tenants[i].state_dir,
		    cfg->state_dir) == 0)
			kp[0] = '\0';
		else
			keypath(kp, sizeof(kp), "tenants[%zu]", i);
		validate_tenant(ld, cfg, &cfg->tenants[i], kp);
	}
}

/* ---- public ------------------------------------------------------------------------------ */

/* The folder of path, as a new string ("." for a bare file name). */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int
config_load_string(struct config *cfg, const char *path, const char *text, size_t len,
    struct config_errors *errs)
{
	struct loader ld = {0};
	struct node *root = NULL;
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	memset(errs, 0, sizeof(*errs));
	ld.path = path;
	ld.errs = errs;
	if ((cfg->path = strdup(path)) == NULL || (cfg->dir = dir_of(path)) == NULL) {
		loader_error(&ld, 1, 1, "out of memory");
		goto out;
	}
	ld.dir = cfg->dir;
	if (len > CONFIG_MAX_FILE_BYTES) {
		loader_error(&ld, 1, 1, "the file is larger than %d bytes", CONFIG_MAX_FILE_BYTES);
		goto out;
	}
	for (i = 0; i < len && strchr(" \t\r\n", text[i]) != NULL; i++)
		;
	if (i == len) {
		loader_error(&ld, 1, 1, "the file is empty");
		goto out;
	}
	if (check_utf8(&ld, (const unsigned char *)text, len) == -1 ||
	    parse_tree(&ld, text, len, &root) == -1)
		goto out;
	if (root == NULL || node_is_null(root)) {
		loader_error(&ld, 1, 1, "the file holds no settings (only comments)");
		goto out;
	}
	if (root->kind != NODE_MAP) {
		loader_error(&ld, root->line, root->col, "the top level must be a mapping of "
		    "settings, not %s", node_kind_name(root));
		goto out;
	}
	if (map_struct(&ld, &root_schema, root, cfg, "", 1, 1) == 0 && errs->n == 0)
		validate(&ld, cfg);
	cfg->digest = hash_bytes(HASH_START, text, len);
out:
	nodes_free(&ld);
	if (errs->n > 0 || errs->truncated) {
		qsort(errs->v, errs->n, sizeof(errs->v[0]), config_error_cmp);
		config_release(cfg);
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, struct config_errors *errs)
{
	struct loader ld = {0};
	char *buf = NULL;
	size_t len;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(errs, 0, sizeof(*errs));
	ld.errs = errs;
	switch (fileio_read(path, CONFIG_MAX_FILE_BYTES, &buf, &len)) {
	case FILEIO_OK:
		break;
	case FILEIO_TOO_BIG:
		loader_error(&ld, 1, 1, "the file is larger than %d bytes", CONFIG_MAX_FILE_BYTES);
		return -1;
	default:
		if (errno == EINVAL)
			loader_error(&ld, 0, 0, "the policy file is not a regular file");
		else
			loader_error(&ld, 0, 0, "cannot open the policy file: %s", strerror(errno));
		return -1;
	}
	rc = config_load_string(cfg, path, buf, len, errs);
	free(buf);
	return rc;
}

void
config_release(struct config *cfg)
{
	for (size_t i = 0; i < cfg->ntenants; i++)
		free(cfg->tenants[i].state_dir);
	free_struct(&root_schema, cfg);  /* also what is left in cfg->top */
	free(cfg->path);
	free(cfg->dir);
	memset(cfg, 0, sizeof(*cfg));
}

bool
config_present(const struct config_pos *pos)
{
	return pos->line > 0;
}

bool
config_tenant_selected(const struct config_tenant *t, const char *const *names, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], t->name) == 0)
			return true;
	return false;
}

const char *
config_unknown_tenant(const struct config *cfg, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t t;

		for (t = 0; t < cfg->ntenants && strcmp(cfg->tenants[t].name, names[i]) != 0; t++)
			continue;
		if (t == cfg->ntenants)
			return names[i];
	}
	return NULL;
}

bool
config_policy_known(const struct config *cfg, const char *name)
{
	for (size_t t = 0; name != NULL && t < cfg->ntenants; t++)
		for (size_t i = 0; i < cfg->tenants[t].npolicies; i++)
			if (strcmp(cfg->tenants[t].policies[i].name, name) == 0)
				return true;
	return name == NULL;
}

const char *
config_os_name(enum config_os os)
{
	return os_names[os];
}

const char *
config_mode_name(enum config_mode mode)
{
	return mode_names[mode];
}

const char *
config_alert_kind_name(enum config_alert_kind kind)
{
	return alert_kind_names[kind];
}

const char *
config_base_update_name(enum config_base_update b)
{
	return base_update_names[b];
}

const char *
config_library_version(void)
{
	return yaml_get_version_string();
}
