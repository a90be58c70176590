"""bridge check and the command line, run as a user runs them: the real binary, real files."""

import json
import os
import re
import stat
import tempfile
import unittest
from pathlib import Path

from bridgelib import FIXTURES, ROOT, SECRETS, assert_no_secrets, bridge

INVALID = FIXTURES / "config" / "invalid"
EXAMPLE = ROOT / "config" / "bridge.example.yaml"
MINIMAL = (FIXTURES / "config" / "valid" / "minimal.yaml").read_text()


def expectations(path):
    """The '# expect: LINE:COL: message' lines at the top of a fixture."""
    out = []
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line.startswith("# expect: "):
                break
            out.append(line[len("# expect: "):])
    return out


class InvalidPolicyFiles(unittest.TestCase):
    """Every invalid fixture: exit 2 and exactly the FILE:LINE:COL: messages it expects."""

    def test_fixtures(self):
        files = sorted(INVALID.glob("*.yaml"))
        self.assertGreaterEqual(len(files), 25)
        for path in files:
            with self.subTest(fixture=path.name):
                want = expectations(path)
                self.assertTrue(want, f"{path.name} has no '# expect:' line")
                rel = os.path.relpath(path, ROOT)
                r = bridge("check", "-c", rel, cwd=ROOT)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                lines = r.stderr.splitlines()
                got = [l[len(rel) + 1:] for l in lines if l.startswith(rel + ":")]
                self.assertEqual(got, want)
                n = len(want)
                self.assertEqual(lines[-1], f"bridge: error: {rel}: the policy file is not "
                                 f"valid ({n} problem{'' if n == 1 else 's'})")
                assert_no_secrets(self, r.stdout, r.stderr)

    def test_three_independent_errors_all_reported(self):
        r = bridge("check", "-c", str(INVALID / "three-errors.yaml"))
        self.assertEqual(r.returncode, 2)
        diags = [l for l in r.stderr.splitlines() if re.match(r".*three-errors\.yaml:\d+:\d+: ", l)]
        self.assertEqual(len(diags), 3)

    def test_json_log_lines(self):
        r = bridge("--log-json", "check", "-c", str(INVALID / "three-errors.yaml"))
        self.assertEqual(r.returncode, 2)
        records = [json.loads(l) for l in r.stderr.splitlines()]
        diags = [x for x in records if "line" in x]
        self.assertEqual([(d["line"], d["col"]) for d in diags], [(5, 8), (8, 20), (12, 11)])
        self.assertEqual(diags[2]["msg"],
                         'policies[0].mode: unknown value "planned" (expected plan or blueprint)')
        self.assertTrue(all(x["level"] == "error" for x in records))


class GeneratedPolicyFiles(unittest.TestCase):
    """Cases that cannot live in a fixture: empty, huge, unreadable, wrong permissions."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, text_or_bytes, name="bridge.yaml"):
        path = self.dir / name
        data = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
        path.write_bytes(data)
        return path, bridge("check", "-c", str(path))

    def test_empty_file(self):
        path, r = self.check("")
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"{path}:1:1: the file is empty\n", r.stderr)

    def test_file_over_size_cap(self):
        path, r = self.check("# padding\n" * 120000)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"{path}:1:1: the file is larger than 1048576 bytes\n", r.stderr)

    def test_missing_file(self):
        missing = self.dir / "nope.yaml"
        r = bridge("check", "-c", str(missing))
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"bridge: error: {missing}: cannot open the policy file: "
                      "No such file or directory\n", r.stderr)

    def test_group_readable_secret_file(self):
        secret = self.dir / "jamf-secret"
        secret.write_text("very-secret-text\n")
        secret.chmod(0o640)
        path, r = self.check(MINIMAL.replace("env:BRIDGE_TEST_SECRET", "file:jamf-secret"))
        self.assertEqual(r.returncode, 2)
        self.assertIn(f'{path}:5:18: jamf.client_secret: secret file "{secret}" is accessible '
                      f"by group or others (mode 0640); run: chmod 600 {secret}\n", r.stderr)
        self.assertNotIn("very-secret-text", r.stderr)
        secret.chmod(0o600)
        path, r = self.check(MINIMAL.replace("env:BRIDGE_TEST_SECRET", "file:jamf-secret"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_relative_paths_start_at_the_file(self):
        (self.dir / "ca.pem").write_text((ROOT / "config" / "apple-root-ca.pem").read_text())
        path, r = self.check("state_dir: state\ngdmf: {ca_file: ca.pem}\n" + MINIMAL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"state directory {self.dir}/state;", r.stdout)
        r = bridge("check", "-c", str(path), cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_missing_ca_file(self):
        path, r = self.check("gdmf: {ca_file: missing.pem}\n" + MINIMAL)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f'{path}:1:17: gdmf.ca_file: cannot read "{self.dir}/missing.pem": '
                      "No such file or directory\n", r.stderr)


class ExampleConfig(unittest.TestCase):
    """config/bridge.example.yaml is valid once its variables are set, and says so."""

    def test_example_passes(self):
        r = bridge("check", "-c", str(EXAMPLE))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{EXAMPLE}: OK", r.stdout)
        self.assertIn("policy macos-bsi: macOS, mode plan", r.stdout)
        self.assertIn('scope: "All Managed Macs" except "BSI Exempt"', r.stdout)
        self.assertIn("ring everyone: every other device, starts 2 days after the previous "
                      "ring once it reached 90%", r.stdout)
        self.assertIn("alert mac-ops: slack webhook from env:SLACK_WEBHOOK_URL", r.stdout)
        self.assertEqual(r.stderr, "")
        assert_no_secrets(self, r.stdout, r.stderr)

    def test_example_json(self):
        r = bridge("check", "--json", "-c", str(EXAMPLE))
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual([p["name"] for p in doc["tenants"][0]["policies"]],
                         ["macos-bsi", "ios-bsi"])
        self.assertEqual(doc["tenants"][0]["policies"][1]["mode"], "blueprint")
        self.assertEqual(doc["alerts"], [{"name": "mac-ops", "kind": "slack"}])

    def test_example_without_variables(self):
        r = bridge("check", "-c", str(EXAMPLE), env={"SLACK_WEBHOOK_URL": None,
                                                     "JAMF_CLIENT_SECRET": None})
        self.assertEqual(r.returncode, 2)
        self.assertIn("jamf.client_secret: environment variable JAMF_CLIENT_SECRET is not set",
                      r.stderr)
        self.assertIn("alerts[0].url: environment variable SLACK_WEBHOOK_URL is not set",
                      r.stderr)

    def test_verbose_run_leaks_nothing(self):
        r = bridge("-vv", "check", "-c", str(EXAMPLE))
        self.assertEqual(r.returncode, 0, r.stderr)
        assert_no_secrets(self, r.stdout, r.stderr)

    def test_config_from_environment(self):
        r = bridge("check", env={"BRIDGE_CONFIG": str(EXAMPLE)})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{EXAMPLE}: OK", r.stdout)


class CommandLine(unittest.TestCase):
    """Help, version, usage errors and the commands that later issues build."""

    def test_help(self):
        r = bridge("--help")
        self.assertEqual(r.returncode, 0)
        for code, words in [(0, "everything done"), (1, "a tenant or policy failed"),
                            (2, "usage or configuration error"), (3, "authentication"),
                            (4, "GDMF feed is unavailable"), (5, "holds the lock")]:
            self.assertRegex(r.stdout, rf"\n  {code}  [^\n]*{re.escape(words)}")
        r2 = bridge("help")
        self.assertEqual(r2.stdout, r.stdout)

    def test_command_help(self):
        r = bridge("help", "feed")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: bridge [OPTIONS] feed [--platform P] [--bsi] [--refresh]", r.stdout)
        self.assertEqual(bridge("feed", "--help").stdout, r.stdout)

    def test_usage_errors_exit_2(self):
        for args, message in [((), "no command given"),
                              (("frob",), "unknown command 'frob'"),
                              (("check", "--dry-run"), "'check' does not accept --dry-run"),
                              (("-q", "-v", "check"), "use either -q or -v, not both")]:
            with self.subTest(args=args):
                r = bridge(*args)
                self.assertEqual(r.returncode, 2)
                self.assertIn(f"bridge: {message}", r.stderr)
                self.assertIn("usage: bridge", r.stderr)
                self.assertEqual(r.stdout, "")

    def test_render_needs_a_policy(self):
        r = bridge("render", "-c", str(EXAMPLE))
        self.assertEqual(r.returncode, 2)
        self.assertIn("'render' needs --policy NAME", r.stderr)

    def test_version(self):
        r = bridge("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^bridge \d+\.\d+\.\d+\nlibcurl \d+\.\d+\.\d+ \(OpenSSL/[\d.]+\)\n"
                         r"libyaml 0\.\d+\.\d+\nPCRE2 10\.\d+")
        doc = json.loads(bridge("version", "--json").stdout)
        self.assertEqual(set(doc), {"bridge", "libcurl", "libyaml", "pcre2", "cjson"})


if __name__ == "__main__":
    unittest.main()
