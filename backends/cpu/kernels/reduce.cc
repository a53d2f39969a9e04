// The reduce family (core/op/defs/reduce.cc): reductions over any set of axes, and _sum_to_like. Accumulation is in double (exact for integer
// sums up to 2^53), rounded once at the end.
//  - Fast path: when the reduced axes merge into one block, the input is (A, R, B) reduced over R,
//    run in parallel over A, B or blocks of R, with a fixed split so results do not depend on the
//    thread count.
//  - Second fast path: reduced blocks on both sides of one kept block, (R1, K, R2) over R1 and
//    R2 (a bias gradient in NCHW: sum over N, H, W), run in parallel over K; sums in 16
//    vectorised double lanes per output.
//  - General path (more separate reduced blocks, argmax / argmin): one pass in which each
//    element is combined into its output slot, found through strides that are 0 on reduced axes.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "../parallel.h"
#include "../cpu_backend.h"
#include "strided.h"

namespace mxcpu {
namespace {

enum Kind : int { kSum, kMean, kProd, kMax, kMin, kNansum, kNorm1, kNorm2, kArgmax, kArgmin, kSumToLike };

struct State {
  int kind;
  int32_t dtype;
  int ndim;
  int64_t shape[kMaxDims];
  int64_t out_stride[kMaxDims];
  int axis;  // argmax/argmin: the axis, or -1 for the flattened array
  int64_t count;
  bool arb = false;     // the reduced axes form one block: input (A, R, B) reduced over R
  int64_t A = 1, R = 1, B = 1;
  bool rkr = false;     // reduced, kept, reduced blocks: input (R1, K, R2) reduced over R1 and R2
  int64_t R1 = 1, K = 1, R2 = 1;
};

// Finds the (A, R, B) view if the reduced dims (size-1 dims ignored) are one contiguous block.
void find_arb(State& st, const bool* mask) {
  if (st.kind == kArgmax || st.kind == kArgmin) return;
  int phase = 0;  // 0: before the block, 1: inside, 2: after
  int64_t a = 1, r = 1, b = 1;
  for (int d = 0; d < st.ndim; ++d) {
    if (st.shape[d] == 1) continue;
    if (mask[d]) {
      if (phase == 2) return;
      phase = 1;
      r *= st.shape[d];
    } else if (phase == 0) {
      a *= st.shape[d];
    } else {
      phase = 2;
      b *= st.shape[d];
    }
  }
  st.arb = true;
  st.A = a, st.R = r, st.B = b;
}

// Finds the (R1, K, R2) view if the dims (size-1 dims ignored) are reduced, kept, reduced blocks.
void find_rkr(State& st, const bool* mask) {
  if (st.kind == kArgmax || st.kind == kArgmin || st.arb) return;
  int phase = 0;  // 0: first reduced block, 1: kept block, 2: second reduced block
  int64_t r1 = 1, k = 1, r2 = 1;
  for (int d = 0; d < st.ndim; ++d) {
    if (st.shape[d] == 1) continue;
    const int want = mask[d] ? (phase == 0 ? 0 : 2) : 1;
    if (want < phase) return;
    phase = want;
    (phase == 0 ? r1 : phase == 1 ? k : r2) *= st.shape[d];
  }
  if (phase != 2 || r1 == 1) return;
  st.rkr = true;
  st.R1 = r1, st.K = k, st.R2 = r2;
}


// last_axis: argmax_channel, which has no `axis` attribute and reduces the last axis.
int create_kind(const mx_kernel_args* args, void** out, int kind, bool last_axis = false) {
  const DLTensor& x = args->inputs[0];
  const int32_t dtype = dtype_flag(x.dtype);
  if (!dispatch_numeric(dtype, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  if (x.ndim > kMaxDims) return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": more than 16 dims on cpu");
  auto* st = new State{};
  st->kind = kind;
  st->dtype = dtype;
  st->ndim = x.ndim;
  st->axis = -1;
  bool mask[kMaxDims] = {false};
  if (kind == kSumToLike) {
    const DLTensor& like = args->inputs[1];
    for (int d = 0; d < x.ndim; ++d) {
      const int k = d - (x.ndim - like.ndim);
      mask[d] = (k < 0 ? 1 : like.shape[k]) == 1 && x.shape[d] != 1;
      if (k < 0) mask[d] = true;
    }
  } else {
    const char* axis_attr = last_axis ? "-1" : attr(args, "axis");
    const bool none = std::strcmp(axis_attr, "None") == 0 || *axis_attr == '\0';
    const auto axes = attr_ints(axis_attr);
    for (int d = 0; d < x.ndim; ++d) mask[d] = none;
    for (int64_t a : axes) mask[a < 0 ? a + x.ndim : a] = true;
    if (!none && (kind == kArgmax || kind == kArgmin)) st->axis = int(axes[0] < 0 ? axes[0] + x.ndim : axes[0]);
    if (!none && std::strcmp(attr(args, "exclude"), "True") == 0)
      for (int d = 0; d < x.ndim; ++d) mask[d] = !mask[d];
    if (kind == kNorm2 && std::strcmp(attr(args, "ord"), "1") == 0) st->kind = kNorm1;
  }
  int64_t s = 1;
  st->count = 1;
  for (int d = x.ndim - 1; d >= 0; --d) {
    st->shape[d] = x.shape[d];
    st->out_stride[d] = mask[d] ? 0 : s;
    if (mask[d]) st->count *= x.shape[d];
    else s *= x.shape[d];
  }
  find_arb(*st, mask);
  find_rkr(*st, mask);
  *out = st;
  return 0;
}

template <int K>
int create(const mx_kernel_args* args, void** out) {
  return create_kind(args, out, K);
}

int create_argmax_channel(const mx_kernel_args* args, void** out) { return create_kind(args, out, kArgmax, true); }

template <typename S>
void reduce(const State& st, const S* x, S* y, int64_t out_n) {
  using E = Elem<S>;
  const int k = st.kind;
  const bool arg = k == kArgmax || k == kArgmin;
  double init = 0;
  if (k == kProd) init = 1;
  if (k == kMax || k == kArgmax) init = -std::numeric_limits<double>::infinity();
  if (k == kMin || k == kArgmin) init = std::numeric_limits<double>::infinity();
  std::vector<double> acc(static_cast<size_t>(out_n), init);
  std::vector<int64_t> best(arg ? static_cast<size_t>(out_n) : 0, -1);
  int64_t coord[kMaxDims] = {0};
  int64_t o = 0, i = 0;
  const int last = st.ndim - 1;
  int64_t total = 1;
  for (int d = 0; d < st.ndim; ++d) total *= st.shape[d];
  if (st.ndim == 0) total = 1;
  while (i < total) {
    const int64_t n = st.ndim ? st.shape[last] : 1, os = st.ndim ? st.out_stride[last] : 0;
    for (int64_t j = 0; j < n; ++j, ++i) {
      const double v = double(E::load(x[i]));
      double& a = acc[size_t(o + j * os)];
      switch (k) {
        case kSum: case kMean: case kSumToLike: a += v; break;
        case kProd: a *= v; break;
        case kMax: a = v > a || std::isnan(v) ? v : a; break;
        case kMin: a = v < a || std::isnan(v) ? v : a; break;
        case kNansum: if (!std::isnan(v)) a += v; break;
        case kNorm1: a += std::fabs(v); break;
        case kNorm2: a += v * v; break;
        case kArgmax: case kArgmin: {
          int64_t& b = best[size_t(o + j * os)];
          if (b < 0 || (k == kArgmax ? v > a : v < a)) {
            a = v;
            b = st.axis < 0 ? i : (st.axis == last ? j : coord[st.axis]);
          }
          break;
        }
      }
    }
    // advance the odometer past the innermost run
    int d = last - 1;
    for (; d >= 0; --d) {
      o += st.out_stride[d];
      if (++coord[d] < st.shape[d]) break;
      o -= st.out_stride[d] * st.shape[d];
      coord[d] = 0;
    }
    if (d < 0) break;
  }
  for (int64_t t = 0; t < out_n; ++t) {
    double v = acc[size_t(t)];
    if (k == kMean) v /= double(st.count);
    if (k == kNorm2) v = std::sqrt(v);
    if (arg) v = double(best[size_t(t)]);
    y[t] = E::store(static_cast<typename E::C>(v));
  }
}

// ---- fast path: (A, R, B) over R

template <int K>
struct Op {
  static constexpr double init() {
    if constexpr (K == kProd) return 1;
    if constexpr (K == kMax) return -std::numeric_limits<double>::infinity();
    if constexpr (K == kMin) return std::numeric_limits<double>::infinity();
    return 0;
  }
  static double combine(double a, double v) {
    if constexpr (K == kProd) return a * v;
    if constexpr (K == kMax) return v > a || std::isnan(v) ? v : a;
    if constexpr (K == kMin) return v < a || std::isnan(v) ? v : a;
    if constexpr (K == kNansum) return std::isnan(v) ? a : a + v;
    if constexpr (K == kNorm1) return a + std::fabs(v);
    if constexpr (K == kNorm2) return a + v * v;
    return a + v;  // sum, mean, _sum_to_like
  }
  // Joins two partial results (of combine).
  static double merge(double a, double b) {
    if constexpr (K == kProd) return a * b;
    if constexpr (K == kMax || K == kMin) return combine(a, b);
    return a + b;
  }
  static double finish(double a, double count) {
    if constexpr (K == kMean) return a / count;
    if constexpr (K == kNorm2) return std::sqrt(a);
    return a;
  }
};

constexpr int64_t kGrain = 32 * 1024;  // elements worth a parallel loop
constexpr int64_t kRBlocks = 64;       // fixed split of R for a full reduction

// Combines x[0], x[stride], ... (n of them) with 4 independent accumulators (vectorisable).
template <int K, typename S>
double combine_run(const S* x, int64_t n, int64_t stride) {
  using O = Op<K>;
  double a0 = O::init(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 = O::combine(a0, double(Elem<S>::load(x[i * stride])));
    a1 = O::combine(a1, double(Elem<S>::load(x[(i + 1) * stride])));
    a2 = O::combine(a2, double(Elem<S>::load(x[(i + 2) * stride])));
    a3 = O::combine(a3, double(Elem<S>::load(x[(i + 3) * stride])));
  }
  for (; i < n; ++i) a0 = O::combine(a0, double(Elem<S>::load(x[i * stride])));
  return O::merge(O::merge(a0, a1), O::merge(a2, a3));
}

template <int K, typename S>
void reduce_arb(const State& st, const S* x, S* y) {
  using O = Op<K>;
  const int64_t A = st.A, R = st.R, B = st.B;
  const double count = double(st.count);
  auto store = [&](int64_t at, double v) { y[at] = Elem<S>::store(static_cast<typename Elem<S>::C>(O::finish(v, count))); };
  const int64_t min_rows = std::max<int64_t>(1, kGrain / std::max<int64_t>(R * B, 1));
  if (B == 1 && A == 1 && R >= kGrain) {  // one output: fixed blocks of R, combined in order
    double part[kRBlocks];
    parallel_for(kRBlocks, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) {
        const int64_t b0 = R * t / kRBlocks, b1 = R * (t + 1) / kRBlocks;
        part[t] = combine_run<K>(x + b0, b1 - b0, 1);
      }
    });
    double v = O::init();
    for (double p : part) v = O::merge(v, p);
    store(0, v);
    return;
  }
  if (B == 1) {  // rows of A, each contiguous
    parallel_for(A, min_rows, [&](int64_t lo, int64_t hi) {
      for (int64_t a = lo; a < hi; ++a) store(a, combine_run<K>(x + a * R, R, 1));
    });
    return;
  }
  // B > 1: accumulate a row of B per a, vectorised over b; parallel over a, or over b when A is small.
  auto rows = [&](int64_t a, int64_t b0, int64_t b1) {
    std::vector<double> accv(static_cast<size_t>(b1 - b0), O::init());
    double* __restrict acc = accv.data();
    const int64_t nb = b1 - b0;
    auto ld = [](const S* p, int64_t i) { return double(Elem<S>::load(p[i])); };
    int64_t r = 0;
    for (; r + 4 <= R; r += 4) {  // four rows per pass over the accumulators
      const S* __restrict r0 = x + (a * R + r) * B + b0;
      const S* __restrict r1 = r0 + B;
      const S* __restrict r2 = r1 + B;
      const S* __restrict r3 = r2 + B;
      for (int64_t b = 0; b < nb; ++b)
        acc[b] = O::combine(O::combine(O::combine(O::combine(acc[b], ld(r0, b)), ld(r1, b)), ld(r2, b)), ld(r3, b));
    }
    for (; r < R; ++r) {
      const S* __restrict row = x + (a * R + r) * B + b0;
      for (int64_t b = 0; b < nb; ++b) acc[b] = O::combine(acc[b], ld(row, b));
    }
    for (int64_t b = 0; b < nb; ++b) store(a * B + b0 + b, acc[b]);
  };
  if (A >= 8 || A * R * B < kGrain) {
    parallel_for(A, min_rows, [&](int64_t lo, int64_t hi) {
      for (int64_t a = lo; a < hi; ++a) rows(a, 0, B);
    });
  } else {
    for (int64_t a = 0; a < A; ++a)
      parallel_for(B, std::max<int64_t>(16, kGrain / std::max<int64_t>(R, 1)), [&](int64_t lo, int64_t hi) { rows(a, lo, hi); });
  }
}

// ---- sums over (R1, K, R2) (a bias gradient: sum / mean / _sum_to_like over N and H, W): 16
// double lanes per output, element i of each run into lane i % 16, merged in one fixed tree at
// the end, so GCC vectorises the loads, the widening and the adds (the generic combine_run is one
// scalar add per element), and the result does not depend on the thread count.

constexpr int kLanes = 16;

template <typename S>
void add_run(double* __restrict lanes, const S* __restrict x, int64_t n) {
  double l[kLanes];
  for (int j = 0; j < kLanes; ++j) l[j] = lanes[j];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) l[j] += double(Elem<S>::load(x[i + j]));
  for (int j = 0; i < n; ++i, ++j) l[j] += double(Elem<S>::load(x[i]));
  for (int j = 0; j < kLanes; ++j) lanes[j] = l[j];
}

double merge_lanes(double* lanes) {
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) lanes[j] += lanes[j + w];
  return lanes[0];
}

constexpr bool is_sum(int k) { return k == kSum || k == kMean || k == kSumToLike; }

template <int K, typename S>
void reduce_rkr(const State& st, const S* x, S* y) {
  using O = Op<K>;
  const int64_t R1 = st.R1, KK = st.K, R2 = st.R2;
  const double count = double(st.count);
  if constexpr (is_sum(K)) {
    parallel_for(KK, std::max<int64_t>(1, kGrain / std::max<int64_t>(R1 * R2, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t k = lo; k < hi; ++k) {
        double lanes[kLanes] = {};
        for (int64_t a = 0; a < R1; ++a) add_run(lanes, x + (a * KK + k) * R2, R2);
        y[k] = Elem<S>::store(static_cast<typename Elem<S>::C>(O::finish(merge_lanes(lanes), count)));
      }
    });
    return;
  }
  // Each output combines its R1 contiguous runs of R2 in order: the result does not depend on
  // the thread count.
  parallel_for(KK, std::max<int64_t>(1, kGrain / std::max<int64_t>(R1 * R2, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      double v = O::init();
      for (int64_t a = 0; a < R1; ++a) v = O::merge(v, combine_run<K>(x + (a * KK + k) * R2, R2, 1));
      y[k] = Elem<S>::store(static_cast<typename Elem<S>::C>(O::finish(v, count)));
    }
  });
}

// Calls f(std::integral_constant<int, K>{}) for the kinds the fast paths handle; false for others.
template <typename F>
bool with_fast_kind(int kind, F&& f) {
  switch (kind) {
    case kSum: f(std::integral_constant<int, kSum>{}); return true;
    case kMean: f(std::integral_constant<int, kMean>{}); return true;
    case kProd: f(std::integral_constant<int, kProd>{}); return true;
    case kMax: f(std::integral_constant<int, kMax>{}); return true;
    case kMin: f(std::integral_constant<int, kMin>{}); return true;
    case kNansum: f(std::integral_constant<int, kNansum>{}); return true;
    case kNorm1: f(std::integral_constant<int, kNorm1>{}); return true;
    case kNorm2: f(std::integral_constant<int, kNorm2>{}); return true;
    case kSumToLike: f(std::integral_constant<int, kSumToLike>{}); return true;
  }
  return false;
}

// The (A, R, B) or (R1, K, R2) path when the state has one; false when neither applies.
template <typename S>
bool try_fast(const State& st, const S* x, S* y) {
  if (st.arb) return with_fast_kind(st.kind, [&](auto k) { reduce_arb<decltype(k)::value>(st, x, y); });
  if (st.rkr) return with_fast_kind(st.kind, [&](auto k) { reduce_rkr<decltype(k)::value>(st, x, y); });
  return false;
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* x = reinterpret_cast<const S*>(data_of(in[0]));
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    if (!try_fast<S>(st, x, y)) reduce<S>(st, x, y, numel(out[0]));
  });
  return 0;
}

void destroy(void* s) { delete static_cast<State*>(s); }

const mx_kernel kReduceKernels[] = {
    kernel("sum", create<kSum>, run, destroy),
    kernel("mean", create<kMean>, run, destroy),
    kernel("prod", create<kProd>, run, destroy),
    kernel("max", create<kMax>, run, destroy),
    kernel("min", create<kMin>, run, destroy),
    kernel("nansum", create<kNansum>, run, destroy),
    kernel("norm", create<kNorm2>, run, destroy),
    kernel("argmax", create<kArgmax>, run, destroy),
    kernel("argmin", create<kArgmin>, run, destroy),
    kernel("argmax_channel", create_argmax_channel, run, destroy),
    kernel("_sum_to_like", create<kSumToLike>, run, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kReduceKernels);

}  // namespace
}  // namespace mxcpu
