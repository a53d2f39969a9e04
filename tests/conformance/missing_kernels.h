// Kernels a backend is known to lack, against the CPU backend (the reference, which has a kernel
// for every schema). The conformance suite fails when a loaded backend lacks a kernel that the CPU
// backend has and the op is not on that backend's list here, and also when a listed op has a kernel
// after all (the list must shrink as kernels land); it prints every list it uses. Backends are
// named as mx_backend_info reports them. Header-only: conformance_test and plugin_test share it.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mx/c_api.h"

namespace conformance {

inline const std::map<std::string, std::set<std::string>>& known_missing_kernels() {
  static const std::map<std::string, std::set<std::string>> lists = {
      // The CUDA backend has only the fill kernels (_zeros, _ones, _full) so far.
      {"cuda",
       {
        "Activation", "BatchNorm", "BlockGrad", "Cast", "Concat", "Convolution", "Deconvolution", "Dropout",
        "Embedding", "Flatten", "FullyConnected", "LayerNorm", "LeakyReLU", "Pooling", "Reshape",
        "SoftmaxOutput", "_backward_gather_nd", "_cast_like", "_conv_backward_data", "_conv_backward_weight",
        "_copy", "_div_scalar", "_equal", "_equal_scalar", "_greater", "_greater_equal",
        "_greater_equal_scalar", "_greater_scalar", "_lesser", "_lesser_equal", "_lesser_equal_scalar",
        "_lesser_scalar", "_logical_and", "_logical_and_scalar", "_logical_or", "_logical_or_scalar",
        "_logical_xor", "_logical_xor_scalar", "_maximum", "_maximum_scalar", "_minimum", "_minimum_scalar",
        "_minus_scalar", "_mod", "_mod_scalar", "_mul_scalar", "_not_equal", "_not_equal_scalar", "_pick_grad",
        "_plus_scalar", "_pooling_backward", "_power", "_power_scalar", "_random_normal", "_random_uniform",
        "_rdiv_scalar", "_rminus_scalar", "_rmod_scalar", "_rpower_scalar", "_slice_axis_grad",
        "_slice_backward", "_softmax_output_grad", "_sum_to_like", "_take_grad", "_topk_backward", "abs",
        "adam_update", "add_n", "argmax", "argmin", "argsort", "batch_dot", "broadcast_add", "broadcast_div",
        "broadcast_equal", "broadcast_greater", "broadcast_greater_equal", "broadcast_lesser",
        "broadcast_lesser_equal", "broadcast_like", "broadcast_logical_and", "broadcast_logical_or",
        "broadcast_logical_xor", "broadcast_maximum", "broadcast_minimum", "broadcast_mod", "broadcast_mul",
        "broadcast_not_equal", "broadcast_power", "broadcast_sub", "ceil", "clip", "cos", "dot", "elemwise_add",
        "elemwise_div", "elemwise_mul", "elemwise_sub", "erf", "exp", "expand_dims", "expm1", "floor",
        "gather_nd", "log", "log1p", "log_softmax", "max", "mean", "min", "nansum", "negative", "norm",
        "one_hot", "ones_like", "pick", "prod", "reciprocal", "relu", "repeat", "rmsprop_update", "round",
        "rsqrt", "scatter_nd", "sgd_mom_update", "sgd_update", "sigmoid", "sign", "sin", "slice", "slice_axis",
        "slice_like", "softmax", "softmax_cross_entropy", "softsign", "sort", "split", "sqrt", "square",
        "squeeze", "stack", "sum", "take", "tanh", "tile", "topk", "transpose", "where", "zeros_like",
       }},
  };
  return lists;
}

// Canonical names of the ops that have a kernel on the usable backend called `backend`.
inline std::set<std::string> ops_with_kernel(const std::string& backend) {
  std::set<std::string> out;
  uint32_t n = 0;
  const char** names = nullptr;
  if (mx_op_list(&n, &names) != 0) return out;
  for (uint32_t i = 0; i < n; ++i) {
    mx_op_info info;
    std::memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    if (mx_op_get_info(names[i], &info) != 0) continue;
    for (uint32_t b = 0; b < info.num_backends; ++b)
      if (backend == info.backends[b]) out.insert(info.name);
  }
  return out;
}

// How `backend`'s kernels compare with the CPU backend's and with the backend's list above.
struct KernelGap {
  std::vector<std::string> unlisted;  // the CPU backend has a kernel, this backend none, not listed: a failure
  std::vector<std::string> listed;    // lacking and listed: reported
  std::vector<std::string> stale;     // listed, yet the backend has the kernel: a failure
};

inline KernelGap kernel_gap(const std::string& backend, const std::set<std::string>& list) {
  const std::set<std::string> reference = ops_with_kernel("cpu"), have = ops_with_kernel(backend);
  KernelGap gap;
  for (const std::string& op : reference)
    if (!have.count(op)) (list.count(op) ? gap.listed : gap.unlisted).push_back(op);
  for (const std::string& op : list)
    if (have.count(op)) gap.stale.push_back(op);
  return gap;
}

inline KernelGap kernel_gap(const std::string& backend) {
  auto it = known_missing_kernels().find(backend);
  return kernel_gap(backend, it == known_missing_kernels().end() ? std::set<std::string>{} : it->second);
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace conformance
