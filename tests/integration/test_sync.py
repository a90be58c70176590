"""bridge sync in plan mode against the simulator: exactly the eligible devices get a plan for
the right build, a second run sends nothing, and a run killed after any write request is
finished by the next run without a duplicate."""

import json
import os
import re
import signal
import subprocess
import time
import unittest
import urllib.parse

from bridgelib import ROOT, assert_no_secrets, bridge
from simlib import (ENVIRONMENT_ID, JAMF_CLIENT_ID, JAMF_CLIENT_SECRET, PLATFORM_CLIENT_ID,
                    PLATFORM_CLIENT_SECRET)
from test_jamf import JamfTestCase
from test_plan import EXPECTED

PLANS = "/api/v1/managed-software-updates/plans"
ENV = {"JAMF_SECRET": JAMF_CLIENT_SECRET}


class SyncTestCase(JamfTestCase):
    sim_options = {"fleet_computers": 1000}

    def policy_file(self, batch_size=50, scope="All Managed Clients", extra=""):
        path = self.dir / "bridge.yaml"
        path.write_text(
            "state_dir: state\n"
            "http: {retries: 1, retry_max_time: 30s}\n"
            f"gdmf: {{url: \"{self.sim.url}/v2/pmv\", ca_file: \"{self.sim.ca_file}\"}}\n"
            f"jamf: {{{self.jamf_yaml()}, client_id: {JAMF_CLIENT_ID}, "
            "client_secret: env:JAMF_SECRET}\n"
            "policies:\n"
            "  - name: macs\n"
            "    platform: macOS\n"
            "    mode: plan\n"
            f"    scope: {{groups: [\"{scope}\"]}}\n"
            "    models: {exclude: '^VMA'}\n"
            f"    batch_size: {batch_size}\n"
            "    deadline: {days_after_posting: 3, time: \"18:00\"}\n" + extra)
        return path

    def sync(self, *args, path=None):
        return bridge("sync", "-c", str(path or self.policy_file()), *args, env=ENV)

    def writes(self):
        return [(q["method"], q["path"]) for q in self.sim.requests()
                if q["method"] not in ("GET", "HEAD")]

    def plans_by_device(self):
        """{device id: [(specificVersion, buildVersion)]} of every plan in the simulator."""
        out = {}
        for p in self.sim.jamf_state()["plans"]:
            config = p["config"]
            out.setdefault(p["deviceId"], []).append((config.get("specificVersion"),
                                                      config.get("buildVersion")))
        return out

    def expected_plans(self):
        """What an uninterrupted run creates: {device id: [(version, build or None)]}."""
        want = {}
        for d in self.sim.devices("computer"):
            outcome, version, _extra, build = EXPECTED[d["sim"]["category"]]
            if outcome == "enforce":
                want[d["id"]] = [(version, build)]
            elif outcome == "base_update":
                want[d["id"]] = [(version, None)]
        return want


def superseding_feed():
    """The 2026-03-17 capture plus a hand-made 26.3.1 (b) on the same base as (a)."""
    doc = json.loads((ROOT / "tests" / "fixtures" / "gdmf" / "pmv-2026-03-17.json").read_text())
    macs = doc["PublicBackgroundSecurityImprovements"]["macOS"]
    a = [e for e in macs if e["Build"] == "25D771280a"][0]
    macs.append({**a, "ProductVersionExtra": "(b)", "Build": "25D771290b"})
    return doc


class Sync(SyncTestCase):
    def test_exactly_the_eligible_devices_get_the_right_build(self):
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        got = self.plans_by_device()
        self.assertEqual(got, self.expected_plans())
        self.assertRegex(r.stdout, r"plans: \d+ created, 0 already there, 0 refused")
        posts = [q for q in self.sim.requests(PLANS) if q["method"] == "POST"]
        for q in posts:
            body = json.loads(q["body"])
            self.assertLessEqual(len(body["devices"]), 50)
            self.assertEqual(body["config"]["updateAction"], "DOWNLOAD_INSTALL_SCHEDULE")
            if body["config"]["versionType"] == "CUSTOM_VERSION":
                self.assertNotIn("(", body["config"]["specificVersion"])
                self.assertIn(body["config"]["buildVersion"], ("25D771280a", "25D771400a"))
            else:
                self.assertEqual(body["config"]["versionType"], "SPECIFIC_VERSION")
                self.assertNotIn("buildVersion", body["config"])

    def test_sync_does_not_ask_for_the_hardware_section(self):
        # a computer's serial number (HARDWARE, a fifth of each page) is shown by plan only
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        pages = self.sim.requests("/api/v4/computers-inventory")
        self.assertTrue(pages)
        for q in pages:
            self.assertNotIn("section=HARDWARE", q["query"])
            for section in ("GENERAL", "OPERATING_SYSTEM", "GROUP_MEMBERSHIPS"):
                self.assertIn(f"section={section}", q["query"])

    def test_a_policy_s_own_plan_template_is_what_is_sent(self):
        (self.dir / "plan.json").write_text(
            (ROOT / "templates" / "plan.json").read_text().replace("{{max_deferrals}}", "7"))
        r = self.sync(path=self.policy_file(extra="    templates: {plan: plan.json}\n"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        posts = [q for q in self.sim.requests(PLANS) if q["method"] == "POST"]
        self.assertTrue(posts)
        for q in posts:
            self.assertEqual(json.loads(q["body"])["config"]["maxDeferrals"], 7)

    def test_second_run_sends_no_write_request(self):
        self.assertEqual(self.sync().returncode, 0)
        self.sim.reset()
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.writes(), [("POST", "/api/oauth/token")])
        self.assertRegex(r.stdout, r"plans: 0 created, \d+ already there, 0 refused")

    def test_withdrawn_bsi_is_reported_not_retried(self):
        self.assertEqual(self.sync().returncode, 0)
        # Apple withdraws the BSIs: the 2025 capture lists none
        self.sim.set_gdmf((ROOT / "tests" / "fixtures" / "gdmf" / "pmv-2025-10-30.json").read_bytes())
        self.sim.reset()
        r = self.sync("--refresh")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Apple no longer offers macOS 26.3.1 25D771280a", r.stderr)
        self.assertIn("plans cannot be cancelled one by one", r.stderr)
        self.assertEqual([w for w in self.writes() if w[1].startswith(PLANS)], [])

    def test_superseded_bsi_is_retargeted(self):
        self.assertEqual(self.sync().returncode, 0)
        self.sim.set_gdmf(superseding_feed())
        self.sim.reset()
        r = self.sync("--refresh")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        posts = [json.loads(q["body"]) for q in self.sim.requests(PLANS) if q["method"] == "POST"]
        builds = {p["config"].get("buildVersion") for p in posts}
        self.assertEqual(builds, {"25D771290b"})
        want = {d for d, plans in self.expected_plans().items() if plans[0][1] == "25D771280a"}
        on_a = {d["id"] for d in self.sim.devices("computer") if d["sim"]["category"] == "on-bsi"}
        got = {dev["deviceId"] for p in posts for dev in p["devices"]}
        self.assertEqual(got, want | on_a)  # those on (a) move on to (b) as well

    def test_dry_run_sends_no_write_request(self):
        r = self.sync("--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.writes(), [("POST", "/api/oauth/token")])
        self.assertEqual(self.sim.jamf_state()["plans"], [])

    def test_custom_versions_off_is_named_with_its_fix(self):
        self.sim.set_feature_toggle(customVersionEnabled=False)
        r = self.sync()
        self.assertEqual(r.returncode, 1)
        self.assertIn("customVersionEnabled", r.stderr)
        self.assertIn("ask Jamf Support", r.stderr)
        self.assertEqual([w for w in self.writes() if w[1].startswith(PLANS)], [])

    def test_a_second_run_at_the_same_time_exits_5(self):
        self.sim.faults([{"path": PLANS, "method": "POST", "delay": 3, "count": 1}])
        first = subprocess.Popen([os.environ["BRIDGE_BIN"], "sync", "-c", str(self.policy_file())],
                                 env={**os.environ, **ENV}, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while not [q for q in self.sim.requests(PLANS) if q["method"] == "POST"]:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
            r = self.sync()
            self.assertEqual(r.returncode, 5, r.stderr)
            self.assertIn("bridge.lock", r.stderr)
        finally:
            first.wait(60)


class ConcurrentPlans(SyncTestCase):
    """Plan requests go out jamf.max_connections at a time, each batch journaled before it is
    sent (KilledRuns); one refused or lost among them costs only its own devices."""

    sim_options = {"fleet_computers": 300}
    contract = False  # timing: straight to the simulator

    def policy(self, connections=3):
        path = self.policy_file(20)
        path.write_text(path.read_text().replace(
            "client_secret: env:JAMF_SECRET}",
            f"client_secret: env:JAMF_SECRET, max_connections: {connections}}}"))
        return path

    def posts(self):
        return [q for q in self.sim.requests(PLANS) if q["method"] == "POST"]

    def test_requests_overlap_up_to_max_connections(self):
        self.sim.faults([{"path": PLANS, "method": "POST", "delay": 1, "count": 1000}])
        r = self.sync(path=self.policy(3))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.plans_by_device(), self.expected_plans())
        starts = sorted(q["time"] for q in self.posts())
        self.assertGreaterEqual(len(starts), 6)
        # each answer takes 1 s: requests that started within 0.5 s ran at the same time
        most = max(sum(1 for t in starts if s <= t < s + 0.5) for s in starts)
        self.assertEqual(most, 3, starts)

    def test_a_refused_request_stops_the_policy_after_its_round(self):
        self.sim.faults([{"path": PLANS, "method": "POST", "skip": 1, "count": 1,
                          "status": 400}])
        r = self.sync(path=self.policy(3))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        posts = self.posts()
        # the three sent together are answered and recorded; nothing is sent after them
        self.assertEqual(len(posts), 3)
        refused = {d["deviceId"] for d in json.loads(posts[1]["body"])["devices"]}
        created = {d["deviceId"] for q in (posts[0], posts[2])
                   for d in json.loads(q["body"])["devices"]}
        self.assertTrue(refused)
        self.assertRegex(r.stdout, rf"plans: {len(created)} created, 0 already there, "
                                   rf"{len(refused)} refused")
        self.assertEqual(set(self.plans_by_device()), created)
        # the round journaled meanwhile was never sent, and is not taken for one that was:
        # the next run looks nothing up, and creates the rest
        self.sim.clear_faults()
        self.sim.reset()
        r = self.sync(path=self.policy(3))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("reconcile", r.stderr)
        self.assertEqual([q["query"] for q in self.sim.requests(PLANS)
                          if "device.deviceId" in urllib.parse.unquote(q["query"])], [])
        self.assertEqual(self.plans_by_device(), self.expected_plans())

    def test_the_next_round_is_journaled_while_one_travels(self):
        self.sim.faults([{"path": PLANS, "method": "POST", "delay": 1.5, "count": 3}])
        journal = self.dir / "state" / "journal.jsonl"
        proc = subprocess.Popen([os.environ["BRIDGE_BIN"], "sync", "-c", str(self.policy(3))],
                                env={**os.environ, **ENV}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while len(self.posts()) < 3:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.02)
            time.sleep(0.5)  # the first round is still waiting for its answers
            lines = [json.loads(line) for line in journal.read_text().splitlines()]
            begun = [line["plan"]["device_id"] for line in lines if line["op"] == "begin"]
            self.assertEqual(len(self.posts()), 3)
            self.assertEqual([line for line in lines if line["op"] != "begin"], [])
        finally:
            out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, out + err)
        posts = self.posts()
        rounds = [{d["deviceId"] for q in posts[k:k + 3] for d in json.loads(q["body"])["devices"]}
                  for k in (0, 3)]
        # the second round's intents were on disk before the first round was answered
        self.assertEqual(set(begun), rounds[0] | rounds[1])
        self.assertEqual(len(begun), len(rounds[0]) + len(rounds[1]))
        self.assertEqual(self.plans_by_device(), self.expected_plans())

    def test_a_lost_answer_among_others_is_reconciled_without_duplicates(self):
        # Jamf creates the second request's plans, but its answer never arrives
        self.sim.faults([{"path": PLANS, "method": "POST", "skip": 1, "count": 1,
                          "truncate": True}])
        r = self.sync(path=self.policy(3))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.sim.clear_faults()
        r = self.sync(path=self.policy(3))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.plans_by_device(), self.expected_plans())


    def test_a_2xx_that_does_not_say_what_it_made_is_reconciled_without_duplicates(self):
        # Jamf creates the second request's plans but answers without its "plans" list:
        # they may exist, so the next run looks them up instead of asking for them again
        self.sim.faults([{"path": PLANS, "method": "POST", "skip": 1, "count": 1,
                          "status": 201, "body": "{}", "handled": True}])
        r = self.sync(path=self.policy(3))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('no "plans" list', r.stdout + r.stderr)
        self.sim.clear_faults()
        r = self.sync(path=self.policy(3))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # one plan each: the unnamed ones were found, not made again
        self.assertEqual(self.plans_by_device(), self.expected_plans())


class KilledRuns(SyncTestCase):
    """SIGKILL after each plan POST in turn (before and after Jamf acted on it). Not through
    the contract check: a killed client leaves Prism with broken exchanges by design."""

    sim_options = {"fleet_computers": 120}
    contract = False

    def killed_run(self, nth, after):
        """Start sync, kill it while the nth plan POST is in flight; return nothing."""
        rule = {"path": PLANS, "method": "POST", "skip": nth - 1, "count": 1}
        if after:
            rule["delay_after"] = 5   # Jamf created the plans; the answer never arrives
        else:
            rule.update(delay=5, close=True)  # the request never reaches Jamf's handler
        self.sim.faults([rule])
        proc = subprocess.Popen([os.environ["BRIDGE_BIN"], "sync", "-c", str(self.policy_file(20))],
                                env={**os.environ, **ENV}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while len([q for q in self.sim.requests(PLANS) if q["method"] == "POST"]) < nth:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                self.fail(f"sync ended before POST {nth} (status {proc.returncode})")
            time.sleep(0.02)
        time.sleep(0.3)  # the handler has run (after=True) or is still waiting (after=False)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.sim.clear_faults()

    def test_kill_after_each_write_leaves_no_duplicate(self):
        # how many plan POSTs an uninterrupted run makes
        want = self.expected_plans()
        per_target = {}
        for plans in want.values():
            per_target[plans[0]] = per_target.get(plans[0], 0) + 1
        posts = sum((n + 19) // 20 for n in per_target.values())
        self.assertGreaterEqual(posts, 3)
        for nth in range(1, posts + 1):
            for after, saved in ((False, False), (True, False), (False, True), (True, True)):
                with self.subTest(post=nth, jamf_acted=after, earlier_state=saved):
                    self.sim.jamf_reset()
                    for f in (self.dir / "state").glob("*"):
                        f.unlink()
                    if saved:
                        # an earlier run left a state file: the killed run's open intents
                        # are resolved by looking each plan up, not by adopting them all
                        r = self.sync(path=self.policy_file(20, scope="Empty Group"))
                        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self.killed_run(nth, after)
                    r = self.sync(path=self.policy_file(20))
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self.assertEqual(self.plans_by_device(), want)
                    # and a third run has nothing left to do
                    self.sim.reset()
                    r = self.sync(path=self.policy_file(20))
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self.assertEqual(self.writes(), [("POST", "/api/oauth/token")])

    def test_interrupted_creates_are_looked_up_many_devices_a_request(self):
        r = self.sync(path=self.policy_file(20, scope="Empty Group"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.killed_run(2, after=True)
        self.sim.reset()
        r = self.sync(path=self.policy_file(20))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.plans_by_device(), self.expected_plans())
        told = re.search(r"reconcile: (\d+) interrupted plan creates looked up: (\d+) plans? "
                         r"exists?, (\d+) never created", r.stderr)
        self.assertIsNotNone(told, r.stderr)
        looked_up, found = int(told.group(1)), int(told.group(2))
        self.assertGreaterEqual(looked_up, 40)  # at least the two batches sent
        self.assertGreaterEqual(found, 20)      # the batch Jamf created before the kill
        filters = [urllib.parse.parse_qs(q["query"]).get("filter", [""])[0]
                   for q in self.sim.requests(PLANS) if q["method"] == "GET"]
        lookups = [f for f in filters if f.startswith("device.deviceId")]
        # every device in one request, not a request per device
        self.assertEqual(len(lookups), 1, lookups)
        self.assertTrue(lookups[0].startswith("device.deviceId=in=("), lookups[0])


if __name__ == "__main__":
    unittest.main()


RINGS = ("    rings:\n"
         "      - {name: pilot, groups: [\"Ring 1 - Pilot\"]}\n"
         "      - {name: everyone, delay_days: 0}\n")


class Rings(SyncTestCase):
    """Ring 0 first; ring 1 once ring 0 has started and its delay passed; a success gate
    stays closed while the pilot's devices are not yet on the BSI (more in test_rollout)."""

    sim_options = {"fleet_computers": 300}

    def pilot_ids(self):
        return set([g for g in self.sim.jamf_state()["groups"]
                    if g["name"] == "Ring 1 - Pilot"][0]["members"])

    def planned(self):
        return set(self.plans_by_device())

    def test_pilot_first_then_everyone(self):
        path = self.policy_file(extra=RINGS)
        r = self.sync(path=path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        first = self.planned()
        self.assertTrue(first & self.pilot_ids())
        # each BSI rolls out on its own: outside the pilot, only what the pilot has none of
        versions = {v for d, plans in self.plans_by_device().items() for v, _ in plans}
        pilot_versions = {v for d, plans in self.plans_by_device().items() for v, _ in plans
                          if d in self.pilot_ids()}
        outside = {v for d, plans in self.plans_by_device().items() for v, _ in plans
                   if d not in self.pilot_ids()}
        self.assertFalse(outside & pilot_versions, (outside, pilot_versions))
        self.assertIn("26.3.1", versions)
        self.assertRegex(r.stdout, r"ring everyone: ring_waiting 26\.3\.1 \(a\) 25D771280a by ")
        self.assertRegex(r.stdout, r"rollout: ring everyone, 26\.3\.1 \(a\) 25D771280a: "
                         r"waits \(ring pilot has not started yet\), \d+ of \d+ compliant")
        r = self.sync(path=path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.planned(), set(self.expected_plans()))

    def test_success_gate_keeps_the_next_ring_closed(self):
        path = self.policy_file(extra=RINGS.replace("delay_days: 0", "delay_days: 0, "
                                                    "min_success_percent: 90"))
        self.assertEqual(self.sync(path=path).returncode, 0)
        first = self.planned()
        r = self.sync(path=path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.planned(), first)
        self.assertRegex(r.stdout, r"rollout: ring everyone, 26\.3\.1 \(a\) 25D771280a: "
                         r"waits \(ring pilot is \d+% compliant \(\d+ of \d+\), needs 90%\)")


class GroupLookups(SyncTestCase):
    """The groups every policy names are looked up in one request, sent with the inventory."""

    sim_options = {"fleet_computers": 300}

    def test_every_policy_s_groups_are_looked_up_at_once_with_the_inventory(self):
        path = self.policy_file(extra=RINGS + (
            "  - name: ghost\n"
            "    platform: macOS\n"
            "    mode: plan\n"
            "    scope: {groups: [\"All Managed Clients\"], exclude_groups: [\"No Such Group\"]}\n"
            "    deadline: {days_after_posting: 3, time: \"18:00\"}\n"))
        self.sim.faults([{"path": "/api/v4/computers-inventory", "delay": 1.5, "count": 1}])
        r = self.sync(path=path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('policy ghost: the computer group "No Such Group" does not exist in Jamf Pro',
                      r.stderr)
        # the other policy is not held back by it
        self.assertTrue(self.plans_by_device())
        lookups = self.sim.requests("/api/v2/groups")
        self.assertEqual(len(lookups), 1, [q["query"] for q in lookups])
        query = urllib.parse.parse_qs(lookups[0]["query"])
        self.assertEqual(query["filter"], ['groupName=in=("All Managed Clients","Ring 1 - Pilot",'
                                           '"No Such Group");groupType==COMPUTER'])
        # asked while the inventory's page was on its way, not after it
        inventory = self.sim.requests("/api/v4/computers-inventory")
        self.assertLess(lookups[0]["time"], inventory[0]["time"] + 1.0)

    def test_a_failed_lookup_fails_the_policies_that_name_the_groups_without_asking_again(self):
        self.sim.faults([{"path": "/api/v2/groups", "status": 503, "count": 10}])
        r = self.sync(path=self.policy_file(extra=RINGS))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"policy macs: Jamf Pro failed GET /api/v2/groups \(503")
        # one request and its one retry (http.retries: 1), not one more per group
        self.assertEqual(len(self.sim.requests("/api/v2/groups")), 2)
        self.assertEqual(self.writes(), [("POST", "/api/oauth/token")])


class Adoption(SyncTestCase):
    """Without a state file, the plans Jamf has are adopted before anything is created, from
    the list of unfinished plans read with the inventory."""

    sim_options = {"fleet_computers": 300}

    def lost_state(self):
        """A run that created plans, then its state folder gone."""
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for f in (self.dir / "state").glob("*"):
            f.unlink()
        self.sim.reset()

    def test_a_lost_state_adopts_jamf_s_plans_read_with_the_inventory(self):
        self.lost_state()
        want = self.plans_by_device()
        self.sim.faults([{"path": "/api/v4/computers-inventory", "delay": 1.5, "count": 1}])
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stderr, rf"reconcile: {sum(map(len, want.values()))} unfinished plans "
                         r"in Jamf Pro taken into the state")
        self.assertEqual(self.writes(), [("POST", "/api/oauth/token")])
        self.assertEqual(self.plans_by_device(), want)
        lists = [q for q in self.sim.requests(PLANS) if q["method"] == "GET"]
        self.assertEqual(len(lists), 1, [q["query"] for q in lists])
        self.assertEqual(urllib.parse.parse_qs(lists[0]["query"])["filter"],
                         ["state=out=(PlanCompleted,PlanFailed,PlanException,PlanCanceled)"])
        # asked while the inventory's page was on its way, not before it
        inventory = self.sim.requests("/api/v4/computers-inventory")
        self.assertLess(lists[0]["time"], inventory[0]["time"] + 1.0)

    def test_nothing_is_created_until_jamf_s_plans_were_read(self):
        self.lost_state()
        self.sim.faults([{"path": PLANS, "method": "GET", "status": 503, "count": 10}])
        r = self.sync()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"following plans: Jamf Pro failed GET "
                         r"/api/v1/managed-software-updates/plans \(503")
        self.assertIn("reconciling with Jamf Pro: the plans it has could not be read; nothing "
                      "is created until that succeeds", r.stderr)
        self.assertEqual(self.writes(), [("POST", "/api/oauth/token")])
        # and once Jamf answers, the next run adopts them and creates nothing twice
        self.sim.clear_faults()
        self.sim.reset()
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.writes(), [("POST", "/api/oauth/token")])


class BlueprintBase(SyncTestCase):
    """A blueprint-mode policy file and a view of what bridge made in Jamf."""

    sim_options = {"fleet_computers": 200}
    deploy_wait = "60s"

    def setUp(self):
        super().setUp()
        self.fast_deployments()

    def fast_deployments(self):
        """Deployments take a second here, not the minutes they can take in Jamf."""
        self.sim.jamf_settings(deploy_step=0.5)

    def policy_file(self, batch_size=50, scope="All Managed Clients", extra=""):
        path = super().policy_file(batch_size, scope, extra)
        text = path.read_text().replace("mode: plan", "mode: blueprint")
        text = text.replace("policies:\n", (
            f"platform: {{url: \"{self.sim.url}\", ca_file: \"{self.sim.ca_file}\", "
            f"environment_id: {ENVIRONMENT_ID}, client_id: {PLATFORM_CLIENT_ID}, "
            f"client_secret: env:PLATFORM_SECRET, deploy_wait: {self.deploy_wait}}}\n"
            "policies:\n"))
        path.write_text(text)
        return path

    def rerun_writes_nothing(self, path=None, returncode=0):
        """Run sync again: it exits returncode and sends no write but the two sign-ins."""
        self.sim.reset()
        r = self.sync(path=path)
        self.assertEqual(r.returncode, returncode, r.stdout + r.stderr)
        self.assertEqual(self.writes(), [("POST", "/api/oauth/token"), ("POST", "/auth/token")])
        return r

    def deployments(self):
        """{blueprint name: last deployment state} as bridge's state file records it."""
        found = list(self.dir.glob("state/**/state.json"))
        self.assertEqual(len(found), 1, found)
        return {b["name"]: b["last_state"] for b in json.loads(found[0].read_text())["blueprints"]}

    def sync(self, *args, path=None):
        return bridge("sync", "-c", str(path or self.policy_file()), *args,
                      env={**ENV, "PLATFORM_SECRET": PLATFORM_CLIENT_SECRET})

    def sync_killed_after_post(self, path, earlier):
        """Run sync and SIGKILL it 0.3 s after its POST to path number earlier + 1 reached the
        simulator (the caller's fault rule holds that POST's answer back); faults are then
        cleared."""
        proc = subprocess.Popen([os.environ["BRIDGE_BIN"], "sync", "-c", str(self.policy_file())],
                                env={**os.environ, **ENV, "PLATFORM_SECRET": PLATFORM_CLIENT_SECRET},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while len([q for q in self.sim.requests(path) if q["method"] == "POST"]) <= earlier:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.sim.clear_faults()

    def jamf_objects(self):
        """{name: (sorted member ids, declaration payload, scoped group uuid)} of bridge's."""
        state = self.sim.jamf_state()
        groups = {g["name"]: sorted(g["members"], key=int) for g in state["staticGroups"]
                  if g["name"].startswith("bridge: ")}
        uuids = {g["platformId"]: g["name"] for g in state["groups"]}
        out = {}
        for b in state["platform"]["blueprints"]:
            decl = b["steps"][0]["components"][0]["configuration"]["declarations"][0]
            scope = b["scope"]["deviceGroups"]
            self.assertEqual(len(scope), 1)
            out[b["name"]] = (groups.get(uuids.get(scope[0])), decl["payload"],
                              uuids.get(scope[0]))
        self.assertEqual(len(groups), len(out))  # one group per blueprint, none left over
        return out


class BlueprintSync(BlueprintBase):
    """Blueprint mode: per target a static group of exactly its devices and a deployed
    blueprint with the custom declaration scoped to it; reruns change nothing."""

    def test_a_refused_platform_sign_in_exits_3_and_leaves_only_blueprints_out(self):
        # the same tenant has a plan-mode policy too, which does not need the Platform
        plans = ("  - name: mac-plans\n    platform: macOS\n    mode: plan\n"
                 "    scope: {groups: [\"All Managed Clients\"]}\n"
                 "    deadline: {days_after_posting: 3, time: \"18:00\"}\n")
        path = self.policy_file()
        path.write_text(path.read_text() + plans)
        r = bridge("sync", "--json", "-c", str(path), env={**ENV, "PLATFORM_SECRET": "not-the-secret"})
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"bridge: error: default: .*refused the sign-in.*; the "
                         r"blueprint policies are left out")
        tenant = json.loads(r.stdout)["tenants"][0]
        self.assertIn("platform.client_secret", tenant["error"])
        self.assertEqual([p["name"] for p in tenant["policies"]], ["mac-plans"])
        self.assertGreater(tenant["policies"][0]["enforced"]["created"], 0)
        writes = {w[1] for w in self.writes() if "token" not in w[1]}
        self.assertEqual(writes, {PLANS})  # no group, no blueprint
        assert_no_secrets(self, r.stdout, r.stderr)

    def test_groups_hold_exactly_the_eligible_devices(self):
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        got = self.jamf_objects()
        want = {}
        for dev, plans in self.expected_plans().items():
            version, build = plans[0]
            extra = " (a)" if build else ""
            name = f"bridge: macs default macOS {version}{extra}{' ' + build if build else ''}"
            want.setdefault(name, []).append(dev)
        self.assertEqual(set(got), set(want))
        for name, (members, payload, group) in got.items():
            self.assertEqual(group, name)
            self.assertEqual(members, sorted(want[name], key=int))
            self.assertNotIn("(", payload["TargetOSVersion"])
            self.assertRegex(payload["TargetLocalDateTime"], r"^\d{4}-\d\d-\d\dT18:00:00$")
            if name.endswith("25D771280a"):
                self.assertEqual(payload["TargetBuildVersion"], "25D771280a")
            elif name.endswith(" 26.3.1"):
                self.assertNotIn("TargetBuildVersion", payload)  # the base update
        deploys = [q for q in self.sim.requests("/blueprints/v1/blueprints/") if q["path"].endswith("/deploy")]
        self.assertEqual(len(deploys), len(got))

    def test_second_run_sends_no_write_request(self):
        self.assertEqual(self.sync().returncode, 0)
        self.rerun_writes_nothing()

    def test_rings_pilot_first_then_everyone(self):
        path = self.policy_file(extra=RINGS)
        self.assertEqual(self.sync(path=path).returncode, 0)
        names = set(self.jamf_objects())
        self.assertTrue(any(n.startswith("bridge: macs pilot ") for n in names), names)
        # each BSI rolls out on its own: "everyone" only has what the pilot has none of
        version = lambda n: n.split(" macOS ")[1].split(" ")[0]  # noqa: E731
        pilot = {version(n) for n in names if n.startswith("bridge: macs pilot ")}
        everyone = {version(n) for n in names if n.startswith("bridge: macs everyone ")}
        self.assertIn("26.3.1", pilot)
        self.assertFalse(pilot & everyone, names)
        r = self.sync(path=path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        names = set(self.jamf_objects())
        self.assertTrue(any(n.startswith("bridge: macs everyone ") for n in names), names)

    def test_superseded_bsi_moves_devices_to_a_new_blueprint(self):
        self.assertEqual(self.sync().returncode, 0)
        old = "bridge: macs default macOS 26.3.1 (a) 25D771280a"
        self.sim.set_gdmf(superseding_feed())
        self.sim.reset()
        r = self.sync("--refresh")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        state = self.sim.jamf_state()
        groups = {g["name"]: g["members"] for g in state["staticGroups"]}
        new = "bridge: macs default macOS 26.3.1 (b) 25D771290b"
        self.assertIn(new, groups)
        self.assertEqual(groups[old], [])
        self.assertTrue(groups[new])
        blueprints = {b["name"]: b for b in state["platform"]["blueprints"]}
        self.assertEqual(blueprints[old]["deploymentState"]["state"], "NOT_DEPLOYED")
        undeploys = [q for q in self.sim.requests("/blueprints/v1/blueprints/") if q["path"].endswith("/undeploy")]
        self.assertEqual(len(undeploys), 1)
        # and the next run leaves it all alone
        self.rerun_writes_nothing()

    def test_withdrawn_bsi_stops_being_enforced(self):
        self.assertEqual(self.sync().returncode, 0)
        before = self.jamf_objects()
        self.assertTrue(any(n.endswith("25D771280a") for n in before))
        # Apple withdraws the BSIs: the 2025 capture lists none
        self.sim.set_gdmf((ROOT / "tests" / "fixtures" / "gdmf" / "pmv-2025-10-30.json").read_bytes())
        self.sim.reset()
        r = self.sync("--refresh")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        undeploys = [q for q in self.sim.requests("/blueprints/v1/blueprints/")
                     if q["path"].endswith("/undeploy")]
        self.assertEqual(len(undeploys), len(before))
        time.sleep(1.5)  # Jamf undeploys asynchronously, one deploy_step (0.5 s here)
        state = self.sim.jamf_state()
        groups = {g["name"]: g["members"] for g in state["staticGroups"]}
        blueprints = {b["name"]: b for b in state["platform"]["blueprints"]}
        for name in before:
            with self.subTest(blueprint=name):
                # every group emptied and every blueprint undeployed: nothing enforces it
                self.assertEqual(groups[name], [])
                self.assertEqual(blueprints[name]["deploymentState"]["state"], "NOT_DEPLOYED")
        # nothing new was made, and the next run leaves it all alone
        self.assertEqual([w for w in self.writes() if w[0] == "POST" and
                          not w[1].endswith(("/token", "/undeploy"))], [])
        self.rerun_writes_nothing()

    def test_a_device_that_moved_on_leaves_its_group(self):
        self.assertEqual(self.sync().returncode, 0)
        dev = [d for d in self.sim.devices("computer") if d["sim"]["category"] == "bsi-base"][0]
        self.sim.patch_device("computer", dev["id"], {"operatingSystem": {
            "supplementalBuildVersion": "25D771280a", "rapidSecurityResponse": "(a)"}})
        self.sim.reset()
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        puts = [q for q in self.sim.requests("/api/v3/computer-groups/static-groups/") if q["method"] == "PUT"]
        self.assertEqual(len(puts), 1)
        self.assertNotIn(dev["id"], json.loads(puts[0]["body"])["assignments"])



def ios_policy_file(self, batch_size=50, scope="All Managed Clients", extra=""):
    """A BlueprintBase policy file turned into one for iPhones and iPads."""
    path = BlueprintBase.policy_file(self, batch_size, scope, extra)
    text = path.read_text().replace("platform: macOS", "platform: iOS")
    text = text.replace('scope: {groups: ["All Managed Clients"]}',
                        'scope: {groups: ["All Managed iPhones", "All Managed iPads"]}')
    path.write_text(text.replace("    models: {exclude: '^VMA'}\n", ""))
    return path


class IOSBlueprint(BlueprintBase):
    """Blueprint mode for iPhones and iPads: static mobile device groups and blueprints."""

    sim_options = {"fleet_computers": 20, "fleet_mobile": 150}
    expected = {"bsi-base": ("26.3.1", "(a)", "23D771330a"),
                "unsupervised": ("26.3.1", "(a)", "23D771330a"),
                "older-minor": ("26.3.1", None, None)}

    policy_file = ios_policy_file

    def test_mobile_groups_hold_exactly_the_eligible_devices(self):
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        want = {}
        for d in self.sim.devices("mobile"):
            target = self.expected.get(d["sim"]["category"])
            if target is None:
                continue
            version, extra, build = target
            name = f"bridge: macs default iOS {version}{' ' + extra + ' ' + build if build else ''}"
            want.setdefault(name, []).append(d["mobileDeviceId"])
        self.assertEqual(len(want), 2, want)
        got = self.jamf_objects()
        self.assertEqual(set(got), set(want))
        state = self.sim.jamf_state()
        kinds = {g["name"]: g["kind"] for g in state["staticGroups"]}
        for name, (members, payload, group) in got.items():
            self.assertEqual(kinds[name], "MOBILE")
            self.assertEqual(group, name)
            self.assertEqual(members, sorted(want[name], key=int))
            self.assertEqual(payload["TargetOSVersion"], "26.3.1")
            if name.endswith("23D771330a"):
                self.assertEqual(payload["TargetBuildVersion"], "23D771330a")
            else:
                self.assertNotIn("TargetBuildVersion", payload)
        self.assertEqual(set(self.deployments().values()), {"SUCCEEDED"})
        # the next run changes nothing
        self.rerun_writes_nothing()

    def test_a_device_that_moved_on_leaves_its_group(self):
        self.assertEqual(self.sync().returncode, 0)
        dev = [d for d in self.sim.devices("mobile") if d["sim"]["category"] == "bsi-base"][0]
        self.sim.patch_device("mobile", dev["mobileDeviceId"], {"general": {"osSupplementalBuildVersion":
                                                                "23D771330a",
                                                                "osRapidSecurityResponse": "(a)"}})
        self.sim.reset()
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        patches = [q for q in self.sim.requests("/api/v2/mobile-device-groups/static-groups/")
                   if q["method"] == "PATCH"]
        self.assertEqual(len(patches), 1)
        assignments = json.loads(patches[0]["body"])["assignments"]
        device_id = dev["mobileDeviceId"]
        self.assertIn({"mobileDeviceId": device_id, "selected": False}, assignments)
        self.assertNotIn({"mobileDeviceId": device_id, "selected": True}, assignments)
        groups = {g["name"]: g["members"] for g in self.sim.jamf_state()["staticGroups"]}
        self.assertNotIn(device_id, groups["bridge: macs default iOS 26.3.1 (a) 23D771330a"])


class Deployments(BlueprintBase):
    """A deployment is followed within the run that started it, and by later runs."""

    sim_options = {"fleet_computers": 100}

    def test_a_run_follows_its_deployments_to_succeeded(self):
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        states = self.deployments()
        self.assertTrue(states)
        self.assertEqual(set(states.values()), {"SUCCEEDED"}, states)
        self.assertIn("deployment SUCCEEDED", r.stderr)
        self.assertRegex(r.stdout, r"devices reporting: \d+ succeeded, \d+ pending, 0 failed")
        # the next run reads what the devices in scope report, in JSON too
        r = self.sync("--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        reported = json.loads(r.stdout)["tenants"][0]["policies"][0]["enforced"]["reported"]
        members = sum(len(m or []) for m, _, _ in self.jamf_objects().values())
        self.assertEqual(sum(reported.values()), members)

    def test_a_failed_deployment_fails_the_run(self):
        # a user's declaration that puts the extra into TargetOSVersion, which devices refuse
        (self.dir / "decl.json").write_text(
            '{"TargetOSVersion": "{{version}} {{extra}}", "TargetBuildVersion": "{{build}}",'
            ' "TargetLocalDateTime": "{{deadline}}"}')
        path = self.policy_file(extra="    templates: {declaration: decl.json}\n")
        r = self.sync(path=path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        states = self.deployments()
        failed = {n for n, s in states.items() if s == "FAILED"}
        self.assertTrue(any("(a)" in n for n in failed), states)
        for name in failed:
            self.assertIn(f'the deployment of blueprint "{name}" FAILED in Jamf', r.stderr)
        # the next run says so again, and creates nothing new
        self.rerun_writes_nothing(path=path, returncode=1)


class DeploymentsLater(BlueprintBase):
    """deploy_wait: 0s: the run does not wait; the next one reads the outcome."""

    sim_options = {"fleet_computers": 100}
    deploy_wait = "0s"

    def test_the_next_run_follows_a_deployment(self):
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("SUCCEEDED", set(self.deployments().values()))
        self.assertNotIn("waiting for", r.stderr)
        time.sleep(1.5)
        self.rerun_writes_nothing()
        self.assertEqual(set(self.deployments().values()), {"SUCCEEDED"})


class IOSBlueprintKilled(BlueprintBase):
    """A run killed once Jamf made a mobile device group: the next run finds that group among
    the mobile device groups (the state records each group's kind) and makes no other."""

    contract = False  # a killed client leaves Prism with a broken exchange
    sim_options = IOSBlueprint.sim_options
    policy_file = ios_policy_file

    def test_a_mobile_group_made_before_a_kill_is_found(self):
        self.assertEqual(self.sync().returncode, 0)
        want = self.jamf_objects()
        self.sim.jamf_reset()
        self.fast_deployments()
        for f in (self.dir / "state").glob("*"):
            f.unlink()
        groups = "/api/v2/mobile-device-groups/static-groups"
        self.sim.reset()  # forget the first run's requests: wait for this run's POST below
        self.sim.faults([{"path": groups, "method": "POST", "count": 1, "delay_after": 5}])
        self.sync_killed_after_post(groups, 0)
        made = json.loads([q for q in self.sim.requests(groups) if q["method"] == "POST"][0]["body"])
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f'reconcile: group "{made["groupName"]}" exists', r.stderr)
        self.assertEqual(self.jamf_objects(), want)


class BlueprintKilled(BlueprintBase):
    """SIGKILL after each group, blueprint and deploy POST in turn. Not through the contract
    check: a killed client leaves Prism with broken exchanges by design."""

    contract = False

    def test_a_2xx_that_does_not_say_what_it_made_leaves_no_duplicate(self):
        # each group and blueprint POST in turn takes effect but is answered with a body that
        # names nothing made: the run fails, and the next one finds what was made (a deploy
        # names nothing anyway)
        self.assertEqual(self.sync().returncode, 0)
        want = self.jamf_objects()
        writes = [q["path"] for q in self.sim.requests()
                  if q["method"] == "POST" and "token" not in q["path"]]
        creates = [(nth, path) for nth, path in enumerate(writes) if not path.endswith("/deploy")]
        self.assertGreaterEqual(len(creates), 4)
        for nth, path in creates:
            with self.subTest(write=nth + 1, path=path):
                self.sim.jamf_reset()
                self.fast_deployments()
                for f in (self.dir / "state").glob("*"):
                    f.unlink()
                # a rule's path is a prefix: skip the earlier POSTs it also matches
                self.sim.faults([{"path": path, "method": "POST", "count": 1, "status": 200,
                                  "body": "{}", "handled": True,
                                  "skip": len([w for w in writes[:nth] if w.startswith(path)])}])
                r = self.sync()
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                made = json.loads([q for q in self.sim.requests(path)
                                   if q["method"] == "POST"][-1]["body"])
                self.sim.clear_faults()
                r = self.sync()
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                # the intent stayed open, and reconciling found what was made
                kind = "group" if "groups" in path else "blueprint"
                name = made.get("groupName") or made["name"]
                self.assertIn(f'reconcile: {kind} "{name}" exists', r.stderr)
                self.assertEqual(self.jamf_objects(), want)

    def test_kill_after_each_write_leaves_no_duplicate(self):
        self.assertEqual(self.sync().returncode, 0)
        want = self.jamf_objects()
        writes = [q for q in self.sim.requests() if q["method"] == "POST" and "token" not in q["path"]]
        for nth in range(1, len(writes) + 1):
            for after in (False, True):
                with self.subTest(write=nth, path=writes[nth - 1]["path"], jamf_acted=after):
                    self.sim.jamf_reset()
                    self.fast_deployments()
                    for f in (self.dir / "state").glob("*"):
                        f.unlink()
                    path = writes[nth - 1]["path"]
                    if path.endswith("/deploy"):
                        path = "/deploy"  # the id differs per run: count deploys instead
                    earlier = [w for w in writes[:nth - 1] if w["path"].startswith(path) or
                               (path == "/deploy" and w["path"].endswith("/deploy"))]
                    rule = {"path": writes[nth - 1]["path"] if path != "/deploy" else
                            "/blueprints/v1/blueprints/", "method": "POST", "count": 1,
                            "skip": len([w for w in writes[:nth - 1] if w["path"].startswith(
                                "/blueprints/v1/blueprints/")]) if path == "/deploy" else
                            len(earlier)}
                    rule.update({"delay_after": 5} if after else {"delay": 5, "close": True})
                    self.sim.faults([rule])
                    self.sync_killed_after_post(rule["path"], rule["skip"])
                    r = self.sync()
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self.assertEqual(self.jamf_objects(), want)
