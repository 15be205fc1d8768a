// The staff application (/app) in a real browser against the real `rapport demo`: a clinician
// signs in, sees the caseload and a client page with charts; a new session's check-in link is
// answered on a phone and the clinician's open page shows the new scores within 2 seconds; a
// supervisor sees team alerts; an administrator signs in with a one-time code and sees the
// accounts. Every page is checked with axe-core and saved as a screenshot.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { checkPage, desktop, launchBrowser, newPage, phone, startDemo, totp } from "./support.mjs";

let demo;
let context;

function account(org, role) {
  const orgs = [...new Set(demo.accounts.accounts.map((a) => a.org))];
  const found = demo.accounts.accounts.find((a) => a.org === orgs[org] && a.role === role);
  assert.ok(found, `the demo has a ${role} in organisation ${org}`);
  return found;
}

async function signIn(page, who, code) {
  await context.clearCookies(); // a new person at the screen
  await page.goto(demo.base + "/app");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.getByLabel("E-mail").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  if (code !== undefined) {
    const field = page.getByLabel(/Code from your authenticator app/);
    await field.waitFor();
    await field.fill(code());
    await page.getByRole("button", { name: "Sign in" }).click();
  }
}

before(async () => {
  // The third organisation is a team whose simulated clients' outcomes differ by therapist,
  // so its supervisor's therapist effects are estimated and drawn.
  demo = await startDemo(["--therapist-team"]);
  context = await launchBrowser();
});

after(async () => {
  await context?.close();
  demo?.stop();
});

test("the sign-in page is accessible and a wrong password is refused in words", async () => {
  const page = await newPage(context, desktop);
  await page.goto(demo.base + "/app");
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await checkPage(page, "staff-sign-in");
  await page.getByLabel("E-mail").fill(account(0, "clinician").email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").textContent(), /wrong/);
  await page.close();
});

test("a clinician's caseload, client page, and a check-in that shows up within 2 seconds", async () => {
  const page = await newPage(context, desktop);
  const errors = [];
  // Uncaught script errors (an expected 401 from the signed-out probe is not one).
  page.on("pageerror", (error) => errors.push(error.message));
  await signIn(page, account(0, "clinician"));
  await page.getByRole("heading", { name: "Caseload" }).waitFor();
  const clients = page.locator(".caseload a.client");
  assert.ok((await clients.count()) >= 2, "the demo clinician has a caseload");
  await checkPage(page, "staff-caseload");

  await clients.first().click();
  await page.getByRole("heading", { name: /^Client / }).waitFor();
  await page.locator("svg.chart").first().waitFor();
  assert.ok((await page.locator("svg.chart").count()) >= 1, "charts of the client's ratings");
  assert.equal(
    await page.locator("figcaption", { hasText: /: by part$/ }).count(),
    1,
    "the client's alliance by bond, goals and tasks",
  );
  const parts = await page.locator("figure", { hasText: /: by part/ }).locator(".legend li").allTextContents();
  for (const part of ["Bond", "Goals", "Way of working"]) assert.ok(parts.includes(part), `${part} in ${parts}`);
  // Goal progress: each agreed goal with its ratings, drawn one line per goal on the 0-10 scale.
  const goals = await page.locator("ul.goals li").allTextContents();
  assert.ok(goals.length >= 1, "the demo client has agreed goals");
  assert.ok(goals.some((g) => / of 10/.test(g)), `rated goals in ${goals.join(" | ")}`);
  const goalChart = page.locator("figure", { hasText: "Goal progress" });
  assert.equal(await goalChart.locator("svg.chart polyline.series").count(), goals.filter((g) => / of 10/.test(g)).length);
  await checkPage(page, "staff-client");

  // Two clicks: a new session and its check-in link.
  await page.getByRole("button", { name: "New session and check-in link" }).click();
  const link = page.locator("a.checkin-link");
  await link.waitFor();
  const url = await link.getAttribute("href");
  assert.match(url, /\/c\/[A-Za-z0-9_-]+$/);
  await checkPage(page, "staff-checkin-link");
  assert.ok(await page.getByRole("button", { name: "Hand this device to the client" }).isVisible());
  // Rows of the alliance chart's numbers: one per rated session.
  const ratedSessions = () =>
    page.evaluate(() => document.querySelector("figure.chart-figure tbody")?.children.length ?? 0);
  const ratedBefore = await ratedSessions();

  // The client answers on a phone.
  const phonePage = await newPage(context, phone);
  await phonePage.goto(demo.base + new URL(url, demo.base).pathname);
  // The goals the client agreed, in their words, beside the questions about them.
  const asked = await phonePage.locator("fieldset.item p.goal").allTextContents();
  assert.deepEqual(asked, goals.map((g) => g.split(" — ")[0]), "each agreed goal is asked about");
  const questions = phonePage.locator("fieldset.item");
  const total = await questions.count();
  for (let i = 0; i < total; ++i) {
    const options = questions.nth(i).locator("label");
    await options.nth(Math.floor((await options.count()) / 2)).tap();
  }
  await phonePage.getByRole("button", { name: "Send my answers" }).tap();
  await phonePage.getByRole("heading", { name: "Thank you" }).waitFor();
  const answeredAt = Date.now();
  await phonePage.close();

  // The clinician's open page shows the new session's scores without a reload.
  await page.waitForFunction(
    (count) => (document.querySelector("figure.chart-figure tbody")?.children.length ?? 0) > count,
    ratedBefore,
    { timeout: 2000, polling: 50 },
  );
  assert.ok(
    await page.locator("a.checkin-link").isVisible(),
    "the link stays on the page while it updates",
  );
  const latency = Date.now() - answeredAt;
  assert.ok(latency <= 2000, `the new scores showed after ${latency} ms`);

  // A new goal, agreed in the session, joins the list (and the next check-in's questions).
  await page.getByLabel("A goal agreed with the client, in their words").fill("Cook a meal for friends");
  await page.getByRole("button", { name: "Add goal" }).click();
  await page.locator("ul.goals li", { hasText: "Cook a meal for friends — not rated yet" }).waitFor();
  assert.deepEqual(errors, [], "no script errors");
  await page.close();
});

test("a supervisor sees the team's alerts and therapist effects", async () => {
  const page = await newPage(context, desktop);
  await signIn(page, account(0, "supervisor"));
  await page.getByRole("heading", { name: "Caseload" }).waitFor();
  await page.getByRole("link", { name: "Alerts" }).click();
  await page.getByRole("heading", { name: "Alerts", exact: true }).waitFor();
  await page.getByRole("heading", { name: "Unrepaired ruptures" }).waitFor();
  await page.getByRole("heading", { name: "Other alerts" }).waitFor();
  // Every alert names its client by code and links to the client's page.
  const alertLinks = page.locator("main .caseload a.client");
  assert.ok((await alertLinks.count()) >= 1, "the demo team has alerts");
  for (const text of await alertLinks.allTextContents()) assert.match(text, /^Clients? C-\d{4}/);
  for (const href of await alertLinks.evaluateAll((links) => links.map((l) => l.getAttribute("href")))) {
    assert.match(href, /^#\/episode\/[A-Za-z0-9_-]+$/);
  }
  await checkPage(page, "staff-supervisor-alerts");
  const firstClient = (await alertLinks.first().textContent()).replace(/^Clients? /, "").split(",")[0];
  await alertLinks.first().click();
  await page.getByRole("heading", { name: new RegExp(`^Client .*${firstClient}`) }).waitFor();
  await page.goBack();
  await page.getByRole("heading", { name: "Unrepaired ruptures" }).waitFor();
  // Therapist effects: the caterpillar when estimates are reliable enough, and otherwise the
  // reason, never a ranking.
  await page.getByRole("link", { name: "Team" }).click();
  await page.getByRole("heading", { name: "Team" }).waitFor();
  await page.getByText(/client episodes in your team/).waitFor();
  await page.getByRole("table", { name: "Outcomes of finished treatment" }).waitFor();
  assert.match(
    await page.getByRole("row", { name: /^Recovery/ }).textContent(),
    /\d+%/,
    "the demo team has a recovery rate",
  );
  await checkPage(page, "staff-supervisor-team");
  await page.getByLabel("Measure").selectOption("rapport-alliance-client");
  await page.waitForURL(/#\/team\/rapport-alliance-client$/);
  await page.getByText(/client episodes in your team/).waitFor();
  await page.close();
});

test("a supervisor of a team with therapist effects sees the caterpillar, never a league table", async () => {
  const page = await newPage(context, desktop);
  await signIn(page, account(2, "supervisor"));
  await page.getByRole("heading", { name: "Caseload" }).waitFor();
  await page.getByRole("link", { name: "Team" }).click();
  await page.getByRole("heading", { name: "Team" }).waitFor();
  const chart = page.locator("svg.caterpillar");
  await chart.waitFor();
  // One interval and one estimate per therapist shown, each interval drawn with a width,
  // around its estimate, on the chart.
  const intervals = await chart.locator("line.interval").evaluateAll((lines) =>
    lines.map((l) => ({ x1: Number(l.getAttribute("x1")), x2: Number(l.getAttribute("x2")) })),
  );
  const dots = await chart.locator("circle").evaluateAll((cs) => cs.map((c) => Number(c.getAttribute("cx"))));
  assert.equal(intervals.length, 5, "the team's five therapists have intervals");
  assert.equal(dots.length, 5);
  intervals.forEach((interval, i) => {
    assert.ok(interval.x2 - interval.x1 > 2, `interval ${i} is drawn with a width`);
    assert.ok(interval.x1 < dots[i] && dots[i] < interval.x2, `estimate ${i} lies within its interval`);
  });
  // The estimates come with their caseloads and shrinkage; every one shown has at least the
  // minimum caseload (SCIENCE.md §8: 20 cases, reliability 0.70).
  await page.getByText(/shrunken towards the average/).waitFor();
  await page.getByText(/Share of the variation between therapists \(ICC\)/).waitFor();
  await page.locator("figure", { has: chart }).getByText("Numbers").click();
  const table = page.getByRole("table", { name: "Therapist effects" });
  const headers = await table.locator("thead th").allTextContents();
  assert.deepEqual(headers, ["Therapist", "Cases", "Estimate", "95% interval", "Reading"]);
  const rows = await table.locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [...tr.children].map((c) => c.textContent)),
  );
  assert.equal(rows.length, 5);
  for (const row of rows) {
    assert.ok(Number(row[1]) >= 20, `${row[0]} has ${row[1]} cases`);
    assert.match(row[4], /^(better outcomes than average|worse outcomes than average|indistinguishable from average)$/);
  }
  // Not a league table: no ranks, no positions, no best or worst.
  const text = await page.locator("main").textContent();
  assert.doesNotMatch(text, /\brank|#\d|\b\d+(st|nd|rd|th)\b|\bbest\b|\bworst\b|league/i);
  for (const name of await chart.locator("text.tick").allTextContents()) {
    assert.doesNotMatch(name, /^\d+[.)]/, "therapists are not numbered");
  }
  await checkPage(page, "staff-supervisor-caterpillar");
  // On the alliance the therapists differ too little for a reliable estimate: withheld, in words.
  await page.getByLabel("Measure").selectOption("rapport-alliance-client");
  await page.waitForURL(/#\/team\/rapport-alliance-client$/);
  await page.getByText(/^Not shown \(fewer than 20 cases or reliability below 0\.7\)/).waitFor();
  assert.equal(await page.locator("svg.caterpillar").count(), 0);
  await page.close();
});

// Invented wording of Rapport's own progress check-in, as a site would supply a licensed one.
function progressPack(overrides = {}) {
  const item = (text) => ({ text, min_label: "Very badly (clinic wording)", max_label: "Very well (clinic wording)" });
  return {
    textpack: {
      instrument: "rapport-progress",
      instrument_version: "1",
      language: "en",
      source: "Riverside's own wording (a test)",
      licence: "Written for this test",
    },
    title: "How have things been lately?",
    items: {
      self: item("Lately, how have you been in yourself? (clinic wording)"),
      relationships: item("How have things been with the people around you?"),
      "daily-life": item("How have work, study or everyday tasks gone?"),
      overall: item("All in all, how have things gone?"),
      ...overrides,
    },
  };
}

test("an administrator uploads a text pack, is told every problem, and the check-in uses it", async () => {
  const page = await newPage(context, desktop);
  const admin = account(0, "admin");
  await signIn(page, admin, () => totp(admin.totp_secret));
  await page.getByRole("heading", { name: "Accounts" }).waitFor();
  await page.getByRole("link", { name: "Instruments" }).click();
  await page.getByRole("heading", { name: "Text packs" }).waitFor();
  await page.getByText("This organisation has uploaded no text packs.").waitFor();

  // A pack with mistakes: every one is listed, naming the item and the field.
  const broken = progressPack({ overall: { text: "", min_label: "Low" }, "made-up": { text: "Not an item" } });
  delete broken.items.self.text;
  await page.getByLabel("Text pack file (JSON)").setInputFiles({
    name: "broken.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify(broken)),
  });
  await page.getByRole("button", { name: "Upload text pack" }).click();
  const problems = page.locator("ul.problems li");
  await problems.first().waitFor();
  const listed = await problems.allTextContents();
  for (const expected of [/^Item self, items\.self\.text: /, /^Item overall, items\.overall\.text: /, /^Item overall, items\.overall\.max_label: /, /^Item made-up, items\.made-up: /]) {
    assert.ok(listed.some((line) => expected.test(line)), `${expected} in ${listed.join(" | ")}`);
  }
  await checkPage(page, "staff-admin-textpack-problems");

  // A good one is stored, listed with who uploaded it, and used by the organisation's check-in.
  await page.getByLabel("Text pack file (JSON)").setInputFiles({
    name: "progress.en.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify(progressPack())),
  });
  await page.getByRole("button", { name: "Upload text pack" }).click();
  const row = page.getByRole("table", { name: "This organisation's text packs" }).locator("tbody tr");
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  const cells = await row.first().locator("th, td").allTextContents();
  assert.equal(cells[0], "rapport-progress");
  assert.equal(cells[1], "en");
  assert.match(cells[4], /by Alex Admin$/);
  assert.equal(cells[5], "in use");
  await checkPage(page, "staff-admin-textpacks");

  const checkin = await newPage(context, phone);
  await checkin.goto(demo.base + demo.links[0]);
  await checkin.getByText("Lately, how have you been in yourself? (clinic wording)").waitFor();
  await checkin.close();

  // Removed: the instrument's own wording is back.
  await page.getByRole("button", { name: "Remove the text pack for rapport-progress in en" }).click();
  await page.getByText("This organisation has uploaded no text packs.").waitFor();
  const again = await newPage(context, phone);
  await again.goto(demo.base + demo.links[0]);
  await again.locator("fieldset.item").first().waitFor();
  assert.equal(await again.getByText(/clinic wording/).count(), 0);
  await again.close();
  await page.close();
});

test("an administrator signs in with a one-time code and sees the accounts", async () => {
  const page = await newPage(context, desktop);
  const admin = account(1, "admin");
  await signIn(page, admin, () => totp(admin.totp_secret));
  await page.getByRole("heading", { name: "Accounts" }).waitFor();
  const rows = page.locator("table.accounts tbody tr");
  assert.equal(await rows.count(), 5, "the organisation's five demo accounts");
  await checkPage(page, "staff-admin-accounts");

  // A new account with a generated first password, which signs in; then a change of role.
  await page.getByLabel("Name", { exact: true }).fill("Robin New");
  await page.getByLabel("E-mail").fill("robin.new@harbour.example");
  await page.getByLabel("Role", { exact: true }).selectOption("clinician");
  await page.getByRole("button", { name: "Add account" }).click();
  const password = await page.locator("code.new-password").textContent();
  assert.equal(password.length, 20);
  // (Outside the browser, so the administrator's own session cookie stays as it is.)
  const login = await fetch(demo.base + "/api/v1/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "robin.new@harbour.example", password }),
  });
  assert.equal(login.status, 200, "the new account signs in with its first password");
  await page.getByRole("button", { name: "Done" }).click();
  await page.getByLabel("Role of Robin New").selectOption("supervisor");
  await page.waitForFunction(() =>
    [...document.querySelectorAll("table.accounts select")].some(
      (s) => s.getAttribute("aria-label") === "Role of Robin New" && s.value === "supervisor",
    ),
  );
  assert.equal(await rows.count(), 6);

  // Settings: the safety text is saved; a wrong threshold is refused naming the field.
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  await checkPage(page, "staff-admin-settings");
  await page.getByLabel(/risk item/).fill("Phone the duty clinician on extension 4000 today.");
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByText("Saved.").waitFor();
  await page.getByLabel(/Signal thresholds/).fill('{"signals": {"rupture": {"window": 99}}}');
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByText(/signals\.rupture\.window/).waitFor();
  await page.reload();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  assert.equal(
    await page.getByLabel(/risk item/).inputValue(),
    "Phone the duty clinician on extension 4000 today.",
  );

  // Guidance: hide a shipped entry and add the organisation's own, saved in the settings.
  await page.getByRole("link", { name: "Guidance" }).click();
  await page.getByRole("heading", { name: "Shipped guidance" }).waitFor();
  const switches = page.locator("main input[data-entry]");
  assert.ok((await switches.count()) >= 10, "the shipped library");
  const hiddenEntry = await switches.first().getAttribute("data-entry");
  await switches.first().uncheck();
  await page.getByLabel(/^Id /).fill("our-welcome-call");
  await page.getByLabel("Title", { exact: true }).fill("Phone before the second session");
  await page.getByLabel("What to try", { exact: true }).fill("Invented guidance: a short call to ask how the first session felt.");
  await page.getByLabel("Low alliance", { exact: true }).check();
  await page.getByLabel(/^Source/).fill("not a citation");
  await page.getByRole("button", { name: "Add this entry" }).click();
  await page.getByRole("button", { name: "Save guidance" }).click();
  await page.getByText(/sources\[0\]/).waitFor(); // the mistake is named
  await page.getByRole("button", { name: "Remove “Phone before the second session”" }).click();
  await page.getByLabel(/^Id /).fill("our-welcome-call");
  await page.getByLabel("Title", { exact: true }).fill("Phone before the second session");
  await page.getByLabel("What to try", { exact: true }).fill("Invented guidance: a short call to ask how the first session felt.");
  await page.getByLabel("Low alliance", { exact: true }).check();
  await page.getByLabel(/^Source/).fill("Harbour Family Therapy (2026). Welcome calls. Practice note.");
  await page.getByRole("button", { name: "Add this entry" }).click();
  await page.getByRole("button", { name: "Save guidance" }).click();
  await page.getByText("Saved.").waitFor();
  await checkPage(page, "staff-admin-guidance");
  await page.reload();
  await page.getByRole("heading", { name: "Shipped guidance" }).waitFor();
  assert.equal(await page.locator(`main input[data-entry="${hiddenEntry}"]`).isChecked(), false);
  await page.locator("strong", { hasText: "Phone before the second session" }).waitFor();
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByRole("heading", { name: "Settings" }).waitFor();
  assert.equal(
    await page.getByLabel(/risk item/).inputValue(),
    "Phone the duty clinician on extension 4000 today.",
    "the rest of the settings are kept",
  );

  await page.getByRole("link", { name: "Instruments" }).click();
  await page.getByRole("heading", { name: "Instruments" }).waitFor();
  assert.ok((await page.locator("table.accounts tbody tr").count()) >= 5, "installed instruments");
  await checkPage(page, "staff-admin-instruments");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.close();
});
