// Backend plugins: discovery, loading through Boost.DLL, the device registry, and the adapters
// through which the engine (streams, events) and storage (alloc/free) reach a backend.
//
// A plugin that cannot be used is recorded with its file, the step that failed (open, symbol,
// ABI version, init, no device) and the reason, and never stops the others from loading.
// Nothing is unloaded at process exit.
//
// Which plugin serves a device type: the first one in discovery order that loads, initialises
// and reports at least one device. A plugin that fails, or reports no device, never takes a
// device type. A later usable plugin of a served type is recorded as shadowed by the serving
// one; a file with the file name of a plugin already serving is recorded as shadowed without
// being opened (its initialisation could be costly: a CUDA context). Every file tried is
// recorded, so two files of one name in different directories are both reported.
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
  std::string message;  // failure, no-device or shadowing reason
  std::string shadowed_by;  // path of the plugin serving this one's device type instead
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
  // Loading after discovery follows the same rules: a type already served stays with its plugin.
  const Backend& load(const std::string& path);
  // Runs discovery once: MX_BACKEND_PATH, the directory of libmx.so, the build-time directory;
  // files in one directory in name order. Failures other than "no device" are logged as warnings.
  void discover();
  std::vector<const Backend*> backends();
  // The backend serving a device type (usable, so the first usable one in load order), or nullptr.
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
