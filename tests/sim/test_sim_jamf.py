"""Self-test of the Jamf Pro and Jamf Platform simulation (jamf_pro.py, jamf_platform.py, fleet.py).

Every JSON answer from a Jamf Pro path of the contract is checked against
tests/contract/jamf-pro-contract.json (the subset schema
tests/fixtures/jamf/jamf-pro-11.30.1-subset.json plus the mobile device paths
copied from the full schema) by a small validator below (types, required,
enums, nullable, $ref), so the sim cannot drift from it.

Run from the repository root:
    python3 tests/integration/run.py -k sim
"""

import base64
import datetime
import json
import re
import sys
import unittest
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))
sys.path.insert(0, str(HERE))

import jamf_query  # noqa: E402  (after the sys.path tweak)
from simlib import (ENVIRONMENT_ID, JAMF_CLIENT_ID, JAMF_CLIENT_SECRET, JAMF_PASSWORD,  # noqa: E402
                    JAMF_USER, PLATFORM_CLIENT_ID, PLATFORM_CLIENT_SECRET, Sim, SimError)

FEED = REPO_ROOT / "tests" / "fixtures" / "gdmf" / "pmv-2026-03-17.json"
SUBSET = json.loads((REPO_ROOT / "tests" / "fixtures" / "jamf" / "jamf-pro-11.30.1-subset.json").read_text())
CONTRACT = json.loads((REPO_ROOT / "tests" / "contract" / "jamf-pro-contract.json").read_text())
MSU = "/api/v1/managed-software-updates"
PLANS = MSU + "/plans"
LAB = 'Lab "A", 2nd floor'
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


# ---------------------------------------------------------------------------
# A small OpenAPI 3.0 validator for the contract
# ---------------------------------------------------------------------------

def _resolve(schema):
    """Follow $ref (local only) until a concrete schema."""
    while "$ref" in schema:
        node = CONTRACT
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def schema_errors(value, schema, where="$"):
    """Where value violates schema: types, required, enum, nullable, minimum/minLength, items."""
    schema = _resolve(schema)
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null is not allowed"]
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    checks = {"object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
              "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}
    if kind in checks and not checks[kind](value):
        return [f"{where}: expected {kind}, got {type(value).__name__} {value!r:.60}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in enum {schema['enum']}")
    if kind == "object":
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: required {name!r} missing")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                errors += schema_errors(item, properties[name], f"{where}.{name}")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, f"{where}.{name}")
    elif kind == "array":
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        for index, item in enumerate(value):
            errors += schema_errors(item, schema.get("items", {}), f"{where}[{index}]")
    elif kind == "string" and len(value) < schema.get("minLength", 0):
        errors.append(f"{where}: shorter than {schema['minLength']}")
    elif kind in ("integer", "number") and "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{where}: below minimum {schema['minimum']}")
    return errors


def _operation(method, path):
    """The contract's operation for an /api path, or None (literal templates win over {params})."""
    path = path.partition("?")[0]
    if not path.startswith("/api/"):
        return None
    candidates = []
    for template, item in CONTRACT["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if re.fullmatch(pattern, path) and method.lower() in item:
            candidates.append((template.count("{"), item[method.lower()]))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def response_errors(method, path, status, data):
    """(defined, errors): whether the schema defines the status, and how the body violates it."""
    operation = _operation(method, path)
    if operation is None:
        return None, []
    response = operation["responses"].get(str(status))
    if response is None:
        return False, []
    content = response.get("content", {}).get("application/json")
    if content is None:
        return True, [] if data in (None, b"") else [f"{status} must have no body"]
    return True, schema_errors(data, content["schema"])


class ValidatorTests(unittest.TestCase):
    """The validator itself catches what it should (so silence from it means something)."""

    def test_catches_violations(self):
        """Wrong type, missing required field, bad enum and null in a non-nullable field."""
        plan = {"$ref": "#/components/schemas/ManagedSoftwareUpdatePlan"}
        self.assertTrue(schema_errors({"planUuid": "x"}, plan))  # required fields missing
        status = {"$ref": "#/components/schemas/PlanStatus"}
        self.assertTrue(schema_errors({"state": "Done", "errorReasons": []}, status))
        self.assertTrue(schema_errors({"state": None}, status))
        self.assertFalse(schema_errors({"state": "PlanFailed", "errorReasons": None}, status))
        os_ = {"$ref": "#/components/schemas/ComputerOperatingSystem"}
        self.assertTrue(schema_errors({"rapidSecurityResponse": None}, os_))
        self.assertTrue(schema_errors({"version": 26}, os_))

    def test_operation_lookup(self):
        """Literal path segments win over path parameters."""
        toggle = _operation("GET", MSU + "/plans/feature-toggle")
        self.assertIn("ManagedSoftwareUpdatePlanToggle", json.dumps(toggle["responses"]["200"]))
        self.assertIsNone(_operation("GET", "/v2/pmv"))


class QueryTests(unittest.TestCase):
    """jamf_query: RSQL parsing and evaluation on its own."""

    FIELDS = {"name": lambda r: r["name"], "id": lambda r: r["id"], "on": lambda r: r["on"]}
    RECORDS = [{"name": LAB, "id": "10", "on": True}, {"name": "Ring 1 - Pilot", "id": "9", "on": False},
               {"name": "Empty Group", "id": "100", "on": True}]

    def names(self, text):
        """Names of the records matching text."""
        return [r["name"] for r in jamf_query.apply_filter(self.RECORDS, text, self.FIELDS)]

    def test_operators(self):
        """==, !=, =in=, =out=, comparisons, wildcards, booleans, and/or with precedence."""
        self.assertEqual(self.names(r'name=="Lab \"A\", 2nd floor"'), [LAB])
        self.assertEqual(self.names("name=='ring 1 - pilot'"), ["Ring 1 - Pilot"])  # quotes, case
        self.assertEqual(self.names('name=in=("Empty Group","Ring 1 - Pilot")'),
                         ["Ring 1 - Pilot", "Empty Group"])
        self.assertEqual(self.names("id=out=(9,10)"), ["Empty Group"])
        self.assertEqual(self.names("id=gt=9"), [LAB, "Empty Group"])  # numeric, not string order
        self.assertEqual(self.names('name=="*Group*"'), ["Empty Group"])
        self.assertEqual(self.names("on==false"), ["Ring 1 - Pilot"])
        self.assertEqual(self.names("id==9,id==10;on==false"), ["Ring 1 - Pilot"])
        self.assertEqual(self.names("(id==9 or id==10) and on==true"), [LAB])
        self.assertEqual(self.names(""), [r["name"] for r in self.RECORDS])

    def test_errors(self):
        """Syntax errors and unknown fields raise QueryError naming the parameter."""
        for text in ('name==', 'name=="x', "(id==1", "id=foo=1", "id==1;", "==1"):
            with self.assertRaises(jamf_query.QueryError, msg=text) as caught:
                jamf_query.apply_filter(self.RECORDS, text, self.FIELDS)
            self.assertEqual(caught.exception.field, "filter")
        with self.assertRaises(jamf_query.QueryError) as caught:
            jamf_query.apply_filter(self.RECORDS, "serial==1", self.FIELDS)
        self.assertIn("Cannot filter by field [serial]", caught.exception.description)

    def test_sort_and_pages(self):
        """Sort keys (numeric ids), directions, and the page-size cap."""
        ordered = jamf_query.apply_sort(self.RECORDS, ["id:desc"], self.FIELDS, "id:asc")
        self.assertEqual([r["id"] for r in ordered], ["100", "10", "9"])
        self.assertEqual(jamf_query.page_params({"page": ["2"], "page-size": ["5000"]}), (2, 2000))
        with self.assertRaises(jamf_query.QueryError):
            jamf_query.page_params({"page-size": ["0"]})


# ---------------------------------------------------------------------------
# Server tests
# ---------------------------------------------------------------------------

def os_state(computer):
    """(version, build, supplementalBuildVersion, rapidSecurityResponse) of a computer record."""
    os_ = computer["operatingSystem"]
    return os_["version"], os_["build"], os_["supplementalBuildVersion"], os_["rapidSecurityResponse"]


class JamfTestCase(unittest.TestCase):
    """One Sim per class; every test starts from a full Jamf reset and a fresh token."""

    SIM_OPTIONS = {"gdmf": FEED, "shift_dates": True, "frozen_clock": True}

    @classmethod
    def setUpClass(cls):
        """Start the server for this class."""
        cls.sim = Sim(**cls.SIM_OPTIONS).start()

    @classmethod
    def tearDownClass(cls):
        """Stop the server; it must exit cleanly."""
        if cls.sim.stop() != 0:
            raise AssertionError("sim did not exit with status 0")

    def setUp(self):
        """Forget faults, requests and all Jamf state; get a token for the default client."""
        self.sim.reset()
        self.sim.jamf_reset()
        self.token = self.sim.pro_token()

    # -- helpers -----------------------------------------------------------

    def pro(self, method, path, body=None, expect=None, token=None, headers=None, undefined_ok=False):
        """A Jamf Pro call whose answer is validated against the contract."""
        status, reply_headers, data = self.sim.call(method, path, body, headers,
                                                    self.token if token is None else token or None)
        if expect is not None:
            self.assertEqual(status, expect, f"{method} {path}: {data}")
        defined, errors = response_errors(method, path, status, data)
        self.assertEqual(errors, [], f"{method} {path} -> {status} violates the schema")
        if defined is False and status not in (401, 403) and not undefined_ok:
            self.fail(f"{method} {path} -> {status}, which the schema does not define: {data}")
        return status, reply_headers, data

    def advance(self, seconds):
        """Move the clock and take a new token (the old one may have expired)."""
        self.sim.advance(seconds)
        self.token = self.sim.pro_token()

    def local_time(self, offset):
        """yyyy-mm-ddThh:mm:ss of the simulated clock plus offset seconds."""
        now = self.sim.clock()["now"] + offset
        return datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

    def device_of(self, category, kind="computer", index=0):
        """A device record of a fleet category."""
        return self.sim.devices(kind, category)[index]

    def bsi_config(self, **changes):
        """A CUSTOM_VERSION plan config for the macOS 26.3.1 (a) BSI, deadline in one hour."""
        config = {"updateAction": "DOWNLOAD_INSTALL_SCHEDULE", "versionType": "CUSTOM_VERSION",
                  "specificVersion": "26.3.1", "buildVersion": "25D771280a", "maxDeferrals": 0,
                  "forceInstallLocalDateTime": self.local_time(3600)}
        config.update(changes)
        return {k: v for k, v in config.items() if v is not None}

    def create_plan(self, device_id, config, object_type="COMPUTER"):
        """POST one plan; return its id."""
        body = {"devices": [{"deviceId": device_id, "objectType": object_type}], "config": config}
        _, _, data = self.pro("POST", PLANS, body, expect=201)
        return data["plans"][0]["planId"]

    def plan(self, plan_id):
        """GET one plan."""
        return self.pro("GET", f"{PLANS}/{plan_id}", expect=200)[2]

    def status_items(self, device):
        """A device's DDM status items as {key: value}."""
        mid = device["general"]["managementId"]
        items = self.pro("GET", f"/api/v1/ddm/{mid}/status-items", expect=200)[2]["statusItems"]
        return {item["key"]: item["value"] for item in items}

    def platform(self, method, path, body=None, token=None, headers=None, environment=ENVIRONMENT_ID):
        """A Platform call with a platform token and X-Environment-Id (unless None)."""
        headers = dict(headers or {})
        if environment is not None:
            headers.setdefault("X-Environment-Id", environment)
        return self.sim.call(method, path, body, headers, token or self.sim.platform_token())


class AuthTests(JamfTestCase):
    """Tokens, OIDC discovery, the version, privileges and the sticky cookie."""

    def token_call(self, form, path="/api/oauth/token", headers=FORM):
        """POST a token form; (status, headers, body)."""
        return self.pro("POST", path, urllib.parse.urlencode(form), headers=headers, token="",
                        undefined_ok=True)

    def test_oauth_token_on_both_paths(self):
        """Client credentials give a bearer token with the client's lifetime."""
        for path in ("/api/oauth/token", "/api/v1/oauth/token"):
            status, headers, data = self.token_call({"grant_type": "client_credentials",
                                                     "client_id": JAMF_CLIENT_ID,
                                                     "client_secret": JAMF_CLIENT_SECRET}, path)
            self.assertEqual(status, 200)
            self.assertEqual((data["token_type"], data["expires_in"]), ("Bearer", 1200))
            self.assertTrue(data["access_token"] and data["scope"])
            self.assertEqual(headers["Cache-Control"], "no-store")
            self.pro("GET", "/api/v1/jamf-pro-version", token=data["access_token"], expect=200)

    def test_oauth_errors(self):
        """Bad client 401 invalid_client, wrong grant 400, missing fields 400, JSON body 400."""
        good = {"grant_type": "client_credentials", "client_id": JAMF_CLIENT_ID,
                "client_secret": JAMF_CLIENT_SECRET}
        cases = [
            (dict(good, client_secret="wrong"), 401, "invalid_client"),
            (dict(good, client_id="nobody"), 401, "invalid_client"),
            (dict(good, grant_type="password"), 400, "unsupported_grant_type"),
            ({k: v for k, v in good.items() if k != "client_id"}, 400, "invalid_request"),
            ({k: v for k, v in good.items() if k != "grant_type"}, 400, "invalid_request"),
        ]
        for form, status, error in cases:
            got, _, data = self.token_call(form)
            self.assertEqual((got, data["error"]), (status, error), form)
            self.assertIn("error_description", data)
        got, _, data = self.pro("POST", "/api/oauth/token", good, token="")  # sent as JSON
        self.assertEqual((got, data["error"]), (400, "invalid_request"))

    def test_tokens_expire_on_the_sim_clock(self):
        """A 60 s client's token works until 60 simulated seconds pass, then 401 with a Jamf body."""
        self.sim.set_clients({"short": {"secret": "s3cret", "privileges": "all", "token_lifetime": 60}})
        token = self.sim.pro_token("short", "s3cret")
        self.pro("GET", "/api/v1/jamf-pro-version", token=token, expect=200)
        self.sim.advance(59)
        self.pro("GET", "/api/v1/jamf-pro-version", token=token, expect=200)
        self.sim.advance(1)
        _, _, data = self.pro("GET", "/api/v1/jamf-pro-version", token=token, expect=401)
        self.assertEqual(data, {"httpStatus": 401, "errors": [{"code": "INVALID_TOKEN", "field": None,
                                                               "description": "Unauthorized", "id": "0"}]})
        self.pro("GET", "/api/v1/jamf-pro-version", token=self.sim.pro_token("short", "s3cret"), expect=200)
        for bad in ("Bearer nonsense", "", "Basic " + base64.b64encode(b"a:b").decode()):
            status, _, _ = self.sim.call("GET", "/api/v1/jamf-pro-version", headers={"Authorization": bad})
            self.assertEqual(status, 401, bad)

    def test_expire_all_tokens(self):
        """The control API expires every token at once."""
        self.sim.expire_tokens("pro")
        self.pro("GET", "/api/v1/jamf-pro-version", expect=401)

    def test_basic_token_keep_alive_and_invalidate(self):
        """Basic auth gives {token, expires}; keep-alive swaps it; invalidate-token kills it."""
        basic = "Basic " + base64.b64encode(f"{JAMF_USER}:{JAMF_PASSWORD}".encode()).decode()
        _, _, data = self.pro("POST", "/api/v1/auth/token", headers={"Authorization": basic}, token="",
                              expect=200)
        self.assertRegex(data["expires"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        token = data["token"]
        _, _, auth = self.pro("GET", "/api/v1/auth", token=token, expect=200)
        self.assertEqual((auth["account"]["username"], auth["authenticationType"]), (JAMF_USER, "JSS"))
        _, _, fresh = self.pro("POST", "/api/v1/auth/keep-alive", token=token, expect=200)
        self.pro("GET", "/api/v1/auth", token=token, expect=401)
        self.pro("POST", "/api/v1/auth/invalidate-token", token=fresh["token"], expect=204)
        self.pro("GET", "/api/v1/auth", token=fresh["token"], expect=401)
        wrong = "Basic " + base64.b64encode(f"{JAMF_USER}:nope".encode()).decode()
        self.pro("POST", "/api/v1/auth/token", headers={"Authorization": wrong}, token="", expect=401)
        _, _, auth = self.pro("GET", "/api/v1/auth", expect=200)  # an API client's token
        self.assertEqual(auth["authenticationType"], "CLIENT_CREDENTIALS")

    def test_oidc_discovery_and_version(self):
        """Discovery URLs come from the Host header; the version is 11.30.1."""
        status, _, data = self.sim.call("GET", "/oidc/.well-known/openid-configuration")
        self.assertEqual(status, 200)
        self.assertEqual(data["issuer"], self.sim.url + "/oidc")
        self.assertEqual(data["token_endpoint"], self.sim.url + "/api/oauth/token")
        status, _, data = self.sim.call("GET", "/oidc/.well-known/openid-configuration",
                                        headers={"Host": "jamf.example.com:8443"})
        self.assertEqual(data["issuer"], "https://jamf.example.com:8443/oidc")
        _, _, data = self.pro("GET", "/api/v1/jamf-pro-version", expect=200)
        self.assertTrue(data["version"].startswith("11.30.1-t"))

    def test_privileges(self):
        """A client lacking a privilege gets 403 with Jamf's body; alternatives follow the device type."""
        self.sim.set_clients({"reader": {"secret": "r", "privileges": ["Read Computers"]},
                              "planner": {"secret": "p", "privileges": ["Create Managed Software Updates",
                                                                        "Read Computers"]}})
        reader, planner = self.sim.pro_token("reader", "r"), self.sim.pro_token("planner", "p")
        self.pro("GET", "/api/v4/computers-inventory", token=reader, expect=200)
        forbidden = {"httpStatus": 403, "errors": [{"code": "INVALID_PRIVILEGE", "description": "Forbidden",
                                                    "id": "0", "field": None}]}
        for path in (PLANS, "/api/v1/computer-groups", "/api/v2/mobile-devices/detail",
                     "/api/v3/computer-groups/smart-group-membership/1", MSU + "/plans/feature-toggle"):
            _, _, data = self.pro("GET", path, token=reader, expect=403)
            self.assertEqual(data, forbidden, path)
        mac = self.device_of("bsi-base")["id"]
        iphone = self.device_of("bsi-base", "mobile")["mobileDeviceId"]
        config = {"updateAction": "DOWNLOAD_INSTALL", "versionType": "LATEST_ANY"}
        self.pro("POST", PLANS, {"devices": [{"deviceId": mac, "objectType": "COMPUTER"}], "config": config},
                 token=reader, expect=403)
        self.pro("POST", PLANS, {"devices": [{"deviceId": mac, "objectType": "COMPUTER"}], "config": config},
                 token=planner, expect=201)
        self.pro("POST", PLANS, {"devices": [{"deviceId": iphone, "objectType": "MOBILE_DEVICE"}],
                                 "config": config}, token=planner, expect=403)

    def test_sticky_cookie(self):
        """Every Jamf Pro answer sets APBALANCEID; the record says whether a request sent it back."""
        for path in ("/api/v1/jamf-pro-version", "/api/nothing", "/oidc/.well-known/openid-configuration"):
            _, headers, _ = self.sim.call("GET", path, token=self.token)
            self.assertEqual(headers["Set-Cookie"], "APBALANCEID=aws.apse1.sim-1; Path=/; Secure", path)
        self.sim.call("GET", "/api/v1/jamf-pro-version", token=self.token,
                      headers={"Cookie": "other=1; APBALANCEID=aws.apse1.sim-1"})
        _, headers, _ = self.sim.call("GET", "/v2/pmv")
        self.assertIsNone(headers["Set-Cookie"])
        entries = self.sim.requests("/api/v1/jamf-pro-version")
        self.assertEqual([e["sticky_cookie"] for e in entries], [False, True])
        self.assertEqual(entries[1]["headers"]["authorization"], f"Bearer {self.token}")


class InventoryTests(JamfTestCase):
    """Computer and mobile inventory: sections, paging, filters, sorting."""

    SIM_OPTIONS = dict(JamfTestCase.SIM_OPTIONS, fleet_computers=60, fleet_mobile=25)

    def inventory(self, query, version=4, expect=200, undefined_ok=False):
        """GET computers-inventory with a query string."""
        return self.pro("GET", f"/api/v{version}/computers-inventory?{query}", expect=expect,
                        undefined_ok=undefined_ok)[2]

    def test_sections(self):
        """Requested sections only; every section validates against the schema, v3 and v4."""
        data = self.inventory("section=GENERAL&section=OPERATING_SYSTEM&page-size=5")
        self.assertEqual(data["totalCount"], 60)
        first = data["results"][0]
        self.assertEqual(set(first), {"id", "udid", "general", "operatingSystem"})
        self.assertTrue({"managementId", "supervised", "declarativeDeviceManagementEnabled"}
                        <= set(first["general"]))
        self.assertTrue({"version", "build", "supplementalBuildVersion", "rapidSecurityResponse",
                         "softwareUpdateDeviceId"} <= set(first["operatingSystem"]))
        every = "&".join(f"section={s}" for s in SUBSET["components"]["schemas"]["ComputerSectionV4"]["enum"])
        for version in (3, 4):
            data = self.inventory(every + "&page-size=60", version)
            self.assertEqual(len(data["results"]), 60)
        self.assertNotIn("general", self.inventory("section=HARDWARE")["results"][0])
        self.assertIn("general", self.inventory("")["results"][0])  # default section
        self.inventory("section=NOPE", expect=400, undefined_ok=True)
        one = self.pro("GET", "/api/v4/computers-inventory-detail/1", expect=200)[2]
        self.assertEqual(one["id"], "1")
        self.pro("GET", "/api/v4/computers-inventory/9999", expect=404)

    def test_fleet_software_mix(self):
        """The fleet holds BSI base, BSI, older, J700AP, VM and unsupported Macs, as the feed says."""
        by_category = {}
        for device in self.sim.devices("computer"):
            os_ = device["operatingSystem"]
            by_category.setdefault(device["sim"]["category"], set()).add(
                (os_["version"], os_["build"], os_["supplementalBuildVersion"], os_["rapidSecurityResponse"]))
        self.assertEqual(by_category["bsi-base"], {("26.3.1", "25D2128", "25D2128", "")})
        self.assertEqual(by_category["on-bsi"], {("26.3.1", "25D2128", "25D771280a", "(a)")})
        self.assertEqual(by_category["other-bsi-base"], {("26.3.2", "25D2140", "25D2140", "")})
        self.assertTrue({v for v, *_ in by_category["older-minor"]} <= {"26.2", "26.3"})
        self.assertTrue({v for v, *_ in by_category["older-major"]} <= {"15.7.3", "15.7.4"})
        models = {d["operatingSystem"]["softwareUpdateDeviceId"] for d in self.sim.devices("computer", "vm")}
        self.assertEqual(models, {"VMA2MACOSAP"})
        bsi = json.loads(FEED.read_text())["PublicBackgroundSecurityImprovements"]["macOS"]
        for device in self.sim.devices("computer", "unsupported"):
            self.assertNotIn(device["operatingSystem"]["softwareUpdateDeviceId"], bsi[1]["SupportedDevices"])
        for device in self.sim.devices("computer", "other-bsi-base"):
            self.assertEqual(device["operatingSystem"]["softwareUpdateDeviceId"], "J700AP")

    def test_fleet_is_deterministic(self):
        """The same seed gives the same fleet; another seed another one; ids are 1..N."""
        first = self.sim.devices("computer")
        self.sim.replace_fleet(seed=7)
        other = self.sim.devices("computer")
        self.sim.replace_fleet(seed=1)
        self.assertEqual(self.sim.devices("computer"), first)
        self.assertNotEqual(other, first)
        self.assertEqual([d["id"] for d in first], [str(i) for i in range(1, 61)])

    def test_page_size_cap(self):
        """page-size is silently capped at 2000: 4500 computers come in 3 pages."""
        self.sim.replace_fleet(computers=4500)
        seen = []
        for page in range(3):
            data = self.inventory(f"section=GENERAL&page={page}&page-size=5000&sort=id:asc")
            self.assertEqual(data["totalCount"], 4500)
            seen += [r["id"] for r in data["results"]]
        self.assertEqual(seen, [str(i) for i in range(1, 4501)])
        self.assertEqual(self.inventory("page=3&page-size=2000")["results"], [])
        self.assertEqual(len(self.inventory("")["results"]), 100)  # default page size

    def test_filters(self):
        """RSQL on the documented fields, with quoting; unknown fields and bad syntax are 400."""
        devices = self.sim.devices("computer")
        named = next(d for d in devices if "'" in d["general"]["name"])
        name = named["general"]["name"]
        data = self.inventory("filter=" + urllib.parse.quote(f'general.name=="{name}"'))
        self.assertEqual([r["id"] for r in data["results"]], [named["id"]])
        self.sim.patch_device("computer", "3", {"general": {"name": LAB}})
        quoted = LAB.replace('"', '\\"')
        data = self.inventory("filter=" + urllib.parse.quote(f'general.name=="{quoted}"'))
        self.assertEqual([r["id"] for r in data["results"]], ["3"])
        builds = {d["operatingSystem"]["build"] for d in devices}
        data = self.inventory("section=OPERATING_SYSTEM&page-size=100&filter=" +
                              urllib.parse.quote("operatingSystem.build=in=(25D2128,25D2140)"))
        expected = [d for d in devices if d["operatingSystem"]["build"] in ("25D2128", "25D2140")]
        self.assertEqual(data["totalCount"], len(expected))
        self.assertTrue(len(builds) > 2)
        mid = devices[5]["general"]["managementId"]
        serial = devices[6]["hardware"]["serialNumber"]
        data = self.inventory("filter=" + urllib.parse.quote(
            f"general.managementId=={mid},hardware.serialNumber=={serial}") + "&sort=id:desc")
        self.assertEqual([r["id"] for r in data["results"]], ["7", "6"])
        data = self.inventory("filter=" + urllib.parse.quote("operatingSystem.version!=26.3.1;id=le=10"))
        self.assertTrue(all(int(r["id"]) <= 10 for r in data["results"]))
        for bad in ("operatingSystem.softwareUpdateDeviceId==J413AP", "general.name==", "id=in=1"):
            data = self.inventory("filter=" + urllib.parse.quote(bad), expect=400, undefined_ok=True)
            self.assertEqual((data["httpStatus"], data["errors"][0]["field"]), (400, "filter"))
        self.inventory("sort=bogus:asc", expect=400, undefined_ok=True)
        names = [r["general"]["name"] for r in self.inventory("page-size=60")["results"]]
        self.assertEqual(names, sorted(names, key=str.casefold))  # default sort general.name:asc

    def test_mobile_devices(self):
        """Mobile detail: sections, product types as GDMF lists them, filters."""
        _, _, data = self.pro("GET", "/api/v2/mobile-devices/detail?section=GENERAL&section=HARDWARE"
                                     "&section=GROUPS&page-size=100", expect=200)
        self.assertEqual(data["totalCount"], 25)
        device = data["results"][0]
        self.assertEqual(device["deviceType"], "iOS")
        self.assertEqual(device["general"]["softwareUpdateDeviceId"], device["hardware"]["modelIdentifier"])
        self.assertRegex(device["general"]["softwareUpdateDeviceId"], r"^(iPhone|iPad)\d+,\d+$")
        self.assertTrue({"osVersion", "osBuild", "osSupplementalBuildVersion", "osRapidSecurityResponse",
                         "managementId", "supervised"} <= set(device["general"]))
        on_bsi = self.sim.devices("mobile", "on-bsi")
        _, _, data = self.pro("GET", "/api/v2/mobile-devices/detail?filter=" +
                              urllib.parse.quote("osSupplementalBuildVersion==23D771330a"), expect=200)
        self.assertEqual(sorted(r["mobileDeviceId"] for r in data["results"]),
                         sorted(d["mobileDeviceId"] for d in on_bsi))
        self.assertEqual({r["general"]["osRapidSecurityResponse"] for r in data["results"]}, {"(a)"})
        self.assertNotIn("hardware", data["results"][0])
        _, _, data = self.pro("GET", "/api/v2/mobile-devices?page-size=3", expect=200)
        self.assertEqual(len(data["results"]), 3)
        status, _, one = self.sim.call("GET", "/api/v2/mobile-devices/2/detail", token=self.token)
        self.assertEqual((status, one["id"], one["type"]), (200, "2", "ios"))
        self.assertEqual(one["softwareUpdateDeviceId"], one["ios"]["modelIdentifier"])
        self.assertEqual(self.sim.call("GET", "/api/v2/mobile-devices/999/detail", token=self.token)[0], 404)


class GroupTests(JamfTestCase):
    """Computer and mobile groups, /v2/groups and static group changes."""

    def test_group_lists(self):
        """The fixed groups, their members, and the platform UUIDs of /v2/groups."""
        _, _, groups = self.pro("GET", "/api/v1/computer-groups", expect=200)
        names = {g["name"]: g for g in groups}
        self.assertEqual(set(names), {"All Managed Clients", "Ring 1 - Pilot", "Ring 2 - Broad", LAB,
                                      "Empty Group", "bridge-static-example"})
        self.assertFalse(names["bridge-static-example"]["smartGroup"])
        state = {g["name"]: g for g in self.sim.jamf_state()["groups"]}
        _, _, members = self.pro("GET", "/api/v3/computer-groups/smart-group-membership/"
                                 + names["Ring 1 - Pilot"]["id"], expect=200)
        self.assertEqual(members["members"], [int(i) for i in state["Ring 1 - Pilot"]["members"]])
        self.assertGreaterEqual(len(members["members"]), 1)
        pilot, broad = set(state["Ring 1 - Pilot"]["members"]), set(state["Ring 2 - Broad"]["members"])
        self.assertEqual(pilot | broad, set(state["All Managed Clients"]["members"]))
        self.assertFalse(pilot & broad)
        _, _, empty = self.pro("GET", "/api/v3/computer-groups/smart-group-membership/"
                               + names["Empty Group"]["id"], expect=200)
        self.assertEqual(empty, {"members": []})
        self.pro("GET", "/api/v3/computer-groups/smart-group-membership/"
                 + names["bridge-static-example"]["id"], expect=404)
        _, _, v2 = self.pro("GET", "/api/v2/groups?page-size=100", expect=200)
        self.assertEqual(v2["totalCount"], 9)  # 6 computer + 3 mobile groups
        by_name = {(g["groupType"], g["groupName"]): g for g in v2["results"]}
        self.assertEqual(by_name[("MOBILE", "All Managed iPhones")]["smart"], True)
        self.assertEqual(by_name[("COMPUTER", LAB)]["groupPlatformId"], state[LAB]["platformId"])
        self.sim.replace_fleet(seed=99)  # platform ids do not depend on the fleet
        _, _, again = self.pro("GET", "/api/v2/groups?page-size=100", expect=200)
        self.assertEqual(sorted(g["groupPlatformId"] for g in again["results"]),
                         sorted(g["groupPlatformId"] for g in v2["results"]))
        _, _, one = self.pro("GET", "/api/v2/groups/" + state[LAB]["platformId"], expect=200)
        self.assertEqual(one["groupName"], LAB)

    def test_group_filters_with_quotes(self):
        """Group names with quotes and commas filter correctly on every group list."""
        quoted = LAB.replace('"', '\\"')
        for path in ("/api/v3/computer-groups/smart-groups", "/api/v2/groups"):
            field = "name" if "v3" in path else "groupName"
            query = urllib.parse.quote(f'{field}=="{quoted}"')
            _, _, data = self.pro("GET", f"{path}?filter={query}", expect=200)
            self.assertEqual(data["totalCount"], 1, path)
        _, _, data = self.pro("GET", "/api/v3/computer-groups/smart-groups?filter=" +
                              urllib.parse.quote('name=="Ring*"') + "&sort=name:desc", expect=200)
        self.assertEqual([g["name"] for g in data["results"]], ["Ring 2 - Broad", "Ring 1 - Pilot"])
        _, _, data = self.pro("GET", "/api/v2/groups?filter=" + urllib.parse.quote(
            'groupType=="MOBILE" and isSmart==true'), expect=200)
        self.assertEqual({g["groupName"] for g in data["results"]},
                         {"All Managed iPhones", "All Managed iPads"})

    def test_static_groups(self):
        """Create, validate, reassign (and clear with []), delete; inventory follows."""
        path = "/api/v3/computer-groups/static-groups"
        _, _, created = self.pro("POST", path, {"name": "bridge-ring-x", "assignments": ["1", "2"]},
                                 expect=201)
        group_id = created["id"]
        query = urllib.parse.quote('name=="bridge-ring-x"')
        _, _, data = self.pro("GET", f"{path}?filter={query}", expect=200)
        self.assertEqual(data["results"][0]["count"], 2)
        for body, field, status in (({"assignments": []}, "name", 400),
                                    ({"name": "Ring 1 - Pilot"}, "name", 422),  # the schema's duplicate
                                    ({"name": "y", "assignments": ["99999"]}, "assignments", 400),
                                    ({"name": "y", "assignments": [1]}, "assignments", 400)):
            _, _, data = self.pro("POST", path, body, expect=status)
            self.assertEqual(data["errors"][0]["field"], field)
        _, _, data = self.pro("PUT", f"{path}/{group_id}", {"name": "bridge-ring-x", "assignments": ["3"]},
                              expect=202)
        self.assertEqual(data["assignments"], ["3"])
        inventory = self.pro("GET", "/api/v4/computers-inventory?section=GROUP_MEMBERSHIPS&filter=id==3",
                             expect=200)[2]
        self.assertIn("bridge-ring-x", [g["groupName"] for g in inventory["results"][0]["groupMemberships"]])
        self.pro("PUT", f"{path}/{group_id}", {"name": "bridge-ring-x", "assignments": []}, expect=202)
        dump = {g["name"]: g for g in self.sim.jamf_state()["staticGroups"]}
        self.assertEqual(dump["bridge-ring-x"]["members"], [])
        self.pro("GET", f"{path}/{group_id}", expect=200)
        self.pro("DELETE", f"{path}/{group_id}", expect=204)
        self.pro("GET", f"{path}/{group_id}", expect=404)

    def test_mobile_groups(self):
        """Mobile group lists (integer ids) and smart group membership lists."""
        for version in (1, 2):
            status, _, groups = self.sim.call("GET", f"/api/v{version}/mobile-device-groups",
                                              token=self.token)
            self.assertEqual(status, 200)
            self.assertIn({"id": 1, "name": "All Managed iPhones", "isSmartGroup": True}, groups)
        status, _, members = self.sim.call("GET", "/api/v2/mobile-device-groups/smart-group-membership/1",
                                           token=self.token)
        iphones = [d for d in self.sim.devices("mobile")
                   if d["hardware"]["modelIdentifier"].startswith("iPhone")]
        self.assertEqual(members["totalCount"], len(iphones))
        self.assertTrue(all(m["modelIdentifier"].startswith("iPhone") for m in members["results"]))
        static = {g["name"]: g for g in self.sim.jamf_state()["groups"]}["bridge-static-mobile-example"]
        for version in (1, 2):
            status, _, members = self.sim.call(
                "GET", f"/api/v{version}/mobile-device-groups/static-group-membership/{static['id']}",
                token=self.token)
            self.assertEqual(sorted(m["mobileDeviceId"] for m in members["results"]),
                             sorted(static["members"]))
        status, _, _ = self.sim.call("GET", "/api/v2/mobile-device-groups/smart-group-membership/3",
                                     token=self.token)
        self.assertEqual(status, 404)  # group 3 is static

    def test_mobile_static_groups(self):
        """StaticGroupAssignment: create, read, PATCH add/remove, /v2/groups, refusals, delete."""
        path = "/api/v2/mobile-device-groups/static-groups"
        a, b, c = sorted((d["mobileDeviceId"] for d in self.sim.devices("mobile")), key=int)[:3]

        def assign(device_id, selected=True):
            return {"mobileDeviceId": device_id, "selected": selected}
        body = {"groupName": "bridge-ios-ring", "groupDescription": "made by a test", "siteId": "-1",
                "assignments": [assign(a), assign(b)]}
        _, _, created = self.pro("POST", path, body, expect=201)
        group_id = created["id"]
        self.assertEqual(created["href"], f"{self.sim.url}{path}/{group_id}")
        _, _, group = self.pro("GET", f"{path}/{group_id}", expect=200)
        self.assertEqual(group, {"groupId": group_id, "groupName": "bridge-ios-ring",
                                 "groupDescription": "made by a test", "siteId": "-1", "count": 2})
        query = urllib.parse.quote('groupName=="bridge-ios-ring"')
        _, _, listed = self.pro("GET", f"{path}?filter={query}", expect=200)
        self.assertEqual(listed["results"], [group])
        # PATCH: c joins, a leaves; the answer lists every member.
        change = {"groupName": "bridge-ios-ring", "assignments": [assign(c), assign(a, False)]}
        _, _, patched = self.pro("PATCH", f"{path}/{group_id}", change, expect=200)
        self.assertEqual(patched, {"groupId": group_id, "groupName": "bridge-ios-ring",
                                   "groupDescription": "made by a test", "siteId": "-1",
                                   "assignments": [assign(i) for i in sorted([b, c], key=int)]})
        _, _, members = self.pro("GET", f"/api/v2/mobile-device-groups/static-group-membership/{group_id}",
                                 expect=200)
        self.assertEqual(sorted(m["mobileDeviceId"] for m in members["results"]), sorted([b, c]))
        _, _, detail = self.pro("GET", f"/api/v2/mobile-devices/{c}/detail", expect=200)
        self.assertIn("bridge-ios-ring", [g["groupName"] for g in detail["groups"]])
        # Only the fields given change: a rename keeps the members.
        _, _, renamed = self.pro("PATCH", f"{path}/{group_id}", {"groupName": "bridge-ios-ring-2"},
                                 expect=200)
        self.assertEqual((renamed["groupName"], len(renamed["assignments"])), ("bridge-ios-ring-2", 2))
        # Listed with a platform id in /v2/groups, as the state dump has it.
        state = {g["name"]: g for g in self.sim.jamf_state()["groups"]}["bridge-ios-ring-2"]
        _, _, v2 = self.pro("GET", "/api/v2/groups?filter=" + urllib.parse.quote(
            'groupName=="bridge-ios-ring-2"'), expect=200)
        self.assertEqual(v2["results"], [{"groupPlatformId": state["platformId"], "groupJamfProId": group_id,
                                          "groupName": "bridge-ios-ring-2",
                                          "groupDescription": "made by a test", "groupType": "MOBILE",
                                          "smart": False, "membershipCount": 2}])
        _, _, one = self.pro("GET", "/api/v2/groups/" + state["platformId"], expect=200)
        self.assertEqual(one["groupJamfProId"], group_id)
        # ?platform=true answers the platform id.
        _, _, other = self.pro("POST", path + "?platform=true", {"groupName": "bridge-ios-empty"}, expect=201)
        by_name = {g["name"]: g for g in self.sim.jamf_state()["groups"]}
        self.assertEqual(other["id"], by_name["bridge-ios-empty"]["platformId"])
        # Refusals: duplicate names (any case, smart groups too) 422; bad bodies and devices 400.
        for method, where, refused in (("POST", path, dict(body, groupName="BRIDGE-IOS-RING-2")),
                                       ("PATCH", f"{path}/{group_id}", {"groupName": "All Managed iPhones"})):
            _, _, data = self.pro(method, where, refused, expect=422)
            self.assertEqual((data["errors"][0]["code"], data["errors"][0]["field"]),
                             ("DUPLICATE_FIELD", "groupName"))
        for items, field in (([assign("99999")], "assignments"),
                             ([assign(a), assign(a, False)], "assignments"),
                             ([dict(assign(a), mobileDeviceId=int(a))], "assignments[0].mobileDeviceId"),
                             ([{"mobileDeviceId": a}], "assignments[0].selected")):
            _, _, data = self.pro("POST", path, {"groupName": "x", "assignments": items}, expect=400)
            self.assertEqual(data["errors"][0]["field"], field, items)
        for refused, field in (({"assignments": [assign(a)]}, "groupName"), ({"groupName": ""}, "groupName"),
                               ({"groupName": "x" * 256}, "groupName"),
                               ({"groupName": "x", "siteId": "7"}, "siteId")):
            _, _, data = self.pro("POST", path, refused, expect=400)
            self.assertEqual(data["errors"][0]["field"], field, refused)
        _, _, data = self.pro("PATCH", f"{path}/{group_id}", {"assignments": [assign("99999")]}, expect=400)
        self.assertEqual(data["errors"][0]["code"], "INVALID_ID")
        self.pro("PATCH", f"{path}/99999", {"groupName": "y"}, expect=404)
        self.pro("GET", f"{path}/1", expect=404)  # a smart group
        self.assertEqual(self.pro("GET", f"{path}/{group_id}", expect=200)[2]["count"], 2)  # nothing changed
        self.pro("DELETE", f"{path}/{group_id}", expect=204)
        self.pro("GET", f"{path}/{group_id}", expect=404)
        self.pro("DELETE", f"{path}/{group_id}", expect=404)
        self.assertNotIn("bridge-ios-ring-2", [g["name"] for g in self.sim.jamf_state()["groups"]])

    def test_mobile_static_group_privileges(self):
        """Each write needs its own privilege (403 with Jamf's body); reading needs Read Static."""
        path = "/api/v2/mobile-device-groups/static-groups"
        writes = [f"{verb} Static Mobile Device Groups" for verb in ("Create", "Update", "Delete")]
        self.sim.set_clients({"reader": {"secret": "r", "privileges": ["Read Static Mobile Device Groups"]},
                              "writer": {"secret": "w", "privileges": writes}})
        reader, writer = self.sim.pro_token("reader", "r"), self.sim.pro_token("writer", "w")
        _, _, auth = self.pro("GET", "/api/v1/auth", expect=200)  # the default client has them all
        self.assertLessEqual(set(writes), set(auth["account"]["privilegesBySite"]["-1"]))
        _, _, data = self.pro("POST", path, {"groupName": "bridge-ios-ring"}, token=reader, expect=403)
        self.assertEqual(data["errors"][0]["code"], "INVALID_PRIVILEGE")
        group_id = self.pro("POST", path, {"groupName": "bridge-ios-ring"}, token=writer, expect=201)[2]["id"]
        self.pro("GET", f"{path}/{group_id}", token=writer, expect=403)
        self.pro("GET", f"{path}/{group_id}", token=reader, expect=200)
        self.pro("PATCH", f"{path}/{group_id}", {"groupName": "y"}, token=reader, expect=403)
        self.pro("PATCH", f"{path}/{group_id}", {"groupName": "y"}, token=writer, expect=200)
        self.pro("DELETE", f"{path}/{group_id}", token=reader, expect=403)
        self.pro("DELETE", f"{path}/{group_id}", token=writer, expect=204)


class PlanTests(JamfTestCase):
    """Managed software update plans: validation, life cycle and failure reasons."""

    def run_plan(self, device, config, object_type="COMPUTER", seconds=4000):
        """Create a plan, let simulated time pass, return the plan."""
        device_id = device.get("id") or device["mobileDeviceId"]
        plan_id = self.create_plan(device_id, config, object_type)
        self.advance(seconds)
        return self.plan(plan_id)

    def assert_fails(self, device, config, reason, object_type="COMPUTER"):
        """The plan ends PlanFailed with exactly this reason."""
        plan = self.run_plan(device, config, object_type, seconds=60)
        self.assertEqual(plan["status"], {"state": "PlanFailed", "errorReasons": [reason]})

    def test_handled_fault_takes_effect_then_answers_otherwise(self):
        """A handled fault lets the POST make its plan, then answers with the fault's body."""
        device = self.device_of("bsi-base")
        self.sim.faults([{"path": PLANS, "method": "POST", "status": 201, "body": "{}",
                          "handled": True}])
        body = {"devices": [{"deviceId": device["id"], "objectType": "COMPUTER"}],
                "config": self.bsi_config()}
        _, _, data = self.pro("POST", PLANS, body, expect=201)
        self.assertEqual(data, {})
        plans = self.sim.jamf_state()["plans"]
        self.assertEqual([p["deviceId"] for p in plans], [device["id"]])

    def test_bsi_plan_happy_path(self):
        """A BSI plan walks Jamf's states to PlanCompleted and moves the inventory and DDM status."""
        device = self.device_of("bsi-base")
        config = self.bsi_config()
        plan_id = self.create_plan(device["id"], config)
        seen = []
        for step in [0, 5, 5, 5, 5, 5, 5, 5, 5, 60, 3500, 5, 115, 5, 5]:
            self.advance(step)
            state = self.plan(plan_id)["status"]["state"]
            if not seen or seen[-1] != state:
                seen.append(state)
            if state == "WaitingToStartDDMUpdate":
                items = self.status_items(device)
                self.assertEqual(items["softwareupdate.pending-version.os-version"], "26.3.1 (a)")
                self.assertEqual(items["softwareupdate.pending-version.build-version"], "25D771280a")
                self.assertIn(items["softwareupdate.install-state"], ("downloading", "prepared"))
        self.assertEqual(seen, ["Init", "PendingPlanValidation", "AcceptingPlan", "ProcessingPlanType",
                                "StartingPlan", "ProcessingSchedulingType", "SchedulingDDM",
                                "DDMPlanScheduled", "WaitingToStartDDMUpdate", "CollectingDDMStatus",
                                "ProcessingDDMStatusResponse", "VerifyingInstallation",
                                "ProcessingInstallationVerification", "PlanCompleted"])
        plan = self.plan(plan_id)
        self.assertEqual((plan["versionType"], plan["specificVersion"], plan["buildVersion"]),
                         ("CUSTOM_VERSION", "26.3.1", "25D771280a"))
        self.assertEqual(os_state(self.sim.device("computer", device["id"])),
                         ("26.3.1", "25D2128", "25D771280a", "(a)"))
        items = self.status_items(device)
        self.assertEqual(items["device.operating-system.supplemental.build-version"], "25D771280a")
        self.assertEqual(items["device.operating-system.supplemental.extra-version"], "a")
        self.assertEqual(items["softwareupdate.install-state"], "none")
        _, _, events = self.pro("GET", f"{PLANS}/{plan_id}/events", expect=200)
        states = [e["state"] for e in json.loads(events["events"])["events"]]
        self.assertEqual((states[0], states[-1]), ("Init", "PlanCompleted"))
        _, _, declarations = self.pro("GET", f"{PLANS}/{plan_id}/declarations", expect=200)
        payload = json.loads(declarations["declarations"][0]["payloadJson"])
        self.assertEqual(payload, {"TargetOSVersion": "26.3.1", "TargetBuildVersion": "25D771280a",
                                   "TargetLocalDateTime": config["forceInstallLocalDateTime"]})
        # The same BSI again is a downgrade now.
        self.assert_fails(device, self.bsi_config(), "DOWNGRADE_NOT_SUPPORTED")

    def test_release_plan_and_mobile(self):
        """A SPECIFIC_VERSION plan moves an older Mac to the release; an iPhone takes its BSI."""
        device = self.device_of("older-minor")
        plan = self.run_plan(device, {"updateAction": "DOWNLOAD_INSTALL", "versionType": "SPECIFIC_VERSION",
                                      "specificVersion": "26.3.1"}, seconds=400)
        self.assertEqual(plan["status"]["state"], "PlanCompleted")
        self.assertEqual(os_state(self.sim.device("computer", device["id"])),
                         ("26.3.1", "25D2128", "25D2128", ""))
        phone = next(d for d in self.sim.devices("mobile", "bsi-base")
                     if d["hardware"]["modelIdentifier"].startswith("iPhone"))
        config = self.bsi_config(specificVersion="26.3.1", buildVersion="23D771330a")
        plan = self.run_plan(phone, config, "MOBILE_DEVICE")
        self.assertEqual(plan["status"]["state"], "PlanCompleted")
        self.assertEqual(plan["device"]["objectType"], "MOBILE_DEVICE")
        general = self.sim.device("mobile", phone["mobileDeviceId"])["general"]
        self.assertEqual((general["osSupplementalBuildVersion"], general["osRapidSecurityResponse"]),
                         ("23D771330a", "(a)"))

    def test_failure_reasons(self):
        """Each rejection reason, decided at validation against inventory and feed."""
        bsi = self.bsi_config()
        self.assert_fails(self.device_of("on-bsi"), bsi, "DOWNGRADE_NOT_SUPPORTED")
        self.assert_fails(self.device_of("other-bsi-base"), bsi, "DOWNGRADE_NOT_SUPPORTED")  # 26.3.2 > 26.3.1
        self.assert_fails(self.device_of("unsupported"), bsi, "SPECIFIC_VERSION_UNAVAILABLE_FOR_DEVICE_MODEL")
        self.assert_fails(self.device_of("older-minor"), bsi, "SPECIFIC_VERSION_UNAVAILABLE")  # prerequisite
        self.assert_fails(self.device_of("bsi-base"), self.bsi_config(specificVersion="99.1"),
                          "SPECIFIC_VERSION_UNAVAILABLE")
        self.assert_fails(self.device_of("bsi-base"), self.bsi_config(buildVersion="25D771280z"),
                          "SPECIFIC_VERSION_UNAVAILABLE")
        self.assert_fails(self.device_of("bsi-base", index=1),
                          {"updateAction": "DOWNLOAD_INSTALL", "versionType": "SPECIFIC_VERSION",
                           "specificVersion": "26.3.2"}, "SPECIFIC_VERSION_UNAVAILABLE_FOR_DEVICE_MODEL")
        self.assert_fails(self.device_of("bsi-base", index=1),
                          {"updateAction": "DOWNLOAD_INSTALL", "versionType": "SPECIFIC_VERSION",
                           "specificVersion": "26.2"}, "DOWNGRADE_NOT_SUPPORTED")
        unmanaged = self.device_of("bsi-base", index=2)
        self.sim.patch_device("computer", unmanaged["id"],
                              {"general": {"remoteManagement": {"managed": False}}})
        self.assert_fails(unmanaged, bsi, "NOT_MANAGED")
        self.assert_fails(self.device_of("unsupervised", "mobile"),
                          self.bsi_config(buildVersion="23D771330a"), "NOT_SUPERVISED", "MOBILE_DEVICE")

    def test_existing_plan_in_progress(self):
        """A second plan for a device with an unfinished plan fails; after completion a new one works."""
        device = self.device_of("bsi-base")
        first = self.create_plan(device["id"], self.bsi_config())
        second = self.create_plan(device["id"], self.bsi_config())
        self.advance(60)
        self.assertEqual(self.plan(first)["status"]["state"], "WaitingToStartDDMUpdate")
        self.assertEqual(self.plan(second)["status"],
                         {"state": "PlanFailed", "errorReasons": ["EXISTING_PLAN_FOR_DEVICE_IN_PROGRESS"]})

    def test_install_failure_and_unresponsive(self):
        """A device whose install fails, and one that never reports, fail their plans."""
        failing, silent = self.device_of("bsi-base"), self.device_of("bsi-base", index=1)
        self.sim.patch_device("computer", failing["id"], {"sim": {"installFailure": "Not enough disk space"}})
        self.sim.patch_device("computer", silent["id"], {"sim": {"unresponsive": True}})
        plan = self.run_plan(failing, self.bsi_config())
        self.assertEqual(plan["status"], {"state": "PlanFailed", "errorReasons": [
            "DECLARATIVE_DEVICE_MANAGEMENT_STATUS_RESPONSE_FAILURE_REASON_RECEIVED"]})
        items = self.status_items(failing)
        self.assertEqual((items["softwareupdate.install-state"], items["softwareupdate.failure-reason.count"],
                          items["softwareupdate.failure-reason.reason"]),
                         ("failed", "1", "Not enough disk space"))
        self.assertEqual(self.sim.device("computer", failing["id"])["operatingSystem"]["build"], "25D2128")
        plan_id = self.create_plan(silent["id"], self.bsi_config())
        self.advance(86400 + 100)
        self.assertEqual(self.plan(plan_id)["status"]["errorReasons"], ["NO_DEVICE_STATUS_BY_GRACE_PERIOD"])

    def test_expired_feed_entries(self):
        """Once the BSI expires (90 simulated days later) it is unavailable, unless expiry is ignored."""
        self.advance(100 * 86400)
        device = self.device_of("bsi-base")
        self.assert_fails(device, self.bsi_config(), "SPECIFIC_VERSION_UNAVAILABLE")
        self.sim.jamf_settings(honor_expiry=False)
        plan = self.run_plan(device, self.bsi_config(), seconds=4000)
        self.assertEqual(plan["status"]["state"], "PlanCompleted")

    def test_body_validation(self):
        """Malformed plan bodies get 400 with the field at fault."""
        mac = self.device_of("bsi-base")["id"]
        good = {"devices": [{"deviceId": mac, "objectType": "COMPUTER"}], "config": self.bsi_config()}
        cases = [
            ({"config": good["config"]}, "devices"),
            (dict(good, devices=[]), "devices"),
            (dict(good, devices=[{"deviceId": 1, "objectType": "COMPUTER"}]), "devices[0].deviceId"),
            (dict(good, devices=[{"deviceId": mac, "objectType": "MAC"}]), "devices[0].objectType"),
            (dict(good, devices=[{"deviceId": "99999", "objectType": "COMPUTER"}]), "devices[0].deviceId"),
            (dict(good, devices=[{"deviceId": mac, "objectType": "APPLE_TV"}]), "devices[0].deviceId"),
            (dict(good, devices=good["devices"] * 2), "devices"),
            ({"devices": good["devices"]}, "config"),
            (dict(good, config=self.bsi_config(updateAction="INSTALL_NOW")), "config.updateAction"),
            (dict(good, config=self.bsi_config(versionType=None)), "config.versionType"),
            (dict(good, config=self.bsi_config(versionType="UNKNOWN")), "config.versionType"),
            (dict(good, config=self.bsi_config(forceInstallLocalDateTime="2026-03-20 18:00:00")),
             "config.forceInstallLocalDateTime"),
            (dict(good, config=self.bsi_config(forceInstallLocalDateTime="2026-03-20T18:00:00Z")),
             "config.forceInstallLocalDateTime"),
            (dict(good, config=self.bsi_config(forceInstallLocalDateTime=None)),
             "config.forceInstallLocalDateTime"),
            (dict(good, config=self.bsi_config(versionType="SPECIFIC_VERSION")), "config.buildVersion"),
            (dict(good, config=self.bsi_config(specificVersion=None)), "config.specificVersion"),
            (dict(good, config=self.bsi_config(maxDeferrals=-1)), "config.maxDeferrals"),
            (dict(good, config={"updateAction": "DOWNLOAD_INSTALL", "versionType": "LATEST_ANY",
                                "specificVersion": "26.3.1"}), "config.specificVersion"),
        ]
        for body, field in cases:
            _, _, data = self.pro("POST", PLANS, body, expect=400)
            self.assertIn(field, [e["field"] for e in data["errors"]], body)
        self.pro("POST", PLANS, b"{not json", headers={"Content-Type": "application/json"}, expect=400)
        group = {"group": {"groupId": "2", "objectType": "COMPUTER"}, "config": self.bsi_config()}
        _, _, data = self.pro("POST", PLANS + "/group", group, expect=400)
        self.assertEqual(data["errors"][0]["field"], "group.objectType")
        unknown = {"groupId": "999", "objectType": "COMPUTER_GROUP"}
        self.pro("POST", PLANS + "/group", dict(group, group=unknown), expect=404)
        self.assertEqual(self.sim.jamf_state()["plans"], [])

    def test_group_plans_and_listing(self):
        """plans/group makes one plan per member; lists filter, sort and page."""
        state = {g["name"]: g for g in self.sim.jamf_state()["groups"]}
        pilot = state["Ring 1 - Pilot"]
        _, _, data = self.pro("POST", PLANS + "/group", {"group": {"groupId": pilot["id"],
                                                                   "objectType": "COMPUTER_GROUP"},
                                                         "config": self.bsi_config()}, expect=201)
        self.assertEqual(sorted(p["device"]["deviceId"] for p in data["plans"]), sorted(pilot["members"]))
        _, _, empty = self.pro("POST", PLANS + "/group", {"group": {"groupId": state["Empty Group"]["id"],
                                                                    "objectType": "COMPUTER_GROUP"},
                                                          "config": self.bsi_config()}, expect=201)
        self.assertEqual(empty, {"plans": []})
        phones = {"group": {"groupId": "1", "objectType": "MOBILE_DEVICE_GROUP"},
                  "config": {"updateAction": "DOWNLOAD_INSTALL", "versionType": "LATEST_ANY"}}
        _, _, mobile = self.pro("POST", PLANS + "/group", phones, expect=201)
        self.assertTrue(all(p["device"]["objectType"] == "MOBILE_DEVICE" for p in mobile["plans"]))
        _, _, listed = self.pro("GET", f"{PLANS}/group/{pilot['id']}?group-type=COMPUTER_GROUP", expect=200)
        self.assertEqual(listed["totalCount"], len(pilot["members"]))
        self.pro("GET", f"{PLANS}/group/{pilot['id']}", expect=400)
        self.advance(120)
        total = len(pilot["members"]) + len(mobile["plans"])
        _, _, page = self.pro("GET", f"{PLANS}?page-size=1&page=0&sort=device.deviceId:desc", expect=200)
        self.assertEqual((page["totalCount"], len(page["results"])), (total, 1))
        _, _, failed = self.pro("GET", f"{PLANS}?filter=" + urllib.parse.quote(
            'state==PlanFailed;device.objectType==MOBILE_DEVICE'), expect=200)
        self.assertTrue(all(p["status"]["state"] == "PlanFailed" for p in failed["results"]))
        one = data["plans"][0]
        _, _, found = self.pro("GET", f"{PLANS}?filter=" + urllib.parse.quote(f"planUuid=={one['planId']}"),
                               expect=200)
        self.assertEqual([p["planUuid"] for p in found["results"]], [one["planId"]])
        self.pro("GET", f"{PLANS}?filter=buildVersion==25D771280a", expect=400)  # not a filter field
        self.pro("GET", f"{PLANS}/00000000-0000-0000-0000-000000000000", expect=404)

    def test_throttling(self):
        """throttle_plans makes the next plan POSTs answer 429 with Retry-After and a Jamf body."""
        self.sim.throttle_plans(count=2, retry_after=3)
        body = {"devices": [{"deviceId": self.device_of("bsi-base")["id"], "objectType": "COMPUTER"}],
                "config": self.bsi_config()}
        for _ in range(2):
            _, headers, data = self.pro("POST", PLANS, body, expect=429)
            self.assertEqual((headers["Retry-After"], data["httpStatus"]), ("3", 429))
        self.pro("POST", PLANS, body, expect=201)

    def test_available_updates(self):
        """Public releases of the served feed, newest first."""
        _, _, data = self.pro("GET", MSU + "/available-updates", expect=200)
        self.assertEqual(data["availableUpdates"]["macOS"][:3], ["26.3.2", "26.3.1", "15.7.4"])
        self.assertEqual(data["availableUpdates"]["iOS"][0], "26.3.1")

    def test_status_items_unknown_device(self):
        """An unknown management id is 404; a device without DDM has no items."""
        self.pro("GET", "/api/v1/ddm/00000000-0000-0000-0000-000000000000/status-items", expect=404)
        device = self.device_of("bsi-base")
        self.sim.patch_device("computer", device["id"],
                              {"general": {"declarativeDeviceManagementEnabled": False}})
        mid = device["general"]["managementId"]
        _, _, items = self.pro("GET", f"/api/v1/ddm/{mid}/status-items", expect=200)
        self.assertEqual(items, {"statusItems": []})
        plan = self.run_plan(device, self.bsi_config(), seconds=400)  # the MDM path instead of DDM
        self.assertEqual(plan["status"]["state"], "ProcessingScheduleOSUpdateResponse")
        self.advance(4000)
        self.assertEqual(self.plan(plan["planUuid"])["status"]["state"], "PlanCompleted")
        _, _, events = self.pro("GET", f"{PLANS}/{plan['planUuid']}/events", expect=200)
        self.assertIn("CollectingOSUpdateStatus", events["events"])
        _, _, declarations = self.pro("GET", f"{PLANS}/{plan['planUuid']}/declarations", expect=200)
        self.assertEqual(declarations, {"declarations": []})


class FeatureToggleTests(JamfTestCase):
    """The plan feature toggle: asynchronous switches, cancellation, customVersionEnabled."""

    def test_toggle_off_and_on(self):
        """Switching off takes toggle_seconds, blocks plan creation, and cancels unfinished plans."""
        plan_id = self.create_plan(self.device_of("bsi-base")["id"], self.bsi_config())
        _, _, status = self.pro("GET", MSU + "/plans/feature-toggle/status", expect=200)
        self.assertEqual(status["toggleOff"]["state"], "NEVER_RAN")
        _, _, data = self.pro("PUT", MSU + "/plans/feature-toggle", {"toggle": False}, expect=200)
        self.assertFalse(data["toggle"])
        _, _, status = self.pro("GET", MSU + "/plans/feature-toggle/status", expect=200)
        self.assertEqual((status["toggleOff"]["state"], status["toggleOff"]["exitState"]),
                         ("RUNNING", "EXECUTING"))
        body = {"devices": [{"deviceId": "1", "objectType": "COMPUTER"}], "config": self.bsi_config()}
        _, _, data = self.pro("POST", PLANS, body, expect=400)
        self.assertEqual(data["errors"][0]["code"], "TOGGLE_IN_PROGRESS")
        self.pro("PUT", MSU + "/plans/feature-toggle", {"toggle": True}, expect=400)
        self.advance(10)
        _, _, status = self.pro("GET", MSU + "/plans/feature-toggle/status", expect=200)
        self.assertEqual((status["toggleOff"]["state"], status["toggleOff"]["exitState"],
                          status["toggleOff"]["percentComplete"]), ("NOT_RUNNING", "COMPLETED", 100.0))
        self.assertEqual(self.plan(plan_id)["status"]["state"], "PlanCanceled")
        _, _, data = self.pro("POST", PLANS, body, expect=400)
        self.assertEqual(data["errors"][0]["code"], "FEATURE_DISABLED")
        self.pro("PUT", MSU + "/plans/feature-toggle", {"toggle": True}, expect=200)
        self.advance(10)
        self.pro("POST", PLANS, body, expect=201)
        self.pro("PUT", MSU + "/plans/feature-toggle", {"toggleX": True}, expect=400)

    def test_abandon(self):
        """Abandoning a running switch keeps the old value and the plans."""
        self.pro("POST", MSU + "/plans/feature-toggle/abandon", expect=400)
        self.pro("PUT", MSU + "/plans/feature-toggle", {"toggle": False}, expect=200)
        self.pro("POST", MSU + "/plans/feature-toggle/abandon", expect=204)
        self.assertTrue(self.pro("GET", MSU + "/plans/feature-toggle", expect=200)[2]["toggle"])
        _, _, status = self.pro("GET", MSU + "/plans/feature-toggle/status", expect=200)
        self.assertEqual(status["toggleOff"]["exitState"], "STOPPED")

    def test_custom_version_enabled(self):
        """PUT cannot change customVersionEnabled; with it off CUSTOM_VERSION plans are 400."""
        _, _, data = self.pro("PUT", MSU + "/plans/feature-toggle",
                              {"toggle": True, "customVersionEnabled": False}, expect=200)
        self.assertTrue(data["customVersionEnabled"])
        self.sim.set_feature_toggle(customVersionEnabled=False)
        _, _, toggle = self.pro("GET", MSU + "/plans/feature-toggle", expect=200)
        self.assertFalse(toggle["customVersionEnabled"])
        mac = self.device_of("bsi-base")["id"]
        _, _, data = self.pro("POST", PLANS, {"devices": [{"deviceId": mac, "objectType": "COMPUTER"}],
                                              "config": self.bsi_config()}, expect=400)
        self.assertEqual(data["errors"][0]["field"], "config.versionType")
        self.create_plan(mac, {"updateAction": "DOWNLOAD_INSTALL", "versionType": "SPECIFIC_VERSION",
                               "specificVersion": "26.3.1"})
        with self.assertRaises(SimError):
            self.sim.set_feature_toggle(customVersion=True)


class PlatformTests(JamfTestCase):
    """The Jamf Platform API: token, environment header, device groups, blueprints."""

    def setUp(self):
        """Also take a platform token."""
        super().setUp()
        self.ptoken = self.sim.platform_token()

    def call(self, method, path, body=None, headers=None, expect=None, **kwargs):
        """A Platform call with the class token; checks the status if expect is given."""
        status, reply_headers, data = self.platform(method, path, body, self.ptoken, headers, **kwargs)
        if expect is not None:
            self.assertEqual(status, expect, f"{method} {path}: {data}")
        if status >= 400:
            self.assertEqual(set(data), {"httpStatus", "traceId", "errors"}, data)
            self.assertEqual(data["httpStatus"], status)
            self.assertRegex(data["traceId"], r"^[0-9a-f]{16}$")
            for error in data["errors"]:
                self.assertTrue({"code", "field", "description"} <= set(error), error)
        return status, reply_headers, data

    def group_id(self, name):
        """The platform UUID of a group, via the device-groups filter."""
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        _, _, data = self.call("GET", "/device-groups/v1/device-groups?filter=" +
                               urllib.parse.quote(f'name=="{quoted}"'), expect=200)
        self.assertEqual(data["totalCount"], 1, name)
        return data["results"][0]["id"]

    def blueprint_body(self, groups=("Ring 1 - Pilot",), payload=None,
                       identifier="com.jamf.ddm.custom-declarations"):
        """A BSI blueprint body."""
        payload = payload or {"TargetOSVersion": "26.3.1", "TargetBuildVersion": "25D771280a",
                              "TargetLocalDateTime": self.local_time(3600)}
        return {"name": "bridge BSI macOS 26.3.1 (a)", "description": "made by a test",
                "scope": {"deviceGroups": [self.group_id(g) for g in groups]},
                "steps": [{"name": "Step 1", "components": [{"identifier": identifier, "configuration": {
                    "declarations": [{"channelType": "SYSTEM", "kind": "CONFIGURATION",
                                      "type": "com.apple.configuration.softwareupdate.enforcement.specific",
                                      "payload": payload, "payloadKey": 1}]}}]}]}

    def create(self, body):
        """POST a blueprint; return its id."""
        _, headers, data = self.call("POST", "/blueprints/v1/blueprints", body, expect=201)
        self.assertEqual(headers["Location"], data["href"])
        self.assertEqual(data["href"], f"{self.sim.url}/blueprints/v1/blueprints/{data['id']}")
        return data["id"]

    def detail(self, blueprint_id):
        """GET a blueprint."""
        return self.call("GET", f"/blueprints/v1/blueprints/{blueprint_id}", expect=200)[2]

    def test_token_and_environment(self):
        """Bearer first (401), then X-Environment-Id: missing 400, wrong 403."""
        status, _, data = self.sim.call("POST", "/auth/token", urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": PLATFORM_CLIENT_ID,
             "client_secret": PLATFORM_CLIENT_SECRET}), FORM)
        self.assertEqual((status, data["token_type"], data["expires_in"]), (200, "Bearer", 900))
        status, _, data = self.sim.call("POST", "/auth/token", urllib.parse.urlencode(
            {"grant_type": "client_credentials", "client_id": JAMF_CLIENT_ID,
             "client_secret": JAMF_CLIENT_SECRET}), FORM)
        self.assertEqual((status, data["error"]), (401, "invalid_client"))  # no Jamf Pro clients here
        path = "/blueprints/v1/blueprint-components"
        self.call("GET", path, expect=200)
        self.call("GET", path, expect=400, environment=None)
        _, _, data = self.call("GET", path, expect=403, environment="00000000-0000-0000-0000-000000000000")
        self.assertEqual(data["errors"][0]["field"], "X-Environment-Id")
        status, _, _ = self.platform("GET", path, token=self.token)  # a Jamf Pro token
        self.assertEqual(status, 401)
        self.sim.advance(900)
        self.call("GET", path, expect=401)
        request = self.sim.requests(path)[0]
        self.assertEqual(request["headers"]["x-environment-id"], ENVIRONMENT_ID)
        self.assertTrue(request["headers"]["authorization"].startswith("Bearer "))
        self.sim.set_environment_id("11111111-2222-3333-4444-555555555555")
        self.ptoken = self.sim.platform_token()
        self.call("GET", path, expect=200, environment="11111111-2222-3333-4444-555555555555")

    def test_device_groups(self):
        """Filter by name (with quotes), paging fields, same UUIDs as /api/v2/groups, members."""
        lab = self.group_id(LAB)
        _, _, v2 = self.pro("GET", "/api/v2/groups?filter=" + urllib.parse.quote(
            'groupName=="Lab \\"A\\", 2nd floor"'), expect=200)
        self.assertEqual(v2["results"][0]["groupPlatformId"], lab)
        _, _, data = self.call("GET", "/device-groups/v1/device-groups?page-size=4&page=1", expect=200)
        self.assertEqual((data["totalCount"], data["totalPages"], data["page"], data["pageSize"],
                          data["hasNext"], data["hasPrevious"], len(data["results"])),
                         (9, 3, 1, 4, True, True, 4))
        _, _, data = self.call("GET", "/device-groups/v1/device-groups?filter=" +
                               urllib.parse.quote('deviceType=="MOBILE";groupType=="STATIC"'), expect=200)
        self.assertEqual([g["name"] for g in data["results"]], ["bridge-static-mobile-example"])
        _, _, group = self.call("GET", f"/device-groups/v1/device-groups/{lab}", expect=200)
        self.assertEqual((group["name"], group["groupType"], group["deviceType"]), (LAB, "SMART", "COMPUTER"))
        _, _, members = self.call("GET", f"/device-groups/v1/device-groups/{lab}/members", expect=200)
        state = {g["name"]: g for g in self.sim.jamf_state()["groups"]}
        mids = {d["id"]: d["general"]["managementId"] for d in self.sim.devices("computer")}
        self.assertEqual(members["results"], [mids[i] for i in state[LAB]["members"]])
        self.call("GET", "/device-groups/v1/device-groups?filter=color==red", expect=400)
        self.call("GET", "/device-groups/v1/device-groups/not-a-group", expect=404)

    def test_components(self):
        """The custom declarations component can be renamed or removed through the control API."""
        def identifiers():
            return [c["identifier"] for c in self.call("GET", "/blueprints/v1/blueprint-components",
                                                       expect=200)[2]["results"]]
        self.assertIn("com.jamf.ddm.custom-declarations", identifiers())
        self.sim.set_blueprint_components(custom_declarations="com.jamf.ddm.free-form")
        self.assertIn("com.jamf.ddm.free-form", identifiers())
        self.assertNotIn("com.jamf.ddm.custom-declarations", identifiers())
        _, _, data = self.call("POST", "/blueprints/v1/blueprints", self.blueprint_body(), expect=400)
        self.assertEqual(data["errors"][0]["field"], "steps[0].components[0].identifier")
        self.create(self.blueprint_body(identifier="com.jamf.ddm.free-form"))
        self.sim.set_blueprint_components(custom_declarations=None)
        self.assertFalse({"com.jamf.ddm.free-form", "com.jamf.ddm.custom-declarations"} & set(identifiers()))
        self.call("GET", "/blueprints/v1/blueprint-components/com.jamf.ddm.sw-updates", expect=200)
        self.call("GET", "/blueprints/v1/blueprint-components/com.jamf.ddm.free-form", expect=404)

    def test_blueprint_validation(self):
        """POST validates name, scope groups, steps, components and declaration shapes."""
        good = self.blueprint_body()
        declaration = good["steps"][0]["components"][0]["configuration"]["declarations"][0]
        cases = [
            ({k: v for k, v in good.items() if k != "name"}, "name"),
            (dict(good, name=""), "name"),
            (dict(good, scope={"deviceGroups": []}), "scope.deviceGroups"),
            (dict(good, scope={"deviceGroups": ["00000000-0000-0000-0000-000000000000"]}),
             "scope.deviceGroups[0]"),
            (dict(good, scope={"deviceGroups": ["Ring 1 - Pilot"]}), "scope.deviceGroups[0]"),
            ({k: v for k, v in good.items() if k != "steps"}, "steps"),
            (dict(good, steps=[{"components": []}]), "steps[0].components"),
            (dict(good, steps=[{"components": [{"identifier": "com.jamf.ddm.custom-declarations"}]}]),
             "steps[0].components[0].configuration"),
            (dict(good, steps=[{"components": [{"identifier": "com.jamf.ddm.custom-declarations",
                                                "configuration": {"declarations": [
                                                    dict(declaration, channelType="DEVICE")]}}]}]),
             "steps[0].components[0].configuration.declarations[0].channelType"),
        ]
        for body, field in cases:
            _, _, data = self.call("POST", "/blueprints/v1/blueprints", body, expect=400)
            self.assertIn(field, [e["field"] for e in data["errors"]], body)
        self.call("POST", "/blueprints/v1/blueprints", b"[]", {"Content-Type": "application/json"},
                  expect=400)
        self.assertEqual(self.sim.jamf_state()["platform"]["blueprints"], [])

    def test_blueprint_life_cycle(self):
        """Create, merge-patch (else 415), deploy (asynchronous), report, go out of date, undeploy, delete."""
        blueprint_id = self.create(self.blueprint_body())
        detail = self.detail(blueprint_id)
        self.assertEqual(detail["deploymentState"], {"state": "NOT_DEPLOYED"})
        self.assertEqual(self.call("GET", f"/blueprints/v1/blueprints/{blueprint_id}/report", expect=200)[2],
                         {"succeeded": 0, "pending": 0, "failed": 0})
        path = f"/blueprints/v1/blueprints/{blueprint_id}"
        self.call("PATCH", path, {"description": "x"}, {"Content-Type": "application/json"}, expect=415)
        patch = {"description": None, "scope": {"deviceGroups": [self.group_id("Ring 1 - Pilot"),
                                                                 self.group_id(LAB)]}}
        self.call("PATCH", path, patch, MERGE_PATCH, expect=204)
        recorded = [r for r in self.sim.requests(path) if r["method"] == "PATCH"][-1]
        self.assertEqual((json.loads(recorded["body"]), recorded["headers"]["content-type"]),
                         (patch, "application/merge-patch+json"))
        detail = self.detail(blueprint_id)
        self.assertIsNone(detail["description"])
        self.assertEqual(len(detail["scope"]["deviceGroups"]), 2)
        self.call("PATCH", path, {"name": None}, MERGE_PATCH, expect=400)
        self.call("POST", path + "/deploy", expect=202)
        self.assertEqual(self.detail(blueprint_id)["deploymentState"]["lastDeployment"]["state"], "PENDING")
        state = {g["name"]: g for g in self.sim.jamf_state()["groups"]}
        scoped = set(state["Ring 1 - Pilot"]["members"]) | set(state[LAB]["members"])
        report = self.call("GET", path + "/report", expect=200)[2]
        self.assertEqual(report, {"succeeded": 0, "pending": len(scoped), "failed": 0})
        self.sim.advance(5)
        self.assertEqual(self.detail(blueprint_id)["deploymentState"]["lastDeployment"]["state"], "DEPLOYING")
        self.sim.advance(5)
        deployed = self.detail(blueprint_id)["deploymentState"]
        self.assertEqual((deployed["state"], deployed["lastDeployment"]["state"]), ("DEPLOYED", "SUCCEEDED"))
        self.sim.advance(30)  # every device has reported
        report = self.call("GET", path + "/report", expect=200)[2]
        self.assertEqual(report["pending"], 0)
        self.assertEqual(report["succeeded"] + report["failed"], len(scoped))
        self.ptoken = self.sim.platform_token()
        base_ids = {d["id"] for d in self.sim.devices("computer", "bsi-base")} & scoped
        self.advance(3600 + 200)  # the deadline passes: eligible devices install the BSI
        self.ptoken = self.sim.platform_token()
        for device_id in base_ids:
            self.assertEqual(os_state(self.sim.device("computer", device_id))[2], "25D771280a")
        self.call("PATCH", path, {"name": "renamed"}, MERGE_PATCH, expect=204)
        self.assertEqual(self.detail(blueprint_id)["deploymentState"]["state"], "OUT_OF_DATE")
        self.call("POST", path + "/deploy", expect=202)
        self.sim.advance(10)
        self.assertEqual(self.detail(blueprint_id)["deploymentState"]["state"], "DEPLOYED")
        self.call("POST", path + "/undeploy", expect=202)
        self.sim.advance(5)
        self.assertEqual(self.detail(blueprint_id)["deploymentState"]["state"], "NOT_DEPLOYED")
        self.assertEqual(self.call("GET", path + "/report", expect=200)[2],
                         {"succeeded": 0, "pending": 0, "failed": 0})
        _, _, listed = self.call("GET", "/blueprints/v1/blueprints?search=RENAMED", expect=200)
        self.assertEqual([b["id"] for b in listed["results"]], [blueprint_id])
        _, _, listed = self.call("GET", "/blueprints/v1/blueprints?filter=" +
                                 urllib.parse.quote('name=="nothing"'), expect=200)
        self.assertEqual(listed["totalCount"], 0)
        self.call("DELETE", path, expect=204)
        self.call("GET", path, expect=404)

    def test_blueprint_on_mobile_static_group(self):
        """A static mobile group made through Jamf Pro is a Platform device group a blueprint reaches."""
        phones = [d for d in self.sim.devices("mobile", "bsi-base")
                  if d["hardware"]["modelIdentifier"].startswith("iPhone")][:2]
        ids = sorted((d["mobileDeviceId"] for d in phones), key=int)
        self.assertEqual(len(ids), 2)
        self.pro("POST", "/api/v2/mobile-device-groups/static-groups",
                 {"groupName": "bridge-ios-bsi", "assignments": [{"mobileDeviceId": i, "selected": True}
                                                                for i in ids]}, expect=201)
        group = self.group_id("bridge-ios-bsi")
        _, _, data = self.call("GET", f"/device-groups/v1/device-groups/{group}", expect=200)
        self.assertEqual((data["deviceType"], data["groupType"], data["memberCount"]),
                         ("MOBILE", "STATIC", 2))
        _, _, members = self.call("GET", f"/device-groups/v1/device-groups/{group}/members", expect=200)
        mids = [self.sim.device("mobile", i)["general"]["managementId"] for i in ids]
        self.assertEqual(members["results"], mids)
        _, _, groups = self.call("GET", f"/device-groups/v1/devices/{mids[0]}/device-groups", expect=200)
        self.assertIn(group, [g["groupId"] for g in groups["results"]])
        body = self.blueprint_body(groups=("bridge-ios-bsi",), payload={
            "TargetOSVersion": "26.3.1", "TargetBuildVersion": "23D771330a",
            "TargetLocalDateTime": self.local_time(3600)})
        path = f"/blueprints/v1/blueprints/{self.create(body)}"
        self.call("POST", path + "/deploy", expect=202)
        report = self.call("GET", path + "/report", expect=200)[2]
        self.assertEqual(report, {"succeeded": 0, "pending": 2, "failed": 0})
        self.sim.advance(40)  # deployed, and every device has reported
        report = self.call("GET", path + "/report", expect=200)[2]
        self.assertEqual(report, {"succeeded": 2, "pending": 0, "failed": 0})
        self.advance(3600 + 200)  # the deadline passes: both iPhones install the BSI
        for device_id in ids:
            general = self.sim.device("mobile", device_id)["general"]
            self.assertEqual((general["osVersion"], general["osSupplementalBuildVersion"],
                              general["osRapidSecurityResponse"]), ("26.3.1", "23D771330a", "(a)"))

    def test_invalid_payload_fails_deployment(self):
        """TargetOSVersion with the extra (or a bad date) makes the deployment FAILED."""
        for payload in ({"TargetOSVersion": "26.3.1 (a)", "TargetLocalDateTime": self.local_time(60)},
                        {"TargetOSVersion": "26.3.1(a)", "TargetLocalDateTime": self.local_time(60)},
                        {"TargetOSVersion": "26.3.1", "TargetLocalDateTime": "2026-03-20T18:00:00Z"},
                        {"TargetOSVersion": "26.3.1"}):
            blueprint_id = self.create(self.blueprint_body(payload=payload))
            self.call("POST", f"/blueprints/v1/blueprints/{blueprint_id}/deploy", expect=202)
            self.sim.advance(10)
            state = self.detail(blueprint_id)["deploymentState"]
            self.assertEqual((state["state"], state["lastDeployment"]["state"]), ("NOT_DEPLOYED", "FAILED"),
                             payload)
            report = self.call("GET", f"/blueprints/v1/blueprints/{blueprint_id}/report", expect=200)[2]
            self.assertEqual(report["succeeded"] + report["pending"], 0)
            self.assertGreater(report["failed"], 0)


class ControlTests(JamfTestCase):
    """The control API: clock, reset, state dump, settings."""

    def test_clock(self):
        """A frozen clock moves only when advanced."""
        before = self.sim.clock()
        self.assertTrue(before["frozen"])
        self.assertEqual(self.sim.clock()["now"], before["now"])
        after = self.sim.advance(90.5)
        self.assertAlmostEqual(after["now"] - before["now"], 90.5)
        with self.assertRaises(SimError):
            self.sim.advance(-1)

    def test_reset_and_dump(self):
        """jamf_reset forgets plans, clients and clock offset; the dump shows plans and blueprints."""
        self.create_plan(self.device_of("bsi-base")["id"], self.bsi_config())
        self.sim.set_clients({"extra": {"secret": "x"}})
        self.sim.advance(100)
        dump = self.sim.jamf_state()
        self.assertEqual(len(dump["plans"]), 1)
        self.assertEqual(dump["plans"][0]["state"], "WaitingToStartDDMUpdate")
        self.assertTrue({"featureToggle", "plans", "staticGroups", "platform", "groups"} <= set(dump))
        self.sim.jamf_reset()
        dump = self.sim.jamf_state()
        self.assertEqual((dump["plans"], dump["clock"]["offset"]), ([], 0))
        self.assertNotIn("extra", self.sim.clients())
        self.assertEqual(self.sim.jamf_settings()["plan_step"], 5.0)
        with self.assertRaises(SimError):
            self.sim.jamf_settings(plan_stepp=1)
        with self.assertRaises(SimError):
            self.sim.patch_device("computer", "1", {"id": "2"})


class OptionTests(unittest.TestCase):
    """Command-line options, each with a server of its own."""

    def test_running_clock(self):
        """now grows by itself; the default fleet is 50 computers and 20 mobile devices."""
        with Sim() as sim:
            first = sim.clock()
            self.assertFalse(first["frozen"])
            second = sim.advance(10)
            self.assertGreater(second["now"] - first["now"], 10)
            fleet = sim.jamf_state()["fleet"]
            self.assertEqual((fleet["computers"], fleet["mobile"]), (50, 20))

    def test_fleet_token_and_environment_options(self):
        """--fleet-*, --token-lifetime and --environment-id reach the simulation."""
        environment = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        with Sim(fleet_computers=7, fleet_mobile=0, fleet_seed=3, token_lifetime=77,
                 environment_id=environment) as sim:
            self.assertEqual(sim.jamf_state()["fleet"], {"computers": 7, "mobile": 0, "seed": 3})
            self.assertEqual(sim.clients()[JAMF_CLIENT_ID]["token_lifetime"], 77)
            self.assertEqual(sim.jamf_state()["platform"]["environmentId"], environment)
            self.assertEqual(len({d["sim"]["category"] for d in sim.devices("computer")}), 7)

    def test_plain_http(self):
        """With --plain-http the discovery document names http URLs."""
        with Sim(plain_http=True) as sim:
            status, _, data = sim.call("GET", "/oidc/.well-known/openid-configuration")
            self.assertEqual((status, data["issuer"]), (200, sim.url + "/oidc"))
            self.assertTrue(sim.url.startswith("http://"))


if __name__ == "__main__":
    unittest.main()
