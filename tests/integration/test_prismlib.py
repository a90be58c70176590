"""Self-test of the contract harness (prismlib.py): Prism in front of a tiny HTTPS upstream.

The upstream here answers what each test tells it to, so the test knows which answers keep the
Jamf Pro contract and which break it.  It proves that good traffic passes, that a bad response,
a bad request, an unknown route and an unreachable upstream are each reported against the right
request, that the client still gets the upstream's real answer, and that assert_no_violations and
ContractChecked fail a test.  Prism missing is a failure (run tests/contract/install.sh), never
a skip.
"""

import http.server
import json
import os
import socket
import ssl
import threading
import unittest
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import prismlib
from prismlib import (ContractChecked, Prism, PrismError, PrismNotInstalled, assert_no_violations,
                      check_installed, ensure_test_certs, reserve_port, shared_prism)

BEARER = {"Authorization": "Bearer test-token"}
VERSION_PATH = "/api/v1/jamf-pro-version"
TOKEN_PATH = "/api/oauth/token"
TOKEN_FORM = b"grant_type=client_credentials&client_id=id&client_secret=secret"
GOOD_TOKEN = {"access_token": "t", "token_type": "Bearer", "scope": "api-role:1",
              "expires_in": 60}


class Upstream:
    """A threaded HTTPS server on 127.0.0.1 with the test certificates.

    answers maps (METHOD, path) to (status, JSON-able body or bytes, extra headers); anything
    else gets 404.  seen lists (method, path with query) of every request, in order.
    """

    def __init__(self, cert_dir, port=0):
        """Listen at once (port 0: any free port)."""
        self.answers = {}
        self.seen = []
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                upstream.seen.append((self.command, self.path))
                key = (self.command, self.path.partition("?")[0])
                status, body, headers = upstream.answers.get(key, (404, {"error": "nope"}, {}))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                if self.close_connection:
                    # The client said Connection: close (urllib does; Prism passes it on).
                    # Say so, or Prism's keep-alive agent reuses the socket and gets a hang-up.
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # as sim.py: Prism opens several connections at once

        self.server = Server(("127.0.0.1", port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_dir / "server.pem", cert_dir / "server.key")
        # The handshake happens in the connection's own thread, not in the accepting one.
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(base, method, path, body=None, headers=None, content_type=None):
    """One request with urllib; returns (status, headers, body bytes), HTTP errors included."""
    all_headers = dict(headers or {})
    if content_type:
        all_headers["Content-Type"] = content_type
    request = urllib.request.Request(base + path, data=body, method=method, headers=all_headers)
    try:
        with OPENER.open(request, timeout=30) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


class PrismHarness(unittest.TestCase):
    """One Prism for the class, in front of one Upstream; each test clears what Prism saw."""

    @classmethod
    def setUpClass(cls):
        check_installed()  # PrismNotInstalled (an error, not a skip) says to run install.sh
        cls.cert_dir = ensure_test_certs()
        cls.upstream = Upstream(cls.cert_dir)
        cls.addClassCleanup(cls.upstream.stop)
        shared_prism(cls, cls.upstream.url, cls.cert_dir / "ca.pem")

    def setUp(self):
        self.upstream.answers.clear()
        self.upstream.answers[("GET", VERSION_PATH)] = (200, {"version": "11.30.1"}, {})
        self.upstream.answers[("POST", TOKEN_PATH)] = (200, GOOD_TOKEN, {})
        self.prism.clear()

    def fields(self, violations):
        """(method, path, severity, code, location) of each violation."""
        return [(v["method"], v["path"], v["severity"], v["code"], v["location"])
                for v in violations]

    def test_started_and_listening(self):
        self.assertTrue(self.prism.url.startswith("http://127.0.0.1:"))
        self.assertLess(self.prism.startup_seconds, 30)
        self.assertIn("Prism is listening on " + self.prism.url, self.prism.log())

    def test_good_traffic_has_no_violations(self):
        status, _, body = call(self.prism.url, "GET", VERSION_PATH, headers=BEARER)
        self.assertEqual((status, json.loads(body)), (200, {"version": "11.30.1"}))
        status, _, body = call(self.prism.url, "POST", TOKEN_PATH, TOKEN_FORM,
                               content_type="application/x-www-form-urlencoded")
        self.assertEqual((status, json.loads(body)), (200, GOOD_TOKEN))
        self.assertEqual(self.prism.violations(), [])
        self.assertEqual(self.prism.requests(), [("GET", VERSION_PATH), ("POST", TOKEN_PATH)])
        # The upstream saw the same paths: prism.url stands in for the upstream's URL.
        self.assertEqual(self.upstream.seen[-2:], [("GET", VERSION_PATH), ("POST", TOKEN_PATH)])
        assert_no_violations(self, self.prism)

    def test_mobile_device_paths_from_the_full_schema(self):
        self.upstream.answers[("GET", "/api/v2/mobile-devices/detail")] = (
            200, {"totalCount": 0, "results": []}, {})
        self.upstream.answers[("GET", "/api/v1/mobile-device-groups")] = (
            200, [{"id": 1, "name": "All iPads", "isSmartGroup": True}], {})
        call(self.prism.url, "GET", "/api/v2/mobile-devices/detail?section=GENERAL&page=0",
             headers=BEARER)
        call(self.prism.url, "GET", "/api/v1/mobile-device-groups", headers=BEARER)
        self.assertEqual(self.prism.failures(), [])
        self.assertEqual(len(self.prism.exchanges()), 2)

    def test_wrong_type_in_response_is_an_error_naming_the_field(self):
        self.upstream.answers[("GET", VERSION_PATH)] = (200, {"version": 1130}, {"X-Up": "yes"})
        status, headers, body = call(self.prism.url, "GET", VERSION_PATH, headers=BEARER)
        # The client gets the upstream's real answer, not an error made by Prism.
        self.assertEqual((status, json.loads(body), headers["X-Up"]),
                         (200, {"version": 1130}, "yes"))
        self.assertEqual(self.fields(self.prism.violations()),
                         [("GET", VERSION_PATH, "error", "type", "response.body.version")])
        self.assertIn("version must be string", self.prism.violations()[0]["message"])
        with self.assertRaises(self.failureException) as cm:
            assert_no_violations(self, self.prism)
        self.assertIn("response.body.version", str(cm.exception))
        self.assertIn(f"GET {VERSION_PATH} -> 200", str(cm.exception))

    def test_missing_required_field_in_response(self):
        token = dict(GOOD_TOKEN)
        del token["scope"]
        self.upstream.answers[("POST", TOKEN_PATH)] = (200, token, {})
        call(self.prism.url, "POST", TOKEN_PATH, TOKEN_FORM,
             content_type="application/x-www-form-urlencoded")
        bad = self.prism.failures()
        self.assertEqual(self.fields(bad),
                         [("POST", TOKEN_PATH, "error", "required", "response.body")])
        self.assertIn("'scope'", bad[0]["message"])

    def test_bad_query_enum_in_request(self):
        self.upstream.answers[("GET", "/api/v4/computers-inventory")] = (
            200, {"totalCount": 0, "results": []}, {})
        status, _, _ = call(self.prism.url, "GET", "/api/v4/computers-inventory?section=BOGUS",
                            headers=BEARER)
        self.assertEqual(status, 200)  # forwarded all the same
        self.assertIn(("GET", "/api/v4/computers-inventory?section=BOGUS"), self.upstream.seen)
        bad = self.prism.failures()
        self.assertEqual(self.fields(bad), [("GET", "/api/v4/computers-inventory", "error", "enum",
                                             "request.query.section.0")])
        self.assertIn("GENERAL", bad[0]["message"])

    def test_missing_credentials_in_request(self):
        call(self.prism.url, "GET", VERSION_PATH)
        self.assertEqual(self.fields(self.prism.failures()),
                         [("GET", VERSION_PATH, "error", "401", "request")])

    def test_token_request_without_required_form_field(self):
        call(self.prism.url, "POST", TOKEN_PATH, b"grant_type=client_credentials&client_id=id",
             content_type="application/x-www-form-urlencoded")
        bad = self.prism.failures()
        self.assertEqual([(v["severity"], v["location"]) for v in bad], [("error", "request.body")])
        self.assertIn("client_secret", bad[0]["message"])

    def test_route_not_in_contract_counts(self):
        self.upstream.answers[("GET", "/api/v1/not-in-jamf")] = (200, {}, {})
        status, _, _ = call(self.prism.url, "GET", "/api/v1/not-in-jamf", headers=BEARER)
        self.assertEqual(status, 200)
        self.assertEqual(self.fields(self.prism.failures()),
                         [("GET", "/api/v1/not-in-jamf", "warning", "route-not-found", "request")])
        # A method the path does not have is the same.
        call(self.prism.url, "DELETE", VERSION_PATH, headers=BEARER)
        self.assertEqual(len(self.prism.failures()), 2)

    def test_undocumented_error_status_is_a_warning_that_does_not_count(self):
        self.upstream.answers[("GET", VERSION_PATH)] = (
            503, b"busy", {"Retry-After": "1", "Content-Type": "text/plain"})
        status, headers, body = call(self.prism.url, "GET", VERSION_PATH, headers=BEARER)
        self.assertEqual((status, body, headers["Retry-After"]), (503, b"busy", "1"))
        self.assertEqual([v["severity"] for v in self.prism.violations()], ["warning"])
        self.assertEqual(self.prism.failures(), [])
        assert_no_violations(self, self.prism)
        self.assertEqual(len(self.prism.failures(warnings=True)), 1)
        with self.assertRaises(self.failureException):
            assert_no_violations(self, self.prism, warnings=True)

    def test_unparsable_json_from_upstream_is_a_prism_error(self):
        # Prism parses a JSON body to check it; when that fails it answers 500 itself.
        self.upstream.answers[("GET", VERSION_PATH)] = (200, b"{not json", {})
        status, _, _ = call(self.prism.url, "GET", VERSION_PATH, headers=BEARER)
        self.assertEqual(status, 500)
        bad = self.prism.failures()
        self.assertEqual([(v["code"], v["status"]) for v in bad], [("prism-error", 500)])
        self.assertIn("invalid json", bad[0]["message"])

    def test_over_long_violation_list_still_fails(self):
        # Prism cuts its sl-violations header at 8 KiB; what is left is kept, and a marker added.
        groups = [{"id": "x", "name": 5, "isSmartGroup": "no"}] * 100
        self.upstream.answers[("GET", "/api/v1/mobile-device-groups")] = (200, groups, {})
        call(self.prism.url, "GET", "/api/v1/mobile-device-groups", headers=BEARER)
        bad = self.prism.failures()
        self.assertGreater(len(bad), 20)
        self.assertEqual(bad[0]["location"], "response.body.0.id")
        self.assertEqual(bad[-1]["code"], "truncated")

    def test_undocumented_success_status_is_an_error(self):
        self.upstream.answers[("GET", VERSION_PATH)] = (202, {"version": "11.30.1"}, {})
        call(self.prism.url, "GET", VERSION_PATH, headers=BEARER)
        self.assertEqual([v["severity"] for v in self.prism.failures()], ["error"])

    def test_concurrent_requests_are_attributed_exactly(self):
        self.upstream.answers[("GET", VERSION_PATH)] = (200, {"version": "11.30.1"}, {})
        self.upstream.answers[("GET", "/api/v1/auth")] = (200, {"account": 7}, {})
        jobs = [("GET", VERSION_PATH) if i % 2 else ("GET", "/api/v1/auth") for i in range(16)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda job: call(self.prism.url, *job, headers=BEARER), jobs))
        self.assertEqual(len(self.prism.exchanges()), 16)
        for ex in self.prism.exchanges():
            if ex["path"] == VERSION_PATH:
                self.assertEqual(ex["violations"], [])
            else:
                self.assertEqual([v["location"] for v in ex["violations"]],
                                 [["response", "body", "account"]])

    def test_clear_forgets_earlier_traffic(self):
        call(self.prism.url, "GET", VERSION_PATH)
        self.assertEqual(len(self.prism.failures()), 1)
        self.prism.clear()
        self.assertEqual((self.prism.failures(), self.prism.exchanges()), ([], []))
        call(self.prism.url, "GET", VERSION_PATH, headers=BEARER)
        self.assertEqual((len(self.prism.exchanges()), self.prism.failures()), (1, []))

    def test_contract_checked_mixin_fails_the_test(self):
        prism = self.prism

        class Inner(ContractChecked, unittest.TestCase):
            def test_good(self):
                call(prism.url, "GET", VERSION_PATH, headers=BEARER)

            def test_bad(self):
                call(prism.url, "GET", VERSION_PATH)  # no credentials

        Inner.prism = prism
        result = unittest.TestResult()
        unittest.defaultTestLoader.loadTestsFromTestCase(Inner).run(result)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual([t.id().rsplit(".", 1)[1] for t, _ in result.failures], ["test_bad"])
        self.assertIn("Invalid security scheme used", result.failures[0][1])
        self.assertEqual(result.errors, [])


class PrismLifecycle(unittest.TestCase):
    """Prisms of their own: an untrusted upstream, a restarted upstream, stop."""

    @classmethod
    def setUpClass(cls):
        check_installed()
        cls.cert_dir = ensure_test_certs()

    def test_untrusted_upstream_is_a_prism_error(self):
        upstream = Upstream(self.cert_dir)
        self.addCleanup(upstream.stop)
        upstream.answers[("GET", VERSION_PATH)] = (200, {"version": "11.30.1"}, {})
        with Prism(upstream.url, ca_file=None) as prism:  # the test CA is not trusted
            status, _, _ = call(prism.url, "GET", VERSION_PATH, headers=BEARER)
        self.assertEqual(status, 500)
        self.assertEqual(upstream.seen, [])
        bad = prism.failures()  # still readable after stop()
        self.assertEqual([(v["code"], v["severity"]) for v in bad], [("prism-error", "error")])
        self.assertIn("certificate", bad[0]["message"])

    def test_shared_prism_survives_an_upstream_restart_on_the_same_port(self):
        port = reserve_port()
        prism = Prism(f"https://127.0.0.1:{port}", self.cert_dir / "ca.pem").start()
        self.addCleanup(prism.stop)
        for round_ in range(3):
            upstream = Upstream(self.cert_dir, port=port)
            upstream.answers[("GET", VERSION_PATH)] = (200, {"version": f"11.30.{round_}"}, {})
            try:
                for _ in range(2):
                    status, _, body = call(prism.url, "GET", VERSION_PATH, headers=BEARER)
                    self.assertEqual((status, json.loads(body)["version"]),
                                     (200, f"11.30.{round_}"))
            finally:
                upstream.stop()
        self.assertEqual(prism.failures(), [])
        self.assertEqual(len(prism.exchanges()), 6)

    def test_stop_ends_the_process_and_frees_the_port(self):
        upstream = Upstream(self.cert_dir)
        self.addCleanup(upstream.stop)
        prism = Prism(upstream.url, self.cert_dir / "ca.pem").start()
        pid, port = prism.proc.pid, prism.port
        children = self._children(pid)
        self.assertEqual(children, [], "prism proxy without -m forks nothing")
        prism.stop()
        self.assertIsNone(prism.stop())  # a second stop does nothing
        self.assertFalse(os.path.exists(f"/proc/{pid}"))
        with socket.socket() as s:
            self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0)
        self.assertIn("Prism is listening", prism.log())

    def test_not_installed_is_an_error_that_says_what_to_run(self):
        saved = prismlib.PRISM_PACKAGE
        prismlib.PRISM_PACKAGE = saved.parent / "no-such-package"
        try:
            with self.assertRaises(PrismNotInstalled) as cm:
                Prism("https://127.0.0.1:9").start()
        finally:
            prismlib.PRISM_PACKAGE = saved
        self.assertIn("tests/contract/install.sh", str(cm.exception))
        self.assertFalse(issubclass(PrismNotInstalled, unittest.SkipTest))

    def test_missing_ca_file_is_refused_at_start(self):
        with self.assertRaises(PrismError) as cm:
            Prism("https://127.0.0.1:9", ca_file=self.cert_dir / "no-such-ca.pem").start()
        self.assertIn("no-such-ca.pem", str(cm.exception))

    @staticmethod
    def _children(pid):
        """PIDs whose parent is pid (from /proc)."""
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == pid:
                    out.append(int(entry))
        return out


if __name__ == "__main__":
    unittest.main()
