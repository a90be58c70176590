"""watch.interval: a sync that finds nothing new since a tenant's last full run leaves the
tenant alone, without a single request to Jamf, until the interval is over; anything new (the
policy file, a template, the feed, the state, a failed run, --full) makes it read Jamf again.
"""

import datetime
import json
import os
import shutil
import signal
import subprocess
import time
import unittest

from bridgelib import bridge
from simlib import JAMF_CLIENT_ID
from test_sync import ENV, ROOT, BlueprintBase, SyncTestCase, superseding_feed

PLANS = "/api/v1/managed-software-updates/plans"


class Idle(SyncTestCase):
    sim_options = {"fleet_computers": 200, "frozen_clock": True}

    def idle_file(self, interval="1h", extra=""):
        path = self.policy_file(extra=extra)
        path.write_text(f"metrics_file: metrics.prom\nwatch: {{interval: {interval}}}\n" +
                        path.read_text())
        return path

    def marker(self):
        found = list(self.dir.glob("state/**/watched.json"))
        return found[0] if found else None

    def jamf_requests(self):
        """Requests that reached the simulated Jamf Pro (not the feed)."""
        return [q for q in self.sim.requests() if not q["path"].startswith("/v2/pmv")]

    def sync_json(self, path, *args):
        r = self.sync("--json", *args, path=path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)["tenants"][0]

    def devices_series(self):
        text = (self.dir / "metrics.prom").read_text()
        return sorted(line for line in text.splitlines() if line.startswith("bridge_devices{"))

    def full_then_reset(self, path):
        """A first, full run that creates the plans; then an empty request log."""
        first = self.sync_json(path)
        self.assertFalse(first["idle"])
        self.assertGreater(first["policies"][0]["enforced"]["created"], 20)
        self.assertIsNotNone(self.marker())
        self.sim.reset()
        return first

    def assert_failed_then_full(self, path, fault, *args):
        """A sync (with args) that fault makes fail leaves no marker; the next is full and
        leaves one."""
        self.sim.faults([fault])
        r = self.sync(*args, path=path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIsNone(self.marker())
        self.sim.reset()
        self.assert_full(self.sync_json(path))
        self.assertIsNotNone(self.marker())

    def assert_full(self, tenant):
        self.assertFalse(tenant["idle"])
        self.assertEqual(len(tenant["policies"]), 1)
        self.assertTrue(any(q["path"].startswith("/api/v4/computers-inventory")
                            for q in self.jamf_requests()))

    def test_nothing_new_sends_no_request_and_says_until_when(self):
        path = self.idle_file()
        self.full_then_reset(path)
        series = self.devices_series()
        self.assertTrue(series)
        r = self.sync(path=path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.sim.requests(), [])  # no token, no inventory, no feed
        watched = json.loads(self.marker().read_text())["watched_at"]
        at = datetime.datetime.strptime(watched, "%Y-%m-%dT%H:%M:%SZ")
        due = (at + datetime.timedelta(minutes=54)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.assertIn(f"tenant default: nothing new since the full run at {watched}; Jamf is "
                      f"read again from {due} (or now: bridge sync --full)", r.stdout)
        # the tenant's devices are still counted, as the last full run saw them
        self.assertEqual(self.devices_series(), series)
        tenant = self.sync_json(path)
        self.assertEqual(tenant, {"name": "default", "idle": True, "watched_at": watched,
                                  "next_full_run": due, "policies": []})
        self.assertEqual(self.sim.requests(), [])

    def test_check_says_how_long_a_tenant_may_be_left_alone(self):
        r = bridge("check", "-c", str(self.idle_file(interval="90m")), env=ENV)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("a sync that finds nothing new leaves a tenant alone until nine tenths of "
                      "90m after its last full run (watch.interval)\n", r.stdout)
        r = bridge("check", "-c", str(self.policy_file()), env=ENV)
        self.assertIn("every sync reads Jamf in full (watch.interval 0s)\n", r.stdout)

    def test_full_reads_jamf_now_and_the_next_run_is_idle_again(self):
        path = self.idle_file()
        self.full_then_reset(path)
        self.assert_full(self.sync_json(path, "--full"))
        self.sim.reset()
        self.assertTrue(self.sync_json(path)["idle"])
        self.assertEqual(self.sim.requests(), [])

    def test_without_an_interval_every_run_reads_jamf(self):
        path = self.policy_file()
        self.assertEqual(self.sync(path=path).returncode, 0)
        self.sim.reset()
        self.assert_full(self.sync_json(path))
        self.assertIsNone(self.marker())

    def test_a_changed_policy_file_is_a_full_run(self):
        path = self.idle_file()
        self.full_then_reset(path)
        path.write_text(path.read_text().replace("batch_size: 50", "batch_size: 40"))
        self.assert_full(self.sync_json(path))

    def test_a_changed_template_is_a_full_run(self):
        (self.dir / "plan.json").write_text((ROOT / "templates" / "plan.json").read_text())
        path = self.idle_file(extra="    templates: {plan: plan.json}\n")
        self.full_then_reset(path)
        self.assertTrue(self.sync_json(path)["idle"])
        (self.dir / "plan.json").write_text(
            (ROOT / "templates" / "plan.json").read_text().replace("{{max_deferrals}}", "7"))
        self.assert_full(self.sync_json(path))

    def test_a_new_bsi_in_the_feed_is_a_full_run_that_enforces_it(self):
        path = self.idle_file()
        self.full_then_reset(path)
        self.sim.set_gdmf(superseding_feed())
        tenant = self.sync_json(path, "--refresh")
        self.assert_full(tenant)
        posts = [json.loads(q["body"]) for q in self.sim.requests(PLANS) if q["method"] == "POST"]
        self.assertEqual({p["config"].get("buildVersion") for p in posts}, {"25D771290b"})

    def test_a_run_that_failed_is_followed_by_a_full_one(self):
        path = self.idle_file()
        self.full_then_reset(path)
        self.assert_failed_then_full(path, {"path": "/api/v4/computers-inventory", "status": 500,
                                            "count": 1000}, "--full")

    def test_an_interval_over_is_a_full_run(self):
        path = self.idle_file()
        self.full_then_reset(path)
        marker = self.marker()
        doc = json.loads(marker.read_text())
        at = datetime.datetime.strptime(doc["watched_at"], "%Y-%m-%dT%H:%M:%SZ")
        # a tenth of the interval is forgiven: 55 minutes ago is due, 50 is not
        doc["watched_at"] = (at - datetime.timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
        marker.write_text(json.dumps(doc))
        self.assertTrue(self.sync_json(path)["idle"])
        doc["watched_at"] = (at - datetime.timedelta(minutes=55)).strftime("%Y-%m-%dT%H:%M:%SZ")
        marker.write_text(json.dumps(doc))
        self.assert_full(self.sync_json(path))

    def test_a_state_file_changed_by_hand_or_a_journal_left_is_a_full_run(self):
        path = self.idle_file()
        self.full_then_reset(path)
        state = self.marker().parent / "state.json"
        copy = state.with_name("copy")
        shutil.copy(state, copy)
        os.replace(copy, state)  # the same content, but not the file bridge saved
        self.assert_full(self.sync_json(path))
        self.sim.reset()
        self.assertTrue(self.sync_json(path)["idle"])
        journal = state.with_name("journal.jsonl")
        journal.write_text("")
        self.assertTrue(self.sync_json(path)["idle"])  # an empty journal is nothing open
        journal.write_text('{"seq":1}\n')
        self.sim.reset()
        r = self.sync(path=path)
        self.assertNotIn("nothing new since", r.stdout)
        self.assertTrue(self.jamf_requests())

    def test_a_marker_that_does_not_read_is_a_full_run(self):
        path = self.idle_file()
        self.full_then_reset(path)
        self.marker().write_text("{\"format\":1,")
        r = self.sync(path=path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("watched.json does not read; this run reads Jamf", r.stderr)
        self.assertTrue(self.jamf_requests())

    def alert_file(self):
        path = self.idle_file()
        path.write_text(path.read_text() + "alerts:\n  - {name: ops, kind: json, url: env:HOOK, "
                        f"ca_file: \"{self.sim.ca_file}\"}}\n")
        return path, {**ENV, "HOOK": f"{self.sim.url}/webhook/json-7f3a"}

    def one_install_fails(self):
        """A first full run with a webhook; then one device's install fails, days later."""
        path, env = self.alert_file()
        self.assertEqual(bridge("sync", "-c", str(path), env=env).returncode, 0)
        failing = sorted((d["id"] for d in self.sim.devices("computer", "bsi-base")), key=int)[0]
        self.sim.patch_device("computer", failing, {"sim": {"installFailure": "disk full"}})
        self.sim.advance(6 * 86400)
        return path, env, failing

    def digests(self):
        return [json.loads(q["body"])["digest"] for q in self.sim.requests("/webhook/")]

    def test_an_idle_tenant_s_alerts_are_neither_resolved_nor_repeated(self):
        path, env, failing = self.one_install_fails()
        self.sim.reset()
        r = bridge("sync", "--full", "-c", str(path), env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([d["counts"]["new"] for d in self.digests()], [1])
        memory = next(self.dir.glob("state/**/alerts.json")).read_text()
        # the device gets the BSI by hand: the problem is gone, but only a full run sees it
        self.sim.patch_device("computer", failing, {"operatingSystem": {
            "supplementalBuildVersion": "25D771280a", "rapidSecurityResponse": "(a)"}})
        self.sim.reset()
        r = bridge("sync", "-c", str(path), env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing new since the full run", r.stdout)
        self.assertEqual(self.sim.requests(), [])  # no webhook either
        self.assertEqual(next(self.dir.glob("state/**/alerts.json")).read_text(), memory)
        r = bridge("sync", "--full", "-c", str(path), env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([d["counts"]["resolved"] for d in self.digests()], [1])

    def test_a_run_killed_while_it_alerts_is_followed_by_a_full_one(self):
        path, env, _failing = self.one_install_fails()
        self.sim.faults([{"path": "/webhook/", "delay": 20, "count": 1}])
        proc = subprocess.Popen([os.environ["BRIDGE_BIN"], "sync", "--full", "-c", str(path)],
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.sim.requests("/webhook/"):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                self.fail(f"sync ended before it alerted (status {proc.returncode})")
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.assertIsNone(self.marker())  # the full run's work was not complete
        self.sim.clear_faults()
        self.sim.reset()
        r = bridge("sync", "-c", str(path), env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("nothing new since", r.stdout)
        self.assertEqual([d["counts"]["new"] for d in self.digests()], [1])
        self.assertIsNotNone(self.marker())

    def test_a_create_whose_answer_says_nothing_leaves_the_next_run_full(self):
        self.assert_failed_then_full(self.idle_file(), {"path": PLANS, "method": "POST",
                                                        "count": 1, "status": 201, "body": "{}",
                                                        "handled": True})

    def test_plan_and_dry_run_leave_the_marker_alone(self):
        path = self.idle_file()
        self.full_then_reset(path)
        before = self.marker().read_text()
        self.assertEqual(bridge("plan", "-c", str(path), env=ENV).returncode, 0)
        self.assertEqual(self.sync("--dry-run", path=path).returncode, 0)
        self.assertEqual(self.marker().read_text(), before)
        self.sim.reset()
        self.assertTrue(self.sync_json(path)["idle"])

    def test_a_digest_not_delivered_makes_the_next_run_full(self):
        path, env, _failing = self.one_install_fails()
        self.sim.faults([{"path": "/webhook/", "status": 404, "count": 1000}])
        r = bridge("sync", "--full", "-c", str(path), env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("the next run sends it again", r.stderr)
        self.sim.reset()
        r = bridge("sync", "-c", str(path), env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("nothing new since", r.stdout)
        sent = [json.loads(q["body"]) for q in self.sim.requests("/webhook/")]
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["digest"]["counts"]["new"], 1)


class IdleTenants(SyncTestCase):
    """Each tenant is idle or not on its own."""
    sim_options = {"fleet_computers": 100, "frozen_clock": True}

    def two_tenants(self):
        path = self.dir / "bridge.yaml"
        tenant = ("  - name: {name}\n"
                  "    jamf: {{" + self.jamf_yaml() + ", client_id: {client}, "
                  "client_secret: env:JAMF_SECRET}}\n"
                  "    policies:\n"
                  "      - {{name: macs, platform: macOS, mode: plan, "
                  "scope: {{groups: [\"All Managed Clients\"]}}, "
                  "deadline: {{days_after_posting: 3, time: \"18:00\"}}}}\n")
        path.write_text(
            "state_dir: state\nwatch: {interval: 2h}\n"
            "http: {retries: 1, retry_max_time: 30s}\n"
            f"gdmf: {{url: \"{self.sim.url}/v2/pmv\", ca_file: \"{self.sim.ca_file}\"}}\n"
            "tenants:\n" + tenant.format(name="east", client=JAMF_CLIENT_ID) +
            tenant.format(name="west", client=JAMF_CLIENT_ID))
        return path

    def series(self):
        text = (self.dir / "metrics.prom").read_text()
        return sorted(line for line in text.splitlines() if line.startswith("bridge_devices{"))

    def test_each_tenant_keeps_its_series_when_left_out_or_idle(self):
        path = self.two_tenants()
        path.write_text("metrics_file: metrics.prom\n" + path.read_text())
        self.assertEqual(self.sync(path=path).returncode, 0)
        both = self.series()
        self.assertTrue(any('tenant="east"' in line for line in both))
        self.assertTrue(any('tenant="west"' in line for line in both))
        r = self.sync("--tenant", "east", "--full", path=path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.series(), both)   # west was left out, not emptied
        r = self.sync(path=path)                # both idle
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("nothing new since"), 2)
        self.assertEqual(self.series(), both)
        (self.dir / "metrics.prom").unlink()    # lost: the next run reads Jamf to write it
        r = self.sync(path=path)
        self.assertNotIn("nothing new since", r.stdout)
        self.assertEqual(self.series(), both)

    def test_a_tenant_whose_run_failed_reads_jamf_while_the_other_stays_idle(self):
        path = self.two_tenants()
        self.assertEqual(self.sync(path=path).returncode, 0)
        (self.dir / "state" / "west" / "watched.json").unlink()
        self.sim.reset()
        r = self.sync("--json", path=path)
        self.assertEqual(r.returncode, 0, r.stderr)
        tenants = {t["name"]: t for t in json.loads(r.stdout)["tenants"]}
        self.assertTrue(tenants["east"]["idle"])
        self.assertFalse(tenants["west"]["idle"])
        self.assertEqual(len(tenants["west"]["policies"]), 1)
        self.assertTrue((self.dir / "state" / "west" / "watched.json").exists())


class IdleBlueprints(BlueprintBase):
    """A deployment still running is something left open."""
    sim_options = {"fleet_computers": 100}
    deploy_wait = "0s"

    def test_a_run_that_left_deployments_running_is_followed_by_a_full_one(self):
        path = self.policy_file()
        path.write_text("watch: {interval: 1h}\n" + path.read_text())
        r = self.sync(path=path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("still running; the next run follows", r.stderr)
        self.assertEqual(list(self.dir.glob("state/**/watched.json")), [])
        time.sleep(1.5)
        r = self.sync(path=path)
        self.assertNotIn("nothing new since", r.stdout)
        self.assertEqual(set(self.deployments().values()), {"SUCCEEDED"})
        self.assertEqual(len(list(self.dir.glob("state/**/watched.json"))), 1)
        r = self.sync(path=path)
        self.assertIn("nothing new since", r.stdout)


if __name__ == "__main__":
    unittest.main()
