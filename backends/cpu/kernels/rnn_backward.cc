// _backward_RNN on the CPU: backprop through time over the reserve the forward filled (rnn.h).
// Per layer (last first) and direction: a reverse sweep over the steps turns the state gradient
// into gate gradients (fused elementwise pass + one GEMM against W_h2h per step); then whole-
// sequence GEMMs give dW_i2h, dW_h2h, the biases (a ones-vector product) and the layer input's
// gradient, which passes back through the dropout mask to the layer below.
#include <algorithm>
#include <cstring>
#include <string>

#include "../gemm.h"
#include "../parallel.h"
#include "rnn.h"

namespace mxcpu::rnn {
namespace {

// One step of the reverse sweep for rows [n0, n1). dh / dc hold the gradient reaching the state
// leaving step t; they are replaced by the part reaching the state entering it that does not go
// through W_h2h (GRU's z * dh; a padded step passes everything through).
template <typename T>
struct BackStepArgs {
  const Plan* p;
  const T* gates;   // (N, S*H) stored activations
  const T* hprev;   // (N, H)
  const T* cprev;   // (N, H) LSTM
  const T* tanhc;   // (N, H) LSTM
  const T* dy;      // (N, D*H) at this direction's columns
  T* dgx;           // (N, G*H) gradient of the gates' input-side pre-activations
  T* dgh;           // (N, G*H) ... of the W_h2h side (GRU differs in n; otherwise == dgx)
  T* dh;            // (N, H)
  T* dc;            // (N, H) LSTM
  const int64_t* len;
  int64_t t;
};

template <typename T>
void back_step_rows(const BackStepArgs<T>& a, int64_t n0, int64_t n1) {
  const Plan& p = *a.p;
  const int64_t H = p.H, GH = p.G * H, SH = p.S * H, DH = p.D * H;
  for (int64_t n = n0; n < n1; ++n) {
    T* dgx = a.dgx + n * GH;
    T* dgh = a.dgh + n * GH;
    T* dh = a.dh + n * H;
    if (a.t >= a.len[n]) {  // padded step: nothing happened, the state gradients pass through
      std::fill(dgx, dgx + GH, T(0));
      if (dgh != dgx) std::fill(dgh, dgh + GH, T(0));
      continue;
    }
    const T* g = a.gates + n * SH;
    const T* dy = a.dy + n * DH;
    if (p.mode == kLstm) {
      T* dc = a.dc + n * H;
      const T* cp = a.cprev + n * H;
      const T* tc = a.tanhc + n * H;
      for (int64_t j = 0; j < H; ++j) {
        const T i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
        const T dht = dh[j] + dy[j];
        T dct = dc[j] + dht * o * (T(1) - tc[j] * tc[j]);
        if (p.clip) {  // the clip passes the gradient only where it did not bind
          const T raw = f * cp[j] + i * gg;
          if (!(raw > T(p.clip_min) && raw < T(p.clip_max))) dct = T(0);
        }
        dgx[j] = dct * gg * i * (T(1) - i);
        dgx[H + j] = dct * cp[j] * f * (T(1) - f);
        dgx[2 * H + j] = dct * i * (T(1) - gg * gg);
        dgx[3 * H + j] = dht * tc[j] * o * (T(1) - o);
        dc[j] = dct * f;
        dh[j] = T(0);
      }
    } else if (p.mode == kGru) {
      const T* hp = a.hprev + n * H;
      for (int64_t j = 0; j < H; ++j) {
        const T r = g[j], z = g[H + j], nn = g[2 * H + j], hn = g[3 * H + j];
        const T dht = dh[j] + dy[j];
        const T dn = dht * (T(1) - z) * (T(1) - nn * nn);  // through tanh
        const T dz = dht * (hp[j] - nn) * z * (T(1) - z);
        const T dr = dn * hn * r * (T(1) - r);
        dgx[j] = dgh[j] = dr;
        dgx[H + j] = dgh[H + j] = dz;
        dgx[2 * H + j] = dn;
        dgh[2 * H + j] = dn * r;
        dh[j] = dht * z;
      }
    } else {
      for (int64_t j = 0; j < H; ++j) {
        const T y = g[j], dht = dh[j] + dy[j];
        dgx[j] = p.mode == kTanh ? dht * (T(1) - y * y) : (y > T(0) ? dht : T(0));
        dh[j] = T(0);
      }
    }
  }
}

template <typename T>
void backward(const Plan& p, const DLTensor* in, DLTensor* out) {
  const bool lstm = p.mode == kLstm;
  const int64_t nf = 3 + (lstm ? 1 : 0) + (p.use_seq ? 1 : 0);  // the forward's inputs
  const T* x0 = reinterpret_cast<const T*>(data_of(in[0]));
  const T* w = reinterpret_cast<const T*>(data_of(in[1]));
  const std::vector<int64_t> len = sequence_lengths(p, p.use_seq ? &in[nf - 1] : nullptr);
  const T* rs = reinterpret_cast<const T*>(data_of(in[nf]));
  const T* dout = reinterpret_cast<const T*>(data_of(in[nf + 1]));
  const T* dhy = p.state_outputs ? reinterpret_cast<const T*>(data_of(in[nf + 2])) : nullptr;
  const T* dcy = p.state_outputs && lstm ? reinterpret_cast<const T*>(data_of(in[nf + 3])) : nullptr;
  T* dx0 = reinterpret_cast<T*>(data_of(out[0]));
  T* dw = reinterpret_cast<T*>(data_of(out[1]));
  T* dh0 = reinterpret_cast<T*>(data_of(out[2]));
  T* dc0 = lstm ? reinterpret_cast<T*>(data_of(out[3])) : nullptr;
  int64_t total = 0;
  const std::vector<LayerSlots> slots = reserve_layout(p, &total);

  const int64_t H = p.H, N = p.N, TN = p.T * N, GH = p.G * H, SH = p.S * H, DH = p.D * H, NH = N * H;
  std::vector<T> dgx(size_t(TN * GH)), dgh(size_t(p.mode == kGru ? TN * GH : 0)), ones(size_t(TN), T(1));
  std::vector<T> dh(static_cast<size_t>(NH)), dc(static_cast<size_t>(lstm ? NH : 0));
  std::vector<T> dy_below(size_t(p.L > 1 ? TN * DH : 0));  // gradient of the layer below's output
  T* dgh_all = p.mode == kGru ? dgh.data() : dgx.data();
  const int64_t min_rows = min_rows_parallel(p);
  const T* dyl = dout;
  for (int64_t l = p.L - 1; l >= 0; --l) {
    const LayerSlots& s = slots[size_t(l)];
    const int64_t in_l = p.in_size(l);
    const T* xl = l == 0 ? x0 : p.has_dropout(l) ? rs + s.xdrop : rs + slots[size_t(l - 1)].y;
    T* dxl = l == 0 ? dx0 : dy_below.data();  // (T*N, in_l); overwritten only after dyl is consumed
    std::vector<T> dyl_copy;
    if (l > 0 && dyl == dy_below.data()) {  // dyl lives where this layer's dx goes: keep it
      dyl_copy.assign(dyl, dyl + TN * DH);
      dyl = dyl_copy.data();
    }
    for (int64_t d = 0; d < p.D; ++d) {
      const int64_t k = l * p.D + d;
      const T* wx = w + p.weight_offset(l, d);
      const T* wh = wx + GH * in_l;
      T* dwx = dw + p.weight_offset(l, d);
      T* dwh = dwx + GH * in_l;
      T* dbx = dw + p.bias_offset(l, d);
      if (dhy) std::memcpy(dh.data(), dhy + k * NH, size_t(NH) * sizeof(T));
      else std::fill(dh.begin(), dh.end(), T(0));
      if (lstm) {
        if (dcy) std::memcpy(dc.data(), dcy + k * NH, size_t(NH) * sizeof(T));
        else std::fill(dc.begin(), dc.end(), T(0));
      }
      for (int64_t step = 0; step < p.T; ++step) {
        const int64_t t = d == 0 ? p.T - 1 - step : step;  // the forward's order, reversed
        BackStepArgs<T> a{&p, rs + s.gates[d] + t * N * SH, rs + s.hprev[d] + t * NH,
                          lstm ? rs + s.cprev[d] + t * NH : nullptr, lstm ? rs + s.tanhc[d] + t * NH : nullptr,
                          dyl + t * N * DH + d * H, dgx.data() + t * N * GH, dgh_all + t * N * GH, dh.data(),
                          dc.data(), len.data(), t};
        parallel_for(N, min_rows, [&](int64_t n0, int64_t n1) { back_step_rows(a, n0, n1); });
        gemm<T>(false, false, N, H, GH, T(1), dgh_all + t * N * GH, GH, wh, H, T(1), dh.data(), H);
      }
      std::memcpy(dh0 + k * NH, dh.data(), size_t(NH) * sizeof(T));
      if (lstm) std::memcpy(dc0 + k * NH, dc.data(), size_t(NH) * sizeof(T));
      // Whole-sequence products: weights, biases, and this direction's share of the input gradient.
      gemm<T>(true, false, GH, in_l, TN, T(1), dgx.data(), GH, xl, in_l, T(0), dwx, in_l);
      gemm<T>(true, false, GH, H, TN, T(1), dgh_all, GH, rs + s.hprev[d], H, T(0), dwh, H);
      gemm<T>(false, false, 1, GH, TN, T(1), ones.data(), TN, dgx.data(), GH, T(0), dbx, GH);
      gemm<T>(false, false, 1, GH, TN, T(1), ones.data(), TN, dgh_all, GH, T(0), dbx + GH, GH);
      gemm<T>(false, false, TN, in_l, GH, T(1), dgx.data(), GH, wx, in_l, d ? T(1) : T(0), dxl, in_l);
    }
    if (l > 0 && p.has_dropout(l)) {  // through the mask onto layer l-1's output
      const T* mask = rs + s.mask;
      T* g = dxl;
      parallel_for(TN * DH, 32768, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) g[i] *= mask[i];
      });
    }
    dyl = dxl;
  }
}

int rnn_backward_create(const mx_kernel_args* args, void** out) {
  Plan* p = make_plan(args);
  if (!p) return -1;
  int64_t total = 0;
  reserve_layout(*p, &total);
  const int nf = 3 + (p->mode == kLstm ? 1 : 0) + (p->use_seq ? 1 : 0);
  if (args->num_inputs <= nf || numel(args->inputs[nf]) != total) {
    delete p;
    return error(MX_ERR_SHAPE_MISMATCH, "_backward_RNN: the reserve does not have " + std::to_string(total) + " elements");
  }
  *out = p;
  return 0;
}

int rnn_backward_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  if (p.dtype == MX_FLOAT32) backward<float>(p, in, out);
  else backward<double>(p, in, out);
  return 0;
}

void rnn_backward_destroy(void* s) { delete static_cast<Plan*>(s); }

const mx_kernel kTable[] = {kernel("_backward_RNN", rnn_backward_create, rnn_backward_run, rnn_backward_destroy),
                            kEndOfTable};
MX_REGISTER_KERNELS(kTable);

}  // namespace
}  // namespace mxcpu::rnn
