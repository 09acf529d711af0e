// eio-echo.mjs URL --transports polling|websocket|polling,websocket [--upgrade true|false] [--v3]
//              [--timeout SECONDS]
//
// Connects with the real engine.io-client (6.x, or 3.5 with --v3) to URL at path /engine.io/,
// against a server that echoes every message back to its sender, and checks that text
// ("hello", 1000 chars, "héllo €𝄞") and binary (4 bytes, 100 KB) come back unchanged: text as
// strings, binary as bytes. Each batch is sent pipelined (all at once) and the echoes must arrive
// in order.
//
// --upgrade defaults to true when both transports are given. When an upgrade is expected, one
// batch is sent right after `open` (while the probe is under way, so it may be buffered across
// the switch), then the script waits for the `upgrade` event, checks the transport is now
// "websocket", and sends a second batch. Without upgrade the transport must stay the first one.
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import {
  EioSession,
  echoPayloads,
  loadEioClient,
  parseArgs,
  parseBool,
  parsePositive,
  parseTransports,
  run,
} from "./common.mjs";

let args;
try {
  args = parseArgs(process.argv.slice(2), {
    flags: ["v3"],
    defaults: { transports: "polling,websocket", timeout: "20" },
  });
} catch (e) {
  process.stderr.write(`eio-echo: ${e.message}\n`);
  process.exit(1);
}
const { url, opts } = args;

run("eio-echo", parsePositive(opts.timeout, "timeout") * 1000, async (ctx) => {
  const transports = parseTransports(opts.transports);
  const bothTransports = transports.length > 1;
  const upgrade = opts.upgrade === undefined ? bothTransports : parseBool(opts.upgrade, "upgrade");
  const expectUpgrade = upgrade && transports[0] === "polling" && transports.includes("websocket");
  const client = await loadEioClient(Boolean(opts.v3));

  ctx.phase("connecting");
  const session = new EioSession(client, url, { transports, upgrade, label: transports.join(",") });
  try {
    await session.open();
    const firstTransport = session.transportName;
    if (firstTransport !== transports[0]) {
      throw new Error(`opened over ${firstTransport}, expected ${transports[0]}`);
    }
    const payloads = echoPayloads();
    let batches = 0;
    if (expectUpgrade) {
      ctx.phase("echoing the first batch (sent during the upgrade) and waiting for the upgrade");
      const firstBatch = session.echoAll(payloads);
      await Promise.all([firstBatch, session.waitUpgrade()]);
      batches++;
      ctx.phase("echoing the second batch (after the upgrade)");
      await session.echoAll(payloads);
      batches++;
    } else {
      ctx.phase("echoing");
      await session.echoAll(payloads);
      batches++;
      if (session.upgraded) throw new Error(`upgraded to ${session.upgradedTo} although no upgrade was expected`);
      if (session.transportName !== firstTransport) {
        throw new Error(`transport changed from ${firstTransport} to ${session.transportName}`);
      }
    }
    const failure = session.failure();
    if (failure) throw new Error(failure);
    const transport = session.transportName;
    ctx.phase("closing");
    const closed = await session.close();
    return {
      client: `engine.io-client@${client.version}`,
      protocol: client.protocol,
      transports,
      upgrade,
      sid: session.sid,
      firstTransport,
      upgraded: session.upgraded,
      transport,
      echoed: session.messages.length,
      batches,
      closeReason: closed.reason,
    };
  } catch (e) {
    session.abort();
    throw e;
  }
});
