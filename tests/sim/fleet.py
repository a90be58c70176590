"""The simulated Jamf fleet: computers, mobile devices and groups, built from a GDMF feed.

Nothing here speaks HTTP; jamf_pro.py and jamf_platform.py serve it.

Catalog reads a GDMF document (the same bytes the sim serves at /v2/pmv)
into FeedEntry records.  It is what the simulated Jamf Pro consults when it
validates a managed software update plan, as the real one asks Apple.

build_fleet(catalog, computers, mobile, seed) makes a deterministic fleet.
Computers get ids "1".."N", mobile devices "1".."M".  Their software is drawn
from the feed:

    category        share  software
    bsi-base        ~55 %  the base build of the widest macOS BSI (26.3.1 25D2128)
    on-bsi          ~12 %  that base plus the BSI (supplemental 25D771280a, "(a)")
    older-minor     ~10 %  older releases of the same major (26.2, 26.3)
    older-major      ~8 %  the previous major (15.7.x) on supported Macs
    other-bsi-base   ~5 %  the base of the other BSI (26.3.2 25D2140 on J700AP)
    vm               ~5 %  virtual machines (VMA2MACOSAP) on the BSI base
    unsupported      ~5 %  Macs the newest major does not support (15.7.4 only)

Mobile devices: bsi-base, on-bsi, older-minor, unsupported (iPhone XS/XR on
iOS 18) and one unsupervised iPhone.  Each device record keeps its category
under "sim" (never served) so tests can pick devices by kind.

Device records have the shape of the Jamf Pro inventory (general,
operatingSystem, hardware for computers; general, hardware for mobile
devices) so that a merge patch from the control API reads naturally.  A
device without a BSI reports supplementalBuildVersion equal to its build and
an empty rapidSecurityResponse, as Apple's SupplementalBuildVersion does.

Groups: computer smart groups "All Managed Clients", "Ring 1 - Pilot" (~5 %),
"Ring 2 - Broad" (everything not in Ring 1), 'Lab "A", 2nd floor', "Empty
Group"; static "bridge-static-example".  Mobile: smart "All Managed iPhones",
"All Managed iPads"; static "bridge-static-mobile-example".
"""

import dataclasses
import datetime
import hashlib
import json
import math
import random
import re
import uuid

SUPPLEMENTAL_KEYS = ("PublicBackgroundSecurityImprovements", "PublicRapidSecurityResponses")
RELEASE_KEYS = ("PublicAssetSets", "AssetSets")
SIM_NAMESPACE = uuid.UUID("5b1f4c2e-8f0a-4d2b-9c61-0e7a3d9b2f10")  # for every uuid5 the sim makes
_NAMESPACE_SHA1 = hashlib.sha1(SIM_NAMESPACE.bytes)  # copied for each uuid: the namespace hashed once

COMPUTER = "COMPUTER"
MOBILE = "MOBILE"


def sim_uuid(*parts):
    """A deterministic UUID (string) for the given parts: str(uuid.uuid5(SIM_NAMESPACE, name)),
    made without the UUID object (a large fleet's first run makes 100,000 of them)."""
    sha1 = _NAMESPACE_SHA1.copy()
    sha1.update("/".join(map(str, parts)).encode())
    digest = bytearray(sha1.digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def version_key(version):
    """Sortable key of a dotted version: "26.3.1" -> (26, 3, 1, 0)."""
    numbers = [int(n) for n in re.findall(r"\d+", version or "")][:4]
    return tuple(numbers + [0] * (4 - len(numbers)))


# ---------------------------------------------------------------------------
# The feed
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FeedEntry:
    """One release or supplemental update (BSI/RSR) of the GDMF feed."""

    list_name: str
    platform: str
    version: str
    build: str
    extra: str            # "(a)" for supplemental entries, "" otherwise
    prerequisite: str     # PrerequisiteBuild of supplemental entries, "" otherwise
    posting: object       # datetime.date or None
    expiration: object    # datetime.date or None (never expires)
    devices: frozenset

    @property
    def supplemental(self):
        """True for a BSI / RSR entry."""
        return self.list_name in SUPPLEMENTAL_KEYS

    def available_on(self, day):
        """Posted on or before day and not expired by then."""
        return ((self.posting is None or self.posting <= day)
                and (self.expiration is None or day <= self.expiration))

    @property
    def display_version(self):
        """"26.3.1 (a)" for a BSI, "26.3.1" for a release."""
        return f"{self.version} {self.extra}" if self.extra else self.version


def _date(value):
    """YYYY-MM-DD to a date; None if absent or malformed."""
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


class Catalog:
    """All entries of one GDMF document, with the look-ups Jamf needs."""

    def __init__(self, doc):
        """doc: the decoded feed (a dict); anything unusable is skipped."""
        self.entries = []
        if not isinstance(doc, dict):
            return
        for list_name in RELEASE_KEYS + SUPPLEMENTAL_KEYS:
            platforms = doc.get(list_name)
            if not isinstance(platforms, dict):
                continue
            for platform, items in platforms.items():
                for item in items if isinstance(items, list) else []:
                    if not isinstance(item, dict) or not isinstance(item.get("ProductVersion"), str):
                        continue
                    devices = item.get("SupportedDevices")
                    self.entries.append(FeedEntry(
                        list_name=list_name,
                        platform="visionOS" if platform == "xrOS" else platform,
                        version=item["ProductVersion"],
                        build=item.get("Build") if isinstance(item.get("Build"), str) else "",
                        extra=item.get("ProductVersionExtra") or "",
                        prerequisite=item.get("PrerequisiteBuild") or "",
                        posting=_date(item.get("PostingDate")),
                        expiration=_date(item.get("ExpirationDate")),
                        devices=frozenset(d for d in devices if isinstance(d, str))
                        if isinstance(devices, list) else frozenset(),
                    ))

    @classmethod
    def from_bytes(cls, raw):
        """Catalog of raw feed bytes; None if they are not a JSON object."""
        try:
            doc = json.loads(raw)
        except (TypeError, ValueError):
            return None
        return cls(doc) if isinstance(doc, dict) else None

    def select(self, platform, supplemental=None, day=None):
        """Entries of platform; only (non-)supplemental ones if given; only available on day if given."""
        return [e for e in self.entries
                if e.platform == platform
                and (supplemental is None or e.supplemental == supplemental)
                and (day is None or e.available_on(day))]

    def supports(self, platform, version, build, model):
        """True if some entry with this version and build lists model."""
        return any(e.version == version and e.build == build and model in e.devices
                   for e in self.entries if e.platform == platform)

    def public_versions(self, platform, day=None):
        """Distinct PublicAssetSets versions, newest first (for available-updates)."""
        versions = {e.version for e in self.select(platform, supplemental=False, day=day)
                    if e.list_name == "PublicAssetSets"}
        return sorted(versions, key=version_key, reverse=True)


# ---------------------------------------------------------------------------
# Hardware tables (model names are for display; the board id is what matters)
# ---------------------------------------------------------------------------

# board id -> (model, model identifier, processor type); Apple silicon unless noted
MAC_MODELS = {
    "J274AP": ("Mac mini (M1, 2020)", "Macmini9,1", "Apple M1"),
    "J293AP": ("MacBook Pro (13-inch, M1, 2020)", "MacBookPro17,1", "Apple M1"),
    "J313AP": ("MacBook Air (M1, 2020)", "MacBookAir10,1", "Apple M1"),
    "J456AP": ("iMac (24-inch, M1, 2021)", "iMac21,1", "Apple M1"),
    "J314sAP": ("MacBook Pro (14-inch, 2021)", "MacBookPro18,3", "Apple M1 Pro"),
    "J316sAP": ("MacBook Pro (16-inch, 2021)", "MacBookPro18,1", "Apple M1 Pro"),
    "J375cAP": ("Mac Studio (2022)", "Mac13,1", "Apple M1 Max"),
    "J413AP": ("MacBook Air (M2, 2022)", "Mac14,2", "Apple M2"),
    "J493AP": ("MacBook Pro (13-inch, M2, 2022)", "Mac14,7", "Apple M2"),
    "J473AP": ("Mac mini (2023)", "Mac14,3", "Apple M2"),
    "J415AP": ("MacBook Air (15-inch, M2, 2023)", "Mac14,15", "Apple M2"),
    "J504AP": ("MacBook Pro (14-inch, M3, Nov 2023)", "Mac15,3", "Apple M3"),
    "J613AP": ("MacBook Air (13-inch, M3, 2024)", "Mac15,12", "Apple M3"),
    "J433AP": ("iMac (24-inch, 2023, Two ports)", "Mac15,4", "Apple M3"),
    "J604AP": ("MacBook Pro (14-inch, M4, 2024)", "Mac16,1", "Apple M4"),
    "J773gAP": ("Mac mini (2024)", "Mac16,10", "Apple M4"),
    "J713AP": ("MacBook Air (13-inch, M4, 2025)", "Mac16,12", "Apple M4"),
    "J700AP": ("MacBook (2026)", "Mac17,1", "Apple A18 Pro"),
    "VMA2MACOSAP": ("Apple Virtual Machine 1", "VirtualMac2,1", "Apple Virtual Processor"),
    # Intel Macs that stop at macOS 15
    "J132AP": ("MacBook Pro (13-inch, 2018, Four Thunderbolt 3 Ports)", "MacBookPro15,2", "Intel Core i5"),
    "J680AP": ("MacBook Pro (15-inch, 2018)", "MacBookPro15,1", "Intel Core i7"),
    "J174AP": ("Mac mini (2018)", "Macmini8,1", "Intel Core i7"),
    "J137AP": ("iMac Pro (2017)", "iMacPro1,1", "Intel Xeon W"),
}

# product type -> (model, model number)
MOBILE_MODELS = {
    "iPhone17,1": ("iPhone 16 Pro", "MYM93"),
    "iPhone17,2": ("iPhone 16 Pro Max", "MYW33"),
    "iPhone17,3": ("iPhone 16", "MYE73"),
    "iPhone16,1": ("iPhone 15 Pro", "MTUV3"),
    "iPhone15,4": ("iPhone 15", "MTP03"),
    "iPhone14,7": ("iPhone 14", "MPUF3"),
    "iPad13,18": ("iPad (10th generation)", "MPQ03"),
    "iPad14,1": ("iPad mini (6th generation)", "MK7M3"),
    "iPad16,3": ("iPad Pro 11-inch (M4)", "MVV83"),
    "iPhone11,2": ("iPhone XS", "MT9E2"),
    "iPhone11,8": ("iPhone XR", "MRY42"),
}

FIRST_NAMES = ["Anna", "Ben", "Chloé", "David", "Emma", "Farid", "Greta", "Hiro", "Ines", "Jonas",
               "Kai", "Lena", "Mateo", "Nora", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tara",
               "Uma", "Viktor", "Wen", "Xavier", "Yara", "Zoë"]

COMPUTER_SHARES = [("bsi-base", 55), ("on-bsi", 12), ("older-minor", 10), ("older-major", 8),
                   ("other-bsi-base", 5), ("vm", 5), ("unsupported", 5)]
MOBILE_SHARES = [("bsi-base", 55), ("on-bsi", 15), ("older-minor", 15), ("unsupported", 10),
                 ("unsupervised", 5)]


def _allocate(total, shares):
    """Split total over the shares (largest remainder), every share >= 1 when total allows."""
    weight = sum(w for _, w in shares)
    exact = [(name, total * w / weight) for name, w in shares]
    counts = {name: math.floor(x) for name, x in exact}
    order = sorted(exact, key=lambda item: item[1] - math.floor(item[1]), reverse=True)
    for name, _ in order[:total - sum(counts.values())]:
        counts[name] += 1
    if total >= len(shares):
        for name, _ in shares:
            while counts[name] == 0:
                donor = max(counts, key=counts.get)
                counts[donor] -= 1
                counts[name] += 1
    return counts


# ---------------------------------------------------------------------------
# Software profiles: what each category runs, taken from the feed
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Software:
    """An OS state a device can be in, plus the models that may run it."""

    version: str
    build: str
    models: list
    supplemental: str = ""   # supplemental build ("" = none)
    extra: str = ""          # "(a)" or ""


def _bsi_profiles(catalog, platform, known_models):
    """(base, on_bsi) software for the BSI with most known models; (None, None) without BSIs."""
    bsis = [e for e in catalog.select(platform, supplemental=True) if e.prerequisite and e.build]
    if not bsis:
        return None, None, bsis
    bsis.sort(key=lambda e: (len(e.devices & known_models), version_key(e.version)), reverse=True)
    widest = bsis[0]
    models = sorted(widest.devices & known_models)
    base = Software(widest.version, widest.prerequisite, models)
    on_bsi = Software(widest.version, widest.prerequisite, models, widest.build, widest.extra)
    return base, on_bsi, bsis


def _release_profiles(catalog, platform, models, predicate):
    """Releases satisfying predicate(entry) that support some of models, as Software."""
    found = {}
    for entry in catalog.select(platform, supplemental=False):
        usable = sorted(entry.devices & set(models))
        if entry.build and usable and predicate(entry):
            key = (entry.version, entry.build)
            found.setdefault(key, set()).update(usable)
    # One build per version: the plainest (shortest, then lowest) of those Apple lists.
    best = {}
    for (version, build), models in found.items():
        if version not in best or (len(build), build) < (len(best[version][0]), best[version][0]):
            best[version] = (build, models)
    ordered = sorted(best.items(), key=lambda kv: version_key(kv[0]))
    return [Software(v, b, sorted(m)) for v, (b, m) in ordered]


def computer_profiles(catalog):
    """category -> list of Software for Macs (categories the feed cannot fill are absent)."""
    known = set(MAC_MODELS)
    base, on_bsi, bsis = _bsi_profiles(catalog, "macOS", known - {"VMA2MACOSAP"})
    profiles = {}
    if base is None:  # no BSI in this feed: anchor on the newest release
        releases = _release_profiles(catalog, "macOS", known - {"VMA2MACOSAP"}, lambda e: True)
        if not releases:
            return {}
        base = releases[-1]
    else:
        profiles["on-bsi"] = [on_bsi]
        others = [e for e in bsis[1:] if e.prerequisite != base.build and e.devices & known]
        if others:
            other = others[0]
            profiles["other-bsi-base"] = [Software(other.version, other.prerequisite,
                                                   sorted(other.devices & known))]
    profiles["bsi-base"] = [base]
    base_key = version_key(base.version)
    same_major = _release_profiles(catalog, "macOS", base.models,
                                   lambda e: version_key(e.version)[0] == base_key[0]
                                   and version_key(e.version) < base_key)
    if same_major:
        profiles["older-minor"] = same_major
    majors = {version_key(e.version)[0] for e in catalog.select("macOS", supplemental=False)}
    previous = max((m for m in majors if m < base_key[0]), default=None)  # 26 follows 15
    prev_major = _release_profiles(catalog, "macOS", base.models,
                                   lambda e: version_key(e.version)[0] == previous)
    if prev_major:
        profiles["older-major"] = prev_major[-2:]
    newest_supported = set()
    for entry in catalog.select("macOS", supplemental=False):
        if version_key(entry.version)[0] == base_key[0]:
            newest_supported |= entry.devices
    legacy = sorted((known - newest_supported) - {"VMA2MACOSAP"})
    unsupported = _release_profiles(catalog, "macOS", legacy, lambda e: True)
    if unsupported:
        profiles["unsupported"] = unsupported[-1:]
    if "VMA2MACOSAP" in {m for e in catalog.select("macOS") for m in e.devices}:
        profiles["vm"] = [Software(base.version, base.build, ["VMA2MACOSAP"])]
    return profiles


def mobile_profiles(catalog):
    """category -> list of Software for iPhones and iPads."""
    known = set(MOBILE_MODELS)
    base, on_bsi, _ = _bsi_profiles(catalog, "iOS", known)
    profiles = {}
    if base is None:
        releases = _release_profiles(catalog, "iOS", known, lambda e: True)
        if not releases:
            return {}
        base = releases[-1]
    else:
        profiles["on-bsi"] = [on_bsi]
    profiles["bsi-base"] = [base]
    profiles["unsupervised"] = [Software(base.version, base.build, [m for m in base.models if "iPhone" in m])]
    base_key = version_key(base.version)
    older = _release_profiles(catalog, "iOS", base.models,
                              lambda e: version_key(e.version)[0] == base_key[0]
                              and version_key(e.version) < base_key)
    if older:
        profiles["older-minor"] = older[-2:]
    newest_supported = set()
    for entry in catalog.select("iOS", supplemental=False):
        if version_key(entry.version)[0] == base_key[0]:
            newest_supported |= entry.devices
    legacy = sorted(known - newest_supported)
    unsupported = _release_profiles(catalog, "iOS", legacy, lambda e: True)
    if unsupported:
        profiles["unsupported"] = unsupported[-1:]
    return profiles


# ---------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------

def _iso(epoch):
    """Jamf Pro's timestamp format: 2026-03-18T10:00:00.000Z."""
    stamp = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _serial(rng, length=10):
    """A serial number in Apple's modern 10-character style."""
    return "".join(rng.choice("BCDFGHJKLMNPQRTVWXYZ0123456789") for _ in range(length))


def _mac(rng):
    """A locally administered MAC address."""
    return ":".join(f"{b:02x}" for b in [0x02] + [rng.randrange(256) for _ in range(5)])


def _categories(total, shares, profiles, rng):
    """A shuffled category per device index, skipping categories without a profile."""
    usable = [(name, w) for name, w in shares if name in profiles]
    if not usable:
        return []
    counts = _allocate(total, usable)
    categories = [name for name, _ in usable for _ in range(counts[name])]
    rng.shuffle(categories)
    return categories


def make_computer(index, category, software, rng, now, seed):
    """One computer record (Jamf inventory shape plus a "sim" part)."""
    model_id = rng.choice(software.models)
    model, identifier, processor = MAC_MODELS.get(model_id, ("Mac", "Mac", "Apple silicon"))
    intel = processor.startswith("Intel")
    short = model.split(" (")[0]
    name = f"{FIRST_NAMES[index % len(FIRST_NAMES)]}'s {short}"
    if index % len(FIRST_NAMES) != index:
        name += f" {index // len(FIRST_NAMES) + 1}"
    device_id = str(index + 1)
    enrolled = now - rng.randrange(30, 900) * 86400
    return {
        "id": device_id,
        "udid": sim_uuid("computer-udid", seed, device_id).upper(),
        "general": {
            "name": name,
            "lastIpAddress": f"10.20.{(index // 250) % 250}.{index % 250 + 2}",
            "platform": "Mac",
            "supervised": True,
            "remoteManagement": {"managed": True},
            "mdmCapable": {"capable": True, "capableUsers": []},
            "reportDate": _iso(now - rng.randrange(600, 86400)),
            "lastContact": _iso(now - rng.randrange(60, 7200)),
            "lastEnrolledDate": _iso(enrolled),
            "initialEntryDate": _iso(enrolled)[:10],
            "enrolledViaAutomatedDeviceEnrollment": category != "vm",
            "userApprovedMdm": True,
            "declarativeDeviceManagementEnabled": True,
            "managementId": sim_uuid("computer-management", seed, device_id),
            "site": {"id": "-1", "name": "None"},
            "assetTag": f"AT-{10000 + index}",
            "jamfBinaryVersion": "11.30.1-t1763510400",
        },
        "operatingSystem": {
            "name": "macOS",
            "version": software.version,
            "build": software.build,
            "supplementalBuildVersion": software.supplemental or software.build,
            "rapidSecurityResponse": software.extra,
            "activeDirectoryStatus": "Not Bound",
            "fileVault2Status": "NOT_APPLICABLE" if category == "vm" else "ALL_ENCRYPTED",
            "softwareUpdateDeviceId": model_id,
            "extensionAttributes": [],
        },
        "hardware": {
            "make": "Apple",
            "model": model,
            "modelIdentifier": identifier,
            "serialNumber": ("Z" if category == "vm" else "") + _serial(rng, 9 if category == "vm" else 10),
            "processorType": processor,
            "processorArchitecture": "x86_64" if intel else "arm64",
            "appleSilicon": not intel,
            "coreCount": 8,
            "totalRamMegabytes": 16384,
            "macAddress": _mac(rng),
            "extensionAttributes": [],
        },
        "sim": {"category": category, "installFailure": None, "unresponsive": False},
    }


def make_mobile(index, category, software, rng, now, seed):
    """One mobile device record (Jamf inventory shape plus a "sim" part)."""
    product = rng.choice(software.models)
    model, number = MOBILE_MODELS.get(product, ("iPhone", "M0000"))
    device_id = str(index + 1)
    name = f"{FIRST_NAMES[(index + 7) % len(FIRST_NAMES)]}'s {model}"
    if index >= len(FIRST_NAMES):
        name += f" {index // len(FIRST_NAMES) + 1}"
    return {
        "mobileDeviceId": device_id,
        "deviceType": "iOS",
        "general": {
            "udid": sim_uuid("mobile-udid", seed, device_id).replace("-", "")[:25].upper(),
            "displayName": name,
            "assetTag": "",
            "siteId": "-1",
            "lastInventoryUpdateDate": _iso(now - rng.randrange(600, 86400)),
            "lastContactDate": _iso(now - rng.randrange(60, 7200)),
            "osVersion": software.version,
            "osBuild": software.build,
            "osSupplementalBuildVersion": software.supplemental or software.build,
            "osRapidSecurityResponse": software.extra,
            "softwareUpdateDeviceId": product,
            "ipAddress": f"10.30.{(index // 250) % 250}.{index % 250 + 2}",
            "managed": True,
            "supervised": category != "unsupervised",
            "deviceOwnershipType": "Institutional",
            "enrollmentSessionTokenValid": True,
            "lastEnrolledDate": _iso(now - rng.randrange(30, 900) * 86400),
            "timeZone": "Europe/Zurich",
            "declarativeDeviceManagementEnabled": True,
            "managementId": sim_uuid("mobile-management", seed, device_id),
            "extensionAttributes": [],
        },
        "hardware": {
            "capacityMb": 131072,
            "availableSpaceMb": 65536,
            "usedSpacePercentage": 50,
            "batteryLevel": 80,
            "serialNumber": _serial(rng),
            "wifiMacAddress": _mac(rng),
            "bluetoothMacAddress": _mac(rng),
            "model": model,
            "modelIdentifier": product,
            "modelNumber": number,
            "extensionAttributes": [],
        },
        "sim": {"category": category, "installFailure": None, "unresponsive": False},
    }


# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Group:
    """A Jamf Pro computer or mobile device group."""

    kind: str            # COMPUTER or MOBILE
    id: int
    name: str
    smart: bool
    members: list        # device ids (strings), in id order; replaced, never changed in place
    description: str = ""
    criteria: list = dataclasses.field(default_factory=list)
    _member_set: tuple = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def platform_id(self):
        """The group's Jamf Platform UUID (groupPlatformId), stable across fleets."""
        return sim_uuid("group", self.kind, self.id)

    def member_set(self):
        """set(members), made again only when members is another list."""
        if self._member_set is None or self._member_set[0] is not self.members:
            self._member_set = (self.members, set(self.members))
        return self._member_set[1]


def _criterion(name, value, search="is"):
    """A smart group criterion in Jamf's shape."""
    return {"name": name, "priority": 0, "andOr": "and", "searchType": search, "value": value,
            "openingParen": False, "closingParen": False}


def _pick(rng, ids, count):
    """count ids chosen deterministically, returned in id order."""
    chosen = rng.sample(ids, max(0, min(count, len(ids))))
    return sorted(chosen, key=int)


def computer_groups(computers, rng):
    """The fixed computer groups for a fleet (ids 1..6)."""
    ids = [c["id"] for c in computers]
    base = [c["id"] for c in computers if c["sim"]["category"] == "bsi-base"]
    pilot_size = max(1, round(len(ids) * 0.05)) if ids else 0
    pilot = set(_pick(rng, base, 1))  # at least one Mac a BSI plan can succeed on
    pilot |= set(_pick(rng, [i for i in ids if i not in pilot], pilot_size - len(pilot)))
    pilot = sorted(pilot, key=int)
    in_pilot = set(pilot)
    broad = [i for i in ids if i not in in_pilot]
    lab = _pick(rng, ids, max(1, round(len(ids) * 0.08))) if ids else []
    static = _pick(rng, ids, 3)
    return [
        Group(COMPUTER, 1, "All Managed Clients", True, ids, "Every managed Mac",
              [_criterion("Last Check-in", "30", "less than x days ago")]),
        Group(COMPUTER, 2, "Ring 1 - Pilot", True, pilot, "Early adopters",
              [_criterion("Department", "IT")]),
        Group(COMPUTER, 3, "Ring 2 - Broad", True, broad, "Everyone else",
              [_criterion("Computer Group", "Ring 1 - Pilot", "not member of")]),
        Group(COMPUTER, 4, 'Lab "A", 2nd floor', True, lab, "Teaching lab",
              [_criterion("Building", 'Lab "A", 2nd floor')]),
        Group(COMPUTER, 5, "Empty Group", True, [], "Matches nothing",
              [_criterion("Computer Name", "no-such-computer")]),
        Group(COMPUTER, 6, "bridge-static-example", False, static, "Hand-picked Macs"),
    ]


def mobile_groups(mobiles, rng):
    """The fixed mobile device groups for a fleet (ids 1..3)."""
    iphones = [m["mobileDeviceId"] for m in mobiles if m["hardware"]["modelIdentifier"].startswith("iPhone")]
    ipads = [m["mobileDeviceId"] for m in mobiles if m["hardware"]["modelIdentifier"].startswith("iPad")]
    ids = [m["mobileDeviceId"] for m in mobiles]
    return [
        Group(MOBILE, 1, "All Managed iPhones", True, iphones, "Every managed iPhone",
              [_criterion("Model", "iPhone", "like")]),
        Group(MOBILE, 2, "All Managed iPads", True, ipads, "Every managed iPad",
              [_criterion("Model", "iPad", "like")]),
        Group(MOBILE, 3, "bridge-static-mobile-example", False, _pick(rng, ids, 2), "Hand-picked devices"),
    ]


# ---------------------------------------------------------------------------
# The whole fleet
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Fleet:
    """Devices and groups; dicts keyed by id (string) / (kind, group id)."""

    computers: dict
    mobiles: dict
    groups: dict         # (kind, id) -> Group
    next_group_id: dict  # kind -> next free id
    # Derived data the services keep (device orders by id, rendered records and pages).
    # Devices are never added or removed, so orders by id hold for the fleet's life;
    # whatever changes a record, in place or by replacing it, must call touched().
    cache: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    changes: int = dataclasses.field(default=0, compare=False)  # touched() calls so far

    def touched(self, kind, device_id):
        """Forget what was derived from one device's record: it was changed or replaced."""
        self.changes += 1
        self.cache.pop(("rendered", kind, device_id), None)

    def groups_now(self, kind):
        """What a device's group memberships are rendered from, for same_groups()."""
        return [(g.id, g.name, g.description, g.smart, g.members) for g in self.group_list(kind)]

    @staticmethod
    def same_groups(before, now):
        """Whether two groups_now() results render the same (member lists are replaced, never
        changed in place, so the same list object means the same members)."""
        return len(before) == len(now) and all(a[:4] == b[:4] and a[4] is b[4] for a, b in zip(before, now))

    def rendered(self, kind, device):
        """A dict for keeping renderings of a device record; emptied when the record changes.

        device: the record now in the fleet (a record replaced by a patch is a new dict).
        """
        key = ("rendered", kind, device["id"] if kind == COMPUTER else device["mobileDeviceId"])
        entry = self.cache.get(key)
        if entry is None or entry[0] is not device:
            entry = self.cache[key] = (device, {})
        return entry[1]

    def group_list(self, kind):
        """Groups of one kind in id order."""
        return [group for (k, _), group in sorted(self.groups.items()) if k == kind]

    def devices(self, kind):
        """The device dict of a kind."""
        return self.computers if kind == COMPUTER else self.mobiles

    def memberships(self, kind, device_id):
        """Groups of kind that hold device_id."""
        return [g for g in self.group_list(kind) if device_id in g.members]

    def membership_index(self, kind):
        """{device id: [groups of kind holding it]} in one pass."""
        index = {}
        for group in self.group_list(kind):
            for device_id in group.members:
                index.setdefault(device_id, []).append(group)
        return index

    def membership_lookup(self, kind):
        """A stand-in for membership_index(kind) that costs little when asked about few devices.

        Its get(device id, default) gives the same groups in the same order; the groups' member
        lists are read when first asked, so make a new one for every request.
        """
        return MembershipLookup(self.group_list(kind))

    def find_by_management_id(self, management_id):
        """(kind, device) for a managementId, or (None, None)."""
        for kind in (COMPUTER, MOBILE):
            for device in self.devices(kind).values():
                if device["general"]["managementId"] == management_id:
                    return kind, device
        return None, None


class MembershipLookup:
    """{device id: [groups holding it]} answered group by group (see Fleet.membership_lookup)."""

    def __init__(self, groups):
        """groups: the groups of one kind, in id order."""
        self.groups = groups
        self.member_sets = None

    def get(self, device_id, default=None):
        """The groups holding device_id in id order (group members are unique), or default."""
        if self.member_sets is None:
            self.member_sets = [(group, group.member_set()) for group in self.groups]
        found = [group for group, members in self.member_sets if device_id in members]
        return found or default


def build_fleet(catalog, computers, mobile, seed, now):
    """A deterministic fleet of `computers` Macs and `mobile` iOS devices."""
    rng = random.Random(f"bridge-sim-fleet/{seed}")
    mac_profiles = computer_profiles(catalog)
    ios_profiles = mobile_profiles(catalog)
    macs = {}
    for index, category in enumerate(_categories(computers, COMPUTER_SHARES, mac_profiles, rng)):
        software = rng.choice(mac_profiles[category])
        record = make_computer(index, category, software, rng, now, seed)
        macs[record["id"]] = record
    ios = {}
    for index, category in enumerate(_categories(mobile, MOBILE_SHARES, ios_profiles, rng)):
        software = rng.choice(ios_profiles[category])
        record = make_mobile(index, category, software, rng, now, seed)
        ios[record["mobileDeviceId"]] = record
    groups = {}
    for group in computer_groups(list(macs.values()), rng) + mobile_groups(list(ios.values()), rng):
        groups[(group.kind, group.id)] = group
    return Fleet(macs, ios, groups, {COMPUTER: 7, MOBILE: 4})
