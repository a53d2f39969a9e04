// The nccl store's collectives: the plugin (device_comm.h) loaded on first use and kept for the
// process, like the backends and the MPI transport.
#pragma once

#include <string>

#include "kvstore/device_comm.h"

namespace mx::kv {

struct DeviceComm {
  mx_kv_device_comm api{};
  std::string path;
  // Throws mx::Error (MX_ERR_INTERNAL) "kvstore nccl <what>: <plugin's message>" when rc != 0.
  void check(int rc, const char* what) const;
};

// Loads the plugin: MX_KVSTORE_DEVICE_COMM if set, else libmx_kvstore_nccl.so next to libmx.so or
// in the build directory. Throws MX_ERR_NOT_FOUND naming every file tried and why it failed.
// Thread-safe; a file loaded once is reused (a failure is not remembered: a later call retries).
const DeviceComm& device_comm();

}  // namespace mx::kv
