"""Run the test server (tests/sim/sim.py) from Python unittest tests.

    from simlib import Sim

    with Sim(gdmf="tests/fixtures/gdmf/pmv-2026-03-17.json", shift_dates=True) as sim:
        sim.faults([{"path": "/v2/pmv", "status": 429, "retry_after": 1}])
        ...run bridge against sim.url, trusting sim.ca_file...
        self.assertEqual(len(sim.requests("/v2/pmv")), 2)

The server runs as a subprocess on a free port of 127.0.0.1.  Certificates
are shared between runs in build/test-certs (or the cert_dir given).
"""

import json
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SIM_SCRIPT = REPO_ROOT / "tests" / "sim" / "sim.py"
DEFAULT_CERT_DIR = REPO_ROOT / "build" / "test-certs"
HOST = "127.0.0.1"


class SimError(RuntimeError):
    """The server failed to start, died, or refused a control call."""


class Sim:
    """A running sim.py subprocess; use as a context manager or start()/stop().

    Keyword arguments map to sim.py options: gdmf (path of a JSON file),
    shift_dates, rogue, plain_http, latency_ms, log (request log path),
    port (0: any free port), cert_dir (default build/test-certs).
    """

    def __init__(self, gdmf=None, shift_dates=False, rogue=False, plain_http=False,
                 latency_ms=0, log=None, port=0, cert_dir=None, start_timeout=10.0):
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
