#include "base/device.h"

#include <cstdlib>

#include "base/error.h"

namespace mx {

std::string Device::str() const {
  const char* t = type == MX_DEVICE_CPU ? "cpu" : type == MX_DEVICE_GPU ? "gpu" : "dev";
  return str_cat(t, "(", id, ")");
}

Device Device::parse(const std::string& s) {
  auto bad = [&]() -> Device { fail(MX_ERR_INVALID_ARGUMENT, "bad device '", s, "' (expected cpu(0) or gpu(N))"); };
  Device d;
  std::string kind = s.substr(0, s.find('('));
  if (kind == "cpu") d.type = MX_DEVICE_CPU;
  else if (kind == "gpu") d.type = MX_DEVICE_GPU;
  else return bad();
  if (kind.size() == s.size()) return d;
  if (s.back() != ')') return bad();
  std::string num = s.substr(kind.size() + 1, s.size() - kind.size() - 2);
  char* end = nullptr;
  long v = std::strtol(num.c_str(), &end, 10);
  if (num.empty() || *end != '\0' || v < 0 || v > 1 << 20) return bad();
  d.id = int32_t(v);
  return d;
}

}  // namespace mx
