// The ctc family: CTCLoss (MXNet's name; aliases ctc_loss, _contrib_ctc_loss, _contrib_CTCLoss).
// The kernel computes the loss and its gradient with respect to data in one pass (the alpha-beta
// recursion in log space) and keeps the gradient as a hidden second output, as MXNet does; the
// op's gradient scales it by the incoming per-sample gradient.
#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {

void register_ctc(Registry& r) {
  OpSchema s;
  s.name = "CTCLoss";
  s.aliases = {"ctc_loss", "_contrib_ctc_loss", "_contrib_CTCLoss"};
  s.doc = "Connectionist Temporal Classification loss per sample: -log p(label | data) with data (T, N, C) "
          "unnormalized activations (softmax over C is applied inside), label (N, L). blank_label 'first': the blank "
          "is class 0, labels are 1 .. C-1 and 0 pads; 'last': the blank is class C-1, labels 0 .. C-2 and -1 pads. "
          "With use_data_lengths / use_label_lengths the lengths come from the extra inputs (in that order).";
  // With only use_label_lengths, the third input is label_lengths (the names follow the full form).
  s.inputs = {"data", "label", "data_lengths", "label_lengths"};
  s.params = {param_bool("use_data_lengths", "False", "read each sample's time length from data_lengths"),
              param_bool("use_label_lengths", "False", "read each sample's label length from label_lengths"),
              {"blank_label", ParamType::kEnum, "first", false, -1e308, 1e308, {"first", "last"},
               "which class is the blank: 0 ('first') or C-1 ('last')"}};
  s.num_inputs = [](const Attrs& a) { return size_t(2 + a.b("use_data_lengths") + a.b("use_label_lengths")); };
  s.num_outputs = 2;  // loss (N,), and d loss / d data (T, N, C) for the gradient
  s.num_visible_outputs = 1;
  // float16 / bfloat16 data are computed in float32 (promotion); labels and lengths may be integers.
  s.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_INT32, MX_INT64, MX_INT8, MX_UINT8};
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape &d = a.in_shapes[0], &l = a.in_shapes[1];
    if (d.size() != 3 || d[2] < 1)
      fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": data must be (sequence_length, batch, alphabet_size), got ", shape_str(d));
    if (l.size() != 2 || l[0] != d[1])
      fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": label must be (batch, max_label_length) with batch ", d[1], ", got ",
           shape_str(l));
    for (size_t i = 2; i < a.in_shapes.size(); ++i)
      if (a.in_shapes[i] != Shape{d[1]})
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": input ", i, " (lengths) is ", shape_str(a.in_shapes[i]), ", expected (",
             d[1], ",)");
    // The core skips a call with an empty output, which would leave the loss unwritten.
    if (d[0] == 0 && d[1] > 0) fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": data ", shape_str(d), " has no time steps");
    out = {Shape{d[1]}, d};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    const int32_t dt = a.in_dtypes[0];
    if (dt != MX_FLOAT32 && dt != MX_FLOAT64 && dt != MX_FLOAT16 && dt != MX_BFLOAT16)
      fail(MX_ERR_UNSUPPORTED, a.op.name, ": data must be a floating dtype, got ", dtype_info(dt).name);
    out = {dt, dt};
  };
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const int64_t n = a.in_shapes[0][1];
    const GradValue scale = reshape_to(d, a.out_grads[0], Shape{1, n, 1});
    std::vector<GradValue> g(a.inputs.size(), kNoGrad);
    g[0] = d.op("broadcast_mul", {a.outputs[1], scale});
    return g;
  };
  r.add(std::move(s));
}

}  // namespace mx::op
