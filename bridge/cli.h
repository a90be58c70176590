/* The command line: commands, options, help text. */
#ifndef BRIDGE_CLI_H
#define BRIDGE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cli_command {
	CLI_NONE,
	CLI_SYNC,
	CLI_PLAN,
	CLI_FEED,
	CLI_STATUS,
	CLI_CHECK,
	CLI_DOCTOR,
	CLI_RENDER,
	CLI_VERSION,
	CLI_HELP,
};

#define CLI_MAX_TENANTS 64

/* Everything the command line said. Strings point into argv or the environment. */
struct cli_options {
	enum cli_command command;
	const char *config_path;   /* -c, else $BRIDGE_CONFIG, else the installed default */
	int verbosity;             /* -1 quiet, 0 normal, 1 -v, 2 -vv */
	bool json;                 /* results on stdout as JSON */
	bool log_json;             /* log lines on stderr as JSON */
	bool help;                 /* --help, or the help command */
	bool version;              /* -V, --version */
	enum cli_command help_topic;
	const char *tenants[CLI_MAX_TENANTS];
	size_t ntenants;
	/* command options */
	bool dry_run;
	bool refresh;
	bool full;
	bool bsi_only;
	bool devices;
	bool send_test_alert;
	const char *platform;
	const char *policy;
	const char *device;
};

/*
 * Parse argv into o. Global options may come before or after the command. Returns 0, or -1
 * with a one-line reason in err (a usage error).
 */
int cli_parse(struct cli_options *o, int argc, char *const argv[], char *err, size_t errlen);

/* Print the help for topic (CLI_NONE: the whole program) to out. */
void cli_help(FILE *out, enum cli_command topic);

/* Print the one-line usage, for usage errors. */
void cli_usage(FILE *out);

/* The command's name as typed. */
const char *cli_command_name(enum cli_command c);

#endif
