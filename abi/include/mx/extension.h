/* mx extension-library interface: a shared library that adds operators to mx. It includes only
 * abi/ headers (this one, backend.h, c_api.h) and exports exactly one symbol:
 *
 *     int mx_ext_init(const mx_ext_host* host, mx_ext_library* out);
 *
 * It is loaded with mx_library_load(path) (Python: mx.library.load, MXNet's name). The host
 * zero-fills *out, sets out->struct_size and calls the entry; the library fills the table
 * (abi_major/minor = MX_EXT_ABI_MAJOR/MINOR, its name, version and ops) and returns 0, or -1 after
 * host->backend->set_error. The host checks the ABI major and every op definition, then registers
 * all the ops or none: a name that clashes with an existing op (built-in, or from another
 * library) is an error naming both. Registered ops are ops like any other: mx.nd / mx.sym
 * functions, autograd, the executor, symbol JSON. The library stays mapped until exit.
 *
 * Structs start with uint32_t struct_size and only grow at the end (see backend.h). Strings and
 * arrays the library hands over must live as long as the library. Callbacks return 0, or -1 after
 * host->backend->set_error(code, message naming the op and the shapes involved). The same
 * definitions serve custom ops registered from a binding (mx_custom_op_register: Python's
 * mx.operator.register), whose callbacks live as long as the process. */
#ifndef MX_EXTENSION_H_
#define MX_EXTENSION_H_

#include <stddef.h>
#include <stdint.h>

#include "mx/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MX_EXT_ABI_MAJOR 1
#define MX_EXT_ABI_MINOR 0
#define MX_EXT_ENTRY_SYMBOL "mx_ext_init"
#define MX_EXT_MAX_NDIM 32 /* room in each output shape of mx_ext_infer_args */
#define MX_EXT_NO_GRAD (-1) /* a gradient value: this input gets none (zero) */

/* Parameter types: values reach the callbacks and kernels as canonical strings, as for built-in
 * ops ("3", "0.5", "True", "(2,2)", "float32"). */
#define MX_EXT_PARAM_INT 0
#define MX_EXT_PARAM_FLOAT 1
#define MX_EXT_PARAM_BOOL 2
#define MX_EXT_PARAM_STRING 3
#define MX_EXT_PARAM_SHAPE 4
#define MX_EXT_PARAM_DTYPE 5

typedef struct mx_ext_param {
  uint32_t struct_size;
  const char* name;
  int32_t type;              /* MX_EXT_PARAM_* */
  const char* default_value; /* NULL: the caller must give it */
  const char* doc;
} mx_ext_param;

/* Inference, for shapes and for dtypes. Input shapes and dtypes are known; the callback writes
 * out_ndims / out_shapes (infer_shape) or out_dtypes (infer_dtype). */
typedef struct mx_ext_infer_args {
  uint32_t struct_size;
  const char* op_name;
  int32_t num_attrs;
  const char* const* attr_keys; /* every param, defaults filled in, canonical */
  const char* const* attr_vals;
  int32_t num_inputs;
  const int32_t* in_ndims;
  const int64_t* const* in_shapes;
  const int32_t* in_dtypes; /* MX_FLOAT32, … */
  int32_t num_outputs;
  int32_t* out_ndims;
  int64_t* const* out_shapes; /* each has room for MX_EXT_MAX_NDIM dims */
  int32_t* out_dtypes;        /* preset to in_dtypes[0] */
} mx_ext_infer_args;

/* Gradients are graphs of ops, as for built-in ops: the callback emits op calls (built-in ops, or
 * a backward op of the same library) on values, and names one value per input. Values: the op's
 * inputs, outputs and output gradients as given in mx_ext_grad_args, and what call() returns. */
typedef struct mx_ext_grad_builder {
  uint32_t struct_size;
  void* self;
  /* Emits op_name on inputs with attributes; returns the value of its first output, or
   * MX_EXT_NO_GRAD after recording an error (unknown op, bad attribute) with the host. */
  int32_t (*call)(void* self, const char* op_name, int32_t num_inputs, const int32_t* inputs, int32_t num_attrs,
                  const char* const* attr_keys, const char* const* attr_vals);
  /* The same for an op with several outputs (a backward op giving several inputs' gradients):
   * writes the values of its first max_outputs outputs to out_values and returns how many it
   * has, or -1 after recording an error. */
  int32_t (*call_all)(void* self, const char* op_name, int32_t num_inputs, const int32_t* inputs, int32_t num_attrs,
                      const char* const* attr_keys, const char* const* attr_vals, int32_t max_outputs,
                      int32_t* out_values);
} mx_ext_grad_builder;

typedef struct mx_ext_grad_args {
  uint32_t struct_size;
  const mx_ext_grad_builder* builder;
  int32_t num_attrs;
  const char* const* attr_keys;
  const char* const* attr_vals;
  int32_t num_inputs;
  const int32_t* inputs;
  int32_t num_outputs;
  const int32_t* outputs;
  const int32_t* out_grads;
  int32_t* in_grads; /* the callback writes one value per input (MX_EXT_NO_GRAD: none) */
} mx_ext_grad_args;

typedef struct mx_ext_op {
  uint32_t struct_size;
  const char* name; /* must not clash with any registered op or alias */
  const char* doc;
  int32_t num_inputs;
  const char* const* input_names;
  int32_t num_outputs;
  int32_t num_params;
  const mx_ext_param* const* params; /* pointers, so mx_ext_param may grow at its end */
  /* Required. */
  int (*infer_shape)(void* user, mx_ext_infer_args* args);
  /* NULL: every output has input 0's dtype (float32 for an op with no inputs). */
  int (*infer_dtype)(void* user, mx_ext_infer_args* args);
  /* Kernels, as backend.h defines them: create() gets the canonical attributes and tensor
   * descriptions, run() the tensors (contiguous, row-major) and a context whose native_stream is
   * the device's stream to enqueue on (cudaStream_t; 0 on the CPU, where run() computes on the
   * calling thread). Ops the kernel issues through the C API run synchronously on that thread and
   * are not recorded by autograd. NULL: no kernel for that device type. */
  const mx_kernel* cpu_kernel;
  const mx_kernel* cuda_kernel;
  /* NULL: not differentiable (autograd records nothing, the executor refuses a gradient). */
  int (*gradient)(void* user, const mx_ext_grad_args* args);
  void* user; /* passed to the callbacks above */
} mx_ext_op;

typedef struct mx_ext_library {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  const char* name;
  const char* version;
  int32_t num_ops;
  const mx_ext_op* const* ops;
} mx_ext_library;

typedef struct mx_ext_host {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  const mx_host_api* backend; /* log, set_error, intra_op_threads: the same table backends get */
} mx_ext_host;

typedef int (*mx_ext_init_fn)(const mx_ext_host* host, mx_ext_library* out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MX_EXTENSION_H_ */
