// ThreadedEnginePerDevice: vars queue the ops that wait for them; an op becomes ready when all of
// its vars have granted it, and is then handed to the worker pool of its device (compute or
// copy). A worker that completes an op releases its vars, which grants (and may make ready) the
// ops queued behind it.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <unordered_map>

#include "base/error.h"
#include "engine/exec_queue.h"
#include "engine/fork_gate.h"
#include "engine/threaded_engine.h"

namespace mx::engine {
namespace {

// One pool of workers sharing a queue; each worker owns a stream on async devices.
class WorkerPool {
 public:
  WorkerPool(Device dev, int threads, std::function<void(OprBlock*, RunContext&)> run) : dev_(dev) {
    DeviceStreams* ds = device_streams();
    const bool async = ds && ds->is_async(dev);
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i, async, ds, run, threads] {
        ForkGate::depth = 1;  // a worker's own pushes never wait at the gate (fork waits for them)
        RunContext ctx;
        ctx.device = dev_;
        ctx.worker = i;
        std::unique_ptr<WorkerData> data;
        ctx.worker_data = &data;
        if (async) ctx.stream = ds->stream_create(dev_);
        std::vector<OprBlock*> batch;
        // One worker takes a batch; several workers take one at a time so they share the load.
        const size_t max_batch = threads == 1 ? 64 : 1;
        while (queue_.pop(batch, max_batch))
          for (OprBlock* op : batch) run(op, ctx);
        // The stream first: destroying it waits for its work, which may still use the temp block.
        if (async) ds->stream_destroy(dev_, ctx.stream);
        data.reset();
      });
    }
  }
  ~WorkerPool() {
    queue_.stop();
    for (auto& t : threads_) t.join();
  }
  void push(OprBlock* op) { queue_.push(op); }
  Device device() const { return dev_; }

 private:
  Device dev_;
  ExecQueue queue_;
  std::vector<std::thread> threads_;
};

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  int n = std::atoi(v);
  return n > 0 ? n : fallback;
}

class ThreadedEngine final : public Engine {
 public:
  explicit ThreadedEngine(int cpu_threads)
      : cpu_threads_(cpu_threads > 0 ? cpu_threads : env_int("MX_CPU_WORKER_NTHREADS", 1)),
        gpu_threads_(env_int("MX_GPU_WORKER_NTHREADS", 2)),
        copy_threads_(env_int("MX_GPU_COPY_NTHREADS", 1)) {}

  ~ThreadedEngine() override {
    wait_all_quiet();
    std::lock_guard<std::mutex> lk(pools_mu_);
    cpu_pool_.store(nullptr);
    pools_.clear();  // joins workers
  }

  const char* type() const override { return "threaded"; }

  void push(Fn fn, Device dev, std::span<Var* const> reads, std::span<Var* const> writes,
            const PushOptions& opts) override {
    if (async_lost_ && !dev.is_cpu()) [[unlikely]]
      fail(MX_ERR_UNSUPPORTED, "op '", opts.name, "' on ", dev.str(), ": this process was forked after ",
           dev.str(), "'s backend was started, and device state (CUDA) does not survive fork(); "
           "use the CPU here, or fork (start DataLoader workers) before using the device");
    GatePass pass(gate_);
    auto* op = new OprBlock();
    op->fn = std::move(fn);
    op->dev = dev;
    op->opts = opts;
    op->read_writes = normalise_deps(reads, writes, op->reads, op->writes);
    submit(op);
  }

  void wait_for_var(Var* var, bool for_write) override {
    wait_quiet(var, for_write, false);
    GatePass pass(gate_);
    finish_wait(var, for_write);
  }

  void wait_to_overwrite(Var* var) override {
    wait_quiet(var, true, true);
    GatePass pass(gate_);
    sync_host(var, true);
  }

  void wait_for_var_on_stream(Var* var, Device, void* stream) override {
    wait_quiet(var, false, false);
    GatePass pass(gate_);
    finish_wait_on_stream(var, stream);
  }

  void wait_all() override {
    wait_all_quiet();
    throw_error(take_unreported_failure());
  }

  void delete_var(Var* var, std::function<void()> on_delete) override {
    GatePass pass(gate_);
    if (idle(var)) {  // nothing pending, running or in flight on a stream: free it right here
      run_deleter(on_delete);
      delete var;
      return;
    }
    auto* op = new OprBlock();
    op->inline_run = true;
    op->deletes_var = true;
    op->opts.name = "delete_var";
    op->fn = [f = std::move(on_delete)](RunContext&) {
      if (f) f();
    };
    op->writes.push_back(var);
    submit(op);
  }

  bool delete_var_if_idle(Var* var) override {
    if (!idle(var)) return false;
    delete var;
    return true;
  }

  int64_t pending() const override { return pending_.load(); }

  // MXNet's Engine::Stop / Start around fork(): the gate keeps other threads out, all work
  // finishes, the workers exit (the pools are made again by the next push, in either process).
  void fork_prepare() override {
    if (ForkGate::depth > 0) return;  // fork() from inside an op: the engine cannot quiesce itself
    gate_.close();
    wait_all_quiet();
    {
      std::lock_guard<std::mutex> lk(pools_mu_);
      for (auto& [key, pool] : pools_)
        if (!pool->device().is_cpu()) async_used_ = true;
      cpu_pool_.store(nullptr, std::memory_order_release);
      pools_.clear();  // joins the workers: none holds a lock now
    }
    idle_mu_.lock();  // a thread in wait_all may hold it for an instant
    pools_mu_.lock();
    forking_ = true;
  }

  void fork_parent() override {
    if (!forking_) return;
    forking_ = false;
    pools_mu_.unlock();
    idle_mu_.unlock();
    gate_.open(false);
  }

  void fork_child() override {
    if (!forking_) return;
    forking_ = false;
    // Threads waiting in the parent do not exist here: their counts and their condition
    // variable's waiter records go (glibc's broadcast could wait for the vanished waiters).
    idle_waiters_.store(0, std::memory_order_relaxed);
    new (&idle_mu_) std::mutex();
    new (&idle_cv_) std::condition_variable();
    pools_mu_.unlock();
    if (async_used_) async_lost_ = true;
    gate_.open(true);
  }

 private:
  // No op queued on, running on, or with device work left on var. Only its owner, which is
  // deleting it, could push a new one, so the answer holds once the lock is released.
  static bool idle(Var* var) {
    std::lock_guard<SpinLock> lk(var->mu);
    return !var->head && !var->running_write && var->running_reads == 0 && !var->write_event &&
           var->read_events.empty();
  }

  // on_delete outside an op: a throw is reported by wait_all as the op's would be.
  static void run_deleter(const std::function<void()>& on_delete) {
    if (!on_delete) return;
    try {
      on_delete();
    } catch (...) {  // rare: turned into the op error execute() would have made of it
      OprBlock op;
      op.opts.name = "delete_var";
      op.seq = next_seq();
      op.fn = [e = std::current_exception()](RunContext&) { std::rethrow_exception(e); };
      RunContext ctx;
      execute(&op, ctx);
      note_failure(op.error);
    }
  }

  // Blocks until every op pushed before on var is done (reads too, with for_write). With
  // drop_var_error (and for_write), forgets var's error while no op can use the var.
  void wait_quiet(Var* var, bool for_write, bool drop_var_error) {
    std::optional<GatePass> pass(std::in_place, gate_);  // submitting only: not while blocked
    struct Signal {
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
    } sig;
    auto* op = new OprBlock();
    op->inline_run = true;
    op->waits_only = true;
    op->opts.name = "wait_for_var";
    op->fn = [&sig, var, drop_var_error](RunContext&) {
      if (drop_var_error) drop_error(var);
      std::lock_guard<std::mutex> lk(sig.mu);
      sig.done = true;
      sig.cv.notify_all();
    };
    (for_write ? op->writes : op->reads).push_back(var);
    submit(op);
    pass.reset();
    std::unique_lock<std::mutex> lk(sig.mu);
    sig.cv.wait(lk, [&] { return sig.done; });
  }

  void wait_all_quiet() {
    idle_waiters_.fetch_add(1, std::memory_order_seq_cst);
    {
      std::unique_lock<std::mutex> lk(idle_mu_);
      idle_cv_.wait(lk, [&] { return pending_.load(std::memory_order_seq_cst) == 0; });
    }
    idle_waiters_.fetch_sub(1, std::memory_order_relaxed);
  }

  void submit(OprBlock* op) {
    op->seq = next_seq();
    pending_.fetch_add(1, std::memory_order_relaxed);
    op->wait.store(int(op->reads.size() + op->writes.size()) + 1, std::memory_order_relaxed);
    for (Var* v : op->reads) append_read(v, op);
    for (Var* v : op->writes) append_write(v, op);
    grant(op, /*by_pusher=*/true);
  }

  void append_read(Var* v, OprBlock* op) {
    bool granted;
    {
      std::lock_guard<SpinLock> lk(v->mu);
      granted = !v->head && !v->running_write;
      if (granted) ++v->running_reads;
      else enqueue(v, op, false);
    }
    if (granted) grant(op);
  }

  void append_write(Var* v, OprBlock* op) {
    bool granted;
    {
      std::lock_guard<SpinLock> lk(v->mu);
      granted = !v->head && !v->running_write && v->running_reads == 0;
      if (granted) v->running_write = true;
      else enqueue(v, op, true);
    }
    if (granted) grant(op);
  }

  static void enqueue(Var* v, OprBlock* op, bool write) {
    PendingDep* d;
    if (op->used_nodes < OprBlock::kInlineDeps) {
      d = &op->dep_nodes[op->used_nodes++];
    } else {
      d = new PendingDep();
      d->heap = true;
    }
    d->op = op;
    d->write = write;
    d->next = nullptr;
    if (v->tail) v->tail->next = d;
    else v->head = d;
    v->tail = d;
  }

  static OprBlock* dequeue(Var* v) {
    PendingDep* d = v->head;
    v->head = d->next;
    if (!v->head) v->tail = nullptr;
    OprBlock* op = d->op;
    if (d->heap) delete d;
    return op;
  }

  // One of op's vars (or the pusher itself) is done with it; the last one dispatches. The pusher
  // is last only when every var granted the op during the push: a tiny op then runs right here.
  void grant(OprBlock* op, bool by_pusher = false) {
    if (op->wait.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (op->inline_run) {
      RunContext ctx;
      ctx.device = op->dev;
      run(op, ctx);
    } else if (by_pusher && op->opts.may_run_inline && op->dev.is_cpu()) {
      run_on_pusher(op);
    } else {
      pool_for(op->dev, op->opts.prop).push(op);
    }
  }

  WorkerPool& pool_for(Device dev, FnProperty prop) {
    // CPU copies share the CPU pool; async devices get a dedicated copy pool; communication gets a
    // one-thread pool per device everywhere (its ops block on other processes, in push order).
    const bool comm = prop == FnProperty::kComm;
    const bool copy = prop == FnProperty::kCopy && !dev.is_cpu();
    if (dev.is_cpu() && dev.id == 0 && !comm)
      if (WorkerPool* p = cpu_pool_.load(std::memory_order_acquire)) return *p;  // the common case, lock-free
    const uint64_t key = (uint64_t(dev.type) << 40) | (uint64_t(dev.id) << 2) | (comm ? 2 : copy ? 1 : 0);
    std::lock_guard<std::mutex> lk(pools_mu_);
    auto it = pools_.find(key);
    if (it != pools_.end()) return *it->second;
    int threads = comm ? 1 : dev.is_cpu() ? cpu_threads_ : copy ? copy_threads_ : gpu_threads_;
    auto pool = std::make_unique<WorkerPool>(dev, threads, [this](OprBlock* op, RunContext& ctx) { run(op, ctx); });
    WorkerPool* p = pools_.emplace(key, std::move(pool)).first->second.get();
    if (dev.is_cpu() && dev.id == 0 && !comm) cpu_pool_.store(p, std::memory_order_release);
    return *p;
  }

  // A ready tiny op on the thread that pushed it. Its temp space (if any) lives for this run only.
  void run_on_pusher(OprBlock* op) {
    RunContext ctx;
    ctx.device = op->dev;
    ctx.worker = -1;  // the profiler's lane: not a worker of the pool
    std::unique_ptr<WorkerData> data;
    ctx.worker_data = &data;
    run(op, ctx);
  }

  void run(OprBlock* op, RunContext& ctx) {
    prepare_run(op, ctx.stream);
    execute(op, ctx);
    record_completion(op, ctx.stream);
    complete(op);
  }

  void complete(OprBlock* op) {
    store_outcome(op);
    for (Var* v : op->reads) release_read(v);
    const bool deletes = op->deletes_var;
    for (Var* v : op->writes) {
      if (deletes) delete v;  // no one else holds it: it was the owner's last op
      else release_write(v);
    }
    delete op;
    // Only a wait_all in progress needs the wake-up: inline tiny ops reach zero on every op.
    // (seq_cst on both sides: either this sees the waiter, or the waiter sees pending_ at zero.)
    if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 && idle_waiters_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lk(idle_mu_);
      idle_cv_.notify_all();
    }
  }

  void release_read(Var* v) {
    OprBlock* next = nullptr;
    {
      std::lock_guard<SpinLock> lk(v->mu);
      if (--v->running_reads == 0 && v->head) {
        // Only a write can be waiting behind running reads.
        v->running_write = true;
        next = dequeue(v);
      }
    }
    if (next) grant(next);
  }

  void release_write(Var* v) {
    std::vector<OprBlock*> ready;
    {
      std::lock_guard<SpinLock> lk(v->mu);
      v->running_write = false;
      while (v->head && !v->head->write) {
        ++v->running_reads;
        ready.push_back(dequeue(v));
      }
      if (ready.empty() && v->head) {
        v->running_write = true;
        ready.push_back(dequeue(v));
      }
    }
    for (OprBlock* op : ready) grant(op);
  }

  const int cpu_threads_, gpu_threads_, copy_threads_;
  std::atomic<int64_t> pending_{0};
  std::atomic<int> idle_waiters_{0};  // threads in wait_all_quiet
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
  std::mutex pools_mu_;
  std::unordered_map<uint64_t, std::unique_ptr<WorkerPool>> pools_;
  std::atomic<WorkerPool*> cpu_pool_{nullptr};
  ForkGate gate_;
  bool forking_ = false;     // between fork_prepare and fork_parent / fork_child
  bool async_used_ = false;  // an async (GPU) device's pool existed at a fork
  bool async_lost_ = false;  // this process is a child forked after that: those devices refuse
};

}  // namespace

std::unique_ptr<Engine> make_threaded_engine(int cpu_threads) {
  return std::make_unique<ThreadedEngine>(cpu_threads);
}

}  // namespace mx::engine
