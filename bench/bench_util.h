// Helpers shared by the benchmark programs (C API only).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mx/c_api.h"

namespace bench {

using Clock = std::chrono::steady_clock;

inline void ok(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "%s failed: %s\n", what, mx_get_last_error());
    std::exit(1);
  }
}

// A float32 cpu array of `shape` filled with `fill`.
inline mx_ndarray_t make(std::vector<int64_t> shape, float fill) {
  mx_ndarray_t h;
  ok(mx_ndarray_create(shape.data(), int32_t(shape.size()), MX_FLOAT32, MX_DEVICE_CPU, 0, &h), "create");
  int64_t n = 1;
  for (auto d : shape) n *= d;
  std::vector<float> v(static_cast<size_t>(n), fill);
  ok(mx_ndarray_copy_from_host(h, v.data(), v.size() * 4), "copy");
  return h;
}

// Median wall time of `reps` calls of f, in the given std::chrono duration's unit.
template <typename Unit = std::milli, typename F>
double median_time(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, Unit>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Runs a python snippet that prints one number (milliseconds); -1 if python or the module is missing.
// The interpreter is Debian's /usr/bin/python3 unless MX_BENCH_PYTHON names another.
inline double python_ms(const std::string& code) {
  const char* py = std::getenv("MX_BENCH_PYTHON");
  const std::string cmd = std::string(py && *py ? py : "/usr/bin/python3") + " -c \"" + code + "\" 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  double ms = -1;
  if (std::fscanf(p, "%lf", &ms) != 1) ms = -1;
  pclose(p);
  return ms;
}

}  // namespace bench
