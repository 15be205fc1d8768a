#include "api/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cctype>

namespace rapport::api {
namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::string UriEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~' || c == '@') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

}  // namespace

std::string Hotp(std::string_view secret, uint64_t counter, int digits) {
  std::array<unsigned char, 8> message{};
  for (int i = 7; i >= 0; --i) {
    message[static_cast<size_t>(i)] = static_cast<unsigned char>(counter & 0xFF);
    counter >>= 8;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_length = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), message.data(), message.size(),
       mac.data(), &mac_length);
  // Dynamic truncation (RFC 4226 §5.3).
  const unsigned offset = mac[mac_length - 1] & 0x0F;
  const uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7F) << 24) |
                          (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                          (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                          static_cast<uint32_t>(mac[offset + 3]);
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string code = std::to_string(binary % modulus);
  return std::string(static_cast<size_t>(digits) - code.size(), '0') + code;
}

std::string Totp(std::string_view secret, Timestamp at, int digits) {
  return Hotp(secret, static_cast<uint64_t>(ToUnixMillis(at) / 1000 / 30), digits);
}

std::optional<int64_t> MatchTotp(std::string_view secret, std::string_view code, Timestamp at) {
  if (code.size() != 6) return std::nullopt;
  const int64_t step = ToUnixMillis(at) / 1000 / 30;
  for (const int64_t candidate : {step, step - 1, step + 1}) {
    if (candidate < 0) continue;
    const std::string expected = Hotp(secret, static_cast<uint64_t>(candidate));
    // Compare every character so the time taken does not depend on where they differ.
    unsigned char difference = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      difference |= static_cast<unsigned char>(expected[i] ^ code[i]);
    }
    if (difference == 0) return candidate;
  }
  return std::nullopt;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 0x1F]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1F]);
  return out;
}

std::optional<std::string> Base32Decode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == ' ' || c == '=' || c == '-') continue;
    const char upper = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const size_t value = kBase32Alphabet.find(upper);
    if (value == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::string OtpauthUri(std::string_view issuer, std::string_view account, std::string_view secret) {
  std::string uri = "otpauth://totp/";
  uri.append(UriEscape(issuer)).append(":").append(UriEscape(account));
  uri.append("?secret=").append(Base32Encode(secret));
  uri.append("&issuer=").append(UriEscape(issuer));
  uri.append("&algorithm=SHA1&digits=6&period=30");
  return uri;
}

}  // namespace rapport::api
