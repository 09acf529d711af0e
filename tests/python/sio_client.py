#!/usr/bin/env python3
"""sio_client.py URL --scenario NAME[,NAME...]|all [--transports polling|websocket|polling,websocket]
                 [--timeout SECONDS] [--scenario-timeout SECONDS]

Drives the "sio app" (spec in tests/node/reference-sio-server.mjs) at URL, path /socket.io/,
with the python-socketio client (``socketio.Client``, threads; version pinned in
requirements.txt). Same contract as the tests/node scripts: an overall timeout (default 10 s +
15 s per scenario) after which the process exits; exactly one JSON line on stdout
(``{"ok":true,...}`` or ``{"ok":false,"error":...}``); exit code 0 on success, 1 on failure with
the reason on stderr.

Scenarios (each with its own clients, disconnected at the end):
  connect-auth       the auth payload round-trips in `welcome`; the socket id is not the engine
                     id; without auth the server sees {} (python always sends a payload); over
                     polling,websocket the client ends up on websocket
  auth-refused       /auth without token or with a wrong one -> connect_error payload
                     {"message":"unauthorized","data":{"code":401}}; with token "secret" -> welcome
  args               `echo` with 0, 1, 2, 3, 5 mixed JSON arguments and bytes (top level, nested
                     in dicts and lists, two buffers, empty, 64 KB): bytes come back as bytes
  acks               `echo-ack` (client -> server acks, JSON and bytes); `ask` answered by the
                     handler's return value (server -> client ack); answered too late (the
                     server times out, ignores the late ack, the connection stays up); a
                     client-side call() timeout on an event the server does not handle
  disconnect-server  disconnect-me -> the client's disconnect handler gets "server disconnect";
                     the server recorded "server namespace disconnect"
  disconnect-client  client disconnect() -> the client's handler gets "client disconnect"; the
                     server recorded a disconnect for the socket: "client namespace disconnect",
                     "transport close", "transport error" or "ping timeout" (python closes the
                     connection right after queueing its DISCONNECT, so what arrives is a race)

Only talks to 127.0.0.1.
"""

import argparse
import json
import os
import sys
import threading
import time
import traceback
import urllib.parse

import socketio

SCRIPT = "sio_client"
STARTED = time.monotonic()
_print_lock = threading.Lock()
_finished = False
_phase = "starting"


def _elapsed_ms():
    return int((time.monotonic() - STARTED) * 1000)


def finish(code, payload, reason=None):
    """Prints the one result line and exits the process (from any thread)."""
    global _finished
    with _print_lock:
        if _finished:
            return
        _finished = True
        if reason:
            sys.stderr.write(f"{SCRIPT}: {reason}\n")
            sys.stderr.flush()
        line = json.dumps({"script": SCRIPT, **payload, "elapsedMs": _elapsed_ms()}, ensure_ascii=False)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        # os._exit: never wait for python-socketio's background threads.
        os._exit(code)


def fail(reason):
    finish(1, {"ok": False, "error": reason}, reason)


# --- values ----------------------------------------------------------------------------------


def canon(v):
    """Canonical JSON-able form: bytes -> {"$bin": hex}, tuples -> lists, dict keys sorted."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$bin": bytes(v).hex()}
    if isinstance(v, (list, tuple)):
        return [canon(x) for x in v]
    if isinstance(v, dict):
        return {k: canon(v[k]) for k in sorted(v)}
    return v


def show(v):
    text = json.dumps(canon(v), ensure_ascii=False)
    return text if len(text) <= 300 else text[:300] + "..."


def same(a, b):
    # json.dumps distinguishes 1 from 1.0 and True from 1, like the wire does
    return json.dumps(canon(a), sort_keys=True) == json.dumps(canon(b), sort_keys=True)


def expect_same(got, want, what):
    if not same(got, want):
        raise AssertionError(f"{what}: expected {show(want)}, got {show(got)}")


def pattern(n, seed=7):
    return bytes(((i * 31 + seed) & 0xFF) for i in range(n))


# --- one client ------------------------------------------------------------------------------


class Session:
    """One socketio.Client on one namespace, recording what it sees (thread-safe)."""

    def __init__(self, url, transports, namespace="/", label=None):
        self.url = url
        self.transports = transports
        self.namespace = namespace
        self.label = label or namespace
        self.cond = threading.Condition()
        self.events = []  # (event, args) in the order the handlers ran
        self.consumed = {}
        self.connects = 0
        self.connect_errors = []
        self.disconnects = []
        self.allow_disconnect = False
        self.question_delay = None  # seconds the `question` handler sleeps before answering
        self.questions = []
        self.sio = socketio.Client(reconnection=False, logger=False, engineio_logger=False, request_timeout=5)
        ns = namespace

        @self.sio.on("connect", namespace=ns)
        def on_connect():
            with self.cond:
                self.connects += 1
                self.cond.notify_all()

        @self.sio.on("connect_error", namespace=ns)
        def on_connect_error(*data):
            with self.cond:
                self.connect_errors.append(list(data))
                self.cond.notify_all()

        @self.sio.on("disconnect", namespace=ns)
        def on_disconnect(reason=None):
            with self.cond:
                self.disconnects.append(reason)
                self.cond.notify_all()

        @self.sio.on("question", namespace=ns)
        def on_question(*args):
            with self.cond:
                self.questions.append(list(args))
                self.events.append(("question", list(args)))
                self.cond.notify_all()
            if self.question_delay:
                time.sleep(self.question_delay)
            # python-socketio acks every event that asked for one with the return value
            return args[0] + 1 if args and isinstance(args[0], int) else None

        @self.sio.on("*", namespace=ns)
        def on_any(event, *args):
            with self.cond:
                self.events.append((event, list(args)))
                self.cond.notify_all()

    # -- waiting

    def failure(self):
        if self.disconnects and not self.allow_disconnect:
            return f"{self.label}: unexpected disconnect ({self.disconnects[0]})"
        return None

    def wait_for(self, what, predicate, timeout=5.0):
        global _phase
        previous = _phase
        _phase = f"{previous}: waiting for {what}"
        deadline = time.monotonic() + timeout
        try:
            with self.cond:
                while True:
                    value = predicate()
                    if value:
                        return value
                    f = self.failure()
                    if f:
                        raise AssertionError(f"{f} (while waiting for {what})")
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise AssertionError(f"{self.label}: no {what} within {timeout} s")
                    self.cond.wait(min(left, 0.1))
        finally:
            _phase = previous

    def next(self, event, timeout=5.0):
        index = self.consumed.get(event, 0)

        def find():
            matches = [args for (name, args) in self.events if name == event]
            return (matches[index],) if len(matches) > index else None

        (args,) = self.wait_for(f"event {event!r} #{index + 1}", find, timeout)
        self.consumed[event] = index + 1
        return args

    # -- actions

    def connect(self, auth=None):
        """Connects and waits for the namespace; raises socketio's ConnectionError if refused."""
        self.sio.connect(
            self.url,
            auth=auth,
            transports=self.transports,
            namespaces=[self.namespace],
            wait_timeout=5,
        )
        self.wait_for("connect", lambda: self.connects >= 1)
        return self.sio.get_sid(self.namespace)

    def emit(self, event, *args):
        self.sio.emit(event, tuple(args), namespace=self.namespace)

    def call(self, event, *args, timeout=5.0):
        """Emits with a callback; returns the ack's arguments as a list (all of them)."""
        box = []

        def callback(*response):
            with self.cond:
                box.append(list(response))
                self.cond.notify_all()

        self.sio.emit(event, tuple(args), namespace=self.namespace, callback=callback)
        self.wait_for(f"ack of {event!r}", lambda: box, timeout)
        return box[0]

    def close(self):
        self.allow_disconnect = True
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


class Scope:
    def __init__(self, url, transports):
        self.url = url
        self.transports = transports
        self.sessions = []

    def session(self, namespace="/", label=None):
        s = Session(self.url, self.transports, namespace, label)
        self.sessions.append(s)
        return s

    def close(self):
        for s in self.sessions:
            s.close()


def main_socket(scope, auth=None, label=None):
    s = scope.session("/", label)
    sid = s.connect(auth)
    expect_same(s.next("welcome"), [{"id": sid, "auth": auth if auth is not None else {}}], f"{s.label}: welcome")
    return s


def echo_check(s, args, what):
    s.emit("echo", *args)
    expect_same(s.next("echo"), list(args), f"{what}: echo")


def server_reason(observer, sid, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        (entries,) = observer.call("reasons")
        mine = [e for e in entries if e.get("id") == sid]
        if len(mine) > 1:
            raise AssertionError(f"reasons: {sid} disconnected {len(mine)} times: {show(mine)}")
        if mine:
            return mine[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"reasons: nothing recorded for {sid} after {timeout} s")
        time.sleep(0.05)


# --- scenarios -------------------------------------------------------------------------------


def scenario_connect_auth(scope, transports):
    auth = {"token": "abc", "user": {"name": "zoë 🚀", "roles": ["a", "b"]}, "n": 1.5, "list": [1, None, "x"], "yes": True}
    s = scope.session("/", "with auth")
    sid = s.connect(auth)
    expect_same(s.next("welcome"), [{"id": sid, "auth": auth}], "welcome with auth")
    engine_sid = s.sio.eio.sid
    if not sid or not engine_sid:
        raise AssertionError(f"missing ids: socket {sid!r}, engine {engine_sid!r}")
    if sid == engine_sid:
        raise AssertionError(f"the socket id equals the engine id ({sid})")
    t = main_socket(scope, None, "without auth")
    if t.sio.get_sid("/") == sid:
        raise AssertionError("two clients got the same socket id")
    if len(transports) > 1:
        s.wait_for("the websocket upgrade", lambda: s.sio.transport() == "websocket")
    echo_check(s, ["after connect", 1], "with auth")
    return {"id": sid, "engineId": engine_sid, "transport": s.sio.transport()}


def scenario_auth_refused(scope, transports):
    unauthorized = {"message": "unauthorized", "data": {"code": 401}}
    refusals = {}
    for what, auth in (("no auth", None), ("empty auth", {}), ("wrong token", {"token": "nope"})):
        s = scope.session("/auth", f"/auth ({what})")
        error = None
        try:
            s.connect(auth)
        except socketio.exceptions.ConnectionError as e:
            error = str(e)
        if error is None:
            raise AssertionError(f"/auth ({what}): connected although refused")
        s.wait_for("connect_error", lambda s=s: s.connect_errors)
        expect_same(s.connect_errors[0], [unauthorized], f"/auth ({what}): connect_error payload")
        refusals[what] = error
    ok = scope.session("/auth", "/auth (secret)")
    sid = ok.connect({"token": "secret"})
    expect_same(ok.next("welcome"), [{"id": sid, "auth": {"token": "secret"}}], "/auth (secret): welcome")
    return {"connectError": unauthorized, "exception": refusals["no auth"]}


def scenario_args(scope, transports):
    s = main_socket(scope)
    nested = {"a": {"b": [1, 2, {"c": "d", "e": [[], {}]}]}, "empty": {}, "list": []}
    text = 'quote " backslash \\ slash / nl \n tab \t nul \u0000 ls \u2028 é 日本語 𝄞 🚀 \u0301'
    cases = [
        ("0 args", []),
        ("1 arg: string", ["hello"]),
        ("1 arg: null", [None]),
        ("1 arg: list", [[1, "two", None, True]]),
        ("2 args", [1, "two"]),
        ("3 args", [None, nested, [1, [2, [3, [4]]]]]),
        ("5 args: unicode and numbers", [text, 3.14159, -7, True, False]),
        ("5 args: numbers", [0, -2.5, 9007199254740991, -2147483648, 1e-7]),
        ("top-level bytes", [b"\x01\x02\x03\x04"]),
        ("bytes nested in a dict", [{"bin": b"\x05\x06", "deeper": {"more": b"\x07"}, "text": "x"}]),
        ("bytes nested in a list", [[b"\x08", "s", b"\x09\x0a", [b"\x0b"]]]),
        ("two buffers", [b"\x00\xff", b"\x80\x7f\x01"]),
        ("bytes and JSON, 5 args", ["label", b"\x01", 2, {"b": b"\x03"}, None]),
        ("empty bytes", [b""]),
        ("64 KB bytes", [pattern(64 * 1024)]),
    ]
    kinds = set()
    # One at a time: python-socketio runs each incoming message's handler in its own thread, so
    # the order of events across messages is not guaranteed on the client side.
    for what, args in cases:
        s.emit("echo", *args)
        got = s.next("echo")
        expect_same(got, args, what)
        collect_kinds(got, kinds)
    return {"cases": len(cases), "binaryReceivedAs": sorted(kinds)}


def collect_kinds(v, out):
    if isinstance(v, (bytes, bytearray, memoryview)):
        out.add(type(v).__name__)
    elif isinstance(v, (list, tuple)):
        for x in v:
            collect_kinds(x, out)
    elif isinstance(v, dict):
        for x in v.values():
            collect_kinds(x, out)


def scenario_acks(scope, transports):
    s = main_socket(scope)
    cases = [
        [],
        ["one"],
        [1, {"a": [True, None]}, "three"],
        [b"\x01\x02\x03", "x", {"nested": b"\x04"}],
        ["é🚀", 2.5, [b"", b"\x09"], None, {"deep": {"list": [1, b"\x07\x07"]}}],
    ]
    for i, args in enumerate(cases):
        expect_same(s.call("echo-ack", *args), args, f"echo-ack #{i}")

    # server -> client ack: the handler's return value is the ack
    s.emit("ask", 2000)
    expect_same(s.next("answer"), [{"ok": True, "value": 43}], "ask (answered)")
    expect_same(s.questions[0], [42], "question arguments")

    # answered too late (python always acks, so "never" is "after the server's timeout")
    s.question_delay = 0.5
    started = time.monotonic()
    s.emit("ask", 200)
    expect_same(s.next("answer"), [{"ok": False, "error": "timeout"}], "ask (answered late)")
    timeout_ms = int((time.monotonic() - started) * 1000)
    if timeout_ms < 150:
        raise AssertionError(f"ask (answered late): timed out after {timeout_ms} ms, before 200 ms")
    time.sleep(0.6)
    s.question_delay = None
    echo_check(s, ["alive after a late ack"], "after the late ack")

    # client-side ack timeout: no server handler, so no ack
    started = time.monotonic()
    try:
        value = s.sio.call("no-such-event", 1, timeout=0.5)
        raise AssertionError(f"call() returned {show(value)} although the server has no handler")
    except socketio.exceptions.TimeoutError:
        pass
    call_ms = int((time.monotonic() - started) * 1000)
    echo_check(s, ["alive after an unanswered event"], "after the client-side timeout")
    return {"echoAcks": len(cases), "serverTimeoutMs": timeout_ms, "clientTimeoutMs": call_ms}


def scenario_disconnect_server(scope, transports):
    observer = main_socket(scope, None, "observer")
    s = main_socket(scope, None, "disconnected")
    sid = s.sio.get_sid("/")
    s.allow_disconnect = True
    s.emit("disconnect-me")
    s.wait_for("disconnect", lambda: s.disconnects)
    reason = s.disconnects[0]
    if reason != "server disconnect":
        raise AssertionError(f"client reason {reason!r}, expected 'server disconnect'")
    server = server_reason(observer, sid)
    expect_same(server, {"id": sid, "nsp": "/", "reason": "server namespace disconnect"}, "server-side reason")
    return {"clientReason": reason, "serverReason": server["reason"]}


def scenario_disconnect_client(scope, transports):
    observer = main_socket(scope, None, "observer")
    s = main_socket(scope, None, "leaving")
    sid = s.sio.get_sid("/")
    s.allow_disconnect = True
    s.sio.disconnect()
    s.wait_for("disconnect", lambda: s.disconnects)
    server = server_reason(observer, sid)
    # python-socketio queues a DISCONNECT packet and then closes the Engine.IO connection at
    # once, so what reaches the server is a race. Seen with Node's server: "transport close"
    # (nearly always over polling: the DISCONNECT and the CLOSE share a payload, and Node
    # handles the close synchronously but Socket.IO packets on the next tick; mostly over
    # websocket: the socket is closed before the write loop sent the DISCONNECT), "client
    # namespace disconnect" (the DISCONNECT got through first) and, rarely, under CPU load over
    # polling, "ping timeout" (neither packet was sent: the client just went silent). Any
    # server must record one of these, in time.
    allowed = ("client namespace disconnect", "transport close", "transport error", "ping timeout")
    if server.get("nsp") != "/" or server.get("reason") not in allowed:
        raise AssertionError(f"server-side reason: expected one of {allowed} on '/', got {show(server)}")
    if s.disconnects[0] != "client disconnect":
        raise AssertionError(f"client reason {s.disconnects[0]!r}, expected 'client disconnect'")
    return {"clientReason": s.disconnects[0], "serverReason": server["reason"]}


SCENARIOS = {
    "connect-auth": scenario_connect_auth,
    "auth-refused": scenario_auth_refused,
    "args": scenario_args,
    "acks": scenario_acks,
    "disconnect-server": scenario_disconnect_server,
    "disconnect-client": scenario_disconnect_client,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # exit 1 with the one JSON line, like every other failure
        fail(f"bad arguments: {message}")


def parse_args(argv):
    p = _Parser(prog="sio_client.py", description="python-socketio client scenarios")
    p.add_argument("url")
    p.add_argument("--scenario", required=True)
    p.add_argument("--transports", default="polling,websocket")
    p.add_argument("--timeout", type=float)
    p.add_argument("--scenario-timeout", type=float, default=15.0)
    a = p.parse_args(argv)
    host = urllib.parse.urlparse(a.url).hostname
    if host != "127.0.0.1":
        p.error(f"refusing to connect to {host}: these scripts only talk to 127.0.0.1")
    transports = [t.strip() for t in a.transports.split(",") if t.strip()]
    if not transports or any(t not in ("polling", "websocket") for t in transports):
        p.error(f"bad --transports {a.transports!r} (polling, websocket or polling,websocket)")
    names = list(SCENARIOS) if a.scenario == "all" else [n.strip() for n in a.scenario.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    if a.timeout is None:
        a.timeout = 10 + a.scenario_timeout * len(names)
    return a, transports, names


def main():
    global _phase
    a, transports, names = parse_args(sys.argv[1:])

    def on_timeout():
        fail(f"timeout after {a.timeout:g} s while {_phase}")

    watchdog = threading.Timer(a.timeout, on_timeout)
    watchdog.daemon = True
    watchdog.start()

    results = {}
    passed = []
    for name in names:
        _phase = f"scenario {name}"
        scope = Scope(a.url, transports)
        started = time.monotonic()
        outcome = {}

        def body(name=name, scope=scope, outcome=outcome):
            try:
                outcome["result"] = SCENARIOS[name](scope, transports)
            except BaseException as e:  # noqa: BLE001 - reported below
                outcome["error"] = e
                outcome["trace"] = traceback.format_exc()

        worker = threading.Thread(target=body, daemon=True)
        worker.start()
        worker.join(a.scenario_timeout)
        scope.close()
        before = f" (passed before: {','.join(passed)})" if passed else ""
        if worker.is_alive():
            fail(f"scenario {name}: no result within {a.scenario_timeout:g} s (while {_phase}){before}")
        if "error" in outcome:
            e = outcome["error"]
            sys.stderr.write(outcome["trace"])
            fail(f"scenario {name}: {type(e).__name__}: {e}{before}")
        results[name] = {**outcome["result"], "ms": int((time.monotonic() - started) * 1000)}
        passed.append(name)
    finish(
        0,
        {
            "ok": True,
            "client": f"python-socketio@{_version('python-socketio')}",
            "engineio": f"python-engineio@{_version('python-engineio')}",
            "transports": transports,
            "scenarios": passed,
            "results": results,
        },
    )


def _version(dist):
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001
        return "unknown"


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001
        fail(f"uncaught {type(e).__name__} while {_phase}: {e}")
