// Types shared by the conformance cases: a Case is an op call on inputs drawn from InputSpecs
// with a naive float64 reference. Case lists live in one file per family of ops.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace conformance {

using Vec = std::vector<double>;
using Shape = std::vector<int64_t>;

struct InputSpec {
  Shape shape;
  double lo = -2, hi = 2;
  bool integers = false;  // floor the draws (labels, conditions, indices)
  Vec values = {};        // fixed values instead of random draws (e.g. indices without repeats)
};

struct Case {
  std::string op;
  std::vector<std::pair<std::string, std::string>> attrs;
  std::vector<InputSpec> inputs;
  // Naive reference: the checked output's values (row-major) from the input values.
  std::function<Vec(const std::vector<Vec>&)> ref;
  bool grad = true;     // check first-order gradients
  bool grad2 = false;   // check gradients of gradients
  std::vector<size_t> no_fd = {};  // inputs not checked by finite differences (indices)
  size_t output = 0;    // which output of a multi-output op is checked
  bool half = true;     // also check float16 / bfloat16 forward (off where rounding makes ties)
  std::string label() const {
    std::string s = op;
    for (auto& [k, v] : attrs) s += " " + k + "=" + v;
    if (output) s += " output " + std::to_string(output);
    return s;
  }
};

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// Coordinates of flat index i in shape s.
inline std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> c(s.size());
  for (int d = int(s.size()) - 1; d >= 0; --d) {
    c[size_t(d)] = i % s[size_t(d)];
    i /= s[size_t(d)];
  }
  return c;
}

// Flat index of coordinates c in shape s.
inline int64_t ravel(const std::vector<int64_t>& c, const Shape& s) {
  int64_t idx = 0;
  for (size_t d = 0; d < s.size(); ++d) idx = idx * s[d] + c[d];
  return idx;
}

// Ops checked by a dedicated test instead of a conformance case, each with the test that checks
// it: "<file under tests/>:<Suite>.<Name>". The coverage test reads that file, finds the test and
// requires the op's name (or an alias) in its body, so an entry cannot outlive its test.
struct Dedicated {
  const char* op;
  const char* test;
};

// Gradient-only ops (no user-facing forward use): each is exercised by the finite-difference
// gradient check of the listed forward op's conformance case(s).
struct GradientOf {
  const char* op;
  const char* forward;
  const char* test;  // nullptr: the forward op's conformance cases check its gradient
};

// One family of ops: its cases and the entries of the coverage tables it needs.
struct Family {
  std::vector<Case> cases;
  std::vector<Dedicated> dedicated = {};
  std::vector<GradientOf> gradient_only = {};
};

std::vector<Case> slicing_cases();  // slice slice_like split Concat(many) gather_nd scatter_nd
std::vector<Case> sorting_cases();  // sort argsort topk
std::vector<Case> deconv_cases();   // Deconvolution
std::vector<Case> conv3d_cases();   // 3-d (NCDHW) Convolution, Deconvolution, Pooling
std::vector<Case> conv_fast_path_cases();  // 2-d shapes on the CPU conv / pooling fast paths
std::vector<Case> dot_cases();      // dot on N-d inputs and vectors
Family math_family();      // math and creation ops (helper: math)
Family axes_family();      // shape and indexing ops
Family layers_family();    // norms, losses, sequence ops, UpSampling, Pad
Family vision_family();    // spatial sampling, ROI and detection ops
Family rnn_family();       // RNN
Family contrib_family();   // optimizer updates, contrib ops, ctc_loss
Family random_family();    // samplers, sample_*, random_pdf_*
Family linalg_family();    // _linalg_*
Family multi_update_family();  // multi_sgd_update and its momentum / multi-precision forms
Family activation_family();  // _backward_Activation
const std::vector<Family>& all_families();

}  // namespace conformance
