/*
 * HTTP over libcurl: the only file that includes curl.h. Following curl's own security advice:
 * peer and host verification always on, https only (plain http only to loopback hosts), no
 * redirects, every response body capped while it is read, timeouts on connect and transfer,
 * and traces that never show credentials. Retries cover what is worth retrying: connection
 * failures, 5xx and 429, with exponential backoff and jitter, honouring Retry-After, bounded
 * in count and in total time.
 */
#include "http.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "url.h"

#ifndef BRIDGE_VERSION
#define BRIDGE_VERSION "0.0.0"
#endif

#define HTTP_USER_AGENT "bridge/" BRIDGE_VERSION
#define HTTP_BACKOFF_FIRST_MS 1000L
#define HTTP_BACKOFF_MAX_MS 60000L
#define HTTP_RETRY_AFTER_MAX_S 300L
#define HTTP_LOW_SPEED_TIME_S 30L

struct http_client {
	CURLM *multi;       /* drives every transfer; owns the connection cache */
	CURLSH *share;      /* cookies, DNS and TLS sessions shared by all handles */
	CURL *idle[HTTP_MAX_PARALLEL];  /* easy handles ready for reuse */
	size_t nidle;
	char *default_ca;   /* libcurl's built-in CA bundle, for endpoints without ca_file */
	unsigned int seed;  /* for jitter only */
	http_meanwhile_fn meanwhile;  /* to run once the next requests are out */
	void *meanwhile_ctx;
};

/* One attempt's bookkeeping, shared with the callbacks. */
struct http_transfer {
	struct http_response *resp;
	size_t cap;
	size_t alloc;
	size_t expect;              /* Content-Length, when the server gave one: the first size */
	bool too_big;
	bool oom;
};

/* One request of a batch, through all its attempts. */
struct http_job {
	const struct http_request *req;
	struct http_response *resp;
	const char *where;          /* the URL as it may be logged */
	struct http_transfer t;
	struct curl_slist *headers;
	CURL *curl;                 /* while an attempt runs */
	char errbuf[CURL_ERROR_SIZE];
	int attempt;                /* 0-based number of the current or next attempt */
	long deadline;              /* ms: retries may not pass this (from the first attempt) */
	long not_before;            /* ms: when the next attempt may start */
	long started;               /* ms: when the current attempt started */
	bool done;
};

struct http_client *
http_client_new(void)
{
	static bool global_done;
	struct http_client *c;
	CURL *probe;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		global_done = true;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->multi = curl_multi_init()) == NULL || (c->share = curl_share_init()) == NULL)
		goto fail;
	/*
	 * One cookie jar for the run (Jamf Cloud's sticky sessions), and DNS answers and TLS
	 * sessions shared by every handle. Transfers run in this thread only: no locks needed.
	 */
	if (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
	    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
		goto fail;
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)HTTP_MAX_PARALLEL);
	if ((probe = curl_easy_init()) == NULL)
		goto fail;
	{
		char *ca = NULL;

		if (curl_easy_getinfo(probe, CURLINFO_CAINFO, &ca) == CURLE_OK && ca != NULL &&
		    (c->default_ca = strdup(ca)) == NULL) {
			curl_easy_cleanup(probe);
			goto fail;
		}
	}
	curl_easy_cleanup(probe);
	c->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	return c;
fail:
	http_client_free(c);
	return NULL;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	if (c->share != NULL)
		curl_share_cleanup(c->share);
	free(c->default_ca);
	free(c);
}

void
http_response_release(struct http_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
}

void
http_endpoint_init(struct http_endpoint *ep, const struct config_http *cfg, const char *ca_file,
    size_t max_body_bytes)
{
	ep->ca_file = ca_file;
	ep->connect_timeout = cfg->connect_timeout;
	ep->timeout = cfg->timeout;
	ep->retries = cfg->retries;
	ep->retry_max_time = cfg->retry_max_time;
	ep->max_body_bytes = max_body_bytes;
}

const char *
http_library_version(void)
{
	static char version[128];
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	snprintf(version, sizeof(version), "%s (%s)", v->version,
	    v->ssl_version != NULL ? v->ssl_version : "no TLS");
	return version;
}

/* Whether a header line carries a credential and must not be logged as is. */
static bool
header_is_secret(const char *line)
{
	static const char *const names[] = {"authorization:", "proxy-authorization:", "cookie:",
		"set-cookie:", "x-api-key:"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncasecmp(line, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

/* Log one header line at trace level, value redacted when it is a credential. */
static void
trace_header(char dir, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0 || !log_enabled(LOG_LEVEL_TRACE))
		return;
	if (header_is_secret(line)) {
		const char *colon = memchr(line, ':', len);

		log_trace("%c %.*s: [redacted]", dir, (int)(colon - line), line);
	} else {
		log_trace("%c %.*s", dir, (int)len, line);
	}
}

/* libcurl write callback: keep the body, refusing to pass the cap. */
static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_transfer *t = userdata;
	struct http_response *r = t->resp;
	size_t n = size * nmemb;

	if (r->body_len + n > t->cap) {
		t->too_big = true;
		return 0;
	}
	if (r->body_len + n + 1 > t->alloc) {
		size_t want = t->alloc ? t->alloc : t->expect > 16384 ? t->expect + 1 : 16384;
		char *body;

		while (want < r->body_len + n + 1)
			want *= 2;
		if (want > t->cap + 1)
			want = t->cap + 1;
		if ((body = realloc(r->body, want)) == NULL) {
			t->oom = true;
			return 0;
		}
		r->body = body;
		t->alloc = want;
	}
	memcpy(r->body + r->body_len, ptr, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

/* libcurl header callback: trace response headers (redacted), note Content-Type and Length. */
static size_t
on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct http_transfer *t = userdata;
	size_t n = size * nitems;

	trace_header('<', buf, n);
	if (n > 13 && strncasecmp(buf, "content-type:", 13) == 0) {
		const char *v = buf + 13;
		size_t len = n - 13;

		while (len > 0 && (*v == ' ' || *v == '\t'))
			v++, len--;
		while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n'))
			len--;
		snprintf(t->resp->content_type, sizeof(t->resp->content_type), "%.*s", (int)len, v);
	} else if (n > 15 && strncasecmp(buf, "content-length:", 15) == 0) {
		/* a hint for the body's first allocation, so a large page is not copied while it
		 * grows; the cap still applies to what arrives (a compressed body may be longer) */
		unsigned long long len = strtoull(buf + 15, NULL, 10);

		t->expect = len < t->cap ? (size_t)len : 0;
	}
	return n;
}

/* Write the reason a request failed into resp->error (cut if it is very long). */
static void
set_error(struct http_response *resp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct http_response *resp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(resp->error, sizeof(resp->error), fmt, ap);
	va_end(ap);
}

/* Set every option for one attempt; 0 or -1 (out of memory). */
static int
setup_attempt(struct http_client *c, CURL *curl, const struct http_endpoint *ep,
    const struct http_request *req, struct http_transfer *t, struct curl_slist **headers,
    char *errbuf)
{
	bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;

	*headers = NULL;
	for (size_t i = 0; i < req->nheaders; i++) {
		struct curl_slist *h = curl_slist_append(*headers, req->headers[i]);

		if (h == NULL)
			return -1;
		*headers = h;
	}
	if (curl_easy_setopt(curl, CURLOPT_URL, req->url) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http") != CURLE_OK)
		return -1;
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_CAINFO, ep->ca_file != NULL ? ep->ca_file : c->default_ca);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, ep->connect_timeout);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, ep->timeout);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, HTTP_LOW_SPEED_TIME_S);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ep->max_body_bytes);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	/* the method: options left from the previous request are overwritten here */
	if (get || (!post && req->body == NULL)) {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
	}
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, get || post ? NULL : req->method);
	return 0;
}

/* Milliseconds since some fixed point, from the monotonic clock. */
static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep ms milliseconds. */
static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1)
		;
}

/* Backoff before retry number attempt (1-based): 1 s, 2 s, 4 s ... each 50-150%, capped. */
static long
backoff_ms(struct http_client *c, int attempt)
{
	long base = HTTP_BACKOFF_FIRST_MS;

	for (int i = 1; i < attempt && base < HTTP_BACKOFF_MAX_MS; i++)
		base *= 2;
	if (base > HTTP_BACKOFF_MAX_MS)
		base = HTTP_BACKOFF_MAX_MS;
	return base / 2 + (long)(rand_r(&c->seed) % (unsigned)(base + 1));
}

/* Whether a libcurl failure is worth another attempt (TLS trust and caps are not). */
static bool
transport_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/*
 * Whether req may be sent twice. A POST creates something in Jamf, so once it may have reached
 * the server it is not sent again (the caller learns that its outcome is unknown and looks
 * before acting again), unless the caller says it is harmless. Every PATCH bridge sends sets
 * values (a merge patch, group memberships), so sending it twice does no harm.
 */
static bool
repeatable(const struct http_request *req)
{
	return req->repeatable || strcmp(req->method, "POST") != 0;
}

/* Whether a failure happened before the request left (so even a POST may be sent again). */
static bool
never_sent(CURLcode rc)
{
	return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT;
}

/* Describe a libcurl failure in one sentence for the user. */
static void
describe_failure(const struct http_endpoint *ep, CURLcode rc, const char *errbuf,
    const struct http_transfer *t, const char *where, char *out, size_t size)
{
	const char *detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);

	if (t->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(out, size, "%s: the response is larger than %zu bytes; refused", where,
		    ep->max_body_bytes);
	else if (t->oom)
		snprintf(out, size, "%s: out of memory reading the response", where);
	else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	    rc == CURLE_SSL_CONNECT_ERROR)
		snprintf(out, size, "%s: the server's TLS certificate is not trusted (CA file %s): %s",
		    where, ep->ca_file != NULL ? ep->ca_file : "the system's bundle", detail);
	else if (rc == CURLE_PARTIAL_FILE)
		snprintf(out, size, "%s: the response was cut short (truncated body): %s", where,
		    detail);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(out, size, "%s: timed out: %s", where, detail);
	else
		snprintf(out, size, "%s: %s", where, detail);
}

/* A handle for one attempt: an idle one, or a new one joined to the shared jar; NULL: OOM. */
static CURL *
handle_get(struct http_client *c)
{
	CURL *curl;

	if (c->nidle > 0)
		return c->idle[--c->nidle];
	if ((curl = curl_easy_init()) == NULL)
		return NULL;
	/* Set once per handle and never reset: curl_easy_reset() loses the cookie file list. */
	if (curl_easy_setopt(curl, CURLOPT_SHARE, c->share) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_COOKIEFILE, "") != CURLE_OK) {
		curl_easy_cleanup(curl);
		return NULL;
	}
	return curl;
}

static void
handle_put(struct http_client *c, CURL *curl)
{
	if (c->nidle < HTTP_MAX_PARALLEL)
		c->idle[c->nidle++] = curl;
	else
		curl_easy_cleanup(curl);
}

/* Start the next attempt of job; 0, or -1 when it could not (job is then done, with error). */
static int
job_start(struct http_client *c, const struct http_endpoint *ep, struct http_job *job)
{
	struct http_response *resp = job->resp;

	free(resp->body);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	resp->attempts = job->attempt + 1;
	/* a request's retry budget starts with its first attempt, not with its batch */
	if (job->attempt == 0)
		job->deadline = now_ms() + ep->retry_max_time * 1000;
	job->t = (struct http_transfer){resp, ep->max_body_bytes, 0, 0, false, false};
	job->errbuf[0] = '\0';
	job->headers = NULL;
	if ((job->curl = handle_get(c)) == NULL ||
	    setup_attempt(c, job->curl, ep, job->req, &job->t, &job->headers, job->errbuf) == -1 ||
	    curl_easy_setopt(job->curl, CURLOPT_PRIVATE, job) != CURLE_OK ||
	    curl_multi_add_handle(c->multi, job->curl) != CURLM_OK) {
		curl_slist_free_all(job->headers);
		job->headers = NULL;
		if (job->curl != NULL)
			handle_put(c, job->curl);
		job->curl = NULL;
		set_error(resp, "%s: out of memory", job->where);
		job->done = true;
		return -1;
	}
	job->started = now_ms();
	if (log_enabled(LOG_LEVEL_TRACE)) {
		log_trace("> %s %s (%zu bytes)", job->req->method, job->where, job->req->body_len);
		for (size_t i = 0; i < job->req->nheaders; i++)
			trace_header('>', job->req->headers[i], strlen(job->req->headers[i]));
	}
	return 0;
}

/*
 * An attempt of job ended with rc: decide whether the job is done (a final response, or a
 * failure not worth retrying) or when its next attempt may start.
 */
static void
job_finish_attempt(struct http_client *c, const struct http_endpoint *ep, struct http_job *job,
    CURLcode rc)
{
	struct http_response *resp = job->resp;
	char reason[HTTP_MAX_ERROR_BYTES];
	curl_off_t retry_after = -1;
	long wait;

	curl_multi_remove_handle(c->multi, job->curl);
	curl_slist_free_all(job->headers);
	job->headers = NULL;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(job->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		curl_easy_getinfo(job->curl, CURLINFO_RETRY_AFTER, &retry_after);
		resp->retry_after = retry_after > 0 ? (long)retry_after : -1;
	}
	handle_put(c, job->curl);
	job->curl = NULL;
	if (rc == CURLE_OK) {
		log_trace("< %ld from %s (%zu bytes, %ld ms)", resp->status, job->where,
		    resp->body_len, now_ms() - job->started);
		if ((resp->status < 500 && resp->status != 429) ||
		    (!repeatable(job->req) && resp->status != 429 && resp->status != 503)) {
			job->done = true;
			return;
		}
		snprintf(reason, sizeof(reason), "%s: the server answered %ld", job->where,
		    resp->status);
	} else {
		describe_failure(ep, rc, job->errbuf, &job->t, job->where, reason, sizeof(reason));
		if (job->t.too_big || job->t.oom || !transport_retryable(rc) ||
		    (!repeatable(job->req) && !never_sent(rc))) {
			set_error(resp, "%s", reason);
			job->done = true;
			return;
		}
	}
	if (job->attempt >= ep->retries) {
		/* a final 5xx or 429 is the caller's to report; no response at all is ours */
		if (resp->status == 0)
			set_error(resp, "%s (after %d attempts)", reason, job->attempt + 1);
		job->done = true;
		return;
	}
	if (resp->retry_after >= 0)
		wait = (resp->retry_after > HTTP_RETRY_AFTER_MAX_S ? HTTP_RETRY_AFTER_MAX_S :
		    resp->retry_after) * 1000;
	else
		wait = backoff_ms(c, job->attempt + 1);
	if (now_ms() + wait > job->deadline) {
		if (resp->status == 0)
			set_error(resp, "%s (giving up: retrying would pass http.retry_max_time)",
			    reason);
		job->done = true;
		return;
	}
	log_warn("%s; retrying in %.1f s (attempt %d of %ld)", reason, (double)wait / 1000,
	    job->attempt + 2, ep->retries + 1);
	job->attempt++;
	job->not_before = now_ms() + wait;
}

/* When the earliest job waiting for its retry may start (ms), or -1 when none is waiting. */
static long
next_wake(const struct http_job *jobs, size_t n)
{
	long wake = -1;

	/* a job not started yet waits for a free slot, not for a time */
	for (size_t i = 0; i < n; i++)
		if (!jobs[i].done && jobs[i].curl == NULL && jobs[i].attempt > 0 &&
		    (wake == -1 || jobs[i].not_before < wake))
			wake = jobs[i].not_before;
	return wake;
}

/*
 * Job i is done: count its failure, then hand its response to done (when there is one).
 * false when done asked to stop.
 */
static bool
job_report(struct http_job *jobs, size_t i, http_done_fn done, void *ctx, int *rc)
{
	if (jobs[i].resp->status == 0) {
		if (jobs[i].resp->error[0] == '\0')
			set_error(jobs[i].resp, "%s: the transfer engine failed", jobs[i].where);
		*rc = -1;
	}
	return done == NULL || done(ctx, i, jobs[i].resp);
}

/* One http_do_each() under way. */
struct each_loop {
	struct http_client *c;
	const struct http_endpoint *ep;
	struct http_job *jobs;
	size_t n;
	size_t parallel;
	size_t left;       /* jobs not reported yet */
	size_t active;     /* transfers running */
	size_t oldest;     /* the first job not done */
	http_done_fn done;
	void *ctx;
	bool stop;         /* done asked to stop */
	int rc;
};

/* Job i is done: one fewer to go; hand it over (job_report), stopping the batch if asked. */
static void
each_report(struct each_loop *l, size_t i)
{
	l->left--;
	if (!job_report(l->jobs, i, l->done, l->ctx, &l->rc)) {
		l->stop = true;
		l->rc = -1;
	}
}

/* Whether every running transfer of l has sent its whole request body. */
static bool
all_sent(const struct each_loop *l)
{
	for (size_t i = l->oldest; i < l->n; i++) {
		const struct http_job *job = &l->jobs[i];
		curl_off_t sent = 0;

		if (job->curl != NULL && job->req->body_len > 0 &&
		    (curl_easy_getinfo(job->curl, CURLINFO_SIZE_UPLOAD_T, &sent) != CURLE_OK ||
		    sent < (curl_off_t)job->req->body_len))
			return false;
	}
	return true;
}

/*
 * Start what may start, in order, up to the parallel limit, and never more than 2 x parallel
 * past the oldest unfinished request: a caller handling answers in order then holds a few
 * while one is retried, not the whole batch. A request that cannot start is reported here.
 * How many transfers started.
 */
static size_t
start_ready(struct each_loop *l)
{
	long now = now_ms();
	char reason[HTTP_MAX_ERROR_BYTES];
	size_t started = 0;

	while (l->oldest < l->n && l->jobs[l->oldest].done)
		l->oldest++;
	for (size_t i = l->oldest; i < l->n && i < l->oldest + 2 * l->parallel &&
	    l->active < l->parallel && !l->stop; i++) {
		struct http_job *job = &l->jobs[i];

		if (job->done || job->curl != NULL || job->not_before > now)
			continue;
		if (job->attempt == 0 &&
		    url_check(job->req->url, URL_ALLOW_QUERY, reason, sizeof(reason)) == -1) {
			set_error(job->resp, "%s: %s", job->where, reason);
			job->done = true;
		} else if (job_start(l->c, l->ep, job) == 0) {
			l->active++;
			started++;
			continue;
		}
		each_report(l, i);
	}
	return started;
}

/* Whether every request of a batch only reads (GET or HEAD). */
static bool
reads_only(const struct http_request *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(reqs[i].method, "GET") != 0 && strcmp(reqs[i].method, "HEAD") != 0)
			return false;
	return true;
}

/* Whether jobs idx[0..n) were all answered 2xx. */
static bool
all_2xx(const struct http_job *jobs, const size_t *idx, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (jobs[idx[k]].resp->status / 100 != 2)
			return false;
	return true;
}

int
http_do_each(struct http_client *c, const struct http_endpoint *ep,
    const struct http_request *reqs, struct http_response *resps, size_t n, size_t parallel,
    http_done_fn done, void *ctx)
{
	struct each_loop l = {.c = c, .ep = ep, .n = n, .left = n, .done = done, .ctx = ctx};
	bool reads = reads_only(reqs, n);

	l.parallel = parallel < 1 ? 1 : parallel > HTTP_MAX_PARALLEL ? HTTP_MAX_PARALLEL :
	    parallel;
	if ((l.jobs = calloc(n > 0 ? n : 1, sizeof(*l.jobs))) == NULL) {
		for (size_t i = 0; i < n && !l.stop; i++) {
			memset(&resps[i], 0, sizeof(resps[i]));
			resps[i].retry_after = -1;
			set_error(&resps[i], "out of memory");
			l.stop = done != NULL && !done(ctx, i, &resps[i]);
		}
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		l.jobs[i].req = &reqs[i];
		l.jobs[i].resp = &resps[i];
		l.jobs[i].where = reqs[i].log_url != NULL ? reqs[i].log_url : reqs[i].url;
		memset(l.jobs[i].resp, 0, sizeof(*l.jobs[i].resp));
		l.jobs[i].resp->retry_after = -1;
	}
	while (l.left > 0) {
		size_t finished[HTTP_MAX_PARALLEL], nfinished = 0;
		long now = now_ms(), wake = -1;
		int running, pending;
		CURLMsg *msg;

		(void)start_ready(&l);
		if (l.stop) {
			l.rc = -1;
			/* what has not started is not sent; what runs ends and is reported */
			for (size_t i = l.oldest; i < n; i++)
				if (!l.jobs[i].done && l.jobs[i].curl == NULL) {
					set_error(l.jobs[i].resp, "%s: not sent%s: the batch was stopped",
					    l.jobs[i].where, l.jobs[i].attempt > 0 ? " again" : "");
					l.jobs[i].done = true;
					l.left--;
				}
			if (l.left == 0)
				break;
		}
		if (l.active == 0) {
			if ((wake = next_wake(l.jobs, n)) > now)
				sleep_ms(wake - now);
			continue;
		}
		if (curl_multi_perform(c->multi, &running) != CURLM_OK)
			break;
		if (c->meanwhile != NULL && all_sent(&l))
			http_client_meanwhile_run(c);  /* the requests travel meanwhile */
		while ((msg = curl_multi_info_read(c->multi, &pending)) != NULL) {
			struct http_job *job;
			char *priv = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			job = (struct http_job *)(void *)priv;
			l.active--;
			job_finish_attempt(c, ep, job, msg->data.result);
			if (!job->done)
				continue;
			if (nfinished < HTTP_MAX_PARALLEL)
				finished[nfinished++] = (size_t)(job - l.jobs);
			else
				each_report(&l, (size_t)(job - l.jobs));  /* never: parallel at most */
		}
		/*
		 * Reads answered 2xx: the next requests go out before the caller works on these
		 * answers, so that they travel meanwhile. Otherwise the caller sees them first: a
		 * failure or a write's answer may stop the batch before anything more starts.
		 */
		if (reads && nfinished > 0 && all_2xx(l.jobs, finished, nfinished) &&
		    start_ready(&l) > 0)
			(void)curl_multi_perform(c->multi, &running);
		for (size_t k = 0; k < nfinished; k++)
			each_report(&l, finished[k]);
		if (l.left > 0 && l.active > 0) {
			long timeout = 1000;

			/* wake up for a retry that is due before the running transfers end */
			if ((wake = next_wake(l.jobs, n)) != -1 && wake - now_ms() < timeout)
				timeout = wake - now_ms() > 0 ? wake - now_ms() : 0;
			curl_multi_poll(c->multi, NULL, 0, (int)timeout, NULL);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (l.jobs[i].done)
			continue;
		/* only after a multi failure */
		if (l.jobs[i].curl != NULL) {
			curl_multi_remove_handle(c->multi, l.jobs[i].curl);
			curl_slist_free_all(l.jobs[i].headers);
			handle_put(c, l.jobs[i].curl);
			l.jobs[i].curl = NULL;
		}
		set_error(l.jobs[i].resp, "%s: the transfer engine failed", l.jobs[i].where);
		l.jobs[i].done = true;
		if (!l.stop && !job_report(l.jobs, i, done, ctx, &l.rc))
			l.stop = true;
		l.rc = -1;
	}
	free(l.jobs);
	return l.rc;
}

void
http_client_meanwhile(struct http_client *c, http_meanwhile_fn fn, void *ctx)
{
	c->meanwhile = fn;
	c->meanwhile_ctx = ctx;
}

void
http_client_meanwhile_run(struct http_client *c)
{
	http_meanwhile_fn fn = c->meanwhile;

	c->meanwhile = NULL;  /* first: once only */
	if (fn != NULL)
		fn(c->meanwhile_ctx);
}

int
http_do_many(struct http_client *c, const struct http_endpoint *ep,
    const struct http_request *reqs, struct http_response *resps, size_t n, size_t parallel)
{
	return http_do_each(c, ep, reqs, resps, n, parallel, NULL, NULL);
}

int
http_do(struct http_client *c, const struct http_endpoint *ep, const struct http_request *req,
    struct http_response *resp)
{
	return http_do_many(c, ep, req, resp, 1, 1);
}
