// Fills: _zeros, _ones, _full, zeros_like, ones_like for every dtype, as the value's bit pattern
// in the output dtype (converted once at create time with backends/common's conversions).
#include <cstdint>
#include <cstring>
#include <string>

#include "launch.cuh"

namespace mxcuda {
namespace {

struct FillState {
  int bytes;         // element width
  uint64_t pattern;  // the value's bits in the output dtype
};

template <int KIND>  // 0 zeros, 1 ones, 2 the `value` param
int fill_create(const mx_kernel_args* args, void** out) {
  const double v = KIND == 0 ? 0.0 : KIND == 1 ? 1.0 : attr_float(args, "value");
  const int32_t dt = dtype_flag(args->outputs[0].dtype);
  auto* st = new FillState{int(elem_bytes(args->outputs[0])), 0};
  switch (dt) {
    case MX_FLOAT32: { const float f = float(v); std::memcpy(&st->pattern, &f, 4); break; }
    case MX_FLOAT64: std::memcpy(&st->pattern, &v, 8); break;
    case MX_FLOAT16: st->pattern = float_to_half(float(v)); break;
    case MX_BFLOAT16: st->pattern = float_to_bf16(float(v)); break;
    case MX_UINT8: case MX_INT8: case MX_INT32: case MX_INT64: case MX_BOOL: {
      // static_cast as the CPU does it on x86-64 (cvttsd2si: 32-bit for the 8- and 32-bit types,
      // then the low bytes; NaN / out of range give INT32_MIN / INT64_MIN), not int64_t(v) for all
      const int64_t i = dt == MX_BOOL    ? int64_t(v != 0)
                        : dt == MX_INT64 ? (v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? int64_t(v) : INT64_MIN)
                                         : int64_t(uint32_t(v > -2147483649.0 && v < 2147483648.0 ? int32_t(v) : INT32_MIN));
      std::memcpy(&st->pattern, &i, 8);  // little-endian: the low bytes are the narrow value
      break;
    }
    default:
      delete st;
      return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cuda");
  }
  *out = st;
  return 0;
}

template <typename T>
int fill_as(void* p, int64_t n, T v, cudaStream_t s, const char* op) {
  T* o = static_cast<T*>(p);
  return for_each(n, s, op, [=] __device__(int64_t i) { o[i] = v; });
}

int fill_run(void* state, const mx_kernel_ctx* ctx, const DLTensor*, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const FillState*>(state);
  const int64_t n = numel(out[0]);
  void* p = data_of(out[0]);
  cudaStream_t s = cuda_stream(ctx);
  int rc = 0;
  switch (st.bytes) {
    case 1: rc = fill_as(p, n, uint8_t(st.pattern), s, "fill"); break;
    case 2: rc = fill_as(p, n, uint16_t(st.pattern), s, "fill"); break;
    case 4: rc = fill_as(p, n, uint32_t(st.pattern), s, "fill"); break;
    default: rc = fill_as(p, n, uint64_t(st.pattern), s, "fill"); break;
  }
  return rc ? rc : finish(ctx, "fill");
}

void fill_destroy(void* s) { delete static_cast<FillState*>(s); }

const mx_kernel kInitKernels[] = {
    kernel("_zeros", fill_create<0>, fill_run, fill_destroy),
    kernel("_ones", fill_create<1>, fill_run, fill_destroy),
    kernel("_full", fill_create<2>, fill_run, fill_destroy),
    kernel("zeros_like", fill_create<0>, fill_run, fill_destroy),
    kernel("ones_like", fill_create<1>, fill_run, fill_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kInitKernels);

}  // namespace
}  // namespace mxcuda
