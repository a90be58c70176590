"""Simulated Jamf Platform API: token, device groups and blueprints.

Paths use the production form with no /api prefix and no tenant in the
path: ``{host}/auth/token``, ``{host}/device-groups/v1/...`` and
``{host}/blueprints/v1/...``; every call but the token names the environment
in the X-Environment-Id header.  Bodies, fields and enums follow
tests/fixtures/jamf/platform-*.json (whose paths are the beta-gateway form
/v1/tenant/{tenantId}/...).

Errors: {"httpStatus": N, "traceId": "<16 hex>", "errors": [{"code", "field",
"description"}]} ("field" is "" when no field is at fault).  Decision: errors
is an array, as in platform-device-groups.json and Jamf's other APIs, although
platform-blueprints.json declares a single Error object there.

Authentication: POST /auth/token (form, client credentials; clients are
separate from Jamf Pro's) -> {access_token, token_type, expires_in: 900}.
A missing, unknown or expired bearer gets 401; then a missing X-Environment-Id
gets 400 and a wrong one 403.

Blueprints
----------
POST /blueprints/v1/blueprints validates the body (name, scope.deviceGroups
naming existing platform groups, steps with components the tenant offers,
custom declaration configurations) -> 201.  PATCH needs Content-Type
application/merge-patch+json (else 415) and applies RFC 7396.  POST
.../deploy -> 202; the deployment runs on the simulated clock: PENDING, one
deploy_step later DEPLOYING, another later SUCCEEDED (deploymentState DEPLOYED)
or FAILED when a softwareupdate.enforcement.specific payload is invalid
(TargetOSVersion containing "(" or whitespace, TargetLocalDateTime not
yyyy-mm-ddThh:mm:ss, TargetOSVersion or TargetLocalDateTime missing) or a
component is no longer offered.  Changing a deployed blueprint makes it
OUT_OF_DATE until redeployed.  POST .../undeploy -> 202; NOT_DEPLOYED one step
later.

Device groups are the Jamf Pro fleet's groups of both kinds, computer and
mobile (deviceType COMPUTER / MOBILE), with the same UUIDs as Jamf Pro's
groupPlatformId, static groups made through Jamf Pro included; a blueprint
scoped to a mobile group reaches its iPhones and iPads as one scoped to a
computer group reaches Macs (iOS targets come from the feed's iOS entries).

After a successful deployment each device in scope receives the
declarations within report_spread seconds (deterministic per device) and
reports: failed if the target is older than what it runs, else succeeded; a
device that is not yet at the target then downloads and installs it at
TargetLocalDateTime (read as UTC) exactly like a plan's device, which moves
its Jamf Pro inventory and DDM status items.  GET .../report counts the
devices in scope of the latest deployment: all pending while it runs, all
failed if it failed, else per device; zero when never deployed or undeployed.
"""

import dataclasses
import functools
import itertools
import json
import re
import urllib.parse
import zlib

import fleet as fleetlib
import jamf_query as query
from fleet import COMPUTER, FeedEntry, sim_uuid
from jamf_pro import _merge_accounts, oauth_token
from jamf_world import bearer, base_url, control, iso_seconds, merge_patch, parse_local_datetime
from sim import ROUTES, HandlerError, Response, json_response

DEFAULT_CLIENT_ID = "bridge-platform-client"
DEFAULT_CLIENT_SECRET = "bridge-platform-secret-51c0"
PLATFORM_TOKEN_LIFETIME = 900
CUSTOM_DECLARATIONS = "com.jamf.ddm.custom-declarations"
CUSTOM_DECLARATION_IDS = {CUSTOM_DECLARATIONS, "com.jamf.ddm.free-form", "com.jamf.ddm-strict"}
ENFORCEMENT_TYPE = "com.apple.configuration.softwareupdate.enforcement.specific"
CHANNEL_TYPES = ("SYSTEM", "USER")
DECLARATION_KINDS = ("CONFIGURATION", "ASSET", "ACTIVATION", "MANAGEMENT")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

SUPPORTED = {"supportedOs": {"macOS": [{"version": "14.0"}], "iOS": [{"version": "17.0"}]}}
COMPONENT_CATALOG = {
    "com.jamf.ddm.sw-updates": ("Software updates", "Enforce software updates for your devices"),
    "com.jamf.ddm.software-update-settings": ("Software update settings",
                                              "Configure software update behaviour"),
    "com.jamf.ddm-configuration-profile": ("Configuration profile", "Send Apple MDM profile payloads"),
    "com.jamf.ddm.passcode-settings": ("Passcode", "Passcode requirements"),
    CUSTOM_DECLARATIONS: ("Custom declarations", "Send any declarative device management declaration"),
    "com.jamf.ddm.free-form": ("Free-form declarations",
                               "Send any declarative device management declaration"),
    "com.jamf.ddm-strict": ("Declarations", "Send any declarative device management declaration"),
}
DEFAULT_COMPONENTS = ["com.jamf.ddm.sw-updates", "com.jamf.ddm.software-update-settings",
                      "com.jamf.ddm-configuration-profile", "com.jamf.ddm.passcode-settings",
                      CUSTOM_DECLARATIONS]


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class PlatformProblem(Exception):
    """An error answer in the Platform API's body."""

    def __init__(self, status, code, description, field="", errors=None):
        """One cause, or `errors`: a list of (code, field, description)."""
        super().__init__(description)
        self.status = status
        self.causes = errors or [(code, field, description)]

    def response(self, trace_id):
        """The error Response."""
        return json_response({"httpStatus": self.status, "traceId": trace_id,
                              "errors": [{"code": c, "field": f or "", "description": d}
                                         for c, f, d in self.causes]}, self.status)


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Deployment:
    """One deploy (or undeploy) of a blueprint."""

    started: float
    timeline: list                 # [(time, PENDING|DEPLOYING|SUCCEEDED|FAILED)]
    content_version: int
    steps: list = None             # the content deployed
    devices: list = dataclasses.field(default_factory=list)  # [(kind, id)] in scope at success
    reports: dict = dataclasses.field(default_factory=dict)  # (kind, id) -> (time, "succeeded"|"failed")
    undeploy: bool = False

    def state_at(self, when):
        """lastDeployment.state at when."""
        state = self.timeline[0][1]
        for moment, name in self.timeline:
            if moment <= when:
                state = name
        return state


@dataclasses.dataclass
class Blueprint:
    """A blueprint and its deployments."""

    id: str
    name: str
    description: object
    scope: dict
    steps: list
    created: float
    updated: float
    content_version: int = 1
    deployed_version: int = None        # content version live on devices, None: not deployed
    deployment: Deployment = None       # the latest deploy/undeploy

    def content(self):
        """The client-visible, patchable part."""
        out = {"name": self.name, "scope": self.scope, "steps": self.steps}
        if self.description is not None:
            out["description"] = self.description
        return out

    def deployment_state(self, now):
        """DeploymentState at now."""
        if self.deployed_version is None:
            state = "NOT_DEPLOYED"
        elif self.deployed_version == self.content_version:
            state = "DEPLOYED"
        else:
            state = "OUT_OF_DATE"
        out = {"state": state}
        if self.deployment is not None and not self.deployment.undeploy:
            out["lastDeployment"] = {"started": iso_seconds(self.deployment.started),
                                     "state": self.deployment.state_at(now)}
        return out


class PlatformState:
    """The Platform API's state: clients, tokens, environment, components, blueprints."""

    def __init__(self, world):
        """Defaults: one client, the default environment, the usual components."""
        from jamf_world import TokenStore
        self.world = world
        self.clients = {DEFAULT_CLIENT_ID: {"secret": DEFAULT_CLIENT_SECRET, "privileges": "all",
                                            "token_lifetime": PLATFORM_TOKEN_LIFETIME}}
        self.tokens = TokenStore("sim-platform-")
        self.environment_id = world.options.environment_id
        self.components = list(DEFAULT_COMPONENTS)
        self.blueprints = {}
        self.counter = itertools.count(1)
        self.trace_counter = itertools.count(1)

    def fleet_replaced(self):
        """Deployments reached devices of the old fleet: forget their reports."""
        for blueprint in self.blueprints.values():
            if blueprint.deployment is not None:
                blueprint.deployment.devices = []
                blueprint.deployment.reports = {}

    def trace_id(self):
        """A fresh trace id (16 hex digits, deterministic)."""
        count = next(self.trace_counter)
        return f"{zlib.crc32(str(count).encode()):08x}{zlib.crc32(str(-count).encode()):08x}"

    # -- groups ----------------------------------------------------------------

    def group_by_platform_id(self, platform_id):
        """The fleet group with this UUID, or None."""
        for group in self.world.fleet.groups.values():
            if group.platform_id == platform_id:
                return group
        return None

    def scoped_devices(self, blueprint):
        """[(kind, id)] of the devices in the blueprint's scope now."""
        seen, found = set(), []
        for platform_id in blueprint.scope.get("deviceGroups", []):
            group = self.group_by_platform_id(platform_id)
            for device_id in group.members if group else []:
                if (group.kind, device_id) not in seen and self.world.device(group.kind, device_id):
                    seen.add((group.kind, device_id))
                    found.append((group.kind, device_id))
        return found

    # -- deployments -------------------------------------------------------

    def deploy(self, blueprint):
        """Start deploying the blueprint's current content."""
        world = self.world
        now, step = world.now(), float(world.settings["deploy_step"])
        problems = self.deployment_problems(blueprint)
        final = "FAILED" if problems else "SUCCEEDED"
        deployment = Deployment(now, [(now, "PENDING"), (now + step, "DEPLOYING"), (now + 2 * step, final)],
                                blueprint.content_version, json.loads(json.dumps(blueprint.steps)))
        blueprint.deployment = deployment
        world.schedule(now + 2 * step, lambda t: self.deployed(blueprint, deployment, t, not problems))

    def deployed(self, blueprint, deployment, when, ok):
        """The deployment finished at when; on success devices start receiving it."""
        if blueprint.deployment is not deployment or self.blueprints.get(blueprint.id) is not blueprint:
            return  # superseded or deleted
        if not ok:
            return
        self.world.cancel_activities(f"blueprint:{blueprint.id}", when)
        blueprint.deployed_version = deployment.content_version
        deployment.devices = self.scoped_devices(blueprint)
        spread = float(self.world.settings["report_spread"])
        steps = deployment.steps
        for kind, device_id in deployment.devices:
            jitter = (zlib.crc32(f"{blueprint.id}/{kind}/{device_id}".encode()) % 1000) / 1000.0 * spread
            self.world.schedule(when + jitter, lambda t, k=kind, d=device_id:
                                self.device_receives(blueprint, deployment, k, d, steps, t))

    def device_receives(self, blueprint, deployment, kind, device_id, steps, when):
        """A device got the deployed declarations: report, and maybe start updating."""
        if blueprint.deployment is not deployment or blueprint.deployed_version != deployment.content_version:
            return
        world = self.world
        device = world.device(kind, device_id)
        if device is None:
            return
        result = "succeeded"
        for payload in enforcement_payloads(steps):
            target = self.target_for(kind, device, payload)
            version = world.os_state(kind, device)[0]
            if fleetlib.version_key(target.version) < fleetlib.version_key(version):
                result = "failed"  # "target OS version is older than current version"
                continue
            if not world.at_or_past(kind, device, target):
                world.start_activity(kind, device, target, f"blueprint:{blueprint.id}", when,
                                     deadline_text=payload.get("TargetLocalDateTime"))
        deployment.reports[(kind, device_id)] = (when, result)

    def target_for(self, kind, device, payload):
        """The feed entry an enforcement payload names for this device (a stand-in if none)."""
        world = self.world
        version, build = payload.get("TargetOSVersion"), payload.get("TargetBuildVersion")
        entries = [e for e in world.catalog().select(world.platform_of(kind), day=world.feed_day())
                   if e.version == version and (e.build == build if build else not e.supplemental)]
        model = world.model_of(kind, device)
        entries.sort(key=lambda e: (model not in e.devices, len(e.build), e.build))
        if entries:
            return entries[0]
        return FeedEntry("", world.platform_of(kind), version, build or "", "", "", None, None, frozenset())

    def undeploy(self, blueprint):
        """Remove the blueprint from devices (one deploy_step from now)."""
        world = self.world
        now, step = world.now(), float(world.settings["deploy_step"])
        deployment = Deployment(now, [(now, "PENDING"), (now + step, "SUCCEEDED")], blueprint.content_version,
                                undeploy=True)
        blueprint.deployment = deployment

        def done(when):
            if blueprint.deployment is deployment:
                blueprint.deployed_version = None
                world.cancel_activities(f"blueprint:{blueprint.id}", when)
        world.schedule(now + step, done)

    def deployment_problems(self, blueprint):
        """Why the blueprint's content cannot be deployed (empty list: it can)."""
        problems = []
        for s_index, step in enumerate(blueprint.steps):
            for c_index, component in enumerate(step.get("components", [])):
                where = f"steps[{s_index}].components[{c_index}]"
                if component.get("identifier") not in self.components:
                    problems.append(f"{where}: component {component.get('identifier')} is not available")
                if component.get("identifier") not in CUSTOM_DECLARATION_IDS:
                    continue
                for d_index, declaration in enumerate(component["configuration"].get("declarations", [])):
                    if declaration.get("type") == ENFORCEMENT_TYPE:
                        for message in enforcement_problems(declaration.get("payload")):
                            problems.append(f"{where}.declarations[{d_index}]: {message}")
        return problems

    def report(self, blueprint, now):
        """BlueprintStatusDetail at now."""
        deployment = blueprint.deployment
        counts = {"succeeded": 0, "pending": 0, "failed": 0}
        if deployment is None or deployment.undeploy:
            return counts
        state = deployment.state_at(now)
        if state in ("PENDING", "DEPLOYING"):
            counts["pending"] = len(self.scoped_devices(blueprint))
        elif state == "FAILED":
            counts["failed"] = len(self.scoped_devices(blueprint))
        else:
            for key in deployment.devices:
                reported = deployment.reports.get(key)
                counts["pending" if reported is None or reported[0] > now else reported[1]] += 1
        return counts

    def dump(self):
        """Blueprints and components for /_sim/jamf/state."""
        now = self.world.now()
        return {"platform": {
            "environmentId": self.environment_id,
            "components": list(self.components),
            "blueprints": [dict(blueprint_detail(b, now), report=self.report(b, now),
                                contentVersion=b.content_version, deployedVersion=b.deployed_version)
                           for b in self.blueprints.values()],
        }}


def enforcement_payloads(steps):
    """Payloads of softwareupdate.enforcement.specific declarations in blueprint steps."""
    for step in steps:
        for component in step.get("components", []):
            if component.get("identifier") in CUSTOM_DECLARATION_IDS:
                for declaration in component.get("configuration", {}).get("declarations", []):
                    payload = declaration.get("payload")
                    if declaration.get("type") == ENFORCEMENT_TYPE and isinstance(payload, dict):
                        yield payload


def enforcement_problems(payload):
    """What a device (SUCoreError 9100 "invalid format") would reject in an enforcement payload."""
    if not isinstance(payload, dict):
        return ["payload must be an object"]
    problems = []
    version = payload.get("TargetOSVersion")
    if not isinstance(version, str) or not version:
        problems.append("TargetOSVersion is required")
    elif "(" in version or any(c.isspace() for c in version):
        problems.append(f"TargetOSVersion {version!r} has an invalid format")
    local = payload.get("TargetLocalDateTime")
    if local is None:
        problems.append("TargetLocalDateTime is required")
    elif parse_local_datetime(local) is None:
        problems.append(f"TargetLocalDateTime {local!r} is not yyyy-mm-ddThh:mm:ss")
    for key in ("TargetBuildVersion", "DetailsURL"):
        if key in payload and not isinstance(payload[key], str):
            problems.append(f"{key} must be a string")
    return problems


# ---------------------------------------------------------------------------
# Routing
# ---------------------------------------------------------------------------

RATE_LIMIT_HEADERS = [("X-RateLimit-Limit", "100"), ("X-RateLimit-Remaining", "99"),
                      ("X-RateLimit-Reset", "1")]


def platform_route(method, pattern, auth=True):
    """Register a Platform handler func(req, world) -> Response or JSON data.

    Checks the bearer and X-Environment-Id (unless auth is False), runs under
    the sim lock after a world sync and turns problems into error bodies.
    """
    def register(func):
        @functools.wraps(func)
        def handler(req):
            world = req.state.jamf
            with req.state.lock:
                world.sync()
                platform = world.platform
                try:
                    if auth:
                        check_caller(world, req)
                    result = func(req, world)
                except PlatformProblem as problem:
                    result = problem.response(platform.trace_id())
                except query.QueryError as exc:
                    problem = PlatformProblem(400, exc.code, exc.description, exc.field)
                    result = problem.response(platform.trace_id())
                except HandlerError as exc:
                    problem = PlatformProblem(exc.status, "INVALID_REQUEST", exc.message)
                    result = problem.response(platform.trace_id())
            response = result if isinstance(result, Response) else json_response(result)
            return dataclasses.replace(response, headers=[*response.headers, *RATE_LIMIT_HEADERS])
        ROUTES.route(method, pattern)(handler)
        return func
    return register


def check_caller(world, req):
    """401 without a live platform token; 400/403 without the right X-Environment-Id."""
    value = bearer(req)
    token, reason = world.platform.tokens.find(value, world.now()) if value else (None, "no bearer token")
    if token is None:
        raise PlatformProblem(401, "UNAUTHORIZED", f"Authentication required: {reason}")
    environment = req.headers.get("x-environment-id")
    if not environment:
        raise PlatformProblem(400, "MISSING_ENVIRONMENT_ID", "The X-Environment-Id header is required",
                              "X-Environment-Id")
    if environment.strip().lower() != world.platform.environment_id.lower():
        raise PlatformProblem(403, "FORBIDDEN", f"No access to environment {environment}", "X-Environment-Id")


def params_of(req):
    """The query string as {name: [values]}."""
    return urllib.parse.parse_qs(req.query, keep_blank_values=True)


def json_object(req):
    """The body as a JSON object, or a 400 PlatformProblem."""
    try:
        body = json.loads(req.body or b"null")
    except ValueError as exc:
        raise PlatformProblem(400, "INVALID_JSON", f"Malformed JSON body: {exc}") from None
    if not isinstance(body, dict):
        raise PlatformProblem(400, "INVALID_JSON", "The body must be a JSON object")
    return body


# ---------------------------------------------------------------------------
# Token
# ---------------------------------------------------------------------------

@platform_route("POST", r"/auth/token", auth=False)
def platform_token(req, world):
    """Client credentials -> {access_token, token_type, expires_in}."""
    result = oauth_token(req, world.platform.clients, world.platform.tokens, world, "platform")
    if isinstance(result, Response):
        return result
    token, lifetime = result
    response = json_response({"access_token": token.value, "token_type": "Bearer", "expires_in": lifetime})
    response.headers.append(("Cache-Control", "no-store"))
    return response


# ---------------------------------------------------------------------------
# Device groups
# ---------------------------------------------------------------------------

DEVICE_GROUPS = r"/device-groups/v1"
DEVICE_GROUP_FIELDS = {"name": lambda g: g.name, "description": lambda g: g.description,
                       "deviceType": lambda g: g.kind,
                       "groupType": lambda g: "SMART" if g.smart else "STATIC"}


def device_group_json(group, criteria=False):
    """DeviceGroupListReadRepresentationV1 (ReadRepresentation with criteria)."""
    out = {"id": group.platform_id, "name": group.name, "description": group.description,
           "deviceType": group.kind, "groupType": "SMART" if group.smart else "STATIC",
           "memberCount": len(group.members)}
    if criteria:
        out["criteria"] = [{"order": index, "attributeName": c["name"], "operator": c["searchType"].upper(),
                            "attributeValue": c["value"], "joinType": c["andOr"].upper(),
                            "hasOpeningParenthesis": c["openingParen"],
                            "hasClosingParenthesis": c["closingParen"]}
                           for index, c in enumerate(group.criteria)] if group.smart else None
    return out


def device_uuid(world, kind, device_id):
    """A device's platform id (decision: its Jamf Pro managementId)."""
    return world.device(kind, device_id)["general"]["managementId"]


def paged(items, req, default_size=100):
    """PaginatedResponseRepresentation fields plus results (already filtered and sorted)."""
    page, size = query.page_params(params_of(req), default_size=default_size, max_size=None)
    total = len(items)
    pages = (total + size - 1) // size
    return {"page": page, "pageSize": size, "totalCount": total, "totalPages": pages,
            "hasNext": page + 1 < pages, "hasPrevious": page > 0,
            "results": query.paginate(items, page, size)}


@platform_route("GET", DEVICE_GROUPS + r"/device-groups")
def platform_device_groups(req, world):
    """Paged device groups; filter on name, description, deviceType, groupType."""
    params = params_of(req)
    groups = query.apply_filter(list(world.fleet.groups.values()), (params.get("filter") or [""])[-1],
                                DEVICE_GROUP_FIELDS)
    groups = query.apply_sort(groups, params.get("sort"), DEVICE_GROUP_FIELDS, "name")
    return paged([device_group_json(g) for g in groups], req)


def _device_group(world, group_id):
    """A group by platform id, or 404."""
    group = world.platform.group_by_platform_id(group_id)
    if group is None:
        raise PlatformProblem(404, "NOT_FOUND", f"Device group {group_id} not found", "id")
    return group


@platform_route("GET", DEVICE_GROUPS + r"/device-groups/(?P<id>[^/]+)")
def platform_device_group(req, world):
    """One device group with its criteria."""
    return device_group_json(_device_group(world, req.params["id"]), criteria=True)


@platform_route("GET", DEVICE_GROUPS + r"/device-groups/(?P<id>[^/]+)/members")
def platform_device_group_members(req, world):
    """{totalCount, results: [device UUIDs]}."""
    group = _device_group(world, req.params["id"])
    members = [device_uuid(world, group.kind, i) for i in group.members if world.device(group.kind, i)]
    page, size = query.page_params(params_of(req), max_size=None)
    return {"totalCount": len(members), "results": query.paginate(members, page, size)}


@platform_route("GET", DEVICE_GROUPS + r"/devices/(?P<id>[^/]+)/device-groups")
def platform_device_memberships(req, world):
    """{totalCount, results: [{groupId, groupName}]} for a device UUID."""
    kind, device = world.fleet.find_by_management_id(req.params["id"])
    if device is None:
        return {"totalCount": 0, "results": []}
    device_id = device["id"] if kind == COMPUTER else device["mobileDeviceId"]
    groups = world.fleet.memberships(kind, device_id)
    return {"totalCount": len(groups),
            "results": [{"groupId": g.platform_id, "groupName": g.name} for g in groups]}


# ---------------------------------------------------------------------------
# Blueprint components
# ---------------------------------------------------------------------------

BLUEPRINTS = r"/blueprints/v1"


def component_json(identifier):
    """ComponentDescription of an identifier."""
    name, description = COMPONENT_CATALOG.get(identifier, (identifier, None))
    return {"identifier": identifier, "name": name, "description": description, "meta": SUPPORTED}


@platform_route("GET", BLUEPRINTS + r"/blueprint-components")
def platform_components(req, world):
    """Components this tenant offers (paged)."""
    page, size = query.page_params(params_of(req), max_size=None)
    items = [component_json(i) for i in world.platform.components]
    return {"totalCount": len(items), "results": query.paginate(items, page, size)}


@platform_route("GET", BLUEPRINTS + r"/blueprint-components/(?P<identifier>[^/]+)")
def platform_component(req, world):
    """One offered component, or 404."""
    if req.params["identifier"] not in world.platform.components:
        raise PlatformProblem(404, "NOT_FOUND", f"Component {req.params['identifier']} not found",
                              "identifier")
    return component_json(req.params["identifier"])


# ---------------------------------------------------------------------------
# Blueprints
# ---------------------------------------------------------------------------

def blueprint_detail(blueprint, now):
    """BlueprintDetail."""
    return {"id": blueprint.id, "name": blueprint.name, "description": blueprint.description,
           "created": iso_seconds(blueprint.created), "updated": iso_seconds(blueprint.updated),
           "deploymentState": blueprint.deployment_state(now),
           "scope": blueprint.scope, "steps": blueprint.steps}


def blueprint_overview(blueprint, now):
    """BlueprintOverview."""
    return {"id": blueprint.id, "name": blueprint.name, "description": blueprint.description,
            "created": iso_seconds(blueprint.created), "updated": iso_seconds(blueprint.updated),
            "deploymentState": blueprint.deployment_state(now)}


def validate_blueprint(world, body, max_steps):
    """Problems [(code, field, description)] of a complete blueprint body."""
    problems = []

    def bad(field, description, code="INVALID_FIELD"):
        problems.append((code, field, description))

    name = body.get("name")
    if name is None:
        bad("name", "Field name is required.", "REQUIRED_FIELD")
    elif not isinstance(name, str) or not 1 <= len(name) <= 200:
        bad("name", "name must be a string of 1 to 200 characters")
    description = body.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 2000):
        bad("description", "description must be null or a string of at most 2000 characters")
    scope = body.get("scope")
    if scope is None:
        bad("scope", "Field scope is required.", "REQUIRED_FIELD")
    elif not isinstance(scope, dict) or not isinstance(scope.get("deviceGroups"), list) \
            or not scope["deviceGroups"]:
        bad("scope.deviceGroups", "scope.deviceGroups must list at least one device group id")
    else:
        for index, group_id in enumerate(scope["deviceGroups"]):
            field = f"scope.deviceGroups[{index}]"
            if not isinstance(group_id, str) or not UUID_RE.fullmatch(group_id):
                bad(field, f"{group_id!r} is not a device group UUID")
            elif world.platform.group_by_platform_id(group_id.lower()) is None:
                bad(field, f"Device group {group_id} does not exist", "NOT_FOUND")
    steps = body.get("steps")
    if steps is None:
        bad("steps", "Field steps is required.", "REQUIRED_FIELD")
    elif not isinstance(steps, list) or len(steps) > max_steps:
        bad("steps", f"steps must be an array of at most {max_steps} steps")
    else:
        for s_index, step in enumerate(steps):
            problems += step_problems(world, step, f"steps[{s_index}]")
    return problems


def step_problems(world, step, where):
    """Problems of one BlueprintStep."""
    problems = []
    if not isinstance(step, dict):
        return [("INVALID_FIELD", where, "a step must be an object")]
    for key, limit in (("name", 200), ("activationPredicate", 10000)):
        value = step.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            problems.append(("INVALID_FIELD", f"{where}.{key}", f"{key} must be null or a string"))
    components = step.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= 100:
        return problems + [("INVALID_FIELD", f"{where}.components",
                            "components must hold 1 to 100 components")]
    for c_index, component in enumerate(components):
        field = f"{where}.components[{c_index}]"
        if not isinstance(component, dict):
            problems.append(("INVALID_FIELD", field, "a component must be an object"))
            continue
        identifier = component.get("identifier")
        if not isinstance(identifier, str) or identifier not in world.platform.components:
            problems.append(("INVALID_FIELD", f"{field}.identifier",
                             f"Component {identifier!r} is not available for this tenant"))
        configuration = component.get("configuration")
        if not isinstance(configuration, dict):
            problems.append(("REQUIRED_FIELD", f"{field}.configuration", "configuration must be an object"))
        elif identifier in CUSTOM_DECLARATION_IDS:
            problems += declaration_problems(configuration, f"{field}.configuration")
    return problems


def declaration_problems(configuration, where):
    """Problems of a custom declarations component's configuration (shape only)."""
    declarations = configuration.get("declarations")
    if not isinstance(declarations, list) or not declarations:
        return [("INVALID_FIELD", f"{where}.declarations", "declarations must be a non-empty array")]
    problems = []
    for index, declaration in enumerate(declarations):
        field = f"{where}.declarations[{index}]"
        if not isinstance(declaration, dict):
            problems.append(("INVALID_FIELD", field, "a declaration must be an object"))
            continue
        if declaration.get("channelType") not in CHANNEL_TYPES:
            problems.append(("INVALID_FIELD", f"{field}.channelType",
                             f"channelType must be one of {CHANNEL_TYPES}"))
        if declaration.get("kind") not in DECLARATION_KINDS:
            problems.append(("INVALID_FIELD", f"{field}.kind", f"kind must be one of {DECLARATION_KINDS}"))
        if not isinstance(declaration.get("type"), str) or not declaration["type"]:
            problems.append(("INVALID_FIELD", f"{field}.type", "type must be a declaration type"))
        if not isinstance(declaration.get("payload"), dict):
            problems.append(("INVALID_FIELD", f"{field}.payload", "payload must be an object"))
        key = declaration.get("payloadKey")
        if key is not None and (isinstance(key, bool) or not isinstance(key, int)):
            problems.append(("INVALID_FIELD", f"{field}.payloadKey", "payloadKey must be an integer"))
    return problems


def _blueprint(world, blueprint_id):
    """A blueprint by id, or 404."""
    blueprint = world.platform.blueprints.get(blueprint_id)
    if blueprint is None:
        raise PlatformProblem(404, "NOT_FOUND", f"Blueprint {blueprint_id} not found", "blueprintId")
    return blueprint


BLUEPRINT_FIELDS = {"name": lambda b: b.name, "description": lambda b: b.description,
                    "created": lambda b: b.created, "updated": lambda b: b.updated}


@platform_route("GET", BLUEPRINTS + r"/blueprints")
def platform_list_blueprints(req, world):
    """Paged blueprints; ?search= matches name and description, ?filter= is RSQL (name, description)."""
    params, now = params_of(req), world.now()
    blueprints = list(world.platform.blueprints.values())
    search = (params.get("search") or [""])[-1].casefold()
    if search:
        blueprints = [b for b in blueprints
                      if search in b.name.casefold() or search in (b.description or "").casefold()]
    blueprints = query.apply_filter(blueprints, (params.get("filter") or [""])[-1],
                                    {key: BLUEPRINT_FIELDS[key] for key in ("name", "description")})
    blueprints = query.apply_sort(blueprints, params.get("sort"), BLUEPRINT_FIELDS, "created:desc")
    page, size = query.page_params(params, max_size=None)
    return {"totalCount": len(blueprints),
            "results": [blueprint_overview(b, now) for b in query.paginate(blueprints, page, size)]}


@platform_route("POST", BLUEPRINTS + r"/blueprints")
def platform_create_blueprint(req, world):
    """Create a blueprint: 201 {id, href} with Location."""
    body = json_object(req)
    problems = validate_blueprint(world, body, max_steps=10)
    if problems:
        raise PlatformProblem(400, "", "", errors=problems)
    now = world.now()
    blueprint_id = sim_uuid("blueprint", next(world.platform.counter))
    scope = {"deviceGroups": [g.lower() for g in body["scope"]["deviceGroups"]]}
    world.platform.blueprints[blueprint_id] = Blueprint(blueprint_id, body["name"], body.get("description"),
                                                        scope, body["steps"], now, now)
    href = f"{base_url(req)}/blueprints/v1/blueprints/{blueprint_id}"
    response = json_response({"id": blueprint_id, "href": href}, 201)
    response.headers.append(("Location", href))
    return response


@platform_route("GET", BLUEPRINTS + r"/blueprints/(?P<id>[^/]+)")
def platform_get_blueprint(req, world):
    """BlueprintDetail."""
    return blueprint_detail(_blueprint(world, req.params["id"]), world.now())


@platform_route("PATCH", BLUEPRINTS + r"/blueprints/(?P<id>[^/]+)")
def platform_patch_blueprint(req, world):
    """RFC 7396 merge patch (Content-Type application/merge-patch+json, else 415): 204."""
    blueprint = _blueprint(world, req.params["id"])
    content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/merge-patch+json":
        raise PlatformProblem(415, "UNSUPPORTED_MEDIA_TYPE",
                              f"Content-Type {content_type or '(none)'} is not supported; "
                              "use application/merge-patch+json", "Content-Type")
    patch = json_object(req)
    merged = merge_patch(blueprint.content(), patch)
    problems = validate_blueprint(world, merged, max_steps=100)
    if problems:
        raise PlatformProblem(400, "", "", errors=problems)
    scope = {"deviceGroups": [g.lower() for g in merged["scope"]["deviceGroups"]]}
    if (merged["name"], merged.get("description"), scope, merged["steps"]) != \
            (blueprint.name, blueprint.description, blueprint.scope, blueprint.steps):
        blueprint.name, blueprint.description = merged["name"], merged.get("description")
        blueprint.scope, blueprint.steps = scope, merged["steps"]
        blueprint.content_version += 1
        blueprint.updated = world.now()
    return Response(204)


@platform_route("DELETE", BLUEPRINTS + r"/blueprints/(?P<id>[^/]+)")
def platform_delete_blueprint(req, world):
    """Delete a blueprint (devices drop its declarations): 204."""
    blueprint = _blueprint(world, req.params["id"])
    del world.platform.blueprints[blueprint.id]
    world.cancel_activities(f"blueprint:{blueprint.id}", world.now())
    return Response(204)


@platform_route("POST", BLUEPRINTS + r"/blueprints/(?P<id>[^/]+)/deploy")
def platform_deploy(req, world):
    """Start a deployment: 202 (409 if the blueprint has no component)."""
    blueprint = _blueprint(world, req.params["id"])
    if not any(step.get("components") for step in blueprint.steps):
        raise PlatformProblem(409, "INVALID_BLUEPRINT", "The blueprint has no component to deploy")
    world.platform.deploy(blueprint)
    return Response(202)


@platform_route("POST", BLUEPRINTS + r"/blueprints/(?P<id>[^/]+)/undeploy")
def platform_undeploy(req, world):
    """Start removing the blueprint from devices: 202."""
    world.platform.undeploy(_blueprint(world, req.params["id"]))
    return Response(202)


@platform_route("GET", BLUEPRINTS + r"/blueprints/(?P<id>[^/]+)/report")
def platform_report(req, world):
    """{succeeded, pending, failed} device counts of the latest deployment."""
    blueprint = _blueprint(world, req.params["id"])
    return world.platform.report(blueprint, world.now())


# ---------------------------------------------------------------------------
# Control API
# ---------------------------------------------------------------------------

@control("GET", r"/_sim/platform/clients")
def control_get_platform_clients(req, world, body):
    """Platform API clients."""
    return world.platform.clients


@control("POST", r"/_sim/platform/clients")
def control_set_platform_clients(req, world, body):
    """Merge Platform clients: {client_id: {secret, token_lifetime} | null}."""
    return _merge_accounts(world.platform.clients, body, "secret", PLATFORM_TOKEN_LIFETIME)


@control("POST", r"/_sim/platform/settings")
def control_platform_settings(req, world, body):
    """{"environment_id": uuid}: the environment every call must name."""
    if not isinstance(body, dict) or set(body) - {"environment_id"}:
        raise HandlerError(400, "body must be {\"environment_id\": ...}")
    if "environment_id" in body:
        if not isinstance(body["environment_id"], str) or not body["environment_id"]:
            raise HandlerError(400, "environment_id must be a non-empty string")
        world.platform.environment_id = body["environment_id"]
    return {"environment_id": world.platform.environment_id}


@control("PUT", r"/_sim/platform/components")
def control_set_components(req, world, body):
    """Which components the tenant offers.

    {"identifiers": [...]} replaces the list; {"custom_declarations": id or
    null} only renames (e.g. com.jamf.ddm.free-form) or removes the custom
    declarations component.
    """
    if not isinstance(body, dict) or not body or set(body) - {"identifiers", "custom_declarations"}:
        raise HandlerError(400, "body must hold identifiers or custom_declarations")
    components = world.platform.components
    if "identifiers" in body:
        identifiers = body["identifiers"]
        if not isinstance(identifiers, list) or not all(isinstance(i, str) for i in identifiers):
            raise HandlerError(400, "identifiers must be a list of strings")
        components = list(dict.fromkeys(body["identifiers"]))
    if "custom_declarations" in body:
        new = body["custom_declarations"]
        if new is not None and not isinstance(new, str):
            raise HandlerError(400, "custom_declarations must be a string or null")
        components = [c for c in components if c not in CUSTOM_DECLARATION_IDS] + ([new] if new else [])
    world.platform.components = components
    return {"components": components}
