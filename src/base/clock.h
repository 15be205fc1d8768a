// Time behind an interface (STYLE.md rule 7): production code asks a Clock, tests use FakeClock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rapport {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

// Thread safety: implementations are safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

// The system wall clock.
class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
};

// Returns the process-wide system clock.
Clock& DefaultClock();

// "2026-11-22T09:30:00.000Z" (RFC 3339, UTC, millisecond precision).
std::string FormatTimestamp(Timestamp t);
// Parses RFC 3339 UTC timestamps as written by FormatTimestamp, with or without milliseconds.
Result<Timestamp> ParseTimestamp(std::string_view text);

// Milliseconds since the Unix epoch, for storage.
inline int64_t ToUnixMillis(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromUnixMillis(int64_t ms) { return Timestamp(std::chrono::milliseconds(ms)); }

}  // namespace rapport
