"""contrib/: the systemd units pass systemd-analyze verify, the launchd plist is a valid plist,
the Kubernetes manifest has the kinds and settings it promises, the Dockerfile builds in one
stage and runs unprivileged in another; and make install / make uninstall with DESTDIR leave
nothing behind, the installed bridge checking the installed example."""

import os
import plistlib
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

from bridgelib import ROOT

CONTRIB = ROOT / "contrib"


def run(*args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)


class Contrib(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def install(self):
        """make install into a DESTDIR under the test's folder; returns the DESTDIR."""
        dest = self.dir / "root"
        r = run("make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr", cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return dest

    def test_systemd_units_verify(self):
        dest = self.install()
        units = self.dir / "units"
        units.mkdir()
        service = (CONTRIB / "systemd" / "bridge.service").read_text()
        for key in ("Type=oneshot", "DynamicUser=yes", "StateDirectory=bridge",
                    "ProtectSystem=strict", "NoNewPrivileges=yes", "LoadCredential=",
                    "SuccessExitStatus=5"):
            self.assertIn(key, service)
        # verify checks that the program exists and the man pages render: the installed ones
        (units / "bridge.service").write_text(
            service.replace("/usr/local/bin/bridge", str(dest / "usr" / "bin" / "bridge")))
        shutil.copy(CONTRIB / "systemd" / "bridge.timer", units / "bridge.timer")
        r = run("systemd-analyze", "verify", str(units / "bridge.service"),
                str(units / "bridge.timer"),
                env={**os.environ, "MANPATH": str(dest / "usr" / "share" / "man")})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn("bridge.", r.stderr)  # no complaint about either unit

    def test_launchd_plist(self):
        path = CONTRIB / "launchd" / "com.github.bridge.sync.plist"
        r = run("xmllint", "--noout", str(path))
        self.assertEqual(r.returncode, 0, r.stderr)
        plist = plistlib.loads(path.read_bytes())
        self.assertEqual(plist["Label"], "com.github.bridge.sync")
        self.assertEqual(plist["ProgramArguments"][0], "/usr/local/bin/bridge")
        self.assertEqual(plist["ProgramArguments"][-1], "sync")
        self.assertEqual(plist["StartCalendarInterval"], {"Minute": 17})

    def test_kubernetes_manifest(self):
        docs = list(yaml.safe_load_all((CONTRIB / "kubernetes" / "cronjob.yaml").read_text()))
        kinds = {d["kind"]: d for d in docs}
        self.assertEqual(set(kinds), {"PersistentVolumeClaim", "CronJob"})
        job = kinds["CronJob"]["spec"]
        self.assertEqual(job["concurrencyPolicy"], "Forbid")
        pod = job["jobTemplate"]["spec"]["template"]["spec"]
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        container = pod["containers"][0]
        self.assertEqual(container["envFrom"][0]["secretRef"]["name"], "bridge-secrets")
        self.assertFalse(container["securityContext"]["allowPrivilegeEscalation"])
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        self.assertEqual(mounts["state"], "/var/lib/bridge")  # state_dir's default
        volumes = {v["name"]: v for v in pod["volumes"]}
        self.assertEqual(volumes["state"]["persistentVolumeClaim"]["claimName"],
                         kinds["PersistentVolumeClaim"]["metadata"]["name"])

    def test_dockerfile(self):
        text = (CONTRIB / "docker" / "Dockerfile").read_text()
        stages = re.findall(r"^FROM (\S+)", text, re.M)
        self.assertEqual(stages, ["debian:12-slim", "debian:12-slim"])  # build, then run
        self.assertRegex(text, r"(?m)^USER 10001:10001$")
        self.assertRegex(text, r'(?m)^VOLUME \["/var/lib/bridge"\]$')
        self.assertRegex(text, r'(?m)^ENTRYPOINT \["/usr/local/bin/bridge"\]$')
        self.assertIn("make install PREFIX=/usr/local DESTDIR=/out", text)
        # the runtime stage installs the libraries the binary links against, and no compiler
        runtime = text.split("\nFROM ")[2]
        for lib in ("libcurl4", "libcjson1", "libyaml-0-2", "libpcre2-8-0", "ca-certificates"):
            self.assertIn(lib, runtime)
        self.assertNotIn("build-essential", runtime)

    def test_install_then_uninstall_leaves_nothing(self):
        dest = self.install()
        bridge = dest / "usr" / "bin" / "bridge"
        example = dest / "usr" / "share" / "bridge" / "bridge.example.yaml"
        self.assertTrue(example.is_file())
        self.assertTrue((dest / "usr" / "share" / "man" / "man5" / "bridge.yaml.5").is_file())
        secrets = {name: "x" for name in ("JAMF_CLIENT_ID", "JAMF_CLIENT_SECRET",
                                          "JAMF_PLATFORM_CLIENT_ID",
                                          "JAMF_PLATFORM_CLIENT_SECRET", "SLACK_WEBHOOK_URL")}
        secrets["SLACK_WEBHOOK_URL"] = "https://hooks.slack.com/services/T0/B0/x"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
        r = run(str(bridge), "check", "-c", str(example), env={**env, **secrets})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run("make", "-s", "uninstall", f"DESTDIR={dest}", "PREFIX=/usr", cwd=ROOT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        left = [p for p in dest.rglob("*") if not p.is_dir()]
        self.assertEqual(left, [])


if __name__ == "__main__":
    unittest.main()
