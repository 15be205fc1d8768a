// The staff application at /app: sign-in (with a second factor, and enrolment where the role
// requires it), the caseload ordered by what needs attention, the client page (alliance and
// outcome across sessions with the expected course, alerts with evidence, guidance and
// actions, a new session and check-in link in two clicks), team alerts for supervisors, and
// accounts for administrators. Everything goes through the JSON API (docs/api.md); the page is
// built with DOM calls only (no HTML from data), so the strict Content-Security-Policy holds.

export {}; // a module: its names stay out of checkin.ts's scope

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface ApiResult {
  status: number;
  body: Json;
}

interface Me {
  user: Json;
  organization: Json;
  csrf_token?: string;
  mfa_enrolment_required: boolean;
}

let me: Me | null = null;
let refreshTimer: number | undefined;

// ---------------------------------------------------------------------------------------------
// The API

async function api(method: string, path: string, body?: unknown): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && me?.csrf_token) headers["x-csrf-token"] = me.csrf_token;
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  let parsed: Json = null;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    parsed = { detail: text };
  }
  if (response.status === 401 && me !== null && path !== "/api/v1/auth/login") {
    // The session ended (expired, signed out elsewhere): back to sign-in.
    me = null;
    render();
  }
  return { status: response.status, body: parsed };
}

// ---------------------------------------------------------------------------------------------
// DOM helpers

type Child = Node | string | null | undefined | false;

function h(tag: string, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  // (No destructuring in for-of: esbuild cannot lower it for Safari 14.)
  for (const name of Object.keys(attributes)) element.setAttribute(name, attributes[name]);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

function s(tag: string, attributes: Record<string, string | number> = {}): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const name of Object.keys(attributes)) element.setAttribute(name, String(attributes[name]));
  return element;
}

function button(label: string, onClick: () => void, kind = ""): HTMLButtonElement {
  const element = h("button", { type: "button", class: kind }, label) as HTMLButtonElement;
  element.addEventListener("click", onClick);
  return element;
}

// An SVG document from the server (QR codes), imported as nodes rather than as HTML.
function svgFrom(markup: string): Node | null {
  const parsed = new DOMParser().parseFromString(markup, "image/svg+xml");
  const root = parsed.documentElement;
  return root.nodeName === "svg" ? document.importNode(root, true) : null;
}

function problem(result: ApiResult): string {
  const detail = result.body?.detail ?? `the server answered ${result.status}`;
  return String(detail);
}

function show(view: HTMLElement): void {
  const app = document.getElementById("app");
  if (app === null) return;
  app.replaceChildren(header(), view);
  const heading = view.querySelector("h1");
  if (heading !== null) document.title = `${heading.textContent} · Rapport`;
}

// ---------------------------------------------------------------------------------------------
// Words

const KIND_WORDS: Record<string, string> = {
  "risk-item": "Risk item answered",
  rupture: "Alliance rupture",
  "low-alliance": "Low alliance",
  "ceiling-dip": "Dip from a very high alliance",
  "not-on-track": "Not on track",
  "dropout-risk": "Dropout risk",
  "perspective-gap": "Client and clinician see the alliance differently",
  "goal-stalled": "Goal progress stalled",
  dimensions: "One part of the alliance is low",
};

function kindWords(kind: string): string {
  return KIND_WORDS[kind] ?? kind;
}

const SEVERITY_ORDER: Record<string, number> = { urgent: 0, warning: 1, prompt: 2, info: 3 };

function date(text: string | null | undefined): string {
  if (!text) return "";
  const value = new Date(text);
  return Number.isNaN(value.getTime()) ? text : value.toLocaleDateString();
}

// Who an alert is about, by the pseudonymous code clinicians know: its client, or every client
// of the episode when it is about them all (a couple's split alliance).
function alertClient(alert: Json): string {
  if (alert.client_code) return `Client ${alert.client_code}`;
  const codes = ((alert.episode_clients ?? []) as Json[]).map((c) => c.code).filter((c) => c);
  return codes.length > 0 ? `Clients ${codes.join(", ")}` : "Client (no code)";
}

// ---------------------------------------------------------------------------------------------
// Header and navigation

function header(): HTMLElement {
  if (me === null) return h("header", { class: "bar" }, h("strong", {}, "Rapport"));
  const role = me.user.role as string;
  const links: Child[] = [];
  if (role === "clinician" || role === "supervisor") {
    links.push(h("a", { href: "#/" }, "Caseload"), h("a", { href: "#/alerts" }, "Alerts"));
  }
  if (role === "supervisor") links.push(h("a", { href: "#/team" }, "Team"));
  if (role === "admin") {
    links.push(
      h("a", { href: "#/admin" }, "Accounts"),
      h("a", { href: "#/settings" }, "Settings"),
      h("a", { href: "#/guidance" }, "Guidance"),
      h("a", { href: "#/instruments" }, "Instruments"),
    );
  }
  const signOut = button(
    "Sign out",
    async () => {
      await api("POST", "/api/v1/auth/logout");
      me = null;
      location.hash = "#/";
      render();
    },
    "link",
  );
  return h(
    "header",
    { class: "bar" },
    h("strong", {}, me.organization?.name ?? "Rapport"),
    h("nav", { "aria-label": "Main" }, ...links),
    h("span", { class: "who" }, `${me.user.display_name} (${role})`),
    signOut,
  );
}

// ---------------------------------------------------------------------------------------------
// Sign-in and enrolment

function signInView(): HTMLElement {
  const email = h("input", { id: "email", type: "email", autocomplete: "username", required: "" });
  const password = h("input", {
    id: "password",
    type: "password",
    autocomplete: "current-password",
    required: "",
  });
  const code = h("input", {
    id: "totp",
    inputmode: "numeric",
    autocomplete: "one-time-code",
  });
  const codeField = h(
    "p",
    { class: "field", hidden: "" },
    h("label", { for: "totp" }, "Code from your authenticator app (or a recovery code)"),
    code,
  );
  const message = h("p", { class: "error", role: "alert", hidden: "" });
  const form = h(
    "form",
    { class: "panel" },
    h("p", { class: "field" }, h("label", { for: "email" }, "E-mail"), email),
    h("p", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    codeField,
    message,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body: Record<string, string> = {
      email: (email as HTMLInputElement).value,
      password: (password as HTMLInputElement).value,
    };
    const totp = (code as HTMLInputElement).value.trim();
    if (totp !== "") body.totp = totp;
    const result = await api("POST", "/api/v1/auth/login", body);
    if (result.status === 200) {
      await loadMe();
      render();
      return;
    }
    if (result.body?.field === "totp" && codeField.hidden) {
      codeField.hidden = false;
      message.hidden = true;
      (code as HTMLInputElement).focus();
      return;
    }
    message.textContent = problem(result);
    message.hidden = false;
  });
  return h("main", {}, h("h1", {}, "Sign in"), form);
}

async function enrolView(): Promise<HTMLElement> {
  const view = h("main", {}, h("h1", {}, "Set up two-step sign-in"));
  const started = await api("POST", "/api/v1/auth/totp/enrol");
  if (started.status !== 200) {
    view.append(h("p", { class: "error", role: "alert" }, problem(started)));
    return view;
  }
  const qr = svgFrom(started.body.qr_svg ?? "");
  const code = h("input", { id: "code", inputmode: "numeric", autocomplete: "one-time-code" });
  const message = h("p", { class: "error", role: "alert", hidden: "" });
  const form = h(
    "form",
    { class: "panel" },
    h("p", {}, "Your role needs a second step at sign-in. Scan this code with an authenticator app, or type the key into it, then enter the code it shows."),
    qr === null ? null : h("div", { class: "qr", role: "img", "aria-label": "Enrolment QR code" }, qr),
    h("p", {}, "Key: ", h("code", {}, started.body.secret)),
    h("p", { class: "field" }, h("label", { for: "code" }, "Code"), code),
    message,
    h("button", { type: "submit" }, "Turn on"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await api("POST", "/api/v1/auth/totp/activate", {
      code: (code as HTMLInputElement).value.trim(),
    });
    if (result.status !== 200) {
      message.textContent = problem(result);
      message.hidden = false;
      return;
    }
    const codes = (result.body.recovery_codes ?? []) as string[];
    view.replaceChildren(
      h("h1", {}, "Two-step sign-in is on"),
      h("p", {}, "Keep these recovery codes somewhere safe. Each works once if you lose your device; they are not shown again."),
      h("ul", { class: "codes" }, ...codes.map((c) => h("li", {}, h("code", {}, c)))),
      button("Continue", async () => {
        await loadMe();
        render();
      }),
    );
  });
  view.append(form);
  return view;
}

// ---------------------------------------------------------------------------------------------
// Caseload

async function caseloadView(): Promise<HTMLElement> {
  const result = await api("GET", "/api/v1/caseload");
  const view = h("main", { class: "wide" }, h("h1", {}, "Caseload"));
  if (result.status !== 200) {
    view.append(h("p", { class: "error", role: "alert" }, problem(result)));
    return view;
  }
  const episodes = result.body.episodes as Json[];
  if (episodes.length === 0) {
    view.append(h("p", { class: "lead" }, "No ongoing episodes."));
    return view;
  }
  view.append(
    h("p", { class: "lead" }, "What needs attention first: risk items, ruptures, not on track, dropout risk, then the rest."),
  );
  const list = h("ul", { class: "caseload" });
  for (const episode of episodes) {
    const alerts = [...(episode.alerts as Json[])].sort(
      (a, b) => (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9),
    );
    const names = (episode.clients as Json[]).map((c) => c.code).join(", ");
    const reasons =
      alerts.length === 0
        ? h("span", { class: "calm" }, "Nothing needs attention")
        : h(
            "ul",
            { class: "reasons" },
            ...alerts.map((a) =>
              h("li", { class: `severity-${a.severity}` }, `${kindWords(a.kind)} (${a.severity}${a.status === "acknowledged" ? ", acknowledged" : ""})`),
            ),
          );
    list.append(
      h(
        "li",
        { class: alerts.length > 0 ? `attention severity-${alerts[0].severity}` : "" },
        h("a", { href: `#/episode/${episode.id}`, class: "client" }, names || episode.id),
        h("span", { class: "meta" }, `since ${date(episode.started_at)}`),
        reasons,
      ),
    );
  }
  view.append(list);
  return view;
}

// ---------------------------------------------------------------------------------------------
// Charts

interface Line {
  label: string;
  points: { session: number; total: number }[];
  style: string;
}

interface Band {
  sessions: Json[];
}

// A line chart of totals by session, with the expected course (p10–p90 and p25–p75 bands and
// the median) behind the lines, and markers (ruptures) on the session axis. A table with the
// same numbers follows for screen readers and for reading exact values.
function chart(
  title: string,
  lines: Line[],
  band: Band | null,
  markers: { session: number; label: string }[],
  range: [number, number] | null,
): HTMLElement {
  const width = 640;
  const height = 240;
  const left = 40;
  const right = 12;
  const top = 12;
  const bottom = 30;
  const sessions: number[] = [];
  const values: number[] = [];
  for (const line of lines) {
    for (const p of line.points) {
      sessions.push(p.session);
      values.push(p.total);
    }
  }
  for (const row of band?.sessions ?? []) {
    sessions.push(row.session);
    values.push(row.p10, row.p90);
  }
  if (sessions.length === 0) return h("p", {}, `${title}: no ratings yet.`);
  const minSession = Math.min(...sessions);
  const maxSession = Math.max(...sessions, minSession + 1);
  // The instrument's whole scale, so a small change looks small; wider if the band needs it.
  let low = Math.min(...values, ...(range ? [range[0]] : []));
  let high = Math.max(...values, ...(range ? [range[1]] : []));
  if (high - low < 1e-9) {
    low -= 1;
    high += 1;
  }
  const x = (session: number): number =>
    left + ((session - minSession) / (maxSession - minSession)) * (width - left - right);
  const y = (value: number): number =>
    top + (1 - (value - low) / (high - low)) * (height - top - bottom);

  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    "aria-label": `${title}: ${lines.map((l) => `${l.label}, latest ${l.points[l.points.length - 1]?.total ?? "none"}`).join("; ")}`,
  });
  for (const tick of [low, (low + high) / 2, high]) {
    svg.append(s("line", { x1: left, x2: width - right, y1: y(tick), y2: y(tick), class: "grid" }));
    const label = s("text", { x: left - 6, y: y(tick) + 4, class: "tick", "text-anchor": "end" });
    label.textContent = String(Math.round(tick * 10) / 10);
    svg.append(label);
  }
  for (let session = minSession; session <= maxSession; ++session) {
    const label = s("text", { x: x(session), y: height - 10, class: "tick", "text-anchor": "middle" });
    label.textContent = String(session);
    svg.append(label);
  }
  if (band !== null && band.sessions.length > 0) {
    const area = (lowKey: string, highKey: string, cls: string): void => {
      const upper = band.sessions.map((r) => `${x(r.session)},${y(r[highKey])}`);
      const lower = [...band.sessions].reverse().map((r) => `${x(r.session)},${y(r[lowKey])}`);
      svg.append(s("polygon", { points: [...upper, ...lower].join(" "), class: cls }));
    };
    area("p10", "p90", "band-outer");
    area("p25", "p75", "band-inner");
    svg.append(
      s("polyline", {
        points: band.sessions.map((r) => `${x(r.session)},${y(r.p50)}`).join(" "),
        class: "band-median",
      }),
    );
  }
  for (const marker of markers) {
    const kind = marker.label === "repair" ? "marker repair" : "marker";
    svg.append(s("line", { x1: x(marker.session), x2: x(marker.session), y1: top, y2: height - bottom, class: kind }));
    const label = s("text", {
      x: x(marker.session) + 3,
      y: top + 10,
      class: marker.label === "repair" ? "repair-label" : "marker-label",
    });
    label.textContent = marker.label;
    svg.append(label);
  }
  for (const line of lines) {
    svg.append(
      s("polyline", {
        points: line.points.map((p) => `${x(p.session)},${y(p.total)}`).join(" "),
        class: `series ${line.style}`,
      }),
    );
    for (const p of line.points) {
      svg.append(s("circle", { cx: x(p.session), cy: y(p.total), r: 4, class: `dot ${line.style}` }));
    }
  }

  const legend = h(
    "ul",
    { class: "legend" },
    ...lines.map((l) => h("li", { class: l.style }, l.label)),
    band !== null ? h("li", { class: "band" }, "Expected course (10th–90th percentile)") : null,
  );
  const table = h(
    "table",
    {},
    h("caption", {}, `${title} by session`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Session"), ...lines.map((l) => h("th", { scope: "col" }, l.label)))),
    h(
      "tbody",
      {},
      ...[...new Set(lines.flatMap((l) => l.points.map((p) => p.session)))]
        .sort((a, b) => a - b)
        .map((session) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, String(session)),
            ...lines.map((l) => h("td", {}, String(l.points.find((p) => p.session === session)?.total ?? "–"))),
          ),
        ),
    ),
  );
  return h(
    "figure",
    { class: "chart-figure" },
    h("figcaption", {}, title),
    svg,
    legend,
    h("details", {}, h("summary", {}, "Numbers"), table),
  );
}

const SUBSCALE_WORDS: Record<string, string> = {
  bond: "Bond",
  goals: "Goals",
  tasks: "Way of working",
  openness: "Openness",
};
const PART_STYLES = ["part-a", "part-b", "part-c", "part-d"];

// One line per subscale of a series, from its points' subscale scores.
function subscaleLines(entry: Json): Line[] {
  const ids = new Set<string>();
  for (const p of entry.points as Json[]) for (const id of Object.keys(p.subscales ?? {})) ids.add(id);
  return [...ids].map((id, i) => ({
    label: SUBSCALE_WORDS[id] ?? id,
    style: PART_STYLES[i % PART_STYLES.length],
    points: (entry.points as Json[])
      .filter((p) => typeof p.session === "number" && typeof p.subscales?.[id] === "number")
      .map((p) => ({ session: p.session, total: p.subscales[id] })),
  }));
}

// The union of the series' scales ([low, high] from the dashboard), or null when unknown.
function rangeOf(series: Json[]): [number, number] | null {
  const ranges = series.map((e) => e.range).filter((r) => Array.isArray(r)) as [number, number][];
  if (ranges.length === 0) return null;
  return [Math.min(...ranges.map((r) => r[0])), Math.max(...ranges.map((r) => r[1]))];
}

function linesOf(series: Json[], style: (s: Json) => string): Line[] {
  return series.map((entry) => ({
    label: `${entry.title} (${entry.perspective})`,
    style: style(entry),
    points: (entry.points as Json[])
      .filter((p) => typeof p.session === "number" && typeof p.total === "number")
      .map((p) => ({ session: p.session, total: p.total })),
  }));
}

// ---------------------------------------------------------------------------------------------
// The client page

async function episodeView(id: string): Promise<HTMLElement> {
  const path = `/api/v1/episodes/${encodeURIComponent(id)}/dashboard`;
  const result = await api("GET", path);
  const view = h("main", { class: "wide" });
  if (result.status !== 200) {
    view.append(h("h1", {}, "Client"), h("p", { class: "error", role: "alert" }, problem(result)));
    return view;
  }
  // The title and the session actions stay put; what the dashboard says is redrawn in `live`.
  const title = h("h1", {});
  const lead = h("p", { class: "lead" });
  const live = h("div", { class: "live" });
  let current: Json = result.body;
  view.append(title, lead, sessionActions(id, () => current), live);
  const fill = (dashboard: Json): void => {
    current = dashboard;
    const codes = ((dashboard.clients ?? []) as Json[]).map((c) => c.code).join(", ");
    title.textContent = `Client ${codes}`.trim();
    const count = (dashboard.sessions as Json[]).length;
    lead.textContent = `${count} session${count === 1 ? "" : "s"} since ${date(dashboard.episode.started_at)}`;
    fillEpisode(live, dashboard, () => void refresh(true));
  };
  // Keep the open page current: new answers and alerts show within a second or two, except
  // while someone is typing a note.
  let last = JSON.stringify(result.body);
  const refresh = async (force = false): Promise<void> => {
    if (!view.isConnected) return;
    const again = await api("GET", path);
    const text = JSON.stringify(again.body);
    const focused = document.activeElement;
    const typing =
      focused instanceof HTMLTextAreaElement || (focused instanceof HTMLInputElement && focused.type === "text" && focused.value !== "");
    if (again.status === 200 && (force || (text !== last && !typing))) {
      last = text;
      fill(again.body);
    }
  };
  fill(result.body);
  refreshTimer = window.setInterval(() => {
    if (document.visibilityState === "visible") void refresh();
  }, 1000);
  return view;
}

// A new session with the client's check-in link (and QR code) in one click, and the
// clinician's own rating of it in one more.
function sessionActions(id: string, latest: () => Json): HTMLElement {
  const clientId = (latest().episode.client_ids as string[])[0];
  const actions = h("section", { class: "actions", "aria-label": "Session actions" });
  const link = h("div", { class: "link", "aria-live": "polite" });
  actions.append(
    button("New session and check-in link", async () => {
      const session = await api("POST", `/api/v1/episodes/${encodeURIComponent(id)}/sessions`, {
        attendance: "attended",
      });
      if (session.status !== 201) {
        link.replaceChildren(h("p", { class: "error", role: "alert" }, problem(session)));
        return;
      }
      // The client rates their agreed goals too, once there are any.
      const hasGoals = ((latest().goals ?? []) as Json[]).some((g) => g.client_id === clientId);
      const checkin = await api("POST", `/api/v1/sessions/${session.body.id}/checkins`, {
        respondent_id: clientId,
        instruments: ["rapport-progress", ...(hasGoals ? ["rapport-goals"] : []), "rapport-alliance-client"],
      });
      if (checkin.status !== 201) {
        link.replaceChildren(h("p", { class: "error", role: "alert" }, problem(checkin)));
        return;
      }
      const qr = svgFrom(checkin.body.qr_svg ?? "");
      link.replaceChildren(
        h("p", {}, `Session ${session.body.number}: give the client this link or let them scan the code.`),
        h("p", {}, h("a", { href: checkin.body.url, class: "checkin-link" }, checkin.body.url)),
        qr === null ? "" : h("div", { class: "qr", role: "img", "aria-label": "Check-in QR code" }, qr),
        button(
          "Hand this device to the client",
          async () => {
            // A shared tablet keeps no staff session: sign out, then the check-in in kiosk
            // mode, which returns to a neutral screen when done.
            await api("POST", "/api/v1/auth/logout");
            me = null;
            location.assign(`${new URL(checkin.body.url, location.href).pathname}?kiosk=1`);
          },
          "secondary",
        ),
        button(
          "Rate this session yourself",
          async () => {
            const own = await api("POST", `/api/v1/sessions/${session.body.id}/checkins`, {
              respondent_id: me?.user.id,
              perspective: "clinician",
              instruments: ["rapport-alliance-clinician"],
            });
            if (own.status === 201) location.assign(own.body.url);
            else link.append(h("p", { class: "error", role: "alert" }, problem(own)));
          },
          "secondary",
        ),
      );
    }),
    link,
  );
  return actions;
}

function fillEpisode(view: HTMLElement, dashboard: Json, changed: () => void): void {
  const series = dashboard.series as Json[];
  const alerts = dashboard.alerts as Json[];
  view.replaceChildren();

  // Alerts first: they are why the page was opened.
  const alertSection = h("section", { "aria-labelledby": "alerts-heading" }, h("h2", { id: "alerts-heading" }, "Alerts"));
  if (alerts.length === 0) alertSection.append(h("p", { class: "calm" }, "No open alerts."));
  const titles = new Map<string, string>(series.map((e) => [e.instrument, e.title]));
  for (const alert of alerts) alertSection.append(alertCard(alert, titles, changed));
  view.append(alertSection);

  // Charts: the alliance (client and clinician together, with ruptures marked), then each
  // outcome measure with its expected course.
  const ruptures: { session: number; label: string }[] = [];
  for (const rupture of (dashboard.ruptures ?? []) as Json[]) {
    ruptures.push({ session: rupture.session, label: "rupture" });
    if (rupture.resolution === "repaired" && rupture.last_session !== rupture.session) {
      ruptures.push({ session: rupture.last_session, label: "repair" });
    }
  }
  const alliance = series.filter((e) => e.kind === "alliance");
  // Goal ratings are drawn goal by goal under Goals, not as one averaged line.
  const outcomes = series.filter((e) => e.kind !== "alliance" && e.kind !== "goals");
  const charts = h("section", { "aria-labelledby": "charts-heading" }, h("h2", { id: "charts-heading" }, "Across sessions"));
  if (alliance.length > 0) {
    charts.append(
      chart(
        "Alliance",
        linesOf(alliance, (e) => (e.perspective === "client" ? "client" : "clinician")),
        null,
        ruptures,
        rangeOf(alliance),
      ),
    );
  }
  // The client's alliance by its parts (bond, goals, tasks): which part a dip is in.
  for (const entry of alliance.filter((e) => e.perspective === "client")) {
    const parts = subscaleLines(entry);
    if (parts.length > 1) {
      charts.append(chart(`${entry.title}: by part`, parts, null, ruptures, entry.subscale_range ?? null));
    }
  }
  for (const entry of outcomes) {
    const expected = entry.expected ?? null;
    charts.append(
      chart(
        entry.title,
        linesOf([entry], () => "client"),
        expected !== null ? { sessions: expected.sessions } : null,
        [],
        rangeOf([entry]),
      ),
    );
    if (expected !== null && !expected.applies) {
      charts.append(
        h("p", { class: "note" }, `The expected course rests on ${expected.model_clients} clients, fewer than the not-on-track signal needs; read it with care.`),
      );
    }
  }
  if (series.length === 0) charts.append(h("p", {}, "No ratings yet."));
  view.append(charts);

  view.append(goalSection(dashboard, changed));
}

// The goals agreed with the client, each with how close the client rated themselves to it at
// each session (one line per goal on the item's scale), and a form to add one.
function goalSection(dashboard: Json, changed: () => void): HTMLElement {
  const goals = (dashboard.goals ?? []) as Json[];
  const clients = (dashboard.clients ?? []) as Json[];
  const section = h("section", { "aria-labelledby": "goals-heading" }, h("h2", { id: "goals-heading" }, "Goals"));
  if (goals.length === 0) section.append(h("p", {}, "No goals agreed yet. Agree one to three with the client; they rate each at every check-in."));
  const rated = goals.filter((g) => ((g.ratings ?? []) as Json[]).length > 0);
  const list = h("ul", { class: "goals" });
  goals.forEach((goal, index) => {
    const ratings = (goal.ratings ?? []) as Json[];
    const who = clients.length > 1 ? `${clients.find((c) => c.id === goal.client_id)?.code ?? "Client"}: ` : "";
    let progress = "not rated yet";
    if (ratings.length > 0) {
      const first = ratings[0];
      const last = ratings[ratings.length - 1];
      const top = goal.range ? goal.range[1] : 10;
      progress =
        ratings.length === 1
          ? `${last.value} of ${top} at session ${last.session}`
          : `${first.value} → ${last.value} of ${top} (sessions ${first.session}–${last.session})`;
    }
    list.append(h("li", { class: PART_STYLES[index % PART_STYLES.length] }, h("span", { class: "goal-text" }, `${who}${goal.description}`), ` — ${progress}`));
  });
  if (goals.length > 0) section.append(list);
  if (rated.length > 0) {
    const lines: Line[] = rated.map((goal) => ({
      label: goal.description,
      points: (goal.ratings as Json[]).filter((r) => r.session !== null).map((r) => ({ session: r.session, total: r.value })),
      style: PART_STYLES[goals.indexOf(goal) % PART_STYLES.length],
    }));
    const range = rated[0].range ? ([rated[0].range[0], rated[0].range[1]] as [number, number]) : null;
    section.append(chart("Goal progress (how close the client rated themselves to each goal)", lines, null, [], range));
  }

  // Adding a goal: for which client (in a couple, family or group) and in whose words.
  const form = h("form", { class: "add-goal" });
  const field = h("input", { id: "goal-description", name: "description", type: "text", required: "", maxlength: "200", autocomplete: "off" }) as HTMLInputElement;
  const picker = h("select", { id: "goal-client", name: "client" }, ...clients.map((c) => h("option", { value: c.id }, c.code))) as HTMLSelectElement;
  const message = h("p", { "aria-live": "polite" });
  form.append(
    h("label", { for: "goal-description" }, "A goal agreed with the client, in their words"),
    field,
    ...(clients.length > 1 ? [h("label", { for: "goal-client" }, "Whose goal"), picker] : []),
    h("button", { type: "submit" }, "Add goal"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const clientId = clients.length > 1 ? picker.value : clients[0]?.id;
    const result = await api("POST", `/api/v1/episodes/${encodeURIComponent(dashboard.episode.id)}/goals`, {
      client_id: clientId,
      description: field.value,
    });
    if (result.status === 201) {
      field.value = "";
      changed();
    } else {
      message.replaceChildren(h("span", { class: "error", role: "alert" }, problem(result)));
    }
  });
  section.append(form);
  return section;
}

function alertCard(alert: Json, titles: Map<string, string>, changed: () => void): HTMLElement {
  const evidence = alert.evidence ?? {};
  const card = h(
    "article",
    { class: `alert severity-${alert.severity}` },
    h("h3", {}, `${kindWords(alert.kind)}${evidence.instrument ? ` (${titles.get(evidence.instrument) ?? evidence.instrument})` : ""} — session ${alert.session}`),
    h(
      "p",
      { class: "meta" },
      `${((alert.episode_clients ?? []) as Json[]).length > 1 ? `${alertClient(alert)}: ` : ""}${alert.severity}, ${alert.status}`,
    ),
    evidence.rule ? h("p", {}, String(evidence.rule)) : null,
  );
  const guidance = (alert.guidance ?? []) as Json[];
  if (guidance.length > 0) {
    card.append(
      h(
        "details",
        {},
        h("summary", {}, "What to do"),
        ...guidance.map((g) => h("div", { class: "guidance" }, h("h4", {}, g.title ?? ""), h("p", {}, g.text ?? ""))),
      ),
    );
  }
  const notes = (alert.repair_notes ?? []) as Json[];
  if (notes.length > 0) {
    card.append(h("ul", { class: "notes" }, ...notes.map((n) => h("li", {}, `${date(n.at)}: ${n.text}`))));
  }
  const act = async (verb: string): Promise<void> => {
    const result = await api("POST", `/api/v1/alerts/${alert.id}/${verb}`);
    if (result.status === 200) changed();
    else card.append(h("p", { class: "error", role: "alert" }, problem(result)));
  };
  const buttons = h("div", { class: "buttons" });
  if (alert.status === "open") buttons.append(button("Acknowledge", () => void act("acknowledge"), "secondary"));
  if (alert.status !== "resolved") buttons.append(button("Resolve", () => void act("resolve"), "secondary"));
  card.append(buttons);

  const text = h("textarea", { id: `note-${alert.id}`, rows: "2" });
  const discussed = h("input", { id: `discussed-${alert.id}`, type: "checkbox" });
  const form = h(
    "form",
    { class: "note-form" },
    h("label", { for: `note-${alert.id}` }, "Repair note: what was done"),
    text,
    h("p", { class: "check" }, discussed, h("label", { for: `discussed-${alert.id}` }, "Discussed with the client")),
    h("button", { type: "submit", class: "secondary" }, "Save note"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = await api("POST", `/api/v1/alerts/${alert.id}/repair-notes`, {
      text: (text as HTMLTextAreaElement).value,
      discussed_with_client: (discussed as HTMLInputElement).checked,
    });
    if (result.status === 201) changed();
    else form.append(h("p", { class: "error", role: "alert" }, problem(result)));
  });
  card.append(form);
  return card;
}

// ---------------------------------------------------------------------------------------------
// Team alerts and accounts

async function alertsView(): Promise<HTMLElement> {
  const result = await api("GET", "/api/v1/alerts");
  const view = h("main", { class: "wide" }, h("h1", {}, "Alerts"));
  if (result.status !== 200) {
    view.append(h("p", { class: "error", role: "alert" }, problem(result)));
    return view;
  }
  const alerts = [...(result.body.alerts as Json[])].sort(
    (a, b) => (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9),
  );
  // Unrepaired ruptures first, in a section of their own: the supervision conversation.
  const section = (title: string, items: Json[], none: string): HTMLElement => {
    const list = h("ul", { class: "caseload" });
    for (const alert of items) {
      list.append(
        h(
          "li",
          { class: `attention severity-${alert.severity}` },
          h("a", { href: `#/episode/${alert.episode}`, class: "client" }, alertClient(alert)),
          h("span", { class: "what" }, `${kindWords(alert.kind)} — session ${alert.session}`),
          h("span", { class: "meta" }, `${alert.severity}, ${alert.status}, since ${date(alert.created_at)}`),
        ),
      );
    }
    return h("section", {}, h("h2", {}, title), items.length === 0 ? h("p", { class: "calm" }, none) : list);
  };
  view.append(
    section("Unrepaired ruptures", alerts.filter((a) => a.kind === "rupture"), "No unrepaired ruptures."),
    section("Other alerts", alerts.filter((a) => a.kind !== "rupture"), "No other open alerts."),
  );
  return view;
}

// Therapist effects as a caterpillar chart (SCIENCE.md §8): shrunken estimates with intervals,
// only for therapists above the minimum caseload and reliability, in the order of the
// estimates but without ranks; what the numbers cannot say is said next to them.
async function teamView(instrument: string): Promise<HTMLElement> {
  const view = h("main", { class: "wide" }, h("h1", {}, "Team"));
  const choices: [string, string][] = [
    ["phq-9", "Outcome: PHQ-9"],
    ["rapport-alliance-client", "Alliance: the client's rating"],
  ];
  const select = h("select", { id: "instrument" }) as HTMLSelectElement;
  for (const choice of choices) {
    const option = h("option", { value: choice[0] }, choice[1]) as HTMLOptionElement;
    option.selected = choice[0] === instrument;
    select.append(option);
  }
  select.addEventListener("change", () => {
    location.hash = `#/team/${select.value}`;
  });
  view.append(await outcomesSection());
  view.append(h("h2", {}, "Therapist effects"));
  view.append(h("p", { class: "field" }, h("label", { for: "instrument" }, "Measure"), select));
  const result = await api("GET", `/api/v1/reports/therapists?instrument=${encodeURIComponent(instrument)}`);
  if (result.status !== 200) {
    view.append(h("p", { class: "error", role: "alert" }, problem(result)));
    return view;
  }
  const report = result.body;
  view.append(
    h(
      "p",
      { class: "lead" },
      `Each client's latest rating, adjusted for their first, across ${report.cases} client episodes in your team. ` +
        "Estimates are shrunken towards the average and shown with 95% intervals; a therapist is shown only with enough cases for a reliable estimate.",
    ),
  );
  if (!report.available) {
    view.append(h("p", { class: "note" }, `No estimate yet: ${report.reason}`));
    return view;
  }
  const shown = (report.effects as Json[]).filter((e) => e.shown);
  const hidden = (report.effects as Json[]).filter((e) => !e.shown);
  view.append(h("p", {}, `Share of the variation between therapists (ICC): ${(100 * report.icc).toFixed(1)}%.`));
  if (shown.length > 0) {
    const better = report.higher_is_better ? "right" : "left";
    view.append(caterpillar(shown, `Lower scores are ${report.higher_is_better ? "worse" : "better"}: better is to the ${better}.`));
  }
  if (hidden.length > 0) {
    view.append(
      h(
        "p",
        { class: "note" },
        `Not shown (fewer than ${report.min_cases} cases or reliability below ${report.min_reliability}): ` +
          hidden.map((e) => `${e.name || e.therapist_id} (${e.cases} cases)`).join(", "),
      ),
    );
  }
  view.append(h("ul", { class: "notes" }, ...(report.notes as string[]).map((n) => h("li", { class: "note" }, n))));
  return view;
}

// The team's outcomes by NHS Talking Therapies rules, each rate with its count and denominator.
async function outcomesSection(): Promise<HTMLElement> {
  const section = h("section", { "aria-labelledby": "outcomes-heading" }, h("h2", { id: "outcomes-heading" }, "Outcomes"));
  const result = await api("GET", "/api/v1/reports/outcomes");
  if (result.status !== 200) {
    section.append(h("p", { class: "error", role: "alert" }, problem(result)));
    return section;
  }
  const r = result.body;
  const percent = (value: number | null): string => (value === null ? "–" : `${(100 * value).toFixed(0)}%`);
  section.append(
    h("p", { class: "lead" }, `By NHS Talking Therapies rules (PHQ-9 and GAD-7, first and last ratings): ${r.finished_treatment} of ${r.ended_episodes} ended episodes finished a course with paired scores.`),
    h(
      "table",
      { class: "outcomes" },
      h("caption", {}, "Outcomes of finished treatment"),
      h("thead", {}, h("tr", {}, ...["Outcome", "Rate", "Count", "Of"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        ...[
          ["Recovery", r.recovery_rate, r.recovered, `${r.at_caseness} at caseness at the start`],
          ["Reliable improvement", r.reliable_improvement_rate, r.reliable_improvement, `${r.finished_treatment} finished`],
          ["Reliable recovery", r.reliable_recovery_rate, r.reliable_recovery, `${r.at_caseness} at caseness at the start`],
          ["Reliable deterioration", r.reliable_deterioration_rate, r.reliable_deterioration, `${r.finished_treatment} finished`],
        ].map((row) =>
          h("tr", {}, h("th", { scope: "row" }, String(row[0])), h("td", {}, percent(row[1] as number | null)), h("td", {}, String(row[2])), h("td", {}, String(row[3]))),
        ),
      ),
    ),
  );
  return section;
}

function caterpillar(effects: Json[], direction: string): HTMLElement {
  const width = 640;
  const row = 28;
  const left = 170;
  const height = effects.length * row + 30;
  const low = Math.min(...effects.map((e) => e.lower), 0);
  const high = Math.max(...effects.map((e) => e.upper), 0);
  const span = high - low || 1;
  const x = (value: number): number => left + ((value - low) / span) * (width - left - 20);
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart caterpillar",
    role: "img",
    "aria-label": `Therapist effects with 95% intervals. ${direction}`,
  });
  svg.append(s("line", { x1: x(0), x2: x(0), y1: 4, y2: height - 24, class: "zero" }));
  effects.forEach((effect, i) => {
    const y = 16 + i * row;
    const name = s("text", { x: left - 10, y: y + 4, class: "tick", "text-anchor": "end" });
    name.textContent = effect.name || effect.therapist_id;
    svg.append(name);
    svg.append(s("line", { x1: x(effect.lower), x2: x(effect.upper), y1: y, y2: y, class: "interval" }));
    svg.append(s("circle", { cx: x(effect.effect), cy: y, r: 5, class: "dot client" }));
  });
  const axis = s("text", { x: x(0), y: height - 6, class: "tick", "text-anchor": "middle" });
  axis.textContent = "average";
  svg.append(axis);
  const table = h(
    "table",
    {},
    h("caption", {}, "Therapist effects"),
    h("thead", {}, h("tr", {}, ...["Therapist", "Cases", "Estimate", "95% interval", "Reading"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      ...effects.map((e) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, e.name || e.therapist_id),
          h("td", {}, String(e.cases)),
          h("td", {}, e.effect.toFixed(2)),
          h("td", {}, `${e.lower.toFixed(2)} to ${e.upper.toFixed(2)}`),
          h("td", {}, e.reading ?? e.classification),
        ),
      ),
    ),
  );
  return h("figure", { class: "chart-figure" }, h("figcaption", {}, direction), svg, h("details", {}, h("summary", {}, "Numbers"), table));
}

const ROLES = ["clinician", "supervisor", "researcher", "admin"];

function roleSelect(user: Json, changed: (role: string) => void): HTMLElement {
  const select = h("select", { "aria-label": `Role of ${user.display_name}` }) as HTMLSelectElement;
  for (const role of ROLES) {
    const option = h("option", { value: role }, role) as HTMLOptionElement;
    option.selected = role === user.role;
    select.append(option);
  }
  select.addEventListener("change", () => changed(select.value));
  return select;
}

// A random first password (shown once; the person changes it), 20 characters from an alphabet
// without look-alikes: about 110 bits.
function newPassword(): string {
  const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

async function newAccountForm(): Promise<HTMLElement> {
  const organization = await api("GET", "/api/v1/organization");
  const clinics = organization.status === 200 ? (organization.body.clinics as Json[]) : [];
  const name = h("input", { id: "new-name", autocomplete: "off" }) as HTMLInputElement;
  const email = h("input", { id: "new-email", type: "email", autocomplete: "off" }) as HTMLInputElement;
  const role = h("select", { id: "new-role" }) as HTMLSelectElement;
  for (const r of ROLES) role.append(h("option", { value: r }, r));
  const clinic = h("select", { id: "new-clinic" }) as HTMLSelectElement;
  clinic.append(h("option", { value: "" }, "the whole organisation"));
  for (const c of clinics) clinic.append(h("option", { value: c.id }, c.name));
  const message = h("div", { role: "status" });
  const form = h(
    "form",
    { class: "panel" },
    h("h2", {}, "Add a staff account"),
    h("p", { class: "field" }, h("label", { for: "new-name" }, "Name"), name),
    h("p", { class: "field" }, h("label", { for: "new-email" }, "E-mail"), email),
    h("p", { class: "field" }, h("label", { for: "new-role" }, "Role"), role),
    h("p", { class: "field" }, h("label", { for: "new-clinic" }, "Clinic (a supervisor's team)"), clinic),
    message,
    h("button", { type: "submit" }, "Add account"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = newPassword();
    const body: Json = { email: email.value, display_name: name.value, role: role.value, password };
    if (clinic.value !== "") body.clinic_id = clinic.value;
    const created = await api("POST", "/api/v1/users", body);
    if (created.status !== 201) {
      message.replaceChildren(h("p", { class: "error" }, problem(created)));
      return;
    }
    message.replaceChildren(
      h("p", { class: "calm" }, `Added ${created.body.email}. Their first password, shown only now: `, h("code", { class: "new-password" }, password)),
      button("Done", () => void render(), "secondary"),
    );
  });
  return form;
}

async function adminView(): Promise<HTMLElement> {
  const view = h("main", { class: "wide" }, h("h1", {}, "Accounts"));
  const result = await api("GET", "/api/v1/users");
  if (result.status !== 200) {
    view.append(h("p", { class: "error", role: "alert" }, problem(result)));
    return view;
  }
  view.append(await newAccountForm());
  const rows = (result.body.users as Json[]).map((user) => {
    const change = async (body: Json): Promise<void> => {
      const changed = await api("PATCH", `/api/v1/users/${user.id}`, body);
      if (changed.status === 200) render();
      else view.append(h("p", { class: "error", role: "alert" }, problem(changed)));
    };
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, user.display_name),
      h("td", {}, user.email),
      h("td", {}, user.id === me?.user.id ? user.role : roleSelect(user, (role) => void change({ role }))),
      h("td", {}, user.mfa_enabled ? "on" : "off"),
      h("td", {}, user.disabled ? "disabled" : user.locked ? "locked" : "active"),
      h(
        "td",
        { class: "buttons" },
        user.locked ? button("Unlock", () => void change({ unlock: true }), "secondary") : null,
        user.mfa_enabled && user.id !== me?.user.id
          ? button("Reset two-step sign-in", () => void change({ reset_mfa: true }), "secondary")
          : null,
      ),
    );
  });
  view.append(
    h(
      "table",
      { class: "accounts" },
      h("caption", {}, "Staff accounts"),
      h(
        "thead",
        {},
        h("tr", {}, ...["Name", "E-mail", "Role", "Two-step", "State", "Actions"].map((t) => h("th", { scope: "col" }, t))),
      ),
      h("tbody", {}, ...rows),
    ),
  );
  return view;
}

// The organisation's settings (docs/signals.md): the safety text shown with every risk alert,
// and the whole document (thresholds, disabled signals, guidance overrides) for those who need
// it. The server validates and names the field of any mistake.
async function settingsView(): Promise<HTMLElement> {
  const view = h("main", { class: "wide" }, h("h1", {}, "Settings"));
  const result = await api("GET", "/api/v1/settings");
  if (result.status !== 200) {
    view.append(h("p", { class: "error", role: "alert" }, problem(result)));
    return view;
  }
  const document_ = (result.body ?? {}) as Json;
  const safety = h("textarea", { id: "safety", rows: "3" }) as HTMLTextAreaElement;
  safety.value = document_.safety_text ?? "";
  const rest = { ...document_ };
  delete rest.safety_text;
  const advanced = h("textarea", { id: "document", rows: "14", class: "code" }) as HTMLTextAreaElement;
  advanced.value = JSON.stringify(rest, null, 2);
  const message = h("p", { role: "status" });
  const form = h(
    "form",
    { class: "panel" },
    h(
      "p",
      { class: "field" },
      h("label", { for: "safety" }, "What a clinician should do when a client answers a risk item (shown with every such alert)"),
      safety,
    ),
    h(
      "p",
      { class: "field" },
      h("label", { for: "document" }, "Signal thresholds, disabled signals and guidance (JSON, see the signals guide)"),
      advanced,
    ),
    message,
    h("button", { type: "submit" }, "Save settings"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let body: Json;
    try {
      body = JSON.parse(advanced.value || "{}");
    } catch (error) {
      message.className = "error";
      message.textContent = `The JSON does not parse: ${(error as Error).message}`;
      return;
    }
    if (safety.value.trim() !== "") body.safety_text = safety.value;
    const saved = await api("PUT", "/api/v1/settings", body);
    message.className = saved.status === 200 ? "calm" : "error";
    message.textContent = saved.status === 200 ? "Saved." : problem(saved);
  });
  view.append(form);
  return view;
}

// The guidance shown with alerts, for this organisation (docs/signals.md): every shipped entry
// with a switch to hide it here, and the organisation's own entries (which replace a shipped
// one with the same id). Saved into the settings document (guidance.disabled and
// guidance.entries) through the settings API, which validates it and names any mistake.
async function guidanceView(): Promise<HTMLElement> {
  const view = h("main", { class: "wide" }, h("h1", {}, "Guidance"));
  const library = await api("GET", "/api/v1/guidance");
  const settings = await api("GET", "/api/v1/settings");
  if (library.status !== 200 || settings.status !== 200) {
    view.append(h("p", { class: "error", role: "alert" }, problem(library.status !== 200 ? library : settings)));
    return view;
  }
  const document_ = (settings.body ?? {}) as Json;
  const own: Json[] = [...((document_.guidance?.entries ?? []) as Json[])];
  const hidden = new Set<string>((document_.guidance?.disabled ?? []) as string[]);
  const shipped = library.body.shipped as Json[];
  const shippedIds = new Set<string>(shipped.map((e) => e.id as string));
  const signals = library.body.signals as string[];
  const message = h("p", { role: "status" });
  view.append(
    h("p", { class: "lead" }, "What clinicians see under “What to do” with each alert. Switch off an entry your organisation does not want shown, and add your own; nothing changes until you save."),
  );

  const switches = h("ul", { class: "guidance-list" });
  shipped.forEach((entry, i) => {
    const id = `show-${i}`;
    const input = h("input", { id, type: "checkbox", "data-entry": entry.id }) as HTMLInputElement;
    input.checked = !hidden.has(entry.id);
    switches.append(
      h(
        "li",
        {},
        h("p", { class: "check" }, input, h("label", { for: id }, `Show “${entry.title}”`)),
        h("p", { class: "meta" }, `With: ${((entry.signals ?? []) as string[]).map(kindWords).join(", ")}${entry.replaced ? " — replaced by your organisation's own entry" : ""}`),
        h("details", {}, h("summary", {}, "Read it"), h("p", {}, entry.text), h("p", { class: "note" }, ((entry.sources ?? []) as string[]).join(" "))),
      ),
    );
  });

  const ownList = h("ul", { class: "guidance-list" });
  const drawOwn = (): void => {
    ownList.replaceChildren(
      ...own.map((entry, i) =>
        h(
          "li",
          {},
          h("strong", {}, entry.title),
          h("p", { class: "meta" }, `${entry.id}${shippedIds.has(entry.id) ? " (replaces the shipped entry)" : ""} — with: ${((entry.signals ?? []) as string[]).map(kindWords).join(", ")}`),
          h("p", {}, entry.text),
          button(
            `Remove “${entry.title}”`,
            () => {
              own.splice(i, 1);
              drawOwn();
              message.className = "note";
              message.textContent = "Not saved yet.";
            },
            "secondary",
          ),
        ),
      ),
    );
    if (own.length === 0) ownList.append(h("li", { class: "note" }, "Your organisation has no entries of its own."));
  };
  drawOwn();

  const field = (id: string, label: string, control: HTMLElement): HTMLElement =>
    h("p", { class: "field" }, h("label", { for: id }, label), control);
  const newId = h("input", { id: "entry-id", autocomplete: "off" }) as HTMLInputElement;
  const newTitle = h("input", { id: "entry-title", autocomplete: "off" }) as HTMLInputElement;
  const newText = h("textarea", { id: "entry-text", rows: "3" }) as HTMLTextAreaElement;
  const newSource = h("input", { id: "entry-source", autocomplete: "off" }) as HTMLInputElement;
  const signalBoxes = signals.map((kind, i) => h("input", { id: `entry-signal-${i}`, type: "checkbox", value: kind }) as HTMLInputElement);
  const addForm = h(
    "form",
    { class: "panel" },
    h("h3", {}, "Add an entry"),
    field("entry-id", "Id (lower-case words joined by -; a shipped entry's id replaces it)", newId),
    field("entry-title", "Title", newTitle),
    field("entry-text", "What to try", newText),
    h(
      "fieldset",
      { class: "signals" },
      h("legend", {}, "Shown with"),
      ...signalBoxes.map((box, i) => h("p", { class: "check" }, box, h("label", { for: `entry-signal-${i}` }, kindWords(signals[i])))),
    ),
    field("entry-source", "Source (Author (year). Title. ...)", newSource),
    h("button", { type: "submit", class: "secondary" }, "Add this entry"),
  );
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    own.push({
      id: newId.value.trim(),
      title: newTitle.value.trim(),
      text: newText.value.trim(),
      signals: signalBoxes.filter((b) => b.checked).map((b) => b.value),
      sources: newSource.value.trim() === "" ? [] : [newSource.value.trim()],
    });
    (addForm as HTMLFormElement).reset();
    drawOwn();
    message.className = "note";
    message.textContent = "Not saved yet.";
  });

  const save = button("Save guidance", async () => {
    const disabled = [...hidden].filter((id) => !shippedIds.has(id));
    switches.querySelectorAll("input[type=checkbox]").forEach((box) => {
      const input = box as HTMLInputElement;
      if (!input.checked) disabled.push(input.dataset.entry ?? "");
    });
    const body = { ...document_, guidance: { entries: own, disabled } };
    const saved = await api("PUT", "/api/v1/settings", body);
    message.className = saved.status === 200 ? "calm" : "error";
    message.textContent = saved.status === 200 ? "Saved." : problem(saved);
  });

  view.append(
    h("section", { "aria-labelledby": "shipped-heading" }, h("h2", { id: "shipped-heading" }, "Shipped guidance"), switches),
    h("section", { "aria-labelledby": "own-heading" }, h("h2", { id: "own-heading" }, "Your organisation's entries"), ownList, addForm),
    message,
    save,
  );
  return view;
}

async function instrumentsView(): Promise<HTMLElement> {
  const view = h("main", { class: "wide" }, h("h1", {}, "Instruments"));
  const result = await api("GET", "/api/v1/instruments");
  if (result.status !== 200) {
    view.append(h("p", { class: "error", role: "alert" }, problem(result)));
    return view;
  }
  view.append(
    h("p", { class: "lead" }, "Installed measures. Sites add their own with `rapport instruments import`; the wording of licensed ones comes from text packs, which you can upload below (see the instruments guide)."),
    h(
      "table",
      { class: "accounts" },
      h("caption", {}, "Installed instruments"),
      h("thead", {}, h("tr", {}, ...["Title", "Id", "Kind", "Respondent", "Items", "Languages", "Wording"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        ...(result.body.instruments as Json[]).map((i) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, i.title),
            h("td", {}, i.id),
            h("td", {}, i.kind),
            h("td", {}, String(i.perspective)),
            h("td", {}, String(i.items)),
            h("td", {}, (i.languages as string[]).join(", ")),
            h("td", {}, i.worded ? "installed" : "needs a text pack"),
          ),
        ),
      ),
    ),
  );
  view.append(await textPacksSection());
  return view;
}

// Text packs (docs/instruments.md): the wording of a licensed or published questionnaire for one
// instrument and language, supplied by the organisation under its own licence. An upload is
// checked against the installed instrument, and every problem is listed by item and field; a
// stored pack is used by this organisation's check-ins before the site's.
async function textPacksSection(): Promise<HTMLElement> {
  const section = h(
    "section",
    { "aria-labelledby": "textpacks-heading" },
    h("h2", { id: "textpacks-heading" }, "Text packs"),
    h("p", {}, "A text pack is a JSON file with the wording (title, items, options, anchors) of one instrument in one language. Upload one to use that wording in this organisation's check-ins; it replaces any pack the site installed for the same instrument and language."),
  );
  const result = await api("GET", "/api/v1/textpacks");
  if (result.status !== 200) {
    section.append(h("p", { class: "error", role: "alert" }, problem(result)));
    return section;
  }
  const file = h("input", { id: "textpack-file", type: "file", accept: ".json,application/json" }) as HTMLInputElement;
  const message = h("div", { id: "textpack-message", role: "status" });
  const form = h(
    "form",
    { class: "panel" },
    h("p", { class: "field" }, h("label", { for: "textpack-file" }, "Text pack file (JSON)"), file),
    message,
    h("button", { type: "submit" }, "Upload text pack"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (chosen === undefined) {
      message.replaceChildren(h("p", { class: "error" }, "Choose a text pack file first."));
      return;
    }
    let pack: Json;
    try {
      pack = JSON.parse(await chosen.text());
    } catch (error) {
      message.replaceChildren(h("p", { class: "error" }, `The file is not JSON: ${(error as Error).message}`));
      return;
    }
    const uploaded = await api("POST", "/api/v1/textpacks", pack);
    if (uploaded.status === 201) {
      render();
      return;
    }
    const problems = (uploaded.body?.problems ?? []) as Json[];
    message.replaceChildren(
      h("p", { class: "error" }, problems.length > 0 ? `The text pack was not saved: ${problems.length} problem${problems.length === 1 ? "" : "s"} to fix.` : problem(uploaded)),
      h(
        "ul",
        { class: "problems" },
        ...problems.map((p) => h("li", {}, `${p.item ? `Item ${p.item}, ` : ""}${p.field}: ${p.message}`)),
      ),
    );
  });
  section.append(form);

  const own = result.body.textpacks as Json[];
  if (own.length === 0) {
    section.append(h("p", { class: "note" }, "This organisation has uploaded no text packs."));
  } else {
    section.append(
      h(
        "table",
        { class: "accounts textpacks" },
        h("caption", {}, "This organisation's text packs"),
        h("thead", {}, h("tr", {}, ...["Instrument", "Language", "Title", "Source and licence", "Uploaded", "State", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          ...own.map((p) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, p.instrument),
              h("td", {}, p.language),
              h("td", {}, p.title ?? ""),
              h("td", {}, [p.source, p.licence].filter((t) => t).join("; ")),
              h("td", {}, `${date(p.uploaded_at)} by ${p.uploaded_by_name ?? p.uploaded_by}`),
              h(
                "td",
                {},
                p.fits
                  ? "in use"
                  : `not used: ${((p.problems ?? []) as Json[]).map((q) => `${q.item ? `item ${q.item}, ` : ""}${q.field}: ${q.message}`).join("; ")}`,
              ),
              h(
                "td",
                {},
                button(
                  "Remove",
                  async () => {
                    const removed = await api("DELETE", `/api/v1/textpacks/${encodeURIComponent(p.instrument)}/${encodeURIComponent(p.language)}`);
                    if (removed.status === 204) render();
                    else section.append(h("p", { class: "error", role: "alert" }, problem(removed)));
                  },
                  "secondary",
                ),
              ),
            ),
          ),
        ),
      ),
    );
    // Name each Remove button by its pack for screen readers.
    section.querySelectorAll("table.textpacks tbody tr").forEach((row, i) => {
      row.querySelector("button")?.setAttribute("aria-label", `Remove the text pack for ${own[i].instrument} in ${own[i].language}`);
    });
  }
  const site = result.body.site as Json[];
  if (site.length > 0) {
    section.append(
      h(
        "table",
        { class: "accounts" },
        h("caption", {}, "Text packs installed with the server"),
        h("thead", {}, h("tr", {}, ...["Instrument", "Language", "Source", "Used here"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          ...site.map((p) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, p.instrument),
              h("td", {}, p.language),
              h("td", {}, p.source ?? ""),
              h("td", {}, p.replaced ? "no: replaced by this organisation's pack" : "yes"),
            ),
          ),
        ),
      ),
    );
  }
  return section;
}

// ---------------------------------------------------------------------------------------------
// Routing

async function loadMe(): Promise<void> {
  const result = await api("GET", "/api/v1/me");
  me = result.status === 200 ? (result.body as Me) : null;
}

async function render(): Promise<void> {
  if (refreshTimer !== undefined) {
    window.clearInterval(refreshTimer);
    refreshTimer = undefined;
  }
  if (me === null) {
    show(signInView());
    return;
  }
  if (me.mfa_enrolment_required) {
    show(await enrolView());
    return;
  }
  const route = location.hash.replace(/^#/, "") || "/";
  const episode = /^\/episode\/([A-Za-z0-9_-]+)$/.exec(route);
  if (episode !== null) show(await episodeView(episode[1]));
  else if (route === "/alerts") show(await alertsView());
  else if (route.startsWith("/team")) show(await teamView(route.split("/")[2] || "phq-9"));
  else if (route === "/settings" && me.user.role === "admin") show(await settingsView());
  else if (route === "/instruments" && me.user.role === "admin") show(await instrumentsView());
  else if (route === "/guidance" && me.user.role === "admin") show(await guidanceView());
  else if (route === "/admin" || me.user.role === "admin") show(await adminView());
  else show(await caseloadView());
}

window.addEventListener("hashchange", () => void render());
void loadMe().then(render);
