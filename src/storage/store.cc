#include "storage/store.h"

#include "storage/postgres/postgres_store.h"
#include "storage/sqlite/sqlite_store.h"

namespace rapport::storage {
namespace {

// Events read per query while verifying: bounds memory for long chains.
constexpr int64_t kVerifyPage = 10'000;

// The query parameter that sets how many read connections a server keeps (docs/operations.md,
// "Running on PostgreSQL"); Rapport's own, so it is taken out before the URL reaches libpq.
constexpr std::string_view kPoolSize = "pool_size";

// `url` without its pool_size parameter, whose value goes to `readers`.
Result<std::string> TakePoolSize(std::string_view url, size_t& readers) {
  const size_t query = url.find('?');
  if (query == std::string_view::npos) return std::string(url);
  std::string kept(url.substr(0, query));
  char separator = '?';
  std::string_view rest = url.substr(query + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view parameter = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (parameter.starts_with(kPoolSize) && parameter.substr(kPoolSize.size()).starts_with('=')) {
      const std::string_view value = parameter.substr(kPoolSize.size() + 1);
      size_t n = 0;
      bool digits = !value.empty() && value.size() <= 4;
      for (const char c : value) {
        digits = digits && c >= '0' && c <= '9';
        if (digits) n = n * 10 + static_cast<size_t>(c - '0');
      }
      if (!digits || n < 1 || n > 1000) {
        return InvalidArgument(
            "pool_size in the database URL must be a whole number from 1 to "
            "1000, got '" +
                std::string(value) + "'",
            "db");
      }
      readers = n;
      continue;
    }
    kept.push_back(separator);
    kept.append(parameter);
    separator = '&';
  }
  return kept;
}

}  // namespace

Result<AuditVerification> VerifyStoredAuditChain(ReadTransaction& txn, std::string_view org_id,
                                                 const std::optional<AuditHead>& anchor) {
  AuditChainVerifier verifier{std::string(org_id)};
  if (anchor) verifier.ExpectHash(anchor->seq, anchor->hash);
  int64_t after = 0;
  while (true) {
    RAPPORT_ASSIGN_OR_RETURN(const auto page, txn.ListAudit(org_id, after, kVerifyPage));
    if (page.empty()) break;
    bool sound = true;
    for (const domain::AuditEvent& event : page) {
      sound = verifier.Add(event);
      if (!sound) break;
    }
    if (!sound) break;
    after = page.back().seq;
  }
  RAPPORT_ASSIGN_OR_RETURN(const AuditHead head, txn.GetAuditHead(org_id));
  return verifier.Finish(head);
}

Result<std::unique_ptr<Store>> OpenStore(std::string_view url, bool migrate) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    sqlite::Options options;
    options.path = std::string(url.substr(kSqlite.size()));
    options.migrate = migrate;
    if (options.path.empty()) {
      return InvalidArgument("database URL '" + std::string(url) + "' has no path", "db");
    }
    return sqlite::OpenSqliteStore(options);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    postgres::Options options;
    options.migrate = migrate;
    RAPPORT_ASSIGN_OR_RETURN(options.url, TakePoolSize(url, options.max_readers));
    return postgres::OpenPostgresStore(options);
  }
  return InvalidArgument("unsupported database URL '" + std::string(url) +
                             "'; expected sqlite:PATH or postgresql://[USER@]HOST[:PORT]/DBNAME",
                         "db");
}

}  // namespace rapport::storage
