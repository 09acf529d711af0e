// Shared helpers of the Socket.IO client scripts (sio-client.mjs, sio-multi.mjs), on top of
// common.mjs (argv parsing, the overall timeout, the one-JSON-line contract).
//
// The scripts exercise the "sio app" described in reference-sio-server.mjs.

import { createRequire } from "node:module";
import { Manager } from "socket.io-client";

const require = createRequire(import.meta.url);

export const CLIENT_VERSION = `socket.io-client@${require("socket.io-client/package.json").version}`;
export const MSGPACK_VERSION = `socket.io-msgpack-parser@${require("socket.io-msgpack-parser/package.json").version}`;

/** The Manager options every script uses; `extra` overrides. */
export function managerOptions({ transports, msgpack }, extra = {}) {
  const options = {
    path: "/socket.io/",
    transports,
    upgrade: transports.length > 1,
    // each Manager is independent: never reuse a previous websocket success in this process
    rememberUpgrade: false,
    reconnection: false,
    timeout: 5000,
    autoConnect: true,
    ...extra,
  };
  if (msgpack) options.parser = require("socket.io-msgpack-parser");
  return options;
}

/** A new Manager (one Engine.IO connection) for `url`. */
export function newManager(url, config, extra = {}) {
  return new Manager(url, managerOptions(config, extra));
}

// --- values: binary-aware normalisation and comparison --------------------------------------

export function isBinary(v) {
  return (
    (typeof Buffer !== "undefined" && Buffer.isBuffer(v)) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)
  );
}

function bytesOf(v) {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * A JSON-able canonical form of an argument: binary becomes `{"$bin": hex}` (so binary that came
 * back as an array of numbers or as `{type:"Buffer",data:[...]}` does NOT compare equal), object
 * keys are sorted (servers need not keep key order), `undefined` becomes `{"$undefined":true}`.
 */
export function canon(v) {
  if (v === undefined) return { $undefined: true };
  if (v === null || typeof v !== "object") {
    if (typeof v === "function") return { $function: true };
    return v;
  }
  if (isBinary(v)) return { $bin: Buffer.from(bytesOf(v)).toString("hex") };
  if (Array.isArray(v)) return v.map(canon);
  const out = {};
  for (const key of Object.keys(v).sort()) out[key] = canon(v[key]);
  return out;
}

export function same(a, b) {
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/** Short printable form of a value, for error messages. */
export function show(v) {
  const text = JSON.stringify(canon(v));
  return text.length > 300 ? text.slice(0, 300) + "..." : text;
}

/** Throws unless `got` equals `want` (binary-aware, key-order-insensitive). */
export function expectSame(got, want, what) {
  if (!same(got, want)) throw new Error(`${what}: expected ${show(want)}, got ${show(got)}`);
}

/** The constructor names of the binary values inside `v` (what the client produced). */
export function binaryKinds(v, out = new Set()) {
  if (v && typeof v === "object") {
    if (isBinary(v)) out.add(v.constructor ? v.constructor.name : "binary");
    else for (const x of Array.isArray(v) ? v : Object.values(v)) binaryKinds(x, out);
  }
  return out;
}

export function bytes(...values) {
  return new Uint8Array(values);
}

/** `n` deterministic bytes. */
export function pattern(n, seed = 7) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** What the sessions are waiting for right now (named in timeout errors). */
export const pendingWaits = new Set();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with `what` timed out after `ms` unless `promise` settles first. */
export function deadline(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        const waits = [...pendingWaits];
        const detail = waits.length ? ` (waiting for: ${waits.join("; ")})` : "";
        reject(new Error(`${what}: no result within ${ms} ms${detail}`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function describeDetails(details) {
  if (details === undefined || details === null) return undefined;
  if (details instanceof Error) return details.message;
  if (typeof details === "object") {
    if (details.description !== undefined) {
      const d = details.description;
      return String(d && d.message ? d.message : d);
    }
    try {
      return JSON.stringify(details);
    } catch {
      return String(details);
    }
  }
  return String(details);
}

// --- one Socket.IO socket, as a promise-based recorder ---------------------------------------

/**
 * Records everything one client socket sees: connects, connect errors, disconnects (with the
 * reason), and every event in arrival order (ack functions stripped, `withAck` noted). Waits
 * fail as soon as something unexpected happens (a connect error or a disconnect that the
 * scenario did not announce with `allowConnectError` / `allowDisconnect`).
 */
export class SioSession {
  constructor(socket, label) {
    this.socket = socket;
    this.label = label;
    this.events = [];
    this.consumed = new Map();
    this.connects = 0;
    this.ids = [];
    this.connectErrors = [];
    this.disconnects = [];
    this.allowConnectError = false;
    this.allowDisconnect = false;
    this.waiters = [];
    // How the `question` event (server -> client with ack) is answered:
    // "answer" -> ack(x + 1); "ignore" -> never acks; { lateMs } -> acks x + 1 after lateMs.
    this.questionMode = "answer";
    this.questions = [];
    socket.on("connect", () => {
      this.connects++;
      this.ids.push(socket.id);
      this.notify();
    });
    socket.on("connect_error", (err) => {
      this.connectErrors.push({ message: err && err.message, data: err && err.data });
      this.notify();
    });
    socket.on("disconnect", (reason, details) => {
      this.disconnects.push({ reason, description: describeDetails(details), at: Date.now() });
      this.notify();
    });
    socket.onAny((event, ...args) => {
      const withAck = args.length > 0 && typeof args[args.length - 1] === "function";
      if (withAck) args = args.slice(0, -1);
      this.events.push({ event, args, withAck, at: Date.now() });
      this.notify();
    });
    socket.on("question", (...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      const mode = this.questionMode;
      this.questions.push({ args, withAck: ack !== null, mode });
      if (!ack || mode === "ignore") return;
      const answer = typeof args[0] === "number" ? args[0] + 1 : args[0];
      if (mode === "answer") ack(answer);
      else if (mode && mode.lateMs) setTimeout(() => ack(answer), mode.lateMs);
    });
  }

  get id() {
    return this.socket.id;
  }

  failure() {
    if (this.connectErrors.length > 0 && !this.allowConnectError) {
      const e = this.connectErrors[0];
      return `${this.label}: unexpected connect_error ${JSON.stringify(e.message)}${e.data ? ` data ${JSON.stringify(e.data)}` : ""}`;
    }
    if (this.disconnects.length > 0 && !this.allowDisconnect) {
      const d = this.disconnects[0];
      return `${this.label}: unexpected disconnect (${d.reason}${d.description ? `: ${d.description}` : ""})`;
    }
    return null;
  }

  notify() {
    for (const w of this.waiters.slice()) w();
  }

  /** Resolves to `predicate()`'s first truthy value; rejects as soon as the session fails. */
  waitFor(what, predicate) {
    const token = { toString: () => what };
    return new Promise((resolve, reject) => {
      const check = () => {
        let value;
        try {
          value = predicate();
        } catch (e) {
          done();
          reject(e);
          return;
        }
        if (value) {
          done();
          resolve(value);
          return;
        }
        const f = this.failure();
        if (f) {
          done();
          reject(new Error(`${f} (while waiting for ${what})`));
        }
      };
      const done = () => {
        pendingWaits.delete(token);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      pendingWaits.add(token);
      this.waiters.push(check);
      check();
    });
  }

  /** Waits for the `n`-th connect (1-based, default: the next one not yet seen). */
  async connected(n = this.connects + (this.socket.connected ? 0 : 1)) {
    await this.waitFor(`connect #${n} of ${this.label}`, () => this.connects >= n);
    return this.socket.id;
  }

  /** Waits for the next occurrence (not yet taken) of `event`; resolves to its arguments. */
  async next(event) {
    const index = this.consumed.get(event) ?? 0;
    const found = await this.waitFor(`event ${JSON.stringify(event)} #${index + 1} on ${this.label}`, () => {
      let seen = 0;
      for (const e of this.events) {
        if (e.event === event) {
          if (seen === index) return e;
          seen++;
        }
      }
      return null;
    });
    this.consumed.set(event, index + 1);
    return found.args;
  }

  /** All arguments lists of `event` received so far. */
  all(event) {
    return this.events.filter((e) => e.event === event).map((e) => e.args);
  }

  /** Emits `event` with `args` and a callback; resolves to the ack's arguments (all of them). */
  call(event, ...args) {
    let result = null;
    this.socket.emit(event, ...args, (...response) => {
      result = { response };
      this.notify();
    });
    return this.waitFor(`ack of ${JSON.stringify(event)} on ${this.label}`, () => result).then((r) => r.response);
  }

  /** Waits for the `n`-th disconnect (default: the first); resolves to `{ reason, description }`. */
  async disconnected(n = 1) {
    this.allowDisconnect = true;
    await this.waitFor(`disconnect #${n} of ${this.label}`, () => this.disconnects.length >= n);
    return this.disconnects[n - 1];
  }

  /** Waits for the `n`-th connect_error (default: the first); resolves to `{ message, data }`. */
  async connectError(n = 1) {
    this.allowConnectError = true;
    await this.waitFor(`connect_error #${n} of ${this.label}`, () => this.connectErrors.length >= n);
    return this.connectErrors[n - 1];
  }

  close() {
    this.allowDisconnect = true;
    try {
      this.socket.disconnect();
    } catch {
      // ignore
    }
  }
}

/**
 * Creates sessions and managers for one scenario and closes them all at the end, whatever
 * happens: `scope.socket(nsp, { auth, manager, ...managerOptions })`.
 */
export class Scope {
  constructor(url, config) {
    this.url = url;
    this.config = config;
    this.managers = [];
    this.sessions = [];
  }

  manager(extra = {}) {
    const m = newManager(this.url, this.config, extra);
    this.managers.push(m);
    return m;
  }

  /** A socket for namespace `nsp` on `manager` (default: a new Manager of its own). */
  socket(nsp, { auth, manager, label, ...extra } = {}) {
    const m = manager ?? this.manager(extra);
    const socket = m.socket(nsp, auth === undefined ? {} : { auth });
    const session = new SioSession(socket, label ?? `${nsp} socket`);
    this.sessions.push(session);
    return session;
  }

  close() {
    for (const s of this.sessions) s.close();
    for (const m of this.managers) {
      try {
        m._close();
      } catch {
        // ignore
      }
    }
  }
}

/**
 * Asks the server (through `observer`, a connected "/" session) for its disconnect reasons until
 * one for socket `id` shows up; resolves to that entry `{ id, nsp, reason }`.
 */
export async function serverReason(observer, id, { timeoutMs = 3000 } = {}) {
  const started = Date.now();
  for (;;) {
    const [list] = await observer.call("reasons");
    if (!Array.isArray(list)) throw new Error(`reasons: expected an array, got ${show(list)}`);
    const entries = list.filter((r) => r && r.id === id);
    if (entries.length > 1) throw new Error(`reasons: socket ${id} disconnected ${entries.length} times: ${show(entries)}`);
    if (entries.length === 1) return entries[0];
    if (Date.now() - started > timeoutMs) {
      throw new Error(`reasons: no server-side disconnect recorded for ${id} after ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}
