// eio-idle.mjs URL --seconds N [--transports polling|websocket|polling,websocket] [--upgrade true|false]
//              [--sessions polling,websocket,upgrade] [--v3] [--timeout SECONDS]
//
// Connects with the real engine.io-client (6.x, or 3.5 with --v3) to URL at path /engine.io/,
// stays idle for N seconds and checks that
// - the socket never closed or errored (a close fails the script at once, not after N s);
// - the heartbeat kept running: at least floor(N * 1000 / pingInterval / 2) heartbeats were seen
//   during the idle time, pingInterval being the one announced in the handshake (300 ms on our
//   test servers). v6 client (Engine.IO v4): the server pings, counted on the client's "ping"
//   event. v3 client (Engine.IO v3): the client pings, counted on its "pong" event (the server's
//   answer);
// - the transport did not change (an upgraded session stays on websocket);
// then sends one message, checks its echo, and closes cleanly.
//
// --sessions runs several sessions concurrently in this one process, each kind one of
// `polling` (polling only), `websocket` (websocket only) and `upgrade` (polling upgraded to
// websocket, waiting for the upgrade before idling). Without --sessions, one session uses
// --transports (default polling,websocket) and --upgrade (default: true with both transports).
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import {
  EioSession,
  loadEioClient,
  parseArgs,
  parseBool,
  parsePositive,
  parseTransports,
  run,
} from "./common.mjs";

let args;
try {
  args = parseArgs(process.argv.slice(2), { flags: ["v3"], defaults: { transports: "polling,websocket" } });
} catch (e) {
  process.stderr.write(`eio-idle: ${e.message}\n`);
  process.exit(1);
}
const { url, opts } = args;

function sessionSpecs() {
  if (opts.sessions !== undefined) {
    const kinds = String(opts.sessions)
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean);
    if (kinds.length === 0 || kinds.length > 16) throw new Error("--sessions must list 1 to 16 kinds");
    return kinds.map((kind, i) => {
      const label = `${kind}#${i}`;
      switch (kind) {
        case "polling":
          return { kind, label, transports: ["polling"], upgrade: false, expectUpgrade: false };
        case "websocket":
          return { kind, label, transports: ["websocket"], upgrade: false, expectUpgrade: false };
        case "upgrade":
          return { kind, label, transports: ["polling", "websocket"], upgrade: true, expectUpgrade: true };
        default:
          throw new Error(`unknown session kind ${JSON.stringify(kind)} (expected polling, websocket or upgrade)`);
      }
    });
  }
  const transports = parseTransports(opts.transports);
  const upgrade = opts.upgrade === undefined ? transports.length > 1 : parseBool(opts.upgrade, "upgrade");
  const expectUpgrade = upgrade && transports[0] === "polling" && transports.includes("websocket");
  return [{ kind: transports.join(","), label: transports.join(","), transports, upgrade, expectUpgrade }];
}

/** Resolves after `ms`; rejects as soon as the session fails. */
function idle(session, ms) {
  return new Promise((resolve, reject) => {
    let timer;
    const check = () => {
      const f = session.failure();
      if (f) {
        clearTimeout(timer);
        session.waiters = session.waiters.filter((w) => w !== check);
        reject(new Error(`${f} (while idle)`));
      }
    };
    timer = setTimeout(() => {
      session.waiters = session.waiters.filter((w) => w !== check);
      resolve();
    }, ms);
    session.waiters.push(check);
    check();
  });
}

async function runSession(client, spec, seconds) {
  const session = new EioSession(client, url, { transports: spec.transports, upgrade: spec.upgrade, label: spec.label });
  try {
    await session.open();
    if (session.transportName !== spec.transports[0]) {
      throw new Error(`${spec.label}: opened over ${session.transportName}, expected ${spec.transports[0]}`);
    }
    if (spec.expectUpgrade) await session.waitUpgrade();
    const transport = session.transportName;
    const pingInterval = Number(session.handshake && session.handshake.pingInterval);
    if (!(pingInterval > 0)) throw new Error(`${spec.label}: no pingInterval in the handshake`);
    const minPings = Math.floor((seconds * 1000) / pingInterval / 2);

    const before = session.pings.length;
    const idleStart = Date.now() - session.handshakeAt;
    await idle(session, seconds * 1000);
    const during = session.pings.slice(before);
    // Largest time without a heartbeat during the idle period (edges included).
    const marks = [idleStart, ...during, Date.now() - session.handshakeAt];
    let maxGapMs = 0;
    for (let i = 1; i < marks.length; i++) maxGapMs = Math.max(maxGapMs, marks[i] - marks[i - 1]);

    if (during.length < minPings) {
      throw new Error(`${spec.label}: only ${during.length} heartbeats in ${seconds} s, expected at least ${minPings}`);
    }
    if (session.transportName !== transport) {
      throw new Error(`${spec.label}: transport changed from ${transport} to ${session.transportName} while idle`);
    }
    await session.echo(`still alive after ${seconds} s (${spec.label})`, "message after the idle time");
    const closed = await session.close();
    return {
      kind: spec.kind,
      sid: session.sid,
      transport,
      upgraded: session.upgraded,
      pingInterval,
      pingTimeout: session.handshake.pingTimeout,
      heartbeats: during.length,
      minHeartbeats: minPings,
      firstHeartbeatMs: session.pings.length > 0 ? session.pings[0] : null,
      maxGapMs,
      closeReason: closed.reason,
    };
  } catch (e) {
    session.abort();
    throw e;
  }
}

let seconds;
try {
  seconds = parsePositive(opts.seconds, "seconds");
} catch (e) {
  process.stderr.write(`eio-idle: ${e.message}\n`);
  process.exit(1);
}
const timeoutSeconds = opts.timeout !== undefined ? parsePositive(opts.timeout, "timeout") : seconds + 30;

run("eio-idle", timeoutSeconds * 1000, async (ctx) => {
  const specs = sessionSpecs();
  const client = await loadEioClient(Boolean(opts.v3));
  ctx.phase(`running ${specs.length} session(s): connect, idle ${seconds} s, echo, close`);
  const sessions = await Promise.all(specs.map((spec) => runSession(client, spec, seconds)));
  return {
    client: `engine.io-client@${client.version}`,
    protocol: client.protocol,
    seconds,
    sessions,
  };
});
