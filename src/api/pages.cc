#include "api/pages.h"

#include <cmath>
#include <sstream>

namespace rapport::api {
namespace {

// `script`: the path of one script under /assets/ to load (deferred), or empty.
std::string Page(const std::string& title, const std::string& body,
                 const std::string& language = "en", const std::string& script = {},
                 const std::string& extra_head = {}) {
  std::string out =
      "<!doctype html>\n<html lang=\"" + HtmlEscape(language) +
      "\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  out += HtmlEscape(title);
  out +=
      " · Rapport</title>\n<link rel=\"stylesheet\" "
      "href=\"/assets/rapport.css\">\n<link rel=\"icon\" type=\"image/svg+xml\" "
      "href=\"/assets/favicon.svg\">\n";
  if (!script.empty()) out += "<script src=\"" + HtmlEscape(script) + "\" defer></script>\n";
  out += extra_head;
  out += "</head>\n<body>\n";
  out += "<main>\n" + body + "</main>\n</body>\n</html>\n";
  return out;
}

std::string FormatScore(double value) {
  std::ostringstream out;
  out.precision(3);
  out << (std::fabs(value - std::round(value)) < 1e-9 ? std::round(value) : value);
  return out.str();
}

std::string FormatValue(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

std::string FormFieldName(const std::string& instrument_id, const std::string& item_id) {
  return "i." + instrument_id + "." + item_id;
}

std::string RenderStaffApp() {
  // The staff application is script (web/src/app.ts); the shell only holds its place.
  return "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>Rapport</title>\n"
         "<link rel=\"stylesheet\" href=\"/assets/rapport.css\">\n"
         "<link rel=\"stylesheet\" href=\"/assets/app.css\">\n"
         "<link rel=\"icon\" type=\"image/svg+xml\" href=\"/assets/favicon.svg\">\n"
         "<script src=\"/assets/app.js\" defer></script>\n</head>\n<body class=\"staff\">\n"
         "<div id=\"app\"><main><h1>Rapport</h1><noscript><p>The staff pages need "
         "JavaScript. Check-in links work without it.</p></noscript><p class=\"lead\">"
         "Loading…</p></main></div>\n</body>\n</html>\n";
}

std::string RenderStartPage(const std::vector<std::string>& demo_checkin_links) {
  std::string body =
      "<h1>Rapport</h1>\n"
      "<p class=\"lead\">Measurement-based care of the therapeutic relationship. Clients rate "
      "each session in under a minute; clinicians see the alliance and progress across "
      "sessions, ruptures and repairs, and early signs that therapy is not on track, with "
      "guidance to act on.</p>\n"
      "<p>This server is running. Clients answer check-ins through the one-time links their "
      "clinic gives them. Staff <a href=\"/app\">sign in here</a>.</p>\n";
  if (!demo_checkin_links.empty()) {
    body +=
        "<h2>Demo check-ins</h2>\n<p>These are open check-in links from the demo "
        "organisation. Each can be answered once.</p>\n<ul class=\"links\">\n";
    for (size_t i = 0; i < demo_checkin_links.size(); ++i) {
      body += "<li><a href=\"" + HtmlEscape(demo_checkin_links[i]) + "\">Check-in " +
              std::to_string(i + 1) + "</a></li>\n";
    }
    body += "</ul>\n";
  }
  return Page("Rapport", body);
}

namespace {

// The row of languages at the start of a check-in: plain links, no script.
std::string LanguageNav(const PageLanguage& page, const std::string& action) {
  if (page.choices.size() < 2) return {};
  std::string out = "<nav class=\"languages\" aria-label=\"" +
                    HtmlEscape(page.ui->Get(page.language, "form.languages")) + "\">\n<ul>\n";
  for (const LanguageLink& link : page.choices) {
    if (link.current) {
      out += "<li><strong lang=\"" + HtmlEscape(link.tag) + "\" aria-current=\"true\">" +
             HtmlEscape(link.name) + "</strong></li>\n";
    } else {
      const char* join = action.find('?') == std::string::npos ? "?" : "&";
      out += "<li><a href=\"" + HtmlEscape(action) + join + "lang=" + HtmlEscape(link.tag) +
             "\" hreflang=\"" + HtmlEscape(link.tag) + "\" lang=\"" + HtmlEscape(link.tag) + "\">" +
             HtmlEscape(link.name) + "</a></li>\n";
    }
  }
  return out + "</ul>\n</nav>\n";
}

}  // namespace

std::string RenderCheckinForm(const PageLanguage& page, const std::vector<InstrumentView>& views,
                              const std::string& action,
                              const std::map<std::string, std::string>& values,
                              const std::string& error, const std::string& error_field) {
  const UiText& ui = *page.ui;
  const std::string& lang = page.language;
  const std::string target = page.kiosk ? action + "?kiosk=1" : action;
  std::string body = LanguageNav(page, target);
  body += "<h1>" + HtmlEscape(ui.Get(lang, "form.title")) + "</h1>\n";
  body += "<p class=\"lead\">" + HtmlEscape(ui.Get(lang, "form.lead")) + "</p>\n";
  if (!error.empty()) {
    body += "<div class=\"error\" role=\"alert\" id=\"form-error\"><strong>" +
            HtmlEscape(ui.Get(lang, "form.error_heading")) + "</strong> " + HtmlEscape(error) +
            "</div>\n";
  }
  // Filled in and shown by /assets/checkin.js; without script the form works as it is.
  body += "<div class=\"progress\" id=\"progress\" hidden data-template=\"" +
          HtmlEscape(ui.Get(lang, "form.progress")) +
          "\"><progress aria-hidden=\"true\"></progress><p class=\"progress-text\" "
          "role=\"status\"></p></div>\n";
  body +=
      "<form class=\"checkin\" method=\"post\" action=\"" + HtmlEscape(target) + "\"" +
      (page.kiosk ? " data-kiosk-return=\"" + std::string(kKioskPath) + "\" data-kiosk-idle=\"120\""
                  : std::string()) +
      " novalidate>\n";
  body += "<input type=\"hidden\" name=\"lang\" value=\"" + HtmlEscape(lang) + "\">\n";
  for (const InstrumentView& view : views) {
    const instruments::Definition* definition = view.definition;
    body += "<section class=\"instrument\"" +
            (definition->language != lang ? " lang=\"" + HtmlEscape(definition->language) + "\""
                                          : std::string()) +
            ">\n<h2>" + HtmlEscape(definition->title) + "</h2>\n";
    if (view.fell_back) {
      body += "<p class=\"fallback\" lang=\"" + HtmlEscape(lang) + "\">" +
              HtmlEscape(ui.Format(
                  lang, "form.fallback",
                  {{"language", ui.Name(lang)}, {"shown", ui.Name(definition->language)}})) +
              "</p>\n";
    }
    const size_t asked = view.goals.empty() ? definition->items.size()
                                            : std::min(definition->items.size(), view.goals.size());
    for (size_t n = 0; n < asked; ++n) {
      const instruments::Item& item = definition->items[n];
      const std::string name = FormFieldName(definition->id, item.id);
      const auto entered = values.find(name);
      const bool has_error = error_field == definition->id + ".item " + item.id;
      const std::string legend_id = "q-" + definition->id + "-" + item.id;
      const std::string goal_id = legend_id + "-goal";
      std::string described_by = has_error ? "form-error" : "";
      if (!view.goals.empty()) described_by += (described_by.empty() ? "" : " ") + goal_id;
      body += "<fieldset class=\"item" + std::string(has_error ? " invalid" : "") +
              "\" aria-describedby=\"" + described_by + "\">\n<legend id=\"" +
              HtmlEscape(legend_id) + "\"><span class=\"number\">" + std::to_string(n + 1) +
              ".</span> " + HtmlEscape(item.text) + "</legend>\n";
      if (!view.goals.empty()) {
        // The goal in the words agreed with the clinician, which the item asks about.
        body += "<p class=\"goal\" id=\"" + HtmlEscape(goal_id) + "\">" +
                HtmlEscape(view.goals[n]) + "</p>\n";
      }
      body += "<div class=\"options" +
              std::string(item.type == instruments::ItemType::kChoice ? "" : " scale") + "\">\n";
      std::vector<std::pair<double, std::string>> choices;
      if (item.type == instruments::ItemType::kChoice) {
        for (const instruments::Option& option : item.options) {
          choices.emplace_back(option.value, option.display);
        }
      } else {
        const double step = item.step > 0 ? item.step : 1;
        for (double v = item.min; v <= item.max + 1e-9; v += step)
          choices.emplace_back(v, FormatValue(v));
      }
      for (const auto& [value, label] : choices) {
        const std::string text = FormatValue(value);
        const std::string id = legend_id + "-" + text;
        const bool checked = entered != values.end() && entered->second == text;
        body += "<label for=\"" + HtmlEscape(id) + "\"><input type=\"radio\" id=\"" +
                HtmlEscape(id) + "\" name=\"" + HtmlEscape(name) + "\" value=\"" + text + "\"" +
                (checked ? " checked" : "") + (item.required ? " required" : "") + "> <span>" +
                HtmlEscape(label) + "</span></label>\n";
      }
      body += "</div>\n";
      if (!item.min_label.empty() || !item.max_label.empty()) {
        body += "<p class=\"anchors\"><span>" + FormatValue(item.min) + " = " +
                HtmlEscape(item.min_label) + "</span><span>" + FormatValue(item.max) + " = " +
                HtmlEscape(item.max_label) + "</span></p>\n";
      }
      body += "</fieldset>\n";
    }
    body += "</section>\n";
  }
  body +=
      "<button type=\"submit\">" + HtmlEscape(ui.Get(lang, "form.submit")) + "</button>\n</form>\n";
  return Page(ui.Get(lang, "form.title"), body, lang, "/assets/checkin.js");
}

std::string RenderCheckinResult(const PageLanguage& page, const std::vector<InstrumentView>& views,
                                const std::vector<domain::Response>& responses,
                                bool just_submitted) {
  const UiText& ui = *page.ui;
  const std::string& lang = page.language;
  if (page.kiosk) {
    // A shared screen: thank the client, show nothing they answered, and clear the screen for
    // the next person at a touch of "Finish", or by itself after 20 quiet seconds
    // (/assets/checkin.js; not a meta refresh, which WCAG 2.2.1 rules out).
    return Page(ui.Get(lang, "result.title"),
                "<div data-kiosk-return=\"" + std::string(kKioskPath) +
                    "\" data-kiosk-idle=\"20\"><h1>" + HtmlEscape(ui.Get(lang, "result.title")) +
                    "</h1>\n<p class=\"lead\" role=\"status\">" +
                    HtmlEscape(ui.Get(lang, "kiosk.done")) +
                    "</p>\n<p><a class=\"button\" href=\"" + std::string(kKioskPath) + "\">" +
                    HtmlEscape(ui.Get(lang, "kiosk.finish")) + "</a></p></div>\n",
                lang, "/assets/checkin.js");
  }
  std::string body = "<h1>" + HtmlEscape(ui.Get(lang, "result.title")) + "</h1>\n";
  body += "<p class=\"lead\" role=\"status\">" +
          HtmlEscape(ui.Get(lang, just_submitted ? "result.saved" : "result.already")) + "</p>\n";
  const std::string not_scored = ui.Get(lang, "result.not_scored");
  for (const domain::Response& response : responses) {
    const instruments::Definition* definition = nullptr;
    for (const InstrumentView& view : views) {
      if (view.definition->id == response.instrument_id) definition = view.definition;
    }
    const std::string title = definition != nullptr ? definition->title : response.instrument_id;
    body += "<section class=\"result\" data-instrument=\"" + HtmlEscape(response.instrument_id) +
            "\">\n<h2>" + HtmlEscape(title) + "</h2>\n<dl>\n";
    body += "<dt>" + HtmlEscape(ui.Get(lang, "result.overall")) + "</dt><dd class=\"total\">" +
            (response.score.total ? FormatScore(*response.score.total) : not_scored) + "</dd>\n";
    for (const auto& [id, value] : response.score.subscales) {
      body += "<dt>" + HtmlEscape(ui.GetOr(lang, "subscale." + id, id)) +
              "</dt><dd data-subscale=\"" + HtmlEscape(id) + "\">" +
              (value ? FormatScore(*value) : not_scored) + "</dd>\n";
    }
    if (!response.score.band.empty()) {
      body += "<dt>" + HtmlEscape(ui.Get(lang, "result.band")) + "</dt><dd class=\"band\">" +
              HtmlEscape(response.score.band) + "</dd>\n";
    }
    body += "</dl>\n</section>\n";
  }
  body += "<p>" + HtmlEscape(ui.Get(lang, "result.close")) + "</p>\n";
  return Page(ui.Get(lang, "result.title"), body, lang);
}

std::string RenderKioskPage(const UiText& ui, const std::string& language) {
  return Page(ui.Get(language, "kiosk.title"),
              "<div class=\"kiosk\"><h1>" + HtmlEscape(ui.Get(language, "kiosk.title")) +
                  "</h1>\n<p class=\"lead\">" + HtmlEscape(ui.Get(language, "kiosk.message")) +
                  "</p></div>\n",
              language);
}

std::string RenderMessagePage(const std::string& title, const std::string& message,
                              const std::string& language) {
  return Page(
      title,
      "<h1>" + HtmlEscape(title) + "</h1>\n<p class=\"lead\">" + HtmlEscape(message) + "</p>\n",
      language);
}

const std::string& FaviconSvg() {
  // Two overlapping circles: two people in one conversation.
  static const std::string kSvg =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">"
      "<circle cx=\"12\" cy=\"16\" r=\"9\" fill=\"#1f6f8b\"/>"
      "<circle cx=\"20\" cy=\"16\" r=\"9\" fill=\"#ffbf47\" fill-opacity=\"0.85\"/></svg>";
  return kSvg;
}

const std::string& Stylesheet() {
  static const std::string kCss = R"css(:root {
  --ink: #1d2733; --muted: #52606d; --accent: #1f6f8b; --accent-ink: #ffffff;
  --paper: #fbfaf7; --line: #d4d9de; --error: #a4262c; --focus: #ffbf47;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink);
  font: 18px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 40rem; margin: 0 auto; padding: 1.5rem 1rem 4rem; }
h1 { font-size: 1.75rem; margin: 0.5rem 0 0.75rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.75rem; }
.lead { color: var(--muted); }
a { color: var(--accent); }
fieldset { border: 1px solid var(--line); border-radius: 0.75rem; margin: 0 0 1rem;
  padding: 0.75rem 1rem 1rem; background: #fff; }
fieldset.invalid { border: 2px solid var(--error); }
legend { font-weight: 600; padding: 0 0.25rem; }
.goal { margin: 0.25rem 0 0.75rem; font-size: 1.1rem; font-style: italic; }
.number { color: var(--muted); font-weight: 400; }
.options { display: flex; flex-direction: column; gap: 0.5rem; margin-top: 0.5rem; }
.options.scale { flex-direction: row; flex-wrap: wrap; }
.options label { display: flex; align-items: center; gap: 0.6rem; min-height: 2.75rem;
  padding: 0.4rem 0.75rem; border: 1px solid var(--line); border-radius: 0.5rem; cursor: pointer; }
.options.scale label { min-width: 2.9rem; justify-content: center; }
.options input { width: 1.25rem; height: 1.25rem; margin: 0; }
.options label:has(input:checked) { border-color: var(--accent); background: #e7f2f6; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 3px solid var(--focus);
  outline-offset: 2px; }
.anchors { display: flex; justify-content: space-between; color: var(--muted); font-size: 0.9rem;
  margin: 0.5rem 0 0; }
button { font: inherit; font-weight: 600; color: var(--accent-ink); background: var(--accent);
  border: 0; border-radius: 0.6rem; padding: 0.9rem 1.5rem; min-height: 3rem; width: 100%;
  cursor: pointer; margin-top: 1rem; }
.error { border-left: 4px solid var(--error); background: #fdf1f1; padding: 0.75rem 1rem;
  margin: 1rem 0; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 0.25rem 1rem; }
dt { color: var(--muted); text-transform: capitalize; }
dd { margin: 0; font-weight: 600; }
.links li { margin: 0.4rem 0; }
nav.languages ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem;
  margin: 0; padding: 0; justify-content: flex-end; }
nav.languages a, nav.languages strong { display: inline-block; padding: 0.5rem 0.25rem;
  min-height: 2.75rem; }
.fallback { color: var(--muted); font-style: italic; }
.progress { position: sticky; top: 0; z-index: 1; background: var(--paper);
  padding: 0.5rem 0; margin: 0 0 0.5rem; }
.progress[hidden] { display: none; }
.progress progress { display: block; width: 100%; height: 0.5rem; accent-color: var(--accent); }
.progress p { margin: 0.25rem 0 0; color: var(--muted); font-size: 0.9rem; }
.kiosk { text-align: center; padding-top: 20vh; }
a.button { display: inline-block; font-weight: 600; color: var(--accent-ink);
  background: var(--accent); border-radius: 0.6rem; padding: 0.9rem 1.5rem; min-height: 3rem;
  text-decoration: none; }
)css";
  return kCss;
}

}  // namespace rapport::api
