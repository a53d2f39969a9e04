// RNN forward on the CPU (rnn_relu, rnn_tanh, lstm, gru; layers, directions, dropout between
// layers, per-sample sequence lengths, LSTM cell clipping). Per layer and direction: one GEMM
// projects the whole sequence's input (T*N rows), then per step one GEMM of the state against
// W_h2h and one fused pass of gate math that also records what the backward needs (rnn.h).
#include "rnn.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "../../common/random.h"
#include "../gemm.h"
#include "../parallel.h"

namespace mxcpu::rnn {

namespace {

double clip_attr(const mx_kernel_args* args, const char* key) {
  const char* v = attr(args, key);
  return std::strcmp(v, "None") == 0 ? NAN : std::strtod(v, nullptr);
}

}  // namespace

Plan* make_plan(const mx_kernel_args* args) {
  const DLTensor& x = args->inputs[0];
  const std::string mode = attr(args, "mode");
  auto* p = new Plan{};
  p->mode = mode == "lstm" ? kLstm : mode == "gru" ? kGru : mode == "rnn_tanh" ? kTanh : kRelu;
  p->L = attr_int(args, "num_layers");
  p->D = attr_bool(args, "bidirectional") ? 2 : 1;
  p->H = attr_int(args, "state_size");
  p->G = p->mode == kLstm ? 4 : p->mode == kGru ? 3 : 1;
  p->S = p->mode == kLstm || p->mode == kGru ? 4 : 1;
  p->p = attr_float(args, "p");
  p->state_outputs = attr_bool(args, "state_outputs");
  p->use_seq = attr_bool(args, "use_sequence_length");
  p->clip_min = clip_attr(args, "lstm_state_clip_min");
  p->clip_max = clip_attr(args, "lstm_state_clip_max");
  p->clip = p->mode == kLstm && !std::isnan(p->clip_min) && !std::isnan(p->clip_max);
  p->clip_nan = attr_bool(args, "lstm_state_clip_nan");
  p->dtype = dtype_flag(x.dtype);
  const std::string op = args->op_name;
  if (x.ndim != 3 || (p->dtype != MX_FLOAT32 && p->dtype != MX_FLOAT64)) {
    delete p;
    error(MX_ERR_UNSUPPORTED, op + ": data must be float32 or float64 (T, N, I) on cpu");
    return nullptr;
  }
  p->T = x.shape[0];
  p->N = x.shape[1];
  p->I = x.shape[2];
  const int seq_index = p->mode == kLstm ? 4 : 3;
  p->seq_dtype = p->use_seq ? dtype_flag(args->inputs[seq_index].dtype) : -1;
  const int64_t want = p->param_size();
  if (numel(args->inputs[1]) != want) {
    delete p;
    error(MX_ERR_SHAPE_MISMATCH, op + ": the parameter vector has " + std::to_string(numel(args->inputs[1])) +
                                     " elements, expected " + std::to_string(want));
    return nullptr;
  }
  return p;
}

std::vector<int64_t> sequence_lengths(const Plan& p, const DLTensor* seq) {
  std::vector<int64_t> len(size_t(p.N), p.T);
  if (!p.use_seq) return len;
  dispatch_numeric(p.seq_dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* v = reinterpret_cast<const S*>(data_of(*seq));
    for (int64_t n = 0; n < p.N; ++n) {
      const double d = double(Elem<S>::load(v[n]));
      len[size_t(n)] = d >= double(p.T) ? p.T : d > 0 ? int64_t(d) : 0;
    }
  });
  return len;
}

namespace {

// One step's gate math for rows [n0, n1): xp is the input projection (row stride S*H, stored gates
// are written over it), hh the state's product with W_h2h (N, G*H), h / c the running state
// (updated in place), y the output rows (stride D*H).
template <typename T>
struct StepArgs {
  const Plan* p;
  T* gates;         // (N, S*H): the input projection in, the activations out
  const T* hh;      // (N, G*H)
  const T* bx;      // b_i2h
  const T* bh;      // b_h2h
  T* h;             // (N, H)
  T* c;             // (N, H) LSTM
  T* cprev;         // (N, H) LSTM
  T* tanhc;         // (N, H) LSTM
  T* y;             // (N, D*H) at this direction's columns
  const int64_t* len;
  int64_t t;
};

template <typename T>
void step_rows(const StepArgs<T>& a, int64_t n0, int64_t n1) {
  const Plan& p = *a.p;
  const int64_t H = p.H, GH = p.G * H, SH = p.S * H, DH = p.D * H;
  for (int64_t n = n0; n < n1; ++n) {
    T* g = a.gates + n * SH;
    const T* q = a.hh + n * GH;
    T* h = a.h + n * H;
    T* y = a.y + n * DH;
    if (a.t >= a.len[n]) {  // past this sample's end: the state carries over, the output is 0
      std::fill(g, g + SH, T(0));
      std::fill(y, y + H, T(0));
      if (p.mode == kLstm) {
        std::memcpy(a.cprev + n * H, a.c + n * H, size_t(H) * sizeof(T));
        std::fill(a.tanhc + n * H, a.tanhc + (n + 1) * H, T(0));
      }
      continue;
    }
    if (p.mode == kLstm) {
      T* c = a.c + n * H;
      T* cp = a.cprev + n * H;
      T* tc = a.tanhc + n * H;
      for (int64_t j = 0; j < H; ++j) {
        const T i = sigmoid(g[j] + q[j] + a.bx[j] + a.bh[j]);
        const T f = sigmoid(g[H + j] + q[H + j] + a.bx[H + j] + a.bh[H + j]);
        const T gg = tanh_fast(g[2 * H + j] + q[2 * H + j] + a.bx[2 * H + j] + a.bh[2 * H + j]);
        const T o = sigmoid(g[3 * H + j] + q[3 * H + j] + a.bx[3 * H + j] + a.bh[3 * H + j]);
        cp[j] = c[j];
        T cn = f * c[j] + i * gg;
        if (p.clip) {
          if (std::isnan(cn)) cn = p.clip_nan ? T(p.clip_min) : cn;
          else cn = std::min(std::max(cn, T(p.clip_min)), T(p.clip_max));
        }
        c[j] = cn;
        tc[j] = tanh_fast(cn);
        h[j] = o * tc[j];
        y[j] = h[j];
        g[j] = i;
        g[H + j] = f;
        g[2 * H + j] = gg;
        g[3 * H + j] = o;
      }
    } else if (p.mode == kGru) {
      for (int64_t j = 0; j < H; ++j) {
        const T r = sigmoid(g[j] + q[j] + a.bx[j] + a.bh[j]);
        const T z = sigmoid(g[H + j] + q[H + j] + a.bx[H + j] + a.bh[H + j]);
        const T hn = q[2 * H + j] + a.bh[2 * H + j];
        const T nn = tanh_fast(g[2 * H + j] + a.bx[2 * H + j] + r * hn);
        h[j] = (T(1) - z) * nn + z * h[j];
        y[j] = h[j];
        g[j] = r;
        g[H + j] = z;
        g[2 * H + j] = nn;
        g[3 * H + j] = hn;
      }
    } else {
      for (int64_t j = 0; j < H; ++j) {
        const T pre = g[j] + q[j] + a.bx[j] + a.bh[j];
        h[j] = p.mode == kTanh ? tanh_fast(pre) : std::max(pre, T(0));
        y[j] = h[j];
        g[j] = h[j];
      }
    }
  }
}

// Dropout on layer l-1's output y (T*N*D*H) into the reserve's mask and xdrop (training only;
// otherwise mask 1). Element i draws lane i%4 of Philox block rng_offset + (l-1)*blocks + i/4.
template <typename T>
void drop_layer_input(const Plan& p, const mx_kernel_ctx* ctx, bool train, int64_t l, const T* y, T* mask, T* xdrop) {
  const int64_t n = p.T * p.N * p.D * p.H;
  const uint64_t first = ctx->rng_offset + uint64_t(l - 1) * uint64_t(p.blocks_per_mask());
  const T keep_scale = p.p < 1 ? T(1.0 / (1.0 - p.p)) : T(0);
  parallel_for((n + 3) / 4, 4096, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      mx_philox_u32x4 r{};
      if (train) r = mx_philox_block(ctx->rng_seed, first + uint64_t(b));
      for (int lane = 0; lane < 4 && b * 4 + lane < n; ++lane) {
        const int64_t i = b * 4 + lane;
        const T m = !train ? T(1) : keep_lane(r, lane, float(p.p)) ? keep_scale : T(0);
        mask[i] = m;
        xdrop[i] = y[i] * m;
      }
    }
  });
}

template <typename T>
void forward(const Plan& p, const mx_kernel_ctx* ctx, const DLTensor* in, DLTensor* out) {
  const bool train = ctx->struct_size >= offsetof(mx_kernel_ctx, is_train) + sizeof(int32_t) && ctx->is_train;
  const T* x0 = reinterpret_cast<const T*>(data_of(in[0]));
  const T* w = reinterpret_cast<const T*>(data_of(in[1]));
  const T* h0 = reinterpret_cast<const T*>(data_of(in[2]));
  const T* c0 = p.mode == kLstm ? reinterpret_cast<const T*>(data_of(in[3])) : nullptr;
  const std::vector<int64_t> len = sequence_lengths(p, p.use_seq ? &in[p.mode == kLstm ? 4 : 3] : nullptr);
  T* yout = reinterpret_cast<T*>(data_of(out[0]));
  const int n_vis = p.state_outputs ? (p.mode == kLstm ? 3 : 2) : 1;
  T* hy = p.state_outputs ? reinterpret_cast<T*>(data_of(out[1])) : nullptr;
  T* cy = p.state_outputs && p.mode == kLstm ? reinterpret_cast<T*>(data_of(out[2])) : nullptr;
  T* rs = reinterpret_cast<T*>(data_of(out[n_vis]));
  int64_t total = 0;
  const std::vector<LayerSlots> slots = reserve_layout(p, &total);

  const int64_t H = p.H, N = p.N, GH = p.G * H, SH = p.S * H, DH = p.D * H, NH = N * H;
  std::vector<T> h(static_cast<size_t>(NH)), c(static_cast<size_t>(p.mode == kLstm ? NH : 0)), hh(static_cast<size_t>(N * GH));
  const int64_t min_rows = min_rows_parallel(p);
  for (int64_t l = 0; l < p.L; ++l) {
    const LayerSlots& s = slots[size_t(l)];
    const int64_t in_l = p.in_size(l);
    const T* xl = x0;
    if (l > 0) {
      const T* yprev = rs + slots[size_t(l - 1)].y;
      if (p.has_dropout(l)) drop_layer_input(p, ctx, train, l, yprev, rs + s.mask, rs + s.xdrop);
      xl = p.has_dropout(l) ? rs + s.xdrop : yprev;
    }
    T* yl = l + 1 < p.L ? rs + s.y : yout;
    for (int64_t d = 0; d < p.D; ++d) {
      const T* wx = w + p.weight_offset(l, d);
      const T* wh = wx + GH * in_l;
      const T* bx = w + p.bias_offset(l, d);
      T* gates = rs + s.gates[d];
      // The input projection of the whole sequence (GRU's fourth stored block is filled per step).
      gemm<T>(false, true, p.T * N, GH, in_l, T(1), xl, in_l, wx, in_l, T(0), gates, SH);
      const int64_t k = l * p.D + d;
      std::memcpy(h.data(), h0 + k * NH, size_t(NH) * sizeof(T));
      if (c0) std::memcpy(c.data(), c0 + k * NH, size_t(NH) * sizeof(T));
      for (int64_t step = 0; step < p.T; ++step) {
        const int64_t t = d == 0 ? step : p.T - 1 - step;
        T* hprev = rs + s.hprev[d] + t * NH;
        std::memcpy(hprev, h.data(), size_t(NH) * sizeof(T));
        gemm<T>(false, true, N, GH, H, T(1), hprev, H, wh, H, T(0), hh.data(), GH);
        StepArgs<T> a{&p, gates + t * N * SH, hh.data(), bx, bx + GH, h.data(), c.data(),
                      p.mode == kLstm ? rs + s.cprev[d] + t * NH : nullptr,
                      p.mode == kLstm ? rs + s.tanhc[d] + t * NH : nullptr, yl + t * N * DH + d * H, len.data(), t};
        parallel_for(N, min_rows, [&](int64_t n0, int64_t n1) { step_rows(a, n0, n1); });
      }
      if (hy) std::memcpy(hy + k * NH, h.data(), size_t(NH) * sizeof(T));
      if (cy) std::memcpy(cy + k * NH, c.data(), size_t(NH) * sizeof(T));
    }
  }
}

int rnn_create(const mx_kernel_args* args, void** out) {
  Plan* p = make_plan(args);
  if (!p) return -1;
  int64_t total = 0;
  reserve_layout(*p, &total);
  const int n_vis = p->state_outputs ? (p->mode == kLstm ? 3 : 2) : 1;
  if (args->num_outputs != n_vis + 1 || numel(args->outputs[n_vis]) != total) {
    delete p;
    return error(MX_ERR_SHAPE_MISMATCH, "RNN: the reserve output does not have " + std::to_string(total) + " elements");
  }
  *out = p;
  return 0;
}

int rnn_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  if (p.dtype == MX_FLOAT32) forward<float>(p, ctx, in, out);
  else forward<double>(p, ctx, in, out);
  return 0;
}

void rnn_destroy(void* s) { delete static_cast<Plan*>(s); }

const mx_kernel kTable[] = {kernel("RNN", rnn_create, rnn_run, rnn_destroy), kEndOfTable};
MX_REGISTER_KERNELS(kTable);

}  // namespace
}  // namespace mxcpu::rnn
