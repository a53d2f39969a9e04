// Reductions over any set of axes, and _sum_to_like. One pass over the (contiguous) input: each
// element is combined into its output slot, found through output strides that are 0 on reduced
// axes. Accumulation is in double (exact for integer sums up to 2^53), rounded once at the end.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "dispatch.h"
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
};


int create_kind(const mx_kernel_args* args, void** out, int kind) {
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
    const char* axis_attr = attr(args, "axis");
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
  *out = st;
  return 0;
}

template <int K>
int create(const mx_kernel_args* args, void** out) {
  return create_kind(args, out, K);
}

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

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    reduce<S>(st, reinterpret_cast<const S*>(data_of(in[0])), reinterpret_cast<S*>(data_of(out[0])), numel(out[0]));
  });
  return 0;
}

void destroy(void* s) { delete static_cast<State*>(s); }

}  // namespace

const mx_kernel kReduceKernels[] = {
    {sizeof(mx_kernel), "sum", create<kSum>, run, destroy},
    {sizeof(mx_kernel), "mean", create<kMean>, run, destroy},
    {sizeof(mx_kernel), "prod", create<kProd>, run, destroy},
    {sizeof(mx_kernel), "max", create<kMax>, run, destroy},
    {sizeof(mx_kernel), "min", create<kMin>, run, destroy},
    {sizeof(mx_kernel), "nansum", create<kNansum>, run, destroy},
    {sizeof(mx_kernel), "norm", create<kNorm2>, run, destroy},
    {sizeof(mx_kernel), "argmax", create<kArgmax>, run, destroy},
    {sizeof(mx_kernel), "argmin", create<kArgmin>, run, destroy},
    {sizeof(mx_kernel), "_sum_to_like", create<kSumToLike>, run, destroy},
    {0, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace mxcpu
