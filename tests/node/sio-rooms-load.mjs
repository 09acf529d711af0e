// sio-rooms-load.mjs URL --mode flood|volatile [--clients 3] [--count 20000] [--size 1024]
//                    [--batch 200] [--window 2] [--every-ms 1] [--timeout SECONDS]
//
// Healthy real socket.io-client 4.8 clients (websocket, each on its own Manager) of the rooms app
// (tests/src/rooms_app.rs), in rooms "flood" and "healthy", under a flood the server sends to
// room "flood" (which may also hold a stalled client of the test's own):
//
//   flood     the first client asks the server for `flood`: --count messages `m` (seq, payload
//             of --size bytes) as fast as the healthy clients take them (the server waits for a
//             `sync` ack from every healthy client every --batch messages, --window batches
//             ahead). Every client must receive every message, in order, once.
//   volatile  the first client asks for `volatile-flood`: --count volatile `v` (seq, payload), one
//             every --every-ms, then `vdone`. Every client must get an in-order subset and
//             `vdone`; how many arrived is reported.
//
// No client may be disconnected. Reports per client counts and times, and the delivery rate
// (messages per second per client, from the request to the last client's last message).
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, run } from "./common.mjs";
import { CLIENT_VERSION, newManager, sleep } from "./sio-common.mjs";

let args;
try {
  args = parseArgs(process.argv.slice(2), {
    defaults: { mode: "flood", clients: "3", count: "20000", size: "1024", batch: "200", window: "2", "every-ms": "1", timeout: "40" },
  });
  if (!["flood", "volatile"].includes(args.opts.mode)) throw new Error(`unknown --mode ${args.opts.mode}`);
} catch (e) {
  process.stderr.write(`sio-rooms-load: ${e.message}\n`);
  process.exit(1);
}
const { url, opts } = args;
const mode = opts.mode;
const n = parsePositive(opts.clients, "clients");
const count = parsePositive(opts.count, "count");
const size = parsePositive(opts.size, "size");
const timeoutMs = parsePositive(opts.timeout, "timeout") * 1000;

/** Resolves when `check()` is true (polled every 5 ms); rejects after `ms` naming `what`. */
async function until(what, check, ms) {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

run("sio-rooms-load", timeoutMs, async (ctx) => {
  const clients = [];
  try {
    ctx.phase("connecting");
    for (let i = 0; i < n; i++) {
      const manager = newManager(url, { transports: ["websocket"], msgpack: false });
      const socket = manager.socket("/", { auth: { name: `h${i}`, join: ["flood", "healthy"] } });
      const c = { name: `h${i}`, manager, socket, connected: false, disconnect: null, errors: [] };
      c.m = { received: 0, next: 0, doneAt: null };
      c.v = { received: 0, last: -1, done: null };
      socket.on("connect", () => (c.connected = true));
      socket.on("connect_error", (e) => c.errors.push(`connect_error ${e && e.message}`));
      socket.on("disconnect", (reason) => (c.disconnect = reason));
      socket.on("m", (seq, payload) => {
        if (seq !== c.m.next) c.errors.push(`m ${seq} after ${c.m.next - 1}`);
        if (typeof payload !== "string" || payload.length !== size) c.errors.push(`m ${seq}: payload of ${payload && payload.length} bytes`);
        c.m.next = seq + 1;
        c.m.received++;
        if (c.m.received === count) c.m.doneAt = Date.now();
      });
      socket.on("sync", (seq, ack) => ack(seq));
      socket.on("v", (seq, payload) => {
        if (!(seq > c.v.last)) c.errors.push(`v ${seq} after ${c.v.last}`);
        if (typeof payload !== "string" || payload.length !== size) c.errors.push(`v ${seq}: payload of ${payload && payload.length} bytes`);
        c.v.last = seq;
        c.v.received++;
      });
      socket.on("vdone", (total) => (c.v.done = total));
      clients.push(c);
    }
    const failure = () => clients.find((c) => c.errors.length || c.disconnect);
    const describe = (c) => `${c.name}: ${c.disconnect ? `disconnected (${c.disconnect}) ` : ""}${c.errors.slice(0, 3).join("; ")}`;
    await until("every client to connect", () => clients.every((c) => c.connected) || failure(), 10000);
    for (const c of clients) {
      const rooms = await c.socket.timeout(5000).emitWithAck("rooms");
      if (!rooms.includes("flood") || !rooms.includes("healthy")) throw new Error(`${c.name}: rooms ${JSON.stringify(rooms)}`);
    }

    ctx.phase(`${mode} of ${count} messages of ${size} bytes to ${n} clients`);
    const started = Date.now();
    const params =
      mode === "flood"
        ? { count, size, batch: Number(opts.batch), window: Number(opts.window) }
        : { count, size, everyMs: Number(opts["every-ms"]) };
    const reply = await clients[0].socket.timeout(timeoutMs).emitWithAck(mode === "flood" ? "flood" : "volatile-flood", params);
    if (!reply || reply.ok !== true) throw new Error(`the server's ${mode} failed: ${JSON.stringify(reply)}`);
    const server = reply.value;
    const finished = mode === "flood" ? (c) => c.m.received >= count : (c) => c.v.done !== null;
    await until("every client's last message", () => clients.every(finished) || failure(), 10000);
    const bad = failure();
    if (bad) throw new Error(describe(bad));

    if (mode === "flood") {
      for (const c of clients) {
        if (c.m.received !== count) throw new Error(`${c.name}: received ${c.m.received} of ${count}`);
      }
      if (server.incomplete !== 0) throw new Error(`${server.incomplete} syncs were not answered by every healthy client`);
      const lastAt = Math.max(...clients.map((c) => c.m.doneAt));
      const ms = Math.max(1, lastAt - started);
      const rate = Math.round((count * 1000) / ms);
      return {
        client: CLIENT_VERSION,
        mode,
        clients: n,
        count,
        size,
        ms,
        serverMs: server.elapsedMs,
        syncs: server.syncs,
        rate,
        mbPerSec: Number(((rate * size) / 1e6).toFixed(2)),
        perClient: clients.map((c) => ({ name: c.name, received: c.m.received, ms: c.m.doneAt - started })),
      };
    }
    for (const c of clients) {
      if (c.v.done !== count) throw new Error(`${c.name}: vdone ${c.v.done}, expected ${count}`);
    }
    return {
      client: CLIENT_VERSION,
      mode,
      clients: n,
      count,
      size,
      ms: Date.now() - started,
      serverMs: server.elapsedMs,
      received: clients.map((c) => c.v.received),
    };
  } finally {
    for (const c of clients) {
      try {
        c.socket.disconnect();
        c.manager._close();
      } catch {
        // ignore
      }
    }
  }
});
