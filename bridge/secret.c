/*
 * Secrets: client secrets, passwords and webhook URLs. The policy file holds only references,
 * so it can be shared and committed; the values live in the environment or in files that only
 * bridge's user can read. Values are wiped before their memory is freed.
 */
#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_MAX_BYTES (64 * 1024)
#define SECRET_MAX_PATH_BYTES 4096

bool
secret_is_reference(const char *text)
{
	return strncmp(text, "env:", 4) == 0 || strncmp(text, "file:", 5) == 0;
}

/* Check that value has no control characters (a newline would break an HTTP header). */
static int
secret_check_value(const char *value, size_t len, const char *what, char *err, size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "%s is empty", what);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)value[i];

		if (ch < 0x20 || ch == 0x7f) {
			snprintf(err, errlen, "%s contains a control character", what);
			return -1;
		}
	}
	return 0;
}

/* Copy the value of environment variable name into *out; the caller frees it. */
static int
secret_from_env(const char *name, char **out, char *err, size_t errlen)
{
	char what[160];
	const char *value;

	if (name[0] == '\0' || (!isalpha((unsigned char)name[0]) && name[0] != '_') ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
	    strlen(name)) {
		snprintf(err, errlen, "\"env:%.64s\" is not a valid environment variable name", name);
		return -1;
	}
	value = getenv(name);
	if (value == NULL) {
		snprintf(err, errlen, "environment variable %.64s is not set", name);
		return -1;
	}
	snprintf(what, sizeof(what), "environment variable %.64s", name);
	if (secret_check_value(value, strlen(value), what, err, errlen) == -1)
		return -1;
	if ((*out = strdup(value)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Read the secret file at path (one value; one trailing newline dropped) into *out. */
static int
secret_from_file(const char *path, char **out, char *err, size_t errlen)
{
	char *buf = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		snprintf(err, errlen, "cannot open secret file \"%s\": %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot stat secret file \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "secret file \"%s\" is not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "secret file \"%s\" is accessible by group or others "
		    "(mode %04o); run: chmod 600 %s", path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > SECRET_MAX_BYTES) {
		snprintf(err, errlen, "secret file \"%s\" is larger than %d bytes", path,
		    SECRET_MAX_BYTES);
		goto out;
	}
	if ((buf = malloc(SECRET_MAX_BYTES + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while ((n = read(fd, buf + len, SECRET_MAX_BYTES + 1 - len)) > 0) {
		len += (size_t)n;
		if (len > SECRET_MAX_BYTES) {
			snprintf(err, errlen, "secret file \"%s\" is larger than %d bytes", path,
			    SECRET_MAX_BYTES);
			goto out;
		}
	}
	if (n == -1) {
		snprintf(err, errlen, "cannot read secret file \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	{
		char what[SECRET_MAX_PATH_BYTES + 32];

		snprintf(what, sizeof(what), "secret file \"%s\"", path);
		if (secret_check_value(buf, len, what, err, errlen) == -1)
			goto out;
	}
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, SECRET_MAX_BYTES + 1);
		free(buf);
	}
	(void)close(fd);
	return rc;
}

int
secret_resolve(struct secret *s, const char *text, const char *base_dir, char *err,
    size_t errlen)
{
	char path[SECRET_MAX_PATH_BYTES];
	char *value = NULL;
	int rc;

	s->ref = NULL;
	s->value = NULL;
	if (strncmp(text, "env:", 4) == 0) {
		rc = secret_from_env(text + 4, &value, err, errlen);
	} else if (strncmp(text, "file:", 5) == 0) {
		const char *file = text + 5;
		int n;

		if (file[0] == '\0') {
			snprintf(err, errlen, "\"file:\" needs a path");
			return -1;
		}
		if (file[0] == '/' || base_dir == NULL)
			n = snprintf(path, sizeof(path), "%s", file);
		else
			n = snprintf(path, sizeof(path), "%s/%s", base_dir, file);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			snprintf(err, errlen, "secret file path is too long");
			return -1;
		}
		rc = secret_from_file(path, &value, err, errlen);
	} else {
		snprintf(err, errlen, "expected a reference env:NAME or file:PATH");
		return -1;
	}
	if (rc == -1)
		return -1;
	if ((s->ref = strdup(text)) == NULL) {
		explicit_bzero(value, strlen(value));
		free(value);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->value = value;
	return 0;
}

void
secret_release(struct secret *s)
{
	if (s->value != NULL) {
		explicit_bzero(s->value, strlen(s->value));
		free(s->value);
	}
	free(s->ref);
	s->ref = NULL;
	s->value = NULL;
}
