// dist_sync and dist_async, the worker side. Every message or collective runs in an engine op on the
// communication queue (FnProperty::kComm) that also writes the store's comm var, so they run one at
// a time in push order: all workers push the same calls in the same order, so their collectives
// match, while merges and updates go on in the compute pools.
//   dist_sync   push: merge locally, allreduce the merge (or allgather 2bit words and sum them),
//               then the updater on the summed value; every worker keeps the weights.
//   dist_async  push: merge locally, send to the key's server, which applies its optimizer; pull:
//               ask the server for the newest value.
#include <cstring>
#include <utility>

#include "base/dtype.h"
#include "base/error.h"
#include "kvstore/compression.h"
#include "kvstore/store_ops.h"
#include "kvstore/stores.h"
#include "kvstore/transport_loader.h"
#include "kvstore/wire.h"
#include "ndarray/serialize.h"

namespace mx::kv {
namespace {

// The key's server: FNV-1a of the key, so every process agrees.
int server_of(const std::string& key, const Transport& t) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return t.num_workers + int(h % uint64_t(t.num_servers));
}

// Tells every server this worker is done (once).
bool g_stopped = false;
void stop_servers() {
  if (g_stopped) return;
  g_stopped = true;
  Transport& t = transport();
  if (t.is_server()) return;
  const std::string msg = encode(MsgKind::kStop, "", 0, {}, 0, nullptr, 0);
  for (int s = t.num_workers; s < t.world; ++s) t.api.send(s, kRequestTag, msg.data(), int64_t(msg.size()), "stop");
}

// A shape descriptor every worker contributes at init, to compare with worker 0's.
struct ShapeDesc {
  int32_t dtype, ndim;
  int64_t dims[kMaxNdim];
};

class DistStore : public KVStore {
 public:
  explicit DistStore(const std::string& type) : KVStore(type), t_(transport()), async_(type == "dist_async") {
    if (t_.is_server())
      fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type, ": world rank ", t_.rank,
           " is a server (MX_NUM_SERVERS=", t_.num_servers, "); servers run mx_kvstore_run_server");
    if (async_ && t_.num_servers == 0)
      fail(MX_ERR_INVALID_ARGUMENT, "kvstore dist_async: no server processes (launch with tools/launch.py -n WORKERS "
           "-s SERVERS, which sets MX_NUM_SERVERS)");
    if (t_.num_servers > 0) {
      static bool hooked = false;
      if (!hooked) at_transport_exit(stop_servers);
      hooked = true;
    }
    comm_var_ = engine::new_var();
  }
  ~DistStore() override {
    try {
      engine::get().wait_for_var(comm_var_, true);
    } catch (...) {  // the failure was reported to whoever waited on the arrays
    }
    engine::get().delete_var(comm_var_, [] {});
  }

  int rank() const override { return t_.rank; }
  int num_workers() const override { return t_.num_workers; }

  // dist_async: pushes are one-way messages, so a barrier first has every server confirm it applied
  // this worker's pushes (one sender's messages arrive in order); after it, any pull sees every
  // worker's pushes from before the barrier.
  void barrier() override {
    comm(
        [this] {
          if (async_) flush_servers();
          t_.check(t_.api.barrier("barrier"));
        },
        {}, {}, 0, "kvstore barrier");
    engine::get().wait_for_var(comm_var_);
  }

  void set_updater(Updater u) override {
    if (async_)
      fail(MX_ERR_UNSUPPORTED, "kvstore dist_async: the weights are updated on the servers; use set_optimizer "
           "(a callback cannot run in another process)");
    KVStore::set_updater(std::move(u));
  }

  void set_optimizer(const std::string& name, const OptimizerParams& params) override {
    auto opt = Optimizer::create(name, params);  // validate here, where the caller sees the error
    if (!async_) {
      KVStore::set_optimizer(name, params);
      return;
    }
    if (t_.rank == 0) {
      std::string text;
      for (auto& [k, v] : params) text += k + "=" + v + "\n";
      const std::string msg = encode(MsgKind::kSetOptimizer, name, 0, {}, 0, text.data(), text.size());
      comm(
          [this, msg] {
            for (int s = t_.num_workers; s < t_.world; ++s)
              t_.check(t_.api.send(s, kRequestTag, msg.data(), int64_t(msg.size()), "set_optimizer"));
          },
          {}, {}, 0, "kvstore set_optimizer");
    }
    barrier();
  }

  // dist_async: the states live on the servers; every server sends its part (after this worker's
  // earlier pushes, which it applied first) and one file holds them all; load sends each server
  // the states of its keys.
  void save_optimizer_states(const std::string& path) override {
    if (!async_) return KVStore::save_optimizer_states(path);
    std::vector<NDArray> arrays;
    std::vector<std::string> names;
    comm(
        [&] {
          for (int s = t_.num_workers; s < t_.world; ++s) {
            const std::string blob = request(s, encode(MsgKind::kSaveStates, "", 0, {}, 0, nullptr, 0), "save_optimizer_states");
            load_params(blob.data(), blob.size(), "optimizer states of server " + std::to_string(s), arrays, names);
          }
        },
        {}, {}, 0, "kvstore save states");
    engine::get().wait_for_var(comm_var_);
    save_params(path, arrays, names);
  }

  void load_optimizer_states(const std::string& path) override {
    if (!async_) return KVStore::load_optimizer_states(path);
    std::vector<NDArray> arrays;
    std::vector<std::string> names;
    load_params(path, arrays, names);
    if (names.size() != arrays.size())
      fail(MX_ERR_IO, "kvstore optimizer states ", path, ": arrays without names (not a states file)");
    std::vector<std::vector<NDArray>> arr(size_t(t_.num_servers));
    std::vector<std::vector<std::string>> nm(size_t(t_.num_servers));
    for (size_t i = 0; i < arrays.size(); ++i) {
      const size_t s = size_t(server_of(names[i].substr(0, names[i].rfind(':')), t_) - t_.num_workers);
      arr[s].push_back(arrays[i]);
      nm[s].push_back(names[i]);
    }
    std::vector<std::string> msgs;
    for (size_t s = 0; s < arr.size(); ++s) {
      const std::string blob = save_params(arr[s], nm[s]);
      msgs.push_back(encode(MsgKind::kLoadStates, "", 0, {}, 0, blob.data(), blob.size()));
    }
    comm(
        [this, msgs] {
          for (int s = t_.num_workers; s < t_.world; ++s)
            if (const std::string r = request(s, msgs[size_t(s - t_.num_workers)], "load_optimizer_states"); !r.empty())
              fail(MX_ERR_IO, "kvstore dist_async: server ", s, ": ", r);
        },
        {}, {}, 0, "kvstore load states");
    engine::get().wait_for_var(comm_var_);
  }

 protected:
  struct Entry {
    NDArray stored, merged;     // host arrays
    std::vector<float> residual;  // 2bit: what this worker has not sent yet
    int server = -1;
  };

  void init_key(const std::string& key, const NDArray& value) override {
    Entry e;
    e.stored = NDArray(value.shape(), value.dtype(), cpu());
    e.merged = NDArray(value.shape(), value.dtype(), cpu());
    if (async_) e.server = server_of(key, t_);
    copy(value, e.stored);
    const NDArray stored = e.stored;
    const int server = e.server;
    comm(
        [this, key, stored, server] {
          check_same_shape(key, stored);
          t_.check(t_.api.broadcast(stored.data(), int64_t(stored.nbytes()), 0, what("init", key).c_str()));
          if (server >= 0 && t_.rank == 0) {
            const std::string msg = encode(MsgKind::kInit, key, stored.dtype(), stored.shape(), 0, stored.data(),
                                           stored.nbytes());
            t_.check(t_.api.send(server, kRequestTag, msg.data(), int64_t(msg.size()), what("init", key).c_str()));
          }
          if (server >= 0) {  // every worker pushes only once the server has the key
            if (t_.rank == 0) flush_servers();
            t_.check(t_.api.barrier(what("init", key).c_str()));
          }
        },
        {}, {stored.var()}, 0, "kvstore init");
    engine::get().wait_for_var(stored.var());  // a shape that differs between workers fails init here
    entries_[key] = std::move(e);
  }

  void push_key(const std::string& key, std::span<const NDArray> values, int priority) override {
    Entry& e = entries_.at(key);
    const bool compressed = compression_threshold_ > 0;
    const NDArray& v0 = values[0];
    if (!async_ && !compressed && values.size() == 1 && v0.device().is_cpu()) {
      // One host value: reduce it straight into the merge buffer (no copy first).
      const NDArray merged = e.merged;
      comm([this, key, v0, merged] { allreduce_into(key, v0, merged); }, {v0.var()}, {merged.var()}, priority,
           "kvstore push");
      finish_sync_push(key, e, priority);
      return;
    }
    if (values.size() == 1) copy(values[0], e.merged, priority);
    else push_op("add_n", {{"num_args", std::to_string(values.size())}}, {values.begin(), values.end()}, {e.merged}, priority);
    if (compressed && e.merged.dtype() != MX_FLOAT32)
      fail(MX_ERR_UNSUPPORTED, "kvstore ", type_, ": 2bit compression of key '", key, "' needs float32, got ",
           dtype_info(e.merged.dtype()).name);
    if (compressed && e.residual.empty()) e.residual.assign(size_t(e.merged.size()), 0.f);
    const NDArray merged = e.merged;
    Entry* ep = &e;  // entries_ never erases, and unordered_map keeps element addresses
    const float threshold = compression_threshold_;
    if (async_) {
      comm([this, key, merged, ep, threshold] { send_push(key, merged, ep, threshold); }, {merged.var()}, {}, priority,
           "kvstore push");
      return;
    }
    comm([this, key, merged, ep, threshold] { allreduce(key, merged, ep, threshold); }, {}, {merged.var()}, priority,
         "kvstore push");
    finish_sync_push(key, e, priority);
  }

  void finish_sync_push(const std::string& key, Entry& e, int priority) {
    if (updater_ || optimizer_) {
      apply_update(key, e.merged, e.stored, priority);
    } else {
      // The sum becomes the stored value: swap the buffers instead of copying (the next push into
      // the old stored buffer waits for the pulls reading it, through its var).
      std::swap(e.stored, e.merged);
    }
  }

  // dist_sync, one host value, no updater: the sum goes straight into the first output (in place when
  // it is the value itself), which the caller's wait needs; the stored value and the other outputs
  // are copied from it afterwards, off that path.
  void pushpull_key(const std::string& key, std::span<const NDArray> values, std::span<const NDArray> outs,
                    int priority) override {
    const NDArray& v = values[0];
    const NDArray& o = outs[0];
    const bool same = o.chunk() == v.chunk() && o.byte_offset() == v.byte_offset();
    const bool disjoint = o.chunk() != v.chunk() || o.byte_offset() + o.nbytes() <= v.byte_offset() ||
                          v.byte_offset() + v.nbytes() <= o.byte_offset();
    if (async_ || compression_threshold_ > 0 || updater_ || optimizer_ || values.size() != 1 || !v.device().is_cpu() ||
        !o.device().is_cpu() || !(same || disjoint))
      return KVStore::pushpull_key(key, values, outs, priority);
    Entry& e = entries_.at(key);
    if (same)
      comm([this, key, o] { t_.check(t_.api.allreduce_sum(o.data(), o.size(), o.dtype(), what("pushpull", key).c_str())); },
           {}, {o.var()}, priority, "kvstore pushpull");
    else
      comm([this, key, v, o] { allreduce_into(key, v, o); }, {v.var()}, {o.var()}, priority, "kvstore pushpull");
    copy(o, e.stored, priority);
    for (size_t i = 1; i < outs.size(); ++i) copy(o, outs[i], priority);
  }

  void pull_key(const std::string& key, std::span<const NDArray> outs, int priority) override {
    Entry& e = entries_.at(key);
    if (async_) {
      const NDArray stored = e.stored;
      const int server = e.server;
      comm([this, key, stored, server] { fetch(key, stored, server); }, {}, {stored.var()}, priority, "kvstore pull");
    }
    for (const NDArray& o : outs) copy(e.stored, o, priority);
  }

 private:
  void comm(std::function<void()> fn, std::vector<engine::Var*> reads, std::vector<engine::Var*> writes, int priority,
            const char* name) {
    writes.push_back(comm_var_);
    engine::PushOptions o;
    o.prop = engine::FnProperty::kComm;
    o.priority = priority;
    o.name = name;
    o.category = profiler::kKVStore;
    engine::get().push([fn = std::move(fn)](engine::RunContext&) { fn(); }, cpu(), reads, writes, o);
  }

  std::string what(const char* op, const std::string& key) const {
    return std::string(op) + " of key '" + key + "'";
  }

  void check_same_shape(const std::string& key, const NDArray& a) {
    ShapeDesc mine{};
    mine.dtype = a.dtype();
    mine.ndim = int32_t(a.shape().size());
    for (size_t i = 0; i < a.shape().size(); ++i) mine.dims[i] = a.shape()[i];
    std::vector<ShapeDesc> all(size_t(t_.num_workers));
    t_.check(t_.api.allgather(&mine, sizeof(mine), all.data(), what("init", key).c_str()));
    auto show = [](const ShapeDesc& d) {
      Shape s(d.dims, d.dims + d.ndim);
      return shape_str(s) + " " + dtype_info(d.dtype).name;
    };
    for (int r = 1; r < t_.num_workers; ++r)
      if (std::memcmp(&all[size_t(r)], &all[0], sizeof(ShapeDesc)) != 0)
        fail(MX_ERR_SHAPE_MISMATCH, "kvstore ", type_, " init: key '", key, "' is ", show(all[0]), " on worker 0 but ",
             show(all[size_t(r)]), " on worker ", r);
  }

  void allreduce(const std::string& key, const NDArray& merged, Entry* e, float threshold) {
    const std::string w = what("push", key);
    if (threshold <= 0) {
      t_.check(t_.api.allreduce_sum(merged.data(), merged.size(), merged.dtype(), w.c_str()));
      return;
    }
    const int64_t n = merged.size(), words = packed_words_2bit(n);
    std::vector<uint32_t> mine(static_cast<size_t>(words)), all(static_cast<size_t>(words) * size_t(t_.num_workers));
    auto* data = static_cast<float*>(merged.data());
    quantize_2bit(data, e->residual.data(), n, threshold, mine.data());
    t_.check(t_.api.allgather(mine.data(), words * 4, all.data(), w.c_str()));
    for (int r = 0; r < t_.num_workers; ++r)
      dequantize_2bit(all.data() + size_t(r) * size_t(words), n, threshold, data, r > 0);
  }

  void allreduce_into(const std::string& key, const NDArray& value, const NDArray& merged) {
    t_.check(t_.api.allreduce_sum_into(value.data(), merged.data(), merged.size(), merged.dtype(),
                                       what("push", key).c_str()));
  }

  void send_push(const std::string& key, const NDArray& merged, Entry* e, float threshold) {
    std::string msg;
    if (threshold > 0) {
      std::vector<uint32_t> words(size_t(packed_words_2bit(merged.size())));
      quantize_2bit(static_cast<const float*>(merged.data()), e->residual.data(), merged.size(), threshold, words.data());
      msg = encode(MsgKind::kPush, key, merged.dtype(), merged.shape(), threshold, words.data(), words.size() * 4);
    } else {
      msg = encode(MsgKind::kPush, key, merged.dtype(), merged.shape(), 0, merged.data(), merged.nbytes());
    }
    t_.check(t_.api.send(e->server, kRequestTag, msg.data(), int64_t(msg.size()), what("push", key).c_str()));
  }

  // Sends msg to server s and returns its reply; a reply "error: …" fails naming the server.
  std::string request(int s, const std::string& msg, const char* w) {
    t_.check(t_.api.send(s, kRequestTag, msg.data(), int64_t(msg.size()), w));
    int32_t src = 0, tag = 0;
    int64_t bytes = 0;
    t_.check(t_.api.probe(s, kReplyTag, &src, &tag, &bytes, w));
    std::string reply(size_t(bytes), '\0');
    t_.check(t_.api.recv(src, tag, reply.data(), bytes, w));
    if (reply.rfind("error: ", 0) == 0) fail(MX_ERR_INVALID_ARGUMENT, "kvstore dist_async ", w, ": server ", s, ": ", reply.substr(7));
    return reply;
  }

  void flush_servers() {
    const std::string msg = encode(MsgKind::kFlush, "", 0, {}, 0, nullptr, 0);
    for (int s = t_.num_workers; s < t_.world; ++s) request(s, msg, "barrier");
  }

  void fetch(const std::string& key, const NDArray& stored, int server) {
    const std::string w = what("pull", key);
    const std::string msg = encode(MsgKind::kPull, key, 0, {}, 0, nullptr, 0);
    t_.check(t_.api.send(server, kRequestTag, msg.data(), int64_t(msg.size()), w.c_str()));
    int32_t src = 0, tag = 0;
    int64_t bytes = 0;
    t_.check(t_.api.probe(server, kReplyTag, &src, &tag, &bytes, w.c_str()));
    if (uint64_t(bytes) != stored.nbytes()) {
      std::string discard(size_t(bytes), '\0');
      t_.api.recv(src, tag, discard.data(), bytes, w.c_str());
      fail(MX_ERR_IO, "kvstore dist_async: server ", server, " answered the ", w, " with ", bytes, " bytes, expected ",
           stored.nbytes(), " (", discard.substr(0, 200), ")");
    }
    t_.check(t_.api.recv(src, tag, stored.data(), bytes, w.c_str()));
  }

  Transport& t_;
  const bool async_;
  engine::Var* comm_var_ = nullptr;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace

std::unique_ptr<KVStore> make_dist_store(const std::string& type) { return std::make_unique<DistStore>(type); }

}  // namespace mx::kv
