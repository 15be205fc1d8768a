// SQLite's own page cache, with truncation made proportional to what it removes. Internal to
// the SQLite backend; installed process-wide by Connection::Open.
//
// Why: at the end of every transaction SQLite truncates the connection's page cache to the
// database's size. The built-in cache (pcache1) then walks its whole hash table whenever it
// has ever held a page numbered past that size, and it remembers the largest page number it
// held until such a walk. B-tree balancing briefly renumbers a page to the number after the
// first gigabyte (the "pending byte" page) when it swaps two pages, so after almost any
// transaction that split a page the next commit walks every page of the writer's cache: with
// its 64 MiB, a fifth of a millisecond a commit, a twentieth of the server's time under
// check-in load (docs/benchmarks.md).
//
// This cache passes every call to the built-in one, and also remembers the numbers of pages
// it may hold at or past the size the last truncation left. A truncation that would remove
// none of them is skipped; any other, and any to a smaller size, is passed on as before.
#pragma once

#include <sqlite3.h>

#include <cstdint>

namespace rapport::storage::sqlite {

// Installs the cache for connections opened from now on. REQUIRES: SQLite not yet initialised
// (no connection opened in the process); returns false, changing nothing, otherwise.
bool InstallPageCache();

// The methods installed, or null (for tests).
const sqlite3_pcache_methods2* InstalledPageCache();

// Truncations since installation, for tests: passed on to the built-in cache, and skipped.
struct PageCacheCounters {
  uint64_t truncations_passed = 0;
  uint64_t truncations_skipped = 0;
};
PageCacheCounters GetPageCacheCounters();

}  // namespace rapport::storage::sqlite
