#include "ndarray/serialize.h"

#include <cstdio>
#include <cstring>
#include <memory>

#include "base/dtype.h"
#include "base/error.h"
#include "io/file.h"

namespace mx {
namespace {

constexpr uint64_t kListMagic = 0x112;
constexpr uint32_t kV1Magic = 0xF993fac8;
constexpr uint32_t kV2Magic = 0xF993fac9;
constexpr uint32_t kV3Magic = 0xF993faca;

// Through io::AtomicFile: a checkpoint being rewritten is, at every moment, the old file or the
// complete new one (a job killed mid-save resumes from it).
// Or into memory (a dist_async server's optimizer states travel as .params bytes).
class Writer {
 public:
  explicit Writer(const std::string& f) : file_(std::make_unique<io::AtomicFile>(f, "save")) {}
  explicit Writer(std::string* mem) : mem_(mem) {}
  template <typename T>
  void put(T v) { bytes(&v, sizeof(v)); }
  void bytes(const void* p, size_t n) {
    if (mem_) mem_->append(static_cast<const char*>(p), n);
    else file_->write(p, n);
  }
  void close() {
    if (file_) file_->commit();
  }

 private:
  std::unique_ptr<io::AtomicFile> file_;
  std::string* mem_ = nullptr;
};

// The bytes of a .params file, from a buffer or from a regular file whose size was taken before
// reading: every count and length the file declares is checked against what is left before
// anything is allocated for it.
class Reader {
 public:
  // A missing file is MX_ERR_NOT_FOUND, as for every other reader (c_api.h: "unknown ... file").
  explicit Reader(const std::string& f) : fname_(f) { file_ = io::fopen_regular(f, "load", &size_); }
  Reader(const void* data, size_t size, const std::string& name)
      : fname_(name), mem_(static_cast<const char*>(data)), size_(size) {}
  ~Reader() {
    if (file_) std::fclose(file_);
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  template <typename T>
  T get(const char* what) {
    T v;
    bytes(&v, sizeof(v), what);
    return v;
  }
  void bytes(void* p, uint64_t n, const char* what) {
    need(n, what);
    read_at(pos_, p, n);
    pos_ += n;
  }
  void skip(uint64_t n, const char* what) {
    need(n, what);
    pos_ += n;
  }
  // n bytes at `offset`, a range the parse already found inside the file.
  void read_at(uint64_t offset, void* p, uint64_t n) {
    if (!file_) {
      if (n) std::memcpy(p, mem_ + offset, size_t(n));
      return;
    }
    if (std::fseek(file_, long(offset), SEEK_SET) != 0 || std::fread(p, 1, size_t(n), file_) != n)
      fail(MX_ERR_IO, "load: read error in '", fname_, "' at offset ", offset, " (did the file shrink?)");
  }
  [[noreturn]] void bad(const std::string& why, uint64_t at) {
    fail(MX_ERR_IO, "load: '", fname_, "' is not a valid .params file: ", why, " at offset ", at);
  }
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > left()) fail(MX_ERR_IO, "load: '", fname_, "' is truncated at offset ", pos_, " reading ", what, " (", n,
                         " bytes wanted, ", left(), " left)");
  }

  std::string fname_;
  FILE* file_ = nullptr;
  const char* mem_ = nullptr;
  uint64_t size_ = 0, pos_ = 0;
};

void save_one(Writer& w, const NDArray& a) {
  w.put<uint32_t>(kV2Magic);
  w.put<int32_t>(0);  // dense storage
  w.put<int32_t>(int32_t(a.shape().size()));
  for (int64_t d : a.shape()) w.put<int64_t>(d);
  w.put<int32_t>(a.device().type);
  w.put<int32_t>(a.device().id);
  w.put<int32_t>(a.dtype());
  std::vector<char> host(a.nbytes());
  a.copy_to_host(host.data(), host.size());
  w.bytes(host.data(), host.size());
}

// The smallest array record: a legacy one of ndim 0 (its 4-byte magic slot only).
constexpr uint64_t kMinArrayBytes = 4;

// True if the product of the non-zero dims, times 8 (the widest element), fits int64: then no
// product of these dims, in any order, zeros included, can wrap.
bool dims_fit(const Shape& shape) {
  int64_t n = 8;
  for (int64_t d : shape)
    if (d < 0 || (d != 0 && !mul_size(n, d, &n))) return false;
  return true;
}

ParamsEntry parse_one(Reader& r) {
  const uint64_t at = r.pos();
  const uint32_t magic = r.get<uint32_t>("array magic");
  Shape shape;
  uint64_t dims_at = 0;
  if (magic == kV2Magic || magic == kV3Magic) {
    const int32_t stype = r.get<int32_t>("storage type");
    if (stype != 0) r.bad(str_cat("sparse storage type ", stype, " is not supported"), at + 4);
    const int32_t ndim = r.get<int32_t>("ndim");
    if (ndim < -1 || ndim > int32_t(kMaxNdim)) r.bad(str_cat("implausible ndim ", ndim), at + 8);
    if (ndim <= 0 && magic == kV2Magic) return {};  // MXNet's "none" array
    if (ndim < 0) return {};
    dims_at = r.pos();
    for (int32_t i = 0; i < ndim; ++i) shape.push_back(r.get<int64_t>("dims"));
  } else if (magic == kV1Magic) {
    const uint32_t ndim = r.get<uint32_t>("ndim");
    if (ndim > kMaxNdim) r.bad(str_cat("implausible ndim ", ndim), at + 4);
    dims_at = r.pos();
    for (uint32_t i = 0; i < ndim; ++i) shape.push_back(r.get<int64_t>("dims"));
    if (ndim == 0) return {};
  } else {
    // Legacy (pre-V1): the magic slot holds ndim, dims are uint32.
    const uint32_t ndim = magic;
    if (ndim > kMaxNdim) r.bad(str_cat("unknown array magic 0x", std::hex, magic), at);
    dims_at = r.pos();
    for (uint32_t i = 0; i < ndim; ++i) shape.push_back(r.get<uint32_t>("dims"));
    if (ndim == 0) return {};
  }
  for (int64_t d : shape)
    if (d < 0) r.bad(str_cat("negative dimension in shape ", shape_str(shape)), dims_at);
  if (!dims_fit(shape)) r.bad(str_cat("shape ", shape_str(shape), " is too large (2^60 elements or more)"), dims_at);
  r.get<int32_t>("device type");
  r.get<int32_t>("device id");
  const uint64_t type_at = r.pos();
  const int32_t flag = r.get<int32_t>("dtype");
  if (!dtype_known(flag)) r.bad(str_cat("unknown dtype flag ", flag), type_at);
  // exact now (dims_fit), and checked against the file before the array is allocated
  const uint64_t nbytes = uint64_t(shape_size(shape)) * uint64_t(dtype_info(flag).bytes);
  if (nbytes > r.left())
    r.bad(str_cat("data of ", shape_str(shape), " ", dtype_info(flag).name, " needs ", nbytes, " bytes, only ",
                  r.left(), " remain"),
          r.pos());
  ParamsEntry e{true, shape, flag, r.pos(), nbytes};
  r.skip(nbytes, "array data");
  return e;
}

// The whole file: list magic, arrays, then keys (none, or one per array).
ParamsLayout parse_list(Reader& r) {
  ParamsLayout out;
  if (r.get<uint64_t>("file magic") != kListMagic) r.bad("wrong file magic (expected 0x112)", 0);
  r.get<uint64_t>("reserved");
  const uint64_t n = r.get<uint64_t>("array count");
  if (n > r.left() / kMinArrayBytes) r.bad(str_cat("array count ", n, " exceeds what the file can hold"), 16);
  for (uint64_t i = 0; i < n; ++i) out.arrays.push_back(parse_one(r));
  const uint64_t at = r.pos();
  const uint64_t k = r.get<uint64_t>("key count");
  if (k != 0 && k != n) r.bad(str_cat(k, " keys for ", n, " arrays"), at);
  for (uint64_t i = 0; i < k; ++i) {
    const uint64_t len_at = r.pos();
    const uint64_t len = r.get<uint64_t>("key length");
    if (len > r.left()) r.bad(str_cat("key length ", len, " exceeds the ", r.left(), " bytes left"), len_at);
    std::string s(size_t(len), '\0');
    r.bytes(s.data(), len, "key");
    // A C string would cut the key here (the C API hands keys out as const char*).
    if (const size_t nul = s.find('\0'); nul != std::string::npos)
      r.bad(str_cat("key ", i, " holds a NUL byte"), len_at + 8 + nul);
    out.keys.push_back(std::move(s));
  }
  return out;
}

// The arrays of a parsed file, on cpu(0), each allocated only now that the whole file is known good.
void load_list(Reader& r, std::vector<NDArray>& arrays, std::vector<std::string>& keys) {
  ParamsLayout layout = parse_list(r);
  arrays.clear();
  for (const ParamsEntry& e : layout.arrays) {
    if (!e.defined) {
      arrays.emplace_back();
      continue;
    }
    NDArray a(e.shape, e.dtype, cpu());
    std::vector<char> host(size_t(e.nbytes));
    r.read_at(e.data_offset, host.data(), e.nbytes);
    a.copy_from_host(host.data(), host.size());
    arrays.push_back(std::move(a));
  }
  keys = std::move(layout.keys);
}

}  // namespace

namespace {
void write_list(Writer& w, const std::vector<NDArray>& arrays, const std::vector<std::string>& keys) {
  w.put<uint64_t>(kListMagic);
  w.put<uint64_t>(0);
  w.put<uint64_t>(arrays.size());
  for (const auto& a : arrays) save_one(w, a);
  w.put<uint64_t>(keys.size());
  for (const auto& k : keys) {
    w.put<uint64_t>(k.size());
    w.bytes(k.data(), k.size());
  }
  w.close();
}

void check_list(const std::vector<NDArray>& arrays, const std::vector<std::string>& keys) {
  if (!keys.empty() && keys.size() != arrays.size())
    fail(MX_ERR_INVALID_ARGUMENT, "save: ", arrays.size(), " arrays but ", keys.size(), " keys");
  for (size_t i = 0; i < arrays.size(); ++i)
    if (!arrays[i].defined()) fail(MX_ERR_INVALID_ARGUMENT, "save: array ", i, " is NULL");
  for (size_t i = 0; i < keys.size(); ++i)  // load refuses them: a C string would cut the key short
    if (keys[i].find('\0') != std::string::npos)
      fail(MX_ERR_INVALID_ARGUMENT, "save: key ", i, " holds a NUL byte");
}
}  // namespace

void save_params(const std::string& fname, const std::vector<NDArray>& arrays, const std::vector<std::string>& keys) {
  check_list(arrays, keys);
  Writer w(fname);
  write_list(w, arrays, keys);
}

std::string save_params(const std::vector<NDArray>& arrays, const std::vector<std::string>& keys) {
  check_list(arrays, keys);
  std::string out;
  Writer w(&out);
  write_list(w, arrays, keys);
  return out;
}

void load_params(const std::string& fname, std::vector<NDArray>& arrays, std::vector<std::string>& keys) {
  Reader r(fname);
  load_list(r, arrays, keys);
}

void load_params(const void* data, size_t size, const std::string& name, std::vector<NDArray>& arrays,
                 std::vector<std::string>& keys) {
  Reader r(data, size, name);
  load_list(r, arrays, keys);
}

ParamsLayout parse_params(const void* data, size_t size, const std::string& name) {
  Reader r(data, size, name);
  return parse_list(r);
}

}  // namespace mx
