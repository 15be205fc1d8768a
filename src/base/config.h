// Layered configuration: built-in defaults < a JSON file < environment (RAPPORT_*) < flags.
//
// Keys are lower-case words joined by '_' ("port", "db", "log_level", "handler_threads").
// The environment variable for a key is RAPPORT_ plus the key in upper case (RAPPORT_PORT).
// The file is a flat JSON object whose values are strings, numbers or booleans.
//
// Thread safety: immutable after construction; safe to share.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rapport {

class Config {
 public:
  // Where a value came from, for `rapport serve --print-config` and error messages.
  enum class Source { kDefault, kFile, kEnvironment, kFlag };

  Config() = default;

  // Adds `defaults`, then the file at `file_path` (when not empty), then every RAPPORT_* variable
  // of `environ` (a NULL-terminated array as in POSIX; may be null), then `flags`.
  // Errors: an unreadable file, malformed JSON, or a non-scalar value → kInvalidArgument naming
  // the file and key.
  static Result<Config> Load(const std::map<std::string, std::string>& defaults,
                             const std::string& file_path, const char* const* environ,
                             const std::map<std::string, std::string>& flags);

  void Set(std::string key, std::string value, Source source);

  std::optional<std::string> Get(std::string_view key) const;
  std::string GetOr(std::string_view key, std::string_view fallback) const;
  // Errors: the value is not an integer within [min, max] → kInvalidArgument naming the key
  // and where it came from.
  Result<int64_t> GetInt(std::string_view key, int64_t fallback, int64_t min, int64_t max) const;

 private:
  struct Entry {
    std::string value;
    Source source;
  };
  std::map<std::string, Entry, std::less<>> entries_;
};

std::string_view ConfigSourceName(Config::Source source);

}  // namespace rapport
