/* Files on disk: capped reads and durable, atomic replacement. */
#ifndef BRIDGE_FILEIO_H
#define BRIDGE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

enum fileio_status {
	FILEIO_OK = 0,
	FILEIO_ERROR = -1,     /* errno says why */
	FILEIO_TOO_BIG = -2,   /* larger than the cap */
};

/*
 * Read the regular file at path, at most cap bytes, into a new NUL-terminated buffer in *out
 * (the caller frees it) and its length in *len.
 */
enum fileio_status fileio_read(const char *path, size_t cap, char **out, size_t *len);

/*
 * Replace path with data durably: write a temporary file in the same folder, flush, fsync,
 * close, rename over path, fsync the folder. Readers see the old or the new file, never a mix.
 * Returns 0, or -1 with errno set (the temporary file is removed).
 */
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* dir/name into buf (PATH_MAX bytes); 0, or -1 when it does not fit. */
int fileio_path_in(const char *dir, const char *name, char *buf);

/* Create dir and its parents with mode (like mkdir -p); 0 or -1 with errno. */
int fileio_mkdirs(const char *dir, mode_t mode);

#endif
