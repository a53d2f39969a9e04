// Conformance cases of the RNN: every mode, two layers, both directions, against a naive float64
// recurrence written here step by step and gate by gate from MXNet's definition (packed parameter
// vector: all weights — per layer, per direction: W_i2h (G*H, in), W_h2h (G*H, H) — then all
// biases — b_i2h (G*H), b_h2h (G*H); gates LSTM i,f,g,o; GRU r,z,n with
// n = tanh(W_in x + b_in + r * (W_hn h + b_hn))). Gradients (through _backward_RNN) against finite
// differences in float64.
#include <algorithm>
#include <cmath>
#include <string>

#include "harness.h"

namespace conformance {
namespace {

struct RnnSpec {
  std::string mode;
  int64_t L = 2, D = 2, T = 3, N = 2, I = 3, H = 4;
  bool state_outputs = false;
  Vec lengths = {};                   // use_sequence_length when not empty
  double clip_min = NAN, clip_max = NAN;  // LSTM cell clipping when given

  int64_t gates() const { return mode == "lstm" ? 4 : mode == "gru" ? 3 : 1; }
  int64_t in_size(int64_t l) const { return l ? D * H : I; }
  int64_t param_count() const {
    int64_t n = 0;
    for (int64_t l = 0; l < L; ++l) n += D * gates() * H * (in_size(l) + H + 2);
    return n;
  }
};

double sigm(double x) { return 1 / (1 + std::exp(-x)); }

// out (T, N, D*H), hy (L*D, N, H), cy (L*D, N, H) of the naive recurrence.
struct RnnResult {
  Vec out, hy, cy;
};

RnnResult naive_rnn(const RnnSpec& s, const std::vector<Vec>& in) {
  const Vec& x = in[0];
  const Vec& w = in[1];
  const Vec& h0 = in[2];
  const bool lstm = s.mode == "lstm";
  const Vec* c0 = lstm ? &in[3] : nullptr;
  const int64_t G = s.gates(), H = s.H, N = s.N, T = s.T;
  // Where each layer/direction's matrices and biases start, walking the packed vector.
  std::vector<int64_t> wx_at, wh_at, bx_at, bh_at;
  int64_t off = 0;
  for (int64_t l = 0; l < s.L; ++l)
    for (int64_t d = 0; d < s.D; ++d) {
      wx_at.push_back(off);
      off += G * H * s.in_size(l);
      wh_at.push_back(off);
      off += G * H * H;
    }
  for (int64_t k = 0; k < s.L * s.D; ++k) {
    bx_at.push_back(off);
    off += G * H;
    bh_at.push_back(off);
    off += G * H;
  }
  // W row r of gate block q applied to vector v: sum_k W[q*H + r][k] v[k].
  auto matvec = [&](int64_t at, int64_t cols, int64_t row, const double* v) {
    double acc = 0;
    for (int64_t k = 0; k < cols; ++k) acc += w[size_t(at + row * cols + k)] * v[k];
    return acc;
  };
  RnnResult r;
  r.hy.assign(size_t(s.L * s.D * N * H), 0);
  r.cy.assign(r.hy.size(), 0);
  Vec layer_in = x;
  for (int64_t l = 0; l < s.L; ++l) {
    const int64_t in = s.in_size(l);
    Vec layer_out(size_t(T * N * s.D * H), 0.0);
    for (int64_t d = 0; d < s.D; ++d) {
      const int64_t k = l * s.D + d;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t len = s.lengths.empty() ? T : std::min<int64_t>(T, int64_t(s.lengths[size_t(n)]));
        Vec h(h0.begin() + (k * N + n) * H, h0.begin() + (k * N + n + 1) * H), c(static_cast<size_t>(H), 0.0);
        if (lstm) c.assign(c0->begin() + (k * N + n) * H, c0->begin() + (k * N + n + 1) * H);
        for (int64_t step = 0; step < len; ++step) {
          const int64_t t = d == 0 ? step : len - 1 - step;  // reverse runs over the valid part only
          const double* xt = &layer_in[size_t((t * N + n) * in)];
          Vec hn(static_cast<size_t>(H)), cn(static_cast<size_t>(H));
          for (int64_t j = 0; j < H; ++j) {
            // pre-activation of gate q: W_i2h x + b_i2h + W_h2h h + b_h2h
            auto xpart = [&](int64_t q) { return matvec(wx_at[size_t(k)], in, q * H + j, xt) + w[size_t(bx_at[size_t(k)] + q * H + j)]; };
            auto hpart = [&](int64_t q) { return matvec(wh_at[size_t(k)], H, q * H + j, h.data()) + w[size_t(bh_at[size_t(k)] + q * H + j)]; };
            if (lstm) {
              const double ig = sigm(xpart(0) + hpart(0)), fg = sigm(xpart(1) + hpart(1));
              const double gg = std::tanh(xpart(2) + hpart(2)), og = sigm(xpart(3) + hpart(3));
              double cv = fg * c[size_t(j)] + ig * gg;
              if (!std::isnan(s.clip_min)) cv = std::min(std::max(cv, s.clip_min), s.clip_max);
              cn[size_t(j)] = cv;
              hn[size_t(j)] = og * std::tanh(cv);
            } else if (s.mode == "gru") {
              const double rg = sigm(xpart(0) + hpart(0)), zg = sigm(xpart(1) + hpart(1));
              const double ng = std::tanh(xpart(2) + rg * hpart(2));
              hn[size_t(j)] = (1 - zg) * ng + zg * h[size_t(j)];
            } else {
              const double pre = xpart(0) + hpart(0);
              hn[size_t(j)] = s.mode == "rnn_tanh" ? std::tanh(pre) : std::max(pre, 0.0);
            }
          }
          h = hn;
          if (lstm) c = cn;
          for (int64_t j = 0; j < H; ++j) layer_out[size_t((t * N + n) * s.D * H + d * H + j)] = h[size_t(j)];
        }
        for (int64_t j = 0; j < H; ++j) {
          r.hy[size_t((k * N + n) * H + j)] = h[size_t(j)];
          r.cy[size_t((k * N + n) * H + j)] = c[size_t(j)];
        }
      }
    }
    layer_in = layer_out;
  }
  r.out = layer_in;
  return r;
}

// The RNN case checking output `which` (0 out, 1 hy, 2 cy).
Case rnn_case(const RnnSpec& s, size_t which = 0) {
  std::vector<std::pair<std::string, std::string>> attrs{
      {"mode", s.mode}, {"state_size", std::to_string(s.H)}, {"num_layers", std::to_string(s.L)},
      {"bidirectional", s.D == 2 ? "True" : "False"}};
  if (s.state_outputs) attrs.push_back({"state_outputs", "True"});
  if (!s.lengths.empty()) attrs.push_back({"use_sequence_length", "True"});
  if (!std::isnan(s.clip_min)) {
    attrs.push_back({"lstm_state_clip_min", std::to_string(s.clip_min)});
    attrs.push_back({"lstm_state_clip_max", std::to_string(s.clip_max)});
  }
  const Shape state{s.L * s.D, s.N, s.H};
  std::vector<InputSpec> inputs{{{s.T, s.N, s.I}, -1, 1}, {{s.param_count()}, -0.6, 0.6}, {state, -1, 1}};
  if (s.mode == "lstm") inputs.push_back({state, -1, 1});
  std::vector<size_t> no_fd;
  if (!s.lengths.empty()) {
    no_fd.push_back(inputs.size());
    inputs.push_back({{s.N}, 0, 0, false, s.lengths});
  }
  Case c{"RNN", attrs, inputs, [s, which](const std::vector<Vec>& in) {
           RnnResult r = naive_rnn(s, in);
           return which == 0 ? r.out : which == 1 ? r.hy : r.cy;
         }};
  c.no_fd = no_fd;
  c.output = which;
  return c;
}

RnnSpec spec(const std::string& mode) {
  RnnSpec s;
  s.mode = mode;
  return s;
}

}  // namespace

Family rnn_family() {
  Family f;
  for (const char* mode : {"rnn_relu", "rnn_tanh", "lstm", "gru"}) f.cases.push_back(rnn_case(spec(mode)));
  // Final states (and their gradients flowing back through dhy / dcy).
  RnnSpec lstm_states = spec("lstm");
  lstm_states.state_outputs = true;
  f.cases.push_back(rnn_case(lstm_states, 1));
  f.cases.push_back(rnn_case(lstm_states, 2));
  RnnSpec gru_states = spec("gru");
  gru_states.state_outputs = true;
  f.cases.push_back(rnn_case(gru_states, 1));
  // One layer, one direction, a longer sequence.
  RnnSpec single = spec("lstm");
  single.L = 1;
  single.D = 1;
  single.T = 5;
  f.cases.push_back(rnn_case(single));
  // Per-sample lengths: padded steps output 0, the reverse direction starts at each sample's end.
  RnnSpec lengths = spec("lstm");
  lengths.state_outputs = true;
  lengths.N = 3;
  lengths.lengths = {3, 1, 2};
  f.cases.push_back(rnn_case(lengths, 0));
  f.cases.push_back(rnn_case(lengths, 1));
  RnnSpec gru_lengths = spec("gru");
  gru_lengths.lengths = {2, 3};
  f.cases.push_back(rnn_case(gru_lengths, 0));
  // LSTM cell clipping (the gradient stops where the clip binds).
  RnnSpec clipped = spec("lstm");
  clipped.state_outputs = true;
  clipped.clip_min = -0.3;
  clipped.clip_max = 0.35;
  f.cases.push_back(rnn_case(clipped, 2));
  f.cases.push_back(rnn_case(clipped, 0));
  f.gradient_only.push_back(GradientOf{"_backward_RNN", "RNN", nullptr});
  return f;
}

}  // namespace conformance
