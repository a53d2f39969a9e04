#include "kvstore/plugin_file.h"

#include <cstdlib>
#include <filesystem>
#include <memory>

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

namespace mx::kv {

std::vector<std::string> plugin_candidates(const char* env_var, const char* file) {
  if (const char* env = std::getenv(env_var); env && *env) return {env};
  std::vector<std::string> out;
  try {
    const auto here = boost::dll::this_line_location().parent_path();
    out.push_back((here / file).string());
    out.push_back((here / "mx" / file).string());  // an installed prefix keeps run-time parts in lib/mx
  } catch (...) {
  }
  if (*MX_BUILD_BACKEND_DIR) out.push_back(std::string(MX_BUILD_BACKEND_DIR) + "/" + file);
  return out;
}

void* open_plugin(const std::string& path, const char* symbol, bool global, std::string& why) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    why += "\n  " + path + ": no such file";
    return nullptr;
  }
  std::shared_ptr<boost::dll::shared_library> lib;
  try {
    lib = std::make_shared<boost::dll::shared_library>(
        path, global ? boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_global
                     : boost::dll::load_mode::rtld_now);
  } catch (const std::exception& e) {  // a vendor library missing (libmpi, libnccl, libcudart)
    why += "\n  " + path + ": cannot be opened (" + e.what() + ")";
    return nullptr;
  }
  if (!lib->has(symbol)) {
    why += "\n  " + path + ": no symbol " + symbol;
    return nullptr;
  }
  void* entry = reinterpret_cast<void*>(&lib->get<int(void*)>(symbol));
  new std::shared_ptr<boost::dll::shared_library>(lib);  // never unloaded
  return entry;
}

}  // namespace mx::kv
