// Server-rendered HTML pages: the start page and the plain, accessible check-in form, its
// result page and kind error pages. No script anywhere (the Content-Security-Policy forbids
// it); styles come from /assets/rapport.css.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/checkin_service.h"
#include "api/http.h"

namespace rapport::api {

// Form field names are "i.<instrument id>.<item id>".
std::string FormFieldName(const std::string& instrument_id, const std::string& item_id);

std::string RenderStartPage(const std::vector<std::string>& demo_checkin_links);

// `values` holds previously entered answers by field name (to refill after an error);
// `error` is shown at the top and `error_field` marks the item it is about.
std::string RenderCheckinForm(const CheckinContext& context, const std::string& action,
                              const std::map<std::string, std::string>& values,
                              const std::string& error, const std::string& error_field);

std::string RenderCheckinResult(const CheckinContext& context,
                                const std::vector<domain::Response>& responses,
                                bool just_submitted);

std::string RenderMessagePage(const std::string& title, const std::string& message);

// The icon served at /assets/favicon.svg (linked from every page).
const std::string& FaviconSvg();

// The stylesheet served at /assets/rapport.css.
const std::string& Stylesheet();

}  // namespace rapport::api
