// The idx format of MNIST files: a magic word (0, 0, type 0x08 = unsigned byte, number of dims),
// big-endian uint32 dims, then the data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mx::io {

struct IdxFile {
  std::vector<int64_t> dims;
  size_t offset = 0;  // first data byte
};

// Validates an idx header of unsigned bytes with `ndim` dims against the file's length; errors
// (MX_ERR_IO) name `path` and the offending offset.
IdxFile parse_idx(const std::vector<uint8_t>& bytes, const std::string& path, int ndim);

}  // namespace mx::io
