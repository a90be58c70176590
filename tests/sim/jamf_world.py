"""The simulated Jamf world shared by jamf_pro.py and jamf_platform.py.

One World per sim process (``state.jamf``) holds:

  * the simulated clock.  It starts at real time and runs with it (or stands
    still with --frozen-clock); POST /_sim/clock {"advance": seconds} moves it
    forward.  Token expiry, plan progress, feature-toggle switches and
    blueprint deployments all follow it.
  * a scheduler: callbacks due at a simulated time.  Every Jamf request (and
    every Jamf control call) first runs what has become due, in time order,
    so the world is always consistent with the clock when it is observed.
  * the fleet (fleet.py) and the software catalog Jamf consults: the feed the
    sim serves at /v2/pmv (date-shifted if enabled).  When no feed is served,
    Jamf still needs Apple's answer: it gets the default capture with its
    dates shifted to today, as if Apple were live.
  * device update activities: what a device does after it received an
    enforcement (from a plan or a blueprint): wait, download, install at the
    deadline, then report the new OS version, or fail.  DDM status items are
    derived from them.
  * the Jamf Pro (world.pro) and Jamf Platform (world.platform) states.

All of it is guarded by the sim's lock (an RLock): handlers hold it for the
whole request.  This module also serves the control API shared by both
services: /_sim/clock, /_sim/jamf/reset, /_sim/jamf/fleet,
/_sim/jamf/devices/..., /_sim/jamf/settings and /_sim/jamf/state (see the
docstring of sim.py).
"""

import dataclasses
import datetime
import heapq
import itertools
import re
import secrets
import time
from pathlib import Path

import fleet as fleetlib
from sim import ROUTES, HandlerError, json_response, shift_gdmf_dates

HERE = Path(__file__).resolve().parent
DEFAULT_FEED = HERE.parents[1] / "tests" / "fixtures" / "gdmf" / "pmv-2026-03-17.json"
LOCAL_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")

DEFAULT_SETTINGS = {
    "plan_step": 5.0,            # seconds between plan states
    "download_seconds": 60.0,    # declaration received -> update downloaded and prepared
    "install_seconds": 120.0,    # install start -> device reports the new version
    "install_after": None,       # users install this long after "prepared" (None: at the deadline)
    "grace_seconds": 86400.0,    # unresponsive devices fail plans after this
    "toggle_seconds": 10.0,      # feature toggle switch duration
    "deploy_step": 5.0,          # blueprint PENDING -> DEPLOYING -> SUCCEEDED/FAILED
    "report_spread": 30.0,       # devices report a deployed blueprint within this
    "honor_expiry": True,        # feed entries outside PostingDate..ExpirationDate are unavailable
}


@dataclasses.dataclass
class Options:
    """Start-up options of the Jamf simulation (sim.py command line)."""

    computers: int = 50
    mobile: int = 20
    seed: int = 1
    token_lifetime: int = 1200
    frozen_clock: bool = False
    environment_id: str = "6f1c2b8e-0d3a-4c55-9e7b-2a4d8c9f1e03"


# ---------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------

class Clock:
    """Simulated time: real time (or a frozen start) plus an offset moved by the control API."""

    def __init__(self, frozen=False):
        """Start at the real current time."""
        self.frozen = frozen
        self.start = time.time()
        self.offset = 0.0

    def now(self):
        """Current simulated time, as a Unix timestamp."""
        return (self.start if self.frozen else time.time()) + self.offset

    def advance(self, seconds):
        """Move the clock forward."""
        self.offset += seconds


def iso_millis(epoch):
    """Jamf Pro's timestamp format: 2026-03-18T10:00:00.000Z."""
    stamp = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def iso_seconds(epoch):
    """The Platform API's timestamp format: 2026-03-18T10:00:00Z."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_local_datetime(text):
    """yyyy-mm-ddThh:mm:ss (no zone) as a Unix timestamp, read as UTC; None if malformed."""
    if not isinstance(text, str) or not LOCAL_DATETIME_RE.fullmatch(text):
        return None
    try:
        return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Token:
    """One bearer token."""

    value: str
    subject: str          # client id or user name
    kind: str             # "oauth", "basic" or "platform"
    privileges: object    # list of names, or "all"
    issued: float
    expires: float
    revoked: bool = False


class TokenStore:
    """The bearer tokens one service has issued."""

    def __init__(self, prefix):
        """prefix starts every token value (tells services apart in logs)."""
        self.prefix = prefix
        self.tokens = {}
        self.counter = itertools.count(1)

    def issue(self, subject, kind, privileges, now, lifetime):
        """Make and remember a new token."""
        value = f"{self.prefix}{next(self.counter)}.{secrets.token_urlsafe(24)}"
        token = Token(value, subject, kind, privileges, now, now + lifetime)
        self.tokens[value] = token
        return token

    def find(self, value, now):
        """(token, None) if value is a live token, else (None, reason)."""
        token = self.tokens.get(value)
        if token is None:
            return None, "unknown token"
        if token.revoked:
            return None, "token invalidated"
        if now >= token.expires:
            return None, "token expired"
        return token, None

    def expire_all(self, now):
        """Make every token expire now."""
        for token in self.tokens.values():
            token.expires = min(token.expires, now)


def bearer(req):
    """The bearer token of a request, or None."""
    scheme, _, value = req.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def base_url(req):
    """scheme://host[:port] of the request, from its Host header."""
    return f"{getattr(req.state, 'scheme', 'https')}://{req.headers.get('host', '127.0.0.1')}"


# ---------------------------------------------------------------------------
# Device update activities
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Activity:
    """A software update a device is working on, from a plan or a blueprint.

    Times are simulated timestamps; None means "not (yet) happening".
    outcome: None (in progress), "installed", "downloaded" (download-only) or "failed".
    """

    kind: str
    device_id: str
    source: str                # "plan:<uuid>" or "blueprint:<id>"
    target: object             # fleet.FeedEntry or a stand-in with the same fields
    received: float
    target_local: str = None   # TargetLocalDateTime / forceInstallLocalDateTime, if enforced
    prepared: float = None
    install_start: float = None
    install_end: float = None
    outcome: str = None
    failure_reason: str = None
    ended: float = None
    canceled: bool = False

    def install_state(self, now):
        """softwareupdate.install-state at now."""
        if self.outcome == "failed" and self.ended is not None and now >= self.ended:
            return "failed"
        if self.outcome == "installed" and now >= self.ended:
            return "none"
        if self.outcome == "downloaded" and now >= self.ended:
            return "prepared"
        if self.prepared is None or now < self.received:
            return "waiting"
        if now < self.prepared:
            return "downloading"
        if self.install_start is None or now < self.install_start:
            return "prepared"
        return "installing"


def device_key(kind, device):
    """(kind, id) of a device record: the key of World.activities."""
    return kind, device["id"] if kind == fleetlib.COMPUTER else device["mobileDeviceId"]


def entry_label(entry):
    """"26.3.1 (a) 25D771280a" for logs and messages."""
    return f"{entry.display_version} {entry.build}".strip()


# ---------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------

class World:
    """Everything the Jamf simulation knows; see the module docstring."""

    def __init__(self, sim_state, options=None):
        """sim_state: the sim's SimState (lock, feed); options: Options."""
        self.sim = sim_state
        self.options = options or Options()
        self._default_catalog = (None, None)  # (day, Catalog)
        self._catalog_cache = (None, None)
        self.reset()

    # -- lifecycle ---------------------------------------------------------

    def reset(self):
        """Forget everything: clock, settings, fleet, plans, blueprints, clients, tokens."""
        import jamf_platform
        import jamf_pro
        self.clock = Clock(self.options.frozen_clock)
        self.settings = dict(DEFAULT_SETTINGS)
        self.events = []
        self.event_seq = itertools.count()
        self.events_run = 0   # callbacks run so far: what they change is only changed by them
        self.activities = {}  # (kind, device id) -> Activity
        self.fleet_shape = (self.options.computers, self.options.mobile, self.options.seed)
        self.fleet = fleetlib.build_fleet(self.catalog(), *self.fleet_shape, self.clock.now())
        self.pro = jamf_pro.ProState(self)
        self.platform = jamf_platform.PlatformState(self)

    def replace_fleet(self, computers, mobile, seed):
        """A new fleet; plans, device activities and added static groups go with the old one."""
        self.fleet_shape = (computers, mobile, seed)
        self.fleet = fleetlib.build_fleet(self.catalog(), computers, mobile, seed, self.clock.now())
        for activity in self.activities.values():
            activity.canceled = True  # its scheduled steps must not touch the new fleet
        self.activities = {}
        self.pro.forget_plans()
        self.platform.fleet_replaced()

    # -- time ----------------------------------------------------------------

    def now(self):
        """Current simulated time."""
        return self.clock.now()

    def today(self):
        """Current simulated UTC date."""
        return datetime.datetime.fromtimestamp(self.now(), datetime.timezone.utc).date()

    def schedule(self, when, callback):
        """Run callback(when) once the clock reaches when (during sync)."""
        heapq.heappush(self.events, (when, next(self.event_seq), callback))

    def sync(self):
        """Run every scheduled callback that is due, oldest first."""
        now = self.now()
        while self.events and self.events[0][0] <= now:
            when, _, callback = heapq.heappop(self.events)
            self.events_run += 1
            callback(when)

    # -- the software catalog ----------------------------------------------

    def catalog(self):
        """fleet.Catalog of the served feed (shifted if enabled), else of the default capture."""
        raw = self.sim.gdmf_document() if self.sim is not None else None
        if raw is not None:
            cached_raw, cached = self._catalog_cache
            if cached_raw is raw:
                return cached
            catalog = fleetlib.Catalog.from_bytes(raw)
            if catalog is not None:
                self._catalog_cache = (raw, catalog)
                return catalog
        today = datetime.date.today()
        day, catalog = self._default_catalog
        if day != today:
            catalog = fleetlib.Catalog.from_bytes(shift_gdmf_dates(DEFAULT_FEED.read_bytes(), today))
            self._default_catalog = (today, catalog)
        return catalog

    def feed_day(self):
        """The date availability is judged on, or None when expiry is ignored."""
        return self.today() if self.settings["honor_expiry"] else None

    # -- devices -------------------------------------------------------------

    def device(self, kind, device_id):
        """A device record, or None."""
        return self.fleet.devices(kind).get(str(device_id))

    @staticmethod
    def os_state(kind, device):
        """(version, build, supplemental build, extra) of a device."""
        if kind == fleetlib.COMPUTER:
            os_ = device["operatingSystem"]
            return os_["version"], os_["build"], os_["supplementalBuildVersion"], os_["rapidSecurityResponse"]
        general = device["general"]
        return (general["osVersion"], general["osBuild"], general["osSupplementalBuildVersion"],
                general["osRapidSecurityResponse"])

    @staticmethod
    def model_of(kind, device):
        """What GDMF SupportedDevices lists for the device (board id or product type)."""
        if kind == fleetlib.COMPUTER:
            return device["operatingSystem"]["softwareUpdateDeviceId"]
        return device["general"]["softwareUpdateDeviceId"]

    @staticmethod
    def platform_of(kind):
        """The GDMF platform key for a device kind."""
        return "macOS" if kind == fleetlib.COMPUTER else "iOS"

    @staticmethod
    def is_managed(kind, device):
        """Whether Jamf still manages the device."""
        if kind == fleetlib.COMPUTER:
            return bool(device["general"].get("remoteManagement", {}).get("managed", True))
        return bool(device["general"].get("managed", True))

    @staticmethod
    def ddm_enabled(device):
        """Whether the device uses declarative device management."""
        return bool(device["general"].get("declarativeDeviceManagementEnabled", True))

    def at_or_past(self, kind, device, target):
        """True if the device already runs target or something newer (a downgrade)."""
        version, build, supplemental, _ = self.os_state(kind, device)
        current, wanted = fleetlib.version_key(version), fleetlib.version_key(target.version)
        if target.supplemental:
            return build == target.build or supplemental == target.build or current > wanted
        return current >= wanted

    def apply_install(self, kind, device, target, when):
        """Move a device's inventory to target (a release or a BSI) at time when."""
        stamp = iso_millis(when)
        if kind == fleetlib.COMPUTER:
            os_ = device["operatingSystem"]
            fields = ("version", "build", "supplementalBuildVersion", "rapidSecurityResponse")
            device["general"]["reportDate"] = device["general"]["lastContact"] = stamp
        else:
            os_ = device["general"]
            fields = ("osVersion", "osBuild", "osSupplementalBuildVersion", "osRapidSecurityResponse")
            os_["lastInventoryUpdateDate"] = os_["lastContactDate"] = stamp
        if target.supplemental:
            os_[fields[0]] = target.version
            os_[fields[2]] = target.build
            os_[fields[3]] = target.extra
        else:
            os_[fields[0]], os_[fields[1]], os_[fields[2]], os_[fields[3]] = (
                target.version, target.build, target.build, "")
        self.fleet.touched(*device_key(kind, device))

    # -- update activities ---------------------------------------------------

    def start_activity(self, kind, device, target, source, received, deadline_text=None,
                       on_install_start=None, on_end=None, download_only=False):
        """The device received an enforcement of target at `received`; plan its course.

        deadline_text: the local date-time the install is forced at (None: at once).
        on_install_start(time) and on_end(time, activity) are called as it happens.
        Replaces any earlier activity of the device.  Returns the Activity.
        """
        key = device_key(kind, device)
        old = self.activities.get(key)
        if old is not None and old.outcome is None:
            old.canceled = True
        activity = Activity(kind, key[1], source, target, received, deadline_text)
        self.activities[key] = activity
        if device["sim"].get("unresponsive"):
            return activity  # never downloads, never reports
        activity.prepared = received + self.settings["download_seconds"]
        if download_only:
            self.schedule(activity.prepared, lambda t: self._finish(activity, t, on_end, installed=False))
            return activity
        deadline = parse_local_datetime(deadline_text) if deadline_text else None
        start = activity.prepared if deadline is None else max(activity.prepared, deadline)
        if self.settings["install_after"] is not None:
            start = min(start, activity.prepared + float(self.settings["install_after"]))
        activity.install_start = start
        activity.install_end = start + self.settings["install_seconds"]
        if on_install_start is not None:
            self.schedule(start, lambda t: None if activity.canceled else on_install_start(t))
        self.schedule(activity.install_end, lambda t: self._finish(activity, t, on_end, installed=True))
        return activity

    def _finish(self, activity, when, on_end, installed):
        """End an activity: install (or fail) and tell its source."""
        if activity.canceled:
            return
        device = self.device(activity.kind, activity.device_id)
        if device is None:
            return
        activity.ended = when
        failure = device["sim"].get("installFailure")
        if installed and failure:
            activity.outcome, activity.failure_reason = "failed", str(failure)
        elif installed and not self.device_can_install(activity.kind, device, activity.target):
            activity.outcome = "failed"
            activity.failure_reason = (f"The requested software update {entry_label(activity.target)} "
                                       "is not available for this device")
        elif installed:
            activity.outcome = "installed"
            self.apply_install(activity.kind, device, activity.target, when)
        else:
            activity.outcome = "downloaded"
        if on_end is not None:
            on_end(when, activity)

    def device_can_install(self, kind, device, target):
        """What the device itself checks before installing target."""
        catalog = self.catalog()
        model = self.model_of(kind, device)
        if not catalog.supports(self.platform_of(kind), target.version, target.build, model):
            return False
        if target.supplemental:
            return self.os_state(kind, device)[1] == target.prerequisite
        return True

    def cancel_activities(self, source_prefix, when):
        """Cancel unfinished activities whose source starts with source_prefix."""
        for key, activity in list(self.activities.items()):
            if activity.source.startswith(source_prefix) and activity.outcome is None:
                if activity.install_start is not None and when >= activity.install_start:
                    continue  # already installing: it completes
                activity.canceled = True
                del self.activities[key]

    def status_items(self, kind, device):
        """The device's DDM status items (flattened keys) as Jamf serves them."""
        now = self.now()
        version, build, supplemental, extra = self.os_state(kind, device)
        general = device["general"]
        reported = general.get("reportDate") or general.get("lastInventoryUpdateDate")
        items = [
            ("device.operating-system.family", "macOS" if kind == fleetlib.COMPUTER else
             ("iPadOS" if self.model_of(kind, device).startswith("iPad") else "iOS")),
            ("device.operating-system.version", version),
            ("device.operating-system.build-version", build),
            ("device.operating-system.supplemental.build-version", supplemental or build),
        ]
        if extra:
            items.append(("device.operating-system.supplemental.extra-version", extra.strip("()")))
        activity = self.activities.get(device_key(kind, device))
        stamp_times = {key: reported for key, _ in items}
        pending_version = pending_build = ""
        install_state, failure = "none", None
        changed = None
        if activity is not None and activity.received <= now and activity.prepared is not None:
            changed = activity.received
            state = activity.install_state(now)
            if activity.outcome == "installed" and activity.ended <= now:
                changed = activity.ended
            elif state == "failed":
                install_state, failure, changed = "failed", activity, activity.ended
                pending_version, pending_build = activity.target.display_version, activity.target.build
            else:
                install_state = state
                pending_version, pending_build = activity.target.display_version, activity.target.build
                for moment in (activity.prepared, activity.install_start):
                    if moment is not None and moment <= now:
                        changed = moment
        update_time = iso_millis(changed) if changed is not None else reported
        items += [
            ("softwareupdate.install-state", install_state),
            ("softwareupdate.pending-version.os-version", pending_version),
            ("softwareupdate.pending-version.build-version", pending_build),
        ]
        if pending_version and activity.target_local:
            items.append(("softwareupdate.pending-version.target-local-date-time", activity.target_local))
        items.append(("softwareupdate.failure-reason.count", "1" if failure else "0"))
        if failure:
            items += [("softwareupdate.failure-reason.reason", failure.failure_reason),
                      ("softwareupdate.failure-reason.timestamp", iso_seconds(failure.ended))]
        for key, _ in items:
            if key.startswith("softwareupdate."):
                stamp_times[key] = update_time
        return [{"key": key, "value": value, "lastUpdateTime": stamp_times.get(key) or update_time}
                for key, value in items]

    # -- state dump ----------------------------------------------------------

    def dump(self, devices=False):
        """Everything a test may want to inspect, as JSON-ready data."""
        now = self.now()
        out = {
            "clock": self.clock_info(),
            "settings": dict(self.settings),
            "fleet": {"computers": len(self.fleet.computers), "mobile": len(self.fleet.mobiles),
                      "seed": self.fleet_shape[2]},
            "groups": [{"kind": g.kind, "id": str(g.id), "name": g.name, "smart": g.smart,
                        "members": list(g.members), "platformId": g.platform_id}
                       for g in self.fleet.groups.values()],
            "activities": [{"kind": a.kind, "deviceId": a.device_id, "source": a.source,
                            "target": entry_label(a.target), "installState": a.install_state(now),
                            "outcome": a.outcome, "failureReason": a.failure_reason}
                           for a in self.activities.values()],
        }
        out.update(self.pro.dump())
        out.update(self.platform.dump())
        if devices:
            out["computers"] = list(self.fleet.computers.values())
            out["mobileDevices"] = list(self.fleet.mobiles.values())
        return out

    def clock_info(self):
        """The clock as the control API shows it."""
        now = self.now()
        return {"now": now, "iso": iso_millis(now), "offset": self.clock.offset, "frozen": self.clock.frozen}


# ---------------------------------------------------------------------------
# Control API shared by both services
# ---------------------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7396 JSON merge patch of patch onto target; returns the result (target is not modified)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def control(method, pattern):
    """Register a control handler func(req, world, body) run under the lock after a sync."""
    def register(func):
        def handler(req):
            body = req.json() if req.body.strip() else {}
            world = req.state.jamf
            with req.state.lock:
                world.sync()
                result = func(req, world, body)
            return json_response(result)
        handler.__doc__ = func.__doc__
        ROUTES.route(method, pattern)(handler)
        return func
    return register


def _number_arg(body, name, minimum=0, integer=False, default=None):
    """A numeric control argument; HandlerError(400) if malformed."""
    value = body.get(name, default) if isinstance(body, dict) else default
    kinds = (int,) if integer else (int, float)
    if value is None or isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        raise HandlerError(400, f"{name} must be a number >= {minimum}")
    return value


@control("GET", r"/_sim/clock")
def control_get_clock(req, world, body):
    """The simulated clock."""
    return world.clock_info()


@control("POST", r"/_sim/clock")
def control_advance_clock(req, world, body):
    """{"advance": seconds}: move the clock forward and run what became due."""
    world.clock.advance(_number_arg(body, "advance"))
    world.sync()
    return world.clock_info()


@control("POST", r"/_sim/jamf/reset")
def control_reset(req, world, body):
    """Full reset of every Jamf Pro and Jamf Platform state (requests and faults stay)."""
    world.reset()
    return {"ok": True}


@control("GET", r"/_sim/jamf/state")
def control_state(req, world, body):
    """Dump the Jamf state; ?devices=1 includes the whole inventory."""
    return world.dump(devices="devices=1" in req.query.split("&"))


@control("GET", r"/_sim/jamf/settings")
def control_get_settings(req, world, body):
    """The simulation knobs (timings, expiry)."""
    return dict(world.settings)


@control("POST", r"/_sim/jamf/settings")
def control_set_settings(req, world, body):
    """Change simulation knobs: any keys of DEFAULT_SETTINGS."""
    if not isinstance(body, dict):
        raise HandlerError(400, "body must be an object")
    unknown = sorted(set(body) - set(DEFAULT_SETTINGS))
    if unknown:
        raise HandlerError(400, f"unknown settings: {', '.join(unknown)}")
    for key, value in body.items():
        if key == "honor_expiry":
            if not isinstance(value, bool):
                raise HandlerError(400, "honor_expiry must be a boolean")
        elif not (key == "install_after" and value is None):
            _number_arg(body, key)
        world.settings[key] = value
    return dict(world.settings)


@control("POST", r"/_sim/jamf/fleet")
def control_replace_fleet(req, world, body):
    """{"computers": N, "mobile": M, "seed": S} (each optional): build a new fleet."""
    computers = _number_arg(body, "computers", integer=True, default=world.fleet_shape[0])
    mobile = _number_arg(body, "mobile", integer=True, default=world.fleet_shape[1])
    seed = _number_arg(body, "seed", integer=True, default=world.fleet_shape[2])
    world.replace_fleet(computers, mobile, seed)
    return {"ok": True, "computers": computers, "mobile": mobile, "seed": seed}


@control("GET", r"/_sim/jamf/devices/(?P<kind>computer|mobile)/(?P<id>[^/]+)")
def control_get_device(req, world, body):
    """One device record, including its "sim" part."""
    kind = fleetlib.COMPUTER if req.params["kind"] == "computer" else fleetlib.MOBILE
    device = world.device(kind, req.params["id"])
    if device is None:
        raise HandlerError(404, f"no {req.params['kind']} {req.params['id']}")
    return device


@control("PATCH", r"/_sim/jamf/devices/(?P<kind>computer|mobile)/(?P<id>[^/]+)")
def control_patch_device(req, world, body):
    """Merge-patch one device's record, e.g. {"operatingSystem": {"build": "25D125"}}.

    The id (and mobileDeviceId) cannot change.  "sim" takes installFailure
    (a reason string: the next install fails with it) and unresponsive (bool).
    """
    kind = fleetlib.COMPUTER if req.params["kind"] == "computer" else fleetlib.MOBILE
    devices = world.fleet.devices(kind)
    device_id = req.params["id"]
    if device_id not in devices:
        raise HandlerError(404, f"no {req.params['kind']} {device_id}")
    if not isinstance(body, dict) or {"id", "mobileDeviceId"} & set(body):
        raise HandlerError(400, "body must be an object and must not change the id")
    devices[device_id] = merge_patch(devices[device_id], body)
    world.fleet.touched(kind, device_id)
    return devices[device_id]
