// Backend plugins: discovery, loading through Boost.DLL, the device registry, and the adapters
// through which the engine (streams, events) and storage (alloc/free) reach a backend.
//
// A plugin that cannot be used is recorded with its file, the step that failed (open, symbol,
// ABI version, init, no device) and the reason, and never stops the others from loading.
// Nothing is unloaded at process exit.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/device.h"
#include "mx/backend.h"
#include "mx/c_api.h"

namespace mx::plugin {

struct Backend {
  std::string path;
  std::string name;
  std::string version;
  std::string message;  // failure or no-device reason
  int32_t failed_step = MX_BACKEND_OK;
  int32_t device_type = 0;
  int32_t num_devices = 0;
  mx_backend_api api{};  // slots past the plugin's struct_size stay NULL
  std::shared_ptr<void> library;  // keeps the .so mapped (never released at exit)

  bool usable() const { return failed_step == MX_BACKEND_OK; }
};

class Registry {
 public:
  // Loads `path`; returns the backend record (check failed_step). Same file twice: the first.
  const Backend& load(const std::string& path);
  // Runs discovery once: MX_BACKEND_PATH, the directory of libmx.so, the build-time directory.
  void discover();
  std::vector<const Backend*> backends();
  // The usable backend serving a device type, or nullptr.
  const Backend* for_type(int32_t device_type);
  // The backend for dev; throws MX_ERR_NOT_FOUND naming the device if none is usable or the id
  // is out of range.
  const Backend& for_device(Device dev);

 private:
  std::mutex mu_;
  bool discovered_ = false;
  std::vector<std::unique_ptr<Backend>> backends_;
};

Registry& registry();

// Wires the registry into storage and the engine, and discovers backends. Idempotent; every
// C API entry that touches devices calls it.
void runtime_init();

// Throws mx::Error carrying the backend's message when a slot returned non-zero.
void check(const Backend& b, int rc, const char* call);

// The error the last failing backend slot reported on this thread (code, message).
int32_t take_backend_error(std::string* message);

}  // namespace mx::plugin
