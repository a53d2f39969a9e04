#include "io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
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

// ---------------------------------------------------------------- AtomicFile

namespace {

constexpr size_t kAtomicBuffer = size_t(1) << 20;
std::atomic<uint64_t> g_tmp_counter{0};

// A fresh temporary next to `target` (O_EXCL: a name already taken, by a live writer or by one
// that was killed, is skipped). Returns the descriptor, its name in *tmp.
int create_temporary(const std::string& target, const std::string& path, const std::string& who, std::string* tmp) {
  const size_t slash = target.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string() : target.substr(0, slash + 1);
  // NAME_MAX counts the whole component: keep room for the suffix.
  const std::string base = target.substr(slash == std::string::npos ? 0 : slash + 1).substr(0, 200);
  int e = 0;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    *tmp = str_cat(dir, ".", base, ".tmp.", ::getpid(), ".", g_tmp_counter.fetch_add(1));
    const int fd = ::open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    e = errno;
    if (e != EEXIST && e != EINTR) break;
  }
  fail(MX_ERR_IO, who, ": cannot write ", path, ": cannot create the temporary ", *tmp, ": ", std::strerror(e));
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path, const char* who) : path_(path), target_(path), who_(who) {
  if (path.empty()) fail(MX_ERR_IO, who_, ": cannot write a file with an empty name");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    if (char* real = ::realpath(path.c_str(), nullptr)) {  // a dangling link is replaced instead
      target_ = real;
      std::free(real);
    }
  }
  const bool exists = ::stat(target_.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) fail(MX_ERR_IO, who_, ": cannot write ", path_, ": it is a directory");
  if (!exists && target_.back() == '/') fail(MX_ERR_IO, who_, ": cannot write ", path_, ": no file name");
  if (exists && !S_ISREG(st.st_mode)) {
    fd_ = ::open(target_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd_ < 0) {
      const int e = errno;
      fail(MX_ERR_IO, who_, ": cannot open ", path_, " for writing: ", std::strerror(e));
    }
  } else {
    fd_ = create_temporary(target_, path_, who_, &tmp_);
    // An existing file keeps its permissions (umask applies to a new one, as for any file).
    if (exists && ::fchmod(fd_, st.st_mode & 07777) != 0) io_error("cannot set the permissions of", errno);
  }
  buf_.reserve(kAtomicBuffer);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::io_error(const char* what, int err) {
  // The temporary goes now, not at destruction: the caller may catch and retry on the same path.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  const std::string via = tmp_.empty() ? std::string() : str_cat(" (through the temporary ", tmp_, ")");
  tmp_.clear();
  fail(MX_ERR_IO, who_, ": ", what, " ", path_, via, ": ", std::strerror(err), "; ",
       via.empty() ? "the file may be incomplete" : "the file is unchanged");
}

void AtomicFile::write_fd(const char* p, size_t n) {
  while (n > 0) {
    const ssize_t r = ::write(fd_, p, std::min<size_t>(n, size_t(1) << 30));
    if (r < 0) {
      if (errno == EINTR) continue;
      io_error("write to", errno);
    }
    p += r;
    n -= size_t(r);
  }
}

void AtomicFile::flush() {
  if (buf_.empty()) return;
  write_fd(buf_.data(), buf_.size());
  buf_.clear();
}

void AtomicFile::write(const void* p, size_t n) {
  if (fd_ < 0) fail(MX_ERR_INTERNAL, who_, ": write to ", path_, " after commit or error");
  const char* c = static_cast<const char*>(p);
  if (buf_.size() + n <= kAtomicBuffer) {
    buf_.insert(buf_.end(), c, c + n);
    return;
  }
  flush();
  if (n >= kAtomicBuffer) {
    write_fd(c, n);  // a large block goes straight out, uncopied
  } else {
    buf_.insert(buf_.end(), c, c + n);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) fail(MX_ERR_INTERNAL, who_, ": commit of ", path_, " after commit or error");
  flush();
  if (tmp_.empty()) {  // in place: a device or FIFO, nothing to sync or rename
    const int r = ::close(fd_);
    fd_ = -1;
    if (r != 0) io_error("closing", errno);
    return;
  }
  // The data must be on disk before the rename publishes it, or a power cut could leave the new
  // name pointing at blocks never written.
  if (::fsync(fd_) != 0) io_error("cannot sync", errno);
  const int r = ::close(fd_);
  fd_ = -1;
  if (r != 0) io_error("closing", errno);
  if (::rename(tmp_.c_str(), target_.c_str()) != 0) io_error("cannot replace", errno);
  tmp_.clear();
  // The rename is an entry in the directory: sync that too. File systems that cannot sync a
  // directory say EINVAL; the file itself is complete either way.
  const size_t slash = target_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : target_.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    const int sr = ::fsync(dfd);
    const int e = errno;
    ::close(dfd);
    if (sr != 0 && e != EINVAL && e != ENOTSUP)
      fail(MX_ERR_IO, who_, ": ", path_, " was written but syncing its directory ", dir, " failed: ", std::strerror(e));
  }
}

void write_file_atomic(const std::string& path, const char* who, std::string_view data) {
  AtomicFile f(path, who);
  f.write(data.data(), data.size());
  f.commit();
}

}  // namespace mx::io
