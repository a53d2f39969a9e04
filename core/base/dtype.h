// Element types: MXNet's type flags (as in c_api.h) and their DLPack equivalents.
#pragma once

#include <cstdint>

#include "mx/c_api.h"
#include <string>

#include <dlpack/dlpack.h>

namespace mx {

// DLPack >= 0.8 names this kDLBool; Debian's 0.6 header predates it, the number is the same.
inline constexpr uint8_t kDLBoolCode = 6;

struct DTypeInfo {
  int32_t flag;
  const char* name;
  int32_t bytes;
  DLDataType dl;
};

// Info for a dtype flag; throws MX_ERR_INVALID_ARGUMENT for an unknown one.
const DTypeInfo& dtype_info(int32_t flag);
bool dtype_known(int32_t flag);
// "float32" -> MX_FLOAT32; throws with the list of valid names otherwise.
int32_t dtype_from_name(const std::string& name);
// DLDataType -> flag; throws MX_ERR_UNSUPPORTED for types mx has no flag for.
int32_t dtype_from_dl(DLDataType dl);

}  // namespace mx
