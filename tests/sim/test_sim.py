"""Self-test of the test server (sim.py, mkcerts.sh) and its client (simlib).

Run from the repository root:
    python3 -m unittest discover -s tests/sim -p 'test_*.py'
"""

import datetime
import gzip
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))
sys.path.insert(0, str(HERE))

import sim  # noqa: E402  (after the sys.path tweak)
from simlib import Sim, SimError  # noqa: E402

CURL = shutil.which("curl")
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "gdmf" / "pmv-2026-03-17.json"

# A small feed in GDMF's shape; the newest supplemental entry is 2026-03-17.
GDMF_TEXT = """{
  "PublicAssetSets": {
    "macOS": [
      {"ProductVersion": "26.3", "Build": "25D125", "PostingDate": "2026-02-11",
       "ExpirationDate": "2026-06-15", "SupportedDevices": ["J413AP"]}
    ]
  },
  "AssetSets": {
    "macOS": [
      {"ProductVersion": "15.7.4", "Build": "24G517", "PostingDate": "2026-03-20",
       "ExpirationDate": "2026-09-01", "SupportedDevices": ["J413AP"]}
    ]
  },
  "PublicBackgroundSecurityImprovements": {
    "macOS": [
      {"ProductVersion": "26.3.1", "Build": "25D771280a", "ProductVersionExtra": "(a)",
       "PostingDate": "2026-03-17", "ExpirationDate": "2026-06-15", "SupportedDevices": ["J413AP"]},
      {"ProductVersion": "26.3", "Build": "25D770000a", "ProductVersionExtra": "(a)",
       "PostingDate": "2026-03-02", "SupportedDevices": ["J413AP"]}
    ]
  }
}
"""

TMP_DIR = Path(tempfile.mkdtemp(prefix="bridge-sim-test-"))
CERT_DIR = TMP_DIR / "certs"  # one certificate set for the whole module
GDMF_FILE = TMP_DIR / "gdmf.json"


def setUpModule():
    """Create the shared certificates and write the synthetic feed."""
    subprocess.run(["sh", str(HERE / "mkcerts.sh"), str(CERT_DIR)], check=True)
    GDMF_FILE.write_text(GDMF_TEXT)


def tearDownModule():
    """Remove the temporary directory."""
    shutil.rmtree(TMP_DIR, ignore_errors=True)


def all_dates(node, path=""):
    """Map each PostingDate/ExpirationDate location in a JSON value to its date."""
    found = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("PostingDate", "ExpirationDate"):
                found[f"{path}/{key}"] = datetime.date.fromisoformat(value)
            else:
                found.update(all_dates(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.update(all_dates(item, f"{path}/{index}"))
    return found


def strip_dates(node):
    """A copy of a JSON value without its PostingDate/ExpirationDate fields."""
    if isinstance(node, dict):
        return {k: strip_dates(v) for k, v in node.items() if k not in ("PostingDate", "ExpirationDate")}
    if isinstance(node, list):
        return [strip_dates(item) for item in node]
    return node


class SimTestCase(unittest.TestCase):
    """Starts one Sim per test class (options in SIM_OPTIONS) and resets it per test."""

    SIM_OPTIONS = {}

    @classmethod
    def setUpClass(cls):
        """Start the server for this class."""
        cls.sim = Sim(cert_dir=CERT_DIR, **cls.SIM_OPTIONS).start()

    @classmethod
    def tearDownClass(cls):
        """Stop the server; it must exit cleanly."""
        if cls.sim.stop() != 0:
            raise AssertionError("sim did not exit with status 0")

    def setUp(self):
        """Forget faults and requests left by the previous test."""
        self.sim.reset()

    def connect(self, timeout=10, context=None):
        """A new HTTPS connection to the sim that trusts the test CA."""
        context = context or ssl.create_default_context(cafile=str(self.sim.ca_file))
        return http.client.HTTPSConnection("127.0.0.1", self.sim.port, timeout=timeout, context=context)

    def get(self, path, method="GET", body=None, headers=None, timeout=10):
        """One request on a fresh connection: (status, headers, body)."""
        conn = self.connect(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            reply = conn.getresponse()
            return reply.status, reply.headers, reply.read()
        finally:
            conn.close()

    def curl(self, path, *options):
        """Run curl against the sim; return (exit status, stdout bytes)."""
        result = subprocess.run(
            [CURL, "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", str(self.sim.ca_file),
             *options, self.sim.url + path],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
        return result.returncode, result.stdout


class BasicTests(SimTestCase):
    """Routing, recording and the control API over TLS."""

    SIM_OPTIONS = {"gdmf": GDMF_FILE}

    def test_health(self):
        """The health check answers and the URL is https on 127.0.0.1."""
        self.assertEqual(self.sim.health(), {"ok": True})
        self.assertEqual(self.sim.url, f"https://127.0.0.1:{self.sim.port}")

    def test_gdmf_served_verbatim(self):
        """GET /v2/pmv returns the file byte for byte as application/json."""
        status, headers, body = self.get("/v2/pmv")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(body, GDMF_TEXT.encode())

    def test_no_compression_without_gzip_option(self):
        """Without --gzip every answer goes out as it is, even to a client that asks for gzip."""
        self.sim.faults([{"path": "/v2/pmv", "oversize_bytes": 50_000, "count": 1}])
        _, headers, body = self.get("/v2/pmv", headers={"Accept-Encoding": "gzip"})
        self.assertIsNone(headers["Content-Encoding"])
        self.assertEqual(len(body), 50_000)

    def test_unknown_path(self):
        """Unknown paths get 404 with the GDMF-style JSON body, and are recorded."""
        status, _, body = self.get("/v1/nothing")
        self.assertEqual((status, body), (404, b'{"httpStatus":404,"errors":[]}'))
        self.assertEqual([r["path"] for r in self.sim.requests()], ["/v1/nothing"])

    def test_wrong_method(self):
        """A known path with another method gets 405 and an Allow header."""
        status, headers, _ = self.get("/v2/pmv", method="DELETE")
        self.assertEqual((status, headers["Allow"]), (405, "GET"))

    def test_head(self):
        """HEAD is answered by the GET route, without a body."""
        status, headers, body = self.get("/v2/pmv", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(int(headers["Content-Length"]), len(GDMF_TEXT.encode()))

    def test_requests_recorded(self):
        """Requests are recorded in order with lowercased headers; control calls are not."""
        before = time.time()
        self.get("/api/v1/x?a=1&b=%20", method="POST", body="caf\u00e9".encode(),
                 headers={"X-Custom-Header": "Value", "Authorization": "Bearer t"})
        self.get("/v2/pmv")
        self.sim.health()
        first, second = self.sim.requests()
        self.assertEqual((first["method"], first["path"], first["query"]), ("POST", "/api/v1/x", "a=1&b=%20"))
        self.assertEqual(first["headers"]["x-custom-header"], "Value")
        self.assertEqual(first["headers"]["authorization"], "Bearer t")
        self.assertEqual(first["body"], "caf\u00e9")
        self.assertTrue(before <= first["time"] <= second["time"] <= time.time())
        self.assertEqual(second["path"], "/v2/pmv")
        self.assertEqual(len(self.sim.requests("/api/")), 1)

    def test_invalid_utf8_body_recorded(self):
        """A body that is not UTF-8 is recorded with replacement characters."""
        self.get("/hook", method="POST", body=b"\xff\xfeok")
        self.assertEqual(self.sim.requests()[0]["body"], "\ufffd\ufffdok")

    def test_chunked_body_recorded(self):
        """A chunked request body is read whole and the connection stays usable."""
        code, _ = self.curl("/hook", "-X", "POST", "-H", "Transfer-Encoding: chunked",
                            "--data-binary", '{"a":1}')
        self.assertEqual(code, 0)
        self.assertEqual(self.sim.requests()[0]["body"], '{"a":1}')

    def test_keep_alive(self):
        """Several requests share one connection (HTTP/1.1 keep-alive)."""
        conn = self.connect()
        try:
            socks = []
            for _ in range(3):
                conn.request("GET", "/v2/pmv")
                reply = conn.getresponse()
                self.assertEqual(reply.status, 200)
                reply.read()
                socks.append(conn.sock)
            self.assertIs(socks[0], socks[2])
        finally:
            conn.close()

    def test_hostnames_and_tls_version(self):
        """The cert verifies as 'localhost'; TLS 1.2 alone is accepted."""
        context = ssl.create_default_context(cafile=str(self.sim.ca_file))
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", self.sim.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                self.assertEqual(tls.version(), "TLSv1.2")
                names = dict(tls.getpeercert())["subjectAltName"]
        self.assertEqual(set(names), {("DNS", "localhost"), ("IP Address", "127.0.0.1"),
                                      ("IP Address", "0:0:0:0:0:0:0:1")})

    def test_status_fault_with_retry_after_and_count(self):
        """A status fault applies `count` times, with Retry-After, then normal service resumes."""
        self.sim.faults([{"path": "/v2/pmv", "status": 429, "retry_after": 7, "count": 2}])
        for _ in range(2):
            status, headers, body = self.get("/v2/pmv")
            self.assertEqual((status, headers["Retry-After"]), (429, "7"))
            self.assertEqual(json.loads(body)["httpStatus"], 429)
        status, headers, _ = self.get("/v2/pmv")
        self.assertEqual(status, 200)
        self.assertIsNone(headers["Retry-After"])
        self.assertEqual(len(self.sim.requests()), 3)

    def test_fault_order_method_and_prefix(self):
        """Rules apply in order, filtered by method and path prefix; -1 means forever."""
        self.sim.faults([
            {"path": "/api/", "method": "post", "status": 500},
            {"path": "/v2/pmv", "status": 503},
            {"path": "/v2/", "status": 502, "count": -1},
        ])
        self.assertEqual(self.get("/api/x")[0], 404)  # GET: the POST rule does not match
        self.assertEqual(self.get("/api/x", method="POST", body=b"")[0], 500)
        self.assertEqual(self.get("/v2/pmv")[0], 503)
        for _ in range(3):
            self.assertEqual(self.get("/v2/pmv")[0], 502)
        self.sim.clear_faults()
        self.assertEqual(self.get("/v2/pmv")[0], 200)

    def test_body_fault(self):
        """A body fault returns exactly that body, with its status or 200."""
        self.sim.faults([{"path": "/v2/pmv", "body": "{not json"},
                         {"path": "/v2/pmv", "body": "ignored", "status": 204}])
        self.assertEqual(self.get("/v2/pmv")[::2], (200, b"{not json"))
        conn = self.connect()  # a 204 has no body, so the connection stays in sync
        try:
            conn.request("GET", "/v2/pmv")
            reply = conn.getresponse()
            self.assertEqual((reply.status, reply.read(), reply.headers["Content-Length"]), (204, b"", None))
            conn.request("GET", "/v2/pmv")
            self.assertEqual(conn.getresponse().read(), GDMF_TEXT.encode())
        finally:
            conn.close()

    def test_oversize_fault(self):
        """An oversize fault sends a valid JSON object of exactly N bytes."""
        self.sim.faults([{"path": "/v2/pmv", "oversize_bytes": 5_000_000}])
        status, headers, body = self.get("/v2/pmv")
        self.assertEqual((status, len(body), int(headers["Content-Length"])), (200, 5_000_000, 5_000_000))
        self.assertEqual(set(json.loads(body)), {"pad"})

    def test_delay_fault(self):
        """A delay fault makes a client with a shorter timeout give up."""
        self.sim.faults([{"path": "/v2/pmv", "delay": 2}])
        started = time.monotonic()
        with self.assertRaises(TimeoutError):
            self.get("/v2/pmv", timeout=0.5)
        self.assertLess(time.monotonic() - started, 1.5)
        self.assertEqual(self.sim.health(), {"ok": True})  # control calls are not delayed

    def test_truncate_fault(self):
        """A truncate fault sends half the announced body, then closes."""
        self.sim.faults([{"path": "/v2/pmv", "truncate": True}])
        conn = self.connect()
        try:
            conn.request("GET", "/v2/pmv")
            reply = conn.getresponse()
            with self.assertRaises(http.client.IncompleteRead) as caught:
                reply.read()
            self.assertEqual(len(caught.exception.partial), len(GDMF_TEXT) // 2)
        finally:
            conn.close()

    def test_close_fault(self):
        """A close fault drops the connection without any response."""
        self.sim.faults([{"path": "/v2/pmv", "close": True}])
        with self.assertRaises(http.client.RemoteDisconnected):
            self.get("/v2/pmv")
        self.assertEqual(len(self.sim.requests()), 1)

    def test_faults_seen_by_curl(self):
        """curl's exit codes: 18 for truncate, 52 for close, 28 for delay past --max-time."""
        self.sim.faults([{"path": "/v2/pmv", "truncate": True},
                         {"path": "/v2/pmv", "close": True},
                         {"path": "/v2/pmv", "delay": 2},
                         {"path": "/v2/pmv", "status": 429, "retry_after": 3}])
        self.assertEqual(self.curl("/v2/pmv", "-o", os.devnull)[0], 18)
        self.assertEqual(self.curl("/v2/pmv", "-o", os.devnull)[0], 52)
        self.assertEqual(self.curl("/v2/pmv", "-o", os.devnull, "--max-time", "0.5")[0], 28)
        code, out = self.curl("/v2/pmv", "-o", os.devnull, "-w", "%{http_code} %header{retry-after}")
        self.assertEqual((code, out), (0, b"429 3"))
        self.assertEqual(self.curl("/v2/pmv", "-o", os.devnull)[0], 0)

    def test_bad_fault_rules_rejected(self):
        """Malformed rules are refused with 400 and nothing is added."""
        for rules in ([{"path": "/v2/pmv", "stauts": 500}], [{"path": "v2"}], [{"count": "1"}], "x",
                      [{"path": "/v2/pmv", "handled": True}],
                      [{"path": "/v2/pmv", "handled": True, "status": 500, "close": True}]):
            with self.assertRaises(SimError):
                self.sim.faults(rules)
        self.assertEqual(self.get("/v2/pmv")[0], 200)

    def test_reset(self):
        """Reset clears both faults and recorded requests."""
        self.sim.faults([{"path": "/", "status": 500, "count": -1}])
        self.get("/v2/pmv")
        self.sim.reset()
        self.assertEqual(self.sim.requests(), [])
        self.assertEqual(self.get("/v2/pmv")[0], 200)

    def test_set_gdmf(self):
        """PUT /_sim/gdmf replaces the feed: objects as JSON, bytes verbatim."""
        try:
            self.sim.set_gdmf({"PublicAssetSets": {}})
            self.assertEqual(json.loads(self.get("/v2/pmv")[2]), {"PublicAssetSets": {}})
            self.sim.set_gdmf(b"not even json")
            self.assertEqual(self.get("/v2/pmv")[2], b"not even json")
        finally:
            self.sim.set_gdmf(GDMF_TEXT)


class GzipTests(SimTestCase):
    """--gzip: answers of GZIP_MIN_BYTES or more go out compressed to clients that admit gzip."""

    SIM_OPTIONS = {"gdmf": GDMF_FILE, "gzip": True}

    def test_large_answer_compressed_when_asked(self):
        """Content-Encoding, Vary and the compressed Content-Length; it decodes to the plain body."""
        self.sim.faults([{"path": "/v2/pmv", "oversize_bytes": 50_000, "count": -1}])
        _, plain_headers, plain = self.get("/v2/pmv")
        self.assertIsNone(plain_headers["Content-Encoding"])
        self.assertEqual(len(plain), 50_000)
        status, headers, packed = self.get("/v2/pmv", headers={"Accept-Encoding": "br, gzip;q=0.8"})
        self.assertEqual((status, headers["Content-Encoding"], headers["Vary"]),
                         (200, "gzip", "Accept-Encoding"))
        self.assertEqual(int(headers["Content-Length"]), len(packed))
        self.assertLess(len(packed), 5_000)
        self.assertEqual(gzip.decompress(packed), plain)

    def test_refused_or_small_answers_go_plain(self):
        """gzip;q=0 refuses it; answers under GZIP_MIN_BYTES are never compressed."""
        self.sim.faults([{"path": "/v2/pmv", "oversize_bytes": 50_000, "count": 1}])
        _, headers, body = self.get("/v2/pmv", headers={"Accept-Encoding": "gzip;q=0"})
        self.assertIsNone(headers["Content-Encoding"])
        self.assertEqual(len(body), 50_000)
        _, headers, body = self.get("/v2/pmv", headers={"Accept-Encoding": "gzip"})
        self.assertIsNone(headers["Content-Encoding"])
        self.assertEqual(body, GDMF_TEXT.encode())

    def test_accept_encoding_parsing(self):
        """RFC 9110: codings are case-insensitive, * admits gzip, q=0 refuses."""
        for value, admits in (("gzip", True), ("x-gzip", True), ("GZIP ; Q=0.5", True), ("*", True),
                              ("deflate, gzip;q=0", False), ("identity", False), ("", False),
                              (None, False), ("gzip;q=zero", False), ("*, gzip;q=0", False),
                              ("*;q=0, gzip", True)):
            self.assertEqual(sim.accepts_gzip(value), admits, value)


class LatencyTests(SimTestCase):
    """--latency delays every non-control response."""

    SIM_OPTIONS = {"latency_ms": 300}

    def test_latency(self):
        """Feed and unknown paths are delayed; control calls are not."""
        for path in ("/v2/pmv", "/nothing"):
            started = time.monotonic()
            self.get(path)
            self.assertGreaterEqual(time.monotonic() - started, 0.3)
        started = time.monotonic()
        self.sim.health()
        self.assertLess(time.monotonic() - started, 0.3)


class RogueTests(SimTestCase):
    """--rogue serves a cert that does not chain to the test CA."""

    SIM_OPTIONS = {"rogue": True}

    def test_rogue_cert_rejected(self):
        """Verification against the test CA fails; the control API still works."""
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.get("/v2/pmv")
        self.assertEqual(self.sim.health(), {"ok": True})

    def test_rogue_cert_rejected_by_curl(self):
        """curl exits 60 (peer certificate cannot be authenticated)."""
        self.assertEqual(self.curl("/_sim/health")[0], 60)


class PlainHttpTests(SimTestCase):
    """--plain-http serves without TLS."""

    SIM_OPTIONS = {"plain_http": True}

    def test_plain_http(self):
        """The URL is http:// and both the feed route and control API answer."""
        self.assertTrue(self.sim.url.startswith("http://127.0.0.1:"))
        conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=10)
        try:
            conn.request("GET", "/v2/pmv")
            self.assertEqual(conn.getresponse().status, 404)  # no feed configured
        finally:
            conn.close()
        self.assertEqual(len(self.sim.requests()), 1)


class ShiftDatesTests(SimTestCase):
    """--gdmf-shift-dates moves the feed so its newest supplemental entry is from yesterday."""

    SIM_OPTIONS = {"gdmf": GDMF_FILE, "shift_dates": True}

    def assert_shifted(self, original, served):
        """Check served is original with all dates moved so the newest supplemental is yesterday."""
        before, after = all_dates(json.loads(original)), all_dates(json.loads(served))
        self.assertEqual(set(before), set(after))
        deltas = {after[key] - before[key] for key in before}
        self.assertEqual(len(deltas), 1, "all dates move by the same number of days")
        supplemental = [d for key, d in after.items()
                        if key.split("/")[1] in sim.SUPPLEMENTAL_KEYS and key.endswith("/PostingDate")]
        self.assertEqual(max(supplemental), datetime.date.today() - datetime.timedelta(days=1))
        self.assertEqual(strip_dates(json.loads(original)), strip_dates(json.loads(served)))

    def test_served_feed_shifted(self):
        """The served feed is shifted and otherwise unchanged, even in its layout."""
        served = self.get("/v2/pmv")[2]
        self.assert_shifted(GDMF_TEXT, served)
        self.assertEqual(len(served), len(GDMF_TEXT.encode()))
        self.assertEqual(served.count(b"\n"), GDMF_TEXT.count("\n"))

    def test_put_feed_shifted(self):
        """A feed set with PUT /_sim/gdmf is shifted as well (RSR key here)."""
        doc = json.loads(GDMF_TEXT)
        doc["PublicRapidSecurityResponses"] = doc.pop("PublicBackgroundSecurityImprovements")
        try:
            self.sim.set_gdmf(doc)
            self.assert_shifted(json.dumps(doc), self.get("/v2/pmv")[2])
        finally:
            self.sim.set_gdmf(GDMF_TEXT)

    def test_real_feed_shifted(self):
        """The real captured feed shifts the same way."""
        raw = FIXTURE.read_bytes()
        try:
            self.sim.set_gdmf(raw)
            self.assert_shifted(raw, self.get("/v2/pmv")[2])
        finally:
            self.sim.set_gdmf(GDMF_TEXT)


class ShiftFunctionTests(unittest.TestCase):
    """sim.shift_gdmf_dates on its own, with a fixed 'today'."""

    TODAY = datetime.date(2030, 1, 10)

    def test_shift_anchor_on_supplemental(self):
        """The newest supplemental PostingDate lands on yesterday, not the newest overall."""
        shifted = json.loads(sim.shift_gdmf_dates(GDMF_TEXT.encode(), self.TODAY))
        bsi = shifted["PublicBackgroundSecurityImprovements"]["macOS"]
        self.assertEqual(bsi[0]["PostingDate"], "2030-01-09")
        self.assertEqual(bsi[1]["PostingDate"], "2029-12-25")  # 15 days before, as in the feed
        self.assertEqual(shifted["AssetSets"]["macOS"][0]["PostingDate"], "2030-01-12")
        self.assertEqual(bsi[0]["ExpirationDate"], "2030-04-09")  # 90 days later, as in the feed

    def test_shift_without_supplemental(self):
        """A feed without supplemental entries is anchored on its newest PostingDate."""
        doc = b'{"AssetSets": {"iOS": [{"PostingDate": "2020-02-28", "ExpirationDate": "2020-03-01"}]}}'
        want = b'{"AssetSets": {"iOS": [{"PostingDate": "2030-01-09", "ExpirationDate": "2030-01-11"}]}}'
        self.assertEqual(sim.shift_gdmf_dates(doc, self.TODAY), want)

    def test_shift_leaves_non_json_alone(self):
        """Bytes that are not a JSON object are served unchanged."""
        for raw in (b"garbage", b"[1, 2]", b'{"PostingDate": "not-a-date"}'):
            self.assertEqual(sim.shift_gdmf_dates(raw, self.TODAY), raw)


class LifecycleTests(unittest.TestCase):
    """Starting, failing and stopping the server process."""

    def test_sigterm_exits_cleanly(self):
        """stop() sends SIGTERM and the server exits with status 0, promptly."""
        server = Sim(cert_dir=CERT_DIR).start()
        started = time.monotonic()
        self.assertEqual(server.stop(), 0)
        self.assertLess(time.monotonic() - started, 3)

    def test_startup_failure_reports_stderr(self):
        """A server that cannot start raises SimError carrying its stderr."""
        with self.assertRaises(SimError) as caught:
            Sim(cert_dir=CERT_DIR, gdmf="/nonexistent/feed.json").start()
        self.assertIn("cannot read --gdmf", str(caught.exception))

    def test_port_in_use_reported(self):
        """Asking for a busy port fails with the bind error in the message."""
        with Sim(cert_dir=CERT_DIR) as first:
            with self.assertRaises(SimError) as caught:
                Sim(cert_dir=CERT_DIR, port=first.port).start()
        self.assertIn("Address already in use", str(caught.exception))


class MkcertsTests(unittest.TestCase):
    """mkcerts.sh output (using the module's certificate directory)."""

    def openssl_verify(self, ca, cert):
        """True if cert verifies against ca with `openssl verify`."""
        result = subprocess.run(["openssl", "verify", "-CAfile", str(CERT_DIR / ca), str(CERT_DIR / cert)],
                                capture_output=True, check=False)
        return result.returncode == 0

    def test_chains(self):
        """The server cert chains to the test CA; the rogue one only to the rogue CA."""
        self.assertTrue(self.openssl_verify("ca.pem", "server.pem"))
        self.assertTrue(self.openssl_verify("rogue-ca.pem", "rogue-server.pem"))
        self.assertFalse(self.openssl_verify("ca.pem", "rogue-server.pem"))

    def test_key_modes(self):
        """Private keys are readable by the owner only."""
        for key in ("ca.key", "server.key", "rogue-server.key"):
            self.assertEqual((CERT_DIR / key).stat().st_mode & 0o777, 0o600, key)

    def test_idempotent(self):
        """A second run leaves existing, still-valid certificates untouched."""
        before = {p.name: p.read_bytes() for p in CERT_DIR.iterdir()}
        subprocess.run(["sh", str(HERE / "mkcerts.sh"), str(CERT_DIR)], check=True)
        self.assertEqual(before, {p.name: p.read_bytes() for p in CERT_DIR.iterdir()})


if __name__ == "__main__":
    unittest.main()
