// MXNet's 2bit gradient compression. Each float32 of (gradient + residual) becomes 2 bits: 11 when
// it reaches +threshold, 10 when it reaches -threshold, 00 otherwise; the part not sent stays in the
// residual and is added to the next push. Sixteen values pack into one 32-bit word, four per byte,
// the first value in the byte's top bits (MXNet's layout), so the wire carries 1/16 of the bytes.
#pragma once

#include <cstdint>

namespace mx::kv {

inline int64_t packed_words_2bit(int64_t n) { return (n + 15) / 16; }

// residual += grad; out[i/16] gets each value's 2 bits; residual -= what was sent.
void quantize_2bit(const float* grad, float* residual, int64_t n, float threshold, uint32_t* out);
// out (+)= the values `in` stands for (+threshold, -threshold or 0).
void dequantize_2bit(const uint32_t* in, int64_t n, float threshold, float* out, bool accumulate);

}  // namespace mx::kv
