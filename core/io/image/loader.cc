#include "io/image/loader.h"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

#include "base/error.h"
#include "kvstore/plugin_file.h"  // plugin_candidates: the search the KVStore's transports use

namespace mx::io {
namespace {

// Libraries whose entry ran stay mapped until exit, held from a global (so LeakSanitizer sees them
// as reachable, not lost).
std::mutex g_kept_mu;
std::vector<std::shared_ptr<boost::dll::shared_library>>* g_kept = nullptr;

// Opens path and returns its mx_image_init, or nullptr with the reason appended to why.
mx_image_init_fn open_part(const std::string& path, std::shared_ptr<boost::dll::shared_library>& lib,
                           std::string& why) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    why += "\n  " + path + ": no such file";
    return nullptr;
  }
  try {
    lib = std::make_shared<boost::dll::shared_library>(path, boost::dll::load_mode::rtld_now);
  } catch (const std::exception& e) {  // not a library, or one of OpenCV's libraries missing
    why += "\n  " + path + ": cannot be opened (" + e.what() + ")";
    return nullptr;
  }
  if (!lib->has("mx_image_init")) {
    why += "\n  " + path + ": no symbol mx_image_init";
    return nullptr;
  }
  return &lib->get<int(mx_image_api*)>("mx_image_init");
}

}  // namespace

std::vector<std::string> image_part_candidates() { return kv::plugin_candidates(kImagePartEnv, kImagePartFile); }

mx_image_api load_image_part(const std::vector<std::string>& candidates, std::string* loaded_from) {
  constexpr uint32_t kNeeded = offsetof(mx_image_api, decode_augment) + sizeof(mx_image_api::decode_augment);
  std::string why;
  for (const std::string& path : candidates) {
    std::shared_ptr<boost::dll::shared_library> lib;
    const mx_image_init_fn init = open_part(path, lib, why);
    if (!init) continue;
    {
      std::lock_guard<std::mutex> lk(g_kept_mu);
      if (!g_kept) g_kept = new std::vector<std::shared_ptr<boost::dll::shared_library>>();
      g_kept->push_back(lib);  // its code runs now: never unloaded
    }
    mx_image_api t{};
    t.struct_size = sizeof(t);
    if (init(&t) != 0) {
      why += "\n  " + path + ": mx_image_init failed";
      continue;
    }
    if (t.abi_major != MX_IMAGE_ABI_MAJOR || t.struct_size < kNeeded || !t.decode_augment) {
      why += "\n  " + path + ": image part ABI " + std::to_string(t.abi_major) + "." + std::to_string(t.abi_minor) +
             " with a " + std::to_string(t.struct_size) + "-byte table (this libmx needs ABI " +
             std::to_string(MX_IMAGE_ABI_MAJOR) + " and " + std::to_string(kNeeded) + " bytes)";
      continue;
    }
    if (loaded_from) *loaded_from = path;
    return t;
  }
  if (candidates.empty()) why = "\n  (no file to try)";
  fail(MX_ERR_NOT_FOUND, "image decoding needs ", kImagePartFile,
       " (OpenCV), which could not be loaded (build mx where OpenCV is installed: apt-get install "
       "libopencv-imgcodecs-dev libopencv-imgproc-dev; keep ",
       kImagePartFile, " next to libmx.so, or point ", kImagePartEnv, " at it). Tried:", why);
}

const mx_image_api& image_part() {
  static std::mutex mu;
  static const mx_image_api* part = nullptr;  // never freed, like the library behind it
  std::lock_guard<std::mutex> lk(mu);
  if (!part) part = new mx_image_api(load_image_part(image_part_candidates()));
  return *part;
}

}  // namespace mx::io
