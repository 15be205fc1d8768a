#include "storage/postgres/db.h"

#include <charconv>
#include <cstdlib>

namespace rapport::storage::postgres {
namespace {

bool SqlStateIn(std::string_view state, std::initializer_list<std::string_view> prefixes) {
  for (const std::string_view prefix : prefixes) {
    if (state.starts_with(prefix)) return true;
  }
  return false;
}

// libpq prints NOTICE messages (e.g. "relation already exists, skipping") to stderr unless
// told otherwise; the store reports through Status and the log instead.
void IgnoreNotice(void*, const char*) {}

}  // namespace

Status PostgresStatus(const PGresult* result, PGconn* conn, std::string_view what) {
  const char* state_field =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view state = state_field != nullptr ? state_field : "";
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string detail = primary != nullptr ? primary : (conn != nullptr ? PQerrorMessage(conn) : "");
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  const std::string message = std::string(what).append(": ").append(detail);
  if (state.starts_with("23")) return Conflict(message);
  // 40001 serialization failure, 40P01 deadlock, 08 connection exceptions, 53 insufficient
  // resources, 57P0x operator intervention (shutdown), 55P03 lock not available.
  if (SqlStateIn(state, {"40001", "40P01", "08", "53", "57P", "55P03"}) ||
      (conn != nullptr && PQstatus(conn) == CONNECTION_BAD)) {
    return Unavailable(message);
  }
  return Internal(message);
}

Params& Params::Add(std::string_view value) {
  values_.emplace_back(std::string(value));
  return *this;
}
Params& Params::Add(int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}
Params& Params::Add(bool value) {
  values_.emplace_back(value ? "t" : "f");
  return *this;
}
Params& Params::Add(double value) {
  // The shortest text that reads back as the same double (PostgreSQL parses float8 exactly).
  char buffer[64];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  values_.emplace_back(std::string(buffer, error == std::errc() ? end : buffer));
  return *this;
}
Params& Params::Add(const std::optional<double>& value) { return value ? Add(*value) : AddNull(); }
Params& Params::Add(const std::optional<int64_t>& value) { return value ? Add(*value) : AddNull(); }
Params& Params::AddNull() {
  values_.emplace_back(std::nullopt);
  return *this;
}

std::vector<const char*> Params::Pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& value : values_) out.push_back(value ? value->c_str() : nullptr);
  return out;
}

int64_t Rows::Affected() const {
  const char* tuples = PQcmdTuples(result_.get());
  return tuples != nullptr && *tuples != '\0' ? std::strtoll(tuples, nullptr, 10) : 0;
}

std::string Rows::Text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t Rows::Int(int row, int column) const {
  const char* text = PQgetvalue(result_.get(), row, column);
  const int length = PQgetlength(result_.get(), row, column);
  int64_t value = 0;
  std::from_chars(text, text + length, value);
  return value;
}

double Rows::Double(int row, int column) const {
  const char* text = PQgetvalue(result_.get(), row, column);
  const int length = PQgetlength(result_.get(), row, column);
  double value = 0;
  if (std::from_chars(text, text + length, value).ec != std::errc()) {
    value = std::strtod(text, nullptr);  // "Infinity", "-Infinity", "NaN"
  }
  return value;
}

bool Rows::Bool(int row, int column) const {
  const char* text = PQgetvalue(result_.get(), row, column);
  return text[0] == 't';
}

std::optional<double> Rows::OptionalDouble(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Double(row, column);
}

Result<Connection> Connection::Open(const std::string& url) {
  // Later entries override earlier ones: the URL's parameters override the defaults before
  // it, and the session options after it are always ours.
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", "options", nullptr};
  const char* values[] = {"10", "rapport", url.c_str(),
                          "-c synchronous_commit=on -c TimeZone=UTC -c client_min_messages=warning",
                          nullptr};
  Connection connection;
  connection.conn_.reset(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (connection.conn_ == nullptr) return Unavailable("cannot allocate a PostgreSQL connection");
  if (PQstatus(connection.conn_.get()) != CONNECTION_OK) {
    std::string detail = PQerrorMessage(connection.conn_.get());
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    return Unavailable(std::string("cannot connect to PostgreSQL: ").append(detail));
  }
  PQsetNoticeProcessor(connection.conn_.get(), IgnoreNotice, nullptr);
  return connection;
}

Status Connection::Execute(std::string_view sql) {
  std::unique_ptr<PGresult, ResultDeleter> result(PQexec(conn_.get(), std::string(sql).c_str()));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Status::Ok();
  return PostgresStatus(result.get(), conn_.get(), "execute");
}

Result<Rows> Connection::Query(std::string_view sql, const Params& params) {
  auto it = prepared_->find(sql);
  if (it == prepared_->end()) {
    std::string name = std::string("s").append(std::to_string(prepared_->size()));
    std::unique_ptr<PGresult, ResultDeleter> prepared(
        PQprepare(conn_.get(), name.c_str(), std::string(sql).c_str(), 0, nullptr));
    if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      return PostgresStatus(prepared.get(), conn_.get(), "prepare");
    }
    it = prepared_->emplace(std::string(sql), std::move(name)).first;
  }
  const std::vector<const char*> values = params.Pointers();
  PGresult* raw = PQexecPrepared(conn_.get(), it->second.c_str(), static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, /*resultFormat=*/0);
  Rows rows(raw);
  const ExecStatusType status = PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
  return PostgresStatus(raw, conn_.get(), "query");
}

bool Connection::Healthy() const { return PQstatus(conn_.get()) == CONNECTION_OK; }

Status Connection::Reset() {
  prepared_->clear();
  PQreset(conn_.get());
  if (!Healthy()) {
    return Unavailable(
        std::string("cannot reconnect to PostgreSQL: ").append(PQerrorMessage(conn_.get())));
  }
  return Status::Ok();
}

}  // namespace rapport::storage::postgres
