// The extern "C" border. Each entry point converts handles to objects, runs the call inside
// API_BEGIN/API_END (which turns every exception into -1 plus a thread-local message and
// category) and never lets a C++ exception escape.
#include "mx/c_api.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/error.h"
#include "c_api/border.h"
#include "c_api/handles.h"
#include "engine/engine.h"
#include "ndarray/dlpack.h"
#include "ndarray/invoke.h"
#include "ndarray/ndarray.h"
#include "ndarray/serialize.h"
#include "op/schema.h"
#include "plugin/registry.h"
#include "resource/resource.h"
#include "storage/storage.h"

namespace mx::capi {

thread_local std::string t_error;
thread_local int32_t t_code = MX_ERR_OK;

int set_error(int32_t code, const std::string& msg) {
  t_code = code;
  t_error = msg;
  return -1;
}

void bad_array_at(mx_ndarray_t h, const char* fn, const char* what, size_t i) {
  try {
    handle_get(reinterpret_cast<uintptr_t>(h), Kind::kNDArray, fn);
  } catch (const mx::Error& e) {
    mx::fail(e.code(), e.what(), " (", what, " ", i, ")");
  }
  mx::fail(MX_ERR_INTERNAL, fn, ": ", what, " ", i, ": handle lookup disagrees with itself");
}

void need(const void* p, const char* fn, const char* what) {
  if (!p) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": ", what, " is NULL");
}

const char* param_type_name(const mx::op::ParamSpec& p, std::vector<std::unique_ptr<std::string>>& keep) {
  switch (p.type) {
    case mx::op::ParamType::kInt: return "int";
    case mx::op::ParamType::kFloat: return "float";
    case mx::op::ParamType::kBool: return "boolean";
    case mx::op::ParamType::kShape: return "Shape(tuple)";
    case mx::op::ParamType::kDType: return "dtype";
    case mx::op::ParamType::kDevice: return "device";
    case mx::op::ParamType::kAxes: return "Shape or None";
    case mx::op::ParamType::kOptInts: return "tuple of <int or None>";
    case mx::op::ParamType::kString: return "string";
    case mx::op::ParamType::kEnum: {
      std::string s = "{";
      for (size_t i = 0; i < p.choices.size(); ++i) s += (i ? ", " : "") + p.choices[i];
      keep.push_back(std::make_unique<std::string>(s + "}"));
      return keep.back()->c_str();
    }
  }
  return "?";
}

}  // namespace mx::capi

using namespace mx::capi;

namespace {

// Per-thread return buffers ("valid until the next call on this thread").
thread_local std::vector<mx_ndarray_t> t_handles;
thread_local std::vector<std::string> t_strings;
thread_local std::vector<const char*> t_cstrs;

mx::Shape shape_of(const int64_t* shape, int32_t ndim, const char* fn) {
  if (ndim < 0 || size_t(ndim) > mx::kMaxNdim)
    mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": ndim ", ndim, " is out of range [0, ", mx::kMaxNdim, "]");
  if (ndim > 0) need(shape, fn, "shape");
  return mx::Shape(shape, shape + ndim);
}

}  // namespace

extern "C" {

const char* mx_get_last_error(void) { return t_error.c_str(); }
int32_t mx_get_last_error_code(void) { return t_code; }

int mx_abi_version(uint32_t* major, uint32_t* minor) {
  API_BEGIN();
  need(major, "mx_abi_version", "major");
  need(minor, "mx_abi_version", "minor");
  *major = MX_ABI_MAJOR;
  *minor = MX_ABI_MINOR;
  API_END();
}

const char* mx_version_string(void) { return MX_VERSION_STRING; }

int mx_dtype_size(int32_t dtype, int32_t* out) {
  API_BEGIN();
  need(out, "mx_dtype_size", "out_bytes");
  *out = mx::dtype_info(dtype).bytes;
  API_END();
}

int mx_dtype_name(int32_t dtype, const char** out) {
  API_BEGIN();
  need(out, "mx_dtype_name", "out_name");
  *out = mx::dtype_info(dtype).name;
  API_END();
}

// ---------------------------------------------------------------- backends and devices

int mx_backend_load(const char* path) {
  API_BEGIN();
  need(path, "mx_backend_load", "path");
  mx::plugin::runtime_init();
  const mx::plugin::Backend& b = mx::plugin::registry().load(path);
  if (!b.usable()) {
    static const char* steps[] = {"ok", "open", "symbol", "ABI version", "init", "no device", "shadowed"};
    mx::fail(b.failed_step == MX_BACKEND_STEP_OPEN ? MX_ERR_NOT_FOUND : MX_ERR_UNSUPPORTED, "backend '", b.path,
             "' failed at step '", steps[b.failed_step], "': ", b.message);
  }
  API_END();
}

int mx_backend_count(int32_t* out) {
  API_BEGIN();
  need(out, "mx_backend_count", "out_count");
  mx::plugin::runtime_init();
  *out = int32_t(mx::plugin::registry().backends().size());
  API_END();
}

int mx_backend_get_info(int32_t index, mx_backend_info* out) {
  API_BEGIN();
  need(out, "mx_backend_get_info", "out");
  mx::plugin::runtime_init();
  auto all = mx::plugin::registry().backends();
  if (index < 0 || size_t(index) >= all.size())
    mx::fail(MX_ERR_INVALID_ARGUMENT, "mx_backend_get_info: index ", index, " out of range [0, ", all.size(), ")");
  const mx::plugin::Backend& b = *all[size_t(index)];
  mx_backend_info info{};
  info.struct_size = sizeof(info);
  info.name = b.name.c_str();
  info.path = b.path.c_str();
  info.version = b.version.c_str();
  info.device_type = b.device_type;
  info.num_devices = b.num_devices;
  info.failed_step = b.failed_step;
  info.message = b.message.c_str();
  info.kernel_priority = b.priority.load(std::memory_order_relaxed);
  info.kernels_only = b.kernels_only ? 1 : 0;
  write_sized(out, info, "mx_backend_get_info");
  API_END();
}

int mx_backend_set_priority(const char* name, int32_t priority) {
  API_BEGIN();
  need(name, "mx_backend_set_priority", "name");
  mx::plugin::runtime_init();
  if (!mx::plugin::registry().set_priority(name, priority))
    mx::fail(MX_ERR_NOT_FOUND, "mx_backend_set_priority: no usable backend is called '", name, "'");
  API_END();
}

int mx_device_count(int32_t device_type, int32_t* out) {
  API_BEGIN();
  need(out, "mx_device_count", "out_count");
  mx::plugin::runtime_init();
  const mx::plugin::Backend* b = mx::plugin::registry().for_type(device_type);
  *out = b ? b->num_devices : 0;
  API_END();
}

int mx_device_get_info(int32_t device_type, int32_t device_id, mx_device_info* out) {
  API_BEGIN();
  need(out, "mx_device_get_info", "out");
  mx::plugin::runtime_init();
  const mx::Device dev{device_type, device_id};
  const mx::plugin::Backend& b = mx::plugin::registry().for_device(dev);
  if (!b.api.device_props) mx::fail(MX_ERR_UNSUPPORTED, "backend ", b.name, " reports no device properties");
  mx_device_props props{};
  props.struct_size = sizeof(props);
  mx::plugin::check(b, b.api.device_props(device_id, &props), "device_props");
  // Names are interned so the returned pointer lives as long as the library.
  static std::mutex mu;
  static auto* names = new std::vector<std::unique_ptr<std::string>>();
  const char* name;
  {
    std::lock_guard<std::mutex> lk(mu);
    names->push_back(std::make_unique<std::string>(props.name));
    name = names->back()->c_str();
  }
  mx_device_info info{};
  info.struct_size = sizeof(info);
  info.name = name;
  info.total_memory = props.total_memory;
  info.free_memory = props.free_memory;
  info.supports_async = props.supports_async;
  info.supports_events = props.supports_events;
  info.supports_pinned = props.supports_pinned;
  write_sized(out, info, "mx_device_get_info");
  API_END();
}

// ---------------------------------------------------------------- engine, storage, random

int mx_engine_set_type(const char* type) {
  API_BEGIN();
  need(type, "mx_engine_set_type", "type");
  mx::engine::set_type(type);
  API_END();
}

int mx_engine_get_type(const char** out) {
  API_BEGIN();
  need(out, "mx_engine_get_type", "out_type");
  *out = mx::engine::get().type();
  API_END();
}

int mx_storage_stats_get(int32_t device_type, int32_t device_id, mx_storage_stats* out) {
  API_BEGIN();
  need(out, "mx_storage_stats_get", "out");
  mx::plugin::runtime_init();
  const mx::storage::Stats s = mx::storage::pool({device_type, device_id}).stats();
  mx_storage_stats st{};
  st.struct_size = sizeof(st);
  st.in_use_bytes = s.in_use;
  st.pooled_bytes = s.pooled;
  st.peak_in_use_bytes = s.peak_in_use;
  st.num_device_allocs = s.device_allocs;
  st.limit_bytes = s.limit;
  write_sized(out, st, "mx_storage_stats_get");
  API_END();
}

int mx_storage_empty_cache(int32_t device_type, int32_t device_id) {
  API_BEGIN();
  mx::plugin::runtime_init();
  mx::storage::pool({device_type, device_id}).empty_cache();
  API_END();
}

int mx_storage_set_limit(int32_t device_type, int32_t device_id, uint64_t limit) {
  API_BEGIN();
  mx::plugin::runtime_init();
  mx::storage::pool({device_type, device_id}).set_limit(limit);
  API_END();
}

int mx_random_seed(uint64_t seed) {
  API_BEGIN();
  mx::resource::seed_all(seed);
  API_END();
}

int mx_random_seed_device(int32_t device_type, int32_t device_id, uint64_t seed) {
  API_BEGIN();
  mx::plugin::runtime_init();
  const mx::Device dev{device_type, device_id};
  try {
    mx::plugin::registry().for_device(dev);  // an unknown device is an error, not a silent new generator
  } catch (const mx::Error& e) {
    mx::fail(e.code(), "mx_random_seed_device (device_type ", device_type, ", device_id ", device_id, "): ", e.what());
  }
  mx::resource::seed_device(dev, seed);
  API_END();
}

// ---------------------------------------------------------------- NDArray

int mx_ndarray_create(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t device_type, int32_t device_id,
                      mx_ndarray_t* out) {
  API_BEGIN();
  need(out, "mx_ndarray_create", "out");
  mx::plugin::runtime_init();
  *out = wrap(mx::NDArray(shape_of(shape, ndim, "mx_ndarray_create"), dtype, mx::Device{device_type, device_id}));
  API_END();
}

int mx_ndarray_free(mx_ndarray_t arr) {
  API_BEGIN();
  release(arr, "mx_ndarray_free");
  API_END();
}

int mx_ndarray_get_shape(mx_ndarray_t h, int32_t* ndim, const int64_t** shape) {
  API_BEGIN();
  const auto& a = arr_of(h, "mx_ndarray_get_shape");
  need(ndim, "mx_ndarray_get_shape", "out_ndim");
  need(shape, "mx_ndarray_get_shape", "out_shape");
  *ndim = int32_t(a.shape().size());
  *shape = a.shape().data();
  API_END();
}

int mx_ndarray_get_dtype(mx_ndarray_t h, int32_t* out) {
  API_BEGIN();
  need(out, "mx_ndarray_get_dtype", "out_dtype");
  *out = arr_of(h, "mx_ndarray_get_dtype").dtype();
  API_END();
}

int mx_ndarray_get_device(mx_ndarray_t h, int32_t* type, int32_t* id) {
  API_BEGIN();
  need(type, "mx_ndarray_get_device", "out_device_type");
  need(id, "mx_ndarray_get_device", "out_device_id");
  const auto& a = arr_of(h, "mx_ndarray_get_device");
  *type = a.device().type;
  *id = a.device().id;
  API_END();
}

int mx_ndarray_get_size(mx_ndarray_t h, int64_t* out) {
  API_BEGIN();
  need(out, "mx_ndarray_get_size", "out_size");
  *out = arr_of(h, "mx_ndarray_get_size").size();
  API_END();
}

int mx_ndarray_copy_from_host(mx_ndarray_t h, const void* data, size_t nbytes) {
  API_BEGIN();
  const auto& a = arr_of(h, "mx_ndarray_copy_from_host");
  if (nbytes) need(data, "mx_ndarray_copy_from_host", "data");
  a.copy_from_host(data, nbytes);
  API_END();
}

int mx_ndarray_copy_to_host(mx_ndarray_t h, void* data, size_t nbytes) {
  API_BEGIN();
  const auto& a = arr_of(h, "mx_ndarray_copy_to_host");
  if (nbytes) need(data, "mx_ndarray_copy_to_host", "data");
  a.copy_to_host(data, nbytes);
  API_END();
}

int mx_ndarray_copy_to(mx_ndarray_t src, mx_ndarray_t dst) {
  API_BEGIN();
  mx::copy(arr_of(src, "mx_ndarray_copy_to"), arr_of(dst, "mx_ndarray_copy_to"));
  API_END();
}

int mx_ndarray_slice(mx_ndarray_t h, int64_t begin, int64_t end, mx_ndarray_t* out) {
  API_BEGIN();
  need(out, "mx_ndarray_slice", "out");
  *out = wrap(arr_of(h, "mx_ndarray_slice").slice(begin, end));
  API_END();
}

int mx_ndarray_reshape(mx_ndarray_t h, const int64_t* shape, int32_t ndim, mx_ndarray_t* out) {
  API_BEGIN();
  need(out, "mx_ndarray_reshape", "out");
  *out = wrap(arr_of(h, "mx_ndarray_reshape").reshape(shape_of(shape, ndim, "mx_ndarray_reshape")));
  API_END();
}

int mx_ndarray_wait_to_read(mx_ndarray_t h) {
  API_BEGIN();
  arr_of(h, "mx_ndarray_wait_to_read").wait_to_read();
  API_END();
}

int mx_ndarray_wait_to_write(mx_ndarray_t h) {
  API_BEGIN();
  arr_of(h, "mx_ndarray_wait_to_write").wait_to_write();
  API_END();
}

int mx_ndarray_wait_all(void) {
  API_BEGIN();
  mx::engine::get().wait_all();
  API_END();
}

int mx_ndarray_save(const char* fname, uint32_t num, const mx_ndarray_t* arrs, const char** keys) {
  API_BEGIN();
  need(fname, "mx_ndarray_save", "fname");
  if (num) need(arrs, "mx_ndarray_save", "arrays");
  std::vector<mx::NDArray> v;
  std::vector<std::string> k;
  for (uint32_t i = 0; i < num; ++i) {
    v.push_back(arr_at(arrs[i], "mx_ndarray_save", "array", i));
    if (keys) {
      need(keys[i], "mx_ndarray_save", "key");
      k.emplace_back(keys[i]);
    }
  }
  mx::save_params(fname, v, k);
  API_END();
}

int mx_ndarray_load(const char* fname, uint32_t* out_num, mx_ndarray_t** out_arrs, uint32_t* out_num_keys,
                    const char*** out_keys) {
  API_BEGIN();
  need(fname, "mx_ndarray_load", "fname");
  need(out_num, "mx_ndarray_load", "out_num");
  need(out_arrs, "mx_ndarray_load", "out_arrs");
  need(out_num_keys, "mx_ndarray_load", "out_num_keys");
  need(out_keys, "mx_ndarray_load", "out_keys");
  mx::plugin::runtime_init();
  std::vector<mx::NDArray> v;
  std::vector<std::string> k;
  mx::load_params(fname, v, k);
  t_handles.clear();
  for (auto& a : v) t_handles.push_back(a.defined() ? wrap(std::move(a)) : nullptr);
  t_strings = std::move(k);
  t_cstrs.clear();
  for (auto& s : t_strings) t_cstrs.push_back(s.c_str());
  *out_num = uint32_t(t_handles.size());
  *out_arrs = t_handles.data();
  *out_num_keys = uint32_t(t_cstrs.size());
  *out_keys = t_cstrs.data();
  API_END();
}

int mx_ndarray_to_dlpack(mx_ndarray_t h, struct DLManagedTensor** out) {
  API_BEGIN();
  need(out, "mx_ndarray_to_dlpack", "out");
  *out = mx::to_dlpack(arr_of(h, "mx_ndarray_to_dlpack"));
  API_END();
}

int mx_ndarray_to_dlpack_stream(mx_ndarray_t h, int64_t stream, struct DLManagedTensor** out) {
  API_BEGIN();
  need(out, "mx_ndarray_to_dlpack_stream", "out");
  *out = mx::to_dlpack(arr_of(h, "mx_ndarray_to_dlpack_stream"), stream);
  API_END();
}

int mx_ndarray_from_dlpack_stream(struct DLManagedTensor* t, int64_t stream, mx_ndarray_t* out) {
  API_BEGIN();
  need(out, "mx_ndarray_from_dlpack_stream", "out");
  mx::plugin::runtime_init();
  *out = wrap(mx::from_dlpack(t, stream));
  API_END();
}

int mx_ndarray_from_dlpack(struct DLManagedTensor* t, mx_ndarray_t* out) {
  API_BEGIN();
  need(out, "mx_ndarray_from_dlpack", "out");
  mx::plugin::runtime_init();
  *out = wrap(mx::from_dlpack(t));
  API_END();
}

// ---------------------------------------------------------------- operators

namespace {

// Per-thread scratch of mx_imperative_invoke. Loops call the same op over and over: it remembers
// the last name looked up on this thread.
struct InvokeScratch {
  std::string last_name;
  const mx::op::OpSchema* last_op = nullptr;
  std::vector<const mx::NDArray*> ins;
  std::vector<mx::NDArray> outs;
  std::vector<mx::NDArray*> out_arrs;  // the arrays behind the caller's output handles
  bool busy = false;                   // a call on this thread is using it
};

// Out of line on purpose: the caller keeps the reference in a register, where GCC would redo the
// TLS lookup of a thread_local named in the caller (a __tls_get_addr call) after every call.
[[gnu::noinline]] InvokeScratch& invoke_scratch() {
  thread_local InvokeScratch sc;
  return sc;
}

}  // namespace

int mx_imperative_invoke(const char* op_name, int32_t num_inputs, const mx_ndarray_t* inputs, int32_t* num_outputs,
                         mx_ndarray_t** outputs, int32_t num_params, const char** keys, const char** vals) {
  API_BEGIN();
  need(op_name, "mx_imperative_invoke", "op_name");
  need(num_outputs, "mx_imperative_invoke", "num_outputs");
  need(outputs, "mx_imperative_invoke", "outputs");
  if (num_inputs < 0 || num_params < 0 || *num_outputs < 0)
    mx::fail(MX_ERR_INVALID_ARGUMENT, op_name, ": negative input, output or parameter count");
  if (num_inputs) need(inputs, op_name, "inputs");
  mx::plugin::runtime_init();
  // A call from inside this thread's own call (a custom op's callback under the naive engine)
  // must not clear the outer call's arrays: it gets scratch of its own.
  InvokeScratch& thread_sc = invoke_scratch();
  std::unique_ptr<InvokeScratch> nested_sc;
  if (thread_sc.busy) nested_sc = std::make_unique<InvokeScratch>();
  struct Release {
    InvokeScratch* s;
    ~Release() {
      if (s) s->busy = false;
    }
  } release{nested_sc ? nullptr : &thread_sc};
  thread_sc.busy = true;
  InvokeScratch& sc = nested_sc ? *nested_sc : thread_sc;
  if (!sc.last_op || sc.last_name != op_name) {
    sc.last_op = &mx::op::registry().get(op_name);
    sc.last_name = op_name;
  }
  const mx::op::OpSchema& op = *sc.last_op;
  const mx::op::Attrs attrs = mx::op::parse_attrs(op, num_params, keys, vals);
  auto& ins = sc.ins;
  auto& outs = sc.outs;
  ins.clear();
  outs.clear();
  for (int32_t i = 0; i < num_inputs; ++i) {
    if (!inputs[i]) mx::fail(MX_ERR_INVALID_ARGUMENT, op_name, ": input ", i, " is NULL");
    ins.push_back(&arr_at(inputs[i], op_name, "input", size_t(i)));
  }
  const bool provided = *num_outputs > 0;
  auto& out_arrs = sc.out_arrs;
  out_arrs.clear();
  if (provided) {
    need(*outputs, op_name, "outputs array");
    for (int32_t i = 0; i < *num_outputs; ++i) {
      if (!(*outputs)[i]) mx::fail(MX_ERR_INVALID_ARGUMENT, op_name, ": output ", i, " is NULL");
      out_arrs.push_back(&arr_at((*outputs)[i], op_name, "output", size_t(i)));
      outs.push_back(*out_arrs.back());
    }
  }
  mx::invoke(op, attrs, ins, outs);
  if (provided)  // the handles the caller passed now sit on the autograd tape (if recording)
    for (size_t i = 0; i < out_arrs.size(); ++i) out_arrs[i]->set_ag_entry(outs[i].ag_entry());
  if (!provided) {
    t_handles.clear();
    const size_t visible = mx::op::visible_outputs(op, attrs, outs.size());
    for (size_t i = 0; i < visible; ++i) t_handles.push_back(wrap(std::move(outs[i])));
    *num_outputs = int32_t(t_handles.size());
    *outputs = t_handles.data();
  }
  ins.clear();
  outs.clear();
  API_END();
}

}  // extern "C"
