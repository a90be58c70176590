/*
 * runstat: run a command and report its CPU time and peak resident memory.
 *
 *     runstat OUTFILE COMMAND [ARG...]
 *
 * Runs COMMAND, waits for it, writes one JSON line to OUTFILE:
 *     {"status": N, "signal": N, "utime_us": N, "stime_us": N, "maxrss_kib": N}
 * and exits with COMMAND's exit status (128 + signal if it was killed).
 *
 * Why not wait4() from the benchmark itself: Linux folds the memory high-water mark of the
 * process image that exec() replaces into the new program's ru_maxrss, so a program started
 * straight from a large Python process reports Python's peak, not its own.  This process is
 * small and forks before the exec, so the figure it reads belongs to COMMAND.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Microseconds in a struct timeval. */
static long long
usec(struct timeval tv)
{
	return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	FILE *out = NULL;
	pid_t pid;
	int status = 0, code, sig = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: runstat OUTFILE COMMAND [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid == -1) {
		fprintf(stderr, "runstat: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "runstat: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) == -1) {
		if (errno != EINTR) {
			fprintf(stderr, "runstat: wait4: %s\n", strerror(errno));
			return 2;
		}
	}
	if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		code = 128 + sig;
	} else {
		code = WEXITSTATUS(status);
	}
	out = fopen(argv[1], "w");
	if (out == NULL) {
		fprintf(stderr, "runstat: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	fprintf(out, "{\"status\": %d, \"signal\": %d, \"utime_us\": %lld, \"stime_us\": %lld, "
	    "\"maxrss_kib\": %ld}\n", WIFSIGNALED(status) ? -1 : code, sig, usec(ru.ru_utime),
	    usec(ru.ru_stime), ru.ru_maxrss);
	if (fclose(out) != 0) {
		fprintf(stderr, "runstat: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	return code;
}
