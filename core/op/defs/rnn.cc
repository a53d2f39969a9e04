// The rnn family: RNN (LSTM, GRU, rnn_relu, rnn_tanh), MXNet's fused multi-layer recurrent op, and
// its gradient-only op _backward_RNN (backprop through time in one kernel).
//
// Layout (MXNet's, which is cuDNN's): data (T, N, I) [TNC]; the parameter vector holds every weight
// first — per layer, per direction: W_i2h (G*H, in), W_h2h (G*H, H) — then every bias — per layer,
// per direction: b_i2h (G*H), b_h2h (G*H); gates in the order LSTM i,f,g,o; GRU r,z,n. state (and
// state_cell for LSTM) are (L*D, N, H).
//
// The forward's last output is hidden: a reserve of what backprop needs (gate activations, the
// state before each step, the inner layers' outputs, the dropout masks). Its size is
// reserve_size() below; backends/cpu/kernels/rnn.cc lays it out with the same formula.
#include <cmath>
#include <cstdlib>
#include <string>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

struct RnnDims {
  int64_t L, D, H, G;  // layers, directions, hidden size, gates
  bool lstm, gru;
};

RnnDims dims_of(const Attrs& a) {
  const std::string& mode = a.str("mode");
  RnnDims d{a.i("num_layers"), a.b("bidirectional") ? 2 : 1, a.i("state_size"), 1, mode == "lstm", mode == "gru"};
  d.G = d.lstm ? 4 : d.gru ? 3 : 1;
  return d;
}

// Elements of the packed parameter vector for input size I.
int64_t param_size(const RnnDims& d, int64_t I) {
  int64_t n = 0;
  for (int64_t l = 0; l < d.L; ++l) {
    const int64_t in = l ? d.D * d.H : I;
    n += d.D * (d.G * d.H * (in + d.H) + 2 * d.G * d.H);
  }
  return n;
}

// Elements of the hidden reserve (see the layout in backends/cpu/kernels/rnn.cc).
int64_t reserve_size(const RnnDims& d, double p, int64_t T, int64_t N) {
  const int64_t tn = T * N, stored_gates = d.lstm || d.gru ? 4 : 1;
  int64_t per_dir = tn * stored_gates * d.H + tn * d.H;  // gates, state before each step
  if (d.lstm) per_dir += 2 * tn * d.H;                   // cell before each step, tanh(cell after)
  int64_t n = 0;
  for (int64_t l = 0; l < d.L; ++l) {
    n += d.D * per_dir;
    if (l + 1 < d.L) n += tn * d.D * d.H;        // the layer's output
    if (l > 0 && p > 0) n += 2 * tn * d.D * d.H;  // dropout mask and the dropped input
  }
  return n;
}

size_t forward_inputs(const Attrs& a) {
  return 3 + (a.str("mode") == "lstm" ? 1 : 0) + (a.b("use_sequence_length") ? 1 : 0);
}

int visible_outputs_of(const Attrs& a) {
  if (!a.b("state_outputs")) return 1;
  return a.str("mode") == "lstm" ? 3 : 2;
}

std::vector<ParamSpec> rnn_params() {
  ParamSpec p = param_float("p", "0", "dropout probability on the outputs of every layer but the last (training only)");
  p.min = 0;
  p.max = 1;
  return {param_required(with_range(param_int("state_size", "", "hidden size H"), 1, double(kMaxExtent))),
          param_required(with_range(param_int("num_layers", "", "stacked layers L"), 1, 1 << 16)),
          param_bool("bidirectional", "False", "run a second, time-reversed direction per layer"),
          {"mode", ParamType::kEnum, "", true, -1e308, 1e308, {"rnn_relu", "rnn_tanh", "lstm", "gru"}, "the cell"},
          p,
          param_bool("state_outputs", "False", "also return the final states hy (and cy for LSTM)"),
          param_string("projection_size", "None", "LSTMP projection size (not supported: must be None)"),
          param_string("lstm_state_clip_min", "None", "clip the LSTM cell state from below (None: no clip)"),
          param_string("lstm_state_clip_max", "None", "clip the LSTM cell state from above (None: no clip)"),
          param_bool("lstm_state_clip_nan", "False", "replace a NaN cell state by the clip bound"),
          param_bool("use_sequence_length", "False", "take per-sample valid lengths (N,) as the last input"),
          param_bool("cudnn_off", "False", "accepted for compatibility")};
}

// A clip bound: NaN for None; anything else must be a finite number.
double clip_bound(const InferArgs& a, const char* name) {
  const std::string& v = a.attrs.str(name);
  if (v == "None") return NAN;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x))
    fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": ", name, " must be None or a finite number, got '", v, "'");
  return x;
}

// float32 / float64 compute (16-bit floats are promoted to float32 by the core, the reserve then
// stored 16-bit); the integer types are for sequence_length only (check_types).
std::vector<int32_t> rnn_dtypes() { return {MX_FLOAT32, MX_FLOAT64, MX_INT32, MX_INT64, MX_UINT8, MX_INT8}; }

// The shapes every RNN input must have, checked against data (T, N, I); names op and shapes.
void check_inputs(const InferArgs& a, const RnnDims& d) {
  const std::string& op = a.op.name;
  const Shape& x = a.in_shapes[0];
  if (x.size() != 3) fail(MX_ERR_SHAPE_MISMATCH, op, ": data must be (T, N, I) [TNC], got ", shape_str(x));
  if (!a.attrs.is_none("projection_size"))
    fail(MX_ERR_UNSUPPORTED, op, ": projection_size (LSTMP) is not supported");
  const double cmin = clip_bound(a, "lstm_state_clip_min"), cmax = clip_bound(a, "lstm_state_clip_max");
  if (!std::isnan(cmin) || !std::isnan(cmax)) {
    if (!d.lstm) fail(MX_ERR_INVALID_ARGUMENT, op, ": lstm_state_clip_min/max apply to mode='lstm' only");
    if (std::isnan(cmin) || std::isnan(cmax) || !(cmin <= cmax))
      fail(MX_ERR_INVALID_ARGUMENT, op, ": lstm_state_clip_min (", cmin, ") and lstm_state_clip_max (", cmax,
           ") must both be given, min <= max");
  }
  const int64_t want = param_size(d, x[2]);
  if (a.in_shapes[1] != Shape{want})
    fail(MX_ERR_SHAPE_MISMATCH, op, ": parameters is ", shape_str(a.in_shapes[1]), " but data ", shape_str(x),
         " with mode=", a.attrs.str("mode"), " state_size=", d.H, " num_layers=", d.L, " bidirectional=",
         d.D == 2 ? "True" : "False", " needs (", want, ",)");
  const Shape st{d.L * d.D, x[1], d.H};
  if (a.in_shapes[2] != st)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": state is ", shape_str(a.in_shapes[2]), " but data ", shape_str(x), " needs ",
         shape_str(st));
  size_t next = 3;
  if (d.lstm) {
    if (a.in_shapes[3] != st)
      fail(MX_ERR_SHAPE_MISMATCH, op, ": state_cell is ", shape_str(a.in_shapes[3]), " but data ", shape_str(x),
           " needs ", shape_str(st));
    next = 4;
  }
  if (a.attrs.b("use_sequence_length") && a.in_shapes[next] != Shape{x[1]})
    fail(MX_ERR_SHAPE_MISMATCH, op, ": sequence_length is ", shape_str(a.in_shapes[next]), " but data ", shape_str(x),
         " needs (", x[1], ",)");
}

// data, parameters and the states share one float dtype; sequence_length may be any numeric type.
void check_types(const InferArgs& a, const RnnDims& d) {
  const size_t n_same = 3 + (d.lstm ? 1 : 0);
  for (size_t i = 0; i < n_same; ++i) {
    const int32_t t = a.in_dtypes[i];
    if (t != MX_FLOAT32 && t != MX_FLOAT64 && t != MX_FLOAT16 && t != MX_BFLOAT16)
      fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": ", a.op.inputs[i], " is ", dtype_info(t).name,
           "; RNN takes floating-point data");
    if (t != a.in_dtypes[0])
      fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": ", a.op.inputs[i], " is ", dtype_info(t).name, " but data is ",
           dtype_info(a.in_dtypes[0]).name);
  }
}

void register_rnn_forward(Registry& r) {
  OpSchema s;
  s.name = "RNN";
  s.doc = "Fused multi-layer (optionally bidirectional) recurrent network over a whole sequence: rnn_relu, "
          "rnn_tanh, lstm or gru, with MXNet's packed parameter vector (all weights, then all biases). Outputs out "
          "(T, N, D*H), and hy (and cy) when state_outputs. Dropout p between layers in training.";
  s.inputs = {"data", "parameters", "state", "state_cell", "sequence_length"};
  s.params = rnn_params();
  s.dtypes = rnn_dtypes();
  s.num_inputs = forward_inputs;
  s.output_count = [](const Attrs& a) { return visible_outputs_of(a) + 1; };
  s.visible_output_count = visible_outputs_of;
  s.infer_input_shapes = [](const Attrs& a, std::vector<std::optional<Shape>>& in) {
    if (!in[0] || in[0]->size() != 3) return;
    const RnnDims d = dims_of(a);
    const Shape& x = *in[0];
    if (!in[1]) in[1] = Shape{param_size(d, x[2])};
    for (size_t i = 2; i < in.size() && i < (d.lstm ? 4u : 3u); ++i)
      if (!in[i]) in[i] = Shape{d.L * d.D, x[1], d.H};
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const RnnDims d = dims_of(a.attrs);
    check_inputs(a, d);
    const Shape& x = a.in_shapes[0];
    // The core skips a call with an empty output, which would leave hy / cy unwritten.
    if (x[0] == 0 && x[1] > 0) fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": data ", shape_str(x), " has no time steps");
    out = {Shape{x[0], x[1], d.D * d.H}};
    const Shape st{d.L * d.D, x[1], d.H};
    for (int i = 1; i < visible_outputs_of(a.attrs); ++i) out.push_back(st);
    out.push_back(Shape{reserve_size(d, a.attrs.f("p"), x[0], x[1])});
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    check_types(a, dims_of(a.attrs));
    out.assign(size_t(visible_outputs_of(a.attrs) + 1), a.in_dtypes[0]);
  };
  s.random_blocks = [](const Attrs& a, const std::vector<Shape>& out) -> uint64_t {
    const RnnDims d = dims_of(a);
    if (a.f("p") <= 0 || d.L < 2) return 0;
    return uint64_t(d.L - 1) * ((uint64_t(shape_size(out[0])) + 3) / 4);  // one mask per inner layer
  };
  s.gradient = [](const GradArgs& a) {
    const int vis = visible_outputs_of(a.attrs);
    std::vector<GradValue> in(a.inputs.begin(), a.inputs.end());
    in.push_back(a.outputs.back());  // the reserve
    for (int i = 0; i < vis; ++i) in.push_back(a.out_grads[size_t(i)]);
    std::vector<std::pair<std::string, std::string>> attrs(a.attrs.kv.begin(), a.attrs.kv.end());
    std::vector<GradValue> g = a.g.call_all("_backward_RNN", in, attrs);
    if (a.attrs.b("use_sequence_length")) g.push_back(kNoGrad);  // lengths are not differentiable
    return g;
  };
  r.add(std::move(s));
}

void register_rnn_backward(Registry& r) {
  OpSchema s;
  s.name = "_backward_RNN";
  s.doc = "Gradient of RNN (backprop through time): from the forward's inputs, its reserve and the gradients of "
          "its visible outputs, the gradients of data, parameters, state (and state_cell).";
  s.inputs = {"data", "parameters", "state", "state_cell", "sequence_length", "reserve", "dout", "dhy", "dcy"};
  s.params = rnn_params();
  s.dtypes = rnn_dtypes();
  s.num_inputs = [](const Attrs& a) { return forward_inputs(a) + 1 + size_t(visible_outputs_of(a)); };
  s.output_count = [](const Attrs& a) { return a.str("mode") == "lstm" ? 4 : 3; };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const RnnDims d = dims_of(a.attrs);
    check_inputs(a, d);
    const Shape& x = a.in_shapes[0];
    const size_t nf = forward_inputs(a.attrs);
    const Shape want_reserve{reserve_size(d, a.attrs.f("p"), x[0], x[1])};
    if (a.in_shapes[nf] != want_reserve)
      fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": reserve is ", shape_str(a.in_shapes[nf]), ", expected ",
           shape_str(want_reserve));
    const Shape y{x[0], x[1], d.D * d.H}, st{d.L * d.D, x[1], d.H};
    for (size_t i = nf + 1; i < a.in_shapes.size(); ++i)
      if (a.in_shapes[i] != (i == nf + 1 ? y : st))
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": output gradient ", i - nf - 1, " is ", shape_str(a.in_shapes[i]),
             ", expected ", shape_str(i == nf + 1 ? y : st));
    out = {x, a.in_shapes[1], st};
    if (d.lstm) out.push_back(st);
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    check_types(a, dims_of(a.attrs));
    out.assign(a.attrs.str("mode") == "lstm" ? 4 : 3, a.in_dtypes[0]);
  };
  s.gradient = no_gradient;
  r.add(std::move(s));
}

}  // namespace

void register_rnn(Registry& r) {
  register_rnn_forward(r);
  register_rnn_backward(r);
}

}  // namespace mx::op
