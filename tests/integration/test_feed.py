"""bridge feed against the HTTPS test server: trust, retries, caps, the cache and its refusals."""

import json
import tempfile
import time
import unittest
from pathlib import Path

from bridgelib import FIXTURES, assert_no_secrets, bridge
from simlib import Sim

CAPTURE = FIXTURES / "gdmf" / "pmv-2026-03-17.json"
OLDER = FIXTURES / "gdmf" / "pmv-2025-10-30.json"


class FeedTestCase(unittest.TestCase):
    """One test server per test (options in sim_options); a fresh state directory per test."""

    sim_options = {}

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.sim = Sim(gdmf=CAPTURE, **self.sim_options)
        self.sim.start()

    def tearDown(self):
        self.sim.stop()
        self.tmp.cleanup()

    def config(self, ca_file=None, extra=""):
        """Write a policy file pointing gdmf at the test server; returns its path."""
        path = self.dir / "bridge.yaml"
        path.write_text(
            f"state_dir: state\n"
            f"gdmf: {{url: \"{self.sim.url}/v2/pmv\", ca_file: \"{ca_file or self.sim.ca_file}\"}}\n"
            f"http: {{retries: 2, connect_timeout: 5s, timeout: 5s, retry_max_time: 30s}}\n"
            f"jamf: {{url: https://jamf.example.com, client_id: a, "
            f"client_secret: env:BRIDGE_TEST_SECRET}}\n"
            f"policies: [{{name: p, platform: macOS, mode: plan, scope: {{groups: [All]}}}}]\n"
            + extra)
        return path

    def feed(self, *args):
        return bridge("feed", "-c", str(self.config()), *args)

    def check_refused_keeps_last_good(self, fault, message):
        """Fetch a good copy, then a bad one: the good one stays in use and on disk."""
        self.assertEqual(self.feed().returncode, 0)
        cache = self.dir / "state" / "gdmf-feed.json"
        before = cache.read_bytes()
        self.sim.faults([fault])
        r = self.feed("--refresh", "--bsi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(message, r.stderr)
        self.assertIn("using the last good copy", r.stderr)
        self.assertIn("25D771280a", r.stdout)
        self.assertEqual(cache.read_bytes(), before)
        return r


class FeedTests(FeedTestCase):
    """The feed from a server that answers as it is."""

    def test_bsi_table_from_pinned_ca(self):
        r = self.feed("--bsi")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [l.split() for l in r.stdout.splitlines()[2:]]
        self.assertEqual(rows, [
            ["bsi", "iOS", "26.3.1", "(a)", "23D771330a", "23D8133", "2026-03-17", "2026-06-15", "95"],
            ["bsi", "macOS", "26.3.2", "(a)", "25D771400a", "25D2140", "2026-03-17", "2026-06-15", "1"],
            ["bsi", "macOS", "26.3.1", "(a)", "25D771280a", "25D2128", "2026-03-17", "2026-06-15", "62"],
        ])
        got = self.sim.requests("/v2/pmv")
        self.assertEqual(len(got), 1)
        self.assertRegex(got[0]["headers"]["user-agent"], r"^bridge/\d+\.\d+\.\d+$")

    def test_json_shape(self):
        r = self.feed("--json", "--platform", "macOS")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(set(doc), {"source", "fetched_at", "entries"})
        self.assertEqual(doc["source"], f"{self.sim.url}/v2/pmv")
        self.assertRegex(doc["fetched_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        bsi = [e for e in doc["entries"] if e["list"] == "bsi"]
        self.assertEqual(bsi[0], {"list": "bsi", "platform": "macOS", "version": "26.3.2",
                                  "extra": "(a)", "build": "25D771400a",
                                  "prerequisite_build": "25D2140", "posted": "2026-03-17",
                                  "expires": "2026-06-15", "devices": ["J700AP"]})
        release = [e for e in doc["entries"] if e["list"] == "public"][0]
        self.assertIsNone(release["extra"])
        self.assertIsNone(release["prerequisite_build"])
        self.assertTrue(all(e["platform"] == "macOS" for e in doc["entries"]))
        self.assertEqual({e["list"] for e in doc["entries"]}, {"bsi", "public", "asset"})

    def test_second_run_within_refresh_sends_nothing(self):
        self.assertEqual(self.feed().returncode, 0)
        self.assertEqual(self.feed().returncode, 0)
        self.assertEqual(len(self.sim.requests("/v2/pmv")), 1)
        r = self.feed("--refresh")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.sim.requests("/v2/pmv")), 2)

    def test_untrusted_certificate_refused(self):
        other = Sim(gdmf=CAPTURE, rogue=True)
        other.start()
        try:
            path = self.dir / "rogue.yaml"
            path.write_text(self.config().read_text().replace(self.sim.url, other.url))
            r = bridge("feed", "-c", str(path))
        finally:
            other.stop()
        self.assertEqual(r.returncode, 4)
        self.assertIn("the server's TLS certificate is not trusted (CA file "
                      f"{self.sim.ca_file})", r.stderr)
        self.assertIn("GDMF feed unavailable and no cached copy", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_503_then_200_is_retried(self):
        self.sim.faults([{"path": "/v2/pmv", "status": 503, "count": 1}])
        r = self.feed()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.sim.requests("/v2/pmv")), 2)
        self.assertIn("answered 503; retrying in", r.stderr)

    def test_429_retry_after_is_honoured(self):
        self.sim.faults([{"path": "/v2/pmv", "status": 429, "retry_after": 2, "count": 1}])
        r = self.feed()
        self.assertEqual(r.returncode, 0, r.stderr)
        first, second = self.sim.requests("/v2/pmv")
        self.assertGreaterEqual(second["time"] - first["time"], 1.9)
        self.assertLess(second["time"] - first["time"], 3.5)
        self.assertIn("retrying in 2.0 s", r.stderr)

    def test_persistent_5xx_reported(self):
        self.sim.faults([{"path": "/v2/pmv", "status": 500, "count": -1}])
        r = self.feed()
        self.assertEqual(r.returncode, 4)
        self.assertEqual(len(self.sim.requests("/v2/pmv")), 3)  # 1 + http.retries
        self.assertIn("answered HTTP 500", r.stderr)

    def test_truncated_body_refused(self):
        self.check_refused_keeps_last_good({"path": "/v2/pmv", "truncate": True, "count": -1},
                                           "truncated body")

    def test_oversized_body_refused(self):
        self.check_refused_keeps_last_good(
            {"path": "/v2/pmv", "oversize_bytes": 17 * 1024 * 1024, "count": -1},
            "the response is larger than 16777216 bytes; refused")

    def test_not_json_refused(self):
        self.check_refused_keeps_last_good({"path": "/v2/pmv", "body": "<html>maintenance</html>",
                                            "count": -1}, "the feed is not valid JSON")

    def test_empty_body_refused(self):
        self.check_refused_keeps_last_good({"path": "/v2/pmv", "body": "", "count": -1},
                                           "the feed is empty")

    def test_feed_that_lost_half_refused(self):
        small = {"PublicAssetSets": {"macOS": [{"ProductVersion": "26.3.1", "Build": "25D2128",
                                                "PostingDate": "2026-03-01",
                                                "SupportedDevices": ["J413AP"]}]}}
        self.check_refused_keeps_last_good({"path": "/v2/pmv", "body": json.dumps(small),
                                            "count": -1}, "lost more than half of its entries")

    def test_no_copy_at_all_exits_4(self):
        self.sim.faults([{"path": "/v2/pmv", "body": "{}", "count": -1}])
        r = self.feed()
        self.assertEqual(r.returncode, 4)
        self.assertIn("not a GDMF feed", r.stderr)

    def test_trace_shows_no_secrets(self):
        r = bridge("-vv", "feed", "-c", str(self.config()))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("bridge: trace: > GET", r.stderr)
        assert_no_secrets(self, r.stdout, r.stderr)

    def test_plain_http_refused_for_remote_host(self):
        path = self.dir / "http.yaml"
        path.write_text(self.config().read_text().replace(
            f"{self.sim.url}/v2/pmv", "http://gdmf.example.com/v2/pmv"))
        r = bridge("check", "-c", str(path))
        self.assertEqual(r.returncode, 2)
        self.assertIn("gdmf.url: URL must use https", r.stderr)


class CompressedFeedTests(FeedTestCase):
    """The feed from a server that gzips its answers (bridge asks for any encoding libcurl
    decodes): read as sent, and the size limit holds for what it decodes to."""

    sim_options = {"gzip": True}

    def test_gzipped_feed_read(self):
        r = bridge("-vv", "feed", "-c", str(self.config()), "--bsi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("< Content-Encoding: gzip", r.stderr)
        self.assertIn("gzip", self.sim.requests("/v2/pmv")[0]["headers"]["accept-encoding"])
        self.assertIn("25D771280a", r.stdout)
        # the cached copy is the feed itself, not its compressed form
        cached = json.loads((self.dir / "state" / "gdmf-feed.json").read_bytes())
        self.assertEqual(cached["feed"], json.loads(CAPTURE.read_bytes()))

    def test_small_answer_that_unpacks_too_large_is_refused(self):
        # 17 MiB of JSON that travels as some 17 KiB: the 16 MiB limit is on the decoded size
        self.check_refused_keeps_last_good(
            {"path": "/v2/pmv", "oversize_bytes": 17 * 1024 * 1024, "count": -1},
            "the response is larger than 16777216 bytes; refused")
        r = bridge("-vv", "feed", "-c", str(self.config()), "--refresh")
        sizes = [int(line.rsplit(" ", 1)[1]) for line in r.stderr.splitlines()
                 if "< Content-Length:" in line]
        self.assertTrue(sizes and max(sizes) < 1024 * 1024, sizes)


if __name__ == "__main__":
    unittest.main()
