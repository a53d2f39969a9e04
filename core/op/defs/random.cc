// The random family: the samplers with scalar parameters (_random_uniform, _random_normal,
// _random_exponential, _random_gamma, _random_poisson, the negative binomials, _random_randint).
// The per-element samplers (_sample_X), multinomial, shuffle and the densities are in sampling.cc.
#include <climits>
#include <functional>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

void float_type(const InferArgs& a, std::vector<int32_t>& out) {
  int32_t t = a.attrs.dtype("dtype");
  if (t < 0) t = MX_FLOAT32;
  if (t != MX_FLOAT32 && t != MX_FLOAT64 && t != MX_FLOAT16 && t != MX_BFLOAT16)
    fail(MX_ERR_UNSUPPORTED, a.op.name, ": dtype ", dtype_info(t).name,
         " is not supported (float32, float64, float16, bfloat16)");
  out = {t};
}

// One Philox block yields 4 x 32 bits: 4 float32 draws, or 2 float64 draws (53 bits from two).
// float16 / bfloat16 round the float32 draws (backends/common/random.h): 4 a block too.
uint64_t blocks_for(const Attrs& attrs, const std::vector<Shape>& out) {
  const uint64_t n = uint64_t(shape_size(out[0]));
  const uint64_t per_block = attrs.dtype("dtype") == MX_FLOAT64 ? 2 : 4;
  return (n + per_block - 1) / per_block;
}

// One Philox block per element for the samplers that draw a variable number of uniforms
// (backends/common/random.h's ElementStream: the element's sub-stream lives in the block's counter).
uint64_t block_per_element(const Attrs&, const std::vector<Shape>& out) { return uint64_t(shape_size(out[0])); }

// A check of the attributes beyond their ranges (a strictly positive parameter); throws naming the op.
using AttrCheck = std::function<void(const std::string& op, const Attrs&)>;

void positive(const std::string& op, const Attrs& a, const char* name) {
  if (!(a.f(name) > 0)) fail(MX_ERR_INVALID_ARGUMENT, op, ": ", name, " must be > 0 (got ", a.str(name), ")");
}

// packed: uniform / normal, whose elements share Philox blocks (4 float32 or 2 float64 a block);
// otherwise one block per element (the samplers of backends/common/random.h's ElementStream).
void sampler(Registry& r, const std::string& name, std::vector<std::string> aliases, const std::string& doc,
             std::vector<ParamSpec> params, bool packed = true, AttrCheck check = nullptr) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc + " Numbers come from Philox 4x32-10 keyed by the device's seed (mx_random_seed).";
  s.device_from_attrs = true;
  s.params = std::move(params);
  for (ParamSpec p : {param_shape("shape", "()", "shape of the output"),
                      param_device("device of the output (default cpu(0))"),
                      param_dtype("dtype", "None", "float32 (default), float64, float16 or bfloat16")})
    s.params.push_back(std::move(p));
  s.infer_shape = [check](const InferArgs& a, std::vector<Shape>& out) {
    if (check) check(a.op.name, a.attrs);
    shape_from_attrs(a, out);
  };
  s.infer_type = float_type;
  s.random_blocks = packed ? blocks_for : block_per_element;
  s.gradient = no_gradient;  // no inputs
  r.add(std::move(s));
}

ParamSpec nonneg(ParamSpec p) { return with_range(std::move(p), 0, HUGE_VAL); }

void register_randint(Registry& r) {
  OpSchema s;
  s.name = "_random_randint";
  s.aliases = {"random_randint"};
  s.doc = "Samples integers uniformly from [low, high). Numbers come from Philox 4x32-10 keyed by the device's "
          "seed (mx_random_seed).";
  s.device_from_attrs = true;
  s.params = {param_required(param_int("low", "", "lower bound")),
              param_required(param_int("high", "", "upper bound (exclusive)")),
              param_shape("shape", "()", "shape of the output"), param_device("device of the output (default cpu(0))"),
              param_dtype("dtype", "None", "int32 (default) or int64")};
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.attrs.i("low") >= a.attrs.i("high"))
      fail(MX_ERR_INVALID_ARGUMENT, "_random_randint: low (", a.attrs.str("low"), ") must be < high (",
           a.attrs.str("high"), ")");
    Shape sh = a.attrs.shape("shape");
    check_shape(sh, a.op.name, 8);
    out = {std::move(sh)};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    int32_t t = a.attrs.dtype("dtype");
    if (t < 0) t = MX_INT32;
    if (t != MX_INT32 && t != MX_INT64)
      fail(MX_ERR_UNSUPPORTED, "_random_randint: dtype ", dtype_info(t).name, " is not supported (int32, int64)");
    if (t == MX_INT32 && (a.attrs.i("low") < INT32_MIN || a.attrs.i("high") - 1 > INT32_MAX))
      fail(MX_ERR_INVALID_ARGUMENT, "_random_randint: [low, high) = [", a.attrs.str("low"), ", ", a.attrs.str("high"),
           ") does not fit int32");
    out = {t};
  };
  s.random_blocks = block_per_element;
  s.gradient = no_gradient;
  r.add(std::move(s));
}

}  // namespace

void register_random(Registry& r) {
  sampler(r, "_random_uniform", {"uniform", "random_uniform"}, "Samples uniformly from [low, high).",
          {param_float("low", "0", "lower bound"), param_float("high", "1", "upper bound (exclusive)")});
  ParamSpec scale = param_float("scale", "1", "standard deviation");
  scale.min = 0;
  sampler(r, "_random_normal", {"normal", "random_normal"}, "Samples from a normal distribution N(loc, scale^2).",
          {param_float("loc", "0", "mean"), scale});
  // The samplers below draw a variable number of uniforms per element: one Philox block (and its
  // sub-stream) per element, values computed in double and rounded to dtype (random.h).
  sampler(r, "_random_exponential", {"random_exponential"}, "Samples from an exponential distribution of rate lam.",
          {param_float("lam", "1", "rate (> 0)")}, false,
          [](const std::string& op, const Attrs& a) { positive(op, a, "lam"); });
  sampler(r, "_random_gamma", {"random_gamma"},
          "Samples from a gamma distribution of shape alpha and scale beta (Marsaglia-Tsang).",
          {param_float("alpha", "1", "shape (> 0)"), param_float("beta", "1", "scale (> 0)")}, false,
          [](const std::string& op, const Attrs& a) {
            positive(op, a, "alpha");
            positive(op, a, "beta");
          });
  sampler(r, "_random_poisson", {"random_poisson"},
          "Samples from a Poisson distribution of rate lam (as floating-point values).",
          {nonneg(param_float("lam", "1", "rate (>= 0)"))}, false);
  sampler(r, "_random_negative_binomial", {"random_negative_binomial"},
          "Samples from a negative binomial distribution: failures before the k-th success of probability p, "
          "drawn as Poisson(Gamma(k, (1 - p) / p)) (as floating-point values).",
          {with_range(param_int("k", "1", "number of successes (>= 0)"), 0, double(INT32_MAX)),
           with_range(param_float("p", "1", "success probability, in (0, 1]"), 0, 1)},
          false, [](const std::string& op, const Attrs& a) { positive(op, a, "p"); });
  sampler(r, "_random_generalized_negative_binomial", {"random_generalized_negative_binomial"},
          "Samples from a generalized negative binomial distribution of mean mu and dispersion alpha (variance "
          "mu + alpha mu^2), drawn as Poisson(Gamma(1 / alpha, alpha mu)) (as floating-point values).",
          {nonneg(param_float("mu", "1", "mean (>= 0)")), nonneg(param_float("alpha", "1", "dispersion (>= 0)"))}, false);
  register_randint(r);
}

}  // namespace mx::op
