#include "storage/group_commit.h"

#include <vector>

#include "base/log.h"

namespace rapport::storage {

GroupCommit::GroupCommit(BatchStatements& statements, size_t max_batch)
    : statements_(statements), max_batch_(max_batch) {
  thread_ = std::thread([this] { Loop(); });
}

GroupCommit::~GroupCommit() { Stop(); }

Status GroupCommit::Write(const std::function<Status(WriteTransaction&)>& work) {
  std::promise<Status> promise;
  std::future<Status> done = promise.get_future();
  WriteAsync([&work](WriteTransaction& txn) { return work(txn); },
             [&promise](Status status) { promise.set_value(std::move(status)); });
  return done.get();
}

void GroupCommit::WriteAsync(std::function<Status(WriteTransaction&)> work,
                             std::function<void(Status)> done) {
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    if (!closing_) {
      queue_.push_back({std::move(work), std::move(done)});
      queued = true;
    }
  }
  if (!queued) return done(Unavailable("the store is closed"));
  wake_.notify_one();
}

void GroupCommit::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (closing_) return;
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void GroupCommit::Loop() {
  std::vector<Pending> batch;
  std::vector<Status> results;
  while (true) {
    batch.clear();
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) break;  // closing, and everything queued is done
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    results.assign(batch.size(), Status::Ok());
    const Status begin = statements_.Begin();
    if (!begin.ok()) {
      for (Pending& pending : batch) pending.done(begin);
      continue;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      Status status = statements_.Savepoint();
      if (status.ok()) {
        status = RunCatching([&] { return batch[i].work(statements_.Transaction()); });
      }
      if (status.ok()) {
        status = statements_.ReleaseSavepoint();
      } else {
        statements_.RollbackToSavepoint();
      }
      results[i] = status;
    }
    const Status commit = statements_.Commit();
    if (!commit.ok()) {
      statements_.Rollback();
      log::Error("commit failed", {{"error", commit.ToString()}, {"batch", batch.size()}});
      for (Status& status : results) {
        if (status.ok()) status = commit;
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(results[i]);
  }
}

}  // namespace rapport::storage
