// Opening input files, for every reader in io and serialize: a missing file, a directory or a
// device is the same error everywhere, named by path; a regular file's size is known before its
// first byte is read, so every size a header declares can be checked against the bytes present
// before anything is allocated.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

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

}  // namespace mx::io
