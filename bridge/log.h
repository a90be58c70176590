/* Logging to stderr: levels, text or JSON lines, control characters escaped. */
#ifndef BRIDGE_LOG_H
#define BRIDGE_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,  /* -vv: HTTP traces, always redacted */
};

/* Set the threshold and format; messages go to stderr unless log_set_stream() says otherwise. */
void log_init(enum log_level level, bool json);

/* Send log output to stream (tests); NULL restores stderr. */
void log_set_stream(FILE *stream);

/*
 * Say which tenant this thread works for (NULL: none). Its messages then start with the
 * tenant's name ("bridge: error: acme: ..."), or carry "tenant" as JSON lines, so that the
 * lines of tenants run side by side can be told apart.
 */
void log_set_tenant(const char *name);

/* The tenant this thread works for (log_set_tenant()), for a thread it starts; NULL: none. */
const char *log_tenant_name(void);

/* Whether messages at level are printed now. */
bool log_enabled(enum log_level level);

/* Print one message at level; control characters in it are escaped. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print a diagnostic about a file position as FILE:LINE:COL: message (or a JSON line). */
void log_diag(const char *file, int line, int col, const char *msg);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_LEVEL_TRACE, __VA_ARGS__)

#endif
