// Browser test of the hall screen, in headless Chromium (Debian's package)
// driven by playwright-core. Run by tests/browser/run.sh, which starts the
// server and passes: SCREEN_BIN, SCREEN_DB, SCREEN_PORT, ARTIFACTS.
"use strict";
const { chromium } = require("playwright-core");
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const { watchdog } = require("./watchdog");

const port = process.env.SCREEN_PORT;
const api = `http://127.0.0.1:${port}/api/v1`;
const artifacts = process.env.ARTIFACTS;
let server = null;

function startServer() {
  server = spawn(process.env.SCREEN_BIN, ["serve"], {
    env: { ...process.env, MULIN_DATABASE_URL: process.env.SCREEN_DB, MULIN_LISTEN: `127.0.0.1:${port}`, MULIN_AUTH_RATE_LIMIT: "0", RUST_LOG: "warn" },
    stdio: "ignore",
  });
}

async function until(check, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await check()) return; } catch (e) { /* not yet */ }
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function call(method, url, token, body) {
  const res = await fetch(api + url, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const login = async (phone) => (await call("POST", "/auth/login", null, { phone, password: "mulin-demo-2026" })).access_token;
const inMinutes = (m) => new Date(Date.now() + m * 60000).toISOString();

const progress = watchdog(() => server);

(async () => {
  startServer();
  progress.step = "waiting for the server";
  await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) })).ok, 30000);
  progress.step = "setting up through the API";
  const admin = await login("13800000000");
  const owner = await login("13900000000");
  const centre = (await call("GET", "/centres?limit=1")).items[0].id;
  const org = (await call("GET", "/me", owner)).memberships[0].organization_id;
  const event = async (title, start, capacity) => {
    const e = await call("POST", `/organizations/${org}/events`, owner, {
      title, category: "culture_sports", centre_id: centre, location: "二楼活动室",
      starts_at: inMinutes(start), ends_at: inMinutes(start + 60), capacity,
    });
    await call("POST", `/events/${e.id}/publish`, owner, {});
    return e.id;
  };
  const talk = await event("手指操：老年人健脑课", 10, 30);
  await event("社区花园：冬季修剪", 40, 12);
  await call("POST", `/centres/${centre}/announcements`, admin, { text: "本周六上午九点社区花园义务劳动，欢迎参加！" });
  const display = await call("POST", `/centres/${centre}/displays`, admin, { name: "一楼大厅电视" });

  progress.step = "launching Chromium";
  const browser = await chromium.launch({
    timeout: 60000,
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const results = [];
  const check = async (name, body) => {
    progress.step = name;
    try { await body(); results.push([name, true]); console.log(`ok   ${name}`); }
    catch (e) { results.push([name, false]); console.log(`FAIL ${name}: ${String(e).slice(0, 300)}`); }
  };
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const seats = `li[data-id="${talk}"] .seats`;

  await check("pairing shows today's activities", async () => {
    await page.goto(`http://127.0.0.1:${port}/display/${centre}`);
    if (page.url().includes(display.token)) throw new Error("token in the URL");
    await page.fill("#token", display.token);
    await page.click("button[type=submit]");
    await page.waitForSelector(seats, { timeout: 10000 });
    await page.waitForFunction(() => document.getElementById("status").hidden, null, { timeout: 10000 });
    const stored = await page.evaluate(() => Object.keys(localStorage).length);
    if (stored !== 1) throw new Error("token not kept in storage");
  });
  const resident = await login("13700000000");
  let registration = null;
  await check("a sign-up appears within 2 s without a reload", async () => {
    registration = (await call("POST", `/events/${talk}/registrations`, resident, {})).id;
    await page.waitForFunction((s) => document.querySelector(s).textContent.includes("余 29 位"), seats, { timeout: 2000 });
  });
  await check("a check-in appears within 2 s without a reload", async () => {
    await call("POST", `/events/${talk}/checkins`, owner, { registration_id: registration });
    await page.waitForFunction((s) => document.querySelector(s).textContent.includes("已到 1 人"), seats, { timeout: 2000 });
  });
  for (const [w, h] of [[1920, 1080], [1280, 720]]) {
    await check(`nothing overflows at ${w}x${h}`, async () => {
      await page.setViewportSize({ width: w, height: h });
      await page.waitForTimeout(300);
      const overflowing = await page.evaluate(() => [...document.querySelectorAll("body *")].filter((e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map((e) => e.className));
      await page.screenshot({ path: path.join(artifacts, `board-${w}x${h}.png`) });
      if (overflowing.length) throw new Error(`overflowing: ${overflowing.join(", ")}`);
    });
  }
  await check("the page recovers from a server restart by itself", async () => {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
    await page.waitForFunction(() => !document.getElementById("status").hidden, null, { timeout: 15000 });
    await page.screenshot({ path: path.join(artifacts, "reconnecting.png") });
    startServer();
    await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) })).ok, 30000);
    await call("POST", `/events/${talk}/registrations`, await login("13700000001"), {});
    await page.waitForFunction((s) => document.getElementById("status").hidden && document.querySelector(s).textContent.includes("余 28 位"), seats, { timeout: 45000 });
    await page.screenshot({ path: path.join(artifacts, "after-restart.png") });
  });
  await browser.close();
  server.kill("SIGTERM");
  const failed = results.filter((r) => !r[1]).length;
  console.log(`browser: ${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL setup: ${e}`);
  if (server) server.kill("SIGTERM");
  process.exit(1);
});
