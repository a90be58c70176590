/*
 * Files on disk. The feed cache and the state file must survive a crash or a full disk at any
 * moment, so they are replaced the way redis saves rdb files: temp file, fsync, rename, fsync
 * of the folder.
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum fileio_status
fileio_read(const char *path, size_t cap, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, size;
	int fd, saved;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return FILEIO_ERROR;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	/* room for the file as it is now (plus one byte to see it grew), never past cap + 1 */
	size = (size_t)st.st_size < cap ? (size_t)st.st_size + 2 : cap + 2;
	if ((buf = malloc(size)) == NULL)
		goto fail;
	for (;;) {
		ssize_t r;

		if (n + 1 >= size && size < cap + 2) {  /* it grew while being read */
			size_t more = size * 2 < cap + 2 ? size * 2 : cap + 2;
			char *grown = realloc(buf, more);

			if (grown == NULL)
				goto fail;
			buf = grown;
			size = more;
		}
		r = read(fd, buf + n, size - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > cap) {
			free(buf);
			(void)close(fd);
			return FILEIO_TOO_BIG;
		}
	}
	if (close(fd) == -1) {
		free(buf);
		return FILEIO_ERROR;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return FILEIO_OK;
fail:
	saved = errno;
	free(buf);
	(void)close(fd);
	errno = saved;
	return FILEIO_ERROR;
}

/* fsync the folder holding path, so that a rename in it is durable. */
static int
fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return errno = ENAMETOOLONG, -1;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

int
fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	const char *p = data;
	int fd, n, saved;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return errno = ENAMETOOLONG, -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)) == -1)
		return -1;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	return fsync_parent(path);
fail:
	saved = errno;
	if (fd != -1)
		(void)close(fd);
	(void)unlink(tmp);
	errno = saved;
	return -1;
}

int
fileio_mkdirs(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(buf, mode) == -1 && errno != EEXIST)
				return -1;
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	return 0;
}

int
fileio_path_in(const char *dir, const char *name, char *buf)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}
