/* The metrics file (see metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"

#define METRICS_MAX_BYTES (4 * 1024 * 1024)
#define LAST_SUCCESS "bridge_last_success_timestamp_seconds"

static bool
same(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static struct metrics_group *
group_of(struct metrics *m, const char *tenant, const char *policy, const char *target)
{
	struct metrics_group *g;

	for (size_t i = 0; i < m->ngroups; i++) {
		g = &m->groups[i];
		if (same(g->tenant, tenant) && same(g->policy, policy) && same(g->target, target))
			return g;
	}
	if ((g = realloc(m->groups, (m->ngroups + 1) * sizeof(*g))) == NULL)
		return NULL;
	m->groups = g;
	g = &m->groups[m->ngroups];
	memset(g, 0, sizeof(*g));
	if ((g->tenant = strdup(tenant)) == NULL || (g->policy = strdup(policy)) == NULL ||
	    (g->target = strdup(target)) == NULL) {
		free(g->tenant);
		free(g->policy);
		free(g->target);
		return NULL;
	}
	m->ngroups++;
	return g;
}

int
metrics_add_rows(struct metrics *m, const char *tenant, const char *policy,
    const struct watch_row *rows, size_t n)
{
	struct metrics_group *g = NULL;

	for (size_t i = 0; i < n; i++) {
		char target[128];

		/* rows of one target mostly share its strings: named once, not once a row */
		if (g == NULL || rows[i].version != rows[i - 1].version ||
		    rows[i].build != rows[i - 1].build) {
			snprintf(target, sizeof(target), "%s %s", rows[i].version,
			    rows[i].build != NULL ? rows[i].build : "(base update)");
			if ((g = group_of(m, tenant, policy, target)) == NULL)
				return -1;
		}
		g->counts[rows[i].v.cls]++;
	}
	return 0;
}

int
metrics_add_sent(struct metrics *m, const char *webhook)
{
	char **names;
	size_t *sent, i;

	for (i = 0; i < m->nwebhooks; i++)
		if (same(m->webhooks[i], webhook)) {
			m->sent[i]++;
			return 0;
		}
	if ((names = realloc(m->webhooks, (m->nwebhooks + 1) * sizeof(*names))) == NULL)
		return -1;
	m->webhooks = names;
	if ((sent = realloc(m->sent, (m->nwebhooks + 1) * sizeof(*sent))) == NULL)
		return -1;
	m->sent = sent;
	if ((m->webhooks[m->nwebhooks] = strdup(webhook)) == NULL)
		return -1;
	m->sent[m->nwebhooks++] = 1;
	return 0;
}

int
metrics_keep(struct metrics *m, const char *tenant)
{
	char **kept = realloc(m->kept, (m->nkept + 1) * sizeof(*kept));

	if (kept == NULL)
		return -1;
	m->kept = kept;
	if ((m->kept[m->nkept] = strdup(tenant)) == NULL)
		return -1;
	m->nkept++;
	return 0;
}

int
metrics_take(struct metrics *to, struct metrics *from)
{
	struct metrics_group *g;
	char **kept;

	if (from->nkept > 0) {
		if ((kept = realloc(to->kept, (to->nkept + from->nkept) * sizeof(*kept))) == NULL)
			return -1;
		to->kept = kept;
	}
	if (from->ngroups > 0) {
		if ((g = realloc(to->groups, (to->ngroups + from->ngroups) * sizeof(*g))) == NULL)
			return -1;
		to->groups = g;
		memcpy(to->groups + to->ngroups, from->groups, from->ngroups * sizeof(*g));
		to->ngroups += from->ngroups;
		free(from->groups);
		from->groups = NULL;
		from->ngroups = 0;
	}
	if (from->nkept > 0) {
		memcpy(to->kept + to->nkept, from->kept, from->nkept * sizeof(*kept));
		to->nkept += from->nkept;
		free(from->kept);
		from->kept = NULL;
		from->nkept = 0;
	}
	metrics_release(from);
	return 0;
}

void
metrics_release(struct metrics *m)
{
	for (size_t i = 0; i < m->ngroups; i++) {
		free(m->groups[i].tenant);
		free(m->groups[i].policy);
		free(m->groups[i].target);
	}
	for (size_t i = 0; i < m->nwebhooks; i++)
		free(m->webhooks[i]);
	for (size_t i = 0; i < m->nkept; i++)
		free(m->kept[i]);
	free(m->kept);
	free(m->groups);
	free(m->webhooks);
	free(m->sent);
	memset(m, 0, sizeof(*m));
}

/* A growing text buffer; a failed append leaves failed set. */
struct out {
	char *s;
	size_t len, cap;
	bool failed;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->s != NULL ? o->s + o->len : NULL, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if (o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t cap = (o->cap + (size_t)n + 1) * 2;
			char *grown = cap > METRICS_MAX_BYTES ? NULL : realloc(o->s, cap);

			if (grown == NULL) {
				o->failed = true;
				return;
			}
			o->s = grown;
			o->cap = cap;
		}
	}
}

/* A label value with \, " and newline escaped, as the exposition format wants. */
static void
put_label(struct out *o, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			put(o, "\\\\");
		else if (*v == '"')
			put(o, "\\\"");
		else if (*v == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *v);
	}
}

/* The last success time in previous (the file as it was), or 0. */
static long long
previous_success(const char *previous)
{
	long long t = 0;

	for (const char *line = previous; line != NULL && *line != '\0';) {
		const char *next = strchr(line, '\n');

		if (strncmp(line, LAST_SUCCESS " ", sizeof(LAST_SUCCESS)) == 0)
			t = strtoll(line + sizeof(LAST_SUCCESS), NULL, 10);
		line = next != NULL ? next + 1 : NULL;
	}
	return t > 0 ? t : 0;
}

/* The bridge_devices lines of tenant in previous (the file as it was), copied to o. */
static void
put_kept(struct out *o, const char *previous, const char *tenant)
{
	struct out prefix = {NULL, 0, 0, false};

	put(&prefix, "bridge_devices{tenant=\"");
	put_label(&prefix, tenant);
	put(&prefix, "\",");
	for (const char *line = previous; !prefix.failed && line != NULL && *line != '\0';) {
		const char *next = strchr(line, '\n');

		if (next != NULL && strncmp(line, prefix.s, prefix.len) == 0)
			put(o, "%.*s\n", (int)(next - line), line);
		line = next != NULL ? next + 1 : NULL;
	}
	o->failed |= prefix.failed;
	free(prefix.s);
}

int
metrics_write(const struct metrics *m, const char *path, bool success, time_t now)
{
	struct out o = {NULL, 0, 0, false};
	char *previous = NULL;
	size_t len;
	long long last;
	int rc = -1;

	if (fileio_read(path, METRICS_MAX_BYTES, &previous, &len) != FILEIO_OK)
		previous = NULL;
	last = success ? (long long)now : previous_success(previous);

	put(&o, "# HELP bridge_devices Devices bridge targets, by how they stand.\n"
	    "# TYPE bridge_devices gauge\n");
	for (size_t i = 0; i < m->ngroups; i++)
		for (int c = 0; c < WATCH_NCLASSES; c++) {
			const struct metrics_group *g = &m->groups[i];

			put(&o, "bridge_devices{tenant=\"");
			put_label(&o, g->tenant);
			put(&o, "\",policy=\"");
			put_label(&o, g->policy);
			put(&o, "\",target=\"");
			put_label(&o, g->target);
			put(&o, "\",class=\"%s\"} %zu\n", watch_class_name((enum watch_class)c),
			    g->counts[c]);
		}
	for (size_t i = 0; i < m->nkept; i++)
		put_kept(&o, previous, m->kept[i]);
	put(&o, "# HELP bridge_alerts_sent Alert digests delivered by the last run.\n"
	    "# TYPE bridge_alerts_sent gauge\n");
	for (size_t i = 0; i < m->nwebhooks; i++) {
		put(&o, "bridge_alerts_sent{webhook=\"");
		put_label(&o, m->webhooks[i]);
		put(&o, "\"} %zu\n", m->sent[i]);
	}
	put(&o, "# HELP bridge_last_run_timestamp_seconds When the last run ended.\n"
	    "# TYPE bridge_last_run_timestamp_seconds gauge\n"
	    "bridge_last_run_timestamp_seconds %lld\n"
	    "# HELP bridge_last_run_success Whether the last run succeeded (1) or not (0).\n"
	    "# TYPE bridge_last_run_success gauge\n"
	    "bridge_last_run_success %d\n", (long long)now, success ? 1 : 0);
	if (last > 0)
		put(&o, "# HELP " LAST_SUCCESS " When a run last succeeded.\n"
		    "# TYPE " LAST_SUCCESS " gauge\n" LAST_SUCCESS " %lld\n", last);
	if (o.failed)
		log_error("metrics: out of memory");
	else if (fileio_write_atomic(path, o.s, o.len, 0644) == -1)
		log_error("metrics: cannot write %s: %s", path, strerror(errno));
	else
		rc = 0;
	free(o.s);
	free(previous);
	return rc;
}
