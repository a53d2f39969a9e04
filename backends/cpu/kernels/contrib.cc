// The contrib family (core/op/defs/contrib.cc): _contrib_index_copy, _contrib_index_array,
// _contrib_div_sqrt_dim, _contrib_quadratic, and the interleaved attention products with their
// _backward_ ops. The products are strided batched GEMMs: the (batch, head) matrices are read in
// place from the interleaved layouts through leading dimensions, one GEMM per (batch, head).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../gemm.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

// ---------------------------------------------------------------- elementwise

struct Scalars {
  int32_t dtype;
  double a, b, c;
};

int create_scalars(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_float(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) + " on cpu");
  *out = new Scalars{dt, attr_float(args, "a"), attr_float(args, "b"), attr_float(args, "c")};
  return 0;
}
void destroy_scalars(void* s) { delete static_cast<Scalars*>(s); }

// y[i] = f(x[i]) in the compute type (float for the 16-bit types); in place allowed.
template <typename F>
void map_float(int32_t dtype, const DLTensor& x, DLTensor& y, F f) {
  dispatch_float(dtype, [&](auto tag) {
    using S = decltype(tag);
    using E = Elem<S>;
    const S* in = reinterpret_cast<const S*>(data_of(x));
    S* o = reinterpret_cast<S*>(data_of(y));
    parallel_for(numel(y), 1 << 15, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = E::store(f(E::load(in[i])));
    });
  });
}

int run_div_sqrt_dim(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Scalars& s = *static_cast<const Scalars*>(state);
  const double scale = 1.0 / std::sqrt(double(in[0].shape[in[0].ndim - 1]));
  map_float(s.dtype, in[0], out[0], [&](auto v) { return decltype(v)(v * decltype(v)(scale)); });
  return 0;
}

int run_quadratic(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Scalars& s = *static_cast<const Scalars*>(state);
  map_float(s.dtype, in[0], out[0], [&](auto v) {
    using T = decltype(v);
    return T((T(s.a) * v + T(s.b)) * v + T(s.c));
  });
  return 0;
}

// ---------------------------------------------------------------- index_copy / index_array

// Element i of any numeric index array, truncated to an integer; -1 (out of range for every
// array) for NaN and values beyond int64.
int64_t index_at(const DLTensor& t, int64_t i) {
  double v = -1;
  dispatch_numeric(dtype_flag(t.dtype), [&](auto tag) {
    using S = decltype(tag);
    v = double(Elem<S>::load(reinterpret_cast<const S*>(data_of(t))[i]));
  });
  return v >= -9.2e18 && v <= 9.2e18 ? int64_t(v) : -1;
}

int create_plain(const mx_kernel_args*, void** out) {
  *out = nullptr;
  return 0;
}
void destroy_plain(void*) {}

int run_index_copy(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const DLTensor &old = in[0], &idx = in[1], &nw = in[2];
  const int64_t rows = old.shape[0], m = idx.shape[0];
  const int64_t row_bytes = rows ? numel(old) / rows * elem_bytes(old) : 0;
  for (int64_t i = 0; i < m; ++i) {
    const int64_t r = index_at(idx, i);
    if (r < 0 || r >= rows)
      return error(MX_ERR_INVALID_ARGUMENT, "_contrib_index_copy: index_vector[" + std::to_string(i) + "] = " +
                                                std::to_string(r) + " is out of range for old_tensor's " +
                                                std::to_string(rows) + " rows");
  }
  char* y = data_of(out[0]);
  if (y != data_of(old)) std::memcpy(y, data_of(old), size_t(numel(old) * elem_bytes(old)));
  for (int64_t i = 0; i < m; ++i)  // in order: a repeated index keeps the last row, as MXNet
    std::memcpy(y + index_at(idx, i) * row_bytes, data_of(nw) + i * row_bytes, size_t(row_bytes));
  return 0;
}

// The selected axes, resolved against data's ndim (attrs "None": every axis).
struct IndexAxes {
  std::vector<int64_t> axes;
};

int create_index_array(const mx_kernel_args* args, void** out) {
  auto* st = new IndexAxes{};
  const int nd = args->inputs[0].ndim;
  if (std::strcmp(attr(args, "axes"), "None") == 0)
    for (int d = 0; d < nd; ++d) st->axes.push_back(d);
  else
    for (int64_t a : attr_ints(attr(args, "axes"))) st->axes.push_back(a < 0 ? a + nd : a);
  *out = st;
  return 0;
}
void destroy_index_array(void* s) { delete static_cast<IndexAxes*>(s); }

int run_index_array(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const std::vector<int64_t>& axes = static_cast<const IndexAxes*>(state)->axes;
  const DLTensor& d = in[0];
  const int64_t k = int64_t(axes.size());
  int64_t* y = reinterpret_cast<int64_t*>(data_of(out[0]));
  parallel_for(numel(d), 1 << 14, [&](int64_t b, int64_t e) {
    std::vector<int64_t> coord(static_cast<size_t>(d.ndim));
    for (int64_t i = b; i < e; ++i) {
      for (int64_t r = i, a = d.ndim - 1; a >= 0; --a) coord[size_t(a)] = r % d.shape[a], r /= d.shape[a];
      for (int64_t j = 0; j < k; ++j) y[i * k + j] = coord[size_t(axes[size_t(j)])];
    }
  });
  return 0;
}

// ---------------------------------------------------------------- interleaved attention products

// The matrix of attention batch i (= b * heads + h) inside a buffer: at base + i * step, rows
// `ld` elements apart.
template <typename T>
struct Strided {
  T* base;
  int64_t step, ld;
  T* at(int64_t i) const { return base + i * step; }
};

// For every attention batch i: C_i = alpha * op(A_i) op(B_i), C_i (m x n), accumulating into C_i
// when `accumulate`. One GEMM per batch, in parallel over the batches.
template <typename T>
void batched(int64_t batches, bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, Strided<const T> a,
             Strided<const T> b, Strided<T> c, bool accumulate = false) {
  parallel_for(batches, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      if (k == 0) {
        if (!accumulate)
          for (int64_t r = 0; r < m; ++r) std::fill(c.at(i) + r * c.ld, c.at(i) + r * c.ld + n, T(0));
      } else {
        gemm<T>(ta, tb, m, n, k, alpha, a.at(i), a.ld, b.at(i), b.ld, accumulate ? T(1) : T(0), c.at(i), c.ld);
      }
  });
}

enum Product : int { kSelfQk, kSelfValAtt, kEncDecQk, kEncDecValAtt };

struct Interleaved {
  int32_t dtype;
  int64_t heads;
};

int create_interleaved(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64)
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) +
                                         " on cpu (float32, float64)");
  *out = new Interleaved{dt, attr_int(args, "heads")};
  return 0;
}
void destroy_interleaved(void* s) { delete static_cast<Interleaved*>(s); }

template <typename T>
const T* cptr(const DLTensor& t) {
  return reinterpret_cast<const T*>(data_of(t));
}
template <typename T>
T* mptr(const DLTensor& t) {
  return reinterpret_cast<T*>(data_of(t));
}

// Forward products. Shapes: qkv (L, B, H*3*D); q (Lq, B, H*D); kv (Lk, B, H*2*D); att (B*H, Lq, Lk).
template <int P, typename T>
void forward(int64_t heads, const DLTensor* in, DLTensor& out) {
  const DLTensor& x = in[0];  // qkv, q or kv
  const int64_t len = x.shape[0], batch = x.shape[1], nb = batch * heads;
  const int64_t parts = P == kSelfQk || P == kSelfValAtt ? 3 : P == kEncDecValAtt ? 2 : 1;
  const int64_t d = x.shape[2] / (parts * heads), ld = nb * parts * d;
  const T scale = T(1) / std::sqrt(T(d));
  if (P == kSelfQk) {  // q_i k_i^T / sqrt(d)
    const Strided<const T> q{cptr<T>(x), parts * d, ld}, k{cptr<T>(x) + d, parts * d, ld};
    batched<T>(nb, false, true, len, len, d, scale, q, k, {mptr<T>(out), len * len, len});
  } else if (P == kEncDecQk) {
    const DLTensor& kv = in[1];
    const int64_t lk = kv.shape[0];
    const Strided<const T> q{cptr<T>(x), d, ld}, k{cptr<T>(kv), 2 * d, nb * 2 * d};
    batched<T>(nb, false, true, len, lk, d, scale, q, k, {mptr<T>(out), len * lk, lk});
  } else {  // att_i v_i, written to (Lq, B, H*D)
    const DLTensor& att = in[1];
    const int64_t lq = att.shape[1];
    const Strided<const T> v{cptr<T>(x) + (parts - 1) * d, parts * d, ld}, a{cptr<T>(att), lq * len, len};
    batched<T>(nb, false, false, lq, d, len, T(1), a, v, {mptr<T>(out), d, nb * d});
  }
}

// Backward: in = (out_grad, forward inputs...), out = one gradient per forward input.
template <int P, typename T>
void backward(int64_t heads, const DLTensor* in, DLTensor* out) {
  const DLTensor &og = in[0], &x = in[1];
  const int64_t len = x.shape[0], batch = x.shape[1], nb = batch * heads;
  const int64_t parts = P == kSelfQk || P == kSelfValAtt ? 3 : P == kEncDecValAtt ? 2 : 1;
  const int64_t d = x.shape[2] / (parts * heads), ld = nb * parts * d;
  const T scale = T(1) / std::sqrt(T(d));
  const T* g = cptr<T>(og);
  if (P == kSelfQk) {  // dq = g k / sqrt(d), dk = g^T q / sqrt(d), dv = 0
    T* dx = mptr<T>(out[0]);
    std::fill(dx, dx + numel(out[0]), T(0));
    const Strided<const T> q{cptr<T>(x), parts * d, ld}, k{cptr<T>(x) + d, parts * d, ld}, gs{g, len * len, len};
    batched<T>(nb, false, false, len, d, len, scale, gs, k, {dx, parts * d, ld});
    batched<T>(nb, true, false, len, d, len, scale, gs, q, {dx + d, parts * d, ld});
  } else if (P == kEncDecQk) {  // dq = g k / sqrt(d); dkv: k part g^T q / sqrt(d), v part 0
    const DLTensor& kv = in[2];
    const int64_t lk = kv.shape[0], ldkv = nb * 2 * d;
    T* dkv = mptr<T>(out[1]);
    std::fill(dkv, dkv + numel(out[1]), T(0));
    const Strided<const T> q{cptr<T>(x), d, ld}, k{cptr<T>(kv), 2 * d, ldkv}, gs{g, len * lk, lk};
    batched<T>(nb, false, false, len, d, lk, scale, gs, k, {mptr<T>(out[0]), d, ld});
    batched<T>(nb, true, false, lk, d, len, scale, gs, q, {dkv, 2 * d, ldkv});
  } else {  // out_i = att_i v_i: datt_i = g_i v_i^T, dv_i = att_i^T g_i; the other parts get 0
    const DLTensor& att = in[2];
    const int64_t lq = att.shape[1];
    T* dx = mptr<T>(out[0]);
    std::fill(dx, dx + numel(out[0]), T(0));
    const Strided<const T> v{cptr<T>(x) + (parts - 1) * d, parts * d, ld}, a{cptr<T>(att), lq * len, len},
        gs{g, d, nb * d};
    batched<T>(nb, false, true, lq, len, d, T(1), gs, v, {mptr<T>(out[1]), lq * len, len});
    batched<T>(nb, true, false, len, d, lq, T(1), a, gs, {dx + (parts - 1) * d, parts * d, ld});
  }
}

template <int P>
int run_forward(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Interleaved& s = *static_cast<const Interleaved*>(state);
  if (s.dtype == MX_FLOAT64) forward<P, double>(s.heads, in, out[0]);
  else forward<P, float>(s.heads, in, out[0]);
  return 0;
}

template <int P>
int run_backward(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Interleaved& s = *static_cast<const Interleaved*>(state);
  if (s.dtype == MX_FLOAT64) backward<P, double>(s.heads, in, out);
  else backward<P, float>(s.heads, in, out);
  return 0;
}

#define MX_INTERLEAVED(name, P)                                                                              \
  kernel("_contrib_interleaved_matmul_" name, create_interleaved, run_forward<P>, destroy_interleaved),      \
      kernel("_backward_interleaved_matmul_" name, create_interleaved, run_backward<P>, destroy_interleaved)

const mx_kernel kContribKernels[] = {
    kernel("_contrib_div_sqrt_dim", create_scalars, run_div_sqrt_dim, destroy_scalars),
    kernel("_contrib_quadratic", create_scalars, run_quadratic, destroy_scalars),
    kernel("_contrib_index_copy", create_plain, run_index_copy, destroy_plain),
    kernel("_contrib_index_array", create_index_array, run_index_array, destroy_index_array),
    MX_INTERLEAVED("selfatt_qk", kSelfQk),
    MX_INTERLEAVED("selfatt_valatt", kSelfValAtt),
    MX_INTERLEAVED("encdec_qk", kEncDecQk),
    MX_INTERLEAVED("encdec_valatt", kEncDecValAtt),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kContribKernels);

}  // namespace
}  // namespace mxcpu
