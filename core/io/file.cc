#include "io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace mx::io {
namespace {

const char* kind_of(mode_t m) {
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a file";
}

}  // namespace

int open_input(const std::string& path, const char* who, bool streams, int64_t* size) {
  // O_NONBLOCK: opening a FIFO that has no writer would otherwise wait for one forever (reads
  // block again below, and then see the end of the data if no writer ever comes).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    fail(e == ENOENT ? MX_ERR_NOT_FOUND : MX_ERR_IO, who, ": cannot open ", path, ": ", std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    fail(MX_ERR_IO, who, ": cannot stat ", path, ": ", std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail(MX_ERR_IO, who, ": ", path, " is a directory, not a file");
  }
  if (!S_ISREG(st.st_mode) && !streams) {
    ::close(fd);
    fail(MX_ERR_IO, who, ": ", path, " is not a regular file (", kind_of(st.st_mode), ")");
  }
  if (!S_ISREG(st.st_mode)) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  *size = S_ISREG(st.st_mode) ? int64_t(st.st_size) : -1;
  return fd;
}

FILE* fopen_regular(const std::string& path, const char* who, uint64_t* size) {
  int64_t n = 0;
  const int fd = open_input(path, who, false, &n);
  FILE* f = ::fdopen(fd, "rb");
  if (!f) {
    const int e = errno;
    ::close(fd);
    fail(MX_ERR_IO, who, ": cannot open ", path, ": ", std::strerror(e));
  }
  *size = uint64_t(n);
  return f;
}

std::string read_regular_file(const std::string& path, const char* who) {
  uint64_t size = 0;
  FILE* f = fopen_regular(path, who, &size);
  std::string out(size_t(size), '\0');
  const size_t got = size ? std::fread(out.data(), 1, out.size(), f) : 0;
  const bool error = std::ferror(f) != 0;
  std::fclose(f);
  if (error || got != size)
    fail(MX_ERR_IO, who, ": read error in ", path, " at byte ", got, " of ", size, error ? "" : " (the file shrank)");
  return out;
}

// ---------------------------------------------------------------- InputStream

InputStream::InputStream(const std::string& path, const char* who) : path_(path) {
  const int fd = open_input(path, who, true, &file_size_);
  gz_ = gzdopen(fd, "rb");
  if (!gz_) {
    ::close(fd);
    fail(MX_ERR_IO, who, ": cannot open ", path, ": out of memory");
  }
}

InputStream::~InputStream() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

size_t InputStream::read(void* dst, size_t n) {
  auto* f = static_cast<gzFile>(gz_);
  size_t got = 0;
  while (got < n) {
    const unsigned chunk = unsigned(std::min<size_t>(n - got, size_t(1) << 30));  // gzread counts in int
    const int r = gzread(f, static_cast<char*>(dst) + got, chunk);
    if (r > 0) {
      got += size_t(r);
      continue;
    }
    int code = Z_OK;
    const char* msg = gzerror(f, &code);
    if (r < 0 || (code != Z_OK && code != Z_STREAM_END))
      fail(MX_ERR_IO, path_, ": corrupt or truncated gzip data near compressed byte ", gzoffset(f), " (",
           offset_ + got, " bytes decompressed): ", msg ? msg : "read error");
    break;  // the end of the data
  }
  offset_ += got;
  return got;
}

int64_t InputStream::known_size() const {
  return file_size_ >= 0 && offset_ > 0 && gzdirect(static_cast<gzFile>(gz_)) ? file_size_ : -1;
}

}  // namespace mx::io
