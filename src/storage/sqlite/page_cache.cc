#include "storage/sqlite/page_cache.h"

#include <sqlite3.h>

#include <atomic>
#include <set>

namespace rapport::storage::sqlite {
namespace {

// The built-in cache's methods, as they were before installation.
sqlite3_pcache_methods2 built_in;

std::atomic<uint64_t> truncations_passed{0};
std::atomic<uint64_t> truncations_skipped{0};

// One connection's cache (SQLite uses each from one thread at a time).
struct Cache {
  sqlite3_pcache* inner = nullptr;
  // The limit of the last truncation: every page the inner cache holds is numbered below it,
  // or is in `beyond`. 0 before the first truncation, when nothing is known.
  unsigned limit = 0;
  // Page numbers at or past `limit` the inner cache may hold (it may have dropped some).
  std::set<unsigned> beyond;
};

Cache* Of(sqlite3_pcache* cache) { return reinterpret_cast<Cache*>(cache); }

int Init(void*) { return built_in.xInit(built_in.pArg); }

void Shutdown(void*) {
  if (built_in.xShutdown != nullptr) built_in.xShutdown(built_in.pArg);
}

sqlite3_pcache* Create(int page_size, int extra_size, int purgeable) {
  sqlite3_pcache* inner = built_in.xCreate(page_size, extra_size, purgeable);
  if (inner == nullptr) return nullptr;
  auto* cache = new (std::nothrow) Cache;
  if (cache == nullptr) {
    built_in.xDestroy(inner);
    return nullptr;
  }
  cache->inner = inner;
  return reinterpret_cast<sqlite3_pcache*>(cache);
}

void Cachesize(sqlite3_pcache* cache, int pages) { built_in.xCachesize(Of(cache)->inner, pages); }

int Pagecount(sqlite3_pcache* cache) { return built_in.xPagecount(Of(cache)->inner); }

sqlite3_pcache_page* Fetch(sqlite3_pcache* cache, unsigned key, int create) {
  Cache& c = *Of(cache);
  sqlite3_pcache_page* page = built_in.xFetch(c.inner, key, create);
  if (page != nullptr && c.limit != 0 && key >= c.limit) c.beyond.insert(key);
  return page;
}

void Unpin(sqlite3_pcache* cache, sqlite3_pcache_page* page, int discard) {
  // A discarded page's number stays in `beyond`: a truncation then passes on needlessly.
  built_in.xUnpin(Of(cache)->inner, page, discard);
}

void Rekey(sqlite3_pcache* cache, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
  Cache& c = *Of(cache);
  built_in.xRekey(c.inner, page, old_key, new_key);
  if (c.limit == 0) return;
  c.beyond.erase(old_key);
  if (new_key >= c.limit) c.beyond.insert(new_key);
}

void Truncate(sqlite3_pcache* cache, unsigned limit) {
  Cache& c = *Of(cache);
  if (c.limit != 0 && limit >= c.limit && c.beyond.lower_bound(limit) == c.beyond.end()) {
    // No page at or past `limit`: nothing to remove.
    ++truncations_skipped;
  } else {
    built_in.xTruncate(c.inner, limit);
    ++truncations_passed;
  }
  c.beyond.clear();
  c.limit = limit;
}

void Destroy(sqlite3_pcache* cache) {
  Cache* c = Of(cache);
  built_in.xDestroy(c->inner);
  delete c;
}

void Shrink(sqlite3_pcache* cache) { built_in.xShrink(Of(cache)->inner); }

const sqlite3_pcache_methods2 methods = {
    1,      nullptr, &Init,  &Shutdown, &Create,  &Cachesize, &Pagecount,
    &Fetch, &Unpin,  &Rekey, &Truncate, &Destroy, &Shrink,
};
std::atomic<bool> installed{false};

}  // namespace

bool InstallPageCache() {
  sqlite3_pcache_methods2 current{};
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &current) != SQLITE_OK) return false;
  if (current.xCreate == &Create) return true;
  built_in = current;
  if (sqlite3_config(SQLITE_CONFIG_PCACHE2, &methods) != SQLITE_OK) return false;
  installed = true;
  return true;
}

const sqlite3_pcache_methods2* InstalledPageCache() { return installed ? &methods : nullptr; }

PageCacheCounters GetPageCacheCounters() {
  return {truncations_passed.load(), truncations_skipped.load()};
}

}  // namespace rapport::storage::sqlite
