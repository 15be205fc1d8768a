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
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alerts/alerts.h"

namespace rapport::alerts {

// Thread safe. Bounded by the bytes its entries take. When full, a random entry makes room:
// episodes come back in a cycle (each after a week of every other episode's sessions), under
// which evicting the least recently used would evict every entry just before its next use.
//
// An entry is compact: its sessions, responses and alerts are encoded (a text that repeats a
// recent one of its kind as a reference), a sixth of their size as objects, so that the
// episodes of a busy week fit; and the organisation's settings and models are one object shared by
// every entry that consulted the same ones. Find decodes an entry afresh, which costs about what
// copying the objects would.
class SignalCache {
 public:
  // 0 bytes: keeps nothing.
  explicit SignalCache(size_t capacity_bytes);
  SignalCache(const SignalCache&) = delete;
  SignalCache& operator=(const SignalCache&) = delete;

  // The inputs kept for the episode at exactly `revision`, the caller's own, but for `session`,
  // which is left empty (it is that of the submission asking). Nullopt when none are kept.
  std::optional<SignalInputs> Find(std::string_view org_id, std::string_view episode_id,
                                   int64_t revision) const;
  // Keeps `inputs` as the entry of its episode (inputs.session.episode_id), unless the entry
  // held is of a later revision; entries larger than the whole capacity are not kept.
  // REQUIRES: inputs.org.
  void Put(const SignalInputs& inputs);

  // The episode of `session_id` when an entry holds that session (a session never moves to
  // another episode), so that a reader can ask Find without reading the session first. Says
  // nothing about whether the entry is at the reader's revision.
  std::optional<std::string> EpisodeOfSession(std::string_view org_id,
                                              std::string_view session_id) const;

  struct Counters {
    size_t entries = 0;
    size_t bytes = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  Counters counters() const;

  // What an entry of `inputs` takes of the capacity: its encoding and bookkeeping, without the
  // organisation's part, which entries share and which is counted once.
  static size_t EntryBytes(const SignalInputs& inputs);

 private:
  struct Entry {
    std::string key;
    std::vector<uint64_t> sessions;  // SessionHash of each of its sessions
    int64_t revision = 0;
    std::shared_ptr<const std::string> encoded;  // EncodeEpisode's
    std::shared_ptr<const OrgSignalInputs> org;
    size_t bytes = 0;
  };
  struct SharedOrg {
    std::shared_ptr<const OrgSignalInputs> org;
    size_t bytes = 0;
  };
  static std::string Key(std::string_view org_id, std::string_view episode_id);
  static size_t EntryBytes(const std::string& key, const std::vector<uint64_t>& sessions,
                           const std::string& encoded);
  static uint64_t SessionHash(std::string_view org_id, std::string_view session_id);
  static std::vector<uint64_t> SessionHashes(const SignalInputs& inputs);
  // The organisation's part to keep for `org`: an equal one already kept, else `org` itself.
  // REQUIRES: mutex_ held.
  std::shared_ptr<const OrgSignalInputs> ShareOrg(
      std::string_view org_id, const std::shared_ptr<const OrgSignalInputs>& org);
  // REQUIRES: mutex_ held.
  void RemoveAt(size_t index, std::vector<Entry>& released);

  const size_t capacity_bytes_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;                     // in no order: evicting is a swap and pop
  std::unordered_map<std::string, size_t> index_;  // key → position in entries_
  // SessionHash → position in entries_ of the entry holding that session. Only a hint: two
  // sessions may share a hash, so a reader checks that the entry has its session.
  std::unordered_map<uint64_t, size_t> session_index_;
  // The organisations' parts entries hold, by organisation and the instruments whose models
  // they consulted; one of each.
  std::unordered_map<std::string, SharedOrg> orgs_;
  size_t bytes_ = 0;
  mutable uint64_t hits_ = 0;
  mutable uint64_t misses_ = 0;
  std::minstd_rand eviction_{20260601};
};

// Roughly the heap and inline bytes `org` holds: what it costs the cache, once.
size_t ApproximateBytes(const OrgSignalInputs& org);

// As ReadSignalInputs, through `cache`: the entry of the episode when the cache holds it at the
// revision `txn` sees and its fitted models cover `upcoming`; else read from `txn` (and not
// kept: the caller keeps what its write leaves, with Put). Either way the inputs equal
// ReadSignalInputs's but for their models and settings (see above) and the order of
// etr_instrument_ids. Errors: the store's.
Result<SignalInputs> ReadSignalInputs(storage::ReadTransaction& txn,
                                      const instruments::Catalog& catalog, std::string_view org_id,
                                      std::string_view session_id,
                                      std::span<const domain::Response> upcoming,
                                      const SignalCache& cache);

// The encoding of an entry (exposed for tests): `inputs` but for `session` and `org`.
std::string EncodeEpisode(const SignalInputs& inputs);
// EncodeEpisode's inverse, with `org` as the organisation's part; nullopt when `encoded` is not
// an encoding.
std::optional<SignalInputs> DecodeEpisode(std::string_view encoded,
                                          std::shared_ptr<const OrgSignalInputs> org);

}  // namespace rapport::alerts
