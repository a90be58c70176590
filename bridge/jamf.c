/*
 * The session layer shared by the Jamf Pro and Jamf Platform clients: tokens, the bearer
 * header, one re-authentication after a 401, concurrency, and error sentences. Tokens and
 * client secrets live only in memory, are wiped when dropped, and never reach a log: http.c
 * redacts Authorization headers and never logs bodies.
 */
#include "jamf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "isotime.h"
#include "log.h"
#include "url.h"

#define JAMF_DEFAULT_OAUTH_PATH "/api/oauth/token"
#define JAMF_DEFAULT_BASIC_PATH "/api/v1/auth/token"
#define JAMF_INVALIDATE_PATH "/api/v1/auth/invalidate-token"
#define JAMF_DISCOVERY_PATH "/.well-known/openid-configuration"
#define JAMF_TOKEN_FALLBACK_S 1200L  /* when a token answer says nothing of its lifetime */
#define JAMF_TOKEN_MARGIN_MAX_S 60L  /* renew this long before expiry at most */

/* Monotonic seconds: token lifetimes must not depend on the wall clock being right. */
static long
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

/* Free s and wipe it first (tokens, form bodies with secrets). */
static void
free_wiped(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
jamf_reply_release(struct jamf_reply *r)
{
	cJSON_Delete(r->json);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

bool
jamf_write_unknown(const struct jamf_reply *r)
{
	return r->fail == JAMF_FAIL_TRANSPORT || r->fail == JAMF_FAIL_TLS ||
	    r->fail == JAMF_FAIL_SERVER || r->fail == JAMF_FAIL_BAD_REPLY;
}

int
jamf_reply_fail(struct jamf_reply *r, enum jamf_fail fail, const char *fmt, ...)
{
	va_list ap;

	r->fail = fail;
	va_start(ap, fmt);
	(void)vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	return -1;
}

int
jamf_url_encode(const char *v, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
		bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';

		if (o + (plain ? 1 : 3) >= size)
			return -1;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (size == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int
jamf_rsql_value(const char *v, char *out, size_t size)
{
	size_t len = strlen(v), o = 0;
	char *quoted;
	int rc;

	/* worst case: every character escaped, plus two quotes */
	if (len > size || (quoted = malloc(2 * len + 3)) == NULL)
		return -1;
	quoted[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '"' || v[i] == '\\')
			quoted[o++] = '\\';
		quoted[o++] = v[i];
	}
	quoted[o++] = '"';
	quoted[o] = '\0';
	rc = jamf_url_encode(quoted, out, size);
	free(quoted);
	return rc;
}

size_t
jamf_rsql_values(const char *const *values, size_t n, char *out, size_t size)
{
	size_t len = 0, k;

	if (size == 0)
		return 0;
	for (k = 0; k < n; k++) {
		size_t comma = k > 0 ? 3 : 0;

		if (len + comma >= size ||
		    jamf_rsql_value(values[k], out + len + comma, size - len - comma) == -1)
			break;
		memcpy(out + len, "%2C", comma);
		len += comma + strlen(out + len + comma);
	}
	out[len] = '\0';  /* without what a value that did not fit left */
	return k;
}

/*
 * The privileges Jamf Pro wants for each endpoint bridge calls, from the x-required-privileges
 * of Jamf's published schema (11.30.1). "{}" matches one path segment.
 */
static const struct {
	const char *method;
	const char *path;
	const char *privileges;
} pro_privileges[] = {
	{"GET", "/api/v1/computer-groups", "Read Smart Computer Groups, Read Static Computer Groups"},
	{"GET", "/api/v1/mobile-device-groups",
	    "Read Smart Mobile Device Groups, Read Static Mobile Device Groups"},
	{"GET", "/api/v2/groups", "Read Smart Computer Groups, Read Static Computer Groups (for "
	    "mobile device groups: Read Smart Mobile Device Groups, Read Static Mobile Device "
	    "Groups)"},
	{"GET", "/api/v3/computer-groups/smart-group-membership/{}", "Read Smart Computer Groups"},
	{"GET", "/api/v1/mobile-device-groups/smart-group-membership/{}",
	    "Read Smart Mobile Device Groups"},
	{"GET", "/api/v3/computer-groups/static-groups", "Read Static Computer Groups"},
	{"GET", "/api/v3/computer-groups/static-groups/{}", "Read Static Computer Groups"},
	{"POST", "/api/v3/computer-groups/static-groups", "Create Static Computer Groups"},
	{"PUT", "/api/v3/computer-groups/static-groups/{}", "Update Static Computer Groups"},
	{"GET", "/api/v2/mobile-device-groups/static-groups", "Read Static Mobile Device Groups"},
	{"GET", "/api/v2/mobile-device-groups/static-groups/{}", "Read Static Mobile Device Groups"},
	{"POST", "/api/v2/mobile-device-groups/static-groups", "Create Static Mobile Device Groups"},
	{"PATCH", "/api/v2/mobile-device-groups/static-groups/{}",
	    "Update Static Mobile Device Groups"},
	{"GET", "/api/v4/computers-inventory", "Read Computers"},
	{"GET", "/api/v3/computers-inventory", "Read Computers"},
	{"GET", "/api/v2/mobile-devices/detail", "Read Mobile Devices"},
	{"GET", "/api/v1/ddm/{}/status-items", "Read Computers (or Read Mobile Devices)"},
	{"GET", "/api/v1/managed-software-updates/plans/feature-toggle",
	    "Read Managed Software Updates"},
	{"GET", "/api/v1/managed-software-updates/plans/feature-toggle/status",
	    "Read Managed Software Updates"},
	{"PUT", "/api/v1/managed-software-updates/plans/feature-toggle",
	    "Read, Create and Update Managed Software Updates"},
	{"GET", "/api/v1/managed-software-updates/plans",
	    "Read Managed Software Updates, Read Computers, Read Mobile Devices"},
	{"GET", "/api/v1/managed-software-updates/plans/{}",
	    "Read Managed Software Updates, Read Computers, Read Mobile Devices"},
	{"GET", "/api/v1/managed-software-updates/plans/{}/events",
	    "Read Managed Software Updates, Read Computers, Read Mobile Devices"},
	{"GET", "/api/v1/managed-software-updates/plans/group/{}",
	    "Read Managed Software Updates and the group privileges"},
	{"POST", "/api/v1/managed-software-updates/plans",
	    "Create Managed Software Updates, Read Computers, Read Mobile Devices, Send Computer "
	    "Remote Command to Download and Install OS X Update, Send Mobile Device Remote Command "
	    "to Download and Install iOS Update"},
	{"POST", "/api/v1/managed-software-updates/plans/group",
	    "Create Managed Software Updates, the Read privileges of computers, mobile devices and "
	    "their smart and static groups, and both Send ... Download and Install Update commands"},
};

/* Whether path (no query) matches pattern, where "{}" stands for one segment. */
static bool
path_matches(const char *pattern, const char *path)
{
	while (*pattern != '\0' && *path != '\0') {
		if (strncmp(pattern, "{}", 2) == 0) {
			pattern += 2;
			while (*path != '\0' && *path != '/')
				path++;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && (*path == '\0' || *path == '?');
}

const char *
jamf_pro_privileges(const char *method, const char *path)
{
	for (size_t i = 0; i < sizeof(pro_privileges) / sizeof(pro_privileges[0]); i++)
		if (strcmp(pro_privileges[i].method, method) == 0 &&
		    path_matches(pro_privileges[i].path, path))
			return pro_privileges[i].privileges;
	return NULL;
}

int
jamf_session_init(struct jamf_session *s, enum jamf_api api, const struct config *cfg,
    const struct config_tenant *tenant, struct http_client *http, char *err, size_t errlen)
{
	const char *url, *token_path, *ca_file;
	size_t len;

	memset(s, 0, sizeof(*s));
	s->api = api;
	s->http = http;
	if (api == JAMF_API_PRO) {
		const struct config_jamf *j = &tenant->jamf;

		s->name = "Jamf Pro";
		url = j->url;
		ca_file = j->ca_file;
		s->basic = j->auth == CONFIG_AUTH_BASIC;
		s->client_id = s->basic ? j->username.value : j->client_id.value;
		s->client_secret = s->basic ? j->password.value : j->client_secret.value;
		s->issuer = s->basic ? NULL : j->issuer;
		token_path = j->token_path != NULL ? j->token_path :
		    s->basic ? JAMF_DEFAULT_BASIC_PATH : JAMF_DEFAULT_OAUTH_PATH;
		s->max_connections = j->max_connections;
	} else {
		const struct config_platform *p = &tenant->platform;

		s->name = "Jamf Platform";
		if (!config_present(&p->pos) || p->url == NULL) {
			snprintf(err, errlen, "no platform section: blueprint policies need one");
			return -1;
		}
		url = p->url;
		ca_file = p->ca_file;
		s->client_id = p->client_id.value;
		s->client_secret = p->client_secret.value;
		token_path = p->token_path;
		s->max_connections = tenant->jamf.max_connections;
		snprintf(s->env_header, sizeof(s->env_header), "X-Environment-Id: %s",
		    p->environment_id);
	}
	if (s->client_id == NULL || s->client_secret == NULL) {
		snprintf(err, errlen, "%s: credentials are missing", s->name);
		return -1;
	}
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	if (len >= sizeof(s->base) || snprintf(s->token_url, sizeof(s->token_url), "%.*s%s",
	    (int)len, url, token_path) >= (int)sizeof(s->token_url)) {
		snprintf(err, errlen, "%s: the URL is too long", s->name);
		return -1;
	}
	memcpy(s->base, url, len);
	s->base[len] = '\0';
	if (s->max_connections < 1)
		s->max_connections = 1;
	http_endpoint_init(&s->ep, &cfg->http, ca_file, JAMF_MAX_BODY_BYTES);
	return 0;
}

/* Drop the token held, wiping it. */
static void
token_drop(struct jamf_session *s)
{
	free_wiped(s->token);
	s->token = NULL;
	s->token_renew_at = 0;
}

/* Keep token as the session's, valid for lifetime seconds from now. */
static void
token_keep(struct jamf_session *s, char *token, long lifetime)
{
	long margin = lifetime / 4;

	if (margin > JAMF_TOKEN_MARGIN_MAX_S)
		margin = JAMF_TOKEN_MARGIN_MAX_S;
	token_drop(s);
	s->token = token;
	s->token_renew_at = now_s() + lifetime - margin;
	s->tokens_issued++;
	log_debug("%s: new token, valid for %ld s", s->name, lifetime);
}

/* Whether a reply failed for want of an answer, and whether the certificate was the cause. */
static void
reply_from_transport(struct jamf_reply *r, const struct http_response *resp)
{
	bool tls = strstr(resp->error, "TLS certificate is not trusted") != NULL;

	jamf_reply_fail(r, tls ? JAMF_FAIL_TLS : JAMF_FAIL_TRANSPORT, "%s", resp->error);
}

/* Seconds from now to an ISO 8601 UTC time ("2026-11-23T10:00:00.123Z"), or -1. */
static long
seconds_until(const char *iso)
{
	time_t t;

	if (iso_time_prefix(iso, &t) == NULL)
		return -1;
	return (long)(t - time(NULL));
}

/*
 * Describe a refused token request in one sentence: the OAuth error body ({error,
 * error_description}) or Jamf's, and what to check.
 */
static void
token_refused(struct jamf_session *s, const struct http_response *resp, struct jamf_reply *r)
{
	cJSON *json = cJSON_ParseWithLength(resp->body != NULL ? resp->body : "", resp->body_len);
	const char *code = json_str(json, "error"), *desc = json_str(json, "error_description");
	const char *fix = s->basic ? "check jamf.username and jamf.password" :
	    s->api == JAMF_API_PRO ? "check jamf.client_id and jamf.client_secret, and that the API "
	    "client is enabled in Jamf Pro (Settings > API roles and clients)" :
	    "check platform.client_id and platform.client_secret (an API integration made in "
	    "Jamf Account)";

	if (code != NULL)
		jamf_reply_fail(r, JAMF_FAIL_AUTH, "%s refused the sign-in (%ld %s%s%s): %s", s->name,
		    resp->status, code, desc != NULL ? ": " : "", desc != NULL ? desc : "", fix);
	else if (resp->status >= 500)
		jamf_reply_fail(r, JAMF_FAIL_SERVER, "%s token endpoint failed with %ld", s->name,
		    resp->status);
	else if (resp->status == 404)
		jamf_reply_fail(r, JAMF_FAIL_AUTH, "%s has no token endpoint at %s (404): check %s",
		    s->name, s->token_url, s->issuer != NULL ? "jamf.issuer" :
		    s->api == JAMF_API_PRO ? "jamf.token_path" : "platform.token_path");
	else
		jamf_reply_fail(r, JAMF_FAIL_AUTH, "%s refused the sign-in (%ld): %s", s->name,
		    resp->status, fix);
	cJSON_Delete(json);
}

/* Find the token endpoint through OIDC discovery; 0 or -1 with r set. */
static int
discover_token_url(struct jamf_session *s, struct jamf_reply *r)
{
	char url[JAMF_MAX_URL], reason[256];
	struct http_request req = {.method = "GET", .url = url,
		.headers = {"Accept: application/json"}, .nheaders = 1};
	struct http_response resp;
	const char *endpoint;
	size_t len = strlen(s->issuer);
	cJSON *json;
	int rc = -1;

	while (len > 0 && s->issuer[len - 1] == '/')
		len--;
	snprintf(url, sizeof(url), "%.*s%s", (int)len, s->issuer, JAMF_DISCOVERY_PATH);
	if (http_do(s->http, &s->ep, &req, &resp) == -1) {
		reply_from_transport(r, &resp);
		http_response_release(&resp);
		return -1;
	}
	json = resp.status == 200 ? cJSON_ParseWithLength(resp.body ? resp.body : "",
	    resp.body_len) : NULL;
	endpoint = json_str(json, "token_endpoint");
	if (endpoint == NULL)
		jamf_reply_fail(r, JAMF_FAIL_AUTH, "OIDC discovery at %s gave no token_endpoint (%ld): "
		    "check jamf.issuer", url, resp.status);
	else if (url_check(endpoint, 0, reason, sizeof(reason)) == -1)
		jamf_reply_fail(r, JAMF_FAIL_AUTH, "OIDC discovery at %s: the token_endpoint is not "
		    "usable: %s", url, reason);
	else if (snprintf(s->token_url, sizeof(s->token_url), "%s", endpoint) >=
	    (int)sizeof(s->token_url))
		jamf_reply_fail(r, JAMF_FAIL_AUTH, "OIDC discovery at %s: the token_endpoint is too long",
		    url);
	else
		rc = 0;
	if (rc == 0)
		log_debug("%s: token endpoint from OIDC discovery: %s", s->name, s->token_url);
	cJSON_Delete(json);
	http_response_release(&resp);
	return rc;
}

/* Base64 of in (for the Basic header); out must hold 4*ceil(len/3)+1 bytes. */
static void
base64(const unsigned char *in, size_t len, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
		    (i + 2 < len ? in[i + 2] : 0);

		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

/*
 * Build the token request: a client-credentials form, or for the legacy flow a Basic
 * header. The returned buffers hold secrets: the caller wipes them. 0 or -1 (too long).
 */
static int
token_request_parts(const struct jamf_session *s, char **form, char **auth)
{
	size_t idlen = strlen(s->client_id), seclen = strlen(s->client_secret);
	size_t cap = 3 * (idlen + seclen) + 128;

	*form = NULL;
	*auth = NULL;
	if (s->basic) {
		char *pair = malloc(idlen + seclen + 2);

		if (pair == NULL || (*auth = malloc(4 * ((idlen + seclen + 3) / 3) + 32)) == NULL) {
			free(pair);
			return -1;
		}
		sprintf(pair, "%s:%s", s->client_id, s->client_secret);
		strcpy(*auth, "Authorization: Basic ");
		base64((const unsigned char *)pair, strlen(pair), *auth + strlen(*auth));
		free_wiped(pair);
		return 0;
	}
	if ((*form = malloc(cap)) == NULL)
		return -1;
	strcpy(*form, "grant_type=client_credentials&client_id=");
	if (jamf_url_encode(s->client_id, *form + strlen(*form), cap - strlen(*form)) == -1)
		return -1;
	strcat(*form, "&client_secret=");
	return jamf_url_encode(s->client_secret, *form + strlen(*form), cap - strlen(*form));
}

int
jamf_authenticate(struct jamf_session *s, struct jamf_reply *r)
{
	struct http_request req = {.method = "POST", .url = s->token_url, .repeatable = true};
	struct http_response resp;
	char *form = NULL, *auth = NULL, *token;
	const char *value;
	cJSON *json;
	long lifetime = -1;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (s->token != NULL && now_s() < s->token_renew_at)
		return 0;
	token_drop(s);
	if (s->issuer != NULL && !s->discovered) {
		if (discover_token_url(s, r) == -1)
			return -1;
		s->discovered = true;
	}
	if (token_request_parts(s, &form, &auth) == -1) {
		free_wiped(form);
		free_wiped(auth);
		jamf_reply_fail(r, JAMF_FAIL_AUTH, "%s: out of memory or credentials too long", s->name);
		return -1;
	}
	req.headers[req.nheaders++] = "Accept: application/json";
	if (auth != NULL) {
		req.headers[req.nheaders++] = auth;
	} else {
		req.headers[req.nheaders++] = "Content-Type: application/x-www-form-urlencoded";
		req.body = form;
		req.body_len = strlen(form);
	}
	if (s->env_header[0] != '\0')
		req.headers[req.nheaders++] = s->env_header;
	if (http_do(s->http, &s->ep, &req, &resp) == -1) {
		reply_from_transport(r, &resp);
		goto out;
	}
	r->status = resp.status;
	if (resp.status != 200) {
		token_refused(s, &resp, r);
		goto out;
	}
	json = cJSON_ParseWithLength(resp.body != NULL ? resp.body : "", resp.body_len);
	value = json_str(json, s->basic ? "token" : "access_token");
	if (s->basic)
		lifetime = seconds_until(json_str(json, "expires"));
	else if (!json_long(json, "expires_in", &lifetime))
		lifetime = -1;
	if (lifetime <= 0)
		lifetime = JAMF_TOKEN_FALLBACK_S;
	if (value == NULL || value[0] == '\0' || (token = strdup(value)) == NULL) {
		jamf_reply_fail(r, JAMF_FAIL_AUTH, "%s: the token answer from %s holds no %s", s->name,
		    s->token_url, s->basic ? "token" : "access_token");
	} else {
		token_keep(s, token, lifetime);
		rc = 0;
	}
	/* the answer held the token: wipe it before it is freed */
	if (resp.body != NULL)
		explicit_bzero(resp.body, resp.body_len);
	if (json != NULL && value != NULL)
		explicit_bzero((char *)(uintptr_t)value, strlen(value));
	cJSON_Delete(json);
out:
	free_wiped(form);
	free_wiped(auth);
	http_response_release(&resp);
	return rc;
}

void
jamf_session_close(struct jamf_session *s)
{
	if (s->basic && s->token != NULL) {
		struct jamf_call call = {"POST", JAMF_INVALIDATE_PATH, NULL, NULL, 0, false};
		struct jamf_reply r;

		/* only while the token is still good: no new token just to give it back */
		if (now_s() < s->token_renew_at) {
			if (jamf_request(s, &call, &r) == -1)
				log_warn("%s: could not invalidate the token: %s", s->name, r.error);
			else
				log_debug("%s: token invalidated", s->name);
			jamf_reply_release(&r);
		}
	}
	token_drop(s);
}

/* The path of a call without its query, for messages. */
static int
path_len(const char *path)
{
	const char *q = strchr(path, '?');

	return q != NULL ? (int)(q - path) : (int)strlen(path);
}

/*
 * Describe a non-2xx answer in one sentence: the status, Jamf's error entries (code, field,
 * description), a trace id when the Platform sends one, and for a 403 the privilege needed.
 */
static void
reply_describe(const struct jamf_session *s, const struct jamf_call *call,
    const struct http_response *resp, struct jamf_reply *r)
{
	cJSON *json = cJSON_ParseWithLength(resp->body != NULL ? resp->body : "", resp->body_len);
	const cJSON *errors = json_arr(json, "errors"), *e;
	const char *trace = json_str(json, "traceId");
	char detail[400] = "";
	size_t used = 0;
	int shown = 0;
	enum jamf_fail fail;

	cJSON_ArrayForEach(e, errors) {
		const char *code = json_str(e, "code"), *field = json_str(e, "field");
		const char *desc = json_str(e, "description");
		int n;

		if (shown == 3 || used >= sizeof(detail))
			break;
		n = snprintf(detail + used, sizeof(detail) - used, "%s%s%s%s%s%.120s", shown ? "; " :
		    ": ", code != NULL ? code : "", field != NULL ? " " : "", field != NULL ? field :
		    "", (code != NULL || field != NULL) && desc != NULL ? ": " : "",
		    desc != NULL ? desc : "");
		if (n < 0)
			break;
		used += (size_t)n;
		shown++;
	}
	if (shown == 0 && json_str(json, "error") != NULL)
		snprintf(detail, sizeof(detail), ": %.60s%s%.200s", json_str(json, "error"),
		    json_str(json, "error_description") != NULL ? ": " : "",
		    json_str(json, "error_description") != NULL ?
		    json_str(json, "error_description") : "");
	switch (resp->status) {
	case 401: fail = JAMF_FAIL_AUTH; break;
	case 403: fail = JAMF_FAIL_FORBIDDEN; break;
	case 404: fail = JAMF_FAIL_NOT_FOUND; break;
	case 409: fail = JAMF_FAIL_CONFLICT; break;
	default: fail = resp->status >= 500 || resp->status == 429 ? JAMF_FAIL_SERVER :
	    JAMF_FAIL_REJECTED;
	}
	if (resp->status == 403) {
		const char *priv = s->api == JAMF_API_PRO ?
		    jamf_pro_privileges(call->method, call->path) : NULL;

		if (priv != NULL)
			jamf_reply_fail(r, fail, "%s denied %s %.*s (403%s): the API client's role needs "
			    "the privilege%s %s", s->name, call->method, path_len(call->path),
			    call->path, detail, strchr(priv, ',') ? "s" : "", priv);
		else
			jamf_reply_fail(r, fail, "%s denied %s %.*s (403%s): the API %s lacks a permission "
			    "for it", s->name, call->method, path_len(call->path), call->path, detail,
			    s->api == JAMF_API_PRO ? "client's role" : "integration");
	} else if (resp->status == 401) {
		jamf_reply_fail(r, fail, "%s refused the token for %s %.*s (401%s), also a fresh one",
		    s->name, call->method, path_len(call->path), call->path, detail);
	} else {
		jamf_reply_fail(r, fail, "%s %s %s %.*s (%ld%s)%s%s%s", s->name,
		    resp->status >= 500 ? "failed" : "rejected", call->method,
		    path_len(call->path), call->path, resp->status, detail,
		    resp->attempts > 1 ? ", after retries" : "", trace != NULL ? "; trace id " : "",
		    trace != NULL ? trace : "");
	}
	cJSON_Delete(json);
}

/* Fill r from a final answer: parse a 2xx JSON body, or describe the failure. */
static int
reply_from_response(const struct jamf_session *s, const struct jamf_call *call,
    struct http_response *resp, struct jamf_reply *r)
{
	r->status = resp->status;
	r->body = resp->body;
	r->body_len = resp->body_len;
	resp->body = NULL;
	(void)snprintf(r->content_type, sizeof(r->content_type), "%s", resp->content_type);
	if (resp->status < 200 || resp->status > 299) {
		struct http_response view = *resp;

		view.body = r->body;
		reply_describe(s, call, &view, r);
		return -1;
	}
	if (r->body_len == 0 || call->unparsed)
		return 0;
	if ((r->json = cJSON_ParseWithLength(r->body, r->body_len)) == NULL) {
		jamf_reply_fail(r, JAMF_FAIL_BAD_REPLY, "%s %s %.*s: the answer is not JSON (%zu bytes, "
		    "%s)", s->name, call->method, path_len(call->path), call->path, r->body_len,
		    resp->content_type[0] != '\0' ? resp->content_type : "no content type");
		return -1;
	}
	return 0;
}

/* Header storage for one request: the bearer header is built once per batch. */
struct call_headers {
	char content_type[96];
};

/* One jamf_request_each() under way. */
struct each_run {
	struct jamf_session *s;
	const struct jamf_call *calls;
	size_t *idx;             /* this round's calls: position in the round -> call */
	bool last_round;         /* a 401 now is final */
	size_t *again;           /* calls answered 401, for the next round */
	size_t nagain;
	jamf_reply_fn fn;
	void *ctx;
	bool stopped;            /* fn asked to stop */
	int rc;
};

/* Hand call i's final reply r to the caller (which owns it from then on). */
static void
each_give(struct each_run *e, size_t i, struct jamf_reply *r)
{
	if (r->fail != JAMF_OK)
		e->rc = -1;
	if (e->stopped) {
		jamf_reply_release(r);
	} else if (!e->fn(e->ctx, i, r)) {
		e->stopped = true;
		e->rc = -1;
	}
}

/* Hand calls idx[0..n) (calls 0..n when idx is NULL) each a copy of the failure f. */
static void
each_fail_all(struct each_run *e, const size_t *idx, size_t n, const struct jamf_reply *f)
{
	for (size_t k = 0; k < n; k++) {
		struct jamf_reply r = {0};

		r.fail = f->fail;
		memcpy(r.error, f->error, sizeof(r.error));
		each_give(e, idx != NULL ? idx[k] : k, &r);
	}
}

/* http_do_each()'s callback: the answer to the k-th call of this round. */
static bool
each_answer(void *ctx, size_t k, struct http_response *resp)
{
	struct each_run *e = ctx;
	size_t i = e->idx[k];
	struct jamf_reply r = {0};

	if (resp->status == 401 && !e->last_round) {
		http_response_release(resp);
		e->again[e->nagain++] = i;
		return true;
	}
	if (resp->status == 0)
		reply_from_transport(&r, resp);
	else
		(void)reply_from_response(e->s, &e->calls[i], resp, &r);
	http_response_release(resp);
	each_give(e, i, &r);
	return !e->stopped;
}

/* Send this round's n calls (e->idx) once with the current token, bearer. */
static void
send_round(struct each_run *e, size_t n, const char *bearer)
{
	struct jamf_session *s = e->s;
	struct http_request *reqs = calloc(n, sizeof(*reqs));
	struct http_response *resps = calloc(n, sizeof(*resps));
	struct call_headers *hdrs = calloc(n, sizeof(*hdrs));
	char **urls = calloc(n, sizeof(*urls));

	if (reqs == NULL || resps == NULL || hdrs == NULL || urls == NULL) {
		struct jamf_reply oom = {0};

		jamf_reply_fail(&oom, JAMF_FAIL_TRANSPORT, "%s: out of memory", s->name);
		each_fail_all(e, e->idx, n, &oom);
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		const struct jamf_call *c = &e->calls[e->idx[k]];
		struct http_request *q = &reqs[k];
		size_t len = strlen(s->base) + strlen(c->path) + 1;

		if ((urls[k] = malloc(len)) != NULL)
			snprintf(urls[k], len, "%s%s", s->base, c->path);
		q->method = c->method;
		q->url = urls[k] != NULL ? urls[k] : "";
		q->headers[q->nheaders++] = bearer;
		q->headers[q->nheaders++] = "Accept: application/json";
		if (s->env_header[0] != '\0')
			q->headers[q->nheaders++] = s->env_header;
		if (c->body != NULL) {
			snprintf(hdrs[k].content_type, sizeof(hdrs[k].content_type),
			    "Content-Type: %s", c->content_type != NULL ? c->content_type :
			    "application/json");
			q->headers[q->nheaders++] = hdrs[k].content_type;
			q->body = c->body;
			q->body_len = c->body_len;
		} else if (strcmp(c->method, "GET") != 0) {
			/* no body: drop the form content type libcurl would otherwise send */
			q->headers[q->nheaders++] = "Content-Type:";
		}
	}
	(void)http_do_each(s->http, &s->ep, reqs, resps, n, (size_t)s->max_connections,
	    each_answer, e);
	/* calls not sent after a stop: released, not handed over */
	for (size_t k = 0; k < n; k++)
		http_response_release(&resps[k]);
out:
	for (size_t k = 0; urls != NULL && k < n; k++)
		free(urls[k]);
	free(urls);
	free(hdrs);
	free(resps);
	free(reqs);
}

int
jamf_request_each(struct jamf_session *s, const struct jamf_call *calls, size_t n,
    jamf_reply_fn fn, void *ctx)
{
	struct each_run e = {s, calls, NULL, false, NULL, 0, fn, ctx, false, 0};
	size_t left = n;

	if (n == 0)
		return 0;
	if (n > JAMF_MAX_CALLS || (e.idx = calloc(n, sizeof(*e.idx))) == NULL ||
	    (e.again = calloc(n, sizeof(*e.again))) == NULL) {
		struct jamf_reply f = {0};

		free(e.idx);
		jamf_reply_fail(&f, JAMF_FAIL_TRANSPORT, n > JAMF_MAX_CALLS ? "%s: more than %d "
		    "calls at once" : "%s: out of memory", s->name, JAMF_MAX_CALLS);
		each_fail_all(&e, NULL, n, &f);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		e.idx[i] = i;
	/* at most two rounds: the second one, with a fresh token, only for 401 answers */
	for (int round = 0; round < 2 && left > 0 && !e.stopped; round++) {
		struct jamf_reply auth = {0};
		char *bearer;

		if (round == 1) {
			log_info("%s answered 401 to %zu request%s: signing in again, once", s->name,
			    left, left == 1 ? "" : "s");
			token_drop(s);
		}
		e.last_round = round == 1;
		e.nagain = 0;
		if (jamf_authenticate(s, &auth) == -1) {
			each_fail_all(&e, e.idx, left, &auth);
			jamf_reply_release(&auth);
			break;
		}
		jamf_reply_release(&auth);
		if ((bearer = malloc(strlen(s->token) + 32)) == NULL) {
			jamf_reply_fail(&auth, JAMF_FAIL_TRANSPORT, "%s: out of memory", s->name);
			each_fail_all(&e, e.idx, left, &auth);
			break;
		}
		sprintf(bearer, "Authorization: Bearer %s", s->token);
		send_round(&e, left, bearer);
		free_wiped(bearer);
		left = e.nagain;
		memcpy(e.idx, e.again, left * sizeof(*e.idx));
	}
	free(e.again);
	free(e.idx);
	return e.rc;
}

/* jamf_request_many()'s callback: keep each reply in its place. */
static bool
keep_reply(void *ctx, size_t i, struct jamf_reply *r)
{
	struct jamf_reply *replies = ctx;

	replies[i] = *r;
	return true;
}

int
jamf_request_many(struct jamf_session *s, const struct jamf_call *calls,
    struct jamf_reply *replies, size_t n)
{
	for (size_t i = 0; i < n; i++)
		memset(&replies[i], 0, sizeof(replies[i]));
	return jamf_request_each(s, calls, n, keep_reply, replies);
}

int
jamf_request(struct jamf_session *s, const struct jamf_call *call, struct jamf_reply *r)
{
	return jamf_request_many(s, call, r, 1);
}

int
jamf_get(struct jamf_session *s, const char *path, struct jamf_reply *r)
{
	struct jamf_call call = {"GET", path, NULL, NULL, 0, false};

	return jamf_request(s, &call, r);
}
