// The loss family: SoftmaxActivation LinearRegressionOutput LogisticRegressionOutput MAERegressionOutput
// SVMOutput MakeLoss make_loss.
//
// The *Output layers and MakeLoss are loss layers, as SoftmaxOutput (nn.cc): their forward passes the
// prediction on, and their backward is MXNet's loss gradient whatever gradient flows in — by
// definition not the derivative of the forward.
#include <cmath>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

using AttrList = std::vector<std::pair<std::string, std::string>>;

AttrList attr_list(const Attrs& a) { return AttrList(a.kv.begin(), a.kv.end()); }

// ---------------------------------------------------------------- SoftmaxActivation

void register_softmax_activation(Registry& r) {
  OpSchema s;
  s.name = "SoftmaxActivation";
  s.doc = "Softmax over each sample's elements (mode instance: all axes but 0) or over the channels at each "
          "position (mode channel: axis 1).";
  s.inputs = {"data"};
  s.params = {{"mode", ParamType::kEnum, "instance", false, -1e308, 1e308, {"instance", "channel"},
               "normalise each sample, or the channels at each position"}};
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    if (d.size() < (a.attrs.str("mode") == "channel" ? 2u : 1u))
      fail(MX_ERR_SHAPE_MISMATCH, "SoftmaxActivation: mode ", a.attrs.str("mode"), " needs data of ",
           a.attrs.str("mode") == "channel" ? 2 : 1, "+ dims, got ", shape_str(d));
    out = {d};
  };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {  // y * (og - sum(og * y)) over the normalised axes
    Grad d{a.g};
    const GradValue y = a.outputs[0], og = a.out_grads[0];
    const AttrList red = a.attrs.str("mode") == "channel"
                             ? AttrList{{"axis", "(1,)"}, {"keepdims", "True"}}
                             : AttrList{{"axis", "(0,)"}, {"exclude", "True"}, {"keepdims", "True"}};
    const GradValue dot = d.op("broadcast_like", {d.op("sum", {d.mul(og, y)}, red), y});
    return std::vector<GradValue>{d.mul(y, d.op("elemwise_sub", {og, dot}))};
  };
  r.add(std::move(s));
}

// ---------------------------------------------------------------- regression outputs

// label: the data's shape, or any shape of the data's size with the data's batch size ((N,) for
// data (N, 1)).
void check_label(const std::string& op, const Shape& d, const Shape& l) {
  if (d.empty() || l.empty() || l[0] != d[0] || shape_size(l) != shape_size(d))
    fail(MX_ERR_SHAPE_MISMATCH, op, ": label ", shape_str(l), " does not match data ", shape_str(d),
         " (same size and batch size expected)");
}

void register_regression(Registry& r, const char* name, const char* doc, const char* kind) {
  OpSchema s;
  s.name = name;
  s.doc = doc;
  s.inputs = {"data", "label"};
  s.params = {param_float("grad_scale", "1", "scales the gradient")};
  s.dtypes = float_dtypes();
  s.infer_input_shapes = [](const Attrs&, std::vector<std::optional<Shape>>& in) {
    if (in[0] && !in[1]) in[1] = *in[0];
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    check_label(a.op.name, a.in_shapes[0], a.in_shapes[1]);
    out = {a.in_shapes[0]};
  };
  s.infer_type = first_type;
  const std::string k = kind;
  // grad_scale / (outputs per sample) * (out - label), or its sign (MAE); the label gets none.
  s.gradient = [k](const GradArgs& a) {
    Grad d{a.g};
    const Shape& ls = a.in_shapes[1];
    const double per_sample = double(shape_size(ls)) / double(ls[0]);
    const GradValue label = reshape_to(d, a.g.call("_cast_like", {a.inputs[1], a.outputs[0]}), a.in_shapes[0]);
    GradValue diff = d.op("elemwise_sub", {a.outputs[0], label});
    if (k == "mae") diff = d.op("sign", {diff});
    return std::vector<GradValue>{d.scalar("_mul_scalar", diff, a.attrs.f("grad_scale") / per_sample), kNoGrad};
  };
  r.add(std::move(s));
}

// ---------------------------------------------------------------- SVMOutput

std::vector<ParamSpec> svm_params() {
  return {param_float("margin", "1", "outputs inside this margin are penalised"),
          param_float("regularization_coefficient", "1", "scales the gradient"),
          param_bool("use_linear", "False", "L1-SVM (hinge) instead of L2-SVM (squared hinge)")};
}

void svm_shapes(const std::string& op, const Shape& d, const Shape& l) {
  if (d.size() < 2 || l != Shape{d[0]})
    fail(MX_ERR_SHAPE_MISMATCH, op, ": data ", shape_str(d), " and label ", shape_str(l),
         " must be (N, classes...) and (N,)");
}

void register_svm_output(Registry& r) {
  OpSchema s;
  s.name = "SVMOutput";
  s.doc = "Passes the scores on; as a loss layer its gradient is the one-vs-all L2-SVM (or L1-SVM with use_linear) "
          "gradient for the labelled class, whatever the gradient flowing in.";
  s.inputs = {"data", "label"};
  s.params = svm_params();
  s.dtypes = float_dtypes();
  s.infer_input_shapes = [](const Attrs&, std::vector<std::optional<Shape>>& in) {
    if (in[0] && !in[0]->empty() && !in[1]) in[1] = Shape{(*in[0])[0]};
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    svm_shapes("SVMOutput", a.in_shapes[0], a.in_shapes[1]);
    out = {a.in_shapes[0]};
  };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{a.g.call("_backward_SVMOutput", {a.outputs[0], a.inputs[1]}, attr_list(a.attrs)), kNoGrad};
  };
  r.add(std::move(s));

  OpSchema g;
  g.name = "_backward_SVMOutput";
  g.doc = "Gradient of SVMOutput from its output (the scores) and label.";
  g.inputs = {"out", "label"};
  g.params = svm_params();
  g.dtypes = float_dtypes();
  g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    svm_shapes("_backward_SVMOutput", a.in_shapes[0], a.in_shapes[1]);
    out = {a.in_shapes[0]};
  };
  g.infer_type = first_type;
  g.gradient = no_gradient;
  r.add(std::move(g));
}

// ---------------------------------------------------------------- MakeLoss, make_loss

void register_make_loss(Registry& r) {
  OpSchema s;
  s.name = "MakeLoss";
  s.doc = "Marks its input as a loss: passes it on, and its gradient is grad_scale (divided by the batch size, or by "
          "the number of elements above valid_thresh) whatever the gradient flowing in.";
  s.inputs = {"data"};
  s.params = {param_float("grad_scale", "1", "the gradient"),
              param_float("valid_thresh", "0", "elements above it count as valid (normalization=valid)"),
              {"normalization", ParamType::kEnum, "null", false, -1e308, 1e308, {"null", "batch", "valid"},
               "divide the gradient by nothing, the batch size, or the number of valid elements (at least 1)"}};
  s.dtypes = float_dtypes();
  s.inplace = {{0, 0}};
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.attrs.str("normalization") == "batch" && a.in_shapes[0].empty())
      fail(MX_ERR_SHAPE_MISMATCH, "MakeLoss: normalization=batch needs data with a batch axis, got ", shape_str(a.in_shapes[0]));
    out = {a.in_shapes[0]};
  };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const Shape& ds = a.in_shapes[0];
    const std::string& norm = a.attrs.str("normalization");
    double scale = a.attrs.f("grad_scale");
    if (norm == "batch") scale /= double(ds[0]);
    const GradValue g = d.scalar("_mul_scalar", d.op("ones_like", {a.outputs[0]}), scale);
    if (norm != "valid") return std::vector<GradValue>{g};
    // divided by max(1, count(out > valid_thresh))
    const GradValue above = d.scalar("_greater_scalar", a.outputs[0], a.attrs.f("valid_thresh"));
    const GradValue count = d.scalar("_maximum_scalar", d.op("sum", {above}), 1);
    Shape ones;
    for (size_t i = 0; i < ds.size(); ++i) ones.push_back(1);
    return std::vector<GradValue>{d.op("broadcast_div", {g, reshape_to(d, count, ones)})};
  };
  r.add(std::move(s));

  OpSchema m;
  m.name = "make_loss";
  m.doc = "Marks its input as a loss: passes it on, and its gradient is 1 whatever the gradient flowing in.";
  m.inputs = {"data"};
  m.dtypes = float_dtypes();
  m.inplace = {{0, 0}};
  m.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
  m.infer_type = first_type;
  m.gradient = [](const GradArgs& a) { return std::vector<GradValue>{Grad{a.g}.op("ones_like", {a.inputs[0]})}; };
  r.add(std::move(m));
}

}  // namespace

void register_loss(Registry& r) {
  register_softmax_activation(r);
  register_regression(r, "LinearRegressionOutput",
                      "Passes data on; as a loss layer its gradient is grad_scale / (outputs per sample) * "
                      "(out - label), whatever the gradient flowing in.",
                      "linear");
  register_regression(r, "LogisticRegressionOutput",
                      "sigmoid(data); as a loss layer its gradient is grad_scale / (outputs per sample) * "
                      "(out - label), whatever the gradient flowing in.",
                      "logistic");
  register_regression(r, "MAERegressionOutput",
                      "Passes data on; as a loss layer its gradient is grad_scale / (outputs per sample) * "
                      "sign(out - label), whatever the gradient flowing in.",
                      "mae");
  register_svm_output(r);
  register_make_loss(r);
}

}  // namespace mx::op
