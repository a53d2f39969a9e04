// Pooling and _pooling_backward (core/op/defs/conv.cc) on oneDNN: max and avg over 1-d / 2-d
// windows, global_pool, pooling_convention valid / full, count_include_pad, float32 and bfloat16,
// in mx's plain NCW / NCHW layout.
//
// MXNet's window rules and oneDNN's agree wherever every window holds at least one element of the
// data; then max ignores the padding in both, avg without count_include_pad divides by the
// window's data elements in both, and avg with it by kernel size in both as long as no window
// runs past the right padding (a 'full' convention's last window may: MXNet then divides by the
// part inside the padding). Those cases, and sum pooling (no oneDNN algorithm), are left to the
// next plugin. The max gradient goes to each window's first maximum, as in the CPU backend: it
// reruns the forward pass in training mode for oneDNN's workspace of argmax positions.
#include <algorithm>
#include <string>
#include <vector>

#include "common.h"

namespace mxdnnl {
namespace {

struct PoolGeometry {
  dnnl::algorithm alg;
  memory::dims kernel, strides, pad_l, pad_r;
};

PoolGeometry pool_geometry(const mx_kernel_args& a, const DLTensor& data, const DLTensor& y) {
  if (data.ndim != 3 && data.ndim != 4) throw Unsupported("only 1-d (NCW) and 2-d (NCHW) data");
  const std::string type = attr(&a, "pool_type");
  if (type == "sum") throw Unsupported("pool_type=sum (oneDNN has no sum pooling)");
  if (type != "max" && type != "avg") throw Unsupported("pool_type=" + type);
  const bool include_pad = attr_bool(&a, "count_include_pad"), global = attr_bool(&a, "global_pool");
  PoolGeometry g;
  g.alg = type == "max"     ? dnnl::algorithm::pooling_max
          : include_pad     ? dnnl::algorithm::pooling_avg_include_padding
                            : dnnl::algorithm::pooling_avg_exclude_padding;
  const size_t n = size_t(data.ndim - 2);
  auto tuple = [&](const char* key, int64_t def) {
    std::vector<int64_t> v = attr_ints(attr(&a, key));
    if (v.empty()) v.assign(n, def);
    if (v.size() != n) throw Unsupported(std::string(key) + " does not match the data's rank");
    return v;
  };
  std::vector<int64_t> k, s, p;
  if (global) {
    k.assign(data.shape + 2, data.shape + data.ndim);
    s.assign(n, 1);
    p.assign(n, 0);
  } else {
    k = tuple("kernel", 1), s = tuple("stride", 1), p = tuple("pad", 0);
  }
  for (size_t i = 0; i < n; ++i) {
    const int64_t x = data.shape[2 + i], o = y.shape[2 + i];
    const int64_t last_start = (o - 1) * s[i] - p[i], last_end = last_start + k[i];
    if (k[i] <= p[i] || last_start >= x) throw Unsupported("a window lies wholly in the padding");
    if (g.alg == dnnl::algorithm::pooling_avg_include_padding && last_end > x + p[i])
      throw Unsupported("count_include_pad with a last window past the padding (pooling_convention=full)");
    g.kernel.push_back(k[i]);
    g.strides.push_back(s[i]);
    g.pad_l.push_back(p[i]);
    g.pad_r.push_back(std::max(p[i], last_end - x));  // oneDNN's output-size rule, see the top
  }
  return g;
}

struct PoolState : KernelState {
  Call call;

  explicit PoolState(const mx_kernel_args& a) : KernelState(a) {
    const memory::data_type dt = check_tensors(a);
    const DLTensor &x = a.inputs[0], &y = a.outputs[0];
    const PoolGeometry g = pool_geometry(a, x, y);
    const memory::desc xm = plain(dims_of(x), dt), ym = plain(dims_of(y), dt);
    const dnnl::pooling_forward::primitive_desc pd(
        {dnnl::prop_kind::forward_inference, g.alg, xm, ym, g.strides, g.kernel, g.pad_l, g.pad_r}, user_scratchpad(),
        engine());
    call.input(DNNL_ARG_SRC, 0, xm, pd.src_desc(), plan);
    call.output(DNNL_ARG_DST, 0, ym, pd.dst_desc(), plan);
    call.set(dnnl::pooling_forward(pd), pd.scratchpad_desc(), plan);
  }

  void run(const mx_kernel_ctx* ctx, const DLTensor* in, DLTensor* out) const {
    call.run(Scratch(ctx, plan.bytes()), in, out);
  }
};

// Inputs: out_grad, data, out (unused: max recomputes its argmax from the data).
struct PoolBackwardState : KernelState {
  Call forward, backward;  // forward: max only, for the workspace
  bool max = false;
  memory::desc ym, ws;
  size_t y_at = 0, ws_at = 0;

  explicit PoolBackwardState(const mx_kernel_args& a) : KernelState(a) {
    const memory::data_type dt = check_tensors(a);
    const DLTensor &og = a.inputs[0], &x = a.inputs[1];
    const PoolGeometry g = pool_geometry(a, x, og);
    const memory::desc xm = plain(dims_of(x), dt);
    ym = plain(dims_of(og), dt);
    const dnnl::pooling_forward::primitive_desc hint(
        {dnnl::prop_kind::forward_training, g.alg, xm, ym, g.strides, g.kernel, g.pad_l, g.pad_r}, user_scratchpad(),
        engine());
    const dnnl::pooling_backward::primitive_desc pd({g.alg, xm, ym, g.strides, g.kernel, g.pad_l, g.pad_r},
                                                    user_scratchpad(), engine(), hint);
    max = g.alg == dnnl::algorithm::pooling_max;
    if (max) {
      ws = hint.workspace_desc();
      y_at = plan.add(ym.get_size());
      ws_at = plan.add(ws.get_size());
      forward.input(DNNL_ARG_SRC, 1, xm, hint.src_desc(), plan);
      forward.set(dnnl::pooling_forward(hint), hint.scratchpad_desc(), plan);
    }
    backward.input(DNNL_ARG_DIFF_DST, 0, ym, pd.diff_dst_desc(), plan);
    backward.output(DNNL_ARG_DIFF_SRC, 0, xm, pd.diff_src_desc(), plan);
    backward.set(dnnl::pooling_backward(pd), pd.scratchpad_desc(), plan);
  }

  void run(const mx_kernel_ctx* ctx, const DLTensor* in, DLTensor* out) const {
    const Scratch s(ctx, plan.bytes());
    if (!max) {
      backward.run(s, in, out);
      return;
    }
    const memory workspace = s.memory_at(ws, ws_at);
    forward.run(s, in, out, {{DNNL_ARG_DST, s.memory_at(ym, y_at)}, {DNNL_ARG_WORKSPACE, workspace}});
    backward.run(s, in, out, {{DNNL_ARG_WORKSPACE, workspace}});
  }
};

const mx_kernel kPoolKernels[] = {
    make_kernel<PoolState>("Pooling"),
    make_kernel<PoolBackwardState>("_pooling_backward"),
    mx_impl::kEndOfTable,
};
MX_REGISTER_KERNELS(kPoolKernels);

}  // namespace
}  // namespace mxdnnl
