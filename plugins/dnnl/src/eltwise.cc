// Activation, softmax and log_softmax (core/op/defs/nn.cc) on oneDNN's eltwise and softmax
// primitives, float32 and bfloat16. Their gradients are graphs of elementwise ops and reductions
// in the core's schemas (no backward op), which the CPU backend runs.
#include <string>

#include "common.h"

namespace mxdnnl {
namespace {

// Activation(act_type): relu, sigmoid, tanh, softrelu (log(1 + e^x)). softsign has no oneDNN
// algorithm and is left to the next plugin. Elementwise, so the data is one flat vector.
struct ActivationState : KernelState {
  Call call;

  explicit ActivationState(const mx_kernel_args& a) : KernelState(a) {
    const memory::data_type dt = check_tensors(a);
    const std::string t = attr(&a, "act_type");
    using dnnl::algorithm;
    algorithm alg;
    if (t == "relu") alg = algorithm::eltwise_relu;
    else if (t == "sigmoid") alg = algorithm::eltwise_logistic;
    else if (t == "tanh") alg = algorithm::eltwise_tanh;
    else if (t == "softrelu") alg = algorithm::eltwise_soft_relu;
    else throw Unsupported("act_type=" + t + " (no oneDNN algorithm)");
    const memory::desc flat = plain({numel(a.inputs[0])}, dt);
    const dnnl::eltwise_forward::primitive_desc pd({dnnl::prop_kind::forward_inference, alg, flat, 0.f, 0.f},
                                                   user_scratchpad(), engine());
    call.input(DNNL_ARG_SRC, 0, flat, pd.src_desc(), plan);
    call.output(DNNL_ARG_DST, 0, flat, pd.dst_desc(), plan);
    call.set(dnnl::eltwise_forward(pd), pd.scratchpad_desc(), plan);
  }

  void run(const mx_kernel_ctx* ctx, const DLTensor* in, DLTensor* out) const {
    call.run(Scratch(ctx, plan.bytes()), in, out);
  }
};

// softmax / log_softmax of data / temperature along `axis`. With a temperature other than 1 the
// primitive reads a float32 copy of data / temperature from the scratch.
template <bool LOG>
struct SoftmaxState : KernelState {
  Call call;
  memory::data_type dt;
  double temperature;
  int64_t n = 0;
  memory::desc scaled;
  size_t scaled_at = 0;

  explicit SoftmaxState(const mx_kernel_args& a) : KernelState(a) {
    dt = check_tensors(a);
    const DLTensor& x = a.inputs[0];
    if (x.ndim < 1) throw Unsupported("0-d data");
    int axis = int(attr_int(&a, "axis"));
    if (axis < 0) axis += x.ndim;
    temperature = attr_float(&a, "temperature");
    const memory::desc data = plain(dims_of(x), dt);
    memory::desc src = data;
    if (temperature != 1.0) {
      n = numel(x);
      scaled = plain(dims_of(x), memory::data_type::f32);
      scaled_at = plan.add(scaled.get_size());
      src = scaled;
    }
    const dnnl::softmax_v2_forward::primitive_desc pd(
        {dnnl::prop_kind::forward_inference, LOG ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate,
         src, data, axis},
        user_scratchpad(), engine());
    if (temperature == 1.0) call.input(DNNL_ARG_SRC, 0, data, pd.src_desc(), plan);
    call.output(DNNL_ARG_DST, 0, data, pd.dst_desc(), plan);
    call.set(dnnl::softmax_v2_forward(pd), pd.scratchpad_desc(), plan);
  }

  void run(const mx_kernel_ctx* ctx, const DLTensor* in, DLTensor* out) const {
    const Scratch s(ctx, plan.bytes());
    if (temperature == 1.0) {
      call.run(s, in, out);
      return;
    }
    float* xs = reinterpret_cast<float*>(s.at(scaled_at));
    for (int64_t i = 0; i < n; ++i) xs[i] = float(double(load(data_of(in[0]), dt, i)) / temperature);
    call.run(s, in, out, {{DNNL_ARG_SRC, s.memory_at(scaled, scaled_at)}});
  }
};

const mx_kernel kEltwiseKernels[] = {
    make_kernel<ActivationState>("Activation"),
    make_kernel<SoftmaxState<false>>("softmax"),
    make_kernel<SoftmaxState<true>>("log_softmax"),
    mx_impl::kEndOfTable,
};
MX_REGISTER_KERNELS(kEltwiseKernels);

}  // namespace
}  // namespace mxdnnl
