/* HTTPS requests for everything bridge talks to: TLS, timeouts, caps, retries, redaction. */
#ifndef BRIDGE_HTTP_H
#define BRIDGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADERS 16
#define HTTP_MAX_ERROR_BYTES 512
#define HTTP_MAX_PARALLEL 16  /* transfers at once, whatever a caller asks for */

/* How to talk to one server. */
struct http_endpoint {
	const char *ca_file;   /* PEM bundle to trust; NULL: the system's */
	long connect_timeout;  /* seconds */
	long timeout;          /* seconds, per attempt */
	long retries;          /* attempts after the first, on connection errors, 5xx and 429 */
	long retry_max_time;   /* seconds, all attempts of one request together */
	size_t max_body_bytes; /* responses larger than this are refused while reading */
};

struct http_request {
	const char *method;    /* "GET", "POST", ... */
	const char *url;
	const char *log_url;   /* shown in logs instead of url (e.g. for webhooks); NULL: url */
	const char *headers[HTTP_MAX_HEADERS];  /* "Name: value"; Authorization is never logged */
	size_t nheaders;
	const char *body;      /* NULL: none */
	size_t body_len;
	/*
	 * A POST that may be sent twice (a token, an alert), retried like a GET. Other POSTs
	 * are retried only when they never left (no connection), or on 429 and 503 (refused
	 * before any work): a lost answer to a request that created something is not repeated.
	 */
	bool repeatable;
};

struct http_response {
	long status;           /* 0 when no response arrived */
	char *body;            /* NUL-terminated; NULL when empty */
	size_t body_len;
	char content_type[128];
	long retry_after;      /* seconds the server asked to wait, or -1 */
	int attempts;
	char error[HTTP_MAX_ERROR_BYTES];  /* why the request failed, when it did */
};

struct http_client;

/* A client that keeps connections and one cookie jar for the run; NULL when out of memory. */
struct http_client *http_client_new(void);

/* Free c and close its connections; NULL is a no-op. */
void http_client_free(struct http_client *c);

/*
 * Send req to the server ep describes, retrying as ep allows (connection errors, 5xx, 429;
 * for a POST see http_request.repeatable;
 * Retry-After honoured; exponential backoff with jitter otherwise). Returns 0 when a final
 * response arrived (any status: the caller judges it), or -1 with resp->error saying why not
 * (no connection, TLS refused, timeout, body over the cap, retries used up). Release resp
 * with http_response_release() in both cases.
 */
int http_do(struct http_client *c, const struct http_endpoint *ep, const struct http_request *req,
    struct http_response *resp);

/*
 * Send n requests to one server, at most parallel at a time over the shared connections,
 * each with http_do()'s retry rules (a request waiting for its retry frees its slot). Returns
 * 0 when every request got a final response, else -1; either way each resps[i] tells (status
 * 0 and error set: that request failed) and each must be released.
 */
int http_do_many(struct http_client *c, const struct http_endpoint *ep,
    const struct http_request *reqs, struct http_response *resps, size_t n, size_t parallel);

/*
 * Called by http_do_each() as soon as request i has its final response, or has failed for
 * good (status 0, error set), in the order requests finish. The callee may keep or release
 * resp. Returns false to stop the batch: nothing more is started, requests not yet sent fail
 * with "not sent", and those running end and are reported as usual. In a batch of reads
 * only (GET, HEAD), a 2xx answer frees its slot for the next request before it is handed
 * over, so that the next one travels while the caller works: when the caller stops the
 * batch on such an answer (one it could not read), that request is already on its way.
 */
typedef bool (*http_done_fn)(void *ctx, size_t i, struct http_response *resp);

/*
 * http_do_many(), handing each response to done as it arrives, so that a caller can work on
 * one answer while the next ones download. Requests start in order, and never more than
 * 2 x parallel past the oldest unfinished one. Returns 0 when every request got a final
 * response and done never stopped the batch, else -1.
 */
int http_do_each(struct http_client *c, const struct http_endpoint *ep,
    const struct http_request *reqs, struct http_response *resps, size_t n, size_t parallel,
    http_done_fn done, void *ctx);

void http_response_release(struct http_response *resp);

/*
 * Work for the caller to do while requests travel. fn(ctx) runs once, inside the next
 * http_do_each() on c (or http_do(), http_do_many()), as soon as the requests running have
 * been sent whole, instead of after their answers; it must not use c.
 * http_client_meanwhile_run() runs it at once if it has not run yet (no request went out),
 * so that it always runs once.
 */
typedef void (*http_meanwhile_fn)(void *ctx);
void http_client_meanwhile(struct http_client *c, http_meanwhile_fn fn, void *ctx);
void http_client_meanwhile_run(struct http_client *c);

/* Fill ep from the policy file's http section and a ca_file, with a body cap. */
struct config_http;
void http_endpoint_init(struct http_endpoint *ep, const struct config_http *cfg,
    const char *ca_file, size_t max_body_bytes);

/* libcurl's version and TLS library, e.g. "8.5.0 (OpenSSL/3.0.11)". */
const char *http_library_version(void);

#endif
