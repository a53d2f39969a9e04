// The C API of executors (bind, simple_bind, forward, backward, arrays, reshape, memory stats,
// monitor callback) and of CachedOp.
#include <map>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "c_api/border.h"
#include "c_api/handles.h"
#include "plugin/registry.h"

using namespace mx::capi;

namespace {

thread_local std::vector<mx_ndarray_t> t_arrays;

mx::exec::Executor& exec_of(mx_executor_t h, const char* fn) {
  return *deref(h, fn).ex;
}

// Arrays from handles; NULL handles become undefined arrays where allowed.
std::vector<mx::NDArray> arrays_of(uint32_t n, const mx_ndarray_t* h, bool allow_null, const char* fn, const char* what) {
  std::vector<mx::NDArray> out;
  if (n && !h) {
    if (!allow_null) need(h, fn, what);
    out.resize(n);
    return out;
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (!h[i] && !allow_null) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": ", what, "[", i, "] is NULL");
    out.push_back(h[i] ? arr_at(h[i], fn, what, i) : mx::NDArray());
  }
  return out;
}

void give_arrays(const std::vector<mx::NDArray>& v, uint32_t* out_num, mx_ndarray_t** out, const char* fn) {
  need(out_num, fn, "out_num");
  need(out, fn, "out_arrays");
  t_arrays.clear();
  for (const auto& a : v) t_arrays.push_back(a.defined() ? issue(mx_ndarray{a}) : nullptr);
  *out_num = uint32_t(t_arrays.size());
  *out = t_arrays.data();
}

}  // namespace

extern "C" {

int mx_executor_bind(mx_symbol_t sym, int32_t device_type, int32_t device_id, uint32_t num_args,
                     const mx_ndarray_t* args, const mx_ndarray_t* arg_grads, const int32_t* grad_reqs, uint32_t num_aux,
                     const mx_ndarray_t* aux, mx_executor_t* out) {
  API_BEGIN();
  const char* fn = "mx_executor_bind";
  need(out, fn, "out");
  const mx::sym::Symbol& s = sym_of(sym, fn);
  mx::plugin::runtime_init();
  auto a = arrays_of(num_args, args, false, fn, "args");
  auto g = arg_grads ? arrays_of(num_args, arg_grads, true, fn, "arg_grads") : std::vector<mx::NDArray>(num_args);
  std::vector<int32_t> reqs = grad_reqs ? std::vector<int32_t>(grad_reqs, grad_reqs + num_args)
                                        : std::vector<int32_t>(num_args, MX_GRAD_NULL);
  auto x = arrays_of(num_aux, aux, false, fn, "aux");
  auto ex = mx::exec::Executor::bind(s, mx::Device{device_type, device_id}, std::move(a), std::move(g), std::move(reqs),
                                     std::move(x));
  *out = issue(mx_executor{std::move(ex)});
  API_END();
}

int mx_executor_simple_bind(mx_symbol_t sym, int32_t device_type, int32_t device_id, uint32_t num_shapes,
                            const char** shape_keys, const uint32_t* shape_ndims, const int64_t* shape_dims,
                            uint32_t num_dtypes, const char** dtype_keys, const int32_t* dtypes, int32_t default_grad_req,
                            uint32_t num_reqs, const char** req_keys, const int32_t* reqs, mx_executor_t* out) {
  API_BEGIN();
  const char* fn = "mx_executor_simple_bind";
  need(out, fn, "out");
  const mx::sym::Symbol& s = sym_of(sym, fn);
  mx::plugin::runtime_init();
  const auto shapes = known_shapes(fn, num_shapes, shape_keys, shape_ndims, shape_dims, /*zero_is_unknown=*/true);
  std::map<std::string, int32_t> types, req_map;
  if (num_dtypes) {
    need(dtype_keys, fn, "dtype_keys");
    need(dtypes, fn, "dtypes");
  }
  for (uint32_t i = 0; i < num_dtypes; ++i) {
    need(dtype_keys[i], fn, "dtype_keys[i]");
    mx::dtype_info(dtypes[i]);  // validates
    types[dtype_keys[i]] = dtypes[i];
  }
  if (num_reqs) {
    need(req_keys, fn, "req_keys");
    need(reqs, fn, "reqs");
  }
  for (uint32_t i = 0; i < num_reqs; ++i) {
    need(req_keys[i], fn, "req_keys[i]");
    req_map[req_keys[i]] = reqs[i];
  }
  auto ex =
      mx::exec::Executor::simple_bind(s, mx::Device{device_type, device_id}, shapes, types, default_grad_req, req_map);
  *out = issue(mx_executor{std::move(ex)});
  API_END();
}

int mx_executor_forward(mx_executor_t ex, int32_t is_train) {
  API_BEGIN();
  exec_of(ex, "mx_executor_forward").forward(is_train != 0);
  API_END();
}

int mx_executor_backward(mx_executor_t ex, uint32_t num_head_grads, const mx_ndarray_t* head_grads) {
  API_BEGIN();
  const char* fn = "mx_executor_backward";
  auto& e = exec_of(ex, fn);
  const auto h = arrays_of(num_head_grads, head_grads, true, fn, "head_grads");
  e.backward(h);
  API_END();
}

int mx_executor_arrays(mx_executor_t ex, int32_t which, uint32_t* out_num, mx_ndarray_t** out_arrays) {
  API_BEGIN();
  const char* fn = "mx_executor_arrays";
  auto& e = exec_of(ex, fn);
  switch (which) {
    case MX_EXECUTOR_OUTPUTS: give_arrays(e.outputs(), out_num, out_arrays, fn); break;
    case MX_EXECUTOR_ARGS: give_arrays(e.arg_arrays(), out_num, out_arrays, fn); break;
    case MX_EXECUTOR_GRADS: give_arrays(e.grad_arrays(), out_num, out_arrays, fn); break;
    case MX_EXECUTOR_AUX: give_arrays(e.aux_arrays(), out_num, out_arrays, fn); break;
    default:
      mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": which is ", which,
               ", expected MX_EXECUTOR_OUTPUTS, MX_EXECUTOR_ARGS, MX_EXECUTOR_GRADS or MX_EXECUTOR_AUX");
  }
  API_END();
}

int mx_executor_reshape(mx_executor_t ex, uint32_t num_shapes, const char** shape_keys, const uint32_t* shape_ndims,
                        const int64_t* shape_dims, int32_t allow_up_sizing, mx_executor_t* out) {
  API_BEGIN();
  const char* fn = "mx_executor_reshape";
  need(out, fn, "out");
  auto& e = exec_of(ex, fn);
  auto next = e.reshape(known_shapes(fn, num_shapes, shape_keys, shape_ndims, shape_dims), allow_up_sizing != 0);
  *out = issue(mx_executor{std::move(next)});
  API_END();
}

int mx_executor_memory_stats_get(mx_executor_t ex, mx_executor_memory_stats* out) {
  API_BEGIN();
  const char* fn = "mx_executor_memory_stats_get";
  need(out, fn, "out");
  const mx::exec::MemoryStats s = exec_of(ex, fn).memory_stats();
  mx_executor_memory_stats v{};
  v.struct_size = sizeof(v);
  v.planned_bytes = s.planned_bytes;
  v.unplanned_bytes = s.unplanned_bytes;
  v.external_bytes = s.external_bytes;
  v.inplace_count = s.inplace_count;
  v.num_buffers = s.num_buffers;
  v.num_segments = s.num_segments;
  write_sized(out, v, fn);
  API_END();
}

int mx_executor_set_monitor_callback(mx_executor_t ex, mx_executor_monitor_callback cb, void* user_data,
                                     int32_t monitor_all) {
  API_BEGIN();
  auto& e = exec_of(ex, "mx_executor_set_monitor_callback");
  if (!cb) {
    e.set_monitor_callback(nullptr, false);
  } else {
    e.set_monitor_callback([cb, user_data](const std::string& name, const mx::NDArray& value) {
      cb(name.c_str(), issue(mx_ndarray{value}), user_data);
    }, monitor_all != 0);
  }
  API_END();
}

int mx_executor_free(mx_executor_t ex) {
  API_BEGIN();
  release(ex, "mx_executor_free");
  API_END();
}

int mx_cached_op_create(mx_symbol_t sym, uint32_t num_flags, const char** keys, const char** vals,
                        mx_cached_op_t* out) {
  API_BEGIN();
  const char* fn = "mx_cached_op_create";
  need(out, fn, "out");
  const mx::sym::Symbol& s = sym_of(sym, fn);
  if (num_flags) {
    need(keys, fn, "keys");
    need(vals, fn, "vals");
  }
  std::vector<std::pair<std::string, std::string>> flags;
  for (uint32_t i = 0; i < num_flags; ++i) {
    need(keys[i], fn, "keys[i]");
    need(vals[i], fn, "vals[i]");
    flags.emplace_back(keys[i], vals[i]);
  }
  mx::plugin::runtime_init();
  *out = issue(mx_cached_op{std::make_unique<mx::exec::CachedOp>(s, flags)});
  API_END();
}

int mx_cached_op_invoke(mx_cached_op_t op, uint32_t num_inputs, const mx_ndarray_t* inputs, uint32_t* out_num,
                        mx_ndarray_t** out_outputs) {
  API_BEGIN();
  const char* fn = "mx_cached_op_invoke";
  mx::exec::CachedOp& cop = *deref(op, fn).op;
  const auto in = arrays_of(num_inputs, inputs, false, fn, "inputs");
  std::vector<const mx::NDArray*> ptrs;
  for (const auto& a : in) ptrs.push_back(&a);
  give_arrays(cop.call(ptrs), out_num, out_outputs, fn);
  API_END();
}

int mx_cached_op_free(mx_cached_op_t op) {
  API_BEGIN();
  release(op, "mx_cached_op_free");
  API_END();
}

}  // extern "C"
