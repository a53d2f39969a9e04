// libFuzzer target: MXNet's .params format as mx.nd.load reads it. mx::parse_params is the whole of
// load_params but the final copies into cpu(0) arrays (which it does only after this parse has
// passed), so it needs no device. Any input must either parse, with every array's data inside the
// input, in order, of the size its shape and dtype say, and keys free of NUL, one per array or
// none, or fail with mx::Error: never crash, hang, read out of bounds or allocate beyond the input.
#include <cstdint>
#include <string>

#include "base/dtype.h"
#include "base/error.h"
#include "ndarray/serialize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mx::ParamsLayout l;
  try {
    l = mx::parse_params(data, size, "fuzz.params");
  } catch (const mx::Error&) {
    return 0;
  }
  if (!l.keys.empty() && l.keys.size() != l.arrays.size()) __builtin_trap();
  uint64_t end = 24;  // the list header
  for (const auto& e : l.arrays) {
    if (!e.defined) continue;
    if (e.shape.size() > mx::kMaxNdim || !mx::shape_ok(e.shape, 8)) __builtin_trap();
    if (uint64_t(mx::shape_size(e.shape)) * uint64_t(mx::dtype_info(e.dtype).bytes) != e.nbytes) __builtin_trap();
    if (e.data_offset < end || e.data_offset > size || e.nbytes > size - e.data_offset) __builtin_trap();
    end = e.data_offset + e.nbytes;
    volatile uint8_t sum = 0;  // every byte of the data is there to read (ASan checks)
    for (uint64_t i = 0; i < e.nbytes; ++i) sum += data[e.data_offset + i];
    (void)sum;
  }
  for (const auto& k : l.keys)
    if (k.find('\0') != std::string::npos) __builtin_trap();
  return 0;
}
