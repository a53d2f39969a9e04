#include "kvstore/device_comm_loader.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "kvstore/plugin_file.h"

namespace mx::kv {
namespace {

constexpr const char* kFile = "libmx_kvstore_nccl.so";

// Opens path; nullptr with the reason appended to why.
DeviceComm* open(const std::string& path, std::string& why) {
  auto init = reinterpret_cast<int (*)(mx_kv_device_comm*)>(open_plugin(path, "mx_kv_device_comm_init", false, why));
  if (!init) return nullptr;
  auto c = std::make_unique<DeviceComm>();
  c->path = path;
  c->api.struct_size = sizeof(mx_kv_device_comm);
  if (init(&c->api) != 0 || c->api.abi_major != MX_KV_DEVICE_COMM_ABI_MAJOR ||
      c->api.struct_size < sizeof(mx_kv_device_comm)) {
    why += "\n  " + path + ": device comm ABI " + std::to_string(c->api.abi_major) + " (this libmx needs " +
           std::to_string(MX_KV_DEVICE_COMM_ABI_MAJOR) + ") or failed init";
    return nullptr;
  }
  return c.release();
}

}  // namespace

void DeviceComm::check(int rc, const char* what) const {
  if (rc != 0) fail(MX_ERR_INTERNAL, "kvstore nccl ", what, ": ", api.last_error ? api.last_error() : "failed");
}

const DeviceComm& device_comm() {
  static std::mutex mu;
  static auto* loaded = new std::map<std::string, DeviceComm*>();  // by path; never freed
  std::lock_guard<std::mutex> lk(mu);
  std::string why;
  for (const std::string& path : plugin_candidates("MX_KVSTORE_DEVICE_COMM", kFile)) {
    if (auto it = loaded->find(path); it != loaded->end()) return *it->second;
    if (DeviceComm* c = open(path, why)) {
      (*loaded)[path] = c;
      return *c;
    }
  }
  fail(MX_ERR_NOT_FOUND, "kvstore nccl: needs the NCCL plugin ", kFile,
       ", which could not be loaded (build mx with the CUDA backend where NCCL is installed, or point "
       "MX_KVSTORE_DEVICE_COMM at the plugin; 'device' reduces GPU arrays without NCCL):", why);
}

}  // namespace mx::kv
