/* mx ABI version. Major changes only on removal or retyping of an exported function or struct
 * field; minor on additions. Functions are never changed in place: a new one gets a _v2 suffix. */
#ifndef MX_VERSION_H_
#define MX_VERSION_H_

#define MX_ABI_MAJOR 1
#define MX_ABI_MINOR 9  /* 1: mx_op_get_info, mx_autograd_*, mx_ndarray_get_grad; 2: mx_dataiter_*, mx_recordio_*;
                           3: mx_symbol_*; 4: mx_executor_*, mx_cached_op_*;
                           5: MX_ERR_INVALID_HANDLE, MX_BACKEND_STEP_SHADOWED;
                           6: mx_kvstore_*;
                           7: mx_backend_set_priority, mx_op_get_backend, mx_backend_info.kernel_priority,
                              mx_library_load / mx_library_*, mx_custom_op_register (mx/extension.h);
                           8: mx_executor_set_monitor_callback, mx_autograd_record_function,
                              mx_autograd_get_symbol, mx_ndarray_fresh_grad, mx_random_seed_device;
                           9: mx_profiler_* */
#define MX_VERSION_STRING "0.1.0"

#endif /* MX_VERSION_H_ */
