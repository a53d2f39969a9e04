/* mx-info: what this mx sees — version, backends in discovery order (with why one failed or was
 * skipped), which plugin serves each device type, devices, and per device type which plugin's
 * kernel runs each op (several plugins may serve one device type: highest priority first). */
#include <stdio.h>
#include <string.h>

#include "mx/c_api.h"

static const char* step_name(int32_t step) {
  switch (step) {
    case MX_BACKEND_OK: return "ok";
    case MX_BACKEND_STEP_OPEN: return "open";
    case MX_BACKEND_STEP_SYMBOL: return "symbol";
    case MX_BACKEND_STEP_ABI_VERSION: return "ABI version";
    case MX_BACKEND_STEP_INIT: return "init";
    case MX_BACKEND_STEP_NO_DEVICE: return "no device";
    case MX_BACKEND_STEP_SHADOWED: return "shadowed";
  }
  return "?";
}

/* Usable, but another plugin serves its device type (the message says "shadowed by <path>"). */
static int is_shadowed(const mx_backend_info* info) { return info->failed_step == MX_BACKEND_STEP_SHADOWED; }

/* Whether a backend record concerns device type `type`: it declared that type, or it never got
 * far enough to declare one and is named after it. */
static int concerns(const mx_backend_info* info, int32_t type) {
  if (info->device_type) return info->device_type == type;
  if (type == MX_DEVICE_CPU) return strcmp(info->name, "cpu") == 0;
  return type == MX_DEVICE_GPU && (strcmp(info->name, "cuda") == 0 || strcmp(info->name, "gpu") == 0);
}

static mx_backend_info get_info(int32_t i) {
  mx_backend_info info;
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  if (mx_backend_get_info(i, &info) != 0) info.name = NULL;
  return info;
}

/* Per served device type, each plugin (by priority) and the ops whose kernel it runs there. */
static void print_serving(const char** ops, uint32_t nops, int32_t nbackends) {
  int32_t d, i;
  uint32_t k;
  for (d = MX_DEVICE_CPU; d <= MX_DEVICE_GPU; ++d) {
    int32_t count = 0;
    if (mx_device_count(d, &count) != 0 || count == 0) continue;
    printf("kernels on %s, by the plugin that runs them:\n", d == MX_DEVICE_CPU ? "cpu" : "gpu");
    for (i = -1; i < nbackends; ++i) {
      /* i = -1: ops whose kernel comes with the op (extension libraries, custom ops) */
      mx_backend_info info;
      int shown = 0;
      if (i >= 0) {
        info = get_info(i);
        if (!info.name || info.failed_step != MX_BACKEND_OK || info.device_type != d) continue;
      }
      for (k = 0; k < nops; ++k) {
        const char* who = NULL;
        int is_backend = 0, j;
        if (mx_op_get_backend(ops[k], d, &who) != 0) continue;
        for (j = 0; j < nbackends; ++j) {
          mx_backend_info b = get_info(j);
          if (b.name && b.failed_step == MX_BACKEND_OK && b.device_type == d && strcmp(b.name, who) == 0) is_backend = 1;
        }
        if (i >= 0 ? strcmp(who, info.name) != 0 : is_backend) continue;
        if (!shown++) printf("  %s:", i >= 0 ? info.name : "extensions");
        printf(" %s", ops[k]);
        if (i < 0) printf("(%s)", who);
      }
      if (shown) printf("\n");
    }
  }
}

int main(int argc, char** argv) {
  uint32_t major = 0, minor = 0;
  int32_t n = 0, i, d;
  uint32_t nops = 0;
  const char** ops = NULL;
  const char* engine = "?";
  int i_arg;
  for (i_arg = 1; i_arg < argc; ++i_arg) {
    if (strcmp(argv[i_arg], "--load") == 0 && i_arg + 1 < argc) {
      if (mx_backend_load(argv[++i_arg]) != 0) printf("load: %s\n", mx_get_last_error());
    } else {
      fprintf(stderr, "usage: mx-info [--load PLUGIN.so]...\n");
      return 2;
    }
  }
  mx_abi_version(&major, &minor);
  mx_engine_get_type(&engine);
  printf("mx %s (ABI %u.%u), engine %s\n", mx_version_string(), major, minor, engine);
  if (mx_backend_count(&n) != 0) {
    printf("error: %s\n", mx_get_last_error());
    return 1;
  }
  printf("backends: %d (in discovery order)\n", n);
  for (i = 0; i < n; ++i) {
    mx_backend_info info = get_info(i);
    if (!info.name) continue;
    if (is_shadowed(&info)) {
      printf("  %-6s %s  version %s, skipped: %s\n", info.name, info.path, info.version, info.message);
    } else if (info.failed_step == MX_BACKEND_OK && info.kernels_only) {
      printf("  %-6s %s  version %s, kernels only (on the %s memory), priority %d\n", info.name, info.path,
             info.version, info.device_type == MX_DEVICE_GPU ? "gpu" : "cpu", info.kernel_priority);
    } else if (info.failed_step == MX_BACKEND_OK) {
      printf("  %-6s %s  version %s, %d device(s), priority %d\n", info.name, info.path, info.version,
             info.num_devices, info.kernel_priority);
      for (d = 0; d < info.num_devices; ++d) {
        mx_device_info dev;
        memset(&dev, 0, sizeof(dev));
        dev.struct_size = sizeof(dev);
        if (mx_device_get_info(info.device_type, d, &dev) == 0)
          printf("         [%d] %s, %.1f GiB total, %.1f GiB free%s\n", d, dev.name,
                 (double)dev.total_memory / (1 << 30), (double)dev.free_memory / (1 << 30),
                 dev.supports_async ? ", async streams + events" : "");
      }
    } else if (info.failed_step == MX_BACKEND_STEP_NO_DEVICE) {
      printf("  %-6s %s  version %s, 0 devices: %s\n", info.name, info.path, info.version, info.message);
    } else {
      printf("  %-6s %s  FAILED at step '%s': %s\n", info.name, info.path, step_name(info.failed_step),
             info.message);
    }
  }
  printf("devices:\n");
  for (d = MX_DEVICE_CPU; d <= MX_DEVICE_GPU; ++d) {
    const char* type = d == MX_DEVICE_CPU ? "cpu" : "gpu";
    int served = 0, skipped = 0;
    for (i = 0; i < n; ++i) {
      mx_backend_info info = get_info(i);
      if (info.name && info.failed_step == MX_BACKEND_OK && info.device_type == d && !info.kernels_only) {
        printf("  %s: served by %s (%s, %d device(s))\n", type, info.path, info.name, info.num_devices);
        served = 1;
      }
    }
    for (i = 0; i < n; ++i) {
      mx_backend_info info = get_info(i);
      if (info.name && info.failed_step == MX_BACKEND_OK && info.device_type == d && info.kernels_only)
        printf("    kernels also from %s (priority %d)\n", info.name, info.kernel_priority);
    }
    if (!served) printf("  %s: no plugin serves it\n", type);
    for (i = 0; i < n; ++i) {
      mx_backend_info info = get_info(i);
      if (!info.name || info.failed_step == MX_BACKEND_OK || !concerns(&info, d)) continue;
      if (!skipped++) printf("    not used for %s:\n", type);
      if (is_shadowed(&info)) printf("      %s: %s\n", info.path, info.message);
      else printf("      %s: failed at step '%s'\n", info.path, step_name(info.failed_step));
    }
  }
  if (mx_op_list(&nops, &ops) == 0) {
    printf("ops: %u\n ", nops);
    for (i = 0; i < (int32_t)nops; ++i) printf(" %s", ops[i]);
    printf("\n");
    print_serving(ops, nops, n);
  }
  return 0;
}
