/*
 * libFuzzer target for json_scan.c: arbitrary bytes are scanned whole without a crash or a
 * read past the input, and when cJSON accepts the same text, every value the scanner reads
 * (names, decoded or taken raw, strings, numbers, types, order) agrees with cJSON's tree.
 * cJSON is laxer (raw control characters, leading zeros), so texts only the scanner refuses
 * prove nothing here; its strictness is shown by the table of malformed texts in
 * tests/unit/test_json_scan.c.
 *   clang -fsanitize=fuzzer,address,undefined -Ibridge tests/fuzz/fuzz_json_scan.c \
 *     bridge/json_scan.c -lcjson -lm
 */
#include <assert.h>
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

#define FUZZ_MAX_INPUT_BYTES 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * name as json_scan_member_as() takes it ("name":) into raw, when it is a name JSON writes
 * without escapes; false otherwise. What is read after a raw name taken is checked against c
 * as after a decoded one.
 */
static bool
plain_name(const char *name, char *raw, size_t size)
{
	int n;

	for (const char *p = name; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
			return false;
	n = name != NULL ? snprintf(raw, size, "\"%s\":", name) : -1;
	return n > 0 && (size_t)n < size;
}

/* Read the next value of js and check it against v, cJSON's reading of the same text. */
static void
walk(struct json_scan *js, const cJSON *v)
{
	char key[32], buf[256];
	const cJSON *c;
	long n;

	switch (json_scan_peek(js)) {
	case JSON_SCAN_OBJECT:
		assert(cJSON_IsObject(v));
		assert(json_scan_object(js));
		/* each member by its raw name where it is a plain one, else decoded */
		for (c = v->child; ; c = c->next) {
			char raw[sizeof(key) + 3];
			bool taken = c != NULL && plain_name(c->string, raw, sizeof(raw)) &&
			    json_scan_member_as(js, raw, strlen(raw));

			if (!taken && !json_scan_member(js, key, sizeof(key)))
				break;
			assert(c != NULL && c->string != NULL);
			if (!taken && strlen(c->string) < sizeof(key) && key[0] != '\0')
				assert(strcmp(key, c->string) == 0);
			walk(js, c);
		}
		assert(c == NULL);
		break;
	case JSON_SCAN_ARRAY:
		assert(cJSON_IsArray(v));
		assert(json_scan_array(js));
		for (c = v->child; json_scan_item(js); c = c->next) {
			assert(c != NULL);
			walk(js, c);
		}
		assert(c == NULL);
		break;
	case JSON_SCAN_STRING:
		assert(cJSON_IsString(v));
		if (json_scan_string(js, buf, sizeof(buf)))
			assert(strcmp(buf, v->valuestring) == 0);
		break;
	case JSON_SCAN_NUMBER:
		assert(cJSON_IsNumber(v));
		if (json_scan_long(js, &n))
			assert((double)n == v->valuedouble);
		break;
	case JSON_SCAN_BOOL:
		assert(cJSON_IsBool(v));
		assert(json_scan_skip(js));
		break;
	case JSON_SCAN_NULL:
		assert(cJSON_IsNull(v));
		assert(json_scan_skip(js));
		break;
	case JSON_SCAN_ERROR:
		assert(0);  /* the text was accepted whole */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct json_scan js;
	cJSON *tree;
	int rc;

	if (size > FUZZ_MAX_INPUT_BYTES)
		return 0;
	json_scan_init(&js, text, size);
	(void)json_scan_skip(&js);
	rc = json_scan_end(&js);
	assert(rc == 0 || (js.error != NULL && js.error_at <= size));
	if (rc == -1 || (tree = cJSON_ParseWithLength(text, size)) == NULL)
		return 0;
	json_scan_init(&js, text, size);
	walk(&js, tree);
	assert(json_scan_end(&js) == 0);
	cJSON_Delete(tree);
	return 0;
}
