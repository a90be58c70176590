#!/usr/bin/env python3
"""Build tests/contract/jamf-pro-contract.json, the Jamf Pro contract Prism checks against.

    python3 tests/contract/make-spec.py [--full PATH] [--subset PATH] [--out PATH] [--check]

The contract is the project's subset (tests/fixtures/jamf/jamf-pro-11.30.1-subset.json) plus the
mobile-device endpoints bridge uses (MOBILE_PATHS), which the subset lacks: reads, and now also the
static mobile device group writes (POST, PATCH, DELETE).  Those path items are copied verbatim from
the official full schema, with every component they reference, transitively.  The full schema is
read only here, once, when the contract is (re)built; the output is committed, and tests never read
the full schema.

One transformation is applied to the whole document, so that Prism routes bridge's real request
paths: the server base path is folded into the paths.  The Jamf schema says servers [{"url":
"/api"}] and paths like /v1/oauth/token; Prism 5.14.2 matches a request path against the path keys
alone (it uses servers only when a request carries ?__server=...), so a request for
/api/v1/oauth/token would match nothing.  The contract therefore has servers [{"url": "/"}] and
paths like /api/v1/oauth/token; the operations themselves are unchanged.

--check rebuilds in memory and exits 1 if the committed file differs (nothing is written).
"""

import argparse
import copy
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_SUBSET = REPO_ROOT / "tests" / "fixtures" / "jamf" / "jamf-pro-11.30.1-subset.json"
DEFAULT_FULL = (REPO_ROOT.parent / "shared" / "reference" / "jamf" / "openapi"
                / "jamf-pro-11.30.1-full.json")
DEFAULT_OUT = HERE / "jamf-pro-contract.json"

# Mobile-device calls bridge makes, which the subset does not have (v1 group endpoints are
# deprecated in 11.30.1 but still served; both generations are in the contract).  Reads, plus the
# static group path items, whose POST (create), PATCH (rename, add/remove devices) and DELETE are
# writes bridge makes; each path item is copied whole, with every method the schema gives it.
MOBILE_PATHS = (
    "/v2/mobile-devices/detail",
    "/v2/mobile-devices/{id}/detail",
    "/v1/mobile-device-groups",
    "/v2/mobile-device-groups",
    "/v2/mobile-device-groups/static-groups",
    "/v2/mobile-device-groups/static-groups/{id}",
    "/v1/mobile-device-groups/smart-group-membership/{id}",
    "/v2/mobile-device-groups/smart-group-membership/{id}",
    "/v1/mobile-device-groups/static-group-membership/{id}",
    "/v2/mobile-device-groups/static-group-membership/{id}",
)

BASE_PATH = "/api"


def refs_in(node):
    """Yield every $ref string found anywhere inside node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs_in(item)


def split_ref(ref):
    """'#/components/schemas/Foo' -> ('schemas', 'Foo'); anything else is an error."""
    parts = ref.split("/")
    if len(parts) != 4 or parts[:2] != ["#", "components"]:
        raise SystemExit(f"make-spec: unsupported $ref {ref!r} (only #/components/SECTION/NAME)")
    return parts[2], parts[3].replace("~1", "/").replace("~0", "~")


def add_components(out, full, roots):
    """Copy into out['components'] every component that roots reference, transitively.

    A component the output already has must be identical to the full schema's, or this stops:
    the subset and the full schema would disagree about it.
    """
    pending = list(refs_in(roots))
    seen = set()
    added = []
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        section, name = split_ref(ref)
        try:
            source = full["components"][section][name]
        except KeyError:
            raise SystemExit(f"make-spec: {ref} is not in the full schema") from None
        target = out.setdefault("components", {}).setdefault(section, {})
        if name in target:
            if target[name] != source:
                raise SystemExit(f"make-spec: {ref} differs between the subset and the full schema")
        else:
            target[name] = copy.deepcopy(source)
            added.append(ref)
        pending.extend(refs_in(source))
    return sorted(added)


def fold_base_path(doc, base):
    """Move the server base path into the path keys; servers becomes [{'url': '/'}]."""
    servers = doc.get("servers") or []
    if [s.get("url") for s in servers] != [base]:
        raise SystemExit(f"make-spec: expected servers [{{'url': {base!r}}}], got {servers!r}")
    doc["servers"] = [{"url": "/", "description": f"The Jamf Pro server; the {base} base path is "
                                                  "part of every path below"}]
    doc["paths"] = {base + path: item for path, item in doc["paths"].items()}


def build(subset_path, full_path):
    """Return (contract document, list of added component refs)."""
    subset = json.loads(Path(subset_path).read_text())
    full = json.loads(Path(full_path).read_text())
    if subset.get("openapi") != full.get("openapi"):
        raise SystemExit("make-spec: the subset and the full schema differ in openapi version")
    doc = copy.deepcopy(subset)
    for path in MOBILE_PATHS:
        if path in doc["paths"]:
            raise SystemExit(f"make-spec: {path} is already in the subset")
        if path not in full["paths"]:
            raise SystemExit(f"make-spec: {path} is not in the full schema")
        doc["paths"][path] = copy.deepcopy(full["paths"][path])
    added = add_components(doc, full, [doc["paths"][p] for p in MOBILE_PATHS])
    # Every reference in the result must resolve inside it.
    for ref in set(refs_in(doc)):
        section, name = split_ref(ref)
        if name not in doc["components"].get(section, {}):
            raise SystemExit(f"make-spec: dangling {ref}")
    # The four device types of a mobile device answer are permissive and overlap, so a real
    # answer matches several of them; Prism ignores the discriminator and fails every "oneOf".
    # anyOf keeps each device checked against the variants without that false alarm.
    union = doc["components"]["schemas"]["MobileDeviceResponse"]
    union["anyOf"] = union.pop("oneOf")
    fold_base_path(doc, BASE_PATH)
    doc["info"]["title"] = doc["info"]["title"].replace(
        "ddm)", "ddm; plus mobile devices and mobile-device groups)", 1)
    doc["info"]["x-bridge-contract"] = {
        "built-by": "tests/contract/make-spec.py",
        "from": [Path(subset_path).name, Path(full_path).name],
        "added-paths": [BASE_PATH + p for p in MOBILE_PATHS],
        "added-components": added,
        "servers": f"the {BASE_PATH} base path is folded into the paths (Prism routes by "
                   "path only)",
        "changed": "MobileDeviceResponse: oneOf -> anyOf (overlapping variants; Prism ignores "
                   "the discriminator)",
    }
    return doc, added


def render(doc):
    """The committed text: 1-space indent, key order kept, trailing newline."""
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main():
    """Parse the arguments, build, then write or check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", default=str(DEFAULT_FULL),
                        help="the official full Jamf Pro 11.30.1 schema (default: %(default)s)")
    parser.add_argument("--subset", default=str(DEFAULT_SUBSET), help="default: %(default)s")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="default: %(default)s")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if --out differs from what would be built")
    args = parser.parse_args()
    doc, added = build(args.subset, args.full)
    text = render(doc)
    out = Path(args.out)
    if args.check:
        if not out.exists() or out.read_text() != text:
            print(f"make-spec: {out} is stale; run tests/contract/make-spec.py", file=sys.stderr)
            return 1
        print(f"make-spec: {out} is up to date")
        return 0
    out.write_text(text)
    print(f"make-spec: wrote {out}: {len(doc['paths'])} paths, "
          f"{sum(len(v) for v in doc['components'].values())} components "
          f"({len(added)} added from the full schema)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
