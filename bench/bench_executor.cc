// One LeNet training step at batch 128 (forward, backward, sgd_update of every parameter)
// through the static executor against the same step through imperative autograd, in one run, and
// the executor's planned memory against one buffer per value. C API only.
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"

using bench::ok;

namespace {

mx_symbol_t var(const char* name) {
  mx_symbol_t s;
  ok(mx_symbol_create_variable(name, &s), "variable");
  return s;
}

mx_symbol_t op(const char* name, std::vector<std::pair<const char*, const char*>> params, const char* node,
               std::vector<mx_symbol_t> in) {
  std::vector<const char*> k, v;
  for (auto& [a, b] : params) k.push_back(a), v.push_back(b);
  mx_symbol_t s;
  ok(mx_symbol_create_atomic(name, uint32_t(k.size()), k.data(), v.data(), &s), name);
  ok(mx_symbol_compose(s, node, uint32_t(in.size()), nullptr, in.data()), name);
  for (mx_symbol_t i : in) mx_symbol_free(i);
  return s;
}

// LeNet as in the issue: conv 20x5x5, tanh, max-pool, conv 50x5x5, tanh, max-pool, fc 500, tanh, fc 10.
mx_symbol_t lenet() {
  mx_symbol_t h = op("Convolution", {{"kernel", "(5,5)"}, {"num_filter", "20"}}, "conv1", {var("data")});
  h = op("Activation", {{"act_type", "tanh"}}, "tanh1", {h});
  h = op("Pooling", {{"pool_type", "max"}, {"kernel", "(2,2)"}, {"stride", "(2,2)"}}, "pool1", {h});
  h = op("Convolution", {{"kernel", "(5,5)"}, {"num_filter", "50"}}, "conv2", {h});
  h = op("Activation", {{"act_type", "tanh"}}, "tanh2", {h});
  h = op("Pooling", {{"pool_type", "max"}, {"kernel", "(2,2)"}, {"stride", "(2,2)"}}, "pool2", {h});
  h = op("Flatten", {}, "flatten", {h});
  h = op("FullyConnected", {{"num_hidden", "500"}}, "fc1", {h});
  h = op("Activation", {{"act_type", "tanh"}}, "tanh3", {h});
  h = op("FullyConnected", {{"num_hidden", "10"}}, "fc2", {h});
  return op("SoftmaxOutput", {}, "softmax", {h, var("softmax_label")});
}

mx_ndarray_t call(const char* name, std::vector<mx_ndarray_t> in, std::vector<std::pair<const char*, const char*>> p = {}) {
  std::vector<const char*> k, v;
  for (auto& [a, b] : p) k.push_back(a), v.push_back(b);
  int32_t n = 0;
  mx_ndarray_t* out = nullptr;
  ok(mx_imperative_invoke(name, int32_t(in.size()), in.data(), &n, &out, int32_t(k.size()), k.data(), v.data()), name);
  return out[0];
}

void sgd(mx_ndarray_t w, mx_ndarray_t g) {
  const char* k[] = {"lr", "wd"};
  const char* v[] = {"0.01", "0.0001"};
  mx_ndarray_t in[] = {w, g};
  int32_t n = 1;
  mx_ndarray_t outs[] = {w};
  mx_ndarray_t* out = outs;
  ok(mx_imperative_invoke("sgd_update", 2, in, &n, &out, 2, k, v), "sgd_update");
}

}  // namespace

int main() {
  const int batch = 128, reps = 15;
  mx_symbol_t net = lenet();
  const char* keys[] = {"data"};
  const uint32_t ndims[] = {4};
  const int64_t dims[] = {batch, 1, 28, 28};
  const char* null_keys[] = {"data", "softmax_label"};
  const int32_t null_reqs[] = {MX_GRAD_NULL, MX_GRAD_NULL};
  mx_executor_t ex;
  ok(mx_executor_simple_bind(net, MX_DEVICE_CPU, 0, 1, keys, ndims, dims, 0, nullptr, nullptr, MX_GRAD_WRITE, 2,
                             null_keys, null_reqs, &ex),
     "simple_bind");
  uint32_t n = 0;
  mx_ndarray_t* h = nullptr;
  ok(mx_executor_arrays(ex, MX_EXECUTOR_ARGS, &n, &h), "args");
  std::vector<mx_ndarray_t> args(h, h + n);
  ok(mx_executor_arrays(ex, MX_EXECUTOR_GRADS, &n, &h), "grads");
  std::vector<mx_ndarray_t> grads(h, h + n);
  // list_arguments: data, conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc1_weight, fc1_bias,
  // fc2_weight, fc2_bias, softmax_label
  std::mt19937 rng(0);
  for (size_t i = 0; i < args.size(); ++i) {
    int64_t count = 0;
    ok(mx_ndarray_get_size(args[i], &count), "size");
    std::vector<float> v(static_cast<size_t>(count));
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    for (auto& x : v) x = i + 1 == args.size() ? float(rng() % 10) : u(rng);
    ok(mx_ndarray_copy_from_host(args[i], v.data(), v.size() * 4), "fill");
  }

  auto exec_step = [&] {
    ok(mx_executor_forward(ex, 1), "forward");
    ok(mx_executor_backward(ex, 0, nullptr), "backward");
    for (size_t i = 1; i + 1 < args.size(); ++i) sgd(args[i], grads[i]);
    ok(mx_ndarray_wait_all(), "wait_all");
  };

  // The same step, op by op with autograd, on the same arrays.
  std::vector<mx_ndarray_t> ig;
  for (size_t i = 1; i + 1 < args.size(); ++i) ig.push_back(call("zeros_like", {args[i]}));
  std::vector<int32_t> reqs(ig.size(), MX_GRAD_WRITE);
  ok(mx_autograd_mark_variables(uint32_t(ig.size()), args.data() + 1, reqs.data(), ig.data()), "mark_variables");
  auto imperative_step = [&] {
    ok(mx_autograd_set_recording(1, nullptr), "record");
    ok(mx_autograd_set_training(1, nullptr), "train");
    std::vector<mx_ndarray_t> tmp;
    auto t = [&](mx_ndarray_t a) {
      tmp.push_back(a);
      return a;
    };
    mx_ndarray_t x = t(call("Convolution", {args[0], args[1], args[2]}, {{"kernel", "(5,5)"}, {"num_filter", "20"}}));
    x = t(call("Activation", {x}, {{"act_type", "tanh"}}));
    x = t(call("Pooling", {x}, {{"pool_type", "max"}, {"kernel", "(2,2)"}, {"stride", "(2,2)"}}));
    x = t(call("Convolution", {x, args[3], args[4]}, {{"kernel", "(5,5)"}, {"num_filter", "50"}}));
    x = t(call("Activation", {x}, {{"act_type", "tanh"}}));
    x = t(call("Pooling", {x}, {{"pool_type", "max"}, {"kernel", "(2,2)"}, {"stride", "(2,2)"}}));
    x = t(call("Flatten", {x}));
    x = t(call("FullyConnected", {x, args[5], args[6]}, {{"num_hidden", "500"}}));
    x = t(call("Activation", {x}, {{"act_type", "tanh"}}));
    x = t(call("FullyConnected", {x, args[7], args[8]}, {{"num_hidden", "10"}}));
    x = t(call("SoftmaxOutput", {x, args[9]}));
    ok(mx_autograd_set_recording(0, nullptr), "record");
    ok(mx_autograd_backward(1, &x, nullptr, 0, 0, 1), "backward");
    for (size_t i = 1; i + 1 < args.size(); ++i) sgd(args[i], ig[i - 1]);
    ok(mx_ndarray_wait_all(), "wait_all");
    for (auto a : tmp) mx_ndarray_free(a);
  };

  for (int i = 0; i < 3; ++i) exec_step(), imperative_step();  // warm up: pools, kernel states
  std::vector<double> te, ti;
  for (int i = 0; i < reps; ++i) {  // interleaved, so machine noise hits both alike
    te.push_back(bench::median_time(1, exec_step));
    ti.push_back(bench::median_time(1, imperative_step));
  }
  std::sort(te.begin(), te.end());
  std::sort(ti.begin(), ti.end());
  const double ms_exec = te[te.size() / 2], ms_imp = ti[ti.size() / 2];

  mx_executor_memory_stats st{};
  st.struct_size = sizeof(st);
  ok(mx_executor_memory_stats_get(ex, &st), "memory_stats");
  const double mb = 1.0 / (1 << 20);
  std::printf("%-56s %10s %10s %8s\n", "LeNet batch 128 training step (median ms)", "executor", "autograd", "ratio");
  std::printf("%-56s %10.2f %10.2f %8.3f\n", "forward + backward + sgd_update", ms_exec, ms_imp, ms_imp / ms_exec);
  std::printf("memory plan: %.2f MiB planned vs %.2f MiB unplanned (%.1f%%), %u buffers, %u in place, %u engine pushes\n",
              double(st.planned_bytes) * mb, double(st.unplanned_bytes) * mb,
              100.0 * double(st.planned_bytes) / double(st.unplanned_bytes), st.num_buffers, st.inplace_count,
              st.num_segments);
  std::printf(
      "JSON {\"bench\":\"executor\",\"lenet_step_ms_executor\":%.3f,\"lenet_step_ms_autograd\":%.3f,\"speedup\":%.3f,"
      "\"planned_bytes\":%llu,\"unplanned_bytes\":%llu,\"planned_ratio\":%.4f,\"inplace\":%u,\"segments\":%u}\n",
      ms_exec, ms_imp, ms_imp / ms_exec, (unsigned long long)st.planned_bytes, (unsigned long long)st.unplanned_bytes,
      double(st.planned_bytes) / double(st.unplanned_bytes), st.inplace_count, st.num_segments);
  for (auto a : args) mx_ndarray_free(a);
  for (auto a : grads) mx_ndarray_free(a);
  for (auto a : ig) mx_ndarray_free(a);
  mx_executor_free(ex);
  mx_symbol_free(net);
  return 0;
}
