#include "io/idx.h"

#include <cstdio>

#include "base/error.h"

namespace mx::io {

IdxFile parse_idx(const std::vector<uint8_t>& b, const std::string& path, int ndim) {
  if (b.size() < 4) fail(MX_ERR_IO, path, ": ", b.size(), " bytes is too short for an idx header");
  if (b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] != ndim) {
    char got[16];
    std::snprintf(got, sizeof(got), "%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
    fail(MX_ERR_IO, path, ": bad idx magic 0x", got, " at byte 0 (expected 0x000008", ndim == 3 ? "03" : "01",
         ": unsigned bytes, ", ndim, " dims)");
  }
  IdxFile idx;
  idx.offset = 4 + 4 * size_t(ndim);
  if (b.size() < idx.offset) fail(MX_ERR_IO, path, ": the idx header is cut off at byte ", b.size());
  uint64_t total = 1;
  for (int d = 0; d < ndim; ++d) {
    const uint8_t* p = b.data() + 4 + 4 * d;
    const int64_t v = (int64_t(p[0]) << 24) | (int64_t(p[1]) << 16) | (int64_t(p[2]) << 8) | int64_t(p[3]);
    idx.dims.push_back(v);
    if (v != 0 && total > (uint64_t(1) << 40) / uint64_t(v))
      fail(MX_ERR_IO, path, ": the idx dims at byte 4 describe more than 2^40 bytes");
    total *= uint64_t(v);
  }
  if (b.size() != idx.offset + total)
    fail(MX_ERR_IO, path, ": the header promises ", total, " data bytes after byte ", idx.offset, " but the file has ",
         b.size() - idx.offset, b.size() < idx.offset + total ? " (truncated)" : " (trailing bytes)");
  return idx;
}

}  // namespace mx::io
