// MX_ENGINE_TYPE=naive: every op runs to completion on the pushing thread, in push order. Same
// error semantics as the threaded engine (stored on written vars, rethrown at wait), so switching
// engines never changes what a program observes — only when.
#include <map>
#include <tuple>
#include <mutex>

#include "engine/threaded_engine.h"
#include "base/error.h"
#include "engine/var.h"

namespace mx::engine {
namespace {

class NaiveEngine final : public Engine {
 public:
  const char* type() const override { return "naive"; }

  void push(Fn fn, Device dev, std::span<Var* const> reads, std::span<Var* const> writes,
            const PushOptions& opts) override {
    OprBlock op;
    op.fn = std::move(fn);
    op.dev = dev;
    op.opts = opts;
    op.read_writes = normalise_deps(reads, writes, op.reads, op.writes);
    op.seq = next_seq();
    run(op);
  }

  void wait_for_var(Var* var, bool for_write) override { finish_wait(var, for_write); }
  void wait_for_var_on_stream(Var* var, Device, void* stream) override { finish_wait_on_stream(var, stream); }
  void wait_to_overwrite(Var* var) override {
    drop_error(var);
    sync_host(var, true);
  }

  void wait_all() override { throw_error(take_unreported_failure()); }

  void delete_var(Var* var, std::function<void()> on_delete) override {
    OprBlock op;
    op.writes.push_back(var);
    prepare_run(&op, nullptr);  // host-synchronise async work still touching it
    if (on_delete) on_delete();
    delete var;
  }

  int64_t pending() const override { return 0; }

 private:
  // Per calling thread and device: a stream (async devices) and the worker data slot.
  struct Slot {
    void* stream = nullptr;
    std::unique_ptr<WorkerData> data;
  };

  void run(OprBlock& op) {
    // Per engine too: the inline engine's ops (inside a custom op's kernel) must not share the
    // outer naive engine's temp space with the kernel that is running.
    thread_local std::map<std::tuple<const void*, int, int>, Slot> slots;
    DeviceStreams* ds = device_streams();
    Slot& slot = slots[{this, op.dev.type, op.dev.id}];
    const bool async = ds && ds->is_async(op.dev);
    if (async && !slot.stream) slot.stream = ds->stream_create(op.dev);
    RunContext ctx;
    ctx.device = op.dev;
    ctx.stream = slot.stream;
    ctx.worker_data = &slot.data;
    prepare_run(&op, ctx.stream);
    execute(&op, ctx);
    // Synchronous by definition: finish the device work before returning.
    if (async && !op.error) {
      try {
        ds->stream_sync(op.dev, ctx.stream);
      } catch (const Error& e) {
        op.error = std::make_shared<OpError>(e.code(), e.what(), op.seq);
      } catch (const std::exception& e) {
        op.error = std::make_shared<OpError>(MX_ERR_INTERNAL, e.what(), op.seq);
      }
    }
    store_outcome(&op);
  }
};

}  // namespace

std::unique_ptr<Engine> make_naive_engine() { return std::make_unique<NaiveEngine>(); }

}  // namespace mx::engine
