// The sampling family: _sample_* (one distribution per element of parameter arrays),
// _sample_multinomial, _shuffle and the densities _random_pdf_* with their gradients. The scalar
// samplers (_random_exponential ... _random_randint) are in random.cc. Every sampler here draws
// one Philox block per output element (backends/common/random.h's ElementStream).
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

uint64_t block_per_element(const Attrs&, const std::vector<Shape>& out) { return uint64_t(shape_size(out[0])); }

// Every input of a float dtype, all the same one.
void same_float_inputs(const InferArgs& a) {
  for (size_t i = 0; i < a.in_dtypes.size(); ++i) {
    const int32_t t = a.in_dtypes[i];
    if (t != MX_FLOAT32 && t != MX_FLOAT64 && t != MX_FLOAT16 && t != MX_BFLOAT16)
      fail(MX_ERR_UNSUPPORTED, a.op.name, ": input '", a.op.inputs[i], "' is ", dtype_info(t).name,
           " (float32, float64, float16, bfloat16)");
  }
  std::vector<int32_t> unused;
  same_dtype(a, unused);
}

// Parameter arrays of one shape: the checks every op with several parameter inputs makes.
void same_param_shapes(const InferArgs& a, size_t first) {
  for (size_t i = first + 1; i < a.in_shapes.size(); ++i)
    if (a.in_shapes[i] != a.in_shapes[first])
      fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": '", a.op.inputs[i], "' ", shape_str(a.in_shapes[i]), " and '",
           a.op.inputs[first], "' ", shape_str(a.in_shapes[first]), " differ");
}

Shape concat(const Shape& a, const Shape& b) {
  Shape s = a;
  for (int64_t d : b) s.push_back(d);
  return s;
}

// _sample_X: out[i...][j...] ~ X(params[i...]) for j over `shape`.
void multi_sampler(Registry& r, const std::string& dist, std::vector<std::string> inputs, const std::string& doc) {
  OpSchema s;
  s.name = "_sample_" + dist;
  s.aliases = {"sample_" + dist};
  s.doc = doc + " Output shape: the parameters' shape followed by `shape`; element (i, j) is drawn from the "
          "distribution of parameters i. Numbers come from Philox 4x32-10 keyed by the device's seed.";
  s.inputs = std::move(inputs);
  s.params = {param_shape("shape", "()", "samples per distribution"),
              param_dtype("dtype", "None", "output dtype (None: the parameters' dtype)")};
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    same_param_shapes(a, 0);
    Shape o = concat(a.in_shapes[0], a.attrs.shape("shape"));
    check_shape(o, a.op.name, 8);
    out = {std::move(o)};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    same_float_inputs(a);
    int32_t t = a.attrs.dtype("dtype");
    if (t < 0) t = a.in_dtypes[0];
    if (t != MX_FLOAT32 && t != MX_FLOAT64 && t != MX_FLOAT16 && t != MX_BFLOAT16)
      fail(MX_ERR_UNSUPPORTED, a.op.name, ": dtype ", dtype_info(t).name, " is not supported (float32, float64, float16, bfloat16)");
    out = {t};
  };
  s.random_blocks = block_per_element;
  s.gradient = no_gradient;  // MXNet's samplers are not differentiated (zero gradients)
  r.add(std::move(s));
}

void register_multinomial(Registry& r) {
  OpSchema s;
  s.name = "_sample_multinomial";
  s.aliases = {"sample_multinomial"};
  s.doc = "Samples category indices from the discrete distributions in the last axis of data (probabilities, "
          "normalised by their sum). Output: data's shape without its last axis followed by `shape`; with "
          "get_prob, also the log-probability of each sample (differentiable with respect to data).";
  s.inputs = {"data"};
  s.params = {param_shape("shape", "()", "samples per distribution"),
              param_bool("get_prob", "False", "also return the log-probabilities of the samples"),
              {"dtype", ParamType::kEnum, "int32", false, -1e308, 1e308,
               {"float16", "float32", "float64", "int32", "uint8"}, "dtype of the samples"}};
  s.dtypes = float_dtypes();
  s.output_count = [](const Attrs& a) { return a.b("get_prob") ? 2 : 1; };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    if (d.empty() || d.back() < 1)
      fail(MX_ERR_SHAPE_MISMATCH, "_sample_multinomial: data ", shape_str(d), " needs a non-empty last axis");
    Shape o = concat(Shape(d.begin(), d.end() - 1), a.attrs.shape("shape"));
    if (o.empty()) o = {1};  // one distribution, one sample: (1,), as MXNet
    check_shape(o, a.op.name, 8);
    out.assign(a.attrs.b("get_prob") ? 2 : 1, o);
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    const int32_t t = dtype_from_name(a.attrs.str("dtype"));
    if (t == MX_UINT8 && a.in_shapes[0].back() > 256)
      fail(MX_ERR_INVALID_ARGUMENT, "_sample_multinomial: ", a.in_shapes[0].back(), " categories do not fit uint8");
    if (a.attrs.b("get_prob")) out = {t, a.in_dtypes[0]};
    else out = {t};
  };
  s.random_blocks = block_per_element;
  s.gradient = [](const GradArgs& a) {
    if (!a.attrs.b("get_prob") || a.out_grads.size() < 2 || a.out_grads[1] == kNoGrad) return std::vector<GradValue>{kNoGrad};
    return std::vector<GradValue>{a.g.call("_backward_sample_multinomial", {a.out_grads[1], a.inputs[0], a.outputs[0]})};
  };
  r.add(std::move(s));

  OpSchema g;
  g.name = "_backward_sample_multinomial";
  g.doc = "Gradient of _sample_multinomial's log-probabilities: out_grad / p(sample) added at data[..., sample], "
          "with p the normalised probabilities (minus out_grad / sum in every entry of the row).";
  g.inputs = {"out_grad", "data", "sample"};
  g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.in_shapes[0] != a.in_shapes[2])
      fail(MX_ERR_SHAPE_MISMATCH, "_backward_sample_multinomial: out_grad ", shape_str(a.in_shapes[0]), " and sample ",
           shape_str(a.in_shapes[2]), " differ");
    out = {a.in_shapes[1]};
  };
  g.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[1]}; };
  g.gradient = no_gradient;
  r.add(std::move(g));
}

void register_shuffle(Registry& r) {
  OpSchema s;
  s.name = "_shuffle";
  s.aliases = {"shuffle"};
  s.doc = "Randomly permutes the rows (the first axis) of data: a Fisher-Yates shuffle over Philox.";
  s.inputs = {"data"};
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
  s.infer_type = first_type;
  s.random_blocks = [](const Attrs&, const std::vector<Shape>& out) {
    return out[0].empty() ? uint64_t(0) : uint64_t(out[0][0]);  // one block per row
  };
  s.gradient = no_gradient;
  r.add(std::move(s));
}

// _random_pdf_X(sample, params..., is_log): the density (or its log) of each sample under the
// distribution of its parameters; parameters of shape P, samples of shape P + extra (Dirichlet:
// alpha (P..., k), samples (P..., extra..., k), densities P + extra). Gradients for every
// parameter (summed over the extra axes) and for continuous samples, by _backward_pdf_X.
void pdf(Registry& r, const std::string& dist, std::vector<std::string> params, const std::string& doc, bool vector_param,
         bool discrete) {
  OpSchema s;
  s.name = "_random_pdf_" + dist;
  s.aliases = {"random_pdf_" + dist};
  s.doc = doc;
  s.inputs = {"sample"};
  for (auto& p : params) s.inputs.push_back(p);
  s.params = {param_bool("is_log", "False", "the log-density instead of the density")};
  s.dtypes = float_dtypes();
  s.infer_shape = [vector_param](const InferArgs& a, std::vector<Shape>& out) {
    same_param_shapes(a, 1);
    const Shape& x = a.in_shapes[0];
    const Shape& p = a.in_shapes[1];
    bool ok = p.size() <= x.size() && !(vector_param && p.empty());
    for (size_t d = 0; ok && d + (vector_param ? 1 : 0) < p.size(); ++d) ok = p[d] == x[d];
    if (ok && vector_param) ok = p.back() == x.back();
    if (!ok)
      fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": parameters ", shape_str(p), " must be the leading ",
           vector_param ? "(and last) " : "", "dims of sample ", shape_str(x));
    if (vector_param) out = {x.size() == 1 ? Shape{1} : Shape(x.begin(), x.end() - 1)};
    else out = {x};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    same_float_inputs(a);
    out = {a.in_dtypes[0]};
  };
  const std::string backward = "_backward_pdf_" + dist;
  s.gradient = [backward, discrete](const GradArgs& a) {
    std::vector<GradValue> in = {a.out_grads[0]};
    for (GradValue v : a.inputs) in.push_back(v);
    std::vector<GradValue> g = a.g.call_all(backward, in, {{"is_log", a.attrs.str("is_log")}});
    if (discrete) g[0] = kNoGrad;  // counts: no derivative in the sample
    return g;
  };
  r.add(std::move(s));

  OpSchema b;
  b.name = backward;
  b.doc = "Gradients of _random_pdf_" + dist + " with respect to the sample and each parameter.";
  b.inputs = {"out_grad", "sample"};
  for (auto& p : params) b.inputs.push_back(p);
  b.num_outputs = int(params.size()) + 1;
  b.params = {param_bool("is_log", "False", "the log-density instead of the density")};
  b.dtypes = float_dtypes();
  b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    out.assign(a.in_shapes.begin() + 1, a.in_shapes.end());
  };
  b.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out.assign(a.in_dtypes.size() - 1, a.in_dtypes[1]); };
  b.gradient = no_gradient;
  r.add(std::move(b));
}

}  // namespace

void register_sampling(Registry& r) {
  multi_sampler(r, "uniform", {"low", "high"}, "Samples from uniform distributions on [low, high).");
  multi_sampler(r, "normal", {"mu", "sigma"}, "Samples from normal distributions N(mu, sigma^2).");
  multi_sampler(r, "gamma", {"alpha", "beta"}, "Samples from gamma distributions of shape alpha and scale beta.");
  multi_sampler(r, "exponential", {"lam"}, "Samples from exponential distributions of rate lam.");
  multi_sampler(r, "poisson", {"lam"}, "Samples from Poisson distributions of rate lam (as floating-point values).");
  multi_sampler(r, "negative_binomial", {"k", "p"},
                "Samples from negative binomial distributions: failures before the k-th success of probability p.");
  multi_sampler(r, "generalized_negative_binomial", {"mu", "alpha"},
                "Samples from generalized negative binomial distributions of mean mu and dispersion alpha.");
  register_multinomial(r);
  register_shuffle(r);

  pdf(r, "uniform", {"low", "high"}, "Density of uniform distributions on [low, high]: 1 / (high - low) inside, 0 outside.",
      false, false);
  pdf(r, "normal", {"mu", "sigma"}, "Density of normal distributions N(mu, sigma^2).", false, false);
  pdf(r, "gamma", {"alpha", "beta"},
      "Density of gamma distributions of shape alpha and RATE beta (MXNet's pdf convention): "
      "beta^alpha x^(alpha - 1) e^(-beta x) / Gamma(alpha).",
      false, false);
  pdf(r, "exponential", {"lam"}, "Density of exponential distributions of rate lam: lam e^(-lam x).", false, false);
  pdf(r, "poisson", {"lam"}, "Probability of counts under Poisson distributions: lam^x e^(-lam) / x!.", false, true);
  pdf(r, "negative_binomial", {"k", "p"},
      "Probability of counts under negative binomial distributions: Gamma(x + k) / (Gamma(k) x!) p^k (1 - p)^x.", false,
      true);
  pdf(r, "generalized_negative_binomial", {"mu", "alpha"},
      "Probability of counts under generalized negative binomial distributions: the negative binomial with "
      "k = 1 / alpha and p = 1 / (1 + mu alpha).",
      false, true);
  pdf(r, "dirichlet", {"alpha"},
      "Density of Dirichlet distributions: Gamma(sum alpha) / prod Gamma(alpha_j) prod x_j^(alpha_j - 1) over the last "
      "axis.",
      true, false);
}

}  // namespace mx::op
