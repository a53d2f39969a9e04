#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

// The shape param is where the output's size enters: checked here with the element size too,
// so that an impossible request is reported as this op's, before allocation.
void from_attrs_shape(const InferArgs& a, std::vector<Shape>& out) {
  Shape s = a.attrs.shape("shape");
  const int32_t t = a.attrs.dtype("dtype");
  const uint64_t eb = dtype_info(t < 0 ? MX_FLOAT32 : t).bytes;
  if (!shape_ok(s, eb)) check_shape(s, a.op.name, eb);
  out = {std::move(s)};
}
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
  s.infer_shape = from_attrs_shape;
  s.infer_type = from_attrs_type;
  s.gradient = no_gradient;  // no inputs
  r.add(std::move(s));
}

}  // namespace

void register_init(Registry& r) {
  creation(r, "_zeros", "An array of the given shape filled with 0.", false);
  creation(r, "_ones", "An array of the given shape filled with 1.", false);
  creation(r, "_full", "An array of the given shape filled with `value`.", true);
}

}  // namespace mx::op
