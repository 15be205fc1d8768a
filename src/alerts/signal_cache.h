// The signal inputs of recently evaluated episodes, kept in memory so that a check-in's
// submission need not read its episode's whole history again. On SQLite in WAL mode every
// commit empties each reader's page cache, and an episode's sessions and their participants,
// responses and alerts lie on dozens of pages (docs/benchmarks.md): re-reading them was the
// largest cost of a submission.
//
// An entry is what ReadSignalInputs reads for one episode at one revision
// (storage::ReadTransaction::GetEpisodeRevision). A reader uses it only when its own snapshot
// has the episode at that same revision, so the cache changes how the inputs are read, never
// what is evaluated. The organisation's settings and fitted models in an entry may be older
// than the reader's snapshot; the write checks them (IsCurrent) as it does for inputs read
// from the store, and evaluates again when they changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alerts/alerts.h"

namespace rapport::alerts {

// Thread safe. Bounded by the entries' approximate sizes (ApproximateBytes). When full, a
// random entry makes room: episodes come back in a cycle (each after a week of every other
// episode's sessions), under which evicting the least recently used would evict every entry
// just before its next use.
class SignalCache {
 public:
  // 0 bytes: keeps nothing.
  explicit SignalCache(size_t capacity_bytes);
  SignalCache(const SignalCache&) = delete;
  SignalCache& operator=(const SignalCache&) = delete;

  // The entry of the episode at exactly `revision`, or null.
  std::shared_ptr<const SignalInputs> Find(std::string_view org_id, std::string_view episode_id,
                                           int64_t revision) const;
  // Keeps `inputs` as the entry of its episode (inputs->session.episode_id), unless the entry
  // held is of a later revision; entries larger than the whole capacity are not kept.
  void Put(std::shared_ptr<const SignalInputs> inputs);

  struct Counters {
    size_t entries = 0;
    size_t bytes = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  Counters counters() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const SignalInputs> inputs;
    size_t bytes = 0;
  };
  static std::string Key(std::string_view org_id, std::string_view episode_id);
  // REQUIRES: mutex_ held.
  void RemoveAt(size_t index);

  const size_t capacity_bytes_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;                     // in no order: evicting is a swap and pop
  std::unordered_map<std::string, size_t> index_;  // key → position in entries_
  size_t bytes_ = 0;
  mutable uint64_t hits_ = 0;
  mutable uint64_t misses_ = 0;
  std::minstd_rand eviction_{20260601};
};

// Roughly the heap and inline bytes `inputs` holds: what an entry costs the cache.
size_t ApproximateBytes(const SignalInputs& inputs);

// What ReadSignalInputs through a cache gives: the episode's inputs, shared and not to be
// changed (possibly the cache's own entry, whose `session` is then that of the submission that
// left it), and the session asked about.
struct SharedSignalInputs {
  std::shared_ptr<const SignalInputs> episode;
  domain::Session session;

  // A copy of the inputs for `session`, to evaluate (PrepareEvaluation). REQUIRES: episode.
  SignalInputs Copy() const;
};

// As ReadSignalInputs, through `cache`: the entry of the episode when the cache holds it at the
// revision `txn` sees and its fitted models cover `upcoming`; else read from `txn` (and not
// kept: the caller keeps what its write leaves, with Put). Either way, once copied, the inputs
// equal ReadSignalInputs's but for their models and settings (see above) and the order of
// etr_instrument_ids. Errors: the store's.
Result<SharedSignalInputs> ReadSignalInputs(storage::ReadTransaction& txn,
                                            const instruments::Catalog& catalog,
                                            std::string_view org_id, std::string_view session_id,
                                            std::span<const domain::Response> upcoming,
                                            SignalCache& cache);

}  // namespace rapport::alerts
