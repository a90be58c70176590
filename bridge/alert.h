/*
 * Webhook alerts (Slack, Microsoft Teams Workflows, generic JSON). Webhook URLs are secrets:
 * they never appear in logs or errors, only the alert's name does.
 */
#ifndef BRIDGE_ALERT_H
#define BRIDGE_ALERT_H

#include <stddef.h>

#include "config.h"
#include "template.h"

struct config;
struct config_alert;
struct http_client;

/*
 * Post a short test message to the alert's webhook in its kind's format. Returns 0 when the
 * receiver accepted it (2xx), else -1 with a reason in err that names the alert, not its URL.
 */
int alert_send_test(struct http_client *http, const struct config *cfg,
    const struct config_alert *alert, char *err, size_t errlen);

/* The template an alert kind's messages are built from (templates/alert-<kind>.json). */
enum template_which alert_template(enum config_alert_kind kind);

/*
 * POST body (JSON) to the alert's webhook, at most one message a second per webhook (429 and
 * Retry-After are honoured by the HTTP layer's retries). 0 when the receiver accepted it
 * (2xx), else -1 with a reason in err that names the alert, not its URL.
 */
int alert_post(struct http_client *http, const struct config *cfg,
    const struct config_alert *alert, const char *body, char *err, size_t errlen);

#endif
