// libFuzzer target: DLPack import (mx_ndarray_from_dlpack) of a tensor described by the input:
// ndim, dtype code / bits / lanes, byte_offset, shape, strides, device and whether data is NULL.
// When the claimed memory is small the tensor gets a real buffer of exactly that size, and the
// imported array is read, copied by an op and exported again; otherwise it points at a few bytes
// that must never be read. Every tensor must either import or fail with an error (the tensor then
// stays ours): never crash, leak or read out of bounds.
//
// Input layout (missing bytes read as 0):
//   [0] ndim (int8)  [1] dtype code  [2] bits  [3..4] lanes  [5] flags  [6..13] byte_offset
//   then ndim int64 dims, then (flags & 1) ndim int64 strides.
//   flags: 1 strides given, 2 data NULL, 4 an unserved device type, 8 small dims (each byte % 8).
#include <dlpack/dlpack.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "mx/c_api.h"

namespace {

struct Reader {
  const uint8_t* p;
  size_t n, at = 0;
  uint8_t u8() { return at < n ? p[at++] : 0; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(u8()) << (8 * i);
    return v;
  }
};

// The producer side: owns shape, strides and buffer; the deleter frees it all.
struct Owned {
  std::vector<int64_t> shape, strides;
  std::vector<uint8_t> buf;
  DLManagedTensor managed{};
};

void release(DLManagedTensor* m) { delete static_cast<Owned*>(m->manager_ctx); }

constexpr uint64_t kMaxReal = uint64_t(1) << 16;  // claims up to this many bytes get a real buffer

// byte_offset + product(shape) * bytes per element, or 0 (no real buffer) if larger than kMaxReal
// or not computable.
uint64_t claimed_bytes(const Owned& o, uint64_t elem_bytes, uint64_t byte_offset) {
  uint64_t n = elem_bytes;
  for (int64_t d : o.shape) {
    if (d < 0) return 0;
    if (d == 0) return byte_offset <= kMaxReal ? byte_offset + 1 : 0;
    if (__builtin_mul_overflow(n, uint64_t(d), &n) || n > kMaxReal) return 0;
  }
  return byte_offset <= kMaxReal ? n + byte_offset : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r{data, size};
  auto* o = new Owned;
  DLTensor& t = o->managed.dl_tensor;
  t.ndim = int8_t(r.u8());
  t.dtype.code = r.u8();
  t.dtype.bits = r.u8();
  t.dtype.lanes = uint16_t(r.u8() | (r.u8() << 8));
  const uint8_t flags = r.u8();
  t.byte_offset = r.u64();
  const int32_t dims = t.ndim < 0 ? 0 : t.ndim;  // up to 127: the shape array always has ndim entries
  for (int32_t i = 0; i < dims; ++i) o->shape.push_back(flags & 8 ? int64_t(r.u8() % 8) : int64_t(r.u64()));
  if (flags & 1)
    for (int32_t i = 0; i < dims; ++i) o->strides.push_back(int64_t(r.u64()));
  t.shape = o->shape.empty() ? nullptr : o->shape.data();
  t.strides = flags & 1 ? o->strides.data() : nullptr;
  t.device = DLDevice{flags & 4 ? kDLVulkan : kDLCPU, 0};
  const uint64_t elem_bytes = (uint64_t(t.dtype.bits) * t.dtype.lanes + 7) / 8;
  const uint64_t claim = claimed_bytes(*o, elem_bytes, t.byte_offset);
  o->buf.assign(claim ? claim : 8, 0x5a);
  t.data = flags & 2 ? nullptr : o->buf.data();
  o->managed.manager_ctx = o;
  o->managed.deleter = release;

  mx_ndarray_t arr = nullptr;
  if (mx_ndarray_from_dlpack(&o->managed, &arr) != 0) {
    release(&o->managed);  // rejected: still ours
    return 0;
  }
  int64_t n = 0;
  int32_t dtype = 0, bytes = 0;
  if (claim && mx_ndarray_get_size(arr, &n) == 0 && mx_ndarray_get_dtype(arr, &dtype) == 0 &&
      mx_dtype_size(dtype, &bytes) == 0) {
    // Every element the array claims lies in the buffer: read them, copy them with an op, export.
    std::vector<uint8_t> host(size_t(n) * size_t(bytes));
    mx_ndarray_copy_to_host(arr, host.data(), host.size());
    int32_t nout = 0;
    mx_ndarray_t* outs = nullptr;
    if (mx_imperative_invoke("_copy", 1, &arr, &nout, &outs, 0, nullptr, nullptr) == 0)
      for (int32_t i = 0; i < nout; ++i) {
        mx_ndarray_wait_to_read(outs[i]);
        mx_ndarray_free(outs[i]);
      }
    DLManagedTensor* back = nullptr;
    if (mx_ndarray_to_dlpack(arr, &back) == 0 && back) {
      if (back->dl_tensor.byte_offset != 0) __builtin_trap();  // exports point at the first element
      back->deleter(back);
    }
  }
  mx_ndarray_free(arr);  // the deleter runs once pending work on the memory is done
  mx_ndarray_wait_all();
  return 0;
}
