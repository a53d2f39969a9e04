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
// Arrays are loaded onto cpu(0), as MXNet does. Malformed input raises MX_ERR_IO naming the file
// and the byte offset.
void load_params(const std::string& fname, std::vector<NDArray>& arrays, std::vector<std::string>& keys);

}  // namespace mx
