// Opening input files, for every reader in io and serialize: a missing file, a directory or a
// device is the same error everywhere, named by path; a regular file's size is known before its
// first byte is read, so every size a header declares can be checked against the bytes present
// before anything is allocated.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace mx::io {

// Opens path (open(2)) and checks what it is: MX_ERR_NOT_FOUND if it does not exist, MX_ERR_IO if
// it cannot be opened or is a directory and, unless `streams`, if it is anything but a regular file
// (a device or a FIFO has no size to check against and may never end). Returns the descriptor;
// *size is a regular file's size, -1 for a stream. Messages start with `who` ("RecordIO", ...).
int open_input(const std::string& path, const char* who, bool streams, int64_t* size);

// open_input for regular files, as a stdio stream of *size bytes.
FILE* fopen_regular(const std::string& path, const char* who, uint64_t* size);

// The bytes of a regular file, all of them (their count is known before reading).
std::string read_regular_file(const std::string& path, const char* who);

// A file read front to back, plain or gzip-compressed (zlib tells which), for formats whose header
// says how much follows: nothing is read ahead of what the caller asks for, so a gzip bomb or an
// endless stream (/dev/zero, a FIFO) costs only what the header declares. Directories are errors.
class InputStream {
 public:
  InputStream(const std::string& path, const char* who);
  ~InputStream();
  InputStream(const InputStream&) = delete;
  InputStream& operator=(const InputStream&) = delete;

  // Up to n bytes into dst: fewer only at the end of the data. MX_ERR_IO naming the compressed and
  // decompressed offsets if the gzip stream is corrupt or cut off.
  size_t read(void* dst, size_t n);
  // The size of the data when it is known before reading it: a regular file that is not
  // compressed (valid after the first read); -1 otherwise.
  int64_t known_size() const;

 private:
  std::string path_;
  void* gz_ = nullptr;  // gzFile
  int64_t file_size_ = -1;
  uint64_t offset_ = 0;  // (decompressed) bytes read so far
};

// Output files that must never be seen half-written (.params, -symbol.json: the checkpoints a job
// resumes from). The bytes go to a temporary in the target's directory (a rename is atomic only
// within one file system), named ".<name>.tmp.<pid>.<n>": hidden, not ending in the target's
// extension, so no checkpoint glob (prefix-*.params) matches it, and unique per process and thread;
// a stale one left by a killed process is stepped around (O_EXCL), never reused. commit() fsyncs
// the temporary, renames it over the target and fsyncs the directory, so a crash or power cut at
// any moment leaves the old file or the complete new one. Any error removes the temporary, leaves
// the target untouched and raises MX_ERR_IO naming the file (messages start with `who`).
// A symbolic link is followed (the file it names is replaced, the link kept). A target that exists
// and is not a regular file (/dev/null, a FIFO) is written in place: it has nothing to tear and
// must not be replaced by a file. A directory is an error.
class AtomicFile {
 public:
  AtomicFile(const std::string& path, const char* who);
  ~AtomicFile();  // without commit(): the temporary is removed, the target untouched
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* p, size_t n);  // buffered
  void commit();

 private:
  void flush();
  void write_fd(const char* p, size_t n);
  [[noreturn]] void io_error(const char* what, int err);

  std::string path_;    // as the caller named it, for messages
  std::string target_;  // what is replaced: path_ with a symbolic link resolved
  std::string tmp_;     // empty when writing in place, and once renamed
  std::string who_;
  int fd_ = -1;
  std::vector<char> buf_;
};

// The whole of `data` as one AtomicFile.
void write_file_atomic(const std::string& path, const char* who, std::string_view data);

}  // namespace mx::io
