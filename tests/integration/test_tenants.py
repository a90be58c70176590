"""Many tenants: one policy file, two Jamf Pro servers (two simulators). Tenants run at the same
time up to max_parallel_tenants; one tenant failing is reported (exit 1, its name in the
run_failed alert) and does not stop the other; each keeps its own state; the output comes in
the policy file's order whatever order the tenants finish in."""

import json
import unittest
import tempfile
from pathlib import Path

from bridgelib import FIXTURES, bridge
from simlib import JAMF_CLIENT_ID, JAMF_CLIENT_SECRET, Sim

FEED = FIXTURES / "gdmf" / "pmv-2026-03-17.json"
PLANS = "/api/v1/managed-software-updates/plans"
ENV = {"JAMF_SECRET": JAMF_CLIENT_SECRET, "HOOK": ""}
TOKEN = "/api/oauth/token"


def plan_keys(records):
    """{(plan id, device id)} of a state file's plan records."""
    return {(p["id"], p["device_id"]) for p in records}


class Tenants(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.sims = {}
        for name, seed in (("acme", 1), ("beta", 2)):
            sim = Sim(gdmf=FEED, shift_dates=True, fleet_computers=120, fleet_seed=seed)
            self.sims[name] = sim.start()
            self.addCleanup(sim.stop)
        self.addCleanup(self.tmp.cleanup)
        ENV["HOOK"] = f"{self.sims['acme'].url}/webhook/json-7f3a"

    def policy_file(self, parallel=4):
        acme = self.sims["acme"]
        tenants = "".join(
            f"  - name: {name}\n"
            f"    jamf: {{url: \"{sim.url}\", ca_file: \"{sim.ca_file}\", "
            f"client_id: {JAMF_CLIENT_ID}, client_secret: env:JAMF_SECRET}}\n"
            "    policies:\n"
            "      - {name: macs, platform: macOS, mode: plan, "
            "scope: {groups: [\"All Managed Clients\"]}, "
            "deadline: {days_after_posting: 3, time: \"18:00\"}}\n"
            for name, sim in self.sims.items())
        path = self.dir / "bridge.yaml"
        path.write_text(
            "state_dir: state\n"
            "metrics_file: metrics.prom\n"
            f"max_parallel_tenants: {parallel}\n"
            "http: {retries: 1, retry_max_time: 10s}\n"
            f"gdmf: {{url: \"{acme.url}/v2/pmv\", ca_file: \"{acme.ca_file}\"}}\n"
            "alerts:\n"
            f"  - {{name: ops, kind: json, url: env:HOOK, ca_file: \"{acme.ca_file}\"}}\n"
            f"tenants:\n{tenants}")
        return path

    def sync(self, *args, parallel=4):
        return bridge("sync", "-c", str(self.policy_file(parallel)), *args, env=ENV)

    def plans(self, name):
        return self.sims[name].jamf_state()["plans"]

    def state(self, name):
        return json.loads((self.dir / "state" / name / "state.json").read_text())

    def writes(self, name):
        return [(q["method"], q["path"]) for q in self.sims[name].requests()
                if q["method"] not in ("GET", "HEAD")]

    def test_one_failing_tenant_does_not_stop_the_other(self):
        # beta's Jamf Pro signs in but cannot list its Macs
        self.sims["beta"].faults([{"path": "/api/v4/computers-inventory", "status": 503,
                                   "count": -1}])
        r = self.sync()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("bridge: error: beta: policy macs: ", r.stderr)
        self.assertNotIn("error: acme", r.stderr)
        # every line of a tenant's work names it, so the two can be told apart
        self.assertIn("bridge: acme: 120 computers in Jamf Pro", r.stderr)
        self.assertRegex(r.stderr, r"bridge: acme: policy macs, ring default: \d+ plans for")
        # acme did its whole work: plans in its Jamf, recorded in its own state
        acme_plans = self.plans("acme")
        self.assertGreater(len(acme_plans), 0)
        self.assertIn("tenant acme, policy macs", r.stdout)
        self.assertRegex(r.stdout, rf"plans: {len(acme_plans)} created, 0 already there")
        self.assertEqual(len(self.state("acme")["plans"]), len(acme_plans))
        # beta created nothing, and its state holds nothing of acme's
        self.assertEqual(self.plans("beta"), [])
        self.assertEqual(self.writes("beta"), [("POST", TOKEN)])
        self.assertEqual(self.state("beta").get("plans", []), [])
        acme_before = plan_keys(self.state("acme")["plans"])
        self.assertEqual(acme_before, {(p["planUuid"], p["deviceId"]) for p in acme_plans})
        # the run_failed alert names the tenant that failed
        digest = [json.loads(q["body"]) for q in self.sims["acme"].requests("/webhook/")]
        self.assertEqual(len(digest), 1)
        self.assertIn("Tenant beta ", json.dumps(digest[0]))
        self.assertNotIn("Tenant acme", json.dumps(digest[0]))

        # beta's Jamf is back: beta catches up, acme sends nothing new
        self.sims["beta"].clear_faults()
        for sim in self.sims.values():
            sim.reset()
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.writes("acme"), [("POST", TOKEN), ("POST", "/webhook/json-7f3a")])
        resolved = json.loads(self.sims["acme"].requests("/webhook/")[0]["body"])
        self.assertIn("resolved", json.dumps(resolved))
        self.assertGreater(len(self.plans("beta")), 0)
        self.assertEqual(len(self.state("beta")["plans"]), len(self.plans("beta")))
        self.assertEqual(plan_keys(self.state("acme")["plans"]), acme_before)
        self.assertEqual(plan_keys(self.state("beta")["plans"]),
                         {(p["planUuid"], p["deviceId"]) for p in self.plans("beta")})

    def test_a_state_file_that_cannot_be_read_stops_its_tenant_alone(self):
        # a state written by a newer bridge: refused, left as it is, the other tenant runs
        folder = self.dir / "state" / "beta"
        folder.mkdir(parents=True)
        newer = '{"format": 99, "plans": []}'
        (folder / "state.json").write_text(newer)
        r = self.sync()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"bridge: error: beta: .*state\.json.*format 99, newer than")
        self.assertNotIn("error: acme", r.stderr)
        self.assertEqual(self.plans("beta"), [])
        self.assertTrue(all(w == ("POST", TOKEN) for w in self.writes("beta")), self.writes("beta"))
        self.assertEqual((folder / "state.json").read_text(), newer)
        self.assertGreater(len(self.plans("acme")), 0)

    def test_tenants_run_at_the_same_time_and_report_in_file_order(self):
        # acme's sign-in takes 3 s: beta does its work meanwhile and finishes first
        self.sims["acme"].faults([{"path": TOKEN, "delay": 3}])
        r = self.sync("--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        signin = self.sims["acme"].requests(TOKEN)[0]["time"]
        beta_times = [q["time"] for q in self.sims["beta"].requests()]
        self.assertTrue(beta_times)
        self.assertLess(max(beta_times), signin + 3)  # all of beta within acme's sign-in
        doc = json.loads(r.stdout)
        self.assertEqual([t["name"] for t in doc["tenants"]], ["acme", "beta"])
        for t in doc["tenants"]:
            self.assertGreater(t["policies"][0]["enforced"]["created"], 0)
        # the metrics file counts each tenant's devices, as made while both ran
        metrics = (self.dir / "metrics.prom").read_text()
        for name in self.sims:
            created = [t for t in doc["tenants"] if t["name"] == name][0]["policies"][0]["enforced"]["created"]
            counted = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                          if line.startswith(f'bridge_devices{{tenant="{name}",'))
            self.assertEqual(counted, created)
        self.assertIn("bridge_last_run_success 1", metrics)

    def test_max_parallel_tenants_1_runs_them_one_after_the_other(self):
        self.sims["acme"].faults([{"path": TOKEN, "delay": 1}])
        r = self.sync(parallel=1)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        acme_last = max(q["time"] for q in self.sims["acme"].requests())
        beta_first = min(q["time"] for q in self.sims["beta"].requests())
        self.assertLess(acme_last, beta_first)
        self.assertLess(r.stdout.index("tenant acme,"), r.stdout.index("tenant beta,"))

    def test_text_output_keeps_each_tenant_together_in_file_order(self):
        self.sims["acme"].faults([{"path": TOKEN, "delay": 2}])
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        heads = [i for i, line in enumerate(lines) if line.startswith("tenant ")]
        self.assertEqual([lines[i].split(",")[0] for i in heads], ["tenant acme", "tenant beta"])
        # acme's block (its plans and watch lines) ends before beta's starts
        acme_block = lines[heads[0]:heads[1]]
        self.assertTrue(any(line.startswith("  plans: ") for line in acme_block))
        self.assertTrue(any(line.startswith("  watch: ") for line in acme_block))

    def test_tenant_picks_one(self):
        r = self.sync("--tenant", "beta")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([q for q in self.sims["acme"].requests() if not
                          q["path"].startswith(("/v2/pmv", "/webhook/"))], [])
        self.assertNotIn("tenant acme", r.stdout)
        self.assertGreater(len(self.plans("beta")), 0)
        self.assertFalse((self.dir / "state" / "acme" / "state.json").exists())


if __name__ == "__main__":
    unittest.main()
