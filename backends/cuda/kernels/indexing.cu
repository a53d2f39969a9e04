// Indexing on the GPU: take, Embedding, _take_grad, pick, _pick_grad, one_hot (their CPU kernels
// are in backends/cpu/kernels/indexing.cc). Gathers move raw elements of the data's width, one
// thread per output element; indices of any numeric dtype are read as the CPU reads them
// (load_index, then fix_index). The scatter-add gradient is scatter_add.cuh's.
#include <cstdint>
#include <cstring>
#include <string>

#include "launch.cuh"
#include "scatter_add.cuh"

namespace mxcuda {
namespace {

// Calls f(U{}) with an unsigned type of the element width (1, 2, 4 or 8 bytes).
template <typename F>
void by_width(int64_t eb, F&& f) {
  switch (eb) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    default: f(uint64_t{}); break;
  }
}
int64_t width_of(const DLTensor& t) { return (t.dtype.bits + 7) / 8; }

int norm_axis(int64_t axis, int ndim) { return int(axis < 0 ? axis + ndim : axis); }

void blocks(const DLTensor& t, int axis, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = inner = 1;
  for (int d = 0; d < axis; ++d) outer *= t.shape[d];
  len = axis < t.ndim ? t.shape[axis] : 1;
  for (int d = axis + 1; d < t.ndim; ++d) inner *= t.shape[d];
}

// int64_t(v) as the CPU backend computes it on x86-64 (cvttsd2si): NaN and values outside the
// int64 range give INT64_MIN there, where CUDA's conversion would saturate.
__device__ inline int64_t x86_to_int64(double v) {
  return v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? int64_t(v) : INT64_MIN;
}

// The CPU's fix_index: wrap into [0, len) or clip to the ends (take's mode=raise clips too).
__device__ inline int64_t fix_index(double v, int64_t len, bool wrap) {
  const int64_t k = x86_to_int64(v);
  if (wrap) return ((k % len) + len) % len;
  return k < 0 ? 0 : (k > len - 1 ? len - 1 : k);
}

struct Plan {
  int axis = 0;
  bool wrap = false;
  int32_t idx_dt = 0;
  int64_t depth = 0;
  uint64_t on = 0, off = 0;  // one_hot's values as bits of the output dtype
  uint64_t scratch = 0;      // _take_grad's workspace
};
void plan_destroy(void* s) { delete static_cast<Plan*>(s); }
uint64_t plan_workspace(void* s) { return static_cast<const Plan*>(s)->scratch; }

int bad_index_dtype(const char* op, const DLTensor& idx) {
  return error(MX_ERR_UNSUPPORTED,
               std::string(op) + ": unsupported index dtype " + dtype_name(dtype_flag(idx.dtype)) + " on cuda");
}

// ---------------------------------------------------------------- take / Embedding / _take_grad

template <int KIND>  // 0 take, 1 Embedding, 2 _take_grad
int take_create(const mx_kernel_args* args, void** out) {
  const DLTensor& src = KIND == 0 ? args->inputs[0] : args->inputs[KIND == 1 ? 1 : 2];
  const DLTensor& idx = KIND == 0 ? args->inputs[1] : args->inputs[KIND == 1 ? 0 : 1];
  if (!is_index_dtype(dtype_flag(idx.dtype))) return bad_index_dtype(args->op_name, idx);
  const int32_t dt = dtype_flag(src.dtype);
  if (KIND == 2 && !dispatch_numeric(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string("_take_grad: unsupported dtype ") + dtype_name(dt) + " on cuda");
  auto* p = new Plan{};
  p->axis = KIND == 1 ? 0 : norm_axis(attr_int(args, "axis"), src.ndim);
  p->wrap = KIND != 1 && std::strcmp(attr(args, "mode"), "wrap") == 0;
  p->idx_dt = dtype_flag(idx.dtype);
  if (KIND == 2) p->scratch = scatter_add_scratch(dt, numel(args->outputs[0]));
  *out = p;
  return 0;
}

// Where element i of take's output (outer, ni, inner) reads in the source (outer, len, inner).
struct TakeMap {
  const void* idx;
  int32_t idx_dt;
  bool wrap;
  int64_t ni, len, inner;
  __device__ int64_t operator()(int64_t i) const {
    const int64_t o = i / (ni * inner), r = i % (ni * inner);
    return (o * len + fix_index(load_index(idx, idx_dt, r / inner), len, wrap)) * inner + r % inner;
  }
};

template <typename U>
int gather_t(const TakeMap& m, const U* src, U* y, int64_t n, cudaStream_t s, const char* op) {
  return for_each(n, s, op, [=] __device__(int64_t i) { y[i] = src[m(i)]; });
}

template <int KIND>
int take_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  const char* op = KIND == 0 ? "take" : KIND == 1 ? "Embedding" : "_take_grad";
  const DLTensor& src = KIND == 0 ? in[0] : KIND == 1 ? in[1] : out[0];
  const DLTensor& idx = KIND == 0 ? in[1] : in[KIND == 1 ? 0 : 1];
  int64_t outer, len, inner;
  blocks(src, p.axis, outer, len, inner);
  const TakeMap m{data_of(idx), p.idx_dt, p.wrap, numel(idx), len, inner};
  cudaStream_t s = cuda_stream(ctx);
  if (KIND == 2) {
    if (scatter_add(ctx, dtype_flag(src.dtype), data_of(out[0]), numel(out[0]), data_of(in[0]), numel(in[0]), m, op))
      return -1;
    return finish(ctx, op);
  }
  const int64_t n = numel(out[0]);
  if (len == 0) {  // nothing to take from: the CPU reads out of bounds here; write zeros instead
    if (n > 0 && check(cudaMemsetAsync(data_of(out[0]), 0, size_t(n * width_of(src)), s), "cudaMemsetAsync", op))
      return -1;
    return finish(ctx, op);
  }
  int rc = 0;
  by_width(width_of(src), [&](auto u) {
    using U = decltype(u);
    rc = gather_t<U>(m, reinterpret_cast<const U*>(data_of(src)), reinterpret_cast<U*>(data_of(out[0])), n, s, op);
  });
  return rc ? rc : finish(ctx, op);
}

// ---------------------------------------------------------------- pick and its gradient

template <bool GRAD>
int pick_create(const mx_kernel_args* args, void** out) {
  const DLTensor& data = GRAD ? args->inputs[2] : args->inputs[0];
  const int32_t dt = dtype_flag(data.dtype);
  if (!dispatch_numeric(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) + " on cuda");
  if (!is_index_dtype(dtype_flag(args->inputs[1].dtype))) return bad_index_dtype(args->op_name, args->inputs[1]);
  auto* p = new Plan{};
  p->axis = norm_axis(attr_int(args, "axis"), data.ndim);
  p->wrap = std::strcmp(attr(args, "mode"), "wrap") == 0;
  p->idx_dt = dtype_flag(args->inputs[1].dtype);
  *out = p;
  return 0;
}

// Element i = (o, j) of the picked (outer, inner) array sits at (o, index[i], j) of data.
struct PickMap {
  const void* idx;
  int32_t idx_dt;
  bool wrap;
  int64_t len, inner;
  __device__ int64_t operator()(int64_t i) const {
    return ((i / inner) * len + fix_index(load_index(idx, idx_dt, i), len, wrap)) * inner + i % inner;
  }
};

template <typename U, bool GRAD>
int pick_t(const PickMap& m, U* data, U* picked, int64_t n, cudaStream_t s, const char* op) {
  return for_each(n, s, op, [=] __device__(int64_t i) {
    if (GRAD) data[m(i)] = picked[i];  // distinct i write distinct places: no races
    else picked[i] = data[m(i)];
  });
}

template <bool GRAD>
int pick_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  const char* op = GRAD ? "_pick_grad" : "pick";
  const DLTensor& data = GRAD ? out[0] : in[0];
  const DLTensor& picked = GRAD ? in[0] : out[0];
  int64_t outer, len, inner;
  blocks(data, p.axis, outer, len, inner);
  const int64_t eb = width_of(data);
  cudaStream_t s = cuda_stream(ctx);
  // Zero bits are zero in every numeric dtype: the gradient starts from zeros. With an empty axis
  // there is nothing to pick (the CPU reads out of bounds): the output is zeros too.
  const DLTensor& zeroed = GRAD ? out[0] : (len == 0 ? out[0] : picked);
  if ((GRAD || len == 0) && numel(zeroed) > 0 &&
      check(cudaMemsetAsync(data_of(zeroed), 0, size_t(numel(zeroed) * eb), s), "cudaMemsetAsync", op))
    return -1;
  if (len == 0) return finish(ctx, op);
  const PickMap m{data_of(in[1]), p.idx_dt, p.wrap, len, inner};
  int rc = 0;
  by_width(eb, [&](auto u) {
    using U = decltype(u);
    rc = pick_t<U, GRAD>(m, reinterpret_cast<U*>(data_of(data)), reinterpret_cast<U*>(data_of(picked)), outer * inner, s, op);
  });
  return rc ? rc : finish(ctx, op);
}

// ---------------------------------------------------------------- one_hot

// v converted as the CPU's Elem<O>::store(static_cast<Elem<O>::C>(v)), as bits of width O.
bool value_bits(double v, int32_t dt, uint64_t* bits) {
  switch (dt) {
    case MX_FLOAT32: { const float f = float(v); std::memcpy(bits, &f, 4); return true; }
    case MX_FLOAT64: std::memcpy(bits, &v, 8); return true;
    case MX_FLOAT16: *bits = float_to_half(float(v)); return true;
    case MX_BFLOAT16: *bits = float_to_bf16(float(v)); return true;
    case MX_BOOL: *bits = v != 0 ? 1 : 0; return true;
    case MX_UINT8: case MX_INT8: case MX_INT32: case MX_INT64: {
      // x86-64's cvttsd2si as the CPU: 32-bit for the 8- and 32-bit types; NaN / out of range -> INT_MIN
      const int64_t i = dt == MX_INT64 ? (v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? int64_t(v) : INT64_MIN)
                                       : int64_t(uint32_t(v > -2147483649.0 && v < 2147483648.0 ? int32_t(v) : INT32_MIN));
      std::memcpy(bits, &i, 8);  // little-endian: the low bytes are the narrow value
      return true;
    }
  }
  return false;
}

int one_hot_create(const mx_kernel_args* args, void** out) {
  if (!is_index_dtype(dtype_flag(args->inputs[0].dtype))) return bad_index_dtype("one_hot", args->inputs[0]);
  auto* p = new Plan{};
  p->idx_dt = dtype_flag(args->inputs[0].dtype);
  p->depth = attr_int(args, "depth");
  const int32_t odt = dtype_flag(args->outputs[0].dtype);
  if (!value_bits(attr_float(args, "on_value"), odt, &p->on) || !value_bits(attr_float(args, "off_value"), odt, &p->off)) {
    delete p;
    return error(MX_ERR_UNSUPPORTED, std::string("one_hot: unsupported dtype ") + dtype_name(odt) + " on cuda");
  }
  *out = p;
  return 0;
}

template <typename U>
int one_hot_t(const void* idx, int32_t idx_dt, int64_t depth, U on, U off, U* y, int64_t n, cudaStream_t s) {
  return for_each(n, s, "one_hot", [=] __device__(int64_t i) {
    y[i] = i % depth == x86_to_int64(load_index(idx, idx_dt, i / depth)) ? on : off;
  });
}

int one_hot_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  int rc = 0;
  by_width(width_of(out[0]), [&](auto u) {
    using U = decltype(u);
    rc = one_hot_t<U>(data_of(in[0]), p.idx_dt, p.depth, U(p.on), U(p.off), reinterpret_cast<U*>(data_of(out[0])),
                      numel(out[0]), cuda_stream(ctx));
  });
  return rc ? rc : finish(ctx, "one_hot");
}

const mx_kernel kIndexingKernels[] = {
    kernel("take", take_create<0>, take_run<0>, plan_destroy),
    kernel("Embedding", take_create<1>, take_run<1>, plan_destroy),
    kernel("_take_grad", take_create<2>, take_run<2>, plan_destroy, plan_workspace),
    kernel("pick", pick_create<false>, pick_run<false>, plan_destroy),
    kernel("_pick_grad", pick_create<true>, pick_run<true>, plan_destroy),
    kernel("one_hot", one_hot_create, one_hot_run, plan_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kIndexingKernels);

}  // namespace
}  // namespace mxcuda
