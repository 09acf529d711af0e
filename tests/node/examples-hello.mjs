// examples-hello.mjs URL [--transports ...] [--timeout SECONDS]
//
// Drives the hello example (examples/hello) with real socket.io-client sockets:
// - every socket receives `hello` 1, 2, 3... about once a second (the first one about a second
//   after it connected), its own counter: B, connected later than A, starts at 1 too;
// - `hi` {counter} from the client is accepted (the server logs it);
// - a socket that disconnects and connects again starts again at 1.
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, run } from "./common.mjs";
import { CLIENT_VERSION, Clients, expect, expectSame, sleep, transportsOption } from "./examples-common.mjs";

const { url, opts } = parseArgs(process.argv.slice(2), { defaults: { transports: "polling,websocket", timeout: "20" } });
const timeoutMs = parsePositive(opts.timeout, "timeout") * 1000;
const transport = transportsOption(opts.transports);

/** Records when each `hello` arrives, relative to the connection. */
function timed(client) {
  const times = [];
  const start = Date.now();
  client.socket.on("hello", () => times.push(Date.now() - start));
  return times;
}

/** The counters `client` received. */
const counters = (client) => client.all("hello").map((args) => args[0]);

function checkRhythm(times, label) {
  // First one about one second after connecting, then one a second (generous bounds: CI).
  expect(times[0] >= 700 && times[0] <= 2500, `${label}: first hello after ${times[0]} ms, expected about 1000`);
  for (let i = 1; i < times.length; i++) {
    const gap = times[i] - times[i - 1];
    expect(gap >= 500 && gap <= 2000, `${label}: hello ${i + 1} came ${gap} ms after the previous one, expected about 1000`);
  }
}

run("examples-hello", timeoutMs, async (ctx) => {
  const clients = new Clients(url, transport);
  try {
    ctx.phase("A connects");
    const a = clients.open("A");
    const aTimes = timed(a);
    await a.connected();
    await sleep(500);
    ctx.phase("B connects half a second later");
    const b = clients.open("B");
    const bTimes = timed(b);
    await b.connected();

    ctx.phase("counting");
    for (let n = 1; n <= 3; n++) {
      const [counter] = await a.next("hello", 3000);
      expectSame(counter, n, `A: hello #${n}`);
      a.emit("hi", { counter });
    }
    for (let n = 1; n <= 2; n++) expectSame((await b.next("hello", 3000))[0], n, `B: hello #${n}`);
    checkRhythm(aTimes, "A");
    checkRhythm(bTimes, "B");

    ctx.phase("A again, after a disconnection");
    a.close();
    const again = clients.open("A again");
    await again.connected();
    expectSame((await again.next("hello", 3000))[0], 1, "A again: its counter starts at 1");
    expectSame((await b.next("hello", 3000))[0], 3, "B: hello #3 (its counter goes on)");
    expectSame(counters(a), [1, 2, 3], "A: every counter received");
    return { client: CLIENT_VERSION, transports: transport.transports, a: counters(a), b: counters(b) };
  } finally {
    clients.closeAll();
  }
});
