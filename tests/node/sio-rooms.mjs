// sio-rooms.mjs URL --scenario NAME[,NAME...] [--transports websocket|polling|polling,websocket]
//               [--table FILE] [--timeout SECONDS] [--scenario-timeout SECONDS]
//
// Rooms and broadcasting with several real socket.io-client 4.8 clients at once, against the
// rooms app (tests/src/rooms_app.rs: the `op`, `ack-op`, `fetch`, `remote`, `sockets-op`,
// `count`, `ns-rooms` and `observed` events run one server operation each). Every client has its
// own Manager (its own Engine.IO connection); a client may also have a socket in `/other` on the
// same Manager. Clients join their rooms when they connect (`auth.join`).
//
// "Exactly these sockets received it" is checked with end markers: every operation carries a
// marker, which the server emits privately to every socket of `/` and `/other` once the
// operation is done; a socket has received everything the operation sent it when it sees its
// marker (each socket's packets stay in order), so anything it did not get by then it never got.
//
//   table              --table FILE, JSON {layout, rows}: connects the layout ({name: {nsp: [rooms]}}),
//                      then for each row {name, from, op, expect} makes `from` (a socket key:
//                      "a1" for "/", "b@/other") send `op` ({target, nsp, chain}) with event
//                      `cs` and checks that exactly the sockets of `expect` received it, once.
//                      "$x" in a room argument is the id of x's socket in the op's namespace.
//                      Over polling, volatile rows may drop: a subset is accepted.
//   leave-on-disconnect  a2 (rooms A, X) leaves the namespace, b's transport is cut: the
//                      server's rooms no longer hold them (count, fetch, namespace rooms), a
//                      broadcast to their rooms and old ids reaches only the others, the rooms of
//                      the others are unchanged; a2 reconnecting gets a new id and no old room
//   disconnecting      the `disconnecting` handler sees the socket's rooms (and `disconnect` sees
//                      none), for a client namespace disconnect, a server namespace disconnect
//                      and a transport close, with the right reasons, in that order
//   fetch              fetch_sockets over io, rooms, except, a socket's view, a socket id, and
//                      `/other`: ids, rooms, data (set_data), handshake (auth, query, headers)
//   remote             remote emit / join / leave / disconnect on fetch_sockets results
//   sockets-ops        sockets_join, sockets_leave (one and several rooms), count,
//                      disconnect_sockets without close (other namespaces stay) and with close
//                      (the whole connection goes)
//   middleware-join    rooms joined in a namespace middleware are kept (as in Node), and those
//                      of a socket the middleware then refuses are left
//   acks-partial       emit_with_ack to 4 clients with an 800 ms timeout: 2 answer, 1 ignores,
//                      1 answers late -> 2 responses, the 2 others `missing`; the late answer is
//                      ignored and the next broadcast with acks gets all 4; socket.to() with
//                      acks does not ask the sender
//   acks-complete      everyone answers: the broadcast completes well before its 5 s timeout;
//                      an empty room completes at once; the default ack timeout; io-wide
//   acks-disconnect    a recipient disconnects instead of answering: listed as missing
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { readFileSync } from "node:fs";

import { parseArgs, parsePositive, parseTransports, run } from "./common.mjs";
import { CLIENT_VERSION, Scope, deadline, expectSame, same, show, sleep } from "./sio-common.mjs";

const keyOf = (name, nsp) => (nsp === "/" ? name : `${name}@${nsp}`);
const nspOfKey = (key) => (key.includes("@") ? key.slice(key.indexOf("@") + 1) : "/");
const nameOfKey = (key) => (key.includes("@") ? key.slice(0, key.indexOf("@")) : key);
const sorted = (list) => [...list].sort();

/**
 * Connects `layout` ({name: {nsp: [rooms]}}), one Manager per name (options from `extraOf`);
 * resolves to {key: SioSession} once every socket is connected and in exactly its rooms.
 */
async function connect(scope, layout, extraOf = () => ({})) {
  const sessions = {};
  await Promise.all(
    Object.entries(layout).map(async ([name, spaces]) => {
      const manager = scope.manager(extraOf(name));
      for (const [nsp, rooms] of Object.entries(spaces)) {
        const key = keyOf(name, nsp);
        sessions[key] = scope.socket(nsp, { manager, auth: { name, join: rooms }, label: key });
      }
      for (const [nsp, rooms] of Object.entries(spaces)) {
        const key = keyOf(name, nsp);
        const s = sessions[key];
        await s.connected();
        const [got] = await s.call("rooms");
        expectSame(got, sorted([s.id, ...rooms]), `${key}: rooms after connecting`);
      }
    }),
  );
  return sessions;
}

/** Sends one app operation from `session`; resolves to its value, throws if it failed. */
async function call(session, event, desc) {
  const [res] = await session.call(event, desc);
  if (!res || res.ok !== true) throw new Error(`${session.label}: ${event} ${show(desc)} failed: ${show(res)}`);
  return res.value;
}

/** Polls `check` (async, truthy when done) every 20 ms for at most `ms`. */
async function until(what, check, ms = 3000) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Per-socket cursors over the events received, cut at end markers. */
class Deliveries {
  constructor(sessions) {
    this.sessions = sessions;
    this.cursor = new Map(Object.entries(sessions).map(([k, s]) => [k, s.events.length]));
  }

  /**
   * Waits for `end` (marker) on every session still connected and returns, for every session,
   * the events it received since the previous cut (for a disconnected one: everything since).
   */
  async collect(marker) {
    const out = {};
    await Promise.all(
      Object.entries(this.sessions).map(async ([key, s]) => {
        const start = this.cursor.get(key) ?? 0;
        let end = s.events.length;
        if (s.socket.connected) {
          const found = await s.waitFor(`end marker ${show(marker)} on ${key}`, () => {
            for (let i = start; i < s.events.length; i++) {
              const e = s.events[i];
              if (e.event === "end" && same(e.args[0], marker)) return i + 1;
            }
            return 0;
          });
          end = found - 1;
          this.cursor.set(key, found);
        } else {
          this.cursor.set(key, end);
        }
        out[key] = s.events.slice(start, end).filter((e) => e.event !== "end");
      }),
    );
    return out;
  }
}

/** Keys (sorted, repeated per delivery) of the sessions whose events include `event` `data`. */
function receivers(out, event, data) {
  const got = [];
  for (const [key, events] of Object.entries(out)) {
    for (const e of events) {
      if (e.event !== event) continue;
      if (data !== undefined && !same(e.args[0], data)) {
        throw new Error(`${key}: ${event} with ${show(e.args)}, expected ${show(data)}`);
      }
      got.push(key);
    }
  }
  return got.sort();
}

/** Runs `desc` (event `cs`, data = marker) from `from` and returns who received it. */
async function deliver(d, from, desc, marker, event = "op") {
  await call(from, event, { event: "cs", data: marker, ...desc, marker });
  return receivers(await d.collect(marker), desc.event ?? "cs", desc.data ?? marker);
}

const observedOf = async (o) => call(o, "observed");

const scenarios = {
  async table(scope, config) {
    if (!config.table) throw new Error("the table scenario needs --table");
    const { layout, rows } = config.table;
    const sessions = await connect(scope, layout);
    const d = new Deliveries(sessions);
    const polling = !config.transports.includes("websocket");
    const failures = [];
    let volatileDropped = 0;
    for (const row of rows) {
      const from = sessions[row.from];
      if (!from) throw new Error(`row ${row.name}: unknown sender ${row.from}`);
      const op = row.op ?? {};
      const opNsp = op.target === "ns" ? op.nsp ?? "/" : op.target === "socket" ? nspOfKey(row.from) : "/";
      const resolve = (arg) => {
        if (Array.isArray(arg)) return arg.map(resolve);
        if (typeof arg === "string" && arg.startsWith("$")) {
          const s = sessions[keyOf(arg.slice(1), opNsp)];
          if (!s) throw new Error(`row ${row.name}: no socket ${arg} in ${opNsp}`);
          return s.id;
        }
        return arg;
      };
      const chain = (op.chain ?? []).map(([step, ...rest]) => [step, ...rest.map(resolve)]);
      const got = await deliver(d, from, { ...op, chain }, row.name);
      const want = sorted(row.expect);
      const isVolatile = chain.some(([step]) => step === "volatile");
      if (isVolatile && polling) {
        const subset = got.every((k) => want.includes(k)) && new Set(got).size === got.length;
        if (!subset) failures.push(`${row.name}: expected a subset of ${show(want)}, got ${show(got)}`);
        volatileDropped += want.length - got.length;
      } else if (!same(got, want)) {
        failures.push(`${row.name}: expected ${show(want)}, got ${show(got)}`);
      }
    }
    if (failures.length) {
      throw new Error(`${failures.length} of ${rows.length} rows delivered to the wrong sockets:\n  ${failures.join("\n  ")}`);
    }
    return { rows: rows.length, sockets: Object.keys(sessions).length, volatileDropped };
  },

  async "leave-on-disconnect"(scope) {
    const s = await connect(scope, { a1: { "/": ["A"] }, a2: { "/": ["A", "X"] }, b: { "/": ["B"] }, o: { "/": [] } });
    const { a1, a2, b, o } = s;
    const old = { a2: a2.id, b: b.id };
    const before = await call(o, "ns-rooms", "/");
    expectSame(before, sorted(["A", "B", "X", a1.id, a2.id, b.id, o.id]), "namespace rooms before");

    a2.close(); // client namespace disconnect (its Manager then closes the connection)
    b.allowDisconnect = true;
    b.socket.io.engine.close(); // transport cut
    await until("the server to take a2 and b out of their rooms", async () => {
      const inA = await call(o, "count", { chain: [["to", "A"]] });
      const inB = await call(o, "count", { chain: [["to", "B"]] });
      return inA === 1 && inB === 0;
    });
    const fetched = await call(o, "fetch", { chain: [["to", ["A", "B", "X"]]] });
    expectSame(fetched.map((f) => f.id), [a1.id], "fetch_sockets in A, B, X after the disconnects");
    expectSame(await call(o, "ns-rooms", "/"), sorted(["A", a1.id, o.id]), "namespace rooms after (X, B and the old ids gone)");
    expectSame((await a1.call("rooms"))[0], sorted([a1.id, "A"]), "a1's rooms unchanged");
    expectSame((await o.call("rooms"))[0], [o.id], "o's rooms unchanged");

    const d = new Deliveries({ a1, a2, b, o });
    const toAll = await deliver(d, o, { chain: [["to", ["A", "X", "B", old.a2, old.b]]] }, "to-old-rooms");
    expectSame(toAll, ["a1"], "io.to([A, X, B, old ids]) after the disconnects");

    // a2 comes back on the same client (this time without asking for rooms): a new socket, in
    // no room but its own.
    a2.socket.auth = { name: "a2" };
    a2.socket.connect();
    await a2.connected(2);
    if (a2.id === old.a2) throw new Error("a2 got its old id back");
    expectSame((await a2.call("rooms"))[0], [a2.id], "a2's rooms after reconnecting");
    const d2 = new Deliveries({ a1, a2, o });
    expectSame(await deliver(d2, o, { chain: [["to", "A"]] }, "to-A-again"), ["a1"], "io.to(A) after a2 came back");
    expectSame(await deliver(d2, o, { chain: [["to", old.a2]] }, "to-old-a2"), [], "io.to(a2's old id)");
    expectSame(await deliver(d2, o, { chain: [["to", a2.id]] }, "to-new-a2"), ["a2"], "io.to(a2's new id)");
    return { disconnected: 2 };
  },

  async disconnecting(scope) {
    const layout = { a1: { "/": ["A", "D1"] }, a2: { "/": ["A", "D2"] }, b: { "/": ["B"] }, o: { "/": [] } };
    const s = await connect(scope, layout);
    const { a1, a2, b, o } = s;
    const cases = [
      { key: "a1", id: a1.id, reason: "client namespace disconnect" },
      { key: "a2", id: a2.id, reason: "server namespace disconnect" },
      { key: "b", id: b.id, reason: "transport close" },
    ];
    a1.close();
    await call(o, "sockets-op", { chain: [["to", a2.id]], action: "disconnect", close: false });
    const d2 = await a2.disconnected();
    if (d2.reason !== "io server disconnect") throw new Error(`a2: client reason ${show(d2.reason)}`);
    b.allowDisconnect = true;
    b.socket.io.engine.close();
    const entries = await until("disconnect records of a1, a2 and b", async () => {
      const list = await observedOf(o);
      return cases.every((c) => list.some((e) => e.kind === "disconnect" && e.id === c.id)) ? list : null;
    });
    const seen = {};
    for (const c of cases) {
      const mine = entries.filter((e) => e.id === c.id);
      expectSame(mine.map((e) => e.kind), ["disconnecting", "disconnect"], `${c.key}: handlers run`);
      const rooms = sorted([c.id, ...layout[c.key]["/"]]);
      expectSame(mine[0], { kind: "disconnecting", id: c.id, nsp: "/", rooms, reason: c.reason }, `${c.key}: disconnecting`);
      expectSame(mine[1], { kind: "disconnect", id: c.id, nsp: "/", rooms: [], reason: c.reason }, `${c.key}: disconnect`);
      seen[c.key] = mine[0].rooms;
    }
    expectSame((await o.call("rooms"))[0], [o.id], "o's rooms");
    expectSame(await call(o, "ns-rooms", "/"), [o.id], "namespace rooms after the three disconnects");
    return { disconnectingRooms: seen };
  },

  async fetch(scope) {
    const layout = {
      a1: { "/": ["A"], "/other": ["A"] },
      a2: { "/": ["A", "C"] },
      b: { "/": ["B", "C"] },
      o: { "/": [] },
    };
    const s = await connect(scope, layout, (name) => ({ extraHeaders: { "x-client": name }, query: { q: name } }));
    const names = ["a1", "a2", "b", "o"];
    for (const [i, name] of names.entries()) await s[name].call("set-data", { name, level: i });
    const byId = new Map(Object.entries(s).map(([key, session]) => [session.id, key]));
    const check = (list, keys, what) => {
      expectSame(list.map((f) => byId.get(f.id) ?? f.id), sorted(keys).sort((x, y) => (s[x].id < s[y].id ? -1 : 1)), `${what}: sockets`);
      for (const f of list) {
        const key = byId.get(f.id);
        const name = nameOfKey(key);
        const nsp = nspOfKey(key);
        const rooms = layout[name][nsp];
        expectSame(f.rooms, sorted([f.id, ...rooms]), `${what}: rooms of ${key}`);
        const data = nsp === "/" ? { name, level: names.indexOf(name) } : {};
        expectSame(f.data, data, `${what}: data of ${key}`);
        const h = f.handshake;
        expectSame(h.auth, { name, join: rooms }, `${what}: handshake.auth of ${key}`);
        if (h.query.q !== name) throw new Error(`${what}: handshake.query of ${key} is ${show(h.query)}`);
        if (h.headers["x-client"] !== name) throw new Error(`${what}: handshake.headers of ${key} lack x-client: ${name}`);
        if (!h.url.startsWith("/socket.io/?") || !h.url.includes(`q=${name}`)) throw new Error(`${what}: handshake.url ${h.url}`);
        if (!(Math.abs(Date.now() - h.issued) < 60000)) throw new Error(`${what}: handshake.issued ${h.issued}`);
        if (typeof h.time !== "string" || !h.time.includes("GMT")) throw new Error(`${what}: handshake.time ${show(h.time)}`);
      }
    };
    check(await call(s.o, "fetch", { target: "io" }), names, "io.fetchSockets()");
    check(await call(s.o, "fetch", { chain: [["to", "A"]] }), ["a1", "a2"], "io.in(A)");
    check(await call(s.o, "fetch", { chain: [["in", ["A", "B"]], ["except", "C"]] }), ["a1"], "io.in([A, B]).except(C)");
    check(await call(s.o, "fetch", { chain: [["except", "C"]] }), ["a1", "o"], "io.except(C)");
    check(await call(s.o, "fetch", { chain: [["to", s.a2.id]] }), ["a2"], "io.in(a2's id)");
    check(await call(s.a1, "fetch", { target: "socket", chain: [["to", "A"]] }), ["a2"], "socket(a1).to(A)");
    check(await call(s.o, "fetch", { target: "ns", nsp: "/other" }), ["a1@/other"], "io.of(/other)");
    check(await call(s.o, "fetch", { target: "ns", nsp: "/other", chain: [["to", "A"]] }), ["a1@/other"], "io.of(/other).in(A)");
    check(await call(s.o, "fetch", { chain: [["to", "nobody"]] }), [], "io.in(nobody)");
    return { sockets: names.length + 1 };
  },

  async remote(scope) {
    const s = await connect(scope, { a1: { "/": ["A"] }, a2: { "/": ["A", "C"] }, b: { "/": ["B", "C"] }, o: { "/": [] } });
    const { a1, a2, b, o } = s;
    const d = new Deliveries(s);
    const marker = "remote-emit";
    const n = await call(o, "remote", { chain: [["to", "A"]], action: "emit", event: "hi", data: "remote-hi", marker });
    if (n !== 2) throw new Error(`remote emit: fetched ${n} sockets, expected 2`);
    expectSame(receivers(await d.collect(marker), "hi", "remote-hi"), ["a1", "a2"], "remote emit to the sockets of A");

    await call(o, "remote", { chain: [["to", "B"]], action: "join", rooms: ["R", "R2"] });
    expectSame((await b.call("rooms"))[0], sorted([b.id, "B", "C", "R", "R2"]), "b's rooms after a remote join");
    expectSame((await a1.call("rooms"))[0], sorted([a1.id, "A"]), "a1's rooms after b's remote join");
    expectSame(await deliver(d, o, { chain: [["to", "R"]] }, "to-R"), ["b"], "io.to(R) after the remote join");

    await call(o, "remote", { chain: [["to", "A"], ["except", "C"]], action: "leave", room: "A" });
    expectSame((await a1.call("rooms"))[0], [a1.id], "a1's rooms after a remote leave");
    expectSame((await a2.call("rooms"))[0], sorted([a2.id, "A", "C"]), "a2's rooms after a1's remote leave");
    expectSame(await deliver(d, o, { chain: [["to", "A"]] }, "to-A"), ["a2"], "io.to(A) after the remote leave");

    const gone = await call(o, "remote", { chain: [["to", "C"]], action: "disconnect", close: false });
    if (gone !== 2) throw new Error(`remote disconnect: fetched ${gone} sockets, expected 2`);
    const [da2, db] = await Promise.all([a2.disconnected(), b.disconnected()]);
    for (const [key, r] of [["a2", da2], ["b", db]]) {
      if (r.reason !== "io server disconnect") throw new Error(`${key}: client reason ${show(r.reason)}`);
    }
    expectSame(await deliver(new Deliveries({ a1, o }), o, { target: "io" }, "to-all"), ["a1", "o"], "io.emit after the remote disconnect");
    return { remoteOps: 4 };
  },

  async "sockets-ops"(scope) {
    const s = await connect(scope, {
      a1: { "/": ["A"], "/other": ["A"] },
      a2: { "/": ["A", "C"], "/other": [] },
      b: { "/": ["B", "C"], "/other": [] },
      o: { "/": [] },
    });
    const { a1, a2, b, o } = s;
    const rooms = async (key) => (await s[key].call("rooms"))[0];
    await call(o, "sockets-op", { chain: [["to", "A"]], action: "join", rooms: "J" });
    expectSame(await rooms("a1"), sorted([a1.id, "A", "J"]), "a1 after io.in(A).socketsJoin(J)");
    expectSame(await rooms("a2"), sorted([a2.id, "A", "C", "J"]), "a2 after io.in(A).socketsJoin(J)");
    expectSame(await rooms("b"), sorted([b.id, "B", "C"]), "b after io.in(A).socketsJoin(J)");
    expectSame(await rooms("a1@/other"), sorted([s["a1@/other"].id, "A"]), "a1@/other after a join in /");
    if ((await call(o, "count", { chain: [["to", "J"]] })) !== 2) throw new Error("count of J is not 2");

    await call(o, "sockets-op", { chain: [["to", "J"], ["except", "C"]], action: "leave", rooms: "A" });
    expectSame(await rooms("a1"), sorted([a1.id, "J"]), "a1 after io.in(J).except(C).socketsLeave(A)");
    expectSame(await rooms("a2"), sorted([a2.id, "A", "C", "J"]), "a2 after io.in(J).except(C).socketsLeave(A)");

    await call(o, "sockets-op", { chain: [["to", "C"]], action: "leave", rooms: ["C", "J"] });
    expectSame(await rooms("a2"), sorted([a2.id, "A"]), "a2 after io.in(C).socketsLeave([C, J])");
    expectSame(await rooms("b"), sorted([b.id, "B"]), "b after io.in(C).socketsLeave([C, J])");
    const counts = {};
    for (const room of ["A", "C", "J"]) counts[room] = await call(o, "count", { chain: [["to", room]] });
    expectSame(counts, { A: 1, C: 0, J: 1 }, "counts");
    expectSame(await call(o, "ns-rooms", "/"), sorted(["A", "B", "J", a1.id, a2.id, b.id, o.id]), "namespace rooms");
    const d = new Deliveries(s);
    expectSame(await deliver(d, o, { chain: [["to", "J"]] }, "to-J"), ["a1"], "io.to(J)");

    await call(o, "sockets-op", { target: "ns", nsp: "/other", chain: [["except", "A"]], action: "join", rooms: "K" });
    expectSame(await rooms("a2@/other"), sorted([s["a2@/other"].id, "K"]), "a2@/other after io.of(/other).except(A).socketsJoin(K)");
    expectSame(await call(o, "count", { chain: [["to", "K"]] }), 0, "K in / (rooms are per namespace)");

    // Without close: only the socket of that namespace goes.
    await call(o, "sockets-op", { chain: [["to", "A"]], action: "disconnect", close: false });
    const da2 = await a2.disconnected();
    if (da2.reason !== "io server disconnect") throw new Error(`a2: client reason ${show(da2.reason)}`);
    expectSame(await rooms("a2@/other"), sorted([s["a2@/other"].id, "K"]), "a2@/other stays connected");
    // With close: the whole connection goes, with every namespace of that client.
    s["b@/other"].allowDisconnect = true;
    await call(o, "sockets-op", { chain: [["to", "B"]], action: "disconnect", close: true });
    const [db, dbo] = await Promise.all([b.disconnected(), s["b@/other"].disconnected()]);
    for (const [key, r] of [["b", db], ["b@/other", dbo]]) {
      if (r.reason !== "io server disconnect") throw new Error(`${key}: client reason ${show(r.reason)}`);
    }
    if (!a1.socket.connected || !s["a1@/other"].socket.connected) throw new Error("a1 was disconnected too");
    const left = await call(o, "fetch", { target: "io" });
    expectSame(left.map((f) => f.id).sort(), sorted([a1.id, o.id]), "the sockets left in /");
    return { counts };
  },

  async "middleware-join"(scope) {
    const x = scope.socket("/mw", { auth: { name: "x", mwJoin: ["M"] }, label: "x@/mw" });
    await x.connected();
    const y = scope.socket("/mw", { auth: { name: "y", mwJoin: ["M2"], refuse: true }, label: "y@/mw" });
    const refused = await y.connectError();
    if (refused.message !== "refused") throw new Error(`y: connect_error ${show(refused)}`);
    const failures = [];
    const check = (got, want, what) => {
      if (!same(got, want)) failures.push(`${what}: expected ${show(want)}, got ${show(got)}`);
    };
    check((await x.call("rooms"))[0], sorted([x.id, "M"]), "x's rooms (M joined in the middleware)");
    check(await call(x, "ns-rooms", "/mw"), sorted([x.id, "M"]), "the rooms of /mw (nothing left of the refused y)");
    check((await call(x, "fetch", { target: "ns", nsp: "/mw", chain: [["to", "M"]] })).map((f) => f.id), [x.id], "io.of(/mw).in(M).fetchSockets()");
    const d = new Deliveries({ "x@/mw": x });
    check(await deliver(d, x, { target: "ns", nsp: "/mw", chain: [["to", "M"]] }, "to-M"), ["x@/mw"], "io.of(/mw).to(M).emit");
    if (failures.length) throw new Error(failures.join("; "));
    return {};
  },

  async "acks-partial"(scope) {
    const s = await connect(scope, { q1: { "/": ["Q"] }, q2: { "/": ["Q"] }, q3: { "/": ["Q"] }, q4: { "/": ["Q"] }, o: { "/": [] } });
    const { q1, q2, q3, q4, o } = s;
    q3.questionMode = "ignore";
    q4.questionMode = { lateMs: 1500 };
    const timeout = 800;
    const r = await call(o, "ack-op", { chain: [["to", "Q"], ["timeout", timeout]], event: "question", data: 41 });
    expectSame(r.responses, sorted([q1.id, q2.id]).map((id) => ({ id, args: [42] })), "responses");
    expectSame(r.missing, sorted([q3.id, q4.id]), "missing");
    if (r.elapsedMs < timeout - 20 || r.elapsedMs > timeout + 1500) throw new Error(`took ${r.elapsedMs} ms with a ${timeout} ms timeout`);
    for (const q of [q1, q2, q3, q4]) if (q.questions.length !== 1) throw new Error(`${q.label} was asked ${q.questions.length} times`);
    // q4's late answer lands after the broadcast gave up: ignored, nothing breaks.
    await sleep(1500 - timeout + 300);
    q3.questionMode = "answer";
    q4.questionMode = "answer";
    const r2 = await call(o, "ack-op", { chain: [["to", "Q"], ["timeout", 2000]], event: "question", data: 1 });
    expectSame(r2.responses, sorted([q1.id, q2.id, q3.id, q4.id]).map((id) => ({ id, args: [2] })), "responses of the next broadcast");
    expectSame(r2.missing, [], "missing of the next broadcast");
    const r3 = await call(q1, "ack-op", { target: "socket", chain: [["to", "Q"], ["timeout", 2000]], event: "question", data: 5 });
    expectSame(r3.responses, sorted([q2.id, q3.id, q4.id]).map((id) => ({ id, args: [6] })), "socket(q1).to(Q) responses");
    expectSame(r3.missing, [], "socket(q1).to(Q) missing");
    if (q1.questions.length !== 2) throw new Error("socket(q1).to(Q) asked q1 too");
    return { elapsedMs: r.elapsedMs, timeoutMs: timeout, responses: r.responses.length, missing: r.missing.length };
  },

  async "acks-complete"(scope) {
    const s = await connect(scope, { q1: { "/": ["Q"] }, q2: { "/": ["Q"] }, q3: { "/": ["Q"] }, o: { "/": [] } });
    const { q1, q2, q3, o } = s;
    const timeout = 5000;
    const started = Date.now();
    const r = await call(o, "ack-op", { chain: [["to", "Q"], ["timeout", timeout]], event: "question", data: 1 });
    const clientMs = Date.now() - started;
    expectSame(r.responses, sorted([q1.id, q2.id, q3.id]).map((id) => ({ id, args: [2] })), "responses");
    expectSame(r.missing, [], "missing");
    if (r.elapsedMs >= 2000 || clientMs >= 2500) throw new Error(`did not complete early: ${r.elapsedMs} ms (client ${clientMs} ms) with a ${timeout} ms timeout`);
    const empty = await call(o, "ack-op", { chain: [["to", "nobody"], ["timeout", timeout]], event: "question", data: 1 });
    expectSame([empty.responses, empty.missing], [[], []], "to an empty room");
    if (empty.elapsedMs >= 500) throw new Error(`an empty room took ${empty.elapsedMs} ms`);
    const byDefault = await call(o, "ack-op", { chain: [["to", "Q"]], event: "question", data: 2 });
    expectSame([byDefault.responses.length, byDefault.missing], [3, []], "with the default ack timeout");
    const all = await call(o, "ack-op", { target: "io", chain: [["timeout", timeout]], event: "question", data: 3 });
    expectSame(all.responses.map((x) => x.id), sorted([q1.id, q2.id, q3.id, o.id]), "io.timeout().emitWithAck");
    return { elapsedMs: r.elapsedMs, clientMs, timeoutMs: timeout, emptyMs: empty.elapsedMs };
  },

  async "acks-disconnect"(scope) {
    const s = await connect(scope, { q1: { "/": ["Q"] }, q2: { "/": ["Q"] }, o: { "/": [] } });
    const { q1, q2, o } = s;
    const q2id = q2.id;
    q2.questionMode = "ignore";
    q2.socket.on("question", () => q2.close());
    const r = await call(o, "ack-op", { chain: [["to", "Q"], ["timeout", 3000]], event: "question", data: 1 });
    expectSame(r.responses, [{ id: q1.id, args: [2] }], "responses");
    expectSame(r.missing, [q2id], "missing");
    return { elapsedMs: r.elapsedMs, timeoutMs: 3000 };
  },
};

let args;
try {
  args = parseArgs(process.argv.slice(2), { defaults: { transports: "websocket", "scenario-timeout": "15" } });
  if (!args.opts.scenario) throw new Error("missing --scenario NAME[,NAME...]|all");
} catch (e) {
  process.stderr.write(`sio-rooms: ${e.message}\n`);
  process.exit(1);
}
const { url, opts } = args;
const names = opts.scenario === "all" ? Object.keys(scenarios) : opts.scenario.split(",").map((s) => s.trim()).filter(Boolean);
const unknown = names.filter((n) => !Object.hasOwn(scenarios, n));
if (unknown.length) {
  process.stderr.write(`sio-rooms: unknown scenario(s) ${unknown.join(", ")}; known: ${Object.keys(scenarios).join(", ")}\n`);
  process.exit(1);
}
const scenarioMs = parsePositive(opts["scenario-timeout"], "scenario-timeout") * 1000;
const overallMs = opts.timeout !== undefined ? parsePositive(opts.timeout, "timeout") * 1000 : 5000 + names.length * scenarioMs;

run("sio-rooms", overallMs, async (ctx) => {
  const transports = parseTransports(opts.transports);
  const config = { transports, msgpack: false, table: opts.table ? JSON.parse(readFileSync(opts.table, "utf8")) : null };
  const results = {};
  const passed = [];
  for (const name of names) {
    ctx.phase(`scenario ${name}`);
    const scope = new Scope(url, { transports, msgpack: false });
    const started = Date.now();
    try {
      const result = await deadline(scenarios[name](scope, config), scenarioMs, `scenario ${name}`);
      results[name] = { ...result, ms: Date.now() - started };
      passed.push(name);
    } catch (e) {
      const message = e && e.message ? e.message : String(e);
      throw new Error(`${name}: ${message}${passed.length ? ` (passed before: ${passed.join(",")})` : ""}`);
    } finally {
      scope.close();
    }
  }
  return { client: CLIENT_VERSION, transports, scenarios: passed, results };
});
