// nccl: GPU arrays of one process reduced over NCCL (MXNet's KVStoreNCCL). A key's stored value sits
// on its init value's GPU. A push copies each value (one per GPU, distinct GPUs) into a merge buffer
// on its GPU, sums the buffers in place with one allreduce (an engine op on the communication queue
// of the first value's GPU), then updates the stored value once from the sum; a pull copies the
// stored value to every output. The collectives come from the device_comm plugin (NCCL).
#include <map>
#include <memory>
#include <vector>

#include "base/dtype.h"
#include "base/error.h"
#include "kvstore/device_comm_loader.h"
#include "kvstore/stores.h"
#include "plugin/registry.h"

namespace mx::kv {
namespace {

bool reducible(int32_t dtype) {
  switch (dtype) {
    case MX_FLOAT32: case MX_FLOAT64: case MX_FLOAT16: case MX_BFLOAT16:
    case MX_INT32: case MX_INT64: case MX_INT8: case MX_UINT8:
      return true;
    default:
      return false;
  }
}

class NcclStore : public KVStore {
 public:
  NcclStore() : KVStore("nccl"), dc_(device_comm()) {}

  void set_gradient_compression(const std::string& type, double threshold) override {
    if (type != "none")
      fail(MX_ERR_UNSUPPORTED, "kvstore nccl: gradient compression is not supported (as in MXNet); use 'device'");
    KVStore::set_gradient_compression(type, threshold);
  }

 protected:
  struct Entry {
    NDArray stored;
    std::vector<int32_t> gpus;    // the GPUs of the last push, in value order (the comm's ranks)
    std::vector<NDArray> merged;  // one per pushed value, on its GPU; summed in place
    NDArray staging;              // the sum on the stored value's GPU when no value was pushed there
  };

  void init_key(const std::string& key, const NDArray& value) override {
    check_gpus(key, {&value, 1}, "init");
    Entry e;
    e.stored = NDArray(value.shape(), value.dtype(), value.device());
    copy(value, e.stored);
    entries_[key] = std::move(e);
  }

  void push_key(const std::string& key, std::span<const NDArray> values, int priority) override {
    check_gpus(key, values, "push");
    Entry& e = entries_.at(key);
    std::vector<int32_t> gpus;
    for (const NDArray& v : values) gpus.push_back(v.device().id);
    if (gpus != e.gpus) {
      e.merged.clear();
      for (const NDArray& v : values) e.merged.emplace_back(v.shape(), v.dtype(), v.device());
      e.gpus = gpus;
    }
    for (size_t i = 0; i < values.size(); ++i) copy(values[i], e.merged[i], priority);
    push_allreduce(comm_for(gpus), e.merged, priority);

    // Every buffer now holds the sum: update from the one on the stored value's GPU, as MXNet does,
    // so the updater sees arrays of one device.
    const NDArray* sum = nullptr;
    for (const NDArray& m : e.merged)
      if (m.device() == e.stored.device()) sum = &m;
    if (!sum) {
      if (!e.staging.defined()) e.staging = NDArray(e.stored.shape(), e.stored.dtype(), e.stored.device());
      copy(e.merged[0], e.staging, priority);
      sum = &e.staging;
    }
    apply_update(key, *sum, e.stored, priority);
  }

  void pull_key(const std::string& key, std::span<const NDArray> outs, int priority) override {
    const Entry& e = entries_.at(key);
    for (const NDArray& o : outs) copy(e.stored, o, priority);
  }

 private:
  // Values must be GPU arrays of the CUDA backend (the plugin unwraps its stream handle), one per
  // GPU, of a dtype NCCL sums.
  void check_gpus(const std::string& key, std::span<const NDArray> values, const char* fn) const {
    for (size_t i = 0; i < values.size(); ++i) {
      const Device dev = values[i].device();
      if (dev.type != MX_DEVICE_GPU)
        fail(MX_ERR_UNSUPPORTED, "kvstore nccl ", fn, ": key '", key, "' value ", i, " is on ", dev.str(),
             "; nccl reduces GPU arrays (use 'device' or 'local' for CPU arrays)");
      const plugin::Backend& b = plugin::registry().for_device(dev);
      if (b.name != "cuda")
        fail(MX_ERR_UNSUPPORTED, "kvstore nccl ", fn, ": ", dev.str(), " is served by backend '", b.name, "' (",
             b.path, "); nccl needs mx's cuda backend");
      for (size_t j = 0; j < i; ++j)
        if (values[j].device() == dev)
          fail(MX_ERR_INVALID_ARGUMENT, "kvstore nccl ", fn, ": key '", key, "' has values ", j, " and ", i, " on ",
               dev.str(), "; nccl takes one value per GPU (use 'device' to sum several on one GPU)");
    }
    if (!values.empty() && !reducible(values[0].dtype()))
      fail(MX_ERR_UNSUPPORTED, "kvstore nccl ", fn, ": key '", key, "' is ", dtype_info(values[0].dtype()).name,
           "; NCCL sums float32/64, float16, bfloat16, int8/32/64 and uint8");
  }

  // One communicator per ordered set of GPUs, created on first use (ncclCommInitAll) and freed
  // when the store and every op using it are gone.
  std::shared_ptr<void> comm_for(const std::vector<int32_t>& gpus) {
    auto& c = comms_[gpus];
    if (!c) {
      void* raw = nullptr;
      dc_.check(dc_.api.create(int32_t(gpus.size()), gpus.data(), &raw), "create");
      const DeviceComm* dc = &dc_;  // loaded for the process: outlives the store
      c = std::shared_ptr<void>(raw, [dc](void* p) { dc->api.destroy(p); });
    }
    return c;
  }

  // The sum, in place: one op that writes every buffer, on the first GPU's communication queue. The
  // plugin orders its streams after this op's stream and this op's completion after the sum, so
  // readers of the buffers wait for it through the engine's usual events.
  void push_allreduce(std::shared_ptr<void> comm, const std::vector<NDArray>& bufs, int priority) {
    std::vector<engine::Var*> writes;
    for (const NDArray& b : bufs) writes.push_back(b.var());
    engine::PushOptions opts;
    opts.prop = engine::FnProperty::kComm;
    opts.priority = priority;
    opts.name = "kvstore nccl allreduce";
    opts.category = profiler::kKVStore;
    const DeviceComm* dc = &dc_;
    engine::get().push(
        [dc, comm = std::move(comm), bufs](engine::RunContext& ctx) {
          std::vector<void*> ptrs;
          for (const NDArray& b : bufs) ptrs.push_back(b.data());
          dc->check(dc->api.allreduce(comm.get(), int32_t(ptrs.size()), ptrs.data(), bufs[0].size(), bufs[0].dtype(),
                                      ctx.stream),
                    "allreduce");
        },
        bufs[0].device(), {}, writes, opts);
  }

  const DeviceComm& dc_;
  std::unordered_map<std::string, Entry> entries_;
  std::map<std::vector<int32_t>, std::shared_ptr<void>> comms_;
};

}  // namespace

std::unique_ptr<KVStore> make_nccl_store() { return std::make_unique<NcclStore>(); }

}  // namespace mx::kv
