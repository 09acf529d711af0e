// examples-rest-and-socket.mjs URL [--transports ...] [--timeout SECONDS]
//
// Drives the rest-and-socket example (examples/rest-and-socket) with real socket.io-client
// sockets and fetch:
// - on connection to "/" each socket receives `message` "I'm server";
// - `GET /clients-count` is `{"count": N}`, N the number of Engine.IO connections (a socket of
//   another namespace on a shared connection does not add one; a closed one is gone);
// - `POST /client/{id}` sends `private message` "Message to client with id {id}" to exactly
//   that socket and answers 200 `{"message": "Message was sent to client with id {id}"}`;
//   an unknown id, or the id of a socket of another namespace, answers 404
//   `{"message": "Client not found"}`;
// - `/your-namespace1` and `/your-namespace2` accept connections.
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, run } from "./common.mjs";
import { CLIENT_VERSION, Clients, WAIT_MS, expectSame, http, sleep, transportsOption } from "./examples-common.mjs";

const { url, opts } = parseArgs(process.argv.slice(2), { defaults: { transports: "polling,websocket", timeout: "20" } });
const timeoutMs = parsePositive(opts.timeout, "timeout") * 1000;
const transport = transportsOption(opts.transports);

async function count() {
  const res = await http(url, "GET", "/clients-count");
  expectSame(res.status, 200, "GET /clients-count status");
  expectSame(Object.keys(res.body ?? {}), ["count"], `GET /clients-count body ${JSON.stringify(res.body)}`);
  return res.body.count;
}

/** Polls /clients-count until it is `want` (connections close asynchronously). */
async function countBecomes(want, what) {
  const started = Date.now();
  let got;
  while (Date.now() - started < WAIT_MS) {
    got = await count();
    if (got === want) return;
    await sleep(50);
  }
  throw new Error(`${what}: /clients-count stayed ${got}, expected ${want}`);
}

run("examples-rest-and-socket", timeoutMs, async (ctx) => {
  const clients = new Clients(url, transport);
  try {
    ctx.phase("nobody connected");
    expectSame(await count(), 0, "count with no client");

    ctx.phase("connecting to /");
    const a = await clients.connect("A");
    const b = await clients.connect("B");
    for (const c of [a, b]) expectSame(await c.next("message"), ["I'm server"], `${c.label}: message on connection`);
    expectSame(await count(), 2, "count with A and B");

    ctx.phase("the other namespaces");
    const n1 = await clients.connect("ns1", { nsp: "/your-namespace1" });
    const n2 = await clients.connect("ns2", { nsp: "/your-namespace2" });
    expectSame(await count(), 4, "count with A, B and two sockets of other namespaces");
    // A socket of /your-namespace1 on A's connection: no new engine connection.
    await clients.connect("A/ns1", { nsp: "/your-namespace1", manager: a.manager });
    expectSame(await count(), 4, "count after a second namespace on A's connection");

    ctx.phase("messages to the server");
    a.emit("message", "Hello from A");
    b.emit("message", { text: "Hello from B" });

    ctx.phase("POST /client/{id}");
    const resA = await http(url, "POST", `/client/${encodeURIComponent(a.id)}`);
    expectSame(resA, { status: 200, body: { message: `Message was sent to client with id ${a.id}` }, headers: resA.headers }, "POST /client/A");
    expectSame(await a.next("private message"), [`Message to client with id ${a.id}`], "A: private message");
    const resB = await http(url, "POST", `/client/${encodeURIComponent(b.id)}`);
    expectSame(resB.status, 200, "POST /client/B status");
    expectSame(await b.next("private message"), [`Message to client with id ${b.id}`], "B: private message");

    ctx.phase("POST /client/{unknown}");
    for (const id of ["nobody", "AAAAAAAAAAAAAAAAAAAA", n1.id, n2.id]) {
      const res = await http(url, "POST", `/client/${encodeURIComponent(id)}`);
      expectSame([res.status, res.body], [404, { message: "Client not found" }], `POST /client/${id}`);
    }
    // Marker for "exactly that socket": one more message to A; A must have exactly two, B one.
    await http(url, "POST", `/client/${encodeURIComponent(a.id)}`);
    await a.next("private message");
    expectSame(a.all("private message").length, 2, "A: private messages");
    expectSame(b.all("private message").length, 1, "B: private messages");
    for (const c of [n1, n2]) expectSame(c.all("private message").length, 0, `${c.label}: private messages`);

    ctx.phase("a client leaves");
    const bId = b.id;
    b.close();
    await countBecomes(3, "after B left");
    const res = await http(url, "POST", `/client/${encodeURIComponent(bId)}`);
    expectSame(res.status, 404, "POST /client/B after B left");
    n1.close();
    n2.close();
    await countBecomes(1, "after the namespace sockets left");
    return { client: CLIENT_VERSION, transports: transport.transports };
  } finally {
    clients.closeAll();
  }
});
