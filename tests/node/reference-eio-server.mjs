// reference-eio-server.mjs PORT [--v3] [--lifetime SECONDS]
//
// The REAL Node Engine.IO server (npm engine.io 6.6), configured like our conformance server in
// `engineio` mode: bound to 127.0.0.1, path /engine.io/, ping interval 300 ms, ping timeout
// 200 ms, max payload 1e6, CORS origin "*", echoing every message back to its sender. With --v3
// it also accepts Engine.IO v3 clients (allowEIO3). PORT 0 picks a free port.
//
// Used to validate the client scripts (and later for benchmarks), never by the Rust tests.
// Prints `{"listening":PORT}` once ready; exits after --lifetime seconds (default 600) or on
// SIGINT/SIGTERM.

import http from "node:http";
import { attach } from "engine.io";

const argv = process.argv.slice(2);
const port = Number(argv[0]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write("usage: reference-eio-server.mjs PORT [--v3] [--lifetime SECONDS]\n");
  process.exit(2);
}
const v3 = argv.includes("--v3");
const lifetimeIndex = argv.indexOf("--lifetime");
const lifetime = lifetimeIndex >= 0 ? Number(argv[lifetimeIndex + 1]) : 600;
if (!(lifetime > 0)) {
  process.stderr.write("--lifetime must be a positive number of seconds\n");
  process.exit(2);
}

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("not found\n");
});
const engine = attach(httpServer, {
  path: "/engine.io",
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  allowEIO3: v3,
  cors: { origin: "*" },
});
let connections = 0;
engine.on("connection", (socket) => {
  connections++;
  socket.on("message", (data) => socket.send(data));
  if (process.env.REFERENCE_SERVER_LOG) {
    process.stderr.write(`connection ${socket.id} EIO${socket.protocol} over ${socket.transport.name}\n`);
    socket.on("upgrade", (t) => process.stderr.write(`upgrade ${socket.id} to ${t.name}\n`));
    socket.on("close", (reason, desc) => process.stderr.write(`close ${socket.id}: ${reason} ${desc ? desc.message ?? desc : ""}\n`));
  }
});

const stop = (code) => {
  engine.close();
  httpServer.close();
  process.exit(code);
};
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
setTimeout(() => {
  process.stderr.write(`reference-eio-server: lifetime of ${lifetime} s over (${connections} connections)\n`);
  stop(0);
}, lifetime * 1000);

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ listening: httpServer.address().port, v3 }) + "\n");
});
