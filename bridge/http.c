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
	CURL *curl;
	char *default_ca;   /* libcurl's built-in CA bundle, for endpoints without ca_file */
	unsigned int seed;  /* for jitter only */
};

/* One attempt's bookkeeping, shared with the callbacks. */
struct http_transfer {
	struct http_response *resp;
	size_t cap;
	size_t alloc;
	bool too_big;
	bool oom;
};

struct http_client *
http_client_new(void)
{
	static bool global_done;
	struct http_client *c;

	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		global_done = true;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->curl = curl_easy_init()) == NULL) {
		free(c);
		return NULL;
	}
	/*
	 * One handle for the whole run keeps connections and cookies (Jamf Cloud's sticky
	 * sessions). It is never reset: curl_easy_reset() loses the cookie engine's file list.
	 * So the cookie engine is switched on once here, and every request sets all its options.
	 */
	{
		char *ca = NULL;

		if (curl_easy_getinfo(c->curl, CURLINFO_CAINFO, &ca) == CURLE_OK && ca != NULL &&
		    (c->default_ca = strdup(ca)) == NULL) {
			http_client_free(c);
			return NULL;
		}
	}
	if (curl_easy_setopt(c->curl, CURLOPT_COOKIEFILE, "") != CURLE_OK) {
		http_client_free(c);
		return NULL;
	}
	c->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	return c;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
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
		size_t want = t->alloc ? t->alloc : 16384;
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

/* libcurl header callback: trace response headers (redacted) and note Content-Type. */
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
setup_attempt(struct http_client *c, const struct http_endpoint *ep,
    const struct http_request *req, struct http_transfer *t, struct curl_slist **headers,
    char *errbuf)
{
	CURL *curl = c->curl;
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

int
http_do(struct http_client *c, const struct http_endpoint *ep, const struct http_request *req,
    struct http_response *resp)
{
	const char *where = req->log_url != NULL ? req->log_url : req->url;
	long deadline = now_ms() + ep->retry_max_time * 1000;
	char errbuf[CURL_ERROR_SIZE];
	char reason[HTTP_MAX_ERROR_BYTES];

	memset(resp, 0, sizeof(*resp));
	resp->retry_after = -1;
	if (url_check(req->url, URL_ALLOW_QUERY, reason, sizeof(reason)) == -1) {
		set_error(resp, "%s: %s", where, reason);
		return -1;
	}
	for (int attempt = 0; ; attempt++) {
		struct http_transfer t = {resp, ep->max_body_bytes, 0, false, false};
		struct curl_slist *headers = NULL;
		curl_off_t retry_after = -1;
		long started = now_ms(), wait;
		bool retryable;
		CURLcode rc;

		free(resp->body);
		memset(resp, 0, sizeof(*resp));
		resp->retry_after = -1;
		resp->attempts = attempt + 1;
		errbuf[0] = '\0';
		if (setup_attempt(c, ep, req, &t, &headers, errbuf) == -1) {
			curl_slist_free_all(headers);
			set_error(resp, "%s: out of memory", where);
			return -1;
		}
		if (log_enabled(LOG_LEVEL_TRACE)) {
			log_trace("> %s %s (%zu bytes)", req->method, where, req->body_len);
			for (size_t i = 0; i < req->nheaders; i++)
				trace_header('>', req->headers[i], strlen(req->headers[i]));
		}
		rc = curl_easy_perform(c->curl);
		curl_slist_free_all(headers);
		if (rc == CURLE_OK) {
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
			curl_easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &retry_after);
			resp->retry_after = retry_after > 0 ? (long)retry_after : -1;
			log_trace("< %ld from %s (%zu bytes, %ld ms)", resp->status, where,
			    resp->body_len, now_ms() - started);
			retryable = resp->status >= 500 || resp->status == 429;
			if (!retryable)
				return 0;
			snprintf(reason, sizeof(reason), "%s: the server answered %ld", where,
			    resp->status);
		} else {
			describe_failure(ep, rc, errbuf, &t, where, reason, sizeof(reason));
			retryable = !t.too_big && !t.oom && transport_retryable(rc);
			if (!retryable) {
				set_error(resp, "%s", reason);
				return -1;
			}
		}

		if (attempt >= ep->retries) {
			if (resp->status != 0)
				return 0;  /* the caller reports the final 5xx or 429 */
			set_error(resp, "%s (after %d attempts)", reason,
			    attempt + 1);
			return -1;
		}
		if (resp->retry_after >= 0)
			wait = (resp->retry_after > HTTP_RETRY_AFTER_MAX_S ? HTTP_RETRY_AFTER_MAX_S :
			    resp->retry_after) * 1000;
		else
			wait = backoff_ms(c, attempt + 1);
		if (now_ms() + wait > deadline) {
			if (resp->status != 0)
				return 0;
			set_error(resp, "%s (giving up: retrying would "
			    "pass http.retry_max_time)", reason);
			return -1;
		}
		log_warn("%s; retrying in %.1f s (attempt %d of %ld)", reason, (double)wait / 1000,
		    attempt + 2, ep->retries + 1);
		sleep_ms(wait);
	}
}
