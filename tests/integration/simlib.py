"""Run the test server (tests/sim/sim.py) from Python unittest tests.

    from simlib import Sim

    with Sim(gdmf="tests/fixtures/gdmf/pmv-2026-03-17.json", shift_dates=True) as sim:
        sim.faults([{"path": "/v2/pmv", "status": 429, "retry_after": 1}])
        ...run bridge against sim.url, trusting sim.ca_file...
        self.assertEqual(len(sim.requests("/v2/pmv")), 2)

The server runs as a subprocess on a free port of 127.0.0.1.  Certificates
are shared between runs in build/test-certs (or the cert_dir given).

The same server simulates Jamf Pro (jamf.url = sim.url) and the Jamf
Platform API (platform.url = sim.url); see tests/sim/sim.py for the control
API behind the Jamf methods below and tests/sim/jamf_pro.py /
jamf_platform.py for what is simulated.

    with Sim(gdmf=FEED, shift_dates=True, fleet_computers=200, frozen_clock=True) as sim:
        token = sim.pro_token()
        status, headers, body = sim.call("GET", "/api/v1/managed-software-updates/plans", token=token)
        sim.advance(3600)                       # plans progress on the simulated clock
        plans = sim.jamf_state()["plans"]
"""

import json
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SIM_SCRIPT = REPO_ROOT / "tests" / "sim" / "sim.py"
DEFAULT_CERT_DIR = REPO_ROOT / "build" / "test-certs"
HOST = "127.0.0.1"


JAMF_CLIENT_ID = "bridge-test-client"
JAMF_CLIENT_SECRET = "bridge-test-secret-3f9a7c"
JAMF_USER = "bridge-admin"
JAMF_PASSWORD = "bridge-basic-pw-8d2e"
PLATFORM_CLIENT_ID = "bridge-platform-client"
PLATFORM_CLIENT_SECRET = "bridge-platform-secret-51c0"
ENVIRONMENT_ID = "6f1c2b8e-0d3a-4c55-9e7b-2a4d8c9f1e03"
PLANS_PATH = "/api/v1/managed-software-updates/plans"
_UNSET = object()


class SimError(RuntimeError):
    """The server failed to start, died, or refused a control call."""


class Sim:
    """A running sim.py subprocess; use as a context manager or start()/stop().

    Keyword arguments map to sim.py options: gdmf (path of a JSON file),
    shift_dates, rogue, plain_http, latency_ms, log (request log path), gzip (answers of
    2 KiB or more gzip-compressed for clients that admit it),
    port (0: any free port), cert_dir (default build/test-certs); for the
    Jamf simulation fleet_computers, fleet_mobile, fleet_seed,
    token_lifetime (seconds), frozen_clock (the clock moves only through
    advance()) and environment_id (None: the sim's defaults).
    """

    def __init__(self, gdmf=None, shift_dates=False, rogue=False, plain_http=False,
                 latency_ms=0, log=None, port=0, cert_dir=None, start_timeout=10.0,
                 fleet_computers=None, fleet_mobile=None, fleet_seed=None, token_lifetime=None,
                 frozen_clock=False, environment_id=None, gzip=False):
        """Record the options; nothing runs until start()."""
        self.cert_dir = Path(cert_dir or DEFAULT_CERT_DIR).resolve()
        self.plain_http = plain_http
        self.start_timeout = start_timeout
        self.args = ["--port", str(port), "--cert-dir", str(self.cert_dir), "--exit-with-parent"]
        if gdmf:
            self.args += ["--gdmf", str(gdmf)]
        if shift_dates:
            self.args.append("--gdmf-shift-dates")
        if rogue:
            self.args.append("--rogue")
        if plain_http:
            self.args.append("--plain-http")
        if latency_ms:
            self.args += ["--latency", str(latency_ms)]
        if log:
            self.args += ["--log", str(log)]
        if gzip:
            self.args.append("--gzip")
        for option, value in (("--fleet-computers", fleet_computers), ("--fleet-mobile", fleet_mobile),
                              ("--fleet-seed", fleet_seed), ("--token-lifetime", token_lifetime),
                              ("--environment-id", environment_id)):
            if value is not None:
                self.args += [option, str(value)]
        if frozen_clock:
            self.args.append("--frozen-clock")
        self.port = None
        self.proc = None
        self._tmp = None
        self._stderr = None
        self._opener = None

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        """Start the server and wait until it listens; SimError if it does not."""
        self._tmp = Path(tempfile.mkdtemp(prefix="bridge-sim-"))
        ready = self._tmp / "port"
        self._stderr = open(self._tmp / "stderr.log", "w+b")
        self.proc = subprocess.Popen(
            [sys.executable, str(SIM_SCRIPT), "--ready-file", str(ready), *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr)
        deadline = time.monotonic() + self.start_timeout
        try:
            while not ready.exists():
                if self.proc.poll() is not None:
                    self._fail(f"sim exited with status {self.proc.returncode} during startup")
                if time.monotonic() > deadline:
                    self._fail(f"sim not ready after {self.start_timeout} s")
                time.sleep(0.02)
        except SimError:
            self.stop()
            raise
        self.port = int(ready.read_text())
        handlers = [urllib.request.ProxyHandler({})]  # never via an http(s)_proxy
        if not self.plain_http:
            # Trust the rogue CA as well, so control calls work in --rogue mode.
            context = ssl.create_default_context(cafile=str(self.ca_file))
            context.load_verify_locations(cafile=str(self.cert_dir / "rogue-ca.pem"))
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)
        return self

    def stop(self):
        """Stop the server (SIGTERM, then SIGKILL after 5 s); return its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        status = self.proc.returncode
        self.proc = None
        self._stderr.close()
        shutil.rmtree(self._tmp, ignore_errors=True)
        return status

    def __enter__(self):
        """Start the server."""
        return self.start()

    def __exit__(self, *exc_info):
        """Stop the server."""
        self.stop()

    # -- addresses ---------------------------------------------------------

    @property
    def url(self):
        """Base URL, e.g. https://127.0.0.1:PORT (no trailing slash)."""
        scheme = "http" if self.plain_http else "https"
        return f"{scheme}://{HOST}:{self.port}"

    @property
    def ca_file(self):
        """The test CA that bridge should trust (the rogue cert does not chain to it)."""
        return self.cert_dir / "ca.pem"

    def stderr(self):
        """Everything the server has written to stderr so far."""
        self._stderr.flush()
        return (self._tmp / "stderr.log").read_text(errors="replace")

    # -- control API -------------------------------------------------------

    def health(self):
        """GET /_sim/health."""
        return self._control("GET", "/_sim/health")

    def faults(self, rules):
        """Append fault rules (a list of dicts, see sim.py FaultRule)."""
        return self._control("POST", "/_sim/faults", json.dumps(rules).encode())

    def clear_faults(self):
        """Remove every fault rule."""
        return self._control("DELETE", "/_sim/faults")

    def requests(self, path=None):
        """Recorded non-control requests, oldest first; optionally only this path prefix."""
        entries = self._control("GET", "/_sim/requests")
        return [e for e in entries if path is None or e["path"].startswith(path)]

    def reset(self):
        """Clear recorded requests and fault rules."""
        return self._control("POST", "/_sim/reset")

    def set_gdmf(self, doc):
        """Serve doc at /v2/pmv: bytes or str verbatim, anything else as JSON."""
        if isinstance(doc, str):
            doc = doc.encode()
        elif not isinstance(doc, bytes):
            doc = json.dumps(doc, indent=2).encode()
        return self._control("PUT", "/_sim/gdmf", doc)

    # -- Jamf simulation: control API ---------------------------------------

    def clock(self):
        """The simulated clock: {now (Unix time), iso, offset, frozen}."""
        return self._control("GET", "/_sim/clock")

    def advance(self, seconds):
        """Move the simulated clock forward; what became due (plans, deployments) happens."""
        return self._json("POST", "/_sim/clock", {"advance": seconds})

    def jamf_reset(self):
        """Full reset of the Jamf Pro and Platform state (requests and faults stay)."""
        return self._control("POST", "/_sim/jamf/reset")

    def jamf_state(self, devices=False):
        """Dump of the Jamf state (plans, groups, blueprints, ...); devices=True adds the inventory."""
        return self._control("GET", "/_sim/jamf/state" + ("?devices=1" if devices else ""))

    def jamf_settings(self, **settings):
        """Set simulation knobs (plan_step, install_seconds, honor_expiry, ...); return them all."""
        if not settings:
            return self._control("GET", "/_sim/jamf/settings")
        return self._json("POST", "/_sim/jamf/settings", settings)

    def replace_fleet(self, computers=None, mobile=None, seed=None):
        """Build a new fleet (omitted arguments keep their current values)."""
        body = {key: value for key, value in (("computers", computers), ("mobile", mobile), ("seed", seed))
                if value is not None}
        return self._json("POST", "/_sim/jamf/fleet", body)

    def device(self, kind, device_id):
        """One device record (kind "computer" or "mobile"), with its "sim" part."""
        return self._control("GET", f"/_sim/jamf/devices/{kind}/{device_id}")

    def patch_device(self, kind, device_id, patch):
        """Merge-patch a device record, e.g. {"operatingSystem": {"build": "25D125"}}."""
        return self._json("PATCH", f"/_sim/jamf/devices/{kind}/{device_id}", patch)

    def devices(self, kind="computer", category=None):
        """All device records of a kind, optionally only one fleet category ("bsi-base", ...)."""
        dump = self.jamf_state(devices=True)
        records = dump["computers"] if kind == "computer" else dump["mobileDevices"]
        return [r for r in records if category is None or r["sim"]["category"] == category]

    def clients(self):
        """The Jamf Pro API clients."""
        return self._control("GET", "/_sim/jamf/clients")

    def set_clients(self, clients):
        """Add/replace Jamf Pro API clients: {id: {secret, privileges, token_lifetime} | None}.

        privileges is a list of Jamf privilege names or "all".
        """
        return self._json("POST", "/_sim/jamf/clients", clients)

    def set_users(self, users):
        """Add/replace basic-auth users: {name: {password, privileges, token_lifetime} | None}."""
        return self._json("POST", "/_sim/jamf/users", users)

    def expire_tokens(self, service="all"):
        """Expire every token of "pro", "platform" or "all" now."""
        return self._json("POST", "/_sim/jamf/tokens/expire", {"service": service})

    def feature_toggle(self):
        """The plan feature toggle (all fields) and whether a switch is running."""
        return self._control("GET", "/_sim/jamf/feature-toggle")

    def set_feature_toggle(self, **fields):
        """Set toggle fields at once: toggle, customVersionEnabled, ..., toggle_seconds."""
        return self._json("POST", "/_sim/jamf/feature-toggle", fields)

    def platform_clients(self):
        """The Platform API clients."""
        return self._control("GET", "/_sim/platform/clients")

    def set_platform_clients(self, clients):
        """Add/replace Platform API clients: {id: {secret, token_lifetime} | None}."""
        return self._json("POST", "/_sim/platform/clients", clients)

    def set_environment_id(self, environment_id):
        """The X-Environment-Id every Platform call must send."""
        return self._json("POST", "/_sim/platform/settings", {"environment_id": environment_id})

    def set_blueprint_components(self, identifiers=None, custom_declarations=_UNSET):
        """Replace the offered components, and/or rename the custom declarations one (None removes it)."""
        body = {}
        if identifiers is not None:
            body["identifiers"] = list(identifiers)
        if custom_declarations is not _UNSET:
            body["custom_declarations"] = custom_declarations
        return self._json("PUT", "/_sim/platform/components", body)

    def throttle_plans(self, count=1, retry_after=1, group_only=False):
        """The next `count` plan POSTs (plans and plans/group; only plans/group with
        group_only) answer 429 with Retry-After and a Jamf error body (a fault rule)."""
        body = json.dumps({"httpStatus": 429, "errors": [{"code": "TOO_MANY_REQUESTS", "field": "",
                                                          "description": "Too many requests", "id": "0"}]})
        return self.faults([{"path": PLANS_PATH + ("/group" if group_only else ""), "method": "POST",
                             "count": count, "status": 429, "body": body, "retry_after": retry_after}])

    # -- Jamf simulation: client side (recorded like any other request) ---------

    def call(self, method, path, body=None, headers=None, token=None):
        """One request to the sim as a client: (status, headers, decoded JSON or raw bytes).

        body: bytes/str sent verbatim, anything else as JSON; token: bearer.
        HTTP errors are returned, not raised.
        """
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=30) as reply:
                status, reply_headers, raw = reply.status, reply.headers, reply.read()
        except urllib.error.HTTPError as exc:
            status, reply_headers, raw = exc.code, exc.headers, exc.read()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw
        return status, reply_headers, data

    def pro_token(self, client_id=JAMF_CLIENT_ID, secret=JAMF_CLIENT_SECRET):
        """A Jamf Pro access token from POST /api/oauth/token."""
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                       "client_secret": secret})
        status, _, data = self.call("POST", "/api/oauth/token", form,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise SimError(f"Jamf Pro token: HTTP {status}: {data}")
        return data["access_token"]

    def platform_token(self, client_id=PLATFORM_CLIENT_ID, secret=PLATFORM_CLIENT_SECRET):
        """A Platform API access token from POST /auth/token."""
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                       "client_secret": secret})
        status, _, data = self.call("POST", "/auth/token", form,
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise SimError(f"Platform token: HTTP {status}: {data}")
        return data["access_token"]

    def _json(self, method, path, obj):
        """A control call with a JSON body."""
        return self._control(method, path, json.dumps(obj).encode())

    def _control(self, method, path, body=None):
        """Make one control call and return its decoded JSON answer."""
        if self.proc is None:
            raise SimError("sim is not running")
        request = urllib.request.Request(self.url + path, data=body, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(request, timeout=10) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise SimError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
        except OSError as exc:
            if self.proc.poll() is not None:
                self._fail(f"sim died (status {self.proc.returncode})")
            raise SimError(f"{method} {path}: {exc}") from exc

    def _fail(self, message):
        """Raise SimError with message and the server's stderr."""
        raise SimError(f"{message}\n--- sim stderr ---\n{self.stderr()}")
