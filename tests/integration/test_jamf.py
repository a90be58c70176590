"""bridge's Jamf Pro and Jamf Platform clients against the simulator, over HTTPS.

The steps run in one jamf-probe process (tests/integration/jamf_probe.c: the same library
code as the bridge binary), so a test sees what a long run sees: tokens renewed, a 401
answered with one fresh token, retries, concurrency, exact request bodies.
"""

import json
import os
import resource
import subprocess
import tempfile
import threading
import time
import ssl
import unittest
import urllib.parse
import urllib.request
from pathlib import Path

from bridgelib import FIXTURES
from prismlib import ContractChecked, ensure_test_certs, reserve_port, shared_prism
from simlib import (DEFAULT_CERT_DIR, ENVIRONMENT_ID, JAMF_CLIENT_ID, JAMF_CLIENT_SECRET, JAMF_PASSWORD,
                    JAMF_USER, PLATFORM_CLIENT_ID, PLATFORM_CLIENT_SECRET, Sim)

FEED = FIXTURES / "gdmf" / "pmv-2026-03-17.json"
SECRETS = {"JAMF_SECRET": JAMF_CLIENT_SECRET, "JAMF_PW": JAMF_PASSWORD,
           "PLATFORM_SECRET": PLATFORM_CLIENT_SECRET}
LAB = 'Lab "A", 2nd floor'


def probe(config, *steps, env=None, timeout=120):
    """Run jamf-probe with steps (lists); returns (returncode, [json lines], stderr)."""
    argv = [os.environ["JAMF_PROBE"], str(config)]
    for i, s in enumerate(steps):
        if i:
            argv.append("--")
        argv += [str(a) for a in s]
    full_env = {**os.environ, **SECRETS, **(env or {})}
    r = subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout)
    return r.returncode, [json.loads(l) for l in r.stdout.splitlines() if l.strip()], r.stderr


class JamfTestCase(ContractChecked, unittest.TestCase):
    """A simulator per test and a policy file pointing both APIs at it.

    Jamf Pro traffic goes through Prism (one per class), which checks every request and
    answer against Jamf's published schema; a violation fails the test (ContractChecked).
    """

    sim_options = {}
    contract = True   # False: straight to the simulator (tests that kill bridge mid-request)

    @classmethod
    def setUpClass(cls):
        cls.sim_port = reserve_port()
        ensure_test_certs()
        if cls.contract:
            shared_prism(cls, f"https://127.0.0.1:{cls.sim_port}", DEFAULT_CERT_DIR / "ca.pem")

    def jamf_yaml(self):
        """The jamf: section's url (through Prism, or straight to the sim with its CA)."""
        if self.prism is not None:
            return f"url: \"{self.prism.url}\""
        return f"url: \"{self.sim.url}\", ca_file: \"{self.sim.ca_file}\""

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.sim = Sim(gdmf=FEED, shift_dates=True, port=self.sim_port, **self.sim_options)
        self.sim.start()

    def tearDown(self):
        self.sim.stop()
        self.tmp.cleanup()

    def config(self, jamf_extra="", http="{retries: 2, retry_max_time: 60s}"):
        path = self.dir / "bridge.yaml"
        ca = self.sim.ca_file
        path.write_text(
            f"state_dir: state\n"
            f"http: {http}\n"
            f"jamf: {{{self.jamf_yaml()}, {jamf_extra or ''}"
            f"{'' if 'auth: basic' in jamf_extra else f'client_id: {JAMF_CLIENT_ID}, client_secret: env:JAMF_SECRET'}}}\n"
            f"platform: {{url: \"{self.sim.url}\", ca_file: \"{ca}\", environment_id: {ENVIRONMENT_ID}, "
            f"client_id: {PLATFORM_CLIENT_ID}, client_secret: env:PLATFORM_SECRET}}\n"
            f"policies: [{{name: p, platform: macOS, mode: plan, scope: {{groups: [All]}}}}]\n")
        return path

    def api_requests(self):
        return [r for r in self.sim.requests() if r["path"].startswith("/api/")]

    def tokens_seen(self):
        """Every bearer token the sim saw bridge send."""
        out = set()
        for r in self.sim.requests():
            auth = r["headers"].get("authorization", "")
            if auth.startswith("Bearer "):
                out.add(auth[len("Bearer "):])
        return out


class Inventory(JamfTestCase):
    sim_options = {"fleet_computers": 4500}

    def test_4500_devices_in_exactly_3_requests(self):
        rc, out, err = probe(self.config(), ["inventory", "computer"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["devices"], 4500)
        self.assertEqual(out[0]["requests"], 3)
        inv = [r for r in self.sim.requests("/api/v4/computers-inventory")]
        self.assertEqual(len(inv), 3)
        # ...and each went through the contract check
        self.assertEqual(len(self.prism.requests("/api/v4/computers-inventory")), 3)
        pages = sorted(r["query"] for r in inv)
        for page, query in zip(("page=0", "page=1", "page=2"), pages):
            self.assertIn(page, query)
            self.assertIn("page-size=2000", query)
            for section in ("GENERAL", "OPERATING_SYSTEM", "GROUP_MEMBERSHIPS", "HARDWARE"):
                self.assertIn(f"section={section}", query)
        # the record holds what the decision step needs, as the simulator has it
        first = out[0]["first"]
        device = self.sim.device("computer", first["id"])
        self.assertEqual(first["build"], device["operatingSystem"]["build"])
        self.assertEqual(first["model"], device["operatingSystem"]["softwareUpdateDeviceId"])
        self.assertEqual(first["serial"], device["hardware"]["serialNumber"])
        self.assertEqual(first["management_id"], device["general"]["managementId"])

    def test_mobile_inventory(self):
        rc, out, err = probe(self.config(), ["inventory", "mobile"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["devices"], 20)  # the simulator's default mobile fleet
        self.assertEqual(out[0]["requests"], 1)
        first = out[0]["first"]
        device = self.sim.device("mobile", first["id"])
        self.assertEqual(first["build"], device["general"]["osBuild"])
        self.assertRegex(first["model"], r"^(iPhone|iPad)\d+,\d+$")
        self.assertEqual(first["serial"], device["hardware"]["serialNumber"])
        self.assertEqual(first["management_id"], device["general"]["managementId"])
        self.assertEqual(len(self.prism.requests("/api/v2/mobile-devices/detail")), 1)

    def test_one_cookie_jar_for_the_run(self):
        rc, out, err = probe(self.config(), ["inventory", "computer"], ["toggle"])
        self.assertEqual(rc, 0, err)
        later = self.api_requests()[1:]
        self.assertTrue(later)
        self.assertTrue(all(r.get("sticky_cookie") for r in later),
                        [(r["path"], r.get("sticky_cookie")) for r in later])


class CompressedPages(JamfTestCase):
    """Pages from a server that gzips its answers (a 3 MB page travels as some 270 KB): read
    as they are sent. Straight to the simulator: Prism's proxy would decode them on the way."""

    sim_options = {"fleet_computers": 4500, "gzip": True}
    contract = False

    def test_gzipped_pages_read_whole(self):
        rc, out, err = probe(self.config(), ["inventory", "computer", "4321"])
        self.assertEqual(rc, 0, err)
        self.assertEqual((out[0]["devices"], out[0]["requests"]), (4500, 3))
        inv = self.sim.requests("/api/v4/computers-inventory")
        self.assertTrue(all("gzip" in r["headers"].get("accept-encoding", "") for r in inv), inv)
        # asked as bridge asked, the simulator sends such a page compressed
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(self.sim.ca_file))))
        ask = urllib.request.Request(f"{self.sim.url}{inv[1]['path']}?{inv[1]['query']}", headers={
            "Authorization": f"Bearer {self.sim.pro_token()}",
            "Accept-Encoding": inv[1]["headers"]["accept-encoding"]})
        with opener.open(ask, timeout=30) as reply:
            self.assertEqual(reply.headers["Content-Encoding"], "gzip")
            self.assertLess(int(reply.headers["Content-Length"]), 1_000_000)  # of some 3 MB
        device = self.sim.device("computer", "4321")
        self.assertEqual(out[0]["device"]["serial"], device["hardware"]["serialNumber"])
        self.assertEqual(out[0]["device"]["build"], device["operatingSystem"]["build"])


class Concurrency(JamfTestCase):
    """Pages after the first are read at once, at most jamf.max_connections at a time."""

    sim_options = {"fleet_computers": 10000, "latency_ms": 1000}

    def timed_inventory(self, connections):
        cfg = self.config(jamf_extra=f"max_connections: {connections}, ")
        started = time.monotonic()
        rc, out, err = probe(cfg, ["inventory", "computer"])
        self.assertEqual(rc, 0, err)
        self.assertEqual((out[0]["devices"], out[0]["requests"]), (10000, 5))
        return time.monotonic() - started

    def test_pages_are_read_concurrently_up_to_max_connections(self):
        # token, first page, then 4 pages: one by one those 4 take about 4 s (1 s latency
        # each), at once about 1 s; the other costs (JSON, the contract check) are the same
        together = self.timed_inventory(5)
        one_by_one = self.timed_inventory(1)
        self.assertGreaterEqual(one_by_one - together, 2.0, (together, one_by_one))
        self.assertGreaterEqual(one_by_one, 6.0)


class PageOrder(JamfTestCase):
    """Pages are read as they arrive, yet the list comes out in Jamf's order; a page that
    fails ends the list: the pages after it are not asked for."""

    sim_options = {"fleet_computers": 10000}
    inventory = "/api/v4/computers-inventory"

    def test_a_late_page_is_still_taken_in_its_place(self):
        # page 1 (the first after page 0) answers last
        self.sim.faults([{"path": self.inventory, "skip": 1, "count": 1, "delay": 1.5}])
        rc, out, err = probe(self.config(), ["inventory", "computer"])
        self.assertEqual(rc, 0, err)
        self.assertEqual((out[0]["devices"], out[0]["requests"]), (10000, 5))
        self.assertTrue(out[0]["ascending"])
        self.assertEqual((out[0]["first"]["id"], out[0]["last_id"]), ("1", "10000"))

    def test_a_late_plans_page_is_still_taken_in_its_place(self):
        everyone = [g for g in self.sim.jamf_state()["groups"]
                    if g["name"] == "All Managed Clients"][0]
        rc, out, err = probe(self.config(), ["plans-group", "computer", everyone["id"], "26.3.1",
                                             "25D771280a", "2030-01-15T18:00:00"])
        self.assertEqual(rc, 0, err)
        made = sorted(p["plan"] for p in out[0]["plans"])
        self.assertGreater(len(made), 2 * 2000)  # three pages or more
        plans = "/api/v1/managed-software-updates/plans"
        self.sim.faults([{"path": plans, "method": "GET", "skip": 1, "count": 1, "delay": 1.5}])
        rc, out, err = probe(self.config(), ["plans-list"])
        self.assertEqual(rc, 0, err)
        self.assertEqual([p["id"] for p in out[0]["plans"]], made)

    def test_a_failed_page_stops_the_list(self):
        cfg = self.config(jamf_extra="max_connections: 1, ")
        self.sim.faults([{"path": self.inventory, "skip": 2, "count": 1, "status": 404}])
        rc, out, err = probe(cfg, ["inventory", "computer"])
        self.assertEqual(out[-1]["fail"], "not_found", (rc, out, err))
        self.assertIn("/api/v4/computers-inventory (404", out[-1]["error"])
        pages = [q["query"] for q in self.sim.requests(self.inventory)]
        self.assertEqual(len(pages), 3, pages)  # pages 0, 1 and the failed 2


class MalformedPages(JamfTestCase):
    """A page that is not what Jamf promises fails the whole list, with where and why: no
    inventory is taken from the pages that were fine. Not through the contract check: these
    answers break Jamf's schema on purpose."""

    sim_options = {"fleet_computers": 4500}
    contract = False
    inventory = "/api/v4/computers-inventory"

    def broken_page(self, body):
        self.sim.faults([{"path": self.inventory, "skip": 1, "count": 1, "body": body}])
        rc, out, err = probe(self.config(), ["inventory", "computer"])
        self.assertEqual(out[-1]["fail"], "bad_reply", (rc, out, err))
        self.assertNotIn("devices", out[-1])
        return out[-1]["error"]

    def test_a_page_cut_short_names_the_byte(self):
        body = '{"totalCount": 4500, "results": [{"id": "2001", "general": {"name": "x"}}, {"id": '
        error = self.broken_page(body)
        self.assertIn("/api/v4/computers-inventory: unexpected answer: not JSON "
                      f"({len(body)} bytes, application/json): the text ends where a value "
                      f"should be at byte {len(body)}", error)

    def test_a_broken_string_names_the_byte(self):
        body = '{"totalCount": 4500, "results": [{"id": "20\\x01"}]}'
        error = self.broken_page(body)
        at = body.index("\\x") + 1  # the letter after the backslash
        self.assertIn(f"bad escape in a string at byte {at}", error)

    def test_a_page_without_its_total(self):
        error = self.broken_page('{"results": []}')
        self.assertIn('unexpected answer: no "totalCount"', error)

    def test_results_that_are_not_a_list(self):
        error = self.broken_page('{"totalCount": 4500, "results": {"id": "1"}}')
        self.assertIn('unexpected answer: no "results" list', error)

    def test_odd_members_are_read_as_absent(self):
        # ids as numbers, unknown members and sections, values of the wrong type, a device
        # without an id: read as Jamf's schema allows, the rest left out
        body = json.dumps({"totalCount": 4500, "extra": [1, {"a": None}], "results": [
            {"id": 2001, "general": {"name": "Mac A", "managementId": 7, "x": {"y": []}},
             "operatingSystem": {"version": "26.3.1", "build": ["25D2128"]},
             "hardware": "none", "groupMemberships": [{"groupId": "5"}, {"groupId": 6},
                                                      {"groupName": "x"}, "y"]},
            {"general": {"name": "no id"}}]})
        self.sim.faults([{"path": self.inventory, "skip": 1, "count": 1, "body": body}])
        rc, out, err = probe(self.config(), ["inventory", "computer", "2001"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["devices"], 2000 + 1 + 500)
        self.assertIn("skipped 1 computer without an id", err)
        self.assertEqual(out[0]["device"], {
            "id": "2001", "name": "Mac A", "management_id": None, "version": "26.3.1",
            "build": None, "serial": None, "supplemental_build": None, "extra": None,
            "model": None, "groups": [5, 6]})

    def test_the_first_of_a_member_said_twice_counts(self):
        # as a cJSON lookup (every other answer) reads it: the first, whatever its type;
        # a group id that is not a number is no group
        body = ('{"totalCount": 4500, "totalCount": 1, "results": [{"id": 2001, "id": "9",'
                ' "general": {"name": 5, "name": "second", "managementId": "m-1"},'
                ' "general": {"managementId": "m-2"},'
                ' "hardware": {"serialNumber": "C02A", "serialNumber": "C02B"},'
                ' "groupMemberships": [{"groupId": 1, "groupId": 2}, {"groupId": "x"}],'
                ' "groupMemberships": [{"groupId": 3}]}], "results": []}')
        self.sim.faults([{"path": self.inventory, "skip": 1, "count": 1, "body": body}])
        rc, out, err = probe(self.config(), ["inventory", "computer", "2001"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["devices"], 2000 + 1 + 500)
        device = out[0]["device"]
        self.assertEqual((device["name"], device["management_id"], device["serial"],
                          device["groups"]), (None, "m-1", "C02A", [1]))


class RetryBudget(JamfTestCase):
    """http.retry_max_time counts from a request's first attempt, not from the start of its
    batch: a page that waited behind slow ones still gets its retry."""

    sim_options = {"fleet_computers": 10000}

    def test_a_late_page_is_still_retried(self):
        cfg = self.config(jamf_extra="max_connections: 1, ",
                          http="{retries: 2, retry_max_time: 3s}")
        inventory = "/api/v4/computers-inventory"
        # pages 1-3 (after the first) take 1.5 s each, so page 4 starts 4.5 s into its
        # batch, past the budget; its first answer is a 503
        self.sim.faults([{"path": inventory, "skip": 1, "count": 3, "delay": 1.5},
                         {"path": inventory, "skip": 1, "count": 1, "status": 503}])
        rc, out, err = probe(cfg, ["inventory", "computer"])
        self.assertEqual(rc, 0, err)
        self.assertEqual((out[0]["devices"], out[0]["requests"]), (10000, 5))
        self.assertEqual(len(self.sim.requests(inventory)), 6)  # one retry

    def test_waiting_for_a_retry_does_not_spin(self):
        # page 1 answers 503 with Retry-After: 3; page 2 is then done and page 3 may not
        # start (at most 2 x max_connections past page 1): bridge has nothing to do for 3 s
        cfg = self.config(jamf_extra="max_connections: 1, ")
        self.sim.faults([{"path": "/api/v4/computers-inventory", "skip": 1, "count": 1,
                          "status": 503, "retry_after": 3}])
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        rc, out, err = probe(cfg, ["inventory", "computer"])
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["devices"], 10000)
        self.assertGreaterEqual(time.monotonic() - started, 3.0)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        # parsing 10,000 devices takes a small fraction of a second; spinning took the 3 s
        self.assertLess(cpu, 1.5, cpu)


class Tokens(JamfTestCase):
    sim_options = {"fleet_computers": 30, "token_lifetime": 4}

    def test_token_renewed_ahead_of_expiry_mid_run(self):
        flag = self.dir / "go"
        threading.Timer(3.5, flag.touch).start()
        rc, out, err = probe(self.config(), ["inventory", "computer"], ["wait-file", flag],
                             ["inventory", "computer"], ["tokens"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[-1]["pro"], 2)
        paths = [r["path"] for r in self.api_requests()]
        self.assertEqual(paths, ["/api/oauth/token", "/api/v4/computers-inventory",
                                 "/api/oauth/token", "/api/v4/computers-inventory"])

    def test_401_gets_one_fresh_token_and_one_retry(self):
        flag = self.dir / "go"

        def expire_then_go():
            deadline = time.monotonic() + 20
            while not self.sim.requests("/api/v4/computers-inventory") and time.monotonic() < deadline:
                time.sleep(0.05)
            self.sim.expire_tokens("pro")
            flag.touch()
        threading.Thread(target=expire_then_go).start()
        rc, out, err = probe(self.config(), ["inventory", "computer"], ["wait-file", flag],
                             ["toggle"], ["tokens"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[-1]["pro"], 2)
        paths = [r["path"] for r in self.api_requests()]
        toggle = "/api/v1/managed-software-updates/plans/feature-toggle"
        # the toggle and its status are asked at once: both are refused, both asked again
        self.assertEqual(paths[:2], ["/api/oauth/token", "/api/v4/computers-inventory"])
        self.assertEqual(sorted(paths[2:4]), [toggle, toggle + "/status"])
        self.assertEqual(paths[4], "/api/oauth/token")
        self.assertEqual(sorted(paths[5:]), [toggle, toggle + "/status"])
        self.assertIn("signing in again, once", err)

    def test_401_twice_is_an_authentication_failure(self):
        self.sim.faults([{"path": "/api/v1/managed-software-updates/plans/feature-toggle",
                          "status": 401, "count": 10}])
        rc, out, err = probe(self.config(), ["toggle"])
        self.assertEqual(rc, 1)
        self.assertEqual(out[-1]["fail"], "auth")
        self.assertIn("401", out[-1]["error"])
        self.assertEqual(len(self.sim.requests("/api/oauth/token")), 2)

    def test_wrong_secret_is_one_clear_sentence(self):
        rc, out, err = probe(self.config(), ["toggle"], env={"JAMF_SECRET": "wrong"})
        self.assertEqual(rc, 1)
        self.assertEqual(out[-1]["fail"], "auth")
        self.assertRegex(out[-1]["error"], r"Jamf Pro refused the sign-in \(401 invalid_client")
        self.assertIn("jamf.client_secret", out[-1]["error"])

    def test_legacy_basic_flow_invalidates_at_the_end(self):
        cfg = self.config(jamf_extra=f"auth: basic, username: {JAMF_USER}, password: env:JAMF_PW, ")
        rc, out, err = probe(cfg, ["toggle"], ["close"])
        self.assertEqual(rc, 0, err)
        reqs = self.api_requests()
        self.assertEqual(reqs[0]["path"], "/api/v1/auth/token")
        self.assertTrue(reqs[0]["headers"]["authorization"].startswith("Basic "))
        self.assertEqual(reqs[-1]["path"], "/api/v1/auth/invalidate-token")
        self.assertNotIn("content-type", {k for k in reqs[-1]["headers"]
                                          if reqs[-1]["headers"][k].startswith("application/x-www")})

    def test_oidc_discovery(self):
        # discovery and the token endpoint are not Jamf Pro API paths: straight to the sim
        cfg = self.config(jamf_extra=f"issuer: \"{self.sim.url}/oidc\", "
                                     f"ca_file: \"{self.sim.ca_file}\", ")
        rc, out, err = probe(cfg, ["toggle"])
        self.assertEqual(rc, 0, err)
        paths = [r["path"] for r in self.sim.requests()]
        self.assertEqual(paths[:2], ["/oidc/.well-known/openid-configuration", "/api/oauth/token"])

    def test_trace_of_a_whole_run_holds_no_secret_or_token(self):
        rc, out, err = probe(self.config(), ["inventory", "computer"], ["group", "computer", LAB],
                             ["toggle"], ["pf-component"], ["pf-group", "Ring 1 - Pilot"],
                             env={"JAMF_PROBE_LOG": "trace"})
        self.assertEqual(rc, 0, err)
        self.assertIn("Authorization: [redacted]", err)
        tokens = self.tokens_seen()
        self.assertGreaterEqual(len(tokens), 2)  # one per API
        for secret in [*tokens, *SECRETS.values()]:
            self.assertNotIn(secret, err)
            self.assertNotIn(secret, json.dumps(out))


class Errors(JamfTestCase):
    sim_options = {"fleet_computers": 30}

    def test_429_retry_after_is_honoured(self):
        self.sim.faults([{"path": "/api/v1/managed-software-updates/plans/feature-toggle",
                          "status": 429, "retry_after": 2, "count": 1}])
        started = time.monotonic()
        rc, out, err = probe(self.config(), ["toggle"])
        elapsed = time.monotonic() - started
        self.assertEqual(rc, 0, err)
        self.assertGreaterEqual(elapsed, 1.9)
        self.assertLess(elapsed, 10)
        self.assertEqual(len(self.sim.requests("/api/v1/managed-software-updates/plans/feature-toggle")), 3)

    def test_5xx_is_retried_then_reported(self):
        self.sim.faults([{"path": "/api/v2/groups", "status": 503, "count": 10}])
        rc, out, err = probe(self.config(http="{retries: 2, retry_max_time: 60s}"),
                             ["group", "computer", "All Managed Clients"], timeout=60)
        self.assertEqual(rc, 1)
        self.assertEqual(out[-1]["fail"], "server")
        self.assertRegex(out[-1]["error"], r"Jamf Pro failed GET /api/v2/groups \(503.*after retries")
        self.assertEqual(len(self.sim.requests("/api/v2/groups")), 3)

    def test_4xx_is_never_retried(self):
        self.sim.faults([{"path": "/api/v2/groups", "status": 400, "count": 10}])
        rc, out, err = probe(self.config(), ["group", "computer", "All Managed Clients"])
        self.assertEqual(rc, 1)
        self.assertEqual(out[-1]["fail"], "rejected")
        self.assertEqual(len(self.sim.requests("/api/v2/groups")), 1)

    def test_403_names_the_privilege(self):
        self.sim.set_clients({"limited": {"secret": "limited-secret-0c4d",
                                          "privileges": ["Read Computers"]}})
        cfg = self.config()
        cfg.write_text(cfg.read_text().replace(f"client_id: {JAMF_CLIENT_ID}", "client_id: limited"))
        rc, out, err = probe(cfg, ["inventory", "computer"], ["toggle"],
                             env={"JAMF_SECRET": "limited-secret-0c4d"})
        self.assertEqual(rc, 1)
        self.assertEqual(out[0]["devices"], 30)
        self.assertEqual(out[-1]["fail"], "forbidden")
        self.assertIn("needs the privilege Read Managed Software Updates", out[-1]["error"])


class Groups(JamfTestCase):
    sim_options = {"fleet_computers": 60, "fleet_mobile": 10}

    def test_group_with_quotes_and_comma_is_found(self):
        rc, out, err = probe(self.config(), ["group", "computer", LAB], ["group", "computer", "Lab"])
        self.assertEqual(rc, 0, err)
        state = self.sim.jamf_state()
        lab = [g for g in state["groups"] if g["name"] == LAB and g["kind"] == "COMPUTER"]
        self.assertEqual(len(lab), 1)
        self.assertEqual(out[0]["id"], int(lab[0]["id"]))
        self.assertEqual(out[0]["smart"], lab[0]["smart"])
        self.assertEqual(out[0]["platform_id"], lab[0]["platformId"])
        self.assertRegex(out[0]["platform_id"], r"^[0-9a-f-]{36}$")
        self.assertEqual(out[1], {"found": False})
        query = urllib.parse.parse_qs(self.sim.requests("/api/v2/groups")[0]["query"])
        self.assertEqual(query["filter"], ['groupName=="Lab \\"A\\", 2nd floor";groupType==COMPUTER'])

    def test_smart_members_and_static_groups(self):
        rc, out, err = probe(self.config(), ["group", "computer", "Ring 1 - Pilot"])
        self.assertEqual(rc, 0, err)
        gid = out[0]["id"]
        rc, out, err = probe(self.config(), ["members", "computer", gid],
                             ["static-create", "computer", "bridge: test", 1, 2, 3])
        self.assertEqual(rc, 0, err)
        pilot = [g for g in self.sim.jamf_state()["groups"] if g["name"] == "Ring 1 - Pilot"][0]
        self.assertEqual(sorted(out[0]["members"]), sorted(int(m) for m in pilot["members"]))
        sid = out[1]["id"]
        created = [g for g in self.sim.jamf_state()["staticGroups"] if g["name"] == "bridge: test"]
        self.assertEqual(created[0]["members"], ["1", "2", "3"])
        # an empty assignment list is sent as [] and clears the group
        rc, out, err = probe(self.config(), ["static-set", "computer", sid, "bridge: test"])
        self.assertEqual(rc, 0, err)
        created = [g for g in self.sim.jamf_state()["staticGroups"] if g["name"] == "bridge: test"]
        self.assertEqual(created[0]["members"], [])
        puts = [r for r in self.sim.requests("/api/v3/computer-groups/static-groups")
                if r["method"] == "PUT"]
        self.assertEqual(json.loads(puts[-1]["body"])["assignments"], [])

    def test_static_mobile_device_groups(self):
        ids = [d["mobileDeviceId"] for d in self.sim.devices("mobile")][:4]
        rc, out, err = probe(self.config(), ["static-create", "mobile", "bridge: ipads", *ids[:3]])
        self.assertEqual(rc, 0, err)
        sid = out[0]["id"]
        posts = [r for r in self.sim.requests("/api/v2/mobile-device-groups/static-groups")
                 if r["method"] == "POST"]
        self.assertEqual(json.loads(posts[0]["body"]), {
            "groupName": "bridge: ipads",
            "assignments": [{"mobileDeviceId": i, "selected": True} for i in ids[:3]]})
        # the mobile API changes members one by one: add the fourth, drop the first
        rc, out, err = probe(self.config(), ["static-set", "mobile", sid, "bridge: ipads",
                                             *ids[1:4], "-", ids[0]])
        self.assertEqual(rc, 0, err)
        group = [g for g in self.sim.jamf_state()["staticGroups"] if g["name"] == "bridge: ipads"]
        self.assertEqual(group[0]["kind"], "MOBILE")
        self.assertEqual(sorted(group[0]["members"], key=int), sorted(ids[1:4], key=int))
        patch = [r for r in self.sim.requests(f"/api/v2/mobile-device-groups/static-groups/{sid}")
                 if r["method"] == "PATCH"]
        self.assertIn({"mobileDeviceId": ids[0], "selected": False},
                      json.loads(patch[0]["body"])["assignments"])


class Plans(JamfTestCase):
    sim_options = {"fleet_computers": 40, "frozen_clock": True}

    def soon(self, days=1):
        """A forceInstallLocalDateTime days after the simulated now, at 18:00."""
        import datetime
        now = datetime.datetime.fromtimestamp(self.sim.clock()["now"], datetime.timezone.utc)
        return (now + datetime.timedelta(days=days)).strftime("%Y-%m-%dT18:00:00")

    def base_devices(self, n):
        return [d["id"] for d in self.sim.devices("computer", "bsi-base")][:n]

    def test_plans_in_batches_with_exact_bodies(self):
        ids = self.base_devices(5)
        self.assertEqual(len(ids), 5)
        force = self.soon()
        rc, out, err = probe(self.config(), ["plans", "computer", "26.3.1", "25D771280a",
                                             force, 2, *ids])
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(p["device"] for p in out[0]["plans"]), sorted(ids))
        posts = [r for r in self.sim.requests("/api/v1/managed-software-updates/plans")
                 if r["method"] == "POST"]
        self.assertEqual(len(posts), 3)  # 2 + 2 + 1
        body = json.loads(posts[0]["body"])
        self.assertEqual(body["config"], {
            "updateAction": "DOWNLOAD_INSTALL_SCHEDULE", "versionType": "CUSTOM_VERSION",
            "specificVersion": "26.3.1", "buildVersion": "25D771280a", "maxDeferrals": 3,
            "forceInstallLocalDateTime": force})
        self.assertEqual(body["devices"], [{"deviceId": ids[0], "objectType": "COMPUTER"},
                                           {"deviceId": ids[1], "objectType": "COMPUTER"}])
        # plans move on with simulated time; list, get and events read them back
        self.sim.advance(7 * 24 * 3600)
        plan = out[0]["plans"][0]["plan"]
        rc, out, err = probe(self.config(), ["plan", plan], ["events", plan],
                             ["plans-list", 'planUuid=="%s"' % plan])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out[0]["state"], "PlanCompleted", out[0])
        device = self.sim.device("computer", ids[0])
        self.assertEqual(device["operatingSystem"]["supplementalBuildVersion"], "25D771280a")
        self.assertGreater(out[1]["length"], 0)
        self.assertEqual([p["id"] for p in out[2]["plans"]], [plan])

    def test_group_plan_is_one_plan_per_member(self):
        pilot = [g for g in self.sim.jamf_state()["groups"] if g["name"] == "Ring 1 - Pilot"][0]
        self.sim.throttle_plans(count=1, retry_after=1, group_only=True)
        rc, out, err = probe(self.config(), ["plans-group", "computer", pilot["id"], "26.3.1",
                                             "25D771280a", self.soon()])
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(p["device"] for p in out[0]["plans"]), sorted(pilot["members"]))
        posts = [r for r in self.sim.requests("/api/v1/managed-software-updates/plans/group")]
        self.assertEqual(len(posts), 2)  # the 429, then the plan
        self.assertEqual(json.loads(posts[-1]["body"])["group"],
                         {"groupId": pilot["id"], "objectType": "COMPUTER_GROUP"})

    def test_ddm_status_items(self):
        device = self.sim.device("computer", self.base_devices(1)[0])
        rc, out, err = probe(self.config(), ["ddm", device["general"]["managementId"]])
        self.assertEqual(rc, 0, err)
        items = out[0]["items"]
        self.assertEqual(items["device.operating-system.build-version"],
                         device["operatingSystem"]["build"])
        self.assertTrue(any(k.startswith("softwareupdate.") for k in items), items)

    def test_rejected_plan_is_one_sentence(self):
        self.sim.set_feature_toggle(customVersionEnabled=False)
        rc, out, err = probe(self.config(), ["plans", "computer", "26.3.1", "25D771280a",
                                             "2030-01-15T18:00:00", 10, *self.base_devices(1)])
        self.assertEqual(rc, 1, err)
        self.assertTrue(out, err)
        self.assertEqual(out[-1]["fail"], "rejected")
        self.assertRegex(out[-1]["error"],
                         r"^Jamf Pro rejected POST /api/v1/managed-software-updates/plans \(400: ")


class Platform(JamfTestCase):
    sim_options = {"fleet_computers": 20}

    def test_blueprint_lifecycle_and_merge_patch(self):
        rc, out, err = probe(self.config(), ["pf-component"], ["pf-group", "Ring 1 - Pilot"])
        self.assertEqual(rc, 0, err)
        component, group = out[0]["identifier"], out[1]["uuid"]
        body = {"name": "bridge: macOS 26.3.1 (a)", "description": "test",
                "scope": {"deviceGroups": [group]},
                "steps": [{"name": "BSI", "components": [{"identifier": component,
                    "configuration": {"declarations": [{
                        "channelType": "SYSTEM", "kind": "CONFIGURATION",
                        "type": "com.apple.configuration.softwareupdate.enforcement.specific",
                        "payload": {"TargetOSVersion": "26.3.1", "TargetBuildVersion": "25D771280a",
                                    "TargetLocalDateTime": "2030-01-15T18:00:00"},
                        "payloadKey": 1}]}}]}]}
        create = self.dir / "bp.json"
        create.write_text(json.dumps(body))
        patch = self.dir / "patch.json"
        patch.write_text(json.dumps({"description": "updated by bridge"}))
        rc, out, err = probe(self.config(), ["bp-create", create])
        self.assertEqual(rc, 0, err)
        bid = out[0]["id"]
        rc, out, err = probe(self.config(), ["bp-update", bid, patch], ["bp-deploy", bid],
                             ["bp-get", bid], ["bp-list", "bridge: "], ["bp-report", bid],
                             ["bp-undeploy", bid], ["bp-delete", bid], ["bp-get", bid])
        self.assertEqual(rc, 0, err)
        patches = [r for r in self.sim.requests("/blueprints/v1/blueprints/") if r["method"] == "PATCH"]
        self.assertEqual(len(patches), 1)
        self.assertEqual(patches[0]["headers"]["content-type"], "application/merge-patch+json")
        self.assertEqual(json.loads(patches[0]["body"]), {"description": "updated by bridge"})
        self.assertEqual(out[2]["groups"], [group])
        self.assertIn(bid, [b["id"] for b in out[3]["blueprints"]])
        self.assertEqual(set(out[4]), {"succeeded", "pending", "failed"})
        self.assertEqual(out[-1], {"found": False})
        for r in self.sim.requests():
            if r["path"].startswith(("/blueprints/", "/device-groups/")):
                self.assertEqual(r["headers"].get("x-environment-id"), ENVIRONMENT_ID, r["path"])


if __name__ == "__main__":
    unittest.main()
