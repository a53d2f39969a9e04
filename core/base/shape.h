// Shapes: small vectors of int64 dims with the helpers every module needs.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace mx {

using Shape = std::vector<int64_t>;

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
