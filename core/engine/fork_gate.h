// The gate a fork() closes on threads that push into the threaded engine: each engine call from
// outside the engine's workers passes it; fork_prepare closes it (new callers wait, callers inside
// finish), so no other thread holds an engine lock (a var's spin lock, a block pool's list) at the
// instant of fork(). Writer-preferring, unlike a reader-preferring rwlock, so a thread that
// pushes without pause cannot starve the fork. Two atomic operations per call when open.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <new>

namespace mx::engine {

class ForkGate {
 public:
  // Engine workers, and calls nested in a call that passed (an inline op deleting a var), skip it.
  static inline thread_local int depth = 0;

  void enter() {
    for (;;) {
      inside_.fetch_add(1, std::memory_order_seq_cst);
      if (!closing_.load(std::memory_order_seq_cst)) return;
      leave();
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return !closing_.load(std::memory_order_seq_cst); });
    }
  }
  void leave() {
    // seq_cst on both sides: either close() sees this caller inside, or this caller sees closing_.
    if (inside_.fetch_sub(1, std::memory_order_seq_cst) == 1 && closing_.load(std::memory_order_seq_cst)) {
      std::lock_guard<std::mutex> lk(mu_);
      cv_.notify_all();
    }
  }
  // Waits until no caller is inside; returns holding mu_, so no thread holds it at fork().
  void close() {
    std::unique_lock<std::mutex> lk(mu_);
    closing_.store(true, std::memory_order_seq_cst);
    cv_.wait(lk, [&] { return inside_.load(std::memory_order_seq_cst) == 0; });
    lk.release();
  }
  // After fork(). The child lacks the callers that waited: their counts go, and the lock and
  // condition variable are made anew (glibc's broadcast may wait for vanished waiters).
  void open(bool in_child) {
    if (in_child) {
      inside_.store(0, std::memory_order_relaxed);
      closing_.store(false, std::memory_order_relaxed);
      new (&mu_) std::mutex();
      new (&cv_) std::condition_variable();
      return;
    }
    closing_.store(false, std::memory_order_seq_cst);
    mu_.unlock();
    cv_.notify_all();
  }

 private:
  std::atomic<int> inside_{0};
  std::atomic<bool> closing_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

// Passes the gate for a scope unless this thread already has (or is an engine worker).
class GatePass {
 public:
  explicit GatePass(ForkGate& g) : gate_(ForkGate::depth++ == 0 ? &g : nullptr) {
    if (gate_) gate_->enter();
  }
  ~GatePass() {
    if (gate_) gate_->leave();
    --ForkGate::depth;
  }
  GatePass(const GatePass&) = delete;
  GatePass& operator=(const GatePass&) = delete;

 private:
  ForkGate* gate_;
};

}  // namespace mx::engine
