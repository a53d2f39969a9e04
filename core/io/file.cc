#include "io/file.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace mx::io {

std::vector<uint8_t> read_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail(MX_ERR_NOT_FOUND, "cannot open ", path, ": ", errno ? std::strerror(errno) : "out of memory");
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof(buf));
    if (n > 0) {
      out.insert(out.end(), buf, buf + n);
      continue;
    }
    int code = Z_OK;
    const char* msg = gzerror(f, &code);
    if (n < 0 || (code != Z_OK && code != Z_STREAM_END)) {
      const long long compressed = gzoffset(f);
      const std::string what = msg ? msg : "read error";
      gzclose(f);
      fail(MX_ERR_IO, path, ": corrupt or truncated gzip data near compressed byte ", compressed, " (", out.size(),
           " bytes decompressed): ", what);
    }
    break;
  }
  gzclose(f);
  return out;
}

}  // namespace mx::io
