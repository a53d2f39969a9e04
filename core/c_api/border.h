// What every C API translation unit shares: the error slot, the API_BEGIN / API_END wrapper that
// turns any exception into -1 plus a message and category, and small argument helpers.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "base/error.h"
#include "mx/c_api.h"
#include "op/schema.h"

namespace mx::capi {

extern thread_local std::string t_error;
extern thread_local int32_t t_code;

// Records the failing call's message and category; returns -1.
int set_error(int32_t code, const std::string& msg);

// Fails with MX_ERR_INVALID_ARGUMENT naming the function and argument if p is NULL.
void need(const void* p, const char* fn, const char* what);

// Shapes by name from the C API's flat form: shape i has ndims[i] dims, taken in turn from dims.
// With zero_is_unknown (shapes for inference, MXNet's convention), each shape is checked and its 0
// dims become kUnknownDim.
std::map<std::string, Shape> known_shapes(const char* fn, uint32_t num, const char** keys, const uint32_t* ndims,
                                          const int64_t* dims, bool zero_is_unknown = false);

// "int", "float", "{a, b}", ... as mx_op_info / mx_dataiter_info report a param's type; enum lists
// are built into `keep`.
const char* param_type_name(const op::ParamSpec& p, std::vector<std::unique_ptr<std::string>>& keep);

// Writes `value` into a caller's versioned struct: only the fields its struct_size covers, and
// never the struct_size itself (the caller's declaration of what it knows).
template <typename T>
void write_sized(T* out, const T& value, const char* fn) {
  const uint32_t n = out->struct_size < sizeof(T) ? out->struct_size : uint32_t(sizeof(T));
  if (n < sizeof(uint32_t)) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": struct_size is not set");
  std::memcpy(reinterpret_cast<char*>(out) + 4, reinterpret_cast<const char*>(&value) + 4, n - 4);
}

}  // namespace mx::capi

#define API_BEGIN() try {
#define API_END()                                                             \
  }                                                                           \
  catch (const mx::Error& e) {                                                \
    return mx::capi::set_error(e.code(), e.what());                           \
  }                                                                           \
  catch (const std::bad_alloc&) {                                             \
    return mx::capi::set_error(MX_ERR_OUT_OF_MEMORY, "host out of memory");   \
  }                                                                           \
  catch (const std::exception& e) {                                           \
    return mx::capi::set_error(MX_ERR_INTERNAL, e.what());                    \
  }                                                                           \
  catch (...) {                                                               \
    return mx::capi::set_error(MX_ERR_INTERNAL, "unknown exception");         \
  }                                                                           \
  return 0;
