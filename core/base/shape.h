// Shapes: int64 dims kept inline up to 6 (heap beyond), so copying an array's shape into
// inference and launch records costs no allocation on the per-op path.
#pragma once

#include <cstdint>
#include <string>

#include "base/small_vec.h"

namespace mx {

using Shape = SmallVec<int64_t, 6>;

inline int64_t shape_size(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// "(2,3)" as MXNet prints shapes; "()" for a scalar.
std::string shape_str(const Shape& s);
// Parses "(2,3)", "[2, 3]", "2", "(2,)", "()"; throws MX_ERR_INVALID_ARGUMENT naming `what`.
Shape parse_shape(const std::string& s, const std::string& what);

}  // namespace mx
