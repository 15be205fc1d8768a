#include "alerts/signal_cache.h"

#include <utility>

namespace rapport::alerts {
namespace {

// What a string costs beyond its object: its heap buffer, when it outgrew the inline one.
size_t HeapBytes(const std::string& text) { return text.capacity() > 15 ? text.capacity() + 1 : 0; }

// A std::map node's bookkeeping beside its value (colour, parent and two children).
constexpr size_t kMapNodeBytes = 32;

size_t ResponseBytes(const domain::Response& response) {
  size_t bytes = sizeof(response) + HeapBytes(response.id) + HeapBytes(response.org_id) +
                 HeapBytes(response.checkin_id) + HeapBytes(response.session_id) +
                 HeapBytes(response.respondent_id) + HeapBytes(response.instrument_id) +
                 HeapBytes(response.score.instrument_id) +
                 HeapBytes(response.score.instrument_version) + HeapBytes(response.score.band);
  bytes += response.answers.capacity() * sizeof(domain::ItemAnswer);
  for (const domain::ItemAnswer& answer : response.answers) bytes += HeapBytes(answer.item_id);
  for (const auto& [name, value] : response.score.subscales) {
    bytes += kMapNodeBytes + sizeof(std::pair<const std::string, std::optional<double>>) +
             HeapBytes(name);
  }
  bytes += response.score.flags.capacity() * sizeof(std::string);
  for (const std::string& flag : response.score.flags) bytes += HeapBytes(flag);
  return bytes;
}

size_t SessionBytes(const domain::Session& session) {
  size_t bytes = sizeof(session) + HeapBytes(session.id) + HeapBytes(session.org_id) +
                 HeapBytes(session.episode_id) +
                 session.participants.capacity() * sizeof(domain::Participant);
  for (const domain::Participant& participant : session.participants) {
    bytes += HeapBytes(participant.person_id);
  }
  return bytes;
}

size_t AlertBytes(const domain::Alert& alert) {
  return sizeof(alert) + HeapBytes(alert.id) + HeapBytes(alert.org_id) +
         HeapBytes(alert.episode_id) + HeapBytes(alert.client_id) + HeapBytes(alert.kind) +
         HeapBytes(alert.dedupe_key) + HeapBytes(alert.evidence_json) +
         HeapBytes(alert.acknowledged_by) + HeapBytes(alert.resolved_by) +
         HeapBytes(alert.resolution);
}

size_t ModelBytes(const storage::FittedModel& model) {
  return sizeof(model) + HeapBytes(model.org_id) + HeapBytes(model.kind) +
         HeapBytes(model.instrument_id) + HeapBytes(model.document);
}

}  // namespace

size_t ApproximateBytes(const SignalInputs& inputs) {
  size_t bytes = sizeof(inputs) + HeapBytes(inputs.org_id) + SessionBytes(inputs.session) +
                 HeapBytes(inputs.settings_document);
  bytes += inputs.history.sessions.capacity() * sizeof(domain::Session);
  for (const domain::Session& session : inputs.history.sessions) {
    bytes += SessionBytes(session) - sizeof(session);
  }
  bytes += inputs.history.responses.capacity() * sizeof(domain::Response);
  for (const domain::Response& response : inputs.history.responses) {
    bytes += ResponseBytes(response) - sizeof(response);
  }
  bytes += inputs.alerts.capacity() * sizeof(domain::Alert);
  for (const domain::Alert& alert : inputs.alerts) bytes += AlertBytes(alert) - sizeof(alert);
  bytes += inputs.stored_models.capacity() * sizeof(std::optional<storage::FittedModel>);
  for (const auto& model : inputs.stored_models) {
    if (model) bytes += ModelBytes(*model) - sizeof(*model);
  }
  for (const std::string& id : inputs.etr_instrument_ids) bytes += sizeof(id) + HeapBytes(id);
  // The parsed models: a few small vectors and matrices each.
  bytes += inputs.etr_models.size() * (kMapNodeBytes + 512);
  if (inputs.dropout_model) bytes += 512;
  // The parsed settings: a few hundred bytes of thresholds and texts.
  bytes += HeapBytes(inputs.settings.safety_text) + 512;
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

std::shared_ptr<const SignalInputs> SignalCache::Find(std::string_view org_id,
                                                      std::string_view episode_id,
                                                      int64_t revision) const {
  const std::string key = Key(org_id, episode_id);
  std::lock_guard lock(mutex_);
  const auto it = index_.find(key);
  if (it == index_.end() || entries_[it->second].inputs->episode_revision != revision) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  return entries_[it->second].inputs;
}

void SignalCache::Put(std::shared_ptr<const SignalInputs> inputs) {
  if (inputs == nullptr) return;
  const size_t bytes = ApproximateBytes(*inputs);
  std::string key = Key(inputs->org_id, inputs->session.episode_id);
  // Freed outside the lock: an entry's destruction walks its whole history.
  std::vector<std::shared_ptr<const SignalInputs>> released;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = index_.find(key); it != index_.end()) {
      if (entries_[it->second].inputs->episode_revision >= inputs->episode_revision) return;
      released.push_back(entries_[it->second].inputs);
      RemoveAt(it->second);
    }
    if (bytes > capacity_bytes_) return;
    while (bytes_ + bytes > capacity_bytes_ && !entries_.empty()) {
      const size_t victim =
          std::uniform_int_distribution<size_t>(0, entries_.size() - 1)(eviction_);
      released.push_back(entries_[victim].inputs);
      RemoveAt(victim);
    }
    index_.emplace(key, entries_.size());
    entries_.push_back({std::move(key), std::move(inputs), bytes});
    bytes_ += bytes;
  }
}

void SignalCache::RemoveAt(size_t index) {
  bytes_ -= entries_[index].bytes;
  index_.erase(entries_[index].key);
  if (index + 1 != entries_.size()) {
    entries_[index] = std::move(entries_.back());
    index_[entries_[index].key] = index;
  }
  entries_.pop_back();
}

SignalCache::Counters SignalCache::counters() const {
  std::lock_guard lock(mutex_);
  return {entries_.size(), bytes_, hits_, misses_};
}

}  // namespace rapport::alerts
