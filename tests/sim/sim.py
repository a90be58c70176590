#!/usr/bin/env python3
"""HTTPS test server standing in for the remote services bridge talks to.

One process serves Apple's GDMF feed (GET /v2/pmv), a simulated Jamf Pro
(/api/..., /oidc/..., see jamf_pro.py) and Jamf Platform API (/auth/token,
/device-groups/v1/..., /blueprints/v1/..., see jamf_platform.py) over a
deterministic fleet (fleet.py), a webhook receiver (POST /webhook/NAME, JSON
only, answers 200 "ok"), plus a control API under /_sim/ that tests use
to inject faults, inspect the requests received, swap the served feed and
drive the Jamf simulation.  Python standard library only.

Control API (JSON in and out; simlib.Sim has a method for each):

    GET    /_sim/health                    liveness
    GET    /_sim/requests                  recorded requests: method, path, query,
                                           headers (lowercased), body, time,
                                           sticky_cookie (APBALANCEID sent back?)
    POST   /_sim/reset                     forget requests and fault rules
    GET|POST|DELETE /_sim/faults           fault rules (see FaultRule)
    PUT    /_sim/gdmf                      replace the served feed
    GET    /_sim/clock                     the simulated clock {now, iso, offset, frozen}
    POST   /_sim/clock                     {"advance": seconds}: move it forward
    POST   /_sim/jamf/reset                full reset of the Jamf Pro and Platform state
                                           (fleet, plans, blueprints, clients, tokens, clock)
    GET    /_sim/jamf/state[?devices=1]    dump: clock, settings, groups, plans, static
                                           groups, activities, blueprints (+ inventory)
    GET|POST /_sim/jamf/settings           timings: plan_step, download_seconds,
                                           install_seconds, install_after, grace_seconds,
                                           toggle_seconds, deploy_step, report_spread;
                                           honor_expiry (feed dates count)
    POST   /_sim/jamf/fleet                {"computers", "mobile", "seed"}: new fleet
                                           (drops plans, device activities, new groups)
    GET|PATCH /_sim/jamf/devices/computer|mobile/ID
                                           one device; PATCH merges into its record, e.g.
                                           {"operatingSystem": {"build": "25D125"}} or
                                           {"sim": {"installFailure": "reason", "unresponsive": true}}
    GET|POST /_sim/jamf/clients            Jamf Pro API clients, merged: {id: {secret,
                                           privileges: [...]|"all", token_lifetime} | null}
    POST   /_sim/jamf/users                basic-auth users, merged: {name: {password, ...} | null}
    POST   /_sim/jamf/tokens/expire        {"service": "pro"|"platform"|"all"}: expire tokens now
    GET|POST /_sim/jamf/feature-toggle     set toggle, customVersionEnabled,
                                           forceInstallLocalDateEnabled, dssEnabled,
                                           recipeEnabled at once; toggle_seconds
    GET|POST /_sim/platform/clients        Platform API clients, merged like Jamf Pro's
    POST   /_sim/platform/settings         {"environment_id": uuid}
    PUT    /_sim/platform/components       {"identifiers": [...]} or {"custom_declarations": id|null}

Default credentials: Jamf Pro API client bridge-test-client /
bridge-test-secret-3f9a7c (all privileges, --token-lifetime, default 1200 s),
basic user bridge-admin / bridge-basic-pw-8d2e; Platform client
bridge-platform-client / bridge-platform-secret-51c0 (900 s tokens),
environment 6f1c2b8e-0d3a-4c55-9e7b-2a4d8c9f1e03.

With --gzip, answers of 2048 bytes or more go out gzip-compressed when the
request's Accept-Encoding admits gzip, as a server with compression on (Tomcat's
compression="on") sends them; smaller ones, and answers to clients that do not
ask, go out as they are.  Without it every answer goes out as it is.

Control paths (everything under /_sim/) are never recorded, faulted or
delayed.  Every other request, known route or not, is recorded, may be hit by
a fault rule and is delayed by --latency: its answer goes out no sooner than that
after the request arrived (plus a fault's delay), however quickly it was handled.
Reading its body and the handler's own work count toward the latency rather than
being added to it (the sim serves one request at a time, a real server serves them
side by side); so a write takes effect before the latency, not after.  --gzip and
writing the answer still come on top.

Adding routes: write a handler ``def handler(req: Request) -> Response`` in
its own section near the end of this file and register it with
``@ROUTES.route("METHOD", r"path regex")``.  The regex must match the whole
path; named groups arrive in ``req.params``.  Raise ``HandlerError`` to answer
with an error status.  Shared state lives in ``SimState`` (``req.state``);
guard anything mutable with ``state.lock``.
"""

import argparse
import dataclasses
import datetime
import gc
import gzip
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CERT_DIR = HERE.parents[1] / "build" / "test-certs"
CONTROL_PREFIX = "/_sim/"
LISTEN_HOST = "127.0.0.1"
GZIP_MIN_BYTES = 2048  # Tomcat's compressionMinSize: smaller answers go out as they are


# ---------------------------------------------------------------------------
# Requests, responses and the route table
# ---------------------------------------------------------------------------

class HandlerError(Exception):
    """Raised by a handler to answer with an HTTP error status."""

    def __init__(self, status, message):
        """Remember the status and a human-readable message."""
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass
class Request:
    """One HTTP request as route handlers see it."""

    method: str
    path: str
    query: str
    headers: dict  # lowercased name -> value (repeated headers joined by ", ")
    body: bytes
    state: "SimState"
    params: dict = dataclasses.field(default_factory=dict)

    def json(self):
        """Return the body decoded as JSON; a bad body is a 400 error."""
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HandlerError(400, f"request body is not valid JSON: {exc}") from None


@dataclasses.dataclass
class Response:
    """What a handler answers; the dispatcher adds Content-Length."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: list = dataclasses.field(default_factory=list)  # extra (name, value)


def json_response(obj, status=200):
    """Build a compact JSON response."""
    return Response(status, json.dumps(obj, separators=(",", ":")).encode())


def error_response(status, message=None, code="SIM_ERROR"):
    """Build a Jamf/Apple-style JSON error: {"httpStatus":N,"errors":[...]}."""
    errors = [{"code": code, "description": message}] if message else []
    return json_response({"httpStatus": status, "errors": errors}, status)


def accepts_gzip(value):
    """Whether an Accept-Encoding header value admits gzip (RFC 9110 12.5.3): a gzip or
    x-gzip entry decides, else *; q=0 refuses."""
    verdict = {}
    for item in (value or "").split(","):
        coding, *params = [part.strip() for part in item.split(";")]
        coding = coding.lower()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        for param in params:
            name, _, text = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(text)
                except ValueError:
                    q = 0.0
        verdict.setdefault("*" if coding == "*" else "gzip", q > 0)
    return verdict.get("gzip", verdict.get("*", False))


class Router:
    """Ordered route table mapping (method, whole-path regex) to a handler."""

    def __init__(self):
        """Start with no routes."""
        self._routes = []

    def route(self, method, pattern):
        """Decorator registering the decorated function for METHOD and PATTERN."""
        regex = re.compile(pattern)

        def register(func):
            """Add func to the table and return it unchanged."""
            self._routes.append((method.upper(), regex, func))
            return func

        return register

    def resolve(self, method, path):
        """Return (handler, params, allowed_methods) for a request.

        handler is None when nothing matches; allowed_methods then lists the
        methods registered for the path (empty: unknown path).  HEAD is served
        by GET handlers.
        """
        allowed = []
        for route_method, regex, func in self._routes:
            match = regex.fullmatch(path)
            if not match:
                continue
            if route_method == method or (method == "HEAD" and route_method == "GET"):
                return func, match.groupdict(), []
            allowed.append(route_method)
        return None, {}, allowed


ROUTES = Router()

# Hooks the Jamf modules install.  RESPONSE_HOOKS: hook(req, response) ->
# response, applied to every final response (faults included).
# RECORD_HOOKS: hook(req) -> dict merged into the request's recorded entry.
RESPONSE_HOOKS = []
RECORD_HOOKS = []


# ---------------------------------------------------------------------------
# Fault rules
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class FaultRule:
    """One injected fault, as posted to /_sim/faults.

    path is a prefix of the request path (query excluded); method, when set,
    must equal the request method.  count is how many matching requests the
    rule still applies to (-1: forever).  What happens to a matched request:
    sleep `delay` seconds; then either drop the connection (`close`), or
    answer with a padded 200 (`oversize_bytes`), an exact `body` (status
    `status` or 200), a JSON error (`status`), or else the normal response;
    add Retry-After when `retry_after` is set; and with `truncate` send only
    half the body before closing the connection.  `skip` lets that many
    matching requests pass untouched first; `delay_after` sleeps after the
    request was handled, before the answer goes out (the write took effect,
    the answer is late: a client killed then never learns of it); `handled`
    runs the request as usual before its answer is replaced (a write that took
    effect, answered with something else).
    """

    path: str = "/"
    method: str = None
    count: int = 1
    status: int = None
    retry_after: object = None  # int seconds, or a string sent verbatim
    delay: float = 0
    truncate: bool = False
    oversize_bytes: int = None
    close: bool = False
    body: str = None
    skip: int = 0
    delay_after: float = 0
    handled: bool = False

    @classmethod
    def from_json(cls, obj):
        """Validate one rule from the control API; raise ValueError if bad."""
        if not isinstance(obj, dict):
            raise ValueError(f"fault rule must be an object, got {obj!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise ValueError(f"unknown fault rule keys: {', '.join(unknown)}")
        rule = cls(**obj)
        checks = [
            (isinstance(rule.path, str) and rule.path.startswith("/"), "path must start with /"),
            (rule.method is None or isinstance(rule.method, str), "method must be a string"),
            (_is_int(rule.count) and rule.count >= -1, "count must be an integer >= -1"),
            (rule.status is None or (_is_int(rule.status) and 200 <= rule.status <= 599),
             "status must be an integer 200-599"),
            (rule.retry_after is None or _is_int(rule.retry_after) or isinstance(rule.retry_after, str),
             "retry_after must be an integer or a string"),
            (isinstance(rule.delay, (int, float)) and not isinstance(rule.delay, bool) and rule.delay >= 0,
             "delay must be a number >= 0"),
            (isinstance(rule.truncate, bool), "truncate must be a boolean"),
            (rule.oversize_bytes is None or (_is_int(rule.oversize_bytes) and rule.oversize_bytes >= 0),
             "oversize_bytes must be an integer >= 0"),
            (isinstance(rule.close, bool), "close must be a boolean"),
            (rule.body is None or isinstance(rule.body, str), "body must be a string"),
            (_is_int(rule.skip) and rule.skip >= 0, "skip must be an integer >= 0"),
            (isinstance(rule.delay_after, (int, float)) and not isinstance(rule.delay_after, bool)
             and rule.delay_after >= 0, "delay_after must be a number >= 0"),
            (isinstance(rule.handled, bool), "handled must be a boolean"),
            (not rule.handled or (not rule.close and (rule.body is not None or rule.status is not None
                                                      or rule.oversize_bytes is not None)),
             "handled needs body, status or oversize_bytes, and no close"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if rule.method is not None:
            rule.method = rule.method.upper()
        return rule

    def matches(self, method, path):
        """True if this rule still has uses left and applies to the request."""
        return (self.count != 0
                and path.startswith(self.path)
                and (self.method is None or self.method == method))

    def replacement(self):
        """Return the Response that replaces the normal one, or None to keep it."""
        if self.oversize_bytes is not None:
            return Response(200, _padded_json(self.oversize_bytes))
        if self.body is not None:
            return Response(self.status or 200, self.body.encode())
        if self.status is not None:
            return error_response(self.status, "fault injected by sim", code="SIM_FAULT")
        return None


def _is_int(value):
    """True for a real int (bool excluded)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _padded_json(size):
    """A valid JSON object {"pad":"xxx..."} of exactly `size` bytes (min 10)."""
    return b'{"pad":"' + b"x" * max(0, size - 10) + b'"}'


# ---------------------------------------------------------------------------
# GDMF date shifting
# ---------------------------------------------------------------------------

SUPPLEMENTAL_KEYS = ("PublicBackgroundSecurityImprovements", "PublicRapidSecurityResponses")
DATE_FIELD_RE = re.compile(rb'("(?:PostingDate|ExpirationDate)"\s*:\s*")(\d{4}-\d{2}-\d{2})(")')


def _parse_date(value):
    """Parse YYYY-MM-DD; None if value is not such a date."""
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _posting_dates(node):
    """Yield every parseable PostingDate found anywhere inside a JSON value."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "PostingDate" and _parse_date(value):
                yield _parse_date(value)
            else:
                yield from _posting_dates(value)
    elif isinstance(node, list):
        for item in node:
            yield from _posting_dates(item)


def gdmf_shift_days(doc, today):
    """Days to add to every date so the newest supplemental entry is dated yesterday.

    Supplemental entries are those under PublicBackgroundSecurityImprovements
    or PublicRapidSecurityResponses; a feed without any is anchored on its
    newest PostingDate instead.  Returns 0 for a feed with no dates.
    """
    dates = [d for key in SUPPLEMENTAL_KEYS for d in _posting_dates(doc.get(key))]
    if not dates:
        dates = list(_posting_dates(doc))
    if not dates:
        return 0
    return (today - datetime.timedelta(days=1) - max(dates)).days


def shift_gdmf_dates(raw, today):
    """Return the feed `raw` (bytes) with all PostingDate/ExpirationDate moved.

    Only the date strings change: every other byte of the document is kept,
    so key order, formatting and all other values stay as they were.  A
    document that is not a JSON object is returned unchanged.
    """
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(doc, dict):
        return raw
    delta = datetime.timedelta(days=gdmf_shift_days(doc, today))

    def shift(match):
        """Replace one date field's value with the shifted date."""
        old = _parse_date(match.group(2).decode())
        if old is None:
            return match.group(0)
        return match.group(1) + (old + delta).isoformat().encode() + match.group(3)

    return DATE_FIELD_RE.sub(shift, raw)


# ---------------------------------------------------------------------------
# Shared server state
# ---------------------------------------------------------------------------

class SimState:
    """State shared by all handler threads; mutable parts are guarded by lock."""

    def __init__(self, gdmf=None, shift_dates=False, latency=0.0, log_path=None, scheme="https",
                 gzip_answers=False):
        """gdmf: feed bytes or None; latency in seconds; log_path: request log; scheme: https or
        http; gzip_answers: compress large answers for clients that admit gzip (--gzip)."""
        self.lock = threading.RLock()  # reentrant: Jamf handlers read the feed under it
        self.requests = []
        self.faults = []
        self.gdmf = gdmf
        self.shift_dates = shift_dates
        self.latency = latency
        self.scheme = scheme
        self.jamf = None  # jamf_world.World, set by main()
        self._shifted = None  # (date, source bytes, shifted bytes) cache
        self.gzip_answers = gzip_answers
        self._log = open(log_path, "a", encoding="utf-8", buffering=1) if log_path else None

    def record(self, entry, method, path):
        """Append one request to the request list and return the first fault rule matching
        it, using up one count. Both at once: the n-th request recorded is the n-th a rule's
        skip and count see, however the threads serving requests side by side interleave."""
        with self.lock:
            self.requests.append(entry)
            for rule in self.faults:
                if rule.matches(method, path):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    if rule.count > 0:
                        rule.count -= 1
                    return rule
        return None

    def gdmf_document(self):
        """The feed to serve now (date-shifted if enabled), or None if unset."""
        with self.lock:
            raw, cached = self.gdmf, self._shifted
        if raw is None or not self.shift_dates:
            return raw
        today = datetime.date.today()
        if cached and cached[0] == today and cached[1] is raw:
            return cached[2]
        shifted = shift_gdmf_dates(raw, today)
        with self.lock:
            self._shifted = (today, raw, shifted)
        return shifted

    def log(self, line):
        """Write a line to the request log, if one is configured."""
        if self._log:
            with self.lock:
                self._log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")

    def close(self):
        """Close the request log."""
        if self._log:
            self._log.close()


# ---------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------

class SimHandler(BaseHTTPRequestHandler):
    """Per-connection handler: HTTP/1.1 keep-alive, every method dispatched."""

    protocol_version = "HTTP/1.1"
    server_version = "bridge-sim/1"
    timeout = 60  # seconds a connection may sit idle (or stall the handshake)
    # Headers and body go out in separate writes: with Nagle's algorithm the body waits for
    # the client's delayed ACK of the headers, 40 ms more on every answer.
    disable_nagle_algorithm = True

    def setup(self):
        """Finish the TLS handshake here, in the worker thread, not in accept()."""
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def handle(self):
        """Serve the connection's requests; a client going away is not an error."""
        try:
            super().handle()
        except OSError:
            self.close_connection = True

    def log_request(self, code="-", size="-"):
        """Suppress the default per-response line; _dispatch logs instead."""

    def log_message(self, format, *args):  # noqa: A002 (signature is inherited)
        """Send http.server's own messages (bad requests, timeouts) to the log."""
        self.server.state.log(f"{self.client_address[0]} {format % args}")

    def _dispatch(self):
        """Handle one request: record it, apply latency and faults, route, reply."""
        state = self.server.state
        started, arrived = time.time(), time.monotonic()
        path, _, query = self.path.partition("?")
        query = query.partition("#")[0]
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self._send(error_response(400, f"bad request body: {exc}"))
            return
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        req = Request(self.command, path, query, headers, body, state)

        fault = None
        if not path.startswith(CONTROL_PREFIX):
            entry = {
                "method": req.method, "path": path, "query": query, "headers": headers,
                "body": body.decode("utf-8", errors="replace"), "time": started,
            }
            for hook in RECORD_HOOKS:
                entry.update(hook(req))
            fault = state.record(entry, req.method, path)
            if fault and fault.close:
                time.sleep(state.latency + fault.delay)
                self._drop_connection()
                self._log_line(req, "closed", 0, started, fault)
                return
            if fault and fault.delay:
                time.sleep(fault.delay)
        # the round trip runs from the request's arrival: reading its body is part of it (in
        # this sim, mostly waiting for the interpreter lock while another request is handled)
        latency_from = arrived + (fault.delay if fault and fault.delay else 0.0)

        if fault and fault.handled:
            handled = self._route(req)  # the request takes effect, then its answer is replaced
            response = fault.replacement() or handled
        else:
            response = (fault and fault.replacement()) or self._route(req)
        if not path.startswith(CONTROL_PREFIX):
            # The round trip: the handler's own work is part of it, not added to it.  Python
            # serves one request at a time where a server serves them side by side; added,
            # the sim's work on a large fleet's pages would be what a benchmark measures.
            time.sleep(max(0.0, state.latency - (time.monotonic() - latency_from)))
        if fault and fault.delay_after:
            time.sleep(fault.delay_after)
        if fault and fault.retry_after is not None:
            extra = [*response.headers, ("Retry-After", str(fault.retry_after))]
            response = dataclasses.replace(response, headers=extra)
        for hook in RESPONSE_HOOKS:
            response = hook(req, response)
        truncate = bool(fault and fault.truncate)
        self._send(response, truncate)
        self._log_line(req, response.status, len(response.body), started, fault)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _route(self, req):
        """Run the matching route handler and return its Response."""
        handler, params, allowed = ROUTES.resolve(req.method, req.path)
        if handler is None:
            if not allowed:
                return error_response(404)
            response = error_response(405, f"method {req.method} not allowed")
            response.headers.append(("Allow", ", ".join(allowed)))
            return response
        req.params = params
        try:
            return handler(req)
        except HandlerError as exc:
            return error_response(exc.status, exc.message)
        except Exception:  # a bug in a handler: answer 500, show the traceback
            traceback.print_exc()
            return error_response(500, "handler crashed; see sim stderr")

    def _read_body(self):
        """Read the request body (Content-Length or chunked); ValueError if malformed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length)

    def _read_chunked(self):
        """Read a chunked request body, discarding any trailers."""
        chunks = []
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # CRLF after the chunk
        while self.rfile.readline(1024).strip():  # trailers, up to the blank line
            pass
        return b"".join(chunks)

    def _send(self, response, truncate=False):
        """Write a response; with truncate, send half the body and drop the connection.

        204 and 304 responses never carry a body or Content-Length, whatever
        the Response holds.  With --gzip, a body of GZIP_MIN_BYTES or more goes out
        gzip-compressed when the client admits gzip (Content-Length is the compressed size).
        """
        bodyless = response.status in (204, 304)
        body = response.body
        packed = (self.server.state.gzip_answers and not bodyless and len(body) >= GZIP_MIN_BYTES
                  and accepts_gzip(self.headers.get("Accept-Encoding")))
        if packed:
            body = gzip.compress(body, mtime=0)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if packed:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        if not bodyless:
            self.send_header("Content-Length", str(len(body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if bodyless or self.command == "HEAD":
            body = b""
        if truncate:
            self.wfile.write(body[: len(body) // 2])
            self._drop_connection()
        else:
            self.wfile.write(body)

    def _drop_connection(self):
        """Close the connection now, cleanly at the TLS level, mid-response or not."""
        self.close_connection = True
        self.wfile.flush()
        sock = self.request
        if isinstance(sock, ssl.SSLSocket):
            # Send close_notify so the client sees a clean EOF rather than a
            # TLS error, but do not wait for the client's own close_notify.
            sock.settimeout(0)
            try:
                sock.unwrap()
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        sock.shutdown(socket.SHUT_RDWR)

    def _log_line(self, req, status, size, started, fault):
        """Write one request-log line."""
        query = f"?{req.query}" if req.query else ""
        note = f" fault={dataclasses.asdict(fault)}" if fault else ""
        took = (time.time() - started) * 1000
        self.server.state.log(f"{self.client_address[0]} {req.method} {req.path}{query}"
                              f" -> {status} {size}B {took:.0f}ms{note}")


class SimServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server holding the shared SimState."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, state, ssl_context=None):
        """Bind and listen on address; wrap the socket when ssl_context is given."""
        super().__init__(address, SimHandler)
        self.state = state
        if ssl_context:
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False)

    def server_bind(self):
        """Bind without HTTPServer's reverse DNS lookup of the address."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address):
        """Log failed handshakes and vanished clients quietly; report real bugs."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            self.state.log(f"{client_address[0]} connection error: {exc}")
        else:
            super().handle_error(request, client_address)


def make_ssl_context(cert_dir, rogue):
    """Server TLS context (TLS 1.2+) using the test or the rogue certificate."""
    name = "rogue-server" if rogue else "server"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(cert_dir / f"{name}.pem", cert_dir / f"{name}.key")
    return context


# ---------------------------------------------------------------------------
# Control API (/_sim/...)
# ---------------------------------------------------------------------------

@ROUTES.route("GET", r"/_sim/health")
def sim_health(req):
    """Liveness check."""
    return json_response({"ok": True})


@ROUTES.route("GET", r"/_sim/faults")
def sim_list_faults(req):
    """List the fault rules with their remaining counts."""
    with req.state.lock:
        return json_response([dataclasses.asdict(rule) for rule in req.state.faults])


@ROUTES.route("POST", r"/_sim/faults")
def sim_add_faults(req):
    """Append fault rules (a list of rule objects, or a single one)."""
    payload = req.json()
    try:
        rules = [FaultRule.from_json(obj) for obj in (payload if isinstance(payload, list) else [payload])]
    except (TypeError, ValueError) as exc:
        raise HandlerError(400, str(exc)) from None
    with req.state.lock:
        req.state.faults.extend(rules)
        total = len(req.state.faults)
    return json_response({"ok": True, "faults": total})


@ROUTES.route("DELETE", r"/_sim/faults")
def sim_clear_faults(req):
    """Remove all fault rules."""
    with req.state.lock:
        req.state.faults.clear()
    return json_response({"ok": True})


@ROUTES.route("GET", r"/_sim/requests")
def sim_requests(req):
    """Every non-control request received since start or the last reset."""
    with req.state.lock:
        return json_response(list(req.state.requests))


@ROUTES.route("POST", r"/_sim/reset")
def sim_reset(req):
    """Forget recorded requests and fault rules."""
    with req.state.lock:
        req.state.requests.clear()
        req.state.faults.clear()
        # Between the runs a test times, not during them: collect garbage now and leave
        # what survives (a large fleet's plans, say) out of later collections.
        gc.collect()
        gc.freeze()
    return json_response({"ok": True})


@ROUTES.route("PUT", r"/_sim/gdmf")
def sim_set_gdmf(req):
    """Replace the feed served at /v2/pmv with the request body (kept verbatim)."""
    with req.state.lock:
        req.state.gdmf = req.body
    return json_response({"ok": True, "bytes": len(req.body)})


# ---------------------------------------------------------------------------
# Apple GDMF (gdmf.apple.com)
# ---------------------------------------------------------------------------

@ROUTES.route("GET", r"/v2/pmv")
def gdmf_pmv(req):
    """The software update feed: --gdmf FILE or the last PUT /_sim/gdmf."""
    doc = req.state.gdmf_document()
    if doc is None:
        raise HandlerError(404, "no GDMF document configured (--gdmf or PUT /_sim/gdmf)")
    return Response(200, doc)


# ---------------------------------------------------------------------------
# Webhook receiver: Slack, Teams Workflows and generic JSON webhooks all POST JSON
# ---------------------------------------------------------------------------

@ROUTES.route("POST", r"/webhook/(?P<name>[A-Za-z0-9._-]+)")
def webhook_receive(req):
    """Accept a JSON alert as Slack does (200 "ok"); what arrived is in /_sim/requests.

    A body that is not JSON, or not sent as application/json, is refused with 400, as the
    real receivers do; fault rules cover failing receivers.
    """
    if not req.headers.get("content-type", "").startswith("application/json"):
        raise HandlerError(400, "webhook: Content-Type must be application/json")
    req.json()
    return Response(200, b"ok", content_type="text/plain")


# ---------------------------------------------------------------------------
# Jamf Pro and Jamf Platform (their own modules register routes on ROUTES)
# ---------------------------------------------------------------------------

# Let those modules `import sim` even when this file runs as __main__.
sys.modules.setdefault("sim", sys.modules[__name__])
import jamf_world  # noqa: E402  (needs the definitions above)
import jamf_pro  # noqa: E402,F401  (registers its routes)
import jamf_platform  # noqa: E402,F401  (registers its routes)


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------

def parse_args(argv):
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--cert-dir", type=Path, default=DEFAULT_CERT_DIR,
                        help="certificates, created by mkcerts.sh if missing (default: %(default)s)")
    parser.add_argument("--rogue", action="store_true", help="serve the cert from the unrelated rogue CA")
    parser.add_argument("--plain-http", action="store_true", help="plain HTTP, no TLS")
    parser.add_argument("--ready-file", type=Path, help="write the port here once listening")
    parser.add_argument("--gdmf", type=Path, help="JSON file served at GET /v2/pmv")
    parser.add_argument("--gdmf-shift-dates", action="store_true",
                        help="shift feed dates so the newest supplemental entry was posted yesterday")
    parser.add_argument("--latency", type=float, default=0, metavar="MS",
                        help="delay before every non-control response, in milliseconds")
    parser.add_argument("--log", type=Path, help="append a request log here")
    parser.add_argument("--gzip", action="store_true",
                        help="gzip answers of 2048 bytes or more for clients that admit gzip")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when the process that started the server exits")
    jamf = parser.add_argument_group("Jamf simulation")
    defaults = jamf_world.Options()
    jamf.add_argument("--fleet-computers", type=int, default=defaults.computers, metavar="N",
                      help="simulated computers (default: %(default)s)")
    jamf.add_argument("--fleet-mobile", type=int, default=defaults.mobile, metavar="M",
                      help="simulated mobile devices (default: %(default)s)")
    jamf.add_argument("--fleet-seed", type=int, default=defaults.seed, metavar="S",
                      help="seed of the deterministic fleet (default: %(default)s)")
    jamf.add_argument("--token-lifetime", type=int, default=defaults.token_lifetime, metavar="SECONDS",
                      help="lifetime of the default Jamf Pro client's tokens (default: %(default)s)")
    jamf.add_argument("--frozen-clock", action="store_true",
                      help="the simulated clock moves only through POST /_sim/clock")
    jamf.add_argument("--environment-id", default=defaults.environment_id, metavar="UUID",
                      help="the Jamf Platform environment (default: %(default)s)")
    return parser.parse_args(argv)


def ensure_certs(cert_dir):
    """Run mkcerts.sh for cert_dir (it returns at once if the certs are fine)."""
    result = subprocess.run(["sh", str(HERE / "mkcerts.sh"), str(cert_dir)], check=False)
    if result.returncode != 0:
        sys.exit(f"sim: mkcerts.sh {cert_dir} failed (exit {result.returncode})")


def write_ready_file(path, port):
    """Atomically write the port number to path."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{port}\n", encoding="ascii")
    os.replace(tmp, path)


def watch_parent(stop):
    """Set stop once this process's parent has exited (we get re-parented)."""
    parent = os.getppid()
    while not stop.wait(1):
        if os.getppid() != parent:
            stop.set()


def main(argv=None):
    """Run the server until SIGTERM or SIGINT."""
    args = parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    context = None
    if not args.plain_http:
        ensure_certs(args.cert_dir)
        context = make_ssl_context(args.cert_dir, args.rogue)
    try:
        gdmf = args.gdmf.read_bytes() if args.gdmf else None
    except OSError as exc:
        sys.exit(f"sim: cannot read --gdmf: {exc}")
    state = SimState(
        gdmf=gdmf,
        shift_dates=args.gdmf_shift_dates,
        latency=args.latency / 1000.0,
        log_path=args.log,
        scheme="http" if args.plain_http else "https",
        gzip_answers=args.gzip,
    )
    for name in ("fleet_computers", "fleet_mobile", "token_lifetime"):
        if getattr(args, name) < (0 if name.startswith("fleet") else 1):
            sys.exit(f"sim: --{name.replace('_', '-')} is out of range")
    state.jamf = jamf_world.World(state, jamf_world.Options(
        computers=args.fleet_computers, mobile=args.fleet_mobile, seed=args.fleet_seed,
        token_lifetime=args.token_lifetime, frozen_clock=args.frozen_clock,
        environment_id=args.environment_id))
    # The fleet lives as long as the server: keep the garbage collector from walking its
    # millions of objects again and again (a large fleet's plan requests would pay for it).
    gc.freeze()
    # Threads waiting on a socket get the interpreter back within a millisecond of their data
    # arriving, not the default 5 ms: a request is read while another is being handled, as
    # on a server that serves them side by side.
    sys.setswitchinterval(0.001)
    try:
        server = SimServer((LISTEN_HOST, args.port), state, context)
    except OSError as exc:
        sys.exit(f"sim: cannot listen on {LISTEN_HOST}:{args.port}: {exc}")
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     name="sim-accept", daemon=True).start()
    if args.exit_with_parent:
        threading.Thread(target=watch_parent, args=(stop,), name="sim-parent", daemon=True).start()
    if args.ready_file:
        write_ready_file(args.ready_file, port)
    scheme = "http" if args.plain_http else "https"
    print(f"sim: listening on {scheme}://{LISTEN_HOST}:{port}", file=sys.stderr, flush=True)

    stop.wait()
    server.shutdown()
    server.server_close()
    state.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
