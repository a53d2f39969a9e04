#include "plugin/extension.h"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>

#include "base/error.h"
#include "op/schema.h"
#include "plugin/registry.h"

namespace mx::plugin {
namespace fs = std::filesystem;
namespace {

// Copies a struct the other side declared with struct_size: fields it does not know stay zero.
template <typename T>
T clamped_copy(const T* from) {
  T to{};
  const uint32_t n = std::min<uint32_t>(from->struct_size, sizeof(T));
  std::memcpy(&to, from, n);
  to.struct_size = n;
  return to;
}

template <typename T, typename F>
bool has_field(const T& t, F T::*field) {
  const T* p = nullptr;
  return t.struct_size >= reinterpret_cast<size_t>(&(p->*field)) + sizeof(F);
}

// One registered op's definition, owned by the core for the rest of the process.
struct ExtOp {
  mx_ext_op def{};
  std::string name, owner;
  std::vector<mx_kernel> kernels;  // stable addresses (reserved up front)
};

std::string who(const ExtOp& e) { return str_cat(e.name, " (", e.owner, ")"); }

// Runs an extension callback; a -1 becomes an mx::Error carrying what the callback reported.
void call_checked(const ExtOp& e, const char* step, const std::function<int()>& fn) {
  take_backend_error(nullptr);
  int rc;
  try {
    rc = fn();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    fail(MX_ERR_INTERNAL, who(e), ": ", step, " threw: ", ex.what());
  }
  if (rc == 0) return;
  std::string msg;
  int32_t code = take_backend_error(&msg);
  fail(code == MX_ERR_OK ? MX_ERR_INTERNAL : code, who(e), ": ", step, " failed: ", msg.empty() ? "no reason given" : msg);
}

struct AttrView {
  std::vector<const char*> keys, vals;
  explicit AttrView(const op::Attrs& a) {
    for (auto& [k, v] : a.kv) {
      keys.push_back(k.c_str());
      vals.push_back(v.c_str());
    }
  }
};

// The inputs side of mx_ext_infer_args (shapes may be absent during dtype-only inference).
struct InferCall {
  AttrView attrs;
  std::vector<int32_t> in_ndims;
  std::vector<const int64_t*> in_shapes;
  std::vector<int32_t> in_dtypes;
  std::vector<int32_t> out_ndims, out_dtypes;
  std::vector<std::vector<int64_t>> out_dims;
  std::vector<int64_t*> out_shapes;
  mx_ext_infer_args args{};

  InferCall(const ExtOp& e, const op::InferArgs& a) : attrs(a.attrs) {
    const size_t n = size_t(e.def.num_inputs), m = size_t(e.def.num_outputs);
    static const int64_t kNone[1] = {0};
    for (size_t i = 0; i < n; ++i) {
      const bool known = i < a.in_shapes.size();
      in_ndims.push_back(known ? int32_t(a.in_shapes[i].size()) : 0);
      in_shapes.push_back(known && !a.in_shapes[i].empty() ? a.in_shapes[i].data() : kNone);
      in_dtypes.push_back(i < a.in_dtypes.size() ? a.in_dtypes[i] : -1);
    }
    out_ndims.assign(m, -1);
    out_dtypes.assign(m, n ? in_dtypes[0] : MX_FLOAT32);
    out_dims.assign(m, std::vector<int64_t>(MX_EXT_MAX_NDIM, 0));
    for (auto& d : out_dims) out_shapes.push_back(d.data());
    args.struct_size = sizeof(args);
    args.op_name = e.name.c_str();
    args.num_attrs = int32_t(attrs.keys.size());
    args.attr_keys = attrs.keys.data();
    args.attr_vals = attrs.vals.data();
    args.num_inputs = int32_t(n);
    args.in_ndims = in_ndims.data();
    args.in_shapes = in_shapes.data();
    args.in_dtypes = in_dtypes.data();
    args.num_outputs = int32_t(m);
    args.out_ndims = out_ndims.data();
    args.out_shapes = out_shapes.data();
    args.out_dtypes = out_dtypes.data();
  }
};

// GradBuilder behind mx_ext_grad_builder: a failing call is recorded and rethrown once the
// library's gradient callback has returned (no exception crosses its frames).
struct GradBridge {
  op::GradBuilder* g;
  std::unique_ptr<Error> error;

  // Emits the op; returns every output's value (just the first unless all).
  std::vector<op::GradValue> emit(bool all, const char* op_name, int32_t n, const int32_t* inputs, int32_t na,
                                  const char* const* keys, const char* const* vals) {
    if (!op_name) fail(MX_ERR_INVALID_ARGUMENT, "gradient builder: op name is NULL");
    if (n < 0 || na < 0 || (n && !inputs) || (na && (!keys || !vals)))
      fail(MX_ERR_INVALID_ARGUMENT, "gradient builder: bad input or attribute arrays for ", op_name);
    std::vector<op::GradValue> in(inputs, inputs + n);
    std::vector<std::pair<std::string, std::string>> attrs;
    for (int32_t i = 0; i < na; ++i) {
      if (!keys[i] || !vals[i]) fail(MX_ERR_INVALID_ARGUMENT, "gradient builder: NULL attribute of ", op_name);
      attrs.emplace_back(keys[i], vals[i]);
    }
    if (all) return g->call_all(op_name, std::move(in), std::move(attrs));
    return {g->call(op_name, std::move(in), std::move(attrs))};
  }
  void record(const Error& e) {
    if (!error) error = std::make_unique<Error>(e);
    host_api()->set_error(e.code(), e.what());
  }
  static int32_t call(void* self, const char* op_name, int32_t n, const int32_t* inputs, int32_t na,
                      const char* const* keys, const char* const* vals) {
    auto* b = static_cast<GradBridge*>(self);
    try {
      return b->emit(false, op_name, n, inputs, na, keys, vals).at(0);
    } catch (const Error& e) {
      b->record(e);
    } catch (const std::exception& e) {  // nothing may unwind through the library's frames
      b->record(Error(MX_ERR_INTERNAL, e.what()));
    } catch (...) {
      b->record(Error(MX_ERR_INTERNAL, "gradient builder: unknown exception"));
    }
    return MX_EXT_NO_GRAD;
  }
  static int32_t call_all(void* self, const char* op_name, int32_t n, const int32_t* inputs, int32_t na,
                          const char* const* keys, const char* const* vals, int32_t max_out, int32_t* out) {
    auto* b = static_cast<GradBridge*>(self);
    try {
      if (max_out < 0 || (max_out && !out)) fail(MX_ERR_INVALID_ARGUMENT, "gradient builder: bad output array");
      const std::vector<op::GradValue> v = b->emit(true, op_name, n, inputs, na, keys, vals);
      for (size_t k = 0; k < v.size() && k < size_t(max_out); ++k) out[k] = v[k];
      return int32_t(v.size());
    } catch (const Error& e) {
      b->record(e);
    } catch (const std::exception& e) {
      b->record(Error(MX_ERR_INTERNAL, e.what()));
    } catch (...) {
      b->record(Error(MX_ERR_INTERNAL, "gradient builder: unknown exception"));
    }
    return -1;
  }
};

op::ParamSpec param_of(const ExtOp& e, const mx_ext_param& p_in) {
  const mx_ext_param p = clamped_copy(&p_in);
  if (!p.name || !*p.name) fail(MX_ERR_INVALID_ARGUMENT, who(e), ": a param has no name");
  static const op::ParamType kTypes[] = {op::ParamType::kInt,    op::ParamType::kFloat, op::ParamType::kBool,
                                         op::ParamType::kString, op::ParamType::kShape, op::ParamType::kDType};
  if (p.type < 0 || p.type > MX_EXT_PARAM_DTYPE)
    fail(MX_ERR_INVALID_ARGUMENT, who(e), ": param ", p.name, " has unknown type ", p.type);
  op::ParamSpec s;
  s.name = p.name;
  s.type = kTypes[p.type];
  s.required = p.default_value == nullptr;
  s.default_value = p.default_value ? p.default_value : "";
  s.doc = p.doc ? p.doc : "";
  return s;
}

op::OpSchema schema_of(const mx_ext_op& def_in, const std::string& owner) {
  auto e = std::make_shared<ExtOp>();  // shared by the schema's callbacks; lives with the schema
  e->def = clamped_copy(&def_in);
  e->owner = owner;
  const mx_ext_op& d = e->def;
  if (!d.name || !*d.name) fail(MX_ERR_INVALID_ARGUMENT, owner, ": an op has no name");
  e->name = d.name;
  if (!has_field(d, &mx_ext_op::user)) fail(MX_ERR_INVALID_ARGUMENT, who(*e), ": definition too short (struct_size ", d.struct_size, ")");
  if (d.num_inputs < 0 || d.num_inputs > 1024 || (d.num_inputs && !d.input_names))
    fail(MX_ERR_INVALID_ARGUMENT, who(*e), ": bad inputs (", d.num_inputs, ")");
  if (d.num_outputs < 1 || d.num_outputs > 1024) fail(MX_ERR_INVALID_ARGUMENT, who(*e), ": bad output count ", d.num_outputs);
  if (d.num_params < 0 || (d.num_params && !d.params)) fail(MX_ERR_INVALID_ARGUMENT, who(*e), ": bad params");
  if (!d.infer_shape) fail(MX_ERR_INVALID_ARGUMENT, who(*e), ": infer_shape is required");
  if (!d.cpu_kernel && !d.cuda_kernel) fail(MX_ERR_INVALID_ARGUMENT, who(*e), ": no kernel for any device");

  op::OpSchema s;
  s.name = d.name;
  s.doc = d.doc ? d.doc : "";
  for (int32_t i = 0; i < d.num_inputs; ++i) {
    if (!d.input_names[i]) fail(MX_ERR_INVALID_ARGUMENT, who(*e), ": input ", i, " has no name");
    s.inputs.push_back(d.input_names[i]);
  }
  s.num_outputs = d.num_outputs;
  // Strings the core keeps (the definition's may be a binding's temporaries).
  for (int32_t i = 0; i < d.num_params; ++i) {
    if (!d.params[i]) fail(MX_ERR_INVALID_ARGUMENT, who(*e), ": param ", i, " is NULL");
    s.params.push_back(param_of(*e, *d.params[i]));
  }
  e->kernels.reserve(2);
  for (auto [type, k] : {std::pair{MX_DEVICE_CPU, d.cpu_kernel}, std::pair{MX_DEVICE_GPU, d.cuda_kernel}}) {
    if (!k) continue;
    mx_kernel kc = clamped_copy(k);
    if (!kc.run) fail(MX_ERR_INVALID_ARGUMENT, who(*e), ": a kernel without run()");
    e->kernels.push_back(kc);
    s.own_kernels.emplace_back(type, &e->kernels.back());
  }
  s.kernel_owner = owner;

  s.infer_shape = [e](const op::InferArgs& a, std::vector<Shape>& out) {
    InferCall c(*e, a);
    call_checked(*e, "infer_shape", [&] { return e->def.infer_shape(e->def.user, &c.args); });
    out.clear();
    for (size_t i = 0; i < c.out_ndims.size(); ++i) {
      const int32_t nd = c.out_ndims[i];
      if (nd < 0 || nd > MX_EXT_MAX_NDIM)
        fail(MX_ERR_INTERNAL, who(*e), ": infer_shape gave output ", i, " ", nd, " dims (0..", MX_EXT_MAX_NDIM, ")");
      out.emplace_back(c.out_dims[i].data(), c.out_dims[i].data() + nd);
    }
  };
  s.infer_type = [e](const op::InferArgs& a, std::vector<int32_t>& out) {
    InferCall c(*e, a);
    if (e->def.infer_dtype) call_checked(*e, "infer_dtype", [&] { return e->def.infer_dtype(e->def.user, &c.args); });
    out = c.out_dtypes;
  };
  if (d.gradient)
    s.gradient = [e](const op::GradArgs& a) {
      AttrView attrs(a.attrs);
      GradBridge bridge{&a.g, nullptr};
      mx_ext_grad_builder builder{sizeof(mx_ext_grad_builder), &bridge, &GradBridge::call, &GradBridge::call_all};
      std::vector<int32_t> in_grads(a.inputs.size(), MX_EXT_NO_GRAD);
      mx_ext_grad_args ga{};
      ga.struct_size = sizeof(ga);
      ga.builder = &builder;
      ga.num_attrs = int32_t(attrs.keys.size());
      ga.attr_keys = attrs.keys.data();
      ga.attr_vals = attrs.vals.data();
      ga.num_inputs = int32_t(a.inputs.size());
      ga.inputs = a.inputs.data();
      ga.num_outputs = int32_t(a.outputs.size());
      ga.outputs = a.outputs.data();
      ga.out_grads = a.out_grads.data();
      ga.in_grads = in_grads.data();
      call_checked(*e, "gradient", [&] {
        const int rc = e->def.gradient(e->def.user, &ga);
        if (bridge.error) throw Error(bridge.error->code(), str_cat(who(*e), ": gradient: ", bridge.error->what()));
        return rc;
      });
      // Every value must be one the builder knows (inputs, outputs, gradients, emitted calls).
      const int32_t known = int32_t(a.g.num_values());
      for (size_t i = 0; i < in_grads.size(); ++i)
        if (in_grads[i] != MX_EXT_NO_GRAD && (in_grads[i] < 0 || in_grads[i] >= known))
          fail(MX_ERR_INTERNAL, who(*e), ": gradient gave input ", i, " the unknown value ", in_grads[i]);
      std::vector<op::GradValue> out(in_grads.begin(), in_grads.end());
      return out;
    };
  return s;
}

}  // namespace

std::vector<std::string> load_library(const std::string& path_in) {
  static std::mutex mu;
  static auto* loaded = new std::set<std::string>();
  std::lock_guard<std::mutex> lk(mu);
  std::error_code ec;
  const fs::path canon = fs::weakly_canonical(fs::path(path_in), ec);
  const std::string path = ec ? path_in : canon.string();
  if (!fs::exists(path, ec)) fail(MX_ERR_NOT_FOUND, "mx_library_load: ", path_in, ": no such file");
  if (loaded->count(path)) fail(MX_ERR_INVALID_ARGUMENT, "mx_library_load: ", path, " is already loaded");

  std::shared_ptr<boost::dll::shared_library> lib;
  try {
    lib = std::make_shared<boost::dll::shared_library>(
        path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    fail(MX_ERR_IO, "mx_library_load: ", path, ": cannot be opened: ", e.what());
  }
  if (!lib->has(MX_EXT_ENTRY_SYMBOL))
    fail(MX_ERR_INVALID_ARGUMENT, "mx_library_load: ", path, ": the entry symbol " MX_EXT_ENTRY_SYMBOL
         " is not exported (not an mx extension library)");
  auto& init = lib->get<int(const mx_ext_host*, mx_ext_library*)>(MX_EXT_ENTRY_SYMBOL);
  // Once its code has run, the library stays mapped whatever happens next (it may have started
  // threads or registered destructors).
  new std::shared_ptr<boost::dll::shared_library>(lib);
  const mx_ext_host host{sizeof(mx_ext_host), MX_EXT_ABI_MAJOR, MX_EXT_ABI_MINOR, host_api()};
  mx_ext_library out{};
  out.struct_size = sizeof(out);
  take_backend_error(nullptr);
  int rc;
  try {
    rc = init(&host, &out);
  } catch (...) {
    fail(MX_ERR_INTERNAL, "mx_library_load: ", path, ": " MX_EXT_ENTRY_SYMBOL " threw");
  }
  const mx_ext_library info = clamped_copy(&out);
  if (info.abi_major != MX_EXT_ABI_MAJOR)
    fail(MX_ERR_UNSUPPORTED, "mx_library_load: ", path, " was built for extension ABI ", info.abi_major, ".",
         info.abi_minor, "; this mx speaks ", MX_EXT_ABI_MAJOR, ".", MX_EXT_ABI_MINOR);
  if (rc != 0) {
    std::string msg;
    const int32_t code = take_backend_error(&msg);
    fail(code == MX_ERR_OK ? MX_ERR_INTERNAL : code, "mx_library_load: ", path, ": " MX_EXT_ENTRY_SYMBOL " failed: ",
         msg.empty() ? "no reason given" : msg);
  }
  if (!has_field(info, &mx_ext_library::ops) || info.num_ops < 0 || (info.num_ops && !info.ops))
    fail(MX_ERR_INVALID_ARGUMENT, "mx_library_load: ", path, ": the library's op table is malformed");
  const std::string owner = info.name && *info.name ? std::string(info.name) : fs::path(path).filename().string();
  std::vector<op::OpSchema> schemas;
  std::vector<std::string> names;
  try {
    for (int32_t i = 0; i < info.num_ops; ++i) {
      if (!info.ops[i]) fail(MX_ERR_INVALID_ARGUMENT, "op ", i, " is NULL");
      schemas.push_back(schema_of(*info.ops[i], owner));
      names.push_back(schemas.back().name);
    }
    op::registry().add_runtime(std::move(schemas));
  } catch (const Error& e) {
    fail(e.code(), "mx_library_load: ", path, ": ", e.what(), " (no op of the library was registered)");
  }
  loaded->insert(path);
  return names;
}

void register_custom_op(const mx_ext_op& def, const std::string& owner) {
  std::vector<op::OpSchema> one;
  one.push_back(schema_of(def, owner));
  op::registry().add_runtime(std::move(one));
}

}  // namespace mx::plugin
