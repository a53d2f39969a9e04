/* Test accuracy of a Fashion-MNIST checkpoint, in C99 over mx's C API alone.
 *
 *   cc -std=c99 -O2 predict.c $(pkg-config --cflags --libs mx) -o predict
 *   ./predict out/fashion_mnist/lenet 10 [/usr/share/datasets/fashion-mnist]
 *
 * The checkpoint is what examples/train_fashion_mnist.py saves: PREFIX-symbol.json and
 * PREFIX-%04d.params (EPOCH). The steps are MXNet's c_predict_api's: load the symbol and the
 * parameters, bind for inference (simple_bind, no gradients), copy the parameters in, then per
 * batch of the MNISTIter: copy the images in, forward, and compare the argmax with the labels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mx/c_api.h>

#define BATCH 100
#define MAX_NAMES 256

/* Every C API call goes through here: on -1 print the library's message and leave. */
static void check(int rc, const char* call) {
  if (rc != 0) {
    fprintf(stderr, "predict: %s\n  in %s\n", mx_get_last_error(), call);
    exit(1);
  }
}
#define CHECK(call) check((call), #call)

/* Strings the C API returns live only until the next call on this thread: keep copies. */
static char* copy_string(const char* s) {
  char* c = malloc(strlen(s) + 1);
  if (!c) {
    fprintf(stderr, "predict: out of memory\n");
    exit(1);
  }
  return strcpy(c, s);
}

static int ends_with(const char* s, const char* tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && strcmp(s + n - m, tail) == 0;
}

/* The executor's arguments (or auxiliary states) by name. */
struct named_arrays {
  uint32_t num;
  char* names[MAX_NAMES];
  mx_ndarray_t arrays[MAX_NAMES];
};

static void get_named(mx_executor_t ex, int32_t which, uint32_t num_names, const char** names,
                      struct named_arrays* out) {
  uint32_t num, i;
  mx_ndarray_t* arrays;
  if (num_names > MAX_NAMES) {
    fprintf(stderr, "predict: more than %d arguments\n", MAX_NAMES);
    exit(1);
  }
  out->num = num_names;
  for (i = 0; i < num_names; ++i) out->names[i] = copy_string(names[i]);
  CHECK(mx_executor_arrays(ex, which, &num, &arrays));
  for (i = 0; i < num_names; ++i) out->arrays[i] = arrays[i];
}

static mx_ndarray_t find(const struct named_arrays* a, const char* name) {
  uint32_t i;
  for (i = 0; i < a->num; ++i)
    if (strcmp(a->names[i], name) == 0) return a->arrays[i];
  return NULL;
}

static void free_named(struct named_arrays* a) {
  uint32_t i;
  for (i = 0; i < a->num; ++i) {
    free(a->names[i]);
    mx_ndarray_free(a->arrays[i]);
  }
}

/* Copies the checkpoint's "arg:NAME" / "aux:NAME" arrays into the bound ones; every argument but
 * the data and the labels (inference never reads them) must have a value. */
static void set_params(const char* params_file, struct named_arrays* args, struct named_arrays* aux) {
  uint32_t num, num_keys, i;
  mx_ndarray_t* loaded;
  const char** keys;
  mx_ndarray_t saved[MAX_NAMES];
  char* names[MAX_NAMES];
  CHECK(mx_ndarray_load(params_file, &num, &loaded, &num_keys, &keys));
  if (num_keys != num || num > MAX_NAMES) {
    fprintf(stderr, "predict: %s is not a checkpoint's parameter dict\n", params_file);
    exit(1);
  }
  for (i = 0; i < num; ++i) {
    saved[i] = loaded[i];
    names[i] = copy_string(keys[i]);
  }
  for (i = 0; i < num; ++i) {
    struct named_arrays* kind = strncmp(names[i], "aux:", 4) == 0 ? aux : args;
    mx_ndarray_t dst = find(kind, names[i] + 4);
    if (dst) CHECK(mx_ndarray_copy_to(saved[i], dst));
  }
  for (i = 0; i < args->num; ++i) {
    const char* name = args->names[i];
    char key[512];
    uint32_t k;
    int found = 0;
    if (strcmp(name, "data") == 0 || ends_with(name, "label")) continue;
    snprintf(key, sizeof key, "arg:%s", name);
    for (k = 0; k < num; ++k) found |= strcmp(names[k], key) == 0;
    if (!found) {
      fprintf(stderr, "predict: %s has no parameter '%s'\n", params_file, name);
      exit(1);
    }
  }
  for (i = 0; i < num; ++i) {
    mx_ndarray_free(saved[i]); /* after the copies: the engine orders the free */
    free(names[i]);
  }
}

static int argmax(const float* v, int64_t n) {
  int64_t k, best = 0;
  for (k = 1; k < n; ++k)
    if (v[k] > v[best]) best = k;
  return (int)best;
}

int main(int argc, char** argv) {
  const char* data_dir = argc > 3 ? argv[3] : "/usr/share/datasets/fashion-mnist";
  char path[4096], image_file[4096], label_file[4096];
  mx_symbol_t sym;
  mx_executor_t ex;
  mx_dataiter_t iter;
  struct named_arrays args, aux;
  uint32_t num_names;
  const char** names;
  mx_ndarray_t data_arg;
  float* probs;
  float labels[BATCH];
  int64_t num_classes;
  long correct = 0, total = 0;
  int32_t has_next;

  if (argc < 3) {
    fprintf(stderr, "usage: %s PREFIX EPOCH [DATA_DIR]\n", argv[0]);
    return 2;
  }

  /* The network, bound for batches of BATCH images of 1 x 28 x 28. */
  snprintf(path, sizeof path, "%s-symbol.json", argv[1]);
  CHECK(mx_symbol_load(path, &sym));
  {
    const char* keys[] = {"data"};
    const uint32_t ndims[] = {4};
    const int64_t dims[] = {BATCH, 1, 28, 28};
    CHECK(mx_executor_simple_bind(sym, MX_DEVICE_CPU, 0, 1, keys, ndims, dims, 0, NULL, NULL, MX_GRAD_NULL, 0,
                                  NULL, NULL, &ex));
  }
  CHECK(mx_symbol_list_arguments(sym, &num_names, &names));
  get_named(ex, MX_EXECUTOR_ARGS, num_names, names, &args);
  CHECK(mx_symbol_list_auxiliary_states(sym, &num_names, &names));
  get_named(ex, MX_EXECUTOR_AUX, num_names, names, &aux);
  data_arg = find(&args, "data");
  if (!data_arg) {
    fprintf(stderr, "predict: the network has no input called 'data'\n");
    return 1;
  }
  snprintf(path, sizeof path, "%s-%04d.params", argv[1], atoi(argv[2]));
  set_params(path, &args, &aux);

  /* The test set, in order. */
  snprintf(image_file, sizeof image_file, "%s/t10k-images-idx3-ubyte.gz", data_dir);
  snprintf(label_file, sizeof label_file, "%s/t10k-labels-idx1-ubyte.gz", data_dir);
  {
    const char* keys[] = {"image", "label", "batch_size", "shuffle", "flat", "silent"};
    const char* vals[] = {image_file, label_file, "100", "False", "False", "True"};
    CHECK(mx_dataiter_create("MNISTIter", 6, keys, vals, &iter));
  }

  {
    uint32_t num_out;
    mx_ndarray_t* outs;
    int32_t ndim;
    const int64_t* shape;
    CHECK(mx_executor_arrays(ex, MX_EXECUTOR_OUTPUTS, &num_out, &outs));
    CHECK(mx_ndarray_get_shape(outs[0], &ndim, &shape));
    num_classes = shape[1];
    CHECK(mx_ndarray_free(outs[0]));
  }
  probs = malloc(sizeof(float) * BATCH * (size_t)num_classes);

  for (CHECK(mx_dataiter_next(iter, &has_next)); has_next; CHECK(mx_dataiter_next(iter, &has_next))) {
    mx_ndarray_t batch_data, batch_label, out;
    uint32_t num_out;
    mx_ndarray_t* outs;
    int32_t pad, i;
    CHECK(mx_dataiter_get_data(iter, &batch_data));
    CHECK(mx_dataiter_get_label(iter, &batch_label));
    CHECK(mx_dataiter_get_pad(iter, &pad));
    CHECK(mx_ndarray_copy_to(batch_data, data_arg));
    CHECK(mx_executor_forward(ex, 0));
    CHECK(mx_executor_arrays(ex, MX_EXECUTOR_OUTPUTS, &num_out, &outs));
    out = outs[0];
    CHECK(mx_ndarray_copy_to_host(out, probs, sizeof(float) * BATCH * (size_t)num_classes));
    CHECK(mx_ndarray_copy_to_host(batch_label, labels, sizeof labels));
    for (i = 0; i < BATCH - pad; ++i) correct += argmax(probs + i * num_classes, num_classes) == (int)labels[i];
    total += BATCH - pad;
    mx_ndarray_free(out);
    mx_ndarray_free(batch_data);
    mx_ndarray_free(batch_label);
  }

  printf("test accuracy %.4f (%ld of %ld)\n", (double)correct / (double)total, correct, total);
  free(probs);
  free_named(&args);
  free_named(&aux);
  mx_dataiter_free(iter);
  mx_executor_free(ex);
  mx_symbol_free(sym);
  return 0;
}
