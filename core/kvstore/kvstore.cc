#include "kvstore/kvstore.h"

#include <algorithm>

#include "base/dtype.h"
#include "base/error.h"
#include "kvstore/store_ops.h"
#include "kvstore/stores.h"
#include "profiler/profiler.h"

namespace mx::kv {

std::vector<KeyGroup> group_by_key(std::span<const std::string> keys, std::span<const NDArray> arrays,
                                   const char* fn) {
  if (keys.size() != arrays.size())
    fail(MX_ERR_INVALID_ARGUMENT, fn, ": ", keys.size(), " keys for ", arrays.size(), " arrays");
  std::vector<KeyGroup> groups;
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!arrays[i].defined()) fail(MX_ERR_INVALID_ARGUMENT, fn, ": array ", i, " (key '", keys[i], "') is empty");
    auto [it, fresh] = index.emplace(keys[i], groups.size());
    if (fresh) groups.push_back({keys[i], {}});
    groups[it->second].arrays.push_back(arrays[i]);
  }
  return groups;
}

namespace {
bool is_int_key(const std::string& k) {
  return !k.empty() && k.size() <= 10 && std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; });
}
std::string describe(const Shape& s, int32_t dtype) { return shape_str(s) + " " + dtype_info(dtype).name; }
}  // namespace

void KVStore::check_key_kind(const std::string& key) {
  const int kind = is_int_key(key) ? 1 : 2;
  if (key.empty()) fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type_, ": an empty key");
  if (key_kind_ && kind != key_kind_)
    fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type_, ": key '", key, "' is ", kind == 1 ? "an integer" : "a string",
         " but this store's keys are ", key_kind_ == 1 ? "integers" : "strings", " (MXNet does not mix them)");
  key_kind_ = kind;
}

const KVStore::KeyInfo& KVStore::check_arrays(const std::string& key, std::span<const NDArray> arrays,
                                              const char* fn) const {
  auto it = keys_.find(key);
  if (it == keys_.end())
    fail(MX_ERR_NOT_FOUND, "kvstore ", type_, " ", fn, ": key '", key, "' was not initialised (call init first)");
  for (size_t i = 0; i < arrays.size(); ++i)
    if (arrays[i].shape() != it->second.shape || arrays[i].dtype() != it->second.dtype)
      fail(MX_ERR_SHAPE_MISMATCH, "kvstore ", type_, " ", fn, ": key '", key, "' was initialised as ",
           describe(it->second.shape, it->second.dtype), " but array ", i, " is ",
           describe(arrays[i].shape(), arrays[i].dtype()));
  return it->second;
}

void KVStore::init(std::span<const std::string> keys, std::span<const NDArray> values) {
  auto groups = group_by_key(keys, values, "kvstore init");
  const int kind_before = key_kind_;  // a refused init leaves the store as it was
  try {
    for (auto& g : groups) {
      if (g.arrays.size() != 1)
        fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type_, " init: key '", g.key, "' given ", g.arrays.size(),
             " values (init takes one per key)");
      if (keys_.count(g.key))
        fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type_, " init: key '", g.key, "' is already initialised");
      check_key_kind(g.key);
    }
  } catch (...) {
    key_kind_ = kind_before;
    throw;
  }
  for (auto& g : groups) {
    init_key(g.key, g.arrays[0]);
    keys_[g.key] = {g.arrays[0].shape(), g.arrays[0].dtype()};
  }
}

void KVStore::push(std::span<const std::string> keys, std::span<const NDArray> values, int priority) {
  profiler::HostSpan span(profiler::kKVStore, "KVStore push");
  auto groups = group_by_key(keys, values, "kvstore push");
  for (auto& g : groups) check_arrays(g.key, g.arrays, "push");
  for (auto& g : groups) push_key(g.key, g.arrays, priority);
}

void KVStore::pull(std::span<const std::string> keys, std::span<const NDArray> outs, int priority) {
  profiler::HostSpan span(profiler::kKVStore, "KVStore pull");
  auto groups = group_by_key(keys, outs, "kvstore pull");
  for (auto& g : groups) check_arrays(g.key, g.arrays, "pull");
  for (auto& g : groups) pull_key(g.key, g.arrays, priority);
}

void KVStore::pushpull(std::span<const std::string> vkeys, std::span<const NDArray> values,
                       std::span<const std::string> okeys, std::span<const NDArray> outs, int priority) {
  profiler::HostSpan span(profiler::kKVStore, "KVStore pushpull");
  auto in = group_by_key(vkeys, values, "kvstore pushpull");
  auto out = group_by_key(okeys, outs, "kvstore pushpull");
  for (auto& g : in) check_arrays(g.key, g.arrays, "pushpull");
  for (auto& g : out) check_arrays(g.key, g.arrays, "pushpull");
  // Keys pushed and pulled in the same call go together (pushpull_key); the others push, then pull.
  std::unordered_map<std::string, const KeyGroup*> pulled;
  for (auto& g : out) pulled[g.key] = &g;
  for (auto& g : in) {
    auto it = pulled.find(g.key);
    if (it == pulled.end()) {
      push_key(g.key, g.arrays, priority);
      continue;
    }
    pushpull_key(g.key, g.arrays, it->second->arrays, priority);
    pulled.erase(it);
  }
  for (auto& g : out)
    if (pulled.count(g.key)) pull_key(g.key, g.arrays, priority);
}

void KVStore::broadcast(std::span<const std::string> vkeys, std::span<const NDArray> values,
                        std::span<const std::string> okeys, std::span<const NDArray> outs, int priority) {
  auto out = group_by_key(okeys, outs, "kvstore broadcast");
  // The outputs are checked before the init, so a refused broadcast initialises nothing.
  const auto in = group_by_key(vkeys, values, "kvstore broadcast");
  for (auto& g : out) {
    auto v = std::find_if(in.begin(), in.end(), [&](const KeyGroup& x) { return x.key == g.key; });
    if (v == in.end()) {
      check_arrays(g.key, g.arrays, "broadcast");
      continue;
    }
    const NDArray& value = v->arrays[0];
    for (size_t i = 0; i < g.arrays.size(); ++i)
      if (g.arrays[i].shape() != value.shape() || g.arrays[i].dtype() != value.dtype())
        fail(MX_ERR_SHAPE_MISMATCH, "kvstore ", type_, " broadcast: key '", g.key, "' is given as ",
             describe(value.shape(), value.dtype()), " but output ", i, " is ",
             describe(g.arrays[i].shape(), g.arrays[i].dtype()));
  }
  init(vkeys, values);
  for (auto& g : out) pull_key(g.key, g.arrays, priority);
}

std::unique_ptr<KVStore> KVStore::create(const std::string& type) {
  if (type == "local" || type == "device") return make_local_store(type);
  if (type == "dist_sync" || type == "dist_async") return make_dist_store(type);
  if (type == "dist" ) return make_dist_store("dist_sync");
  if (type == "nccl") return make_nccl_store();
  if (type == "dist_device_sync" || type == "dist_sync_device")
    fail(MX_ERR_UNSUPPORTED, "kvstore ", type, ": needs NCCL across processes, which is not built yet "
         "(use 'dist_sync', or 'nccl' for the GPUs of one process)");
  fail(MX_ERR_INVALID_ARGUMENT, "kvstore: unknown type '", type,
       "' (known: local, device, dist_sync, dist_async, dist_device_sync, nccl)");
}

void KVStore::set_updater(Updater u) {
  updater_ = std::move(u);
  optimizer_.reset();
}

void KVStore::set_optimizer(const std::string& name, const OptimizerParams& params) {
  optimizer_ = Optimizer::create(name, params);
  updater_ = nullptr;
}

void KVStore::set_gradient_compression(const std::string& type, double threshold) {
  if (type == "none") {
    compression_threshold_ = 0;
    return;
  }
  if (type != "2bit")
    fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type_, ": unknown gradient compression '", type, "' (known: 2bit, none)");
  if (!(threshold > 0) || threshold > 1e30)
    fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type_, ": 2bit compression needs a threshold > 0, got ", threshold);
  if (type_ == "local")
    fail(MX_ERR_UNSUPPORTED, "kvstore local: gradient compression is for the device and dist_* stores (as in MXNet)");
  if (!keys_.empty())
    fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type_, ": set gradient compression before the first init");
  compression_threshold_ = float(threshold);
}

void KVStore::save_optimizer_states(const std::string& path) {
  if (!optimizer_)
    fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type_, " save_optimizer_states: no optimizer set on the store "
         "(an updater's states belong to whoever made it)");
  engine::get().wait_all();
  optimizer_->save_states(path);
}

void KVStore::load_optimizer_states(const std::string& path) {
  if (!optimizer_)
    fail(MX_ERR_INVALID_ARGUMENT, "kvstore ", type_, " load_optimizer_states: set an optimizer first");
  engine::get().wait_all();
  optimizer_->load_states(path);
}

void KVStore::apply_update(const std::string& key, const NDArray& merged, const NDArray& stored, int priority) {
  if (updater_) updater_(key, merged, stored);
  else if (optimizer_) optimizer_->update(key, stored, merged, priority);
  else copy(merged, stored, priority);
}

}  // namespace mx::kv
