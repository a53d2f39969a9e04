/* The layout of every struct that crosses mx's borders, pinned: c_api.h's, backend.h's and
 * extension.h's, and the DLPack and Philox structs they carry. An accidental change (a member
 * inserted, removed, reordered or resized; a struct that grew) stops the build here, before any
 * plugin or binding built against an older header reads the wrong bytes. abi_border (abidiff of
 * border_probe.c) also sees what offsets cannot: a same-size retype, a member put into padding.
 *
 * The numbers are bytes on LP64 targets (x86-64; aarch64 lays these types out the same way), and
 * written out on purpose rather than computed. After a deliberate change (members appended at the
 * end, with MX_*_ABI_MINOR bumped): tools/update-abi-baseline.sh, then
 *     tests/abi/abixml_structs.py layout abi/border.abixml abi/include/mx
 * prints the lines below; the diff must show only new lines and new sizes. C11 (_Static_assert). */
#include <stddef.h>

#include "mx/backend.h"
#include "mx/c_api.h"
#include "mx/extension.h"
#include "mx/philox.h"

#if defined(__LP64__)

#define SIZE(T, bytes) \
  _Static_assert(sizeof(T) == (bytes), "sizeof(" #T ") changed: members appended on purpose? see the top of this file")
#define MEMBER(T, m, offset, bytes)                                          \
  _Static_assert(offsetof(T, m) == (offset) && sizeof(((T*)0)->m) == (bytes), \
                 #T "." #m " moved or changed size: members may only be appended at the end")

SIZE(DLDataType, 4);
MEMBER(DLDataType, code, 0, 1);
MEMBER(DLDataType, bits, 1, 1);
MEMBER(DLDataType, lanes, 2, 2);

SIZE(DLDevice, 8);
MEMBER(DLDevice, device_type, 0, 4);
MEMBER(DLDevice, device_id, 4, 4);

SIZE(DLManagedTensor, 64);
MEMBER(DLManagedTensor, dl_tensor, 0, 48);
MEMBER(DLManagedTensor, manager_ctx, 48, 8);
MEMBER(DLManagedTensor, deleter, 56, 8);

SIZE(DLTensor, 48);
MEMBER(DLTensor, data, 0, 8);
MEMBER(DLTensor, device, 8, 8);
MEMBER(DLTensor, ndim, 16, 4);
MEMBER(DLTensor, dtype, 20, 4);
MEMBER(DLTensor, shape, 24, 8);
MEMBER(DLTensor, strides, 32, 8);
MEMBER(DLTensor, byte_offset, 40, 8);

SIZE(mx_backend_api, 200);
MEMBER(mx_backend_api, struct_size, 0, 4);
MEMBER(mx_backend_api, abi_major, 4, 2);
MEMBER(mx_backend_api, abi_minor, 6, 2);
MEMBER(mx_backend_api, name, 8, 8);
MEMBER(mx_backend_api, device_type, 16, 4);
MEMBER(mx_backend_api, version, 24, 8);
MEMBER(mx_backend_api, device_count, 32, 8);
MEMBER(mx_backend_api, device_props, 40, 8);
MEMBER(mx_backend_api, alloc, 48, 8);
MEMBER(mx_backend_api, free, 56, 8);
MEMBER(mx_backend_api, alloc_pinned, 64, 8);
MEMBER(mx_backend_api, free_pinned, 72, 8);
MEMBER(mx_backend_api, copy, 80, 8);
MEMBER(mx_backend_api, stream_create, 88, 8);
MEMBER(mx_backend_api, stream_destroy, 96, 8);
MEMBER(mx_backend_api, stream_sync, 104, 8);
MEMBER(mx_backend_api, event_create, 112, 8);
MEMBER(mx_backend_api, event_destroy, 120, 8);
MEMBER(mx_backend_api, event_record, 128, 8);
MEMBER(mx_backend_api, stream_wait_event, 136, 8);
MEMBER(mx_backend_api, event_query, 144, 8);
MEMBER(mx_backend_api, event_sync, 152, 8);
MEMBER(mx_backend_api, find_kernel, 160, 8);
MEMBER(mx_backend_api, list_kernels, 168, 8);
MEMBER(mx_backend_api, stream_from_native, 176, 8);
MEMBER(mx_backend_api, kernel_priority, 184, 4);
MEMBER(mx_backend_api, stream_native, 192, 8);

SIZE(mx_backend_info, 64);
MEMBER(mx_backend_info, struct_size, 0, 4);
MEMBER(mx_backend_info, name, 8, 8);
MEMBER(mx_backend_info, path, 16, 8);
MEMBER(mx_backend_info, version, 24, 8);
MEMBER(mx_backend_info, device_type, 32, 4);
MEMBER(mx_backend_info, num_devices, 36, 4);
MEMBER(mx_backend_info, failed_step, 40, 4);
MEMBER(mx_backend_info, message, 48, 8);
MEMBER(mx_backend_info, kernel_priority, 56, 4);
MEMBER(mx_backend_info, kernels_only, 60, 4);

SIZE(mx_dataiter_info, 64);
MEMBER(mx_dataiter_info, struct_size, 0, 4);
MEMBER(mx_dataiter_info, name, 8, 8);
MEMBER(mx_dataiter_info, doc, 16, 8);
MEMBER(mx_dataiter_info, num_params, 24, 4);
MEMBER(mx_dataiter_info, param_names, 32, 8);
MEMBER(mx_dataiter_info, param_types, 40, 8);
MEMBER(mx_dataiter_info, param_defaults, 48, 8);
MEMBER(mx_dataiter_info, param_docs, 56, 8);

SIZE(mx_device_info, 48);
MEMBER(mx_device_info, struct_size, 0, 4);
MEMBER(mx_device_info, name, 8, 8);
MEMBER(mx_device_info, total_memory, 16, 8);
MEMBER(mx_device_info, free_memory, 24, 8);
MEMBER(mx_device_info, supports_async, 32, 4);
MEMBER(mx_device_info, supports_events, 36, 4);
MEMBER(mx_device_info, supports_pinned, 40, 4);

SIZE(mx_device_props, 296);
MEMBER(mx_device_props, struct_size, 0, 4);
MEMBER(mx_device_props, name, 4, 256);
MEMBER(mx_device_props, total_memory, 264, 8);
MEMBER(mx_device_props, free_memory, 272, 8);
MEMBER(mx_device_props, supports_async, 280, 4);
MEMBER(mx_device_props, supports_events, 284, 4);
MEMBER(mx_device_props, supports_pinned, 288, 4);

SIZE(mx_executor_memory_stats, 48);
MEMBER(mx_executor_memory_stats, struct_size, 0, 4);
MEMBER(mx_executor_memory_stats, planned_bytes, 8, 8);
MEMBER(mx_executor_memory_stats, unplanned_bytes, 16, 8);
MEMBER(mx_executor_memory_stats, external_bytes, 24, 8);
MEMBER(mx_executor_memory_stats, inplace_count, 32, 4);
MEMBER(mx_executor_memory_stats, num_buffers, 36, 4);
MEMBER(mx_executor_memory_stats, num_segments, 40, 4);

SIZE(mx_ext_grad_args, 88);
MEMBER(mx_ext_grad_args, struct_size, 0, 4);
MEMBER(mx_ext_grad_args, builder, 8, 8);
MEMBER(mx_ext_grad_args, num_attrs, 16, 4);
MEMBER(mx_ext_grad_args, attr_keys, 24, 8);
MEMBER(mx_ext_grad_args, attr_vals, 32, 8);
MEMBER(mx_ext_grad_args, num_inputs, 40, 4);
MEMBER(mx_ext_grad_args, inputs, 48, 8);
MEMBER(mx_ext_grad_args, num_outputs, 56, 4);
MEMBER(mx_ext_grad_args, outputs, 64, 8);
MEMBER(mx_ext_grad_args, out_grads, 72, 8);
MEMBER(mx_ext_grad_args, in_grads, 80, 8);

SIZE(mx_ext_grad_builder, 32);
MEMBER(mx_ext_grad_builder, struct_size, 0, 4);
MEMBER(mx_ext_grad_builder, self, 8, 8);
MEMBER(mx_ext_grad_builder, call, 16, 8);
MEMBER(mx_ext_grad_builder, call_all, 24, 8);

SIZE(mx_ext_host, 16);
MEMBER(mx_ext_host, struct_size, 0, 4);
MEMBER(mx_ext_host, abi_major, 4, 2);
MEMBER(mx_ext_host, abi_minor, 6, 2);
MEMBER(mx_ext_host, backend, 8, 8);

SIZE(mx_ext_infer_args, 104);
MEMBER(mx_ext_infer_args, struct_size, 0, 4);
MEMBER(mx_ext_infer_args, op_name, 8, 8);
MEMBER(mx_ext_infer_args, num_attrs, 16, 4);
MEMBER(mx_ext_infer_args, attr_keys, 24, 8);
MEMBER(mx_ext_infer_args, attr_vals, 32, 8);
MEMBER(mx_ext_infer_args, num_inputs, 40, 4);
MEMBER(mx_ext_infer_args, in_ndims, 48, 8);
MEMBER(mx_ext_infer_args, in_shapes, 56, 8);
MEMBER(mx_ext_infer_args, in_dtypes, 64, 8);
MEMBER(mx_ext_infer_args, num_outputs, 72, 4);
MEMBER(mx_ext_infer_args, out_ndims, 80, 8);
MEMBER(mx_ext_infer_args, out_shapes, 88, 8);
MEMBER(mx_ext_infer_args, out_dtypes, 96, 8);

SIZE(mx_ext_library, 40);
MEMBER(mx_ext_library, struct_size, 0, 4);
MEMBER(mx_ext_library, abi_major, 4, 2);
MEMBER(mx_ext_library, abi_minor, 6, 2);
MEMBER(mx_ext_library, name, 8, 8);
MEMBER(mx_ext_library, version, 16, 8);
MEMBER(mx_ext_library, num_ops, 24, 4);
MEMBER(mx_ext_library, ops, 32, 8);

SIZE(mx_ext_op, 104);
MEMBER(mx_ext_op, struct_size, 0, 4);
MEMBER(mx_ext_op, name, 8, 8);
MEMBER(mx_ext_op, doc, 16, 8);
MEMBER(mx_ext_op, num_inputs, 24, 4);
MEMBER(mx_ext_op, input_names, 32, 8);
MEMBER(mx_ext_op, num_outputs, 40, 4);
MEMBER(mx_ext_op, num_params, 44, 4);
MEMBER(mx_ext_op, params, 48, 8);
MEMBER(mx_ext_op, infer_shape, 56, 8);
MEMBER(mx_ext_op, infer_dtype, 64, 8);
MEMBER(mx_ext_op, cpu_kernel, 72, 8);
MEMBER(mx_ext_op, cuda_kernel, 80, 8);
MEMBER(mx_ext_op, gradient, 88, 8);
MEMBER(mx_ext_op, user, 96, 8);

SIZE(mx_ext_param, 40);
MEMBER(mx_ext_param, struct_size, 0, 4);
MEMBER(mx_ext_param, name, 8, 8);
MEMBER(mx_ext_param, type, 16, 4);
MEMBER(mx_ext_param, default_value, 24, 8);
MEMBER(mx_ext_param, doc, 32, 8);

SIZE(mx_host_api, 32);
MEMBER(mx_host_api, struct_size, 0, 4);
MEMBER(mx_host_api, abi_major, 4, 2);
MEMBER(mx_host_api, abi_minor, 6, 2);
MEMBER(mx_host_api, log, 8, 8);
MEMBER(mx_host_api, set_error, 16, 8);
MEMBER(mx_host_api, intra_op_threads, 24, 8);

SIZE(mx_image_record_header, 32);
MEMBER(mx_image_record_header, struct_size, 0, 4);
MEMBER(mx_image_record_header, flag, 4, 4);
MEMBER(mx_image_record_header, label, 8, 4);
MEMBER(mx_image_record_header, id, 16, 8);
MEMBER(mx_image_record_header, id2, 24, 8);

SIZE(mx_kernel, 48);
MEMBER(mx_kernel, struct_size, 0, 4);
MEMBER(mx_kernel, op_name, 8, 8);
MEMBER(mx_kernel, create, 16, 8);
MEMBER(mx_kernel, run, 24, 8);
MEMBER(mx_kernel, destroy, 32, 8);
MEMBER(mx_kernel, workspace_bytes, 40, 8);

SIZE(mx_kernel_args, 80);
MEMBER(mx_kernel_args, struct_size, 0, 4);
MEMBER(mx_kernel_args, op_name, 8, 8);
MEMBER(mx_kernel_args, num_attrs, 16, 4);
MEMBER(mx_kernel_args, attr_keys, 24, 8);
MEMBER(mx_kernel_args, attr_vals, 32, 8);
MEMBER(mx_kernel_args, num_inputs, 40, 4);
MEMBER(mx_kernel_args, inputs, 48, 8);
MEMBER(mx_kernel_args, num_outputs, 56, 4);
MEMBER(mx_kernel_args, outputs, 64, 8);
MEMBER(mx_kernel_args, device_id, 72, 4);

SIZE(mx_kernel_ctx, 64);
MEMBER(mx_kernel_ctx, struct_size, 0, 4);
MEMBER(mx_kernel_ctx, device_id, 4, 4);
MEMBER(mx_kernel_ctx, stream, 8, 8);
MEMBER(mx_kernel_ctx, temp_space, 16, 8);
MEMBER(mx_kernel_ctx, temp_bytes, 24, 8);
MEMBER(mx_kernel_ctx, rng_seed, 32, 8);
MEMBER(mx_kernel_ctx, rng_offset, 40, 8);
MEMBER(mx_kernel_ctx, is_train, 48, 4);
MEMBER(mx_kernel_ctx, native_stream, 56, 8);

SIZE(mx_op_info, 96);
MEMBER(mx_op_info, struct_size, 0, 4);
MEMBER(mx_op_info, name, 8, 8);
MEMBER(mx_op_info, doc, 16, 8);
MEMBER(mx_op_info, num_inputs, 24, 4);
MEMBER(mx_op_info, input_names, 32, 8);
MEMBER(mx_op_info, num_outputs, 40, 4);
MEMBER(mx_op_info, num_params, 44, 4);
MEMBER(mx_op_info, param_names, 48, 8);
MEMBER(mx_op_info, param_types, 56, 8);
MEMBER(mx_op_info, param_defaults, 64, 8);
MEMBER(mx_op_info, param_docs, 72, 8);
MEMBER(mx_op_info, has_gradient, 80, 4);
MEMBER(mx_op_info, num_backends, 84, 4);
MEMBER(mx_op_info, backends, 88, 8);

SIZE(mx_philox_u32x4, 16);
MEMBER(mx_philox_u32x4, v, 0, 16);

SIZE(mx_storage_stats, 48);
MEMBER(mx_storage_stats, struct_size, 0, 4);
MEMBER(mx_storage_stats, in_use_bytes, 8, 8);
MEMBER(mx_storage_stats, pooled_bytes, 16, 8);
MEMBER(mx_storage_stats, peak_in_use_bytes, 24, 8);
MEMBER(mx_storage_stats, num_device_allocs, 32, 8);
MEMBER(mx_storage_stats, limit_bytes, 40, 8);

#endif /* __LP64__ */
