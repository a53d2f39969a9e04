// A worker pool's queue of ready ops: highest priority first, FIFO among equals. Workers spin
// briefly before sleeping so a stream of tiny ops does not pay a futex wake per op.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <queue>
#include <vector>

#include "engine/var.h"

namespace mx::engine {

class ExecQueue {
 public:
  void push(OprBlock* op) {
    std::lock_guard<std::mutex> lk(mu_);
    heap_.push(Entry{op->opts.priority, op->seq, op});
    size_.fetch_add(1, std::memory_order_release);
    if (sleepers_ > 0) cv_.notify_one();
  }

  // Moves up to `max` ready ops, best first, into out; returns false once stopped and drained.
  // Taking a batch per lock keeps a stream of tiny ops from bouncing the lock per op.
  bool pop(std::vector<OprBlock*>& out, size_t max) {
    out.clear();
    for (int spin = 0; spin < kSpins; ++spin) {
      if (size_.load(std::memory_order_acquire) > 0) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!heap_.empty()) {
          take(out, max);
          return true;
        }
      }
      __builtin_ia32_pause();
    }
    std::unique_lock<std::mutex> lk(mu_);
    ++sleepers_;
    cv_.wait(lk, [&] { return !heap_.empty() || stopped_; });
    --sleepers_;
    if (heap_.empty()) return false;
    take(out, max);
    return true;
  }

  void stop() {
    std::lock_guard<std::mutex> lk(mu_);
    stopped_ = true;
    cv_.notify_all();
  }

 private:
  static constexpr int kSpins = 4000;
  struct Entry {
    int priority;
    uint64_t seq;
    OprBlock* op;
    bool operator<(const Entry& o) const {  // max-heap: higher priority, then lower seq
      return priority != o.priority ? priority < o.priority : seq > o.seq;
    }
  };

  void take(std::vector<OprBlock*>& out, size_t max) {
    while (!heap_.empty() && out.size() < max) {
      out.push_back(heap_.top().op);
      heap_.pop();
    }
    size_.fetch_sub(out.size(), std::memory_order_relaxed);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Entry> heap_;
  std::atomic<size_t> size_{0};
  int sleepers_ = 0;
  bool stopped_ = false;
};

}  // namespace mx::engine
