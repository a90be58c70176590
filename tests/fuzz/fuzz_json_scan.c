/*
 * libFuzzer target for json_scan.c: arbitrary bytes are scanned whole without a crash or a
 * read past the input, and when cJSON accepts the same text, every value the scanner reads
 * (names, strings, numbers, types, order) agrees with cJSON's tree. cJSON is laxer (raw
 * control characters, leading zeros), so texts only the scanner refuses prove nothing here;
 * its strictness is shown by the table of malformed texts in tests/unit/test_json_scan.c.
 *   clang -fsanitize=fuzzer,address,undefined -Ibridge tests/fuzz/fuzz_json_scan.c \
 *     bridge/json_scan.c -lcjson -lm
 */
#include <assert.h>
#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

#define FUZZ_MAX_INPUT_BYTES 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		for (c = v->child; json_scan_member(js, key, sizeof(key)); c = c->next) {
			assert(c != NULL && c->string != NULL);
			if (strlen(c->string) < sizeof(key) && key[0] != '\0')
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
