#include "plugin/registry.h"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "base/error.h"

#ifndef MX_BUILD_BACKEND_DIR
#define MX_BUILD_BACKEND_DIR ""
#endif

namespace mx::plugin {
namespace fs = std::filesystem;
namespace {

// ---------------------------------------------------------------- host services for plugins

thread_local int32_t t_backend_code = MX_ERR_OK;
thread_local std::string t_backend_message;

int g_log_level = [] {
  const char* v = std::getenv("MX_LOG_LEVEL");
  return v && *v ? std::atoi(v) : MX_LOG_WARNING;
}();

void host_log(int32_t level, const char* backend, const char* message) {
  if (level < g_log_level) return;
  static const char* names[] = {"debug", "info", "warning", "error"};
  std::ostringstream os;
  os << "[mx " << (level >= 0 && level < 4 ? names[level] : "log") << "] " << (backend ? backend : "?") << ": "
     << (message ? message : "") << "\n";
  std::cerr << os.str();
}

void host_set_error(int32_t code, const char* message) {
  t_backend_code = code;
  t_backend_message = message ? message : "";
}

int32_t host_intra_op_threads() {
  static int32_t n = [] {
    const char* v = std::getenv("MX_OMP_NUM_THREADS");
    int32_t k = v && *v ? std::atoi(v) : int32_t(std::thread::hardware_concurrency());
    return k > 0 ? k : 1;
  }();
  return n;
}

const mx_host_api kHost = {sizeof(mx_host_api), MX_BACKEND_ABI_MAJOR, MX_BACKEND_ABI_MINOR,
                           host_log,           host_set_error,       host_intra_op_threads};

std::string stem_name(const std::string& path) {
  std::string s = fs::path(path).stem().string();  // libmx_backend_cpu
  for (const char* prefix : {"libmx_backend_", "mx_backend_", "lib"})
    if (s.rfind(prefix, 0) == 0) return s.substr(std::strlen(prefix));
  return s;
}

std::string type_name(int32_t device_type) {
  if (device_type == MX_DEVICE_CPU) return "cpu";
  if (device_type == MX_DEVICE_GPU) return "gpu";
  return str_cat("device type ", device_type);
}

bool is_backend_file(const fs::path& p) {
  const std::string f = p.filename().string();
  return f.rfind("libmx_backend_", 0) == 0 && p.extension() == ".so";
}

// MX_BACKEND_PRIORITY="dnnl=100,cpu=0": the kernel priority the user gives a plugin by name.
std::optional<int32_t> env_priority(const std::string& name) {
  const char* env = std::getenv("MX_BACKEND_PRIORITY");
  if (!env) return std::nullopt;
  std::stringstream ss(env);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || item.substr(0, eq) != name) continue;
    char* end = nullptr;
    const long v = std::strtol(item.c_str() + eq + 1, &end, 10);
    if (end && *end == '\0' && end != item.c_str() + eq + 1) return int32_t(v);
    host_log(MX_LOG_WARNING, name.c_str(), str_cat("MX_BACKEND_PRIORITY: '", item, "' is not name=integer; ignored").c_str());
  }
  return std::nullopt;
}

}  // namespace

const mx_host_api* host_api() { return &kHost; }

int32_t take_backend_error(std::string* message) {
  int32_t code = t_backend_code;
  if (message) *message = t_backend_message;
  t_backend_code = MX_ERR_OK;
  t_backend_message.clear();
  return code;
}

void check(const Backend& b, int rc, const char* call) {
  if (rc == 0) return;
  std::string msg;
  int32_t code = take_backend_error(&msg);
  if (code == MX_ERR_OK) code = MX_ERR_INTERNAL;
  fail(code, "backend ", b.name, ": ", call, " failed: ", msg.empty() ? "no reason given" : msg);
}

// ---------------------------------------------------------------- loading

const Backend& Registry::load(const std::string& path_in) {
  std::lock_guard<std::mutex> lk(mu_);
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(fs::path(path_in), ec);
  const std::string path = ec ? path_in : canon.string();
  for (auto& b : backends_)
    if (b->path == path) return *b;

  auto rec = std::make_unique<Backend>();
  Backend& b = *rec;
  b.path = path;
  b.name = stem_name(path);
  auto failed = [&](int32_t step, std::string why) -> const Backend& {
    b.failed_step = step;
    b.message = std::move(why);
    backends_.push_back(std::move(rec));
    return *backends_.back();
  };
  auto shadowed = [&](const Backend& by, const char* how) -> const Backend& {
    b.shadowed_by = by.path;
    if (!b.device_type) b.device_type = by.device_type;  // not opened: same file name, same plugin
    return failed(MX_BACKEND_STEP_SHADOWED, str_cat("shadowed by ", by.path, ", which serves ", type_name(by.device_type), " (",
                                         how, "; the first usable plugin in discovery order serves a device type)"));
  };

  // 0. a plugin of this file name already serves: this one is not opened
  const std::string file_name = fs::path(path).filename().string();
  for (auto& other : backends_)
    if (other->usable() && fs::path(other->path).filename() == file_name) return shadowed(*other, "same file name");

  // 1. open
  std::shared_ptr<boost::dll::shared_library> lib;
  try {
    if (!fs::exists(path)) return failed(MX_BACKEND_STEP_OPEN, "no such file");
    lib = std::make_shared<boost::dll::shared_library>(
        path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return failed(MX_BACKEND_STEP_OPEN, e.what());
  }
  // Never unmapped: kernels' code and strings must outlive every array and static teardown.
  b.library = std::shared_ptr<void>(new std::shared_ptr<boost::dll::shared_library>(lib), [](void*) {});

  // 2. symbol
  if (!lib->has(MX_BACKEND_ENTRY_SYMBOL))
    return failed(MX_BACKEND_STEP_SYMBOL, "the entry symbol " MX_BACKEND_ENTRY_SYMBOL " is not exported");
  auto& init = lib->get<int(const mx_host_api*, mx_backend_api*)>(MX_BACKEND_ENTRY_SYMBOL);

  // 3. init (which also declares the ABI version)
  mx_backend_api api{};
  api.struct_size = sizeof(mx_backend_api);
  int rc;
  take_backend_error(nullptr);
  try {
    rc = init(&kHost, &api);
  } catch (const std::exception& e) {
    return failed(MX_BACKEND_STEP_INIT, str_cat("mx_backend_init threw: ", e.what()));
  } catch (...) {
    return failed(MX_BACKEND_STEP_INIT, "mx_backend_init threw a non-standard exception");
  }
  auto abi_mismatch = [&]() -> const Backend& {
    return failed(MX_BACKEND_STEP_ABI_VERSION,
                  str_cat("built for backend ABI ", api.abi_major, ".", api.abi_minor, ", this mx speaks ",
                          MX_BACKEND_ABI_MAJOR, ".", MX_BACKEND_ABI_MINOR));
  };
  if (api.abi_major != 0 && api.abi_major != MX_BACKEND_ABI_MAJOR) return abi_mismatch();
  if (rc != 0) {
    std::string msg;
    take_backend_error(&msg);
    return failed(MX_BACKEND_STEP_INIT, str_cat("mx_backend_init returned ", rc, msg.empty() ? "" : ": ", msg));
  }
  if (api.abi_major != MX_BACKEND_ABI_MAJOR) return abi_mismatch();
  // Never read a slot the plugin did not declare.
  const uint32_t declared = std::min<uint32_t>(api.struct_size, sizeof(mx_backend_api));
  std::memcpy(&b.api, &api, declared);
  b.api.struct_size = declared;
  if (b.api.name) b.name = b.api.name;
  if (b.api.version) b.version = b.api.version;
  b.device_type = b.api.device_type;

  const size_t needed = offsetof(mx_backend_api, copy) + sizeof(api.copy);
  if (declared < needed || !b.api.device_count)
    return failed(MX_BACKEND_STEP_INIT, "the plugin's table lacks device_count");
  const bool has_priority = declared >= offsetof(mx_backend_api, kernel_priority) + sizeof(api.kernel_priority);
  b.priority = has_priority ? b.api.kernel_priority : 0;
  if (auto p = env_priority(b.name)) b.priority = *p;
  // ABI 1.3: no memory slots at all makes a kernel-only plugin; some but not all is a broken table.
  const int memory_slots = int(b.api.alloc != nullptr) + int(b.api.free != nullptr) + int(b.api.copy != nullptr);
  b.kernels_only = memory_slots == 0 && api.abi_minor >= 3;
  if (!b.kernels_only && memory_slots != 3)
    return failed(MX_BACKEND_STEP_INIT, "the plugin's table lacks alloc/free/copy (a kernel-only plugin, ABI 1.3, "
                                        "leaves all three NULL)");
  if (b.kernels_only && !b.api.find_kernel)
    return failed(MX_BACKEND_STEP_INIT, "a kernel-only plugin without find_kernel serves nothing");

  // 4. devices
  const char* reason = nullptr;
  int32_t n = 0;
  try {
    if (b.api.device_count(&n, &reason) != 0) {
      std::string msg;
      take_backend_error(&msg);
      return failed(MX_BACKEND_STEP_INIT, "device_count failed: " + msg);
    }
  } catch (...) {
    return failed(MX_BACKEND_STEP_INIT, "device_count threw");
  }
  b.num_devices = n;
  if (n <= 0) return failed(MX_BACKEND_STEP_NO_DEVICE, reason && *reason ? reason : "the backend reports no device");
  if (!b.kernels_only)
    for (auto& other : backends_)
      if (other->usable() && !other->kernels_only && other->device_type == b.device_type)
        return shadowed(*other, "loaded earlier");
  backends_.push_back(std::move(rec));
  generation_.fetch_add(1, std::memory_order_acq_rel);  // a new candidate for kernels
  return *backends_.back();
}

void Registry::discover() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (discovered_) return;
    discovered_ = true;
  }
  std::vector<std::string> files;
  auto add_dir = [&](const fs::path& dir) {
    std::error_code ec;
    std::vector<std::string> found;
    for (auto& e : fs::directory_iterator(dir, ec))
      if (is_backend_file(e.path())) found.push_back(e.path().string());
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  };
  if (const char* env = std::getenv("MX_BACKEND_PATH")) {
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ':')) {
      if (item.empty()) continue;
      std::error_code ec;
      if (fs::is_directory(item, ec)) add_dir(item);
      else files.push_back(item);  // a file, or a missing path: load() records why
    }
  }
  try {
    // Next to libmx.so (the build tree), then its mx/ folder (an installed prefix: P/lib/mx).
    const fs::path here = boost::dll::this_line_location().parent_path();
    add_dir(here);
    add_dir(here / "mx");
  } catch (...) {
  }
  if (*MX_BUILD_BACKEND_DIR) add_dir(MX_BUILD_BACKEND_DIR);

  std::vector<const Backend*> warned;  // a directory can be both next to libmx.so and the build-time one
  for (const auto& f : files) {
    const Backend& b = load(f);
    if (b.usable() || b.failed_step == MX_BACKEND_STEP_NO_DEVICE || !b.shadowed_by.empty()) continue;
    if (std::find(warned.begin(), warned.end(), &b) != warned.end()) continue;
    warned.push_back(&b);
    host_log(MX_LOG_WARNING, b.name.c_str(), str_cat("plugin ", b.path, " not used: ", b.message).c_str());
  }
}

std::vector<const Backend*> Registry::backends() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<const Backend*> out;
  for (auto& b : backends_) out.push_back(b.get());
  return out;
}

const Backend* Registry::for_type(int32_t device_type) {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& b : backends_)
    if (b->usable() && !b->kernels_only && b->device_type == device_type) return b.get();
  return nullptr;
}

std::vector<std::pair<const Backend*, const mx_kernel*>> Registry::kernels_for(int32_t device_type,
                                                                               const std::string& op) {
  std::vector<std::pair<const Backend*, const mx_kernel*>> out;
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& b : backends_) {
    if (!b->usable() || b->device_type != device_type || !b->api.find_kernel) continue;
    if (const mx_kernel* k = b->api.find_kernel(op.c_str())) out.emplace_back(b.get(), k);
  }
  std::stable_sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.first->priority > y.first->priority; });
  return out;
}

bool Registry::set_priority(const std::string& name, int32_t priority) {
  std::lock_guard<std::mutex> lk(mu_);
  bool found = false;
  for (auto& b : backends_)
    if (b->usable() && b->name == name) {
      b->priority = priority;
      found = true;
    }
  if (found) generation_.fetch_add(1, std::memory_order_acq_rel);
  return found;
}

const Backend& Registry::for_device(Device dev) {
  const Backend* b = for_type(dev.type);
  if (!b) {
    std::string why;
    for (const Backend* o : backends())
      if (o->device_type == dev.type ||
          (o->device_type == 0 && (o->name == type_name(dev.type) || (dev.type == MX_DEVICE_GPU && o->name == "cuda"))))
        why = str_cat(" (", o->path, ": ", o->message, ")");
    fail(MX_ERR_NOT_FOUND, "no backend serves device ", dev.str(), why.empty() ? " (no plugin for it was found)" : why);
  }
  if (dev.id < 0 || dev.id >= b->num_devices)
    fail(MX_ERR_NOT_FOUND, "device ", dev.str(), " does not exist: backend ", b->name, " has ", b->num_devices,
         " device(s)");
  return *b;
}

Registry& registry() {
  static auto* r = new Registry();  // never destroyed: plugins stay mapped until exit
  return *r;
}

}  // namespace mx::plugin
