// Internals of the CPU backend plugin. Everything a plugin needs in common (the host table, error
// reporting, attrs, tensor facts, dtype dispatch, the per-element functors, the self-registering
// kernel tables) comes from backends/common, shared with the CUDA backend; this header only opens
// it to the CPU kernels. Includes abi/ and backends/common only, like every backend.
//
// Each kernels/<family>.cc ends with MX_REGISTER_KERNELS(table): the plugin is a shared library
// built from the object files themselves, so every table's registrar runs when it is loaded.
#pragma once

#include <string>

#include "../common/elem.h"
#include "../common/functors.h"
#include "../common/plugin.h"

namespace mxcpu {
using namespace mx_impl;

// A stored element as float64 and back (16-bit floats through their float32 compute type): the
// row kernels (norms, losses, resampling) accumulate in double.
template <typename S>
double ld(S v) {
  return double(Elem<S>::load(v));
}
template <typename S>
S st(double v) {
  return Elem<S>::store(static_cast<typename Elem<S>::C>(v));
}

// create()'s answer for a dtype the kernel does not serve: MX_ERR_UNSUPPORTED naming op and dtype
// (another plugin of the device type may take the call).
inline int unsupported(const mx_kernel_args* args, int32_t dtype) {
  return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dtype) + " on cpu");
}
}  // namespace mxcpu
