#include "parallel.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu_backend.h"

namespace mxcpu {
namespace {

class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 1; i < threads; ++i) helpers_.emplace_back([this, i] { loop(i); });
  }
  int size() const { return int(helpers_.size()) + 1; }

  // True on a helper, or on the thread running a job: a nested loop there runs inline. (Thread
  // ids, not thread_local: LeakSanitizer's tracer crashes walking a dlopen'ed plugin's TLS.)
  bool inside() const {
    const std::thread::id me = std::this_thread::get_id();
    if (owner_.load(std::memory_order_acquire) == me) return true;
    for (const auto& t : helpers_)
      if (t.get_id() == me) return true;
    return false;
  }

  // One job at a time: kernels run on engine workers, which may call concurrently.
  void run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    std::lock_guard<std::mutex> job(job_mu_);
    owner_.store(std::this_thread::get_id(), std::memory_order_release);
    const int parts = size();
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      n_ = n;
      parts_ = parts;
      pending_.store(parts - 1, std::memory_order_relaxed);
      ++generation_;
    }
    cv_.notify_all();
    chunk(0);
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    fn_ = nullptr;
    owner_.store(std::thread::id(), std::memory_order_release);
  }

 private:
  void chunk(int part) {
    const int64_t begin = n_ * part / parts_, end = n_ * (part + 1) / parts_;
    if (begin < end) (*fn_)(begin, end);
  }

  void loop(int part) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return generation_ != seen; });
        seen = generation_;
      }
      chunk(part);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(mu_);
        done_cv_.notify_all();
      }
    }
  }

  std::mutex job_mu_, mu_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int parts_ = 1;
  uint64_t generation_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<std::thread::id> owner_{};
  std::vector<std::thread> helpers_;  // never joined: the pool lives until the process exits
};

Pool* pool() {
  static Pool* p = [] {
    const int threads = g_host && g_host->intra_op_threads ? g_host->intra_op_threads() : 1;
    return new Pool(threads > 1 ? threads : 1);
  }();
  return p;
}

}  // namespace

void parallel_for(int64_t n, int64_t min_parallel, const std::function<void(int64_t, int64_t)>& fn) {
  if (n < min_parallel || pool()->size() == 1 || pool()->inside()) {
    if (n > 0) fn(0, n);
    return;
  }
  pool()->run(n, fn);
}

}  // namespace mxcpu
