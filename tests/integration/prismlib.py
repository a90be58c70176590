"""Check Jamf Pro traffic against the Jamf Pro contract with Prism, from unittest tests.

    from prismlib import Prism, assert_no_violations

    with Sim(...) as sim, Prism(sim.url, sim.ca_file) as prism:
        ...run bridge with jamf.url = prism.url (plain http to loopback is allowed)...
        assert_no_violations(self, prism)

Prism (@stoplight/prism-cli 5.14.2, installed by tests/contract/install.sh into
tests/contract/node_modules) runs as `prism proxy SPEC UPSTREAM` on a free port of 127.0.0.1.
It forwards every request to UPSTREAM unchanged and hands back the upstream's real answer (it
runs without --errors, so it never replaces an answer by an error of its own), and it validates
the request and the response against SPEC (default tests/contract/jamf-pro-contract.json, built
by tests/contract/make-spec.py).

Paths: the contract's paths carry the /api base path (make-spec.py folds servers [/api] into
them, since Prism routes by path alone), so prism.url + "/api/v1/..." reaches
UPSTREAM + "/api/v1/...": set jamf.url to prism.url where it would be sim.url.  UPSTREAM may have
a path prefix of its own (https://host/jamf); Prism appends the request path to it.

How violations are found: tests/contract/prism-record.js is preloaded into Prism's node
process.  When Prism ends a response it writes one JSON line per exchange (method, url, status,
the violations Prism put in its `sl-violations` header, and whether the answer was an error made
by Prism itself) to a file this module reads.  That is exact per request even when bridge makes
several at once; Prism's own log (prism.log()) names no request on a violation line.

What counts (prism.failures(), and so assert_no_violations):
  - every violation of severity error: a request that breaks the contract (bad query value,
    missing or wrong security, wrong content type, bad body) or a response that does
    (wrong type, missing required property, undocumented 2xx status, wrong media type);
  - the warning "Selected route not found" (code route-not-found here): a request for a
    method and path the contract does not have;
  - an answer made by Prism itself (code prism-error), e.g. the upstream could not be reached or
    its certificate was not trusted: the test did not see the upstream's answer.
Recorded but not counted (prism.violations() has them, assert_no_violations(warnings=True)
counts them): other warnings, i.e. a 4xx/5xx status the operation does not document (the
simulator's fault injection returns 429/500/503 everywhere), a deprecated parameter, a
security scheme Prism cannot check.

Prism re-serializes JSON bodies, joins repeated Set-Cookie headers, and answers 500 itself
when the upstream drops a connection: tests/contract/README.md lists what to know before
routing a test through it.

A Prism takes about 2 to 3 s to start (it parses the 300 kB contract); to pay that once per
test class, start one in setUpClass with shared_prism() and give each test's Sim the port it
forwards to (reserve_port()); ContractChecked then fails each test that caused a violation.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_DIR = REPO_ROOT / "tests" / "contract"
DEFAULT_SPEC = CONTRACT_DIR / "jamf-pro-contract.json"
PRISM_PACKAGE = CONTRACT_DIR / "node_modules" / "@stoplight" / "prism-cli"
PRISM_JS = PRISM_PACKAGE / "dist" / "index.js"
RECORD_HOOK = CONTRACT_DIR / "prism-record.js"
INSTALL_SCRIPT = CONTRACT_DIR / "install.sh"
PRISM_VERSION = "5.14.2"
HOST = "127.0.0.1"
READY_LINE = "Prism is listening on "
ROUTE_NOT_FOUND = "Selected route not found"


class PrismError(RuntimeError):
    """Prism failed to start, died, or is not installed."""


class PrismNotInstalled(PrismError):
    """Prism or node is missing: run tests/contract/install.sh."""


def check_installed():
    """Return the node executable; PrismNotInstalled if node or Prism 5.14.2 is missing."""
    hint = f"run {INSTALL_SCRIPT.relative_to(REPO_ROOT)} (make deps runs it)"
    node = shutil.which("node")
    if node is None:
        raise PrismNotInstalled(f"node is not on PATH; install Node.js, then {hint}")
    try:
        version = json.loads((PRISM_PACKAGE / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        raise PrismNotInstalled(f"Prism is not installed in {CONTRACT_DIR / 'node_modules'}; "
                                f"{hint}") from None
    if version != PRISM_VERSION or not PRISM_JS.is_file():
        raise PrismNotInstalled(f"Prism {version} is installed, the contract tests need "
                                f"{PRISM_VERSION}; {hint}")
    return node


def reserve_port(host=HOST):
    """A TCP port that is free on host now (for a server started later, e.g. Sim(port=...))."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _port_open(host, port):
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def is_failure(violation, warnings=False):
    """Whether a violation fails a test (see the module's doc); warnings=True: any warning too."""
    if violation["severity"] == "error":
        return True
    if violation["severity"] == "warning":
        return warnings or violation["code"] == "route-not-found"
    return False


class Prism:
    """A running `prism proxy`; use as a context manager or start()/stop().

    upstream_url: where requests go (e.g. sim.url); ca_file: a CA certificate file for the
    upstream's TLS certificate (NODE_EXTRA_CA_CERTS; it must exist when Prism starts);
    spec: the OpenAPI document; port: 0 for any free port; validate_request: False to check
    responses only.
    """

    def __init__(self, upstream_url, ca_file=None, spec=DEFAULT_SPEC, port=0,
                 validate_request=True, start_timeout=60.0):
        """Record the options; nothing runs until start()."""
        self.upstream = str(upstream_url).rstrip("/")
        self.ca_file = Path(ca_file).resolve() if ca_file else None
        self.spec = Path(spec).resolve()
        self.requested_port = port
        self.validate_request = validate_request
        self.start_timeout = start_timeout
        self.port = None
        self.proc = None
        self.startup_seconds = None
        self._tmp = None
        self._log = None
        self._record_file = None
        self._records = []       # exchanges read so far, oldest first
        self._read_offset = 0    # bytes of the record file already parsed
        self._cleared = 0        # self._records[:self._cleared] are hidden by clear()
        self._final_log = ""

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        """Start Prism and wait until it listens; PrismError if it does not."""
        node = check_installed()
        if not self.spec.is_file():
            raise PrismError(f"no contract at {self.spec}")
        if self.ca_file is not None and not self.ca_file.is_file():
            raise PrismError(f"CA file {self.ca_file} does not exist (node reads it at start)")
        self._tmp = Path(tempfile.mkdtemp(prefix="bridge-prism-"))
        self._record_file = self._tmp / "exchanges.jsonl"
        began = time.monotonic()
        for attempt in range(3):
            port = self.requested_port or reserve_port()
            if self._launch(node, port):
                break
            # An automatically chosen port was taken between reserve_port() and Prism's bind.
            if self.requested_port or "EADDRINUSE" not in self.log() or attempt == 2:
                self._fail_start(f"prism exited with status {self.proc.returncode} during startup")
            self._reap()
        self.port = port
        self.startup_seconds = time.monotonic() - began
        return self

    def _launch(self, node, port):
        """Start the process on port; True once it listens, False if it exited early."""
        env = dict(os.environ)
        env.update({
            "PRISM_RECORD_FILE": str(self._record_file),
            "FORCE_COLOR": "0",    # plain text log (chalk)
            "NO_COLOR": "1",
        })
        env.pop("NODE_OPTIONS", None)
        if self.ca_file is not None:
            env["NODE_EXTRA_CA_CERTS"] = str(self.ca_file)
        cmd = [node, "--require", str(RECORD_HOOK), str(PRISM_JS), "proxy",
               str(self.spec), self.upstream,
               "--host", HOST, "--port", str(port),
               "--errors=false",      # hand back the upstream's answer, never a 422/500 of Prism's
               "--cors=false",        # add no CORS headers: bridge sees the upstream's headers
               f"--validate-request={'true' if self.validate_request else 'false'}"]
        self._log = open(self._tmp / "prism.log", "w+b")
        self.proc = subprocess.Popen(cmd, cwd=str(CONTRACT_DIR), env=env,
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                return False
            if READY_LINE in self.log() and _port_open(HOST, port):
                return True
            if time.monotonic() > deadline:
                self._fail_start(f"prism not listening after {self.start_timeout} s")
            time.sleep(0.05)

    def _fail_start(self, message):
        """Stop everything and raise PrismError with message and Prism's output."""
        text = self.log()
        self.stop()
        raise PrismError(f"{message}\n--- prism output ---\n{text[-6000:]}")

    def _reap(self):
        """Kill the process group and close the log (for a retry)."""
        self._kill()
        self._log.close()
        self._log = None

    def _kill(self):
        """SIGTERM Prism's process group (its own session), SIGKILL it after 5 s.

        `prism proxy` without -m is a single node process; the group is signalled so that
        nothing it might start outlives it.
        """
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def stop(self):
        """Stop Prism (its whole process group); return its exit status.

        The exchanges recorded so far stay readable (violations(), requests(), log()).
        """
        if self.proc is None:
            return None
        self._kill()
        status = self.proc.returncode
        self._read_records()
        self._final_log = self.log()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = None
        return status

    def __enter__(self):
        """Start Prism."""
        return self.start()

    def __exit__(self, *exc_info):
        """Stop Prism."""
        self.stop()

    # -- addresses ---------------------------------------------------------

    @property
    def url(self):
        """Base URL to use instead of the upstream's, e.g. http://127.0.0.1:PORT."""
        return f"http://{HOST}:{self.port}"

    def log(self):
        """Prism's own output so far (plain text)."""
        if self._log is None:
            return self._final_log
        self._log.flush()
        return (self._tmp / "prism.log").read_text(errors="replace")

    # -- what was seen -----------------------------------------------------

    def _read_records(self):
        """Parse the complete lines the hook appended since the last call."""
        if self._record_file is None or self._tmp is None or not self._record_file.exists():
            return
        with open(self._record_file, "rb") as f:
            f.seek(self._read_offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if line.strip():
                self._records.append(json.loads(line))
        self._read_offset += end

    def exchanges(self):
        """Every request Prism answered since start or clear(), oldest first.

        Each is {method, path, query, status, violations: [...], prism_error: None or
        {type, title, detail}} as the hook recorded it (violations as Prism reports them).
        """
        self._read_records()
        out = []
        for rec in self._records[self._cleared:]:
            path, _, query = rec["url"].partition("?")
            out.append({"method": rec["method"], "path": path, "query": query,
                        "status": rec["status"], "violations": rec["violations"],
                        "prism_error": rec["prism_error"]})
        return out

    def requests(self, path=None):
        """(method, path) of every exchange since start or clear(); optionally a path prefix."""
        return [(e["method"], e["path"]) for e in self.exchanges()
                if path is None or e["path"].startswith(path)]

    def violations(self):
        """Every violation since start or clear(), counted or not, oldest first.

        Each is {method, path, status, severity ('error', 'warning', 'information' or
        'hint'), code, location ('response.body.version'), message}.
        """
        out = []
        for ex in self.exchanges():
            base = {"method": ex["method"], "path": ex["path"], "status": ex["status"]}
            for v in ex["violations"]:
                message = v.get("message", "")
                code = v.get("code")
                if message == ROUTE_NOT_FOUND:
                    code = "route-not-found"
                out.append({**base, "severity": str(v.get("severity", "error")).lower(),
                            "code": None if code is None else str(code),
                            "location": ".".join(str(p) for p in v.get("location", [])),
                            "message": message})
            if ex["prism_error"]:
                err = ex["prism_error"]
                out.append({**base, "severity": "error", "code": "prism-error",
                            "location": "", "message": f"Prism answered itself instead of the "
                            f"upstream: {err.get('title')}: {err.get('detail')}"})
        return out

    def failures(self, warnings=False):
        """The violations that fail a test (is_failure)."""
        return [v for v in self.violations() if is_failure(v, warnings)]

    def clear(self):
        """Forget what was seen so far (a shared Prism: call it as each test starts)."""
        self._read_records()
        self._cleared = len(self._records)


def format_violations(violations):
    """One line per violation, for a failure message."""
    return "\n".join(
        f"  {v['method']} {v['path']} -> {v['status']}: {v['severity']}"
        f"{' [' + v['code'] + ']' if v['code'] else ''} "
        f"{v['location'] + ': ' if v['location'] else ''}{v['message']}"
        for v in violations)


def assert_no_violations(testcase, prism, warnings=False, msg=None):
    """Fail testcase if prism saw a violation that counts (warnings=True: any warning too)."""
    bad = prism.failures(warnings=warnings)
    if bad:
        head = msg or "Jamf Pro traffic broke the contract"
        testcase.fail(f"{head} ({len(bad)} violation{'s' if len(bad) != 1 else ''}, "
                      f"spec {prism.spec.name}):\n{format_violations(bad)}")


def shared_prism(cls, upstream_url, ca_file=None, **options):
    """Start one Prism for a whole TestCase class (call from setUpClass); returns it.

    It is stopped by a class cleanup, and set as cls.prism for ContractChecked.  The upstream
    must stay at upstream_url for the class: start each test's Sim on a port from
    reserve_port(), e.g.

        @classmethod
        def setUpClass(cls):
            cls.sim_port = reserve_port()
            ensure_test_certs()
            shared_prism(cls, f"https://127.0.0.1:{cls.sim_port}", DEFAULT_CERT_DIR / "ca.pem")

        def setUp(self):
            super().setUp()
            self.sim = Sim(port=self.sim_port, ...).start()
            self.addCleanup(self.sim.stop)
    """
    prism = Prism(upstream_url, ca_file, **options).start()
    cls.addClassCleanup(prism.stop)
    cls.prism = prism
    return prism


class ContractChecked:
    """unittest.TestCase mixin (list it before TestCase): each test fails on a violation.

    setUp clears self.prism (a Prism shared by the class, see shared_prism), and a cleanup
    checks it when the test ends, so every test is judged on its own traffic.  A test may
    also set self.prism to a Prism of its own.  contract_warnings = True counts warnings too.
    """

    prism = None
    contract_warnings = False

    def setUp(self):
        """Clear the shared Prism and register the check."""
        super().setUp()
        if self.prism is not None:
            self.prism.clear()
        self.addCleanup(self._check_contract)

    def _check_contract(self):
        """The cleanup: assert_no_violations on self.prism, if there is one."""
        if self.prism is not None:
            assert_no_violations(self, self.prism, warnings=self.contract_warnings)


def ensure_test_certs(cert_dir=None):
    """Create the test CA and server certificates (tests/sim/mkcerts.sh); return cert_dir."""
    cert_dir = Path(cert_dir or REPO_ROOT / "build" / "test-certs")
    subprocess.run(["sh", str(REPO_ROOT / "tests" / "sim" / "mkcerts.sh"), str(cert_dir)],
                   check=True)
    return cert_dir
