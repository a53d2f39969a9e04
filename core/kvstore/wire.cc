#include "kvstore/wire.h"

#include <cstring>

#include "base/error.h"

namespace mx::kv {
namespace {

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

struct Reader {
  const std::string& buf;
  const std::string& from;
  size_t pos = 0;
  template <typename T>
  T get(const char* what) {
    if (buf.size() - pos < sizeof(T)) fail(MX_ERR_IO, "kvstore message from ", from, ": truncated at byte ", pos, " (", what, ")");
    T v;
    std::memcpy(&v, buf.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
};

}  // namespace

std::string encode(MsgKind kind, const std::string& key, int32_t dtype, const Shape& shape, float threshold,
                   const void* payload, uint64_t bytes) {
  std::string s;
  s.reserve(32 + key.size() + 8 * shape.size() + bytes);
  put(s, uint32_t(kind));
  put(s, uint32_t(key.size()));
  s += key;
  put(s, dtype);
  put(s, int32_t(shape.size()));
  for (int64_t d : shape) put(s, d);
  put(s, threshold);
  if (bytes) s.append(static_cast<const char*>(payload), bytes);
  return s;
}

Msg decode(const std::string& buf, const std::string& from) {
  Reader r{buf, from};
  Msg m;
  const uint32_t kind = r.get<uint32_t>("kind");
  if (kind < 1 || kind > 8) fail(MX_ERR_IO, "kvstore message from ", from, ": unknown kind ", kind);
  m.kind = MsgKind(kind);
  const uint32_t key_len = r.get<uint32_t>("key length");
  if (buf.size() - r.pos < key_len) fail(MX_ERR_IO, "kvstore message from ", from, ": key of ", key_len, " bytes truncated");
  m.key.assign(buf.data() + r.pos, key_len);
  r.pos += key_len;
  m.dtype = r.get<int32_t>("dtype");
  const int32_t ndim = r.get<int32_t>("ndim");
  if (ndim < 0 || size_t(ndim) > kMaxNdim) fail(MX_ERR_IO, "kvstore message from ", from, ": ndim ", ndim);
  for (int32_t i = 0; i < ndim; ++i) m.shape.push_back(r.get<int64_t>("dims"));
  if (!shape_ok(m.shape)) fail(MX_ERR_IO, "kvstore message from ", from, ": bad shape ", shape_str(m.shape));
  m.threshold = r.get<float>("threshold");
  m.payload = std::string_view(buf).substr(r.pos);
  return m;
}

}  // namespace mx::kv
