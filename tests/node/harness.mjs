// harness.mjs [--max-seconds N]
//
// A long-lived helper driven over stdin/stdout with JSON lines, for the cluster tests: it holds
// real socket.io-client 4.8 clients, and optionally a Node.js socket.io 4.8 server that is a node
// of a Redis cluster (@socket.io/redis-adapter 8.3), and the Node emitter
// (@socket.io/redis-emitter 5.1).
//
// Each request line is `{"id": N, "op": "...", ...params}`; each answer is one line
// `{"id": N, "ok": true, "result": ...}` or `{"id": N, "ok": false, "error": "..."}`.
// Binary values travel as `{"$bin": "<base64>"}` both ways.
//
// The process exits when stdin closes, and after --max-seconds (default 600) in any case.
// It only ever connects to 127.0.0.1.
//
// Client ops (clients are named; each is a socket.io-client socket on its own Manager):
//   client.connect {name, url, nsp?, transports?, auth?, query?, msgpack?, reconnection?,
//                   reconnectionDelayMs?}  -> {id}
//     reconnection: reconnect (and recover, when the server keeps sessions) after a drop,
//     retrying every reconnectionDelayMs (default 200); each reconnection is received as the
//     event "reconnected" with [id, recovered].
//   client.emit {name, event, args}
//   client.emitWithAck {name, event, args, timeoutMs}                       -> [answer...]
//   client.next {name, event, timeoutMs}             -> the args of the next such event
//   client.none {name, event, ms}                    -> fails if such an event arrives within ms
//   client.drain {name}                              -> [{event, args}] received and not taken
//   client.disconnect {name}          client.close {name} (engine connection too)
//   client.id {name}                  -> the socket id (null when disconnected)
//   client.state {name}               -> {id, connected, recovered}
// Every event a client receives with an acknowledgement request is answered with
// [name, ...args]: the first argument says which client answered.
//
// Node server ops (one server per harness):
//   server.start {port, redisUrl, key?, specific?, recovery?, recoveryMs?, app?, sharded?,
//                 mode?, streams?} -> {port}
//     streams: @socket.io/redis-streams-adapter 0.3 instead of the Pub/Sub adapter.
//     postgresUrl (instead of redisUrl): @socket.io/postgres-adapter 0.5 on a pg Pool, the
//     attachments table created if missing; heartbeatMs: its heartbeat interval (the
//     timeout is three times it; default Node's 5 s / 10 s).
//     recoveryMs: the recovery window (maxDisconnectionDuration; default Node's 2 minutes).
//     sharded: redisUrl names a node of a Redis Cluster; createShardedAdapter with
//     subscriptionMode `mode` (default "dynamic").
//     app "chat": the namespace `/` is the chat example instead (users counted cluster-wide
//     with fetchSockets, as the Rust chat does).
//   server.emit {nsp, rooms?, except?, volatile?, event, args}
//   server.emitWithAck {nsp, rooms?, event, args, timeoutMs} -> {err, responses}
//   server.fetchSockets {nsp, rooms?} -> [{id, rooms, data, query}]
//   server.socketsJoin / server.socketsLeave {nsp, rooms?, join|leave}
//   server.disconnectSockets {nsp, rooms?, close}
//   server.serverSideEmit {nsp, event, args, ack?, timeoutMs?} -> {err, responses} with ack
//   server.serverCount {nsp} -> n        server.allRooms {nsp} -> [room]
//   server.nextServerSide {timeoutMs} -> {nsp, event, args} (every server-side event received)
//   server.close                      -> io.close() (the sockets disconnect: "server shutting down")
// The server's namespaces `/` and `/chat` answer client events: `join` (room), `leave` (room),
// `set data` (data) — each acknowledged with no argument — and `whoami` (acknowledged with
// {id, rooms, data}). Server-side events named `ping` are answered with ["pong", ...args].
//
// Emitter ops:
//   emitter.emit {redisUrl, key?, nsp?, rooms?, except?, volatile?, event, args}
//   emitter.socketsJoin / socketsLeave {redisUrl, nsp?, rooms?, join|leave}
//   emitter.disconnectSockets {redisUrl, nsp?, rooms?, close}
//   emitter.serverSideEmit {redisUrl, nsp?, event, args}

import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { io: connect } = require("socket.io-client");
const { Server } = require("socket.io");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { Emitter } = require("@socket.io/redis-emitter");
const { createAdapter: createStreamsAdapter } = require("@socket.io/redis-streams-adapter");
const { createAdapter: createPostgresAdapter } = require("@socket.io/postgres-adapter");
const pg = require("pg");
const { createClient } = require("redis");
// node-redis 5 for Redis Cluster (what @socket.io/redis-adapter's own tests use): 4.x does not
// re-subscribe shard channels on a restarted master.
const { createCluster } = require("redis-v5");
const msgpackParser = require("socket.io-msgpack-parser");

const maxSeconds = (() => {
  const i = process.argv.indexOf("--max-seconds");
  return i >= 0 ? Number(process.argv[i + 1]) : 600;
})();
setTimeout(() => {
  process.stderr.write(`harness: --max-seconds ${maxSeconds} reached, exiting\n`);
  process.exit(2);
}, maxSeconds * 1000).unref();

// --- values ---------------------------------------------------------------------------------

function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === "object") {
    if (typeof value.$bin === "string" && Object.keys(value).length === 1) {
      return Buffer.from(value.$bin, "base64");
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

function encode(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("base64") };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("base64") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  }
  return value === undefined ? null : value;
}

function local(url) {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1") throw new Error(`refusing ${url}: 127.0.0.1 only`);
  return url;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A queue of received items with waiters. */
class Inbox {
  constructor() {
    this.items = [];
    this.waiters = [];
  }
  push(item) {
    this.items.push(item);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
  take(match) {
    const i = this.items.findIndex(match);
    return i < 0 ? undefined : this.items.splice(i, 1)[0];
  }
  async next(match, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.take(match);
      if (item !== undefined) return item;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

// --- clients --------------------------------------------------------------------------------

const clients = new Map();

function client(name) {
  const c = clients.get(name);
  if (!c) throw new Error(`no client ${name}`);
  return c;
}

async function clientConnect(p) {
  if (clients.has(p.name)) throw new Error(`client ${p.name} exists`);
  const url = local(p.url) + (p.nsp && p.nsp !== "/" ? p.nsp : "");
  const socket = connect(url, {
    forceNew: true,
    reconnection: p.reconnection ?? false,
    reconnectionDelay: p.reconnectionDelayMs ?? 200,
    reconnectionDelayMax: p.reconnectionDelayMs ?? 200,
    randomizationFactor: 0,
    transports: p.transports ?? ["polling", "websocket"],
    auth: p.auth ?? {},
    query: p.query ?? {},
    timeout: 10000,
    ...(p.msgpack ? { parser: msgpackParser } : {}),
  });
  const inbox = new Inbox();
  socket.onAny((event, ...args) => {
    const last = args[args.length - 1];
    if (typeof last === "function") {
      const ack = args.pop();
      ack(p.name, ...args);
    }
    inbox.push({ event, args });
  });
  socket.on("disconnect", (reason) => inbox.push({ event: "disconnect", args: [reason] }));
  let connected = false;
  socket.on("connect", () => {
    if (connected) inbox.push({ event: "reconnected", args: [socket.id, socket.recovered] });
    connected = true;
  });
  clients.set(p.name, { socket, inbox });
  const id = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`client ${p.name}: no connect within 10 s`)), 10000);
    socket.once("connect", () => {
      clearTimeout(t);
      resolve(socket.id);
    });
    socket.once("connect_error", (err) => {
      clearTimeout(t);
      reject(new Error(`client ${p.name}: connect_error ${err.message}`));
    });
  });
  return { id };
}

// --- the Node server ------------------------------------------------------------------------

let server = null;

function serverNsp(name) {
  if (!server) throw new Error("no server started");
  return server.io.of(name ?? "/");
}

function target(p) {
  let op = serverNsp(p.nsp);
  for (const r of p.rooms ?? []) op = op.to(r);
  for (const r of p.except ?? []) op = op.except(r);
  if (p.volatile) op = op.volatile;
  return op;
}

async function postgresAdapter(p) {
  const url = new URL(p.postgresUrl);
  if (url.hostname !== "127.0.0.1") throw new Error(`refusing ${p.postgresUrl}: 127.0.0.1 only`);
  const pool = new pg.Pool({ connectionString: p.postgresUrl, max: 4 });
  pool.on("error", () => {});
  // The adapter's listening client has no "error" listener: without one, a database restart
  // would crash the process (pg emits "error" on checked-out clients).
  pool.on("connect", (client) => client.on("error", () => {}));
  await pool.query(`
    CREATE TABLE IF NOT EXISTS socket_io_attachments (
        id          bigserial UNIQUE,
        created_at  timestamptz DEFAULT NOW(),
        payload     bytea
    );
  `);
  const heartbeat = p.heartbeatMs
    ? { heartbeatInterval: p.heartbeatMs, heartbeatTimeout: 3 * p.heartbeatMs }
    : {};
  return { adapter: createPostgresAdapter(pool, heartbeat), pool };
}

async function serverStart(p) {
  if (server) throw new Error("server already started");
  if (p.postgresUrl) {
    const { adapter, pool } = await postgresAdapter(p);
    return listen(p, adapter, { pool, end: () => pool.end() });
  }
  const pub = p.sharded
    ? createCluster({ rootNodes: [{ url: local(p.redisUrl) }] })
    : createClient({ url: local(p.redisUrl) });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  const adapter = p.streams
    ? createStreamsAdapter(pub)
    : p.sharded
      ? createShardedAdapter(pub, sub, { subscriptionMode: p.mode ?? "dynamic" })
      : createAdapter(pub, sub, {
          key: p.key ?? "socket.io",
          publishOnSpecificResponseChannel: !!p.specific,
        });
  return listen(p, adapter, { pub, sub });
}

/** Starts the Node server with `adapter`: the harness's namespaces, or the chat. */
async function listen(p, adapter, clients) {
  const http = createServer();
  const recovery = p.recoveryMs ? { maxDisconnectionDuration: p.recoveryMs } : {};
  const io = new Server(http, {
    adapter,
    ...(p.recovery ? { connectionStateRecovery: recovery } : {}),
  });
  const serverSide = new Inbox();
  if (p.app === "chat") {
    chatApp(io);
  }
  for (const name of p.app === "chat" ? [] : ["/", "/chat"]) {
    const nsp = io.of(name);
    nsp.on("connection", (socket) => {
      socket.on("join", (room, ack) => {
        socket.join(room);
        ack?.();
      });
      socket.on("leave", (room, ack) => {
        socket.leave(room);
        ack?.();
      });
      socket.on("set data", (data, ack) => {
        socket.data = data;
        ack?.();
      });
      socket.on("whoami", (ack) => ack({ id: socket.id, rooms: [...socket.rooms], data: socket.data }));
    });
    nsp.on("ping", (...args) => {
      const last = args[args.length - 1];
      if (typeof last === "function") {
        const ack = args.pop();
        ack(["pong", ...args]);
      }
      serverSide.push({ nsp: name, event: "ping", args });
    });
    nsp.on("news", (...args) => serverSide.push({ nsp: name, event: "news", args }));
  }
  await new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(p.port ?? 0, "127.0.0.1", resolve);
  });
  server = { io, http, ...clients, serverSide };
  return { port: http.address().port };
}

/** The chat example on the Node server (the twin of examples/chat). */
function chatApp(io) {
  const users = async () =>
    (await io.fetchSockets()).filter((s) => typeof s.data?.username === "string").length;
  io.on("connection", (socket) => {
    socket.on("add user", async (username) => {
      if (typeof socket.data.username === "string") return;
      socket.data.username = username;
      const n = await users();
      socket.emit("login", { users: n, numUsers: n });
      socket.broadcast.emit("user joined", { username, users: n, numUsers: n });
    });
    socket.on("new message", (message) => {
      if (typeof socket.data.username !== "string") return;
      socket.broadcast.emit("new message", { username: socket.data.username, message });
    });
    for (const event of ["typing", "stop typing"]) {
      socket.on(event, () => {
        if (typeof socket.data.username !== "string") return;
        socket.broadcast.emit(event, { username: socket.data.username });
      });
    }
    socket.on("disconnect", async () => {
      if (typeof socket.data.username !== "string") return;
      const n = await users();
      socket.broadcast.emit("user left", { username: socket.data.username, users: n, numUsers: n });
    });
  });
}

// --- the Node emitter -----------------------------------------------------------------------

const emitters = new Map();

async function emitter(p) {
  const key = `${p.redisUrl}|${p.key ?? "socket.io"}`;
  let e = emitters.get(key);
  if (!e) {
    const c = createClient({ url: local(p.redisUrl) });
    c.on("error", () => {});
    await c.connect();
    e = new Emitter(c, { key: p.key ?? "socket.io" });
    emitters.set(key, e);
  }
  let op = p.nsp && p.nsp !== "/" ? e.of(p.nsp) : e;
  for (const r of p.rooms ?? []) op = op.to(r);
  for (const r of p.except ?? []) op = op.except(r);
  if (p.volatile) op = op.volatile;
  return op;
}

function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`${what}: no answer within ${ms} ms`);
    }),
  ]);
}

// --- ops ------------------------------------------------------------------------------------

const ops = {
  "client.connect": clientConnect,
  "client.emit": async (p) => {
    client(p.name).socket.emit(p.event, ...decode(p.args ?? []));
    return null;
  },
  "client.emitWithAck": async (p) =>
    encode(await client(p.name).socket.timeout(p.timeoutMs ?? 5000).emitWithAck(p.event, ...decode(p.args ?? []))),
  "client.next": async (p) => {
    const item = await client(p.name).inbox.next(
      (e) => e.event === p.event,
      p.timeoutMs ?? 5000,
      `client ${p.name}: event ${JSON.stringify(p.event)}`,
    );
    return encode(item.args);
  },
  "client.none": async (p) => {
    const { inbox } = client(p.name);
    const deadline = Date.now() + (p.ms ?? 500);
    for (;;) {
      const item = inbox.take((e) => e.event === p.event);
      if (item !== undefined) {
        throw new Error(`client ${p.name}: unexpected ${p.event} ${JSON.stringify(encode(item.args))}`);
      }
      if (Date.now() >= deadline) return null;
      await sleep(Math.min(25, deadline - Date.now()));
    }
  },
  "client.drain": async (p) => {
    const { inbox } = client(p.name);
    const items = inbox.items.map((e) => ({ event: e.event, args: encode(e.args) }));
    inbox.items = [];
    return items;
  },
  "client.disconnect": async (p) => {
    client(p.name).socket.disconnect();
    return null;
  },
  "client.close": async (p) => {
    const c = client(p.name);
    c.socket.io.engine?.close();
    c.socket.disconnect();
    clients.delete(p.name);
    return null;
  },
  "client.id": async (p) => client(p.name).socket.id ?? null,
  "client.state": async (p) => {
    const { socket } = client(p.name);
    return { id: socket.id ?? null, connected: socket.connected, recovered: !!socket.recovered };
  },
  "server.start": serverStart,
  "server.emit": async (p) => {
    target(p).emit(p.event, ...decode(p.args ?? []));
    return null;
  },
  "server.emitWithAck": async (p) => {
    try {
      const responses = await target(p)
        .timeout(p.timeoutMs ?? 2000)
        .emitWithAck(p.event, ...decode(p.args ?? []));
      return { err: null, responses: encode(responses) };
    } catch (err) {
      return { err: err.message, responses: null };
    }
  },
  "server.fetchSockets": async (p) => {
    const sockets = await withTimeout(target(p).fetchSockets(), 10000, "fetchSockets");
    return sockets.map((s) => ({
      id: s.id,
      rooms: [...s.rooms].sort(),
      data: encode(s.data),
      query: s.handshake.query,
      address: s.handshake.address,
    }));
  },
  "server.socketsJoin": async (p) => {
    target(p).socketsJoin(p.join);
    return null;
  },
  "server.socketsLeave": async (p) => {
    target(p).socketsLeave(p.leave);
    return null;
  },
  "server.disconnectSockets": async (p) => {
    target(p).disconnectSockets(!!p.close);
    return null;
  },
  "server.serverSideEmit": async (p) => {
    const nsp = serverNsp(p.nsp);
    const args = decode(p.args ?? []);
    if (!p.ack) {
      nsp.serverSideEmit(p.event, ...args);
      return null;
    }
    try {
      const responses = await nsp.serverSideEmitWithAck(p.event, ...args);
      return { err: null, responses: encode(responses) };
    } catch (err) {
      return { err: err.message, responses: null };
    }
  },
  "server.close": async () => {
    if (!server) throw new Error("no server started");
    await withTimeout(new Promise((resolve) => server.io.close(() => resolve())), 10000, "io.close");
    return null;
  },
  "server.serverCount": async (p) => serverNsp(p.nsp).adapter.serverCount(),
  "server.allRooms": async (p) => [...(await serverNsp(p.nsp).adapter.allRooms())].sort(),
  "server.nextServerSide": async (p) => {
    if (!server) throw new Error("no server started");
    const item = await server.serverSide.next(() => true, p.timeoutMs ?? 5000, "a server-side event");
    return encode(item);
  },
  "emitter.emit": async (p) => {
    (await emitter(p)).emit(p.event, ...decode(p.args ?? []));
    return null;
  },
  "emitter.socketsJoin": async (p) => {
    (await emitter(p)).socketsJoin(p.join);
    return null;
  },
  "emitter.socketsLeave": async (p) => {
    (await emitter(p)).socketsLeave(p.leave);
    return null;
  },
  "emitter.disconnectSockets": async (p) => {
    (await emitter(p)).disconnectSockets(!!p.close);
    return null;
  },
  "emitter.serverSideEmit": async (p) => {
    const e = await emitter(p);
    e.serverSideEmit(p.event, ...decode(p.args ?? []));
    return null;
  },
};

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    reply({ id: null, ok: false, error: `bad request line: ${err.message}` });
    return;
  }
  const op = ops[request.op];
  if (!op) {
    reply({ id: request.id, ok: false, error: `unknown op ${request.op}` });
    return;
  }
  op(request).then(
    (result) => reply({ id: request.id, ok: true, result: result ?? null }),
    (err) => reply({ id: request.id, ok: false, error: String(err?.message ?? err) }),
  );
});
lines.on("close", () => process.exit(0));
