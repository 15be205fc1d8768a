#include "api/checkin_service.h"

#include <algorithm>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "alerts/alerts.h"
#include "base/id.h"
#include "instruments/scoring.h"

namespace rapport::api {
namespace {

// The check-in whose token has this digest; an unknown one as the respondent should hear it.
Result<domain::Checkin> LookUp(storage::ReadTransaction& txn, std::string_view token_digest) {
  auto checkin = txn.GetCheckinByTokenDigest(token_digest);
  if (!checkin.ok() && checkin.status().code() == StatusCode::kNotFound) {
    return NotFound("this check-in link is not valid");
  }
  return checkin;
}

// The audit event of a respondent's submission (App's audit trail of every check-in).
domain::AuditEvent SubmissionAudit(const domain::Checkin& checkin, bool created, Timestamp at,
                                   std::string_view address) {
  domain::AuditEvent event;
  event.org_id = checkin.org_id;
  event.at = at;
  event.actor = "checkin:" + checkin.id;
  event.action = created ? "create" : "read";
  event.resource = "session/" + checkin.session_id + "/checkin/" + checkin.id;
  event.address = std::string(address);
  return event;
}

}  // namespace

CheckinService::CheckinService(storage::Store& store, const instruments::Catalog& catalog,
                               const Clock& clock, Random& random, size_t signal_cache_bytes)
    : store_(store),
      catalog_(catalog),
      clock_(clock),
      random_(random),
      evaluating_(std::clamp<std::ptrdiff_t>(std::thread::hardware_concurrency(), 1, 1024)),
      signal_cache_(signal_cache_bytes) {}

Result<CheckinContext> CheckinService::Open(std::string_view token) const {
  return OpenWith(token, /*signal_inputs=*/false);
}

Result<CheckinContext> CheckinService::OpenToSubmit(std::string_view token) const {
  return OpenWith(token, /*signal_inputs=*/true);
}

Result<CheckinContext> CheckinService::OpenWith(std::string_view token, bool signal_inputs) const {
  if (!IsWellFormedId(token)) return NotFound("this check-in link is not valid");
  const std::string digest = Sha256Hex(token);
  CheckinContext context;
  RAPPORT_RETURN_IF_ERROR(store_.Read([&](storage::ReadTransaction& txn) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(context.checkin, LookUp(txn, digest));
    const domain::Checkin& checkin = context.checkin;
    const bool rates_goals = std::any_of(
        checkin.instrument_ids.begin(), checkin.instrument_ids.end(), [&](const std::string& id) {
          const instruments::Definition* definition = catalog_.Find(id);
          return definition != nullptr && definition->kind == "goals";
        });
    if (rates_goals && !checkin.submitted_at) {
      RAPPORT_ASSIGN_OR_RETURN(const domain::Session session,
                               txn.GetSession(checkin.org_id, checkin.session_id));
      RAPPORT_ASSIGN_OR_RETURN(const auto goals, txn.ListGoals(checkin.org_id, session.episode_id));
      for (const domain::Goal& goal : goals) {
        if (goal.client_id == checkin.respondent_id) context.goals.push_back(goal.description);
      }
    }
    if (checkin.submitted_at) {
      RAPPORT_ASSIGN_OR_RETURN(context.responses,
                               txn.ListResponsesForCheckin(checkin.org_id, checkin.id));
    } else if (signal_inputs) {
      // The responses to come, as far as choosing the signals' inputs goes: their instruments
      // and the respondent's perspective.
      std::vector<domain::Response> upcoming(checkin.instrument_ids.size());
      for (size_t i = 0; i < upcoming.size(); ++i) {
        upcoming[i].instrument_id = checkin.instrument_ids[i];
        upcoming[i].perspective = checkin.perspective;
      }
      RAPPORT_ASSIGN_OR_RETURN(
          context.signal_inputs,
          alerts::ReadSignalInputs(txn, catalog_, checkin.org_id, checkin.session_id, upcoming,
                                   signal_cache_));
    }
    return Status::Ok();
  }));
  if (clock_.Now() >= context.checkin.expires_at) return Gone("this check-in link has expired");
  for (const std::string& id : context.checkin.instrument_ids) {
    const instruments::Definition* definition = catalog_.Find(id);
    if (definition == nullptr) return Unavailable("instrument '" + id + "' is not installed");
    context.instruments.push_back(definition);
  }
  return context;
}

// A submission between its checks and its write, and then what the write left.
struct CheckinService::Pending {
  CheckinContext context;
  std::vector<domain::Response> responses;
  std::string digest;  // of the canonical answers
  Timestamp now;
  std::string address;
  std::optional<alerts::PreparedEvaluation> prepared;

  // Set by the write.
  SubmitOutcome outcome;
  // What the episode's next submission will read, once this one is stored: the prepared inputs
  // with the revision the write leaves (only when the prepared evaluation held).
  std::optional<int64_t> revision_after;
  // The alerts the write leaves: the episode's, or after an evaluation again inside the write
  // or an identical submission again only the respondent's; and the number of the session.
  std::vector<domain::Alert> alerts_after;
  int session_number = 0;
};

Result<SubmitOutcome> CheckinService::Submit(CheckinContext context,
                                             const std::vector<Submission>& submissions,
                                             std::string_view address) {
  RAPPORT_ASSIGN_OR_RETURN(std::unique_ptr<Pending> pending,
                           Prepare(std::move(context), submissions, address));
  RAPPORT_RETURN_IF_ERROR(
      store_.Write([&](storage::WriteTransaction& txn) { return Write(*pending, txn); }));
  return Finish(*pending);
}

void CheckinService::SubmitAsync(CheckinContext context, const std::vector<Submission>& submissions,
                                 std::string_view address, Post post,
                                 std::function<void(Result<SubmitOutcome>)> done) {
  auto checked = Prepare(std::move(context), submissions, address);
  if (!checked.ok()) return done(checked.status());
  std::shared_ptr<Pending> pending = std::move(checked).value();
  store_.WriteAsync(
      [this, pending](storage::WriteTransaction& txn) { return Write(*pending, txn); },
      [this, pending, post = std::move(post), done = std::move(done)](Status stored) mutable {
        post([this, pending, stored = std::move(stored), done = std::move(done)]() {
          if (!stored.ok()) return done(stored);
          done(Finish(*pending));
        });
      });
}

Result<std::unique_ptr<CheckinService::Pending>> CheckinService::Prepare(
    CheckinContext context, const std::vector<Submission>& submissions, std::string_view address) {
  // Every instrument of the check-in exactly once, nothing else.
  std::vector<const Submission*> ordered(context.instruments.size(), nullptr);
  for (size_t s = 0; s < submissions.size(); ++s) {
    const std::string field = "responses[" + std::to_string(s) + "].instrument";
    size_t index = context.instruments.size();
    for (size_t i = 0; i < context.instruments.size(); ++i) {
      if (context.instruments[i]->id == submissions[s].instrument_id) index = i;
    }
    if (index == context.instruments.size()) {
      return InvalidArgument(
          "instrument '" + submissions[s].instrument_id + "' is not part of this check-in", field);
    }
    if (ordered[index] != nullptr) {
      return InvalidArgument("instrument '" + submissions[s].instrument_id + "' is answered twice",
                             field);
    }
    ordered[index] = &submissions[s];
  }
  for (size_t i = 0; i < ordered.size(); ++i) {
    if (ordered[i] == nullptr) {
      return InvalidArgument("instrument '" + context.instruments[i]->id + "' was not answered",
                             "responses");
    }
  }

  // Score everything before touching the database; the canonical form of the answers (in
  // check-in and item order) identifies the submission.
  const Timestamp now = clock_.Now();
  if (now >= context.checkin.expires_at) return Gone("this check-in link has expired");
  std::vector<domain::Response> responses;
  nlohmann::json canonical = nlohmann::json::array();
  for (size_t i = 0; i < ordered.size(); ++i) {
    const instruments::Definition& definition = *context.instruments[i];
    auto score = instruments::Score(definition, ordered[i]->answers);
    if (!score.ok()) {
      return Status(score.status().code(), definition.id + ": " + score.status().message(),
                    definition.id + "." + score.status().field());
    }
    if (!score->total) {
      // Too many questions left blank to score: ask for the first unanswered one.
      for (const instruments::Item& item : definition.items) {
        const auto answered = std::find_if(
            ordered[i]->answers.begin(), ordered[i]->answers.end(),
            [&](const domain::ItemAnswer& a) { return a.item_id == item.id && a.value; });
        if (answered == ordered[i]->answers.end()) {
          return InvalidArgument(definition.id + ": item " + item.id +
                                     ": too many questions were left unanswered to score",
                                 definition.id + ".item " + item.id);
        }
      }
    }
    domain::Response response;
    response.id = NewId(random_);
    response.org_id = context.checkin.org_id;
    response.checkin_id = context.checkin.id;
    response.session_id = context.checkin.session_id;
    response.respondent_id = context.checkin.respondent_id;
    response.perspective = context.checkin.perspective;
    response.instrument_id = definition.id;
    response.submitted_at = now;
    response.score = std::move(score).value();
    nlohmann::json values = nlohmann::json::array();
    for (const instruments::Item& item : definition.items) {
      std::optional<double> value;
      for (const domain::ItemAnswer& answer : ordered[i]->answers) {
        if (answer.item_id == item.id) value = answer.value;
      }
      response.answers.push_back({item.id, value});
      values.push_back(value ? nlohmann::json(*value) : nlohmann::json(nullptr));
    }
    canonical.push_back({{"instrument", definition.id}, {"answers", std::move(values)}});
    responses.push_back(std::move(response));
  }
  std::string digest = Sha256Hex(canonical.dump());

  // The signals are evaluated here, on the request's thread from a snapshot, and only checked
  // and written on the single writer (alerts.h). When the snapshot cannot be read, the write
  // evaluates them itself.
  std::optional<alerts::PreparedEvaluation> prepared;
  if (!context.checkin.submitted_at) {
    evaluating_.acquire();
    struct Release {
      std::counting_semaphore<1024>& semaphore;
      ~Release() { semaphore.release(); }
    } release{evaluating_};
    std::optional<alerts::SignalInputs> inputs = std::move(context.signal_inputs);
    const Status read =
        inputs ? Status::Ok() : store_.Read([&](storage::ReadTransaction& txn) -> Status {
          RAPPORT_ASSIGN_OR_RETURN(
              inputs,
              alerts::ReadSignalInputs(txn, catalog_, context.checkin.org_id,
                                       context.checkin.session_id, responses, signal_cache_));
          return Status::Ok();
        });
    if (read.ok()) {
      prepared = alerts::PrepareEvaluation(std::move(*inputs), catalog_, responses, now, random_);
    }
  }

  auto pending = std::make_unique<Pending>();
  pending->context = std::move(context);
  pending->responses = std::move(responses);
  pending->digest = std::move(digest);
  pending->now = now;
  pending->address = std::string(address);
  pending->prepared = std::move(prepared);
  return pending;
}

Status CheckinService::Write(Pending& pending, storage::WriteTransaction& txn) {
  const domain::Checkin& checkin = pending.context.checkin;
  const Timestamp now = pending.now;
  const std::optional<alerts::PreparedEvaluation>& prepared = pending.prepared;
  SubmitOutcome& outcome = pending.outcome;
  const auto list_alerts = [&](const domain::Checkin& answered, bool whole_episode) -> Status {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Session session,
                             txn.GetSession(answered.org_id, answered.session_id));
    pending.session_number = session.number;
    storage::AlertQuery query;
    query.episode_id = session.episode_id;
    if (!whole_episode) query.client_id = answered.respondent_id;
    RAPPORT_ASSIGN_OR_RETURN(pending.alerts_after, txn.ListAlerts(answered.org_id, query));
    return Status::Ok();
  };
  // Inside the serialised write, the check-in is answered now unless it already was: its
  // answer is the only change a check-in ever sees, so it is marked at once (the rest of the
  // row is as the context read it), and read again only when that finds it answered.
  const Status marked = txn.MarkCheckinSubmitted(checkin.org_id, checkin.id, now, pending.digest);
  if (marked.code() == StatusCode::kConflict) {
    RAPPORT_ASSIGN_OR_RETURN(const domain::Checkin stored, LookUp(txn, checkin.token_digest));
    if (!stored.submitted_at) return Internal("a check-in could not be marked as answered");
    if (stored.submission_digest != pending.digest) {
      return Conflict("this check-in has already been answered with different answers");
    }
    outcome.created = false;
    RAPPORT_ASSIGN_OR_RETURN(outcome.responses,
                             txn.ListResponsesForCheckin(stored.org_id, stored.id));
    RAPPORT_RETURN_IF_ERROR(list_alerts(stored, /*whole_episode=*/false));
    return txn.AppendAudit(SubmissionAudit(stored, false, now, pending.address)).status();
  }
  RAPPORT_RETURN_IF_ERROR(marked);
  // Whether the prepared evaluation still holds: asked before the new responses are stored,
  // since they change what it compares (the episode's response ids).
  bool current = false;
  if (prepared) {
    RAPPORT_ASSIGN_OR_RETURN(current, alerts::IsCurrent(txn, *prepared));
  }
  for (const domain::Response& response : pending.responses) {
    RAPPORT_RETURN_IF_ERROR(txn.PutResponse(response));
  }
  // Signals and alerts in the same transaction, so they are visible at once (issue 4).
  if (prepared) {
    RAPPORT_RETURN_IF_ERROR(
        alerts::ApplyEvaluation(txn, catalog_, *prepared, current, now, random_));
  } else {
    RAPPORT_RETURN_IF_ERROR(alerts::EvaluateAfterResponse(txn, catalog_, checkin.org_id,
                                                          checkin.session_id, now, random_));
  }
  RAPPORT_RETURN_IF_ERROR(
      txn.AppendAudit(SubmissionAudit(checkin, true, now, pending.address)).status());
  if (prepared && current) {
    const alerts::SignalInputs& inputs = prepared->inputs;
    RAPPORT_ASSIGN_OR_RETURN(pending.revision_after,
                             txn.GetEpisodeRevision(inputs.org_id, inputs.session.episode_id));
    pending.session_number = inputs.session.number;
    // The alerts read with the changes written, as the store would list them.
    if (auto after = alerts::AlertsAfter(inputs.alerts, prepared->changes)) {
      pending.alerts_after = std::move(*after);
    } else {
      RAPPORT_RETURN_IF_ERROR(list_alerts(checkin, /*whole_episode=*/true));
    }
  } else {
    RAPPORT_RETURN_IF_ERROR(list_alerts(checkin, /*whole_episode=*/false));
  }
  outcome.created = true;  // with the responses as prepared, which Finish hands over
  return Status::Ok();
}

SubmitOutcome CheckinService::Finish(Pending& pending) {
  SubmitOutcome outcome = std::move(pending.outcome);
  if (outcome.created) outcome.responses = std::move(pending.responses);
  for (const domain::Alert& alert : pending.alerts_after) {
    if (alert.client_id == pending.context.checkin.respondent_id &&
        alert.last_session_number == pending.session_number) {
      outcome.signals.push_back(alert);
    }
  }
  if (pending.revision_after) {
    alerts::SignalInputs& inputs = pending.prepared->inputs;
    inputs.episode_revision = *pending.revision_after;
    inputs.alerts = std::move(pending.alerts_after);
    signal_cache_.Put(inputs);
  }
  return outcome;
}

}  // namespace rapport::api
