/* A pure C99 program that sees only c_api.h and links only libmx: create arrays, run ops, read
 * results, exercise error paths. Built with -std=c99 -Wall -Wextra -Werror -pedantic. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mx/c_api.h"

static int failures = 0;
#define CHECK(cond, what)                                                          \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "FAIL %s:%d %s (last error: %s)\n", __FILE__, __LINE__, what, \
              mx_get_last_error());                                                \
      ++failures;                                                                  \
    }                                                                              \
  } while (0)

int main(void) {
  uint32_t major = 0, minor = 0;
  int64_t shape[2] = {2, 3};
  float a_host[6] = {1, 2, 3, 4, 5, 6}, b_host[6] = {10, 20, 30, 40, 50, 60}, out_host[6];
  mx_ndarray_t a = NULL, b = NULL, bad = NULL;
  mx_ndarray_t inputs[2];
  mx_ndarray_t* outputs = NULL;
  int32_t nout = 0, ndim = 0, i;
  const int64_t* got_shape = NULL;
  const char* keys[1] = {"scalar"};
  const char* vals[1] = {"0.5"};
  int64_t wide[2] = {3, 2};

  CHECK(mx_abi_version(&major, &minor) == 0 && major == MX_ABI_MAJOR, "abi version");
  CHECK(mx_ndarray_create(shape, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &a) == 0, "create a");
  CHECK(mx_ndarray_create(shape, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &b) == 0, "create b");
  CHECK(mx_ndarray_copy_from_host(a, a_host, sizeof(a_host)) == 0, "copy a");
  CHECK(mx_ndarray_copy_from_host(b, b_host, sizeof(b_host)) == 0, "copy b");

  inputs[0] = a;
  inputs[1] = b;
  CHECK(mx_imperative_invoke("elemwise_add", 2, inputs, &nout, &outputs, 0, NULL, NULL) == 0, "add");
  CHECK(nout == 1, "one output");
  if (nout == 1) {
    mx_ndarray_t c = outputs[0], d = NULL;
    CHECK(mx_ndarray_get_shape(c, &ndim, &got_shape) == 0 && ndim == 2 && got_shape[0] == 2 && got_shape[1] == 3,
          "shape");
    nout = 0;
    CHECK(mx_imperative_invoke("_mul_scalar", 1, &c, &nout, &outputs, 1, keys, vals) == 0, "mul_scalar");
    d = outputs[0];
    CHECK(mx_ndarray_copy_to_host(d, out_host, sizeof(out_host)) == 0, "read back");
    for (i = 0; i < 6; ++i) CHECK(fabsf(out_host[i] - (a_host[i] + b_host[i]) * 0.5f) < 1e-6f, "value");
    mx_ndarray_free(d);
    mx_ndarray_free(c);
  }

  /* Error paths: -1, a category and a message naming the op and shapes. */
  CHECK(mx_ndarray_create(wide, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &bad) == 0, "create bad");
  inputs[1] = bad;
  nout = 0;
  CHECK(mx_imperative_invoke("elemwise_add", 2, inputs, &nout, &outputs, 0, NULL, NULL) == -1, "shape error");
  CHECK(mx_get_last_error_code() == MX_ERR_SHAPE_MISMATCH, "shape error code");
  CHECK(strstr(mx_get_last_error(), "elemwise_add") != NULL, "message names op");
  CHECK(strstr(mx_get_last_error(), "(3,2)") != NULL, "message names shape");
  CHECK(mx_imperative_invoke("nope", 0, NULL, &nout, &outputs, 0, NULL, NULL) == -1, "unknown op");
  CHECK(mx_get_last_error_code() == MX_ERR_NOT_FOUND, "not found code");
  CHECK(mx_ndarray_copy_to_host(a, out_host, 3) == -1, "size mismatch");
  CHECK(mx_ndarray_free(NULL) == 0, "free NULL");
  CHECK(mx_ndarray_wait_all() == 0, "wait_all");

  /* A symbol bound into an executor: y = x * 0.5, forward, backward into x's gradient. */
  {
    mx_symbol_t x = NULL, y = NULL;
    mx_executor_t ex = NULL;
    mx_ndarray_t grad = NULL, *arrays = NULL;
    uint32_t count = 0;
    int32_t req = MX_GRAD_WRITE;
    mx_executor_memory_stats stats;
    CHECK(mx_symbol_create_variable("x", &x) == 0, "variable");
    CHECK(mx_symbol_create_atomic("_mul_scalar", 1, keys, vals, &y) == 0, "atomic");
    CHECK(mx_symbol_compose(y, "half", 1, NULL, &x) == 0, "compose");
    CHECK(mx_ndarray_create(shape, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &grad) == 0, "create grad");
    CHECK(mx_executor_bind(y, MX_DEVICE_CPU, 0, 1, &a, &grad, &req, 0, NULL, &ex) == 0, "bind");
    CHECK(mx_executor_forward(ex, 1) == 0 && mx_executor_backward(ex, 0, NULL) == 0, "forward, backward");
    CHECK(mx_executor_arrays(ex, MX_EXECUTOR_OUTPUTS, &count, &arrays) == 0 && count == 1, "outputs");
    if (count == 1) {
      CHECK(mx_ndarray_copy_to_host(arrays[0], out_host, sizeof(out_host)) == 0, "read output");
      for (i = 0; i < 6; ++i) CHECK(fabsf(out_host[i] - a_host[i] * 0.5f) < 1e-6f, "output value");
      mx_ndarray_free(arrays[0]);
    }
    CHECK(mx_ndarray_copy_to_host(grad, out_host, sizeof(out_host)) == 0, "read gradient");
    for (i = 0; i < 6; ++i) CHECK(fabsf(out_host[i] - 0.5f) < 1e-6f, "gradient value");
    stats.struct_size = sizeof(stats);
    CHECK(mx_executor_memory_stats_get(ex, &stats) == 0 && stats.num_segments >= 2, "memory stats");
    CHECK(mx_executor_bind(y, MX_DEVICE_CPU, 0, 2, inputs, NULL, NULL, 0, NULL, &ex) == -1, "bind error");
    CHECK(strstr(mx_get_last_error(), "1 arguments, 2 arrays") != NULL, "bind error names the counts");
    mx_executor_free(ex);
    mx_ndarray_free(grad);
    mx_symbol_free(y);
    mx_symbol_free(x);
  }

  CHECK(mx_ndarray_free(bad) == 0, "free bad");
  CHECK(mx_ndarray_free(bad) == -1 && mx_get_last_error_code() == MX_ERR_INVALID_HANDLE, "double free is an error");
  CHECK(mx_ndarray_get_shape(bad, &ndim, &got_shape) == -1 && mx_get_last_error_code() == MX_ERR_INVALID_HANDLE,
        "use after free is an error");
  mx_ndarray_free(a);
  mx_ndarray_free(b);
  printf("%d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
  return failures ? 1 : 0;
}
