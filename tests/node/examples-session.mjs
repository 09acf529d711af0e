// examples-session.mjs URL [--transports ...] [--timeout SECONDS]
//
// Drives the session example (examples/session) with fetch and real socket.io-client sockets
// (the session cookie set by `POST /login` is sent with the handshake, as a browser does):
// - an anonymous socket gets `connect_error` "not logged in"; so does one with a bogus cookie;
// - a wrong password answers 401;
// - alice and bob log in (their own cookies) and connect, alice twice: each socket receives
//   `welcome` {message: "Hello, <Name>!", username, name}, and `whoami` is acknowledged with
//   {username, name};
// - `POST /logout` with alice's cookie disconnects both her sockets and leaves bob's; her
//   cookie then no longer connects.
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, run } from "./common.mjs";
import { CLIENT_VERSION, Clients, expectSame, http, transportsOption } from "./examples-common.mjs";

const { url, opts } = parseArgs(process.argv.slice(2), { defaults: { transports: "polling,websocket", timeout: "20" } });
const timeoutMs = parsePositive(opts.timeout, "timeout") * 1000;
const transport = transportsOption(opts.transports);

/** Logs in; resolves to the `Cookie` header value of the session. */
async function login(username, password) {
  const res = await http(url, "POST", "/login", { body: { username, password } });
  expectSame(res.status, 200, `login of ${username}`);
  const cookies = res.headers.getSetCookie().map((c) => c.split(";")[0]);
  if (cookies.length === 0) throw new Error(`login of ${username}: no Set-Cookie`);
  return cookies.join("; ");
}

run("examples-session", timeoutMs, async (ctx) => {
  const clients = new Clients(url, transport);
  try {
    ctx.phase("anonymous");
    const anon = clients.open("anonymous");
    expectSame((await anon.connectError()).message, "not logged in", "anonymous: connect_error");
    const bogus = clients.open("bogus cookie", { extraHeaders: { cookie: "id=bogus" } });
    expectSame((await bogus.connectError()).message, "not logged in", "bogus cookie: connect_error");
    const wrong = await http(url, "POST", "/login", { body: { username: "alice", password: "nope" } });
    expectSame(wrong.status, 401, "a wrong password");

    ctx.phase("logging in");
    const aliceCookie = await login("alice", "wonderland");
    const bobCookie = await login("bob", "builder");
    const me = await http(url, "GET", "/me", { headers: { cookie: aliceCookie } });
    expectSame([me.status, me.body], [200, { username: "alice", name: "Alice" }], "GET /me as alice");

    ctx.phase("connecting with the session cookies");
    const alice1 = await clients.connect("alice 1", { extraHeaders: { cookie: aliceCookie } });
    const alice2 = await clients.connect("alice 2", { extraHeaders: { cookie: aliceCookie }, transports: ["websocket"] });
    const bob = await clients.connect("bob", { extraHeaders: { cookie: bobCookie } });
    for (const c of [alice1, alice2]) {
      expectSame(await c.next("welcome"), [{ message: "Hello, Alice!", username: "alice", name: "Alice" }], `${c.label}: welcome`);
    }
    expectSame(await bob.next("welcome"), [{ message: "Hello, Bob!", username: "bob", name: "Bob" }], "bob: welcome");
    expectSame(await alice2.call("whoami"), [{ username: "alice", name: "Alice" }], "alice 2: whoami");
    expectSame(await bob.call("whoami"), [{ username: "bob", name: "Bob" }], "bob: whoami");

    ctx.phase("logging out");
    const out = await http(url, "POST", "/logout", { headers: { cookie: aliceCookie } });
    expectSame(out.status, 200, "logout of alice");
    for (const c of [alice1, alice2]) expectSame(await c.disconnected(), "io server disconnect", `${c.label}: disconnected by the logout`);
    expectSame(await bob.call("whoami"), [{ username: "bob", name: "Bob" }], "bob after alice's logout: whoami");
    const after = clients.open("alice after logout", { extraHeaders: { cookie: aliceCookie } });
    expectSame((await after.connectError()).message, "not logged in", "alice's cookie after the logout");
    return { client: CLIENT_VERSION, transports: transport.transports };
  } finally {
    clients.closeAll();
  }
});
