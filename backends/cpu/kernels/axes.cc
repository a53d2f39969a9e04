// The axes family (core/op/defs/axes.cc). SwapAxis, reverse, depth_to_space / space_to_depth and
// broadcast_to / broadcast_axis are one strided gather of raw bytes (a permuted, reversed or
// stride-0 view of the input, strided.h's plan); reshape_like is the identity; _split_v2 copies
// (outer, axis, inner) slabs; shape_array / size_array write int64 facts; im2col / col2im walk
// the sliding windows (typed, col2im accumulating).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../cpu_backend.h"
#include "layout.h"
#include "strided.h"

namespace mxcpu {
namespace {

// ---------------------------------------------------------------- strided gathers

// out (row-major over plan.shape) = x[start + sum_d idx[d] * plan.stride[0][d]].
struct Gather {
  int bytes = 0;
  int64_t start = 0;
  BroadcastPlan plan;
};

void gather_destroy(void* s) { delete static_cast<Gather*>(s); }

// Contiguous element strides of a shape.
void strides_of(const int64_t* shape, int n, int64_t* stride) {
  int64_t s = 1;
  for (int d = n - 1; d >= 0; --d) {
    stride[d] = s;
    s *= shape[d];
  }
}

// The input viewed as `view` (same elements), read with its axes in the order `perm`.
int permuted_view(const DLTensor& x, const std::vector<int64_t>& view, const std::vector<int>& perm, const char* op,
                  void** out) {
  const int n = int(view.size());
  if (n > kMaxDims) return error(MX_ERR_UNSUPPORTED, std::string(op) + ": more than 16 dims on cpu");
  int64_t stride[kMaxDims];
  strides_of(view.data(), n, stride);
  auto* g = new Gather{};
  g->bytes = int(elem_bytes(x));
  g->plan.ndim = n ? n : 1;
  g->plan.shape[0] = 1;
  g->plan.stride[0][0] = g->plan.stride[1][0] = 0;
  for (int d = 0; d < n; ++d) {
    g->plan.shape[d] = view[size_t(perm[size_t(d)])];
    g->plan.stride[0][d] = stride[perm[size_t(d)]];
    g->plan.stride[1][d] = 0;
  }
  *out = g;
  return 0;
}

std::vector<int64_t> dims_of(const DLTensor& t) { return std::vector<int64_t>(t.shape, t.shape + t.ndim); }
std::vector<int> identity_perm(int n) {
  std::vector<int> p(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) p[size_t(i)] = i;
  return p;
}

int swapaxis_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  std::vector<int> perm = identity_perm(x.ndim);
  std::swap(perm[size_t(norm_axis(attr_int(args, "dim1"), x.ndim))], perm[size_t(norm_axis(attr_int(args, "dim2"), x.ndim))]);
  return permuted_view(x, dims_of(x), perm, "SwapAxis", out);
}

int reverse_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  if (permuted_view(x, dims_of(x), identity_perm(x.ndim), "reverse", out) != 0) return -1;
  Gather& g = *static_cast<Gather*>(*out);
  std::vector<bool> flip(size_t(x.ndim), false);
  for (int64_t ax : attr_ints(attr(args, "axis"))) flip[size_t(norm_axis(ax, x.ndim))] = !flip[size_t(norm_axis(ax, x.ndim))];
  for (int d = 0; d < x.ndim; ++d)
    if (flip[size_t(d)] && x.shape[d] > 0) {
      g.start += (x.shape[d] - 1) * g.plan.stride[0][d];
      g.plan.stride[0][d] = -g.plan.stride[0][d];
    }
  return 0;
}

// DCR order: depth_to_space views (N, C, H, W) as (N, b, b, C/b^2, H, W) and reads it as
// (N, C/b^2, H, b, W, b); space_to_depth views it as (N, C, H/b, b, W/b, b) and reads it as
// (N, b, b, C, H/b, W/b).
template <bool TO_SPACE>
int depth_space_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const int64_t b = attr_int(args, "block_size"), N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  if (TO_SPACE) return permuted_view(x, {N, b, b, C / (b * b), H, W}, {0, 3, 4, 1, 5, 2}, "depth_to_space", out);
  return permuted_view(x, {N, C, H / b, b, W / b, b}, {0, 3, 5, 1, 2, 4}, "space_to_depth", out);
}

// broadcast_to / broadcast_axis: stride 0 along the broadcast axes.
int broadcast_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  auto* g = new Gather{};
  g->bytes = int(elem_bytes(x));
  if (!make_plan(&x, nullptr, args->outputs[0], g->plan)) {
    delete g;
    return error(MX_ERR_UNSUPPORTED, "broadcast_to: more than 16 dims on cpu");
  }
  *out = g;
  return 0;
}

template <typename T>
void gather_t(const Gather& g, const T* x, T* y) {
  for_each_run(g.plan, [&](int64_t oo, int64_t oa, int64_t, int64_t n, int64_t sa, int64_t) {
    for (int64_t i = 0; i < n; ++i) y[oo + i] = x[oa + i * sa];
  }, 0, g.start, 0);
}

int gather_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Gather& g = *static_cast<const Gather*>(state);
  if (numel(out[0]) == 0) return 0;
  const void* x = data_of(in[0]);
  void* y = data_of(out[0]);
  switch (g.bytes) {
    case 1: gather_t(g, static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y)); break;
    case 2: gather_t(g, static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y)); break;
    case 4: gather_t(g, static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y)); break;
    case 8: gather_t(g, static_cast<const uint64_t*>(x), static_cast<uint64_t*>(y)); break;
    default: return error(MX_ERR_UNSUPPORTED, "strided copy: unsupported element size");
  }
  return 0;
}

// ---------------------------------------------------------------- _split_v2

struct SplitPlan {
  int axis = 0;
  std::vector<int64_t> starts;
};

void split_destroy(void* s) { delete static_cast<SplitPlan*>(s); }

int split_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  auto* p = new SplitPlan{};
  p->axis = norm_axis(attr_int(args, "axis"), x.ndim);
  const int64_t len = x.shape[p->axis], sections = attr_int(args, "sections");
  if (sections > 0)
    for (int64_t i = 0; i < sections; ++i) p->starts.push_back(i * (len / sections));
  else
    p->starts = attr_ints(attr(args, "indices"));
  *out = p;
  return 0;
}

int split_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t nout) {
  const SplitPlan& p = *static_cast<const SplitPlan*>(state);
  int64_t outer, len, inner;
  blocks(in[0], p.axis, outer, len, inner);
  const int64_t eb = elem_bytes(in[0]);
  const char* x = data_of(in[0]);
  for (int32_t k = 0; k < nout; ++k) {
    const int64_t begin = p.starts[size_t(k)], end = size_t(k) + 1 < p.starts.size() ? p.starts[size_t(k) + 1] : len;
    const int64_t row = (end - begin) * inner * eb;
    if (row == 0) continue;
    char* y = data_of(out[k]);
    for (int64_t o = 0; o < outer; ++o) std::memcpy(y + o * row, x + (o * len + begin) * inner * eb, size_t(row));
  }
  return 0;
}

// ---------------------------------------------------------------- shape_array / size_array

template <bool SHAPE>
int facts_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  int64_t* y = reinterpret_cast<int64_t*>(data_of(out[0]));
  if (SHAPE)
    for (int d = 0; d < in[0].ndim; ++d) y[d] = in[0].shape[d];
  else
    y[0] = numel(in[0]);
  return 0;
}

// ---------------------------------------------------------------- im2col / col2im

// Up to 3 spatial dims, padded in front with size-1 dims (kernel 1, stride 1) to exactly 3.
struct WindowPlan {
  int64_t in[3], k[3], s[3], d[3], p[3], o[3];
};

void window_destroy(void* s) { delete static_cast<WindowPlan*>(s); }

template <bool COL2IM>
int window_create(const mx_kernel_args* args, void** out) {
  const DLTensor& img = COL2IM ? args->outputs[0] : args->inputs[0];
  const auto k = attr_ints(attr(args, "kernel")), s = attr_ints(attr(args, "stride")), d = attr_ints(attr(args, "dilate")),
             p = attr_ints(attr(args, "pad"));
  const int n = int(k.size()), lead = 3 - n;
  if (n < 1 || n > 3 || img.ndim != n + 2) return error(MX_ERR_INVALID_ARGUMENT, "im2col: kernel and data dims disagree");
  auto* w = new WindowPlan{};
  for (int i = 0; i < 3; ++i) {
    const int j = i - lead;
    w->in[i] = j < 0 ? 1 : img.shape[2 + j];
    w->k[i] = j < 0 ? 1 : k[size_t(j)];
    w->s[i] = j < 0 || s.empty() ? 1 : s[size_t(j)];
    w->d[i] = j < 0 || d.empty() ? 1 : d[size_t(j)];
    w->p[i] = j < 0 || p.empty() ? 0 : p[size_t(j)];
    w->o[i] = (w->in[i] + 2 * w->p[i] - (w->d[i] * (w->k[i] - 1) + 1)) / w->s[i] + 1;
  }
  *out = w;
  return 0;
}

// Calls f(column row offset kk, window index ow, image offset or -1 for padding) for every
// (kernel position, window) pair of one channel.
template <typename F>
void for_each_tap(const WindowPlan& w, F&& f) {
  int64_t kk = 0;
  for (int64_t a = 0; a < w.k[0]; ++a)
    for (int64_t b = 0; b < w.k[1]; ++b)
      for (int64_t c = 0; c < w.k[2]; ++c, ++kk) {
        int64_t ow = 0;
        for (int64_t z = 0; z < w.o[0]; ++z) {
          const int64_t iz = z * w.s[0] - w.p[0] + a * w.d[0];
          for (int64_t y = 0; y < w.o[1]; ++y) {
            const int64_t iy = y * w.s[1] - w.p[1] + b * w.d[1];
            for (int64_t x = 0; x < w.o[2]; ++x, ++ow) {
              const int64_t ix = x * w.s[2] - w.p[2] + c * w.d[2];
              const bool inside = iz >= 0 && iz < w.in[0] && iy >= 0 && iy < w.in[1] && ix >= 0 && ix < w.in[2];
              f(kk, ow, inside ? (iz * w.in[1] + iy) * w.in[2] + ix : -1);
            }
          }
        }
      }
}

template <bool COL2IM>
int window_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const WindowPlan& w = *static_cast<const WindowPlan*>(state);
  const DLTensor& img = COL2IM ? out[0] : in[0];
  const int64_t planes = img.shape[0] * img.shape[1], plane = w.in[0] * w.in[1] * w.in[2];
  const int64_t taps = w.k[0] * w.k[1] * w.k[2], windows = w.o[0] * w.o[1] * w.o[2];
  const bool ok = dispatch_numeric(dtype_flag(img.dtype), [&](auto tag) {
    using S = decltype(tag);
    using C = typename Elem<S>::C;
    const S* src = reinterpret_cast<const S*>(data_of(in[0]));
    S* dst = reinterpret_cast<S*>(data_of(out[0]));
    std::vector<C> acc(COL2IM ? size_t(plane) : 0);
    for (int64_t pl = 0; pl < planes; ++pl) {
      if (COL2IM) {
        std::fill(acc.begin(), acc.end(), C(0));
        const S* col = src + pl * taps * windows;
        for_each_tap(w, [&](int64_t kk, int64_t ow, int64_t at) {
          if (at >= 0) acc[size_t(at)] += Elem<S>::load(col[kk * windows + ow]);
        });
        for (int64_t i = 0; i < plane; ++i) dst[pl * plane + i] = Elem<S>::store(acc[size_t(i)]);
      } else {
        const S* x = src + pl * plane;
        S* col = dst + pl * taps * windows;
        const S zero = Elem<S>::store(C(0));
        for_each_tap(w, [&](int64_t kk, int64_t ow, int64_t at) { col[kk * windows + ow] = at >= 0 ? x[at] : zero; });
      }
    }
  });
  return ok ? 0 : error(MX_ERR_UNSUPPORTED, COL2IM ? "col2im: unsupported dtype on cpu" : "im2col: unsupported dtype on cpu");
}

const mx_kernel kAxesKernels[] = {
    kernel("SwapAxis", swapaxis_create, gather_run, gather_destroy),
    kernel("reshape_like", copy_create, copy_run, no_destroy),
    kernel("reverse", reverse_create, gather_run, gather_destroy),
    kernel("depth_to_space", depth_space_create<true>, gather_run, gather_destroy),
    kernel("space_to_depth", depth_space_create<false>, gather_run, gather_destroy),
    kernel("broadcast_to", broadcast_create, gather_run, gather_destroy),
    kernel("broadcast_axis", broadcast_create, gather_run, gather_destroy),
    kernel("_split_v2", split_create, split_run, split_destroy),
    kernel("shape_array", copy_create, facts_run<true>, no_destroy),
    kernel("size_array", copy_create, facts_run<false>, no_destroy),
    kernel("im2col", window_create<false>, window_run<false>, window_destroy),
    kernel("col2im", window_create<true>, window_run<true>, window_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kAxesKernels);

}  // namespace
}  // namespace mxcpu
