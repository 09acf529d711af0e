// examples-todo.mjs URL --phase first|restarted [--transports ...] [--timeout SECONDS]
//
// Drives the todo example (examples/todo) with three real socket.io-client sockets.
//
// --phase first (a new database):
//   - `todo:get` sends `todos` to the asking client: Eat, Sleep, Repeat with ids "1", "2", "3";
//   - `todo:add` (title) and `todo:remove` (id): every client receives the new full list;
//   - acknowledgements, when asked for, say whether it worked; a bad id or an empty title
//     changes nothing.
//   Ends with the list [{"1","Eat"}, {"3","Repeat"}, {"4","Write tests"}] ("5" was added and
//   removed).
// --phase restarted (the same database file, a new server): the list is still
//   [{"1","Eat"}, {"3","Repeat"}, {"4","Write tests"}], and the next item gets id "6" (ids are
//   never given twice, even those of removed items).
//
// Prints one JSON line; exit 0 on success, 1 on failure (reason on stderr).

import { parseArgs, parsePositive, run } from "./common.mjs";
import { CLIENT_VERSION, Clients, expect, expectSame, same, show, transportsOption } from "./examples-common.mjs";

const { url, opts } = parseArgs(process.argv.slice(2), { defaults: { transports: "polling,websocket", timeout: "20" } });
const timeoutMs = parsePositive(opts.timeout, "timeout") * 1000;
const transport = transportsOption(opts.transports);
const phase = opts.phase;
if (phase !== "first" && phase !== "restarted") throw new Error("--phase must be first or restarted");

const SEED = [
  { id: "1", title: "Eat" },
  { id: "2", title: "Sleep" },
  { id: "3", title: "Repeat" },
];
const AFTER_FIRST = [
  { id: "1", title: "Eat" },
  { id: "3", title: "Repeat" },
  { id: "4", title: "Write tests" },
];

/** Waits until `client` has received a `todos` equal to `list`. */
function sees(client, list, what) {
  return client.waitFor(`todos ${show(list)} (${what})`, () => client.all("todos").some(([l]) => same(l, list)));
}

/** Checks that every `todos` list a client got is well-formed: an array of {id: string, title: string}. */
function checkShapes(client) {
  for (const [list] of client.all("todos")) {
    expect(Array.isArray(list), `${client.label}: todos is not an array: ${show(list)}`);
    for (const item of list) {
      expect(
        item && typeof item.id === "string" && typeof item.title === "string" && Object.keys(item).length === 2,
        `${client.label}: a todo is not {id: string, title: string}: ${show(item)}`,
      );
    }
  }
}

run("examples-todo", timeoutMs, async (ctx) => {
  const clients = new Clients(url, transport);
  try {
    ctx.phase("connecting three clients");
    const a = await clients.connect("A");
    const b = await clients.connect("B");
    const c = await clients.connect("C");
    const all = [a, b, c];

    if (phase === "first") {
      ctx.phase("todo:get");
      a.emit("todo:get");
      expectSame((await a.next("todos"))[0], SEED, "A: todos after todo:get (the seed list)");
      // With an acknowledgement, the list comes in the ack too.
      const [acked] = await b.call("todo:get");
      expectSame(acked, SEED, "B: ack of todo:get");
      await sees(b, SEED, "B asked");

      ctx.phase("todo:add");
      b.emit("todo:add", "Write tests");
      const added = [...SEED, { id: "4", title: "Write tests" }];
      for (const cl of all) await sees(cl, added, "after B added Write tests");

      ctx.phase("todo:remove");
      c.emit("todo:remove", "2");
      const removed = [SEED[0], SEED[2], { id: "4", title: "Write tests" }];
      for (const cl of all) await sees(cl, removed, "after C removed 2");

      ctx.phase("add and remove with acknowledgements");
      const [addAck] = await a.call("todo:add", "  Ship it  ");
      expectSame(addAck, { ok: true, todo: { id: "5", title: "Ship it" } }, "A: ack of todo:add");
      for (const cl of all) await sees(cl, [...removed, { id: "5", title: "Ship it" }], "after A added Ship it");
      const [removeAck] = await b.call("todo:remove", "5");
      expectSame(removeAck, { ok: true }, "B: ack of todo:remove");
      for (const cl of all) await sees(cl, AFTER_FIRST, "after B removed 5");

      ctx.phase("refused changes");
      const count = a.all("todos").length;
      const [badId] = await a.call("todo:remove", "999");
      expectSame(badId.ok, false, `A: removing a missing id: ${show(badId)}`);
      const [empty] = await a.call("todo:add", "   ");
      expectSame(empty.ok, false, `A: adding an empty title: ${show(empty)}`);
      const [notText] = await a.call("todo:add", { nope: 1 });
      expectSame(notText.ok, false, `A: adding a non-title: ${show(notText)}`);
      // Marker: a last todo:get; no list may have come in between.
      a.emit("todo:get");
      await a.waitFor("the list after the refused changes", () => a.all("todos").length > count);
      expectSame(a.all("todos")[count][0], AFTER_FIRST, "A: list after the refused changes");
      expectSame(a.all("todos").length, count + 1, "A: number of lists (refused changes broadcast nothing)");
    } else {
      ctx.phase("todo:get after the restart");
      a.emit("todo:get");
      expectSame((await a.next("todos"))[0], AFTER_FIRST, "A: the list survived the restart");
      ctx.phase("todo:add after the restart");
      c.emit("todo:add", "After the restart");
      const grown = [...AFTER_FIRST, { id: "6", title: "After the restart" }];
      for (const cl of all) await sees(cl, grown, "after C added an item");
      const [ack] = await b.call("todo:remove", "6");
      expectSame(ack, { ok: true }, "B: ack of todo:remove");
      for (const cl of all) await sees(cl, AFTER_FIRST, "after B removed 6");
    }
    for (const cl of all) checkShapes(cl);
    return { client: CLIENT_VERSION, phase, lists: all.map((cl) => cl.all("todos").length) };
  } finally {
    clients.closeAll();
  }
});
