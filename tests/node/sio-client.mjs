// sio-client.mjs URL --scenario NAME[,NAME...]|all [--transports polling|websocket|polling,websocket]
//                [--msgpack] [--timeout SECONDS] [--scenario-timeout SECONDS]
//
// Drives the "sio app" (see reference-sio-server.mjs for its spec) at URL, path /socket.io/, with
// the real npm socket.io-client 4.8 (and socket.io-msgpack-parser with --msgpack: the server must
// use the same parser). Runs the scenarios one after the other, each with its own sockets and
// Managers (closed at the end), each bounded by --scenario-timeout (default 10 s); the whole run
// is bounded by --timeout (default 10 s + 10 s per scenario).
//
// Scenarios (each checks its own results and fails with a reason):
//   connect-auth        auth payload round-trips in `welcome`; socket id != engine id; without
//                       auth the server sees {}; over polling,websocket the engine upgrades
//   auth-refused        /auth without/with a wrong token -> connect_error "unauthorized" with
//                       data {code:401}; with token "secret" -> welcome; a refused namespace on a
//                       shared Manager leaves the other namespace working
//   dynamic             /dyn-1, /dyn-42 -> `ns` with their names; /nope, /dyn-x, /dyn- refused
//                       with "Invalid namespace" (no data)
//   args                `echo` with 0, 1, 2, 3, 5 mixed JSON arguments and binary ones (top
//                       level, nested in objects and arrays, two buffers, empty, 64 KB)
//   acks                `echo-ack` (client -> server acks, JSON and binary, concurrent); `ask`
//                       answered (server -> client ack), ignored (timeout), answered late
//                       (timeout, the late ack is ignored and the connection stays up)
//   client-ack-timeout  socket.timeout(500).emitWithAck to an event without handler -> times out
//   rooms               join (with and without ack), leave, rooms list (sorted, has own id),
//                       to-room reaches members only
//   disconnect-server   disconnect-me -> client reason "io server disconnect", server reason
//                       "server namespace disconnect"; /slow on the same connection stays up
//   disconnect-client   socket.disconnect() -> server reason "client namespace disconnect"; the
//                       other namespace on the same connection keeps working
//   close               close-me (socket.disconnect(true)) with "/" and "/dyn-3" on one Manager:
//                       both sockets are disconnected
//   reconnect           engine.close() -> the client reconnects by itself, new id, new welcome
//   slow-middleware     /slow (200 ms middleware): events emitted in the `connect` handler are
//                       not lost
//   volatile            a burst of 5 volatile events arrives as an ordered subset; single
//                       volatile events on an idle, healthy connection arrive
//   order               200 `echo` events (every 10th with binary) come back in order
//   multi               "/" and "/dyn-7" on one Manager share one engine connection; both work
//   connect-timeout     an engine connection that joins no namespace is closed after ~1 s
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, parseTransports, run } from "./common.mjs";
import {
  CLIENT_VERSION,
  MSGPACK_VERSION,
  Scope,
  binaryKinds,
  bytes,
  deadline,
  expectSame,
  pattern,
  same,
  serverReason,
  show,
  sleep,
} from "./sio-common.mjs";

// --- the scenarios ----------------------------------------------------------------------------

/** True when the client starts with polling and may upgrade to websocket. */
const upgrades = (config) => config.transports.length > 1 && config.transports[0] === "polling";

/** Waits until the engine of `session` runs over websocket. */
async function waitUpgrade(session) {
  const engine = session.socket.io.engine;
  if (engine.transport && engine.transport.name === "websocket") return;
  let upgraded = false;
  engine.once("upgrade", () => {
    upgraded = true;
    session.notify();
  });
  await session.waitFor("the engine upgrade to websocket", () => upgraded);
  if (engine.transport.name !== "websocket") throw new Error(`upgraded, but transport is ${engine.transport.name}`);
}

/** Emits `echo` with `args` and checks the echo. */
async function echoCheck(session, args, what) {
  session.socket.emit("echo", ...args);
  const got = await session.next("echo");
  expectSame(got, args, `${what}: echo`);
}

/** A "/" session, connected, its welcome consumed. */
async function mainSocket(scope, options = {}) {
  const s = scope.socket("/", options);
  const id = await s.connected();
  const [welcome] = await s.next("welcome");
  expectSame(welcome, { id, auth: options.auth ?? {} }, `${s.label}: welcome`);
  return s;
}

const scenarios = {
  async "connect-auth"(scope, config) {
    const auth = { token: "abc", user: { name: "zoë 🚀", roles: ["a", "b"] }, n: 1.5, list: [1, null, "x"], yes: true };
    const s = scope.socket("/", { auth, label: "with auth" });
    const id = await s.connected();
    const [welcome] = await s.next("welcome");
    expectSame(welcome, { id, auth }, "welcome with auth");
    const engineId = s.socket.io.engine.id;
    if (typeof id !== "string" || id.length === 0) throw new Error(`bad socket id ${show(id)}`);
    if (typeof engineId !== "string" || engineId.length === 0) throw new Error(`bad engine id ${show(engineId)}`);
    if (id === engineId) throw new Error(`the socket id equals the engine id (${id})`);

    // No auth option: the CONNECT packet has no payload and the server sees {}.
    const t = scope.socket("/", { label: "without auth" });
    const id2 = await t.connected();
    const [welcome2] = await t.next("welcome");
    expectSame(welcome2, { id: id2, auth: {} }, "welcome without auth");
    if (id2 === id) throw new Error(`two sockets got the same id ${id}`);
    const engineId2 = t.socket.io.engine.id;
    if (engineId2 === engineId) throw new Error(`two Managers got the same engine id ${engineId}`);

    if (upgrades(config)) await waitUpgrade(s);
    await echoCheck(s, ["after connect", 1], "with auth");
    return { id, engineId, idLength: id.length, engineIdLength: engineId.length, transport: s.socket.io.engine.transport.name };
  },

  async "auth-refused"(scope) {
    const unauthorized = { message: "unauthorized", data: { code: 401 } };
    const refusals = [
      ["empty auth", { auth: {} }],
      ["wrong token", { auth: { token: "nope" } }],
      ["no auth at all", {}],
    ];
    for (const [what, options] of refusals) {
      const s = scope.socket("/auth", { ...options, label: `/auth (${what})` });
      const err = await s.connectError();
      expectSame(err, unauthorized, `/auth (${what}): connect_error`);
      if (s.socket.connected || s.connects > 0) throw new Error(`/auth (${what}): connected although refused`);
    }

    const ok = scope.socket("/auth", { auth: { token: "secret" }, label: "/auth (secret)" });
    const id = await ok.connected();
    const [welcome] = await ok.next("welcome");
    expectSame(welcome, { id, auth: { token: "secret" } }, "/auth (secret): welcome");

    // One Manager, "/" accepted and "/auth" refused: the refusal must not close the connection.
    const m = scope.manager();
    const main = scope.socket("/", { manager: m, label: "/ (shared)" });
    const refused = scope.socket("/auth", { manager: m, auth: { token: "bad" }, label: "/auth (shared, bad)" });
    await main.connected();
    await main.next("welcome");
    const err = await refused.connectError();
    expectSame(err, unauthorized, "/auth (shared, bad): connect_error");
    await sleep(100);
    await echoCheck(main, ["still connected after the other namespace was refused"], "/ (shared)");
    if (main.socket.io !== refused.socket.io) throw new Error("the two sockets do not share the Manager");
    return { refusal: unauthorized };
  },

  async dynamic(scope) {
    const names = {};
    for (const nsp of ["/dyn-1", "/dyn-42"]) {
      const s = scope.socket(nsp);
      await s.connected();
      const [name] = await s.next("ns");
      if (name !== nsp) throw new Error(`${nsp}: ns event carried ${show(name)}`);
      names[nsp] = name;
      if (s.all("welcome").length !== 0) throw new Error(`${nsp}: got a welcome`);
    }
    const refused = {};
    for (const nsp of ["/nope", "/dyn-x", "/dyn-"]) {
      const s = scope.socket(nsp);
      const err = await s.connectError();
      // Node sends {"message":"Invalid namespace"}: no data at all.
      expectSame(err, { message: "Invalid namespace", data: undefined }, `${nsp}: connect_error`);
      refused[nsp] = err.message;
    }
    return { names, refused };
  },

  async args(scope) {
    const s = await mainSocket(scope);
    const nested = { a: { b: [1, 2, { c: "d", e: [[], {}] }] }, empty: {}, list: [] };
    const text = 'quote " backslash \\ slash / nl \n tab \t nul \u0000 ls \u2028 é 日本語 𝄞 🚀 \u0301';
    const json = [
      ["0 args", []],
      ["1 arg: string", ["hello"]],
      ["1 arg: empty string", [""]],
      ["1 arg: null", [null]],
      ["1 arg: number", [42]],
      ["1 arg: array", [[1, "two", null, true]]],
      ["2 args", [1, "two"]],
      ["3 args: null, nested object, nested array", [null, nested, [1, [2, [3, [4]]]]]],
      ["5 args: unicode and numbers", [text, 3.14159, -7, true, false]],
      ["5 args: numbers", [0, -2.5, 9007199254740991, -2147483648, 1e-7]],
      ["5 args: mixed", ["a", { b: [null, "c"] }, [], 0, "end"]],
      ["placeholder-looking object in a plain event", [{ _placeholder: true, num: 0 }]],
    ];
    const big = pattern(64 * 1024);
    const binary = [
      ["top-level Uint8Array", [bytes(1, 2, 3, 4)]],
      ["binary nested in an object", [{ bin: bytes(5, 6), deeper: { more: bytes(7) }, text: "x" }]],
      ["binary nested in an array", [[bytes(8), "s", bytes(9, 10), [bytes(11)]]]],
      ["two buffers", [bytes(0, 255), bytes(128, 127, 1)]],
      ["binary and JSON mixed, 5 args", ["label", bytes(1), 2, { b: bytes(3) }, null]],
      ["empty buffer", [new Uint8Array(0)]],
      ["64 KB buffer", [big]],
      ["same buffer twice", [bytes(42, 43), bytes(42, 43)]],
    ];
    const cases = [...json, ...binary];
    // Pipelined: everything sent at once, the echoes must come back in the same order.
    for (const [, args] of cases) s.socket.emit("echo", ...args);
    const kinds = new Set();
    for (const [what, args] of cases) {
      const got = await s.next("echo");
      expectSame(got, args, what);
      binaryKinds(got, kinds);
    }
    return { cases: cases.length, binaryReceivedAs: [...kinds].sort() };
  },

  async acks(scope) {
    const s = await mainSocket(scope);
    // client -> server acks, all at once (distinct ack ids in flight)
    const cases = [
      [],
      ["one"],
      [1, { a: [true, null] }, "three"],
      [bytes(1, 2, 3), "x", { nested: bytes(4) }],
      ["é🚀", 2.5, [bytes(), bytes(9)], null, { deep: { list: [1, bytes(7, 7)] } }],
    ];
    const answers = await Promise.all(cases.map((args) => s.call("echo-ack", ...args)));
    cases.forEach((args, i) => expectSame(answers[i], args, `echo-ack #${i} (${args.length} args)`));

    // server -> client ack, answered
    s.questionMode = "answer";
    s.socket.emit("ask", 2000);
    const [answered] = await s.next("answer");
    expectSame(answered, { ok: true, value: 43 }, "ask (answered)");
    const q = s.questions[0];
    if (!q || !same(q.args, [42]) || !q.withAck) throw new Error(`question: expected [42] with an ack, got ${show(q)}`);

    // server -> client ack, never answered: the server times out
    s.questionMode = "ignore";
    let started = Date.now();
    s.socket.emit("ask", 300);
    const [ignored] = await s.next("answer");
    const timeoutElapsed = Date.now() - started;
    expectSame(ignored, { ok: false, error: "timeout" }, "ask (ignored)");
    if (timeoutElapsed < 250) throw new Error(`ask (ignored): timed out after ${timeoutElapsed} ms, before 300 ms`);

    // answered too late: the server has timed out and must ignore the late ack
    s.questionMode = { lateMs: 500 };
    started = Date.now();
    s.socket.emit("ask", 200);
    const [late] = await s.next("answer");
    expectSame(late, { ok: false, error: "timeout" }, "ask (answered late)");
    await sleep(600 - (Date.now() - started) + 100);
    await echoCheck(s, ["alive after a late ack"], "after the late ack");
    return { echoAcks: cases.length, answered, timeoutElapsedMs: timeoutElapsed };
  },

  async "client-ack-timeout"(scope) {
    const s = await mainSocket(scope);
    const started = Date.now();
    let error = null;
    try {
      const value = await s.socket.timeout(500).emitWithAck("no-such-event", 1, bytes(1));
      throw new Error(`emitWithAck resolved with ${show(value)} although the server has no handler`);
    } catch (e) {
      error = e && e.message;
    }
    const elapsed = Date.now() - started;
    if (error !== "operation has timed out") throw new Error(`emitWithAck: expected the timeout error, got ${show(error)}`);
    if (elapsed < 450) throw new Error(`emitWithAck timed out after ${elapsed} ms, before 500 ms`);
    await echoCheck(s, ["alive after an unanswered event"], "after the timeout");
    return { error, elapsedMs: elapsed };
  },

  async rooms(scope) {
    const s = await mainSocket(scope);
    const id = s.id;
    expectSame(await s.call("join", "room-a"), [], "join room-a ack");
    s.socket.emit("join", "room-b"); // no ack
    const [rooms1] = await s.call("rooms");
    expectSame(rooms1, [id, "room-a", "room-b"].sort(), "rooms after two joins");
    expectSame(await s.call("leave", "room-a"), [], "leave room-a ack");
    const [rooms2] = await s.call("rooms");
    expectSame(rooms2, [id, "room-b"].sort(), "rooms after leaving room-a");
    if (!rooms2.includes(id)) throw new Error(`rooms ${show(rooms2)} lack the socket's own id`);

    s.socket.emit("to-room", "room-b", "to room-b");
    expectSame(await s.next("room-msg"), ["to room-b"], "room-msg to a joined room");
    s.socket.emit("to-room", "room-a", "to room-a (left)");
    s.socket.emit("to-room", "room-never", "to a room nobody is in");
    s.socket.emit("to-room", id, { to: "own id" });
    expectSame(await s.next("room-msg"), [{ to: "own id" }], "room-msg to the own-id room (nothing else before)");
    return { rooms: rooms2.length };
  },

  async "disconnect-server"(scope) {
    const observer = await mainSocket(scope, { label: "observer" });
    const m = scope.manager();
    const s = await mainSocket(scope, { manager: m, label: "/ (disconnected)" });
    const slow = scope.socket("/slow", { manager: m, label: "/slow (same connection, staying)" });
    await slow.connected();
    const id = s.id;
    s.allowDisconnect = true;
    s.socket.emit("disconnect-me");
    const d = await s.disconnected();
    if (d.reason !== "io server disconnect") throw new Error(`client reason ${show(d.reason)}, expected "io server disconnect"`);
    const server = await serverReason(observer, id);
    expectSame(server, { id, nsp: "/", reason: "server namespace disconnect" }, "server-side reason");
    if (s.socket.active) throw new Error("the client will reconnect after a server disconnect");
    // A namespace disconnect is not a connection close: the other namespace keeps working.
    await echoCheck(slow, ["still here after / was disconnected"], "/slow");
    return { clientReason: d.reason, serverReason: server.reason };
  },

  async "disconnect-client"(scope) {
    const observer = await mainSocket(scope, { label: "observer" });
    const m = scope.manager();
    const a = await mainSocket(scope, { manager: m, label: "/ (leaving)" });
    const slow = scope.socket("/slow", { manager: m, label: "/slow (staying)" });
    await slow.connected();
    const [aId, slowId] = [a.id, slow.id];
    a.allowDisconnect = true;
    a.socket.disconnect();
    const d = await a.disconnected();
    if (d.reason !== "io client disconnect") throw new Error(`client reason ${show(d.reason)}`);
    const serverA = await serverReason(observer, aId);
    expectSame(serverA, { id: aId, nsp: "/", reason: "client namespace disconnect" }, "server-side reason for /");
    // the other namespace of the same connection keeps working
    await echoCheck(slow, ["still here", bytes(1)], "/slow after / left");
    if (slow.disconnects.length) throw new Error("/slow was disconnected too");
    slow.allowDisconnect = true;
    slow.socket.disconnect(); // the last socket: the Manager closes the connection too
    const serverSlow = await serverReason(observer, slowId);
    expectSame(serverSlow, { id: slowId, nsp: "/slow", reason: "client namespace disconnect" }, "server-side reason for /slow");
    return { clientReason: d.reason, serverReason: serverA.reason, lastSocketServerReason: serverSlow.reason };
  },

  async close(scope) {
    const observer = await mainSocket(scope, { label: "observer" });
    const m = scope.manager();
    const a = await mainSocket(scope, { manager: m, label: "/ (close-me)" });
    const d = scope.socket("/dyn-3", { manager: m, label: "/dyn-3 (same connection)" });
    await d.connected();
    await d.next("ns");
    const [aId, dId] = [a.id, d.id];
    let managerClose = null;
    m.on("close", (reason) => {
      managerClose = reason;
    });
    a.allowDisconnect = true;
    d.allowDisconnect = true;
    a.socket.emit("close-me");
    const [ra, rd] = await Promise.all([a.disconnected(), d.disconnected()]);
    const expected = "io server disconnect";
    if (ra.reason !== expected) throw new Error(`/: client reason ${show(ra.reason)}, expected ${show(expected)}`);
    if (rd.reason !== expected) throw new Error(`/dyn-3: client reason ${show(rd.reason)}, expected ${show(expected)}`);
    const serverA = await serverReason(observer, aId);
    const serverD = await serverReason(observer, dId);
    expectSame(serverA, { id: aId, nsp: "/", reason: "server namespace disconnect" }, "server-side reason for /");
    expectSame(serverD, { id: dId, nsp: "/dyn-3", reason: "server namespace disconnect" }, "server-side reason for /dyn-3");
    // The connection itself is gone too (both sockets left, so the client closes it anyway).
    await a.waitFor("the Manager to close", () => managerClose !== null);
    return { clientReasons: [ra.reason, rd.reason], serverReasons: [serverA.reason, serverD.reason], managerClose };
  },

  async reconnect(scope) {
    const auth = { token: "again" };
    const s = scope.socket("/", {
      auth,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
      randomizationFactor: 0,
      label: "reconnecting",
    });
    const id1 = await s.connected(1);
    expectSame((await s.next("welcome"))[0], { id: id1, auth }, "first welcome");
    const engine1 = s.socket.io.engine.id;
    s.allowDisconnect = true;
    s.socket.io.engine.close();
    const d = await s.disconnected(1);
    const id2 = await s.connected(2);
    expectSame((await s.next("welcome"))[0], { id: id2, auth }, "welcome after reconnection");
    if (id2 === id1) throw new Error(`same socket id ${id1} after reconnection`);
    const engine2 = s.socket.io.engine.id;
    if (engine2 === engine1) throw new Error(`same engine id ${engine1} after reconnection`);
    await echoCheck(s, ["after reconnection", bytes(1, 2)], "reconnected");
    const observer = await mainSocket(scope, { label: "observer" });
    const server = await serverReason(observer, id1);
    // The client closed the transport: Node's server says "transport close".
    expectSame(server, { id: id1, nsp: "/", reason: "transport close" }, "server-side reason for the old socket");
    if (s.disconnects.length !== 1) throw new Error(`${s.disconnects.length} disconnects`);
    return { clientReason: d.reason, serverReason: server.reason };
  },

  async "slow-middleware"(scope) {
    const s = scope.socket("/slow");
    s.socket.on("connect", () => {
      s.socket.emit("echo", "right after connect", bytes(1, 2));
      s.socket.emit("echo", 2);
      s.socket.emit("echo", { three: 3 });
    });
    const started = Date.now();
    await s.connected();
    const connectMs = Date.now() - started;
    if (connectMs < 150) throw new Error(`connected after ${connectMs} ms although the middleware waits 200 ms`);
    expectSame(await s.next("echo"), ["right after connect", bytes(1, 2)], "first echo");
    expectSame(await s.next("echo"), [2], "second echo");
    expectSame(await s.next("echo"), [{ three: 3 }], "third echo");
    return { connectMs };
  },

  async volatile(scope, config) {
    const s = await mainSocket(scope);
    // A burst: Node sends a volatile packet only while the transport is writable, so it may
    // drop all but the first of a burst; any server must keep the order and never duplicate.
    s.socket.emit("volatile", 5);
    await echoCheck(s, ["after the burst"], "marker after the burst");
    const burst = s.all("v").map((args) => args[0]);
    for (let i = 0; i < burst.length; i++) {
      if (!Number.isInteger(burst[i]) || burst[i] < 0 || burst[i] > 4 || (i > 0 && burst[i] <= burst[i - 1])) {
        throw new Error(`burst: received ${show(burst)}, not an ordered subset of 0..4`);
      }
    }
    if (burst.length === 0 && config.transports[0] === "websocket") {
      throw new Error("burst: not even the first volatile event arrived on a healthy websocket");
    }
    // Single volatile events on a healthy, idle connection must arrive.
    s.consumed.set("v", burst.length);
    const singles = 3;
    for (let k = 0; k < singles; k++) {
      await sleep(50);
      s.socket.emit("volatile", 1);
      const got = await deadline(s.next("v"), 2000, `single volatile event #${k + 1}`);
      expectSame(got, [0], `single volatile event #${k + 1}`);
    }
    const tail = s.all("v").slice(burst.length);
    if (tail.length !== singles) throw new Error(`single volatile events: received ${show(tail)}`);
    return { burstReceived: burst, singlesReceived: tail.length };
  },

  async order(scope) {
    const s = await mainSocket(scope);
    const n = 200;
    for (let i = 0; i < n; i++) {
      if (i % 10 === 0) s.socket.emit("echo", i, bytes(i & 0xff));
      else s.socket.emit("echo", i);
    }
    for (let i = 0; i < n; i++) {
      const got = await s.next("echo");
      const want = i % 10 === 0 ? [i, bytes(i & 0xff)] : [i];
      if (!same(got, want)) throw new Error(`echo #${i}: expected ${show(want)}, got ${show(got)} (out of order?)`);
    }
    return { events: n };
  },

  async multi(scope) {
    const m = scope.manager();
    const a = scope.socket("/", { manager: m, auth: { who: "a" }, label: "/ (shared)" });
    const b = scope.socket("/dyn-7", { manager: m, auth: { who: "b" }, label: "/dyn-7 (shared)" });
    const [aId, bId] = await Promise.all([a.connected(), b.connected()]);
    expectSame((await a.next("welcome"))[0], { id: aId, auth: { who: "a" } }, "/ welcome");
    expectSame(await b.next("ns"), ["/dyn-7"], "/dyn-7 ns");
    if (a.socket.io !== b.socket.io) throw new Error("the sockets do not share the Manager");
    const engineId = m.engine.id;
    if (aId === bId) throw new Error(`both namespaces got socket id ${aId}`);
    if (aId === engineId || bId === engineId) throw new Error("a socket id equals the engine id");
    await echoCheck(a, ["shared connection", bytes(1)], "/ (shared)");
    const [rooms] = await a.call("rooms");
    expectSame(rooms, [aId], "rooms of / (shared)");
    return { ids: [aId, bId], engineId };
  },

  async "connect-timeout"(scope) {
    // An engine connection that never sends a CONNECT packet: the server closes it after its
    // connect timeout (1 s).
    const m = scope.manager({ autoConnect: false });
    let openedAt = null;
    let closed = null;
    const done = new Promise((resolve, reject) => {
      m.on("open", () => {
        openedAt = Date.now();
      });
      m.on("error", (err) => reject(new Error(`manager error: ${err && err.message}`)));
      m.on("close", (reason, details) => {
        closed = { reason, at: Date.now() };
        void details;
        resolve();
      });
    });
    m.open();
    await deadline(done, 5000, "the server closing an engine connection without namespace");
    if (openedAt === null) throw new Error(`closed (${closed.reason}) before it opened`);
    const afterMs = closed.at - openedAt;
    if (afterMs < 700 || afterMs > 3000) throw new Error(`closed ${afterMs} ms after open, expected about 1000`);
    return { reason: closed.reason, afterMs };
  },
};

// --- main -------------------------------------------------------------------------------------

let args;
try {
  args = parseArgs(process.argv.slice(2), {
    flags: ["msgpack"],
    defaults: { transports: "polling,websocket", "scenario-timeout": "10" },
  });
  if (!args.opts.scenario) throw new Error("missing --scenario NAME[,NAME...]|all");
} catch (e) {
  process.stderr.write(`sio-client: ${e.message}\n`);
  process.exit(1);
}
const { url, opts } = args;
const names = opts.scenario === "all" ? Object.keys(scenarios) : opts.scenario.split(",").map((s) => s.trim()).filter(Boolean);
const unknown = names.filter((n) => !Object.hasOwn(scenarios, n));
if (unknown.length) {
  process.stderr.write(`sio-client: unknown scenario(s) ${unknown.join(", ")}; known: ${Object.keys(scenarios).join(", ")}\n`);
  process.exit(1);
}
const scenarioMs = parsePositive(opts["scenario-timeout"], "scenario-timeout") * 1000;
const overallMs = opts.timeout !== undefined ? parsePositive(opts.timeout, "timeout") * 1000 : 10000 + names.length * scenarioMs;

run("sio-client", overallMs, async (ctx) => {
  const config = { transports: parseTransports(opts.transports), msgpack: Boolean(opts.msgpack) };
  const results = {};
  const passed = [];
  for (const name of names) {
    ctx.phase(`scenario ${name}`);
    const scope = new Scope(url, config);
    const started = Date.now();
    try {
      const result = await deadline(scenarios[name](scope, config), scenarioMs, "the scenario");
      results[name] = { ...result, ms: Date.now() - started };
      passed.push(name);
    } catch (e) {
      const message = e && e.message ? e.message : String(e);
      throw new Error(`${message}${passed.length ? ` (passed before: ${passed.join(",")})` : ""}`);
    } finally {
      scope.close();
    }
    // let the closes go out before the next scenario
    await sleep(20);
  }
  return {
    client: CLIENT_VERSION,
    parser: config.msgpack ? MSGPACK_VERSION : "json",
    transports: config.transports,
    scenarios: passed,
    results,
  };
});
