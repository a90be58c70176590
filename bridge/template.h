/*
 * JSON templates: the declaration payload, the plan config and the blueprint body that bridge
 * sends to Jamf, and the bodies of its webhook alerts, read from files users can copy and change
 * (templates/README.md documents them).
 *
 * A template is JSON text with {{name}} placeholders (name: [a-z_][a-z0-9_]*, spaces allowed
 * inside the braces). Where a placeholder stands decides how its value is written:
 *   - inside a JSON string ("v{{version}}"): the value's text, JSON-escaped; a null value
 *     writes nothing;
 *   - as the whole string ("{{build}}"): a JSON string, or the bare word null when the value
 *     is null;
 *   - as a bare JSON value ({{max_deferrals}}): the value as JSON; the variable must be a
 *     number, bool, null or JSON kind (a text variable there is an error).
 * A literal "{{" inside a string is written "{\u007b". The result must be valid JSON; it is
 * returned reprinted compactly by cJSON, so it is always strict, valid UTF-8 JSON.
 */
#ifndef BRIDGE_TEMPLATE_H
#define BRIDGE_TEMPLATE_H

#include <stddef.h>

#define TEMPLATE_MAX_FILE_BYTES (64 * 1024)
#define TEMPLATE_MAX_OUTPUT_BYTES (1024 * 1024)
#define TEMPLATE_MAX_PLACEHOLDERS 1000
#define TEMPLATE_MAX_NAME_BYTES 64

/* What a variable's value is; value NULL means JSON null whatever the kind. */
enum template_kind {
	TEMPLATE_STRING,  /* text; JSON-escaped where it is written */
	TEMPLATE_NUMBER,  /* a JSON number, e.g. "3" or "-1.5e3" */
	TEMPLATE_BOOL,    /* "true" or "false" */
	TEMPLATE_NULL,    /* null; value is ignored */
	TEMPLATE_JSON,    /* one complete JSON value, e.g. a rendered declaration */
};

struct template_var {
	const char *name;
	enum template_kind kind;
	const char *value;
};

/* The templates bridge ships; each has a file templates/<name>.json. */
enum template_which {
	TEMPLATE_DECLARATION,  /* payload of the enforcement.specific declaration */
	TEMPLATE_PLAN,         /* the config object of a Jamf Pro managed software update plan */
	TEMPLATE_BLUEPRINT,    /* the body of a Jamf Platform blueprint */
	TEMPLATE_ALERT_SLACK,  /* the body posted to a Slack incoming webhook (kind: slack) */
	TEMPLATE_ALERT_TEAMS,  /* the body posted to a Teams Workflows webhook (kind: teams) */
	TEMPLATE_ALERT_JSON,   /* the body posted to a generic JSON webhook (kind: json) */
};

enum template_flags {
	TEMPLATE_DROP_NULLS = 1 << 0,  /* leave out object members whose value is null (any depth) */
};

struct template_slot;

/* A loaded template: its text and where its placeholders are. */
struct template {
	char *path;                  /* for messages */
	char *text;
	size_t len;
	struct template_slot *slots;
	size_t nslots;
};

/*
 * Read the template at path (at most TEMPLATE_MAX_FILE_BYTES) and check its placeholders and
 * UTF-8. Returns 0, or -1 with "PATH:LINE:COL: reason" in err and t left empty.
 */
int template_load(struct template *t, const char *path, char *err, size_t errlen);

/* Same as template_load(), from text in memory; path is used in messages. */
int template_load_string(struct template *t, const char *path, const char *text, size_t len,
    char *err, size_t errlen);

/*
 * Render t with vars (flags: enum template_flags) into *out, a new NUL-terminated string of
 * compact JSON that the caller frees. Returns 0, or -1 with *out NULL and err naming the
 * template's PATH:LINE:COL: an unknown variable, a value of the wrong kind, or a result that
 * is not valid JSON (the position is where the JSON broke, mapped back into the template).
 */
int template_render(const struct template *t, const struct template_var *vars, size_t nvars,
    unsigned flags, char **out, char *err, size_t errlen);

/* Free what t holds; t may be loaded again. Releasing an empty or zeroed template is a no-op. */
void template_release(struct template *t);

/*
 * Check the template at path as `bridge check` does for a template of type which: its syntax,
 * that every placeholder is a variable bridge fills for that type and the ones it must use
 * are there, that it renders to a JSON object with sample values and with the optional
 * variables null, and what the receiver needs of that object: a blueprint's name is
 * {{blueprint_name}}; a Slack message's "blocks", when present, is an array; a Teams message
 * carries an Adaptive Card in attachments[0]. Returns 0, or -1 with "PATH:LINE:COL: reason"
 * in err.
 */
int template_check(const char *path, enum template_which which, char *err, size_t errlen);

/*
 * "declaration", "plan", "blueprint", "alert-slack", "alert-teams" or "alert-json" (the file
 * name without .json); NULL for another value.
 */
const char *template_which_name(enum template_which which);

/*
 * The path of the default template of type which, written into buf: $BRIDGE_TEMPLATE_DIR
 * when set; else the installed copy under BRIDGE_DATADIR/templates when it exists; else the
 * source tree's templates/ (the build's -DBRIDGE_TEMPLATE_DIR) when it exists; else the
 * installed path. Returns buf, or NULL when the path does not fit.
 */
const char *template_default_path(enum template_which which, char *buf, size_t size);

#endif
