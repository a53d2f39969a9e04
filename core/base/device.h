// A device is (type, id), type being the DLPack device type (MX_DEVICE_CPU / MX_DEVICE_GPU).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "mx/c_api.h"

namespace mx {

struct Device {
  int32_t type = MX_DEVICE_CPU;
  int32_t id = 0;

  bool operator==(const Device&) const = default;
  bool is_cpu() const { return type == MX_DEVICE_CPU; }
  // "cpu(0)", "gpu(1)" as MXNet prints contexts.
  std::string str() const;
  // Parses "cpu(0)", "gpu(1)", "cpu", "gpu" (id 0); throws MX_ERR_INVALID_ARGUMENT.
  static Device parse(const std::string& s);
};

inline Device cpu() { return {MX_DEVICE_CPU, 0}; }

}  // namespace mx

template <>
struct std::hash<mx::Device> {
  size_t operator()(const mx::Device& d) const noexcept { return size_t(d.type) * 1024 + size_t(d.id); }
};
