// The Node socket.io 4.8 server the benchmarks compare against: the same four handlers as
// examples/bench-server (Rust) and benches/bare-ws (the ceiling).
//
//   [REDIS_URL=redis://127.0.0.1:PORT] node server.mjs PORT
//
// 127.0.0.1:PORT, listen backlog 1024, TCP_NODELAY, default settings, namespace "/":
//   echo: ack with exactly the received arguments;
//   bcast (data): emit "msg" with data to every socket of the namespace, sender included;
//   join (room): join the room, ack with no arguments when an ack was requested;
//   room_bcast (room, data): emit "msg" with data to the room.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node server.mjs PORT");
  process.exit(2);
}

const httpServer = createServer({ noDelay: true });
let adapter;
if (process.env.REDIS_URL) {
  // A node of a Redis cluster (@socket.io/redis-adapter, classic Pub/Sub), as bench-server with
  // REDIS_URL: scripts/bench-cluster.sh measures cross-node broadcasts.
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pub = createClient({ url: process.env.REDIS_URL });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  adapter = createAdapter(pub, sub);
}
const io = new Server(httpServer, adapter ? { adapter } : {});

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args[args.length - 1];
    if (typeof ack === "function") {
      args.pop();
      ack(...args);
    }
  });
  socket.on("bcast", (data) => {
    io.emit("msg", data);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("room_bcast", (room, data) => {
    io.to(room).emit("msg", data);
  });
});

httpServer.listen({ port, host: "127.0.0.1", backlog: 1024 }, () => {
  console.error(`node socket.io listening on 127.0.0.1:${port}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => process.exit(0));
}
