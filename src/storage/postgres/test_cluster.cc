#include "storage/postgres/test_cluster.h"

#include <cstdlib>
#include <fstream>

#include "base/id.h"
#include "base/random.h"
#include "storage/postgres/db.h"

namespace rapport::storage::postgres {
namespace {

constexpr std::string_view kDatabasePrefix = "rapport_test_";

// `url` with its database name (the path after host[:port]) replaced by `database`; any
// ?parameters are kept.
std::string WithDatabase(const std::string& url, std::string_view database) {
  const size_t scheme = url.find("://");
  const size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t query = url.find('?', authority);
  const size_t path = url.find('/', authority);
  const size_t host_end = std::min(path, query);
  std::string out = url.substr(0, std::min(host_end, url.size()));
  out.append("/").append(database);
  if (query != std::string::npos) out.append(url.substr(query));
  return out;
}

// The database name of a URL made by WithDatabase.
std::string DatabaseOf(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) return {};
  return url.substr(path + 1, url.find('?', path) - path - 1);
}

}  // namespace

Result<std::string> TestClusterUrl() {
  if (const char* url = std::getenv("RAPPORT_TEST_POSTGRES"); url != nullptr && *url != '\0') {
    return std::string(url);
  }
  if (const char* file = std::getenv("RAPPORT_TEST_POSTGRES_FILE");
      file != nullptr && *file != '\0') {
    std::ifstream in(file);
    std::string url;
    if (in && std::getline(in, url) && !url.empty()) return url;
    return Unavailable(std::string("RAPPORT_TEST_POSTGRES_FILE names '") + file +
                       "', which holds no URL: did scripts/test-postgres.sh start fail?");
  }
  return Unavailable(
      "no PostgreSQL cluster for the postgresql tests: set RAPPORT_TEST_POSTGRES to an "
      "administrator's URL (e.g. postgresql://rapport@127.0.0.1:5432/postgres), or run them "
      "through ctest, which starts a throwaway cluster (scripts/test-postgres.sh)");
}

Result<std::string> CreateTestDatabase() {
  RAPPORT_ASSIGN_OR_RETURN(const std::string admin_url, TestClusterUrl());
  RAPPORT_ASSIGN_OR_RETURN(Connection admin, Connection::Open(admin_url));
  // A name from our own hex digits only; CREATE DATABASE takes no parameters.
  const std::string name =
      std::string(kDatabasePrefix).append(Sha256Hex(NewId(DefaultRandom())).substr(0, 24));
  RAPPORT_RETURN_IF_ERROR(
      admin.Execute(std::string("CREATE DATABASE \"").append(name).append("\"")));
  return WithDatabase(admin_url, name);
}

Status DropTestDatabase(const std::string& url) {
  const std::string name = DatabaseOf(url);
  if (!name.starts_with(kDatabasePrefix) ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return InvalidArgument("'" + name + "' is not a test database");
  }
  RAPPORT_ASSIGN_OR_RETURN(const std::string admin_url, TestClusterUrl());
  RAPPORT_ASSIGN_OR_RETURN(Connection admin, Connection::Open(admin_url));
  return admin.Execute(
      std::string("DROP DATABASE IF EXISTS \"").append(name).append("\" WITH (FORCE)"));
}

}  // namespace rapport::storage::postgres
