// libFuzzer target: the idx header parser of MNISTIter. Any input must either parse into dims
// that match its length or fail with mx::Error: never crash, hang or read out of bounds.
#include <cstdint>
#include <vector>

#include "base/error.h"
#include "io/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  for (int ndim : {1, 3}) {
    try {
      const mx::io::IdxFile f = mx::io::parse_idx(bytes, "fuzz.idx", ndim);
      uint64_t total = 1, sum = 0;
      for (int64_t d : f.dims) total *= uint64_t(d);
      for (uint64_t i = 0; i < total; ++i) sum += bytes[f.offset + i];  // every promised byte is there
      (void)sum;
    } catch (const mx::Error&) {
    }
  }
  return 0;
}
