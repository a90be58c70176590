#!/usr/bin/env python3
"""Benchmark bridge sync at fleet scale against the simulator (issue 8).

    python3 tests/bench/bench.py [--sizes 1000,10000,100000] [--latency 0.05] [--mode plan]

For each fleet size the simulator (tests/sim/sim.py) starts with that many Macs and a
simulated round trip of --latency seconds on every request, serving the 2026-03-17 GDMF
capture with its dates moved so that its BSIs came out yesterday: about 75 % of the fleet
then needs a plan (the BSI, or first its base update) and 12 % already has it.  bridge then
runs `bridge sync` three times with one policy over "All Managed Clients":

    first   a fresh state folder: the feed is fetched, everything is to create
    steady  an hour later on the simulated clock (plans validated, still in progress):
            `sync --full`, nothing new, only watching; --steady-runs times (3) from the
            same state, the one of median wall time reported
    idle    right after: a plain `sync`, with the feed cached (the common cron case); the
            policy file sets watch.interval: 1h, so bridge leaves the tenant alone

For each run it prints the requests bridge sent, by kind; the wall time; bridge's own CPU
time and peak resident memory (measured by runstat, see runstat.c); the lower bound
requests / max_connections x latency and the ratio of the wall time to it; and the CPU
the simulator spent meanwhile, so that a slow simulator is not mistaken for a slow bridge.
For a run that only reads (steady, idle) it also prints the floor: the same GETs, in the
same order and max_connections at a time, fetched by curl(1) without reading them (curl
--parallel), i.e. what this simulator on this machine serves at best.  Where the floor is
above the bound, the simulator, not bridge, keeps the wall time from the bound.
The figures also go to build/bench/results.json.  The targets of issue 8 are checked and
printed as met or missed; they are not assertions (the exit status is 0 unless a run
failed).

The simulator is Python: it must not be what is measured.  Before each run its inventory
pages are warmed by one `bridge sync` (with its own state folder, and a policy that matches
no Mac, so that it creates nothing), every plan is read once and the list of unfinished
plans bridge follows them by is asked for once (the simulator keeps that list's order while
nothing changes, as a real Jamf Pro's database has it indexed; without this the measured run
would pay for sorting 75,000 plans in Python and the floor, read after it, would not);
these requests are not counted.  Its --latency includes its own work on
each request (sim.py): Python serves one request at a time, a real server side by side.  It runs
with a frozen clock that the benchmark moves, and the "sim CPU" column shows what it spent
during each run: when that nears the wall time, the simulator, not bridge, set the pace.

Python standard library only; needs the bridge binary and runstat (make bench builds both).
"""

import argparse
import datetime
import json
import math
import os
import re
import shutil
import ssl
import subprocess
import sys
import urllib.parse
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from simlib import (ENVIRONMENT_ID, JAMF_CLIENT_ID, JAMF_CLIENT_SECRET, PLANS_PATH,  # noqa: E402
                    PLATFORM_CLIENT_ID, PLATFORM_CLIENT_SECRET, Sim)

FEED = ROOT / "tests" / "fixtures" / "gdmf" / "pmv-2026-03-17.json"
# the list bridge follows its plans by (watch.c: UNFINISHED_FILTER)
UNFINISHED_FILTER = "state=out=(PlanCompleted,PlanFailed,PlanException,PlanCanceled)"
RUNS = ("first", "steady", "idle")
RUN_TITLES = {"first": "first run (all new)", "steady": "steady state", "idle": "idle, feed cached"}
RUN_COMMANDS = {"first": ["sync"], "steady": ["sync", "--full"], "idle": ["sync"]}
STEADY_AFTER = 3600  # simulated seconds between the first run and the steady-state run
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ID_SEGMENT_RE = re.compile(r"/\d+(?=/|$)")
FILTER_HEAD_RE = re.compile(r"\s*\(*\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=[a-z]+=|==|!=|<=|>=|<|>)")
MIB = 1024 * 1024


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def parse_size(text):
    """1000, 10_000, 10k or 1m as a whole number of devices."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1000, "m": 1000000}.get(text[-1:], 1)
    number = int(text[:-1] if scale > 1 else text)
    if number < 1:
        raise ValueError(f"a fleet size must be at least 1, not {text!r}")
    return number * scale


def parse_args(argv):
    """The benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None,
                        help="fleet sizes, comma-separated (default 1000,10000,100000; --quick: 1000,10000)")
    parser.add_argument("--quick", action="store_true", help="only 1,000 and 10,000 devices")
    parser.add_argument("--latency", type=float, default=0.05, metavar="SECONDS",
                        help="simulated round trip added to every request (default 0.05)")
    parser.add_argument("--mode", choices=("plan", "blueprint"), default="plan",
                        help="the policy's backend (default plan)")
    parser.add_argument("--max-connections", type=int, default=5, metavar="N",
                        help="jamf.max_connections in the policy file and the bound (default 5)")
    parser.add_argument("--batch-size", type=int, default=1000, metavar="N",
                        help="the policy's batch_size: devices per plan request (default 1000)")
    parser.add_argument("--bridge", type=Path, default=ROOT / "build" / "bridge", help="the binary")
    parser.add_argument("--runstat", type=Path, default=ROOT / "build" / "bench" / "runstat",
                        help="the runstat helper (tests/bench/runstat.c)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "results.json",
                        help="where the figures go as JSON")
    parser.add_argument("--steady-runs", type=int, default=3, metavar="N",
                        help="steady-state runs, each from the same state; the median is reported "
                             "(default 3)")
    parser.add_argument("--keep", action="store_true",
                        help="keep each size's folder (policy file, state, bridge output)")
    args = parser.parse_args(argv)
    try:
        args.sizes = [parse_size(s) for s in (args.sizes or ("1000,10000" if args.quick else
                                                             "1000,10000,100000")).split(",") if s.strip()]
    except ValueError as exc:
        parser.error(f"--sizes: {exc}")
    if not args.sizes:
        parser.error("--sizes: no size given")
    if args.latency < 0:
        parser.error("--latency must be >= 0")
    if not 1 <= args.max_connections <= 16:
        parser.error("--max-connections must be 1 to 16 (bridge.yaml(5))")
    if not 1 <= args.batch_size <= 1000:
        parser.error("--batch-size must be 1 to 1000 (bridge.yaml(5))")
    for name in ("bridge", "runstat"):
        path = getattr(args, name).resolve()  # bridge runs in each size's own folder
        setattr(args, name, path)
        if not os.access(path, os.X_OK):
            parser.error(f"{path} is not an executable; run 'make bench' (it builds bridge and runstat)")
    return args


# ---------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------

class Control:
    """Control calls to the simulator that may take long (simlib's give up after 10 s)."""

    def __init__(self, sim):
        """sim: a started simlib.Sim."""
        self.url = sim.url
        context = ssl.create_default_context(cafile=str(sim.ca_file))
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPSHandler(context=context))

    def call(self, method, path, body=None, timeout=900):
        """One control call; its decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with self.opener.open(request, timeout=timeout) as reply:
            return json.loads(reply.read())


def process_cpu(pid):
    """CPU seconds (user + system) a live process has used so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request_kind(entry):
    """METHOD /path with ids as {id}/{uuid}, plus the field and operator of a filter."""
    path = ID_SEGMENT_RE.sub("/{id}", UUID_RE.sub("{uuid}", entry["path"]))
    kind = f"{entry['method']} {path}"
    params = urllib.parse.parse_qs(entry.get("query") or "", keep_blank_values=True)
    text = (params.get("filter") or [""])[-1]
    if text:
        head = FILTER_HEAD_RE.match(text)
        kind += f" filter={head.group(1)}{head.group(2)}..." if head else " filter=..."
    return kind


def per_device(kind):
    """True for a request about one object (its path names an id)."""
    return "{id}" in kind or "{uuid}" in kind


# ---------------------------------------------------------------------------
# One size
# ---------------------------------------------------------------------------

def policy_text(args, sim, mode, warm=False):
    """The policy file of the benchmark; with warm, the warm-up's: its own state folder, and
    a policy that matches no Mac (it reads what the runs read and creates nothing)."""
    platform = ""
    if mode == "blueprint":
        platform = (f"platform: {{url: \"{sim.url}\", ca_file: \"{sim.ca_file}\", "
                    f"environment_id: {ENVIRONMENT_ID}, client_id: {PLATFORM_CLIENT_ID}, "
                    "client_secret: env:BENCH_PLATFORM_SECRET, deploy_wait: 0s}\n")
    return (f"state_dir: {'warm-state' if warm else 'state'}\n"
            "watch: {interval: 1h}\n"
            f"gdmf: {{url: \"{sim.url}/v2/pmv\", ca_file: \"{sim.ca_file}\"}}\n"
            f"jamf: {{url: \"{sim.url}\", ca_file: \"{sim.ca_file}\", client_id: {JAMF_CLIENT_ID}, "
            f"client_secret: env:BENCH_JAMF_SECRET, max_connections: {args.max_connections}}}\n"
            + platform +
            "policies:\n"
            "  - name: bench\n"
            "    platform: macOS\n"
            f"    mode: {mode}\n"
            "    scope: {groups: [\"All Managed Clients\"]}\n"
            f"    batch_size: {args.batch_size}\n"
            "    deadline: {days_after_posting: 3, time: \"18:00\"}\n"
            + ("    models: {include: '^no Mac has this model$'}\n" if warm else ""))


def bridge_env():
    """The environment bridge runs in: ours without BRIDGE_*, plus the two secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    env.update(BENCH_JAMF_SECRET=JAMF_CLIENT_SECRET, BENCH_PLATFORM_SECRET=PLATFORM_CLIENT_SECRET)
    return env


def run_bridge(args, folder, name, command, config):
    """Run bridge COMMAND (a list: the command and its options) -c config under runstat; its
    figures and outputs."""
    stat = folder / f"{name}.stat.json"
    stdout, stderr = folder / f"{name}.out", folder / f"{name}.err"
    argv = [str(args.runstat), str(stat), str(args.bridge), *command, "-c", str(config)]
    started = time.monotonic()
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=folder,
                              env=bridge_env(), check=False)
    wall = time.monotonic() - started
    try:
        figures = json.loads(stat.read_text())
    except (OSError, ValueError):
        figures = {"status": proc.returncode, "signal": 0, "utime_us": 0, "stime_us": 0, "maxrss_kib": 0}
    return {
        "exit": figures["status"] if figures["signal"] == 0 else f"signal {figures['signal']}",
        "wall_s": wall,
        "cpu_s": (figures["utime_us"] + figures["stime_us"]) / 1e6,
        "user_s": figures["utime_us"] / 1e6,
        "sys_s": figures["stime_us"] / 1e6,
        "peak_rss_kib": figures["maxrss_kib"],
        "stdout": stdout.read_text(errors="replace"),
        "stderr": stderr.read_text(errors="replace"),
    }


def measured_run(args, sim, folder, name, config):
    """One bridge sync with the simulator's request log cleared first; all its figures."""
    sim.reset()
    sim_cpu = process_cpu(sim.proc.pid)
    result = run_bridge(args, folder, name, RUN_COMMANDS[name], config)
    result["sim_cpu_s"] = process_cpu(sim.proc.pid) - sim_cpu
    entries = sim.requests()
    kinds = {}
    for entry in entries:
        kind = request_kind(entry)
        kinds[kind] = kinds.get(kind, 0) + 1
    result["requests"] = len(entries)
    result["by_kind"] = dict(sorted(kinds.items(), key=lambda item: (-item[1], item[0])))
    result["per_device_requests"] = sum(n for kind, n in kinds.items() if per_device(kind))
    result["bound_s"] = len(entries) / args.max_connections * args.latency
    result["ratio"] = result["wall_s"] / result["bound_s"] if result["bound_s"] > 0 else float("nan")
    result["batching"] = plan_batching(entries, args.batch_size)
    result["floor_s"] = floor_run(args, sim, folder, name, entries)
    summary = re.search(r"plans: (\d+) created, (\d+) already there, (\d+) refused", result["stdout"])
    result["plans_created"] = int(summary.group(1)) if summary else None
    stdout, stderr = result.pop("stdout"), result.pop("stderr")
    (folder / f"{name}.stdout-tail").write_text(stdout[-4000:])
    result["stderr_tail"] = stderr[-2000:]
    return result


def floor_run(args, sim, folder, name, entries):
    """The floor of a run that only read (see the top): curl fetching its GETs, in order,
    max_connections at a time; its wall time in seconds, or None when the run wrote (its
    POSTs cannot be sent twice) or curl failed."""
    if any(e["method"] != "GET" for e in entries if e["path"] != "/api/oauth/token"):
        return None
    gets = [e for e in entries if e["method"] == "GET"]
    if not gets:
        return None
    listing = folder / f"{name}.floor.curl"
    try:
        # the listing holds a token: readable by this user only, and removed after use
        with os.fdopen(os.open(listing, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
                       encoding="utf-8") as out:
            out.write(f'header = "Authorization: Bearer {sim.pro_token()}"\n')
            for e in gets:
                query = f"?{e['query']}" if e.get("query") else ""
                out.write(f'url = "{sim.url}{e["path"]}{query}"\noutput = "/dev/null"\n')
        started = time.monotonic()
        done = subprocess.run(["curl", "--silent", "--show-error", "--fail", "--globoff",
                               "--noproxy", "*", "--cacert", str(sim.ca_file), "--parallel",
                               "--parallel-max", str(args.max_connections), "--config",
                               str(listing)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        wall = time.monotonic() - started
    except OSError as exc:
        progress(f"    floor: not measured: {exc}")
        return None
    finally:
        listing.unlink(missing_ok=True)
    if done.returncode != 0:
        progress(f"    floor: curl exited {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}")
        return None
    return wall


def plan_batching(entries, batch_size):
    """Plan POSTs made and the fewest that batching by config could have made."""
    per_config = {}
    posts = 0
    for entry in entries:
        if entry["method"] != "POST" or not entry["path"].endswith("/managed-software-updates/plans"):
            continue
        posts += 1
        try:
            body = json.loads(entry["body"])
            key = json.dumps(body.get("config"), sort_keys=True)
            per_config[key] = per_config.get(key, 0) + len(body.get("devices") or [])
        except (ValueError, AttributeError):
            continue
    devices = sum(per_config.values())
    ideal = sum(math.ceil(n / batch_size) for n in per_config.values())
    return {"posts": posts, "devices": devices, "configs": len(per_config), "ideal_posts": ideal}


def bench_size(args, size, workdir):
    """Start a simulator for one fleet size and run the three syncs; the figures."""
    folder = workdir / f"n{size}"
    folder.mkdir(parents=True)
    out = {"devices": size}
    started = time.monotonic()
    sim = Sim(gdmf=FEED, shift_dates=True, fleet_computers=size, fleet_mobile=0,
              latency_ms=args.latency * 1000, frozen_clock=True,
              start_timeout=120 + size / 1000)
    sim.start()
    try:
        out["sim_start_s"] = time.monotonic() - started
        control = Control(sim)
        if args.mode == "blueprint":
            control.call("POST", "/_sim/jamf/settings", {"deploy_step": 0.5})
        config = folder / "bridge.yaml"
        config.write_text(policy_text(args, sim, args.mode))
        warm = folder / "warm.yaml"
        warm.write_text(policy_text(args, sim, args.mode, warm=True))
        progress(f"  {size:,} devices: simulator ready in {out['sim_start_s']:.1f} s")
        out["runs"] = {}
        out["warm_s"] = 0.0
        for name in RUNS:
            if name == "steady":
                started = time.monotonic()
                control.call("POST", "/_sim/clock", {"advance": STEADY_AFTER})
                out["advance_s"] = time.monotonic() - started
            started = time.monotonic()
            warm_up(args, sim, folder, warm)
            out["warm_s"] += time.monotonic() - started
            progress(f"  {size:,} devices: {RUN_TITLES[name]} ...")
            if name == "steady":
                result = steady_runs(args, sim, folder, config)
            else:
                result = measured_run(args, sim, folder, name, config)
            out["runs"][name] = result
            progress(f"    exit {result['exit']}, {result['requests']} requests, "
                     f"{result['wall_s']:.2f} s wall, {result['cpu_s']:.2f} s CPU, "
                     f"{result['peak_rss_kib'] / 1024:.1f} MiB")
            if result["exit"] not in (0, 1):
                progress("    bridge failed:\n" + result["stderr_tail"])
    finally:
        sim.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return out


def steady_runs(args, sim, folder, config):
    """The steady-state run --steady-runs times, each from the state the first run left (they
    only read Jamf, so each does the same work): the figures of the one with the median wall
    time, with every run's wall time in "walls_s". One run on a shared machine can be off by
    a fifth either way."""
    state, kept = folder / "state", folder / "state-before-steady"
    shutil.copytree(state, kept)
    runs = []
    for k in range(max(1, args.steady_runs)):
        if k > 0:
            shutil.rmtree(state)
            shutil.copytree(kept, state)
        runs.append(measured_run(args, sim, folder, "steady", config))
    shutil.rmtree(kept)
    result = sorted(runs, key=lambda run: run["wall_s"])[len(runs) // 2]
    result["walls_s"] = [run["wall_s"] for run in runs]
    return result


def warm_up(args, sim, folder, warm):
    """Have the simulator render what the next run reads: every inventory page (one bridge sync
    with its own state folder, creating nothing) and every plan.  It keeps what it rendered
    while nothing changes, as a real Jamf Pro would have it cached."""
    warmed = run_bridge(args, folder, "warm", ["sync", "--full"], warm)
    if warmed["exit"] != 0:
        progress(f"  warm-up bridge sync exited {warmed['exit']}: {warmed['stderr'][-500:]}")
    warm_plans(sim)


def warm_plans(sim):
    """Read every plan once, and the first page of the unfinished plans (see warm_up)."""
    token = sim.pro_token()
    for page in range(10000):
        status, _, data = sim.call("GET", f"{PLANS_PATH}?page={page}&page-size=2000&sort=planUuid%3Aasc",
                                   token=token)
        if status != 200 or not data.get("results"):
            break
    sim.call("GET", f"{PLANS_PATH}?page=0&page-size=2000&sort=planUuid%3Aasc&filter="
             + urllib.parse.quote(UNFINISHED_FILTER, safe=""), token=token)


def progress(line):
    """A progress line on stderr (the report goes to stdout)."""
    print(line, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def steady_request_limit(size):
    """Issue 8: at most 2 * ceil(N / 2000) + 20 requests in the steady state."""
    return 2 * math.ceil(size / 2000) + 20


def targets(args, results):
    """The targets of issue 8 as [(name, met or None when not measured, evidence)]."""
    found = []
    by_size = {r["devices"]: r for r in results}

    def verdict(name, ok, evidence):
        found.append({"target": name, "met": ok, "evidence": evidence})

    big = by_size.get(100000)
    if big:
        steady = big["runs"]["steady"]
        limit = steady_request_limit(100000)
        verdict("steady state at 100,000: requests <= 2*ceil(N/2000)+20",
                steady["requests"] <= limit, f"{steady['requests']} requests, limit {limit}")
        floor = steady.get("floor_s")
        verdict("steady state at 100,000: wall <= 1.5 x lower bound", steady["ratio"] <= 1.5,
                f"{steady['wall_s']:.2f} s wall, bound {steady['bound_s']:.2f} s, "
                f"ratio {steady['ratio']:.2f}" + (
                    "" if floor is None or steady["bound_s"] <= 0 else
                    f"; the simulator's floor is {floor:.2f} s "
                    f"({floor / steady['bound_s']:.2f} x the bound)"))
        verdict("steady state at 100,000: peak memory < 64 MiB", steady["peak_rss_kib"] < 64 * 1024,
                f"{steady['peak_rss_kib'] / 1024:.1f} MiB")
        verdict("steady state at 100,000: bridge CPU < 2 s", steady["cpu_s"] < 2.0,
                f"{steady['cpu_s']:.2f} s")
        first = big["runs"]["first"]
        batching = first["batching"]
        if args.mode == "plan":
            ok = (batching["posts"] <= batching["ideal_posts"] and first["per_device_requests"] <= 20
                  and batching["devices"] > 0)
            verdict("first run at 100,000: plans created in batches (no request per device)", ok,
                    f"{batching['posts']} plan POSTs for {batching['devices']} devices in "
                    f"{batching['configs']} configs (fewest possible {batching['ideal_posts']}); "
                    f"{first['per_device_requests']} per-device requests")
        verdict("first run at 100,000: wall <= 2 x lower bound", first["ratio"] <= 2.0,
                f"{first['wall_s']:.2f} s wall, bound {first['bound_s']:.2f} s, ratio {first['ratio']:.2f}")
    else:
        verdict("targets at 100,000 devices", None, "not measured (100000 not among --sizes)")
    mid = by_size.get(10000)
    if big and mid:
        for name in ("first", "steady"):
            a, b = mid["runs"][name], big["runs"][name]
            verdict(f"linear: {name} run at 100,000 <= 12 x requests at 10,000",
                    b["requests"] <= 12 * a["requests"],
                    f"{b['requests']} vs {a['requests']} ({b['requests'] / a['requests']:.1f}x)")
            verdict(f"linear: {name} run at 100,000 <= 12 x memory at 10,000",
                    b["peak_rss_kib"] <= 12 * a["peak_rss_kib"],
                    f"{b['peak_rss_kib'] / 1024:.1f} vs {a['peak_rss_kib'] / 1024:.1f} MiB "
                    f"({b['peak_rss_kib'] / a['peak_rss_kib']:.1f}x)")
    else:
        verdict("linear growth 10,000 -> 100,000", None, "not measured (needs both sizes)")
    for r in results:
        idle = r["runs"]["idle"]
        verdict(f"idle run (watch.interval 1h, nothing new, feed cached) at {r['devices']:,}: "
                "CPU < 50 ms",
                idle["cpu_s"] < 0.050, f"{idle['cpu_s'] * 1000:.0f} ms, {idle['requests']} requests, "
                f"{idle['peak_rss_kib'] / 1024:.1f} MiB")
    return found


def fmt_table(header, rows):
    """Rows of strings as a table: first column left-aligned, others right-aligned."""
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = []
    for row in [header] + rows:
        cells = [str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fmt_floor(run):
    """The floor column: seconds, or - for a run that wrote (see floor_run)."""
    return "-" if run.get("floor_s") is None else f"{run['floor_s']:.2f}"


def growth(results):
    """Lines saying how each figure grew from one size to the next (linear: as the fleet)."""
    lines = []
    for small, big in zip(results, results[1:]):
        factor = big["devices"] / small["devices"]
        rows = []
        for name in RUNS:
            a, b = small["runs"][name], big["runs"][name]
            rows.append([name] + [f"{b[key] / a[key]:.1f}x" if a[key] else "-"
                                  for key in ("requests", "wall_s", "cpu_s", "peak_rss_kib")])
        lines += [f"== growth {small['devices']:,} -> {big['devices']:,} devices ({factor:g}x the fleet)",
                  fmt_table(["run", "requests", "wall", "bridge CPU", "peak RSS"], rows), ""]
    return lines


def report(args, results, found):
    """The human-readable report."""
    lines = [f"bridge bench: mode {args.mode}, latency {args.latency * 1000:.0f} ms, "
             f"max_connections {args.max_connections}, batch_size {args.batch_size}, "
             f"{os.cpu_count()} CPUs; bound = requests / max_connections x latency", ""]
    for r in results:
        lines.append(f"== {r['devices']:,} devices (simulator ready in {r['sim_start_s']:.1f} s, "
                     f"warm-ups {r['warm_s']:.1f} s, clock advance {r.get('advance_s', 0):.1f} s)")
        rows = []
        for name in RUNS:
            run = r["runs"][name]
            rows.append([RUN_TITLES[name], run["exit"], run["requests"], f"{run['wall_s']:.2f}",
                         f"{run['bound_s']:.2f}", f"{run['ratio']:.2f}", fmt_floor(run),
                         f"{run['cpu_s']:.3f}", f"{run['peak_rss_kib'] / 1024:.1f}",
                         f"{run['sim_cpu_s']:.2f}"])
        lines.append(fmt_table(["run", "exit", "requests", "wall s", "bound s", "wall/bound", "floor s",
                                "bridge CPU s", "peak RSS MiB", "sim CPU s"], rows))
        kinds = sorted({k for name in RUNS for k in r["runs"][name]["by_kind"]},
                       key=lambda k: (-sum(r["runs"][n]["by_kind"].get(k, 0) for n in RUNS), k))
        rows = [[k] + [r["runs"][n]["by_kind"].get(k, 0) for n in RUNS] for k in kinds]
        lines += ["", fmt_table(["requests by kind", *RUNS], rows)]
        walls = r["runs"]["steady"].get("walls_s", [])
        if len(walls) > 1:
            lines.append(f"steady state: the median of {len(walls)} runs from the same state "
                         f"(wall {', '.join(f'{w:.2f}' for w in walls)} s)")
        first = r["runs"]["first"]
        if args.mode == "plan":
            b = first["batching"]
            lines.append(f"first run: {first['plans_created']} plans created; {b['posts']} plan POSTs for "
                         f"{b['devices']} devices in {b['configs']} configs (fewest possible "
                         f"{b['ideal_posts']})")
        lines.append("")
    if len(results) > 1:
        rows = []
        for r in results:
            for name in RUNS:
                run = r["runs"][name]
                rows.append([f"{r['devices']:,} {name}", run["requests"], f"{run['wall_s']:.2f}",
                             f"{run['bound_s']:.2f}", f"{run['ratio']:.2f}", fmt_floor(run),
                             f"{run['cpu_s']:.3f}", f"{run['peak_rss_kib'] / 1024:.1f}",
                             f"{run['sim_cpu_s']:.2f}"])
        lines += ["== summary", fmt_table(["fleet, run", "requests", "wall s", "bound s", "wall/bound",
                                           "floor s", "bridge CPU s", "peak RSS MiB", "sim CPU s"], rows),
                  ""]
    lines += growth(results)
    lines.append("== targets (issue 8)")
    for t in found:
        mark = {True: "MET   ", False: "MISSED", None: "n/a   "}[t["met"]]
        lines.append(f"  {mark} {t['target']}: {t['evidence']}")
    return "\n".join(lines)


def main(argv=None):
    """Run every size, print the report, write the JSON; exit 1 if a run failed."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    results = []
    failed = False
    try:
        for size in args.sizes:
            result = bench_size(args, size, workdir)
            results.append(result)
            failed |= any(run["exit"] not in (0, 1) for run in result["runs"].values())
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            progress(f"kept {workdir}")
    found = targets(args, results)
    print(report(args, results, found))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "mode": args.mode, "latency_s": args.latency, "max_connections": args.max_connections,
           "batch_size": args.batch_size, "cpus": os.cpu_count(), "sizes": results, "targets": found}
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\n(figures written to {args.out})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
