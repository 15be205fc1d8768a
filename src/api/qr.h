// QR codes as SVG (libqrencode), for check-in links shown on a clinic screen or printed, and
// for authenticator-app enrolment.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace rapport::api {

// An SVG image of the QR code of `text` (error correction level M, 4-module quiet zone), with
// `title` as its accessible name. Errors: text too long for a QR code → kInvalidArgument.
Result<std::string> QrSvg(std::string_view text, std::string_view title);

}  // namespace rapport::api
