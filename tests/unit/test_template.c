/* Unit tests for template.c: placeholders, escaping, kinds, nulls, errors and the shipped templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "template.h"

#define TEMPLATES FIXTURES "/../../templates"
#define TFIX FIXTURES "/templates"

/* Load text as "t.json" and render it with vars; returns the output (caller frees) or NULL. */
static char *
render(const char *text, const struct template_var *vars, size_t nvars, unsigned flags,
    char *err, size_t errlen)
{
	struct template t;
	char *out = NULL;

	err[0] = '\0';
	if (template_load_string(&t, "t.json", text, strlen(text), err, errlen) == -1) {
		assert_non_null(strstr(err, "t.json:"));
		return NULL;
	}
	if (template_render(&t, vars, nvars, flags, &out, err, errlen) == -1)
		assert_null(out);
	template_release(&t);
	return out;
}

/* Render and expect exactly want. */
static void
expect_output(const char *text, const struct template_var *vars, size_t nvars, unsigned flags,
    const char *want)
{
	char err[512];
	char *out = render(text, vars, nvars, flags, err, sizeof(err));

	if (out == NULL)
		fail_msg("render failed: %s", err);
	assert_string_equal(out, want);
	free(out);
}

/* Render and expect the error want. */
static void
expect_error(const char *text, const struct template_var *vars, size_t nvars, const char *want)
{
	char err[512];
	char *out = render(text, vars, nvars, 0, err, sizeof(err));

	if (out != NULL)
		fail_msg("rendered %s, expected error %s", out, want);
	assert_string_equal(err, want);
}

/* Quotes, backslashes and controls are escaped; UTF-8 passes through; values cannot inject. */
static void
test_escaping(void **state)
{
	const struct template_var vars[] = {
		{"s", TEMPLATE_STRING, "q\"b\\c\n\t\r\b\f\x01\x1f\x7f é 日本 😀"},
		{"evil", TEMPLATE_STRING, "\", \"admin\": true, \"x\": \""},
	};

	(void)state;
	expect_output("{\"a\": \"{{s}}\", \"b\": \"<{{s}}>\"}", vars, 2, 0,
	    "{\"a\":\"q\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f é 日本 😀\","
	    "\"b\":\"<q\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f é 日本 😀>\"}");
	expect_output("{\"a\": \"{{evil}}\", \"b\": \"x{{evil}}\"}", vars, 2, 0,
	    "{\"a\":\"\\\", \\\"admin\\\": true, \\\"x\\\": \\\"\","
	    "\"b\":\"x\\\", \\\"admin\\\": true, \\\"x\\\": \\\"\"}");
}

/* The template's own escapes: \" does not end a string, \\ does, {\u007b is a literal "{{". */
static void
test_template_escapes(void **state)
{
	const struct template_var vars[] = {
		{"x", TEMPLATE_STRING, "v"},
		{"n", TEMPLATE_NUMBER, "7"},
	};

	(void)state;
	expect_output("{\"a\": \"say \\\"{{x}}\\\"\", \"b\": \"\\\\\", \"c\": {{n}}}", vars, 2, 0,
	    "{\"a\":\"say \\\"v\\\"\",\"b\":\"\\\\\",\"c\":7}");
	expect_output("{\"a\": \"{\\u007b{{x}}}}\"}", vars, 2, 0, "{\"a\":\"{{v}}\"}");
	expect_output("{\"a\":\"{{ x }}\",\"b\":{{  n  }}}", vars, 2, 0, "{\"a\":\"v\",\"b\":7}");
	expect_output("[{{n}},{{n}}]", vars, 2, 0, "[7,7]");
	/* no placeholders at all */
	expect_output(" {\"a\" : [1, 2.5, true, null]} ", NULL, 0, 0,
	    "{\"a\":[1,2.5,true,null]}");
}

/* Bare placeholders give their kind's JSON; inside a string, their text. */
static void
test_bare_kinds(void **state)
{
	const struct template_var vars[] = {
		{"n", TEMPLATE_NUMBER, "-1.5"},
		{"i", TEMPLATE_NUMBER, "3"},
		{"t", TEMPLATE_BOOL, "true"},
		{"f", TEMPLATE_BOOL, "false"},
		{"z", TEMPLATE_NULL, "ignored"},
		{"j", TEMPLATE_JSON, " {\"k\": [1, \"two\", {\"x\": null}]} "},
	};

	(void)state;
	expect_output("{\"n\": {{n}}, \"i\": {{i}}, \"t\": {{t}}, \"f\": {{f}}, \"z\": {{z}}, "
	    "\"j\": {{j}}}", vars, 6, 0,
	    "{\"n\":-1.5,\"i\":3,\"t\":true,\"f\":false,\"z\":null,"
	    "\"j\":{\"k\":[1,\"two\",{\"x\":null}]}}");
	expect_output("{\"s\": \"{{i}} {{t}}\", \"w\": \"{{i}}\", \"j\": \"{{j}}\"}", vars, 6, 0,
	    "{\"s\":\"3 true\",\"w\":\"3\","
	    "\"j\":\" {\\\"k\\\": [1, \\\"two\\\", {\\\"x\\\": null}]} \"}");
}

struct kind_case {
	enum template_kind kind;
	const char *value;
	const char *text;
	const char *error;
};

/* A value must fit its kind, so that no value can change the document's structure. */
static void
test_kind_errors(void **state)
{
	static const struct kind_case cases[] = {
		{TEMPLATE_STRING, "26.3.1", "{\"a\": {{v}}}",
		    "t.json:1:7: variable 'v' is text: write it inside quotes, \"{{v}}\""},
		{TEMPLATE_NUMBER, "1e", "{\"a\": {{v}}}", "t.json:1:7: variable 'v' is not a JSON number"},
		{TEMPLATE_NUMBER, "01", "{\"a\": {{v}}}", "t.json:1:7: variable 'v' is not a JSON number"},
		{TEMPLATE_NUMBER, "1e999", "[{{v}}]", "t.json:1:2: variable 'v' is not a JSON number"},
		{TEMPLATE_NUMBER, "NaN", "[{{v}}]", "t.json:1:2: variable 'v' is not a JSON number"},
		{TEMPLATE_NUMBER, "1, \"x\": 2", "{\"a\": {{v}}}",
		    "t.json:1:7: variable 'v' is not a JSON number"},
		{TEMPLATE_NUMBER, "", "[{{v}}]", "t.json:1:2: variable 'v' is not a JSON number"},
		{TEMPLATE_NUMBER, "1 ", "[\"{{v}}\"]", "t.json:1:3: variable 'v' is not a JSON number"},
		{TEMPLATE_BOOL, "yes", "[{{v}}]", "t.json:1:2: variable 'v' is not true or false"},
		{TEMPLATE_JSON, "{", "[{{v}}]", "t.json:1:2: variable 'v' is not one valid JSON value"},
		{TEMPLATE_JSON, "1, \"admin\": true", "{\"a\": {{v}}}",
		    "t.json:1:7: variable 'v' is not one valid JSON value"},
		{TEMPLATE_JSON, "", "[{{v}}]", "t.json:1:2: variable 'v' is not one valid JSON value"},
		{TEMPLATE_STRING, "caf\xe9", "[\"{{v}}\"]",
		    "t.json:1:3: variable 'v' is not valid UTF-8"},
		{TEMPLATE_JSON, "\"\xed\xa0\x80\"", "[{{v}}]",
		    "t.json:1:2: variable 'v' is not valid UTF-8"},
		{(enum template_kind)42, "x", "[\"{{v}}\"]", "t.json:1:3: variable 'v' has no valid kind"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct template_var v = {"v", cases[i].kind, cases[i].value};

		expect_error(cases[i].text, &v, 1, cases[i].error);
	}
}

/* Null values: null as a whole string or bare value, nothing inside a longer string. */
static void
test_nulls(void **state)
{
	const struct template_var vars[] = {
		{"s", TEMPLATE_STRING, NULL},
		{"n", TEMPLATE_NUMBER, NULL},
		{"j", TEMPLATE_JSON, NULL},
		{"x", TEMPLATE_STRING, "x"},
	};
	const char *text = "{\"a\": \"{{s}}\", \"b\": \"<{{s}}>\", \"c\": {{n}}, \"d\": {{j}}, "
	    "\"e\": {\"f\": \"{{s}}\", \"g\": [\"{{s}}\", {{s}}, \"{{x}}\"], \"h\": {\"i\": {{n}}}}, "
	    "\"k\": \"{{x}}\"}";

	(void)state;
	expect_output(text, vars, 4, 0,
	    "{\"a\":null,\"b\":\"<>\",\"c\":null,\"d\":null,"
	    "\"e\":{\"f\":null,\"g\":[null,null,\"x\"],\"h\":{\"i\":null}},\"k\":\"x\"}");
	/* dropped at every depth; nulls in arrays stay; a literal null member goes too */
	expect_output(text, vars, 4, TEMPLATE_DROP_NULLS,
	    "{\"b\":\"<>\",\"e\":{\"g\":[null,null,\"x\"],\"h\":{}},\"k\":\"x\"}");
	expect_output("{\"a\": null, \"b\": [{\"c\": null}]}", NULL, 0, TEMPLATE_DROP_NULLS,
	    "{\"b\":[{}]}");
}

/* Every error names the template file, line and column. */
static void
test_unknown_variable(void **state)
{
	const struct template_var vars[] = {
		{"version", TEMPLATE_STRING, "26.3.1"},
		{"build", TEMPLATE_STRING, "25D771280a"},
	};

	(void)state;
	expect_error("{\n  \"a\": \"{{version}}\",\n  \"b\": \"é{{verison}}\"\n}", vars, 2,
	    "t.json:3:10: unknown variable 'verison' (known: version, build)");
	expect_error("[\"{{x}}\"]", NULL, 0, "t.json:1:3: unknown variable 'x' (known: none)");
}

struct syntax_case {
	const char *text;
	const char *error;
};

/* Placeholder syntax and the file's bytes are checked when the template is loaded. */
static void
test_syntax_errors(void **state)
{
	static const struct syntax_case cases[] = {
		{"{\"a\": \"{{version\"}}", "t.json:1:8: invalid placeholder '{{version\"}}': a name is "
		    "a-z, 0-9 and '_', not starting with a digit"},
		{"{\"a\": \"{{version\",\n\"b\": \"}}\"}",
		    "t.json:1:8: unterminated placeholder: '{{' without '}}' on the same line"},
		{"[{{", "t.json:1:2: unterminated placeholder: '{{' without '}}' on the same line"},
		{"[{{}}]", "t.json:1:2: empty placeholder '{{}}'"},
		{"[{{   }}]", "t.json:1:2: empty placeholder '{{   }}'"},
		{"[{{9a}}]", "t.json:1:2: invalid placeholder '{{9a}}': a name is a-z, 0-9 and '_', "
		    "not starting with a digit"},
		{"[{{Build}}]", "t.json:1:2: invalid placeholder '{{Build}}': a name is a-z, 0-9 and "
		    "'_', not starting with a digit"},
		{"[{{a b}}]", "t.json:1:2: invalid placeholder '{{a b}}': a name is a-z, 0-9 and '_', "
		    "not starting with a digit"},
		{"[{{{a}}}]", "t.json:1:2: invalid placeholder '{{{a}}': a name is a-z, 0-9 and '_', "
		    "not starting with a digit"},
		{"[{{a\x01\x1b[31m}}]", "t.json:1:2: invalid placeholder '{{a??[31m}}': a name is "
		    "a-z, 0-9 and '_', not starting with a digit"},
		{"[\"{{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}}\"]",
		    "t.json:1:3: placeholder name is longer than 64 bytes"},
		{"{\"a\": \"x\"}\n\xff", "t.json:2:1: invalid UTF-8"},
		{"[\"\xc0\xaf\"]", "t.json:1:3: invalid UTF-8"},
		{"[\"\xe2\x82\"]", "t.json:1:3: invalid UTF-8"},
	};
	struct template t;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (template_load_string(&t, "t.json", cases[i].text, strlen(cases[i].text), err,
		    sizeof(err)) != -1)
			fail_msg("case %zu loaded: %s", i, cases[i].text);
		assert_string_equal(err, cases[i].error);
		assert_null(t.text);
		template_release(&t);
	}
	/* a NUL byte */
	assert_int_equal(template_load_string(&t, "t.json", "[1,\0 2]", 7, err, sizeof(err)), -1);
	assert_string_equal(err, "t.json:1:4: NUL byte in template");
}

/* Sizes are capped: the file, the number of placeholders, the result. */
static void
test_limits(void **state)
{
	struct template t;
	struct template_var v = {"v", TEMPLATE_STRING, NULL};
	char err[512], *text, *big, *out = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(text = malloc(TEMPLATE_MAX_FILE_BYTES + 2));
	memset(text, ' ', TEMPLATE_MAX_FILE_BYTES + 1);
	assert_int_equal(template_load_string(&t, "t.json", text, TEMPLATE_MAX_FILE_BYTES + 1, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "t.json:1:1: template is larger than 65536 bytes");

	/* 1000 placeholders are fine, 1001 are not */
	text[n++] = '[';
	for (int i = 0; i < TEMPLATE_MAX_PLACEHOLDERS; i++)
		n += (size_t)sprintf(text + n, "%s{{v}}", i > 0 ? "," : "");
	memcpy(text + n, "]", 2);
	assert_int_equal(template_load_string(&t, "t.json", text, n + 1, err, sizeof(err)), 0);
	assert_int_equal(template_render(&t, &v, 1, 0, &out, err, sizeof(err)), 0);
	assert_int_equal(strlen(out), 2 + 1000 * 4 + 999);
	free(out);
	template_release(&t);
	memcpy(text + n, ",{{v}}]", 8);
	assert_int_equal(template_load_string(&t, "t.json", text, n + 7, err, sizeof(err)), -1);
	assert_string_equal(err, "t.json:1:6002: more than 1000 placeholders");

	/* a value longer than the output cap is refused */
	assert_int_equal(template_load_string(&t, "t.json", "[\"{{v}}\"]", 9, err, sizeof(err)), 0);
	assert_non_null(big = malloc(TEMPLATE_MAX_OUTPUT_BYTES + 2));
	memset(big, 'a', TEMPLATE_MAX_OUTPUT_BYTES + 1);
	big[TEMPLATE_MAX_OUTPUT_BYTES + 1] = '\0';
	v.value = big;
	assert_int_equal(template_render(&t, &v, 1, 0, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "t.json:1:3: variable 'v' is longer than 1048576 bytes");
	/* escaping may grow a value past the cap: \u0001 is six bytes */
	memset(big, '\x01', TEMPLATE_MAX_OUTPUT_BYTES / 4);
	big[TEMPLATE_MAX_OUTPUT_BYTES / 4] = '\0';
	assert_int_equal(template_render(&t, &v, 1, 0, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "t.json:1:3: rendered text is longer than 1048576 bytes");
	assert_null(out);
	template_release(&t);
	free(big);
	free(text);
}

/* A result that is not JSON is reported at the template line where it broke. */
static void
test_invalid_json(void **state)
{
	const struct template_var vars[] = {
		{"version", TEMPLATE_STRING, "26.3.1"},
		{"build", TEMPLATE_STRING, NULL},
		{"raw", TEMPLATE_JSON, "{\"a\": 1}"},
	};

	(void)state;
	/* a missing comma on line 3, after a placeholder that made the output longer */
	expect_error("{\n  \"v\": \"{{version}}\"\n  \"w\": 1\n}", vars, 3,
	    "t.json:3:3: result is not valid JSON here");
	/* after a whole-string placeholder rendered null, positions still map */
	expect_error("{\n  \"b\": \"{{build}}\",\n  \"c\": [1 2]\n}", vars, 3,
	    "t.json:3:11: result is not valid JSON here");
	/* a value that is fine alone but not where it stands */
	expect_error("{\n  \"{{build}}\": 1\n}", vars, 3,
	    "t.json:2:4: result is not valid JSON in the value of 'build'");
	expect_error("{\"a\": {{raw}} {{raw}}}", vars, 3,
	    "t.json:1:15: result is not valid JSON in the value of 'raw'");
	expect_error("{\n  \"a\": [1,\n", vars, 3, "t.json:3:1: result is not valid JSON: it ends "
	    "early (an object, array or string is not closed?)");
	expect_error("", vars, 3, "t.json:1:1: result is not valid JSON: it ends early (an object, "
	    "array or string is not closed?)");
	expect_error("{} {}", vars, 3, "t.json:1:4: result is not valid JSON here");
}

/* Hostile nesting ends in an error or a result, never a crash. */
static void
test_deep_nesting(void **state)
{
	const struct template_var v = {"v", TEMPLATE_NULL, NULL};
	char err[512], *text, *out;
	size_t depth = 5000;

	(void)state;
	assert_non_null(text = malloc(2 * depth + 16));
	memset(text, '[', depth);
	memcpy(text + depth, "{{v}}", 5);
	memset(text + depth + 5, ']', depth);
	text[2 * depth + 5] = '\0';
	assert_null(render(text, &v, 1, TEMPLATE_DROP_NULLS, err, sizeof(err)));
	assert_non_null(strstr(err, "result is not valid JSON"));

	/* within cJSON's nesting limit: objects inside objects, the null dropped at the bottom */
	depth = 500;
	text[0] = '\0';
	for (size_t i = 0; i < depth; i++)
		strcat(text, "{\"a\":");
	strcat(text, "{{v}}");
	for (size_t i = 0; i < depth; i++)
		strcat(text, "}");
	assert_non_null(out = render(text, &v, 1, TEMPLATE_DROP_NULLS, err, sizeof(err)));
	assert_int_equal(strlen(out), 5 * (depth - 1) + 2 + (depth - 1));
	free(out);
	free(text);
}

/* The BSI example: macOS 26.3.1 (a), build 25D771280a, deadline 2026-03-20 18:00. */
static const struct template_var bsi[] = {
	{"policy", TEMPLATE_STRING, "macos-bsi"},
	{"ring", TEMPLATE_STRING, "pilot"},
	{"platform", TEMPLATE_STRING, "macOS"},
	{"version", TEMPLATE_STRING, "26.3.1"},
	{"extra", TEMPLATE_STRING, "(a)"},
	{"build", TEMPLATE_STRING, "25D771280a"},
	{"deadline", TEMPLATE_STRING, "2026-03-20T18:00:00"},
	{"details_url", TEMPLATE_STRING, NULL},
	{"max_deferrals", TEMPLATE_NUMBER, "0"},
	{"version_type", TEMPLATE_STRING, "CUSTOM_VERSION"},
	{"blueprint_name", TEMPLATE_STRING, "bridge: macos-bsi pilot macOS 26.3.1 (a) 25D771280a"},
	{"group_uuid", TEMPLATE_STRING, "cda24521-f23b-4f27-a9ff-32c89fb6feeb"},
	{"component", TEMPLATE_STRING, "com.jamf.ddm.custom-declarations"},
	{"declaration", TEMPLATE_JSON, NULL},  /* set from the rendered declaration */
};

#define NBSI (sizeof(bsi) / sizeof(bsi[0]))

/* Render a shipped template with vars, dropping nulls as bridge does. */
static char *
render_shipped(const char *name, const struct template_var *vars, size_t nvars)
{
	char path[1024], err[512];
	struct template t;
	char *out = NULL;

	snprintf(path, sizeof(path), "%s/%s.json", TEMPLATES, name);
	if (template_load(&t, path, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	if (template_render(&t, vars, nvars, TEMPLATE_DROP_NULLS, &out, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	template_release(&t);
	return out;
}

/* The shipped templates produce exactly what Apple and Jamf expect. */
static void
test_shipped_templates(void **state)
{
	struct template_var vars[NBSI];
	char *decl, *plan, *bp;

	(void)state;
	memcpy(vars, bsi, sizeof(bsi));
	decl = render_shipped("declaration", vars, NBSI);
	assert_string_equal(decl, "{\"TargetOSVersion\":\"26.3.1\",\"TargetBuildVersion\":"
	    "\"25D771280a\",\"TargetLocalDateTime\":\"2026-03-20T18:00:00\"}");
	plan = render_shipped("plan", vars, NBSI);
	assert_string_equal(plan, "{\"updateAction\":\"DOWNLOAD_INSTALL_SCHEDULE\","
	    "\"versionType\":\"CUSTOM_VERSION\",\"specificVersion\":\"26.3.1\","
	    "\"buildVersion\":\"25D771280a\",\"maxDeferrals\":0,"
	    "\"forceInstallLocalDateTime\":\"2026-03-20T18:00:00\"}");
	vars[NBSI - 1].value = decl;
	bp = render_shipped("blueprint", vars, NBSI);
	assert_string_equal(bp, "{\"name\":\"bridge: macos-bsi pilot macOS 26.3.1 (a) 25D771280a\","
	    "\"description\":\"Managed by bridge for policy macos-bsi, ring pilot: changes made "
	    "here are overwritten.\","
	    "\"scope\":{\"deviceGroups\":[\"cda24521-f23b-4f27-a9ff-32c89fb6feeb\"]},"
	    "\"steps\":[{\"name\":\"Software update enforcement\",\"components\":[{"
	    "\"identifier\":\"com.jamf.ddm.custom-declarations\",\"configuration\":{"
	    "\"declarations\":[{\"channelType\":\"SYSTEM\",\"kind\":\"CONFIGURATION\","
	    "\"type\":\"com.apple.configuration.softwareupdate.enforcement.specific\","
	    "\"payload\":{\"TargetOSVersion\":\"26.3.1\",\"TargetBuildVersion\":\"25D771280a\","
	    "\"TargetLocalDateTime\":\"2026-03-20T18:00:00\"},\"payloadKey\":1}]}}]}]}");
	free(bp);
	free(plan);
	free(decl);
}

/* What an alert digest gives the alert templates; text has quotes, a backslash and newlines. */
static const struct template_var digest[] = {
	{"title", TEMPLATE_STRING, "bridge: 1 new problem"},
	{"text", TEMPLATE_STRING, "bridge: 1 new problem\nplan failed: policy \"macos-bsi\" "
	    "ring pilot\nMac\\042"},
	{"blocks", TEMPLATE_JSON, "[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\","
	    "\"text\":\"bridge: 1 new problem\"}},{\"type\":\"divider\"}]"},
	{"card_body", TEMPLATE_JSON, "[{\"type\":\"TextBlock\",\"text\":\"bridge: 1 new problem\","
	    "\"wrap\":true}]"},
	{"digest", TEMPLATE_JSON, "{\"new\":[{\"event\":\"plan_failed\"}],\"repeated\":[],"
	    "\"resolved\":[],\"counts\":{\"new\":1,\"repeated\":0,\"resolved\":0}}"},
	{"generated_at", TEMPLATE_STRING, "2026-03-20T18:05:00Z"},
	{"host", TEMPLATE_STRING, "mdm1.example.com"},
};

#define NDIGEST (sizeof(digest) / sizeof(digest[0]))
#define DIGEST_TEXT_JSON \
	"\"bridge: 1 new problem\\nplan failed: policy \\\"macos-bsi\\\" ring pilot\\nMac\\\\042\""

/* The shipped alert templates give what Slack, a Teams Workflow and a JSON receiver expect. */
static void
test_shipped_alerts(void **state)
{
	char *out;

	(void)state;
	out = render_shipped("alert-slack", digest, NDIGEST);
	assert_string_equal(out, "{\"text\":" DIGEST_TEXT_JSON ",\"blocks\":[{\"type\":\"header\","
	    "\"text\":{\"type\":\"plain_text\",\"text\":\"bridge: 1 new problem\"}},"
	    "{\"type\":\"divider\"}],\"unfurl_links\":false}");
	free(out);
	/* rendered with TEMPLATE_DROP_NULLS, so contentUrl null is left out */
	out = render_shipped("alert-teams", digest, NDIGEST);
	assert_string_equal(out, "{\"type\":\"message\",\"attachments\":[{"
	    "\"contentType\":\"application/vnd.microsoft.card.adaptive\",\"content\":{"
	    "\"$schema\":\"http://adaptivecards.io/schemas/adaptive-card.json\","
	    "\"type\":\"AdaptiveCard\",\"version\":\"1.4\",\"msteams\":{\"width\":\"Full\"},"
	    "\"body\":[{\"type\":\"TextBlock\",\"text\":\"bridge: 1 new problem\","
	    "\"wrap\":true}]}}]}");
	free(out);
	out = render_shipped("alert-json", digest, NDIGEST);
	assert_string_equal(out, "{\"source\":\"bridge\",\"host\":\"mdm1.example.com\","
	    "\"generated_at\":\"2026-03-20T18:05:00Z\",\"title\":\"bridge: 1 new problem\","
	    "\"text\":" DIGEST_TEXT_JSON ",\"digest\":{\"new\":[{\"event\":\"plan_failed\"}],"
	    "\"repeated\":[],\"resolved\":[],\"counts\":{\"new\":1,\"repeated\":0,"
	    "\"resolved\":0}}}");
	free(out);
}

/* A base update (no build) and a details URL: absent members are left out, not null. */
static void
test_shipped_base_update(void **state)
{
	struct template_var vars[NBSI];
	char *decl, *plan;

	(void)state;
	memcpy(vars, bsi, sizeof(bsi));
	vars[3].value = "26.3";        /* version */
	vars[4].value = NULL;          /* extra */
	vars[5].value = NULL;          /* build */
	vars[7].value = "https://intranet.example.com/patching?a=1&b=\"2\"";
	vars[8].value = "5";           /* max_deferrals */
	vars[9].value = "SPECIFIC_VERSION";
	decl = render_shipped("declaration", vars, NBSI);
	assert_string_equal(decl, "{\"TargetOSVersion\":\"26.3\","
	    "\"TargetLocalDateTime\":\"2026-03-20T18:00:00\","
	    "\"DetailsURL\":\"https://intranet.example.com/patching?a=1&b=\\\"2\\\"\"}");
	plan = render_shipped("plan", vars, NBSI);
	assert_string_equal(plan, "{\"updateAction\":\"DOWNLOAD_INSTALL_SCHEDULE\","
	    "\"versionType\":\"SPECIFIC_VERSION\",\"specificVersion\":\"26.3\","
	    "\"maxDeferrals\":5,\"forceInstallLocalDateTime\":\"2026-03-20T18:00:00\"}");
	free(plan);
	free(decl);
}

struct check_case {
	const char *file;  /* under tests/fixtures/templates, or "templates/" for the shipped ones */
	enum template_which which;
	const char *error; /* after "PATH:"; NULL: passes */
};

/* bridge check: good copies pass, every bad one fails with its position and reason. */
static void
test_check(void **state)
{
	static const struct check_case cases[] = {
		{"../../../templates/declaration.json", TEMPLATE_DECLARATION, NULL},
		{"../../../templates/plan.json", TEMPLATE_PLAN, NULL},
		{"../../../templates/blueprint.json", TEMPLATE_BLUEPRINT, NULL},
		{"../../../templates/alert-slack.json", TEMPLATE_ALERT_SLACK, NULL},
		{"../../../templates/alert-teams.json", TEMPLATE_ALERT_TEAMS, NULL},
		{"../../../templates/alert-json.json", TEMPLATE_ALERT_JSON, NULL},
		{"good/plan-reordered.json", TEMPLATE_PLAN, NULL},
		{"good/blueprint-description.json", TEMPLATE_BLUEPRINT, NULL},
		{"good/declaration-bom-crlf.json", TEMPLATE_DECLARATION, NULL},
		{"bad/unknown-variable.json", TEMPLATE_DECLARATION,
		    "2:23: unknown variable 'verison' (known: policy, ring, platform, version, extra, "
		    "build, deadline, details_url, max_deferrals)"},
		{"bad/unterminated.json", TEMPLATE_PLAN,
		    "4:23: unterminated placeholder: '{{' without '}}' on the same line"},
		{"bad/missing-comma.json", TEMPLATE_DECLARATION, "4:3: result is not valid JSON here"},
		{"bad/trailing-comma.json", TEMPLATE_PLAN, "6:2: result is not valid JSON here"},
		{"bad/unclosed.json", TEMPLATE_DECLARATION, "4:1: result is not valid JSON: it ends "
		    "early (an object, array or string is not closed?)"},
		{"bad/text-as-bare-value.json", TEMPLATE_PLAN,
		    "3:22: variable 'version' is text: write it inside quotes, \"{{version}}\""},
		{"bad/not-an-object.json", TEMPLATE_DECLARATION,
		    "1:1: the declaration template must be a JSON object"},
		{"bad/hardcoded-version.json", TEMPLATE_DECLARATION,
		    "1:1: the declaration template must use {{version}}"},
		{"bad/null-as-key.json", TEMPLATE_DECLARATION,
		    "4:4: result is not valid JSON in the value of 'build' (with extra, build, "
		    "details_url null)"},
		{"bad/upper-case-name.json", TEMPLATE_DECLARATION, "2:23: invalid placeholder "
		    "'{{Version}}': a name is a-z, 0-9 and '_', not starting with a digit"},
		{"bad/invalid-utf8.json", TEMPLATE_DECLARATION, "4:21: invalid UTF-8"},
		{"bad/blueprint-renamed.json", TEMPLATE_BLUEPRINT, "2:20: the blueprint's \"name\" "
		    "must be \"{{blueprint_name}}\": bridge finds its blueprints by name"},
		/* a good template of another type names what it lacks */
		{"../../../templates/declaration.json", TEMPLATE_PLAN,
		    "1:1: the plan template must use {{version_type}}"},
		{"../../../templates/plan.json", TEMPLATE_BLUEPRINT,
		    "3:19: unknown variable 'version_type' (known: policy, ring, platform, version, "
		    "extra, build, deadline, details_url, max_deferrals, blueprint_name, group_uuid, "
		    "component, declaration)"},
	};
	char path[512], want[1024], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		snprintf(path, sizeof(path), "%s/%s", TFIX, cases[i].file);
		err[0] = '\0';
		rc = template_check(path, cases[i].which, err, sizeof(err));
		if (cases[i].error == NULL) {
			if (rc != 0)
				fail_msg("%s: %s", cases[i].file, err);
			continue;
		}
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].error);
		if (rc != -1 || strcmp(err, want) != 0)
			fail_msg("%s:\n  want %s\n  got  %s", cases[i].file, want, err);
	}
	assert_int_equal(template_check(TFIX "/missing.json", TEMPLATE_PLAN, err, sizeof(err)), -1);
	assert_string_equal(err, TFIX "/missing.json: cannot read: No such file or directory");
	assert_int_equal(template_check(TFIX, TEMPLATE_PLAN, err, sizeof(err)), -1);
	assert_string_equal(err, TFIX ": cannot read: Invalid argument");
}

struct alert_case {
	enum template_which which;
	const char *text;
	const char *error;  /* after "PATH:"; NULL: passes */
};

#define TEAMS_CARD(content_type, type, version) \
	"{\"type\": \"message\", \"attachments\": [{\"contentType\": \"" content_type "\",\n" \
	"  \"content\": {\"type\": \"" type "\", \"version\": " version ",\n" \
	"  \"body\": {{card_body}}}}]}"
#define TEAMS_WHY ": a Teams Workflows webhook drops anything else"

/* bridge check on alert templates: what Slack, Teams and a JSON receiver need is there. */
static void
test_check_alerts(void **state)
{
	static const struct alert_case cases[] = {
		/* text alone is enough; members Slack knows and bridge does not are fine */
		{TEMPLATE_ALERT_SLACK, "{\"text\": \"{{title}}\\n{{text}}\"}", NULL},
		{TEMPLATE_ALERT_SLACK, "{\"text\": \"{{text}}\", \"blocks\": {{blocks}}, "
		    "\"username\": \"bridge on {{host}}\"}", NULL},
		{TEMPLATE_ALERT_SLACK, "{\"blocks\": {{blocks}}}",
		    "1:1: the alert-slack template must use {{text}}"},
		{TEMPLATE_ALERT_SLACK, "{\"text\": \"{{text}}\",\n \"blocks\": \"{{blocks}}\"}",
		    "2:13: the Slack message's \"blocks\" must be an array, as {{blocks}} is: "
		    "Slack refuses anything else"},
		{TEMPLATE_ALERT_SLACK, "{\"text\": \"{{text}}\", \"blocks\": {\"b\": {{blocks}}}}",
		    "1:38: the Slack message's \"blocks\" must be an array, as {{blocks}} is: "
		    "Slack refuses anything else"},
		{TEMPLATE_ALERT_SLACK, "[\"{{text}}\"]",
		    "1:1: the alert-slack template must be a JSON object"},
		{TEMPLATE_ALERT_SLACK, "{\"text\": {{text}}}",
		    "1:10: variable 'text' is text: write it inside quotes, \"{{text}}\""},
		{TEMPLATE_ALERT_TEAMS, TEAMS_CARD("application/vnd.microsoft.card.adaptive",
		    "AdaptiveCard", "\"1.5\""), NULL},
		{TEMPLATE_ALERT_TEAMS,
		    TEAMS_CARD("application/vnd.microsoft.teams.card.o365connector", "AdaptiveCard",
		    "\"1.4\""), "1:1: the Teams message's attachments[0].contentType must be "
		    "\"application/vnd.microsoft.card.adaptive\"" TEAMS_WHY},
		{TEMPLATE_ALERT_TEAMS, TEAMS_CARD("application/vnd.microsoft.card.adaptive",
		    "MessageCard", "\"1.4\""), "1:1: the Teams message's "
		    "attachments[0].content.type must be \"AdaptiveCard\"" TEAMS_WHY},
		{TEMPLATE_ALERT_TEAMS, TEAMS_CARD("application/vnd.microsoft.card.adaptive",
		    "AdaptiveCard", "1.4"), "1:1: the Teams message's "
		    "attachments[0].content.version must be a string such as \"1.4\"" TEAMS_WHY},
		/* an old connector card, with the body in the wrong place */
		{TEMPLATE_ALERT_TEAMS, "{\"@type\": \"MessageCard\", \"sections\": {{card_body}}}",
		    "1:1: the Teams message's attachments[0].contentType must be "
		    "\"application/vnd.microsoft.card.adaptive\"" TEAMS_WHY},
		{TEMPLATE_ALERT_TEAMS, "{\"text\": \"{{text}}\"}",
		    "1:1: the alert-teams template must use {{card_body}}"},
		{TEMPLATE_ALERT_JSON, "{\"d\": {{digest}}}", NULL},
		{TEMPLATE_ALERT_JSON, "{\"text\": \"{{text}}\"}",
		    "1:1: the alert-json template must use {{digest}}"},
		{TEMPLATE_ALERT_JSON, "\n{{digest}}", NULL},  /* the digest object as it is */
		{TEMPLATE_ALERT_JSON, "{\"d\": {{digest}}, \"policy\": \"{{policy}}\"}",
		    "1:30: unknown variable 'policy' (known: title, text, blocks, card_body, "
		    "digest, generated_at, host)"},
	};
	char dir[] = "/tmp/bridge-template-XXXXXX", path[512], want[1024], err[1024];
	int failed = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/alert.json", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(path, "w");
		int rc;

		assert_non_null(f);
		assert_int_equal(fputs(cases[i].text, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
		err[0] = '\0';
		rc = template_check(path, cases[i].which, err, sizeof(err));
		if (cases[i].error == NULL) {
			if (rc != 0) {
				print_error("case %zu: %s\n", i, err);
				failed++;
			}
			continue;
		}
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].error);
		if (rc != -1 || strcmp(err, want) != 0) {
			print_error("case %zu:\n  want %s\n  got  %s\n", i, want, err);
			failed++;
		}
	}
	/* the folder goes before any failure is reported, which would end the test */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(failed, 0);
}

/* Where the default templates are found. */
static void
test_default_path(void **state)
{
	char buf[1024];
	const char *p;

	(void)state;
	setenv("BRIDGE_TEMPLATE_DIR", "/opt/bridge/templates", 1);
	assert_string_equal(template_default_path(TEMPLATE_PLAN, buf, sizeof(buf)),
	    "/opt/bridge/templates/plan.json");
	assert_null(template_default_path(TEMPLATE_PLAN, buf, 10));
	unsetenv("BRIDGE_TEMPLATE_DIR");
	assert_non_null(p = template_default_path(TEMPLATE_BLUEPRINT, buf, sizeof(buf)));
	assert_non_null(strstr(p, "/templates/blueprint.json"));
#ifdef BRIDGE_TEMPLATE_DIR
	/* not installed: the source tree's copy */
	if (access(BRIDGE_DATADIR "/templates/blueprint.json", R_OK) != 0)
		assert_string_equal(p, BRIDGE_TEMPLATE_DIR "/blueprint.json");
#endif
	setenv("BRIDGE_TEMPLATE_DIR", "/opt/bridge/templates", 1);
	assert_string_equal(template_default_path(TEMPLATE_ALERT_SLACK, buf, sizeof(buf)),
	    "/opt/bridge/templates/alert-slack.json");
	assert_string_equal(template_default_path(TEMPLATE_ALERT_TEAMS, buf, sizeof(buf)),
	    "/opt/bridge/templates/alert-teams.json");
	assert_string_equal(template_default_path(TEMPLATE_ALERT_JSON, buf, sizeof(buf)),
	    "/opt/bridge/templates/alert-json.json");
	unsetenv("BRIDGE_TEMPLATE_DIR");
	assert_string_equal(template_which_name(TEMPLATE_DECLARATION), "declaration");
	assert_null(template_which_name((enum template_which)7));
	assert_null(template_default_path((enum template_which)7, buf, sizeof(buf)));
}

/* A failed load leaves the template empty, and releasing an empty one is harmless. */
static void
test_release(void **state)
{
	struct template t;
	char err[512], x[] = "x", *out = x;

	(void)state;
	memset(&t, 0, sizeof(t));
	template_release(&t);
	assert_int_equal(template_render(&t, NULL, 0, 0, &out, err, sizeof(err)), -1);
	assert_null(out);
	assert_int_equal(template_load_string(&t, "t.json", "[{{", 3, err, sizeof(err)), -1);
	assert_null(t.path);
	assert_null(t.slots);
	template_release(&t);
	template_release(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_template_escapes),
		cmocka_unit_test(test_bare_kinds),
		cmocka_unit_test(test_kind_errors),
		cmocka_unit_test(test_nulls),
		cmocka_unit_test(test_unknown_variable),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_shipped_templates),
		cmocka_unit_test(test_shipped_base_update),
		cmocka_unit_test(test_shipped_alerts),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_alerts),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
