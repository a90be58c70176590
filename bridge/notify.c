/* Telling people, once (see notify.h). */
#include "notify.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "alert.h"
#include "config.h"
#include "fileio.h"
#include "isotime.h"
#include "json.h"
#include "log.h"
#include "template.h"

#define MEMORY_FILE "alerts.json"
#define MEMORY_FORMAT 1
#define MEMORY_MAX_BYTES (16 * 1024 * 1024)

/* The events in the order of their bits, as the policy file names them. */
static const char *const event_names[] = {"plan_failed", "plan_stuck", "deadline_missed",
	"feed_error", "run_failed", "resolved"};
#define NEVENTS (sizeof(event_names) / sizeof(event_names[0]))

static const char *
event_name(unsigned event)
{
	for (size_t i = 0; i < NEVENTS; i++)
		if (event == 1u << i)
			return event_names[i];
	return "?";
}

static unsigned
event_of(const char *name)
{
	for (size_t i = 0; name != NULL && i < NEVENTS; i++)
		if (strcmp(name, event_names[i]) == 0)
			return 1u << i;
	return 0;
}

/* What a problem is, in a few words: "3 devices failed 26.3.1 25D771280a (policy macs)". */
static const char *
event_phrase(unsigned event)
{
	switch (event) {
	case CONFIG_EVENT_PLAN_FAILED:
		return "failed";
	case CONFIG_EVENT_PLAN_STUCK:
		return "stuck";
	case CONFIG_EVENT_DEADLINE_MISSED:
		return "missed the deadline of";
	case CONFIG_EVENT_FEED_ERROR:
		return "feed error";
	default:
		return "run failed";
	}
}

static char *
dup_opt(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = true;
	return d;
}

/* A copy made valid UTF-8 (Jamf's names are not checked, and callers cut them to size). */
static char *
dup_clean(const char *s, bool *oom)
{
	char *d = dup_opt(s, oom);

	if (d != NULL)
		json_utf8_clean(d);
	return d;
}

static void
fingerprint(char buf[NOTIFY_FINGERPRINT_BYTES], unsigned event, const char *tenant,
    const char *policy, const char *target, const char *reason)
{
	snprintf(buf, NOTIFY_FINGERPRINT_BYTES, "%s|%s|%s|%s|%s", event_name(event),
	    tenant ? tenant : "", policy ? policy : "", target ? target : "", reason ? reason : "");
	json_utf8_clean(buf);
}

int
notify_add(struct notify_list *l, unsigned event, const char *tenant, const char *policy,
    const char *target, const char *reason, const char *explanation, const char *hint,
    const char *name, const char *link)
{
	char fp[NOTIFY_FINGERPRINT_BYTES];
	struct notify_problem *p = NULL;
	bool oom = false;

	fingerprint(fp, event, tenant, policy, target, reason);
	for (size_t i = 0; i < l->n && p == NULL; i++)
		if (strcmp(l->v[i].fingerprint, fp) == 0)
			p = &l->v[i];
	if (p == NULL) {
		struct notify_problem *grown = realloc(l->v, (l->n + 1) * sizeof(*grown));

		if (grown == NULL)
			return -1;
		l->v = grown;
		p = &l->v[l->n];
		memset(p, 0, sizeof(*p));
		memcpy(p->fingerprint, fp, sizeof(fp));
		p->event = event;
		p->tenant = dup_clean(tenant, &oom);
		p->policy = dup_clean(policy, &oom);
		p->target = dup_clean(target, &oom);
		p->reason = dup_clean(reason, &oom);
		p->explanation = dup_clean(explanation, &oom);
		p->hint = dup_clean(hint, &oom);
		if (l->max_names > 0 && !oom &&
		    ((p->names = calloc(l->max_names, sizeof(char *))) == NULL ||
		    (p->links = calloc(l->max_names, sizeof(char *))) == NULL))
			oom = true;
		l->n++;  /* counted even when incomplete, so that release frees it */
		if (oom)
			return -1;
	}
	if (name == NULL)
		return 0;
	p->devices++;
	if (p->nnames < l->max_names) {
		p->names[p->nnames] = dup_clean(name, &oom);
		p->links[p->nnames] = dup_clean(link, &oom);
		p->nnames++;
	}
	return oom ? -1 : 0;
}

int
notify_list_take(struct notify_list *to, struct notify_list *from)
{
	struct notify_problem *v;
	char **scopes;

	if (from->n > 0) {
		if ((v = realloc(to->v, (to->n + from->n) * sizeof(*v))) == NULL)
			return -1;
		to->v = v;
	}
	if (from->nscopes > 0) {
		if ((scopes = realloc(to->scopes, (to->nscopes + from->nscopes) *
		    sizeof(*scopes))) == NULL)
			return -1;
		to->scopes = scopes;
	}
	if (from->n > 0)
		memcpy(to->v + to->n, from->v, from->n * sizeof(*v));
	if (from->nscopes > 0)
		memcpy(to->scopes + to->nscopes, from->scopes, from->nscopes * sizeof(*scopes));
	to->n += from->n;
	to->nscopes += from->nscopes;
	free(from->v);
	free(from->scopes);
	from->v = NULL;
	from->scopes = NULL;
	from->n = from->nscopes = 0;
	return 0;
}

void
notify_list_release(struct notify_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct notify_problem *p = &l->v[i];

		for (size_t k = 0; k < p->nnames; k++) {
			free(p->names[k]);
			free(p->links[k]);
		}
		free(p->names);
		free(p->links);
		free(p->tenant);
		free(p->policy);
		free(p->target);
		free(p->reason);
		free(p->explanation);
		free(p->hint);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
	for (size_t i = 0; i < l->nscopes; i++)
		free(l->scopes[i]);
	free(l->scopes);
	l->scopes = NULL;
	l->nscopes = 0;
}

/* ---- the memory: what each webhook was told (alerts.json) ---- */

static void
said_release(struct notify_said *s)
{
	free(s->webhook);
	free(s->fingerprint);
	free(s->tenant);
	free(s->policy);
	free(s->target);
	free(s->reason);
}

static void
memory_release(struct notify_memory *m)
{
	for (size_t i = 0; i < m->n; i++)
		said_release(&m->v[i]);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static int
memory_path(const struct config *cfg, char buf[PATH_MAX])
{
	return fileio_path_in(cfg->state_dir, MEMORY_FILE, buf);
}

/* Read one record; 0, 1 when it is malformed (skipped), -1 when out of memory. */
static int
said_from_json(const cJSON *o, struct notify_said *s)
{
	const char *webhook = json_str(o, "webhook"), *fp = json_str(o, "fingerprint");
	long devices = 0;
	bool oom = false;

	memset(s, 0, sizeof(*s));
	if (webhook == NULL || fp == NULL || (s->event = event_of(json_str(o, "event"))) == 0 ||
	    iso_time_parse(json_str(o, "first_sent"), &s->first_sent) == -1 ||
	    iso_time_parse(json_str(o, "last_sent"), &s->last_sent) == -1 ||
	    !json_long(o, "devices", &devices) || devices < 0)
		return 1;
	s->devices = (size_t)devices;
	s->webhook = dup_opt(webhook, &oom);
	s->fingerprint = dup_opt(fp, &oom);
	s->tenant = dup_opt(json_str(o, "tenant"), &oom);
	s->policy = dup_opt(json_str(o, "policy"), &oom);
	s->target = dup_opt(json_str(o, "target"), &oom);
	s->reason = dup_opt(json_str(o, "reason"), &oom);
	if (oom) {
		said_release(s);
		return -1;
	}
	return 0;
}

/*
 * Load the memory. A missing file is an empty memory; one that does not read is moved aside
 * (logged): the worst that follows is a problem announced twice. 0, or -1 when out of memory.
 */
static int
memory_load(const struct config *cfg, struct notify_memory *m)
{
	char path[PATH_MAX], *text = NULL;
	const cJSON *list, *o;
	cJSON *root = NULL;
	size_t len;
	long format = 0;
	enum fileio_status fs;

	memset(m, 0, sizeof(*m));
	if (memory_path(cfg, path) == -1)
		return 0;
	if ((fs = fileio_read(path, MEMORY_MAX_BYTES, &text, &len)) == FILEIO_ERROR &&
	    errno == ENOENT)
		return 0;
	if (fs == FILEIO_ERROR) {
		/* not knowing what was said, saying nothing beats saying it all again */
		log_error("alerts: cannot read %s: %s; no alert is sent until it can be read", path,
		    strerror(errno));
		return -1;
	}
	if (fs != FILEIO_OK || (root = cJSON_ParseWithLength(text, len)) == NULL ||
	    !json_long(root, "format", &format) || format != MEMORY_FORMAT ||
	    (list = json_arr(root, "said")) == NULL) {
		char aside[PATH_MAX + 32];

		snprintf(aside, sizeof(aside), "%s.unreadable", path);
		if (rename(path, aside) == -1) {
			log_error("alerts: %s is not what bridge wrote, and cannot be moved aside: %s; "
			    "no alert is sent until it is", path, strerror(errno));
			cJSON_Delete(root);
			free(text);
			return -1;
		}
		log_warn("alerts: %s is not what bridge wrote; moved to %s (problems may be "
		    "announced again)", path, aside);
		cJSON_Delete(root);
		free(text);
		return 0;
	}
	free(text);
	if ((m->v = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*m->v))) == NULL) {
		cJSON_Delete(root);
		return -1;
	}
	cJSON_ArrayForEach(o, list) {
		int rc = said_from_json(o, &m->v[m->n]);

		if (rc == -1) {
			cJSON_Delete(root);
			memory_release(m);
			return -1;
		}
		if (rc == 0)
			m->n++;
		else
			log_warn("alerts: %s: a record does not read; left out", path);
	}
	cJSON_Delete(root);
	return 0;
}

static int
memory_save(const struct config *cfg, const struct notify_memory *m)
{
	char path[PATH_MAX], stamp[32], *text;
	cJSON *root = cJSON_CreateObject(), *list;
	int rc = -1;

	if (root == NULL || memory_path(cfg, path) == -1)
		goto out;
	cJSON_AddNumberToObject(root, "format", MEMORY_FORMAT);
	if ((list = cJSON_AddArrayToObject(root, "said")) == NULL)
		goto out;
	for (size_t i = 0; i < m->n; i++) {
		const struct notify_said *s = &m->v[i];
		cJSON *o = cJSON_CreateObject();

		if (o == NULL || !cJSON_AddItemToArray(list, o))
			goto out;
		cJSON_AddStringToObject(o, "webhook", s->webhook);
		cJSON_AddStringToObject(o, "fingerprint", s->fingerprint);
		cJSON_AddStringToObject(o, "event", event_name(s->event));
		json_add_str_or_null(o, "tenant", s->tenant);
		json_add_str_or_null(o, "policy", s->policy);
		json_add_str_or_null(o, "target", s->target);
		json_add_str_or_null(o, "reason", s->reason);
		cJSON_AddNumberToObject(o, "devices", (double)s->devices);
		iso_time_format(s->first_sent, stamp);
		cJSON_AddStringToObject(o, "first_sent", stamp);
		iso_time_format(s->last_sent, stamp);
		cJSON_AddStringToObject(o, "last_sent", stamp);
	}
	if ((text = json_print(root)) == NULL)
		goto out;
	if (fileio_mkdirs(cfg->state_dir, 0700) == 0 &&
	    fileio_write_atomic(path, text, strlen(text), 0600) == 0)
		rc = 0;
	else
		log_error("alerts: cannot write %s: %s", path, strerror(errno));
	free(text);
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- deciding ---- */

/* Whether webhook a hears of problems of that tenant's policy (its alerts list). */
static bool
subscribed(const struct config *cfg, const struct config_alert *a, const char *tenant,
    const char *policy)
{
	if (cfg == NULL || tenant == NULL || policy == NULL)
		return true;
	for (size_t t = 0; t < cfg->ntenants; t++) {
		if (strcmp(cfg->tenants[t].name, tenant) != 0)
			continue;
		for (size_t i = 0; i < cfg->tenants[t].npolicies; i++) {
			const struct config_policy *p = &cfg->tenants[t].policies[i];

			if (strcmp(p->name, policy) != 0)
				continue;
			if (p->alerts.n == 0)
				return true;
			for (size_t k = 0; k < p->alerts.n; k++)
				if (strcmp(p->alerts.v[k], a->name) == 0)
					return true;
			return false;
		}
	}
	return true;
}

/* The index of what webhook was told of fp in mem, or mem->n when nothing. */
static size_t
said_index(const struct notify_memory *mem, const char *webhook, const char *fp)
{
	size_t i;

	for (i = 0; i < mem->n; i++)
		if (strcmp(mem->v[i].webhook, webhook) == 0 && strcmp(mem->v[i].fingerprint, fp) == 0)
			break;
	return i;
}

static const struct notify_said *
said_of(const struct notify_memory *mem, const char *webhook, const char *fp)
{
	size_t i = said_index(mem, webhook, fp);

	return i < mem->n ? &mem->v[i] : NULL;
}

static const struct notify_problem *
problem_of(const struct notify_list *l, const char *fp)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].fingerprint, fp) == 0)
			return &l->v[i];
	return NULL;
}

/* The scope of a record: its tenant and policy, or "feed" / "run" for the whole run. */
static void
scope_of(const char *tenant, const char *policy, unsigned event, char *buf, size_t size)
{
	if (tenant == NULL || policy == NULL)
		snprintf(buf, size, "%s", event == CONFIG_EVENT_FEED_ERROR ? "feed" : "run");
	else
		snprintf(buf, size, "%s\x1f%s", tenant, policy);
}

/* Whether this run looked at what s is about (else it is neither there nor gone). */
static bool
in_scope(const struct notify_list *l, const struct notify_said *s)
{
	char scope[2 * 1024];

	scope_of(s->tenant, s->policy, s->event, scope, sizeof(scope));
	for (size_t i = 0; i < l->nscopes; i++)
		if (strcmp(l->scopes[i], scope) == 0)
			return true;
	return false;
}

/* Whether webhook a still follows what it was told in s (its events, the policy's list). */
static bool
still_follows(const struct notify_list *l, const struct config_alert *a,
    const struct notify_said *s)
{
	return (a->events & s->event) != 0 && subscribed(l->cfg, a, s->tenant, s->policy);
}

int
notify_watched(struct notify_list *l, const char *tenant, const char *policy, unsigned event)
{
	char scope[2 * 1024], **grown;

	scope_of(tenant, policy, event, scope, sizeof(scope));
	for (size_t i = 0; i < l->nscopes; i++)
		if (strcmp(l->scopes[i], scope) == 0)
			return 0;
	if ((grown = realloc(l->scopes, (l->nscopes + 1) * sizeof(*grown))) == NULL)
		return -1;
	l->scopes = grown;
	if ((l->scopes[l->nscopes] = strdup(scope)) == NULL)
		return -1;
	l->nscopes++;
	return 0;
}

int
notify_decide(const struct notify_memory *mem, const struct config_alert *a,
    const struct notify_list *problems, time_t now, struct notify_digest *d)
{
	memset(d, 0, sizeof(*d));
	d->alert = a;
	if ((d->items = calloc(problems->n + mem->n + 1, sizeof(*d->items))) == NULL)
		return -1;
	for (size_t i = 0; i < problems->n; i++) {
		const struct notify_problem *p = &problems->v[i];
		const struct notify_said *s;

		if ((a->events & p->event) == 0 ||
		    !subscribed(problems->cfg, a, p->tenant, p->policy))
			continue;
		if ((s = said_of(mem, a->name, p->fingerprint)) == NULL)
			d->items[d->n++] = (struct notify_item){NOTIFY_NEW, p, NULL};
		else if (now - s->last_sent >= a->repeat_after)
			d->items[d->n++] = (struct notify_item){NOTIFY_REPEATED, p, s};
		else
			continue;
		d->counts[d->items[d->n - 1].news]++;
	}
	for (size_t i = 0; i < mem->n; i++) {
		const struct notify_said *s = &mem->v[i];

		if (strcmp(s->webhook, a->name) != 0 || problem_of(problems, s->fingerprint) != NULL ||
		    !in_scope(problems, s) || !still_follows(problems, a, s) ||
		    (a->events & CONFIG_EVENT_RESOLVED) == 0)
			continue;
		d->items[d->n++] = (struct notify_item){NOTIFY_RESOLVED, NULL, s};
		d->counts[NOTIFY_RESOLVED]++;
	}
	return 0;
}

void
notify_digest_release(struct notify_digest *d)
{
	free(d->items);
	memset(d, 0, sizeof(*d));
}

/*
 * The memory after webhook a's digest d was delivered: NEW and REPEATED sent now, RESOLVED
 * (and everything a was told that is no longer current) forgotten. 0 or -1 (out of memory).
 */
static int
remember(struct notify_memory *m, const struct config_alert *a,
    const struct notify_list *problems, const struct notify_digest *d, time_t now)
{
	/*
	 * forget what a was told and that is gone (resolved, announced or not), or that a no
	 * longer follows; what this run did not look at stays as it is
	 */
	for (size_t i = 0; i < m->n;) {
		const struct notify_said *s = &m->v[i];

		if (strcmp(s->webhook, a->name) == 0 && ((problem_of(problems, s->fingerprint) ==
		    NULL && in_scope(problems, s)) || !still_follows(problems, a, s))) {
			said_release(&m->v[i]);
			m->v[i] = m->v[--m->n];
		} else {
			i++;
		}
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct notify_problem *p = d->items[i].problem;
		struct notify_said *s;
		bool oom = false;
		size_t k;

		if (d->items[i].news == NOTIFY_RESOLVED)
			continue;
		if ((k = said_index(m, a->name, p->fingerprint)) < m->n) {
			s = &m->v[k];
		} else {
			struct notify_said rec = {0}, *grown;

			rec.webhook = dup_opt(a->name, &oom);
			rec.fingerprint = dup_opt(p->fingerprint, &oom);
			rec.event = p->event;
			rec.tenant = dup_opt(p->tenant, &oom);
			rec.policy = dup_opt(p->policy, &oom);
			rec.target = dup_opt(p->target, &oom);
			rec.reason = dup_opt(p->reason, &oom);
			rec.first_sent = now;
			if (oom || (grown = realloc(m->v, (m->n + 1) * sizeof(*grown))) == NULL) {
				said_release(&rec);
				return -1;
			}
			m->v = grown;
			s = &m->v[m->n++];
			*s = rec;
		}
		s->last_sent = now;
		s->devices = p->devices;
	}
	return 0;
}

/* ---- building a digest ---- */

static const char *const news_names[] = {"new", "repeated", "resolved"};

/* One line for an item, plain text. */
static void
item_line(const struct notify_item *it, char *buf, size_t size)
{
	const struct notify_problem *p = it->problem;
	const struct notify_said *s = it->said;
	unsigned event = p != NULL ? p->event : s->event;
	const char *tenant = p != NULL ? p->tenant : s->tenant;
	const char *policy = p != NULL ? p->policy : s->policy;
	const char *target = p != NULL ? p->target : s->target;
	const char *reason = p != NULL ? p->reason : s->reason;
	size_t devices = p != NULL ? p->devices : s->devices;
	int len;

	if (devices > 0)
		len = snprintf(buf, size, "%s%zu device%s %s %s%s%s (policy %s, tenant %s)",
		    it->news == NOTIFY_RESOLVED ? "Resolved: " : "", devices,
		    devices == 1 ? "" : "s", event_phrase(event), target ? target : "its target",
		    reason ? ": " : "", reason ? reason : "", policy ? policy : "-",
		    tenant ? tenant : "-");
	else
		len = snprintf(buf, size, "%s%s: %s", it->news == NOTIFY_RESOLVED ? "Resolved: " :
		    "", event_phrase(event), reason ? reason : "-");
	if (len > 0 && (size_t)len < size && it->news == NOTIFY_REPEATED)
		snprintf(buf + len, size - (size_t)len, " (still)");
}

/* Room kept at the end of a device list for " and N more". */
#define MORE_BYTES 32

/*
 * The first max device names of a problem as text, "Ann's Mac (17), Bob's Mac (18) and 3
 * more": whole names only, as many as fit in size.
 */
static void
names_text(const struct notify_problem *p, size_t max, char *buf, size_t size)
{
	size_t len = 0, shown = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->nnames && i < max; i++) {
		size_t need = strlen(p->names[i]) + 2;

		if (len + need + MORE_BYTES >= size)
			break;
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "", p->names[i]);
		shown++;
	}
	if (p->devices > shown)
		snprintf(buf + len, size - len, "%s%zu more", shown ? " and " : "", p->devices - shown);
}

/* Slack mrkdwn: escape &, < and > (Slack's only special characters in text). */
static void
slack_escape(const char *s, char *out, size_t size)
{
	size_t o = 0;

	for (; *s != '\0' && o + 6 < size; s++) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;

		if (rep != NULL) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	json_utf8_clean(out);  /* the end may have cut a character */
}

/* The first max device names as Slack mrkdwn links where a link is known; whole ones only. */
static void
names_slack(const struct notify_problem *p, size_t max, char *buf, size_t size)
{
	size_t len = 0, shown = 0;
	char name[512], piece[2048];

	buf[0] = '\0';
	for (size_t i = 0; i < p->nnames && i < max; i++) {
		slack_escape(p->names[i], name, sizeof(name));
		if (p->links[i] != NULL)
			snprintf(piece, sizeof(piece), "%s<%s|%s>", i ? ", " : "", p->links[i], name);
		else
			snprintf(piece, sizeof(piece), "%s%s", i ? ", " : "", name);
		if (len + strlen(piece) + MORE_BYTES >= size)
			break;
		memcpy(buf + len, piece, strlen(piece) + 1);
		len += strlen(piece);
		shown++;
	}
	if (p->devices > shown)
		snprintf(buf + len, size - len, "%s%zu more", shown ? " and " : "", p->devices - shown);
}

/* Slack's limits: blocks per message, characters of a section's text. */
#define SLACK_MAX_BLOCKS 50
#define SLACK_MAX_SECTION 3000

/*
 * Cut a section's mrkdwn to what Slack takes: before the last device that fits (", " or a
 * link's "<"), so no link is cut in half, then "and more".
 */
static void
fit_section(char *mrk)
{
	static const char more[] = " and more";
	size_t cut;

	if (strlen(mrk) <= SLACK_MAX_SECTION)
		return;
	cut = SLACK_MAX_SECTION - sizeof(more);
	while (cut > 0 && strncmp(mrk + cut, ", ", 2) != 0)
		cut--;
	if (cut == 0) {
		/* no device list to cut: at a character boundary */
		cut = SLACK_MAX_SECTION - sizeof(more);
		while (cut > 0 && ((unsigned char)mrk[cut] & 0xC0) == 0x80)
			cut--;
	}
	memcpy(mrk + cut, more, sizeof(more));
}

static void
title_of(const struct notify_digest *d, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "bridge:");
	bool first = true;

	for (int k = 0; k < 3 && len < size; k++) {
		if (d->counts[k] == 0)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s %zu %s problem%s", first ? "" : ",",
		    d->counts[k], news_names[k], d->counts[k] == 1 ? "" : "s");
		first = false;
	}
}

static cJSON *
text_block(const char *type, const char *text)
{
	cJSON *b = cJSON_CreateObject(), *t = cJSON_CreateObject();

	if (b == NULL || t == NULL) {
		cJSON_Delete(b);
		cJSON_Delete(t);
		return NULL;
	}
	cJSON_AddStringToObject(b, "type", type);
	cJSON_AddItemToObject(b, "text", t);
	cJSON_AddStringToObject(t, "type", strcmp(type, "header") == 0 ? "plain_text" : "mrkdwn");
	cJSON_AddStringToObject(t, "text", text);
	return b;
}

static cJSON *
card_text(const char *text, bool bold, bool subtle)
{
	cJSON *b = cJSON_CreateObject();

	if (b == NULL)
		return NULL;
	cJSON_AddStringToObject(b, "type", "TextBlock");
	cJSON_AddStringToObject(b, "text", text);
	cJSON_AddBoolToObject(b, "wrap", true);
	if (bold)
		cJSON_AddStringToObject(b, "weight", "Bolder");
	if (subtle)
		cJSON_AddBoolToObject(b, "isSubtle", true);
	return b;
}

/* The JSON kind's description of one item. */
static cJSON *
item_json(const struct notify_item *it, size_t max)
{
	const struct notify_problem *p = it->problem;
	const struct notify_said *s = it->said;
	cJSON *o = cJSON_CreateObject(), *names;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "news", news_names[it->news]);
	cJSON_AddStringToObject(o, "event", event_name(p != NULL ? p->event : s->event));
	cJSON_AddStringToObject(o, "fingerprint", p != NULL ? p->fingerprint : s->fingerprint);
	json_add_str_or_null(o, "tenant", p != NULL ? p->tenant : s->tenant);
	json_add_str_or_null(o, "policy", p != NULL ? p->policy : s->policy);
	json_add_str_or_null(o, "target", p != NULL ? p->target : s->target);
	json_add_str_or_null(o, "reason", p != NULL ? p->reason : s->reason);
	json_add_str_or_null(o, "explanation", p != NULL ? p->explanation : NULL);
	json_add_str_or_null(o, "hint", p != NULL ? p->hint : NULL);
	cJSON_AddNumberToObject(o, "devices", (double)(p != NULL ? p->devices : s->devices));
	names = cJSON_AddArrayToObject(o, "device_names");
	for (size_t i = 0; p != NULL && names != NULL && i < p->nnames && i < max; i++) {
		cJSON *n = cJSON_CreateObject();

		cJSON_AddItemToArray(names, n);
		cJSON_AddStringToObject(n, "name", p->names[i]);
		json_add_str_or_null(n, "link", p->links[i]);
	}
	return o;
}

/* The variables a digest fills into an alert template; their strings are in *hold. */
struct digest_vars {
	char title[256];
	char *text;
	char *blocks;
	char *card_body;
	char *digest;
	char generated_at[32];
	char host[256];
};

static void
digest_vars_release(struct digest_vars *v)
{
	free(v->text);
	free(v->blocks);
	free(v->card_body);
	free(v->digest);
}

/* Build every variable of d; 0 or -1 (out of memory). */
static int
digest_vars_build(const struct notify_digest *d, time_t now, struct digest_vars *v)
{
	cJSON *blocks = cJSON_CreateArray(), *body = cJSON_CreateArray(), *dj = cJSON_CreateObject();
	cJSON *lists[3], *counts;
	size_t cap = 1024, len = 0, max = (size_t)d->alert->max_devices;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	title_of(d, v->title, sizeof(v->title));
	iso_time_format(now, v->generated_at);
	if (gethostname(v->host, sizeof(v->host)) == -1)
		snprintf(v->host, sizeof(v->host), "unknown");
	v->host[sizeof(v->host) - 1] = '\0';
	if (blocks == NULL || body == NULL || dj == NULL || (v->text = malloc(cap)) == NULL)
		goto out;
	len = (size_t)snprintf(v->text, cap, "%s", v->title);
	cJSON_AddItemToArray(blocks, text_block("header", v->title));
	cJSON_AddItemToArray(body, card_text(v->title, true, false));
	for (int k = 0; k < 3; k++)
		lists[k] = cJSON_AddArrayToObject(dj, news_names[k]);
	counts = cJSON_AddObjectToObject(dj, "counts");
	for (int k = 0; k < 3; k++)
		cJSON_AddNumberToObject(counts, news_names[k], (double)d->counts[k]);
	for (size_t i = 0; i < d->n; i++) {
		const struct notify_item *it = &d->items[i];
		const struct notify_problem *p = it->problem;
		char line[1024], names[4096], slack[8192], mrk[12288], more[2048] = "";
		size_t need;
		char *grown;

		item_line(it, line, sizeof(line));
		json_utf8_clean(line);
		if (p != NULL && p->explanation != NULL)
			snprintf(more, sizeof(more), "%s%s%s", p->explanation, p->hint ? " Fix: " : "",
			    p->hint ? p->hint : "");
		json_utf8_clean(more);
		names[0] = slack[0] = '\0';
		if (p != NULL && p->devices > 0) {
			names_text(p, max, names, sizeof(names));
			names_slack(p, max, slack, sizeof(slack));
		}
		/* plain text */
		need = len + strlen(line) + strlen(more) + strlen(names) + 32;
		if (need > cap) {
			if ((grown = realloc(v->text, need * 2)) == NULL)
				goto out;
			v->text = grown;
			cap = need * 2;
		}
		len += (size_t)snprintf(v->text + len, cap - len, "\n- %s%s%s%s%s", line,
		    more[0] ? "\n  " : "", more, names[0] ? "\n  Devices: " : "", names);
		/* Slack: one section per item, within Slack's limits (the text has them all) */
		if (i + 1 < SLACK_MAX_BLOCKS - 1 || (i + 1 == SLACK_MAX_BLOCKS - 1 &&
		    d->n == SLACK_MAX_BLOCKS - 1)) {
			char eline[2048], emore[4096];

			slack_escape(line, eline, sizeof(eline));
			slack_escape(more, emore, sizeof(emore));
			snprintf(mrk, sizeof(mrk), "*%s*%s%s%s%s", eline, emore[0] ? "\n" : "", emore,
			    slack[0] ? "\nDevices: " : "", slack);
			json_utf8_clean(mrk);
			fit_section(mrk);
			cJSON_AddItemToArray(blocks, text_block("section", mrk));
		} else if (i + 1 == SLACK_MAX_BLOCKS - 1) {
			snprintf(mrk, sizeof(mrk), "_and %zu more problems: see the message text_",
			    d->n - i);
			cJSON_AddItemToArray(blocks, text_block("section", mrk));
		}
		/* Teams: a text block per item, details subtle */
		cJSON_AddItemToArray(body, card_text(line, true, false));
		if (more[0])
			cJSON_AddItemToArray(body, card_text(more, false, true));
		if (names[0]) {
			snprintf(mrk, sizeof(mrk), "Devices: %s", names);
			cJSON_AddItemToArray(body, card_text(mrk, false, true));
		}
		if (lists[it->news] != NULL)
			cJSON_AddItemToArray(lists[it->news], item_json(it, max));
	}
	if ((v->blocks = json_print(blocks)) == NULL || (v->card_body = json_print(body)) == NULL ||
	    (v->digest = json_print(dj)) == NULL)
		goto out;
	rc = 0;
out:
	cJSON_Delete(blocks);
	cJSON_Delete(body);
	cJSON_Delete(dj);
	if (rc == -1)
		digest_vars_release(v);
	return rc;
}

char *
notify_render(const struct notify_digest *d, time_t now, char *err, size_t errlen)
{
	const struct config_alert *a = d->alert;
	struct digest_vars v;
	struct template tpl;
	char path[PATH_MAX];
	const char *file = a->template_file;
	char *out = NULL;

	if (file == NULL && (file = template_default_path(alert_template(a->kind), path,
	    sizeof(path))) == NULL) {
		snprintf(err, errlen, "alert \"%s\": the template path is too long", a->name);
		return NULL;
	}
	if (template_load(&tpl, file, err, errlen) == -1)
		return NULL;
	if (digest_vars_build(d, now, &v) == -1) {
		snprintf(err, errlen, "alert \"%s\": out of memory", a->name);
	} else {
		const struct template_var vars[] = {
			{"title", TEMPLATE_STRING, v.title},
			{"text", TEMPLATE_STRING, v.text},
			{"blocks", TEMPLATE_JSON, v.blocks},
			{"card_body", TEMPLATE_JSON, v.card_body},
			{"digest", TEMPLATE_JSON, v.digest},
			{"generated_at", TEMPLATE_STRING, v.generated_at},
			{"host", TEMPLATE_STRING, v.host},
		};

		if (template_render(&tpl, vars, sizeof(vars) / sizeof(vars[0]), TEMPLATE_DROP_NULLS,
		    &out, err, errlen) == -1)
			out = NULL;
		digest_vars_release(&v);
	}
	template_release(&tpl);
	return out;
}

int
notify_run(struct http_client *http, const struct config *cfg,
    const struct notify_list *problems, time_t now, size_t *delivered)
{
	struct notify_memory mem;
	bool failed = false, changed = false;

	if (cfg->nalerts == 0)
		return 0;
	if (memory_load(cfg, &mem) == -1)
		return -1;
	/* what webhooks that are no longer in the policy file were told is forgotten */
	for (size_t i = 0; i < mem.n;) {
		size_t k;

		for (k = 0; k < cfg->nalerts && strcmp(cfg->alerts[k].name, mem.v[i].webhook) != 0;
		    k++)
			continue;
		if (k < cfg->nalerts) {
			i++;
			continue;
		}
		said_release(&mem.v[i]);
		mem.v[i] = mem.v[--mem.n];
		changed = true;
	}
	for (size_t i = 0; i < cfg->nalerts; i++) {
		const struct config_alert *a = &cfg->alerts[i];
		struct notify_digest d;
		char err[512];
		char *body;

		if (notify_decide(&mem, a, problems, now, &d) == -1) {
			log_error("alerts: out of memory");
			failed = true;
			continue;
		}
		if (d.n == 0) {
			/* nothing to say; forget what cleared without a resolved message */
			if (remember(&mem, a, problems, &d, now) == -1) {
				log_error("alerts: out of memory");
				failed = true;
			}
			changed = true;
			notify_digest_release(&d);
			continue;
		}
		if ((body = notify_render(&d, now, err, sizeof(err))) == NULL ||
		    alert_post(http, cfg, a, body, err, sizeof(err)) == -1) {
			log_error("alerts: %s; the next run sends it again", err);
			failed = true;
		} else {
			log_info("alerts: \"%s\": %zu new, %zu repeated, %zu resolved", a->name,
			    d.counts[NOTIFY_NEW], d.counts[NOTIFY_REPEATED], d.counts[NOTIFY_RESOLVED]);
			if (delivered != NULL)
				delivered[i] = 1;
			if (remember(&mem, a, problems, &d, now) == -1) {
				log_error("alerts: out of memory");
				failed = true;
			}
			changed = true;
		}
		free(body);
		notify_digest_release(&d);
	}
	if (changed && memory_save(cfg, &mem) == -1)
		failed = true;
	memory_release(&mem);
	return failed ? -1 : 0;
}
