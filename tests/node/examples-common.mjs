// Shared helpers of the example scripts (examples-*.mjs), on top of common.mjs (argv parsing,
// the overall timeout, the one-JSON-line contract).
//
// Each script drives one example app of examples/ with several real socket.io-client sockets,
// every one on its own Manager (its own Engine.IO connection) unless a scenario shares one.

import { createRequire } from "node:module";
import { Manager } from "socket.io-client";

const require = createRequire(import.meta.url);

export const CLIENT_VERSION = `socket.io-client@${require("socket.io-client/package.json").version}`;

/** What every wait is bounded by, unless it says otherwise (ms). */
export const WAIT_MS = 5000;

/** The waits in progress (named in timeout errors). */
const pending = new Set();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with a message naming `what` if `promise` has not settled after `ms`. */
export function bounded(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        const waits = [...pending].map(String);
        reject(new Error(`${what}: nothing after ${ms} ms${waits.length ? ` (waiting for: ${waits.join("; ")})` : ""}`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Stable JSON (sorted keys), for comparisons and messages. */
export function canon(v) {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(canon);
  const out = {};
  for (const k of Object.keys(v).sort()) out[k] = canon(v[k]);
  return out;
}

export const show = (v) => {
  const text = JSON.stringify(canon(v));
  return text && text.length > 400 ? text.slice(0, 400) + "..." : text;
};

export const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));

export function expectSame(got, want, what) {
  if (!same(got, want)) throw new Error(`${what}: expected ${show(want)}, got ${show(got)}`);
}

export function expect(cond, what) {
  if (!cond) throw new Error(what);
}

/**
 * One socket.io-client socket that records everything it sees. Waits fail as soon as the
 * socket gets an unexpected connect_error or disconnect.
 */
export class Client {
  /**
   * `new Client(url, label, { nsp, auth, manager, ...managerOptions })`: a socket of `nsp`
   * (default "/") on `manager` (default a new Manager with `managerOptions`).
   */
  constructor(url, label, { nsp = "/", auth, manager, ...options } = {}) {
    this.label = label;
    this.manager =
      manager ??
      new Manager(url, {
        reconnection: false,
        timeout: WAIT_MS,
        rememberUpgrade: false,
        ...options,
      });
    this.ownsManager = !manager;
    this.socket = this.manager.socket(nsp, auth === undefined ? {} : { auth });
    this.events = []; // { event, args }
    this.taken = new Map(); // event -> how many `next` took
    this.connects = 0;
    this.connectErrors = [];
    this.disconnects = [];
    this.allowConnectError = false;
    this.allowDisconnect = false;
    this.waiters = new Set();
    const s = this.socket;
    s.on("connect", () => {
      this.connects++;
      this.notify();
    });
    s.on("connect_error", (err) => {
      this.connectErrors.push({ message: err && err.message, data: err && err.data });
      this.notify();
    });
    s.on("disconnect", (reason) => {
      this.disconnects.push(reason);
      this.notify();
    });
    s.onAny((event, ...args) => {
      if (args.length > 0 && typeof args[args.length - 1] === "function") args = args.slice(0, -1);
      this.events.push({ event, args });
      this.notify();
    });
    // A socket of a new Manager connects by itself (autoConnect); one of a shared Manager too.
    if (!s.active) s.connect();
  }

  get id() {
    return this.socket.id;
  }

  get transport() {
    const engine = this.manager.engine;
    return engine && engine.transport ? engine.transport.name : null;
  }

  failure() {
    if (this.connectErrors.length > 0 && !this.allowConnectError) {
      return `${this.label}: unexpected connect_error ${show(this.connectErrors[0])}`;
    }
    if (this.disconnects.length > 0 && !this.allowDisconnect) {
      return `${this.label}: unexpected disconnect (${this.disconnects[0]})`;
    }
    return null;
  }

  notify() {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves to `predicate()`'s first truthy value, within `ms`. */
  waitFor(what, predicate, ms = WAIT_MS) {
    const token = { toString: () => `${this.label}: ${what}` };
    let check;
    const promise = new Promise((resolve, reject) => {
      check = () => {
        let value;
        try {
          value = predicate();
        } catch (e) {
          reject(e);
          return;
        }
        if (value) {
          resolve(value);
          return;
        }
        const f = this.failure();
        if (f) reject(new Error(`${f} (while waiting for ${what})`));
      };
      this.waiters.add(check);
      pending.add(token);
      check();
    });
    return bounded(promise, ms, `${this.label}: ${what}`).finally(() => {
      this.waiters.delete(check);
      pending.delete(token);
    });
  }

  async connected() {
    await this.waitFor("connect", () => this.connects > 0);
    return this.socket.id;
  }

  /** The arguments of the next `event` not taken yet. */
  async next(event, ms = WAIT_MS) {
    const index = this.taken.get(event) ?? 0;
    const found = await this.waitFor(
      `event ${JSON.stringify(event)} #${index + 1}`,
      () => this.events.filter((e) => e.event === event)[index],
      ms,
    );
    this.taken.set(event, index + 1);
    return found.args;
  }

  /** Every `event` received so far: a list of argument lists. */
  all(event) {
    return this.events.filter((e) => e.event === event).map((e) => e.args);
  }

  /** The names of the events received so far, in order. */
  names() {
    return this.events.map((e) => e.event);
  }

  emit(event, ...args) {
    this.socket.emit(event, ...args);
  }

  /** Emits with an acknowledgement; resolves to the ack's arguments (all of them, as a list). */
  call(event, ...args) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(WAIT_MS).emit(event, ...args, (err, ...response) => {
        if (err) reject(new Error(`${this.label}: no ack of ${JSON.stringify(event)} within ${WAIT_MS} ms`));
        else resolve(response);
      });
    });
  }

  async connectError() {
    this.allowConnectError = true;
    return this.waitFor("connect_error", () => this.connectErrors[0]);
  }

  async disconnected() {
    this.allowDisconnect = true;
    return this.waitFor("disconnect", () => this.disconnects[0]);
  }

  close() {
    this.allowDisconnect = true;
    try {
      this.socket.disconnect();
    } catch {
      // ignore
    }
    if (this.ownsManager) {
      try {
        this.manager._close();
      } catch {
        // ignore
      }
    }
  }
}

/** Keeps every client of a script, to close them all at the end, whatever happened. */
export class Clients {
  constructor(url, defaults = {}) {
    this.url = url;
    this.defaults = defaults;
    this.list = [];
  }

  open(label, options = {}) {
    const c = new Client(this.url, label, { ...this.defaults, ...options });
    this.list.push(c);
    return c;
  }

  /** Opens and waits for the connection. */
  async connect(label, options = {}) {
    const c = this.open(label, options);
    await c.connected();
    return c;
  }

  closeAll() {
    for (const c of this.list) c.close();
  }
}

/** `fetch` against the app, bounded; resolves to `{ status, body, headers }` (body parsed as JSON when it is). */
export async function http(url, method, path, { headers = {}, body } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  const res = await bounded(fetch(new URL(path, url), init), WAIT_MS, `${method} ${path}`);
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** The transports option of `--transports` (`polling`, `websocket` or `polling,websocket`). */
export function transportsOption(value) {
  const list = String(value ?? "polling,websocket")
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of list) {
    if (t !== "polling" && t !== "websocket") throw new Error(`unknown transport ${JSON.stringify(t)}`);
  }
  return { transports: list, upgrade: list.length > 1 };
}
