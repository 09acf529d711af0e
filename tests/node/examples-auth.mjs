// examples-auth.mjs URL [--transports ...] [--timeout SECONDS]
//
// Drives the auth example (examples/auth) with fetch and real socket.io-client sockets:
// - `POST /login` issues a JWT for alice (admin) and bob, and answers 401 to a wrong password;
// - a handshake without a token, with a malformed one, or with a forged signature is refused
//   by the tower layer (401): the client gets `connect_error`, over each transport;
// - a token in the query (`?token=`) or in `Authorization: Bearer` is accepted: `/` emits
//   `welcome` {username, admin};
// - `/admin` wants the token in the CONNECT auth payload with `admin: true`: alice gets in
//   (`welcome` {username, admin: true, clients}); bob gets `connect_error` "not an admin" (with
//   `data.username`) while his `/` socket stays connected; a missing auth token or a bad one is
//   refused with its own message.
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, run } from "./common.mjs";
import { CLIENT_VERSION, Clients, expect, expectSame, http, transportsOption } from "./examples-common.mjs";

const { url, opts } = parseArgs(process.argv.slice(2), { defaults: { transports: "polling,websocket", timeout: "20" } });
const timeoutMs = parsePositive(opts.timeout, "timeout") * 1000;
const transport = transportsOption(opts.transports);

async function login(username, password) {
  const res = await http(url, "POST", "/login", { body: { username, password } });
  return res;
}

/** The token with its signature's last characters changed. */
function forge(token) {
  const last = token.slice(-4);
  return token.slice(0, -4) + (last === "AAAA" ? "BBBB" : "AAAA");
}

run("examples-auth", timeoutMs, async (ctx) => {
  const clients = new Clients(url, transport);
  try {
    ctx.phase("POST /login");
    const wrong = await login("alice", "nope");
    expectSame(wrong.status, 401, "login with a wrong password");
    const alice = await login("alice", "wonderland");
    expectSame([alice.status, alice.body.username, alice.body.admin], [200, "alice", true], "alice's login");
    const bob = await login("bob", "builder");
    expectSame([bob.status, bob.body.username, bob.body.admin], [200, "bob", false], "bob's login");
    const aliceToken = alice.body.token;
    const bobToken = bob.body.token;
    expect(typeof aliceToken === "string" && aliceToken.split(".").length === 3, `alice's token is a JWT: ${aliceToken}`);

    ctx.phase("handshakes refused by the layer");
    const refused = [
      ["no token, polling", { transports: ["polling"] }],
      ["no token, websocket", { transports: ["websocket"] }],
      ["a malformed token", { query: { token: "not-a-jwt" } }],
      ["a forged token", { query: { token: forge(aliceToken) } }],
      ["a forged bearer token, websocket", { transports: ["websocket"], extraHeaders: { authorization: `Bearer ${forge(bobToken)}` } }],
    ];
    const errors = {};
    for (const [what, options] of refused) {
      const c = clients.open(what, options);
      const err = await c.connectError();
      errors[what] = err.message;
      expect(c.connects === 0, `${what}: connected anyway`);
    }

    ctx.phase("handshakes accepted");
    const a = await clients.connect("alice (query)", { query: { token: aliceToken } });
    expectSame(await a.next("welcome"), [{ username: "alice", admin: true }], "alice: welcome");
    const b = await clients.connect("bob (bearer)", { extraHeaders: { authorization: `Bearer ${bobToken}` } });
    expectSame(await b.next("welcome"), [{ username: "bob", admin: false }], "bob: welcome");
    const bws = await clients.connect("bob (query, websocket)", { transports: ["websocket"], query: { token: bobToken } });
    expectSame(await bws.next("welcome"), [{ username: "bob", admin: false }], "bob over websocket: welcome");

    ctx.phase("/admin");
    const admin = await clients.connect("alice /admin", { nsp: "/admin", manager: a.manager, auth: { token: aliceToken } });
    const [adminWelcome] = await admin.next("welcome");
    expectSame([adminWelcome.username, adminWelcome.admin], ["alice", true], "alice /admin: welcome");
    expect(Number.isInteger(adminWelcome.clients) && adminWelcome.clients >= 3, `alice /admin: clients ${adminWelcome.clients}`);

    const notAdmin = clients.open("bob /admin", { nsp: "/admin", manager: b.manager, auth: { token: bobToken } });
    const notAdminErr = await notAdmin.connectError();
    expectSame(notAdminErr, { message: "not an admin", data: { username: "bob" } }, "bob /admin: connect_error");
    // (A Manager has one socket per namespace: these attempts need connections of their own.)
    const noAuth = clients.open("alice /admin without auth", { nsp: "/admin", query: { token: aliceToken } });
    expectSame((await noAuth.connectError()).message, "missing token in the auth payload", "/admin without auth");
    const badAuth = clients.open("alice /admin with a forged token", {
      nsp: "/admin",
      query: { token: aliceToken },
      auth: { token: forge(aliceToken) },
    });
    expect((await badAuth.connectError()).message.startsWith("invalid token"), "/admin with a forged token");

    ctx.phase("the / sockets are still fine");
    // bob's / socket is still connected after his /admin refusal: a new /admin welcome for alice
    // counts him, and neither / socket saw a disconnect (the Client would have failed).
    expect(b.socket.connected && a.socket.connected && admin.socket.connected, "sockets still connected");
    return { client: CLIENT_VERSION, transports: transport.transports, refusals: errors };
  } finally {
    clients.closeAll();
  }
});
