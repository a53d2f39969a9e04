// The C API of symbols: construction, queries, attributes and JSON.
#include <cerrno>
#include <map>
#include <optional>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/dtype.h"
#include "base/partial_shape.h"
#include "c_api/border.h"
#include "c_api/handles.h"
#include "io/file.h"
#include "symbol/infer.h"
#include "symbol/symbol.h"

using namespace mx::capi;

namespace {

thread_local std::vector<std::string> t_names;
thread_local std::vector<const char*> t_name_ptrs;
thread_local std::string t_text;

// Hands a list of strings to the caller through the thread-local buffers.
void give(std::vector<std::string> names, uint32_t* out_num, const char*** out_names, const char* fn) {
  need(out_num, fn, "out_num");
  need(out_names, fn, "out_names");
  t_names = std::move(names);
  t_name_ptrs.clear();
  for (const auto& n : t_names) t_name_ptrs.push_back(n.c_str());
  *out_num = uint32_t(t_names.size());
  *out_names = t_name_ptrs.data();
}

mx_symbol_t wrap(mx::sym::Symbol s) { return issue(mx_symbol{std::move(s)}); }

// Thread-local result arrays of infer_shape: one group per category (arguments, outputs, aux).
struct ShapeGroup {
  std::vector<int32_t> ndims;
  std::vector<mx::Shape> shapes;
  std::vector<const int64_t*> ptrs;
  // Partial shapes as the C API gives them: 0 for an unknown dim, ndim -1 for an unknown shape.
  void fill(const std::vector<std::optional<mx::Shape>>& v) {
    ndims.clear(), shapes.clear(), ptrs.clear();
    for (const auto& s : v) {
      ndims.push_back(s ? int32_t(s->size()) : -1);
      shapes.push_back(s ? mx::unknown_zeros(*s) : mx::Shape{});
    }
    for (const auto& s : shapes) ptrs.push_back(s.data());
  }
};
thread_local ShapeGroup t_shape_groups[3];
thread_local std::vector<int32_t> t_type_groups[3];

}  // namespace

std::map<std::string, mx::Shape> mx::capi::known_shapes(const char* fn, uint32_t num, const char** keys,
                                                       const uint32_t* ndims, const int64_t* dims,
                                                       bool zero_is_unknown) {
  if (num) {
    need(keys, fn, "keys");
    need(ndims, fn, "ndims");
  }
  std::map<std::string, mx::Shape> known;
  size_t at = 0;
  for (uint32_t i = 0; i < num; ++i) {
    need(keys[i], fn, "keys[i]");
    if (ndims[i] > mx::kMaxNdim)
      mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": shape of '", keys[i], "' has ", ndims[i], " dims; at most ", mx::kMaxNdim,
               " are supported");
    if (ndims[i]) need(dims, fn, "dims");
    mx::Shape& s = known[keys[i]] = mx::Shape(dims + at, dims + at + ndims[i]);
    at += ndims[i];
    if (zero_is_unknown) {
      mx::check_shape(s, std::string(fn) + ": shape of '" + keys[i] + "'");
      s = mx::zeros_unknown(std::move(s));
    }
  }
  return known;
}

extern "C" {

int mx_symbol_create_variable(const char* name, mx_symbol_t* out) {
  API_BEGIN();
  need(name, "mx_symbol_create_variable", "name");
  need(out, "mx_symbol_create_variable", "out");
  *out = wrap(mx::sym::Symbol::variable(name));
  API_END();
}

int mx_symbol_create_atomic(const char* op_name, uint32_t num_params, const char** keys, const char** vals,
                            mx_symbol_t* out) {
  API_BEGIN();
  need(op_name, "mx_symbol_create_atomic", "op_name");
  need(out, "mx_symbol_create_atomic", "out");
  *out = wrap(mx::sym::Symbol::atomic(op_name, int(num_params), keys, vals));
  API_END();
}

int mx_symbol_compose(mx_symbol_t sym, const char* name, uint32_t num_args, const char** keys, const mx_symbol_t* args) {
  API_BEGIN();
  mx::sym::Symbol& target = deref(sym, "mx_symbol_compose").s;
  if (num_args) need(args, "mx_symbol_compose", "args");
  std::vector<mx::sym::Symbol> positional;
  std::vector<std::pair<std::string, mx::sym::Symbol>> named;
  for (uint32_t i = 0; i < num_args; ++i) {
    const mx::sym::Symbol& a = sym_of(args[i], "mx_symbol_compose");
    if (keys) {
      need(keys[i], "mx_symbol_compose", "keys[i]");
      named.emplace_back(keys[i], a);
    } else {
      positional.push_back(a);
    }
  }
  target.compose(name ? name : "", positional, named);
  API_END();
}

int mx_symbol_create_group(uint32_t num, const mx_symbol_t* symbols, mx_symbol_t* out) {
  API_BEGIN();
  need(out, "mx_symbol_create_group", "out");
  if (num) need(symbols, "mx_symbol_create_group", "symbols");
  std::vector<mx::sym::Symbol> parts;
  for (uint32_t i = 0; i < num; ++i) parts.push_back(sym_of(symbols[i], "mx_symbol_create_group"));
  *out = wrap(mx::sym::Symbol::group(parts));
  API_END();
}

int mx_symbol_copy(mx_symbol_t sym, mx_symbol_t* out) {
  API_BEGIN();
  need(out, "mx_symbol_copy", "out");
  // A deep copy through JSON: the copy shares no node with the original.
  *out = wrap(mx::sym::Symbol::from_json(sym_of(sym, "mx_symbol_copy").to_json()));
  API_END();
}

int mx_symbol_free(mx_symbol_t sym) {
  API_BEGIN();
  release(sym, "mx_symbol_free");
  API_END();
}

int mx_symbol_list_arguments(mx_symbol_t sym, uint32_t* out_num, const char*** out_names) {
  API_BEGIN();
  give(sym_of(sym, "mx_symbol_list_arguments").list_arguments(), out_num, out_names, "mx_symbol_list_arguments");
  API_END();
}

int mx_symbol_list_outputs(mx_symbol_t sym, uint32_t* out_num, const char*** out_names) {
  API_BEGIN();
  give(sym_of(sym, "mx_symbol_list_outputs").list_outputs(), out_num, out_names, "mx_symbol_list_outputs");
  API_END();
}

int mx_symbol_list_auxiliary_states(mx_symbol_t sym, uint32_t* out_num, const char*** out_names) {
  API_BEGIN();
  give(sym_of(sym, "mx_symbol_list_auxiliary_states").list_auxiliary_states(), out_num, out_names,
       "mx_symbol_list_auxiliary_states");
  API_END();
}

int mx_symbol_list_inputs(mx_symbol_t sym, uint32_t* out_num, const char*** out_names) {
  API_BEGIN();
  give(sym_of(sym, "mx_symbol_list_inputs").list_inputs(), out_num, out_names, "mx_symbol_list_inputs");
  API_END();
}

int mx_symbol_get_internals(mx_symbol_t sym, mx_symbol_t* out) {
  API_BEGIN();
  need(out, "mx_symbol_get_internals", "out");
  *out = wrap(sym_of(sym, "mx_symbol_get_internals").get_internals());
  API_END();
}

int mx_symbol_get_children(mx_symbol_t sym, mx_symbol_t* out) {
  API_BEGIN();
  need(out, "mx_symbol_get_children", "out");
  *out = wrap(sym_of(sym, "mx_symbol_get_children").get_children());
  API_END();
}

int mx_symbol_get_output(mx_symbol_t sym, uint32_t index, mx_symbol_t* out) {
  API_BEGIN();
  need(out, "mx_symbol_get_output", "out");
  *out = wrap(sym_of(sym, "mx_symbol_get_output").get_output(index));
  API_END();
}

int mx_symbol_get_num_outputs(mx_symbol_t sym, uint32_t* out) {
  API_BEGIN();
  need(out, "mx_symbol_get_num_outputs", "out");
  *out = uint32_t(sym_of(sym, "mx_symbol_get_num_outputs").outputs.size());
  API_END();
}

int mx_symbol_get_name(mx_symbol_t sym, const char** out_name, int32_t* out_success) {
  API_BEGIN();
  need(out_name, "mx_symbol_get_name", "out_name");
  need(out_success, "mx_symbol_get_name", "out_success");
  const mx::sym::Symbol& s = sym_of(sym, "mx_symbol_get_name");
  t_text = s.name();
  *out_name = t_text.c_str();
  *out_success = s.outputs.size() == 1 ? 1 : 0;
  API_END();
}

int mx_symbol_set_attr(mx_symbol_t sym, const char* key, const char* value) {
  API_BEGIN();
  mx::sym::Symbol& target = deref(sym, "mx_symbol_set_attr").s;
  need(key, "mx_symbol_set_attr", "key");
  need(value, "mx_symbol_set_attr", "value");
  target.set_attr(key, value);
  API_END();
}

int mx_symbol_get_attr(mx_symbol_t sym, const char* key, const char** out_value, int32_t* out_found) {
  API_BEGIN();
  need(key, "mx_symbol_get_attr", "key");
  need(out_value, "mx_symbol_get_attr", "out_value");
  need(out_found, "mx_symbol_get_attr", "out_found");
  const bool found = sym_of(sym, "mx_symbol_get_attr").get_attr(key, t_text);
  if (!found) t_text.clear();
  *out_value = t_text.c_str();
  *out_found = found ? 1 : 0;
  API_END();
}

int mx_symbol_list_attr(mx_symbol_t sym, uint32_t* out_num, const char*** out_kv) {
  API_BEGIN();
  std::vector<std::string> kv;
  for (const auto& [k, v] : sym_of(sym, "mx_symbol_list_attr").list_attr()) {
    kv.push_back(k);
    kv.push_back(v);
  }
  give(std::move(kv), out_num, out_kv, "mx_symbol_list_attr");
  *out_num /= 2;
  API_END();
}

int mx_symbol_infer_shape(mx_symbol_t sym, uint32_t num_known, const char** keys, const uint32_t* ndims,
                          const int64_t* dims, int32_t partial, uint32_t* out_num_args, const int32_t** out_arg_ndims,
                          const int64_t* const** out_arg_dims, uint32_t* out_num_outputs,
                          const int32_t** out_output_ndims, const int64_t* const** out_output_dims,
                          uint32_t* out_num_aux, const int32_t** out_aux_ndims, const int64_t* const** out_aux_dims,
                          int32_t* out_complete) {
  API_BEGIN();
  const char* fn = "mx_symbol_infer_shape";
  const mx::sym::Symbol& s = sym_of(sym, fn);
  for (void* p : {static_cast<void*>(out_num_args), static_cast<void*>(out_arg_ndims), static_cast<void*>(out_arg_dims),
                  static_cast<void*>(out_num_outputs), static_cast<void*>(out_output_ndims),
                  static_cast<void*>(out_output_dims), static_cast<void*>(out_num_aux), static_cast<void*>(out_aux_ndims),
                  static_cast<void*>(out_aux_dims), static_cast<void*>(out_complete)})
    need(p, fn, "an output pointer");
  const auto known = known_shapes(fn, num_known, keys, ndims, dims, /*zero_is_unknown=*/true);
  const auto r = mx::sym::infer_shapes(s, known, partial != 0);
  t_shape_groups[0].fill(r.partial_arguments);
  t_shape_groups[1].fill(r.partial_outputs);
  t_shape_groups[2].fill(r.partial_aux);
  *out_num_args = uint32_t(r.arguments.size());
  *out_arg_ndims = t_shape_groups[0].ndims.data();
  *out_arg_dims = t_shape_groups[0].ptrs.data();
  *out_num_outputs = uint32_t(r.outputs.size());
  *out_output_ndims = t_shape_groups[1].ndims.data();
  *out_output_dims = t_shape_groups[1].ptrs.data();
  *out_num_aux = uint32_t(r.aux.size());
  *out_aux_ndims = t_shape_groups[2].ndims.data();
  *out_aux_dims = t_shape_groups[2].ptrs.data();
  *out_complete = r.complete ? 1 : 0;
  API_END();
}

int mx_symbol_infer_type(mx_symbol_t sym, uint32_t num_known, const char** keys, const int32_t* dtypes, int32_t partial,
                         uint32_t* out_num_args, const int32_t** out_arg_types, uint32_t* out_num_outputs,
                         const int32_t** out_output_types, uint32_t* out_num_aux, const int32_t** out_aux_types,
                         int32_t* out_complete) {
  API_BEGIN();
  const char* fn = "mx_symbol_infer_type";
  const mx::sym::Symbol& s = sym_of(sym, fn);
  if (num_known) {
    need(keys, fn, "keys");
    need(dtypes, fn, "dtypes");
  }
  for (void* p : {static_cast<void*>(out_num_args), static_cast<void*>(out_arg_types), static_cast<void*>(out_num_outputs),
                  static_cast<void*>(out_output_types), static_cast<void*>(out_num_aux), static_cast<void*>(out_aux_types),
                  static_cast<void*>(out_complete)})
    need(p, fn, "an output pointer");
  std::map<std::string, int32_t> known;
  for (uint32_t i = 0; i < num_known; ++i) {
    need(keys[i], fn, "keys[i]");
    mx::dtype_info(dtypes[i]);  // validates the flag
    known[keys[i]] = dtypes[i];
  }
  const auto r = mx::sym::infer_types(s, known, partial != 0);
  const std::vector<std::optional<int32_t>>* groups[3] = {&r.arguments, &r.outputs, &r.aux};
  for (int g = 0; g < 3; ++g) {
    t_type_groups[g].clear();
    for (const auto& v : *groups[g]) t_type_groups[g].push_back(v ? *v : -1);
  }
  *out_num_args = uint32_t(r.arguments.size());
  *out_arg_types = t_type_groups[0].data();
  *out_num_outputs = uint32_t(r.outputs.size());
  *out_output_types = t_type_groups[1].data();
  *out_num_aux = uint32_t(r.aux.size());
  *out_aux_types = t_type_groups[2].data();
  *out_complete = r.complete ? 1 : 0;
  API_END();
}

int mx_symbol_to_json(mx_symbol_t sym, const char** out_json) {
  API_BEGIN();
  need(out_json, "mx_symbol_to_json", "out_json");
  t_text = sym_of(sym, "mx_symbol_to_json").to_json();
  *out_json = t_text.c_str();
  API_END();
}

int mx_symbol_from_json(const char* json, mx_symbol_t* out) {
  API_BEGIN();
  need(json, "mx_symbol_from_json", "json");
  need(out, "mx_symbol_from_json", "out");
  *out = wrap(mx::sym::Symbol::from_json(json));
  API_END();
}

int mx_symbol_save(mx_symbol_t sym, const char* path) {
  API_BEGIN();
  need(path, "mx_symbol_save", "path");
  const std::string text = sym_of(sym, "mx_symbol_save").to_json();
  mx::io::write_file_atomic(path, "mx_symbol_save", text);  // never torn: checkpoints resume from it
  API_END();
}

int mx_symbol_load(const char* path, mx_symbol_t* out) {
  API_BEGIN();
  need(path, "mx_symbol_load", "path");
  need(out, "mx_symbol_load", "out");
  std::ifstream f(path);
  if (!f) mx::fail(MX_ERR_NOT_FOUND, "mx_symbol_load: cannot open ", path, ": ", std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    *out = wrap(mx::sym::Symbol::from_json(ss.str()));
  } catch (const mx::Error& e) {
    mx::fail(e.code(), path, ": ", e.what());
  }
  API_END();
}

}  // extern "C"
