"""bridge doctor when Jamf cannot be reached or trusted, and its webhook test: each failure
is named with its fix, the exit status is 1, and no secret or webhook URL is printed.
(The checks against a working simulated Jamf are in test_doctor.py.)"""

import json
import socket
import tempfile
import unittest
from pathlib import Path

from bridgelib import SECRETS, assert_no_secrets, bridge
from simlib import Sim


def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DoctorOffline(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def config(self, jamf_url, ca_file, alert_url_env=None):
        path = self.dir / "bridge.yaml"
        alerts = ""
        if alert_url_env:
            alerts = (f"alerts: [{{name: ops, kind: slack, url: env:{alert_url_env}, "
                      f"ca_file: \"{ca_file}\"}}]\n")
        path.write_text(
            "state_dir: state\n"
            "http: {retries: 0, connect_timeout: 3s, timeout: 5s, retry_max_time: 10s}\n"
            f"jamf: {{url: \"{jamf_url}\", ca_file: \"{ca_file}\", "
            "client_id: env:JAMF_CLIENT_ID, client_secret: env:JAMF_CLIENT_SECRET}\n"
            "policies: [{name: p, platform: macOS, mode: plan, scope: {groups: [All]}}]\n"
            + alerts)
        return path

    def test_untrusted_certificate_names_ca_file(self):
        with Sim(rogue=True) as sim:
            r = bridge("doctor", "-c", str(self.config(sim.url, sim.ca_file)))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stdout, r"FAIL  \[default\] Jamf Pro: TLS trust: .*not trusted")
        self.assertIn("fix: set jamf.ca_file", r.stdout)
        self.assertRegex(r.stdout, r"skip  \[default\] Jamf Pro: privileges")
        self.assertIn("doctor: 1 of 2 checks failed", r.stdout)
        assert_no_secrets(self, r.stdout, r.stderr)

    def test_unreachable_server_json(self):
        with Sim() as sim:
            ca = sim.ca_file
        url = f"https://127.0.0.1:{free_port()}"
        r = bridge("--json", "doctor", "-c", str(self.config(url, ca)))
        self.assertEqual(r.returncode, 1, r.stderr)
        doc = json.loads(r.stdout)
        self.assertFalse(doc["ok"])
        first = doc["checks"][0]
        self.assertEqual((first["tenant"], first["check"], first["result"]),
                         ("default", "Jamf Pro: token", "FAIL"))
        self.assertIn("check jamf.url", first["fix"])
        self.assertEqual(doc["checks"][1]["result"], "skip")

    def test_test_alert_failure_hides_the_webhook(self):
        with Sim() as sim:
            hook = f"{sim.url}/hooks/T0/B0/secret-path-5e1f"
            r = bridge("doctor", "--send-test-alert", "-vv",
                       "-c", str(self.config(f"https://127.0.0.1:{free_port()}", sim.ca_file,
                                             "BRIDGE_TEST_HOOK")),
                       env={"BRIDGE_TEST_HOOK": hook})
            posted = sim.requests("/hooks/")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(posted), 1)
        self.assertEqual(posted[0]["method"], "POST")
        self.assertRegex(r.stdout, r"FAIL  \[-\] alert ops: test message \(slack\): "
                                   r"the webhook of alert \"ops\" answered 404")
        for text in (r.stdout, r.stderr):
            self.assertNotIn("secret-path-5e1f", text)
        assert_no_secrets(self, r.stdout, r.stderr)

    def test_unknown_tenant_is_a_usage_error(self):
        with Sim() as sim:
            ca = sim.ca_file
        r = bridge("doctor", "--tenant", "nope", "-c", str(self.config("https://127.0.0.1:1", ca)))
        self.assertEqual(r.returncode, 2)
        self.assertIn("--tenant nope: no such tenant", r.stderr)


if __name__ == "__main__":
    unittest.main()
