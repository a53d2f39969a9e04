// Internals of the CPU backend plugin. Everything a plugin needs in common (the host table, error
// reporting, attrs, tensor facts, dtype dispatch, the per-element functors, the self-registering
// kernel tables) comes from backends/common, shared with the CUDA backend; this header only opens
// it to the CPU kernels. Includes abi/ and backends/common only, like every backend.
//
// Each kernels/<family>.cc ends with MX_REGISTER_KERNELS(table): the plugin is a shared library
// built from the object files themselves, so every table's registrar runs when it is loaded.
#pragma once

#include "../common/elem.h"
#include "../common/functors.h"
#include "../common/plugin.h"

namespace mxcpu {
using namespace mx_impl;
}  // namespace mxcpu
