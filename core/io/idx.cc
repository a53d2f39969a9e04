#include "io/idx.h"

#include <algorithm>
#include <cstdio>

#include "base/error.h"
#include "io/file.h"

namespace mx::io {
namespace {

constexpr uint64_t kMaxIdxBytes = uint64_t(1) << 40;

[[noreturn]] void size_mismatch(const std::string& path, const IdxFile& h, uint64_t have, bool truncated) {
  fail(MX_ERR_IO, path, ": the header promises ", h.data_bytes, " data bytes after byte ", h.offset, " but the file has ",
       truncated ? "" : "more than ", have, truncated ? " (truncated)" : " (trailing bytes)");
}

}  // namespace

IdxFile parse_idx_header(const uint8_t* b, size_t n, const std::string& path, int ndim) {
  if (n < 4) fail(MX_ERR_IO, path, ": ", n, " bytes is too short for an idx header");
  if (b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] != ndim) {
    char got[16];
    std::snprintf(got, sizeof(got), "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
    fail(MX_ERR_IO, path, ": bad idx magic 0x", got, " at byte 0 (expected 0x000008", ndim == 3 ? "03" : "01",
         ": unsigned bytes, ", ndim, " dims)");
  }
  IdxFile idx;
  idx.offset = 4 + 4 * size_t(ndim);
  if (n < idx.offset) fail(MX_ERR_IO, path, ": the idx header is cut off at byte ", n);
  uint64_t total = 1, nonzero = 1;  // nonzero: a file of 0 samples must still describe sane samples
  for (int d = 0; d < ndim; ++d) {
    const uint8_t* p = b + 4 + 4 * d;
    const int64_t v = (int64_t(p[0]) << 24) | (int64_t(p[1]) << 16) | (int64_t(p[2]) << 8) | int64_t(p[3]);
    idx.dims.push_back(v);
    if (v == 0) {
      total = 0;
      continue;
    }
    if (nonzero > kMaxIdxBytes / uint64_t(v))
      fail(MX_ERR_IO, path, ": the idx dims at byte 4 describe more than 2^40 bytes (dim ", d, " is ", v, ")");
    nonzero *= uint64_t(v);
  }
  idx.data_bytes = total ? nonzero : 0;
  return idx;
}

IdxFile parse_idx(const std::vector<uint8_t>& b, const std::string& path, int ndim) {
  IdxFile idx = parse_idx_header(b.data(), b.size(), path, ndim);
  const uint64_t have = b.size() - idx.offset;
  if (have != idx.data_bytes) size_mismatch(path, idx, have, have < idx.data_bytes);
  return idx;
}

std::vector<uint8_t> read_idx(const std::string& path, int ndim, IdxFile* out) {
  InputStream in(path, "idx");
  std::vector<uint8_t> b(4 + 4 * size_t(ndim));
  b.resize(in.read(b.data(), b.size()));
  IdxFile idx = parse_idx_header(b.data(), b.size(), path, ndim);
  // A plain file is checked against its size before the data is allocated; a compressed or
  // streamed one grows the buffer as data arrives, so memory follows what is really there.
  const int64_t size = in.known_size();
  if (size >= 0 && uint64_t(size) - idx.offset != idx.data_bytes) {
    const uint64_t have = uint64_t(size) - idx.offset;
    size_mismatch(path, idx, have, have < idx.data_bytes);
  }
  if (size >= 0) b.reserve(size_t(size));
  uint64_t have = 0;
  while (have < idx.data_bytes) {
    const uint64_t want = std::min<uint64_t>(idx.data_bytes - have, uint64_t(1) << 24);
    b.resize(size_t(idx.offset + have + want));
    const size_t got = in.read(b.data() + idx.offset + have, size_t(want));
    have += got;
    if (got < want) size_mismatch(path, idx, have, true);
  }
  uint8_t extra = 0;
  if (in.read(&extra, 1) != 0) size_mismatch(path, idx, have, false);
  *out = idx;
  return b;
}

}  // namespace mx::io
