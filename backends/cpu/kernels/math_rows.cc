// The math family (core/op/defs/math.cc), the ops that are not one element in, one out: softmin
// (rows along an axis, with an optional length input), nanprod (a reduction over any axes),
// all_finite / multi_all_finite and the AMP casts (amp_cast, amp_multicast).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

template <typename S>
double load_d(const S* p, int64_t i) {
  return double(Elem<S>::load(p[i]));
}
template <typename S>
void store_d(S* p, int64_t i, double v) {
  p[i] = Elem<S>::store(static_cast<typename Elem<S>::C>(v));
}

int unsupported(const mx_kernel_args* args, const DLTensor& t) { return mxcpu::unsupported(args, dtype_flag(t.dtype)); }

// ---------------------------------------------------------------- softmin

struct SoftminState {
  int64_t outer = 1, n = 1, inner = 1;
  double temperature;
  int32_t in_dtype, out_dtype, len_dtype = -1;
};

int softmin_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  auto* st = new SoftminState{};
  int axis = int(attr_int(args, "axis"));
  if (axis < 0) axis += x.ndim;
  for (int d = 0; d < x.ndim; ++d) (d < axis ? st->outer : d == axis ? st->n : st->inner) *= x.shape[d];
  st->temperature = attr_float(args, "temperature");
  st->in_dtype = dtype_flag(x.dtype);
  st->out_dtype = dtype_flag(args->outputs[0].dtype);
  if (args->num_inputs == 2) st->len_dtype = dtype_flag(args->inputs[1].dtype);
  const bool ok = dispatch_float(st->in_dtype, [](auto) {}) && dispatch_float(st->out_dtype, [](auto) {}) &&
                  (st->len_dtype < 0 || dispatch_numeric(st->len_dtype, [](auto) {}));
  if (!ok) {
    delete st;
    return unsupported(args, x);
  }
  *out = st;
  return 0;
}

// One row: positions j < valid of x[base + j * inner] get exp(-x / T) / sum, the rest 0.
template <typename S, typename O>
void softmin_row(const SoftminState& st, const S* x, O* y, int64_t base, int64_t valid) {
  double lo = HUGE_VAL, sum = 0;
  for (int64_t j = 0; j < valid; ++j) lo = std::min(lo, load_d(x, base + j * st.inner));
  for (int64_t j = 0; j < valid; ++j) sum += std::exp((lo - load_d(x, base + j * st.inner)) / st.temperature);
  for (int64_t j = 0; j < st.n; ++j) {
    const int64_t at = base + j * st.inner;
    store_d(y, at, j < valid ? std::exp((lo - load_d(x, at)) / st.temperature) / sum : 0.0);
  }
}

int softmin_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const SoftminState*>(state);
  dispatch_float(st.in_dtype, [&](auto xt) {
    dispatch_float(st.out_dtype, [&](auto yt) {
      using S = decltype(xt);
      using O = decltype(yt);
      const S* x = reinterpret_cast<const S*>(data_of(in[0]));
      O* y = reinterpret_cast<O*>(data_of(out[0]));
      auto valid_of = [&](int64_t row) -> int64_t {  // row = o * inner + i: the length array's index
        if (st.len_dtype < 0) return st.n;
        double v = 0;
        dispatch_numeric(st.len_dtype, [&](auto lt) {
          using L = decltype(lt);
          v = load_d(reinterpret_cast<const L*>(data_of(in[1])), row);
        });
        return v <= 0 ? 0 : (v >= double(st.n) ? st.n : int64_t(v));
      };
      parallel_for(st.outer * st.inner, 256, [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
          const int64_t o = row / st.inner, i = row % st.inner;
          softmin_row(st, x, y, o * st.n * st.inner + i, valid_of(row));
        }
      });
    });
  });
  return 0;
}

void softmin_destroy(void* s) { delete static_cast<SoftminState*>(s); }

// ---------------------------------------------------------------- nanprod

struct NanprodState {
  int32_t dtype;
  std::vector<int64_t> shape, out_stride;  // out_stride 0 on reduced axes
};

int nanprod_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  if (!dispatch_float(dtype_flag(x.dtype), [](auto) {})) return unsupported(args, x);
  const char* axis_attr = attr(args, "axis");
  const bool all = std::strcmp(axis_attr, "None") == 0 || *axis_attr == '\0';
  std::vector<bool> reduced(size_t(x.ndim), all);
  if (!all) {
    for (int64_t a : attr_ints(axis_attr)) reduced[size_t(a < 0 ? a + x.ndim : a)] = true;
    if (attr_bool(args, "exclude")) reduced.flip();
  }
  auto* st = new NanprodState{dtype_flag(x.dtype), {}, {}};
  st->shape.assign(x.shape, x.shape + x.ndim);
  st->out_stride.assign(size_t(x.ndim), 0);
  int64_t s = 1;
  for (int d = x.ndim - 1; d >= 0; --d)
    if (!reduced[size_t(d)]) st->out_stride[size_t(d)] = s, s *= x.shape[d];
  *out = st;
  return 0;
}

// One pass over the input in row-major order, multiplying each non-NaN element into its output
// slot (accumulated in double); the slot is tracked with an odometer over the coordinates.
int nanprod_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const NanprodState*>(state);
  dispatch_float(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* x = reinterpret_cast<const S*>(data_of(in[0]));
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    std::vector<double> acc(size_t(numel(out[0])), 1.0);
    std::vector<int64_t> coord(st.shape.size(), 0);
    const int64_t n = numel(in[0]);
    int64_t slot = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = load_d(x, i);
      if (!std::isnan(v)) acc[size_t(slot)] *= v;
      for (int d = int(st.shape.size()) - 1; d >= 0; --d) {  // next coordinate
        const size_t k = size_t(d);
        slot += st.out_stride[k];
        if (++coord[k] < st.shape[k]) break;
        slot -= st.out_stride[k] * coord[k];
        coord[k] = 0;
      }
    }
    for (size_t j = 0; j < acc.size(); ++j) store_d(y, int64_t(j), acc[j]);
  });
  return 0;
}

void nanprod_destroy(void* s) { delete static_cast<NanprodState*>(s); }

// ---------------------------------------------------------------- all_finite, multi_all_finite

struct FiniteState {
  bool init_output;
};

int finite_create(const mx_kernel_args* args, void** out) {
  for (int32_t i = 0; i < args->num_inputs; ++i)
    if (!dispatch_float(dtype_flag(args->inputs[i].dtype), [](auto) {})) return unsupported(args, args->inputs[i]);
  *out = new FiniteState{attr_bool(args, "init_output")};
  return 0;
}

// out[0] = 1 (init_output) and then 0 if any element of any input is not finite.
int finite_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t nin, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const FiniteState*>(state);
  float* flag = reinterpret_cast<float*>(data_of(out[0]));
  bool finite = true;
  for (int32_t k = 0; k < nin && finite; ++k)
    dispatch_float(dtype_flag(in[k].dtype), [&](auto tag) {
      using S = decltype(tag);
      const S* x = reinterpret_cast<const S*>(data_of(in[k]));
      const int64_t n = numel(in[k]);
      for (int64_t i = 0; i < n && finite; ++i) finite = std::isfinite(load_d(x, i));
    });
  if (st.init_output) *flag = 1.0f;
  if (!finite) *flag = 0.0f;
  return 0;
}

void finite_destroy(void* s) { delete static_cast<FiniteState*>(s); }

// ---------------------------------------------------------------- amp_cast, amp_multicast

// Output i = input i converted to output i's dtype (equal dtypes: a copy); in place is fine.
int amp_create(const mx_kernel_args* args, void** out) {
  for (int32_t i = 0; i < args->num_inputs; ++i)
    if (!dispatch_all(dtype_flag(args->inputs[i].dtype), [](auto) {}) ||
        !dispatch_all(dtype_flag(args->outputs[i].dtype), [](auto) {}))
      return unsupported(args, args->inputs[i]);
  *out = new int(0);  // no state to keep
  return 0;
}

int amp_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t nin, DLTensor* out, int32_t) {
  for (int32_t k = 0; k < nin; ++k) {
    const int64_t n = numel(in[k]);
    if (in[k].dtype.code == out[k].dtype.code && in[k].dtype.bits == out[k].dtype.bits) {
      if (data_of(in[k]) != data_of(out[k])) std::memmove(data_of(out[k]), data_of(in[k]), size_t(n * elem_bytes(in[k])));
      continue;
    }
    dispatch_all(dtype_flag(in[k].dtype), [&](auto xt) {
      dispatch_all(dtype_flag(out[k].dtype), [&](auto yt) {
        using S = decltype(xt);
        using O = decltype(yt);
        const S* x = reinterpret_cast<const S*>(data_of(in[k]));
        O* y = reinterpret_cast<O*>(data_of(out[k]));
        for (int64_t i = 0; i < n; ++i) store_d(y, i, load_d(x, i));
      });
    });
  }
  return 0;
}

void amp_destroy(void* s) { delete static_cast<int*>(s); }

const mx_kernel kMathRowKernels[] = {
    kernel("softmin", softmin_create, softmin_run, softmin_destroy),
    kernel("nanprod", nanprod_create, nanprod_run, nanprod_destroy),
    kernel("all_finite", finite_create, finite_run, finite_destroy),
    kernel("multi_all_finite", finite_create, finite_run, finite_destroy),
    kernel("amp_cast", amp_create, amp_run, amp_destroy),
    kernel("amp_multicast", amp_create, amp_run, amp_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kMathRowKernels);

}  // namespace
}  // namespace mxcpu
