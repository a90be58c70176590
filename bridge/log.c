/*
 * Logging. Everything goes to stderr (cron mails it, journald keeps it); stdout carries only
 * a command's result. Messages often quote what a server sent, so every control character is
 * escaped before it reaches the terminal or a log collector: one line per message, always.
 */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#define LOG_MAX_MESSAGE_BYTES 4096
/* Worst case escaping grows a byte to six ("\u001b"). */
#define LOG_MAX_LINE_BYTES (LOG_MAX_MESSAGE_BYTES * 6 + 256)

static enum log_level log_threshold = LOG_LEVEL_INFO;
static bool log_json;
static FILE *log_stream;
static _Thread_local const char *log_tenant;

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_TRACE] = "trace",
};

void
log_init(enum log_level level, bool json)
{
	log_threshold = level;
	log_json = json;
}

void
log_set_stream(FILE *stream)
{
	log_stream = stream;
}

void
log_set_tenant(const char *name)
{
	log_tenant = name;
}

const char *
log_tenant_name(void)
{
	return log_tenant;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

/* Append s to buf at *len, escaped for a text line or a JSON string; stops at the buffer's end. */
static void
log_escape(char *buf, size_t size, size_t *len, const char *s, bool json)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		char tmp[8];
		const char *out = tmp;
		size_t n;

		if (json && (*p == '"' || *p == '\\')) {
			tmp[0] = '\\';
			tmp[1] = (char)*p;
			n = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			if (json)
				n = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
			else
				n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		} else {
			tmp[0] = (char)*p;
			n = 1;
		}
		if (*len + n >= size)
			return;
		memcpy(buf + *len, out, n);
		*len += n;
	}
}

/* Append a literal (already safe) string to buf at *len. */
static void
log_append(char *buf, size_t size, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= size)
		n = size - *len - 1;
	memcpy(buf + *len, s, n);
	*len += n;
}

/* Current UTC time as RFC 3339, for JSON lines. */
static void
log_timestamp(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "unknown");
}

/* Write one finished line in a single call so concurrent writers do not interleave. */
static void
log_write(char *line, size_t len, size_t size)
{
	FILE *stream = log_stream != NULL ? log_stream : stderr;

	if (len + 1 < size)
		line[len++] = '\n';
	(void)fwrite(line, 1, len, stream);
	(void)fflush(stream);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_MAX_LINE_BYTES];
	char msg[LOG_MAX_MESSAGE_BYTES];
	size_t len = 0;
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(unprintable message)");
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);

	if (log_json) {
		char ts[32];

		log_timestamp(ts, sizeof(ts));
		log_append(line, sizeof(line), &len, "{\"time\":\"");
		log_append(line, sizeof(line), &len, ts);
		log_append(line, sizeof(line), &len, "\",\"level\":\"");
		log_append(line, sizeof(line), &len, log_level_names[level]);
		if (log_tenant != NULL) {
			log_append(line, sizeof(line), &len, "\",\"tenant\":\"");
			log_escape(line, sizeof(line) - 512, &len, log_tenant, true);
		}
		log_append(line, sizeof(line), &len, "\",\"msg\":\"");
		log_escape(line, sizeof(line) - 2, &len, msg, true);
		log_append(line, sizeof(line), &len, "\"}");
	} else {
		log_append(line, sizeof(line), &len, "bridge: ");
		if (level != LOG_LEVEL_INFO) {
			log_append(line, sizeof(line), &len, log_level_names[level]);
			log_append(line, sizeof(line), &len, ": ");
		}
		if (log_tenant != NULL) {
			log_escape(line, sizeof(line), &len, log_tenant, false);
			log_append(line, sizeof(line), &len, ": ");
		}
		log_escape(line, sizeof(line), &len, msg, false);
	}
	log_write(line, len, sizeof(line));
}

void
log_diag(const char *file, int line_no, int col, const char *msg)
{
	char line[LOG_MAX_LINE_BYTES];
	char pos[64];
	size_t len = 0;

	if (log_json) {
		char ts[32];

		log_timestamp(ts, sizeof(ts));
		log_append(line, sizeof(line), &len, "{\"time\":\"");
		log_append(line, sizeof(line), &len, ts);
		log_append(line, sizeof(line), &len, "\",\"level\":\"error\",\"file\":\"");
		log_escape(line, sizeof(line) - 64, &len, file, true);
		snprintf(pos, sizeof(pos), "\",\"line\":%d,\"col\":%d,\"msg\":\"", line_no, col);
		log_append(line, sizeof(line), &len, pos);
		log_escape(line, sizeof(line) - 2, &len, msg, true);
		log_append(line, sizeof(line), &len, "\"}");
	} else {
		log_escape(line, sizeof(line), &len, file, false);
		snprintf(pos, sizeof(pos), ":%d:%d: ", line_no, col);
		log_append(line, sizeof(line), &len, pos);
		log_escape(line, sizeof(line), &len, msg, false);
	}
	log_write(line, len, sizeof(line));
}
