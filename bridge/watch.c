/* Watching what bridge created (see watch.h). */
#include "watch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "enforce.h"
#include "isotime.h"
#include "jamf.h"
#include "jamf_pro.h"
#include "log.h"
#include "reasons.h"
#include "state.h"
#include "version.h"

/*
 * Following plans: by id, 32 to a request, while bridge follows few; past FOLLOW_BY_ID, the
 * list of every plan Jamf has not finished (2000 to a page) costs fewer requests, and only
 * the followed plans missing from it (they finished since the last run) are read by id.
 */
#define FOLLOW_BY_ID (4 * JAMF_PLANS_PER_REQUEST)
#define UNFINISHED_FILTER "state=out=(PlanCompleted,PlanFailed,PlanException,PlanCanceled)"

const char *
watch_class_name(enum watch_class c)
{
	static const char *const names[WATCH_NCLASSES] = {"done", "compliant", "in_progress",
		"stuck", "failed", "late"};

	return c < WATCH_NCLASSES ? names[c] : "?";
}

bool
watch_at_target(const struct jamf_device *d, const char *version, const char *build)
{
	struct version dv, tv;
	struct build have, want;
	const char *sb;
	int c;

	if (d == NULL || d->version == NULL || version == NULL ||
	    version_parse(d->version, &dv) == -1 || version_parse(version, &tv) == -1)
		return false;
	if ((c = version_compare(&dv, &tv)) != 0)
		return c > 0;
	if (build == NULL)
		return true;  /* a base update: the version is the target */
	/*
	 * The supplemental build says which BSI is installed (it is the build itself without
	 * one). On one base version, a later BSI has a later build of the same major and train
	 * (25D771290b after 25D771280a), while the base build's number is far lower (25D2128).
	 */
	sb = d->supplemental_build != NULL ? d->supplemental_build : d->build;
	if (sb == NULL || build_parse(sb, &have) == -1 || build_parse(build, &want) == -1)
		return false;
	return have.major == want.major && have.train == want.train &&
	    build_compare(&have, &want) >= 0;
}

/* A deadline, "YYYY-MM-DDTHH:MM:SS", read as UTC, or -1. */
static time_t
parse_deadline(const char *s)
{
	const char *rest;
	time_t t;

	return (rest = iso_time_prefix(s, &t)) != NULL && *rest == '\0' ? t : (time_t)-1;
}

/* A duration for notes: "3d", "5h", "12m". */
static void
span(long seconds, char *buf, size_t size)
{
	if (seconds >= 86400)
		snprintf(buf, size, "%ldd", seconds / 86400);
	else if (seconds >= 3600)
		snprintf(buf, size, "%ldh", seconds / 3600);
	else
		snprintf(buf, size, "%ldm", seconds / 60);
}

/* Write the note when the caller wants one (note not NULL). */
static void
say(char *note, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(char *note, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (note == NULL || size == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(note, size, fmt, ap);
	va_end(ap);
}

void
watch_classify(const struct watch_item *it, const struct config_watch *w, time_t now,
    struct watch_verdict *out, char *note, size_t notesize)
{
	enum plan_phase phase = plan_phase_of(it->state);
	bool failed = phase == PLAN_FAILED || phase == PLAN_CANCELED ||
	    (it->state != NULL && strcmp(it->state, "FAILED") == 0);  /* a deployment */
	time_t deadline = parse_deadline(it->deadline);
	char took[24];

	memset(out, 0, sizeof(*out));
	out->info = it->reason != NULL ? reason_lookup(it->reason) : NULL;
	if (watch_at_target(it->device, it->version, it->build)) {
		out->cls = failed ? WATCH_COMPLIANT : WATCH_DONE;
		say(note, notesize, "inventory shows %s (%s)%s%s",
		    it->device->version, it->device->supplemental_build != NULL ?
		    it->device->supplemental_build : it->device->build != NULL ?
		    it->device->build : "-", failed ? "; the plan failed with " : "",
		    failed ? (it->reason != NULL ? it->reason : it->state) : "");
		return;
	}
	if (failed) {
		out->cls = WATCH_FAILED;
		if (it->reason != NULL)
			say(note, notesize, "%s: %s", it->reason,
			    out->info != NULL ? out->info->explanation : "(a reason bridge does not "
			    "know; see Jamf's plan events)");
		else
			say(note, notesize, "%s", it->state);
		return;
	}
	if (deadline != (time_t)-1 && now > deadline + w->deadline_grace) {
		out->cls = WATCH_LATE;
		span(now - deadline, took, sizeof(took));
		say(note, notesize, "deadline %s passed %s ago; %s",
		    it->deadline, took, it->state != NULL ? it->state : "no plan state yet");
		return;
	}
	if (it->state != NULL && phase != PLAN_COMPLETED && it->state_since > 0 &&
	    now - it->state_since > (phase == PLAN_PENDING ? w->stuck_pending_after :
	    w->stuck_after)) {
		out->cls = WATCH_STUCK;
		span(now - it->state_since, took, sizeof(took));
		say(note, notesize, "%s for %s", it->state, took);
		return;
	}
	out->cls = WATCH_IN_PROGRESS;
	if (phase == PLAN_COMPLETED)
		say(note, notesize, "%s; inventory does not show the target yet",
		    it->state);
	else
		say(note, notesize, "%s", it->state != NULL ? it->state :
		    "not seen in Jamf yet");
}

/* Whether bridge still has to read plan p: Jamf has not finished it as far as bridge knows. */
static bool
unfinished(const struct state_plan *p)
{
	enum plan_phase ph = plan_phase_of(p->last_state);

	return p->id != NULL && ph != PLAN_COMPLETED && ph != PLAN_FAILED && ph != PLAN_CANCELED;
}

/* watch_follow marks: a plan followed, and one the list of unfinished plans showed. */
enum { FOLLOWED = 1, LISTED = 2 };

/*
 * Record what Jamf says of plans[0..n) that bridge follows; 0 or -1 (r, out of memory).
 * With f's marks, those it follows are marked LISTED.
 */
static int
record_plans(struct state *st, const struct jamf_plan *plans, size_t n, time_t now,
    struct watch_follow *f, size_t *read, struct jamf_reply *r)
{
	for (size_t i = 0; i < n; i++) {
		const struct jamf_plan *p = &plans[i];
		const char *reason = p->nreasons > 0 ? p->reasons[0] : NULL;
		const struct state_plan *sp = state_find_plan(st, p->id);
		size_t at;

		if (sp == NULL)
			continue;
		if (f != NULL && (at = (size_t)(sp - st->plans)) < f->nmarks && f->marks[at])
			f->marks[at] |= LISTED;
		/* an empty or oversized value from Jamf says nothing: left as last seen */
		if (p->state == NULL || p->state[0] == '\0' || strlen(p->state) > 256)
			continue;
		if (reason != NULL && (reason[0] == '\0' || strlen(reason) > 256))
			reason = NULL;
		if (state_plan_seen(st, p->id, p->state, reason, now) == -1) {
			jamf_reply_fail(r, JAMF_FAIL_BAD_REPLY, "recording plan states: out of memory");
			return -1;
		}
		(*read)++;
	}
	return 0;
}

/* jamf_pro_read_lists(): record a page of unfinished plans and mark the followed ones. */
static int
note_unfinished(void *ctx, const struct jamf_plan *plans, size_t n, struct jamf_reply *r)
{
	struct watch_follow *f = ctx;

	if (f->adopt && enforce_adopt_plans(f->st, plans, n, f->now, &f->adopted, r) == -1)
		return -1;
	return record_plans(f->st, plans, n, f->now, f, &f->read, r);
}

int
watch_follow_begin(struct watch_follow *f, struct state *st, time_t now, bool adopt,
    struct jamf_list *list, bool *with_list, struct jamf_reply *r)
{
	memset(f, 0, sizeof(*f));
	f->st = st;
	f->now = now;
	f->adopt = adopt;
	*with_list = false;
	if ((f->marks = calloc(st->nplans > 0 ? st->nplans : 1, 1)) == NULL)
		return jamf_reply_fail(r, JAMF_FAIL_BAD_REPLY, "reading plans: out of memory");
	f->nmarks = st->nplans;
	for (size_t i = 0; i < st->nplans; i++) {
		if (!unfinished(&st->plans[i]))
			continue;
		if (!jamf_plan_id_ok(st->plans[i].id)) {
			log_warn("plan \"%.64s\": not a plan id Jamf gives; not followed",
			    st->plans[i].id);
			continue;
		}
		f->marks[i] = FOLLOWED;
		f->n++;
	}
	if (f->n <= FOLLOW_BY_ID && !adopt)
		return 0;
	/* many: the list of Jamf's unfinished plans, then by id those not on it (finished) */
	(void)jamf_url_encode(UNFINISHED_FILTER, f->filter, sizeof(f->filter));  /* fits */
	*list = (struct jamf_list){.what = JAMF_LIST_PLANS, .filter = f->filter,
	    .each = note_unfinished, .ctx = f};
	*with_list = true;
	return 0;
}

int
watch_follow_end(struct watch_follow *f, struct jamf_session *pro, struct jamf_list *list,
    struct jamf_reply *r)
{
	struct jamf_plan *plans = NULL;
	const char **ids;
	size_t n = 0, got = 0;
	int rc = -1;

	if (list != NULL && list->rc == -1) {
		*r = list->r;  /* the list failed: nothing is read by id */
		return -1;
	}
	if (list != NULL)
		jamf_reply_release(&list->r);
	if (f->adopt) {
		log_info("reconcile: %zu unfinished plan%s in Jamf Pro taken into the state",
		    f->adopted, f->adopted == 1 ? "" : "s");
		state_reconciled(f->st);
	}

	/* followed by id: all of them, or those the list did not show (finished since) */
	if ((ids = calloc(f->n > 0 ? f->n : 1, sizeof(*ids))) == NULL)
		return jamf_reply_fail(r, JAMF_FAIL_BAD_REPLY, "reading plans: out of memory");
	for (size_t i = 0; i < f->nmarks; i++)
		if (f->marks[i] == FOLLOWED)
			ids[n++] = f->st->plans[i].id;
	if (n == 0) {
		free(ids);
		return 0;
	}
	if (jamf_pro_plans_by_ids(pro, ids, n, &plans, &got, r) == -1 ||
	    record_plans(f->st, plans, got, f->now, NULL, &f->read, r) == -1)
		goto out;
	if (got < n)
		log_warn("%zu of %zu plans bridge created are not in Jamf any more (the "
		    "plans feature was reset?)", n - got, n);
	rc = 0;
out:
	jamf_plans_free(plans, got);
	free(ids);
	return rc;
}

void
watch_follow_release(struct watch_follow *f)
{
	free(f->marks);
	memset(f, 0, sizeof(*f));
}

int
watch_follow_plans(struct jamf_session *pro, struct state *st, time_t now, size_t *read,
    struct jamf_reply *r)
{
	struct watch_follow f;
	struct jamf_list list;
	bool with_list;
	int rc = -1;

	if (watch_follow_begin(&f, st, now, false, &list, &with_list, r) == 0) {
		if (with_list)
			(void)jamf_pro_read_lists(pro, &list, 1);
		rc = watch_follow_end(&f, pro, with_list ? &list : NULL, r);
	}
	*read = f.read;
	watch_follow_release(&f);
	return rc;
}

/* An inventory index entry: a device id as a number, and where the device is. */
struct by_id {
	long id;
	size_t at;
};

static int
cmp_by_id(const void *a, const void *b)
{
	long x = ((const struct by_id *)a)->id, y = ((const struct by_id *)b)->id;

	return (x > y) - (x < y);
}

static int
cmp_reason_count(const void *a, const void *b)
{
	const struct watch_reason_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->reason, y->reason);
}

static void
count_reason(struct watch_tally *t, const char *reason)
{
	for (size_t i = 0; i < t->nreasons; i++)
		if (strcmp(t->reasons[i].reason, reason) == 0) {
			t->reasons[i].n++;
			return;
		}
	if (t->nreasons < WATCH_MAX_REASONS)
		t->reasons[t->nreasons++] = (struct watch_reason_count){reason, 1};
}

void
watch_tally(const struct watch_row *rows, size_t n, struct watch_tally *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		t->counts[rows[i].v.cls]++;
		t->rows++;
		if (rows[i].v.cls == WATCH_FAILED)
			count_reason(t, rows[i].reason != NULL ? rows[i].reason :
			    rows[i].state != NULL ? rows[i].state : "?");
	}
	qsort(t->reasons, t->nreasons, sizeof(*t->reasons), cmp_reason_count);
}

void
watch_counts_json(cJSON *obj, const size_t counts[WATCH_NCLASSES])
{
	for (int c = 0; c < WATCH_NCLASSES; c++)
		cJSON_AddNumberToObject(obj, watch_class_name((enum watch_class)c), (double)counts[c]);
}

void
watch_counts_print(FILE *out, const size_t counts[WATCH_NCLASSES])
{
	for (int c = 0; c < WATCH_NCLASSES; c++)
		fprintf(out, "%s %zu %s", c ? "," : "", counts[c],
		    watch_class_name((enum watch_class)c));
}

/* Append a row, growing *rows by doubling; 0 or -1. */
static int
add_row(struct watch_row **rows, size_t *n, size_t *cap, const struct watch_row *row)
{
	if (*n == *cap) {
		size_t want = *cap ? *cap * 2 : 64;
		struct watch_row *grown = realloc(*rows, want * sizeof(**rows));

		if (grown == NULL)
			return -1;
		*rows = grown;
		*cap = want;
	}
	(*rows)[(*n)++] = *row;
	return 0;
}

/* Classify row, and write its note when note is not NULL. */
static void
classify_row(struct watch_row *row, const struct config_watch *w, time_t now, char *note,
    size_t notesize)
{
	struct watch_item it = {row->device, row->version, row->build, row->deadline, row->state,
		row->reason, row->since};

	watch_classify(&it, w, now, &row->v, note, notesize);
}

void
watch_row_note(const struct watch_row *row, const struct config_watch *w, time_t now,
    char *note, size_t size)
{
	struct watch_row copy = *row;

	classify_row(&copy, w, now, note, size);
}

/* Whether plan p, created in Jamf, is one of policy's. */
static bool
of_policy(const struct state_plan *p, const char *policy)
{
	return p->id != NULL && strcmp(p->policy, policy) == 0;
}

/*
 * Whether the device of plans[i] has a newer plan of policy: plans[0..n) are by device, then
 * creation time, so it would come next among the plans of that device.
 */
static bool
superseded(const struct state_plan_ref *plans, size_t n, size_t i, const char *policy)
{
	for (size_t k = i + 1; k < n && strcmp(plans[k].p->device_id, plans[i].p->device_id) == 0;
	    k++)
		if (of_policy(plans[k].p, policy))
			return true;
	return false;
}

int
watch_rows(struct state *st, const char *policy, const struct jamf_device *devices,
    size_t ndevices, const struct config_watch *w, time_t now, struct watch_row **rows,
    size_t *n)
{
	struct by_id *index = calloc(ndevices ? ndevices : 1, sizeof(*index));
	const struct state_plan_ref *plans;
	size_t cap = 0, nplans = 0;
	bool sorted = true;

	*rows = NULL;
	*n = 0;
	if (index == NULL)
		return -1;
	for (size_t i = 0; i < ndevices; i++) {
		index[i] = (struct by_id){strtol(devices[i].id, NULL, 10), i};
		sorted &= i == 0 || index[i - 1].id <= index[i].id;
	}
	/* Jamf lists devices by id: sorted already, but for ids that are not plain numbers */
	if (!sorted)
		qsort(index, ndevices, sizeof(*index), cmp_by_id);
	/* each device's newest plan of the policy: older ones were superseded or retried */
	if ((plans = state_plans_by_device(st)) == NULL)
		goto oom;
	for (size_t i = 0; i < st->nplans; i++)
		nplans += of_policy(plans[i].p, policy);
	/* at most a row per plan: room for them at once, not up to twice that by doubling */
	if (nplans > 0 && (*rows = malloc(nplans * sizeof(**rows))) == NULL)
		goto oom;
	cap = nplans;
	for (size_t i = 0; i < st->nplans; i++) {
		const struct state_plan *p = plans[i].p;
		struct by_id key = {plans[i].device, 0}, *hit;
		struct watch_row row;

		if (!of_policy(p, policy) || superseded(plans, st->nplans, i, policy))
			continue;
		/* a device gone from inventory is no longer bridge's business */
		if ((hit = bsearch(&key, index, ndevices, sizeof(*index), cmp_by_id)) == NULL)
			continue;
		row = (struct watch_row){p->device_id, &devices[hit->at], p->ring, p->version,
			p->build, p->deadline, p->last_state, p->last_reason, p->last_state_at, {0}};
		classify_row(&row, w, now, NULL, 0);
		if (add_row(rows, n, &cap, &row) == -1)
			goto oom;
	}
	for (size_t i = 0; i < st->nblueprints; i++) {
		const struct state_blueprint *b = &st->blueprints[i];
		long gid;

		if (b->id == NULL || strcmp(b->policy, policy) != 0 || b->group_id == NULL ||
		    !b->deployed)
			continue;
		gid = strtol(b->group_id, NULL, 10);
		for (size_t d = 0; d < ndevices; d++)
			for (size_t k = 0; k < devices[d].ngroups; k++) {
				struct watch_row row;

				if (devices[d].groups[k] != gid)
					continue;
				row = (struct watch_row){devices[d].id, &devices[d], b->ring, b->version,
					b->build, b->deadline, b->last_state, NULL, 0, {0}};
				classify_row(&row, w, now, NULL, 0);
				if (add_row(rows, n, &cap, &row) == -1)
					goto oom;
				break;
			}
	}
	free(index);
	return 0;
oom:
	free(index);
	free(*rows);
	*rows = NULL;
	*n = 0;
	return -1;
}
