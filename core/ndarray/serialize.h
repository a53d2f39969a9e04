// MXNet's .params binary format (what mx.nd.save / mx.nd.load and Module checkpoints use):
//   u64 0x112 (list magic), u64 reserved, u64 n, n x NDArray, u64 k, k x (u64 len, bytes) keys
// and per array (V2, 0xF993fac9): u32 magic, i32 storage type (0 = dense), i32 ndim,
// i64 dims[ndim], i32 dev_type, i32 dev_id, i32 dtype flag, raw little-endian data.
// V3 (0xF993faca, numpy shape semantics) reads the same for dense arrays.
#pragma once

#include <string>
#include <vector>

#include "ndarray/ndarray.h"

namespace mx {

void save_params(const std::string& fname, const std::vector<NDArray>& arrays, const std::vector<std::string>& keys);
// The same bytes in memory.
std::string save_params(const std::vector<NDArray>& arrays, const std::vector<std::string>& keys);
// Arrays are loaded onto cpu(0), as MXNet does. Malformed input raises MX_ERR_IO naming the file
// and the byte offset: every shape, count and length is checked against the bytes the file holds
// before anything is allocated for it; a key holding NUL is an error (the C API hands keys out as
// C strings). A directory or device is an error naming the path.
void load_params(const std::string& fname, std::vector<NDArray>& arrays, std::vector<std::string>& keys);
// The same from a buffer (loading from memory); errors name `name` for the file.
void load_params(const void* data, size_t size, const std::string& name, std::vector<NDArray>& arrays,
                 std::vector<std::string>& keys);

// What a .params file holds, parsed and validated but not loaded: load_params parses the whole file
// this way before it allocates a single array (and libFuzzer drives this part, which needs no device).
struct ParamsEntry {
  bool defined = false;  // false: MXNet's "none" array
  Shape shape;
  int32_t dtype = 0;
  uint64_t data_offset = 0, nbytes = 0;  // the raw data, inside the file
};
struct ParamsLayout {
  std::vector<ParamsEntry> arrays;
  std::vector<std::string> keys;  // empty, or one per array; none holds NUL
};
ParamsLayout parse_params(const void* data, size_t size, const std::string& name);

}  // namespace mx
