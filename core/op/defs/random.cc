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

void sampler(Registry& r, const std::string& name, std::vector<std::string> aliases, const std::string& doc,
             ParamSpec a, ParamSpec b) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc + " Numbers come from Philox 4x32-10 keyed by the device's seed (mx_random_seed).";
  s.device_from_attrs = true;
  s.params = {std::move(a), std::move(b), param_shape("shape", "()", "shape of the output"),
              param_device("device of the output (default cpu(0))"),
              param_dtype("dtype", "None", "float32 (default), float64, float16 or bfloat16")};
  s.infer_shape = shape_from_attrs;
  s.infer_type = float_type;
  s.random_blocks = blocks_for;
  s.gradient = no_gradient;  // no inputs
  r.add(std::move(s));
}

}  // namespace

void register_random(Registry& r) {
  sampler(r, "_random_uniform", {"uniform", "random_uniform"}, "Samples uniformly from [low, high).",
          param_float("low", "0", "lower bound"), param_float("high", "1", "upper bound (exclusive)"));
  ParamSpec scale = param_float("scale", "1", "standard deviation");
  scale.min = 0;
  sampler(r, "_random_normal", {"normal", "random_normal"}, "Samples from a normal distribution N(loc, scale^2).",
          param_float("loc", "0", "mean"), scale);
}

}  // namespace mx::op
