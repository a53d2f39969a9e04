// The C API's operator registry side: listing ops, their schemas and which plugin runs each,
// and ops added at run time (extension libraries, custom ops from bindings). Calling ops is
// mx_imperative_invoke in c_api.cc.
#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "c_api/border.h"
#include "mx/c_api.h"
#include "mx/extension.h"
#include "op/schema.h"
#include "plugin/extension.h"
#include "plugin/kernel_choice.h"
#include "plugin/registry.h"

using namespace mx::capi;

int mx_op_list(uint32_t* out_num, const char*** out_names) {
  API_BEGIN();
  need(out_num, "mx_op_list", "out_num");
  need(out_names, "mx_op_list", "out_names");
  // Rebuilt when libraries add ops; earlier lists and every name stay alive (callers may hold them).
  static std::mutex mu;
  static auto* interned = new std::unordered_map<std::string, std::unique_ptr<std::string>>();
  static auto* lists = new std::vector<std::unique_ptr<std::vector<const char*>>>();
  std::lock_guard<std::mutex> lk(mu);
  const std::vector<std::string> now = mx::op::registry().names();  // ops are only ever added
  if (lists->empty() || lists->back()->size() < now.size()) {
    auto v = std::make_unique<std::vector<const char*>>();
    for (const auto& n : now) {
      auto& slot = (*interned)[n];
      if (!slot) slot = std::make_unique<std::string>(n);
      v->push_back(slot->c_str());
    }
    lists->push_back(std::move(v));
  }
  *out_num = uint32_t(lists->back()->size());
  *out_names = const_cast<const char**>(lists->back()->data());
  API_END();
}

// ---------------------------------------------------------------- op info

namespace {

// Per-op info built once and kept for the life of the library.
struct OpInfoStore {
  std::vector<std::unique_ptr<std::string>> strings;
  std::vector<const char*> inputs, names, types, defaults, docs;
  // Backend names in priority order, rebuilt when a priority changes; earlier lists stay alive
  // (callers may hold them: op info lives as long as the library).
  std::vector<std::unique_ptr<std::vector<const char*>>> backend_lists;
  uint32_t generation = ~0u;
  mx_op_info info{};
};

}  // namespace

int mx_op_get_info(const char* op_name, mx_op_info* out) {
  API_BEGIN();
  need(op_name, "mx_op_get_info", "op_name");
  need(out, "mx_op_get_info", "out");
  mx::plugin::runtime_init();
  const mx::op::OpSchema& op = mx::op::registry().get(op_name);
  static std::mutex mu;
  static auto* store = new std::unordered_map<const mx::op::OpSchema*, std::unique_ptr<OpInfoStore>>();
  std::lock_guard<std::mutex> lk(mu);
  auto& slot = (*store)[&op];
  if (!slot) {
    auto st = std::make_unique<OpInfoStore>();
    for (auto& n : op.inputs) st->inputs.push_back(n.c_str());
    for (auto& p : op.params) {
      st->names.push_back(p.name.c_str());
      st->types.push_back(param_type_name(p, st->strings));
      st->defaults.push_back(p.default_value.c_str());
      st->docs.push_back(p.doc.c_str());
    }
    mx_op_info& i = st->info;
    i.struct_size = sizeof(i);
    i.name = op.name.c_str();
    i.doc = op.doc.c_str();
    i.num_inputs = uint32_t(st->inputs.size());
    i.input_names = st->inputs.data();
    i.num_outputs = op.num_outputs;
    i.num_params = uint32_t(st->names.size());
    i.param_names = st->names.data();
    i.param_types = st->types.data();
    i.param_defaults = st->defaults.data();
    i.param_docs = st->docs.data();
    i.has_gradient = op.gradient ? 1 : 0;
    slot = std::move(st);
  }
  const uint32_t generation = mx::plugin::registry().priority_generation();
  if (slot->generation != generation) {
    // Every plugin with a kernel, highest priority first, per device type in the order the
    // backends were loaded; an extension op's own kernels name its library.
    auto list = std::make_unique<std::vector<const char*>>();
    std::vector<int32_t> types;
    for (const mx::plugin::Backend* b : mx::plugin::registry().backends())
      if (b->usable() && std::find(types.begin(), types.end(), b->device_type) == types.end())
        types.push_back(b->device_type);
    for (int32_t t : types)
      for (const mx::plugin::KernelCandidate& c : mx::plugin::kernel_candidates(op, mx::Device{t, 0}))
        if (std::find(list->begin(), list->end(), c.name) == list->end()) list->push_back(c.name);
    slot->info.num_backends = uint32_t(list->size());
    slot->info.backends = list->data();
    slot->backend_lists.push_back(std::move(list));
    slot->generation = generation;
  }
  write_sized(out, slot->info, "mx_op_get_info");
  API_END();
}

int mx_op_get_backend(const char* op_name, int32_t device_type, const char** out_name) {
  API_BEGIN();
  need(op_name, "mx_op_get_backend", "op_name");
  need(out_name, "mx_op_get_backend", "out_name");
  mx::plugin::runtime_init();
  const mx::op::OpSchema& op = mx::op::registry().get(op_name);
  const auto candidates = mx::plugin::kernel_candidates(op, mx::Device{device_type, 0});
  if (candidates.empty())
    mx::fail(MX_ERR_UNSUPPORTED, op.name, ": no loaded backend has a kernel for it on device type ", device_type);
  *out_name = candidates.front().name;  // backend and library names live as long as the library
  API_END();
}

// ---------------------------------------------------------------- extensions

int mx_library_load(const char* path, uint32_t* out_num_ops, const char*** out_names) {
  API_BEGIN();
  need(path, "mx_library_load", "path");
  mx::plugin::runtime_init();
  const std::vector<std::string> names = mx::plugin::load_library(path);
  thread_local std::vector<std::string> t_lib_names;
  thread_local std::vector<const char*> t_lib_ptrs;
  t_lib_names = names;
  t_lib_ptrs.clear();
  for (auto& n : t_lib_names) t_lib_ptrs.push_back(n.c_str());
  if (out_num_ops) *out_num_ops = uint32_t(t_lib_ptrs.size());
  if (out_names) *out_names = t_lib_ptrs.data();
  API_END();
}

int mx_custom_op_register(const struct mx_ext_op* op, const char* owner) {
  API_BEGIN();
  need(op, "mx_custom_op_register", "op");
  mx::plugin::runtime_init();
  mx::plugin::register_custom_op(*op, owner && *owner ? owner : "custom op");
  API_END();
}

int mx_custom_op_set_error(int32_t code, const char* message) {
  API_BEGIN();
  mx::plugin::host_api()->set_error(code, message ? message : "");
  API_END();
}
