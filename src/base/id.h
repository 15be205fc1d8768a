// Opaque random identifiers and secrets (DESIGN.md §3: ids are random, never sequential).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/random.h"

namespace rapport {

// A new id: 128 random bits as 22 URL-safe base64 characters (no padding).
std::string NewId(Random& random);
// A new bearer secret such as a check-in token: 256 random bits, 43 URL-safe characters.
std::string NewToken(Random& random);

// True when `text` has the shape of an id or token: 16..128 characters of [A-Za-z0-9_-].
bool IsWellFormedId(std::string_view text);

// URL-safe base64 without padding (RFC 4648 §5).
std::string Base64UrlEncode(std::string_view bytes);

// Lower-case hex SHA-256 of `data`. Used to store secrets such as check-in tokens by digest.
std::string Sha256Hex(std::string_view data);

// The same digest of data given in pieces, e.g. a file as it is written.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(std::string_view data);
  // The lower-case hex digest of everything given; the stream starts again afterwards.
  std::string HexDigest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rapport
