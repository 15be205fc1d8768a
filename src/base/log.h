// Structured logging: one JSON object per line on stderr.
//
//   log::Info("server listening", {{"port", 8080}, {"db", "sqlite:demo.db"}});
//   → {"ts":"2026-11-22T09:30:00.000Z","level":"info","msg":"server listening","port":8080,...}
//
// Never log clinical content (answers, scores, names); log ids and counts.
// Thread safety: safe from any thread; each line is written atomically.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rapport::log {

enum class Level { kDebug, kInfo, kWarning, kError };

using Value = std::variant<std::string_view, int64_t, double, bool>;
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, int v) : key(k), value(int64_t{v}) {}
  Field(std::string_view k, int64_t v) : key(k), value(v) {}
  Field(std::string_view k, uint64_t v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  Value value;
};

// Lines below `level` are dropped. Default: kInfo.
void SetLevel(Level level);
// Parses "debug", "info", "warning", "error"; false when unknown.
bool ParseLevel(std::string_view text, Level& level);

void Write(Level level, std::string_view message, std::initializer_list<Field> fields);

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, m, f);
}
inline void Warning(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kWarning, m, f);
}
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kError, m, f);
}

// JSON string escaping, shared by the few places that write JSON by hand.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace rapport::log
