#include "storage/store.h"

#include "storage/postgres/postgres_store.h"
#include "storage/sqlite/sqlite_store.h"

namespace rapport::storage {

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
    options.url = std::string(url);
    options.migrate = migrate;
    return postgres::OpenPostgresStore(options);
  }
  return InvalidArgument("unsupported database URL '" + std::string(url) +
                             "'; expected sqlite:PATH or postgresql://[USER@]HOST[:PORT]/DBNAME",
                         "db");
}

}  // namespace rapport::storage
