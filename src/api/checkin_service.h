// Answering a check-in: look up the token, validate and score the answers with the one
// scoring engine, and store the responses durably in one transaction together with the
// submission's audit event. Submitting is idempotent: the same answers again return the stored
// result; different answers to a used check-in are refused with kConflict (DESIGN.md §3).
#pragma once

#include <functional>
#include <memory>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alerts.h"
#include "alerts/signal_cache.h"
#include "base/clock.h"
#include "base/random.h"
#include "base/status.h"
#include "domain/types.h"
#include "instruments/catalog.h"
#include "storage/store.h"

namespace rapport::api {

struct CheckinContext {
  domain::Checkin checkin;
  std::vector<const instruments::Definition*> instruments;  // in the check-in's order
  std::vector<domain::Response> responses;                  // stored ones, when submitted
  // When an instrument rates goals (kind "goals"): the respondent's goals agreed in the
  // episode, oldest first; the form shows the n-th goal beside the instrument's n-th item.
  std::vector<std::string> goals;
  // OpenToSubmit's: what the episode's signals read, from the snapshot the check-in was read
  // from (not for an answered check-in).
  std::optional<alerts::SignalInputs> signal_inputs;
};

struct Submission {
  std::string instrument_id;
  std::vector<domain::ItemAnswer> answers;
};

struct SubmitOutcome {
  bool created = false;  // false: an identical earlier submission was returned
  std::vector<domain::Response> responses;
  // The signals this check-in's session raised or confirmed about the respondent: the
  // episode's alerts about them whose latest session is this one, as they stand once the
  // submission is stored (or, for an identical submission again, now), most severe first.
  // Alerts about the episode as a whole (e.g. a couple's split alliance) or about another
  // member are not the respondent's to see and are left out.
  std::vector<domain::Alert> signals;
};

// Thread safety: safe to use from many threads at once.
class CheckinService {
 public:
  // The default size of the signal inputs kept in memory (alerts/signal_cache.h).
  static constexpr size_t kDefaultSignalCacheBytes = size_t{64} << 20;

  // REQUIRES: every argument outlives the service. `signal_cache_bytes` bounds the episodes'
  // signal inputs kept between submissions (0: none kept; every submission reads its
  // episode's history).
  CheckinService(storage::Store& store, const instruments::Catalog& catalog, const Clock& clock,
                 Random& random, size_t signal_cache_bytes = kDefaultSignalCacheBytes);

  // The episodes' signal inputs kept between submissions (for /metrics and tests).
  const alerts::SignalCache& signal_cache() const { return signal_cache_; }

  // The check-in for `token` with its instruments (and stored responses when answered).
  // Errors: unknown or malformed token → kNotFound; expired → kGone; an instrument that is
  // no longer installed → kUnavailable.
  Result<CheckinContext> Open(std::string_view token) const;
  // As Open, for a submission to follow: an unanswered check-in comes with the inputs of its
  // episode's signals read in the same snapshot (one read transaction for both), which Submit
  // then evaluates. Errors: Open's; the store's.
  Result<CheckinContext> OpenToSubmit(std::string_view token) const;

  // Validates, scores and stores answers to the check-in `opened` (as Open or OpenToSubmit
  // returned it; the caller opens once and may use the context to read the request, then
  // hands it over, since its signal inputs become the evaluation's). Every
  // instrument of the check-in must be answered exactly once. The write transaction alone decides
  // whether the check-in is still unanswered (it marks it answered only if it was not, and
  // reads it again when it was). In the same transaction
  // it appends the submission's audit event: actor "checkin:<id>", action "create" (or "read"
  // when identical answers were stored before), resource "session/<session id>/checkin/<id>",
  // from `address` (the respondent's remote address); so an acknowledged submission and its
  // audit entry are durable together, and a submission whose audit event cannot be stored is
  // not stored either.
  // Errors: kInvalidArgument naming the instrument and item; kNotFound; kGone; kConflict when
  // the check-in was already answered differently; the store's.
  Result<SubmitOutcome> Submit(CheckinContext opened, const std::vector<Submission>& submissions,
                               std::string_view address);

  // Runs a function soon on a thread of the caller's choosing (e.g. the server's I/O
  // threads), never the store's writer.
  using Post = std::function<void(std::function<void()>)>;
  // As Submit, without holding the calling thread while the write waits for its batch to be
  // durable: checks, scores and evaluates on the calling thread, queues the write, and
  // returns. `done` gets what Submit would have returned: on the calling thread before
  // SubmitAsync returns when the submission is refused before writing, otherwise through
  // `post` once the write is durable (or failed).
  void SubmitAsync(CheckinContext opened, const std::vector<Submission>& submissions,
                   std::string_view address, Post post,
                   std::function<void(Result<SubmitOutcome>)> done);

 private:
  struct Pending;
  // Submit in three steps: checked, scored and evaluated on the caller's thread; stored in a
  // write transaction; and the outcome, with the episode's inputs kept for its next
  // submission, once the write is durable.
  Result<std::unique_ptr<Pending>> Prepare(CheckinContext opened,
                                           const std::vector<Submission>& submissions,
                                           std::string_view address);
  Status Write(Pending& pending, storage::WriteTransaction& txn);
  SubmitOutcome Finish(Pending& pending);

  storage::Store& store_;
  const instruments::Catalog& catalog_;
  const Clock& clock_;
  Result<CheckinContext> OpenWith(std::string_view token, bool signal_inputs) const;

  Random& random_;
  // Submissions evaluating their signals at once: no more than there are cores, so that many
  // request threads evaluating together do not crowd out the single writer every submission
  // then waits for.
  std::counting_semaphore<1024> evaluating_;
  // Each submission's episode inputs, as they are once it is stored, for the episode's next
  // submission (usually its next session's). Mutable: OpenToSubmit reads through it.
  mutable alerts::SignalCache signal_cache_;
};

}  // namespace rapport::api
