// sort, argsort, topk and _topk_backward, mirroring backends/cpu/kernels/sorting.cc. The tensor is
// (outer, len, inner) around the axis (None: one row of every element); each (outer, inner)
// position is a row. The CPU stable-sorts each row (ties keep index order, ascending or not);
// here every element gets an unsigned key whose ascending order is the wanted order (a monotone
// transform of its value: the sign flip of floats and signed integers, complemented for
// descending), and two stable cub::DeviceRadixSort passes order all rows at once: by key, then
// by row. Equal keys keep their element order, as the CPU's ties. topk sorts the whole row and
// takes the first k (the CPU's partial_sort with ties by index gives the same k). The values
// written are the source elements themselves (so -0.0 and NaN payloads survive), found through
// the sorted positions. _topk_backward scatters one thread per row, in the CPU's order.
//
// Keys of 16-bit floats are built from their 16 bits directly (half / bfloat16 -> float is exact
// and monotone, so the order is the CPU's float order). -0.0 and +0.0 get one key (the CPU's <
// ties them). NaN, which the CPU's comparator leaves unordered (its result there is whatever
// std::stable_sort makes of it), gets one key above +inf: last ascending, first descending.
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include <cub/device/device_radix_sort.cuh>

#include "launch.cuh"

namespace mxcuda {
namespace {

enum Kind { kSort, kArgsort, kTopk, kTopkBackward };
enum Ret { kValue, kIndices, kMask, kBoth };

const char* const kNames[] = {"sort", "argsort", "topk", "_topk_backward"};

constexpr uint64_t kAlign = 256;
uint64_t aligned(uint64_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

struct Plan {
  int kind;
  int axis;  // -1: the flattened array
  int64_t k;
  bool ascend;
  Ret ret;
  int32_t dtype;      // data (sort, topk) / out_grad and output (_topk_backward)
  int32_t idx_dtype;  // the indices output (sort family, when returned) / input (_topk_backward)
  int64_t outer, len, inner;
  int row_bits;  // bits of the largest row number (second sort pass), 0: one row
  // workspace layout (byte offsets into ctx->temp_space)
  uint64_t keys_a = 0, keys_b = 0, vals_a = 0, vals_b = 0, cub_temp = 0, cub_bytes = 0;
  uint64_t idx64 = 0, acc = 0, flag = 0;  // _topk_backward
  uint64_t total = 0;
};

void destroy(void* s) { delete static_cast<Plan*>(s); }
uint64_t workspace(void* s) { return static_cast<Plan*>(s)->total; }

// (outer, len, inner) of t around axis (-1: one row of every element), as the CPU's blocks().
void blocks(const DLTensor& t, int axis, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = inner = 1;
  if (axis < 0) {
    len = numel(t);
    return;
  }
  for (int d = 0; d < axis; ++d) outer *= t.shape[d];
  len = t.shape[axis];
  for (int d = axis + 1; d < t.ndim; ++d) inner *= t.shape[d];
}

// ---- keys

template <typename S> struct KeyOf { using T = uint64_t; };  // double, int64
template <> struct KeyOf<float> { using T = uint32_t; };
template <> struct KeyOf<int32_t> { using T = uint32_t; };
template <> struct KeyOf<f16_t> { using T = uint16_t; };
template <> struct KeyOf<bf16_t> { using T = uint16_t; };
template <> struct KeyOf<int8_t> { using T = uint8_t; };
template <> struct KeyOf<uint8_t> { using T = uint8_t; };

// Bits of a float (sign, magnitude) as an unsigned key in the float's order.
template <typename U>
__device__ U float_order(U bits) {
  constexpr U sign = U(U(1) << (sizeof(U) * 8 - 1));
  return (bits & sign) ? U(~bits) : U(bits | sign);
}

template <typename S>
__device__ typename KeyOf<S>::T ascending_key(S v) {
  using U = typename KeyOf<S>::T;
  if constexpr (std::is_same<S, float>::value) {
    const uint32_t b = isnan(v) ? 0x7fc00000u : v == 0.0f ? 0u : __float_as_uint(v);
    return float_order<U>(b);
  } else if constexpr (std::is_same<S, double>::value) {
    const uint64_t b = isnan(v) ? 0x7ff8000000000000ull : v == 0.0 ? 0ull : uint64_t(__double_as_longlong(v));
    return float_order<U>(b);
  } else if constexpr (std::is_same<S, f16_t>::value || std::is_same<S, bf16_t>::value) {
    constexpr bool f16 = std::is_same<S, f16_t>::value;
    constexpr uint16_t inf = f16 ? 0x7c00 : 0x7f80, nan = f16 ? 0x7e00 : 0x7fc0;
    const uint16_t mag = v.bits & 0x7fff;
    const uint16_t b = mag > inf ? nan : mag == 0 ? uint16_t(0) : v.bits;
    return float_order<U>(b);
  } else if constexpr (std::is_signed<S>::value) {
    return U(U(v) ^ U(U(1) << (sizeof(U) * 8 - 1)));
  } else {
    return U(v);
  }
}

// One DoubleBuffer radix sort pass (keys in [0, end_bit)); with d_temp null: the size query.
template <typename K>
cudaError_t sort_pass(void* temp, size_t& bytes, cub::DoubleBuffer<K>& keys, cub::DoubleBuffer<int64_t>& vals,
                      int64_t n, int end_bit, cudaStream_t s) {
  return cub::DeviceRadixSort::SortPairs(temp, bytes, keys, vals, n, 0, end_bit, s);
}

// The workspace of a sort: two key buffers, two position buffers, CUB's scratch (queried on
// device_id; the query enqueues nothing).
template <typename K>
int plan_sort(Plan& p, int device_id, const char* op) {
  const uint64_t n = uint64_t(p.outer * p.len * p.inner);
  const uint64_t kb = p.row_bits > 0 && sizeof(K) < 8 ? 8 : sizeof(K);  // pass 2 keys are uint64
  size_t b1 = 0, b2 = 0;
  if (n > 0) {
    int prev = 0;
    if (check(cudaGetDevice(&prev), "cudaGetDevice", op) || check(cudaSetDevice(device_id), "cudaSetDevice", op))
      return -1;
    cub::DoubleBuffer<K> keys(nullptr, nullptr);
    cub::DoubleBuffer<uint64_t> rows(nullptr, nullptr);
    cub::DoubleBuffer<int64_t> vals(nullptr, nullptr);
    int rc = check(sort_pass<K>(nullptr, b1, keys, vals, int64_t(n), int(sizeof(K) * 8), nullptr),
                   "cub::DeviceRadixSort::SortPairs (size query)", op);
    if (!rc && p.row_bits > 0)
      rc = check(sort_pass<uint64_t>(nullptr, b2, rows, vals, int64_t(n), p.row_bits, nullptr),
                 "cub::DeviceRadixSort::SortPairs (size query)", op);
    cudaSetDevice(prev);
    if (rc) return -1;
  }
  uint64_t at = 0;
  p.keys_a = at, at += aligned(n * kb);
  p.keys_b = at, at += aligned(n * kb);
  p.vals_a = at, at += aligned(n * 8);
  p.vals_b = at, at += aligned(n * 8);
  p.cub_bytes = b1 > b2 ? b1 : b2;
  p.cub_temp = at, at += aligned(p.cub_bytes);
  p.total = n > 0 ? at : 0;
  return 0;
}

template <int K>
int sort_create(const mx_kernel_args* args, void** out) {
  const char* op = kNames[K];
  const DLTensor& data = K == kTopkBackward ? args->inputs[2] : args->inputs[0];
  const int32_t dt = dtype_flag(data.dtype);
  if (!dispatch_numeric(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(op) + ": unsupported dtype " + dtype_name(dt) + " on cuda");
  auto* p = new Plan{};
  p->kind = K;
  p->dtype = dt;
  const auto axes = attr_ints(attr(args, "axis"));
  p->axis = axes.empty() ? -1 : int(axes[0] < 0 ? axes[0] + data.ndim : axes[0]);
  p->ascend = K == kTopkBackward || std::strcmp(attr(args, "is_ascend"), "True") == 0;
  p->ret = kValue;
  if (K == kArgsort) p->ret = kIndices;
  if (K == kTopk) {
    const std::string r = attr(args, "ret_typ");
    p->ret = r == "value" ? kValue : r == "indices" ? kIndices : r == "mask" ? kMask : kBoth;
  }
  blocks(data, p->axis, p->outer, p->len, p->inner);
  p->k = K == kTopk ? std::strtoll(attr(args, "k"), nullptr, 10) : p->len;
  if (p->k < 1) p->k = p->len;
  int rc = 0;
  if (K == kTopkBackward) {
    const DLTensor &og = args->inputs[0], &idx = args->inputs[1];
    p->idx_dtype = dtype_flag(idx.dtype);
    p->dtype = dtype_flag(og.dtype);  // the CPU's S: the output's dtype, which is out_grad's
    if (!dispatch_numeric(p->dtype, [](auto) {}) || !dispatch_numeric(p->idx_dtype, [](auto) {})) {
      rc = error(MX_ERR_UNSUPPORTED, std::string(op) + ": unsupported dtypes out_grad " + dtype_name(p->dtype) +
                                         ", indices " + dtype_name(p->idx_dtype) + " on cuda");
    } else {
      const bool half = p->dtype == MX_FLOAT16 || p->dtype == MX_BFLOAT16;  // accumulate in float, as Elem<S>::C
      uint64_t at = 0;
      p->idx64 = at, at += aligned(uint64_t(numel(idx)) * 8);
      p->acc = at, at += half ? aligned(uint64_t(numel(data)) * 4) : 0;
      p->flag = at, at += kAlign;
      p->total = at;
    }
  } else {
    const DLTensor* idx = p->ret == kIndices ? &args->outputs[0] : p->ret == kBoth ? &args->outputs[1] : nullptr;
    p->idx_dtype = idx ? dtype_flag(idx->dtype) : MX_INT64;
    if (!dispatch_numeric(p->idx_dtype, [](auto) {})) {
      rc = error(MX_ERR_UNSUPPORTED, std::string(op) + ": unsupported index dtype " + dtype_name(p->idx_dtype) + " on cuda");
    } else {
      const int64_t rows = p->outer * p->inner;
      p->row_bits = 0;
      while (rows > 1 && p->row_bits < 63 && (int64_t(1) << p->row_bits) < rows) ++p->row_bits;
      dispatch_numeric(dt, [&](auto tag) { rc = plan_sort<typename KeyOf<decltype(tag)>::T>(*p, args->device_id, op); });
    }
  }
  if (rc) {
    delete p;
    return rc;
  }
  *out = p;
  return 0;
}

// ---- sort, argsort, topk

// Sorts every row; returns the device array of sorted positions e = row * len + j (row-major
// rows), or nullptr after reporting an error.
template <typename S>
const int64_t* sort_positions(const Plan& p, const S* src, char* ws, cudaStream_t s, const char* op) {
  using K = typename KeyOf<S>::T;
  const int64_t len = p.len, inner = p.inner, n = p.outer * p.len * p.inner;
  const bool ascend = p.ascend;
  K* ka = reinterpret_cast<K*>(ws + p.keys_a);
  K* kb = reinterpret_cast<K*>(ws + p.keys_b);
  int64_t* va = reinterpret_cast<int64_t*>(ws + p.vals_a);
  int64_t* vb = reinterpret_cast<int64_t*>(ws + p.vals_b);
  // gather the rows (axis last) as keys, with their positions
  if (for_each(n, s, op, [=] __device__(int64_t e) {
        const int64_t r = e / len, j = e % len, o = r / inner, i = r % inner;
        const K key = ascending_key<S>(src[(o * len + j) * inner + i]);
        ka[e] = ascend ? key : K(~key);
        va[e] = e;
      }))
    return nullptr;
  size_t bytes = p.cub_bytes;
  void* temp = ws + p.cub_temp;
  cub::DoubleBuffer<K> keys(ka, kb);
  cub::DoubleBuffer<int64_t> vals(va, vb);
  if (check(sort_pass<K>(temp, bytes, keys, vals, n, int(sizeof(K) * 8), s), "cub::DeviceRadixSort::SortPairs", op))
    return nullptr;
  if (p.row_bits == 0) return vals.Current();
  // second pass: stable by row, so each row keeps the key order (and ties their index order)
  uint64_t* ra = reinterpret_cast<uint64_t*>(ws + p.keys_a);
  uint64_t* rb = reinterpret_cast<uint64_t*>(ws + p.keys_b);
  const int64_t* pos = vals.Current();
  if (for_each(n, s, op, [=] __device__(int64_t t) { ra[t] = uint64_t(pos[t] / len); })) return nullptr;
  cub::DoubleBuffer<uint64_t> rows(ra, rb);
  bytes = p.cub_bytes;
  if (check(sort_pass<uint64_t>(temp, bytes, rows, vals, n, p.row_bits, s), "cub::DeviceRadixSort::SortPairs", op))
    return nullptr;
  return vals.Current();
}

template <typename S>
int sort_outputs(const Plan& p, const DLTensor& x, DLTensor* out, const int64_t* pos, cudaStream_t s, const char* op) {
  const int64_t len = p.len, inner = p.inner, k = p.k, m = p.outer * k * inner;
  const S* src = ptr<const S>(x);
  if (p.ret == kMask) {
    S* mask = ptr<S>(out[0]);
    const S zero = Elem<S>::store(typename Elem<S>::C(0)), one = Elem<S>::store(typename Elem<S>::C(1));
    if (for_each(numel(x), s, op, [=] __device__(int64_t t) { mask[t] = zero; })) return -1;
    return for_each(m, s, op, [=] __device__(int64_t t) {
      const int64_t o = t / (k * inner), j = t / inner % k, i = t % inner;
      const int64_t from = pos[(o * inner + i) * len + j] % len;
      mask[(o * len + from) * inner + i] = one;
    });
  }
  if (p.ret != kValue && p.ret != kBoth) return 0;
  S* values = ptr<S>(out[0]);
  return for_each(m, s, op, [=] __device__(int64_t t) {
    const int64_t o = t / (k * inner), j = t / inner % k, i = t % inner;
    const int64_t from = pos[(o * inner + i) * len + j] % len;
    values[t] = src[(o * len + from) * inner + i];
  });
}

template <typename I>
int index_output(const Plan& p, DLTensor& out, const int64_t* pos, cudaStream_t s, const char* op) {
  const int64_t len = p.len, inner = p.inner, k = p.k, m = p.outer * k * inner;
  I* indices = ptr<I>(out);
  return for_each(m, s, op, [=] __device__(int64_t t) {
    const int64_t o = t / (k * inner), j = t / inner % k, i = t % inner;
    const int64_t from = pos[(o * inner + i) * len + j] % len;
    indices[t] = Elem<I>::store(static_cast<typename Elem<I>::C>(from));
  });
}

// x86-64's int64_t(double) (cvttsd2si): NaN and out of range give INT64_MIN, as on the CPU.
__device__ inline int64_t to_index(double v) {
  return v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? int64_t(v) : INT64_MIN;
}

template <typename I>
int indices_to_int64(const DLTensor& idx, int64_t m, int64_t* at, cudaStream_t s, const char* op) {
  const I* ip = ptr<const I>(idx);
  return for_each(m, s, op, [=] __device__(int64_t t) { at[t] = to_index(double(Elem<I>::load(ip[t]))); });
}

// y = 0; y[o, at[o, j, i], i] += g[o, j, i], accumulated in Elem<S>::C (float scratch for the
// 16-bit floats, y itself otherwise); a position outside [0, len) sets *bad and is skipped.
template <typename S>
int scatter(const DLTensor& og, DLTensor& out, const int64_t* at, char* scratch, int* bad, int64_t outer,
            int64_t len, int64_t inner, int64_t k, cudaStream_t s, const char* op) {
  using C = typename Elem<S>::C;
  constexpr bool direct = std::is_same<C, S>::value;
  const int64_t n = numel(out);
  const S* g = ptr<const S>(og);
  S* y = ptr<S>(out);
  C* acc = direct ? reinterpret_cast<C*>(y) : reinterpret_cast<C*>(scratch);
  if (for_each(n, s, op, [=] __device__(int64_t t) { acc[t] = C(0); })) return -1;
  if (for_each(outer * inner, s, op, [=] __device__(int64_t r) {
        const int64_t o = r / inner, i = r % inner;
        for (int64_t j = 0; j < k; ++j) {
          const int64_t t = (o * k + j) * inner + i, a = at[t];
          if (a < 0 || a >= len) {
            *bad = 1;
            continue;
          }
          C& v = acc[(o * len + a) * inner + i];
          v = C(v + Elem<S>::load(g[t]));
        }
      }))
    return -1;
  if (direct) return 0;
  return for_each(n, s, op, [=] __device__(int64_t t) { y[t] = Elem<S>::store(acc[t]); });
}

template <int K>
int sort_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  const char* op = kNames[K];
  if (ctx->temp_bytes < p.total || (p.total > 0 && !ctx->temp_space))
    return error(MX_ERR_INTERNAL, std::string(op) + ": the host passed " + std::to_string(ctx->temp_bytes) +
                                      " bytes of workspace, " + std::to_string(p.total) + " needed on cuda");
  cudaStream_t s = cuda_stream(ctx);
  char* ws = static_cast<char*>(ctx->temp_space);
  int rc = 0;
  if (K != kTopkBackward) {
    if (numel(in[0]) == 0) return 0;
    const int64_t* pos = nullptr;
    dispatch_numeric(p.dtype, [&](auto tag) {
      using S = decltype(tag);
      pos = sort_positions<S>(p, ptr<const S>(in[0]), ws, s, op);
      if (pos) rc = sort_outputs<S>(p, in[0], out, pos, s, op);
    });
    if (!pos || rc) return -1;
    if (p.ret == kIndices || p.ret == kBoth)
      dispatch_numeric(p.idx_dtype, [&](auto tag) { rc = index_output<decltype(tag)>(p, out[p.ret == kBoth ? 1 : 0], pos, s, op); });
    return rc ? rc : finish(ctx, op);
  }
  // _topk_backward: out = zeros like data; out[.., idx[.., j, ..], ..] += og[.., j, ..], each row
  // by one thread in j order (the CPU's order of additions, duplicates included).
  const DLTensor &og = in[0], &idx = in[1];
  int64_t outer, len, inner, o2, k, i2;
  blocks(out[0], p.axis, outer, len, inner);
  blocks(og, p.axis, o2, k, i2);
  const int64_t n = numel(out[0]), m = numel(idx);
  if (n == 0 && m == 0) return 0;
  int64_t* at = reinterpret_cast<int64_t*>(ws + p.idx64);
  int* bad = reinterpret_cast<int*>(ws + p.flag);
  if (check(cudaMemsetAsync(bad, 0, sizeof(int), s), "cudaMemsetAsync", op)) return -1;
  dispatch_numeric(p.idx_dtype, [&](auto tag) { rc = indices_to_int64<decltype(tag)>(idx, m, at, s, op); });
  if (rc) return rc;
  dispatch_numeric(p.dtype, [&](auto tag) {
    rc = scatter<decltype(tag)>(og, out[0], at, ws + p.acc, bad, outer, len, inner, k, s, op);
  });
  if (rc) return rc;
  // An index outside the axis is an error, as on the CPU: read the flag back (this waits for the
  // stream; _topk_backward only runs in backward passes).
  int host_bad = 0;
  if (check(cudaMemcpyAsync(&host_bad, bad, sizeof(int), cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync", op) ||
      check(cudaStreamSynchronize(s), "cudaStreamSynchronize", op))
    return -1;
  if (host_bad)
    return error(MX_ERR_INVALID_ARGUMENT, "_topk_backward: an index is outside the axis of length " + std::to_string(len));
  return 0;
}

const mx_kernel kSortingKernels[] = {
    kernel("sort", sort_create<kSort>, sort_run<kSort>, destroy, workspace),
    kernel("argsort", sort_create<kArgsort>, sort_run<kArgsort>, destroy, workspace),
    kernel("topk", sort_create<kTopk>, sort_run<kTopk>, destroy, workspace),
    kernel("_topk_backward", sort_create<kTopkBackward>, sort_run<kTopkBackward>, destroy, workspace),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kSortingKernels);

}  // namespace
}  // namespace mxcuda
