// Finding and opening the KVStore's run-time plugins (the MPI transport, the NCCL device comm).
#pragma once

#include <string>
#include <vector>

namespace mx::kv {

// Where a plugin is looked for: the file env_var names if set, else next to libmx.so, else in the
// mx/ folder next to it (an installed prefix), else in the build directory.
std::vector<std::string> plugin_candidates(const char* env_var, const char* file);

// Opens path and returns its entry symbol, or nullptr with the reason appended to why (a line per
// file). The library stays mapped until exit, like the backends. global: RTLD_GLOBAL (Open MPI's
// components need libmpi's symbols global).
void* open_plugin(const std::string& path, const char* symbol, bool global, std::string& why);

}  // namespace mx::kv
