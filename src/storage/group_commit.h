// Group commit, shared by the backends (store.h): callers' write work is queued to one writer
// thread and run in batches, one database transaction per batch and a savepoint per caller, so
// a failing caller is rolled back alone and everyone else's work shares one durable commit.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "storage/store.h"

namespace rapport::storage {

// Runs `f`, turning an exception that escapes it into kInternal: a caller's bug must not take
// a reader or the writer thread down.
template <typename F>
Status RunCatching(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Internal(std::string("unexpected exception in a transaction: ") + e.what());
  }
}

// The statements a backend runs on its writer connection for a batch.
class BatchStatements {
 public:
  virtual ~BatchStatements() = default;
  virtual Status Begin() = 0;
  virtual Status Savepoint() = 0;
  virtual Status ReleaseSavepoint() = 0;
  // Undoes the work since the savepoint and releases it.
  virtual void RollbackToSavepoint() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  // The transaction the callers' work is given.
  virtual WriteTransaction& Transaction() = 0;
};

class GroupCommit {
 public:
  // Starts the writer thread. REQUIRES: `statements` outlives Stop(); max_batch ≥ 1.
  GroupCommit(BatchStatements& statements, size_t max_batch);
  ~GroupCommit();  // Stop()
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `work` and waits until its batch has committed (ok) or it failed; kUnavailable after
  // Stop().
  Status Write(const std::function<Status(WriteTransaction&)>& work);
  // Queues `work` and returns at once; `done` is called with what Write would have returned,
  // on the writer thread once the batch has committed (or at once with kUnavailable after
  // Stop()). `done` must be brief and must not write: hand anything longer to another thread.
  void WriteAsync(std::function<Status(WriteTransaction&)> work, std::function<void(Status)> done);
  // Runs everything already queued, then ends the writer thread. Idempotent.
  void Stop();

 private:
  struct Pending {
    std::function<Status(WriteTransaction&)> work;
    std::function<void(Status)> done;
  };
  void Loop();

  BatchStatements& statements_;
  const size_t max_batch_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace rapport::storage
