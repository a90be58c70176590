"""Rings and deadlines over real days, in both backends: a ring that opens whole days after
the previous one started, a success gate measured on the inventory, a deadline that falls on a
weekend, and one that has already passed.

bridge reads the real clock, so "days later" is made the way it happens in production: the
state file says the pilot started (or the BSI was first seen) days ago. The tests edit
state.json between runs, while no bridge runs, as an operator restoring an old state would.
"""

import datetime
import json
import unittest

from bridgelib import ROOT
from test_sync import RINGS, BlueprintBase, SyncTestCase

BSI = "25D771280a"
ON_BSI = {"operatingSystem": {"version": "26.3.1", "build": "25D2128",
                              "supplementalBuildVersion": BSI, "rapidSecurityResponse": "(a)"}}
# J700AP's BSI is 26.3.2 (a), a rollout of its own; leaving it out keeps one BSI in play
ONE_BSI = "    models: {exclude: '^(VMA|J700)'}\n"


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


class RolloutScenarios:
    """Mixed into a plan-mode and a blueprint-mode test case; targeted() says what Jamf holds."""

    def rollout_policy(self, extra="", deadline="{days_after_posting: 3, time: \"18:00\"}",
                       scope="All Managed Clients"):
        path = self.policy_file(scope=scope, extra=extra)
        text = path.read_text().replace("    models: {exclude: '^VMA'}\n", ONE_BSI)
        text = text.replace("deadline: {days_after_posting: 3, time: \"18:00\"}",
                            f"deadline: {deadline}")
        path.write_text(text)
        return path

    def run_ok(self, *args, path):
        r = self.sync(*args, path=path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def state_path(self):
        found = list(self.dir.glob("state/**/state.json"))
        self.assertEqual(len(found), 1, found)
        return found[0]

    def edit_state(self, change):
        path = self.state_path()
        doc = json.loads(path.read_text())
        change(doc)
        path.write_text(json.dumps(doc, indent=2))

    def backdate(self, member, field, days):
        """Move every record of state.json's member (rings, bsis) days into the past."""
        def change(doc):
            self.assertTrue(doc[member])
            for rec in doc[member]:
                t = datetime.datetime.strptime(rec[field], "%Y-%m-%dT%H:%M:%SZ")
                rec[field] = (t - datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.edit_state(change)

    def pilot_ids(self):
        return set([g for g in self.sim.jamf_state()["groups"]
                    if g["name"] == "Ring 1 - Pilot"][0]["members"])

    def rollout(self, path, ring):
        """The rollout of the BSI in ring, as `sync --dry-run --json` reports it."""
        doc = json.loads(self.run_ok("--dry-run", "--json", path=path).stdout)
        policy = doc["tenants"][0]["policies"][0]
        got = [r for r in policy["rollouts"] if r["ring"] == ring and r["build"] == BSI]
        self.assertEqual(len(got), 1, policy["rollouts"])
        return got[0]

    def test_the_next_ring_opens_whole_days_after_the_pilot_started(self):
        path = self.rollout_policy(RINGS.replace("delay_days: 0", "delay_days: 2"))
        self.run_ok(path=path)
        first = self.targeted()
        self.assertTrue(first)
        self.assertLessEqual(set(first), self.pilot_ids())
        opens = (today() + datetime.timedelta(days=2)).isoformat()
        r = self.run_ok(path=path)
        self.assertEqual(self.targeted(), first)
        self.assertIn(f"waits (opens {opens}, 2 days after ring pilot started)", r.stdout)
        # a day later: still closed
        self.backdate("rings", "started_at", 1)
        self.run_ok(path=path)
        self.assertEqual(self.targeted(), first)
        # two days later: open, and everyone's deadline is two days after the pilot's
        self.backdate("rings", "started_at", 1)
        self.run_ok(path=path)
        now = self.targeted()
        later = set(now) - set(first)
        self.assertTrue(later)
        self.assertFalse(later & self.pilot_ids())
        pilot_deadline = {d for _, d in first.values()}
        self.assertEqual(len(pilot_deadline), 1, pilot_deadline)
        pilot_day = datetime.date.fromisoformat(pilot_deadline.pop()[:10])
        want = (pilot_day + datetime.timedelta(days=2)).isoformat() + "T18:00:00"
        self.assertEqual({now[d][1] for d in later}, {want})

    def test_success_gate_opens_at_the_pilot_s_measured_compliance(self):
        def policy(percent):
            return self.rollout_policy(RINGS.replace(
                "delay_days: 0", f"delay_days: 0, min_success_percent: {percent}"))

        path = policy(100)
        self.run_ok(path=path)
        targets = sorted(self.targeted(), key=int)
        self.assertGreaterEqual(len(targets), 4)
        self.assertLessEqual(set(targets), self.pilot_ids())
        # the pilot installs: inventory shows all but a quarter of them on the BSI
        left = set(targets[::4])
        for device_id in set(targets) - left:
            self.sim.patch_device(self.kind, device_id, ON_BSI)
        pilot = self.rollout(path, "pilot")
        self.assertEqual(pilot["wanting"], len(left))
        self.assertGreaterEqual(pilot["compliant"], len(targets) - len(left))
        percent = pilot["compliant"] * 100 // (pilot["compliant"] + pilot["wanting"])
        self.assertLess(percent, 100)
        # one point short of the gate: everyone waits, and the summary says why
        r = self.run_ok(path=policy(percent + 1))
        self.assertIn(f"waits (ring pilot is {percent}% compliant ({pilot['compliant']} of "
                      f"{pilot['compliant'] + pilot['wanting']}), needs {percent + 1}%)",
                      r.stdout)
        self.assertLessEqual(set(self.targeted()), self.pilot_ids())
        everyone = self.rollout(policy(percent + 1), "everyone")
        self.assertFalse(everyone["open"])
        # at the gate: everyone's devices get the BSI
        self.run_ok(path=policy(percent))
        later = set(self.targeted()) - self.pilot_ids()
        self.assertEqual(len(later), everyone["wanting"])
        self.assertTrue(later)

    def test_a_deadline_on_a_weekend_moves_to_monday(self):
        days = (5 - today().weekday()) % 7 or 7  # today + days is a Saturday
        saturday = today() + datetime.timedelta(days=days)
        monday = saturday + datetime.timedelta(days=2)
        path = self.rollout_policy(deadline=f"{{days_after_posting: {days}, time: \"09:30\", "
                                   "skip_weekends: true}")
        self.run_ok(path=path)
        got = {d for _, d in self.targeted().values()}
        self.assertEqual(got, {monday.isoformat() + "T09:30:00"})

    def test_a_deadline_that_has_passed_becomes_the_next_slot(self):
        # The simulator dates the newest BSI of its feed yesterday; a later one for another
        # platform makes macOS 26.3.1 (a) 40 days old.
        doc = json.loads((ROOT / "tests" / "fixtures" / "gdmf" / "pmv-2026-03-17.json")
                         .read_text())
        bsis = doc["PublicBackgroundSecurityImprovements"]
        bsis["xrOS"] = [{**bsis["macOS"][0], "PostingDate": "2026-04-26",
                         "SupportedDevices": ["N301AP"]}]
        self.sim.set_gdmf(doc)
        now = datetime.datetime.now(datetime.timezone.utc)
        # a time of day two hours away: today if that is still today, else tomorrow
        at = now + datetime.timedelta(hours=2)
        day = now.date() if at.date() == now.date() else now.date() + datetime.timedelta(days=1)
        deadline = f"{{days_after_posting: 3, time: \"{at:%H:%M}\"}}"
        # the pilot first, so that the state knows the BSI; then it was first seen 30 days ago
        self.run_ok(path=self.rollout_policy(deadline=deadline, scope="Ring 1 - Pilot"))
        self.backdate("bsis", "first_seen", 30)
        self.run_ok(path=self.rollout_policy(deadline=deadline))
        later = {i: d for i, (_, d) in self.targeted().items() if i not in self.pilot_ids()}
        self.assertTrue(later)
        self.assertEqual(set(later.values()), {f"{day.isoformat()}T{at:%H:%M}:00"})


class PlanRollout(RolloutScenarios, SyncTestCase):
    """Plan mode: what Jamf holds is its plans."""

    sim_options = {"fleet_computers": 300}
    kind = "computer"

    def targeted(self):
        """{device id: (buildVersion or None, forceInstallLocalDateTime)} of its last plan."""
        out = {}
        for p in self.sim.jamf_state()["plans"]:
            config = p["config"]
            out[p["deviceId"]] = (config.get("buildVersion"), config["forceInstallLocalDateTime"])
        return out


class BlueprintRollout(RolloutScenarios, BlueprintBase):
    """Blueprint mode: what Jamf holds is the members of bridge's groups and the declaration
    of the blueprint scoped to each."""

    sim_options = {"fleet_computers": 300}
    kind = "computer"

    def targeted(self):
        out = {}
        for members, payload, _group in self.jamf_objects().values():
            for device_id in members or []:
                out[device_id] = (payload.get("TargetBuildVersion"),
                                  payload["TargetLocalDateTime"])
        return out


if __name__ == "__main__":
    unittest.main()
