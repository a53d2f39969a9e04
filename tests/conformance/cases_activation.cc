// Conformance cases of _backward_Activation, the one-pass gradient of Activation and of the relu /
// sigmoid / tanh / softsign / log_sigmoid ops, called directly on independent draws of out_grad,
// data and output: the reference is og * f'(x) written naively in double from the textbook
// derivatives (sigmoid and tanh from the given output y, as MXNet defines the op). The harness
// checks float32 / float64 and float16 / bfloat16 forward, and its finite differences check the
// op's own gradient (gradients of gradients of Activation) wrt all three inputs. One large case
// runs the parallel chunks and the vector loop's tails.
#include <cmath>
#include <string>
#include <vector>

#include "harness.h"

namespace conformance {
namespace {

double sigmoid_naive(double x) { return 1 / (1 + std::exp(-x)); }

// f'(x, y) of each act_type.
struct Act {
  const char* name;
  double (*local)(double x, double y);
  double y_lo, y_hi;  // where the output is drawn (the range of f)
};
const Act kActs[] = {
    {"relu", [](double x, double) { return x > 0 ? 1.0 : 0.0; }, 0, 2},
    {"sigmoid", [](double, double y) { return y * (1 - y); }, 0.01, 0.99},
    {"tanh", [](double, double y) { return 1 - y * y; }, -0.99, 0.99},
    {"softrelu", [](double x, double) { return sigmoid_naive(x); }, 0, 3},
    {"softsign", [](double x, double) { return 1 / ((1 + std::fabs(x)) * (1 + std::fabs(x))); }, -0.9, 0.9},
    {"log_sigmoid", [](double x, double) { return 1 - sigmoid_naive(x); }, -3, 0},
    {"mish", [](double x, double) {
       const double t = std::tanh(std::log1p(std::exp(x)));
       return t + x * sigmoid_naive(x) * (1 - t * t);
     }, -0.3, 3},
};

Case backward_case(const Act& a, Shape s, bool grad) {
  auto ref = [local = a.local](const std::vector<Vec>& in) {
    Vec g(in[0].size());
    for (size_t i = 0; i < g.size(); ++i) g[i] = in[0][i] * local(in[1][i], in[2][i]);
    return g;
  };
  // mish's gradient is differentiated as its composite (Activation's gradient): this op has none.
  const bool has_grad = grad && std::string(a.name) != "mish";
  return Case{"_backward_Activation", {{"act_type", a.name}}, {{s, -2, 2}, {s, -4, 4}, {s, a.y_lo, a.y_hi}}, ref, has_grad};
}

}  // namespace

Family activation_family() {
  Family f;
  for (const Act& a : kActs) {
    f.cases.push_back(backward_case(a, {3, 4}, true));
    f.cases.push_back(backward_case(a, {2, 33, 1061}, false));  // > 2 parallel chunks, odd tail
  }
  f.gradient_only = {{"_backward_Activation", "Activation", nullptr}};
  return f;
}

}  // namespace conformance
