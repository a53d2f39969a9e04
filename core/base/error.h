// Errors inside the core: one exception type carrying a stable MX_ERR_* category. The C API
// layer turns it into -1 + thread-local message; nothing else ever reaches the border.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "mx/c_api.h"

namespace mx {

class Error : public std::runtime_error {
 public:
  Error(int32_t code, std::string msg) : std::runtime_error(std::move(msg)), code_(code) {}
  int32_t code() const noexcept { return code_; }

 private:
  int32_t code_;
};

// Concatenates anything streamable: fail(MX_ERR_SHAPE_MISMATCH, "op ", name, ": ", shape).
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(int32_t code, const Args&... args) {
  throw Error(code, str_cat(args...));
}

}  // namespace mx
