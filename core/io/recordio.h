// dmlc RecordIO, the container of MXNet's .rec files: each record is a magic word, a length word
// whose top 3 bits say whether this is a whole record or a part (a record whose payload holds the
// magic at a 4-byte boundary is split there, and the reader puts the magic back), then the
// payload padded to 4 bytes. An optional .idx text file maps integer keys to byte offsets
// ("key\toffset" per line). Every malformed input is an MX_ERR_IO error naming file and offset.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

namespace mx::io {

inline constexpr uint32_t kRecordMagic = 0xced7230a;

class RecordWriter {
 public:
  // Creates (truncates) path; with idx_path, also writes "key\toffset" lines for write_keyed.
  explicit RecordWriter(const std::string& path, const std::string& idx_path = "");
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  void write(const void* data, uint64_t size);
  void write_keyed(int64_t key, const void* data, uint64_t size);  // needs an idx_path
  uint64_t tell() const { return pos_; }
  void close();  // flushes; errors are reported here rather than lost in the destructor

 private:
  void put(const void* p, size_t n);
  std::string path_, idx_path_;
  FILE* f_ = nullptr;
  FILE* idx_ = nullptr;
  uint64_t pos_ = 0;
};

class RecordReader {
 public:
  explicit RecordReader(const std::string& path);
  // Reads records from a buffer the caller keeps alive (fuzzing, tests); `name` stands for the path.
  RecordReader(const void* data, size_t size, const std::string& name);
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // The next whole record into out; false at the end of the file.
  bool read(std::string& out);
  void seek(uint64_t pos);
  uint64_t tell() const { return pos_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  // Reads one part: false at a clean end of file.
  bool read_part(std::string& out, uint32_t& cflag, bool append);
  std::string path_;
  FILE* f_ = nullptr;
  uint64_t pos_ = 0, size_ = 0;
};

// "key\toffset" lines, in file order.
struct IndexEntry {
  int64_t key;
  uint64_t offset;
};
std::vector<IndexEntry> read_index(const std::string& idx_path);

// MXNet's image record header (recordio.IRHeader): flag, label, id, id2, then `flag` float
// labels when flag > 0 (label is then unused), then the encoded image.
struct ImageRecordHeader {
  uint32_t flag = 0;
  float label = 0;
  uint64_t id = 0, id2 = 0;
};
inline constexpr size_t kImageHeaderBytes = 24;

// Splits a record into header, labels and payload (pointers into `record`).
void unpack_image_record(const std::string& record, ImageRecordHeader& h, std::vector<float>& labels,
                         const char*& payload, size_t& payload_size);
std::string pack_image_record(const ImageRecordHeader& h, const std::vector<float>& labels, const void* payload,
                              size_t payload_size);

}  // namespace mx::io
