// Server-rendered HTML pages: the start page and the plain, accessible check-in form, its
// result page and kind error pages. No script anywhere (the Content-Security-Policy forbids
// it); styles come from /assets/rapport.css.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/checkin_service.h"
#include "api/http.h"
#include "api/ui_text.h"

namespace rapport::api {

// Form field names are "i.<instrument id>.<item id>"; the chosen language travels as "lang".
std::string FormFieldName(const std::string& instrument_id, const std::string& item_id);

// One instrument of a check-in as the respondent sees it.
struct InstrumentView {
  const instruments::Definition* definition = nullptr;  // worded (texts in `shown` language)
  bool fell_back = false;  // shown in another language than the page's (said on the page)
  // For an instrument that rates goals: the respondent's agreed goals, shown beside the items
  // in order (the first goal beside the first item); items past the last goal are not asked.
  // Empty: every item is asked as worded.
  std::vector<std::string> goals;
};

// A language the respondent may switch to at the start of the check-in.
struct LanguageLink {
  std::string tag;
  std::string name;  // in the language itself
  bool current = false;
};

// The language of a respondent's page and its text.
struct PageLanguage {
  const UiText* ui = nullptr;  // REQUIRES: not null
  std::string language;
  std::vector<LanguageLink> choices;  // shown when there are two or more
  // On the clinic's shared tablet (`?kiosk=1`): the form returns to the neutral kiosk screen
  // when left idle, and once answered the page shows nothing of the answers and goes back there.
  bool kiosk = false;
};

// Where a kiosk goes back to between clients.
inline constexpr std::string_view kKioskPath = "/kiosk";

std::string RenderStartPage(const std::vector<std::string>& demo_checkin_links);
// The shell of the staff application at /app (web/src/app.ts renders everything in it).
std::string RenderStaffApp();

// `values` holds previously entered answers by field name (to refill after an error);
// `error` is shown at the top and `error_field` marks the item it is about.
std::string RenderCheckinForm(const PageLanguage& page, const std::vector<InstrumentView>& views,
                              const std::string& action,
                              const std::map<std::string, std::string>& values,
                              const std::string& error, const std::string& error_field);

std::string RenderCheckinResult(const PageLanguage& page, const std::vector<InstrumentView>& views,
                                const std::vector<domain::Response>& responses,
                                bool just_submitted);

// The kiosk's neutral screen: nothing on it from anyone.
std::string RenderKioskPage(const UiText& ui, const std::string& language);

std::string RenderMessagePage(const std::string& title, const std::string& message,
                              const std::string& language = "en");

// The icon served at /assets/favicon.svg (linked from every page).
const std::string& FaviconSvg();

// The stylesheet served at /assets/rapport.css.
const std::string& Stylesheet();

}  // namespace rapport::api
