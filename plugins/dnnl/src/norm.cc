// BatchNorm and LayerNorm (core/op/defs/nn.cc) on oneDNN's normalisation primitives, float32 and
// bfloat16 data. Their gradients are graphs of elementwise ops and reductions in the core's
// schemas (no backward op), which the CPU backend runs.
//
// oneDNN keeps scale, shift and statistics in float32: gamma, beta and the moving statistics are
// converted through the scratch (a few floats per channel), and the statistics mx outputs are
// converted back. Statistics are oneDNN's float32 ones (the CPU backend sums in double).
#include <cmath>
#include <string>

#include "common.h"

namespace mxdnnl {
namespace {

using dnnl::normalization_flags;

bool training_flag(const mx_kernel_ctx* ctx) { return ctx && MX_HAS_FIELD(ctx, mx_kernel_ctx, is_train) && ctx->is_train; }

int normalized_axis(const mx_kernel_args& a, int ndim) {
  const int axis = int(attr_int(&a, "axis"));
  return axis < 0 ? axis + ndim : axis;
}

// n float32 values of a float32 / bfloat16 tensor into dst (the scratch), and back.
void widen(const DLTensor& t, memory::data_type dt, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = load(data_of(t), dt, i);
}
void narrow(const float* src, memory::data_type dt, DLTensor& t, int64_t n) {
  for (int64_t i = 0; i < n; ++i) store(data_of(t), dt, i, src[i]);
}

// Inputs: data, gamma, beta, moving_mean, moving_var (the last two mutated in training);
// outputs: out, and the mean and variance used (hidden, for the gradient). Channels along `axis`:
// data is seen as (outer, C, inner), which oneDNN normalises per channel as N, C, W.
struct BatchNormState : KernelState {
  memory::data_type dt;
  double momentum;
  bool fix_gamma, global_stats;
  int64_t channels;
  Call train, infer;  // batch statistics / the moving ones
  memory::desc stat;
  size_t scale_at, shift_at, mean_at, var_at;

  explicit BatchNormState(const mx_kernel_args& a) : KernelState(a) {
    dt = check_tensors(a);
    const DLTensor& x = a.inputs[0];
    const int axis = normalized_axis(a, x.ndim);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; ++d) outer *= x.shape[d];
    for (int d = axis + 1; d < x.ndim; ++d) inner *= x.shape[d];
    channels = x.shape[axis];
    momentum = attr_float(&a, "momentum");
    fix_gamma = attr_bool(&a, "fix_gamma");
    global_stats = attr_bool(&a, "use_global_stats");
    const float eps = float(attr_float(&a, "eps"));
    const memory::desc data = inner == 1 ? plain({outer, channels}, dt) : plain({outer, channels, inner}, dt);
    stat = plain({channels}, memory::data_type::f32);
    const size_t bytes = size_t(channels) * sizeof(float);
    scale_at = plan.add(bytes), shift_at = plan.add(bytes), mean_at = plan.add(bytes), var_at = plan.add(bytes);
    // fix_gamma: no scale at all (gamma = 1).
    const normalization_flags flags =
        fix_gamma ? normalization_flags::use_shift : normalization_flags::use_scale | normalization_flags::use_shift;
    using dnnl::batch_normalization_forward;
    const batch_normalization_forward::primitive_desc train_pd(
        {dnnl::prop_kind::forward_training, data, eps, flags}, user_scratchpad(), engine());
    const batch_normalization_forward::primitive_desc infer_pd(
        {dnnl::prop_kind::forward_inference, data, eps, flags | normalization_flags::use_global_stats},
        user_scratchpad(), engine());
    for (auto [call, pd] : {std::pair{&train, &train_pd}, std::pair{&infer, &infer_pd}}) {
      call->input(DNNL_ARG_SRC, 0, data, pd->src_desc(), plan);
      call->output(DNNL_ARG_DST, 0, data, pd->dst_desc(), plan);
      call->set(batch_normalization_forward(*pd), pd->scratchpad_desc(), plan);
    }
  }

  void run(const mx_kernel_ctx* ctx, const DLTensor* in, DLTensor* out) const {
    const Scratch s(ctx, plan.bytes());
    float* mean = reinterpret_cast<float*>(s.at(mean_at));
    float* var = reinterpret_cast<float*>(s.at(var_at));
    if (!fix_gamma) widen(in[1], dt, reinterpret_cast<float*>(s.at(scale_at)), channels);
    widen(in[2], dt, reinterpret_cast<float*>(s.at(shift_at)), channels);
    const Args stats = {{DNNL_ARG_SCALE, s.memory_at(stat, scale_at)},
                        {DNNL_ARG_SHIFT, s.memory_at(stat, shift_at)},
                        {DNNL_ARG_MEAN, s.memory_at(stat, mean_at)},
                        {DNNL_ARG_VARIANCE, s.memory_at(stat, var_at)}};
    const DLTensor &moving_mean = in[3], &moving_var = in[4];  // mutated inputs: updated in training
    if (training_flag(ctx) && !global_stats) {
      train.run(s, in, out, stats);
      // moving = momentum * moving + (1 - momentum) * batch, in double as the CPU backend.
      for (int64_t c = 0; c < channels; ++c) {
        const double mm = load(data_of(moving_mean), dt, c), mv = load(data_of(moving_var), dt, c);
        store(data_of(moving_mean), dt, c, float(mm * momentum + double(mean[c]) * (1 - momentum)));
        store(data_of(moving_var), dt, c, float(mv * momentum + double(var[c]) * (1 - momentum)));
      }
    } else {
      widen(moving_mean, dt, mean, channels);
      widen(moving_var, dt, var, channels);
      infer.run(s, in, out, stats);
    }
    narrow(mean, dt, out[1], channels);
    narrow(var, dt, out[2], channels);
  }
};

// Inputs: data, gamma, beta; outputs: out, and each row's mean and standard deviation (hidden,
// shaped like data with the axis 1). oneDNN normalises over the last axis only: another axis is
// left to the next plugin.
struct LayerNormState : KernelState {
  memory::data_type dt;
  int64_t rows, width;
  double eps;
  Call call;
  memory::desc vec, stat;
  size_t scale_at, shift_at, mean_at, var_at;

  explicit LayerNormState(const mx_kernel_args& a) : KernelState(a) {
    dt = check_tensors(a);
    const DLTensor& x = a.inputs[0];
    if (normalized_axis(a, x.ndim) != x.ndim - 1) throw Unsupported("normalising an axis other than the last");
    width = x.shape[x.ndim - 1];
    rows = numel(x) / width;
    eps = attr_float(&a, "eps");
    const memory::desc data = plain({rows, width}, dt);
    vec = plain({width}, memory::data_type::f32);
    stat = plain({rows}, memory::data_type::f32);
    scale_at = plan.add(size_t(width) * sizeof(float)), shift_at = plan.add(size_t(width) * sizeof(float));
    mean_at = plan.add(size_t(rows) * sizeof(float)), var_at = plan.add(size_t(rows) * sizeof(float));
    const dnnl::layer_normalization_forward::primitive_desc pd(
        {dnnl::prop_kind::forward_training, data, stat, float(eps),
         normalization_flags::use_scale | normalization_flags::use_shift},
        user_scratchpad(), engine());
    call.input(DNNL_ARG_SRC, 0, data, pd.src_desc(), plan);
    call.output(DNNL_ARG_DST, 0, data, pd.dst_desc(), plan);
    call.set(dnnl::layer_normalization_forward(pd), pd.scratchpad_desc(), plan);
  }

  void run(const mx_kernel_ctx* ctx, const DLTensor* in, DLTensor* out) const {
    const Scratch s(ctx, plan.bytes());
    widen(in[1], dt, reinterpret_cast<float*>(s.at(scale_at)), width);
    widen(in[2], dt, reinterpret_cast<float*>(s.at(shift_at)), width);
    call.run(s, in, out,
             {{DNNL_ARG_SCALE, s.memory_at(vec, scale_at)},
              {DNNL_ARG_SHIFT, s.memory_at(vec, shift_at)},
              {DNNL_ARG_MEAN, s.memory_at(stat, mean_at)},
              {DNNL_ARG_VARIANCE, s.memory_at(stat, var_at)}});
    const float* mean = reinterpret_cast<const float*>(s.at(mean_at));
    const float* var = reinterpret_cast<const float*>(s.at(var_at));
    for (int64_t r = 0; r < rows; ++r) {
      store(data_of(out[1]), dt, r, mean[r]);
      store(data_of(out[2]), dt, r, float(std::sqrt(double(var[r]) + eps)));
    }
  }
};

const mx_kernel kNormKernels[] = {
    make_kernel<BatchNormState>("BatchNorm"),
    make_kernel<LayerNormState>("LayerNorm"),
    mx_impl::kEndOfTable,
};
MX_REGISTER_KERNELS(kNormKernels);

}  // namespace
}  // namespace mxdnnl
