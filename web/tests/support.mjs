// What the browser tests share: the real `rapport demo` on a free port, Debian's Chromium
// driven by playwright-core with a fresh profile, and the accessibility check (axe-core, all
// rules including WCAG 2.1 A and AA) that also saves a screenshot of every page checked.
// Environment (set by ctest): RAPPORT_BINARY, CHROMIUM, SCREENSHOT_DIR, RAPPORT_WEB_DIR.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";

export const phone = { width: 390, height: 844 };
export const desktop = { width: 1280, height: 900 };
const screenshots = process.env.SCREENSHOT_DIR ?? join(process.cwd(), "screenshots");

// Starts `rapport demo` (with `extraArgs`, e.g. ["--therapist-team"]); resolves to
// {base, accounts, links, stop}.
export async function startDemo(extraArgs = []) {
  const dataDir = mkdtempSync(join(tmpdir(), "rapport-browser-"));
  const args = ["demo", "--data-dir", dataDir, "--port", "0", ...extraArgs];
  const server = spawn(process.env.RAPPORT_BINARY, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  server.stderr.on("data", (chunk) => (output += chunk));
  const base = await new Promise((resolve, reject) => {
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
  const links = accounts.checkin_links.map((link) => new URL(link, base).pathname);
  const stop = () => {
    server.kill("SIGTERM");
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { base, accounts, links, stop };
}

// A persistent context on a fresh profile (the flags Debian's Chromium needs headless). The
// profile is removed when the context closes.
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "rapport-chromium-"));
  const removeProfile = () => rmSync(profile, { recursive: true, force: true });
  let context;
  try {
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
  } catch (error) {
    removeProfile();
    throw error;
  }
  const close = context.close.bind(context);
  context.close = async (...args) => {
    try {
      await close(...args);
    } finally {
      removeProfile();
    }
  };
  return context;
}

export async function newPage(context, viewport = phone) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  return page;
}

// No axe-core violations; a screenshot under SCREENSHOT_DIR either way.
export async function checkPage(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  const results = await new AxeBuilder({ page }).analyze();
  const summary = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  assert.deepEqual(summary, [], `axe-core violations on ${name}`);
}

// The current TOTP code (RFC 6238: HMAC-SHA-1, 30 s, 6 digits) of a base32 secret, as an
// authenticator app computes it.
export function totp(secretBase32, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretBase32.replace(/=+$/, "")) {
    bits += alphabet.indexOf(c.toUpperCase()).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const digest = createHmac("sha1", key).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const value = (digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, "0");
}
