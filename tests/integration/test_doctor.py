"""bridge doctor against the simulated Jamf Pro and Jamf Platform (through the contract
check): everything passes on a healthy tenant, and each broken thing is named with its fix."""

import json
import unittest

from bridgelib import bridge
from simlib import ENVIRONMENT_ID, JAMF_CLIENT_ID, JAMF_CLIENT_SECRET, PLATFORM_CLIENT_ID, \
    PLATFORM_CLIENT_SECRET
from test_jamf import LAB, JamfTestCase

ENV = {"JAMF_SECRET": JAMF_CLIENT_SECRET, "PLATFORM_SECRET": PLATFORM_CLIENT_SECRET}


class Doctor(JamfTestCase):
    sim_options = {"fleet_computers": 30}

    def policy_file(self, groups=("Ring 1 - Pilot", LAB)):
        path = self.dir / "bridge.yaml"
        names = ", ".join(json.dumps(g) for g in groups)
        path.write_text(
            "state_dir: state\n"
            "http: {retries: 1, retry_max_time: 30s}\n"
            f"jamf: {{url: \"{self.prism.url}\", client_id: {JAMF_CLIENT_ID}, "
            "client_secret: env:JAMF_SECRET}\n"
            f"platform: {{url: \"{self.sim.url}\", ca_file: \"{self.sim.ca_file}\", "
            f"environment_id: {ENVIRONMENT_ID}, client_id: {PLATFORM_CLIENT_ID}, "
            "client_secret: env:PLATFORM_SECRET}\n"
            "policies:\n"
            f"  - {{name: macs-plan, platform: macOS, mode: plan, scope: {{groups: [{names}]}}}}\n"
            "  - {name: macs-blueprint, platform: macOS, mode: blueprint,\n"
            "     scope: {groups: [\"Ring 2 - Broad\"]}}\n")
        return path

    def doctor(self, *args, env=None):
        r = bridge("doctor", "-c", str(self.policy_file(**(self.files or {}))), *args,
                   env={**ENV, **(env or {})})
        return r

    files = None

    def lines(self, out, result):
        return [l for l in out.splitlines() if l.startswith(result)]

    def test_healthy_tenant_passes(self):
        r = self.doctor("-vv")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # the whole trace: headers are shown, credentials and tokens never
        self.assertIn("Authorization: [redacted]", r.stderr)
        tokens = self.tokens_seen()
        self.assertGreaterEqual(len(tokens), 2)
        for secret in [*tokens, *ENV.values()]:
            self.assertNotIn(secret, r.stdout + r.stderr)
        self.assertEqual(self.lines(r.stdout, "FAIL"), [])
        for check in ("Jamf Pro: TLS trust and token", "Jamf Pro: read computers",
                      "Jamf Pro: read groups", "Jamf Pro: read software update plans",
                      "Jamf Pro: plans feature toggle: on",
                      "Jamf Pro: custom versions (customVersionEnabled): on",
                      "Jamf Platform: TLS trust and token",
                      "Jamf Platform: custom-declaration component: com.jamf.ddm.custom-declarations",
                      f'policy macs-plan: computer group "{LAB}"',
                      'policy macs-blueprint: computer group "Ring 2 - Broad"'):
            self.assertRegex(r.stdout, r"(?m)^ok    \[default\] " + __import__("re").escape(check))
        self.assertRegex(r.stdout, r"doctor: all \d+ checks passed")

    def test_toggle_off_and_custom_version_disabled(self):
        self.sim.set_feature_toggle(toggle=False, customVersionEnabled=False)
        r = self.doctor("--json")
        self.assertEqual(r.returncode, 1)
        doc = json.loads(r.stdout)
        failed = {c["check"]: c for c in doc["checks"] if c["result"] == "FAIL"}
        self.assertEqual(set(failed), {"Jamf Pro: plans feature toggle",
                                       "Jamf Pro: custom versions (customVersionEnabled)"})
        self.assertIn("turn on managed software update plans",
                      failed["Jamf Pro: plans feature toggle"]["fix"])
        self.assertIn("ask Jamf Support",
                      failed["Jamf Pro: custom versions (customVersionEnabled)"]["fix"])

    def test_wrong_secret(self):
        r = self.doctor(env={"JAMF_SECRET": "not-the-secret"})
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"FAIL  \[default\] Jamf Pro: token: Jamf Pro refused the "
                                   r"sign-in \(401 invalid_client")
        self.assertIn("fix: check the API client in Jamf Pro", r.stdout)
        self.assertNotIn("not-the-secret", r.stdout + r.stderr)

    def test_missing_group_and_missing_privilege(self):
        self.files = {"groups": ("Ring 1 - Pilot", "No Such Group")}
        self.sim.set_clients({JAMF_CLIENT_ID: {"secret": JAMF_CLIENT_SECRET, "privileges": [
            "Read Computers", "Read Smart Computer Groups", "Read Static Computer Groups"]}})
        r = self.doctor()
        self.assertEqual(r.returncode, 1)
        fails = self.lines(r.stdout, "FAIL")
        self.assertTrue(any('computer group "No Such Group": no such group' in l for l in fails),
                        r.stdout)
        self.assertIn("fix: create the group in Jamf Pro, or correct the name in", r.stdout)
        self.assertTrue(any("read software update plans" in l and
                            "needs the privileges Read Managed Software Updates" in l
                            for l in fails), r.stdout)

    def test_test_alerts_in_each_format(self):
        path = self.policy_file()
        kinds = {"slack": "BRIDGE_HOOK_SLACK", "teams": "BRIDGE_HOOK_TEAMS", "json": "BRIDGE_HOOK_JSON"}
        alerts = "".join(f"  - {{name: {k}-ops, kind: {k}, url: env:{v}, ca_file: \"{self.sim.ca_file}\"}}\n"
                         for k, v in kinds.items())
        path.write_text(path.read_text() + "alerts:\n" + alerts)
        hooks = {v: f"{self.sim.url}/webhook/{k}-3c9e1d" for k, v in kinds.items()}
        r = bridge("doctor", "--send-test-alert", "-c", str(path), env={**ENV, **hooks})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for k in kinds:
            self.assertRegex(r.stdout, rf"ok    \[-\] alert {k}-ops: test message \({k}\): delivered")
        bodies = {q["path"].split("/")[-1].split("-")[0]: json.loads(q["body"])
                  for q in self.sim.requests("/webhook/")}
        self.assertIn('the alert "slack-ops" (slack) reaches this channel', bodies["slack"]["text"])
        card = bodies["teams"]["attachments"][0]
        self.assertEqual(card["contentType"], "application/vnd.microsoft.card.adaptive")
        self.assertEqual(card["content"]["type"], "AdaptiveCard")
        self.assertEqual(bodies["json"]["event"], "test")
        for hook in hooks.values():
            self.assertNotIn(hook, r.stdout + r.stderr)

    def test_missing_component(self):
        self.sim.set_blueprint_components(custom_declarations=None)
        r = self.doctor()
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"FAIL  \[default\] Jamf Platform: custom-declaration "
                                   r"component: the tenant offers no custom-declarations")


if __name__ == "__main__":
    unittest.main()
