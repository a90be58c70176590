"""Alerts: the problems of a run reach each webhook as one digest, once; a problem that clears
is announced as resolved once; a digest that cannot be delivered is sent by the next run.

The simulator's webhook receiver stands in for Slack, a Teams Workflows webhook and a generic
JSON receiver; its clock is frozen, so plans move only when the test advances it.
"""

import json
import unittest

from bridgelib import bridge
from test_sync import ENV, SyncTestCase

KINDS = ("slack", "teams", "json")
ON_BSI = {"operatingSystem": {"supplementalBuildVersion": "25D771280a",
                              "rapidSecurityResponse": "(a)"}}
DDM_FAILURE = "DECLARATIVE_DEVICE_MANAGEMENT_STATUS_RESPONSE_FAILURE_REASON_RECEIVED"


class Alerts(SyncTestCase):
    sim_options = {"fleet_computers": 200, "frozen_clock": True}

    def alert_file(self):
        path = self.policy_file()
        alerts = "".join(f"  - {{name: {k}-ops, kind: {k}, url: env:HOOK_{k.upper()}, "
                         f"ca_file: \"{self.sim.ca_file}\", max_devices: 2}}\n" for k in KINDS)
        path.write_text("metrics_file: metrics.prom\n" + path.read_text() + "alerts:\n" + alerts)
        return path

    def metrics(self):
        """{series with labels: value} of the metrics file."""
        out = {}
        for line in (self.dir / "metrics.prom").read_text().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def run_sync(self, path):
        hooks = {f"HOOK_{k.upper()}": f"{self.sim.url}/webhook/{k}-7f3a" for k in KINDS}
        return bridge("sync", "-c", str(path), env={**ENV, **hooks})

    def received(self):
        """{kind: [bodies]} posted to the webhook receiver since the last reset."""
        out = {k: [] for k in KINDS}
        for q in self.sim.requests("/webhook/"):
            out[q["path"].split("/")[-1].split("-")[0]].append(json.loads(q["body"]))
        return out

    def break_some_plans(self):
        """After a first sync: three installs fail, two Macs never answer, one Mac installs
        the BSI by hand before Jamf validates its plan (DOWNGRADE_NOT_SUPPORTED)."""
        base = sorted((d["id"] for d in self.sim.devices("computer", "bsi-base")), key=int)
        failing, silent, by_hand, unmanaged = base[:3], base[3:5], base[5], base[6]
        for device_id in failing:
            self.sim.patch_device("computer", device_id, {"sim": {"installFailure": "disk full"}})
        for device_id in silent:
            self.sim.patch_device("computer", device_id, {"sim": {"unresponsive": True}})
        self.sim.patch_device("computer", by_hand, ON_BSI)
        # taken out of management before Jamf validated its plan: NOT_MANAGED
        self.sim.patch_device("computer", unmanaged,
                              {"general": {"remoteManagement": {"managed": False}}})
        self.sim.advance(6 * 86400)
        return failing + [unmanaged], silent

    def test_one_digest_per_webhook_then_quiet_then_resolved(self):
        path = self.alert_file()
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.received(), {k: [] for k in KINDS})  # nothing wrong yet
        failing, silent = self.break_some_plans()
        self.sim.reset()
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.received()
        for kind in KINDS:
            self.assertEqual(len(got[kind]), 1, kind)
        digest = got["json"][0]["digest"]
        self.assertEqual(digest["counts"], {"new": 3, "repeated": 0, "resolved": 0})
        by_reason = {p["reason"]: p for p in digest["new"]}
        self.assertEqual(set(by_reason), {DDM_FAILURE, "NO_DEVICE_STATUS_BY_GRACE_PERIOD",
                                          "NOT_MANAGED"})
        self.assertEqual(by_reason[DDM_FAILURE]["devices"], len(failing) - 1)
        self.assertEqual(by_reason["NOT_MANAGED"]["devices"], 1)
        self.assertEqual(by_reason["NO_DEVICE_STATUS_BY_GRACE_PERIOD"]["devices"], len(silent))
        for p in digest["new"]:
            self.assertEqual((p["event"], p["policy"], p["target"]),
                             ("plan_failed", "macs", "26.3.1 25D771280a"))
            self.assertTrue(p["explanation"] and p["hint"], p)
            self.assertEqual(len(p["device_names"]), min(p["devices"], 2))  # max_devices
            self.assertRegex(p["device_names"][0]["link"], r"/computers\.html\?id=\d+&o=r$")
        # the device Jamf refused because it was already there is no failure
        self.assertNotIn("DOWNGRADE_NOT_SUPPORTED", json.dumps(got))
        # Slack: Block Kit blocks plus a plain-text fallback
        slack = got["slack"][0]
        self.assertIsInstance(slack["text"], str)
        self.assertIn(DDM_FAILURE, slack["text"])
        self.assertEqual(slack["blocks"][0]["type"], "header")
        self.assertEqual(slack["blocks"][0]["text"]["type"], "plain_text")
        for block in slack["blocks"][1:]:
            self.assertEqual(block["type"], "section")
            self.assertEqual(block["text"]["type"], "mrkdwn")
            self.assertLessEqual(len(block["text"]["text"]), 3000)  # Slack's limit
        self.assertEqual(len(slack["blocks"]), 4)
        # Teams Workflows: a message whose attachment is an Adaptive Card
        att = got["teams"][0]["attachments"][0]
        self.assertEqual(att["contentType"], "application/vnd.microsoft.card.adaptive")
        self.assertEqual(att["content"]["type"], "AdaptiveCard")
        self.assertIsInstance(att["content"]["version"], str)
        self.assertTrue(all(b["type"] == "TextBlock" for b in att["content"]["body"]))
        # the next run has nothing new to say
        self.sim.reset()
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.received(), {k: [] for k in KINDS})
        # the failures clear (the Macs get the BSI another way): one resolved message each
        for device_id in failing + silent:
            self.sim.patch_device("computer", device_id, ON_BSI)
        self.sim.reset()
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.received()
        for kind in KINDS:
            self.assertEqual(len(got[kind]), 1, kind)
        self.assertEqual(got["json"][0]["digest"]["counts"],
                         {"new": 0, "repeated": 0, "resolved": 3})
        self.assertIn("Resolved", got["slack"][0]["text"])
        # and then silence again
        self.sim.reset()
        self.assertEqual(self.run_sync(path).returncode, 0)
        self.assertEqual(self.received(), {k: [] for k in KINDS})

    def test_an_undelivered_digest_is_sent_by_the_next_run(self):
        path = self.alert_file()
        self.assertEqual(self.run_sync(path).returncode, 0)
        self.break_some_plans()
        self.sim.reset()
        self.sim.faults([{"path": "/webhook/json-7f3a", "status": 500, "count": 10}])
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('the webhook of alert "json-ops" answered 500', r.stderr)
        self.assertIn("the next run sends it again", r.stderr)
        self.assertNotIn("/webhook/", r.stderr)  # webhook URLs are secrets
        got = self.received()
        self.assertEqual((len(got["slack"]), len(got["teams"])), (1, 1))
        self.assertGreaterEqual(len(got["json"]), 1)  # tried (and retried), answered 500
        metrics = self.metrics()
        self.assertEqual(metrics["bridge_last_run_success"], 0)
        self.assertEqual(metrics['bridge_alerts_sent{webhook="slack-ops"}'], 1)
        self.assertNotIn('bridge_alerts_sent{webhook="json-ops"}', metrics)
        self.assertEqual(metrics['bridge_devices{tenant="default",policy="macs",'
                                 'target="26.3.1 25D771280a",class="failed"}'], 6)
        self.assertEqual(metrics['bridge_devices{tenant="default",policy="macs",'
                                 'target="26.3.1 25D771280a",class="compliant"}'], 1)
        # the first run succeeded: its time is kept as the last success
        first_success = metrics["bridge_last_success_timestamp_seconds"]
        self.assertLessEqual(first_success, metrics["bridge_last_run_timestamp_seconds"])
        self.sim.clear_faults()
        self.sim.reset()
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.received()
        self.assertEqual((len(got["slack"]), len(got["teams"]), len(got["json"])), (0, 0, 1))
        self.assertEqual(got["json"][0]["digest"]["counts"]["new"], 3)
        metrics = self.metrics()
        self.assertEqual(metrics["bridge_last_run_success"], 1)
        self.assertEqual(metrics['bridge_alerts_sent{webhook="json-ops"}'], 1)
        self.assertGreaterEqual(metrics["bridge_last_success_timestamp_seconds"], first_success)


    def test_a_run_that_leaves_problems_out_does_not_resolve_them(self):
        path = self.alert_file()
        self.assertEqual(self.run_sync(path).returncode, 0)
        self.break_some_plans()
        self.assertEqual(self.run_sync(path).returncode, 0)
        self.sim.reset()
        # a mistyped --tenant is refused before anything is said or written
        hooks = {f"HOOK_{k.upper()}": f"{self.sim.url}/webhook/{k}-7f3a" for k in KINDS}
        before = (self.dir / "metrics.prom").read_text()
        r = bridge("sync", "--tenant", "nope", "-c", str(path), env={**ENV, **hooks})
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--tenant nope: no such tenant", r.stderr)
        self.assertEqual(self.received(), {k: [] for k in KINDS})
        self.assertEqual((self.dir / "metrics.prom").read_text(), before)
        # Jamf Pro is down: the policy is not looked at, so its problems are not resolved
        self.sim.faults([{"path": "/api/oauth/token", "status": 503, "count": 100}])
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 1, r.stderr)
        got = self.received()
        self.assertEqual(len(got["json"]), 1)  # the failed run is a problem of its own
        digest = got["json"][0]["digest"]
        self.assertEqual(digest["counts"], {"new": 1, "repeated": 0, "resolved": 0})
        self.assertEqual(digest["new"][0]["event"], "run_failed")
        # back up: the run failure clears, the plan failures are still known (no new alert)
        self.sim.clear_faults()
        self.sim.reset()
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        digest = self.received()["json"][0]["digest"]
        self.assertEqual(digest["counts"], {"new": 0, "repeated": 0, "resolved": 1})
        self.assertEqual(digest["resolved"][0]["event"], "run_failed")

    def test_stalled_plans_are_announced_as_stuck(self):
        path = self.alert_file()
        self.assertEqual(self.run_sync(path).returncode, 0)
        base = sorted((d["id"] for d in self.sim.devices("computer", "bsi-base")), key=int)
        # two Macs never report, and Jamf waits for them for a month
        self.sim.jamf_settings(grace_seconds=30 * 86400)
        for device_id in base[:2]:
            self.sim.patch_device("computer", device_id, {"sim": {"unresponsive": True}})
        self.sim.advance(6 * 86400)
        self.sim.reset()
        self.assertEqual(self.run_sync(path).returncode, 0)
        self.assertEqual(self.received(), {k: [] for k in KINDS})  # not stuck yet
        # four days later by bridge's clock, their plans have not moved
        state_file = list(self.dir.glob("state/**/state.json"))[0]
        state = json.loads(state_file.read_text())
        for p in state["plans"]:
            if p["device_id"] in base[:2]:
                p["last_state_at"] = "2020-01-01T00:00:00Z"
        state_file.write_text(json.dumps(state))
        self.sim.reset()
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        digest = self.received()["json"][0]["digest"]
        self.assertEqual(digest["counts"]["new"], 1)
        stuck = digest["new"][0]
        self.assertEqual((stuck["event"], stuck["devices"]), ("plan_stuck", 2))
        self.assertIn("stuck_after", stuck["explanation"])

    def test_a_webhook_s_429_retry_after_is_honoured(self):
        path = self.alert_file()
        self.assertEqual(self.run_sync(path).returncode, 0)
        self.break_some_plans()
        self.sim.reset()
        self.sim.faults([{"path": "/webhook/slack-7f3a", "status": 429, "retry_after": 2,
                          "count": 1}])
        r = self.run_sync(path)
        self.assertEqual(r.returncode, 0, r.stderr)
        posts = [q for q in self.sim.requests("/webhook/slack-7f3a")]
        self.assertEqual(len(posts), 2)
        self.assertGreaterEqual(posts[1]["time"] - posts[0]["time"], 1.9)
        # delivered on the second try: remembered, so the next run says nothing
        self.sim.reset()
        self.assertEqual(self.run_sync(path).returncode, 0)
        self.assertEqual(self.received(), {k: [] for k in KINDS})


if __name__ == "__main__":
    unittest.main()
