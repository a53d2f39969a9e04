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

// Per backend: op -> why it has no kernel there. Printed by the coverage tests.
using MissingList = std::map<std::string, std::string>;

inline const std::map<std::string, MissingList>& known_missing_kernels() {
  // Issue 16's ops came CPU-first: their elementwise math and the samplers have CUDA kernels over
  // the shared functors (backends/common); the rest wait for a lent GPU, which must check each new
  // CUDA kernel against the CPU one (scripts/gpu-check.sh) before it can replace an entry here.
  static const std::string k16 = "CPU kernel only so far (issue 16); the CUDA kernel waits for a GPU to check it on";
  // log_sigmoid and mish are elementwise over the shared functors and have CUDA kernels; argmax_channel
  // (reduce.cu's argmax over the last axis) waits for a GPU like the issue 16 ops.
  static const std::string kChannel = "CPU kernel only so far (argmax_channel); the CUDA kernel waits for a GPU to check it on";
  static const std::string kMulti = "CPU kernel only so far (issue 19's multi-tensor SGD); the CUDA kernel waits for a GPU to check it on";
  static const std::map<std::string, MissingList> lists = {
      {"cuda",
       {
          // names composed in code (linalg, random_pdf, interleaved_matmul, ...) (issue 16)
          {"_backward_interleaved_matmul_encdec_qk", k16},
          {"_backward_interleaved_matmul_encdec_valatt", k16},
          {"_backward_interleaved_matmul_selfatt_qk", k16},
          {"_backward_interleaved_matmul_selfatt_valatt", k16},
          {"_backward_pdf_dirichlet", k16},
          {"_backward_pdf_exponential", k16},
          {"_backward_pdf_gamma", k16},
          {"_backward_pdf_generalized_negative_binomial", k16},
          {"_backward_pdf_negative_binomial", k16},
          {"_backward_pdf_normal", k16},
          {"_backward_pdf_poisson", k16},
          {"_backward_pdf_uniform", k16},
          {"_contrib_interleaved_matmul_encdec_qk", k16},
          {"_contrib_interleaved_matmul_encdec_valatt", k16},
          {"_contrib_interleaved_matmul_selfatt_qk", k16},
          {"_contrib_interleaved_matmul_selfatt_valatt", k16},
          {"_linalg_det", k16},
          {"_linalg_gelqf", k16},
          {"_linalg_gemm", k16},
          {"_linalg_inverse", k16},
          {"_linalg_potrf", k16},
          {"_linalg_potri", k16},
          {"_linalg_slogdet", k16},
          {"_linalg_sumlogdiag", k16},
          {"_linalg_syevd", k16},
          {"_linalg_syrk", k16},
          {"_random_pdf_dirichlet", k16},
          {"_random_pdf_exponential", k16},
          {"_random_pdf_gamma", k16},
          {"_random_pdf_generalized_negative_binomial", k16},
          {"_random_pdf_negative_binomial", k16},
          {"_random_pdf_normal", k16},
          {"_random_pdf_poisson", k16},
          {"_random_pdf_uniform", k16},
          // core/op/defs/axes.cc (issue 16)
          {"SwapAxis", k16},
          {"_split_v2", k16},
          {"broadcast_axis", k16},
          {"broadcast_to", k16},
          {"col2im", k16},
          {"depth_to_space", k16},
          {"im2col", k16},
          {"reshape_like", k16},
          {"reverse", k16},
          {"shape_array", k16},
          {"size_array", k16},
          {"space_to_depth", k16},
          // core/op/defs/contrib.cc (issue 16)
          {"_contrib_div_sqrt_dim", k16},
          {"_contrib_index_array", k16},
          {"_contrib_index_copy", k16},
          {"_contrib_quadratic", k16},
          // core/op/defs/creation.cc (issue 16)
          {"_arange", k16},
          {"_backward_diag", k16},
          {"_contrib_arange_like", k16},
          {"_eye", k16},
          {"_linspace", k16},
          {"diag", k16},
          // core/op/defs/ctc.cc (issue 16)
          {"CTCLoss", k16},
          // core/op/defs/detection.cc (issue 16)
          {"_contrib_MultiBoxDetection", k16},
          {"_contrib_MultiBoxPrior", k16},
          {"_contrib_MultiBoxTarget", k16},
          {"_contrib_bipartite_matching", k16},
          {"_contrib_box_iou", k16},
          {"_contrib_box_nms", k16},
          // core/op/defs/linalg.cc (issue 16)
          {"_backward_linalg_det", k16},
          {"_backward_linalg_gelqf", k16},
          {"_backward_linalg_potrf", k16},
          {"_backward_linalg_slogdet", k16},
          {"_backward_linalg_syevd", k16},
          {"_linalg_extractdiag", k16},
          {"_linalg_extracttrian", k16},
          {"_linalg_gemm2", k16},
          {"_linalg_makediag", k16},
          {"_linalg_maketrian", k16},
          {"_linalg_trmm", k16},
          {"_linalg_trsm", k16},
          // core/op/defs/lookup.cc (issue 16)
          {"_histogram", k16},
          {"_onehot_encode", k16},
          {"_ravel_multi_index", k16},
          {"_unravel_index", k16},
          {"batch_take", k16},
          {"fill_element_0index", k16},
          {"moments", k16},
          // core/op/defs/loss.cc (issue 16)
          {"LinearRegressionOutput", k16},
          {"LogisticRegressionOutput", k16},
          {"MAERegressionOutput", k16},
          {"MakeLoss", k16},
          {"SVMOutput", k16},
          {"SoftmaxActivation", k16},
          {"_backward_SVMOutput", k16},
          {"make_loss", k16},
          // core/op/defs/math.cc (issue 16)
          {"all_finite", k16},
          {"amp_cast", k16},
          {"amp_multicast", k16},
          {"multi_all_finite", k16},
          {"nanprod", k16},
          {"softmin", k16},
          // core/op/defs/norm.cc (issue 16)
          {"BatchNorm_v1", k16},
          {"GroupNorm", k16},
          {"InstanceNorm", k16},
          {"L2Normalization", k16},
          {"LRN", k16},
          {"_backward_LRN", k16},
          // core/op/defs/optimizer.cc (issue 16)
          {"_sparse_adagrad_update", k16},
          {"ftml_update", k16},
          {"ftrl_update", k16},
          {"lamb_update_phase1", k16},
          {"lamb_update_phase2", k16},
          {"mp_nag_mom_update", k16},
          {"mp_sgd_mom_update", k16},
          {"mp_sgd_update", k16},
          // core/op/defs/optimizer.cc (issue 19)
          {"multi_mp_sgd_mom_update", kMulti},
          {"multi_mp_sgd_update", kMulti},
          {"multi_sgd_mom_update", kMulti},
          {"multi_sgd_update", kMulti},
          {"nag_mom_update", k16},
          {"rmspropalex_update", k16},
          {"signsgd_update", k16},
          {"signum_update", k16},
          // core/op/defs/resample.cc (issue 16)
          {"Pad", k16},
          {"UpSampling", k16},
          {"_backward_Pad", k16},
          // core/op/defs/reduce.cc
          {"argmax_channel", kChannel},
          // core/op/defs/rnn.cc (issue 16)
          {"RNN", k16},
          {"_backward_RNN", k16},
          // core/op/defs/sampling.cc (issue 16)
          {"_backward_sample_multinomial", k16},
          {"_sample_multinomial", k16},
          {"_shuffle", k16},
          // core/op/defs/sequence.cc (issue 16)
          {"SequenceLast", k16},
          {"SequenceMask", k16},
          {"SequenceReverse", k16},
          {"_backward_SequenceLast", k16},
          // core/op/defs/spatial.cc (issue 16)
          {"BilinearSampler", k16},
          {"Correlation", k16},
          {"GridGenerator", k16},
          {"ROIPooling", k16},
          {"SpatialTransformer", k16},
          {"_backward_BilinearSampler", k16},
          {"_backward_Correlation", k16},
          {"_backward_GridGenerator", k16},
          {"_backward_ROIAlign", k16},
          {"_backward_ROIPooling", k16},
          {"_backward_contrib_AdaptiveAvgPooling2D", k16},
          {"_backward_contrib_BilinearResize2D", k16},
          {"_contrib_AdaptiveAvgPooling2D", k16},
          {"_contrib_BilinearResize2D", k16},
          {"_contrib_ROIAlign", k16},
       }},
  };
  return lists;
}

inline std::set<std::string> names_of(const MissingList& list) {
  std::set<std::string> s;
  for (const auto& [op, why] : list) s.insert(op);
  return s;
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

// The gap between a reference backend's kernels and another's, given that backend's list.
inline KernelGap kernel_gap_of(const std::set<std::string>& reference, const std::set<std::string>& have,
                               const std::set<std::string>& list) {
  KernelGap gap;
  for (const std::string& op : reference)
    if (!have.count(op)) (list.count(op) ? gap.listed : gap.unlisted).push_back(op);
  for (const std::string& op : list)
    if (have.count(op)) gap.stale.push_back(op);
  return gap;
}

inline KernelGap kernel_gap(const std::string& backend, const std::set<std::string>& list) {
  return kernel_gap_of(ops_with_kernel("cpu"), ops_with_kernel(backend), list);
}

inline KernelGap kernel_gap(const std::string& backend) {
  auto it = known_missing_kernels().find(backend);
  return kernel_gap(backend, it == known_missing_kernels().end() ? std::set<std::string>{} : names_of(it->second));
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace conformance
