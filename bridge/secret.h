/* Secrets named by reference (env:NAME, file:PATH), resolved once and wiped after use. */
#ifndef BRIDGE_SECRET_H
#define BRIDGE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* A resolved secret. ref is what the user wrote (safe to print); value never is. */
struct secret {
	char *ref;    /* "env:NAME" or "file:PATH"; NULL for a literal value */
	char *value;  /* the secret itself */
};

/* Whether text is a secret reference (starts with "env:" or "file:"). */
bool secret_is_reference(const char *text);

/*
 * Resolve the reference text into s. A relative file: path is taken relative to base_dir
 * (NULL: the working directory). A file readable by group or others is refused. On failure
 * write a reason to err (never the secret) and return -1; s is then left empty.
 */
int secret_resolve(struct secret *s, const char *text, const char *base_dir, char *err,
    size_t errlen);

/* Wipe and free the value and the reference; s may be reused. */
void secret_release(struct secret *s);

#endif
