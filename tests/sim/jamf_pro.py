"""Simulated Jamf Pro API (the parts bridge uses), served under /api and /oidc.

Bodies follow tests/fixtures/jamf/jamf-pro-11.30.1-subset.json (and, for
mobile devices and mobile device groups, the full 11.30.1 schema, as copied
into tests/contract/jamf-pro-contract.json): same field names, types and enums.
Errors use Jamf's body {"httpStatus": N, "errors": [{"code", "field",
"description", "id"}]}; "field" is null only in 401/403 bodies, as Jamf sends
them (those statuses are not in the schema), a string everywhere else.

Authentication: OAuth client credentials (POST /api/oauth/token or
/api/v1/oauth/token) or the legacy basic-auth token (POST
/api/v1/auth/token).  Every other /api call needs a live bearer token and the
privileges listed in the schema's x-required-privileges, decided as follows
when the schema lists alternatives: computer paths need the computer
privilege, mobile paths the mobile one; smart/static group privileges follow
the group's kind; plan creation needs "Create Managed Software Updates" plus
"Read Computers" / "Read Mobile Devices" for the device type; reading plans
needs "Read Managed Software Updates" plus the device type's read privilege.

Every response under /api and /oidc sets the sticky-session cookie
APBALANCEID, and every recorded request says whether it came back
("sticky_cookie" in /_sim/requests).

Groups
------
Computer and mobile device groups are read through every list bridge uses
(/v1/computer-groups, /v3/computer-groups/..., /v1 and /v2
/mobile-device-groups/..., /v2/groups with platform ids).  Static groups of
both kinds can be written:

    /v3/computer-groups/static-groups        POST 201; on /{id}: GET 200, PUT 202,
                                             DELETE 204.  StaticComputerGroupAssignment
                                             {name, assignments: [computer ids]}; PUT
                                             replaces the name and (if given) the members
    /v2/mobile-device-groups/static-groups   POST 201; on /{id}: GET 200, PATCH 200,
                                             DELETE 204.  StaticGroupAssignment {groupName,
                                             groupDescription, siteId ("-1": the sim has
                                             no sites), assignments: [{mobileDeviceId,
                                             selected}]}: selected true adds the device,
                                             false removes it; PATCH changes only the
                                             fields given (groupName optional there)

Both: a name of 1..255 characters (400), unique among the groups of its kind
ignoring case (422 DUPLICATE_FIELD, the schema's status for a duplicate
name); unknown device ids 400 INVALID_ID; unknown group 404.  POST answers
HrefResponse {id, href}; with ?platform=true the id is the group's platform
UUID.  A new group gets the next Jamf Pro id of its kind and a platform id
(groupPlatformId), so it is listed in /v2/groups and the Platform's
device-groups API and a blueprint can be scoped to it; device inventory
(group memberships) follows it.  The privileges are the schema's: Create /
Read / Update / Delete Static Computer Groups or Static Mobile Device Groups.

Managed software update plans
-----------------------------
A plan moves through Jamf's states (PlanStatus.state) as simulated time
passes, one plan_step (5 s) apart:

    Init -> PendingPlanValidation -> (validation, 2 steps after creation)
      rejected: RejectingPlan -> PlanFailed (errorReasons: one reason)
      accepted, DDM device: AcceptingPlan -> ProcessingPlanType -> StartingPlan
        -> ProcessingSchedulingType -> SchedulingDDM -> DDMPlanScheduled
        -> WaitingToStartDDMUpdate (declaration sent; device downloads)
        -> CollectingDDMStatus (install starts at forceInstallLocalDateTime, read as
           UTC, or once downloaded) -> ProcessingDDMStatusResponse
        -> VerifyingInstallation (install done: inventory moved) ->
           ProcessingInstallationVerification -> PlanCompleted
      accepted, device without DDM: the MDM states (ProcessingPlanTypeMdm,
        SchedulingScanForOSUpdates, ..., SchedulingOSUpdate, CollectingOSUpdateStatus,
        ...) with the same timing and outcome.
      DOWNLOAD_ONLY: completes once downloaded, inventory unchanged.

Validation, against the device's inventory and the served feed at that
moment (entries outside PostingDate..ExpirationDate count as absent unless
the honor_expiry setting is off), gives the first of:

    EXISTING_PLAN_FOR_DEVICE_IN_PROGRESS  an older plan for the device is not final
    NOT_MANAGED                           the device is unmanaged
    NOT_SUPERVISED                        a mobile device that is not supervised
    SPECIFIC_VERSION_UNAVAILABLE          no (available) feed entry has the version
                                          (and, for CUSTOM_VERSION, the build)
    NO_UPDATES_AVAILABLE                  LATEST_*: nothing for the model
    DOWNGRADE_NOT_SUPPORTED               device already at or past the target (for a
                                          BSI: its build or supplemental build is the
                                          target build, or its version is newer)
    SPECIFIC_VERSION_UNAVAILABLE_FOR_DEVICE_MODEL  the target's SupportedDevices lack
                                          the device's softwareUpdateDeviceId
    SPECIFIC_VERSION_UNAVAILABLE          a BSI whose PrerequisiteBuild is not the
                                          device's build (decision: Jamf/Apple offer
                                          nothing else for such a device)

After acceptance a device flagged (control API) with sim.installFailure fails
the install: PlanFailed with
DECLARATIVE_DEVICE_MANAGEMENT_STATUS_RESPONSE_FAILURE_REASON_RECEIVED; one
flagged unresponsive never reports: PlanFailed with
NO_DEVICE_STATUS_BY_GRACE_PERIOD after grace_seconds.  Turning the feature
toggle off cancels every unfinished plan (PlanCanceled) when the switch
completes.  While the toggle is off or switching, plan creation answers 400
(decision: 400 is what the schema allows; Jamf's own answer is not documented).

DDM status items
----------------
GET /api/v1/ddm/{managementId}/status-items serves one item per leaf of the
device's status (decision: dictionary items are flattened to dotted keys):
device.operating-system.family, .version, .build-version,
.supplemental.build-version (the build itself when no BSI is installed),
.supplemental.extra-version ("a", only with a BSI), softwareupdate.install-state
(none, waiting, downloading, prepared, installing, failed),
softwareupdate.pending-version.os-version ("26.3.1 (a)" or ""),
.pending-version.build-version, .pending-version.target-local-date-time (when
enforced), softwareupdate.failure-reason.count, and .reason / .timestamp after
a failure.  A device with DDM off has no items; an unknown id is 404.
"""

import base64
import binascii
import dataclasses
import functools
import gc
import itertools
import json
import urllib.parse

import fleet as fleetlib
import jamf_query as query
import sim
from fleet import COMPUTER, MOBILE, sim_uuid
from jamf_world import bearer, base_url, control, iso_millis, merge_patch, parse_local_datetime
from sim import ROUTES, HandlerError, Response, json_response

DEFAULT_CLIENT_ID = "bridge-test-client"
DEFAULT_CLIENT_SECRET = "bridge-test-secret-3f9a7c"
DEFAULT_USER = "bridge-admin"
DEFAULT_PASSWORD = "bridge-basic-pw-8d2e"
JAMF_PRO_VERSION = "11.30.1-t1763510400"
STICKY_COOKIE_NAME = "APBALANCEID"
STICKY_COOKIE_VALUE = "aws.apse1.sim-1"
STICKY_COOKIE = f"{STICKY_COOKIE_NAME}={STICKY_COOKIE_VALUE}; Path=/; Secure"

PRIVILEGES = [
    "Read Computers", "Read Mobile Devices",
    "Read Smart Computer Groups", "Read Static Computer Groups",
    "Create Static Computer Groups", "Update Static Computer Groups", "Delete Static Computer Groups",
    "Read Smart Mobile Device Groups", "Read Static Mobile Device Groups",
    "Create Static Mobile Device Groups", "Update Static Mobile Device Groups",
    "Delete Static Mobile Device Groups",
    "Read Managed Software Updates", "Create Managed Software Updates", "Update Managed Software Updates",
    "Send Computer Remote Command to Download and Install OS X Update",
    "Send Mobile Device Remote Command to Download and Install iOS Update",
]

UPDATE_ACTIONS = ["DOWNLOAD_ONLY", "DOWNLOAD_INSTALL", "DOWNLOAD_INSTALL_ALLOW_DEFERRAL",
                  "DOWNLOAD_INSTALL_RESTART", "DOWNLOAD_INSTALL_SCHEDULE", "UNKNOWN"]
VERSION_TYPES = ["LATEST_MAJOR", "LATEST_MINOR", "LATEST_ANY", "SPECIFIC_VERSION", "CUSTOM_VERSION",
                 "UNKNOWN"]
OBJECT_TYPES = {"COMPUTER": COMPUTER, "MOBILE_DEVICE": MOBILE, "APPLE_TV": "APPLE_TV"}
GROUP_OBJECT_TYPES = {"COMPUTER_GROUP": COMPUTER, "MOBILE_DEVICE_GROUP": MOBILE}
NO_SPECIFIC_VERSION = "NO_SPECIFIC_VERSION"
FINAL_STATES = {"PlanCompleted", "PlanFailed", "PlanCanceled", "PlanException"}
DDM_ACCEPT_STATES = ["AcceptingPlan", "ProcessingPlanType", "StartingPlan", "ProcessingSchedulingType",
                     "SchedulingDDM", "DDMPlanScheduled", "WaitingToStartDDMUpdate"]
DDM_INSTALL_STATES = ["CollectingDDMStatus", "ProcessingDDMStatusResponse"]
MDM_ACCEPT_STATES = ["AcceptingPlan", "ProcessingPlanType", "ProcessingPlanTypeMdm", "StartingPlan",
                     "SchedulingScanForOSUpdates", "ProcessingScheduleOSUpdateScanResponse",
                     "WaitingForScheduledOSUpdateScanToComplete", "CollectingAvailableOSUpdates",
                     "ProcessingAvailableOSUpdatesResponse", "ProcessingSchedulingType", "SchedulingMDM",
                     "MDMPlanScheduled", "SchedulingOSUpdate", "ProcessingScheduleOSUpdateResponse"]
MDM_INSTALL_STATES = ["CollectingOSUpdateStatus", "ProcessingOSUpdateStatusResponse",
                      "WaitingToCollectOSUpdateStatus"]
VERIFY_STATES = ["VerifyingInstallation", "ProcessingInstallationVerification", "PlanCompleted"]

COMPUTER_SECTIONS = {  # section -> (key, empty value)
    "GENERAL": ("general", None), "OPERATING_SYSTEM": ("operatingSystem", None),
    "HARDWARE": ("hardware", None), "GROUP_MEMBERSHIPS": ("groupMemberships", None),
    "DISK_ENCRYPTION": ("diskEncryption", {}), "PURCHASING": ("purchasing", {}),
    "APPLICATIONS": ("applications", []), "STORAGE": ("storage", {}),
    "USER_AND_LOCATION": ("userAndLocation", {}), "CONFIGURATION_PROFILES": ("configurationProfiles", []),
    "PRINTERS": ("printers", []), "SERVICES": ("services", []),
    "LOCAL_USER_ACCOUNTS": ("localUserAccounts", []), "CERTIFICATES": ("certificates", []),
    "ATTACHMENTS": ("attachments", []), "PACKAGE_RECEIPTS": ("packageReceipts", {}),
    "SECURITY": ("security", {}), "LICENSED_SOFTWARE": ("licensedSoftware", []),
    "IBEACONS": ("ibeacons", []), "SOFTWARE_UPDATES": ("softwareUpdates", []),
    "EXTENSION_ATTRIBUTES": ("extensionAttributes", []), "CONTENT_CACHING": ("contentCaching", {}),
}
MOBILE_SECTIONS = ["GENERAL", "HARDWARE", "USER_AND_LOCATION", "PURCHASING", "SECURITY", "APPLICATIONS",
                   "EBOOKS", "NETWORK", "SERVICE_SUBSCRIPTIONS", "CERTIFICATES", "PROFILES", "USER_PROFILES",
                   "PROVISIONING_PROFILES", "SHARED_USERS", "GROUPS", "EXTENSION_ATTRIBUTES"]

# Fields Jamf allows in computers-inventory filters and sorts (from the schema's descriptions).
COMPUTER_FILTER_FIELDS = """general.name udid id general.assetTag general.barcode1 general.barcode2
general.enrolledViaAutomatedDeviceEnrollment general.lastIpAddress general.itunesStoreAccountActive
general.jamfBinaryVersion general.lastCheckIn general.lastContact general.lastEnrolledDate
general.lastCloudBackupDate general.reportDate general.lastReportedIp general.lastReportedIpV4
general.lastReportedIpV6 general.managementId general.remoteManagement.managed general.mdmCapable.capable
general.mdmCertificateExpiration general.platform general.supervised general.userApprovedMdm
general.declarativeDeviceManagementEnabled general.lastLoggedInUsernameSelfService
general.lastLoggedInUsernameSelfServiceTimestamp general.lastLoggedInUsernameBinary
general.lastLoggedInUsernameBinaryTimestamp general.lastLoggedInUsernameMdm
general.lastLoggedInUsernameMdmTimestamp hardware.bleCapable hardware.macAddress hardware.make
hardware.model hardware.modelIdentifier hardware.serialNumber hardware.supportsIosAppInstalls
hardware.appleSilicon operatingSystem.activeDirectoryStatus operatingSystem.fileVault2Status
operatingSystem.build operatingSystem.supplementalBuildVersion operatingSystem.rapidSecurityResponse
operatingSystem.name operatingSystem.version security.activationLockEnabled security.recoveryLockEnabled
security.firewallEnabled userAndLocation.buildingId userAndLocation.departmentId userAndLocation.email
userAndLocation.realname userAndLocation.phone userAndLocation.position userAndLocation.room
userAndLocation.username diskEncryption.fileVault2Enabled purchasing.appleCareId purchasing.lifeExpectancy
purchasing.purchased purchasing.leased purchasing.vendor purchasing.warrantyDate""".split()
COMPUTER_SORT_FIELDS = """general.name udid id general.assetTag general.jamfBinaryVersion general.lastCheckIn
general.lastContact general.lastEnrolledDate general.lastCloudBackupDate general.reportDate
general.mdmCertificateExpiration general.platform general.lastLoggedInUsernameSelfService
general.lastLoggedInUsernameSelfServiceTimestamp general.lastLoggedInUsernameBinary
general.lastLoggedInUsernameBinaryTimestamp general.lastLoggedInUsernameMdm
general.lastLoggedInUsernameMdmTimestamp hardware.make hardware.model operatingSystem.build
operatingSystem.supplementalBuildVersion operatingSystem.rapidSecurityResponse operatingSystem.name
operatingSystem.version userAndLocation.realname purchasing.lifeExpectancy purchasing.warrantyDate""".split()


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class ApiProblem(Exception):
    """An error answer in Jamf Pro's body: raise it from anywhere in a handler."""

    def __init__(self, status, code, description, field=None, ident="0", errors=None):
        """One error cause (or `errors`, a list of (code, field, description))."""
        super().__init__(description)
        self.status = status
        null_field = status in (401, 403)
        causes = errors or [(code, field, description)]
        self.errors = [{"code": c, "field": f if f is not None or null_field else "",
                        "description": d, "id": ident} for c, f, d in causes]

    def response(self):
        """The Jamf error Response."""
        return json_response({"httpStatus": self.status, "errors": self.errors}, self.status)


def oauth_error(status, error, description):
    """The OAuth token endpoint's RFC 6749 error body."""
    response = json_response({"error": error, "error_description": description}, status)
    response.headers.append(("Cache-Control", "no-store"))
    return response


def bad_request(field, description, code="INVALID_FIELD"):
    """A 400 ApiProblem for one field."""
    return ApiProblem(400, code, description, field)


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class ToggleJob:
    """One run of the feature toggle's background switch."""

    turning_on: bool
    started: float
    duration: float
    total: int
    stopped: float = None   # abandoned at

    def end(self):
        """When the switch finishes (or was stopped)."""
        return self.stopped if self.stopped is not None else self.started + self.duration

    def running(self, now):
        """True while the switch is in progress."""
        return self.stopped is None and now < self.started + self.duration

    def status(self, now):
        """ManagedSoftwareUpdatePlanToggleStatus at now."""
        running = self.running(now)
        elapsed = max(0.0, min(now, self.end()) - self.started)
        fraction = 1.0 if self.duration <= 0 else min(1.0, elapsed / self.duration)
        if self.stopped is not None:
            exit_state, message = "STOPPED", "Abandoned"
        elif running:
            exit_state, message = "EXECUTING", ""
        else:
            exit_state, message = "COMPLETED", ""
        processed = int(self.total * fraction)
        return {"startTime": iso_millis(self.started), "endTime": None if running else iso_millis(self.end()),
                "elapsedTime": int(elapsed), "state": "RUNNING" if running else "NOT_RUNNING",
                "totalRecords": self.total, "processedRecords": processed,
                "percentComplete": round(fraction * 100.0, 1),
                "formattedPercentComplete": f"{fraction * 100:.0f}%", "exitState": exit_state,
                "exitMessage": message}


NEVER_RAN = {"startTime": None, "endTime": None, "elapsedTime": None, "state": "NEVER_RAN",
             "totalRecords": 0, "processedRecords": 0, "percentComplete": 0.0,
             "formattedPercentComplete": "0%", "exitState": "UNKNOWN", "exitMessage": ""}


@dataclasses.dataclass(slots=True)
class Plan:
    """A managed software update plan for one device.  Slotted: a large fleet's first run
    makes 100,000 of them, and their memory is most of what creating them costs."""

    seq: int
    uuid: str
    kind: str
    device_id: str
    object_type: str
    config: dict
    created: float
    group: tuple = None          # (kind, group id) when created by plans/group
    timeline: list = dataclasses.field(default_factory=list)   # [(time, state)], time order
    error_reasons: list = dataclasses.field(default_factory=list)
    target: object = None        # fleet.FeedEntry once validated
    declaration: dict = None     # {"uuid", "payload"} once scheduled (DDM)
    declared_at: float = None
    log: list = dataclasses.field(default_factory=list)         # event() tuples
    rendered: tuple = None       # (what it shows, its JSON) kept by plan_bytes()
    head: bytes = None           # its JSON up to the status, kept by plan_bytes()
    last_state: tuple = None     # (when, timeline, its length, state) of the last state_at()

    def state_at(self, when):
        """The plan's state at time when.

        The last answer is kept: a list asks every plan for its state at the same moment,
        page after page.  The timeline is appended to or replaced, never changed in place.
        """
        last, timeline = self.last_state, self.timeline
        if last is not None and last[0] == when and last[1] is timeline and last[2] == len(timeline):
            return last[3]
        state = "Init"
        for moment, name in timeline:
            if moment > when:
                break
            state = name
        self.last_state = (when, timeline, len(timeline), state)
        return state

    def final_at(self):
        """When the plan reached its final state, or None."""
        for moment, name in self.timeline:
            if name in FINAL_STATES:
                return moment
        return None

    def add_states(self, start, step, names):
        """Append states one step apart from start; return the time of the last."""
        moment = start
        for index, name in enumerate(names):
            moment = start + index * step
            self.timeline.append((moment, name))
        return moment


class ProState:
    """Jamf Pro's own state: API clients, users, tokens, the feature toggle and plans."""

    def __init__(self, world):
        """Default clients and settings (see sim.py for the defaults)."""
        from jamf_world import TokenStore
        self.world = world
        lifetime = world.options.token_lifetime
        self.clients = {DEFAULT_CLIENT_ID: {"secret": DEFAULT_CLIENT_SECRET, "privileges": "all",
                                            "token_lifetime": lifetime}}
        self.users = {DEFAULT_USER: {"password": DEFAULT_PASSWORD, "privileges": "all",
                                     "token_lifetime": lifetime}}
        self.tokens = TokenStore("sim-pro-")
        self.toggle = {"toggle": True, "forceInstallLocalDateEnabled": True, "customVersionEnabled": True,
                       "dssEnabled": True, "recipeEnabled": False}
        self.toggle_jobs = {True: None, False: None}  # turning_on -> last ToggleJob
        self.plans = {}
        self.plans_by_device = {}  # (kind, device id) -> its plans, oldest first
        self.plan_orders = {}      # sort criteria -> (plan count, plans in that order)
        self.plan_lists = (None, {})  # (when, {(filter, sort): plans}), see pro_list_plans
        self.plan_counter = itertools.count(1)

    def forget_plans(self):
        """Drop every plan (the fleet they were for is gone)."""
        self.plans = {}
        self.plans_by_device = {}
        self.plan_orders = {}
        self.plan_lists = (None, {})

    # -- feature toggle ----------------------------------------------------

    def switching(self, now):
        """The running toggle job, or None."""
        for job in self.toggle_jobs.values():
            if job is not None and job.running(now):
                return job
        return None

    def start_toggle(self, turn_on, now):
        """Begin switching the feature on or off."""
        total = 0 if turn_on else sum(1 for p in self.plans.values() if p.state_at(now) not in FINAL_STATES)
        job = ToggleJob(turn_on, now, float(self.world.settings["toggle_seconds"]), total)
        self.toggle_jobs[turn_on] = job
        self.toggle["toggle"] = turn_on
        if not turn_on:
            self.world.schedule(job.started + job.duration,
                                lambda t: None if job.stopped is not None else self.cancel_all(t))

    def cancel_all(self, when):
        """Cancel every unfinished plan at time when (the toggle went off)."""
        for plan in self.plans.values():
            if plan.state_at(when) in FINAL_STATES:
                continue
            plan.timeline = [(t, s) for t, s in plan.timeline if t <= when]
            plan.timeline.append((when, "PlanCanceled"))
            plan.log.append(event(when, "PlanCanceled"))
        self.world.cancel_activities("plan:", when)

    # -- plans ---------------------------------------------------------------

    def create_plans(self, devices, config, group=None):
        """Record a plan for each (kind, device id, object type) of devices, all with config
        (shared, never changed), and schedule their validation, in that order; returns the
        Plans."""
        now = self.world.now()
        step = self.world.settings["plan_step"]
        plans = []
        for kind, device_id, object_type in devices:
            seq = next(self.plan_counter)
            plan = Plan(seq, sim_uuid("plan", seq), kind, device_id, object_type, config, now, group,
                        [(now, "Init"), (now + step, "PendingPlanValidation")])
            plan.log += [event(now, "Init"), event(now + step, "PendingPlanValidation")]
            self.plans[plan.uuid] = plan
            self.plans_by_device.setdefault((kind, device_id), []).append(plan)
            plans.append(plan)

        def validate_all(when):
            for plan in plans:
                self.validate(plan, when)
        if plans:
            self.world.schedule(now + 2 * step, validate_all)
        # plans live as long as the fleet: the collector need not look at them again (with
        # 100,000 of them its full passes would cost more than making them)
        gc.freeze()
        return plans

    def validate(self, plan, when):
        """Decide the plan's fate at time when and lay out its remaining states."""
        if self.plans.get(plan.uuid) is not plan or plan.state_at(when) in FINAL_STATES:
            return  # canceled meanwhile, or the fleet was replaced
        world = self.world
        step = world.settings["plan_step"]
        device = world.device(plan.kind, plan.device_id)
        reason, target = self.check(plan, device, when)
        if reason:
            plan.error_reasons = [reason]
            plan.add_states(when, step, ["RejectingPlan", "PlanFailed"])
            plan.log += [event(when, "RejectingPlan", [reason]), event(when + step, "PlanFailed", [reason])]
            return
        plan.target = target
        ddm = world.ddm_enabled(device)
        accept = DDM_ACCEPT_STATES if ddm else MDM_ACCEPT_STATES
        during = DDM_INSTALL_STATES if ddm else MDM_INSTALL_STATES
        sent = plan.add_states(when, step, accept)
        plan.log += [event(when, "AcceptingPlan", target=target), event(sent, accept[-1])]
        config = plan.config
        deadline = config.get("forceInstallLocalDateTime")
        payload = {"TargetOSVersion": target.version,
                   "TargetLocalDateTime": deadline or iso_millis(sent)[:19]}
        if config["versionType"] == "CUSTOM_VERSION" and config.get("buildVersion"):
            payload["TargetBuildVersion"] = config["buildVersion"]
        if ddm:
            plan.declaration = {"uuid": sim_uuid("declaration", plan.uuid), "payload": payload}
            plan.declared_at = when + 4 * step
        download_only = config["updateAction"] == "DOWNLOAD_ONLY"

        def install_started(moment):
            if plan.state_at(moment) in FINAL_STATES:
                return
            plan.timeline = [(t, s) for t, s in plan.timeline if t < moment or s in FINAL_STATES]
            plan.add_states(moment, step, during)
            plan.log.append(event(moment, during[0]))

        def ended(moment, activity):
            if plan.state_at(moment) in FINAL_STATES:
                return
            plan.timeline = [(t, s) for t, s in plan.timeline if t <= moment]
            if activity.outcome == "failed":
                reason = "DECLARATIVE_DEVICE_MANAGEMENT_STATUS_RESPONSE_FAILURE_REASON_RECEIVED" if ddm \
                    else "VERIFY_INSTALLATION_FAILURE"
                plan.error_reasons = [reason]
                plan.timeline.append((moment, "PlanFailed"))
                plan.log.append(event(moment, "PlanFailed", [reason], detail=activity.failure_reason))
            else:
                names = VERIFY_STATES if activity.outcome == "installed" else ["PlanCompleted"]
                last = plan.add_states(moment, step, names)
                plan.log.append(event(last, "PlanCompleted", target=target))

        world.start_activity(plan.kind, device, target, f"plan:{plan.uuid}", sent,
                             deadline_text=deadline if config["updateAction"] != "DOWNLOAD_ONLY" else None,
                             on_install_start=None if download_only else install_started, on_end=ended,
                             download_only=download_only)
        if device["sim"].get("unresponsive"):
            grace = sent + float(world.settings["grace_seconds"])

            def give_up(moment):
                if plan.state_at(moment) not in FINAL_STATES:
                    plan.error_reasons = ["NO_DEVICE_STATUS_BY_GRACE_PERIOD"]
                    plan.timeline.append((moment, "PlanFailed"))
                    plan.log.append(event(moment, "PlanFailed", plan.error_reasons))
            world.schedule(grace, give_up)

    def check(self, plan, device, when):
        """(error reason, None) or (None, target FeedEntry) for a plan at validation."""
        world = self.world
        if device is None:
            return "PLAN_NOT_FOUND", None
        for other in self.plans_by_device.get((plan.kind, plan.device_id), ()):
            if other is not plan and other.seq < plan.seq and other.state_at(when) not in FINAL_STATES:
                return "EXISTING_PLAN_FOR_DEVICE_IN_PROGRESS", None
        if not world.is_managed(plan.kind, device):
            return "NOT_MANAGED", None
        if plan.kind == MOBILE and not device["general"].get("supervised", True):
            return "NOT_SUPERVISED", None
        return resolve_target(world, plan.kind, device, plan.config)

    def dump(self):
        """Plans and the toggle for /_sim/jamf/state."""
        now = self.world.now()
        return {
            "featureToggle": dict(self.toggle),
            "toggleSwitching": self.switching(now) is not None,
            "plans": [{"planUuid": p.uuid, "deviceId": p.device_id, "objectType": p.object_type,
                       "state": p.state_at(now), "errorReasons": list(p.error_reasons),
                       "target": None if p.target is None else {
                           "version": p.target.version, "build": p.target.build, "extra": p.target.extra},
                       "config": p.config,
                       "group": None if p.group is None else {"kind": p.group[0], "id": str(p.group[1])}}
                      for p in self.plans.values()],
            "staticGroups": [{"kind": g.kind, "id": str(g.id), "name": g.name, "members": list(g.members)}
                             for g in self.world.fleet.groups.values() if not g.smart],
        }


def event(when, state, reasons=None, target=None, detail=None):
    """One entry of a plan's event log, kept as a tuple (a plan has a few, a fleet 100,000
    plans); event_json() makes it what Jamf shows."""
    return (int(when * 1000), state, tuple(reasons) if reasons else None, target, detail)


def event_json(entry):
    """An entry of a plan's event log as Jamf's events list shows it."""
    epoch, state, reasons, target, detail = entry
    shown = {"type": f".{state}Event", "state": state, "eventSentEpoch": epoch}
    if reasons:
        shown["errorReasons"] = list(reasons)
    if target is not None:
        shown["targetVersion"] = target.display_version
        shown["targetBuild"] = target.build
    if detail:
        shown["detail"] = detail
    return shown


def preferred(entries):
    """Of entries for one version, the plainest build (shortest, then lowest), as devices get it."""
    return min(entries, key=lambda e: (len(e.build), e.build))


def resolve_target(world, kind, device, config):
    """(reason, None) or (None, FeedEntry): what a plan's config means for this device."""
    catalog = world.catalog()
    platform = world.platform_of(kind)
    model = world.model_of(kind, device)
    day = world.feed_day()
    version_type = config["versionType"]
    if version_type in ("SPECIFIC_VERSION", "CUSTOM_VERSION"):
        wanted_build = config.get("buildVersion") if version_type == "CUSTOM_VERSION" else None
        candidates = [e for e in catalog.select(platform, day=day)
                      if e.version == config["specificVersion"]
                      and (e.build == wanted_build if wanted_build else not e.supplemental)]
        if not candidates:
            return "SPECIFIC_VERSION_UNAVAILABLE", None
        supporting = [e for e in candidates if model in e.devices]
        target = preferred(supporting or candidates)
        if world.at_or_past(kind, device, target):
            return "DOWNGRADE_NOT_SUPPORTED", None
        if not supporting:
            return "SPECIFIC_VERSION_UNAVAILABLE_FOR_DEVICE_MODEL", None
        if target.supplemental and world.os_state(kind, device)[1] != target.prerequisite:
            return "SPECIFIC_VERSION_UNAVAILABLE", None
        return None, target
    current = fleetlib.version_key(world.os_state(kind, device)[0])
    releases = [e for e in catalog.select(platform, supplemental=False, day=day)
                if model in e.devices and e.build]
    if version_type == "LATEST_MINOR":
        releases = [e for e in releases if fleetlib.version_key(e.version)[0] == current[0]]
    if not releases:
        return "NO_UPDATES_AVAILABLE", None
    newest = max(fleetlib.version_key(e.version) for e in releases)
    target = preferred([e for e in releases if fleetlib.version_key(e.version) == newest])
    if world.at_or_past(kind, device, target):
        return "DOWNGRADE_NOT_SUPPORTED", None
    return None, target


# ---------------------------------------------------------------------------
# Routing: authentication, privileges, errors
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Session:
    """The caller of one request."""

    token: object

    def has(self, privilege):
        """True if the token grants privilege."""
        granted = self.token.privileges
        return granted == "all" or privilege in granted

    def require(self, *requirements):
        """Each requirement is a privilege name or a tuple of alternatives; 403 if one is unmet."""
        for requirement in requirements:
            options = requirement if isinstance(requirement, tuple) else (requirement,)
            if not any(self.has(p) for p in options):
                raise ApiProblem(403, "INVALID_PRIVILEGE", "Forbidden")


def authenticate(world, req):
    """The Session of a request's bearer token; 401 ApiProblem if missing or dead."""
    value = bearer(req)
    if value is None:
        raise ApiProblem(401, "INVALID_TOKEN", "Unauthorized")
    token, _ = world.pro.tokens.find(value, world.now())
    if token is None:
        raise ApiProblem(401, "INVALID_TOKEN", "Unauthorized")
    return Session(token)


def pro_route(method, pattern, privileges=(), auth=True, prefix="/api"):
    """Register a Jamf Pro handler func(req, world, session) -> Response or JSON data.

    Runs under the sim lock after a world sync; checks the bearer token and
    `privileges` (names, or tuples of alternatives) and turns ApiProblem,
    QueryError and HandlerError into Jamf error bodies.
    """
    def register(func):
        @functools.wraps(func)
        def handler(req):
            world = req.state.jamf
            with req.state.lock:
                world.sync()
                try:
                    session = authenticate(world, req) if auth else None
                    if session is not None:
                        session.require(*privileges)
                    result = func(req, world, session)
                except ApiProblem as problem:
                    return problem.response()
                except query.QueryError as exc:
                    return bad_request(exc.field, exc.description, exc.code).response()
                except HandlerError as exc:
                    return ApiProblem(exc.status, "INVALID_REQUEST", exc.message, "").response()
            return result if isinstance(result, Response) else json_response(result)
        ROUTES.route(method, prefix + pattern)(handler)
        return func
    return register


def params_of(req):
    """The query string as {name: [values]}."""
    return urllib.parse.parse_qs(req.query, keep_blank_values=True)


def dotted(record, path):
    """record["a"]["b"] for "a.b"; None if absent."""
    value = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def listing(records, req, filter_fields, sort_fields, default_sort, render, max_size=query.MAX_PAGE_SIZE,
            select=None):
    """{"totalCount", "results"} for a filtered, sorted, paged list.

    filter_fields / sort_fields: {name: getter(record)}; render(record) -> JSON.
    records may be a function returning them, called only when needed.  select(filter
    node, sort criteria) is a shortcut for large lists: exactly the records that
    filtering and sorting would give, in that order, or None to filter and sort.
    """
    total, shown = listing_page(records, req, filter_fields, sort_fields, default_sort, max_size, select)
    return {"totalCount": total, "results": [render(r) for r in shown]}


def listing_page(records, req, filter_fields, sort_fields, default_sort, max_size=query.MAX_PAGE_SIZE,
                 select=None):
    """(total count, records on the requested page) of a list; see listing()."""
    params = params_of(req)
    page, size = query.page_params(params, max_size=max_size)
    node = query.parse_filter((params.get("filter") or [""])[-1])
    query.check_fields(node, filter_fields)
    criteria = query.sort_criteria(params.get("sort"), sort_fields, default_sort)
    ordered = select(node, criteria) if select is not None else None
    if ordered is None:
        filtered = query.filter_records(records() if callable(records) else records, node, filter_fields)
        ordered = query.sort_records(filtered, criteria, sort_fields)
    return len(ordered), query.paginate(ordered, page, size)


def field_getters(names):
    """{name: getter} reading dotted paths of a (computer) record."""
    return {name: (lambda rec, n=COMPUTER_FIELD_ALIASES.get(name, name): dotted(rec, n)) for name in names}


def json_body(req, schema_name):
    """The request's JSON body; 400 Jamf error if it is not JSON."""
    try:
        return json.loads(req.body or b"null")
    except ValueError as exc:
        raise bad_request("", f"Malformed {schema_name} body: {exc}", code="INVALID_JSON") from None


# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------

def _form(req):
    """The form fields of an x-www-form-urlencoded body (last value wins)."""
    fields = urllib.parse.parse_qs(req.body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in fields.items()}


def _basic_credentials(req):
    """(user, password) from a Basic Authorization header, or None."""
    scheme, _, value = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def oauth_token(req, clients, tokens, world, kind):
    """Shared client-credentials logic of Jamf Pro's and the Platform's token endpoints."""
    content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return oauth_error(400, "invalid_request", "OAuth 2.0 Parameter: grant_type "
                                                   "(body must be application/x-www-form-urlencoded)")
    form = _form(req)
    basic = _basic_credentials(req)
    if basic and "client_id" not in form:  # client_secret_basic
        form["client_id"], form["client_secret"] = basic
    if not form.get("grant_type"):
        return oauth_error(400, "invalid_request", "OAuth 2.0 Parameter: grant_type")
    if form["grant_type"] != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "OAuth 2.0 Parameter: grant_type")
    for name in ("client_id", "client_secret"):
        if not form.get(name):
            return oauth_error(400, "invalid_request", f"OAuth 2.0 Parameter: {name}")
    client = clients.get(form["client_id"])
    if client is None or client["secret"] != form["client_secret"]:
        return oauth_error(401, "invalid_client", "Client authentication failed")
    lifetime = int(client.get("token_lifetime", 1200))
    token = tokens.issue(form["client_id"], kind, client.get("privileges", "all"), world.now(), lifetime)
    return token, lifetime


def role_id(world, client_id):
    """A small stable number for an API client (its API role id)."""
    clients = sorted(world.pro.clients)
    return clients.index(client_id) + 1 if client_id in clients else 0


@pro_route("POST", r"/oauth/token", auth=False)
@pro_route("POST", r"/v1/oauth/token", auth=False)
def pro_oauth_token(req, world, session):
    """OAuth client credentials -> {access_token, token_type, scope, expires_in}."""
    result = oauth_token(req, world.pro.clients, world.pro.tokens, world, "oauth")
    if isinstance(result, Response):
        return result
    token, lifetime = result
    response = json_response({"access_token": token.value, "token_type": "Bearer",
                              "scope": f"api-role:{role_id(world, token.subject)}", "expires_in": lifetime})
    response.headers.append(("Cache-Control", "no-store"))
    return response


@pro_route("POST", r"/v1/auth/token", auth=False)
def pro_basic_token(req, world, session):
    """Basic user:password -> {token, expires}."""
    credentials = _basic_credentials(req)
    user = world.pro.users.get(credentials[0]) if credentials else None
    if user is None or user["password"] != credentials[1]:
        raise ApiProblem(401, "INVALID_CREDENTIALS", "Unauthorized", "")
    lifetime = int(user.get("token_lifetime", 1200))
    token = world.pro.tokens.issue(credentials[0], "basic", user.get("privileges", "all"), world.now(),
                                   lifetime)
    return {"token": token.value, "expires": iso_millis(token.expires)}


@pro_route("POST", r"/v1/auth/keep-alive")
def pro_keep_alive(req, world, session):
    """A fresh token for the caller; the old one stops working."""
    old = session.token
    lifetime = old.expires - old.issued
    token = world.pro.tokens.issue(old.subject, old.kind, old.privileges, world.now(), lifetime)
    old.revoked = True
    return {"token": token.value, "expires": iso_millis(token.expires)}


@pro_route("POST", r"/v1/auth/invalidate-token")
def pro_invalidate_token(req, world, session):
    """The caller's token stops working: 204."""
    session.token.revoked = True
    return Response(204)


@pro_route("GET", r"/v1/auth")
def pro_auth_details(req, world, session):
    """AuthorizationV1 for the caller."""
    token = session.token
    privileges = PRIVILEGES if token.privileges == "all" else list(token.privileges)
    return {
        "account": {"id": "1" if token.kind == "basic" else str(role_id(world, token.subject)),
                    "username": token.subject, "realName": token.subject, "email": "",
                    "preferences": {"language": "en", "dateFormat": "yyyy/MM/dd", "region": "Europe",
                                    "timezone": "UTC", "disableRelativeDates": False},
                    "multiSiteAdmin": True, "accessLevel": "FullAccess",
                    "privilegeSet": "ADMINISTRATOR" if token.privileges == "all" else "CUSTOM",
                    "privilegesBySite": {"-1": privileges}, "groupIds": [], "currentSiteId": "-1"},
        "accountGroups": [],
        "sites": [],
        "authenticationType": "JSS" if token.kind == "basic" else "CLIENT_CREDENTIALS",
    }


@pro_route("GET", r"/oidc/\.well-known/openid-configuration", auth=False, prefix="")
def pro_oidc_discovery(req, world, session):
    """OpenID discovery document; URLs built from the Host header."""
    base = base_url(req)
    return {"issuer": f"{base}/oidc", "token_endpoint": f"{base}/api/oauth/token",
            "jwks_uri": f"{base}/oidc/jwks", "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "response_types_supported": ["token"], "scopes_supported": [],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"]}


@pro_route("GET", r"/oidc/jwks", auth=False, prefix="")
def pro_oidc_jwks(req, world, session):
    """No signing keys: tokens are opaque here."""
    return {"keys": []}


@pro_route("GET", r"/v1/jamf-pro-version")
def pro_version(req, world, session):
    """The server version."""
    return {"version": JAMF_PRO_VERSION}


# ---------------------------------------------------------------------------
# Computer inventory
# ---------------------------------------------------------------------------

def computer_json(world, device, sections, version, index=None):
    """ComputerInventoryV3/V4 with only the requested sections (others absent).

    index: fleet.membership_index(COMPUTER) or membership_lookup(COMPUTER), to avoid
    rebuilding it per device.
    """
    out = {"id": device["id"], "udid": device["udid"]}
    for section in sections:
        key, empty = COMPUTER_SECTIONS[section]
        if empty is not None:
            out[key] = type(empty)()
        elif key == "general":
            general = dict(device["general"])
            if version == 3:
                general["lastContactTime"] = general.pop("lastContact", None)
                general["lastReportedIp"] = general.get("lastIpAddress")
            else:
                general["lastCheckIn"] = general.get("lastContact")
            out[key] = general
        elif key == "groupMemberships":
            if index is None:
                index = world.fleet.membership_index(COMPUTER)
            groups = index.get(device["id"], [])
            out[key] = [{"groupId": str(g.id), "groupName": g.name, "groupDescription": g.description,
                         "smartGroup": g.smart} for g in groups]
        else:
            out[key] = dict(device[key])
    return out


# Filter fields that are named differently in the stored (v4) record.
COMPUTER_FIELD_ALIASES = {"general.lastCheckIn": "general.lastContact",
                          "general.lastContactTime": "general.lastContact",
                          "general.lastReportedIp": "general.lastIpAddress",
                          "general.lastReportedIpV4": "general.lastIpAddress"}


def sections_param(req, allowed, default=("GENERAL",)):
    """The repeated section= values; 400 for one not in allowed."""
    sections = params_of(req).get("section") or list(default)
    for section in sections:
        if section not in allowed:
            raise bad_request("section", f"Invalid section [{section}]. Allowed: {', '.join(allowed)}")
    return list(dict.fromkeys(sections))


def _computer_inventory(req, world, version):
    """GET /api/v3|v4/computers-inventory."""
    sections = sections_param(req, list(COMPUTER_SECTIONS))
    sort_fields = field_getters(COMPUTER_SORT_FIELDS)
    total, shown = listing_page(
        lambda: list(world.fleet.computers.values()), req, field_getters(COMPUTER_FILTER_FIELDS),
        sort_fields, "general.name:asc",
        select=lambda node, criteria: None if node else _computers_by_id(world.fleet, criteria, sort_fields))
    # The body json_response would make of {"totalCount", "results": [computer_json(...)]},
    # kept while no record or group changed, else put together from each record as rendered
    # before, with its group memberships rendered afresh (a large fleet's pages would
    # otherwise cost the sim more than the client it serves).
    fleet = world.fleet
    page_key = (version, tuple(sections), total, tuple(device["id"] for device in shown))
    groups = fleet.groups_now(COMPUTER)
    changes, kept_groups, pages = fleet.cache.get("computer-pages", (None, None, {}))
    if changes != fleet.changes or not fleet.same_groups(kept_groups, groups) or len(pages) > 500:
        pages = {}
        fleet.cache["computer-pages"] = (fleet.changes, groups, pages)
    if page_key not in pages:
        pages[page_key] = _computer_page(world, shown, sections, version, total)
    return Response(200, pages[page_key])


def _computer_page(world, shown, sections, version, total):
    """The body of one computers-inventory page (see _computer_inventory)."""
    index = world.fleet.membership_lookup(COMPUTER)
    group_json = {}
    results = []
    key = (tuple(sections), version)
    for device in shown:
        rendered = world.fleet.rendered(COMPUTER, device)
        pieces = rendered.get(key)
        if pieces is None:
            pieces = rendered[key] = _computer_pieces(world, device, sections, version)
        if len(pieces) == 1:
            results.append(pieces[0])
            continue
        groups = index.get(device["id"], [])
        for group in groups:
            if id(group) not in group_json:
                alone = computer_json(world, device, ["GROUP_MEMBERSHIPS"], version, {device["id"]: [group]})
                group_json[id(group)] = compact_json(alone["groupMemberships"][0]).encode()
        items = b",".join([group_json[id(group)] for group in groups])
        results.append(b"".join((pieces[0], items, pieces[1])))
    return list_body(total, results)


def list_body(total, items):
    """compact_json({"totalCount": total, "results": [...]}) of results already as JSON bytes."""
    return b"".join((b'{"totalCount":', compact_json(total).encode(), b',"results":[', b",".join(items),
                     b"]}"))


def _computer_pieces(world, device, sections, version):
    """compact_json(computer_json(...)) of a device as bytes: [whole text], or [text before the
    group memberships' items, text after them] when GROUP_MEMBERSHIPS is among the sections."""
    parts = ['{"id":', compact_json(device["id"]), ',"udid":', compact_json(device["udid"])]
    pieces = []
    for section in sections:
        key = COMPUTER_SECTIONS[section][0]
        parts += [',"', key, '":']
        if key == "groupMemberships":
            parts.append("[")
            pieces.append("".join(parts).encode())
            parts = ["]"]
        else:
            parts.append(compact_json(computer_json(world, device, [section], version)[key]))
    parts.append("}")
    pieces.append("".join(parts).encode())
    return pieces


def compact_json(value):
    """value as json_response writes it."""
    return json.dumps(value, separators=(",", ":"))


class _DeviceView:
    """A read-only sequence of the current records of a fixed list of device ids."""

    def __init__(self, devices, ids):
        """devices: the fleet's dict of one kind; ids: keys of it, in the order to show."""
        self.devices, self.ids = devices, ids

    def __len__(self):
        """How many devices."""
        return len(self.ids)

    def __getitem__(self, index):
        """One record, or a list of them for a slice."""
        if isinstance(index, slice):
            return [self.devices[i] for i in self.ids[index]]
        return self.devices[self.ids[index]]


def _computers_by_id(fleet, criteria, sort_fields):
    """Every computer in the order of criteria that sort only by id (never patched), else None.

    The order is computed once per fleet, as sorting the records would give it.
    """
    if any(name != "id" for name, _ in criteria):
        return None
    key = ("computers-by", tuple(criteria))
    ids = fleet.cache.get(key)
    if ids is None:
        ordered = query.sort_records(list(fleet.computers.values()), criteria, sort_fields)
        ids = fleet.cache[key] = [device["id"] for device in ordered]
    return _DeviceView(fleet.computers, ids)


@pro_route("GET", r"/v4/computers-inventory", privileges=["Read Computers"])
def pro_computers_v4(req, world, session):
    """Paged computer inventory (v4)."""
    return _computer_inventory(req, world, 4)


@pro_route("GET", r"/v3/computers-inventory", privileges=["Read Computers"])
def pro_computers_v3(req, world, session):
    """Paged computer inventory (v3, deprecated; same data)."""
    return _computer_inventory(req, world, 3)


def _one_computer(world, device_id):
    """A computer record or a 404 ApiProblem."""
    device = world.device(COMPUTER, device_id)
    if device is None:
        raise ApiProblem(404, "INVALID_ID", f"Computer {device_id} not found", "id", device_id)
    return device


@pro_route("GET", r"/v4/computers-inventory/(?P<id>[^/]+)", privileges=["Read Computers"])
def pro_computer_v4(req, world, session):
    """One computer with the requested sections."""
    sections = sections_param(req, list(COMPUTER_SECTIONS))
    return computer_json(world, _one_computer(world, req.params["id"]), sections, 4)


@pro_route("GET", r"/v4/computers-inventory-detail/(?P<id>[^/]+)", privileges=["Read Computers"])
def pro_computer_detail_v4(req, world, session):
    """One computer with every section."""
    return computer_json(world, _one_computer(world, req.params["id"]), list(COMPUTER_SECTIONS), 4)


@pro_route("GET", r"/v3/computers-inventory-detail/(?P<id>[^/]+)", privileges=["Read Computers"])
def pro_computer_detail_v3(req, world, session):
    """One computer with every section (v3 shape)."""
    return computer_json(world, _one_computer(world, req.params["id"]), list(COMPUTER_SECTIONS), 3)


# ---------------------------------------------------------------------------
# Mobile device inventory
# ---------------------------------------------------------------------------

def mobile_groups_json(world, device_id):
    """MobileDeviceInventoryGroup list of a mobile device."""
    return [{"groupId": str(g.id), "groupName": g.name, "groupDescription": g.description, "smart": g.smart}
            for g in world.fleet.memberships(MOBILE, device_id)]


def mobile_json(world, device, sections):
    """MobileDeviceIosInventory with the requested sections (others absent)."""
    out = {"mobileDeviceId": device["mobileDeviceId"], "deviceType": device["deviceType"]}
    for section in sections:
        if section == "GENERAL":
            out["general"] = dict(device["general"])
        elif section == "HARDWARE":
            out["hardware"] = dict(device["hardware"])
        elif section == "GROUPS":
            out["groups"] = mobile_groups_json(world, device["mobileDeviceId"])
        elif section in ("APPLICATIONS", "CERTIFICATES", "PROFILES", "EXTENSION_ATTRIBUTES", "EBOOKS",
                         "SERVICE_SUBSCRIPTIONS", "PROVISIONING_PROFILES", "SHARED_USERS", "USER_PROFILES"):
            key = {"APPLICATIONS": "applications", "CERTIFICATES": "certificates", "PROFILES": "profiles",
                   "EXTENSION_ATTRIBUTES": "extensionAttributes", "EBOOKS": "ebooks",
                   "SERVICE_SUBSCRIPTIONS": "serviceSubscriptions",
                   "PROVISIONING_PROFILES": "provisioningProfiles",
                   "SHARED_USERS": "sharedUsers", "USER_PROFILES": "userProfiles"}[section]
            out[key] = []
        else:
            key = {"USER_AND_LOCATION": "userAndLocation", "PURCHASING": "purchasing",
                   "SECURITY": "security", "NETWORK": "network"}[section]
            out[key] = {}
    return out


def mobile_flat(device):
    """The flat field view Jamf's mobile filters, sorts and membership lists use."""
    general, hardware = device["general"], device["hardware"]
    return {
        "mobileDeviceId": device["mobileDeviceId"], "udid": general["udid"],
        "displayName": general["displayName"], "assetTag": general.get("assetTag", ""),
        "osVersion": general["osVersion"], "osBuild": general["osBuild"],
        "osSupplementalBuildVersion": general["osSupplementalBuildVersion"],
        "osRapidSecurityResponse": general["osRapidSecurityResponse"],
        "managementId": general["managementId"], "managed": general["managed"],
        "supervised": general["supervised"], "ipAddress": general.get("ipAddress", ""),
        "declarativeDeviceManagementEnabled": general["declarativeDeviceManagementEnabled"],
        "lastInventoryUpdateDate": general.get("lastInventoryUpdateDate"),
        "lastContactDate": general.get("lastContactDate"),
        "serialNumber": hardware["serialNumber"], "model": hardware["model"],
        "modelIdentifier": hardware["modelIdentifier"], "modelNumber": hardware.get("modelNumber", ""),
        "wifiMacAddress": hardware.get("wifiMacAddress", ""), "timeZone": general.get("timeZone", ""),
    }


MOBILE_FIELDS = ["mobileDeviceId", "udid", "displayName", "assetTag", "osVersion", "osBuild",
                 "osSupplementalBuildVersion", "osRapidSecurityResponse", "managementId", "managed",
                 "supervised", "ipAddress", "declarativeDeviceManagementEnabled", "lastInventoryUpdateDate",
                 "lastContactDate", "serialNumber", "model", "modelIdentifier", "modelNumber",
                 "wifiMacAddress", "timeZone"]


def mobile_getters():
    """{flat field: getter(device)} for mobile filters and sorts."""
    return {name: (lambda dev, n=name: mobile_flat(dev)[n]) for name in MOBILE_FIELDS}


@pro_route("GET", r"/v2/mobile-devices/detail", privileges=["Read Mobile Devices"])
def pro_mobile_detail(req, world, session):
    """Paged mobile device inventory with sections (GENERAL, HARDWARE, GROUPS, ...)."""
    sections = sections_param(req, MOBILE_SECTIONS)
    return listing(list(world.fleet.mobiles.values()), req, mobile_getters(), mobile_getters(),
                   "displayName:asc", lambda dev: mobile_json(world, dev, sections))


@pro_route("GET", r"/v2/mobile-devices/(?P<id>[^/]+)/detail", privileges=["Read Mobile Devices"])
def pro_mobile_device_detail(req, world, session):
    """MobileDeviceDetailsGetV2: one mobile device, flat, with groups."""
    device = world.device(MOBILE, req.params["id"])
    if device is None:
        raise ApiProblem(404, "INVALID_ID", f"Mobile device {req.params['id']} not found", "id",
                         req.params["id"])
    general, hardware = device["general"], device["hardware"]
    return {
        "id": device["mobileDeviceId"], "name": general["displayName"], "enforceName": False,
        "assetTag": general.get("assetTag", ""),
        "lastInventoryUpdateTimestamp": general["lastInventoryUpdateDate"],
        "lastContactTimestamp": general["lastContactDate"], "osVersion": general["osVersion"],
        "osBuild": general["osBuild"], "osSupplementalBuildVersion": general["osSupplementalBuildVersion"],
        "osRapidSecurityResponse": general["osRapidSecurityResponse"],
        "softwareUpdateDeviceId": general["softwareUpdateDeviceId"], "serialNumber": hardware["serialNumber"],
        "udid": general["udid"], "ipAddress": general.get("ipAddress", ""),
        "wifiMacAddress": hardware.get("wifiMacAddress", ""),
        "bluetoothMacAddress": hardware.get("bluetoothMacAddress", ""),
        "managed": general["managed"], "timeZone": general.get("timeZone", ""),
        "lastEnrollmentTimestamp": general["lastEnrolledDate"], "deviceOwnershipLevel": "Institutional",
        "enrollmentSessionTokenValid": True,
        "declarativeDeviceManagementEnabled": general["declarativeDeviceManagementEnabled"],
        "site": {"id": "-1", "name": "None"}, "extensionAttributes": [], "type": "ios",
        "ios": {"model": hardware["model"], "modelIdentifier": hardware["modelIdentifier"],
                "modelNumber": hardware.get("modelNumber", ""), "supervised": general["supervised"],
                "batteryLevel": hardware.get("batteryLevel", 0), "capacityMb": hardware.get("capacityMb", 0),
                "availableMb": hardware.get("availableSpaceMb", 0),
                "percentageUsed": hardware.get("usedSpacePercentage", 0), "shared": False},
        "managementId": general["managementId"],
        "groups": mobile_groups_json(world, device["mobileDeviceId"]),
    }


@pro_route("GET", r"/v2/mobile-devices", privileges=["Read Mobile Devices"])
def pro_mobile_list(req, world, session):
    """MobileDeviceSearchResultsV2: the short list."""
    def render(dev):
        flat = mobile_flat(dev)
        return {"id": flat["mobileDeviceId"], "name": flat["displayName"],
                "serialNumber": flat["serialNumber"],
                "wifiMacAddress": flat["wifiMacAddress"], "udid": flat["udid"], "model": flat["model"],
                "modelIdentifier": flat["modelIdentifier"], "type": "ios",
                "managementId": flat["managementId"],
                "softwareUpdateDeviceId": dev["general"]["softwareUpdateDeviceId"]}
    params = params_of(req)
    page, size = query.page_params(params)
    ordered = query.apply_sort(list(world.fleet.mobiles.values()), params.get("sort"),
                               {"id": lambda d: d["mobileDeviceId"],
                                "name": lambda d: d["general"]["displayName"]},
                               "id:asc")
    return {"totalCount": len(ordered), "results": [render(d) for d in query.paginate(ordered, page, size)]}


# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------

def _group(world, kind, group_id, smart=None):
    """A group by Jamf id (of the given smartness), or a 404 ApiProblem."""
    try:
        group = world.fleet.groups.get((kind, int(group_id)))
    except ValueError:
        group = None
    if group is None or (smart is not None and group.smart != smart):
        raise ApiProblem(404, "INVALID_ID", f"Group {group_id} not found", "id", str(group_id))
    return group


GROUP_READ = {(COMPUTER, True): "Read Smart Computer Groups",
              (COMPUTER, False): "Read Static Computer Groups",
              (MOBILE, True): "Read Smart Mobile Device Groups",
              (MOBILE, False): "Read Static Mobile Device Groups"}


@pro_route("GET", r"/v1/computer-groups",
           privileges=[("Read Smart Computer Groups", "Read Static Computer Groups")])
def pro_computer_groups(req, world, session):
    """Every computer group the caller may read: [{id, name, smartGroup}]."""
    return [{"id": str(g.id), "name": g.name, "smartGroup": g.smart} for g in world.fleet.group_list(COMPUTER)
            if session.has(GROUP_READ[(COMPUTER, g.smart)])]


GROUP_FIELDS = {"id": lambda g: g.id, "name": lambda g: g.name, "siteId": lambda g: "-1"}


@pro_route("GET", r"/v3/computer-groups/smart-groups", privileges=["Read Smart Computer Groups"])
def pro_smart_groups(req, world, session):
    """Paged smart computer groups (filter on id, name, siteId)."""
    groups = [g for g in world.fleet.group_list(COMPUTER) if g.smart]
    return listing(groups, req, GROUP_FIELDS, GROUP_FIELDS, "id:asc",
                   lambda g: {"id": str(g.id), "siteId": "-1", "name": g.name,
                              "membershipCount": len(g.members)})


@pro_route("GET", r"/v3/computer-groups/smart-groups/(?P<id>[^/]+)",
           privileges=["Read Smart Computer Groups"])
def pro_smart_group(req, world, session):
    """SmartComputerGroupV3."""
    group = _group(world, COMPUTER, req.params["id"], smart=True)
    return {"name": group.name, "criteria": group.criteria, "siteId": "-1"}


@pro_route("GET", r"/v3/computer-groups/smart-group-membership/(?P<id>[^/]+)",
           privileges=["Read Smart Computer Groups"])
def pro_smart_group_members(req, world, session):
    """{"members": [computer ids as integers]}."""
    group = _group(world, COMPUTER, req.params["id"], smart=True)
    return {"members": [int(i) for i in group.members]}


@pro_route("GET", r"/v3/computer-groups/static-groups", privileges=["Read Static Computer Groups"])
def pro_static_groups(req, world, session):
    """Paged static computer groups (filter on id, name, siteId)."""
    groups = [g for g in world.fleet.group_list(COMPUTER) if not g.smart]
    return listing(groups, req, GROUP_FIELDS, GROUP_FIELDS, "id:asc",
                   lambda g: {"id": str(g.id), "name": g.name, "siteId": "-1", "count": len(g.members)})


@pro_route("GET", r"/v3/computer-groups/static-groups/(?P<id>[^/]+)",
           privileges=["Read Static Computer Groups"])
def pro_static_group(req, world, session):
    """StaticComputerGroup."""
    group = _group(world, COMPUTER, req.params["id"], smart=False)
    return {"id": str(group.id), "name": group.name, "siteId": "-1"}


def _group_name(world, kind, name, field, current=None):
    """A new group name: 400 unless a string of 1..255 characters, 422 if another group of kind has it."""
    if not isinstance(name, str) or not name.strip():
        raise bad_request(field, f"{field} is required")
    if len(name) > 255:
        raise bad_request(field, f"{field} must be at most 255 characters")
    for group in world.fleet.group_list(kind):
        if group.name.casefold() == name.casefold() and group is not current:
            raise ApiProblem(422, "DUPLICATE_FIELD", f"A group named {name!r} already exists", field)
    return name


def _known_devices(world, kind, device_ids, field):
    """400 INVALID_ID for the first id that names no device of kind."""
    for device_id in device_ids:
        if world.device(kind, device_id) is None:
            noun = "Computer" if kind == COMPUTER else "Mobile device"
            raise bad_request(field, f"{noun} {device_id} does not exist", code="INVALID_ID")


def _id_order(device_ids):
    """Device ids (strings) in numeric order, as group members are kept."""
    return sorted(device_ids, key=lambda i: int(i) if i.isdigit() else 0)


def _static_body(world, req, current=None):
    """Validated (name, assignments or None) of a StaticComputerGroupAssignment body."""
    body = json_body(req, "StaticComputerGroupAssignment")
    if not isinstance(body, dict):
        raise bad_request("", "Body must be a StaticComputerGroupAssignment object")
    name = _group_name(world, COMPUTER, body.get("name"), "name", current)
    assignments = body.get("assignments")
    if assignments is None:
        return name, None
    if not isinstance(assignments, list) or not all(isinstance(a, str) and a for a in assignments):
        raise bad_request("assignments", "assignments must be an array of computer ids (strings)")
    if len(set(assignments)) != len(assignments):
        raise bad_request("assignments", "assignments must not repeat an id")
    _known_devices(world, COMPUTER, assignments, "assignments")
    return name, _id_order(assignments)


def _create_static_group(req, world, kind, name, members, description, path):
    """Add a static group of kind; 201 HrefResponse.

    ?platform=true (both create endpoints have it) answers the group's platform
    UUID instead of its Jamf Pro id (decision: href then names /api/v2/groups/{uuid},
    the path that reads a group by that id).
    """
    platform = (params_of(req).get("platform") or ["false"])[-1].lower()
    if platform not in ("true", "false"):
        raise bad_request("platform", f"platform must be true or false, not {platform!r}")
    group_id = world.fleet.next_group_id[kind]
    world.fleet.next_group_id[kind] += 1
    group = fleetlib.Group(kind, group_id, name, False, _id_order(members), description)
    world.fleet.groups[(kind, group_id)] = group
    if platform == "true":
        return json_response({"id": group.platform_id,
                              "href": f"{base_url(req)}/api/v2/groups/{group.platform_id}"}, 201)
    return json_response({"id": str(group_id), "href": f"{base_url(req)}/api{path}/{group_id}"}, 201)


@pro_route("POST", r"/v3/computer-groups/static-groups", privileges=["Create Static Computer Groups"])
def pro_create_static_group(req, world, session):
    """Create a static computer group: 201 {id, href}."""
    name, assignments = _static_body(world, req)
    return _create_static_group(req, world, COMPUTER, name, assignments or [], "",
                                "/v3/computer-groups/static-groups")


@pro_route("PUT", r"/v3/computer-groups/static-groups/(?P<id>[^/]+)",
           privileges=["Update Static Computer Groups"])
def pro_update_static_group(req, world, session):
    """Rename / reassign a static group: 202 with the group; assignments [] clears it."""
    group = _group(world, COMPUTER, req.params["id"], smart=False)
    name, assignments = _static_body(world, req, current=group)
    group.name = name
    if assignments is not None:
        group.members = assignments
    return json_response({"id": str(group.id), "name": group.name, "siteId": "-1",
                          "assignments": list(group.members)}, 202)


@pro_route("DELETE", r"/v3/computer-groups/static-groups/(?P<id>[^/]+)",
           privileges=["Delete Static Computer Groups"])
def pro_delete_static_group(req, world, session):
    """Delete a static computer group: 204."""
    return _delete_static_group(world, COMPUTER, req.params["id"])


def _delete_static_group(world, kind, group_id):
    """Remove a static group of kind (404 if there is none with that id): 204."""
    group = _group(world, kind, group_id, smart=False)
    del world.fleet.groups[(kind, group.id)]
    return Response(204)


def group_dto(group, criteria=False):
    """GroupDtoV1 (GroupWithCriteriaDtoV1 with criteria)."""
    out = {"groupPlatformId": group.platform_id, "groupJamfProId": str(group.id), "groupName": group.name,
           "groupDescription": group.description, "groupType": group.kind, "smart": group.smart,
           "membershipCount": len(group.members)}
    if criteria:
        out["criteria"] = group.criteria if group.smart else None
    return out


V2_GROUP_FIELDS = {"groupName": lambda g: g.name, "groupDescription": lambda g: g.description,
                   "groupType": lambda g: g.kind, "isSmart": lambda g: g.smart}


@pro_route("GET", r"/v2/groups")
def pro_groups_v2(req, world, session):
    """Every computer and mobile group with its platform UUID (groupPlatformId)."""
    groups = list(world.fleet.groups.values())
    return listing(groups, req, V2_GROUP_FIELDS, dict(V2_GROUP_FIELDS, id=lambda g: g.id),
                   "groupName:asc", group_dto)


@pro_route("GET", r"/v2/groups/(?P<id>[^/]+)")
def pro_group_v2(req, world, session):
    """One group by its platform UUID."""
    for group in world.fleet.groups.values():
        if group.platform_id == req.params["id"]:
            return group_dto(group, criteria=True)
    raise ApiProblem(404, "INVALID_ID", f"Group {req.params['id']} not found", "id", req.params["id"])


MOBILE_GROUP_READ = [("Read Smart Mobile Device Groups", "Read Static Mobile Device Groups")]


@pro_route("GET", r"/v1/mobile-device-groups", privileges=MOBILE_GROUP_READ)
@pro_route("GET", r"/v2/mobile-device-groups", privileges=MOBILE_GROUP_READ)
def pro_mobile_groups(req, world, session):
    """Every mobile device group the caller may read: [{id (integer), name, isSmartGroup}]."""
    return [{"id": g.id, "name": g.name, "isSmartGroup": g.smart} for g in world.fleet.group_list(MOBILE)
            if session.has(GROUP_READ[(MOBILE, g.smart)])]


def _mobile_group_json(group):
    """SmartGroup / StaticGroup: a mobile group with its membership count."""
    return {"groupId": str(group.id), "groupName": group.name, "groupDescription": group.description,
            "siteId": "-1", "count": len(group.members)}


def _mobile_group_list(req, world, smart):
    """SmartGroupSearchResults / StaticGroupSearchResults of mobile groups."""
    groups = [g for g in world.fleet.group_list(MOBILE) if g.smart == smart]
    fields = {"groupId": lambda g: g.id, "groupName": lambda g: g.name,
              "groupDescription": lambda g: g.description, "siteId": lambda g: "-1"}
    return listing(groups, req, fields, fields, "groupId:asc", _mobile_group_json)


@pro_route("GET", r"/v2/mobile-device-groups/smart-groups", privileges=["Read Smart Mobile Device Groups"])
def pro_mobile_smart_groups(req, world, session):
    """Paged smart mobile device groups."""
    return _mobile_group_list(req, world, True)


@pro_route("GET", r"/v2/mobile-device-groups/static-groups", privileges=["Read Static Mobile Device Groups"])
def pro_mobile_static_groups(req, world, session):
    """Paged static mobile device groups."""
    return _mobile_group_list(req, world, False)


MOBILE_STATIC = "/v2/mobile-device-groups/static-groups"


def _mobile_static_body(world, req, current=None):
    """Validated {groupName?, groupDescription?, add: [ids], remove: [ids]} of a StaticGroupAssignment.

    groupName is required on create (current None) and optional on PATCH,
    which changes only the fields given.  Each assignment is {mobileDeviceId
    (string), selected (boolean)}: selected true adds the device, false
    removes it; an id may appear once, and must name a mobile device (400).
    """
    body = json_body(req, "StaticGroupAssignment")
    if not isinstance(body, dict):
        raise bad_request("", "Body must be a StaticGroupAssignment object")
    out = {"add": [], "remove": []}
    if current is None or "groupName" in body:
        out["groupName"] = _group_name(world, MOBILE, body.get("groupName"), "groupName", current)
    if "groupDescription" in body:
        if not isinstance(body["groupDescription"], str):
            raise bad_request("groupDescription", "groupDescription must be a string")
        out["groupDescription"] = body["groupDescription"]
    if "siteId" in body and body["siteId"] != "-1":  # the sim has no sites; "-1" is none
        raise bad_request("siteId", f"Site {body['siteId']!r} does not exist", code="INVALID_ID")
    assignments = body.get("assignments", [])
    if not isinstance(assignments, list):
        raise bad_request("assignments", "assignments must be an array of {mobileDeviceId, selected}")
    for index, item in enumerate(assignments):
        field = f"assignments[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("mobileDeviceId"), str) \
                or not item["mobileDeviceId"]:
            raise bad_request(f"{field}.mobileDeviceId", "mobileDeviceId must be a mobile device id (string)")
        if not isinstance(item.get("selected"), bool):
            raise bad_request(f"{field}.selected", "selected must be true or false")
        out["add" if item["selected"] else "remove"].append(item["mobileDeviceId"])
    device_ids = out["add"] + out["remove"]
    if len(set(device_ids)) != len(device_ids):
        raise bad_request("assignments", "assignments must not repeat a mobileDeviceId")
    _known_devices(world, MOBILE, device_ids, "assignments")
    return out


@pro_route("POST", MOBILE_STATIC, privileges=["Create Static Mobile Device Groups"])
def pro_create_mobile_static_group(req, world, session):
    """Create a static mobile device group from the selected devices: 201 {id, href}."""
    body = _mobile_static_body(world, req)
    return _create_static_group(req, world, MOBILE, body["groupName"], body["add"],
                                body.get("groupDescription", ""), MOBILE_STATIC)


@pro_route("GET", MOBILE_STATIC + r"/(?P<id>[^/]+)", privileges=["Read Static Mobile Device Groups"])
def pro_mobile_static_group(req, world, session):
    """StaticGroup: one static mobile device group with its membership count."""
    return _mobile_group_json(_group(world, MOBILE, req.params["id"], smart=False))


@pro_route("PATCH", MOBILE_STATIC + r"/(?P<id>[^/]+)", privileges=["Update Static Mobile Device Groups"])
def pro_update_mobile_static_group(req, world, session):
    """Rename and add/remove devices: 200 StaticGroupAssignment with every member selected."""
    group = _group(world, MOBILE, req.params["id"], smart=False)
    body = _mobile_static_body(world, req, current=group)
    group.name = body.get("groupName", group.name)
    group.description = body.get("groupDescription", group.description)
    members = [i for i in group.members if i not in body["remove"]]
    group.members = _id_order(members + [i for i in body["add"] if i not in members])
    return {"groupId": str(group.id), "groupName": group.name, "groupDescription": group.description,
            "siteId": "-1", "assignments": [{"mobileDeviceId": i, "selected": True} for i in group.members]}


@pro_route("DELETE", MOBILE_STATIC + r"/(?P<id>[^/]+)", privileges=["Delete Static Mobile Device Groups"])
def pro_delete_mobile_static_group(req, world, session):
    """Delete a static mobile device group: 204."""
    return _delete_static_group(world, MOBILE, req.params["id"])


def _mobile_members(req, world, smart):
    """InventoryListMobileDeviceSearchResults of a mobile group's members."""
    group = _group(world, MOBILE, req.params["id"], smart=smart)
    members = [world.fleet.mobiles[i] for i in group.members if i in world.fleet.mobiles]
    return listing(members, req, mobile_getters(), mobile_getters(), "displayName:asc", mobile_flat)


@pro_route("GET", r"/v1/mobile-device-groups/smart-group-membership/(?P<id>[^/]+)",
           privileges=["Read Smart Mobile Device Groups", "Read Mobile Devices"])
@pro_route("GET", r"/v2/mobile-device-groups/smart-group-membership/(?P<id>[^/]+)",
           privileges=["Read Smart Mobile Device Groups", "Read Mobile Devices"])
def pro_mobile_smart_members(req, world, session):
    """Members of a smart mobile device group (paged inventory list)."""
    return _mobile_members(req, world, True)


@pro_route("GET", r"/v1/mobile-device-groups/static-group-membership/(?P<id>[^/]+)",
           privileges=["Read Static Mobile Device Groups", "Read Mobile Devices"])
@pro_route("GET", r"/v2/mobile-device-groups/static-group-membership/(?P<id>[^/]+)",
           privileges=["Read Static Mobile Device Groups", "Read Mobile Devices"])
def pro_mobile_static_members(req, world, session):
    """Members of a static mobile device group (paged inventory list)."""
    return _mobile_members(req, world, False)


# ---------------------------------------------------------------------------
# Managed software updates: feature toggle and available updates
# ---------------------------------------------------------------------------

MSU = r"/v1/managed-software-updates"


@pro_route("GET", MSU + r"/available-updates")
def pro_available_updates(req, world, session):
    """Public releases of the feed, newest first, per platform."""
    catalog, day = world.catalog(), world.feed_day()
    return {"availableUpdates": {"macOS": catalog.public_versions("macOS", day),
                                 "iOS": catalog.public_versions("iOS", day)}}


@pro_route("GET", MSU + r"/plans/feature-toggle", privileges=["Read Managed Software Updates"])
def pro_get_toggle(req, world, session):
    """ManagedSoftwareUpdatePlanToggle."""
    return dict(world.pro.toggle)


@pro_route("PUT", MSU + r"/plans/feature-toggle",
           privileges=["Read Managed Software Updates", "Create Managed Software Updates",
                       "Update Managed Software Updates"])
def pro_put_toggle(req, world, session):
    """Switch plans on or off (asynchronous; see .../feature-toggle/status).

    Only "toggle" is writable: the other fields are read-only and ignored
    (customVersionEnabled changes only through the control API).
    """
    body = json_body(req, "ManagedSoftwareUpdatePlanToggle")
    if not isinstance(body, dict) or not isinstance(body.get("toggle"), bool):
        raise bad_request("toggle", "toggle is required and must be a boolean")
    now = world.now()
    if world.pro.switching(now):
        raise bad_request("toggle", "A feature toggle change is already in progress",
                          code="TOGGLE_IN_PROGRESS")
    if body["toggle"] != world.pro.toggle["toggle"]:
        world.pro.start_toggle(body["toggle"], now)
    return dict(world.pro.toggle)


@pro_route("GET", MSU + r"/plans/feature-toggle/status", privileges=["Read Managed Software Updates"])
def pro_toggle_status(req, world, session):
    """Progress of the last switch each way."""
    now = world.now()
    jobs = world.pro.toggle_jobs
    return {"toggleOn": jobs[True].status(now) if jobs[True] else dict(NEVER_RAN),
            "toggleOff": jobs[False].status(now) if jobs[False] else dict(NEVER_RAN)}


@pro_route("POST", MSU + r"/plans/feature-toggle/abandon",
           privileges=["Read Managed Software Updates", "Create Managed Software Updates",
                       "Update Managed Software Updates"])
def pro_toggle_abandon(req, world, session):
    """Stop a running switch; the toggle keeps its old value: 204 (400 if none runs)."""
    now = world.now()
    job = world.pro.switching(now)
    if job is None:
        raise bad_request("toggle", "No feature toggle change is in progress", code="TOGGLE_NOT_RUNNING")
    job.stopped = now
    world.pro.toggle["toggle"] = not job.turning_on
    return Response(204)


# ---------------------------------------------------------------------------
# Managed software updates: plans
# ---------------------------------------------------------------------------

def validate_config(world, config):
    """The normalised PlanConfigurationPost, or a 400 ApiProblem listing every problem."""
    problems = []

    def problem(field, description):
        problems.append(("INVALID_FIELD", f"config.{field}", description))

    if not isinstance(config, dict):
        raise bad_request("config", "config is required and must be an object")
    for name, allowed in (("updateAction", UPDATE_ACTIONS), ("versionType", VERSION_TYPES)):
        value = config.get(name)
        if value is None:
            problem(name, f"{name} is required")
        elif not isinstance(value, str) or value not in allowed:
            problem(name, f"{name} must be one of {', '.join(allowed)}")
        elif value == "UNKNOWN":
            problem(name, f"{name} UNKNOWN cannot be used to create a plan")
    specific = config.get("specificVersion", NO_SPECIFIC_VERSION)
    if not isinstance(specific, str):
        problem("specificVersion", "specificVersion must be a string")
    build = config.get("buildVersion")
    if build is not None and (not isinstance(build, str) or not build):
        problem("buildVersion", "buildVersion must be a non-empty string or null")
    deferrals = config.get("maxDeferrals", 0)
    if isinstance(deferrals, bool) or not isinstance(deferrals, int) or deferrals < 0:
        problem("maxDeferrals", "maxDeferrals must be an integer >= 0")
    deadline = config.get("forceInstallLocalDateTime")
    if deadline is not None and parse_local_datetime(deadline) is None:
        problem("forceInstallLocalDateTime", "forceInstallLocalDateTime must be yyyy-MM-ddTHH:mm:ss")
    if problems:
        raise ApiProblem(400, "", "", errors=problems)
    action, version_type = config["updateAction"], config["versionType"]
    toggle = world.pro.toggle
    if version_type in ("SPECIFIC_VERSION", "CUSTOM_VERSION") and specific in ("", NO_SPECIFIC_VERSION):
        problem("specificVersion", f"specificVersion is required with {version_type}")
    if version_type not in ("SPECIFIC_VERSION", "CUSTOM_VERSION") \
            and specific not in ("", NO_SPECIFIC_VERSION):
        problem("specificVersion", f"specificVersion cannot be used with {version_type}")
    if build is not None and version_type != "CUSTOM_VERSION":
        problem("buildVersion", "buildVersion can only be used with CUSTOM_VERSION")
    if version_type == "CUSTOM_VERSION" and not toggle["customVersionEnabled"]:
        problem("versionType", "CUSTOM_VERSION is not enabled for this Jamf Pro instance")
    if action == "DOWNLOAD_INSTALL_SCHEDULE" and deadline is None:
        problem("forceInstallLocalDateTime",
                "forceInstallLocalDateTime is required with DOWNLOAD_INSTALL_SCHEDULE")
    if deadline is not None and not toggle["forceInstallLocalDateEnabled"]:
        problem("forceInstallLocalDateTime", "forceInstallLocalDateTime is not enabled")
    if problems:
        raise ApiProblem(400, "", "", errors=problems)
    return {"updateAction": action, "versionType": version_type,
            "specificVersion": specific or NO_SPECIFIC_VERSION, "buildVersion": build,
            "maxDeferrals": deferrals, "forceInstallLocalDateTime": deadline}


def _require_plans_enabled(world):
    """400 while plans are switched off or the switch is running."""
    if world.pro.switching(world.now()):
        raise bad_request("", "The managed software updates feature toggle is being changed; try again later",
                          code="TOGGLE_IN_PROGRESS")
    if not world.pro.toggle["toggle"]:
        raise bad_request("", "Managed software update plans are turned off (feature toggle)",
                          code="FEATURE_DISABLED")


def device_href(kind, device_id):
    """The inventory path Jamf puts in a plan's device.href."""
    return f"/v1/computers-inventory/{device_id}" if kind == COMPUTER else f"/v2/mobile-devices/{device_id}"


def plan_href(plan):
    """A plan's API path."""
    return f"/v1/managed-software-updates/plans/{plan.uuid}"


def created_response(plans):
    """201 ManagedSoftwareUpdatePlanPostResponse."""
    return json_response({"plans": [{"device": {"deviceId": p.device_id, "objectType": p.object_type,
                                                "href": device_href(p.kind, p.device_id)},
                                     "planId": p.uuid, "href": plan_href(p)} for p in plans]}, 201)


READ_DEVICES = {COMPUTER: "Read Computers", MOBILE: "Read Mobile Devices", "APPLE_TV": "Read Mobile Devices"}


@pro_route("POST", MSU + r"/plans", privileges=["Create Managed Software Updates"])
def pro_create_plans(req, world, session):
    """One plan per listed device: 201 {plans: [...]}."""
    _require_plans_enabled(world)
    body = json_body(req, "ManagedSoftwareUpdatePlanPost")
    if not isinstance(body, dict):
        raise bad_request("", "Body must be a ManagedSoftwareUpdatePlanPost object")
    devices = body.get("devices")
    if not isinstance(devices, list) or not devices:
        raise bad_request("devices", "devices is required and must hold at least one device")
    parsed = []
    for index, item in enumerate(devices):
        field = f"devices[{index}]"
        if not isinstance(item, dict):
            raise bad_request(field, "each device must be an object {deviceId, objectType}")
        device_id, object_type = item.get("deviceId"), item.get("objectType")
        if not isinstance(device_id, str) or not device_id:
            raise bad_request(f"{field}.deviceId", "deviceId is required and must be a non-empty string")
        if object_type not in OBJECT_TYPES:
            raise bad_request(f"{field}.objectType", f"objectType must be one of {', '.join(OBJECT_TYPES)}")
        parsed.append((device_id, object_type))
    if len(set(parsed)) != len(parsed):
        raise bad_request("devices", "devices must not repeat a device")
    config = validate_config(world, body.get("config"))
    session.require(*{READ_DEVICES[OBJECT_TYPES[t]] for _, t in parsed})
    for index, (device_id, object_type) in enumerate(parsed):
        kind = OBJECT_TYPES[object_type]
        if kind == "APPLE_TV" or world.device(kind, device_id) is None:
            raise ApiProblem(400, "INVALID_ID", f"{object_type} {device_id} does not exist",
                             f"devices[{index}].deviceId", device_id)
    plans = world.pro.create_plans([(OBJECT_TYPES[t], d, t) for d, t in parsed], config)
    return created_response(plans)


@pro_route("POST", MSU + r"/plans/group", privileges=["Create Managed Software Updates"])
def pro_create_group_plans(req, world, session):
    """One plan per member of a computer or mobile device group: 201 {plans: [...]}."""
    _require_plans_enabled(world)
    body = json_body(req, "ManagedSoftwareUpdatePlanGroupPost")
    if not isinstance(body, dict):
        raise bad_request("", "Body must be a ManagedSoftwareUpdatePlanGroupPost object")
    group_ref = body.get("group")
    if not isinstance(group_ref, dict):
        raise bad_request("group", "group is required and must be an object {groupId, objectType}")
    group_id, object_type = group_ref.get("groupId"), group_ref.get("objectType")
    if not isinstance(group_id, str) or not group_id:
        raise bad_request("group.groupId", "groupId is required and must be a non-empty string")
    if object_type not in GROUP_OBJECT_TYPES:
        raise bad_request("group.objectType", f"objectType must be one of {', '.join(GROUP_OBJECT_TYPES)}")
    config = validate_config(world, body.get("config"))
    kind = GROUP_OBJECT_TYPES[object_type]
    group = _group(world, kind, group_id)
    session.require(READ_DEVICES[kind], GROUP_READ[(kind, group.smart)])
    device_type = "COMPUTER" if kind == COMPUTER else "MOBILE_DEVICE"
    plans = world.pro.create_plans([(kind, device_id, device_type) for device_id in group.members
                                    if world.device(kind, device_id) is not None],
                                   config, group=(kind, group.id))
    return created_response(plans)


def plan_json(plan, now):
    """ManagedSoftwareUpdatePlan at now."""
    state = plan.state_at(now)
    config = plan.config
    return {"planUuid": plan.uuid,
            "device": {"deviceId": plan.device_id, "objectType": plan.object_type,
                       "href": device_href(plan.kind, plan.device_id)},
            "updateAction": config["updateAction"], "versionType": config["versionType"],
            "specificVersion": config["specificVersion"], "buildVersion": config["buildVersion"],
            "maxDeferrals": config["maxDeferrals"],
            "forceInstallLocalDateTime": config["forceInstallLocalDateTime"], "recipeId": "-1",
            "status": {"state": state,
                       "errorReasons": list(plan.error_reasons) if state == "PlanFailed" else []}}


def plan_bytes(plan, now):
    """compact_json(plan_json(plan, now)) as bytes, kept while the plan's state and reasons stay.

    Only the status (the last member) changes: the text before it is made once.
    """
    state = plan.state_at(now)
    shows = (state, tuple(plan.error_reasons) if state == "PlanFailed" else ())
    if plan.rendered is None or plan.rendered[0] != shows:
        body = plan_json(plan, now)
        status = compact_json(body.pop("status")).encode()
        if plan.head is None:
            plan.head = compact_json(body).encode()[:-1] + b',"status":'
        plan.rendered = (shows, plan.head + status + b"}")
    return plan.rendered[1]


def plan_fields(now):
    """Filter/sort getters of plans at now."""
    return {"planUuid": lambda p: p.uuid, "device.deviceId": lambda p: p.device_id,
            "device.objectType": lambda p: p.object_type,
            "updateAction": lambda p: p.config["updateAction"],
            "versionType": lambda p: p.config["versionType"],
            "specificVersion": lambda p: p.config["specificVersion"],
            "maxDeferrals": lambda p: p.config["maxDeferrals"], "recipeId": lambda p: "-1",
            "forceInstallLocalDateTime": lambda p: p.config["forceInstallLocalDateTime"],
            "state": lambda p: p.state_at(now)}


PLAN_READ = ["Read Managed Software Updates", ("Read Computers", "Read Mobile Devices")]


# Plan fields that never change once a plan exists: orders by them can be kept.
FIXED_PLAN_FIELDS = {"planUuid", "device.deviceId", "device.objectType", "updateAction", "versionType",
                     "specificVersion", "maxDeferrals", "recipeId", "forceInstallLocalDateTime"}


@pro_route("GET", MSU + r"/plans", privileges=PLAN_READ)
def pro_list_plans(req, world, session):
    """Paged plans of the device types the caller may read."""
    now = world.now()
    pro = world.pro
    fields = plan_fields(now)

    def readable(plans):
        """The plans of the device types the caller may read, in the same order (a list that
        may be plans itself: lists here are only read)."""
        if session.token.privileges == "all":
            return plans if isinstance(plans, list) else list(plans)
        return [p for p in plans if session.has(READ_DEVICES[p.kind])]

    def by_uuid(node):
        """Plans named by planUuid==X or planUuid=in=(...), in creation order: a dict look-up
        (plan uuids are lower case, so a value's casefold finds the plan it equals)."""
        values = query.exact_values(node, "planUuid")
        if values is None:
            return None
        found = {}
        for value in values:
            plan = pro.plans.get(value.casefold())
            if plan is not None:
                found[plan.seq] = plan
        return [found[seq] for seq in sorted(found)]

    def presorted(criteria):
        """Every plan in the order of criteria on fixed fields (kept between requests), or None."""
        if any(name not in FIXED_PLAN_FIELDS for name, _ in criteria):
            return None
        key = tuple(criteria)
        count, ordered = pro.plan_orders.get(key, (None, None))
        if count != len(pro.plans):  # plans are only ever added
            ordered = query.sort_records(list(pro.plans.values()), criteria, fields)
            pro.plan_orders[key] = (len(pro.plans), ordered)
        return ordered

    def select(node, criteria):
        """The plans listed, as filtering and sorting them all would give them, found faster.

        A list that is not by uuid is kept for the next pages while nothing can have changed
        it: no plan added, the clock still, no scheduled change run.
        """
        found = by_uuid(node)
        if found is not None:
            return readable(query.sort_records(found, criteria, fields))
        moment = (len(pro.plans), now, world.events_run)
        if pro.plan_lists[0] != moment:
            pro.plan_lists = (moment, {})
        key = (repr(node), tuple(criteria))
        ordered = pro.plan_lists[1].get(key)
        if ordered is None:
            base = presorted(criteria)
            if base is not None:  # filtering a sorted list keeps it sorted, ties in creation order
                ordered = query.filter_records(base, node, fields)
            else:
                ordered = query.sort_records(query.filter_records(pro.plans.values(), node, fields),
                                             criteria, fields)
            pro.plan_lists[1][key] = ordered
        return readable(ordered)

    total, shown = listing_page(lambda: readable(pro.plans.values()), req, fields, fields, "planUuid:asc",
                                select=select)
    return Response(200, list_body(total, [plan_bytes(p, now) for p in shown]))


@pro_route("GET", MSU + r"/plans/group/(?P<id>[^/]+)", privileges=["Read Managed Software Updates"])
def pro_group_plans(req, world, session):
    """Plans created for a group (?group-type=COMPUTER_GROUP|MOBILE_DEVICE_GROUP)."""
    group_type = (params_of(req).get("group-type") or [None])[-1]
    if group_type not in GROUP_OBJECT_TYPES:
        raise bad_request("group-type", "group-type is required: COMPUTER_GROUP or MOBILE_DEVICE_GROUP")
    kind = GROUP_OBJECT_TYPES[group_type]
    group = _group(world, kind, req.params["id"])
    session.require(READ_DEVICES[kind], GROUP_READ[(kind, group.smart)])
    now = world.now()
    plans = [plan_json(p, now) for p in world.pro.plans.values() if p.group == (kind, group.id)]
    return {"totalCount": len(plans), "results": plans}


def _plan(world, session, plan_id):
    """A plan the caller may read, or 404."""
    plan = world.pro.plans.get(plan_id)
    if plan is None:
        raise ApiProblem(404, "NOT_FOUND", f"Plan {plan_id} not found", "id", plan_id)
    session.require(READ_DEVICES[plan.kind])
    return plan


@pro_route("GET", MSU + r"/plans/(?P<id>[^/]+)", privileges=["Read Managed Software Updates"])
def pro_get_plan(req, world, session):
    """One plan."""
    return plan_json(_plan(world, session, req.params["id"]), world.now())


@pro_route("GET", MSU + r"/plans/(?P<id>[^/]+)/events", privileges=["Read Managed Software Updates"])
def pro_plan_events(req, world, session):
    """{"events": "<JSON text of the plan's event log so far>"}."""
    plan = _plan(world, session, req.params["id"])
    now = world.now()
    events = [event_json(e) for e in plan.log if e[0] <= now * 1000]
    return {"events": json.dumps({"planUuid": plan.uuid, "events": events}, separators=(",", ":"))}


@pro_route("GET", MSU + r"/plans/(?P<id>[^/]+)/declarations", privileges=["Read Managed Software Updates"])
def pro_plan_declarations(req, world, session):
    """The DDM declarations Jamf made for the plan (none before scheduling)."""
    plan = _plan(world, session, req.params["id"])
    if plan.declaration is None or plan.declared_at > world.now():
        return {"declarations": []}
    return {"declarations": [{"uuid": plan.declaration["uuid"],
                              "payloadJson": json.dumps(plan.declaration["payload"], separators=(",", ":")),
                              "type": "com.apple.configuration.softwareupdate.enforcement.specific",
                              "group": "CONFIGURATION"}]}


# ---------------------------------------------------------------------------
# DDM status items
# ---------------------------------------------------------------------------

def _ddm_device(world, session, management_id):
    """(kind, device) for a managementId the caller may read, or 404."""
    kind, device = world.fleet.find_by_management_id(management_id)
    if device is None:
        raise ApiProblem(404, "NOT_FOUND", f"No device with management id {management_id}",
                         "clientManagementId", management_id)
    session.require(READ_DEVICES[kind])
    return kind, device


DDM_READ = [("Read Computers", "Read Mobile Devices")]


@pro_route("GET", r"/v1/ddm/(?P<mid>[^/]+)/status-items", privileges=DDM_READ)
def pro_status_items(req, world, session):
    """{"statusItems": [{key, value, lastUpdateTime}]} of a DDM device."""
    kind, device = _ddm_device(world, session, req.params["mid"])
    if not world.ddm_enabled(device):
        return {"statusItems": []}
    return {"statusItems": world.status_items(kind, device)}


@pro_route("GET", r"/v1/ddm/(?P<mid>[^/]+)/status-items/(?P<key>[^/]+)", privileges=DDM_READ)
def pro_status_item(req, world, session):
    """One status item, or 404."""
    kind, device = _ddm_device(world, session, req.params["mid"])
    items = world.status_items(kind, device) if world.ddm_enabled(device) else []
    for item in items:
        if item["key"] == req.params["key"]:
            return item
    raise ApiProblem(404, "NOT_FOUND", f"No status item {req.params['key']}", "key", req.params["key"])


# ---------------------------------------------------------------------------
# Sticky-session cookie
# ---------------------------------------------------------------------------

def is_jamf_pro_path(path):
    """True for paths the simulated Jamf Pro serves."""
    return path.startswith("/api/") or path.startswith("/oidc/")


def add_sticky_cookie(req, response):
    """Response hook: every Jamf Pro response sets APBALANCEID."""
    if is_jamf_pro_path(req.path):
        response = dataclasses.replace(response, headers=[*response.headers, ("Set-Cookie", STICKY_COOKIE)])
    return response


def record_sticky_cookie(req):
    """Record hook: did the request carry the APBALANCEID cookie we set?"""
    cookies = {}
    for part in req.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            cookies[name] = value
    return {"sticky_cookie": cookies.get(STICKY_COOKIE_NAME) == STICKY_COOKIE_VALUE}


sim.RESPONSE_HOOKS.append(add_sticky_cookie)
sim.RECORD_HOOKS.append(record_sticky_cookie)


# ---------------------------------------------------------------------------
# Control API
# ---------------------------------------------------------------------------

def _merge_accounts(accounts, body, secret_key, default_lifetime=1200):
    """Merge {name: {secret|password, privileges, token_lifetime} | null} into accounts."""
    if not isinstance(body, dict):
        raise HandlerError(400, "body must be an object {id: settings or null}")
    for name, settings in body.items():
        if settings is None:
            accounts.pop(name, None)
            continue
        current = accounts.get(name, {"privileges": "all", "token_lifetime": default_lifetime})
        merged = merge_patch(current, settings)
        privileges = merged.get("privileges")
        if not isinstance(merged.get(secret_key), str) or not merged[secret_key]:
            raise HandlerError(400, f"{name}: {secret_key} must be a non-empty string")
        if privileges != "all" and not (isinstance(privileges, list)
                                        and all(isinstance(p, str) for p in privileges)):
            raise HandlerError(400, f"{name}: privileges must be \"all\" or a list of names")
        lifetime = merged.get("token_lifetime")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime < 1:
            raise HandlerError(400, f"{name}: token_lifetime must be an integer >= 1")
        accounts[name] = merged
    return {name: dict(settings) for name, settings in accounts.items()}


@control("GET", r"/_sim/jamf/clients")
def control_get_clients(req, world, body):
    """Jamf Pro API clients."""
    return world.pro.clients


@control("POST", r"/_sim/jamf/clients")
def control_set_clients(req, world, body):
    """Merge API clients: {client_id: {secret, privileges: [...]|"all", token_lifetime} | null}."""
    return _merge_accounts(world.pro.clients, body, "secret")


@control("POST", r"/_sim/jamf/users")
def control_set_users(req, world, body):
    """Merge basic-auth users: {name: {password, privileges, token_lifetime} | null}."""
    return _merge_accounts(world.pro.users, body, "password")


@control("POST", r"/_sim/jamf/tokens/expire")
def control_expire_tokens(req, world, body):
    """Expire every token now: {"service": "pro"|"platform"|"all"} (default all)."""
    service = body.get("service", "all") if isinstance(body, dict) else "all"
    if service not in ("pro", "platform", "all"):
        raise HandlerError(400, "service must be pro, platform or all")
    if service in ("pro", "all"):
        world.pro.tokens.expire_all(world.now())
    if service in ("platform", "all"):
        world.platform.tokens.expire_all(world.now())
    return {"ok": True}


@control("GET", r"/_sim/jamf/feature-toggle")
def control_get_toggle(req, world, body):
    """The plan feature toggle, including read-only fields."""
    return dict(world.pro.toggle, switching=world.pro.switching(world.now()) is not None)


@control("POST", r"/_sim/jamf/feature-toggle")
def control_set_toggle(req, world, body):
    """Set toggle fields at once (no asynchronous switch, no cancellation).

    Keys: toggle, forceInstallLocalDateEnabled, customVersionEnabled,
    dssEnabled, recipeEnabled (booleans); toggle_seconds (switch duration).
    """
    if not isinstance(body, dict):
        raise HandlerError(400, "body must be an object")
    for key, value in body.items():
        if key == "toggle_seconds":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise HandlerError(400, "toggle_seconds must be a number >= 0")
            world.settings["toggle_seconds"] = value
        elif key in world.pro.toggle:
            if not isinstance(value, bool):
                raise HandlerError(400, f"{key} must be a boolean")
            world.pro.toggle[key] = value
        else:
            raise HandlerError(400, f"unknown feature toggle field {key}")
    return dict(world.pro.toggle)
