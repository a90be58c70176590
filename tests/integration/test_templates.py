"""bridge check validates the templates each policy uses: its own copies, or the installed
defaults; a broken one is reported as FILE:LINE:COL and the check exits 2."""

import tempfile
import unittest
from pathlib import Path

from bridgelib import ROOT, bridge

POLICY = """state_dir: state
jamf: {url: "https://jamf.example.com", client_id: a, client_secret: env:BRIDGE_TEST_SECRET}
platform: {url: "https://us.api.jamfcloud.com", environment_id: 3f2504e0-4f89-11d3-9a0c-0305e82c3301,
           client_id: a, client_secret: env:BRIDGE_TEST_SECRET}
policies:
  - name: macs
    platform: macOS
    mode: %s
    scope: {groups: [All]}
%s"""


class Templates(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, mode, templates=""):
        path = self.dir / "bridge.yaml"
        path.write_text(POLICY % (mode, templates))
        return bridge("check", "-c", str(path), env={"BRIDGE_TEMPLATE_DIR": str(ROOT / "templates")})

    def test_shipped_templates_pass(self):
        for mode in ("plan", "blueprint"):
            with self.subTest(mode=mode):
                r = self.check(mode)
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_broken_template_named_with_line_and_column(self):
        (self.dir / "decl.json").write_text(
            '{\n  "TargetOSVersion": "{{version}}",\n  "TargetLocalDateTime": "{{deadline}}",\n'
            '  "Oops": {{no_such_variable}}\n}\n')
        r = self.check("blueprint", "    templates: {declaration: decl.json}\n")
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"policy macs: .*decl\.json:4:11: .*no_such_variable")

    def test_template_that_renders_invalid_json(self):
        (self.dir / "plan.json").write_text(
            '{"updateAction": "DOWNLOAD_INSTALL_SCHEDULE", "versionType": "{{version_type}}",\n'
            ' "specificVersion": "{{version}}", "forceInstallLocalDateTime": "{{deadline}}",,}\n')
        r = self.check("plan", "    templates: {plan: plan.json}\n")
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"plan\.json:2:\d+: .*not valid JSON")


if __name__ == "__main__":
    unittest.main()
