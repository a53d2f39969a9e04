/* A C program that loads libmx_example_ops.so through the C API alone (mx_library_load) and runs
 * rms_norm and gelu on a small array, against the formulas computed here in double.
 *   example_ops_smoke <path of libmx_example_ops.so>      (exit 0: the results matched) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mx/c_api.h"

#define ROWS 2
#define COLS 3

static int check(int rc, const char* what) {
  if (rc != 0) fprintf(stderr, "%s failed: %s\n", what, mx_get_last_error());
  return rc;
}

/* Runs a one-input-array-or-two op with params and copies its one output to host memory. */
static int run(const char* op, int num_inputs, mx_ndarray_t* inputs, int num_params, const char** keys,
               const char** vals, float* out) {
  int32_t num_outputs = 0;
  mx_ndarray_t* outputs = NULL;
  mx_ndarray_t y;
  int rc;
  if (check(mx_imperative_invoke(op, num_inputs, inputs, &num_outputs, &outputs, num_params, keys, vals), op)) return -1;
  y = outputs[0];
  rc = check(mx_ndarray_copy_to_host(y, out, sizeof(float) * ROWS * COLS), "copy_to_host");
  mx_ndarray_free(y);
  return rc;
}

int main(int argc, char** argv) {
  const float x[ROWS * COLS] = {1.0f, -2.0f, 0.5f, 3.0f, 0.25f, -1.5f};
  const float gamma[COLS] = {0.5f, 2.0f, -1.0f};
  const int64_t shape[2] = {ROWS, COLS}, gshape[1] = {COLS};
  const char* eps_key[1] = {"eps"};
  const char* eps_val[1] = {"0.001"};
  const char* approx_key[1] = {"approximate"};
  const char* approx_val[1] = {"True"};
  uint32_t num_ops = 0;
  const char** names = NULL;
  mx_ndarray_t arrays[2];
  float y[ROWS * COLS];
  double worst = 0;
  int r, c;

  if (argc != 2) {
    fprintf(stderr, "usage: %s <libmx_example_ops.so>\n", argv[0]);
    return 2;
  }
  if (check(mx_library_load(argv[1], &num_ops, &names), "mx_library_load")) return 1;
  printf("loaded %u ops:", num_ops);
  for (r = 0; r < (int)num_ops; ++r) printf(" %s", names[r]);
  printf("\n");

  if (check(mx_ndarray_create(shape, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &arrays[0]), "create") ||
      check(mx_ndarray_create(gshape, 1, MX_FLOAT32, MX_DEVICE_CPU, 0, &arrays[1]), "create") ||
      check(mx_ndarray_copy_from_host(arrays[0], x, sizeof x), "copy_from_host") ||
      check(mx_ndarray_copy_from_host(arrays[1], gamma, sizeof gamma), "copy_from_host"))
    return 1;

  if (run("rms_norm", 2, arrays, 1, eps_key, eps_val, y)) return 1;
  for (r = 0; r < ROWS; ++r) {
    double ss = 0;
    for (c = 0; c < COLS; ++c) ss += (double)x[r * COLS + c] * x[r * COLS + c];
    for (c = 0; c < COLS; ++c) {
      const double want = x[r * COLS + c] / sqrt(ss / COLS + 0.001) * gamma[c];
      worst = fmax(worst, fabs(y[r * COLS + c] - want) / fmax(1.0, fabs(want)));
    }
  }
  if (run("gelu", 1, arrays, 1, approx_key, approx_val, y)) return 1;
  for (r = 0; r < ROWS * COLS; ++r) {
    const double v = x[r];
    const double want = 0.5 * v * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
    worst = fmax(worst, fabs(y[r] - want) / fmax(1.0, fabs(want)));
  }
  mx_ndarray_free(arrays[0]);
  mx_ndarray_free(arrays[1]);
  printf("largest relative error: %.3g\n", worst);
  return worst < 1e-6 ? 0 : 1;
}
