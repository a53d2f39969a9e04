// Shapes: int64 dims kept inline up to 6 (heap beyond), so copying an array's shape into
// inference and launch records costs no allocation on the per-op path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/small_vec.h"

namespace mx {

using Shape = SmallVec<int64_t, 6>;

// The one limit on dimensions, enforced wherever a shape is made (MXNet's legacy format and
// DLPack consumers agree on 32).
inline constexpr size_t kMaxNdim = 32;

// Element count of a shape already validated by check_shape (exact then). Computed modulo 2^64 so
// that a valid zero-size shape with huge other dims, (0, 2^40, 2^40), gives 0 without overflowing
// on the way.
inline int64_t shape_size(const Shape& s) {
  uint64_t n = 1;
  for (int64_t d : s) n *= uint64_t(d);
  return int64_t(n);
}

// Validates a shape entering mx from outside or from inference: at most kMaxNdim dims, none
// negative, and element count times elem_bytes within int64 (so every later product, offset and
// byte count is exact). Returns the element count; throws MX_ERR_INVALID_ARGUMENT naming `what`
// and the shape otherwise. elem_bytes 0 checks only the element count.
int64_t check_shape(const Shape& s, std::string_view what, uint64_t elem_bytes = 0);
// The same test without a message, for hot paths: `if (!shape_ok(s)) check_shape(s, what)`.
// Common shapes pass on bit lengths alone (a product of dims whose bit lengths sum to at most 58
// is below 2^58, and elements are at most 16 bytes); only huge ones take the exact path.
bool shape_ok_exact(const Shape& s, uint64_t elem_bytes);
inline bool shape_ok(const Shape& s, uint64_t elem_bytes = 0) {
  if (s.size() > kMaxNdim) return false;
  uint64_t any = 0;
  int bits = 0;
  for (int64_t d : s) {
    any |= uint64_t(d);
    bits += 64 - __builtin_clzll(uint64_t(d) | 1);
  }
  if (int64_t(any) < 0) return false;  // a negative dimension
  if (bits <= 58 && elem_bytes <= 16) return true;
  return shape_ok_exact(s, elem_bytes);
}
// Overflow-checked a * b and a + b on sizes: false on overflow (*out then holds the wrapped value).
inline bool mul_size(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool add_size(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

// Size arithmetic in shape inference: a * b, a + b, or the product of dims [first, last) of s
// (0 if one of them is 0, whatever the others), throwing MX_ERR_INVALID_ARGUMENT naming `what`
// when the exact result does not fit int64, so no wrapped value ever looks like a valid size.
[[noreturn]] void size_overflow(std::string_view what, int64_t a, char op, int64_t b);
inline int64_t checked_mul(int64_t a, int64_t b, std::string_view what) {
  int64_t r;
  if (!mul_size(a, b, &r)) size_overflow(what, a, '*', b);
  return r;
}
inline int64_t checked_add(int64_t a, int64_t b, std::string_view what) {
  int64_t r;
  if (!add_size(a, b, &r)) size_overflow(what, a, '+', b);
  return r;
}
int64_t dims_product(const Shape& s, size_t first, size_t last, std::string_view what);
// The product of every dim of s except s[skip] (skip < 0: all of them), exactly: 0 if one of them
// is 0, whatever the others; false if it does not fit int64 (reshape targets, -1 inference).
inline bool exact_product(const Shape& s, int64_t* out, int skip = -1) {
  int64_t n = 1;
  bool over = false, zero = false;
  for (size_t i = 0; i < s.size(); ++i)
    if (int(i) != skip) {
      zero |= s[i] == 0;
      over |= !mul_size(n, s[i], &n);
    }
  *out = zero ? 0 : n;
  return zero || !over;
}

// "(2,3)" as MXNet prints shapes; "()" for a scalar.
std::string shape_str(const Shape& s);
// Parses "(2,3)", "[2, 3]", "2", "(2,)", "()"; throws MX_ERR_INVALID_ARGUMENT naming `what`.
Shape parse_shape(const std::string& s, const std::string& what);

}  // namespace mx
