"""bridge plan against the simulator: every device of a 1,000-Mac fleet gets exactly the
outcome its software calls for, and no write request reaches Jamf."""

import json
import unittest

from bridgelib import bridge
from simlib import JAMF_CLIENT_ID, JAMF_CLIENT_SECRET
from test_jamf import JamfTestCase

# What each fleet category (tests/sim/fleet.py) must come to under the policy below.
EXPECTED = {
    "bsi-base": ("enforce", "26.3.1", "(a)", "25D771280a"),
    "on-bsi": ("compliant", None, None, None),
    "older-minor": ("base_update", "26.3.1", None, "25D2128"),
    "older-major": ("no_bsi", None, None, None),
    "other-bsi-base": ("enforce", "26.3.2", "(a)", "25D771400a"),
    "vm": ("model_filtered", None, None, None),
    "unsupported": ("no_bsi", None, None, None),
}


class Plan(JamfTestCase):
    sim_options = {"fleet_computers": 1000}

    def policy_file(self, extra=""):
        path = self.dir / "bridge.yaml"
        path.write_text(
            "state_dir: state\n"
            f"gdmf: {{url: \"{self.sim.url}/v2/pmv\", ca_file: \"{self.sim.ca_file}\"}}\n"
            f"jamf: {{url: \"{self.prism.url}\", client_id: {JAMF_CLIENT_ID}, "
            "client_secret: env:JAMF_SECRET}\n"
            "policies:\n"
            "  - name: macs\n"
            "    platform: macOS\n"
            "    mode: plan\n"
            "    scope: {groups: [\"All Managed Clients\"], exclude_groups: [\"Empty Group\"]}\n"
            "    models: {exclude: '^VMA'}\n"
            "    deadline: {days_after_posting: 3, time: \"18:00\"}\n" + extra)
        return path

    def plan(self, *args):
        return bridge("--json", "plan", "-c", str(self.policy_file()), *args,
                      env={"JAMF_SECRET": JAMF_CLIENT_SECRET})

    def test_every_device_gets_what_its_software_calls_for(self):
        r = self.plan()
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        policy = doc["tenants"][0]["policies"][0]
        actions = {a["device"]["id"]: a for a in policy["actions"]}
        devices = self.sim.devices("computer")
        self.assertEqual(len(devices), 1000)
        self.assertEqual(len(actions), 1000)  # all in scope
        seen = {}
        for d in devices:
            category = d["sim"]["category"]
            outcome, version, extra, build = EXPECTED[category]
            a = actions[d["id"]]
            with self.subTest(device=d["id"], category=category):
                self.assertEqual(a["outcome"], outcome, a["reason"])
                if version is not None:
                    self.assertEqual(a["target"], {"version": version, "extra": extra,
                                                   "build": build})
                    self.assertRegex(a["deadline"], r"^\d{4}-\d\d-\d\dT18:00:00$")
                else:
                    self.assertNotIn("target", a)
            seen[category] = seen.get(category, 0) + 1
        self.assertEqual(set(seen), set(EXPECTED))  # every category is in the fleet
        counts = policy["counts"]
        for outcome in ("enforce", "compliant", "base_update", "no_bsi", "model_filtered"):
            want = sum(n for c, n in seen.items() if EXPECTED[c][0] == outcome)
            self.assertEqual(counts[outcome], want, outcome)

    def test_plan_lists_each_device_with_its_serial_number(self):
        r = self.plan()
        self.assertEqual(r.returncode, 0, r.stderr)
        actions = json.loads(r.stdout)["tenants"][0]["policies"][0]["actions"]
        self.assertEqual(len(actions), 1000)
        for a in actions:
            self.assertEqual(a["device"]["serial"],
                             self.sim.device("computer", a["device"]["id"])["hardware"]["serialNumber"])
        pages = self.sim.requests("/api/v4/computers-inventory")
        self.assertTrue(pages)
        self.assertTrue(all("section=HARDWARE" in q["query"] for q in pages))

    def test_plan_sends_no_write_request(self):
        r = self.plan()
        self.assertEqual(r.returncode, 0, r.stderr)
        writes = [(q["method"], q["path"]) for q in self.sim.requests()
                  if q["method"] not in ("GET", "HEAD")]
        self.assertEqual(writes, [("POST", "/api/oauth/token")])
        self.assertEqual(len(self.sim.requests("/api/v4/computers-inventory")), 1)

    def test_render_prints_exactly_the_plan_request(self):
        base = [d for d in self.sim.devices("computer") if d["sim"]["category"] == "bsi-base"][0]
        done = [d for d in self.sim.devices("computer") if d["sim"]["category"] == "on-bsi"][0]
        r = bridge("render", "--policy", "macs", "--device", base["id"], "-c",
                   str(self.policy_file()), env={"JAMF_SECRET": JAMF_CLIENT_SECRET})
        self.assertEqual(r.returncode, 0, r.stderr)
        body = json.loads(r.stdout)
        self.assertEqual(body["devices"], [{"deviceId": base["id"], "objectType": "COMPUTER"}])
        config = body["config"]
        self.assertEqual((config["versionType"], config["specificVersion"], config["buildVersion"]),
                         ("CUSTOM_VERSION", "26.3.1", "25D771280a"))
        self.assertRegex(config["forceInstallLocalDateTime"], r"^\d{4}-\d\d-\d\dT18:00:00$")
        r = bridge("render", "--policy", "macs", "--device", done["id"], "-c",
                   str(self.policy_file()), env={"JAMF_SECRET": JAMF_CLIENT_SECRET})
        self.assertEqual(r.returncode, 1)
        self.assertIn("compliant", r.stderr)
        self.assertIn("nothing would be sent", r.stderr)
        writes = [q for q in self.sim.requests() if q["method"] not in ("GET", "HEAD")]
        self.assertEqual({q["path"] for q in writes}, {"/api/oauth/token"})

    def test_missing_group_fails_the_policy(self):
        path = self.policy_file()
        path.write_text(path.read_text().replace("Empty Group", "No Such Group"))
        r = bridge("plan", "-c", str(path), env={"JAMF_SECRET": JAMF_CLIENT_SECRET})
        self.assertEqual(r.returncode, 1)
        self.assertIn('policy macs: the computer group "No Such Group" does not exist', r.stderr)

    def test_unknown_policy_is_a_usage_error(self):
        r = bridge("plan", "--policy", "nope", "-c", str(self.policy_file()),
                   env={"JAMF_SECRET": JAMF_CLIENT_SECRET})
        self.assertEqual(r.returncode, 2)
        self.assertIn("--policy nope: no such policy", r.stderr)


if __name__ == "__main__":
    unittest.main()
