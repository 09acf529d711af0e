// examples-chat.mjs URL [--transports polling|websocket|polling,websocket] [--timeout SECONDS]
//
// Drives the chat example (examples/chat) with real socket.io-client sockets:
// - alice, bob and carol log in one after the other: each gets `login {users}` with the right
//   count, the others `user joined {username, users}`;
// - `new message` reaches the others as `{username, message}`, never the sender;
// - `typing` / `stop typing` reach the others as `{username}`, never the sender;
// - carol then bob leave: the others get `user left {username, users}` with the counts going
//   down; a socket that never logged in leaves silently; dave logs in after the departures and
//   gets the right count.
// "Never the sender" is checked with markers: a later event from another client that would
// arrive after the one that must not come (events to one client stay in order).
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, run } from "./common.mjs";
import { CLIENT_VERSION, Clients, expectSame, transportsOption } from "./examples-common.mjs";

const { url, opts } = parseArgs(process.argv.slice(2), { defaults: { transports: "polling,websocket", timeout: "30" } });
const timeoutMs = parsePositive(opts.timeout, "timeout") * 1000;
const transport = transportsOption(opts.transports);

/** The events of `client`, as [event, payload] in arrival order (without the `numUsers` the
 * original demo's page reads, which repeats `users`). */
function chatLog(client) {
  return client.events.map((e) => {
    const payload = e.args[0] && typeof e.args[0] === "object" ? { ...e.args[0] } : e.args[0];
    if (payload && typeof payload === "object") delete payload.numUsers;
    return [e.event, payload];
  });
}

run("examples-chat", timeoutMs, async (ctx) => {
  const clients = new Clients(url, transport);
  try {
    ctx.phase("connecting alice, bob, carol");
    const alice = await clients.connect("alice");
    const bob = await clients.connect("bob");
    const carol = await clients.connect("carol");

    ctx.phase("logging in");
    alice.emit("add user", "alice");
    expectSame((await alice.next("login"))[0].users, 1, "alice: login users");
    for (const c of [bob, carol]) {
      const [joined] = await c.next("user joined");
      expectSame([joined.username, joined.users], ["alice", 1], `${c.label}: user joined alice`);
    }
    bob.emit("add user", "bob");
    expectSame((await bob.next("login"))[0].users, 2, "bob: login users");
    for (const c of [alice, carol]) {
      const [joined] = await c.next("user joined");
      expectSame([joined.username, joined.users], ["bob", 2], `${c.label}: user joined bob`);
    }
    carol.emit("add user", "carol");
    expectSame((await carol.next("login"))[0].users, 3, "carol: login users");
    for (const c of [alice, bob]) {
      const [joined] = await c.next("user joined");
      expectSame([joined.username, joined.users], ["carol", 3], `${c.label}: user joined carol`);
    }

    ctx.phase("new message");
    alice.emit("new message", "hello from alice");
    for (const c of [bob, carol]) {
      const [m] = await c.next("new message");
      expectSame(m, { username: "alice", message: "hello from alice" }, `${c.label}: new message`);
    }
    // Marker: bob's message is the first `new message` alice may see.
    bob.emit("new message", "hi alice");
    const [first] = await alice.next("new message");
    expectSame(first, { username: "bob", message: "hi alice" }, "alice: first new message (never her own)");
    expectSame((await carol.next("new message"))[0].username, "bob", "carol: bob's message");

    ctx.phase("typing");
    bob.emit("typing");
    for (const c of [alice, carol]) expectSame((await c.next("typing"))[0], { username: "bob" }, `${c.label}: typing`);
    bob.emit("stop typing");
    for (const c of [alice, carol]) {
      expectSame((await c.next("stop typing"))[0], { username: "bob" }, `${c.label}: stop typing`);
    }
    // Marker: carol's typing is the first `typing` bob may see.
    carol.emit("typing");
    expectSame((await bob.next("typing"))[0], { username: "carol" }, "bob: first typing (never his own)");
    expectSame((await alice.next("typing"))[0], { username: "carol" }, "alice: carol typing");
    carol.emit("stop typing");
    expectSame((await bob.next("stop typing"))[0], { username: "carol" }, "bob: first stop typing (never his own)");
    expectSame((await alice.next("stop typing"))[0], { username: "carol" }, "alice: carol stop typing");

    ctx.phase("leaving");
    carol.close();
    for (const c of [alice, bob]) {
      const [left] = await c.next("user left");
      expectSame(left.username, "carol", `${c.label}: user left`);
      expectSame(left.users, 2, `${c.label}: users after carol left`);
    }
    // A socket that never logged in comes and goes without a word.
    const lurker = await clients.connect("lurker");
    lurker.close();
    bob.close();
    const [bobLeft] = await alice.next("user left");
    expectSame([bobLeft.username, bobLeft.users], ["bob", 1], "alice: bob left, users");

    ctx.phase("logging in after departures");
    const dave = await clients.connect("dave");
    dave.emit("add user", "dave");
    expectSame((await dave.next("login"))[0].users, 2, "dave: login users after two left");
    const [daveJoined] = await alice.next("user joined");
    expectSame([daveJoined.username, daveJoined.users], ["dave", 2], "alice: user joined dave");
    dave.emit("new message", "last");
    expectSame((await alice.next("new message"))[0], { username: "dave", message: "last" }, "alice: dave's message");

    ctx.phase("checking the whole log of alice");
    expectSame(
      chatLog(alice),
      [
        ["login", { users: 1 }],
        ["user joined", { username: "bob", users: 2 }],
        ["user joined", { username: "carol", users: 3 }],
        ["new message", { username: "bob", message: "hi alice" }],
        ["typing", { username: "bob" }],
        ["stop typing", { username: "bob" }],
        ["typing", { username: "carol" }],
        ["stop typing", { username: "carol" }],
        ["user left", { username: "carol", users: 2 }],
        ["user left", { username: "bob", users: 1 }],
        ["user joined", { username: "dave", users: 2 }],
        ["new message", { username: "dave", message: "last" }],
      ],
      "alice: everything she received, in order",
    );
    return { client: CLIENT_VERSION, transports: transport.transports, finalTransport: alice.transport };
  } finally {
    clients.closeAll();
  }
});
