/* A library that only exists for its debug information: one exported function per struct that
 * crosses mx's borders, so that abidw records every such struct with its members' offsets and
 * types, including the plugin and extension tables that libmx's own exported functions never
 * show (abi/border.abixml; abi_border compares it with tests/abi/check_abi.sh).
 * A new border struct gets a line here, in tests/abi/border_layout.c, and a new baseline
 * (tools/update-abi-baseline.sh). Built as C99 with -g. */
#include "mx/backend.h"
#include "mx/c_api.h"
#include "mx/extension.h"
#include "mx/philox.h"

#define PROBE(T) \
  void border_probe_##T(const T* p) { (void)p; }

/* c_api.h: what users fill or read */
PROBE(mx_backend_info)
PROBE(mx_device_info)
PROBE(mx_storage_stats)
PROBE(mx_op_info)
PROBE(mx_dataiter_info)
PROBE(mx_image_record_header)
PROBE(mx_executor_memory_stats)

/* backend.h: the device-plugin tables */
PROBE(mx_host_api)
PROBE(mx_kernel_args)
PROBE(mx_kernel_ctx)
PROBE(mx_kernel)
PROBE(mx_device_props)
PROBE(mx_backend_api)

/* extension.h: the extension-library tables */
PROBE(mx_ext_param)
PROBE(mx_ext_infer_args)
PROBE(mx_ext_grad_builder)
PROBE(mx_ext_grad_args)
PROBE(mx_ext_op)
PROBE(mx_ext_library)
PROBE(mx_ext_host)

/* carried across: DLPack's tensors (DLDevice, DLDataType inside), Philox's counter block */
PROBE(DLManagedTensor)
PROBE(mx_philox_u32x4)
