// sio-recovery.mjs URL --case recover|expire [--transports polling|websocket|polling,websocket]
//                  [--gap-ms 5000] [--count 100] [--timeout SECONDS]
//
// Connection state recovery with the real socket.io-client 4.8, against the recovery app
// (tests/src/recovery_app.rs).
//
//   recover  A listener joins room "keep", receives a first message (so the client has an
//            offset), then its transport is cut (engine.close()); it reconnects after --gap-ms.
//            Meanwhile a second client makes the server broadcast --count messages. On
//            reconnection the listener must be `recovered`, keep its id and room, and have
//            received every message exactly once, in order.
//   expire   Same cut, but the gap outlasts the server's window: a new session (new id, not
//            recovered, room gone), and the missed messages are not replayed.
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { io } from "socket.io-client";

const args = process.argv.slice(2);
const url = args[0];
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const kase = opt("case", "recover");
const transports = opt("transports", "websocket").split(",");
const gapMs = Number(opt("gap-ms", "5000"));
const count = Number(opt("count", "100"));
const timeoutS = Number(opt("timeout", "30"));

const fail = (msg) => {
  process.stderr.write(`sio-recovery: ${msg}\n`);
  console.log(JSON.stringify({ script: "sio-recovery", ok: false, error: msg }));
  process.exit(1);
};
setTimeout(() => fail(`overall timeout of ${timeoutS}s`), timeoutS * 1000).unref();

const wait = (pred, what, ms = 10000) =>
  new Promise((resolve, reject) => {
    const start = Date.now();
    const t = setInterval(() => {
      if (pred()) { clearInterval(t); resolve(); }
      else if (Date.now() - start > ms) { clearInterval(t); reject(new Error(`timed out waiting for ${what}`)); }
    }, 5);
  });
const once = (s, ev) => new Promise((resolve) => s.once(ev, resolve));

async function main() {
  const listener = io(url, {
    transports,
    reconnectionDelay: gapMs,
    reconnectionDelayMax: gapMs,
    randomizationFactor: 0,
  });
  const received = [];
  listener.on("m", (i, offset) => {
    if (typeof offset !== "string") fail(`event without an offset: ${JSON.stringify([i, offset])}`);
    received.push(i);
  });
  await once(listener, "connect");
  if (!listener.connected) fail("not connected");
  const before = await listener.timeout(5000).emitWithAck("info");
  await listener.timeout(5000).emitWithAck("join", "keep");

  const driver = io(url, { transports: ["websocket"], forceNew: true });
  await once(driver, "connect");
  // A first message, so the listener has an offset to resume from.
  driver.emit("burst", 1, 0);
  await wait(() => received.length === 1, "the first message");
  received.length = 0;

  let reconnected = false;
  listener.io.on("reconnect", () => { reconnected = true; });
  const cutAt = Date.now();
  listener.io.engine.close();
  await wait(() => !listener.connected, "the cut");
  driver.emit("burst", count, 5);
  const done = new Promise((resolve) => driver.once("burst-done", resolve));
  await done;
  await wait(() => listener.connected && reconnected, "the reconnection", gapMs + 10000);
  const gap = Date.now() - cutAt;
  const after = await listener.timeout(5000).emitWithAck("info");
  await new Promise((r) => setTimeout(r, 200));
  driver.close();
  listener.close();

  const expected = Array.from({ length: count }, (_, i) => i);
  if (kase === "recover") {
    if (!listener.recovered || !after.recovered) fail(`not recovered (client ${listener.recovered}, server ${after.recovered})`);
    if (after.id !== before.id) fail(`id changed: ${before.id} -> ${after.id}`);
    if (!after.rooms.includes("keep")) fail(`room lost: ${JSON.stringify(after.rooms)}`);
    if (JSON.stringify(received) !== JSON.stringify(expected)) fail(`messages: expected 0..${count - 1} once each in order, got ${JSON.stringify(received)}`);
  } else {
    if (listener.recovered || after.recovered) fail("recovered although the window had passed");
    if (after.id === before.id) fail("same id after expiry");
    if (after.rooms.includes("keep")) fail("room kept after expiry");
    if (received.length !== 0) fail(`replayed ${received.length} messages after expiry`);
  }
  console.log(JSON.stringify({ script: "sio-recovery", ok: true, case: kase, transports, gapMs: gap, received: received.length, id: after.id }));
  process.exit(0);
}

main().catch((e) => fail(e.message));
