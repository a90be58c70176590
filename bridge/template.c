/*
 * JSON templates (see template.h and templates/README.md). Templates are files users edit and
 * the values come from Apple's feed and from Jamf, so nothing here trusts either: sizes are
 * capped, placeholders are found by one flat scan (no recursion), every value is escaped or
 * checked against its kind, and the result is parsed and reprinted by cJSON, so what leaves
 * this module is valid JSON or an error naming the template's file, line and column.
 */
#include "template.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "json.h"

#define TEMPLATE_MAX_NUMBER_BYTES 40
#define TEMPLATE_MAX_SHOWN_BYTES 40  /* of a bad placeholder, quoted in a message */
#define TEMPLATE_FIRST_SLOTS 8

/* Where a placeholder stands in the JSON text. */
enum slot_ctx {
	SLOT_BARE,          /* a JSON value of its own: {{x}} */
	SLOT_IN_STRING,     /* part of a JSON string: "v{{x}}" */
	SLOT_WHOLE_STRING,  /* the whole string: "{{x}}"; [start, end) holds the quotes too */
};

struct template_slot {
	size_t at;     /* offset of the "{{", for messages */
	size_t start;  /* first byte replaced */
	size_t end;    /* one past the last byte replaced */
	enum slot_ctx ctx;
	char name[TEMPLATE_MAX_NAME_BYTES + 1];
};

/* A growing output buffer with a hard cap. */
struct tbuf {
	char *p;
	size_t len;
	size_t size;
	bool oom;  /* the last failure was out of memory, not the cap */
};

/* The variables bridge fills, with sample values for template_check(). */
struct template_sample {
	const char *name;
	enum template_kind kind;
	const char *value;
	unsigned used_by;      /* bit (1 << enum template_which): filled for that template */
	unsigned required_by;  /* that template must use it */
	bool optional;         /* may be null (checked both ways) */
};

#define FOR_DECL (1u << TEMPLATE_DECLARATION)
#define FOR_PLAN (1u << TEMPLATE_PLAN)
#define FOR_BLUEPRINT (1u << TEMPLATE_BLUEPRINT)
#define FOR_JAMF (FOR_DECL | FOR_PLAN | FOR_BLUEPRINT)
#define FOR_SLACK (1u << TEMPLATE_ALERT_SLACK)
#define FOR_TEAMS (1u << TEMPLATE_ALERT_TEAMS)
#define FOR_JSON (1u << TEMPLATE_ALERT_JSON)
#define FOR_ALERT (FOR_SLACK | FOR_TEAMS | FOR_JSON)

#define SAMPLE_BLUEPRINT_NAME "bridge: macos-bsi pilot macOS 26.3.1 (a) 25D771280a"
#define SAMPLE_ALERT_TITLE "bridge: 2 new problems, 1 resolved"
#define SAMPLE_ALERT_LINE1 "plan failed: policy macos-bsi, ring pilot, 3 devices"
#define SAMPLE_ALERT_LINE2 "deadline missed: policy macos-bsi, ring pilot, 1 device"
#define SAMPLE_ALERT_LINE3 "resolved: the GDMF feed is readable again"

static const struct template_sample samples[] = {
	{"policy", TEMPLATE_STRING, "macos-bsi", FOR_JAMF, 0, false},
	{"ring", TEMPLATE_STRING, "pilot", FOR_JAMF, 0, false},
	{"platform", TEMPLATE_STRING, "macOS", FOR_JAMF, 0, false},
	{"version", TEMPLATE_STRING, "26.3.1", FOR_JAMF, FOR_DECL | FOR_PLAN, false},
	{"extra", TEMPLATE_STRING, "(a)", FOR_JAMF, 0, true},
	{"build", TEMPLATE_STRING, "25D771280a", FOR_JAMF, 0, true},
	{"deadline", TEMPLATE_STRING, "2026-03-20T18:00:00", FOR_JAMF, FOR_DECL | FOR_PLAN, false},
	{"details_url", TEMPLATE_STRING, "https://intranet.example.com/patching", FOR_JAMF, 0,
	    true},
	{"max_deferrals", TEMPLATE_NUMBER, "3", FOR_JAMF, 0, false},
	{"version_type", TEMPLATE_STRING, "CUSTOM_VERSION", FOR_PLAN, FOR_PLAN, false},
	{"blueprint_name", TEMPLATE_STRING, SAMPLE_BLUEPRINT_NAME, FOR_BLUEPRINT, FOR_BLUEPRINT,
	    false},
	{"group_uuid", TEMPLATE_STRING, "cda24521-f23b-4f27-a9ff-32c89fb6feeb", FOR_BLUEPRINT,
	    FOR_BLUEPRINT, false},
	{"component", TEMPLATE_STRING, "com.jamf.ddm.custom-declarations", FOR_BLUEPRINT, 0, false},
	{"declaration", TEMPLATE_JSON,
	    "{\"TargetOSVersion\":\"26.3.1\",\"TargetBuildVersion\":\"25D771280a\","
	    "\"TargetLocalDateTime\":\"2026-03-20T18:00:00\"}", FOR_BLUEPRINT, FOR_BLUEPRINT, false},
	{"title", TEMPLATE_STRING, SAMPLE_ALERT_TITLE, FOR_ALERT, 0, false},
	{"text", TEMPLATE_STRING, SAMPLE_ALERT_TITLE "\n" SAMPLE_ALERT_LINE1 "\n"
	    SAMPLE_ALERT_LINE2 "\n" SAMPLE_ALERT_LINE3, FOR_ALERT, FOR_SLACK, false},
	{"blocks", TEMPLATE_JSON,
	    "[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\","
	    "\"text\":\"" SAMPLE_ALERT_TITLE "\"}},{\"type\":\"section\",\"text\":{"
	    "\"type\":\"mrkdwn\",\"text\":\"" SAMPLE_ALERT_LINE1 "\"}}]", FOR_ALERT, 0, false},
	{"card_body", TEMPLATE_JSON,
	    "[{\"type\":\"TextBlock\",\"text\":\"" SAMPLE_ALERT_TITLE "\",\"weight\":\"Bolder\","
	    "\"wrap\":true},{\"type\":\"TextBlock\",\"text\":\"" SAMPLE_ALERT_LINE1 "\","
	    "\"wrap\":true}]", FOR_ALERT, FOR_TEAMS, false},
	{"digest", TEMPLATE_JSON,
	    "{\"new\":[],\"repeated\":[],\"resolved\":[],"
	    "\"counts\":{\"new\":0,\"repeated\":0,\"resolved\":0}}", FOR_ALERT, FOR_JSON, false},
	{"generated_at", TEMPLATE_STRING, "2026-03-20T18:05:00Z", FOR_ALERT, 0, false},
	{"host", TEMPLATE_STRING, "bridge.example.com", FOR_ALERT, 0, false},
};

#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

/* What a member of the rendered sample must be. */
enum template_want {
	WANT_EQUAL,            /* the string value */
	WANT_STRING,           /* any string */
	WANT_ARRAY_OR_ABSENT,  /* an array, or not there */
};

/* What a receiver needs of a template's result beyond a JSON object. */
struct template_rule {
	unsigned which;         /* bits (1 << enum template_which) it applies to */
	const char *member;     /* from the root, "." between names, digits index an array */
	enum template_want want;
	const char *value;      /* WANT_EQUAL: the string */
	const char *slot;       /* the placeholder an error points at; NULL: the file's start */
	const char *msg;
};

#define TEAMS_WHY ": a Teams Workflows webhook drops anything else"

static const struct template_rule rules[] = {
	{FOR_BLUEPRINT, "name", WANT_EQUAL, SAMPLE_BLUEPRINT_NAME, "blueprint_name",
	    "the blueprint's \"name\" must be \"{{blueprint_name}}\": bridge finds its "
	    "blueprints by name"},
	{FOR_SLACK, "blocks", WANT_ARRAY_OR_ABSENT, NULL, "blocks",
	    "the Slack message's \"blocks\" must be an array, as {{blocks}} is: Slack refuses "
	    "anything else"},
	{FOR_TEAMS, "attachments.0.contentType", WANT_EQUAL,
	    "application/vnd.microsoft.card.adaptive", NULL,
	    "the Teams message's attachments[0].contentType must be "
	    "\"application/vnd.microsoft.card.adaptive\"" TEAMS_WHY},
	{FOR_TEAMS, "attachments.0.content.type", WANT_EQUAL, "AdaptiveCard", NULL,
	    "the Teams message's attachments[0].content.type must be \"AdaptiveCard\"" TEAMS_WHY},
	{FOR_TEAMS, "attachments.0.content.version", WANT_STRING, NULL, NULL,
	    "the Teams message's attachments[0].content.version must be a string such as "
	    "\"1.4\"" TEAMS_WHY},
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

/* The 1-based line and column (in characters, not bytes) of offset off in text. */
static void
template_where(const char *text, size_t off, int *line, int *col)
{
	int l = 1, c = 1;

	for (size_t i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* Write "PATH:LINE:COL: message" about offset off of t into err; returns -1. */
static int __attribute__((format(printf, 5, 6)))
template_error(const struct template *t, size_t off, char *err, size_t errlen, const char *fmt,
    ...)
{
	char msg[512];
	va_list ap;
	int line, col;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);  /* a cut message is still a message */
	va_end(ap);
	template_where(t->text, off, &line, &col);
	(void)snprintf(err, errlen, "%s:%d:%d: %s", t->path, line, col, msg);
	return -1;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 when it is not valid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F))
			return 0;  /* overlong, or a UTF-16 surrogate */
		return 3;
	}
	if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
			return 0;  /* overlong, or past U+10FFFF */
		return 4;
	}
	return 0;
}

/* Whether the len bytes at s are valid UTF-8. */
static bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (size_t i = 0; i < len; i += n)
		if ((n = utf8_len(p + i, len - i)) == 0)
			return false;
	return true;
}

static bool
is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Whether s is one JSON number (RFC 8259 grammar) that a double holds without overflow. */
static bool
is_json_number(const char *s)
{
	const char *p = s;

	if (strlen(s) > TEMPLATE_MAX_NUMBER_BYTES)
		return false;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (is_digit(*p))
			p++;
	else
		return false;
	if (*p == '.') {
		if (!is_digit(*++p))
			return false;
		while (is_digit(*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!is_digit(*p))
			return false;
		while (is_digit(*p))
			p++;
	}
	/* cJSON would print an infinite number as null */
	return *p == '\0' && isfinite(strtod(s, NULL));
}

/* Whether s is exactly one JSON value (surrounding white space allowed). */
static bool
is_json(const char *s)
{
	cJSON *v = cJSON_ParseWithOpts(s, NULL, 1);

	cJSON_Delete(v);
	return v != NULL;
}

/* Append n bytes to b, keeping it NUL-terminated. Returns 0, or -1 past the cap or on OOM. */
static int
tbuf_add(struct tbuf *b, const char *s, size_t n)
{
	b->oom = false;
	if (n > TEMPLATE_MAX_OUTPUT_BYTES - b->len)
		return -1;
	if (b->len + n + 1 > b->size) {
		size_t size = b->size == 0 ? 1024 : b->size;
		char *p;

		while (size < b->len + n + 1)
			size *= 2;
		if ((p = realloc(b->p, size)) == NULL) {
			b->oom = true;
			return -1;
		}
		b->p = p;
		b->size = size;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Append s to b as the inside of a JSON string: quotes, backslashes and controls escaped. */
static int
tbuf_add_escaped(struct tbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	const char *p;

	for (p = s; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		char esc[7];
		size_t n = 2;

		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f)
			continue;
		if (tbuf_add(b, run, (size_t)(p - run)) == -1)
			return -1;
		esc[0] = '\\';
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xf];
			n = 6;
			break;
		}
		if (tbuf_add(b, esc, n) == -1)
			return -1;
		run = p + 1;
	}
	return tbuf_add(b, run, (size_t)(p - run));
}

/* Write the text between "{{" and "}}" at [from, to) into out, unprintable bytes as '?'. */
static void
template_shown(const struct template *t, size_t from, size_t to, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = from; i < to && n + 4 < size; i++) {
		char c = t->text[i];

		if (n == TEMPLATE_MAX_SHOWN_BYTES) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		out[n++] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	out[n] = '\0';
}

/* Add a slot to t, growing the array by doubling. Returns it, or NULL when out of memory. */
static struct template_slot *
template_add_slot(struct template *t)
{
	size_t n = t->nslots;

	if (n == 0 || (n >= TEMPLATE_FIRST_SLOTS && (n & (n - 1)) == 0)) {
		size_t cap = n == 0 ? TEMPLATE_FIRST_SLOTS : n * 2;
		struct template_slot *v = realloc(t->slots, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		t->slots = v;
	}
	memset(&t->slots[n], 0, sizeof(t->slots[n]));
	t->nslots++;
	return &t->slots[n];
}

/*
 * Read the placeholder whose "{{" is at offset at, inside a string that opened at string_start
 * when in_string, and add it to t. Returns 0 with *next past it, or -1 with err set.
 */
static int
template_placeholder(struct template *t, size_t at, bool in_string, size_t string_start,
    size_t *next, char *err, size_t errlen)
{
	const char *s = t->text;
	char shown[TEMPLATE_MAX_SHOWN_BYTES + 4];
	struct template_slot *slot;
	size_t close, name, name_end;
	bool found = false;

	for (close = at + 2; close + 1 < t->len && s[close] != '\n'; close++) {
		if (s[close] == '}' && s[close + 1] == '}') {
			found = true;
			break;
		}
	}
	if (!found)
		return template_error(t, at, err, errlen,
		    "unterminated placeholder: '{{' without '}}' on the same line");
	for (name = at + 2; name < close && s[name] == ' '; name++)
		;
	for (name_end = close; name_end > name && s[name_end - 1] == ' '; name_end--)
		;
	template_shown(t, at + 2, close, shown, sizeof(shown));
	if (name == name_end)
		return template_error(t, at, err, errlen, "empty placeholder '{{%s}}'", shown);
	if (!is_name_start(s[name]))
		goto bad_name;
	for (size_t i = name; i < name_end; i++)
		if (!is_name_char(s[i]))
			goto bad_name;
	if (name_end - name > TEMPLATE_MAX_NAME_BYTES)
		return template_error(t, at, err, errlen,
		    "placeholder name is longer than %d bytes", TEMPLATE_MAX_NAME_BYTES);
	if (t->nslots == TEMPLATE_MAX_PLACEHOLDERS)
		return template_error(t, at, err, errlen, "more than %d placeholders",
		    TEMPLATE_MAX_PLACEHOLDERS);
	if ((slot = template_add_slot(t)) == NULL)
		return template_error(t, at, err, errlen, "out of memory");
	memcpy(slot->name, s + name, name_end - name);
	slot->name[name_end - name] = '\0';
	slot->at = at;
	slot->start = at;
	slot->end = close + 2;
	slot->ctx = in_string ? SLOT_IN_STRING : SLOT_BARE;
	if (in_string && string_start + 1 == at && slot->end < t->len && s[slot->end] == '"') {
		slot->ctx = SLOT_WHOLE_STRING;
		slot->start = string_start;
		slot->end++;
	}
	*next = slot->end;
	return 0;

bad_name:
	return template_error(t, at, err, errlen,
	    "invalid placeholder '{{%s}}': a name is a-z, 0-9 and '_', not starting with a digit",
	    shown);
}

/*
 * Find the placeholders of t in one pass, tracking whether each stands inside a JSON string,
 * and check that the text is UTF-8 without NUL bytes. Returns 0, or -1 with err set.
 */
static int
template_scan(struct template *t, char *err, size_t errlen)
{
	const char *s = t->text;
	size_t i = 0, string_start = 0, n;
	bool in_string = false;

	while (i < t->len) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\0')
			return template_error(t, i, err, errlen, "NUL byte in template");
		if (ch >= 0x80) {
			if ((n = utf8_len((const unsigned char *)s + i, t->len - i)) == 0)
				return template_error(t, i, err, errlen, "invalid UTF-8");
			i += n;
			continue;
		}
		if (ch == '{' && i + 1 < t->len && s[i + 1] == '{') {
			if (template_placeholder(t, i, in_string, string_start, &i, err,
			    errlen) == -1)
				return -1;
			if (t->slots[t->nslots - 1].ctx == SLOT_WHOLE_STRING)
				in_string = false;  /* the closing quote was taken with it */
			continue;
		}
		if (in_string && ch == '\\' && i + 1 < t->len && (unsigned char)s[i + 1] < 0x80 &&
		    s[i + 1] != '\0') {
			i += 2;  /* an escaped quote does not end the string */
			continue;
		}
		if (ch == '"') {
			in_string = !in_string;
			string_start = i;
		}
		i++;
	}
	return 0;
}

int
template_load_string(struct template *t, const char *path, const char *text, size_t len,
    char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (len > TEMPLATE_MAX_FILE_BYTES) {
		(void)snprintf(err, errlen, "%s:1:1: template is larger than %d bytes", path,
		    TEMPLATE_MAX_FILE_BYTES);
		return -1;
	}
	/* editors on Windows may start a file with a byte order mark; JSON has none */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	if ((t->path = strdup(path)) == NULL || (t->text = malloc(len + 1)) == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", path);
		template_release(t);
		return -1;
	}
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->len = len;
	if (template_scan(t, err, errlen) == -1) {
		template_release(t);
		return -1;
	}
	return 0;
}

int
template_load(struct template *t, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(t, 0, sizeof(*t));
	switch (fileio_read(path, TEMPLATE_MAX_FILE_BYTES, &text, &len)) {
	case FILEIO_OK:
		break;
	case FILEIO_TOO_BIG:
		(void)snprintf(err, errlen, "%s:1:1: template is larger than %d bytes", path,
		    TEMPLATE_MAX_FILE_BYTES);
		return -1;
	default:
		(void)snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	rc = template_load_string(t, path, text, len, err, errlen);
	free(text);
	return rc;
}

void
template_release(struct template *t)
{
	free(t->path);
	free(t->text);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* The variable called name, or NULL; the first one wins. */
static const struct template_var *
template_find(const struct template_var *vars, size_t nvars, const char *name)
{
	for (size_t i = 0; i < nvars; i++)
		if (vars[i].name != NULL && strcmp(vars[i].name, name) == 0)
			return &vars[i];
	return NULL;
}

/* Report that slot names no variable in vars, listing the ones there are. Returns -1. */
static int
template_unknown(const struct template *t, const struct template_slot *slot,
    const struct template_var *vars, size_t nvars, char *err, size_t errlen)
{
	char known[256] = "";
	size_t n = 0;

	for (size_t i = 0; i < nvars && n < sizeof(known); i++) {
		int w;

		if (vars[i].name == NULL)
			continue;
		w = snprintf(known + n, sizeof(known) - n, "%s%s", n > 0 ? ", " : "",
		    vars[i].name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return template_error(t, slot->at, err, errlen, "unknown variable '%s' (known: %s)",
	    slot->name, nvars > 0 ? known : "none");
}

/* Report a failure of tbuf_add() at template offset off: the cap, or OOM. Returns -1. */
static int
template_too_big(const struct template *t, const struct tbuf *b, size_t off, char *err,
    size_t errlen)
{
	if (b->oom)
		return template_error(t, off, err, errlen, "out of memory");
	return template_error(t, off, err, errlen, "rendered text is longer than %d bytes",
	    TEMPLATE_MAX_OUTPUT_BYTES);
}

/* Append the value of var where slot stands. Returns 0, or -1 with err set. */
static int
template_value(const struct template *t, const struct template_slot *slot,
    const struct template_var *var, struct tbuf *b, char *err, size_t errlen)
{
	const char *v = var->kind == TEMPLATE_NULL ? NULL : var->value;
	size_t len;
	int rc;

	if (v == NULL) {
		if (slot->ctx == SLOT_IN_STRING)
			return 0;  /* null inside a longer string: nothing */
		if (tbuf_add(b, "null", 4) == -1)
			return template_too_big(t, b, slot->at, err, errlen);
		return 0;
	}
	if ((len = strnlen(v, TEMPLATE_MAX_OUTPUT_BYTES + 1)) > TEMPLATE_MAX_OUTPUT_BYTES)
		return template_error(t, slot->at, err, errlen,
		    "variable '%s' is longer than %d bytes", slot->name, TEMPLATE_MAX_OUTPUT_BYTES);
	if (!utf8_valid(v, len))
		return template_error(t, slot->at, err, errlen, "variable '%s' is not valid UTF-8",
		    slot->name);
	switch (var->kind) {
	case TEMPLATE_STRING:
		if (slot->ctx == SLOT_BARE)
			return template_error(t, slot->at, err, errlen,
			    "variable '%s' is text: write it inside quotes, \"{{%s}}\"", slot->name,
			    slot->name);
		break;
	case TEMPLATE_NUMBER:
		if (!is_json_number(v))
			return template_error(t, slot->at, err, errlen,
			    "variable '%s' is not a JSON number", slot->name);
		break;
	case TEMPLATE_BOOL:
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			return template_error(t, slot->at, err, errlen,
			    "variable '%s' is not true or false", slot->name);
		break;
	case TEMPLATE_JSON:
		if (slot->ctx == SLOT_BARE && !is_json(v))
			return template_error(t, slot->at, err, errlen,
			    "variable '%s' is not one valid JSON value", slot->name);
		break;
	default:
		return template_error(t, slot->at, err, errlen, "variable '%s' has no valid kind",
		    slot->name);
	}
	if (slot->ctx == SLOT_BARE)
		rc = tbuf_add(b, v, len);
	else if (slot->ctx == SLOT_IN_STRING)
		rc = tbuf_add_escaped(b, v);
	else if ((rc = tbuf_add(b, "\"", 1)) == 0 && (rc = tbuf_add_escaped(b, v)) == 0)
		rc = tbuf_add(b, "\"", 1);
	if (rc == -1)
		return template_too_big(t, b, slot->at, err, errlen);
	return 0;
}

/* Remove object members whose value is null, at every depth cJSON's parser allows. */
static void
template_drop_nulls(cJSON *node, int depth)
{
	cJSON *c, *next;

	if (depth > CJSON_NESTING_LIMIT)
		return;
	for (c = node->child; c != NULL; c = next) {
		next = c->next;
		if (cJSON_IsObject(node) && cJSON_IsNull(c))
			cJSON_Delete(cJSON_DetachItemViaPointer(node, c));
		else if (cJSON_IsObject(c) || cJSON_IsArray(c))
			template_drop_nulls(c, depth + 1);
	}
}

/*
 * Report that the rendered text is not JSON at output offset off, naming the template's
 * position there: slot k's placeholder when off falls in its value (out_at[2k] to
 * out_at[2k+1]), else the literal template text that was copied there. Returns -1.
 */
static int
template_bad_json(const struct template *t, const size_t *out_at, size_t off, size_t outlen,
    char *err, size_t errlen)
{
	size_t tmpl = off;

	for (size_t k = 0; k < t->nslots; k++) {
		if (off < out_at[2 * k])
			break;
		if (off < out_at[2 * k + 1])
			return template_error(t, t->slots[k].at, err, errlen,
			    "result is not valid JSON in the value of '%s'", t->slots[k].name);
		tmpl = t->slots[k].end + (off - out_at[2 * k + 1]);
	}
	if (off >= outlen)
		return template_error(t, t->len, err, errlen,
		    "result is not valid JSON: it ends early (an object, array or string is not "
		    "closed?)");
	return template_error(t, tmpl, err, errlen, "result is not valid JSON here");
}

int
template_render(const struct template *t, const struct template_var *vars, size_t nvars,
    unsigned flags, char **out, char *err, size_t errlen)
{
	struct tbuf b = {NULL, 0, 0, false};
	size_t *out_at = NULL;  /* per slot: where its value starts and ends in b */
	size_t pos = 0;
	const char *end = NULL;
	cJSON *root = NULL;
	int rc = -1;

	*out = NULL;
	if (t->text == NULL) {
		(void)snprintf(err, errlen, "template not loaded");
		return -1;
	}
	if (t->nslots > 0 && (out_at = calloc(2 * t->nslots, sizeof(*out_at))) == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", t->path);
		return -1;
	}
	for (size_t k = 0; k < t->nslots; k++) {
		const struct template_slot *slot = &t->slots[k];
		const struct template_var *var = template_find(vars, nvars, slot->name);

		if (tbuf_add(&b, t->text + pos, slot->start - pos) == -1) {
			template_too_big(t, &b, slot->at, err, errlen);
			goto out;
		}
		if (var == NULL) {
			template_unknown(t, slot, vars, nvars, err, errlen);
			goto out;
		}
		out_at[2 * k] = b.len;
		if (template_value(t, slot, var, &b, err, errlen) == -1)
			goto out;
		out_at[2 * k + 1] = b.len;
		pos = slot->end;
	}
	if (tbuf_add(&b, t->text + pos, t->len - pos) == -1) {
		template_too_big(t, &b, t->len, err, errlen);
		goto out;
	}
	if ((root = cJSON_ParseWithOpts(b.p, &end, 1)) == NULL) {
		size_t off = end != NULL && end >= b.p && end <= b.p + b.len ?
		    (size_t)(end - b.p) : b.len;

		template_bad_json(t, out_at, off, b.len, err, errlen);
		goto out;
	}
	if (flags & TEMPLATE_DROP_NULLS)
		template_drop_nulls(root, 0);
	if ((*out = json_print(root)) == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", t->path);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	free(out_at);
	free(b.p);
	return rc;
}

const char *
template_which_name(enum template_which which)
{
	switch (which) {
	case TEMPLATE_DECLARATION:
		return "declaration";
	case TEMPLATE_PLAN:
		return "plan";
	case TEMPLATE_BLUEPRINT:
		return "blueprint";
	case TEMPLATE_ALERT_SLACK:
		return "alert-slack";
	case TEMPLATE_ALERT_TEAMS:
		return "alert-teams";
	case TEMPLATE_ALERT_JSON:
		return "alert-json";
	}
	return NULL;
}

/* Write dir/name.json into buf; returns buf, or NULL when it does not fit. */
static const char *
template_path_in(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s.json", dir, name);

	return n < 0 || (size_t)n >= size ? NULL : buf;
}

const char *
template_default_path(enum template_which which, char *buf, size_t size)
{
	const char *name = template_which_name(which);
	const char *env = getenv("BRIDGE_TEMPLATE_DIR");

	if (name == NULL)
		return NULL;
	if (env != NULL && env[0] != '\0')
		return template_path_in(buf, size, env, name);
	if (template_path_in(buf, size, BRIDGE_DATADIR "/templates", name) != NULL &&
	    access(buf, R_OK) == 0)
		return buf;
#ifdef BRIDGE_TEMPLATE_DIR
	if (template_path_in(buf, size, BRIDGE_TEMPLATE_DIR, name) != NULL &&
	    access(buf, R_OK) == 0)
		return buf;
#endif
	return template_path_in(buf, size, BRIDGE_DATADIR "/templates", name);
}

/* Fill vars with the samples for which (optional ones null when nulls); returns how many. */
static size_t
template_samples(enum template_which which, bool nulls, struct template_var *vars)
{
	size_t n = 0;

	for (size_t i = 0; i < NSAMPLES; i++) {
		if (!(samples[i].used_by & (1u << which)))
			continue;
		vars[n].name = samples[i].name;
		vars[n].kind = samples[i].kind;
		vars[n].value = nulls && samples[i].optional ? NULL : samples[i].value;
		n++;
	}
	return n;
}

/* Offset of the first slot of t named name, or 0 (the file's start) when there is none. */
static size_t
template_slot_at(const struct template *t, const char *name)
{
	for (size_t k = 0; k < t->nslots; k++)
		if (strcmp(t->slots[k].name, name) == 0)
			return t->slots[k].at;
	return 0;
}

/* The member of root at path (see struct template_rule), or NULL when it is not there. */
static const cJSON *
template_member(const cJSON *root, const char *path)
{
	const cJSON *v = root;
	char key[TEMPLATE_MAX_NAME_BYTES + 1];

	while (v != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		path += path[n] == '.' ? n + 1 : n;
		if (cJSON_IsArray(v) && is_digit(key[0]))
			v = cJSON_GetArrayItem(v, (int)strtol(key, NULL, 10));
		else if (cJSON_IsObject(v))
			v = cJSON_GetObjectItemCaseSensitive(v, key);
		else
			v = NULL;
	}
	return v;
}

/* Whether root meets rule r. */
static bool
template_rule_met(const cJSON *root, const struct template_rule *r)
{
	const cJSON *v = template_member(root, r->member);

	switch (r->want) {
	case WANT_EQUAL:
		return cJSON_IsString(v) && strcmp(v->valuestring, r->value) == 0;
	case WANT_STRING:
		return cJSON_IsString(v);
	case WANT_ARRAY_OR_ABSENT:
		return v == NULL || cJSON_IsArray(v);
	}
	return false;
}

/* Check what bridge needs of a template of type which beyond valid JSON. */
static int
template_check_use(const struct template *t, enum template_which which, const char *rendered,
    char *err, size_t errlen)
{
	cJSON *root = NULL;
	size_t first = 0;
	int rc = -1;

	for (size_t i = 0; i < NSAMPLES; i++) {
		bool used = false;

		if (!(samples[i].required_by & (1u << which)))
			continue;
		for (size_t k = 0; k < t->nslots && !used; k++)
			used = strcmp(t->slots[k].name, samples[i].name) == 0;
		if (!used)
			return template_error(t, 0, err, errlen,
			    "the %s template must use {{%s}}", template_which_name(which),
			    samples[i].name);
	}
	while (first < t->len && strchr(" \t\r\n", t->text[first]) != NULL)
		first++;
	if ((root = cJSON_Parse(rendered)) == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", t->path);
		return -1;
	}
	if (!cJSON_IsObject(root)) {
		template_error(t, first, err, errlen, "the %s template must be a JSON object",
		    template_which_name(which));
		goto out;
	}
	for (size_t i = 0; i < NRULES; i++) {
		if (!(rules[i].which & (1u << which)) || template_rule_met(root, &rules[i]))
			continue;
		template_error(t, rules[i].slot != NULL ? template_slot_at(t, rules[i].slot) : 0,
		    err, errlen, "%s", rules[i].msg);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

/* Append to err which variables were null when the check rendered them so. */
static void
template_nulls_note(enum template_which which, char *err, size_t errlen)
{
	size_t n = strlen(err);
	const char *sep = " (with ";

	for (size_t i = 0; i < NSAMPLES && n < errlen; i++) {
		int w;

		if (!samples[i].optional || !(samples[i].used_by & (1u << which)))
			continue;
		w = snprintf(err + n, errlen - n, "%s%s", sep, samples[i].name);
		if (w < 0)
			return;
		n += (size_t)w;
		sep = ", ";
	}
	if (n < errlen)
		(void)snprintf(err + n, errlen - n, " null)");
}

/* Whether a template of type which has a variable that may be null. */
static bool
template_has_optional(enum template_which which)
{
	for (size_t i = 0; i < NSAMPLES; i++)
		if (samples[i].optional && (samples[i].used_by & (1u << which)))
			return true;
	return false;
}

int
template_check(const char *path, enum template_which which, char *err, size_t errlen)
{
	struct template_var vars[NSAMPLES];
	struct template t;
	char *out = NULL;
	int passes = template_has_optional(which) ? 2 : 1;
	int rc = -1;

	if (template_which_name(which) == NULL) {
		(void)snprintf(err, errlen, "%s: unknown template type", path);
		return -1;
	}
	if (template_load(&t, path, err, errlen) == -1)
		return -1;
	/* once with every variable set, once with the optional ones null (a base update) */
	for (int nulls = 0; nulls < passes; nulls++) {
		size_t n = template_samples(which, nulls == 1, vars);

		if (template_render(&t, vars, n, TEMPLATE_DROP_NULLS, &out, err, errlen) == -1 ||
		    template_check_use(&t, which, out, err, errlen) == -1) {
			if (nulls == 1)
				template_nulls_note(which, err, errlen);
			goto out;
		}
		free(out);
		out = NULL;
	}
	rc = 0;
out:
	free(out);
	template_release(&t);
	return rc;
}
