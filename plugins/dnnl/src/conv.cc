// The convolution family on oneDNN (the schemas of core/op/defs/conv.cc): Convolution, its data
// and weight gradients (_conv_backward_data, _conv_backward_weight: what Convolution's and
// Deconvolution's gradients emit) and Deconvolution; 1-d (NCW) and 2-d (NCHW), groups, dilation,
// float32 and bfloat16. Data and weights stay in mx's plain layouts; the primitives pick their own
// (blocked) layouts and Call reorders through the scratch. The bias gradient is the core's `sum`.
#include <string>
#include <vector>

#include "common.h"

namespace mxdnnl {
namespace {

enum class ConvKind { kForward, kBackwardData, kBackwardWeight, kDeconvolution };

// One spatial axis as oneDNN wants it. pad_r is the right padding that makes oneDNN's output-size
// rule agree with mx's shapes: oneDNN requires (in - span + pad_l + pad_r) / stride + 1 == out with
// integer division, which mx's floor rule meets for every pad_r in [r0, r0 + stride - 1]; we take
// the smallest non-negative one.
struct Geometry {
  memory::dims kernel, strides, dilates, pad_l, pad_r;  // dilates: oneDNN counts d - 1
  int64_t groups = 1;
};

std::vector<int64_t> tuple_or(const mx_kernel_args& a, const char* key, size_t n, int64_t def) {
  std::vector<int64_t> v = attr_ints(attr(&a, key));
  if (v.empty()) v.assign(n, def);
  if (v.size() != n) throw Unsupported(std::string(key) + " does not match the kernel's rank");
  return v;
}

// conv_in: the spatial sizes of the convolution's data, conv_out: of its output (for a
// deconvolution, its output and its input respectively). pads_l: the left pads.
Geometry geometry(const mx_kernel_args& a, const memory::dims& conv_in, const memory::dims& conv_out,
                  const std::vector<int64_t>& pads_l) {
  Geometry g;
  const size_t n = conv_in.size();
  const std::vector<int64_t> k = tuple_or(a, "kernel", n, 1), s = tuple_or(a, "stride", n, 1),
                             d = tuple_or(a, "dilate", n, 1);
  g.groups = attr_int(&a, "num_group");
  if (g.groups < 1) throw Unsupported("num_group < 1");
  for (size_t i = 0; i < n; ++i) {
    const int64_t span = d[i] * (k[i] - 1) + 1;
    const int64_t r0 = (conv_out[i] - 1) * s[i] + span - conv_in[i] - pads_l[i];
    const int64_t r = r0 < 0 ? 0 : r0;
    if (r > r0 + s[i] - 1) throw Unsupported("output size does not follow from the padding");
    g.kernel.push_back(k[i]);
    g.strides.push_back(s[i]);
    g.dilates.push_back(d[i] - 1);
    g.pad_l.push_back(pads_l[i]);
    g.pad_r.push_back(r);
  }
  return g;
}

memory::dims spatial(const DLTensor& t) { return memory::dims(t.shape + 2, t.shape + t.ndim); }

// Convolution weights (F, C/G, k...) as oneDNN's {F, C, k...} or, grouped, {G, F/G, C/G, k...}.
memory::dims conv_weight_dims(const DLTensor& w, int64_t groups) {
  memory::dims d = dims_of(w);
  if (groups == 1) return d;
  d[0] /= groups;
  d.insert(d.begin(), groups);
  return d;
}

// Deconvolution weights (C, F/G, k...) hold oneDNN's logical {F, C, k...} ({G, F/G, C/G, k...})
// with the input channels outermost: iohw (giohw).
memory::desc deconv_weight_desc(const DLTensor& w, int64_t groups, memory::data_type dt, int64_t out_channels) {
  const memory::dims k(w.shape + 2, w.shape + w.ndim);
  memory::dims d;
  std::vector<int> physical;
  if (groups == 1) {
    d = {out_channels, w.shape[0]};
    physical = {1, 0};
  } else {
    d = {groups, out_channels / groups, w.shape[0] / groups};
    physical = {0, 2, 1};
  }
  const int first_k = int(d.size());
  d.insert(d.end(), k.begin(), k.end());
  for (size_t i = 0; i < k.size(); ++i) physical.push_back(first_k + int(i));
  return permuted(d, dt, physical);
}

memory::desc any_like(const memory::desc& m) { return memory::desc(m.dims(), m.data_type(), memory::format_tag::any); }

template <ConvKind K>
struct ConvState : KernelState {
  Call call;
  bool bias = false;
  memory::desc bias_md;

  explicit ConvState(const mx_kernel_args& a) : KernelState(a) {
    const memory::data_type dt = check_tensors(a);
    // The weights, the convolution's data and the convolution-output-shaped tensor, per kind.
    const DLTensor& w = K == ConvKind::kBackwardWeight ? a.outputs[0] : a.inputs[1];
    const DLTensor& data = K == ConvKind::kForward        ? a.inputs[0]
                           : K == ConvKind::kBackwardData ? a.inputs[2]
                           : K == ConvKind::kBackwardWeight ? a.inputs[1]
                                                            : a.outputs[0];
    const DLTensor& y = K == ConvKind::kForward ? a.outputs[0] : a.inputs[0];
    if (data.ndim != 3 && data.ndim != 4) throw Unsupported("only 1-d (NCW) and 2-d (NCHW) data");
    const size_t n = size_t(data.ndim - 2);
    std::vector<int64_t> pads = tuple_or(a, "pad", n, 0);
    if (K == ConvKind::kDeconvolution) {
      const std::vector<int64_t> target = attr_ints(attr(&a, "target_shape"));
      if (!target.empty()) {  // the core's rule: pad = ceil((full - target) / 2)
        const auto k = tuple_or(a, "kernel", n, 1), s = tuple_or(a, "stride", n, 1), d = tuple_or(a, "dilate", n, 1);
        for (size_t i = 0; i < n; ++i) {
          const int64_t total = s[i] * (y.shape[2 + i] - 1) + d[i] * (k[i] - 1) + 1 - target[i];
          pads[i] = (total + 1) / 2;
        }
      }
    }
    const Geometry g = geometry(a, spatial(data), spatial(y), pads);
    const memory::desc w_user = K == ConvKind::kDeconvolution
                                    ? deconv_weight_desc(w, g.groups, dt, data.shape[1])
                                    : plain(conv_weight_dims(w, g.groups), dt);
    const memory::desc data_user = plain(dims_of(data), dt), y_user = plain(dims_of(y), dt);
    bias = (K == ConvKind::kForward || K == ConvKind::kDeconvolution) && a.num_inputs > 2;
    bias_md = bias ? plain(dims_of(a.inputs[2]), dt) : memory::desc();
    const dnnl::primitive_attr pa = user_scratchpad();
    using dnnl::algorithm;
    using dnnl::prop_kind;

    if constexpr (K == ConvKind::kDeconvolution) {
      const dnnl::deconvolution_forward::primitive_desc pd(
          {prop_kind::forward_training, algorithm::deconvolution_direct, any_like(y_user), any_like(w_user), bias_md,
           any_like(data_user), g.strides, g.dilates, g.pad_l, g.pad_r},
          pa, engine());
      call.input(DNNL_ARG_SRC, 0, y_user, pd.src_desc(), plan);
      call.input(DNNL_ARG_WEIGHTS, 1, w_user, pd.weights_desc(), plan);
      if (bias) call.input(DNNL_ARG_BIAS, 2, bias_md, pd.bias_desc(), plan);
      call.output(DNNL_ARG_DST, 0, data_user, pd.dst_desc(), plan);
      call.set(dnnl::deconvolution_forward(pd), pd.scratchpad_desc(), plan);
      return;
    }
    const dnnl::convolution_forward::desc fwd(prop_kind::forward_training, algorithm::convolution_direct,
                                              any_like(data_user), any_like(w_user), bias_md, any_like(y_user),
                                              g.strides, g.dilates, g.pad_l, g.pad_r);
    if constexpr (K == ConvKind::kForward) {
      const dnnl::convolution_forward::primitive_desc pd(fwd, pa, engine());
      call.input(DNNL_ARG_SRC, 0, data_user, pd.src_desc(), plan);
      call.input(DNNL_ARG_WEIGHTS, 1, w_user, pd.weights_desc(), plan);
      if (bias) call.input(DNNL_ARG_BIAS, 2, bias_md, pd.bias_desc(), plan);
      call.output(DNNL_ARG_DST, 0, y_user, pd.dst_desc(), plan);
      call.set(dnnl::convolution_forward(pd), pd.scratchpad_desc(), plan);
    } else if constexpr (K == ConvKind::kBackwardData) {
      const dnnl::convolution_forward::primitive_desc hint(fwd, engine());
      using bwd = dnnl::convolution_backward_data;
      auto make = [&](bool free_layouts) {
        auto pick = [&](const memory::desc& m) { return free_layouts ? any_like(m) : m; };
        return bwd::primitive_desc({algorithm::convolution_direct, pick(data_user), pick(w_user), pick(y_user),
                                    g.strides, g.dilates, g.pad_l, g.pad_r},
                                   pa, engine(), hint);
      };
      bwd::primitive_desc pd = make(true);
      // A channel-blocked data gradient of few channels (LeNet's first layer: 1 padded to 16)
      // is mostly padding; the plain layouts' GEMM implementation is then several times faster.
      if (pd.diff_src_desc().data.padded_dims[1] > 2 * data.shape[1]) {
        try {
          pd = make(false);
        } catch (const dnnl::error&) {
        }
      }
      call.input(DNNL_ARG_DIFF_DST, 0, y_user, pd.diff_dst_desc(), plan);
      call.input(DNNL_ARG_WEIGHTS, 1, w_user, pd.weights_desc(), plan);
      call.output(DNNL_ARG_DIFF_SRC, 0, data_user, pd.diff_src_desc(), plan);
      call.set(dnnl::convolution_backward_data(pd), pd.scratchpad_desc(), plan);
    } else {
      const dnnl::convolution_forward::primitive_desc hint(fwd, engine());
      const dnnl::convolution_backward_weights::primitive_desc pd(
          {algorithm::convolution_direct, any_like(data_user), any_like(w_user), any_like(y_user), g.strides,
           g.dilates, g.pad_l, g.pad_r},
          pa, engine(), hint);
      call.input(DNNL_ARG_DIFF_DST, 0, y_user, pd.diff_dst_desc(), plan);
      call.input(DNNL_ARG_SRC, 1, data_user, pd.src_desc(), plan);
      call.output(DNNL_ARG_DIFF_WEIGHTS, 0, w_user, pd.diff_weights_desc(), plan);
      call.set(dnnl::convolution_backward_weights(pd), pd.scratchpad_desc(), plan);
    }
  }

  void run(const mx_kernel_ctx* ctx, const DLTensor* in, DLTensor* out) const {
    call.run(Scratch(ctx, plan.bytes()), in, out);
  }
};

const mx_kernel kConvKernels[] = {
    make_kernel<ConvState<ConvKind::kForward>>("Convolution"),
    make_kernel<ConvState<ConvKind::kBackwardData>>("_conv_backward_data"),
    make_kernel<ConvState<ConvKind::kBackwardWeight>>("_conv_backward_weight"),
    make_kernel<ConvState<ConvKind::kDeconvolution>>("Deconvolution"),
    mx_impl::kEndOfTable,
};
MX_REGISTER_KERNELS(kConvKernels);

}  // namespace
}  // namespace mxdnnl
