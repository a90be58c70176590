/*
 * The catalogue of Jamf Pro plan failure reasons and plan states. The sentences end up in
 * Slack and Teams alerts read by Mac admins, so each says what happened and one concrete thing
 * to do, in plain ASCII, under 160 characters. Reasons named after a step of Jamf's own state
 * machine (ACCEPT_PLAN_FAILURE, QUEUE_..._FAILURE, IS_..._FAILURE) are Jamf failing inside that
 * step, unless the step waits for the device, in which case the device did not deliver.
 */
#include "reasons.h"

#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Shared hints: the steps below fail in Jamf Pro, and a new plan usually gets through. */
#define HINT_JAMF_STEP \
	"bridge retries on a later run; if it repeats for many devices, contact Jamf Support " \
	"with the plan UUID."
#define HINT_QUEUE \
	"bridge retries on a later run; if it repeats, check the device's pending MDM commands " \
	"and Jamf Pro's push certificate."

/* Sorted by code (strcmp) for bsearch; test_reasons checks the order and the enum. */
static const struct reason_info reasons[] = {
	{"ACCEPT_PLAN_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro failed while accepting the plan after it passed validation.",
	    HINT_JAMF_STEP},
	{"ACTION_NOT_SUPPORTED_FOR_DEVICE_TYPE", REASON_SETUP,
	    "The plan's update action is not supported on this type of device.",
	    "Check the updateAction the policy sends (bridge render --policy NAME), or keep this "
	    "device type out of the policy's scope."},
	{"APPLE_SILICON_NO_ESCROW_KEY", REASON_DEVICE,
	    "Jamf Pro holds no bootstrap token for this Apple silicon Mac, so MDM cannot "
	    "authorize the update.",
	    "Have a user with a secure token sign in, or run sudo profiles install -type "
	    "bootstraptoken; see Inventory > Security > Bootstrap Token Escrowed."},
	{"APPLE_SOFTWARE_LOOKUP_SERVICE_ERROR", REASON_TRANSIENT,
	    "Jamf Pro could not get the available updates from Apple's software lookup service.",
	    "bridge retries on a later run; if it lasts, check Apple's system status page and "
	    "that Jamf Pro can reach gdmf.apple.com."},
	{"DATA_INTEGRITY_VIOLATION_EXCEPTION", REASON_TRANSIENT,
	    "Jamf Pro hit a database consistency error while saving the plan.",
	    "bridge retries on a later run; if it repeats for the device, contact Jamf Support "
	    "with the plan UUID."},
	{"DECLARATIVE_DEVICE_MANAGEMENT_SOFTWARE_UPDATES_NOT_SUPPORTED_FOR_DEVICE_OS_VERSION",
	    REASON_DEVICE,
	    "The plan needs declarative software updates, which this OS version lacks (macOS 14 "
	    "and iOS 17 or later have them).",
	    "Refresh the device's inventory to confirm its OS version; a device this old must be "
	    "upgraded before it can take a BSI."},
	{"DECLARATIVE_DEVICE_MANAGEMENT_SOFTWARE_UPDATES_NOT_SUPPORTED_FOR_DEVICE_TYPE",
	    REASON_SETUP,
	    "This type of device cannot take declarative software updates, which the plan needs.",
	    "Keep devices of this type out of the policy's scope groups, for example with a smart "
	    "group on model."},
	{"DECLARATIVE_DEVICE_MANAGEMENT_STATUS_RESPONSE_FAILURE_REASON_RECEIVED", REASON_DEVICE,
	    "The device reported through its DDM status that installing the update failed.",
	    "Read softwareupdate.failure-reason in the device's DDM status items; disk space, "
	    "battery and download errors are typical."},
	{"DECLARATIVE_SERVICE_ERROR", REASON_TRANSIENT,
	    "Jamf Pro's declarative management service failed while sending the update "
	    "declaration.",
	    "bridge retries on a later run; if many devices show it, check Jamf's status page and "
	    "contact Jamf Support."},
	{"DOWNGRADE_NOT_SUPPORTED", REASON_COMPLIANT,
	    "Jamf Pro declined the plan because the device already runs the target version or a "
	    "newer one.",
	    "Nothing to do if inventory shows it at or past the target; if not, refresh its "
	    "inventory and compare with bridge render."},
	{"EXISTING_PLAN_FOR_DEVICE_IN_PROGRESS", REASON_TRANSIENT,
	    "Another software update plan for this device is still running, and Jamf Pro allows "
	    "one at a time.",
	    "bridge retries on a later run; a stuck plan clears only by turning Jamf's plans "
	    "feature off and on, which cancels every plan."},
	{"HANDLE_COMMAND_QUEUE_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro failed while handling the device's MDM command queue for the update.",
	    "bridge retries on a later run; if it repeats, clear failed or stuck commands in the "
	    "device's Management History."},
	{"ILLEGAL_ARGUMENT_EXCEPTION", REASON_SETUP,
	    "Jamf Pro could not use a value of the plan, such as its version, build, action or "
	    "install date-time.",
	    "Check the plan the policy sends with bridge render --policy NAME; fix the template "
	    "or the policy, then rerun."},
	{"INSTALL_REASON_UNKNOWN", REASON_DEVICE,
	    "The update was not installed, and neither the device nor Jamf Pro said why.",
	    "Read the plan's events in Jamf Pro and, on a Mac, the softwareupdated log "
	    "(log show --predicate 'process == \"softwareupdated\"')."},
	{"INVALID_CONFIGURATION_DECLARATION", REASON_SETUP,
	    "The software update declaration built from the plan is invalid, so the device "
	    "cannot apply it.",
	    "Check the policy's templates with bridge render: TargetOSVersion must not contain "
	    "\"(a)\", and the build and date-time must be exact."},
	{"IS_DOWNLOADED_AND_NEEDS_INSTALL_FAILURE", REASON_DEVICE,
	    "The update was downloaded, but the step that has the device install it failed.",
	    "Check free space and power, and on Apple silicon that a bootstrap token is escrowed; "
	    "then watch the next plan."},
	{"IS_DOWNLOAD_ONLY_AND_DOWNLOADED_FAILURE", REASON_DEVICE,
	    "A download-only plan failed while Jamf Pro checked that the device had downloaded "
	    "the update.",
	    "Check the device's free space and that it can reach Apple's update servers "
	    "(swscan.apple.com, swcdn.apple.com)."},
	{"IS_INSTALLED_FAILURE", REASON_DEVICE,
	    "Jamf Pro could not confirm from the device's update status that the update was "
	    "installed.",
	    "Refresh the device's inventory; if it is still on the old build, check its free "
	    "space and softwareupdated log."},
	{"IS_LATEST_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro failed while checking the device's available updates for the latest "
	    "version.",
	    HINT_JAMF_STEP},
	{"IS_MAC_OS_UPDATE_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro failed while working out whether the device's update is a macOS update.",
	    HINT_JAMF_STEP},
	{"IS_SPECIFIC_VERSION_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro failed while matching the plan's version against the updates the device "
	    "offers.",
	    HINT_JAMF_STEP},
	{"MDM_CLIENT_EXCEPTION", REASON_TRANSIENT,
	    "An MDM command for the update failed between Jamf Pro and the device.",
	    "bridge retries on a later run; if it repeats, check the device's failed commands in "
	    "its Management History."},
	{"MDM_EXCEPTION", REASON_TRANSIENT,
	    "Jamf Pro's MDM service hit an error while processing the update for this device.",
	    "bridge retries on a later run; if many devices show it, check Jamf Pro's push "
	    "certificate and contact Jamf Support."},
	{"NOT_MANAGED", REASON_DEVICE,
	    "Jamf Pro does not consider the device managed, so it cannot send it update commands.",
	    "Check Managed in the device's inventory and its MDM profile (sudo profiles status "
	    "-type enrollment); re-enroll it if needed."},
	{"NOT_SUPERVISED", REASON_DEVICE,
	    "The device is not supervised, and enforced software updates need supervision.",
	    "Supervise it by enrolling through Automated Device Enrollment (Apple Business or "
	    "School Manager); see Supervised in inventory."},
	{"NO_DEVICE_STATUS_BY_GRACE_PERIOD", REASON_DEVICE,
	    "The device never reported its update status to Jamf Pro within the plan's grace "
	    "period.",
	    "Check it is on, online and checking in (last check-in, a Blank Push); an offline, "
	    "lost or wiped device often shows this."},
	{"NO_DISK_SPACE", REASON_DEVICE,
	    "The device does not have enough free storage to download and prepare the update.",
	    "Free up storage on the device (a macOS update can need well over 10 GB), then check "
	    "that the next plan succeeds."},
	{"NO_UPDATES_AVAILABLE", REASON_COMPLIANT,
	    "No update matching the plan is available to the device, often because it is "
	    "already up to date.",
	    "Fine if inventory shows it at or past the target; if not, look for a software update "
	    "deferral restriction or blocked Apple servers."},
	{"PLAN_NOT_FOUND", REASON_TRANSIENT,
	    "Jamf Pro lost the plan while processing it, for example after the plans feature was "
	    "turned off and on.",
	    "bridge retries on a later run if the device still needs the update; nothing to fix on "
	    "the device."},
	{"QUEUE_AVAILABLE_OS_UPDATE_COMMAND_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro could not queue the AvailableOSUpdates command that lists the device's "
	    "updates.",
	    HINT_QUEUE},
	{"QUEUE_OS_UPDATE_STATUS_COMMAND_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro could not queue the OSUpdateStatus command that reads the update's progress.",
	    HINT_QUEUE},
	{"QUEUE_SCHEDULED_OS_UPDATE_SCAN_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro could not queue the ScheduleOSUpdateScan command that makes the device look "
	    "for updates.",
	    HINT_QUEUE},
	{"QUEUE_SCHEDULE_OS_UPDATE_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro could not queue the ScheduleOSUpdate command that tells the device to "
	    "install.",
	    HINT_QUEUE},
	{"REJECT_PLAN_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro failed while rejecting the plan after a validation error, so that error was "
	    "lost.",
	    "bridge retries on a later run; the next plan shows the real validation error, if "
	    "there still is one."},
	{"SCAN_WAIT_FINISHED_FAILURE", REASON_DEVICE,
	    "The device did not finish its software update scan while Jamf Pro waited for it.",
	    "Check the device is online and can reach Apple's update servers; restarting it often "
	    "unsticks softwareupdated."},
	{"SCHEDULE_PLAN_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro failed while scheduling the accepted plan.",
	    HINT_JAMF_STEP},
	{"SPECIFIC_VERSION_UNAVAILABLE", REASON_DEVICE,
	    "Apple does not offer the plan's version and build to this device, or no longer "
	    "offers them at all.",
	    "bridge targets only devices on the BSI's base build: refresh the device's inventory, "
	    "and check the BSI is still in Apple's feed."},
	{"SPECIFIC_VERSION_UNAVAILABLE_FOR_DEVICE_MODEL", REASON_DEVICE,
	    "Apple does not offer the plan's version for this device's model.",
	    "Compare the software update device ID in inventory (e.g. J413AP) with the BSI's "
	    "SupportedDevices; refresh inventory if it is missing."},
	{"START_PLAN_FAILURE", REASON_TRANSIENT,
	    "Jamf Pro failed while starting the accepted plan.",
	    HINT_JAMF_STEP},
	{"STILL_IN_PROGRESS_FAILURE", REASON_DEVICE,
	    "The device kept reporting the update as in progress until Jamf Pro stopped waiting.",
	    "Look for a stalled download or install (free space, network, a pending restart); "
	    "restarting the device often clears it."},
	{"UNABLE_TO_FIND_UPDATES_AND_OUT_OF_RETRIES", REASON_DEVICE,
	    "The device's update scans never listed the plan's version, and Jamf Pro ran out of "
	    "retries.",
	    "Look for a software update deferral restriction or a proxy blocking Apple's update "
	    "servers, and confirm the device's build."},
	{"UNKNOWN", REASON_DEVICE,
	    "Jamf Pro gave no specific reason for the failure.",
	    "Read the plan's events in Jamf Pro and the device's Management History to see which "
	    "step failed."},
	{"VERIFY_INSTALLATION_FAILURE", REASON_DEVICE,
	    "After the install, Jamf Pro could not verify that the device runs the target "
	    "version.",
	    "Refresh the device's inventory (sudo jamf recon); if the old build remains, the "
	    "install did not finish: check softwareupdated."},
	{"WAIT_TO_COLLECT_OS_UPDATE_STATUS_FAILURE", REASON_DEVICE,
	    "The device did not answer Jamf Pro's requests for its update status in time.",
	    "Check it is online and checking in with Jamf Pro; send a Blank Push and refresh its "
	    "inventory."},
};

/* PlanStatus.state as Jamf Pro 11.25.2 lists it. */
static const char *const plan_states[] = {
	"Init", "PendingPlanValidation", "AcceptingPlan", "RejectingPlan", "ProcessingPlanType",
	"ProcessingPlanTypeMdm", "StartingPlan", "PlanFailed", "SchedulingScanForOSUpdates",
	"ProcessingScheduleOSUpdateScanResponse", "WaitingForScheduledOSUpdateScanToComplete",
	"CollectingAvailableOSUpdates", "ProcessingAvailableOSUpdatesResponse",
	"ProcessingSchedulingType", "SchedulingDDM", "DDMPlanScheduled", "WaitingToStartDDMUpdate",
	"ProcessingDDMStatusResponse", "CollectingDDMStatus", "SchedulingMDM", "MDMPlanScheduled",
	"SchedulingOSUpdate", "ProcessingScheduleOSUpdateResponse", "CollectingOSUpdateStatus",
	"ProcessingOSUpdateStatusResponse", "WaitingToCollectOSUpdateStatus",
	"VerifyingInstallation", "ProcessingInstallationVerification", "PlanCompleted",
	"PlanCanceled", "PlanException", "Unknown",
};

/* The states whose phase is not IN_PROGRESS; every one is also in plan_states. */
static const struct {
	const char *state;
	enum plan_phase phase;
} plan_phases[] = {
	{"Init", PLAN_PENDING},
	{"PendingPlanValidation", PLAN_PENDING},
	{"PlanCompleted", PLAN_COMPLETED},
	{"PlanFailed", PLAN_FAILED},
	{"PlanException", PLAN_FAILED},
	{"PlanCanceled", PLAN_CANCELED},
	{"Unknown", PLAN_UNKNOWN},
};

/* bsearch comparison of a code with a catalogue entry. */
static int
reason_compare(const void *key, const void *entry)
{
	return strcmp(key, ((const struct reason_info *)entry)->code);
}

const struct reason_info *
reason_lookup(const char *code)
{
	if (code == NULL)
		return NULL;
	return bsearch(code, reasons, NELEM(reasons), sizeof(reasons[0]), reason_compare);
}

const struct reason_info *
reason_all(size_t *n)
{
	*n = NELEM(reasons);
	return reasons;
}

const char *
reason_kind_name(enum reason_kind k)
{
	static const char *const names[] = {"device", "setup", "transient", "compliant"};

	return (size_t)k < NELEM(names) ? names[k] : "?";
}

enum plan_phase
plan_phase_of(const char *state)
{
	if (state == NULL)
		return PLAN_UNKNOWN;
	for (size_t i = 0; i < NELEM(plan_phases); i++)
		if (strcmp(plan_phases[i].state, state) == 0)
			return plan_phases[i].phase;
	for (size_t i = 0; i < NELEM(plan_states); i++)
		if (strcmp(plan_states[i], state) == 0)
			return PLAN_IN_PROGRESS;
	/* A state newer than our enum: do not guess whether it is final. */
	return PLAN_UNKNOWN;
}

const char *
plan_phase_name(enum plan_phase p)
{
	static const char *const names[] = {"pending", "in_progress", "completed", "failed",
		"canceled", "unknown"};

	return (size_t)p < NELEM(names) ? names[p] : "?";
}

const char *const *
plan_states_all(size_t *n)
{
	*n = NELEM(plan_states);
	return plan_states;
}
