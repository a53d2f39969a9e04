// Conformance cases of the norms, losses, sequence ops, UpSampling, Pad, and of Activation's
// log_sigmoid and mish (the older act_types are conformance_test.cc's). References follow MXNet's
// documented definitions loop by loop. The loss layers' gradients are MXNet's loss formulas, not
// derivatives of their forward, so they are checked by LossLayers.* below instead of finite
// differences; so are the schema errors of bad parameters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../unit/test_util.h"
#include "harness.h"

namespace conformance {
namespace {

using Attrs = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------- norms

// (x - mean) / sqrt(var + eps) * gamma + beta over rows of (N * groups, C / groups * S); gamma and
// beta per channel, or per group (MXNet 1.x's GroupNorm).
Vec naive_group_norm(const std::vector<Vec>& in, int64_t n, int64_t c, int64_t s, int64_t groups, double eps,
                     bool per_group) {
  const Vec &x = in[0], &gamma = in[1], &beta = in[2];
  Vec y(x.size());
  const int64_t m = c / groups * s;
  for (int64_t row = 0; row < n * groups; ++row) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < m; ++j) mean += x[size_t(row * m + j)] / double(m);
    for (int64_t j = 0; j < m; ++j) var += std::pow(x[size_t(row * m + j)] - mean, 2) / double(m);
    for (int64_t j = 0; j < m; ++j) {
      const int64_t ch = per_group ? row % groups : (row % groups) * (c / groups) + j / s;
      y[size_t(row * m + j)] = (x[size_t(row * m + j)] - mean) / std::sqrt(var + eps) * gamma[size_t(ch)] + beta[size_t(ch)];
    }
  }
  return y;
}

Case group_norm_case(const char* op, Attrs attrs, Shape d, int64_t groups, double eps, bool per_group = false) {
  int64_t s = 1;
  for (size_t i = 2; i < d.size(); ++i) s *= d[i];
  const int64_t k = per_group ? groups : d[1];
  return Case{op, attrs, {{d}, {{k}, 0.5, 2}, {{k}}}, [=](const std::vector<Vec>& in) {
                return naive_group_norm(in, d[0], d[1], s, groups, eps, per_group);
              }};
}

// data / sqrt(sum of squares + eps) with the sums over the axes `mode` names.
Case l2_case(const char* mode, Shape d) {
  return Case{"L2Normalization", {{"mode", mode}}, {{d}}, [=](const std::vector<Vec>& in) {
                const std::string m = mode;
                Vec sums(in[0].size(), 0.0), y(in[0].size());
                auto group = [&](int64_t i) {  // the element that indexes i's group (others zeroed)
                  auto c = unravel(i, d);
                  for (size_t a = 1; a < d.size(); ++a)
                    if (m == "instance" || (m == "channel" && a == 1) || (m == "spatial" && a >= 2)) c[a] = 0;
                  return ravel(c, d);
                };
                for (int64_t i = 0; i < numel(d); ++i) sums[size_t(group(i))] += in[0][size_t(i)] * in[0][size_t(i)];
                for (int64_t i = 0; i < numel(d); ++i)
                  y[size_t(i)] = in[0][size_t(i)] / std::sqrt(sums[size_t(group(i))] + 1e-10);
                return y;
              }};
}

// x / (knorm + alpha / nsize * sum of x^2 over channels [c - nsize/2, c + (nsize-1)/2])^beta.
Case lrn_case(int64_t nsize, Shape d) {
  const double alpha = 0.3, beta = 0.75, knorm = 2;
  return Case{"LRN", {{"nsize", std::to_string(nsize)}, {"alpha", "0.3"}}, {{d}}, [=](const std::vector<Vec>& in) {
                Vec y(in[0].size());
                for (int64_t i = 0; i < numel(d); ++i) {
                  auto c = unravel(i, d);
                  double s = 0;
                  for (int64_t k = c[1] - nsize / 2; k <= c[1] + (nsize - 1) / 2; ++k) {
                    if (k < 0 || k >= d[1]) continue;
                    auto o = c;
                    o[1] = k;
                    s += std::pow(in[0][size_t(ravel(o, d))], 2);
                  }
                  y[size_t(i)] = in[0][size_t(i)] * std::pow(knorm + alpha / double(nsize) * s, -beta);
                }
                return y;
              }};
}

// Inference with the moving statistics (use_global_stats): (x - mm) / sqrt(mv + eps) * gamma + beta.
Case batch_norm_v1_case() {
  const Shape d{3, 2, 2};
  return Case{"BatchNorm_v1",
              {{"use_global_stats", "True"}, {"fix_gamma", "False"}},
              {{d}, {{2}, 0.5, 2}, {{2}}, {{2}, -1, 1}, {{2}, 0.5, 2}},
              [=](const std::vector<Vec>& in) {
                Vec y(in[0].size());
                for (int64_t i = 0; i < numel(d); ++i) {
                  const size_t ch = size_t(unravel(i, d)[1]);
                  y[size_t(i)] = (in[0][size_t(i)] - in[3][ch]) / std::sqrt(in[4][ch] + 1e-3) * in[1][ch] + in[2][ch];
                }
                return y;
              },
              true, false, {3, 4}};
}

// ---------------------------------------------------------------- losses

Case softmax_activation_case(const char* mode, Shape d) {
  return Case{"SoftmaxActivation", {{"mode", mode}}, {{d}}, [=](const std::vector<Vec>& in) {
                const bool channel = std::string(mode) == "channel";
                const int64_t outer = d[0], n = channel ? d[1] : numel(d) / d[0], inner = channel ? numel(d) / (d[0] * d[1]) : 1;
                Vec y(in[0].size());
                for (int64_t o = 0; o < outer; ++o)
                  for (int64_t i = 0; i < inner; ++i) {
                    double sum = 0;
                    for (int64_t j = 0; j < n; ++j) sum += std::exp(in[0][size_t((o * n + j) * inner + i)]);
                    for (int64_t j = 0; j < n; ++j)
                      y[size_t((o * n + j) * inner + i)] = std::exp(in[0][size_t((o * n + j) * inner + i)]) / sum;
                  }
                return y;
              }};
}

// Forward of a loss layer (its gradient is LossLayers.*'s): data passed on, or its sigmoid.
Case loss_forward_case(const char* op, std::vector<InputSpec> inputs, bool sigmoid = false, Attrs attrs = {}) {
  return Case{op, attrs, inputs, [=](const std::vector<Vec>& in) {
                Vec y = in[0];
                if (sigmoid)
                  for (double& v : y) v = 1 / (1 + std::exp(-v));
                return y;
              }, false};
}

// ---------------------------------------------------------------- sequences

// Data (T, B, R) (or (B, T, R) with batch_first); lengths per sample.
struct Seq {
  int64_t t, b, r;
  bool batch_first;
  int64_t at(int64_t step, int64_t s, int64_t e) const { return ((batch_first ? s * t + step : step * b + s) * r) + e; }
};

Case sequence_case(const char* op, Seq q, Vec lengths, Attrs extra = {}) {
  const bool use = !lengths.empty();
  Attrs attrs = {{"use_sequence_length", use ? "True" : "False"}};
  if (q.batch_first) attrs.push_back({"axis", "1"});
  attrs.insert(attrs.end(), extra.begin(), extra.end());
  std::vector<InputSpec> inputs = {{q.batch_first ? Shape{q.b, q.t, q.r} : Shape{q.t, q.b, q.r}}};
  if (use) inputs.push_back(InputSpec{{q.b}, 0, 1, false, lengths});
  const std::string name = op;
  const double value = extra.empty() ? 0.0 : std::stod(extra[0].second);
  Case c{op, attrs, inputs, [=](const std::vector<Vec>& in) {
           const Vec& x = in[0];
           Vec y;
           for (int64_t s = 0; s < q.b; ++s) {
             const int64_t n = use ? int64_t(in[1][size_t(s)]) : q.t;
             if (name == "SequenceLast")
               for (int64_t e = 0; e < q.r; ++e) y.push_back(x[size_t(q.at(n - 1, s, e))]);
           }
           if (name == "SequenceLast") return y;
           y.assign(x.size(), 0.0);
           for (int64_t s = 0; s < q.b; ++s) {
             const int64_t n = use ? int64_t(in[1][size_t(s)]) : q.t;
             for (int64_t step = 0; step < q.t; ++step)
               for (int64_t e = 0; e < q.r; ++e) {
                 const size_t at = size_t(q.at(step, s, e));
                 if (name == "SequenceMask") y[at] = step < n ? x[at] : value;
                 else y[at] = x[size_t(q.at(step < n ? n - 1 - step : step, s, e))];
               }
           }
           return y;
         }};
  if (use) c.no_fd = {1};
  return c;
}

// ---------------------------------------------------------------- resampling

// Nearest: out[n, first_i + c, y, x] = in_i[n, c, y / f_i, x / f_i] (concat) or the sum (sum).
Case nearest_case(std::vector<Shape> shapes, int64_t scale, bool sum) {
  std::vector<InputSpec> inputs;
  int64_t channels = 0;
  for (const Shape& s : shapes) inputs.push_back({s}), channels += s[1];
  const Shape o{shapes[0][0], sum ? shapes[0][1] : channels, shapes[0][2] * scale, shapes[0][3] * scale};
  Attrs attrs = {{"scale", std::to_string(scale)}, {"sample_type", "nearest"}, {"num_args", std::to_string(shapes.size())}};
  if (sum) attrs.push_back({"multi_input_mode", "sum"});
  return Case{"UpSampling", attrs, inputs, [=](const std::vector<Vec>& in) {
                Vec y(size_t(numel(o)), 0.0);
                for (int64_t i = 0; i < numel(o); ++i) {
                  auto c = unravel(i, o);
                  int64_t first = 0;
                  for (size_t k = 0; k < shapes.size(); ++k) {
                    const Shape& s = shapes[k];
                    const int64_t ch = sum ? c[1] : c[1] - first, f = o[2] / s[2];
                    first += s[1];
                    if (ch < 0 || ch >= s[1]) continue;
                    y[size_t(i)] += in[k][size_t(ravel({c[0], ch, c[2] / f, c[3] / f}, s))];
                  }
                }
                return y;
              }};
}

// Bilinear: the depthwise transposed convolution out[n, c, iy*s - p + ky, ix*s - p + kx] +=
// x[n, c, iy, ix] * w[c, 0, ky, kx], k = 2s - s%2, p = ceil((s - 1) / 2).
Case bilinear_case(Shape d, int64_t s) {
  const int64_t k = 2 * s - s % 2, pad = int64_t(std::ceil((double(s) - 1) / 2));
  const Shape w{d[1], 1, k, k}, o{d[0], d[1], d[2] * s, d[3] * s};
  return Case{"UpSampling",
              {{"scale", std::to_string(s)}, {"sample_type", "bilinear"}, {"num_filter", std::to_string(d[1])}, {"num_args", "2"}},
              {{d}, {w}},
              [=](const std::vector<Vec>& in) {
                Vec y(size_t(numel(o)), 0.0);
                for (int64_t i = 0; i < numel(d); ++i) {
                  auto c = unravel(i, d);
                  for (int64_t ky = 0; ky < k; ++ky)
                    for (int64_t kx = 0; kx < k; ++kx) {
                      const int64_t oy = c[2] * s - pad + ky, ox = c[3] * s - pad + kx;
                      if (oy < 0 || oy >= o[2] || ox < 0 || ox >= o[3]) continue;
                      y[size_t(ravel({c[0], c[1], oy, ox}, o))] += in[0][size_t(i)] * in[1][size_t(ravel({c[1], 0, ky, kx}, w))];
                    }
                }
                return y;
              }};
}

// numpy.pad semantics on the spatial axes.
Case pad_case(const char* mode, Shape d, std::vector<int64_t> width, double value = 0) {
  std::string w = "(";
  for (int64_t v : width) w += std::to_string(v) + ",";
  w.back() = ')';
  Shape o;
  for (size_t i = 0; i < d.size(); ++i) o.push_back(d[i] + width[2 * i] + width[2 * i + 1]);
  Attrs attrs = {{"mode", mode}, {"pad_width", w}};
  if (value != 0) attrs.push_back({"constant_value", std::to_string(value)});
  const std::string m = mode;
  return Case{"Pad", attrs, {{d}}, [=](const std::vector<Vec>& in) {
                Vec y(size_t(numel(o)));
                for (int64_t i = 0; i < numel(o); ++i) {
                  auto c = unravel(i, o);
                  bool constant = false;
                  for (size_t a = 0; a < d.size(); ++a) {
                    int64_t s = c[a] - width[2 * a];
                    if (s < 0) s = m == "edge" ? 0 : m == "reflect" ? -s : (constant = true, 0);
                    if (s >= d[a]) s = m == "edge" ? d[a] - 1 : m == "reflect" ? 2 * (d[a] - 1) - s : (constant = true, 0);
                    c[a] = s;
                  }
                  y[size_t(i)] = constant ? value : in[0][size_t(ravel(c, d))];
                }
                return y;
              }};
}

// Activation's log_sigmoid and mish, written naively in double as MXNet documents them (exp
// overflows double only past 709, so they hold at |x| = 100, where float32's e^|x| overflows).
double log_sigmoid_naive(double x) { return std::log(1 / (1 + std::exp(-x))); }
double mish_naive(double x) { return x * std::tanh(std::log(1 + std::exp(x))); }
const std::pair<const char*, double (*)(double)> kActs[] = {{"log_sigmoid", log_sigmoid_naive}, {"mish", mish_naive}};

// Random draws in [-6, 6] with gradients of gradients, and fixed large |x| that must stay finite
// in float32 (forward here, gradient in ActivationActs.Float32GradientsStayFiniteAtLargeX).
std::vector<Case> activation_act_cases() {
  const Vec large{-100, -89, -40, -15, -0.5, 0, 0.5, 15, 40, 89, 100};
  std::vector<Case> cases;
  for (auto [act, f] : kActs) {
    auto ref = [f](const std::vector<Vec>& in) {
      Vec y(in[0].size());
      for (size_t i = 0; i < y.size(); ++i) y[i] = f(in[0][i]);
      return y;
    };
    cases.push_back(Case{"Activation", {{"act_type", act}}, {{{3, 4}, -6, 6}}, ref, true, true});
    cases.push_back(Case{"Activation", {{"act_type", act}}, {{{int64_t(large.size())}, 0, 0, false, large}}, ref});
  }
  return cases;
}

}  // namespace

Family layers_family() {
  Family f;
  f.cases = {
      group_norm_case("InstanceNorm", {}, {2, 3, 4}, 3, 1e-3),
      group_norm_case("InstanceNorm", {{"eps", "0.01"}}, {2, 2, 2, 3}, 2, 1e-2),
      group_norm_case("GroupNorm", {{"num_groups", "2"}}, {2, 4, 3}, 2, 1e-5),
      group_norm_case("GroupNorm", {}, {2, 3, 2, 2}, 1, 1e-5),
      group_norm_case("GroupNorm", {{"num_groups", "2"}}, {2, 4, 3}, 2, 1e-5, true),  // MXNet 1.x: per group
      l2_case("instance", {2, 3, 4}),
      l2_case("channel", {2, 3, 4}),
      l2_case("spatial", {2, 3, 2, 2}),
      lrn_case(3, {2, 5, 2, 2}),
      lrn_case(4, {1, 6, 2, 1}),
      batch_norm_v1_case(),
      softmax_activation_case("instance", {2, 3, 2}),
      softmax_activation_case("channel", {2, 3, 2}),
      loss_forward_case("LinearRegressionOutput", {{{3, 2}}, {{3, 2}}}),
      loss_forward_case("LogisticRegressionOutput", {{{3, 2}}, {{3, 2}, 0, 1}}, true),
      loss_forward_case("MAERegressionOutput", {{{4, 1}}, {{4}}}),
      loss_forward_case("SVMOutput", {{{3, 4}}, {{3}, 0, 4, true}}, false, {{"use_linear", "True"}}),
      loss_forward_case("MakeLoss", {{{2, 3}}}, false, {{"normalization", "valid"}}),
      loss_forward_case("make_loss", {{{2, 3}}}),
      sequence_case("SequenceLast", {4, 3, 2, false}, {1, 4, 2}),
      sequence_case("SequenceLast", {3, 2, 2, true}, {3, 1}),
      sequence_case("SequenceLast", {3, 2, 1, false}, {}),
      sequence_case("SequenceMask", {4, 3, 2, false}, {1, 4, 0}, {{"value", "-1.5"}}),
      sequence_case("SequenceMask", {4, 2, 1, true}, {2, 3}),
      sequence_case("SequenceReverse", {4, 3, 2, false}, {1, 4, 3}),
      sequence_case("SequenceReverse", {3, 2, 2, false}, {}),
      nearest_case({{1, 2, 2, 3}}, 2, false),
      nearest_case({{2, 2, 2, 2}, {2, 1, 4, 4}}, 2, false),
      nearest_case({{1, 2, 2, 2}, {1, 2, 1, 1}}, 2, true),
      bilinear_case({1, 2, 3, 3}, 2),
      bilinear_case({1, 1, 2, 2}, 3),
      pad_case("constant", {1, 2, 3, 3}, {0, 0, 0, 0, 1, 2, 2, 1}, 1.5),
      pad_case("edge", {2, 1, 3, 2}, {0, 0, 0, 0, 2, 1, 0, 3}),
      pad_case("reflect", {1, 2, 3, 4}, {0, 0, 0, 0, 2, 1, 3, 2}),
      pad_case("constant", {1, 1, 2, 3, 2}, {0, 0, 0, 0, 1, 0, 0, 1, 1, 1}),
      pad_case("reflect", {1, 1, 3, 2, 3}, {0, 0, 0, 0, 1, 2, 1, 0, 2, 1}),
      pad_case("edge", {1, 1, 2, 2, 2}, {0, 0, 0, 0, 1, 1, 0, 2, 1, 0}),
  };
  for (Case& c : activation_act_cases()) f.cases.push_back(std::move(c));
  f.gradient_only = {
      {"_backward_LRN", "LRN", nullptr},
      {"_backward_SequenceLast", "SequenceLast", nullptr},
      {"_backward_Pad", "Pad", nullptr},
      {"_backward_SVMOutput", "SVMOutput", "conformance/cases_layers.cc:LossLayers.GradientsAreMXNetsLossFormulas"},
  };
  f.dedicated = {
      {"LinearRegressionOutput", "conformance/cases_layers.cc:LossLayers.GradientsAreMXNetsLossFormulas"},
      {"LogisticRegressionOutput", "conformance/cases_layers.cc:LossLayers.GradientsAreMXNetsLossFormulas"},
      {"MAERegressionOutput", "conformance/cases_layers.cc:LossLayers.GradientsAreMXNetsLossFormulas"},
      {"MakeLoss", "conformance/cases_layers.cc:LossLayers.GradientsAreMXNetsLossFormulas"},
      {"make_loss", "conformance/cases_layers.cc:LossLayers.GradientsAreMXNetsLossFormulas"},
  };
  return f;
}

}  // namespace conformance

// ---------------------------------------------------------------- dedicated tests

namespace conformance {
namespace {

using mx::test::Arr;

Arr f64(const Shape& s, const Vec& v) {
  Arr a(s, MX_FLOAT64);
  a.set(v);
  return a;
}

struct Call {
  std::string op;
  Attrs attrs;
};

// Gradient of data (input 0) after op(inputs) is recorded and backpropagated with the head
// gradient `head` (which a loss layer ignores).
Vec recorded_grad(const Call& c, const std::vector<std::pair<Shape, Vec>>& inputs, double head) {
  std::vector<Arr> arrs;
  std::vector<mx_ndarray_t> h;
  for (auto& [s, v] : inputs) arrs.push_back(f64(s, v)), h.push_back(arrs.back().get());
  Arr g(inputs[0].first, MX_FLOAT64);
  mx_ndarray_t vars[] = {h[0]}, grads[] = {g.get()};
  int32_t reqs[] = {MX_GRAD_WRITE};
  EXPECT_MX_OK(mx_autograd_mark_variables(1, vars, reqs, grads));
  std::vector<const char*> k, v;
  for (auto& [key, val] : c.attrs) k.push_back(key.c_str()), v.push_back(val.c_str());
  EXPECT_MX_OK(mx_autograd_set_recording(1, nullptr));
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  const int rc = mx_imperative_invoke(c.op.c_str(), int32_t(h.size()), h.data(), &nout, &outs, int32_t(k.size()), k.data(), v.data());
  EXPECT_MX_OK(mx_autograd_set_recording(0, nullptr));
  EXPECT_EQ(rc, 0) << c.op << ": " << mx_get_last_error();
  if (rc != 0) return {};
  Arr y(outs[0]);
  for (int32_t i = 1; i < nout; ++i) Arr drop(outs[i]);
  Arr hg = f64(y.shape(), Vec(size_t(numel(y.shape())), head));
  mx_ndarray_t heads[] = {y.get()}, head_grads[] = {hg.get()};
  EXPECT_MX_OK(mx_autograd_backward(1, heads, head_grads, 0, 0, 1));
  return g.to_vector<double>();
}

void expect_near_all(const Vec& got, const Vec& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12 + 1e-12 * std::fabs(want[i])) << what << " at " << i;
}

}  // namespace

// MXNet's backward of the loss layers, whatever gradient flows in (head 1 and head 3 alike).
TEST(LossLayers, GradientsAreMXNetsLossFormulas) {
  const Vec x = {0.5, -1.25, 2.0, 0.75, -0.5, 1.5};
  const Vec lab = {1.0, -1.0, 0.5, 0.75, 0.0, 2.0};
  for (double head : {1.0, 3.0}) {
    // regression outputs: grad_scale / (outputs per sample) * (out - label), MAE: its sign
    for (const char* op : {"LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"}) {
      const std::string name = op;
      const Vec got = recorded_grad({op, {{"grad_scale", "2"}}}, {{{2, 3}, x}, {{2, 3}, lab}}, head);
      Vec want(6);
      for (size_t i = 0; i < 6; ++i) {
        const double out = name == "LogisticRegressionOutput" ? 1 / (1 + std::exp(-x[i])) : x[i];
        const double diff = out - lab[i];
        want[i] = 2.0 / 3.0 * (name == "MAERegressionOutput" ? double((diff > 0) - (diff < 0)) : diff);
      }
      expect_near_all(got, want, name);
    }
    // label (N,) for data (N, 1): one output per sample
    expect_near_all(recorded_grad({"LinearRegressionOutput", {}}, {{{3, 1}, {1, 2, 3}}, {{3}, {0.5, 2, 5}}}, head),
                    {0.5, 0, -2}, "LinearRegressionOutput, label (N,)");
    // SVMOutput, scores (2, 3), labels {2, 0}; margin 1, coefficient 0.5
    const Vec scores = {0.5, -1.5, 0.25, 2.0, -0.5, 0.75};
    const Vec labels = {2, 0};
    for (bool linear : {false, true}) {
      const Vec got = recorded_grad({"SVMOutput", {{"regularization_coefficient", "0.5"}, {"use_linear", linear ? "True" : "False"}}},
                                    {{{2, 3}, scores}, {{2}, labels}}, head);
      Vec want(6);
      for (size_t i = 0; i < 6; ++i) {
        const double v = scores[i];
        const bool labelled = size_t(labels[i / 3]) == i % 3;
        if (linear) want[i] = labelled ? -0.5 * double(1 > v) : 0.5 * double(1 > -v);
        else want[i] = labelled ? (1 > v ? -2 * 0.5 * (1 - v) : 0.0) : (1 > -v ? 2 * 0.5 * (1 + v) : 0.0);
      }
      expect_near_all(got, want, linear ? "SVMOutput L1" : "SVMOutput L2");
    }
    // MakeLoss: grad_scale, / batch, / max(1, count(out > valid_thresh)); make_loss: 1
    const Vec l = {0.5, -1.0, 2.0, 0.0, 3.0, -2.0};
    expect_near_all(recorded_grad({"MakeLoss", {{"grad_scale", "3"}}}, {{{2, 3}, l}}, head), Vec(6, 3.0), "MakeLoss null");
    expect_near_all(recorded_grad({"MakeLoss", {{"grad_scale", "3"}, {"normalization", "batch"}}}, {{{2, 3}, l}}, head),
                    Vec(6, 1.5), "MakeLoss batch");
    expect_near_all(recorded_grad({"MakeLoss", {{"normalization", "valid"}, {"valid_thresh", "0.25"}}}, {{{2, 3}, l}}, head),
                    Vec(6, 1.0 / 3.0), "MakeLoss valid");
    expect_near_all(recorded_grad({"MakeLoss", {{"normalization", "valid"}, {"valid_thresh", "5"}}}, {{{2, 3}, l}}, head),
                    Vec(6, 1.0), "MakeLoss valid, none valid");
    expect_near_all(recorded_grad({"make_loss", {}}, {{{2, 3}, l}}, head), Vec(6, 1.0), "make_loss");
  }
}

// Activation(act_type=log_sigmoid / mish) recorded in float32 at |x| up to 100, where e^|x|
// overflows float32: outputs and gradients finite, the gradient within float32 rounding of central
// finite differences of the naive double formula.
TEST(ActivationActs, Float32GradientsStayFiniteAtLargeX) {
  const std::vector<float> x = {-100, -88.5f, -60, -20, -3, -0.25f, 0, 0.25f, 3, 20, 60, 88.5f, 100};
  for (auto [act, f] : kActs) {
    Arr in({int64_t(x.size())}, MX_FLOAT32), g({int64_t(x.size())}, MX_FLOAT32);
    in.set(x);
    mx_ndarray_t vars[] = {in.get()}, grads[] = {g.get()};
    int32_t reqs[] = {MX_GRAD_WRITE};
    ASSERT_MX_OK(mx_autograd_mark_variables(1, vars, reqs, grads));
    const char* k[] = {"act_type"};
    const char* v[] = {act};
    ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
    int32_t nout = 0;
    mx_ndarray_t* outs = nullptr;
    const int rc = mx_imperative_invoke("Activation", 1, vars, &nout, &outs, 1, k, v);
    ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
    ASSERT_EQ(rc, 0) << act << ": " << mx_get_last_error();
    Arr y(outs[0]);
    ASSERT_MX_OK(mx_autograd_backward(1, outs, nullptr, 0, 0, 1));
    const std::vector<float> ys = y.to_vector<float>(), gs = g.to_vector<float>();
    for (size_t i = 0; i < x.size(); ++i) {
      const double xi = x[i], h = 1e-6;
      const double dy = (f(xi + h) - f(xi - h)) / (2 * h);
      ASSERT_TRUE(std::isfinite(ys[i]) && std::isfinite(gs[i])) << act << " at x = " << xi;
      EXPECT_NEAR(ys[i], f(xi), 1e-6 + 1e-6 * std::fabs(f(xi))) << act << " at x = " << xi;
      EXPECT_NEAR(gs[i], dy, 1e-6 + 1e-5 * std::fabs(dy)) << act << "' at x = " << xi;
    }
  }
}

// Bad parameters and shapes are errors from the schema naming the op and the shapes.
TEST(LayerSchemas, BadParamsAreErrorsNamingOpAndShapes) {
  struct Bad {
    const char* op;
    std::vector<Shape> shapes;
    Attrs attrs;
    std::vector<std::string> words;  // in the message
  };
  const std::vector<Bad> bad = {
      {"GroupNorm", {{2, 4, 3}, {4}, {4}}, {{"num_groups", "3"}}, {"GroupNorm", "(2,4,3)", "num_groups 3"}},
      {"GroupNorm", {{2, 4, 3}, {2}, {4}}, {{"num_groups", "2"}}, {"GroupNorm", "(2,4,3)", "gamma (2)", "beta (4)"}},
      {"InstanceNorm", {{2, 4, 3}, {2}, {2}}, {}, {"InstanceNorm", "(2,4,3)", "gamma (2)"}},
      {"InstanceNorm", {{2, 4}, {4}, {4}}, {}, {"InstanceNorm", "(2,4)"}},
      {"Pad", {{1, 2, 3, 3}}, {{"pad_width", "(0,0,0,0,1,1)"}}, {"Pad", "(1,2,3,3)", "pad_width"}},
      {"Pad", {{1, 2, 3, 3}}, {{"pad_width", "(0,1,0,0,1,1,1,1)"}}, {"Pad", "batch and channel"}},
      {"Pad", {{1, 2, 3, 3}}, {{"mode", "reflect"}, {"pad_width", "(0,0,0,0,3,0,1,1)"}}, {"Pad", "(1,2,3,3)", "reflect"}},
      {"Pad", {{2, 3}}, {{"pad_width", "(0,0,0,0)"}}, {"Pad", "(2,3)"}},
      {"LRN", {{2, 3, 4}}, {{"nsize", "3"}}, {"LRN", "(2,3,4)"}},
      {"LRN", {{2, 3, 4, 4}}, {}, {"LRN", "nsize"}},
      {"UpSampling", {{1, 2, 3, 3}, {1, 2, 4, 4}}, {{"scale", "2"}, {"sample_type", "nearest"}, {"num_args", "2"}},
       {"UpSampling", "(1,2,4,4)", "(1,2,6,6)"}},
      {"UpSampling", {{1, 2, 3, 3}, {2, 1, 3, 3}}, {{"scale", "2"}, {"sample_type", "bilinear"}, {"num_filter", "2"}, {"num_args", "2"}},
       {"UpSampling", "(2,1,3,3)", "(2,1,4,4)"}},
      {"UpSampling", {{1, 2, 3, 3}, {2, 1, 4, 4}}, {{"scale", "2"}, {"sample_type", "bilinear"}, {"num_filter", "3"}, {"num_args", "2"}},
       {"UpSampling", "num_filter", "(1,2,3,3)"}},
      {"SequenceLast", {{4, 3, 2}, {2}}, {{"use_sequence_length", "True"}}, {"SequenceLast", "(2)", "(4,3,2)"}},
      {"SVMOutput", {{3, 4}, {4}}, {}, {"SVMOutput", "(3,4)", "(4)"}},
      {"LinearRegressionOutput", {{3, 2}, {2, 3}}, {}, {"LinearRegressionOutput", "(3,2)", "(2,3)"}},
      {"L2Normalization", {{2, 3}}, {{"mode", "spatial"}}, {"L2Normalization", "(2,3)"}},
  };
  for (const Bad& b : bad) {
    std::vector<Arr> arrs;
    std::vector<mx_ndarray_t> h;
    for (const Shape& s : b.shapes) arrs.push_back(f64(s, Vec(size_t(numel(s)), 1.0))), h.push_back(arrs.back().get());
    std::vector<const char*> k, v;
    for (auto& [key, val] : b.attrs) k.push_back(key.c_str()), v.push_back(val.c_str());
    int32_t nout = 0;
    mx_ndarray_t* outs = nullptr;
    const int rc = mx_imperative_invoke(b.op, int32_t(h.size()), h.data(), &nout, &outs, int32_t(k.size()), k.data(), v.data());
    EXPECT_NE(rc, 0) << b.op << " accepted a bad call";
    if (rc == 0) {
      for (int32_t i = 0; i < nout; ++i) Arr drop(outs[i]);
      continue;
    }
    const std::string msg = mx_get_last_error();
    for (const std::string& w : b.words) EXPECT_NE(msg.find(w), std::string::npos) << b.op << ": '" << w << "' not in: " << msg;
  }
}

}  // namespace conformance
