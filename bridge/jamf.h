/*
 * What the Jamf Pro API and the Jamf Platform API have in common: a session with a base URL,
 * bearer tokens (OAuth client credentials, OIDC discovery, or Jamf Pro's legacy Basic flow)
 * renewed ahead of expiry and once more after a 401, one cookie jar, requests that may run
 * concurrently, and Jamf's error bodies turned into one clear sentence.
 */
#ifndef BRIDGE_JAMF_H
#define BRIDGE_JAMF_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "json.h"

struct config;
struct config_tenant;

#define JAMF_MAX_URL 2048
#define JAMF_MAX_BODY_BYTES (64 * 1024 * 1024)  /* 2000 devices with three sections fit */
#define JAMF_ERROR_BYTES 768
#define JAMF_MAX_CALLS 4096  /* calls in one jamf_request_each() or _many() */

enum jamf_api {
	JAMF_API_PRO,
	JAMF_API_PLATFORM,
};

/* What went wrong with a call, so that callers can choose an exit status or a fix. */
enum jamf_fail {
	JAMF_OK = 0,
	JAMF_FAIL_TRANSPORT,  /* no answer: connection, TLS trust, timeout, body cap */
	JAMF_FAIL_TLS,        /* the server's certificate is not trusted */
	JAMF_FAIL_AUTH,       /* no token, or 401 even with a fresh one */
	JAMF_FAIL_FORBIDDEN,  /* 403: a privilege is missing */
	JAMF_FAIL_NOT_FOUND,  /* 404 */
	JAMF_FAIL_CONFLICT,   /* 409 */
	JAMF_FAIL_REJECTED,   /* another 4xx: the request was refused */
	JAMF_FAIL_SERVER,     /* 5xx (after retries) */
	JAMF_FAIL_BAD_REPLY,  /* 2xx whose body is not what the API promises */
};

struct jamf_session {
	enum jamf_api api;
	const char *name;              /* "Jamf Pro" or "Jamf Platform", for messages */
	struct http_client *http;      /* shared with everything else: one cookie jar */
	struct http_endpoint ep;
	char base[JAMF_MAX_URL];       /* base URL without a trailing slash */
	char token_url[JAMF_MAX_URL];  /* resolved on first use */
	const char *issuer;            /* OIDC issuer, or NULL */
	bool discovered;               /* token_url came from the issuer's discovery document */
	bool basic;                    /* Jamf Pro legacy user/password flow */
	const char *client_id;         /* or user name */
	const char *client_secret;     /* or password */
	char env_header[128];          /* "X-Environment-Id: ..." for the Platform API, else "" */
	long max_connections;
	char *token;                   /* current bearer token; wiped when dropped */
	long token_renew_at;           /* monotonic seconds: get a new token from then on */
	int tokens_issued;             /* how many tokens this run asked for */
};

/* One call's answer. json is set for a 2xx answer with a JSON body. */
struct jamf_reply {
	long status;
	cJSON *json;
	char *body;                    /* raw body, NUL-terminated, or NULL */
	size_t body_len;
	char content_type[128];        /* of the body, as the server named it; "" for none */
	enum jamf_fail fail;
	char error[JAMF_ERROR_BYTES];  /* one sentence when fail != JAMF_OK */
};

/* One request of a concurrent batch (jamf_call_many). */
struct jamf_call {
	const char *method;
	const char *path;              /* appended to the base URL; may carry a query */
	const char *content_type;      /* NULL: application/json when there is a body */
	const char *body;
	size_t body_len;
	bool unparsed;                 /* a 2xx body stays text (r->body), for json_scan.h */
};

/* Set up a session for the tenant's Jamf Pro (JAMF_API_PRO) or Platform API. No I/O. */
int jamf_session_init(struct jamf_session *s, enum jamf_api api, const struct config *cfg,
    const struct config_tenant *tenant, struct http_client *http, char *err, size_t errlen);

/* Give the token back (the legacy flow invalidates it on the server) and wipe it. */
void jamf_session_close(struct jamf_session *s);

/* Get a token now unless a valid one is held; 0, or -1 with the reason in r. */
int jamf_authenticate(struct jamf_session *s, struct jamf_reply *r);

/*
 * Every function taking a struct jamf_reply *r expects it empty (zeroed or released) and
 * leaves it for the caller to release, on success and on failure alike.
 *
 * One call. Returns 0 for a 2xx answer (r->json parsed when the body is JSON), or -1 with
 * r->fail and r->error set. A 401 gets one fresh token and one retry.
 */
int jamf_request(struct jamf_session *s, const struct jamf_call *call, struct jamf_reply *r);

/* GET path; shorthand for jamf_request(). */
int jamf_get(struct jamf_session *s, const char *path, struct jamf_reply *r);

/*
 * n calls at once, at most s->max_connections at a time. Returns 0 when all succeeded, else
 * -1; replies[i] tells for each. Release every reply.
 */
int jamf_request_many(struct jamf_session *s, const struct jamf_call *calls,
    struct jamf_reply *replies, size_t n);

/*
 * Called by jamf_request_each() with call i's final reply, in the order replies arrive; the
 * callee owns *r from then on (it may copy the struct and release it later). Returns false
 * to stop: nothing more is sent, and replies still coming are released unseen. In a batch
 * of GETs, a 2xx reply's successor may already be on its way (http_done_fn, http.h).
 */
typedef bool (*jamf_reply_fn)(void *ctx, size_t i, struct jamf_reply *r);

/*
 * jamf_request_many(), handing each reply to fn as it arrives (a page can be read while the
 * next ones download). Returns 0 when every call succeeded and fn never stopped, else -1.
 */
int jamf_request_each(struct jamf_session *s, const struct jamf_call *calls, size_t n,
    jamf_reply_fn fn, void *ctx);

void jamf_reply_release(struct jamf_reply *r);

/*
 * Whether a write that failed with r may still have taken effect: no answer (the request may
 * have arrived), a 5xx after retries, or a 2xx that does not say what was made. Its intent
 * then stays open, and the next run looks in Jamf before it writes again.
 */
bool jamf_write_unknown(const struct jamf_reply *r);

/* Set r's failure kind and its sentence; returns -1, for callers to pass on. */
int jamf_reply_fail(struct jamf_reply *r, enum jamf_fail fail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Quote v as an RSQL value for Jamf's filter= parameter and URL-encode the result, e.g.
 * Lab "A", 2nd floor -> %22Lab%20%5C%22A%5C%22%2C%202nd%20floor%22. 0, or -1 when too long.
 */
int jamf_rsql_value(const char *v, char *out, size_t size);

/*
 * As many of values[0..n) as fit in size, each as jamf_rsql_value() writes it, joined by an
 * encoded comma: the list inside an RSQL in=(…). How many fit (0 when not even the first).
 */
size_t jamf_rsql_values(const char *const *values, size_t n, char *out, size_t size);

/* URL-encode v (RFC 3986 unreserved characters kept); 0, or -1 when too long. */
int jamf_url_encode(const char *v, char *out, size_t size);

/* The Jamf Pro privileges an endpoint needs ("Read Computers"), or NULL when unknown. */
const char *jamf_pro_privileges(const char *method, const char *path);

#endif
