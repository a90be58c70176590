/* Webhook alerts; see alert.h. */
#include "alert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "json.h"

#define ALERT_MAX_REPLY_BYTES (64 * 1024)
#define ALERT_MAX_WEBHOOKS 64  /* webhooks whose last post time is kept */

/* The message in the alert kind's format, as JSON text; NULL when out of memory. */
static char *
alert_body(enum config_alert_kind kind, const char *text)
{
	cJSON *root = cJSON_CreateObject();
	char *out = NULL;

	if (root == NULL)
		return NULL;
	if (kind == CONFIG_ALERT_SLACK) {
		if (cJSON_AddStringToObject(root, "text", text) == NULL)
			goto out;
	} else if (kind == CONFIG_ALERT_TEAMS) {
		/* a Teams Workflows webhook takes a message with an Adaptive Card attachment */
		cJSON *atts = cJSON_AddArrayToObject(root, "attachments"), *att, *card, *body, *tb;

		if (cJSON_AddStringToObject(root, "type", "message") == NULL || atts == NULL ||
		    (att = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(atts, att);
		if (cJSON_AddStringToObject(att, "contentType",
		    "application/vnd.microsoft.card.adaptive") == NULL ||
		    (card = cJSON_AddObjectToObject(att, "content")) == NULL ||
		    cJSON_AddStringToObject(card, "$schema",
		    "http://adaptivecards.io/schemas/adaptive-card.json") == NULL ||
		    cJSON_AddStringToObject(card, "type", "AdaptiveCard") == NULL ||
		    cJSON_AddStringToObject(card, "version", "1.4") == NULL ||
		    (body = cJSON_AddArrayToObject(card, "body")) == NULL ||
		    (tb = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(body, tb);
		if (cJSON_AddStringToObject(tb, "type", "TextBlock") == NULL ||
		    cJSON_AddStringToObject(tb, "text", text) == NULL ||
		    cJSON_AddBoolToObject(tb, "wrap", 1) == NULL)
			goto out;
	} else {
		if (cJSON_AddStringToObject(root, "source", "bridge") == NULL ||
		    cJSON_AddStringToObject(root, "event", "test") == NULL ||
		    cJSON_AddStringToObject(root, "message", text) == NULL)
			goto out;
	}
	out = json_print(root);
out:
	cJSON_Delete(root);
	return out;
}

enum template_which
alert_template(enum config_alert_kind kind)
{
	return kind == CONFIG_ALERT_SLACK ? TEMPLATE_ALERT_SLACK :
	    kind == CONFIG_ALERT_TEAMS ? TEMPLATE_ALERT_TEAMS : TEMPLATE_ALERT_JSON;
}

/* Seconds on the monotonic clock. */
static double
monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
alert_post(struct http_client *http, const struct config *cfg, const struct config_alert *alert,
    const char *body, char *err, size_t errlen)
{
	/* when each webhook was last posted to in this process: at most one message a second */
	static struct {
		const struct config_alert *alert;
		double at;
	} last[ALERT_MAX_WEBHOOKS];
	static size_t nlast;
	char where[160];
	struct http_endpoint ep;
	struct http_request req = {.method = "POST", .url = alert->url.value, .log_url = where,
		.headers = {"Content-Type: application/json"}, .nheaders = 1,
		.repeatable = true};  /* a message twice beats a message lost */
	struct http_response resp;
	size_t k;
	int rc = -1;

	for (k = 0; k < nlast && last[k].alert != alert; k++)
		continue;
	if (k < nlast) {
		double wait = last[k].at + 1.0 - monotonic();

		if (wait > 0) {
			struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};

			while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
				continue;
		}
	} else if (nlast < ALERT_MAX_WEBHOOKS) {
		last[k = nlast++].alert = alert;
	}
	snprintf(where, sizeof(where), "the webhook of alert \"%s\"", alert->name);
	req.body = body;
	req.body_len = strlen(body);
	http_endpoint_init(&ep, &cfg->http, alert->ca_file, ALERT_MAX_REPLY_BYTES);
	if (http_do(http, &ep, &req, &resp) == -1)
		snprintf(err, errlen, "%s", resp.error);
	else if (resp.status < 200 || resp.status > 299)
		snprintf(err, errlen, "%s answered %ld", where, resp.status);
	else
		rc = 0;
	if (k < ALERT_MAX_WEBHOOKS)
		last[k].at = monotonic();
	http_response_release(&resp);
	return rc;
}

int
alert_send_test(struct http_client *http, const struct config *cfg,
    const struct config_alert *alert, char *err, size_t errlen)
{
	char host[256] = "this host", text[512];
	char *body;
	int rc;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "this host");
	host[sizeof(host) - 1] = '\0';
	snprintf(text, sizeof(text), "bridge test alert from %s: the alert \"%s\" (%s) reaches "
	    "this channel.", host, alert->name, config_alert_kind_name(alert->kind));
	if ((body = alert_body(alert->kind, text)) == NULL) {
		snprintf(err, errlen, "alert \"%s\": out of memory", alert->name);
		return -1;
	}
	rc = alert_post(http, cfg, alert, body, err, errlen);
	free(body);
	return rc;
}
