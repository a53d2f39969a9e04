// The lookup family (core/op/defs/lookup.cc): _ravel_multi_index / _unravel_index (index
// arithmetic in the data's dtype), batch_take / fill_element_0index (one element per row, indices
// clipped into the row), _onehot_encode, _histogram (counts in int64 and the edges), moments
// (two passes in double: the mean, then the mean squared deviation).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../cpu_backend.h"
#include "layout.h"

namespace mxcpu {
namespace {

// Integer values of an index tensor of any numeric dtype (truncated towards zero, as a C cast).
bool read_indices(const DLTensor& t, std::vector<int64_t>& out) {
  const int64_t n = numel(t);
  out.resize(size_t(n));
  return dispatch_numeric(dtype_flag(t.dtype), [&](auto tag) {
    using I = decltype(tag);
    const I* p = reinterpret_cast<const I*>(data_of(t));
    for (int64_t i = 0; i < n; ++i) {
      const double v = double(Elem<I>::load(p[i]));
      out[size_t(i)] = std::isfinite(v) ? int64_t(std::max(-9.2e18, std::min(9.2e18, v))) : 0;
    }
  });
}

int64_t clip_index(int64_t k, int64_t len) { return std::min<int64_t>(std::max<int64_t>(k, 0), len - 1); }

// ---------------------------------------------------------------- ravel / unravel

struct IndexPlan {
  std::vector<int64_t> shape;
};

void index_destroy(void* s) { delete static_cast<IndexPlan*>(s); }

int index_create(const mx_kernel_args* args, void** out) {
  *out = new IndexPlan{attr_ints(attr(args, "shape"))};
  return 0;
}

template <bool RAVEL>
int index_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const std::vector<int64_t>& shape = static_cast<const IndexPlan*>(state)->shape;
  const int64_t m = int64_t(shape.size()), n = RAVEL ? in[0].shape[1] : in[0].shape[0];
  std::vector<int64_t> idx;
  if (!read_indices(in[0], idx)) return error(MX_ERR_UNSUPPORTED, "ravel_multi_index: unsupported dtype on cpu");
  dispatch_numeric(dtype_flag(out[0].dtype), [&](auto tag) {
    using S = decltype(tag);
    using C = typename Elem<S>::C;
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    for (int64_t j = 0; j < n; ++j) {
      if (RAVEL) {  // row-major: ((i0 * s1 + i1) * s2 + i2) ...
        uint64_t flat = 0;  // wraps rather than overflows on absurd coordinates
        for (int64_t k = 0; k < m; ++k) flat = flat * uint64_t(shape[size_t(k)]) + uint64_t(idx[size_t(k * n + j)]);
        y[j] = Elem<S>::store(C(int64_t(flat)));
      } else {  // the remainders, last dim first (the first coordinate wraps too, as MXNet's)
        int64_t flat = idx[size_t(j)];
        for (int64_t k = m - 1; k >= 0; --k) {
          y[k * n + j] = Elem<S>::store(C(flat % shape[size_t(k)]));
          flat /= shape[size_t(k)];
        }
      }
    }
  });
  return 0;
}

// ---------------------------------------------------------------- one element per row

int none_create(const mx_kernel_args*, void** out) {
  *out = nullptr;
  return 0;
}

// batch_take: out[i] = a[i, clip(indices[i])], rows along a's last axis.
int batch_take_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  std::vector<int64_t> idx;
  if (!read_indices(in[1], idx)) return error(MX_ERR_UNSUPPORTED, "batch_take: unsupported index dtype on cpu");
  const int64_t m = in[0].shape[in[0].ndim - 1], eb = elem_bytes(in[0]);
  const char* a = data_of(in[0]);
  char* y = data_of(out[0]);
  for (size_t i = 0; i < idx.size(); ++i)
    std::memcpy(y + int64_t(i) * eb, a + (int64_t(i) * m + clip_index(idx[i], m)) * eb, size_t(eb));
  return 0;
}

// fill_element_0index: out = lhs, then out[i, clip(rhs[i])] = mhs[i].
int fill_element_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  std::vector<int64_t> idx;
  if (!read_indices(in[2], idx)) return error(MX_ERR_UNSUPPORTED, "fill_element_0index: unsupported index dtype on cpu");
  const int64_t m = in[0].shape[1], eb = elem_bytes(in[0]);
  char* y = data_of(out[0]);
  if (y != data_of(in[0])) std::memcpy(y, data_of(in[0]), size_t(numel(in[0]) * eb));
  const char* v = data_of(in[1]);
  for (size_t i = 0; i < idx.size(); ++i)
    std::memcpy(y + (int64_t(i) * m + clip_index(idx[i], m)) * eb, v + int64_t(i) * eb, size_t(eb));
  return 0;
}

// _onehot_encode: rows of out's width K with a 1 at each index (none for an index outside [0, K)).
int onehot_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  std::vector<int64_t> idx;
  if (!read_indices(in[0], idx)) return error(MX_ERR_UNSUPPORTED, "onehot_encode: unsupported index dtype on cpu");
  const int64_t k = out[0].shape[1];
  const bool ok = dispatch_all(dtype_flag(out[0].dtype), [&](auto tag) {
    using S = decltype(tag);
    using C = typename Elem<S>::C;
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    std::fill(y, y + numel(out[0]), Elem<S>::store(C(0)));
    for (size_t i = 0; i < idx.size(); ++i)
      if (idx[i] >= 0 && idx[i] < k) y[int64_t(i) * k + idx[i]] = Elem<S>::store(C(1));
  });
  return ok ? 0 : error(MX_ERR_UNSUPPORTED, "onehot_encode: unsupported dtype on cpu");
}

// ---------------------------------------------------------------- _histogram

struct HistogramPlan {
  int64_t bins = 0;  // 0: edges come from the bins input
  double lo = 0, hi = 0;
};

void histogram_destroy(void* s) { delete static_cast<HistogramPlan*>(s); }

int histogram_create(const mx_kernel_args* args, void** out) {
  auto* p = new HistogramPlan{};
  const auto cnt = attr_ints(attr(args, "bin_cnt"));
  if (!cnt.empty()) {
    p->bins = cnt[0];
    const char* s = attr(args, "range");
    while (*s == '(' || *s == '[' || *s == ' ') ++s;
    char* end = nullptr;
    p->lo = std::strtod(s, &end);
    s = end;
    while (*s == ',' || *s == ' ') ++s;
    p->hi = std::strtod(s, nullptr);
    if (p->lo == p->hi) {  // numpy's (and MXNet's) widening of an empty range
      p->lo -= 0.5;
      p->hi += 0.5;
    }
  }
  *out = p;
  return 0;
}

int histogram_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const HistogramPlan& p = *static_cast<const HistogramPlan*>(state);
  const bool ok = dispatch_numeric(dtype_flag(in[0].dtype), [&](auto tag) {
    using S = decltype(tag);
    using C = typename Elem<S>::C;
    const S* x = reinterpret_cast<const S*>(data_of(in[0]));
    S* edges_out = reinterpret_cast<S*>(data_of(out[1]));
    const int64_t bins = p.bins ? p.bins : in[1].shape[0] - 1;
    std::vector<double> e(size_t(bins + 1));
    for (int64_t i = 0; i <= bins; ++i) {
      // numpy's edges (lo + i * step); a range too wide for its step to be finite uses lo (1 - t) + hi t.
      const double step = (p.hi - p.lo) / double(bins), t = double(i) / double(bins);
      const double edge = i == bins ? p.hi : std::isfinite(step) ? p.lo + double(i) * step : p.lo * (1 - t) + p.hi * t;
      if (p.bins) edges_out[i] = Elem<S>::store(C(edge));
      else edges_out[i] = reinterpret_cast<const S*>(data_of(in[1]))[i];
      e[size_t(i)] = double(Elem<S>::load(edges_out[i]));
    }
    int64_t* counts = reinterpret_cast<int64_t*>(data_of(out[0]));
    std::fill(counts, counts + bins, int64_t(0));
    for (int64_t j = 0; j < numel(in[0]); ++j) {
      const double v = double(Elem<S>::load(x[j]));
      if (!(v >= e[0] && v <= e[size_t(bins)])) continue;  // outside, or NaN
      // Bin i holds [e[i], e[i+1]), the last one its right edge too.
      const int64_t b = int64_t(std::upper_bound(e.begin(), e.end(), v) - e.begin()) - 1;
      ++counts[std::min(std::max<int64_t>(b, 0), bins - 1)];
    }
  });
  return ok ? 0 : error(MX_ERR_UNSUPPORTED, "histogram: unsupported dtype on cpu");
}

// ---------------------------------------------------------------- moments

struct MomentsPlan {
  std::vector<bool> reduced;
};

void moments_destroy(void* s) { delete static_cast<MomentsPlan*>(s); }

int moments_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const char* axes = attr(args, "axes");
  auto* p = new MomentsPlan{std::vector<bool>(size_t(x.ndim), std::strcmp(axes, "None") == 0)};
  for (int64_t a : attr_ints(axes)) p->reduced[size_t(norm_axis(a, x.ndim))] = true;
  *out = p;
  return 0;
}

int moments_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const MomentsPlan& p = *static_cast<const MomentsPlan*>(state);
  const DLTensor& x = in[0];
  const int64_t n = numel(x), m = numel(out[0]);
  // Output slot of each input element: its coordinates on the kept axes, row-major.
  std::vector<int64_t> slot(static_cast<size_t>(n)), coord(static_cast<size_t>(x.ndim), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t o = 0;
    for (int d = 0; d < x.ndim; ++d)
      if (!p.reduced[size_t(d)]) o = o * x.shape[d] + coord[size_t(d)];
    slot[size_t(i)] = o;
    for (int d = x.ndim - 1; d >= 0; --d) {
      if (++coord[size_t(d)] < x.shape[d]) break;
      coord[size_t(d)] = 0;
    }
  }
  const double count = m ? double(n) / double(m) : 1;
  const bool ok = dispatch_float(dtype_flag(x.dtype), [&](auto tag) {
    using S = decltype(tag);
    using C = typename Elem<S>::C;
    const S* v = reinterpret_cast<const S*>(data_of(x));
    std::vector<double> mean(size_t(m), 0.0), var(size_t(m), 0.0);
    for (int64_t i = 0; i < n; ++i) mean[size_t(slot[size_t(i)])] += double(Elem<S>::load(v[i]));
    for (double& s : mean) s /= count;
    for (int64_t i = 0; i < n; ++i) {
      const double dev = double(Elem<S>::load(v[i])) - mean[size_t(slot[size_t(i)])];
      var[size_t(slot[size_t(i)])] += dev * dev;
    }
    S* ym = reinterpret_cast<S*>(data_of(out[0]));
    S* yv = reinterpret_cast<S*>(data_of(out[1]));
    for (int64_t j = 0; j < m; ++j) {
      ym[j] = Elem<S>::store(C(mean[size_t(j)]));
      yv[j] = Elem<S>::store(C(var[size_t(j)] / count));
    }
  });
  return ok ? 0 : error(MX_ERR_UNSUPPORTED, "moments: unsupported dtype on cpu");
}

const mx_kernel kLookupKernels[] = {
    kernel("_ravel_multi_index", index_create, index_run<true>, index_destroy),
    kernel("_unravel_index", index_create, index_run<false>, index_destroy),
    kernel("batch_take", none_create, batch_take_run, no_destroy),
    kernel("fill_element_0index", none_create, fill_element_run, no_destroy),
    kernel("_onehot_encode", none_create, onehot_run, no_destroy),
    kernel("_histogram", histogram_create, histogram_run, histogram_destroy),
    kernel("moments", moments_create, moments_run, moments_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kLookupKernels);

}  // namespace
}  // namespace mxcpu
