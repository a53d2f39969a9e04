#include "io/recordio.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "base/error.h"
#include "io/file.h"

namespace mx::io {
namespace {

constexpr uint32_t kLengthMask = (1u << 29) - 1;

uint32_t encode(uint32_t cflag, uint64_t length) { return (cflag << 29) | uint32_t(length); }

std::string why() { return errno ? std::strerror(errno) : "unknown error"; }

}  // namespace

// ---------------------------------------------------------------- writer

RecordWriter::RecordWriter(const std::string& path, const std::string& idx_path) : path_(path), idx_path_(idx_path) {
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) fail(MX_ERR_IO, "RecordIO: cannot create ", path, ": ", why());
  if (!idx_path.empty()) {
    idx_ = std::fopen(idx_path.c_str(), "w");
    if (!idx_) {
      std::fclose(f_);
      f_ = nullptr;
      fail(MX_ERR_IO, "RecordIO: cannot create index ", idx_path, ": ", why());
    }
  }
}

RecordWriter::~RecordWriter() {
  if (f_) std::fclose(f_);
  if (idx_) std::fclose(idx_);
}

void RecordWriter::put(const void* p, size_t n) {
  if (!f_) fail(MX_ERR_IO, "RecordIO: ", path_, " is closed");
  if (n && std::fwrite(p, 1, n, f_) != n) fail(MX_ERR_IO, "RecordIO: write to ", path_, " failed at byte ", pos_, ": ", why());
  pos_ += n;
}

void RecordWriter::write(const void* data, uint64_t size) {
  if (size > kLengthMask) fail(MX_ERR_INVALID_ARGUMENT, "RecordIO: a record of ", size, " bytes exceeds the 2^29 - 1 limit");
  const auto* bytes = static_cast<const char*>(data);
  auto part = [&](uint32_t cflag, uint64_t begin, uint64_t end) {
    const uint32_t head[2] = {kRecordMagic, encode(cflag, end - begin)};
    put(head, sizeof(head));
    put(bytes + begin, size_t(end - begin));
  };
  // Split wherever the magic sits at a 4-byte boundary of the payload (it is dropped and restored
  // by the reader), so a reader can resynchronise on the magic.
  uint64_t start = 0;
  for (uint64_t i = 0; i + 4 <= size; i += 4) {
    uint32_t w;
    std::memcpy(&w, bytes + i, 4);
    if (w != kRecordMagic) continue;
    part(start == 0 ? 1 : 2, start, i);
    start = i + 4;
  }
  part(start == 0 ? 0 : 3, start, size);
  const uint64_t pad = (4 - (size - start) % 4) % 4;
  const char zeros[4] = {0, 0, 0, 0};
  put(zeros, size_t(pad));
}

void RecordWriter::write_keyed(int64_t key, const void* data, uint64_t size) {
  if (!idx_) fail(MX_ERR_INVALID_ARGUMENT, "RecordIO: ", path_, " was opened without an index file");
  if (std::fprintf(idx_, "%lld\t%llu\n", static_cast<long long>(key), static_cast<unsigned long long>(pos_)) < 0)
    fail(MX_ERR_IO, "RecordIO: write to ", idx_path_, " failed: ", why());
  write(data, size);
}

void RecordWriter::close() {
  bool ok = true;
  if (f_) ok &= std::fclose(f_) == 0;
  if (idx_) ok &= std::fclose(idx_) == 0;
  f_ = idx_ = nullptr;
  if (!ok) fail(MX_ERR_IO, "RecordIO: closing ", path_, " failed: ", why());
}

// ---------------------------------------------------------------- reader

RecordReader::RecordReader(const std::string& path) : path_(path) {
  f_ = fopen_regular(path, "RecordIO", &size_);  // a directory read as empty before
}

RecordReader::RecordReader(const void* data, size_t size, const std::string& name) : path_(name), size_(size) {
  static char empty = 0;
  f_ = fmemopen(size ? const_cast<void*>(data) : &empty, size ? size : 1, "rb");
  if (!f_) fail(MX_ERR_IO, "RecordIO: cannot read ", name, " from memory: ", why());
}

RecordReader::~RecordReader() {
  if (f_) std::fclose(f_);
}

void RecordReader::seek(uint64_t pos) {
  if (pos > size_) fail(MX_ERR_INVALID_ARGUMENT, "RecordIO: seek to ", pos, " past the end of ", path_, " (", size_, " bytes)");
  std::fseek(f_, long(pos), SEEK_SET);
  pos_ = pos;
}

bool RecordReader::read_part(std::string& out, uint32_t& cflag, bool append) {
  const uint64_t at = pos_;
  if (at >= size_) return false;
  uint32_t head[2];
  const size_t got = std::fread(head, 1, sizeof(head), f_);
  if (std::ferror(f_)) fail(MX_ERR_IO, "RecordIO: read error in ", path_, " at byte ", at, ": ", why());
  if (got == 0) return false;
  if (got < sizeof(head)) fail(MX_ERR_IO, "RecordIO: ", path_, " ends inside a record header at byte ", at);
  if (head[0] != kRecordMagic) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "0x%08x", head[0]);
    fail(MX_ERR_IO, "RecordIO: bad magic ", hex, " at byte ", at, " of ", path_, " (expected 0xced7230a)");
  }
  cflag = head[1] >> 29;
  const uint64_t len = head[1] & kLengthMask, padded = (len + 3) / 4 * 4;
  if (at + 8 + len > size_)
    fail(MX_ERR_IO, "RecordIO: the record at byte ", at, " of ", path_, " is cut off: its header says ", len,
         " bytes, only ", size_ - at - 8, " remain");
  const size_t base = append ? out.size() : 0;
  out.resize(base + size_t(len));
  if (len && std::fread(out.data() + base, 1, size_t(len), f_) != len)
    fail(MX_ERR_IO, "RecordIO: read error in ", path_, " at byte ", at + 8, ": ", why());
  std::fseek(f_, long(padded - len), SEEK_CUR);
  pos_ = std::min(size_, at + 8 + padded);
  return true;
}

bool RecordReader::read(std::string& out) {
  const uint64_t at = pos_;
  uint32_t cflag = 0;
  if (!read_part(out, cflag, false)) return false;
  if (cflag == 0) return true;
  if (cflag != 1)
    fail(MX_ERR_IO, "RecordIO: the record at byte ", at, " of ", path_, " starts with a continuation part (flag ", cflag, ")");
  while (cflag != 3) {
    const uint64_t part_at = pos_;
    const char magic[4] = {char(0x0a), char(0x23), char(0xd7), char(0xce)};  // kRecordMagic, little-endian
    out.append(magic, 4);
    if (!read_part(out, cflag, true))
      fail(MX_ERR_IO, "RecordIO: ", path_, " ends inside the multi-part record that starts at byte ", at);
    if (cflag != 2 && cflag != 3)
      fail(MX_ERR_IO, "RecordIO: part at byte ", part_at, " of ", path_, " has flag ", cflag,
           " inside the record that starts at byte ", at);
  }
  return true;
}

// ---------------------------------------------------------------- index and image records

std::vector<IndexEntry> read_index(const std::string& idx_path) {
  std::istringstream in(read_regular_file(idx_path, "RecordIO index"));
  std::vector<IndexEntry> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    // two decimal integers, the offset unsigned (">>" would read "-8" as 2^64 - 8)
    const char* p = line.c_str();
    char* end = nullptr;
    errno = 0;
    const long long key = std::strtoll(p, &end, 10);
    bool ok = end != p && (*end == '\t' || *end == ' ') && errno == 0;
    unsigned long long off = 0;
    if (ok) {
      p = end;
      while (*p == '\t' || *p == ' ') ++p;
      off = std::strtoull(p, &end, 10);
      ok = *p >= '0' && *p <= '9' && errno == 0;
      while (ok && (*end == '\t' || *end == ' ')) ++end;
      ok = ok && *end == '\0';
    }
    if (!ok) fail(MX_ERR_IO, "RecordIO: ", idx_path, " line ", n, ": expected 'key<TAB>offset', got '", line, "'");
    out.push_back({key, off});
  }
  return out;
}

void unpack_image_record(const std::string& record, ImageRecordHeader& h, std::vector<float>& labels,
                         const char*& payload, size_t& payload_size) {
  if (record.size() < kImageHeaderBytes)
    fail(MX_ERR_IO, "image record: ", record.size(), " bytes is shorter than the 24-byte header");
  std::memcpy(&h.flag, record.data(), 4);
  std::memcpy(&h.label, record.data() + 4, 4);
  std::memcpy(&h.id, record.data() + 8, 8);
  std::memcpy(&h.id2, record.data() + 16, 8);
  size_t at = kImageHeaderBytes;
  labels.clear();
  if (h.flag > 0) {
    if (record.size() < at + 4 * size_t(h.flag))
      fail(MX_ERR_IO, "image record ", h.id, ": header announces ", h.flag, " labels but the record has ", record.size(),
           " bytes");
    labels.resize(h.flag);
    std::memcpy(labels.data(), record.data() + at, 4 * size_t(h.flag));
    at += 4 * size_t(h.flag);
  } else {
    labels = {h.label};
  }
  payload = record.data() + at;
  payload_size = record.size() - at;
}

std::string pack_image_record(const ImageRecordHeader& h, const std::vector<float>& labels, const void* payload,
                              size_t payload_size) {
  ImageRecordHeader hh = h;
  if (labels.size() > 1) hh.flag = uint32_t(labels.size());
  if (labels.size() == 1 && hh.flag == 0) hh.label = labels[0];
  std::string out(kImageHeaderBytes, '\0');
  std::memcpy(out.data(), &hh.flag, 4);
  std::memcpy(out.data() + 4, &hh.label, 4);
  std::memcpy(out.data() + 8, &hh.id, 8);
  std::memcpy(out.data() + 16, &hh.id2, 8);
  if (hh.flag > 0) out.append(reinterpret_cast<const char*>(labels.data()), 4 * labels.size());
  out.append(static_cast<const char*>(payload), payload_size);
  return out;
}

}  // namespace mx::io
