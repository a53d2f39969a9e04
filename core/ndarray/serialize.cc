#include "ndarray/serialize.h"

#include <cstring>
#include <fstream>

#include "base/dtype.h"
#include "base/error.h"

namespace mx {
namespace {

constexpr uint64_t kListMagic = 0x112;
constexpr uint32_t kV1Magic = 0xF993fac8;
constexpr uint32_t kV2Magic = 0xF993fac9;
constexpr uint32_t kV3Magic = 0xF993faca;

class Writer {
 public:
  explicit Writer(const std::string& f) : fname_(f), out_(f, std::ios::binary | std::ios::trunc) {
    if (!out_) fail(MX_ERR_IO, "save: cannot open '", f, "' for writing");
  }
  template <typename T>
  void put(T v) { bytes(&v, sizeof(v)); }
  void bytes(const void* p, size_t n) {
    out_.write(static_cast<const char*>(p), std::streamsize(n));
    if (!out_) fail(MX_ERR_IO, "save: write to '", fname_, "' failed (disk full?)");
  }
  void close() {
    out_.close();
    if (!out_) fail(MX_ERR_IO, "save: closing '", fname_, "' failed");
  }

 private:
  std::string fname_;
  std::ofstream out_;
};

class Reader {
 public:
  explicit Reader(const std::string& f) : fname_(f), in_(f, std::ios::binary) {
    if (!in_) fail(MX_ERR_IO, "load: cannot open '", f, "'");
    in_.seekg(0, std::ios::end);
    size_ = uint64_t(in_.tellg());
    in_.seekg(0);
  }
  template <typename T>
  T get(const char* what) {
    T v;
    bytes(&v, sizeof(v), what);
    return v;
  }
  void bytes(void* p, uint64_t n, const char* what) {
    if (n > size_ - pos_) fail(MX_ERR_IO, "load: '", fname_, "' is truncated at offset ", pos_, " reading ", what,
                               " (", n, " bytes wanted, ", size_ - pos_, " left)");
    in_.read(static_cast<char*>(p), std::streamsize(n));
    if (!in_) fail(MX_ERR_IO, "load: read error in '", fname_, "' at offset ", pos_);
    pos_ += n;
  }
  [[noreturn]] void bad(const std::string& why, uint64_t at) {
    fail(MX_ERR_IO, "load: '", fname_, "' is not a valid .params file: ", why, " at offset ", at);
  }
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

 private:
  std::string fname_;
  std::ifstream in_;
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

NDArray load_one(Reader& r) {
  const uint64_t at = r.pos();
  const uint32_t magic = r.get<uint32_t>("array magic");
  Shape shape;
  if (magic == kV2Magic || magic == kV3Magic) {
    const int32_t stype = r.get<int32_t>("storage type");
    if (stype != 0) r.bad(str_cat("sparse storage type ", stype, " is not supported"), at + 4);
    const int32_t ndim = r.get<int32_t>("ndim");
    if (ndim < -1 || ndim > 32) r.bad(str_cat("implausible ndim ", ndim), at + 8);
    if (ndim <= 0 && magic == kV2Magic) return NDArray();  // MXNet's "none" array
    if (ndim < 0) return NDArray();
    for (int32_t i = 0; i < ndim; ++i) shape.push_back(r.get<int64_t>("dims"));
  } else if (magic == kV1Magic) {
    const uint32_t ndim = r.get<uint32_t>("ndim");
    if (ndim > 32) r.bad(str_cat("implausible ndim ", ndim), at + 4);
    for (uint32_t i = 0; i < ndim; ++i) shape.push_back(r.get<int64_t>("dims"));
    if (ndim == 0) return NDArray();
  } else {
    // Legacy (pre-V1): the magic slot holds ndim, dims are uint32.
    const uint32_t ndim = magic;
    if (ndim > 32) r.bad(str_cat("unknown array magic 0x", std::hex, magic), at);
    for (uint32_t i = 0; i < ndim; ++i) shape.push_back(r.get<uint32_t>("dims"));
    if (ndim == 0) return NDArray();
  }
  for (int64_t d : shape)
    if (d < 0) r.bad(str_cat("negative dimension in shape ", shape_str(shape)), at);
  r.get<int32_t>("device type");
  r.get<int32_t>("device id");
  const uint64_t type_at = r.pos();
  const int32_t flag = r.get<int32_t>("dtype");
  if (!dtype_known(flag)) r.bad(str_cat("unknown dtype flag ", flag), type_at);
  const uint64_t elem = uint64_t(dtype_info(flag).bytes);
  const uint64_t n = uint64_t(shape_size(shape));
  if (n != 0 && elem * n / n != elem) r.bad("array size overflows", type_at);
  if (elem * n > r.left())
    r.bad(str_cat("data of ", shape_str(shape), " ", dtype_info(flag).name, " needs ", elem * n, " bytes, only ",
                  r.left(), " remain"),
          r.pos());
  NDArray a(shape, flag, cpu());
  std::vector<char> host(a.nbytes());
  r.bytes(host.data(), host.size(), "array data");
  a.copy_from_host(host.data(), host.size());
  return a;
}

}  // namespace

void save_params(const std::string& fname, const std::vector<NDArray>& arrays, const std::vector<std::string>& keys) {
  if (!keys.empty() && keys.size() != arrays.size())
    fail(MX_ERR_INVALID_ARGUMENT, "save: ", arrays.size(), " arrays but ", keys.size(), " keys");
  for (size_t i = 0; i < arrays.size(); ++i)
    if (!arrays[i].defined()) fail(MX_ERR_INVALID_ARGUMENT, "save: array ", i, " is NULL");
  Writer w(fname);
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

void load_params(const std::string& fname, std::vector<NDArray>& arrays, std::vector<std::string>& keys) {
  Reader r(fname);
  arrays.clear();
  keys.clear();
  if (r.get<uint64_t>("file magic") != kListMagic) r.bad("wrong file magic (expected 0x112)", 0);
  r.get<uint64_t>("reserved");
  const uint64_t n = r.get<uint64_t>("array count");
  if (n > r.left() / 8) r.bad(str_cat("array count ", n, " exceeds the file size"), 16);
  for (uint64_t i = 0; i < n; ++i) arrays.push_back(load_one(r));
  const uint64_t at = r.pos();
  const uint64_t k = r.get<uint64_t>("key count");
  if (k != 0 && k != n) r.bad(str_cat(k, " keys for ", n, " arrays"), at);
  for (uint64_t i = 0; i < k; ++i) {
    const uint64_t len = r.get<uint64_t>("key length");
    if (len > r.left()) r.bad(str_cat("key length ", len, " exceeds the file"), r.pos() - 8);
    std::string s(len, '\0');
    r.bytes(s.data(), len, "key");
    keys.push_back(std::move(s));
  }
}

}  // namespace mx
