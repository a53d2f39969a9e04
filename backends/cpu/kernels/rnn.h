// The RNN kernels' shared plan: dimensions, where each weight sits in MXNet's packed parameter
// vector, and the layout of the hidden reserve the forward fills for the backward
// (kernels/rnn.cc runs the forward, kernels/rnn_backward.cc backprop through time).
//
// Reserve, per layer l (in order), every block (T, N, ...) row-major:
//   per direction d: gates  (T, N, S*H)  activations: LSTM i,f,g,o; GRU r,z,n and W_hn h + b_hn;
//                                         rnn_* the output h (S = 4, 4, 1)
//                    hprev  (T, N, H)    the state entering each step
//                    cprev  (T, N, H)    LSTM: the cell entering each step
//                    tanhc  (T, N, H)    LSTM: tanh of the cell leaving each step
//   y     (T, N, D*H)  the layer's output (layers but the last; the last writes `out`)
//   mask  (T, N, D*H)  layers l >= 1 when p > 0: the dropout mask on layer l-1's output
//   xdrop (T, N, D*H)  ... and the dropped input itself
// core/op/defs/rnn.cc's reserve_size() counts the same elements.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "../cpu_backend.h"

namespace mxcpu::rnn {

enum Mode { kRelu, kTanh, kLstm, kGru };

struct Plan {
  Mode mode;
  int64_t L, D, H, G, S;  // layers, directions, hidden, gates, stored gate blocks
  int64_t T, N, I;
  double p;
  bool state_outputs, use_seq;
  bool clip, clip_nan;
  double clip_min, clip_max;
  int32_t dtype, seq_dtype;

  int64_t in_size(int64_t l) const { return l ? D * H : I; }
  bool has_dropout(int64_t l) const { return l > 0 && p > 0; }
  int64_t blocks_per_mask() const { return (T * N * D * H + 3) / 4; }
  // Offsets in the parameter vector of W_i2h (then W_h2h) and of b_i2h (then b_h2h) of (l, d).
  int64_t weight_offset(int64_t l, int64_t d) const {
    int64_t off = 0;
    for (int64_t k = 0; k < l; ++k) off += D * G * H * (in_size(k) + H);
    return off + d * G * H * (in_size(l) + H);
  }
  int64_t bias_offset(int64_t l, int64_t d) const { return weight_offset(L, 0) + (l * D + d) * 2 * G * H; }
  int64_t param_size() const { return bias_offset(L, 0); }
};

// Offsets (elements) of one layer's blocks in the reserve; -1 where absent.
struct LayerSlots {
  int64_t gates[2], hprev[2], cprev[2], tanhc[2];
  int64_t y, mask, xdrop;
};

inline std::vector<LayerSlots> reserve_layout(const Plan& p, int64_t* total) {
  const int64_t tn = p.T * p.N;
  std::vector<LayerSlots> slots(size_t(p.L));
  int64_t off = 0;
  auto take = [&](int64_t n) {
    const int64_t at = off;
    off += n;
    return at;
  };
  for (int64_t l = 0; l < p.L; ++l) {
    LayerSlots& s = slots[size_t(l)];
    for (int64_t d = 0; d < 2; ++d) s.gates[d] = s.hprev[d] = s.cprev[d] = s.tanhc[d] = -1;
    for (int64_t d = 0; d < p.D; ++d) {
      s.gates[d] = take(tn * p.S * p.H);
      s.hprev[d] = take(tn * p.H);
      if (p.mode == kLstm) {
        s.cprev[d] = take(tn * p.H);
        s.tanhc[d] = take(tn * p.H);
      }
    }
    s.y = l + 1 < p.L ? take(tn * p.D * p.H) : -1;
    s.mask = p.has_dropout(l) ? take(tn * p.D * p.H) : -1;
    s.xdrop = p.has_dropout(l) ? take(tn * p.D * p.H) : -1;
  }
  *total = off;
  return slots;
}

// Parses the attributes and the data shape; nullptr after reporting an error.
Plan* make_plan(const mx_kernel_args* args);

// Valid length of each sample (T where use_sequence_length is off), clamped to [0, T].
std::vector<int64_t> sequence_lengths(const Plan& p, const DLTensor* seq);

// Elementwise loops over the batch: parallel when a step has enough work.
inline int64_t min_rows_parallel(const Plan& p) {
  const int64_t per_row = p.H * p.G;
  return per_row >= 16384 ? 2 : (16384 + per_row - 1) / per_row;
}

template <typename T>
inline T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}
// tanh through one exp: glibc's tanhf goes through expm1f and took a third of the forward's time.
// The absolute error is a few ulp of 1 (relative error grows only where tanh(x) ~ x is tiny).
template <typename T>
inline T tanh_fast(T x) {
  return T(2) / (T(1) + std::exp(T(-2) * x)) - T(1);
}

}  // namespace mxcpu::rnn
