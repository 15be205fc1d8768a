#include "alerts/signal_cache.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>

#include "base/log.h"

namespace rapport::alerts {
namespace {

// The encoding must carry every field: a field added to one of these types changes its size,
// and then belongs in EncodeEpisode and DecodeEpisode (and in the round trip of the test).
static_assert(sizeof(domain::Session) == 144, "encode the new field of domain::Session");
static_assert(sizeof(domain::Participant) == 40, "encode the new field of domain::Participant");
static_assert(sizeof(domain::Response) == 424, "encode the new field of domain::Response");
static_assert(sizeof(domain::Score) == 184, "encode the new field of domain::Score");
static_assert(sizeof(domain::ItemAnswer) == 48, "encode the new field of domain::ItemAnswer");
static_assert(sizeof(domain::Alert) == 392, "encode the new field of domain::Alert");

// Where a text stands in an entry. A text equal to one of the last few of its kind is written as
// a reference to it: an episode's records repeat a few texts (its organisation, sessions,
// people, instruments and items) many times, in runs.
enum class Slot : uint8_t {
  kOrg,
  kEpisode,
  kSession,
  kPerson,
  kOwnId,  // a record's own id: never repeated, but cheap to try
  kCheckin,
  kInstrument,
  kVersion,
  kBand,
  kKind,
  kKey,
  kEvidence,
  kUser,
  kResolution,
  kItem,                   // then one per answer position, 16 in all
  kSubscale = kItem + 16,  // then one per subscale position
  kFlag = kSubscale + 8,   // then one per flag position
  kCount = kFlag + 8,
};
constexpr size_t kSlots = static_cast<size_t>(Slot::kCount);
// The n-th of a run of slots (answers, subscales, flags); later positions share the last.
Slot At(Slot first, size_t n, size_t positions) {
  return static_cast<Slot>(static_cast<size_t>(first) + std::min(n, positions - 1));
}
Slot Item(size_t n) { return At(Slot::kItem, n, 16); }
Slot Subscale(size_t n) { return At(Slot::kSubscale, n, 8); }
Slot Flag(size_t n) { return At(Slot::kFlag, n, 8); }

// The last kRecent texts of each slot, replaced in turn; the encoder's and decoder's stay alike.
constexpr size_t kRecent = 4;
struct Recent {
  std::array<std::array<std::string_view, kRecent>, kSlots> texts{};
  std::array<uint8_t, kSlots> next{};
  void Add(Slot slot, std::string_view text) {
    const auto s = static_cast<size_t>(slot);
    texts[s][next[s]] = text;
    next[s] = static_cast<uint8_t>((next[s] + 1) % kRecent);
  }
};

// Writes an entry: integers as LEB128 varints (signed ones zigzagged), doubles as their eight
// bytes, and texts as a reference to a recent equal one of their slot (0 to kRecent - 1) or as
// kRecent plus their length, then their bytes.
class Encoder {
 public:
  void Unsigned(uint64_t value) {
    while (value >= 0x80) {
      out_.push_back(static_cast<char>(value | 0x80));
      value >>= 7;
    }
    out_.push_back(static_cast<char>(value));
  }
  void Signed(int64_t value) {
    Unsigned((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
  }
  void Byte(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void OptionalDouble(const std::optional<double>& value) {
    Byte(value ? 1 : 0);
    if (!value) return;
    char bytes[sizeof(double)];
    std::memcpy(bytes, &*value, sizeof(double));
    out_.append(bytes, sizeof(double));
  }
  void Time(Timestamp at) { Signed(at.time_since_epoch().count()); }
  void OptionalTime(const std::optional<Timestamp>& at) {
    Byte(at ? 1 : 0);
    if (at) Time(*at);
  }
  template <typename E>
  void Enum(E value) {
    Unsigned(static_cast<uint64_t>(value));
  }
  template <typename E>
  void OptionalEnum(const std::optional<E>& value) {
    Unsigned(value ? static_cast<uint64_t>(*value) + 1 : 0);
  }
  // REQUIRES: `text` outlives the encoder (it is remembered by view).
  void Text(Slot slot, std::string_view text) {
    const auto& recent = recent_.texts[static_cast<size_t>(slot)];
    for (size_t i = 0; i < kRecent; ++i) {
      if (recent[i].data() != nullptr && recent[i] == text) {
        Unsigned(i);
        return;
      }
    }
    Unsigned(kRecent + text.size());
    out_.append(text);
    recent_.Add(slot, text);
  }

  std::string Take() && { return std::move(out_); }

 private:
  std::string out_;
  Recent recent_;
};

// Reads what Encoder wrote. Any malformation (a read past the end, an unknown text number or
// enumerator) makes ok() false and every later read return a default.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool AtEnd() const { return pos_ == in_.size(); }

  uint64_t Unsigned() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64 && ok_ && pos_ < in_.size(); shift += 7) {
      const auto byte = static_cast<uint8_t>(in_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    return Fail();
  }
  int64_t Signed() {
    const uint64_t value = Unsigned();
    return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
  }
  uint8_t Byte() { return ok_ && pos_ < in_.size() ? static_cast<uint8_t>(in_[pos_++]) : Fail(); }
  bool Present() {
    const uint8_t flag = Byte();
    if (flag > 1) Fail();
    return flag == 1 && ok_;
  }
  std::optional<double> OptionalDouble() {
    if (!Present()) return std::nullopt;
    if (in_.size() - pos_ < sizeof(double)) return Fail();
    double value;
    std::memcpy(&value, in_.data() + pos_, sizeof(double));
    pos_ += sizeof(double);
    return value;
  }
  Timestamp Time() { return Timestamp(std::chrono::milliseconds(Signed())); }
  std::optional<Timestamp> OptionalTime() {
    if (!Present()) return std::nullopt;
    return Time();
  }
  template <typename E>
  E Enum(E last) {
    const uint64_t value = Unsigned();
    if (value > static_cast<uint64_t>(last)) return static_cast<E>(Fail());
    return static_cast<E>(value);
  }
  template <typename E>
  std::optional<E> OptionalEnum(E last) {
    const uint64_t value = Unsigned();
    if (value == 0) return std::nullopt;
    if (value - 1 > static_cast<uint64_t>(last)) return static_cast<E>(Fail());
    return static_cast<E>(value - 1);
  }
  int Int() {
    const int64_t value = Signed();
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
      return static_cast<int>(Fail());
    }
    return static_cast<int>(value);
  }
  std::string Text(Slot slot) {
    const uint64_t tag = Unsigned();
    if (!ok_) return {};
    if (tag < kRecent) {
      const std::string_view text = recent_.texts[static_cast<size_t>(slot)][tag];
      if (text.data() == nullptr) return Fail(), std::string();
      return std::string(text);
    }
    const uint64_t size = tag - kRecent;
    if (size > in_.size() - pos_) return Fail(), std::string();
    const std::string_view text = in_.substr(pos_, size);
    pos_ += size;
    recent_.Add(slot, text);
    return std::string(text);
  }
  // A number of elements to follow; each takes at least a byte, so no more than remain.
  size_t Count() {
    const uint64_t count = Unsigned();
    if (count > in_.size() - pos_) return Fail();
    return static_cast<size_t>(count);
  }

 private:
  uint8_t Fail() {
    ok_ = false;
    pos_ = in_.size();
    return 0;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
  Recent recent_;
};

void EncodeSession(Encoder& out, const domain::Session& session) {
  out.Text(Slot::kSession, session.id);
  out.Text(Slot::kOrg, session.org_id);
  out.Text(Slot::kEpisode, session.episode_id);
  out.Signed(session.number);
  out.Time(session.scheduled_at);
  out.Enum(session.attendance);
  out.Unsigned(session.participants.size());
  for (const domain::Participant& participant : session.participants) {
    out.Text(Slot::kPerson, participant.person_id);
    out.Enum(participant.role);
  }
}

domain::Session DecodeSession(Decoder& in) {
  domain::Session session;
  session.id = in.Text(Slot::kSession);
  session.org_id = in.Text(Slot::kOrg);
  session.episode_id = in.Text(Slot::kEpisode);
  session.number = in.Int();
  session.scheduled_at = in.Time();
  session.attendance = in.Enum(domain::Attendance::kCancelled);
  session.participants.resize(in.Count());
  for (domain::Participant& participant : session.participants) {
    participant.person_id = in.Text(Slot::kPerson);
    participant.role = in.Enum(domain::ParticipantRole::kClinician);
  }
  return session;
}

void EncodeResponse(Encoder& out, const domain::Response& response) {
  out.Text(Slot::kOwnId, response.id);
  out.Text(Slot::kOrg, response.org_id);
  out.Text(Slot::kCheckin, response.checkin_id);
  out.Text(Slot::kSession, response.session_id);
  out.Text(Slot::kPerson, response.respondent_id);
  out.Enum(response.perspective);
  out.OptionalEnum(response.target);
  out.Text(Slot::kInstrument, response.instrument_id);
  out.Unsigned(response.answers.size());
  for (size_t n = 0; n < response.answers.size(); ++n) {
    out.Text(Item(n), response.answers[n].item_id);
    out.OptionalDouble(response.answers[n].value);
  }
  const domain::Score& score = response.score;
  out.Text(Slot::kInstrument, score.instrument_id);
  out.Text(Slot::kVersion, score.instrument_version);
  out.OptionalDouble(score.total);
  out.Unsigned(score.subscales.size());
  size_t position = 0;
  for (const auto& [name, value] : score.subscales) {
    out.Text(Subscale(position++), name);
    out.OptionalDouble(value);
  }
  out.Text(Slot::kBand, score.band);
  out.Unsigned(score.flags.size());
  for (size_t n = 0; n < score.flags.size(); ++n) out.Text(Flag(n), score.flags[n]);
  out.Time(response.submitted_at);
}

domain::Response DecodeResponse(Decoder& in) {
  domain::Response response;
  response.id = in.Text(Slot::kOwnId);
  response.org_id = in.Text(Slot::kOrg);
  response.checkin_id = in.Text(Slot::kCheckin);
  response.session_id = in.Text(Slot::kSession);
  response.respondent_id = in.Text(Slot::kPerson);
  response.perspective = in.Enum(domain::Perspective::kObserver);
  response.target = in.OptionalEnum(domain::Target::kGroup);
  response.instrument_id = in.Text(Slot::kInstrument);
  response.answers.resize(in.Count());
  for (size_t n = 0; n < response.answers.size(); ++n) {
    response.answers[n].item_id = in.Text(Item(n));
    response.answers[n].value = in.OptionalDouble();
  }
  domain::Score& score = response.score;
  score.instrument_id = in.Text(Slot::kInstrument);
  score.instrument_version = in.Text(Slot::kVersion);
  score.total = in.OptionalDouble();
  const size_t subscales = in.Count();
  for (size_t n = 0; n < subscales && in.ok(); ++n) {
    std::string name = in.Text(Subscale(n));
    score.subscales.insert_or_assign(std::move(name), in.OptionalDouble());
  }
  score.band = in.Text(Slot::kBand);
  score.flags.resize(in.Count());
  for (size_t n = 0; n < score.flags.size(); ++n) score.flags[n] = in.Text(Flag(n));
  response.submitted_at = in.Time();
  return response;
}

void EncodeAlert(Encoder& out, const domain::Alert& alert) {
  out.Text(Slot::kOwnId, alert.id);
  out.Text(Slot::kOrg, alert.org_id);
  out.Text(Slot::kEpisode, alert.episode_id);
  out.Text(Slot::kPerson, alert.client_id);
  out.Text(Slot::kKind, alert.kind);
  out.Text(Slot::kKey, alert.dedupe_key);
  out.Enum(alert.severity);
  out.Enum(alert.status);
  out.Signed(alert.session_number);
  out.Signed(alert.last_session_number);
  out.Signed(alert.occurrences);
  out.Text(Slot::kEvidence, alert.evidence_json);
  out.Time(alert.created_at);
  out.Time(alert.updated_at);
  out.Text(Slot::kUser, alert.acknowledged_by);
  out.OptionalTime(alert.acknowledged_at);
  out.Text(Slot::kUser, alert.resolved_by);
  out.OptionalTime(alert.resolved_at);
  out.Text(Slot::kResolution, alert.resolution);
}

domain::Alert DecodeAlert(Decoder& in) {
  domain::Alert alert;
  alert.id = in.Text(Slot::kOwnId);
  alert.org_id = in.Text(Slot::kOrg);
  alert.episode_id = in.Text(Slot::kEpisode);
  alert.client_id = in.Text(Slot::kPerson);
  alert.kind = in.Text(Slot::kKind);
  alert.dedupe_key = in.Text(Slot::kKey);
  alert.severity = in.Enum(domain::AlertSeverity::kPrompt);
  alert.status = in.Enum(domain::AlertStatus::kResolved);
  alert.session_number = in.Int();
  alert.last_session_number = in.Int();
  alert.occurrences = in.Int();
  alert.evidence_json = in.Text(Slot::kEvidence);
  alert.created_at = in.Time();
  alert.updated_at = in.Time();
  alert.acknowledged_by = in.Text(Slot::kUser);
  alert.acknowledged_at = in.OptionalTime();
  alert.resolved_by = in.Text(Slot::kUser);
  alert.resolved_at = in.OptionalTime();
  alert.resolution = in.Text(Slot::kResolution);
  return alert;
}

// What a string costs beyond its object: its heap buffer, when it outgrew the inline one.
size_t HeapBytes(const std::string& text) { return text.capacity() > 15 ? text.capacity() + 1 : 0; }

// A std::map or std::unordered_map node's bookkeeping beside its value.
constexpr size_t kNodeBytes = 32;

size_t ModelBytes(const storage::FittedModel& model) {
  return sizeof(model) + HeapBytes(model.org_id) + HeapBytes(model.kind) +
         HeapBytes(model.instrument_id) + HeapBytes(model.document);
}

// Which organisation's part `org` is, for sharing: equal parts have equal keys.
std::string OrgKey(std::string_view org_id, const OrgSignalInputs& org) {
  std::string key(org_id);
  for (const std::string& id : org.etr_instrument_ids) key.append(1, '\0').append(id);
  return key;
}

bool SameOrgPart(const OrgSignalInputs& a, const OrgSignalInputs& b) {
  return a.settings_document == b.settings_document &&
         a.etr_instrument_ids == b.etr_instrument_ids && a.stored_models == b.stored_models;
}

}  // namespace

std::string EncodeEpisode(const SignalInputs& inputs) {
  Encoder out;
  out.Text(Slot::kOrg, inputs.org_id);
  out.Unsigned(inputs.history.sessions.size());
  for (const domain::Session& session : inputs.history.sessions) EncodeSession(out, session);
  out.Unsigned(inputs.history.responses.size());
  for (const domain::Response& response : inputs.history.responses) {
    EncodeResponse(out, response);
  }
  out.Unsigned(inputs.alerts.size());
  for (const domain::Alert& alert : inputs.alerts) EncodeAlert(out, alert);
  return std::move(out).Take();
}

std::optional<SignalInputs> DecodeEpisode(std::string_view encoded,
                                          std::shared_ptr<const OrgSignalInputs> org) {
  Decoder in(encoded);
  SignalInputs inputs;
  inputs.org_id = in.Text(Slot::kOrg);
  inputs.history.sessions.resize(in.Count());
  for (domain::Session& session : inputs.history.sessions) session = DecodeSession(in);
  inputs.history.responses.resize(in.Count());
  for (domain::Response& response : inputs.history.responses) response = DecodeResponse(in);
  inputs.alerts.resize(in.Count());
  for (domain::Alert& alert : inputs.alerts) alert = DecodeAlert(in);
  if (!in.ok() || !in.AtEnd()) return std::nullopt;
  inputs.org = std::move(org);
  return inputs;
}

size_t ApproximateBytes(const OrgSignalInputs& org) {
  size_t bytes = sizeof(org) + HeapBytes(org.settings_document);
  bytes += org.stored_models.capacity() * sizeof(std::optional<storage::FittedModel>);
  for (const auto& model : org.stored_models) {
    if (model) bytes += ModelBytes(*model) - sizeof(*model);
  }
  for (const std::string& id : org.etr_instrument_ids) bytes += sizeof(id) + HeapBytes(id);
  // The parsed models: a few small vectors and matrices each.
  bytes += org.etr_models.size() * (kNodeBytes + 512);
  if (org.dropout_model) bytes += 512;
  // The parsed settings: a few hundred bytes of thresholds and texts.
  bytes += HeapBytes(org.settings.safety_text) + 512;
  return bytes;
}

SignalCache::SignalCache(size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

std::string SignalCache::Key(std::string_view org_id, std::string_view episode_id) {
  std::string key;
  key.reserve(org_id.size() + 1 + episode_id.size());
  key.append(org_id).push_back('\0');
  key.append(episode_id);
  return key;
}

uint64_t SignalCache::SessionHash(std::string_view org_id, std::string_view session_id) {
  return std::hash<std::string>{}(Key(org_id, session_id));
}

std::vector<uint64_t> SignalCache::SessionHashes(const SignalInputs& inputs) {
  std::vector<uint64_t> hashes;
  hashes.reserve(inputs.history.sessions.size());
  for (const domain::Session& session : inputs.history.sessions) {
    hashes.push_back(SessionHash(inputs.org_id, session.id));
  }
  return hashes;
}

size_t SignalCache::EntryBytes(const SignalInputs& inputs) {
  return EntryBytes(Key(inputs.org_id, inputs.session.episode_id), SessionHashes(inputs),
                    EncodeEpisode(inputs));
}

size_t SignalCache::EntryBytes(const std::string& key, const std::vector<uint64_t>& sessions,
                               const std::string& encoded) {
  // The entry, the index's node and copy of the key, and the encoding with the control block
  // that shares it; then each session's hash, in the entry and in its node of session_index_.
  return sizeof(Entry) + HeapBytes(key) + kNodeBytes + sizeof(std::string) + sizeof(size_t) +
         HeapBytes(key) + sizeof(std::string) + encoded.capacity() + 32 +
         sessions.capacity() * sizeof(uint64_t) +
         sessions.size() * (kNodeBytes + sizeof(uint64_t) + sizeof(size_t));
}

std::optional<std::string> SignalCache::EpisodeOfSession(std::string_view org_id,
                                                         std::string_view session_id) const {
  const uint64_t hash = SessionHash(org_id, session_id);
  std::lock_guard lock(mutex_);
  const auto it = session_index_.find(hash);
  if (it == session_index_.end()) return std::nullopt;
  const std::string& key = entries_[it->second].key;
  // Key(org, episode): the organisation's, then the episode's id.
  if (!key.starts_with(org_id) || key.size() <= org_id.size() || key[org_id.size()] != '\0') {
    return std::nullopt;
  }
  return key.substr(org_id.size() + 1);
}

std::optional<SignalInputs> SignalCache::Find(std::string_view org_id, std::string_view episode_id,
                                              int64_t revision) const {
  const std::string key = Key(org_id, episode_id);
  std::shared_ptr<const std::string> encoded;
  std::shared_ptr<const OrgSignalInputs> org;
  {
    std::lock_guard lock(mutex_);
    const auto it = index_.find(key);
    if (it == index_.end() || entries_[it->second].revision != revision) {
      ++misses_;
      return std::nullopt;
    }
    ++hits_;
    encoded = entries_[it->second].encoded;
    org = entries_[it->second].org;
  }
  // Decoded outside the lock: it is the larger part of a hit.
  std::optional<SignalInputs> inputs = DecodeEpisode(*encoded, std::move(org));
  if (!inputs) {
    log::Error("a kept episode did not decode; reading it from the store",
               {{"org", std::string(org_id)}, {"episode", std::string(episode_id)}});
    return std::nullopt;
  }
  inputs->episode_revision = revision;
  return inputs;
}

std::shared_ptr<const OrgSignalInputs> SignalCache::ShareOrg(
    std::string_view org_id, const std::shared_ptr<const OrgSignalInputs>& org) {
  const auto [it, inserted] = orgs_.try_emplace(OrgKey(org_id, *org));
  SharedOrg& shared = it->second;
  if (!inserted && (shared.org == org || SameOrgPart(*shared.org, *org))) return shared.org;
  bytes_ -= shared.bytes;
  shared = {org, ApproximateBytes(*org)};
  bytes_ += shared.bytes;
  return org;
}

void SignalCache::Put(const SignalInputs& inputs) {
  if (capacity_bytes_ == 0 || inputs.org == nullptr) return;
  std::string key = Key(inputs.org_id, inputs.session.episode_id);
  std::vector<uint64_t> sessions = SessionHashes(inputs);
  auto encoded = std::make_shared<const std::string>(EncodeEpisode(inputs));
  const size_t bytes = EntryBytes(key, sessions, *encoded);
  // Freed outside the lock.
  std::vector<Entry> released;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = index_.find(key); it != index_.end()) {
      if (entries_[it->second].revision >= inputs.episode_revision) return;
      RemoveAt(it->second, released);
    }
    if (bytes > capacity_bytes_) return;
    std::shared_ptr<const OrgSignalInputs> org = ShareOrg(inputs.org_id, inputs.org);
    while (bytes_ + bytes > capacity_bytes_ && !entries_.empty()) {
      const size_t victim =
          std::uniform_int_distribution<size_t>(0, entries_.size() - 1)(eviction_);
      RemoveAt(victim, released);
    }
    index_.emplace(key, entries_.size());
    for (const uint64_t session : sessions)
      session_index_.insert_or_assign(session, entries_.size());
    entries_.push_back({std::move(key), std::move(sessions), inputs.episode_revision,
                        std::move(encoded), std::move(org), bytes});
    bytes_ += bytes;
  }
}

void SignalCache::RemoveAt(size_t index, std::vector<Entry>& released) {
  bytes_ -= entries_[index].bytes;
  index_.erase(entries_[index].key);
  // A session's hash may point to another entry (a collision): only those pointing here go.
  for (const uint64_t session : entries_[index].sessions) {
    if (const auto it = session_index_.find(session);
        it != session_index_.end() && it->second == index) {
      session_index_.erase(it);
    }
  }
  released.push_back(std::move(entries_[index]));
  const size_t last = entries_.size() - 1;
  if (index != last) {
    entries_[index] = std::move(entries_.back());
    index_[entries_[index].key] = index;
    for (const uint64_t session : entries_[index].sessions) {
      if (const auto it = session_index_.find(session);
          it != session_index_.end() && it->second == last) {
        it->second = index;
      }
    }
  }
  entries_.pop_back();
}

SignalCache::Counters SignalCache::counters() const {
  std::lock_guard lock(mutex_);
  return {entries_.size(), bytes_, hits_, misses_};
}

}  // namespace rapport::alerts
