// The idx format of MNIST files: a magic word (0, 0, type 0x08 = unsigned byte, number of dims),
// big-endian uint32 dims, then the data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mx::io {

struct IdxFile {
  std::vector<int64_t> dims;
  size_t offset = 0;        // first data byte (the header's size)
  uint64_t data_bytes = 0;  // what the dims declare
};

// Validates the idx header of unsigned bytes with `ndim` dims at the start of b[0, n): the magic
// and dims whose product (of the non-zero ones too: a sample's size) is at most 2^40 bytes. Errors
// (MX_ERR_IO) name `path` and the offending offset.
IdxFile parse_idx_header(const uint8_t* b, size_t n, const std::string& path, int ndim);
// The header, and data that fills the rest of `bytes` exactly.
IdxFile parse_idx(const std::vector<uint8_t>& bytes, const std::string& path, int ndim);
// Reads an idx file, plain or gzip (the header, then exactly the bytes it declares: never more,
// however long the file or stream goes on). Returns header and data; *out describes them.
std::vector<uint8_t> read_idx(const std::string& path, int ndim, IdxFile* out);

}  // namespace mx::io
