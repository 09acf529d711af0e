// sio-middleware.mjs URL --scenario NAME [--transports polling|websocket|polling,websocket]
//                    [--headers JSON] [--ns NSP] [--timeout SECONDS] [scenario options]
//
// The npm socket.io-client 4.8 against the middleware test apps of tests/tests/middleware.rs:
// a Socket.IO server behind tower / tower-http / tower-sessions / axum-login layers, next to
// REST routes on the same router. Every app's main namespace (or --ns) emits `hello` (one
// object) on connect and acknowledges `echo` with its argument.
//
// --headers JSON sets request headers (cookie, authorization, origin, x-request-id...) on every
// request of both transports: `extraHeaders` (polling, and websocket in Node) and
// `transportOptions.{polling,websocket}.extraHeaders`. Browsers cannot set headers on a
// WebSocket; Node's `ws` can.
//
// Scenarios (one per run; each checks its own results and fails with a reason):
//   echo         connect, `hello`, [--wait-upgrade], [--idle MS], then `echo` strings of
//                --sizes N,N,... characters (default 16); any disconnect fails
//   refused      the connection must be refused: resolves to the first connect_error
//   flaky        reconnection on, observe --observe MS: connects, disconnect reasons, errors
//   oversize     connect, then emit `echo` with --size characters: acked or disconnected?
//   concurrency  one websocket client W (echo), then --polling-clients N polling clients at
//                once: how many connect within --window MS, how many of those echo within
//                1.5 s, does GET /health answer within 1 s, does a fresh websocket client
//                connect within 1 s; W must still echo
//   ws-crowd     --clients N websocket-only clients at once: all connect and echo
//   await-rest   connect, then wait for the server's `rest` event (sent by a REST handler)
//   session      (cookie in --headers) `me`, [--wait-upgrade], `whoami` (acked with the user); REST POST /note "from-rest" then `get-note`
//                (acked with the session's note); then `set-note` --note (acked "saved")
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, parseTransports, run } from "./common.mjs";
import { CLIENT_VERSION, Scope, deadline, expectSame, show, sleep } from "./sio-common.mjs";

function text(n) {
  let s = "";
  for (let i = 0; s.length < n; i++) s += String.fromCharCode(97 + (i % 26));
  return s;
}

function engineTransport(session) {
  const engine = session.socket.io.engine;
  return engine && engine.transport ? engine.transport.name : null;
}

/** Waits until the session's engine has upgraded to WebSocket. */
async function upgraded(s) {
  // waitFor re-checks on the session's events: the engine's upgrade is not one of them.
  s.socket.io.engine.on("upgrade", () => s.notify());
  await s.waitFor("the upgrade to websocket", () => engineTransport(s) === "websocket");
}

/** `fetch` bounded by `ms`: resolves to { status, body } or { error }. */
async function boundedFetch(url, init, ms) {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
    return { status: res.status, body: await res.text() };
  } catch (e) {
    return { error: e && e.name ? e.name : String(e) };
  }
}

async function echoSizes(s, sizes) {
  const echoed = [];
  for (const n of sizes) {
    const payload = text(n);
    const [back] = await s.call("echo", payload);
    if (back !== payload) throw new Error(`echo of ${n} chars came back as ${show(back)}`);
    echoed.push(n);
  }
  return echoed;
}

const scenarios = {
  async echo(scope, o) {
    const s = scope.socket(o.ns);
    const id = await s.connected();
    const [hello] = await s.next("hello");
    if (o.waitUpgrade) await upgraded(s);
    if (o.idle) await sleep(o.idle);
    const echoed = await echoSizes(s, o.sizes);
    return { id, hello, echoed, transport: engineTransport(s), connects: s.connects };
  },

  async refused(scope, o) {
    const s = scope.socket(o.ns);
    const err = await s.connectError();
    // It stays refused: no connect shows up afterwards.
    await sleep(300);
    if (s.connects > 0) throw new Error(`connected after connect_error ${show(err)}`);
    return { message: err.message, data: err.data ?? null };
  },

  async flaky(scope, o) {
    const s = scope.socket(o.ns, {
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 200,
      randomizationFactor: 0,
    });
    s.allowDisconnect = true;
    s.allowConnectError = true;
    await sleep(o.observe);
    return {
      connects: s.connects,
      disconnects: s.disconnects.map((d) => d.reason),
      connectErrors: s.connectErrors.map((e) => e.message),
    };
  },

  async oversize(scope, o) {
    const s = scope.socket(o.ns);
    await s.connected();
    await s.next("hello");
    s.allowDisconnect = true;
    let acked = null;
    s.socket.emit("echo", text(o.size), (back) => {
      acked = typeof back === "string" ? back.length : -1;
      s.notify();
    });
    await deadline(
      s.waitFor("the ack or a disconnect", () => acked !== null || s.disconnects.length > 0),
      5000,
      "oversize emit",
    );
    return { acked, disconnect: s.disconnects.length ? s.disconnects[0].reason : null };
  },

  async concurrency(scope, o) {
    const w = scope.socket(o.ns, { transports: ["websocket"], upgrade: false, label: "W (websocket)" });
    await w.connected();
    await w.next("hello");
    await echoSizes(w, [16]);
    const polling = [];
    for (let i = 0; i < o.pollingClients; i++) {
      const p = scope.socket(o.ns, { transports: ["polling"], upgrade: false, label: `P${i + 1} (polling)` });
      p.allowConnectError = true;
      p.allowDisconnect = true;
      polling.push(p);
    }
    await sleep(o.window);
    const pollingConnected = polling.filter((p) => p.connects > 0).length;
    // Each polling client that connected tries one echo, all at once, for 1.5 s.
    const tries = await Promise.allSettled(
      polling.filter((p) => p.connects > 0).map((p) => deadline(echoSizes(p, [16]), 1500, `${p.label} echo`)),
    );
    const pollingEchoed = tries.filter((t) => t.status === "fulfilled").length;
    const rest = await boundedFetch(new URL("/health", scope.url), {}, 1000);
    const fresh = scope.socket(o.ns, { transports: ["websocket"], upgrade: false, label: "F (websocket)" });
    fresh.allowConnectError = true;
    await sleep(1000);
    const freshWsConnected = fresh.connects > 0;
    const started = Date.now();
    await deadline(echoSizes(w, [16, 1000]), 2000, "W echo while the polling clients hold the permits");
    return { pollingConnected, pollingEchoed, rest, freshWsConnected, wsEchoAfterMs: Date.now() - started };
  },

  async "ws-crowd"(scope, o) {
    const all = [];
    for (let i = 0; i < o.clients; i++) {
      all.push(scope.socket(o.ns, { transports: ["websocket"], upgrade: false, label: `C${i + 1}` }));
    }
    await Promise.all(all.map((s) => s.connected()));
    await Promise.all(all.map((s) => echoSizes(s, [16, 1000])));
    return { connected: all.filter((s) => s.connects > 0).length };
  },

  async "await-rest"(scope, o) {
    const s = scope.socket(o.ns);
    const id = await s.connected();
    const [hello] = await s.next("hello");
    const rest = await s.next("rest");
    return { id, hello, rest, transport: engineTransport(s) };
  },

  async session(scope, o) {
    const s = scope.socket(o.ns);
    await s.connected();
    const [hello] = await s.next("hello");
    const [me] = await s.next("me");
    if (o.waitUpgrade) await upgraded(s);
    const [whoami] = await s.call("whoami");
    const headers = { ...o.headers, "content-type": "text/plain" };
    const posted = await boundedFetch(new URL("/note", scope.url), { method: "POST", headers, body: "from-rest" }, 3000);
    expectSame(posted, { status: 200, body: "from-rest" }, "POST /note");
    const [seen] = await s.call("get-note");
    const [saved] = await s.call("set-note", o.note);
    return { hello, me, whoami, seenBySocket: seen, saved, transport: engineTransport(s) };
  },
};

// --- main -------------------------------------------------------------------------------------

let args;
try {
  args = parseArgs(process.argv.slice(2), {
    flags: ["wait-upgrade"],
    defaults: { transports: "polling,websocket", ns: "/", headers: "{}", timeout: "20" },
  });
  if (!args.opts.scenario) throw new Error("missing --scenario NAME");
  if (!Object.hasOwn(scenarios, args.opts.scenario)) {
    throw new Error(`unknown scenario ${args.opts.scenario}; known: ${Object.keys(scenarios).join(", ")}`);
  }
} catch (e) {
  process.stderr.write(`sio-middleware: ${e.message}\n`);
  process.exit(1);
}
const { url, opts } = args;
const count = (name, fallback) => (opts[name] === undefined ? fallback : parsePositive(opts[name], name));

run("sio-middleware", parsePositive(opts.timeout, "timeout") * 1000, async (ctx) => {
  const headers = JSON.parse(opts.headers);
  const transports = parseTransports(opts.transports);
  const o = {
    ns: opts.ns,
    headers,
    waitUpgrade: Boolean(opts["wait-upgrade"]),
    idle: opts.idle === undefined ? 0 : parsePositive(opts.idle, "idle"),
    sizes: String(opts.sizes ?? "16")
      .split(",")
      .map((n) => parsePositive(n, "sizes")),
    observe: count("observe", 3000),
    size: count("size", 1000),
    window: count("window", 2000),
    pollingClients: count("polling-clients", 3),
    clients: count("clients", 5),
    note: opts.note ?? "from-socket",
  };
  const extra = Object.keys(headers).length
    ? {
        extraHeaders: headers,
        transportOptions: { polling: { extraHeaders: headers }, websocket: { extraHeaders: headers } },
      }
    : {};
  const scope = new Scope(url, { transports, msgpack: false });
  // Every socket of the scenario gets the headers.
  const socket = scope.socket.bind(scope);
  scope.socket = (nsp, options = {}) => socket(nsp, { ...extra, ...options });
  ctx.phase(`scenario ${opts.scenario}`);
  try {
    // Bounded a little before the overall timeout, so the error names what was awaited.
    const budget = parsePositive(opts.timeout, "timeout") * 1000 - 1500;
    const result = await deadline(scenarios[opts.scenario](scope, o), budget, `scenario ${opts.scenario}`);
    return { client: CLIENT_VERSION, scenario: opts.scenario, transports, result };
  } finally {
    scope.close();
    await sleep(20);
  }
});
