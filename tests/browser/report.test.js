// Browser test of the printable project report, in headless Chromium
// (Debian's package) driven by playwright-core. Run by tests/browser/run.sh,
// which seeds the demo (a buyer and a contracted project with a month of
// delivery) and passes: SCREEN_BIN, SCREEN_DB, SCREEN_PORT, ARTIFACTS.
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

const progress = watchdog(() => server);

(async () => {
  server = spawn(process.env.SCREEN_BIN, ["serve"], {
    env: { ...process.env, MULIN_DATABASE_URL: process.env.SCREEN_DB, MULIN_LISTEN: `127.0.0.1:${port}`, MULIN_AUTH_RATE_LIMIT: "0", RUST_LOG: "warn" },
    stdio: "ignore",
  });
  progress.step = "waiting for the server";
  await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) })).ok, 30000);
  progress.step = "setting up through the API";
  const clerk = (await call("POST", "/auth/login", null, { phone: "13800000001", password: "mulin-demo-2026" })).access_token;
  const buyer = (await call("GET", "/buyers", clerk)).items[0].id;
  const project = (await call("GET", `/buyers/${buyer}/projects`, clerk)).items[0].id;
  const link = await call("POST", `/projects/${project}/report/links`, clerk, {});

  progress.step = "launching Chromium";
  const browser = await chromium.launch({
    timeout: 60000,
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const results = [];
  const check = async (name, body) => {
    progress.step = name;
    try { await body(); results.push([name, true]); console.log(`ok   ${name}`); }
    catch (e) { results.push([name, false]); console.log(`FAIL ${name}: ${String(e).slice(0, 300)}`); }
  };
  const page = await browser.newPage({ viewport: { width: 1240, height: 1754 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));

  await check("the link opens the report without a token", async () => {
    const res = await page.goto(`http://127.0.0.1:${port}${link.url}`);
    if (res.status() !== 200) throw new Error(`status ${res.status()}`);
    await page.waitForSelector("table tbody tr");
    const rows = await page.$$eval("table:first-of-type tbody tr", (r) => r.length);
    if (rows < 9) throw new Error(`indicator table has ${rows} rows`);
    const charts = await page.$$eval("svg rect", (r) => r.length);
    if (charts < 2) throw new Error("no bars drawn");
    const scripts = await page.$$eval("script", (s) => s.length);
    if (scripts) throw new Error("a script on the page");
    if (errors.length) throw new Error(errors.join("; "));
    await page.screenshot({ path: path.join(artifacts, "report-1240.png"), fullPage: true });
  });
  await check("nothing overflows on screen or in print", async () => {
    for (const media of ["screen", "print"]) {
      await page.emulateMedia({ media });
      const overflowing = await page.evaluate(() => [...document.querySelectorAll("body *")]
        .filter((e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow === "visible" && e.tagName !== "svg")
        .map((e) => e.tagName + "." + e.className));
      const wide = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
      if (wide) throw new Error(`${media}: the page is wider than the window`);
      if (overflowing.length) throw new Error(`${media}: overflowing ${overflowing.join(", ")}`);
    }
    await page.emulateMedia({ media: "screen" });
  });
  await check("it prints on A4", async () => {
    const pdf = await page.pdf({ format: "A4", preferCSSPageSize: true, printBackground: true });
    fs.writeFileSync(path.join(artifacts, "report.pdf"), pdf);
    const text = pdf.toString("latin1");
    const pages = (text.match(/\/Type\s*\/Page[^s]/g) || []).length;
    if (pages < 1 || pages > 4) throw new Error(`${pages} pages`);
    if (!/\/MediaBox\s*\[0 0 59[45]\.\d+ 84[12]\.\d+\]/.test(text)) throw new Error("not A4");
    await page.emulateMedia({ media: "print" });
    await page.setViewportSize({ width: 794, height: 1123 });
    await page.screenshot({ path: path.join(artifacts, "report-print-a4.png"), fullPage: true });
  });
  await check("an altered link is refused", async () => {
    const res = await page.goto(`http://127.0.0.1:${port}${link.url}x`);
    if (res.status() !== 403) throw new Error(`status ${res.status()}`);
  });
  await browser.close();
  server.kill("SIGTERM");
  const failed = results.filter((r) => !r[1]).length;
  console.log(`report: ${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL setup: ${e}`);
  if (server) server.kill("SIGTERM");
  process.exit(1);
});
