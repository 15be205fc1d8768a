// The respondent's check-in in a real browser: Debian's Chromium driven by playwright-core
// against the real `rapport demo` (tests/support.mjs). Every page is checked with axe-core and
// saved as a screenshot under SCREENSHOT_DIR.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { checkPage, desktop, launchBrowser, newPage as open, startDemo } from "./support.mjs";

let demo;
let links = [];
let context;

const newPage = (viewport) => open(context, viewport);

before(async () => {
  demo = await startDemo();
  links = demo.links;
  assert.ok(links.length >= 3, "the demo has open check-ins");
  context = await launchBrowser();
});

after(async () => {
  await context?.close();
  demo?.stop();
});

test("the start page is accessible", async () => {
  const page = await newPage(desktop);
  await page.goto(demo.base + "/");
  await checkPage(page, "start");
  await page.close();
});

test("a client completes a check-in on a phone, by touch", async () => {
  const page = await newPage();
  const consoleErrors = [];
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  await page.goto(demo.base + links[0]);
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
  await page.goto(demo.base + links[1]);
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
  await page.goto(demo.base + links[2]);
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
  await page.goto(demo.base + links[0]); // answered above
  await page.getByRole("heading", { name: "Thank you" }).waitFor();
  await checkPage(page, "checkin-already-answered");
  const response = await page.goto(demo.base + "/c/not-a-real-link-0123456789abcdef");
  assert.equal(response.status(), 404);
  await checkPage(page, "checkin-unknown-link");
  await page.close();
});

test("on the clinic's tablet (kiosk), the thank-you shows nothing and the screen clears", async () => {
  const page = await newPage();
  await page.goto(demo.base + "/kiosk");
  await page.getByRole("heading", { name: "Ready for your check-in" }).waitFor();
  await checkPage(page, "kiosk-ready");
  await page.goto(demo.base + links[3] + "?kiosk=1");
  const form = page.locator("form.checkin");
  assert.equal(await form.getAttribute("data-kiosk-return"), "/kiosk");
  assert.match(await form.getAttribute("action"), /\?kiosk=1$/);
  const questions = page.locator("fieldset.item");
  const total = await questions.count();
  for (let i = 0; i < total; ++i) await questions.nth(i).locator("label").last().tap();
  await page.getByRole("button", { name: "Send my answers" }).tap();
  await page.getByRole("heading", { name: "Thank you" }).waitFor();
  await checkPage(page, "kiosk-thanks");
  const text = await page.locator("main").textContent();
  assert.doesNotMatch(text, /Overall|Band/, "no answers or scores on a shared screen");
  // It clears itself after 20 quiet seconds (the clock is moved on here), or at "Finish".
  await page.clock.install();
  await page.goto(demo.base + links[3] + "?kiosk=1"); // answered: the same kiosk thank-you
  await page.getByRole("heading", { name: "Thank you" }).waitFor();
  await page.clock.runFor(21_000);
  await page.getByRole("heading", { name: "Ready for your check-in" }).waitFor();
  await page.goBack();
  await page.getByRole("link", { name: "Finish" }).tap();
  await page.getByRole("heading", { name: "Ready for your check-in" }).waitFor();
  await page.close();
});
