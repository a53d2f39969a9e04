// The C API of autograd: recording / training switches, marking variables, backward and grad,
// gradient buffers and their fresh flag, user functions on the tape (mx.autograd.Function) and the
// recorded graph as a symbol.
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "c_api/border.h"
#include "c_api/handles.h"
#include "ndarray/autograd.h"
#include "plugin/registry.h"

using namespace mx::capi;

namespace {

// mx_autograd_grad's returned handles ("valid until the next call on this thread").
thread_local std::vector<mx_ndarray_t> t_grads;

}  // namespace

extern "C" {

// ---------------------------------------------------------------- autograd

int mx_autograd_set_recording(int32_t on, int32_t* prev) {
  API_BEGIN();
  const bool was = mx::autograd::set_recording(on != 0);
  if (prev) *prev = was;
  API_END();
}

int mx_autograd_set_training(int32_t on, int32_t* prev) {
  API_BEGIN();
  const bool was = mx::autograd::set_training(on != 0);
  if (prev) *prev = was;
  API_END();
}

int mx_autograd_is_recording(int32_t* out) {
  API_BEGIN();
  need(out, "mx_autograd_is_recording", "out");
  *out = mx::autograd::is_recording();
  API_END();
}

int mx_autograd_is_training(int32_t* out) {
  API_BEGIN();
  need(out, "mx_autograd_is_training", "out");
  *out = mx::autograd::is_training();
  API_END();
}

int mx_autograd_mark_variables(uint32_t num, const mx_ndarray_t* vars, const int32_t* reqs, const mx_ndarray_t* grads) {
  API_BEGIN();
  if (num) {
    need(vars, "mx_autograd_mark_variables", "vars");
    need(reqs, "mx_autograd_mark_variables", "grad_reqs");
    need(grads, "mx_autograd_mark_variables", "grads");
  }
  std::vector<mx::NDArray*> v;
  std::vector<mx::NDArray> g;
  for (uint32_t i = 0; i < num; ++i) {
    need(vars[i], "mx_autograd_mark_variables", "variable");
    v.push_back(&arr_at(vars[i], "mx_autograd_mark_variables", "variable", i));
    if (reqs[i] != MX_GRAD_NULL) need(grads[i], "mx_autograd_mark_variables", "gradient buffer");
    g.push_back(grads[i] ? arr_at(grads[i], "mx_autograd_mark_variables", "gradient buffer", i) : mx::NDArray());
  }
  mx::autograd::mark_variables(v, std::span<const int32_t>(reqs, num), g);
  API_END();
}

namespace {

void collect(uint32_t n, const mx_ndarray_t* heads, const mx_ndarray_t* head_grads, std::vector<mx::NDArray>& h,
             std::vector<mx::NDArray>& hg, const char* fn) {
  if (n) need(heads, fn, "heads");
  for (uint32_t i = 0; i < n; ++i) {
    h.push_back(arr_at(heads[i], fn, "head", i));
    if (head_grads) hg.push_back(head_grads[i] ? arr_at(head_grads[i], fn, "head gradient", i) : mx::NDArray());
  }
}

}  // namespace

int mx_autograd_backward(uint32_t num_heads, const mx_ndarray_t* heads, const mx_ndarray_t* head_grads,
                         int32_t retain_graph, int32_t create_graph, int32_t is_training) {
  API_BEGIN();
  std::vector<mx::NDArray> h, hg;
  collect(num_heads, heads, head_grads, h, hg, "mx_autograd_backward");
  mx::autograd::backward(h, hg, retain_graph != 0, create_graph != 0, is_training != 0);
  API_END();
}

int mx_autograd_grad(uint32_t num_heads, const mx_ndarray_t* heads, const mx_ndarray_t* head_grads, uint32_t num_vars,
                     const mx_ndarray_t* vars, int32_t retain_graph, int32_t create_graph, int32_t is_training,
                     mx_ndarray_t** out_grads) {
  API_BEGIN();
  need(out_grads, "mx_autograd_grad", "out_grads");
  std::vector<mx::NDArray> h, hg, v;
  collect(num_heads, heads, head_grads, h, hg, "mx_autograd_grad");
  if (num_vars) need(vars, "mx_autograd_grad", "vars");
  for (uint32_t i = 0; i < num_vars; ++i) v.push_back(arr_at(vars[i], "mx_autograd_grad", "variable", i));
  auto grads = mx::autograd::grad(h, hg, v, retain_graph != 0, create_graph != 0, is_training != 0);
  t_grads.clear();
  for (auto& g : grads) t_grads.push_back(wrap(std::move(g)));
  *out_grads = t_grads.data();
  API_END();
}

int mx_ndarray_get_grad(mx_ndarray_t h, mx_ndarray_t* out) {
  API_BEGIN();
  need(out, "mx_ndarray_get_grad", "out");
  const auto& e = arr_of(h, "mx_ndarray_get_grad").ag_entry();
  *out = e.node && e.node->is_variable() && e.node->grad.defined() ? wrap(e.node->grad) : nullptr;
  API_END();
}

int mx_ndarray_fresh_grad(mx_ndarray_t h, int32_t set, int32_t* out) {
  API_BEGIN();
  const mx::NDArray& a = arr_of(h, "mx_ndarray_fresh_grad");
  mx::autograd::Node* node = a.ag_entry().node.get();
  if (set < 0) {
    need(out, "mx_ndarray_fresh_grad", "out");
    *out = node && node->fresh_grad;
  } else {
    if (!node)
      mx::fail(MX_ERR_INVALID_ARGUMENT, "mx_ndarray_fresh_grad: the array ", mx::shape_str(a.shape()),
               " is not on the autograd tape and has no gradient state (attach_grad first)");
    if (out) *out = node->fresh_grad;
    node->fresh_grad = set != 0;
  }
  API_END();
}

namespace {

// A user function (mx_autograd_record_function): its C callbacks behind the tape's hook. The
// destructor hands user_data back, whenever and wherever the node goes.
class CFunctionHook final : public mx::autograd::FunctionHook {
 public:
  CFunctionHook(mx_autograd_function_backward bwd, mx_autograd_function_free del, void* user_data, uint32_t num_inputs)
      : bwd_(bwd), del_(del), user_data_(user_data), num_inputs_(num_inputs) {}
  ~CFunctionHook() override {
    if (del_) del_(user_data_);
  }
  CFunctionHook(const CFunctionHook&) = delete;
  CFunctionHook& operator=(const CFunctionHook&) = delete;

  std::vector<mx::NDArray> backward(std::span<const mx::NDArray> out_grads) override {
    // The output gradients' handles become the callee's once it is called; the input gradients'
    // are freed here however the call ends (a stale or repeated handle the callee wrote is an
    // error of mx_ndarray_free, never a crash).
    struct Handles {
      std::vector<mx_ndarray_t> ograds, igrads;
      ~Handles() {
        for (mx_ndarray_t h : ograds) mx_ndarray_free(h);
        for (mx_ndarray_t h : igrads) mx_ndarray_free(h);
      }
    } h;
    for (const mx::NDArray& g : out_grads) h.ograds.push_back(wrap(g));
    h.igrads.assign(num_inputs_, nullptr);
    mx::plugin::take_backend_error(nullptr);
    const std::vector<mx_ndarray_t> ograds = std::move(h.ograds);
    if (bwd_(uint32_t(ograds.size()), ograds.data(), num_inputs_, h.igrads.data(), user_data_) != 0) {
      std::string why;
      int32_t code = mx::plugin::take_backend_error(&why);
      mx::fail(code == MX_ERR_OK ? MX_ERR_INTERNAL : code, "backward: autograd.Function's backward failed: ",
               why.empty() ? "no reason given (call mx_custom_op_set_error before returning -1)" : why);
    }
    std::vector<mx::NDArray> grads;
    for (uint32_t i = 0; i < num_inputs_; ++i)
      grads.push_back(h.igrads[i] ? arr_at(h.igrads[i], "autograd.Function backward", "input gradient", i)
                                  : mx::NDArray());
    return grads;
  }

 private:
  mx_autograd_function_backward bwd_;
  mx_autograd_function_free del_;
  void* user_data_;
  uint32_t num_inputs_;
};

}  // namespace

int mx_autograd_record_function(uint32_t num_inputs, const mx_ndarray_t* inputs, uint32_t num_outputs,
                                const mx_ndarray_t* outputs, mx_autograd_function_backward bwd,
                                mx_autograd_function_free del, void* user_data) {
  // user_data is ours from here: the hook releases it, with the node or when this call returns
  // without recording one.
  std::shared_ptr<CFunctionHook> hook;
  try {
    hook = std::make_shared<CFunctionHook>(bwd, del, user_data, num_inputs);
  } catch (...) {
    if (del) del(user_data);
    return set_error(MX_ERR_OUT_OF_MEMORY, "host out of memory");
  }
  API_BEGIN();
  const char* fn = "mx_autograd_record_function";
  if (!bwd) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": backward callback is NULL");
  if (num_inputs) need(inputs, fn, "inputs");
  if (!num_outputs) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": a function needs at least one output");
  need(outputs, fn, "outputs");
  std::vector<const mx::NDArray*> in;
  std::vector<mx::NDArray*> out;
  for (uint32_t i = 0; i < num_inputs; ++i) in.push_back(&arr_at(inputs[i], fn, "input", i));
  for (uint32_t i = 0; i < num_outputs; ++i) out.push_back(&arr_at(outputs[i], fn, "output", i));
  mx::autograd::record_function(in, out, std::move(hook));
  API_END();
}

int mx_autograd_get_symbol(mx_ndarray_t arr, mx_symbol_t* out) {
  API_BEGIN();
  need(out, "mx_autograd_get_symbol", "out");
  *out = issue(mx_symbol{mx::autograd::get_symbol(arr_of(arr, "mx_autograd_get_symbol"))});
  API_END();
}

}  // extern "C"
