// The sequence family: SequenceLast SequenceMask SequenceReverse (and _backward_SequenceLast).
//
// Data is (T, N, ...) with the sequence on axis 0, or (N, T, ...) with axis=1 (SequenceLast,
// SequenceMask); with use_sequence_length the second input holds each sample's length (N,),
// otherwise every sequence has length T. Lengths outside [0, T] are clamped into it.
#include <algorithm>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

using AttrList = std::vector<std::pair<std::string, std::string>>;

std::vector<ParamSpec> sequence_params(bool with_value, int64_t max_axis) {
  std::vector<ParamSpec> p = {
      param_bool("use_sequence_length", "False", "take each sample's length from sequence_length"),
      with_range(param_int("axis", "0", "the sequence axis (the batch axis is the other of 0 and 1)"), 0, double(max_axis))};
  if (with_value) p.push_back(any_float(param_float("value", "0", "what the steps past each length become")));
  return p;
}

size_t sequence_inputs(const Attrs& a) { return a.b("use_sequence_length") ? 2 : 1; }

// Checks data (2+ dims) and sequence_length ((batch,)); returns the sequence axis.
size_t check_sequence(const InferArgs& a) {
  const Shape& d = a.in_shapes[0];
  const size_t axis = size_t(a.attrs.i("axis"));
  if (d.size() < 2)
    fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": data ", shape_str(d), " must have 2+ dims (sequence and batch axes)");
  if (a.in_shapes.size() > 1 && a.in_shapes.back() != Shape{d[1 - axis]})
    fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": sequence_length is ", shape_str(a.in_shapes.back()), " but data ",
         shape_str(d), " has a batch of ", d[1 - axis], " on axis ", 1 - axis);
  return axis;
}

void sequence_types(const InferArgs& a, std::vector<int32_t>& out) {
  const auto& floats = float_dtypes();
  if (std::find(floats.begin(), floats.end(), a.in_dtypes[0]) == floats.end())
    fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": data must be a floating-point array, got ", dtype_info(a.in_dtypes[0]).name);
  if (a.in_dtypes.size() > 1 && a.in_dtypes.back() == MX_BOOL)
    fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": sequence_length must be numeric, got bool");
  out = {a.in_dtypes[0]};
}

OpSchema sequence_schema(const char* name, const char* doc, bool with_value, int64_t max_axis) {
  OpSchema s;
  s.name = name;
  s.doc = doc;
  s.inputs = {"data", "sequence_length"};
  s.params = sequence_params(with_value, max_axis);
  s.num_inputs = sequence_inputs;
  s.infer_type = sequence_types;
  s.infer_input_shapes = [](const Attrs& a, std::vector<std::optional<Shape>>& in) {
    if (in.size() > 1 && in[0] && in[0]->size() >= 2 && !in[1]) in[1] = Shape{(*in[0])[1 - size_t(a.i("axis"))]};
  };
  return s;
}

// The op again on the gradient, with the same lengths.
std::vector<GradValue> same_op_on_gradient(const GradArgs& a, const char* op, AttrList attrs) {
  std::vector<GradValue> in = {a.out_grads[0]};
  if (a.inputs.size() > 1) in.push_back(a.inputs[1]);
  std::vector<GradValue> g = {a.g.call(op, in, std::move(attrs))};
  if (a.inputs.size() > 1) g.push_back(kNoGrad);
  return g;
}

void register_sequence_ops(Registry& r) {
  OpSchema last = sequence_schema("SequenceLast", "The last valid step of each sequence: data[length - 1] per sample.",
                                  false, 1);
  last.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const size_t axis = check_sequence(a);
    if (a.in_shapes[0][axis] == 0)
      fail(MX_ERR_SHAPE_MISMATCH, "SequenceLast: data ", shape_str(a.in_shapes[0]), " has no steps on axis ", axis);
    Shape o;
    for (size_t i = 0; i < a.in_shapes[0].size(); ++i)
      if (i != axis) o.push_back(a.in_shapes[0][i]);
    out = {o};
  };
  last.gradient = [](const GradArgs& a) {
    std::vector<GradValue> in = {a.out_grads[0], a.inputs[0]};
    if (a.inputs.size() > 1) in.push_back(a.inputs[1]);
    std::vector<GradValue> g = {a.g.call("_backward_SequenceLast", in, AttrList(a.attrs.kv.begin(), a.attrs.kv.end()))};
    if (a.inputs.size() > 1) g.push_back(kNoGrad);
    return g;
  };
  r.add(std::move(last));

  OpSchema mask = sequence_schema("SequenceMask", "Sets the steps of each sequence past its length to value.", true, 1);
  mask.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    check_sequence(a);
    out = {a.in_shapes[0]};
  };
  mask.gradient = [](const GradArgs& a) {
    return same_op_on_gradient(a, "SequenceMask", {{"use_sequence_length", a.attrs.str("use_sequence_length")},
                                                   {"axis", a.attrs.str("axis")}, {"value", "0"}});
  };
  r.add(std::move(mask));

  OpSchema rev = sequence_schema("SequenceReverse",
                                 "Reverses the first length steps of each sequence; the steps past it stay in place.",
                                 false, 0);
  rev.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    check_sequence(a);
    out = {a.in_shapes[0]};
  };
  rev.gradient = [](const GradArgs& a) {
    return same_op_on_gradient(a, "SequenceReverse", AttrList(a.attrs.kv.begin(), a.attrs.kv.end()));
  };
  r.add(std::move(rev));

  OpSchema b;
  b.name = "_backward_SequenceLast";
  b.doc = "Gradient of SequenceLast: out_grad placed at each sample's last valid step of a zero array shaped as data.";
  b.inputs = {"out_grad", "data", "sequence_length"};
  b.params = sequence_params(false, 1);
  b.num_inputs = [](const Attrs& a) -> size_t { return sequence_inputs(a) + 1; };
  b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[1]}; };
  b.infer_type = first_type;
  b.gradient = no_gradient;
  r.add(std::move(b));
}

}  // namespace

void register_sequence(Registry& r) { register_sequence_ops(r); }

}  // namespace mx::op
