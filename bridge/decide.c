/* The decision step (see decide.h): pure, no I/O, no clock reads. */
#include "decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gdmf.h"
#include "hash.h"
#include "jamf_pro.h"
#include "match.h"
#include "version.h"

#define DAY_SECONDS 86400L

const char *
decide_outcome_name(enum decide_outcome o)
{
	static const char *const names[DECIDE_NOUTCOMES] = {"enforce", "base_update",
		"needs_base", "compliant", "ring_waiting", "not_in_scope", "excluded",
		"model_filtered", "no_bsi", "unknown"};

	return o < DECIDE_NOUTCOMES ? names[o] : "?";
}

bool
decide_sends(enum decide_outcome o)
{
	return o == DECIDE_ENFORCE || o == DECIDE_BASE_UPDATE;
}

void
decide_result_release(struct decide_result *r)
{
	free(r->v);
	free(r->rollouts);
	strtab_release(&r->strings);
	memset(r, 0, sizeof(*r));
}

/* Midnight UTC of a "YYYY-MM-DD" date, or -1. */
static time_t
date_midnight(const char *s)
{
	struct tm tm = {0};
	int y, m, d;

	if (s == NULL || version_date_parse(s, &y, &m, &d) == -1)
		return (time_t)-1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return timegm(&tm);
}

/* Move t (a midnight) past a Saturday or Sunday to the Monday. */
static time_t
skip_weekend(time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (tm.tm_wday == 6)
		return t + 2 * DAY_SECONDS;
	if (tm.tm_wday == 0)
		return t + DAY_SECONDS;
	return t;
}

int
decide_deadline(const char *posted, const char *first_seen, long days, long minute_of_day,
    bool skip_weekends, time_t now, char out[DECIDE_DEADLINE_BYTES])
{
	time_t a = date_midnight(posted), b = date_midnight(first_seen), day, at;
	struct tm tm;

	if ((posted != NULL && a == (time_t)-1) || (first_seen != NULL && b == (time_t)-1))
		return -1;
	day = a > b ? a : b;  /* the later start; -1 when neither is known */
	if (day == (time_t)-1)
		day = now - now % DAY_SECONDS;
	day += days * DAY_SECONDS;
	if (skip_weekends)
		day = skip_weekend(day);
	at = day + minute_of_day * 60;
	if (at <= now) {
		/* never in the past: the next allowed slot */
		day = now - now % DAY_SECONDS;
		if (day + minute_of_day * 60 <= now)
			day += DAY_SECONDS;
		if (skip_weekends)
			day = skip_weekend(day);
		at = day + minute_of_day * 60;
	}
	gmtime_r(&at, &tm);
	if (strftime(out, DECIDE_DEADLINE_BYTES, "%Y-%m-%dT%H:%M:00", &tm) == 0)
		return -1;
	return 0;
}

/* Whether the device is in any of the groups. */
static bool
in_any(const struct jamf_device *d, const long *groups, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < d->ngroups; k++)
			if (d->groups[k] == groups[i])
				return true;
	return false;
}

/* The device's ring: the first whose groups hold it, or one without groups; -1: none. */
static long
ring_of(const struct decide_policy *p, const struct jamf_device *d)
{
	if (p->nrings == 0)
		return 0;
	for (size_t i = 0; i < p->nrings; i++)
		if (p->rings[i].ngroups == 0 || in_any(d, p->rings[i].groups, p->rings[i].ngroups))
			return (long)i;
	return -1;
}

static void
bsi_of(const struct gdmf_entry *e, struct version_bsi *b)
{
	b->version = e->version;
	b->extra = e->extra;
	b->build = e->build;
	b->prerequisite_build = e->prerequisite;
	b->devices = (const char *const *)e->devices;
	b->ndevices = e->ndevices;
	b->expires = e->expires;
}

static bool
lists_model(const struct gdmf_entry *e, const char *model)
{
	for (size_t i = 0; i < e->ndevices; i++)
		if (strcmp(e->devices[i], model) == 0)
			return true;
	return false;
}

/* What the feed's BSIs say for one device. */
struct standing {
	const struct gdmf_entry *needs;      /* newest BSI it can install now */
	const struct gdmf_entry *at_or_past; /* one it already has (or is past) */
	const struct gdmf_entry *older;      /* newest BSI whose base it must reach first */
	const struct gdmf_entry *unsupported;/* one on its build that does not list its model */
	const struct gdmf_entry *expired;    /* one on its build that expired */
};

/* Keep the newer of *best and e (by version_bsi_compare). */
static void
keep_newest(const struct gdmf_entry **best, const struct gdmf_entry *e)
{
	struct version_bsi a, b;

	if (*best != NULL) {
		bsi_of(*best, &a);
		bsi_of(e, &b);
		if (version_bsi_compare(&b, &a) <= 0)
			return;
	}
	*best = e;
}

static void
stand(const struct decide_input *in, const struct jamf_device *d, const char *today,
    struct standing *st)
{
	const struct config_policy *pol = in->policy->policy;
	const char *platform = config_os_name(pol->platform);  /* the feed's platform key */
	struct version_device dev = {d->version, d->build, d->supplemental_build, d->extra,
		d->model_id};

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < in->feed->n; i++) {
		const struct gdmf_entry *e = &in->feed->entries[i];
		struct version_bsi b;

		if (e->list != GDMF_LIST_BSI || strcmp(e->platform, platform) != 0)
			continue;
		if (pol->versions != NULL && !match_test(pol->versions, e->version))
			continue;
		bsi_of(e, &b);
		switch (version_bsi_standing(&b, &dev, today)) {
		case VERSION_NEEDS_BSI:
			keep_newest(&st->needs, e);
			break;
		case VERSION_AT_OR_PAST:
			keep_newest(&st->at_or_past, e);
			break;
		case VERSION_OLDER_BASE:
			/* only a base the model can take the BSI on is worth reaching */
			if (lists_model(e, d->model_id))
				keep_newest(&st->older, e);
			break;
		case VERSION_MODEL_UNSUPPORTED:
			st->unsupported = e;
			break;
		case VERSION_EXPIRED:
			if (e->prerequisite != NULL && strcmp(e->prerequisite, d->build) == 0)
				st->expired = e;
			break;
		default:
			break;
		}
	}
}

/* "26.3.1 (a) 25D771280a" for reasons. */
static void
bsi_name(const struct gdmf_entry *e, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s %s", e->version, e->extra != NULL ? e->extra : "",
	    e->build != NULL ? e->build : "(no build)");
}

/* The index of e in the feed (for first_seen). */
static const char *
first_seen_of(const struct decide_input *in, const struct gdmf_entry *e)
{
	if (in->first_seen == NULL)
		return NULL;
	return in->first_seen[e - in->feed->entries];
}

/*
 * Place device d by its groups: into a->ring (true), or an outcome and reason when it is out
 * of the policy's scope, excluded or in none of its rings (false).
 */
static bool
place_device(const struct decide_policy *p, const struct jamf_device *d,
    struct decide_action *a, const char **reason)
{
	long ring;

	if (!in_any(d, p->scope, p->nscope)) {
		a->outcome = DECIDE_NOT_IN_SCOPE;
		*reason = "in none of the policy's groups";
		return false;
	}
	if (in_any(d, p->exclude, p->nexclude)) {
		a->outcome = DECIDE_EXCLUDED;
		*reason = "in an excluded group";
		return false;
	}
	if ((ring = ring_of(p, d)) < 0) {
		a->outcome = DECIDE_NOT_IN_SCOPE;
		*reason = "in none of the policy's rings";
		return false;
	}
	a->ring = (size_t)ring;
	return true;
}

/*
 * Decide for device d, placed in ring a->ring, into a (outcome, BSI, target), with its reason
 * and deadline (or none) into the buffers. What it says depends on the ring and d's OS
 * strings and model only (kind_of()).
 */
static void
decide_device(const struct decide_input *in, const char *today, const struct jamf_device *d,
    struct decide_action *a, char reason[DECIDE_REASON_BYTES],
    char deadline[DECIDE_DEADLINE_BYTES])
{
	const struct decide_policy *p = in->policy;
	const struct config_policy *pol = p->policy;
	size_t ring = a->ring;
	struct standing st;
	char name[96];
	long delay = 0;

	if (d->model_id != NULL &&
	    ((pol->models.include != NULL && !match_test(pol->models.include, d->model_id)) ||
	    (pol->models.exclude != NULL && match_test(pol->models.exclude, d->model_id)))) {
		a->outcome = DECIDE_MODEL_FILTERED;
		snprintf(reason, DECIDE_REASON_BYTES, "model %s is filtered out by models",
		    d->model_id);
		return;
	}
	if (d->version == NULL || d->build == NULL || d->model_id == NULL) {
		a->outcome = DECIDE_UNKNOWN;
		snprintf(reason, DECIDE_REASON_BYTES, "inventory has no %s",
		    d->version == NULL ? "OS version" : d->build == NULL ? "build" :
		    "softwareUpdateDeviceId");
		return;
	}
	stand(in, d, today, &st);
	if (st.needs != NULL) {
		a->outcome = DECIDE_ENFORCE;
		a->bsi = st.needs;
		a->target_version = st.needs->version;
		a->target_build = st.needs->build;
		bsi_name(st.needs, name, sizeof(name));
		snprintf(reason, DECIDE_REASON_BYTES, "on %s (%s), %s: %s applies", d->version,
		    d->build, d->model_id, name);
	} else if (st.at_or_past != NULL) {
		a->outcome = DECIDE_COMPLIANT;
		a->bsi = st.at_or_past;
		bsi_name(st.at_or_past, name, sizeof(name));
		snprintf(reason, DECIDE_REASON_BYTES, "on %s (%s%s%s): at or past %s", d->version,
		    d->build, d->supplemental_build != NULL ? ", " : "",
		    d->supplemental_build != NULL ? d->supplemental_build : "", name);
		return;
	} else if (st.older != NULL) {
		bool two_step = pol->base_update == CONFIG_BASE_UPDATE_TWO_STEP;

		a->outcome = two_step ? DECIDE_BASE_UPDATE : DECIDE_NEEDS_BASE;
		a->bsi = st.older;
		a->target_version = st.older->version;
		a->target_build = st.older->prerequisite;
		bsi_name(st.older, name, sizeof(name));
		snprintf(reason, DECIDE_REASON_BYTES, "on %s (%s): needs %s (%s) before %s%s",
		    d->version, d->build, st.older->version, st.older->prerequisite, name,
		    two_step ? "" : " (base_update: report)");
		if (!two_step)
			return;
	} else {
		a->outcome = DECIDE_NO_BSI;
		if (st.unsupported != NULL) {
			bsi_name(st.unsupported, name, sizeof(name));
			snprintf(reason, DECIDE_REASON_BYTES, "%s on %s: model not listed by %s",
			    d->model_id, d->build, name);
		} else if (st.expired != NULL) {
			bsi_name(st.expired, name, sizeof(name));
			snprintf(reason, DECIDE_REASON_BYTES, "%s expired on %s", name,
			    st.expired->expires);
		} else {
			snprintf(reason, DECIDE_REASON_BYTES, "no BSI for %s (%s) in the feed",
			    d->version, d->build);
		}
		return;
	}
	/* ENFORCE or BASE_UPDATE: the deadline (the ring's gate comes after, in rollout()) */
	for (size_t i = 0; i <= ring && i < p->nrings; i++)
		delay += p->rings[i].delay_days;
	if (decide_deadline(a->bsi->posted, first_seen_of(in, a->bsi),
	    pol->deadline.days_after_posting + delay, pol->deadline.minute_of_day,
	    pol->deadline.skip_weekends, in->now, deadline) == -1)
		deadline[0] = '\0';
}

/* The tally of one ring and feed entry while deciding. */
struct tally {
	size_t compliant, wanting;
	bool open;
	char waits[DECIDE_REASON_BYTES];
};

static const char *
ring_label(const struct decide_policy *p, size_t i)
{
	return p->nrings > 0 ? p->rings[i].name : "default";
}

static time_t
started_on(const struct decide_policy *p, size_t ring, size_t entry)
{
	if (p->nrings == 0 || p->rings[ring].started == NULL)
		return 0;
	return p->rings[ring].started[entry];
}

/* "YYYY-MM-DD" of t. */
static void
day_of(time_t t, char buf[16])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(buf, 16, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, 16, "?");
}

/* Open ring i for feed entry e, or say in t->waits what it waits for (rules at top). */
static void
gate(const struct decide_input *in, size_t i, size_t e, struct tally *tallies)
{
	const struct decide_policy *p = in->policy;
	const struct gdmf_entry *bsi = &in->feed->entries[e];
	struct tally *t = &tallies[i * in->feed->n + e];
	const struct tally *prev;
	const struct decide_ring *ring;
	const char *pname;
	time_t pstart, opens, now = in->now;
	char day[16];

	t->open = true;
	if (p->nrings == 0 || started_on(p, i, e) != 0)
		return;
	ring = &p->rings[i];
	if (i == 0) {
		/* the first ring: delay_days after the BSI's rollout began */
		time_t a = date_midnight(bsi->posted), b = date_midnight(first_seen_of(in, bsi));

		opens = (a > b ? a : b) + ring->delay_days * DAY_SECONDS;
		if ((a != (time_t)-1 || b != (time_t)-1) && now < opens) {
			day_of(opens, day);
			snprintf(t->waits, sizeof(t->waits), "opens %s, %ld day%s after the BSI was "
			    "posted or first seen", day, ring->delay_days,
			    ring->delay_days == 1 ? "" : "s");
			t->open = false;
		}
		return;
	}
	prev = &tallies[(i - 1) * in->feed->n + e];
	pname = ring_label(p, i - 1);
	pstart = started_on(p, i - 1, e);
	if (!prev->open) {
		snprintf(t->waits, sizeof(t->waits), "ring %s has not opened yet", pname);
	} else if (pstart == 0) {
		if (prev->wanting > 0)
			snprintf(t->waits, sizeof(t->waits), "ring %s has not started yet", pname);
	} else if (now < (opens = pstart + ring->delay_days * DAY_SECONDS)) {
		day_of(opens, day);
		snprintf(t->waits, sizeof(t->waits), "opens %s, %ld day%s after ring %s started",
		    day, ring->delay_days, ring->delay_days == 1 ? "" : "s", pname);
	} else if (ring->min_success_percent >= 0 && prev->wanting > 0 &&
	    prev->compliant * 100 < (size_t)ring->min_success_percent *
	    (prev->compliant + prev->wanting)) {
		snprintf(t->waits, sizeof(t->waits), "ring %s is %zu%% compliant (%zu of %zu), "
		    "needs %ld%%", pname, prev->compliant * 100 / (prev->compliant + prev->wanting),
		    prev->compliant, prev->compliant + prev->wanting, ring->min_success_percent);
	}
	t->open = t->waits[0] == '\0';
}

/* Tally every ring and BSI, open the rings, hold the devices of closed ones; 0 or -1 (OOM). */
static int
rollout(const struct decide_input *in, struct decide_result *out)
{
	const struct decide_policy *p = in->policy;
	size_t nrings = p->nrings > 0 ? p->nrings : 1, ne = in->feed->n, used = 0;
	struct tally *tallies;

	if (ne == 0)
		return 0;
	if ((tallies = calloc(nrings * ne, sizeof(*tallies))) == NULL)
		return -1;
	for (size_t i = 0; i < out->n; i++) {
		const struct decide_action *a = &out->v[i];
		struct tally *t;

		if (a->bsi == NULL || (a->outcome != DECIDE_COMPLIANT && !decide_sends(a->outcome)))
			continue;
		t = &tallies[a->ring * ne + (size_t)(a->bsi - in->feed->entries)];
		if (a->outcome == DECIDE_COMPLIANT)
			t->compliant++;
		else
			t->wanting++;
	}
	for (size_t e = 0; e < ne; e++)
		for (size_t r = 0; r < nrings; r++)
			gate(in, r, e, tallies);
	for (size_t i = 0; i < out->n; i++) {
		struct decide_action *a = &out->v[i];
		const struct tally *t;
		char reason[3 * DECIDE_REASON_BYTES];  /* a reason, then what its ring waits for */
		size_t len;

		if (!decide_sends(a->outcome))
			continue;
		t = &tallies[a->ring * ne + (size_t)(a->bsi - in->feed->entries)];
		if (t->open)
			continue;
		out->counts[a->outcome]--;
		out->counts[DECIDE_RING_WAITING]++;
		a->outcome = DECIDE_RING_WAITING;
		len = strlen(a->reason);  /* < DECIDE_REASON_BYTES */
		memcpy(reason, a->reason, len);
		snprintf(reason + len, sizeof(reason) - len, "; ring %s waits: %s",
		    ring_label(p, a->ring), t->waits);
		if ((a->reason = strtab_intern(&out->strings, reason)) == NULL) {
			free(tallies);
			return -1;
		}
	}
	for (size_t k = 0; k < nrings * ne; k++)
		used += tallies[k].compliant + tallies[k].wanting > 0;
	if (used > 0 && (out->rollouts = calloc(used, sizeof(*out->rollouts))) == NULL) {
		free(tallies);
		return -1;
	}
	for (size_t k = 0; k < nrings * ne; k++) {
		const struct tally *t = &tallies[k];
		struct decide_rollout *o;

		if (t->compliant + t->wanting == 0)
			continue;
		o = &out->rollouts[out->nrollouts++];
		o->ring = k / ne;
		o->bsi = &in->feed->entries[k % ne];
		o->compliant = t->compliant;
		o->wanting = t->wanting;
		o->started = started_on(p, k / ne, k % ne);
		o->open = t->open;
		memcpy(o->waits, t->waits, sizeof(o->waits));
	}
	free(tallies);
	return 0;
}

/*
 * Devices alike are decided once. Past its groups, what decide_device() says of a device
 * depends on its ring and its OS strings and model only. The inventory keeps each distinct
 * string once (its string table), so alike devices share these pointers, and the 100,000
 * Macs of a fleet come in a few hundred kinds. A device whose strings are copies of
 * another's is decided again, as it would be without this.
 */
struct kind {
	const struct jamf_device *d;  /* the first device of the kind; NULL: a free slot */
	struct decide_action a;       /* what was decided for it */
};

struct kinds {
	struct kind *slots;
	size_t cap, n;                /* cap: a power of two, or 0 */
};

static bool
same_kind(const struct jamf_device *x, size_t ring, const struct kind *k)
{
	const struct jamf_device *y = k->d;

	return ring == k->a.ring && x->version == y->version && x->build == y->build &&
	    x->supplemental_build == y->supplemental_build && x->extra == y->extra &&
	    x->model_id == y->model_id;
}

/* The hash of the pointers that make d's kind in ring (their values, not their texts). */
static size_t
kind_hash(const struct jamf_device *d, size_t ring)
{
	const void *const parts[] = {d->version, d->build, d->supplemental_build, d->extra,
		d->model_id};

	return (size_t)hash_bytes(hash_bytes(HASH_START, &ring, sizeof(ring)), parts,
	    sizeof(parts));
}

/* What was decided for a device of d's kind in ring, or NULL. */
static const struct decide_action *
kinds_find(const struct kinds *ks, const struct jamf_device *d, size_t ring)
{
	if (ks->cap == 0)
		return NULL;
	for (size_t at = kind_hash(d, ring) & (ks->cap - 1); ks->slots[at].d != NULL;
	    at = (at + 1) & (ks->cap - 1))
		if (same_kind(d, ring, &ks->slots[at]))
			return &ks->slots[at].a;
	return NULL;
}

/* Keep a, decided for d, for the devices of its kind; when out of memory, nothing is kept. */
static void
kinds_add(struct kinds *ks, const struct jamf_device *d, const struct decide_action *a)
{
	size_t at;

	if (ks->n * 2 >= ks->cap) {  /* at most half full: short probes */
		struct kinds grown = {NULL, ks->cap > 0 ? ks->cap * 2 : 256, 0};

		if ((grown.slots = calloc(grown.cap, sizeof(*grown.slots))) == NULL)
			return;
		for (size_t i = 0; i < ks->cap; i++)
			if (ks->slots[i].d != NULL)
				kinds_add(&grown, ks->slots[i].d, &ks->slots[i].a);
		free(ks->slots);
		*ks = grown;
	}
	for (at = kind_hash(d, a->ring) & (ks->cap - 1); ks->slots[at].d != NULL;
	    at = (at + 1) & (ks->cap - 1))
		;
	ks->slots[at] = (struct kind){d, *a};
	ks->n++;
}

int
decide_policy(const struct decide_input *in, struct decide_result *out)
{
	struct kinds kinds = {0};
	char today[16];
	struct tm tm;

	memset(out, 0, sizeof(*out));
	gmtime_r(&in->now, &tm);
	if (strftime(today, sizeof(today), "%Y-%m-%d", &tm) == 0)
		return -1;
	if (in->ndevices == 0)
		return 0;
	if ((out->v = calloc(in->ndevices, sizeof(*out->v))) == NULL)
		return -1;
	out->n = in->ndevices;
	for (size_t i = 0; i < in->ndevices; i++) {
		const struct jamf_device *d = &in->devices[i];
		struct decide_action *a = &out->v[i];
		const struct decide_action *same;
		const char *why;

		if (!place_device(in->policy, d, a, &why)) {
			a->reason = strtab_intern(&out->strings, why);
			a->deadline = strtab_intern(&out->strings, "");
		} else if ((same = kinds_find(&kinds, d, a->ring)) != NULL) {
			*a = *same;
		} else {
			char reason[DECIDE_REASON_BYTES] = "", deadline[DECIDE_DEADLINE_BYTES] = "";

			decide_device(in, today, d, a, reason, deadline);
			a->reason = strtab_intern(&out->strings, reason);
			a->deadline = strtab_intern(&out->strings, deadline);
			if (a->reason != NULL && a->deadline != NULL)
				kinds_add(&kinds, d, a);
		}
		a->device = i;
		if (a->reason == NULL || a->deadline == NULL) {
			free(kinds.slots);
			decide_result_release(out);
			return -1;
		}
		out->counts[a->outcome]++;
	}
	free(kinds.slots);
	if (rollout(in, out) == -1) {
		decide_result_release(out);
		return -1;
	}
	return 0;
}
