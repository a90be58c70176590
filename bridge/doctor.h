/*
 * bridge doctor: check, against the real servers, everything a run depends on and say how to
 * fix each thing that fails: TLS trust, tokens, read privileges, the plans feature toggle and
 * customVersionEnabled, the custom-declaration component, the groups the policies name, and
 * (on request) each alert webhook.
 */
#ifndef BRIDGE_DOCTOR_H
#define BRIDGE_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

struct config;

/* Run every check, print the checklist (text or JSON); exit status 0 only if all passed. */
int doctor_run(const struct config *cfg, const char *const *tenants, size_t ntenants,
    bool send_test_alert, bool json);

#endif
