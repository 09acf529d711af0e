// examples-rooms.mjs URL [--transports ...] [--timeout SECONDS]
//
// Drives the rooms example (examples/rooms) with real socket.io-client sockets. On
// `IO_CLIENT_JOIN_ROOM` (room) the server emits `IO_SERVER_HELLO` "Hello everyone!" to every
// socket, "Hello clients of room {room}!" to the room (the joiner included) and "Hello you!" to
// the joiner, in that order:
// - A joins r1, then B joins r1, then C joins r2 (each step waits until everyone has its
//   greetings); a last client D joins "end", whose "Hello everyone!" is everyone's end marker;
// - every client's whole sequence of greetings up to the marker is checked exactly, so a
//   greeting that went to a wrong socket fails the script;
// - `IO_CLIENT_HELLO` messages are accepted (the server logs them) and change nothing.
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, run } from "./common.mjs";
import { CLIENT_VERSION, Clients, expectSame, transportsOption } from "./examples-common.mjs";

const { url, opts } = parseArgs(process.argv.slice(2), { defaults: { transports: "polling,websocket", timeout: "20" } });
const timeoutMs = parsePositive(opts.timeout, "timeout") * 1000;
const transport = transportsOption(opts.transports);

const EVERYONE = "Hello everyone!";
const YOU = "Hello you!";
const room = (r) => `Hello clients of room ${r}!`;

/** The greetings `client` got so far. */
const hellos = (client) => client.all("IO_SERVER_HELLO").map((args) => args[0]);

/** Waits until `client` has `n` greetings. */
const has = (client, n) => client.waitFor(`${n} greetings`, () => hellos(client).length >= n);

run("examples-rooms", timeoutMs, async (ctx) => {
  const clients = new Clients(url, transport);
  try {
    ctx.phase("connecting");
    const a = await clients.connect("A");
    const b = await clients.connect("B");
    const c = await clients.connect("C");

    ctx.phase("A joins r1");
    a.emit("IO_CLIENT_HELLO", "Hello!");
    a.emit("IO_CLIENT_JOIN_ROOM", "r1");
    await Promise.all([has(a, 3), has(b, 1), has(c, 1)]);

    ctx.phase("B joins r1");
    b.emit("IO_CLIENT_JOIN_ROOM", "r1");
    await Promise.all([has(a, 5), has(b, 4), has(c, 2)]);

    ctx.phase("C joins r2");
    c.emit("IO_CLIENT_JOIN_ROOM", "r2");
    c.emit("IO_CLIENT_HELLO", { text: "hi from C" });
    await Promise.all([has(a, 6), has(b, 5), has(c, 5)]);

    ctx.phase("end marker");
    const d = await clients.connect("D");
    d.emit("IO_CLIENT_JOIN_ROOM", "end");
    await Promise.all([has(a, 7), has(b, 6), has(c, 6), has(d, 3)]);

    ctx.phase("checking every sequence");
    expectSame(hellos(a), [EVERYONE, room("r1"), YOU, EVERYONE, room("r1"), EVERYONE, EVERYONE], "A's greetings");
    expectSame(hellos(b), [EVERYONE, EVERYONE, room("r1"), YOU, EVERYONE, EVERYONE], "B's greetings");
    expectSame(hellos(c), [EVERYONE, EVERYONE, EVERYONE, room("r2"), YOU, EVERYONE], "C's greetings");
    expectSame(hellos(d), [EVERYONE, room("end"), YOU], "D's greetings");
    for (const cl of [a, b, c, d]) {
      expectSame([...new Set(cl.names())], ["IO_SERVER_HELLO"], `${cl.label}: events other than IO_SERVER_HELLO`);
    }
    return { client: CLIENT_VERSION, transports: transport.transports };
  } finally {
    clients.closeAll();
  }
});
