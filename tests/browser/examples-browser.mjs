// examples-browser.mjs URL --scenario chat|chat-polling|todo --screenshot FILE.png
//                      [--chromium /usr/bin/chromium] [--timeout SECONDS]
//
// Drives the example pages in a real browser: Debian's Chromium (never a downloaded one),
// headless, with a fresh profile, through the npm `playwright-core` of tests/node. Two pages
// (two Socket.IO clients) of the same app:
//
//   chat          both log in and see the participant counts; bob's typing indicator shows on
//                 alice's page; messages typed on one page appear on the other; closing bob's
//                 page shows "bob left" and the new count on alice's page. The pages stay on
//                 (or upgrade to) WebSocket.
//   chat-polling  the same with the client forced to HTTP long-polling (`?transports=polling`);
//                 the pages must still be on polling at the end.
//   todo          both pages show the list; an item added on one page appears on the other,
//                 an item removed on the other disappears from the first.
//
// Saves a screenshot of the first page at the end (on failure too, when it can) to FILE.png.
// Only ever talks to 127.0.0.1. Prints one JSON line; exit 0 on success, 1 on failure.

import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// The npm packages live in tests/node (its package.json pins playwright-core).
const nodeDir = join(here, "..", "node");
const require = createRequire(join(nodeDir, "package.json"));
const { chromium } = require("playwright-core");
const { parseArgs, parsePositive, run } = await import(join(nodeDir, "common.mjs"));

const { url, opts } = parseArgs(process.argv.slice(2), {
  defaults: { chromium: "/usr/bin/chromium", timeout: "60" },
});
const timeoutMs = parsePositive(opts.timeout, "timeout") * 1000;
const scenario = opts.scenario;
const screenshot = opts.screenshot;
if (!["chat", "chat-polling", "todo"].includes(scenario)) throw new Error(`unknown --scenario ${scenario}`);
if (!screenshot) throw new Error("missing --screenshot FILE.png");

/** How long one expectation may take to come true in a page (ms). */
const EXPECT_MS = 10000;

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];

/** Collects what goes wrong inside a page (uncaught errors, console errors). */
function watch(page, label, problems) {
  page.on("pageerror", (err) => problems.push(`${label}: page error: ${err.message}`));
  page.on("console", (msg) => {
    // The browser asks for /favicon.ico on its own; the examples have none.
    if (msg.type() === "error" && !(msg.location().url || "").endsWith("/favicon.ico")) {
      problems.push(`${label}: console error: ${msg.text()} (${msg.location().url})`);
    }
  });
  // Everything the page loads must come from the app under test.
  page.on("request", (req) => {
    const host = new URL(req.url()).hostname;
    if (req.url().startsWith("http") && host !== "127.0.0.1") problems.push(`${label}: request to ${req.url()}`);
  });
}

/** Waits until `selector` matches an element whose text contains `text`. */
async function seeText(page, selector, text, what) {
  try {
    await page.locator(selector, { hasText: text }).first().waitFor({ state: "visible", timeout: EXPECT_MS });
  } catch (e) {
    const shown = await page.locator(selector).allTextContents().catch(() => []);
    throw new Error(`${what}: no ${selector} with ${JSON.stringify(text)} within ${EXPECT_MS} ms (shown: ${JSON.stringify(shown.slice(-12))})`);
  }
}

/** The Engine.IO transport a page's socket uses. */
function transportOf(page, global) {
  return page.evaluate((g) => {
    const s = window[g];
    return s && s.io && s.io.engine && s.io.engine.transport ? s.io.engine.transport.name : null;
  }, global);
}

async function waitTransport(page, global, want, what) {
  const started = Date.now();
  let got;
  while (Date.now() - started < EXPECT_MS) {
    got = await transportOf(page, global);
    if (got === want) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: transport is ${got}, expected ${want}`);
}

async function chat(context, pages, polling) {
  const query = polling ? "/?transports=polling" : "/";
  const [alice, bob] = pages;

  await alice.goto(url + query);
  await alice.locator(".usernameInput").fill("alice");
  await alice.keyboard.press("Enter");
  await seeText(alice, ".log", "there's 1 participant", "alice after logging in");

  await bob.goto(url + query);
  await bob.locator(".usernameInput").fill("bob");
  await bob.keyboard.press("Enter");
  await seeText(bob, ".log", "there are 2 participants", "bob after logging in");
  await seeText(alice, ".log", "bob joined", "alice sees bob join");
  await seeText(alice, ".log", "there are 2 participants", "alice sees the new count");

  // Typing: bob types (key by key, so the page emits `typing`), alice sees the indicator.
  await bob.locator(".inputMessage").click();
  await bob.keyboard.type("hi alice", { delay: 20 });
  await seeText(alice, ".message.typing", "bob", "alice sees bob typing");
  await bob.keyboard.press("Enter");
  await seeText(alice, ".message:not(.typing)", "hi alice", "alice sees bob's message");
  await alice
    .locator(".message.typing")
    .first()
    .waitFor({ state: "detached", timeout: EXPECT_MS })
    .catch(() => {
      throw new Error("alice still sees bob typing after his message");
    });

  await alice.locator(".inputMessage").click();
  await alice.keyboard.type("hello bob");
  await alice.keyboard.press("Enter");
  await seeText(bob, ".message:not(.typing)", "hello bob", "bob sees alice's message");
  await seeText(alice, ".message:not(.typing)", "hello bob", "alice sees her own message");

  const want = polling ? "polling" : "websocket";
  await waitTransport(alice, "chatSocket", want, "alice");
  await waitTransport(bob, "chatSocket", want, "bob");

  // Bob closes his page: alice is told.
  await bob.close();
  await seeText(alice, ".log", "bob left", "alice sees bob leave");
  await seeText(alice, ".log", "there's 1 participant", "alice sees the count after bob left");
  return { transport: await transportOf(alice, "chatSocket") };
}

async function todo(context, pages) {
  const [first, second] = pages;
  for (const page of pages) {
    await page.goto(url + "/");
    for (const title of ["Eat", "Sleep", "Repeat"]) await seeText(page, "#todos .todo .title", title, "the seed list");
  }
  const title = `Buy milk ${Date.now() % 100000}`;
  await first.locator("#new-title").fill(title);
  await first.keyboard.press("Enter");
  await seeText(second, "#todos .todo .title", title, "the second page sees the added item");
  await seeText(first, "#todos .todo .title", title, "the first page sees the added item");

  await second.locator("#todos .todo", { hasText: "Sleep" }).locator("button.remove").click();
  await first
    .locator("#todos .todo", { hasText: "Sleep" })
    .waitFor({ state: "detached", timeout: EXPECT_MS })
    .catch(() => {
      throw new Error("the first page still shows Sleep after the second removed it");
    });
  const shown = await first.locator("#todos .todo .title").allTextContents();
  if (JSON.stringify(shown) !== JSON.stringify(["Eat", "Repeat", title])) {
    throw new Error(`the first page shows ${JSON.stringify(shown)}`);
  }
  return { items: shown };
}

run(`examples-browser ${scenario}`, timeoutMs, async (ctx) => {
  const profile = mkdtempSync(join(tmpdir(), "tower-socketio-chromium-"));
  let context;
  const problems = [];
  let pages = [];
  try {
    ctx.phase("launching chromium");
    context = await chromium.launchPersistentContext(profile, {
      executablePath: opts.chromium,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 900, height: 640 },
      timeout: 30000,
    });
    // A persistent context opens with one blank page.
    pages = [context.pages()[0] ?? (await context.newPage()), await context.newPage()];
    pages.forEach((p, i) => watch(p, `page ${i + 1}`, problems));

    ctx.phase(scenario);
    const result =
      scenario === "todo" ? await todo(context, pages) : await chat(context, pages, scenario === "chat-polling");
    if (problems.length) throw new Error(problems.join("; "));

    ctx.phase("screenshot");
    // Let the pages' fade-in transitions finish.
    await pages[0].waitForTimeout(400);
    mkdirSync(dirname(screenshot), { recursive: true });
    await pages[0].screenshot({ path: screenshot });
    return { scenario, screenshot, browser: context.browser()?.version() ?? "chromium", ...result };
  } catch (e) {
    if (pages[0] && !pages[0].isClosed()) {
      mkdirSync(dirname(screenshot), { recursive: true });
      await pages[0].screenshot({ path: screenshot }).catch(() => {});
    }
    if (problems.length) e.message += ` (also: ${problems.join("; ")})`;
    throw e;
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
});
