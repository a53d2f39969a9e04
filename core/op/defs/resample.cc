// The resample family: UpSampling Pad (and _backward_Pad).
//
// UpSampling nearest repeats each input's pixels up to the first input's size times scale and
// joins the inputs along the channels (concat) or adds them (sum); its gradient sums each block of
// the output gradient back onto its pixel. UpSampling bilinear is, as in MXNet, a depthwise
// Deconvolution of data by the weight input (C, 1, k, k), k = 2 * scale - scale % 2, stride
// scale, pad ceil((scale - 1) / 2); its gradient is that Deconvolution's.
#include <cmath>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

using AttrList = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------- UpSampling

std::string pair_str(int64_t v) { return "(" + std::to_string(v) + "," + std::to_string(v) + ")"; }

// Deconvolution's attributes for a bilinear UpSampling of `channels` channels (pad scale / 2 is
// ceil((scale - 1) / 2)).
Attrs bilinear_deconv_attrs(int64_t scale, int64_t channels) {
  const AttrList kv = {{"kernel", pair_str(2 * scale - scale % 2)}, {"stride", pair_str(scale)},
                       {"pad", pair_str(scale / 2)}, {"num_filter", std::to_string(channels)},
                       {"num_group", std::to_string(channels)}, {"no_bias", "True"}};
  std::vector<const char*> k, v;
  for (auto& [key, val] : kv) k.push_back(key.c_str()), v.push_back(val.c_str());
  return parse_attrs(registry().get("Deconvolution"), int(k.size()), k.data(), v.data());
}

bool is_bilinear(const Attrs& a) { return a.str("sample_type") == "bilinear"; }

void upsampling_shape(const InferArgs& a, std::vector<Shape>& out) {
  const int64_t scale = a.attrs.i("scale");
  const Shape& d = a.in_shapes[0];
  if (d.size() != 4) fail(MX_ERR_SHAPE_MISMATCH, "UpSampling: data ", shape_str(d), " must be 4-d (batch, channel, y, x)");
  Shape o{d[0], d[1], checked_mul(d[2], scale, "UpSampling"), checked_mul(d[3], scale, "UpSampling")};
  if (is_bilinear(a.attrs)) {
    if (a.attrs.i("num_filter") != d[1])
      fail(MX_ERR_INVALID_ARGUMENT, "UpSampling: bilinear needs num_filter equal to the ", d[1], " channels of data ",
           shape_str(d), ", got ", a.attrs.i("num_filter"));
    const int64_t k = 2 * scale - scale % 2;
    if (a.in_shapes[1] != Shape{d[1], 1, k, k})
      fail(MX_ERR_SHAPE_MISMATCH, "UpSampling: bilinear weight is ", shape_str(a.in_shapes[1]), " but data ",
           shape_str(d), " at scale ", scale, " needs ", shape_str(Shape{d[1], 1, k, k}));
    out = {o};
    return;
  }
  const bool sum = a.attrs.str("multi_input_mode") == "sum";
  int64_t channels = 0;
  for (size_t i = 0; i < a.in_shapes.size(); ++i) {
    const Shape& s = a.in_shapes[i];
    if (s.size() != 4 || s[0] != d[0] || s[2] == 0 || s[3] == 0 || o[2] % s[2] != 0 || o[3] % s[3] != 0 ||
        o[2] / s[2] != o[3] / s[3] || (sum && s[1] != d[1]))
      fail(MX_ERR_SHAPE_MISMATCH, "UpSampling: input ", i, " is ", shape_str(s), " but the output is ", shape_str(o),
           ": each input must be 4-d with the batch", sum ? " and channels" : "",
           " of the first and a size that divides the output's by one factor");
    channels += s[1];
  }
  if (!sum) o[1] = channels;
  out = {o};
}

std::vector<GradValue> upsampling_gradient(const GradArgs& a) {
  Grad d{a.g};
  const GradValue og = a.out_grads[0];
  if (is_bilinear(a.attrs)) {
    const Attrs deconv = bilinear_deconv_attrs(a.attrs.i("scale"), a.in_shapes[0][1]);
    return registry().get("Deconvolution").gradient(GradArgs{a.g, deconv, a.inputs, a.outputs, a.out_grads, a.in_shapes, a.is_train});
  }
  const bool concat = a.attrs.str("multi_input_mode") == "concat";
  const int64_t out_h = a.in_shapes[0][2] * a.attrs.i("scale");
  std::vector<GradValue> g;
  int64_t first = 0;
  for (const Shape& s : a.in_shapes) {
    GradValue part = og;
    if (concat)
      part = d.op("slice_axis", {og}, {{"axis", "1"}, {"begin", std::to_string(first)}, {"end", std::to_string(first + s[1])}});
    first += s[1];
    const int64_t f = out_h / s[2];  // this input's factor
    g.push_back(d.op("sum", {reshape_to(d, part, Shape{s[0], s[1], s[2], f, s[3], f})}, {{"axis", "(3,5)"}}));
  }
  return g;
}

void register_upsampling(Registry& r) {
  OpSchema s;
  s.name = "UpSampling";
  s.doc = "Upsamples 4-d inputs by an integer scale: nearest (each of num_args inputs repeated to the first one's "
          "size times scale, joined by concat or sum) or bilinear (a depthwise Deconvolution by the weight input).";
  s.inputs = {"data", "weight"};
  s.params = {param_required(with_range(param_int("scale", "", "upsampling factor"), 1, 4096)),
              with_range(param_int("num_filter", "0", "channels of data (bilinear)"), 0, double(kMaxExtent)),
              {"sample_type", ParamType::kEnum, "", true, -1e308, 1e308, {"nearest", "bilinear"}, "upsampling method"},
              {"multi_input_mode", ParamType::kEnum, "concat", false, -1e308, 1e308, {"concat", "sum"},
               "how nearest joins several inputs"},
              num_args(),
              with_range(param_int("workspace", "512", "accepted for compatibility (MB of scratch)"), 0, double(kMaxExtent))};
  s.num_inputs = [](const Attrs& a) -> size_t { return is_bilinear(a) ? 2 : size_t(a.i("num_args")); };
  s.dtypes = float_dtypes();
  s.infer_input_shapes = [](const Attrs& a, std::vector<std::optional<Shape>>& in) {
    if (!is_bilinear(a) || !in[0] || in[0]->size() != 4 || in[1]) return;
    const int64_t scale = a.i("scale"), k = 2 * scale - scale % 2;
    in[1] = Shape{(*in[0])[1], 1, k, k};
  };
  s.infer_shape = upsampling_shape;
  s.infer_type = same_dtype;
  s.gradient = upsampling_gradient;
  r.add(std::move(s));
}

// ---------------------------------------------------------------- Pad

std::vector<ParamSpec> pad_params() {
  return {{"mode", ParamType::kEnum, "constant", false, -1e308, 1e308, {"constant", "edge", "reflect"},
           "fill with constant_value, repeat the edge, or mirror without repeating the edge"},
          param_required(with_range(param_shape("pad_width", "", "(before, after) per axis, the first two axes 0"), 0,
                                    double(kMaxExtent))),
          any_float(param_float("constant_value", "0", "the fill of mode constant"))};
}

Shape padded_shape(const std::string& op, const Attrs& a, const Shape& d) {
  const Shape w = a.shape("pad_width");
  const std::string& mode = a.str("mode");
  if (d.size() != 4 && d.size() != 5) fail(MX_ERR_SHAPE_MISMATCH, op, ": data ", shape_str(d), " must be 4-d or 5-d");
  if (w.size() != 2 * d.size())
    fail(MX_ERR_INVALID_ARGUMENT, op, ": pad_width ", shape_str(w), " must have 2 * ", d.size(), " entries for data ",
         shape_str(d));
  if (w[0] || w[1] || w[2] || w[3])
    fail(MX_ERR_INVALID_ARGUMENT, op, ": pad_width ", shape_str(w), " must not pad the batch and channel axes");
  Shape o;
  for (size_t i = 0; i < d.size(); ++i) {
    if (mode == "reflect" && (w[2 * i] || w[2 * i + 1]) && (w[2 * i] >= d[i] || w[2 * i + 1] >= d[i]))
      fail(MX_ERR_INVALID_ARGUMENT, op, ": reflect pad_width ", shape_str(w), " must be smaller than each padded axis "
           "of data ", shape_str(d));
    if (mode == "edge" && d[i] == 0 && (w[2 * i] || w[2 * i + 1]))
      fail(MX_ERR_INVALID_ARGUMENT, op, ": edge padding of the empty axis ", i, " of data ", shape_str(d));
    o.push_back(checked_add(d[i], checked_add(w[2 * i], w[2 * i + 1], op), op));
  }
  return o;
}

void register_pad(Registry& r) {
  OpSchema s;
  s.name = "Pad";
  s.aliases = {"pad"};
  s.doc = "Pads the spatial axes of 4-d or 5-d data by pad_width with a constant, the edge values, or a reflection.";
  s.inputs = {"data"};
  s.params = pad_params();
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {padded_shape("Pad", a.attrs, a.in_shapes[0])}; };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{
        a.g.call("_backward_Pad", {a.out_grads[0], a.inputs[0]}, AttrList(a.attrs.kv.begin(), a.attrs.kv.end()))};
  };
  r.add(std::move(s));

  OpSchema b;
  b.name = "_backward_Pad";
  b.doc = "Gradient of Pad: each element of out_grad added onto the data element it was copied from (data gives the "
          "shape only).";
  b.inputs = {"out_grad", "data"};
  b.params = pad_params();
  b.dtypes = float_dtypes();
  b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape o = padded_shape("_backward_Pad", a.attrs, a.in_shapes[1]);
    if (a.in_shapes[0] != o)
      fail(MX_ERR_SHAPE_MISMATCH, "_backward_Pad: out_grad is ", shape_str(a.in_shapes[0]), ", expected ", shape_str(o));
    out = {a.in_shapes[1]};
  };
  b.infer_type = first_type;
  b.gradient = no_gradient;
  r.add(std::move(b));
}

}  // namespace

void register_resample(Registry& r) {
  register_upsampling(r);
  register_pad(r);
}

}  // namespace mx::op
