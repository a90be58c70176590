"""README.md is the user's manual, and every command in it works as it says.

What README.md shows, and what this test does with it:

- ```yaml blocks are complete policy files. Each must pass `bridge check` as written (with the
  env: secrets it names set, and its relative file: secrets made). Then, with its Jamf Pro and
  Jamf Platform pointed at the simulator (one simulator per tenant) and signed in to with an
  API client that holds exactly the privileges of README's privilege table, `bridge doctor`
  and `bridge sync` must both exit 0: the ready-to-copy policies work, and the table is enough.
- ```sh blocks (and indented blocks) hold shell commands, one a line (a trailing backslash
  continues it). ```crontab blocks hold /etc/cron.d lines (five time fields, then the user).
  ```text and ```json blocks show output and files and are not run.
- Every command is either run here or mapped, in MAPPED, to the test that exercises it (or
  to the line of .ci/run that runs it); a command that is neither fails the test, and so does a
  MAPPED entry no command uses or whose test does not exist.
- `bridge ...` commands and cron lines run for real, in README order, as written except for
  where things are: the policy file (-c, $BRIDGE_CONFIG, /usr/local/etc/bridge/bridge.yaml) is
  the nearest yaml block above the command, pointed at the simulator; /usr/local/bin/bridge is
  the binary under test; /etc/bridge/env is a file of the secrets. Each must exit with the
  status EXPECT gives it and print what EXPECT says; a bridge command without an EXPECT entry
  fails the test.
- `make deps demo`: `make demo` runs here (tests/demo.sh, with the binary under test); `make
  deps` and `make test` are what .ci/run runs on a clean clone.
"""

import dataclasses
import importlib
import json
import os
import re
import shlex
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import yaml

from bridgelib import FIXTURES, ROOT
from simlib import ENVIRONMENT_ID, PLATFORM_CLIENT_ID, PLATFORM_CLIENT_SECRET, Sim

README = ROOT / "README.md"
CI = ROOT / ".ci" / "run"
FEED = FIXTURES / "gdmf" / "pmv-2026-03-17.json"

# Where README says things are, and what the test puts there instead.
README_POLICY = "/usr/local/etc/bridge/bridge.yaml"
README_BINARY = "/usr/local/bin/bridge"
README_ENV_FILE = "/etc/bridge/env"

# The Jamf Pro API client the worlds sign in with: only README's privileges.
README_CLIENT_ID = "readme-client"
README_CLIENT_SECRET = "readme-client-secret-2b7e"
# The placeholder value of every env: secret when a policy file is only checked.
PLACEHOLDER = "https://hooks.example.com/services/readme-placeholder"

# Commands README shows that are not run here, each with what exercises it: "ci:COMMAND" is a
# line of .ci/run (COMMAND, maybe with more arguments), anything else a test method.
# Patterns match the whole command.
MAPPED = [
    (r"make deps demo", ["ci:make deps", "test_readme.Readme.test_make_demo"],
     "installs Debian packages: run by CI on a clean clone; the demo runs here"),
    (r"make test", ["ci:make test"], "the whole suite, which CI runs (and which runs this test)"),
    (r"make", ["ci:make test"], "make test builds build/bridge first"),
    (r"sudo make install", ["test_contrib.Contrib.test_install_then_uninstall_leaves_nothing"],
     "installs under /usr/local: the test installs into a DESTDIR and checks the example there"),
    (r"sudo install -m 0644 contrib/bridge\.cron /etc/cron\.d/bridge",
     ["test_readme.Readme.test_cron_line_is_contrib_s"],
     "the line README shows is contrib/bridge.cron's, and it runs here"),
    (r"sudo install -m 0644 contrib/systemd/bridge\.service contrib/systemd/bridge\.timer "
     r"/etc/systemd/system/", ["test_contrib.Contrib.test_systemd_units_verify"],
     "systemd units: systemd-analyze verify"),
    (r"sudo systemctl daemon-reload", ["test_contrib.Contrib.test_systemd_units_verify"], "ditto"),
    (r"sudo systemctl enable --now bridge\.timer",
     ["test_contrib.Contrib.test_systemd_units_verify"], "ditto"),
    (r"journalctl -u bridge", ["test_contrib.Contrib.test_systemd_units_verify"], "ditto"),
    (r"sudo install .* contrib/launchd/com\.github\.bridge\.sync\.plist /Library/LaunchDaemons/",
     ["test_contrib.Contrib.test_launchd_plist"], "a Mac only: the plist is checked"),
    (r"sudo launchctl bootstrap system /Library/LaunchDaemons/com\.github\.bridge\.sync\.plist",
     ["test_contrib.Contrib.test_launchd_plist"], "ditto"),
    (r"docker (build|run) .*", ["test_contrib.Contrib.test_dockerfile"],
     "building the image needs a registry the test machine cannot reach"),
    (r"kubectl .*", ["test_contrib.Contrib.test_kubernetes_manifest"], "needs a cluster"),
]


@dataclasses.dataclass
class Expect:
    """What a README command must do: its exit status and regexes its output must match."""

    status: int = 0
    stdout: tuple = ()
    stderr: tuple = ()
    not_stdout: tuple = ()
    quiet: bool = False  # nothing at all on stderr


# What each bridge command README shows must do, keyed by the command as README writes it.
EXPECT = {
    # First run: the plan-mode policy above it
    "bridge check -c /usr/local/etc/bridge/bridge.yaml":
        Expect(stdout=(r"bridge\.yaml: OK\n", r"policy macos-bsi: macOS, mode plan",
                       r'scope: "All Managed Clients" except "BSI Exempt"')),
    "bridge doctor":
        Expect(stdout=(r"(?m)^ok +\[default\] Jamf Pro: TLS trust and token",
                       r'(?m)^ok +\[default\] policy macos-bsi: computer group "BSI Exempt"',
                       r"(?m)^doctor: all \d+ checks passed$"), not_stdout=(r"FAIL",)),
    "bridge feed --bsi":
        Expect(stdout=(r"(?m)^bsi +macOS +26\.3\.1 \(a\) +25D771280a +25D2128 ",
                       r"(?m)^bsi +iOS +26\.3\.1 \(a\) +23D771330a ")),
    "bridge plan":
        Expect(stdout=(r"(?m)^tenant default, policy macos-bsi \(macOS, plan mode\): would send",
                       r"(?m)^  counts: enforce [1-9]\d* .*model_filtered [1-9]")),
    "bridge render --policy macos-bsi":
        Expect(stdout=(r'"objectType":\s*"COMPUTER"', r'"versionType":\s*"CUSTOM_VERSION"',
                       r'"buildVersion":\s*"25D77\d+a"', r'"forceInstallLocalDateTime":\s*"20')),
    "bridge sync":
        Expect(stdout=(r"(?m)^  plans: [1-9]\d* created, 0 already there, 0 refused$",
                       r"(?m)^  watch: \d+ devices: ")),
    "bridge status":
        Expect(stdout=(r"(?m)^tenant default, policy macos-bsi \(macOS, plan mode\): [1-9]\d* "
                       r"devices targeted",)),
    # Tenants: the two-tenant file above them, each tenant on a simulator of its own
    "bridge --tenant acme sync":
        Expect(stdout=(r"(?m)^tenant acme, policy macos-bsi \(macOS, plan mode\)$",
                       r"(?m)^  plans: [1-9]\d* created, 0 already there, 0 refused$"),
               not_stdout=(r"tenant globex",)),
    "bridge --tenant acme status":
        Expect(stdout=(r"(?m)^tenant acme, policy macos-bsi \(macOS, plan mode\): [1-9]\d* "
                       r"devices targeted",), not_stdout=(r"tenant globex",)),
    # cron: both tenants, side by side; acme's plans are there from the run above; -q: silence
    "17 * * * * bridge set -a; . /etc/bridge/env; set +a; /usr/local/bin/bridge -q -c "
    "/usr/local/etc/bridge/bridge.yaml sync >/dev/null":
        Expect(stdout=(r"\A\Z",), quiet=True),  # globex's plans: see status --devices below
    # Commands: still the two-tenant file
    "bridge status --devices":
        Expect(stdout=(r"(?m)^    device \d+ \(.*\): 26\.3\.\d 25D\w+, ring default, by 20",
                       r"(?m)^tenant globex, policy macos-bsi \(macOS, plan mode\): [1-9]\d* "
                       r"devices targeted")),
    "bridge --json status":
        Expect(stdout=(r'^\{"tenants":\[\{"name":"acme","policies":\[\{"name":"macos-bsi"',
                       r'\{"name":"globex"', r'"ok":true\}\n$')),
    "bridge doctor --send-test-alert":
        Expect(stdout=(r"(?m)^ok +\[acme\] Jamf Pro: TLS trust and token",
                       r"(?m)^ok +\[globex\] Jamf Pro: TLS trust and token",
                       r"(?m)^ok +\[-\] alert noc: test message \(json\): delivered$",
                       r"(?m)^doctor: all \d+ checks passed$")),
    "bridge help sync":
        Expect(stdout=(r"^usage: bridge \[OPTIONS\] sync \[--dry-run\] \[--refresh\]",)),
    "bridge version":
        Expect(stdout=(r"^bridge \d+\.\d+\.\d+\n", r"(?m)^libcurl ", r"(?m)^PCRE2 ")),
}


# ---------------------------------------------------------------------------
# Reading README.md
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Block:
    """A code block of README: its language ("" if none, "indented"), text and first line."""

    lang: str
    text: str
    line: int


@dataclasses.dataclass
class Command:
    """One command README shows: its text, kind ("sh" or "cron"), line, and policy block."""

    text: str
    kind: str
    line: int
    policy: int   # index into the yaml blocks of the nearest one above (0 if none)


COMMAND_LANGS = {"", "sh", "shell", "bash", "console", "indented"}
OTHER_LANGS = {"yaml", "crontab", "text", "json"}


def read_blocks(text):
    """The fenced (``` or ~~~) and indented code blocks of a Markdown text, in order."""
    blocks, lines = [], text.split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)", lines[i])
        if fence:
            mark, start, body = fence.group(1), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(mark):
                body.append(lines[i])
                i += 1
            blocks.append(Block(fence.group(2).lower(), "\n".join(body) + "\n", start + 1))
            i += 1
            continue
        if re.match(r"^( {4}|\t)\S", lines[i]) and (i == 0 or not lines[i - 1].strip()):
            start, body = i, []
            while i < len(lines) and (re.match(r"^( {4}|\t)", lines[i]) or not lines[i].strip()):
                body.append(lines[i][4:] if lines[i].startswith("    ") else lines[i].lstrip("\t"))
                i += 1
            blocks.append(Block("indented", "\n".join(body).strip("\n") + "\n", start + 1))
            continue
        i += 1
    return blocks


def read_commands(blocks):
    """Every command of the command and crontab blocks, each with the yaml block above it."""
    out, nyaml = [], 0
    for b in blocks:
        if b.lang == "yaml":
            nyaml += 1
            continue
        if b.lang not in COMMAND_LANGS and b.lang != "crontab":
            continue
        pending, first = "", None
        for k, raw in enumerate(b.text.split("\n")):
            line = raw.strip()
            if not pending and (not line or line.startswith("#")):
                continue
            if line.startswith("$ ") and not pending:
                line = line[2:]
            first = first if pending else b.line + k
            if line.endswith("\\"):
                pending += line[:-1].rstrip() + " "
                continue
            out.append(Command(pending + line, "cron" if b.lang == "crontab" else "sh", first,
                               max(nyaml - 1, 0)))
            pending = ""
    return out


def cron_command(text):
    """The command part of an /etc/cron.d line (five time fields and a user before it)."""
    fields = text.split(None, 6)
    if len(fields) < 7:
        raise ValueError(f"not an /etc/cron.d line: {text!r}")
    return fields[6]


def classify(commands):
    """(runs, mapped, problems): the bridge commands and cron lines to run, the mapped
    commands with their targets, and a sentence for each command that is neither."""
    runs, mapped, problems = [], [], []
    for c in commands:
        if c.kind == "cron" or re.match(r"bridge(\s|$)", c.text):
            if c.text not in EXPECT:
                problems.append(f"README.md:{c.line}: {c.text!r} is run by this test but has no "
                                "EXPECT entry (its exit status and output)")
            runs.append(c)
            continue
        for pattern, targets, _why in MAPPED:
            if re.fullmatch(pattern, c.text):
                mapped.append((c, pattern, targets))
                break
        else:
            problems.append(f"README.md:{c.line}: {c.text!r} is neither run by this test nor "
                            "mapped in MAPPED to the test that exercises it")
    return runs, mapped, problems


def readme_privileges(text):
    """The first column of README's Jamf Pro privilege table."""
    rows = re.search(r"^\| Jamf Pro privilege \|.*\n\|[-| ]+\|\n((?:\|.*\|\n)+)", text, re.M)
    if rows is None:
        return []
    return [r.split("|")[1].strip() for r in rows.group(1).splitlines()]


# ---------------------------------------------------------------------------
# A README policy file pointed at simulators
# ---------------------------------------------------------------------------

class World:
    """One README policy file, adapted: each tenant's Jamf Pro and Jamf Platform on a simulator
    of its own, the feed and webhooks on the first, state in a folder of its own. The
    secrets the file references are set to what the simulators expect (env: in self.env,
    file: written beside the file); missing groups are made as static groups."""

    def __init__(self, text, folder, privileges):
        """Start the simulators and write the adapted policy file; stop() undoes it."""
        self.dir = Path(folder)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.env, self.sims = {}, []
        doc = yaml.safe_load(text)
        tenants = doc["tenants"] if "tenants" in doc else [doc]
        try:
            for tenant in tenants:
                sim = Sim(gdmf=FEED, shift_dates=True, fleet_computers=60, fleet_mobile=24)
                self.sims.append(sim)
                sim.start()
                sim.jamf_settings(deploy_step=0.3, report_spread=1.0)
                sim.set_clients({README_CLIENT_ID: {"secret": README_CLIENT_SECRET,
                                                    "privileges": list(privileges)}})
                self.make_groups(sim, tenant["policies"])
                self.point_at(sim, tenant)
            first = self.sims[0]
            doc["state_dir"] = str(self.dir / "state")
            doc["gdmf"] = {**doc.get("gdmf", {}), "url": first.url + "/v2/pmv",
                           "ca_file": str(first.ca_file)}
            if "metrics_file" in doc:
                doc["metrics_file"] = str(self.dir / "bridge.prom")
            for alert in doc.get("alerts", []):
                hook = f"{first.url}/webhook/readme-{alert['name']}"
                alert["url"] = self.secret(alert["url"], hook)
                alert["ca_file"] = str(first.ca_file)
        except BaseException:
            self.stop()
            raise
        self.policy = self.dir / "bridge.yaml"
        self.policy.write_text(json.dumps(doc, indent=1) + "\n")  # JSON is YAML
        self.env_file = self.dir / "env"
        self.env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in self.env.items()))
        self.env_file.chmod(0o600)

    def stop(self):
        """Stop the simulators."""
        for sim in self.sims:
            sim.stop()

    def secret(self, ref, value):
        """Make the reference ref resolve to value; returns what the file should hold."""
        if not isinstance(ref, str) or not ref.startswith(("env:", "file:")):
            return value  # a literal (client ids may be written as they are)
        if ref.startswith("env:"):
            self.env[ref[4:]] = value
        else:
            path = Path(ref[5:])
            if path.is_absolute():
                raise AssertionError(f"README policy file reads a secret from {path}: use a "
                                     "relative path, which the test can provide")
            (self.dir / path).write_text(value + "\n")
            (self.dir / path).chmod(0o600)
        return ref

    def point_at(self, sim, section):
        """Point the jamf: and platform: of a tenant (or the top level) at sim."""
        jamf = section["jamf"]
        jamf.update(url=sim.url, ca_file=str(sim.ca_file))
        jamf["client_id"] = self.secret(jamf.get("client_id"), README_CLIENT_ID)
        jamf["client_secret"] = self.secret(jamf.get("client_secret"), README_CLIENT_SECRET)
        platform = section.get("platform")
        if platform is not None:
            platform.update(url=sim.url, ca_file=str(sim.ca_file), environment_id=ENVIRONMENT_ID)
            platform["client_id"] = self.secret(platform.get("client_id"), PLATFORM_CLIENT_ID)
            platform["client_secret"] = self.secret(platform.get("client_secret"),
                                                    PLATFORM_CLIENT_SECRET)

    @staticmethod
    def make_groups(sim, policies):
        """Make the groups the policies name that the simulated Jamf Pro lacks, as static
        groups: scope groups hold every device, ring groups every 4th, exclusions two."""
        have = {(g["kind"], g["name"]) for g in sim.jamf_state()["groups"]}
        token = sim.pro_token()
        for p in policies:
            mobile = p["platform"] == "iOS"
            kind = "MOBILE" if mobile else "COMPUTER"
            ids = sorted((d["mobileDeviceId" if mobile else "id"]
                          for d in sim.devices("mobile" if mobile else "computer")), key=int)
            wanted = [(g, ids) for g in p["scope"]["groups"]]
            wanted += [(g, ids[:2]) for g in p["scope"].get("exclude_groups", [])]
            wanted += [(g, ids[::4]) for r in p.get("rings", []) for g in r.get("groups", [])]
            for name, members in wanted:
                if (kind, name) in have:
                    continue
                if mobile:
                    path = "/api/v2/mobile-device-groups/static-groups"
                    body = {"groupName": name, "assignments": [
                        {"mobileDeviceId": i, "selected": True} for i in members]}
                else:
                    path, body = "/api/v3/computer-groups/static-groups", {"name": name,
                                                                           "assignments": members}
                status, _, answer = sim.call("POST", path, body, token=token)
                if status != 201:
                    raise AssertionError(f"making group {name!r} in the simulator: {status} "
                                         f"{answer}")
                have.add((kind, name))


def bin_dir(folder):
    """A folder holding `bridge`, the binary under test, to put first on PATH."""
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    link = folder / "bridge"
    if not link.exists():
        link.symlink_to(os.environ["BRIDGE_BIN"])
    return folder


def base_env():
    """The caller's environment without BRIDGE_* variables (as bridgelib does)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}


def where_things_are(text, world):
    """text with README's paths replaced by the world's (policy file, binary, env file)."""
    text = re.sub(r"(?<!\S)(-c|--config)(=|\s+)\S+", lambda m: m.group(1) + m.group(2) +
                  shlex.quote(str(world.policy)), text)
    return (text.replace(README_POLICY, shlex.quote(str(world.policy)))
            .replace(README_BINARY, "bridge")
            .replace(README_ENV_FILE, shlex.quote(str(world.env_file))))


def run_command(command, world, path_dir):
    """Run a README command in world as a shell would; a cron line as cron would, with a
    bare environment (its secrets come from the env file only)."""
    if command.kind == "cron":
        env = {"PATH": f"{path_dir}:/usr/bin:/bin", "HOME": str(world.dir), "SHELL": "/bin/sh",
               "LANG": "C.UTF-8"}
        line = cron_command(command.text)
    else:
        env = {**base_env(), **world.env, "BRIDGE_CONFIG": str(world.policy),
               "PATH": f"{path_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
        line = command.text
    return subprocess.run(["sh", "-c", where_things_are(line, world)], env=env, cwd=world.dir,
                          capture_output=True, text=True, timeout=300)


def describe(command, r):
    """A failure message: the command, its status and the tail of its output."""
    return (f"README.md:{command.line}: {command.text!r} exited {r.returncode}\n"
            f"--- stdout ---\n{r.stdout[-3000:]}\n--- stderr ---\n{r.stderr[-3000:]}")


# ---------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------

class Readme(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.text = README.read_text()
        cls.blocks = read_blocks(cls.text)
        cls.yamls = [b for b in cls.blocks if b.lang == "yaml"]
        cls.commands = read_commands(cls.blocks)
        cls.privileges = readme_privileges(cls.text)

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="bridge-readme-")
        self.addCleanup(self.tmp.cleanup)
        self.dir = Path(self.tmp.name)

    def test_readme_has_what_the_manual_needs(self):
        """The blocks this test reads are there: a guard against a README that escapes it."""
        self.assertGreaterEqual(len(self.yamls), 5)
        self.assertIn("make deps demo", [c.text for c in self.commands])
        self.assertIn("make test", [c.text for c in self.commands])
        self.assertGreaterEqual(len(self.privileges), 10)
        for b in self.blocks:
            self.assertIn(b.lang, COMMAND_LANGS | OTHER_LANGS,
                          f"README.md:{b.line}: a ```{b.lang} block: this test does not know "
                          "whether it holds commands")

    def test_readme_links_resolve(self):
        """Every #anchor names a heading (GitHub's slugs), every relative link a file."""
        slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                 for h in re.findall(r"^#{1,6} (.*)$", self.text, re.M)}
        for target in re.findall(r"\]\(([^)\s]+)\)", self.text):
            with self.subTest(link=target):
                if target.startswith("#"):
                    self.assertIn(target[1:], slugs)
                elif not re.match(r"[a-z]+:", target):
                    self.assertTrue((ROOT / target).exists(), target)

    def test_every_command_is_run_or_mapped(self):
        _runs, mapped, problems = classify(self.commands)
        self.assertEqual(problems, [])
        used = {pattern for _c, pattern, _t in mapped}
        for pattern, targets, _why in MAPPED:
            self.assertIn(pattern, used, f"MAPPED entry {pattern!r} matches no README command")
        unused = set(EXPECT) - {c.text for c in self.commands}
        self.assertEqual(unused, set(), "EXPECT entries for commands README does not show")

    def test_mapped_commands_are_exercised(self):
        """Each mapped command's target exists: a test method, or a line of .ci/run."""
        ci = [l.strip() for l in CI.read_text().splitlines()
              if l.strip() and not l.lstrip().startswith("#")]
        for pattern, targets, _why in MAPPED:
            for target in targets:
                with self.subTest(pattern=pattern, target=target):
                    if target.startswith("ci:"):
                        want = target[3:]
                        self.assertTrue(any(l == want or l.startswith(want + " ") for l in ci),
                                        f".ci/run does not run {want!r}")
                        continue
                    module, cls, method = target.split(".")
                    test_cls = getattr(importlib.import_module(module), cls)
                    self.assertTrue(callable(getattr(test_cls, method, None)), target)
                    self.assertTrue(method.startswith("test_"), target)

    def test_every_policy_example_passes_check(self):
        """Each yaml block as it is: bridge check accepts it (exit 0)."""
        for n, block in enumerate(self.yamls):
            with self.subTest(block=f"README.md:{block.line}"):
                folder = self.dir / f"check-{n}"
                folder.mkdir()
                path = folder / "bridge.yaml"
                path.write_text(block.text)
                env = base_env()
                for name in re.findall(r"\benv:([A-Za-z_][A-Za-z0-9_]*)", block.text):
                    env[name] = PLACEHOLDER
                for ref in re.findall(r"\bfile:(\S+)", block.text):
                    self.assertFalse(ref.startswith("/"), f"README.md:{block.line}: file:{ref} "
                                     "is absolute; the test can only provide relative ones")
                    (folder / ref).write_text("readme-placeholder-secret\n")
                    (folder / ref).chmod(0o600)
                r = subprocess.run([os.environ["BRIDGE_BIN"], "check", "-c", str(path)], env=env,
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 0, f"README.md:{block.line}:\n{r.stdout}{r.stderr}")
                self.assertIn("bridge.yaml: OK", r.stdout)

    def test_every_policy_example_works_with_jamf(self):
        """Each yaml block, pointed at simulators and signed in to with README's privileges:
        doctor passes every check, and a first sync enforces without an error."""
        path_dir = bin_dir(self.dir / "bin")
        for n, block in enumerate(self.yamls):
            with self.subTest(block=f"README.md:{block.line}"):
                world = World(block.text, self.dir / f"world-{n}", self.privileges)
                self.addCleanup(world.stop)
                for text, pattern in (
                        ("bridge doctor", r"(?m)^doctor: all \d+ checks passed$"),
                        ("bridge sync", r"(?m)^  (plans|blueprints): [1-9]\d* created")):
                    c = Command(text, "sh", block.line, n)
                    r = run_command(c, world, path_dir)
                    self.assertEqual(r.returncode, 0, describe(c, r))
                    self.assertRegex(r.stdout, pattern, describe(c, r))
                world.stop()

    def test_readme_commands_do_what_readme_says(self):
        """Every bridge command and cron line, in README order, in the world of the policy
        file above it."""
        runs, _mapped, problems = classify(self.commands)
        self.assertEqual(problems, [])
        path_dir = bin_dir(self.dir / "bin")
        worlds = {}
        for c in runs:
            if c.policy not in worlds:
                worlds[c.policy] = World(self.yamls[c.policy].text, self.dir / f"world-{c.policy}",
                                         self.privileges)
                self.addCleanup(worlds[c.policy].stop)
            want = EXPECT[c.text]
            started = time.monotonic()
            r = run_command(c, worlds[c.policy], path_dir)
            seconds = round(time.monotonic() - started, 1)
            with self.subTest(command=c.text, line=c.line, seconds=seconds):
                self.assertEqual(r.returncode, want.status, describe(c, r))
                for pattern in want.stdout:
                    self.assertRegex(r.stdout, pattern, describe(c, r))
                for pattern in want.not_stdout:
                    self.assertNotRegex(r.stdout, pattern, describe(c, r))
                for pattern in want.stderr:
                    self.assertRegex(r.stderr, pattern, describe(c, r))
                if want.quiet:
                    self.assertEqual(r.stderr, "", describe(c, r))
                for secret in (README_CLIENT_SECRET, PLATFORM_CLIENT_SECRET):
                    self.assertNotIn(secret, r.stdout + r.stderr)

    def test_cron_line_is_contrib_s(self):
        """The crontab line README shows is the one contrib/bridge.cron installs (and it runs
        in test_readme_commands_do_what_readme_says)."""
        lines = [c.text for c in self.commands if c.kind == "cron"]
        contrib = [l.strip() for l in (ROOT / "contrib" / "bridge.cron").read_text().splitlines()
                   if l.strip() and not l.startswith("#")]
        self.assertEqual(lines, contrib)

    def test_make_demo(self):
        """make demo (tests/demo.sh) with the binary under test: it must not rebuild it."""
        binary = os.environ["BRIDGE_BIN"]
        r = subprocess.run(["make", "-s", "demo", f"BIN={binary}", "-o", binary], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out[-4000:])
        for pattern in (r"config/demo\.yaml: OK", r"(?m)^doctor: all \d+ checks passed$",
                        r"(?m)^  plans: [1-9]\d* created, 0 already there, 0 refused$",
                        r"(?m)^  watch: \d+ devices: [1-9]\d* done",
                        r"devices targeted", r"(?m)^bridge \d+\.\d+\.\d+$"):
            self.assertRegex(out, pattern, out[-4000:])

    def test_the_guard_catches_a_new_command(self):
        """A command README might gain tomorrow fails this test until it is run or mapped."""
        text = ("```yaml\njamf: {}\n```\n\n```sh\nbridge frobnicate\nrm -rf build\nmake test\n"
                "```\n\n    sudo reboot\n")
        commands = read_commands(read_blocks(text))
        self.assertEqual([c.text for c in commands],
                         ["bridge frobnicate", "rm -rf build", "make test", "sudo reboot"])
        runs, mapped, problems = classify(commands)
        self.assertEqual([c.text for c in runs], ["bridge frobnicate"])
        self.assertEqual([c.text for c, _p, _t in mapped], ["make test"])
        self.assertEqual(len(problems), 3)
        self.assertIn("no EXPECT entry", problems[0])
        self.assertIn("'rm -rf build' is neither run", problems[1])
        self.assertIn("'sudo reboot' is neither run", problems[2])


if __name__ == "__main__":
    unittest.main()
