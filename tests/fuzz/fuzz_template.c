/*
 * libFuzzer target for template.c: the input is a template's text, rendered with a fixed set of
 * variables of every kind (some null), with and without dropping nulls. The result must be an
 * error naming the template's file, line and column, or JSON that cJSON reads back unchanged.
 *   clang -fsanitize=fuzzer,address,undefined -Ibridge tests/fuzz/fuzz_template.c \
 *     bridge/template.c bridge/fileio.c bridge/json.c -lcjson -lm
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct template_var vars[] = {
	{"version", TEMPLATE_STRING, "26.3.1"},
	{"build", TEMPLATE_STRING, "25D771280a"},
	{"deadline", TEMPLATE_STRING, "2026-03-20T18:00:00"},
	{"details_url", TEMPLATE_STRING, NULL},
	{"extra", TEMPLATE_STRING, "(a)"},
	{"version_type", TEMPLATE_STRING, "CUSTOM_VERSION"},
	{"blueprint_name", TEMPLATE_STRING, "bridge: p \"r\" \\ macOS\n26.3.1 é 😀"},
	{"group_uuid", TEMPLATE_STRING, "cda24521-f23b-4f27-a9ff-32c89fb6feeb"},
	{"component", TEMPLATE_STRING, "com.jamf.ddm.custom-declarations"},
	{"max_deferrals", TEMPLATE_NUMBER, "3"},
	{"n", TEMPLATE_NUMBER, "-1.5e3"},
	{"t", TEMPLATE_BOOL, "true"},
	{"z", TEMPLATE_NULL, NULL},
	{"declaration", TEMPLATE_JSON, "{\"TargetOSVersion\":\"26.3.1\",\"a\":[null,1,{}]}"},
	{"bad_number", TEMPLATE_NUMBER, "1, \"x\": 2"},
	{"bad_json", TEMPLATE_JSON, "1, \"x\": 2"},
	{"bad_utf8", TEMPLATE_STRING, "caf\xe9"},
};

/* Check that an error names the template: "fuzz.json:LINE:COL: reason" with both >= 1. */
static void
check_error(const char *err)
{
	int line = 0, col = 0, n = 0;

	assert(sscanf(err, "fuzz.json:%d:%d: %n", &line, &col, &n) == 2 && n > 0);
	assert(line >= 1 && col >= 1 && err[n] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct template t;
	char err[512];

	if (template_load_string(&t, "fuzz.json", (const char *)data, size, err,
	    sizeof(err)) == -1) {
		check_error(err);
		assert(t.text == NULL && t.slots == NULL);
		return 0;
	}
	for (unsigned flags = 0; flags <= TEMPLATE_DROP_NULLS; flags += TEMPLATE_DROP_NULLS) {
		char *out = NULL, *again;
		cJSON *v;

		err[0] = '\0';
		if (template_render(&t, vars, sizeof(vars) / sizeof(vars[0]), flags, &out, err,
		    sizeof(err)) == -1) {
			assert(out == NULL);
			if (strstr(err, "out of memory") == NULL)
				check_error(err);
			continue;
		}
		/* valid JSON, already in cJSON's compact form */
		assert(out != NULL);
		v = cJSON_ParseWithOpts(out, NULL, 1);
		assert(v != NULL);
		again = json_print(v);
		assert(again != NULL && strcmp(again, out) == 0);
		free(again);
		cJSON_Delete(v);
		free(out);
	}
	template_release(&t);
	return 0;
}
