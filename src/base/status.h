// Status and Result<T>: expected failures as values (STYLE.md rule 6).
//
// A Status is a code from a small closed set, a human-readable message, and optionally the
// name of the offending field (a JSON pointer, form field, item id or CLI option). Codes map
// 1:1 onto HTTP statuses (HttpStatus) and CLI exit codes (ExitCode) at the edges.
//
// Thread safety: values; safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rapport {

enum class StatusCode {
  kOk,
  kInvalidArgument,    // bad input from a user: HTTP 400, exit 2
  kNotFound,           // HTTP 404, exit 1
  kConflict,           // state conflict, e.g. a used check-in answered differently: HTTP 409
  kGone,               // expired or withdrawn resource: HTTP 410
  kUnauthenticated,    // HTTP 401
  kPermissionDenied,   // HTTP 403
  kResourceExhausted,  // rate or size limit: HTTP 429
  kUnavailable,        // shutting down or a dependency is down: HTTP 503
  kInternal,           // a bug or an environment failure: HTTP 500, exit 1
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The offending field, or empty when the error is not about one field.
  const std::string& field() const { return field_; }

  // "invalid-argument: message (field: x)".
  std::string ToString() const;

  // Returns a copy whose message is prefixed by `context + ": "`.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string field_;
};

inline Status InvalidArgument(std::string message, std::string field = {}) {
  return {StatusCode::kInvalidArgument, std::move(message), std::move(field)};
}
inline Status NotFound(std::string message) { return {StatusCode::kNotFound, std::move(message)}; }
inline Status Conflict(std::string message) { return {StatusCode::kConflict, std::move(message)}; }
inline Status Gone(std::string message) { return {StatusCode::kGone, std::move(message)}; }
inline Status Unavailable(std::string message) {
  return {StatusCode::kUnavailable, std::move(message)};
}
inline Status Internal(std::string message) { return {StatusCode::kInternal, std::move(message)}; }

// HTTP status for a code (200 for ok).
int HttpStatus(StatusCode code);
// Process exit code for a code: 0 ok, 2 bad usage or bad input, 1 any other failure.
int ExitCode(StatusCode code);

// Result<T>: a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : value_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(value_).ok() && "Result constructed from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(value_); }
  // The error; Status::Ok() when ok().
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(value_); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace rapport

#define RAPPORT_CONCAT_INNER(a, b) a##b
#define RAPPORT_CONCAT(a, b) RAPPORT_CONCAT_INNER(a, b)

#define RAPPORT_RETURN_IF_ERROR_IMPL(var, expr)                \
  do {                                                         \
    if (::rapport::Status var = (expr); !var.ok()) return var; \
  } while (false)

// Evaluates `expr` (a Status); returns it from the enclosing function when not ok.
#define RAPPORT_RETURN_IF_ERROR(expr) \
  RAPPORT_RETURN_IF_ERROR_IMPL(RAPPORT_CONCAT(_rapport_status_, __COUNTER__), expr)

#define RAPPORT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

// Evaluates `expr` (a Result<T>); on error returns its Status, else assigns the value to lhs.
#define RAPPORT_ASSIGN_OR_RETURN(lhs, expr) \
  RAPPORT_ASSIGN_OR_RETURN_IMPL(RAPPORT_CONCAT(_rapport_result_, __COUNTER__), lhs, expr)
