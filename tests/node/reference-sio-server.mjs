// reference-sio-server.mjs PORT [--msgpack] [--lifetime SECONDS]
//
// The REAL Node Socket.IO server (npm socket.io 4.8) running the "sio app" that the client
// scenarios of sio-client.mjs, sio-multi.mjs and ../python/sio_client.py exercise. Our Rust
// server runs a twin of this app (`integration_tests::spawn_sio_app`); both follow the same spec:
//
// - bound to 127.0.0.1, path /socket.io/, ping interval 300 ms, ping timeout 200 ms, connect
//   timeout 1000 ms, CORS origin "*"; the default JSON parser, or socket.io-msgpack-parser with
//   --msgpack.
// - namespace "/": on connection emits `welcome` with `{ id: socket.id, auth: handshake.auth }`;
//   handlers:
//     echo (...args)            emits `echo` back to the sender with exactly the same arguments
//     echo-ack (...args, ack)   ack(...args)
//     ask (timeoutMs)           socket.timeout(ms).emitWithAck("question", 42), then emits
//                               `answer` with { ok: true, value: <first ack arg> } or
//                               { ok: false, error: "timeout" }
//     join (room, ack?)         joins, acks with no arguments
//     leave (room, ack?)        leaves, acks with no arguments
//     rooms (ack)               acks with the socket's rooms, sorted
//     to-room (room, msg)       io.to(room).emit("room-msg", msg)
//     broadcast (msg)           socket.broadcast.emit("broadcast", msg)
//     volatile (n)              socket.volatile.emit("v", i) for i in 0..n
//     disconnect-me ()          socket.disconnect()
//     close-me ()               socket.disconnect(true)
//     reasons (ack)             acks with [{ id, nsp, reason }] of every server-side disconnect
//                               so far (every socket of every namespace), in order
// - namespace "/auth": middleware accepts handshake.auth.token === "secret", else refuses with
//   Error("unauthorized") and data { code: 401 }; on connection emits `welcome` like "/".
// - dynamic namespaces /^\/dyn-\d+$/: on connection emits `ns` with the namespace name.
// - namespace "/slow": middleware waits 200 ms then accepts; handler `echo` like "/".
// - any other namespace is refused ("Invalid namespace").
//
// Used to validate the client scripts (scripts/validate-sio-clients.sh), never by the Rust
// tests. Prints `{"listening":PORT}` once ready; exits after --lifetime seconds (default 600) or
// on SIGINT/SIGTERM. REFERENCE_SERVER_LOG=1 logs connections and disconnections on stderr.

import http from "node:http";
import { createRequire } from "node:module";
import { Server } from "socket.io";

const require = createRequire(import.meta.url);

const argv = process.argv.slice(2);
const port = Number(argv[0]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write("usage: reference-sio-server.mjs PORT [--msgpack] [--lifetime SECONDS]\n");
  process.exit(2);
}
const msgpack = argv.includes("--msgpack");
const lifetimeIndex = argv.indexOf("--lifetime");
const lifetime = lifetimeIndex >= 0 ? Number(argv[lifetimeIndex + 1]) : 600;
if (!(lifetime > 0)) {
  process.stderr.write("--lifetime must be a positive number of seconds\n");
  process.exit(2);
}
const log = process.env.REFERENCE_SERVER_LOG
  ? (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`)
  : () => {};

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});
const options = {
  path: "/socket.io/",
  pingInterval: 300,
  pingTimeout: 200,
  connectTimeout: 1000,
  cors: { origin: "*" },
};
if (msgpack) options.parser = require("socket.io-msgpack-parser");
const io = new Server(httpServer, options);

/** Every server-side disconnect so far, in order: { id, nsp, reason }. */
const reasons = [];
let connections = 0;

/** Common to every namespace: counts, logs and records the disconnect reason. */
function track(socket) {
  connections++;
  const nsp = socket.nsp.name;
  log(`connect ${nsp} ${socket.id} (engine ${socket.conn.id} over ${socket.conn.transport.name})`);
  socket.on("disconnect", (reason) => {
    reasons.push({ id: socket.id, nsp, reason });
    log(`disconnect ${nsp} ${socket.id}: ${reason}`);
  });
}

function welcome(socket) {
  socket.emit("welcome", { id: socket.id, auth: socket.handshake.auth });
}

function echoHandler(socket) {
  socket.on("echo", (...args) => socket.emit("echo", ...args));
}

const main = io.of("/");
main.on("connection", (socket) => {
  track(socket);
  welcome(socket);
  echoHandler(socket);
  socket.on("echo-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("ask", async (timeoutMs) => {
    let answer;
    try {
      const value = await socket.timeout(timeoutMs).emitWithAck("question", 42);
      answer = { ok: true, value };
    } catch {
      answer = { ok: false, error: "timeout" };
    }
    socket.emit("answer", answer);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack();
  });
  socket.on("rooms", (ack) => {
    if (typeof ack === "function") ack([...socket.rooms].sort());
  });
  socket.on("to-room", (room, msg) => io.to(room).emit("room-msg", msg));
  socket.on("broadcast", (msg) => socket.broadcast.emit("broadcast", msg));
  socket.on("volatile", (n) => {
    for (let i = 0; i < n; i++) socket.volatile.emit("v", i);
  });
  socket.on("disconnect-me", () => socket.disconnect());
  socket.on("close-me", () => socket.disconnect(true));
  socket.on("reasons", (ack) => {
    if (typeof ack === "function") ack(reasons.slice());
  });
});

const auth = io.of("/auth");
auth.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "secret") {
    next();
  } else {
    const err = new Error("unauthorized");
    err.data = { code: 401 };
    next(err);
  }
});
auth.on("connection", (socket) => {
  track(socket);
  welcome(socket);
});

io.of(/^\/dyn-\d+$/).on("connection", (socket) => {
  track(socket);
  socket.emit("ns", socket.nsp.name);
});

const slow = io.of("/slow");
slow.use((socket, next) => {
  setTimeout(() => next(), 200);
});
slow.on("connection", (socket) => {
  track(socket);
  echoHandler(socket);
});

const stop = (code) => {
  io.close();
  httpServer.close();
  process.exit(code);
};
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
setTimeout(() => {
  process.stderr.write(`reference-sio-server: lifetime of ${lifetime} s over (${connections} connections)\n`);
  stop(0);
}, lifetime * 1000);

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ listening: httpServer.address().port, msgpack }) + "\n");
});
