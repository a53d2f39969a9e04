// libmx_example_ops.so: the one exported symbol, mx_ext_init, hands mx the table of this
// library's ops (see mx/extension.h). Load it with mx.library.load(path) or mx_library_load.
#include "ext.h"

#ifndef EXAMPLE_OPS_VERSION
#define EXAMPLE_OPS_VERSION "0.0.0"
#endif

extern "C" __attribute__((visibility("default"))) int mx_ext_init(const mx_ext_host* host, mx_ext_library* out) {
  if (host == nullptr || out == nullptr) return -1;
  mx_impl::g_host = host->backend;  // error() reports through it from now on
  if (host->abi_major != MX_EXT_ABI_MAJOR)
    return mx_impl::error(MX_ERR_UNSUPPORTED, "example_ops was built for extension ABI " +
                                                  std::to_string(MX_EXT_ABI_MAJOR) + ".x, the host has " +
                                                  std::to_string(host->abi_major) + "." +
                                                  std::to_string(host->abi_minor));
  static const mx_ext_op* const ops[] = {
      example_ops::gelu_op(),
      example_ops::rms_norm_op(),
      example_ops::rms_norm_backward_data_op(),
      example_ops::rms_norm_backward_gamma_op(),
  };
  mx_ext_library lib{};
  lib.struct_size = sizeof(lib);
  lib.abi_major = MX_EXT_ABI_MAJOR;
  lib.abi_minor = MX_EXT_ABI_MINOR;
  lib.name = "example_ops";
  lib.version = EXAMPLE_OPS_VERSION;
  lib.num_ops = int32_t(sizeof(ops) / sizeof(ops[0]));
  lib.ops = ops;
  mx_impl::write_sized(out, lib);
  return 0;
}
