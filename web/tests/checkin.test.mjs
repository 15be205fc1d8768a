// The respondent's check-in in a real browser: Debian's Chromium driven by playwright-core
// against the real `rapport demo`. Every page is checked with axe-core and saved as a
// screenshot under SCREENSHOT_DIR. Environment (set by ctest): RAPPORT_BINARY, CHROMIUM,
// SCREENSHOT_DIR, RAPPORT_WEB_DIR.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";

const screenshots = process.env.SCREENSHOT_DIR ?? join(process.cwd(), "screenshots");
const phone = { width: 390, height: 844 };

let server;
let dataDir;
let base;
let links = [];
let context;

// Starts `rapport demo` on a free port and waits for its "Open http://..." line.
async function startDemo() {
  dataDir = mkdtempSync(join(tmpdir(), "rapport-browser-"));
  server = spawn(process.env.RAPPORT_BINARY, ["demo", "--data-dir", dataDir, "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  server.stderr.on("data", (chunk) => (output += chunk));
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 120_000);
    server.stdout.on("data", (chunk) => {
      output += chunk;
      const found = /Open (http:\/\/[^\s]+?)\/?\s/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    server.on("exit", (code) => reject(new Error(`demo exited with ${code}:\n${output}`)));
  });
  const accounts = JSON.parse(readFileSync(join(dataDir, "demo-accounts.json"), "utf8"));
  links = accounts.checkin_links.map((link) => new URL(link, base).pathname);
  assert.ok(links.length >= 3, "the demo has open check-ins");
}

async function newPage(viewport = phone) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  return page;
}

// No axe-core violations (all rules, WCAG 2.1 A and AA included); a screenshot either way.
async function checkPage(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  const results = await new AxeBuilder({ page }).analyze();
  const summary = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  assert.deepEqual(summary, [], `axe-core violations on ${name}`);
}

before(async () => {
  await startDemo();
  const profile = mkdtempSync(join(tmpdir(), "rapport-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: phone,
    hasTouch: true,
    locale: "en-GB",
  });
});

after(async () => {
  await context?.close();
  server?.kill("SIGTERM");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test("the start page is accessible", async () => {
  const page = await newPage({ width: 1280, height: 900 });
  await page.goto(base + "/");
  await checkPage(page, "start");
  await page.close();
});

test("a client completes a check-in on a phone, by touch", async () => {
  const page = await newPage();
  const consoleErrors = [];
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  await page.goto(base + links[0]);
  await checkPage(page, "checkin-phone");
  const questions = page.locator("fieldset.item");
  const total = await questions.count();
  assert.ok(total >= 5, "several questions");
  const progress = page.locator("#progress .progress-text");
  await assert.doesNotReject(progress.waitFor({ state: "visible" }), "the progress line shows");
  assert.equal(await progress.textContent(), `0 of ${total} questions answered`);
  for (let i = 0; i < total; ++i) {
    const options = questions.nth(i).locator("label");
    const count = await options.count();
    await options.nth(Math.floor(count / 2)).tap();
  }
  assert.equal(await progress.textContent(), `${total} of ${total} questions answered`);
  await checkPage(page, "checkin-phone-answered");
  await page.getByRole("button", { name: "Send my answers" }).tap();
  await page.getByRole("heading", { name: "Thank you" }).waitFor();
  await checkPage(page, "checkin-phone-thanks");
  assert.deepEqual(consoleErrors, [], "no script errors");
  await page.close();
});

test("a check-in can be completed with the keyboard alone", async () => {
  const page = await newPage();
  await page.goto(base + links[1]);
  const total = await page.locator("fieldset.item").count();
  const focusedType = () => page.evaluate(() => document.activeElement?.getAttribute("type"));
  // Tab past the language links to the first question's options.
  for (let guard = 0; (await focusedType()) !== "radio"; ++guard) {
    assert.ok(guard < 20, "Tab reaches the first question");
    await page.keyboard.press("Tab");
  }
  for (let i = 0; i < total; ++i) {
    await page.keyboard.press("Space"); // choose the focused option
    await page.keyboard.press("ArrowRight"); // and move the choice one step along
    if (i + 1 < total) await page.keyboard.press("Tab"); // the next question
  }
  const checked = await page.locator("fieldset.item input:checked").count();
  assert.equal(checked, total, "every question answered from the keyboard");
  await page.keyboard.press("Tab");
  assert.equal(
    await page.evaluate(() => document.activeElement?.tagName),
    "BUTTON",
    "Tab reaches the send button",
  );
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Thank you" }).waitFor();
  await page.close();
});

test("a client may leave a question out", async () => {
  const page = await newPage();
  await page.goto(base + links[2]);
  const questions = page.locator("fieldset.item");
  const total = await questions.count();
  for (let i = 1; i < total; ++i) await questions.nth(i).locator("label").first().click();
  assert.equal(
    await page.locator("#progress .progress-text").textContent(),
    `${total - 1} of ${total} questions answered`,
  );
  await page.getByRole("button", { name: "Send my answers" }).click();
  await page.getByRole("heading", { name: "Thank you" }).waitFor();
  await page.close();
});

test("a used or unknown link gets a kind, accessible message", async () => {
  const page = await newPage();
  await page.goto(base + links[0]); // answered above
  await page.getByRole("heading", { name: "Thank you" }).waitFor();
  await checkPage(page, "checkin-already-answered");
  const response = await page.goto(base + "/c/not-a-real-link-0123456789abcdef");
  assert.equal(response.status(), 404);
  await checkPage(page, "checkin-unknown-link");
  await page.close();
});
