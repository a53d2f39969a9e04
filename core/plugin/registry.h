// Backend plugins: discovery, loading through Boost.DLL, the device registry, and the adapters
// through which the engine (streams, events) and storage (alloc/free) reach a backend.
//
// A plugin that cannot be used is recorded with its file, the step that failed (open, symbol,
// ABI version, init, no device) and the reason, and never stops the others from loading.
// Nothing is unloaded at process exit.
//
// Which plugin owns a device type (its memory, streams, copies): the first one in discovery order
// that loads, initialises, has memory slots and reports at least one device. A plugin that fails,
// or reports no device, never takes a device type. A later usable plugin with memory slots of an
// owned type is recorded as shadowed by the owner; a file with the file name of a plugin already
// serving is recorded as shadowed without being opened (its initialisation could be costly: a
// CUDA context). Every file tried is recorded, so two files of one name in different directories
// are both reported.
//
// Kernels (backend.h, ABI 1.3): a plugin without memory slots is kernel-only; its kernels run on
// the owner's memory and streams. Per op, the candidates are every usable plugin of the device
// type that has a kernel, highest priority first (declared kernel_priority, overridden by
// MX_BACKEND_PRIORITY="name=p,…" at discovery or set_priority later; load order breaks ties).
#pragma once

#include <atomic>
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
  std::atomic<int32_t> priority{0};  // kernel priority in effect (set_priority may change it any time)
  bool kernels_only = false;  // no memory slots: runs on the device type's owner
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
  // The backend owning a device type (the first usable one with memory slots), or nullptr.
  const Backend* for_type(int32_t device_type);
  // The plugins with a kernel for op on device_type, highest priority first.
  std::vector<std::pair<const Backend*, const mx_kernel*>> kernels_for(int32_t device_type, const std::string& op);
  // Sets the kernel priority of the usable backend called name; false if there is none.
  bool set_priority(const std::string& name, int32_t priority);
  // Changes whenever a priority does (kernel caches key their choices on it).
  uint32_t priority_generation() const { return generation_.load(std::memory_order_acquire); }
  // The backend for dev; throws MX_ERR_NOT_FOUND naming the device if none is usable or the id
  // is out of range.
  const Backend& for_device(Device dev);

 private:
  std::mutex mu_;
  bool discovered_ = false;
  std::atomic<uint32_t> generation_{0};
  std::vector<std::unique_ptr<Backend>> backends_;
};

Registry& registry();

// Wires the registry into storage and the engine, and discovers backends. Idempotent; every
// C API entry that touches devices calls it.
void runtime_init();

// The host table plugins and extension libraries get (log, set_error, intra_op_threads).
const mx_host_api* host_api();

// Throws mx::Error carrying the backend's message when a slot returned non-zero.
void check(const Backend& b, int rc, const char* call);

// The error the last failing backend slot reported on this thread (code, message).
int32_t take_backend_error(std::string* message);

}  // namespace mx::plugin
