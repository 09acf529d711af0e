// sio-multi.mjs URL --scenario broadcast|to-room[,...]|all
//               [--transports polling|websocket|polling,websocket|mixed] [--msgpack]
//               [--timeout SECONDS] [--scenario-timeout SECONDS]
//
// Three real socket.io-client 4.8 clients of the "sio app" (see reference-sio-server.mjs) at URL,
// each on its own Manager (its own Engine.IO connection): A and B join room "r1", C joins "r2".
// --transports applies to all three; `mixed` gives A polling only, B websocket only and C polling
// upgraded to websocket (one broadcast then goes out over different framings).
//
//   to-room    C emits `to-room r1 <msg>`: A and B receive `room-msg <msg>`, C does not
//   broadcast  A emits `broadcast <msg>`: B and C receive `broadcast <msg>`, A does not
//
// "Does not receive" is checked with end markers: after the message under test, the sender
// emits `to-room r1 end-r1` and `to-room r2 end-r2`; every client must see exactly the expected
// messages before its marker (the server dispatches one socket's events in order, and each
// recipient's packets stay in order). Messages are JSON with a binary part, so the server's
// broadcast path carries attachments too. Assumes no other client of the server is in r1/r2.
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, parseTransports, run } from "./common.mjs";
import { CLIENT_VERSION, MSGPACK_VERSION, Scope, bytes, deadline, expectSame, sleep } from "./sio-common.mjs";

/** Connects A, B (room r1) and C (room r2); resolves to { A, B, C }. */
async function setup(scopes) {
  const clients = {};
  for (const [name, room] of [
    ["A", "r1"],
    ["B", "r1"],
    ["C", "r2"],
  ]) {
    const scope = scopes[name];
    const s = scope.socket("/", { auth: { name }, label: `client ${name}` });
    const id = await s.connected();
    expectSame((await s.next("welcome"))[0], { id, auth: { name } }, `${name}: welcome`);
    expectSame(await s.call("join", room), [], `${name}: join ${room}`);
    clients[name] = s;
  }
  for (const [name, room] of [
    ["A", "r1"],
    ["B", "r1"],
    ["C", "r2"],
  ]) {
    const s = clients[name];
    const [rooms] = await s.call("rooms");
    expectSame(rooms, [s.id, room].sort(), `${name}: rooms`);
  }
  return clients;
}

/**
 * Collects, for each client, the `room-msg` and `broadcast` events received (in order) until
 * its end marker (`room-msg` "end-r1" or "end-r2"), then checks them against `expected`.
 */
async function checkDeliveries(clients, expected) {
  const got = {};
  await Promise.all(
    Object.entries(clients).map(async ([name, s]) => {
      const marker = name === "C" ? "end-r2" : "end-r1";
      const isMarker = (e) => e.event === "room-msg" && e.args.length === 1 && e.args[0] === marker;
      await s.waitFor(`${name}: its end marker`, () => s.events.some(isMarker));
      const seen = [];
      for (const e of s.events) {
        if (isMarker(e)) break;
        if (e.event === "room-msg" || e.event === "broadcast") seen.push([e.event, ...e.args]);
      }
      got[name] = seen;
    }),
  );
  for (const name of Object.keys(clients)) {
    expectSame(got[name], expected[name], `client ${name}: messages before its end marker`);
  }
  return Object.fromEntries(Object.keys(clients).map((name) => [name, got[name].length]));
}

function endMarkers(sender) {
  sender.socket.emit("to-room", "r1", "end-r1");
  sender.socket.emit("to-room", "r2", "end-r2");
}

const scenarios = {
  async "to-room"(clients) {
    const msg = { text: "to r1 from C", bin: bytes(1, 2, 3) };
    clients.C.socket.emit("to-room", "r1", msg);
    endMarkers(clients.C);
    return {
      received: await checkDeliveries(clients, {
        A: [["room-msg", msg]],
        B: [["room-msg", msg]],
        C: [],
      }),
    };
  },

  async broadcast(clients) {
    const msg = { text: "broadcast from A", bin: bytes(4, 5) };
    clients.A.socket.emit("broadcast", msg);
    endMarkers(clients.A);
    return {
      received: await checkDeliveries(clients, {
        A: [],
        B: [["broadcast", msg]],
        C: [["broadcast", msg]],
      }),
    };
  },
};

let args;
try {
  args = parseArgs(process.argv.slice(2), {
    flags: ["msgpack"],
    defaults: { transports: "polling,websocket", "scenario-timeout": "10" },
  });
  if (!args.opts.scenario) throw new Error("missing --scenario NAME[,NAME...]|all");
} catch (e) {
  process.stderr.write(`sio-multi: ${e.message}\n`);
  process.exit(1);
}
const { url, opts } = args;
const names = opts.scenario === "all" ? Object.keys(scenarios) : opts.scenario.split(",").map((s) => s.trim()).filter(Boolean);
const unknown = names.filter((n) => !Object.hasOwn(scenarios, n));
if (unknown.length) {
  process.stderr.write(`sio-multi: unknown scenario(s) ${unknown.join(", ")}; known: ${Object.keys(scenarios).join(", ")}\n`);
  process.exit(1);
}
const scenarioMs = parsePositive(opts["scenario-timeout"], "scenario-timeout") * 1000;
const overallMs = opts.timeout !== undefined ? parsePositive(opts.timeout, "timeout") * 1000 : 10000 + names.length * scenarioMs;

run("sio-multi", overallMs, async (ctx) => {
  const msgpack = Boolean(opts.msgpack);
  const mixed = opts.transports === "mixed";
  const transportsOf = mixed
    ? { A: ["polling"], B: ["websocket"], C: ["polling", "websocket"] }
    : Object.fromEntries(["A", "B", "C"].map((n) => [n, parseTransports(opts.transports)]));
  const results = {};
  const passed = [];
  for (const name of names) {
    ctx.phase(`scenario ${name}`);
    const scopes = Object.fromEntries(
      Object.entries(transportsOf).map(([client, transports]) => [client, new Scope(url, { transports, msgpack })]),
    );
    const started = Date.now();
    try {
      const result = await deadline(
        setup(scopes).then((clients) => scenarios[name](clients)),
        scenarioMs,
        "the scenario",
      );
      results[name] = { ...result, ms: Date.now() - started };
      passed.push(name);
    } catch (e) {
      const message = e && e.message ? e.message : String(e);
      throw new Error(`${message}${passed.length ? ` (passed before: ${passed.join(",")})` : ""}`);
    } finally {
      for (const scope of Object.values(scopes)) scope.close();
    }
    // Let the server see the previous clients leave before the next scenario joins r1/r2 again.
    await sleep(100);
  }
  return {
    client: CLIENT_VERSION,
    parser: msgpack ? MSGPACK_VERSION : "json",
    transports: mixed ? "mixed" : transportsOf.A,
    scenarios: passed,
    results,
  };
});
