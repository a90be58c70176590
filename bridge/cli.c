/*
 * The command line. One table describes every command and option; parsing and help text both
 * come from it, so `bridge --help` cannot drift from what is accepted.
 * Keep bridge.1 in step with the text here.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#ifndef BRIDGE_SYSCONFDIR
#define BRIDGE_SYSCONFDIR "/usr/local/etc"
#endif

/* Command options, as bits: which command accepts which. */
enum cli_opt {
	OPT_DRY_RUN = 1 << 0,
	OPT_REFRESH = 1 << 1,
	OPT_PLATFORM = 1 << 2,
	OPT_BSI = 1 << 3,
	OPT_POLICY = 1 << 4,
	OPT_DEVICES = 1 << 5,
	OPT_DEVICE = 1 << 6,
	OPT_SEND_TEST_ALERT = 1 << 7,
	OPT_FULL = 1 << 8,
};

static const struct {
	unsigned bit;
	const char *name;
} option_names[] = {
	{OPT_DRY_RUN, "--dry-run"}, {OPT_REFRESH, "--refresh"}, {OPT_PLATFORM, "--platform"},
	{OPT_BSI, "--bsi"}, {OPT_POLICY, "--policy"}, {OPT_DEVICES, "--devices"},
	{OPT_DEVICE, "--device"}, {OPT_SEND_TEST_ALERT, "--send-test-alert"},
	{OPT_FULL, "--full"},
};

struct cli_command_info {
	const char *name;
	enum cli_command command;
	unsigned options;
	const char *args;     /* synopsis after the name */
	const char *summary;  /* one line for the command list */
	const char *help;     /* the command's own help */
};

static const struct cli_command_info commands[] = {
	{"sync", CLI_SYNC, OPT_DRY_RUN | OPT_REFRESH | OPT_FULL, "[--dry-run] [--refresh] [--full]",
	    "enforce the policies: feed, inventory, decide, create plans or blueprints",
	    "Run the cycle once: read the GDMF feed, read inventory, decide which device needs\n"
	    "which BSI by when, and create plans or blueprints in Jamf, each exactly once (a\n"
	    "lock, a state file and an intent journal in state_dir); then follow what earlier\n"
	    "runs created and count each plan as done, compliant, in progress, stuck, failed or\n"
	    "late, and send each alert webhook one digest of what is new, still there or\n"
	    "resolved. Prints per policy the counts by ring and target, not each device\n"
	    "(`bridge plan` and `bridge status --devices` do). Meant for cron or a systemd timer.\n"
	    "With watch.interval set, a tenant is left alone (no request to Jamf) while nothing is\n"
	    "new since its last full run: the same feed entries, policy file, templates and state\n"
	    "file, nothing left open, and nine tenths of the interval not over.\n"
	    "  --dry-run    decide and report, but send no write request (same as `bridge plan`)\n"
	    "  --refresh    fetch the feed even if the cached copy is younger than gdmf.refresh\n"
	    "  --full       read Jamf for every tenant now, even before watch.interval is over\n"},
	{"plan", CLI_PLAN, OPT_POLICY | OPT_REFRESH, "[--policy NAME] [--refresh]",
	    "show what sync would do and why, changing nothing",
	    "Print every action sync would take, with its reason, and counts per policy, ring\n"
	    "and BSI. Sends no write request to Jamf.\n"
	    "  --policy NAME  only this policy\n"
	    "  --refresh      fetch the feed even if the cached copy is fresh\n"},
	{"feed", CLI_FEED, OPT_PLATFORM | OPT_BSI | OPT_REFRESH,
	    "[--platform P] [--bsi] [--refresh]",
	    "list the releases and BSIs in Apple's GDMF feed",
	    "Print the feed's entries as a table (or JSON with --json).\n"
	    "  --platform P  only platform P (macOS, iOS, visionOS, ...)\n"
	    "  --bsi         only Background Security Improvements\n"
	    "  --refresh     fetch the feed even if the cached copy is fresh\n"},
	{"status", CLI_STATUS, OPT_POLICY | OPT_DEVICES, "[--policy NAME] [--devices]",
	    "show what bridge enforces and how each device stands",
	    "Per policy, target and ring: the devices bridge targets counted as done,\n"
	    "compliant, in_progress, stuck, failed or late, the deadline, the plan stuck the\n"
	    "longest, and the failure reasons with what they mean and how to fix them. Reads\n"
	    "the state file, inventory and bridge's plans (in bulk); takes no lock and writes\n"
	    "nothing.\n"
	    "  --policy NAME  only this policy\n"
	    "  --devices      one row per device\n"},
	{"check", CLI_CHECK, 0, "",
	    "validate the policy file, its regexes, secret references and file paths",
	    "Load the policy file, report every problem as FILE:LINE:COL: message, and print a\n"
	    "short summary of the tenants, policies and alerts. Talks to no server.\n"},
	{"doctor", CLI_DOCTOR, OPT_SEND_TEST_ALERT, "[--send-test-alert]",
	    "check credentials, privileges, feature toggles, TLS trust and webhooks",
	    "Check every endpoint the policy file names and print a checklist with a fix for\n"
	    "each failing line: TLS trust and token of Jamf Pro (and of the Jamf Platform for\n"
	    "blueprint policies), the read privileges a run needs, the plans feature toggle and\n"
	    "customVersionEnabled (plan policies), the custom-declaration component (blueprint\n"
	    "policies) and every group the policies name. Exit 0 only when every check passed,\n"
	    "else 1. With --tenant, only those tenants.\n"
	    "  --send-test-alert  also send a test message to every webhook\n"},
	{"render", CLI_RENDER, OPT_POLICY | OPT_DEVICE, "--policy NAME [--device ID]",
	    "print the exact plan request, or declaration and blueprint, for a device",
	    "Print exactly what would be sent to Jamf for one policy and one device (by default\n"
	    "the first device the policy would send something to): the plan request body, or\n"
	    "the declaration payload and the blueprint body. Sends no write request.\n"
	    "  --policy NAME  the policy (required)\n"
	    "  --device ID    the Jamf id of one device\n"},
	{"version", CLI_VERSION, 0, "", "print the version of bridge and its libraries",
	    "Print bridge's version and the versions of the libraries it runs with.\n"},
	{"help", CLI_HELP, 0, "[COMMAND]", "show this help, or a command's help",
	    "Show the help for COMMAND, or for bridge as a whole.\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_options_help[] =
    "Options (before or after the command):\n"
    "  -c, --config FILE  policy file (default: $BRIDGE_CONFIG, else "
    BRIDGE_SYSCONFDIR "/bridge/bridge.yaml)\n"
    "  -v, --verbose      more detail on stderr; -vv adds HTTP traces (secrets redacted)\n"
    "  -q, --quiet        only warnings and errors on stderr\n"
    "      --json         print the command's result on stdout as JSON\n"
    "      --log-json     print log lines on stderr as JSON\n"
    "      --tenant NAME  only this tenant (repeatable)\n"
    "  -h, --help         show help\n"
    "  -V, --version      show the version\n";

static const char exit_status_help[] =
    "Exit status:\n"
    "  0  everything done\n"
    "  1  the run finished, but a tenant or policy failed, Jamf refused a create, a\n"
    "     deployment failed or a webhook could not be reached\n"
    "  2  usage or configuration error\n"
    "  3  authentication with Jamf failed\n"
    "  4  the GDMF feed is unavailable and there is no usable cached copy\n"
    "  5  another bridge run holds the lock\n";

/* The table entry for command c, or NULL. */
static const struct cli_command_info *
command_info(enum cli_command c)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (commands[i].command == c)
			return &commands[i];
	return NULL;
}

/* The command named name, or CLI_NONE. */
static enum cli_command
command_by_name(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return commands[i].command;
	return CLI_NONE;
}

const char *
cli_command_name(enum cli_command c)
{
	const struct cli_command_info *info = command_info(c);

	return info != NULL ? info->name : "";
}

void
cli_usage(FILE *out)
{
	fprintf(out, "usage: bridge [-c FILE] [-v|-q] [--json] COMMAND [ARGS]\n"
	    "Try 'bridge --help' for the commands.\n");
}

void
cli_help(FILE *out, enum cli_command topic)
{
	const struct cli_command_info *info = command_info(topic);

	if (info != NULL && topic != CLI_HELP) {
		fprintf(out, "usage: bridge [OPTIONS] %s%s%s\n\n%s\n%s", info->name,
		    info->args[0] ? " " : "", info->args, info->help, global_options_help);
		return;
	}
	fprintf(out, "usage: bridge [-c FILE] [-v|-q] [--json] COMMAND [ARGS]\n\n"
	    "bridge enforces Apple's Background Security Improvements on a Jamf Pro fleet.\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n%s\n%s\nSee bridge(1) and bridge.yaml(5).\n", global_options_help,
	    exit_status_help);
}

/* Set the value of an option that takes one; 0, or -1 with err when it is missing. */
static int
take_value(const char *opt, const char *inline_value, int argc, char *const argv[], int *i,
    const char **out, char *err, size_t errlen)
{
	if (inline_value != NULL) {
		*out = inline_value;
	} else if (*i + 1 < argc) {
		*out = argv[++*i];
	} else {
		snprintf(err, errlen, "option '%s' needs a value", opt);
		return -1;
	}
	if ((*out)[0] == '\0') {
		snprintf(err, errlen, "option '%s' needs a non-empty value", opt);
		return -1;
	}
	return 0;
}

/* Handle one long option (name without "--", possibly "name=value"). */
static int
long_option(struct cli_options *o, const char *arg, int argc, char *const argv[], int *i,
    unsigned *used, char *err, size_t errlen)
{
	char name[32];
	const char *eq = strchr(arg, '='), *value = eq != NULL ? eq + 1 : NULL;
	size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	const char *tenant = NULL;

	if (len >= sizeof(name)) {
		snprintf(err, errlen, "unknown option '--%.40s'", arg);
		return -1;
	}
	memcpy(name, arg, len);
	name[len] = '\0';

	/* options that take a value */
	if (strcmp(name, "config") == 0)
		return take_value("--config", value, argc, argv, i, &o->config_path, err, errlen);
	if (strcmp(name, "tenant") == 0) {
		if (take_value("--tenant", value, argc, argv, i, &tenant, err, errlen) == -1)
			return -1;
		if (o->ntenants == CLI_MAX_TENANTS) {
			snprintf(err, errlen, "too many --tenant options (at most %d)",
			    CLI_MAX_TENANTS);
			return -1;
		}
		o->tenants[o->ntenants++] = tenant;
		return 0;
	}
	if (strcmp(name, "platform") == 0) {
		*used |= OPT_PLATFORM;
		return take_value("--platform", value, argc, argv, i, &o->platform, err, errlen);
	}
	if (strcmp(name, "policy") == 0) {
		*used |= OPT_POLICY;
		return take_value("--policy", value, argc, argv, i, &o->policy, err, errlen);
	}
	if (strcmp(name, "device") == 0) {
		*used |= OPT_DEVICE;
		return take_value("--device", value, argc, argv, i, &o->device, err, errlen);
	}

	/* flags */
	if (value != NULL) {
		snprintf(err, errlen, "option '--%s' takes no value", name);
		return -1;
	}
	if (strcmp(name, "verbose") == 0)
		o->verbosity = o->verbosity < 0 ? 1 : o->verbosity + 1;
	else if (strcmp(name, "quiet") == 0)
		o->verbosity = -1;
	else if (strcmp(name, "json") == 0)
		o->json = true;
	else if (strcmp(name, "log-json") == 0)
		o->log_json = true;
	else if (strcmp(name, "help") == 0)
		o->help = true;
	else if (strcmp(name, "version") == 0)
		o->version = true;
	else if (strcmp(name, "dry-run") == 0)
		o->dry_run = true, *used |= OPT_DRY_RUN;
	else if (strcmp(name, "refresh") == 0)
		o->refresh = true, *used |= OPT_REFRESH;
	else if (strcmp(name, "full") == 0)
		o->full = true, *used |= OPT_FULL;
	else if (strcmp(name, "bsi") == 0)
		o->bsi_only = true, *used |= OPT_BSI;
	else if (strcmp(name, "devices") == 0)
		o->devices = true, *used |= OPT_DEVICES;
	else if (strcmp(name, "send-test-alert") == 0)
		o->send_test_alert = true, *used |= OPT_SEND_TEST_ALERT;
	else {
		snprintf(err, errlen, "unknown option '--%s'", name);
		return -1;
	}
	return 0;
}

/* Handle a cluster of short options such as "-vv" or "-cFILE". */
static int
short_options(struct cli_options *o, const char *arg, int argc, char *const argv[], int *i,
    bool *quiet, bool *verbose, char *err, size_t errlen)
{
	for (const char *p = arg + 1; *p != '\0'; p++) {
		switch (*p) {
		case 'c':
			return take_value("-c", p[1] != '\0' ? p + 1 : NULL, argc, argv, i,
			    &o->config_path, err, errlen);
		case 'v':
			*verbose = true;
			o->verbosity = o->verbosity < 0 ? 1 : o->verbosity + 1;
			break;
		case 'q':
			*quiet = true;
			o->verbosity = -1;
			break;
		case 'h':
			o->help = true;
			break;
		case 'V':
			o->version = true;
			break;
		default:
			snprintf(err, errlen, "unknown option '-%c'", *p);
			return -1;
		}
	}
	return 0;
}

int
cli_parse(struct cli_options *o, int argc, char *const argv[], char *err, size_t errlen)
{
	const struct cli_command_info *info;
	bool quiet = false, verbose = false, only_operands = false;
	unsigned used = 0;
	const char *env;

	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!only_operands && strcmp(arg, "--") == 0) {
			only_operands = true;
		} else if (!only_operands && strncmp(arg, "--", 2) == 0) {
			if (long_option(o, arg + 2, argc, argv, &i, &used, err, errlen) == -1)
				return -1;
			if (strcmp(arg, "--quiet") == 0)
				quiet = true;
			if (strcmp(arg, "--verbose") == 0)
				verbose = true;
		} else if (!only_operands && arg[0] == '-' && arg[1] != '\0') {
			if (short_options(o, arg, argc, argv, &i, &quiet, &verbose, err,
			    errlen) == -1)
				return -1;
		} else if (o->command == CLI_NONE) {
			if ((o->command = command_by_name(arg)) == CLI_NONE) {
				snprintf(err, errlen, "unknown command '%s'", arg);
				return -1;
			}
		} else if (o->command == CLI_HELP && o->help_topic == CLI_NONE) {
			if ((o->help_topic = command_by_name(arg)) == CLI_NONE) {
				snprintf(err, errlen, "no help for unknown command '%s'", arg);
				return -1;
			}
		} else {
			snprintf(err, errlen, "unexpected argument '%s'", arg);
			return -1;
		}
	}
	if (o->version && o->command != CLI_NONE && o->command != CLI_VERSION) {
		snprintf(err, errlen, "-V/--version stands instead of a command, not with '%s'",
		    cli_command_name(o->command));
		return -1;
	}
	if (o->version)
		o->command = CLI_VERSION;
	if (quiet && verbose) {
		snprintf(err, errlen, "use either -q or -v, not both");
		return -1;
	}
	if (o->command == CLI_HELP) {
		o->help = true;
	} else if (o->help) {
		o->help_topic = o->command;
	}
	if (o->help)
		return 0;
	if (o->command == CLI_NONE) {
		snprintf(err, errlen, "no command given");
		return -1;
	}
	info = command_info(o->command);
	for (size_t k = 0; k < sizeof(option_names) / sizeof(option_names[0]); k++) {
		if ((used & option_names[k].bit) && !(info->options & option_names[k].bit)) {
			snprintf(err, errlen, "'%s' does not accept %s (see 'bridge help %s')",
			    info->name, option_names[k].name, info->name);
			return -1;
		}
	}
	if (o->command == CLI_RENDER && o->policy == NULL) {
		snprintf(err, errlen, "'render' needs --policy NAME");
		return -1;
	}
	if (o->config_path == NULL) {
		env = getenv("BRIDGE_CONFIG");
		o->config_path = env != NULL && env[0] != '\0' ? env :
		    BRIDGE_SYSCONFDIR "/bridge/bridge.yaml";
	}
	return 0;
}
