// Throwaway PostgreSQL databases for tests (library rapport_storage_pg_testing; not for
// production code). The cluster is named by the environment: RAPPORT_TEST_POSTGRES holds an
// administrator's URL such as postgresql://rapport@127.0.0.1:PORT/postgres, or
// RAPPORT_TEST_POSTGRES_FILE names a file whose first line is one. ctest sets the latter for
// the cluster scripts/test-postgres.sh starts (the postgres_cluster fixture).
#pragma once

#include <string>

#include "base/status.h"

namespace rapport::storage::postgres {

// The cluster's administrator URL. kUnavailable, saying how to provide one, when neither
// variable is set or the file cannot be read.
Result<std::string> TestClusterUrl();

// Creates a database with a new unique name in the test cluster; returns its URL.
Result<std::string> CreateTestDatabase();

// Drops a database CreateTestDatabase made, closing any connections left to it.
Status DropTestDatabase(const std::string& url);

}  // namespace rapport::storage::postgres
