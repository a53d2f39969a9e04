#include "kvstore/compression.h"

#include <cstring>

namespace mx::kv {

void quantize_2bit(const float* grad, float* residual, int64_t n, float threshold, uint32_t* out) {
  std::memset(out, 0, size_t(packed_words_2bit(n)) * sizeof(uint32_t));
  auto* bytes = reinterpret_cast<uint8_t*>(out);
  for (int64_t i = 0; i < n; ++i) {
    const float r = residual[i] + grad[i];
    const int shift = 6 - 2 * int(i & 3);
    if (r >= threshold) {
      bytes[i >> 2] |= uint8_t(3u << shift);
      residual[i] = r - threshold;
    } else if (r <= -threshold) {
      bytes[i >> 2] |= uint8_t(2u << shift);
      residual[i] = r + threshold;
    } else {
      residual[i] = r;
    }
  }
}

void dequantize_2bit(const uint32_t* in, int64_t n, float threshold, float* out, bool accumulate) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(in);
  for (int64_t i = 0; i < n; ++i) {
    const unsigned code = (bytes[i >> 2] >> (6 - 2 * int(i & 3))) & 3u;
    const float v = code == 3 ? threshold : code == 2 ? -threshold : 0.f;
    out[i] = accumulate ? out[i] + v : v;
  }
}

}  // namespace mx::kv
