"""bridge sync follows the plans it created: it reads them in bulk on the next run, and counts
each as done, compliant, in progress, stuck, failed or late, with Jamf's failure reasons.

The simulator runs on a frozen clock here: plans move only when the test advances it.
"""

import collections
import json
import re
import unittest

from bridgelib import bridge
from test_sync import ENV, SyncTestCase

PLANS = "/api/v1/managed-software-updates/plans"
ON_BSI = {"operatingSystem": {"supplementalBuildVersion": "25D771280a",
                              "rapidSecurityResponse": "(a)"}}


class Watch(SyncTestCase):
    sim_options = {"fleet_computers": 200, "frozen_clock": True}

    def sync_json(self, path):
        r = self.sync("--json", path=path)
        doc = json.loads(r.stdout)
        return r, doc["tenants"][0]["policies"][0]

    def state_file(self):
        found = list(self.dir.glob("state/**/state.json"))
        self.assertEqual(len(found), 1, found)
        return found[0]

    def test_unfinished_plans_are_followed_in_pages_not_by_id(self):
        path = self.policy_file()
        r, first = self.sync_json(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(first["enforced"]["created"], 128)
        self.sim.reset()
        r, second = self.sync_json(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        # nothing finished meanwhile: one page of Jamf's unfinished plans says it all
        reads = [q["query"] for q in self.sim.requests(PLANS) if q["method"] == "GET" and
                 q["path"] == PLANS]
        self.assertEqual(len(reads), 1, reads)
        self.assertIn("state%3Dout%3D%28", reads[0])
        self.assertEqual(second["watch"]["in_progress"], first["enforced"]["created"])

    def test_outcomes_are_counted_with_jamf_s_reasons(self):
        path = self.policy_file()
        r, first = self.sync_json(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        created = first["enforced"]["created"]
        self.assertGreater(created, 20)
        base = sorted((d["id"] for d in self.sim.devices("computer", "bsi-base")), key=int)
        failing, silent, already = base[:3], base[3:5], base[5]
        for device_id in failing:
            self.sim.patch_device("computer", device_id, {"sim": {"installFailure": "disk full"}})
        for device_id in silent:
            self.sim.patch_device("computer", device_id, {"sim": {"unresponsive": True}})
        # installed by hand before Jamf validated the plan: Jamf says DOWNGRADE_NOT_SUPPORTED
        self.sim.patch_device("computer", already, ON_BSI)
        self.sim.advance(6 * 86400)
        # what Jamf says of each plan now
        sim_plans = {p["planUuid"]: p for p in self.sim.jamf_state()["plans"]}
        reasons = collections.Counter(p["errorReasons"][0] for p in sim_plans.values()
                                      if p["state"] == "PlanFailed")
        by_device = {p["deviceId"]: p for p in sim_plans.values()}
        self.assertEqual(by_device[already]["errorReasons"], ["DOWNGRADE_NOT_SUPPORTED"])
        self.sim.reset()
        r, second = self.sync_json(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        # read in bulk, never one request per plan: more than 128 plans followed, so first
        # the list of the plans Jamf has not finished (none, six days on), then those that
        # finished meanwhile by id, 32 to a request
        reads = [q for q in self.sim.requests(PLANS) if q["method"] == "GET" and
                 q["path"] == PLANS]
        self.assertGreater(created, 128)
        self.assertIn("state%3Dout%3D%28PlanCompleted", reads[0]["query"])
        self.assertEqual(len(reads), 1 + (created + 31) // 32)
        self.assertTrue(all("planUuid%3Din%3D%28" in q["query"] for q in reads[1:]))
        watch = second["watch"]
        failed = {k: v for k, v in reasons.items() if k != "DOWNGRADE_NOT_SUPPORTED"}
        self.assertEqual(watch["failed"], len(failing) + len(silent))
        self.assertEqual(watch["reasons"], failed)
        self.assertIn("NO_DEVICE_STATUS_BY_GRACE_PERIOD", failed)
        self.assertEqual(watch["compliant"], 1)
        # every other plan of the first run completed: its device shows the target, unless
        # it was a base update and the second run sent the BSI, which Jamf has not seen yet
        # (a device counts once, for its newest plan)
        self.assertEqual(watch["in_progress"], second["enforced"]["created"])
        self.assertEqual(watch["done"] + watch["in_progress"],
                         created - len(failing) - len(silent) - 1)
        self.assertEqual(watch["stuck"] + watch["late"], 0)
        # the state keeps each plan's last state and reason
        state = json.loads(self.state_file().read_text())
        recorded = {p["device_id"]: (p["last_state"], p["last_reason"]) for p in state["plans"]
                    if p["device_id"] in failing}
        self.assertEqual({s for s, _ in recorded.values()}, {"PlanFailed"})
        # the text summary says the same in one line
        r = self.sync(path=path)
        self.assertRegex(r.stdout, r"watch: \d+ devices: \d+ done, 1 compliant, \d+ in_progress, "
                         r"0 stuck, 5 failed, 0 late \(")

    def test_status_agrees_with_the_simulator(self):
        path = self.policy_file()
        self.assertEqual(self.sync(path=path).returncode, 0)
        base = sorted((d["id"] for d in self.sim.devices("computer", "bsi-base")), key=int)
        for device_id in base[:4]:
            self.sim.patch_device("computer", device_id, {"sim": {"installFailure": "disk full"}})
        self.sim.patch_device("computer", base[4], ON_BSI)
        self.sim.advance(6 * 86400)
        self.sim.reset()
        r = bridge("status", "--devices", "--json", "-c", str(path), env=ENV)
        self.assertEqual(r.returncode, 0, r.stderr)
        # status reads and writes nothing else: no lock, no state change, only GETs
        self.assertEqual([q["method"] for q in self.sim.requests() if q["method"] != "GET"],
                         ["POST"])  # the token
        policy = json.loads(r.stdout)["tenants"][0]["policies"][0]
        rows = {d["id"]: d for d in policy["devices"]}
        # the simulator's own view of each device and its plan
        devices = {d["id"]: d for d in self.sim.devices("computer")}
        plans = self.sim.jamf_state()["plans"]
        self.assertEqual(set(rows), {p["deviceId"] for p in plans})
        for p in plans:
            os_ = devices[p["deviceId"]]["operatingSystem"]
            build = p["config"].get("buildVersion")
            at = (os_["supplementalBuildVersion"] == build if build else
                  os_["version"] == p["config"]["specificVersion"])
            want = (("compliant" if p["state"] == "PlanFailed" else "done") if at else
                    "failed" if p["state"] == "PlanFailed" else "in_progress")
            with self.subTest(device=p["deviceId"]):
                self.assertEqual(rows[p["deviceId"]]["class"], want, rows[p["deviceId"]])
                self.assertEqual(rows[p["deviceId"]]["state"], p["state"])
        self.assertEqual(policy["counts"]["failed"], 4)
        self.assertEqual(policy["counts"]["compliant"], 1)
        group = [g for g in policy["groups"] if g["build"] == "25D771280a"][0]
        reasons = [x for x in group["reasons"]]
        self.assertEqual(sum(x["devices"] for x in reasons), 4)
        self.assertTrue(all(x["explanation"] and x["hint"] for x in reasons), reasons)
        # the text says the same
        r = bridge("status", "-c", str(path), env=ENV)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"26\.3\.1 25D771280a, ring default, deadline \S+: \d+ devices: "
                         r"\d+ done, 1 compliant, 0 in_progress, 0 stuck, 4 failed, 0 late")
        self.assertIn("failed: DECLARATIVE_DEVICE_MANAGEMENT_STATUS_RESPONSE_FAILURE_REASON_RECEIVED x4",
                      r.stdout)

    def test_a_plan_refused_for_a_transient_reason_is_sent_again_an_hour_later(self):
        path = self.policy_file()
        device = sorted((d["id"] for d in self.sim.devices("computer", "bsi-base")), key=int)[0]
        # someone else's plan for the device is still running when bridge's arrives
        status, _, _ = self.sim.call("POST", PLANS, {
            "devices": [{"deviceId": device, "objectType": "COMPUTER"}],
            "config": {"updateAction": "DOWNLOAD_ONLY", "versionType": "LATEST_ANY"}},
            token=self.sim.pro_token())
        self.assertEqual(status, 201)
        self.assertEqual(self.sync(path=path).returncode, 0)
        self.sim.advance(30)
        r, policy = self.sync_json(path)
        self.assertEqual(policy["watch"]["reasons"], {"EXISTING_PLAN_FOR_DEVICE_IN_PROGRESS": 1})
        self.assertEqual(policy["enforced"]["created"], 0)  # not again within the hour
        # an hour later by the state's clock, the other plan long done: bridge tries again
        self.sim.advance(3600)
        state = json.loads(self.state_file().read_text())
        for p in state["plans"]:
            if p["device_id"] == device:
                p["last_state_at"] = "2020-01-01T00:00:00Z"
        self.state_file().write_text(json.dumps(state))
        r, policy = self.sync_json(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(policy["enforced"]["created"], 1)
        self.assertIn(f"device {device}: its plan", r.stderr)
        mine = [p for p in self.sim.jamf_state()["plans"] if p["deviceId"] == device and
                p["config"].get("buildVersion") == "25D771280a"]
        self.assertEqual(len(mine), 2)
        # counted once, by its newest plan, which is no failure
        self.assertEqual(policy["watch"]["failed"], 0)

    def test_a_plan_that_does_not_move_is_stuck_then_late(self):
        path = self.policy_file()
        self.assertEqual(self.sync(path=path).returncode, 0)
        self.sim.advance(60)          # validated and on their way, not installed yet
        self.assertEqual(self.sync(path=path).returncode, 0)
        # four days later by the state's clock: no state changed since
        state = json.loads(self.state_file().read_text())
        for p in state["plans"]:
            self.assertIsNotNone(p["last_state"])
            p["last_state_at"] = "2020-01-01T00:00:00Z"
        self.state_file().write_text(json.dumps(state))
        r, policy = self.sync_json(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(policy["watch"]["stuck"], len(state["plans"]))
        # and once their deadlines have passed by more than the grace, they are late
        for p in state["plans"]:
            p["deadline"] = "2020-01-01T18:00:00"
        self.state_file().write_text(json.dumps(state))
        r, policy = self.sync_json(path)
        self.assertEqual(policy["watch"]["late"], len(state["plans"]))


class ReadTogether(SyncTestCase):
    """A run reads the list of Jamf's unfinished plans and the inventory at once: both first
    pages, then the others, max_connections at a time; one failing leaves the other read."""

    sim_options = {"fleet_computers": 4500, "frozen_clock": True}
    inventory = "/api/v4/computers-inventory"

    def setUp(self):
        super().setUp()
        self.path = self.policy_file(batch_size=1000)
        r = self.sync(path=self.path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.created = int(re.search(r"plans: (\d+) created", r.stdout).group(1))
        self.assertGreater(self.created, 2000)  # more than a page
        self.sim.reset()

    def lists(self):
        """The page numbers of the plans list and inventory GETs, in the order they came."""
        out = []
        for q in self.sim.requests():
            if q["method"] != "GET" or q["path"] not in (PLANS, self.inventory):
                continue
            if q["path"] == PLANS and "state%3Dout%3D%28" not in q["query"]:
                continue  # plans read by id
            page = int(re.search(r"(?:^|&)page=(\d+)", q["query"]).group(1))
            out.append(("plans" if q["path"] == PLANS else "inventory", page))
        return out

    def test_both_first_pages_go_out_before_any_other(self):
        r = self.sync(path=self.path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        got = self.lists()
        # the plans, all unfinished, in 2 pages; 4500 computers in 3
        self.assertEqual(sorted(got), [("inventory", 0), ("inventory", 1), ("inventory", 2),
                                       ("plans", 0), ("plans", 1)])
        self.assertEqual(sorted(got[:2]), [("inventory", 0), ("plans", 0)])
        self.assertIn(f"read the state of {self.created} unfinished plans", r.stderr)

    def test_a_failed_plans_list_leaves_the_inventory_read(self):
        self.sim.faults([{"path": PLANS, "method": "GET", "count": 1, "status": 404}])
        r = self.sync(path=self.path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("following plans:", r.stderr)
        self.assertIn("4500 computers in Jamf Pro (3 requests)", r.stderr)
        self.assertEqual(sorted(p for k, p in self.lists() if k == "inventory"), [0, 1, 2])
        self.assertRegex(r.stdout, r"plans: 0 created, \d+ already there, 0 refused")

    def test_a_failed_inventory_leaves_the_plans_read(self):
        self.sim.faults([{"path": self.inventory, "count": 1, "status": 404}])
        r = self.sync(path=self.path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"read the state of {self.created} unfinished plans", r.stderr)
        self.assertRegex(r.stderr, r"policy macs: .*computers-inventory \(404")
        self.assertEqual(sorted(p for k, p in self.lists() if k == "plans"), [0, 1])
        self.assertEqual([k for k, p in self.lists()].count("inventory"), 1)
        self.assertEqual(self.writes(), [("POST", "/api/oauth/token")])


if __name__ == "__main__":
    unittest.main()
