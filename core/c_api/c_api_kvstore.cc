// The C API of the KVStore (create, init / push / pull / pushpull / broadcast, updater and
// optimizer, compression, optimizer states, the dist_async server loop).
#include <string>
#include <vector>

#include "c_api/border.h"
#include "c_api/handles.h"
#include "kvstore/server.h"
#include "plugin/registry.h"

using namespace mx::capi;

namespace {

mx::kv::KVStore& kv_of(mx_kvstore_t h, const char* fn) { return *deref(h, fn).kv; }

std::vector<std::string> keys_of(int32_t n, const char* const* keys, const char* fn) {
  if (n < 0) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": negative count ", n);
  if (n) need(keys, fn, "keys");
  std::vector<std::string> out;
  for (int32_t i = 0; i < n; ++i) {
    if (!keys[i]) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": keys[", i, "] is NULL");
    out.emplace_back(keys[i]);
  }
  return out;
}

std::vector<mx::NDArray> arrays_of(int32_t n, const mx_ndarray_t* h, const char* fn, const char* what) {
  if (n) need(h, fn, what);
  std::vector<mx::NDArray> out;
  for (int32_t i = 0; i < n; ++i) {
    if (!h[i]) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": ", what, "[", i, "] is NULL");
    out.push_back(arr_at(h[i], fn, what, size_t(i)));
  }
  return out;
}

}  // namespace

extern "C" {

int mx_kvstore_create(const char* type, mx_kvstore_t* out) {
  API_BEGIN();
  const char* fn = "mx_kvstore_create";
  need(type, fn, "type");
  need(out, fn, "out");
  mx::plugin::runtime_init();
  *out = issue(mx_kvstore{mx::kv::KVStore::create(type)});
  API_END();
}

int mx_kvstore_free(mx_kvstore_t kv) {
  API_BEGIN();
  release(kv, "mx_kvstore_free");
  API_END();
}

int mx_kvstore_get_type(mx_kvstore_t kv, const char** out) {
  API_BEGIN();
  need(out, "mx_kvstore_get_type", "out");
  *out = kv_of(kv, "mx_kvstore_get_type").type().c_str();
  API_END();
}

int mx_kvstore_get_rank(mx_kvstore_t kv, int32_t* out) {
  API_BEGIN();
  need(out, "mx_kvstore_get_rank", "out");
  *out = kv_of(kv, "mx_kvstore_get_rank").rank();
  API_END();
}

int mx_kvstore_get_num_workers(mx_kvstore_t kv, int32_t* out) {
  API_BEGIN();
  need(out, "mx_kvstore_get_num_workers", "out");
  *out = kv_of(kv, "mx_kvstore_get_num_workers").num_workers();
  API_END();
}

int mx_kvstore_barrier(mx_kvstore_t kv) {
  API_BEGIN();
  kv_of(kv, "mx_kvstore_barrier").barrier();
  API_END();
}

int mx_kvstore_init(mx_kvstore_t kv, int32_t num, const char* const* keys, const mx_ndarray_t* values) {
  API_BEGIN();
  const char* fn = "mx_kvstore_init";
  mx::kv::KVStore& s = kv_of(kv, fn);
  s.init(keys_of(num, keys, fn), arrays_of(num, values, fn, "values"));
  API_END();
}

int mx_kvstore_push(mx_kvstore_t kv, int32_t num, const char* const* keys, const mx_ndarray_t* values,
                    int32_t priority) {
  API_BEGIN();
  const char* fn = "mx_kvstore_push";
  mx::kv::KVStore& s = kv_of(kv, fn);
  s.push(keys_of(num, keys, fn), arrays_of(num, values, fn, "values"), priority);
  API_END();
}

int mx_kvstore_pull(mx_kvstore_t kv, int32_t num, const char* const* keys, const mx_ndarray_t* outs,
                    int32_t priority) {
  API_BEGIN();
  const char* fn = "mx_kvstore_pull";
  mx::kv::KVStore& s = kv_of(kv, fn);
  s.pull(keys_of(num, keys, fn), arrays_of(num, outs, fn, "outs"), priority);
  API_END();
}

int mx_kvstore_pushpull(mx_kvstore_t kv, int32_t num_values, const char* const* value_keys,
                        const mx_ndarray_t* values, int32_t num_outs, const char* const* out_keys,
                        const mx_ndarray_t* outs, int32_t priority) {
  API_BEGIN();
  const char* fn = "mx_kvstore_pushpull";
  mx::kv::KVStore& s = kv_of(kv, fn);
  s.pushpull(keys_of(num_values, value_keys, fn), arrays_of(num_values, values, fn, "values"),
             keys_of(num_outs, out_keys, fn), arrays_of(num_outs, outs, fn, "outs"), priority);
  API_END();
}

int mx_kvstore_broadcast(mx_kvstore_t kv, int32_t num_values, const char* const* value_keys,
                         const mx_ndarray_t* values, int32_t num_outs, const char* const* out_keys,
                         const mx_ndarray_t* outs, int32_t priority) {
  API_BEGIN();
  const char* fn = "mx_kvstore_broadcast";
  mx::kv::KVStore& s = kv_of(kv, fn);
  s.broadcast(keys_of(num_values, value_keys, fn), arrays_of(num_values, values, fn, "values"),
              keys_of(num_outs, out_keys, fn), arrays_of(num_outs, outs, fn, "outs"), priority);
  API_END();
}

int mx_kvstore_set_updater(mx_kvstore_t kv, mx_kvstore_updater updater, void* user_data) {
  API_BEGIN();
  const char* fn = "mx_kvstore_set_updater";
  mx::kv::KVStore& s = kv_of(kv, fn);
  need(reinterpret_cast<const void*>(updater), fn, "updater");
  s.set_updater([updater, user_data](const std::string& key, const mx::NDArray& recv, const mx::NDArray& stored) {
    mx_ndarray_t r = issue(mx_ndarray{recv}), st = issue(mx_ndarray{stored});
    t_error.clear();
    t_code = MX_ERR_OK;
    if (updater(key.c_str(), r, st, user_data) != 0)
      mx::fail(t_code != MX_ERR_OK ? t_code : MX_ERR_INTERNAL, "kvstore updater failed for key '", key, "'",
               t_error.empty() ? std::string() : ": " + t_error);
  });
  API_END();
}

int mx_kvstore_set_optimizer(mx_kvstore_t kv, const char* name, int32_t num_params, const char* const* keys,
                             const char* const* vals) {
  API_BEGIN();
  const char* fn = "mx_kvstore_set_optimizer";
  mx::kv::KVStore& s = kv_of(kv, fn);
  need(name, fn, "name");
  const auto k = keys_of(num_params, keys, fn);
  const auto v = keys_of(num_params, vals, fn);
  mx::kv::OptimizerParams params;
  for (size_t i = 0; i < k.size(); ++i) params.emplace_back(k[i], v[i]);
  s.set_optimizer(name, params);
  API_END();
}

int mx_kvstore_set_gradient_compression(mx_kvstore_t kv, const char* type, double threshold) {
  API_BEGIN();
  const char* fn = "mx_kvstore_set_gradient_compression";
  mx::kv::KVStore& s = kv_of(kv, fn);
  need(type, fn, "type");
  s.set_gradient_compression(type, threshold);
  API_END();
}

int mx_kvstore_save_optimizer_states(mx_kvstore_t kv, const char* path) {
  API_BEGIN();
  const char* fn = "mx_kvstore_save_optimizer_states";
  mx::kv::KVStore& s = kv_of(kv, fn);
  need(path, fn, "path");
  s.save_optimizer_states(path);
  API_END();
}

int mx_kvstore_load_optimizer_states(mx_kvstore_t kv, const char* path) {
  API_BEGIN();
  const char* fn = "mx_kvstore_load_optimizer_states";
  mx::kv::KVStore& s = kv_of(kv, fn);
  need(path, fn, "path");
  s.load_optimizer_states(path);
  API_END();
}

int mx_kvstore_run_server(void) {
  API_BEGIN();
  mx::plugin::runtime_init();
  mx::kv::run_server();
  API_END();
}

}  // extern "C"
