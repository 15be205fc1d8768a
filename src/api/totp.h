// Time-based one-time passwords for staff sign-in (RFC 6238 over RFC 4226 HOTP, HMAC-SHA-1,
// 30-second steps, 6 digits: what authenticator apps expect by default), base32 for showing
// the shared secret (RFC 4648 §6), and the otpauth:// URI that enrolment shows as a QR code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"

namespace rapport::api {

// The HOTP value (RFC 4226 §5.3) of `counter` with `digits` digits, zero-padded.
std::string Hotp(std::string_view secret, uint64_t counter, int digits = 6);

// The TOTP value at `at` (RFC 6238 §4: counter = floor(unix seconds / 30)).
std::string Totp(std::string_view secret, Timestamp at, int digits = 6);

// The time step of `code` when it matches the TOTP value at `at` or one step either side
// (clock drift, RFC 6238 §5.2); empty when it matches none. The caller refuses a step at or
// before the last one used, so a code cannot be replayed.
std::optional<int64_t> MatchTotp(std::string_view secret, std::string_view code, Timestamp at);

// RFC 4648 base32 without padding, and its decoder (case-insensitive, spaces and padding
// ignored); empty on a character outside the alphabet.
std::string Base32Encode(std::string_view bytes);
std::optional<std::string> Base32Decode(std::string_view text);

// otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30
std::string OtpauthUri(std::string_view issuer, std::string_view account, std::string_view secret);

}  // namespace rapport::api
