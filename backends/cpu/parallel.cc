#include "parallel.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu_backend.h"

namespace mxcpu {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls ready() for up to spin (a bounded busy-wait: the core is taken from whoever else could run
// there, so it is kept short); true when ready() became true in time.
template <typename Ready>
bool spin_until(std::chrono::nanoseconds spin, Ready ready) {
  if (spin.count() <= 0) return ready();
  const auto until = std::chrono::steady_clock::now() + spin;
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= until) return ready();
    // Let a thread waiting for this core run (the one whose chunk this loop may be waiting for,
    // when threads outnumber free cores).
    std::this_thread::yield();
  }
}

// Handshake: the caller publishes a job (fn_, n_) by resetting next_ and bumping generation_; then
// the caller and every helper that is awake claim chunks from next_ until none is left, and the
// caller returns once done_ counts all parts_ chunks finished. Chunks are claimed, not assigned: a
// helper that wakes late (a loaded machine) finds the chunks already taken by the caller, so a
// loop never waits for a thread that is not running, only for chunks that are. The job fields are
// written before next_'s reset (release) and read only after a claim below parts_ (acquire), and
// the next job is written only after done_ reached parts_, so they never race; parts_ is fixed.
// The sleeper counts and the values they guard are seq_cst on both sides (Dekker): a thread about
// to block re-checks its condition under mu_ after counting itself in, and the waker reads the
// count after changing the condition, so one of them always sees the other: no lost wake-up.
class Pool {
 public:
  Pool(int threads, std::chrono::nanoseconds spin) : spin_(spin), parts_(threads) {
    for (int i = 1; i < threads; ++i) helpers_.emplace_back([this] { loop(); });
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
  void run(int64_t n, ChunkFn fn) {
    // Waits for another worker's loop rather than running inline: inline, the loop (and a GEMM
    // nested in it, serial inside a chunk but split when called outside one) would be cut
    // differently, and results would vary bitwise with whether the pool happened to be free.
    std::lock_guard<std::mutex> job(job_mu_);
    owner_.store(std::this_thread::get_id(), std::memory_order_release);
    fn_ = &fn;
    n_ = n;
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    next_.store(0, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping_helpers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(mu_);  // orders the notify after a helper's wait began
      cv_.notify_all();
    }
    work();
    wait_done();
    fn_ = nullptr;
    owner_.store(std::thread::id(), std::memory_order_release);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Claims and runs chunks until none is left; true when this thread finished the job's last one.
  bool work() {
    bool last = false;
    for (int c; (c = next_.fetch_add(1, std::memory_order_acquire)) < parts_;) {
      const int64_t begin = n_ * c / parts_, end = n_ * (c + 1) / parts_;
      if (begin < end) {
        try {
          (*fn_)(begin, end);
        } catch (...) {
          std::lock_guard<std::mutex> lk(error_mu_);
          if (!error_) error_ = std::current_exception();
        }
      }
      last = done_.fetch_add(1, std::memory_order_seq_cst) + 1 == parts_;
    }
    return last;
  }

  void wait_done() {
    auto done = [&] { return done_.load(std::memory_order_seq_cst) == parts_; };
    if (spin_until(spin_, done)) return;
    std::unique_lock<std::mutex> lk(mu_);
    caller_sleeping_.store(true, std::memory_order_seq_cst);
    done_cv_.wait(lk, done);
    caller_sleeping_.store(false, std::memory_order_relaxed);
  }

  void loop() {
    uint64_t seen = 0;
    for (;;) {
      auto posted = [&] { return generation_.load(std::memory_order_seq_cst) != seen; };
      if (!spin_until(spin_, posted)) {
        std::unique_lock<std::mutex> lk(mu_);
        sleeping_helpers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lk, posted);
        sleeping_helpers_.fetch_sub(1, std::memory_order_relaxed);
      }
      seen = generation_.load(std::memory_order_acquire);
      if (work() && caller_sleeping_.load(std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> lk(mu_);
        done_cv_.notify_all();
      }
    }
  }

  const std::chrono::nanoseconds spin_;
  const int parts_;  // chunks per loop: one per thread
  std::mutex job_mu_, mu_, error_mu_;
  std::condition_variable cv_, done_cv_;
  // The job: written by its caller only while no chunk runs (see the class comment).
  const ChunkFn* fn_ = nullptr;
  int64_t n_ = 0;
  std::exception_ptr error_;  // the first chunk's exception; under error_mu_ while chunks run
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> next_{0};  // the next chunk to claim; parts_ or more: none left
  std::atomic<int> done_{0};  // chunks finished
  std::atomic<int> sleeping_helpers_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<std::thread::id> owner_{};
  std::vector<std::thread> helpers_;  // never joined: the pool lives until the process exits
};

std::chrono::nanoseconds spin_time() {
  const char* v = std::getenv("MX_CPU_POOL_SPIN_US");
  const long us = v && *v ? std::atol(v) : kDefaultSpinUs;
  return std::chrono::microseconds(us > 0 ? us : 0);
}

Pool* pool() {
  static Pool* p = [] {
    const int threads = g_host && g_host->intra_op_threads ? g_host->intra_op_threads() : 1;
    return new Pool(threads > 1 ? threads : 1, spin_time());
  }();
  return p;
}

}  // namespace

void parallel_for(int64_t n, int64_t min_parallel, ChunkFn fn) {
  if (n <= 0) return;
  if (n < min_parallel || n < 2 || pool()->size() == 1 || pool()->inside()) {
    fn(0, n);
    return;
  }
  pool()->run(n, fn);
}

int parallel_threads() { return pool()->size(); }

}  // namespace mxcpu
