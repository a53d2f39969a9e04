// Extension libraries (mx/extension.h): loading them, and turning their op definitions (or a
// binding's custom op, e.g. Python's mx.operator.register) into ops of the registry, with their
// kernels as the ops' own kernels and their callbacks behind the schema's inference and gradient.
#pragma once

#include <string>
#include <vector>

#include "mx/extension.h"

namespace mx::plugin {

// Opens the library, checks its ABI, registers every op it defines (all or none) and returns
// their names. Errors (MX_ERR_NOT_FOUND, MX_ERR_INVALID_ARGUMENT, MX_ERR_UNSUPPORTED for another
// ABI major) name the file and the step. A library loaded before is an error. Never unloaded.
std::vector<std::string> load_library(const std::string& path);

// Registers one op from a definition made at run time by a binding; owner names it in messages
// ("python"). The callbacks and kernel functions must outlive the process's use of the op.
void register_custom_op(const mx_ext_op& def, const std::string& owner);

}  // namespace mx::plugin
