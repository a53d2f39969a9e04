// The init family: _zeros, _ones, _full (shape and dtype from attrs), zeros_like, ones_like.
#include "base/dtype.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

void from_attrs_type(const InferArgs& a, std::vector<int32_t>& out) {
  int32_t t = a.attrs.dtype("dtype");
  out = {t < 0 ? MX_FLOAT32 : t};
}

void creation(Registry& r, const std::string& name, const std::string& doc, bool with_value) {
  OpSchema s;
  s.name = name;
  s.doc = doc;
  s.device_from_attrs = true;
  s.params = {param_shape("shape", "()", "shape of the output"),
              param_device("device of the output, e.g. cpu(0) or gpu(1) (default cpu(0))"),
              param_dtype("dtype", "float32", "element type of the output")};
  if (with_value)
    s.params.push_back(param_required(any_float(param_float("value", "", "value to fill with (inf and nan allowed)"))));
  s.infer_shape = shape_from_attrs;
  s.infer_type = from_attrs_type;
  s.gradient = no_gradient;  // no inputs
  r.add(std::move(s));
}

}  // namespace

void register_init(Registry& r) {
  creation(r, "_zeros", "An array of the given shape filled with 0.", false);
  creation(r, "_ones", "An array of the given shape filled with 1.", false);
  creation(r, "_full", "An array of the given shape filled with `value`.", true);

  for (const char* name : {"zeros_like", "ones_like"}) {
    OpSchema s;
    s.name = name;
    s.doc = std::string("An array of the input's shape and dtype filled with ") +
            (name[0] == 'z' ? "0." : "1.");
    s.inputs = {"data"};
    s.inplace = {{0, 0}};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
    s.infer_type = same_dtype;
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
}

}  // namespace mx::op
