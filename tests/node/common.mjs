// Shared helpers for the interop client scripts.
//
// Contract of every script: the server URL and options on argv; an overall timeout after which
// the script fails; exactly one JSON line on stdout (`{"ok":true,...}` or `{"ok":false,...}`);
// exit code 0 on success and 1 on failure, with the reason on stderr.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * Parses `URL --name value ... [--flag]` into `{ url, opts }`.
 * `flags` lists the options that take no value (they become `true`).
 */
export function parseArgs(argv, { flags = [], defaults = {} } = {}) {
  const opts = { ...defaults };
  let url;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("--")) {
      const name = arg.slice(2);
      if (flags.includes(name)) {
        opts[name] = true;
      } else {
        if (i + 1 >= argv.length) throw new Error(`option ${arg} needs a value`);
        opts[name] = argv[++i];
      }
    } else if (url === undefined) {
      url = arg;
    } else {
      throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  if (url === undefined) throw new Error("missing server URL");
  const parsed = new URL(url);
  if (parsed.hostname !== "127.0.0.1") {
    throw new Error(`refusing to connect to ${parsed.hostname}: these scripts only talk to 127.0.0.1`);
  }
  return { url, opts };
}

export function parseBool(value, name) {
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new Error(`--${name} must be true or false, got ${JSON.stringify(value)}`);
}

export function parseTransports(value) {
  const list = String(value)
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  if (list.length === 0) throw new Error("--transports is empty");
  for (const t of list) {
    if (t !== "polling" && t !== "websocket") {
      throw new Error(`unknown transport ${JSON.stringify(t)} (expected polling or websocket)`);
    }
  }
  return list;
}

export function parsePositive(value, name) {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

/**
 * Runs `main(ctx)` under an overall timeout of `timeoutMs`. `ctx.phase(name)` records what the
 * script is doing, so a timeout says where it got stuck. `main` resolves to the result object
 * (printed as `{"ok":true,...result}`) or throws (printed as `{"ok":false,"error":...}`).
 * The process always exits: 0 on success, 1 on failure or timeout.
 */
export function run(script, timeoutMs, main) {
  const started = Date.now();
  let phase = "starting";
  let finished = false;
  const finish = (code, payload, reason) => {
    if (finished) return;
    finished = true;
    const line = JSON.stringify({ script, ...payload, elapsedMs: Date.now() - started });
    if (reason) process.stderr.write(`${script}: ${reason}\n`);
    // Write stdout fully before exiting (stdout may be a pipe).
    process.stdout.write(line + "\n", () => process.exit(code));
    // In case the write callback never comes.
    setTimeout(() => process.exit(code), 1000).unref();
  };
  const timer = setTimeout(() => {
    const reason = `timeout after ${timeoutMs} ms while ${phase}`;
    finish(1, { ok: false, error: reason }, reason);
  }, timeoutMs);
  const ctx = {
    phase(name) {
      phase = name;
    },
    get phaseName() {
      return phase;
    },
  };
  process.on("uncaughtException", (err) => {
    const reason = `uncaught exception while ${phase}: ${err && err.stack ? err.stack : err}`;
    finish(1, { ok: false, error: reason }, reason);
  });
  Promise.resolve()
    .then(() => main(ctx))
    .then(
      (result) => {
        clearTimeout(timer);
        finish(0, { ok: true, ...result });
      },
      (err) => {
        clearTimeout(timer);
        const reason = `failed while ${phase}: ${err && err.message ? err.message : err}`;
        finish(1, { ok: false, error: reason }, reason);
      },
    );
}

/** Loads the Engine.IO client: v6 (`engine.io-client`) or v3 (the `engine.io-client-v3` alias). */
export async function loadEioClient(v3) {
  if (v3) {
    // engine.io-client 3.x is CommonJS; `module.exports` is the Socket constructor.
    const Socket = require("engine.io-client-v3");
    return { Socket, version: require("engine.io-client-v3/package.json").version, protocol: 3 };
  }
  const mod = await import("engine.io-client");
  return { Socket: mod.Socket, version: require("engine.io-client/package.json").version, protocol: 4 };
}

/**
 * A promise-based view of one engine.io-client socket (v3 or v6): records every event the
 * scripts care about, and fails every pending wait as soon as the socket closes or errors.
 */
export class EioSession {
  constructor(client, url, { transports, upgrade, label = "session" }) {
    this.label = label;
    this.protocol = client.protocol;
    this.messages = [];
    this.waiters = [];
    this.pings = []; // times (ms since handshake) the server's heartbeat was seen
    this.handshake = null;
    this.handshakeAt = null;
    this.opened = false;
    this.upgraded = false;
    this.closed = null; // { reason, description } once closed
    this.expectClose = false;
    this.errors = [];
    this.socket = new client.Socket(url, {
      path: "/engine.io/",
      transports,
      upgrade,
      // never reuse a previous websocket success in this process: each session is independent
      rememberUpgrade: false,
    });
    const s = this.socket;
    s.on("handshake", (data) => {
      this.handshake = data;
      this.handshakeAt = Date.now();
    });
    s.on("open", () => {
      this.opened = true;
      this.openSid = s.id;
      this.notify();
    });
    s.on("upgrade", (transport) => {
      this.upgraded = true;
      this.upgradedTo = transport && transport.name;
      this.notify();
    });
    s.on("upgradeError", (err) => {
      this.errors.push(`upgradeError: ${err && err.message ? err.message : err}`);
      this.notify();
    });
    // The server's heartbeat as seen by the client:
    // - v6 (Engine.IO v4): the server pings; the client emits "ping" when one arrives.
    // - v3 (Engine.IO v3): the client pings; it emits "ping" when it SENDS one and "pong" when
    //   the server's answer arrives. We count the server's answers.
    s.on(this.protocol === 3 ? "pong" : "ping", () => {
      this.pings.push(Date.now() - (this.handshakeAt ?? Date.now()));
    });
    s.on("message", (data) => {
      this.messages.push(data);
      this.notify();
    });
    s.on("error", (err) => {
      this.errors.push(`error: ${describeError(err)}`);
      this.notify();
    });
    s.on("close", (reason, description) => {
      let desc = description;
      if (desc instanceof Error) desc = desc.message;
      else if (desc && typeof desc === "object") {
        desc = desc.description ? String(desc.description.message ?? desc.description) : JSON.stringify(desc);
      }
      this.closed = { reason: String(reason), description: desc === undefined ? undefined : String(desc) };
      this.notify();
    });
  }

  get transportName() {
    return this.socket.transport ? this.socket.transport.name : null;
  }

  get sid() {
    return this.openSid ?? this.socket.id;
  }

  /** A reason the session is broken, or null. */
  failure() {
    if (this.errors.length > 0) return `${this.label}: ${this.errors.join("; ")}`;
    if (this.closed && !this.expectClose) {
      const d = this.closed.description ? ` (${this.closed.description})` : "";
      return `${this.label}: socket closed unexpectedly: ${this.closed.reason}${d}`;
    }
    return null;
  }

  notify() {
    for (const w of this.waiters.slice()) w();
  }

  /** Resolves once `predicate()` is true; rejects as soon as the session fails. */
  waitFor(what, predicate) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let ok;
        try {
          ok = predicate();
        } catch (e) {
          done();
          reject(e);
          return;
        }
        if (ok) {
          done();
          resolve();
          return;
        }
        const f = this.failure();
        if (f) {
          done();
          reject(new Error(`${f} (while waiting for ${what})`));
        }
      };
      const done = () => {
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      this.waiters.push(check);
      check();
    });
  }

  async open() {
    await this.waitFor("open", () => this.opened);
  }

  async waitUpgrade() {
    await this.waitFor("upgrade", () => this.upgraded);
    if (this.transportName !== "websocket") {
      throw new Error(`${this.label}: upgraded, but transport is ${this.transportName}`);
    }
  }

  /** Sends `payload` and waits for the next message, which must be an exact echo. */
  async echo(payload, what) {
    const index = this.messages.length;
    this.socket.send(payload);
    await this.waitFor(`echo of ${what}`, () => this.messages.length > index);
    checkEcho(payload, this.messages[index], `${this.label}: ${what}`);
  }

  /**
   * Sends every payload at once (pipelined: over polling they share POST bodies and the echoes
   * share GET responses), then waits for as many messages, which must be exact echoes, in order.
   */
  async echoAll(payloads) {
    const index = this.messages.length;
    for (const [, payload] of payloads) this.socket.send(payload);
    await this.waitFor(`echoes of ${payloads.length} messages`, () => this.messages.length >= index + payloads.length);
    payloads.forEach(([what, payload], i) => checkEcho(payload, this.messages[index + i], `${this.label}: ${what}`));
    if (this.messages.length !== index + payloads.length) {
      throw new Error(`${this.label}: ${this.messages.length - index - payloads.length} unexpected extra message(s)`);
    }
  }

  /** Closes the socket from the client side and waits until it reports closed. */
  async close() {
    this.expectClose = true;
    if (this.closed) throw new Error(`${this.label}: already closed (${this.closed.reason})`);
    this.socket.close();
    await this.waitFor("close", () => this.closed !== null);
    return this.closed;
  }

  /** Best-effort close that never throws (cleanup on failure). */
  abort() {
    this.expectClose = true;
    try {
      this.socket.close();
    } catch {
      // ignore
    }
  }
}

function describeError(err) {
  if (!err) return String(err);
  if (!(err instanceof Error)) return String(err);
  let text = err.message;
  // engine.io-client 6 TransportError: `description` is the HTTP status or the underlying error.
  const d = err.description;
  if (d !== undefined && d !== null) {
    if (typeof d === "number" || typeof d === "string") text += ` (${d})`;
    else if (d.message) text += ` (${d.message})`;
    else if (d.error && d.error.message) text += ` (${d.error.message})`;
  }
  if (err.code !== undefined) text += ` [code ${JSON.stringify(err.code)}]`;
  return text;
}

function asBytes(data) {
  if (typeof Buffer !== "undefined" && Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

function describe(data) {
  if (typeof data === "string") {
    return `string(${data.length}) ${JSON.stringify(data.length > 40 ? data.slice(0, 40) + "..." : data)}`;
  }
  const bytes = asBytes(data);
  if (bytes) return `${data.constructor ? data.constructor.name : "binary"}(${bytes.byteLength})`;
  return `${typeof data} ${String(data).slice(0, 40)}`;
}

/** Throws unless `received` is an exact echo of `sent` (text stays text, binary stays binary). */
export function checkEcho(sent, received, what) {
  if (typeof sent === "string") {
    if (typeof received !== "string") {
      throw new Error(`${what}: sent text, received ${describe(received)}`);
    }
    if (received !== sent) {
      throw new Error(`${what}: text differs: sent ${describe(sent)}, received ${describe(received)}`);
    }
    return;
  }
  const want = asBytes(sent);
  const got = asBytes(received);
  if (!got) throw new Error(`${what}: sent binary(${want.byteLength}), received ${describe(received)}`);
  if (got.byteLength !== want.byteLength) {
    throw new Error(`${what}: sent ${want.byteLength} bytes, received ${got.byteLength}`);
  }
  for (let i = 0; i < want.byteLength; i++) {
    if (got[i] !== want[i]) {
      throw new Error(`${what}: byte ${i} differs: sent ${want[i]}, received ${got[i]}`);
    }
  }
}

/** The messages every echo check sends: [what, payload]. */
export function echoPayloads() {
  // 1000 characters, not all the same, ASCII only.
  let long = "";
  for (let i = 0; long.length < 1000; i++) long += String.fromCharCode(97 + (i % 26));
  const big = new Uint8Array(100 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  return [
    ["text 'hello'", "hello"],
    ["text of 1000 chars", long],
    ["unicode text", "héllo €𝄞"],
    ["binary [1,2,3,4]", new Uint8Array([1, 2, 3, 4])],
    ["binary of 100 KB", big],
  ];
}
