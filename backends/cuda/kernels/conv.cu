// The conv family on the GPU, mirroring backends/cpu/kernels/conv.cc:
// - Convolution, _conv_backward_data, _conv_backward_weight and Deconvolution on cuDNN's legacy
//   convolution API (float32, float64, float16, bfloat16, like the CPU). 1-d data (NCW) runs as 2-d
//   with a height of 1, and Deconvolution as the data gradient of a Convolution over its output
//   (the CPU's deconv_geo, target_shape's pad included). The algorithm is chosen once per shape in
//   create() and its workspace comes from the host (workspace_bytes); the bias is added with
//   cudnnAddTensor (float32 / float64) or accumulated onto (16-bit: bias_planes + beta = 1).
//   16-bit data: cuDNN's pseudo-half configs (HALF / BFLOAT16 tensors, FLOAT compute type) with
//   CUDNN_TENSOR_OP_MATH, i.e. tensor cores with float accumulation, rounded once to the output, as
//   the CPU does (it computes in float32 on widened copies).
// - Pooling and _pooling_backward as plain kernels with the CPU's exact window rule (windows end at
//   the padded edge, so 'full' windows are clipped; an all-padding max window gives 0; the max
//   gradient goes to the window's first maximum), which cuDNN's symmetric pooling cannot express.
//   16-bit data loads into float (Elem<S>), computes as float32 does and rounds the result once: the
//   CPU's values exactly.
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cudnn_util.cuh"
#include "launch.cuh"

namespace mxcuda {
namespace {

// The CPU's pick(): (w,) or (h, w) from an attribute; 1-d data gets a height entry of 1 (0 for pad).
void pick(const mx_kernel_args* args, const char* name, bool one_d, int64_t def, int64_t& a, int64_t& b) {
  auto v = attr_ints(attr(args, name));
  if (v.empty()) v = std::vector<int64_t>(one_d ? 1 : 2, def);
  a = one_d ? (std::strcmp(name, "pad") == 0 ? 0 : 1) : v[0];
  b = v.back();
}

std::string dims_str(int64_t n, int64_t c, int64_t h, int64_t w) {
  return "(" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) + "," + std::to_string(w) + ")";
}

// ---------------------------------------------------------------- convolution

enum ConvKind { kFwd, kBwdData, kBwdWeight, kDeconv };
constexpr const char* kConvOp[] = {"Convolution", "_conv_backward_data", "_conv_backward_weight", "Deconvolution"};

// Every kind is one cuDNN call on a convolution with data x (n, c, h, w), filters w (f, c/g, kh, kw)
// and output y (n, f, oh, ow): forward computes y, backward-data and Deconvolution x, backward-
// weight w. The descriptors are read-only after create(), so concurrent run() calls may share them.
struct ConvState {
  const char* op = nullptr;
  int32_t flag = MX_FLOAT32;  // the mx dtype
  cudnnDataType_t dt = CUDNN_DATA_FLOAT;
  bool empty = false;       // the output has no elements: nothing to do
  bool degenerate = false;  // a zero batch or channel count: the output is zeros (+ bias), no cuDNN call
  bool bias = false;
  int64_t out_numel = 0, out_plane = 1, out_channels = 1;  // of the op's output, for the bias
  TensorDesc x, y, b;                                     // b: (1, out_channels, 1, 1)
  FilterDesc w;
  ConvDesc conv;
  int algo = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by kind
  size_t ws = 0;
};

// MXNET_ENFORCE_DETERMINISM=1 (or MX_ENFORCE_DETERMINISM=1) restricts the convolutions to
// deterministic cuDNN algorithms; by default the ranking decides, as in MXNet (the backward
// ALGO_0s sum with atomics).
bool determinism_enforced() {
  static const bool on = [] {
    for (const char* name : {"MX_ENFORCE_DETERMINISM", "MXNET_ENFORCE_DETERMINISM"}) {
      const char* v = std::getenv(name);
      if (v && *v) return std::strcmp(v, "1") == 0 || std::strcmp(v, "true") == 0 || std::strcmp(v, "True") == 0;
    }
    return false;
  }();
  return on;
}

// Picks the first ranked algorithm that cuDNN supports for these descriptors and whose workspace
// fits the limit (and that is deterministic when enforced). A candidate whose workspace query
// fails is only ruled out.
template <typename Perf, typename WsFn>
int choose(ConvState& st, const Perf* perf, int count, size_t limit, WsFn ws_of) {
  const bool det_only = determinism_enforced();
  // The ranking may list an algorithm under another math type than the descriptor's. float32 never
  // takes a tensor-op one unless TF32 is allowed (exact by default).
  cudnnMathType_t desc_math = CUDNN_DEFAULT_MATH;
  cudnnGetConvolutionMathType(st.conv.h, &desc_math);
  const bool exact_f32 = st.flag == MX_FLOAT32 && !tensor_cores_allowed();
  int supported = 0;
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (det_only && perf[i].determinism != CUDNN_DETERMINISTIC) continue;
    const bool tensor_op =
        perf[i].mathType == CUDNN_TENSOR_OP_MATH || perf[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    if (exact_f32 && tensor_op) continue;
    // Exact float32 stays under the descriptor's FMA math; otherwise the candidate runs (and its
    // workspace is queried) under its own math type.
    const cudnnMathType_t math = exact_f32 ? desc_math : perf[i].mathType;
    if (check_cudnn(cudnnSetConvolutionMathType(st.conv.h, math), "cudnnSetConvolutionMathType", st.op)) return -1;
    size_t bytes = 0;
    if (ws_of(perf[i].algo, &bytes) != CUDNN_STATUS_SUCCESS) continue;
    ++supported;
    if (bytes > limit) continue;
    st.algo = int(perf[i].algo);
    st.ws = bytes;
    return 0;
  }
  cudnnSetConvolutionMathType(st.conv.h, desc_math);  // none chosen: as it was
  const std::string what = det_only ? "deterministic cuDNN algorithm" : "cuDNN algorithm";
  return error(MX_ERR_UNSUPPORTED, std::string(st.op) + ": " +
                                       (supported ? "no " + what + " fits the workspace limit of " +
                                                        std::to_string(limit >> 20) + " MB"
                                                  : "cuDNN has no " + what + " for these shapes and attrs") +
                                       " on cuda");
}

// Chooses st's algorithm on the device's planning handle: cudnn_tune=fastest times the candidates
// with cudnnFind* (fastest first, no workspace limit, as MXNet); otherwise cudnnGet*_v7's heuristic
// ranking within the `workspace` attr (MB).
template <int K>
int plan(ConvState& st, const mx_kernel_args* args) {
  const char* op = st.op;
  const bool fastest = std::strcmp(attr(args, "cudnn_tune"), "fastest") == 0;
  const int64_t mb = attr_int(args, "workspace");
  const size_t limit = fastest || mb >= (int64_t(1) << 40) ? SIZE_MAX : size_t(mb < 0 ? 0 : mb) << 20;
  DeviceGuard guard(args->device_id);  // cudnnFind* allocates on the current device; restored after
  std::unique_lock<std::mutex> lock;
  cudnnHandle_t h = cudnn_planning(args->device_id, op, lock);
  if (!h) return -1;
  int max_count = 0, got = 0;
  if constexpr (K == kFwd) {
    if (check_cudnn(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count),
                    "cudnnGetConvolutionForwardAlgorithmMaxCount", op))
      return -1;
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(size_t(max_count < 1 ? 1 : max_count));
    const cudnnStatus_t s =
        fastest ? cudnnFindConvolutionForwardAlgorithm(h, st.x.h, st.w.h, st.conv.h, st.y.h, max_count, &got, perf.data())
                : cudnnGetConvolutionForwardAlgorithm_v7(h, st.x.h, st.w.h, st.conv.h, st.y.h, max_count, &got,
                                                         perf.data());
    if (check_cudnn(s, fastest ? "cudnnFindConvolutionForwardAlgorithm" : "cudnnGetConvolutionForwardAlgorithm_v7", op))
      return -1;
    return choose(st, perf.data(), got, limit, [&](cudnnConvolutionFwdAlgo_t a, size_t* bytes) {
      return cudnnGetConvolutionForwardWorkspaceSize(h, st.x.h, st.w.h, st.conv.h, st.y.h, a, bytes);
    });
  } else if constexpr (K == kBwdWeight) {
    if (check_cudnn(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max_count),
                    "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount", op))
      return -1;
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(size_t(max_count < 1 ? 1 : max_count));
    const cudnnStatus_t s =
        fastest ? cudnnFindConvolutionBackwardFilterAlgorithm(h, st.x.h, st.y.h, st.conv.h, st.w.h, max_count, &got,
                                                              perf.data())
                : cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, st.x.h, st.y.h, st.conv.h, st.w.h, max_count, &got,
                                                                perf.data());
    if (check_cudnn(s, fastest ? "cudnnFindConvolutionBackwardFilterAlgorithm"
                               : "cudnnGetConvolutionBackwardFilterAlgorithm_v7", op))
      return -1;
    return choose(st, perf.data(), got, limit, [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
      return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, st.x.h, st.y.h, st.conv.h, st.w.h, a, bytes);
    });
  } else {  // backward data, Deconvolution
    if (check_cudnn(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count),
                    "cudnnGetConvolutionBackwardDataAlgorithmMaxCount", op))
      return -1;
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(size_t(max_count < 1 ? 1 : max_count));
    const cudnnStatus_t s =
        fastest ? cudnnFindConvolutionBackwardDataAlgorithm(h, st.w.h, st.y.h, st.conv.h, st.x.h, max_count, &got,
                                                            perf.data())
                : cudnnGetConvolutionBackwardDataAlgorithm_v7(h, st.w.h, st.y.h, st.conv.h, st.x.h, max_count, &got,
                                                              perf.data());
    if (check_cudnn(s, fastest ? "cudnnFindConvolutionBackwardDataAlgorithm"
                               : "cudnnGetConvolutionBackwardDataAlgorithm_v7", op))
      return -1;
    return choose(st, perf.data(), got, limit, [&](cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
      return cudnnGetConvolutionBackwardDataWorkspaceSize(h, st.w.h, st.y.h, st.conv.h, st.x.h, a, bytes);
    });
  }
}

template <int K>
int conv_create_impl(const mx_kernel_args* args, ConvState& st) {
  const char* op = kConvOp[K];
  st.op = op;
  const int32_t flag = dtype_flag(args->inputs[0].dtype);
  if (flag != MX_FLOAT32 && flag != MX_FLOAT64 && flag != MX_FLOAT16 && flag != MX_BFLOAT16)
    return error(MX_ERR_UNSUPPORTED, std::string(op) + ": unsupported dtype " + dtype_name(flag) +
                                         " on cuda (float32, float64, float16, bfloat16, like cpu)");
  for (int32_t i = 0; i < args->num_inputs; ++i)
    if (dtype_flag(args->inputs[i].dtype) != flag)
      return error(MX_ERR_UNSUPPORTED, std::string(op) + ": inputs must share one dtype (input 0 is " +
                                           dtype_name(flag) + ") on cuda");
  st.flag = flag;
  cudnn_dtype(flag, &st.dt);
  // The convolution's data: the forward input, the backward-data shape input, the backward-weight
  // data, or Deconvolution's output; its output: the forward output or the (out_grad | data) input 0.
  const DLTensor& data = K == kFwd        ? args->inputs[0]
                         : K == kBwdData  ? args->inputs[2]
                         : K == kBwdWeight ? args->inputs[1]
                                           : args->outputs[0];
  const DLTensor& out = K == kFwd ? args->outputs[0] : args->inputs[0];
  // 3-d (NCDHW) is not served here yet: MX_ERR_UNSUPPORTED lets the host run the CPU kernel.
  if (data.ndim != 3 && data.ndim != 4)
    return error(MX_ERR_UNSUPPORTED, std::string(op) + ": " + std::to_string(data.ndim - 2) +
                                         "-d data is not served on cuda (1-d NCW and 2-d NCHW only)");
  const bool one_d = data.ndim == 3;
  const int64_t n = data.shape[0], c = data.shape[1], h = one_d ? 1 : data.shape[2], w = data.shape[data.ndim - 1];
  // The CPU takes F from num_filter, and for Deconvolution from its input's channels.
  const int64_t f = K == kDeconv ? out.shape[1] : attr_int(args, "num_filter");
  const int64_t oh = out.ndim == 3 ? 1 : out.shape[2], ow = out.shape[out.ndim - 1];
  const int64_t groups = attr_int(args, "num_group");
  int64_t kh, kw, sh, sw, dh, dw, ph, pw;
  pick(args, "kernel", one_d, 1, kh, kw);
  pick(args, "stride", one_d, 1, sh, sw);
  pick(args, "dilate", one_d, 1, dh, dw);
  pick(args, "pad", one_d, 0, ph, pw);
  if (K == kDeconv) {  // target_shape fixes the pad: (total + 1) / 2, as the core and the CPU
    const auto target = attr_ints(attr(args, "target_shape"));
    auto tpad = [](int64_t in, int64_t s, int64_t d, int64_t k, int64_t t) {
      const int64_t total = s * (in - 1) + d * (k - 1) + 1 - t;
      return (total + 1) / 2;
    };
    if (!target.empty()) {
      pw = tpad(ow, sw, dw, kw, target.back());
      if (!one_d) ph = tpad(oh, sh, dh, kh, target[0]);
    }
  }
  st.bias = (K == kFwd || K == kDeconv) && args->num_inputs > 2;
  const DLTensor& result = args->outputs[0];
  st.out_numel = numel(result);
  st.out_channels = result.shape[1];
  st.out_plane = result.ndim == 3 ? result.shape[2] : result.shape[2] * result.shape[3];
  if (K == kBwdWeight) st.out_channels = 1, st.out_plane = 1;
  if (st.out_numel == 0) {
    st.empty = true;
    return 0;
  }

  const int64_t cg = groups > 0 ? c / groups : 0;
  if (out.shape[0] != n || out.shape[1] != f || groups < 1 || c % groups != 0 || f % groups != 0)
    return error(MX_ERR_SHAPE_MISMATCH, std::string(op) + ": data " + dims_str(n, c, h, w) + ", output " +
                                            dims_str(out.shape[0], out.shape[1], oh, ow) + " and " +
                                            std::to_string(groups) + " groups do not match on cuda");
  const DLTensor* weight = K == kBwdWeight ? &args->outputs[0] : &args->inputs[1];
  if (numel(*weight) != f * cg * kh * kw)
    return error(MX_ERR_SHAPE_MISMATCH, std::string(op) + ": weight has " + std::to_string(numel(*weight)) +
                                            " elements, the convolution needs " + dims_str(f, cg, kh, kw));
  if (n == 0 || c == 0 || f == 0) {  // f: Deconvolution's input channels
    st.degenerate = true;
    return 0;
  }

  if (!fits_int({n, c, h, w, f, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw, groups}))
    return error(MX_ERR_UNSUPPORTED, std::string(op) + ": data " + dims_str(n, c, h, w) +
                                         " has dims beyond cuDNN's int range on cuda");
  // float32: exact FMA math unless tensor cores are allowed (then TF32, as cuBLAS); float64: default;
  // 16-bit: tensor cores, computing in float (the pseudo-half / pseudo-bfloat16 configs).
  const bool half = is_half(st.dt);
  const cudnnDataType_t compute = half ? CUDNN_DATA_FLOAT : st.dt;
  const cudnnMathType_t math = half                       ? CUDNN_TENSOR_OP_MATH
                               : st.dt == CUDNN_DATA_DOUBLE ? CUDNN_DEFAULT_MATH
                               : tensor_cores_allowed()   ? CUDNN_DEFAULT_MATH
                                                          : CUDNN_FMA_MATH;
  if (set_nchw(st.x, st.dt, n, c, h, w, op) || set_nchw(st.y, st.dt, n, f, oh, ow, op) ||
      set_filter(st.w, st.dt, f, cg, kh, kw, op) || st.conv.make("cudnnCreateConvolutionDescriptor", op) ||
      check_cudnn(cudnnSetConvolution2dDescriptor(st.conv.h, int(ph), int(pw), int(sh), int(sw), int(dh), int(dw),
                                                  CUDNN_CROSS_CORRELATION, compute),
                  "cudnnSetConvolution2dDescriptor", op) ||
      check_cudnn(cudnnSetConvolutionGroupCount(st.conv.h, int(groups)), "cudnnSetConvolutionGroupCount", op) ||
      check_cudnn(cudnnSetConvolutionMathType(st.conv.h, math), "cudnnSetConvolutionMathType", op))
    return -1;
  if (st.bias && !half && set_nchw(st.b, st.dt, 1, st.out_channels, 1, 1, op)) return -1;
  // cuDNN's own output size must be the one the core inferred (it is, for valid attrs: adj < stride).
  int cn = 0, cc = 0, ch = 0, cw = 0;
  if (check_cudnn(cudnnGetConvolution2dForwardOutputDim(st.conv.h, st.x.h, st.w.h, &cn, &cc, &ch, &cw),
                  "cudnnGetConvolution2dForwardOutputDim", op))
    return -1;
  if (cn != n || cc != f || ch != oh || cw != ow)
    return error(MX_ERR_SHAPE_MISMATCH, std::string(op) + ": cuDNN computes output " + dims_str(cn, cc, ch, cw) +
                                            " for data " + dims_str(n, c, h, w) + ", expected " +
                                            dims_str(n, f, oh, ow));
  return plan<K>(st, args);
}

template <int K>
int conv_create(const mx_kernel_args* args, void** out) {
  auto st = std::make_unique<ConvState>();
  if (conv_create_impl<K>(args, *st)) return -1;
  *out = st.release();
  return 0;
}

// A zero batch or channel count: the output is 0 (+ bias, added to 0 as the CPU does).
template <typename S>
int fill_bias(const ConvState& st, const DLTensor* bias, DLTensor& out, cudaStream_t s) {
  using E = Elem<S>;
  using C = typename E::C;
  S* y = ptr<S>(out);
  const S* b = st.bias ? ptr<S>(*bias) : nullptr;
  const int64_t plane = st.out_plane, channels = st.out_channels;
  return for_each(st.out_numel, s, st.op, [=] __device__(int64_t i) {
    y[i] = E::store(b ? C(0) + E::load(b[(i / plane) % channels]) : C(0));
  });
}

// 16-bit data with a bias: the output starts as the bias planes (bits copied) and the convolution
// accumulates onto them (beta = 1), so conv + bias is summed in float and rounded once, as on the
// CPU (a separate add would round the convolution first). float32 / float64 use cudnnAddTensor after.
template <typename S>
int bias_planes(const ConvState& st, const DLTensor& bias, DLTensor& out, cudaStream_t s) {
  S* y = ptr<S>(out);
  const S* b = ptr<S>(bias);
  const int64_t plane = st.out_plane, channels = st.out_channels;
  return for_each(st.out_numel, s, st.op, [=] __device__(int64_t i) { y[i] = b[(i / plane) % channels]; });
}

template <int K>
int conv_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const ConvState& st = *static_cast<const ConvState*>(state);
  const char* op = st.op;
  if (st.empty) return 0;
  if (st.degenerate) {
    const DLTensor* bias = st.bias ? &in[2] : nullptr;
    int rc = 0;
    dispatch_float(st.flag, [&](auto tag) { rc = fill_bias<decltype(tag)>(st, bias, out[0], cuda_stream(ctx)); });
    return rc ? rc : finish(ctx, op);
  }
  cudnnHandle_t h = cudnn_of(ctx, op);
  if (!h) return -1;
  if (st.ws > 0 && (!ctx->temp_space || ctx->temp_bytes < st.ws))
    return error(MX_ERR_INTERNAL, std::string(op) + ": the host passed " + std::to_string(ctx->temp_bytes) +
                                      " bytes of temp space, the cuDNN algorithm needs " + std::to_string(st.ws));
  void* ws = st.ws > 0 ? ctx->temp_space : nullptr;
  const void* one = cudnn_one(st.dt);
  const void* zero = cudnn_zero(st.dt);
  // The bias: accumulated onto (16-bit, see bias_planes) or added after (float32 / float64).
  const bool prefill = st.bias && is_half(st.dt);
  if (prefill) {
    const int rc = st.flag == MX_FLOAT16 ? bias_planes<f16_t>(st, in[2], out[0], cuda_stream(ctx))
                                         : bias_planes<bf16_t>(st, in[2], out[0], cuda_stream(ctx));
    if (rc) return rc;
  }
  const void* beta = prefill ? one : zero;
  const bool add_after = st.bias && !prefill;
  if constexpr (K == kFwd) {
    if (check_cudnn(cudnnConvolutionForward(h, one, st.x.h, data_of(in[0]), st.w.h, data_of(in[1]), st.conv.h,
                                            cudnnConvolutionFwdAlgo_t(st.algo), ws, st.ws, beta, st.y.h,
                                            data_of(out[0])),
                    "cudnnConvolutionForward", op))
      return -1;
    if (add_after && check_cudnn(cudnnAddTensor(h, one, st.b.h, data_of(in[2]), one, st.y.h, data_of(out[0])),
                                 "cudnnAddTensor", op))
      return -1;
  } else if constexpr (K == kBwdWeight) {
    if (check_cudnn(cudnnConvolutionBackwardFilter(h, one, st.x.h, data_of(in[1]), st.y.h, data_of(in[0]), st.conv.h,
                                                   cudnnConvolutionBwdFilterAlgo_t(st.algo), ws, st.ws, zero, st.w.h,
                                                   data_of(out[0])),
                    "cudnnConvolutionBackwardFilter", op))
      return -1;
  } else {  // backward data; Deconvolution: its input is the dy, its output the dx
    if (check_cudnn(cudnnConvolutionBackwardData(h, one, st.w.h, data_of(in[1]), st.y.h, data_of(in[0]), st.conv.h,
                                                 cudnnConvolutionBwdDataAlgo_t(st.algo), ws, st.ws, beta, st.x.h,
                                                 data_of(out[0])),
                    "cudnnConvolutionBackwardData", op))
      return -1;
    if (add_after && check_cudnn(cudnnAddTensor(h, one, st.b.h, data_of(in[2]), one, st.x.h, data_of(out[0])),
                                 "cudnnAddTensor", op))
      return -1;
  }
  return finish(ctx, op);
}

uint64_t conv_workspace(void* state) { return static_cast<const ConvState*>(state)->ws; }
void conv_destroy(void* state) { delete static_cast<ConvState*>(state); }

// ---------------------------------------------------------------- pooling

struct PoolGeo {
  int64_t n, c, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
  int pool;  // 0 max, 1 avg, 2 sum
  bool count_include_pad;
};
struct PoolState {
  PoolGeo g;
  int32_t flag;  // the mx dtype
  size_t ws;  // backward max: the first-maximum index of every window (int64 per output)
};

MX_HD inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
MX_HD inline int64_t imax(int64_t a, int64_t b) { return a < b ? b : a; }

// The CPU's windows(): the window of output (oy, ox) ends at the padded edge, is then clipped to
// the data, and counts its padded or its clipped size.
struct Window {
  int64_t y0, y1, x0, x1, size;
};
MX_HD inline Window window(const PoolGeo& g, int64_t oy, int64_t ox) {
  int64_t y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
  int64_t y1 = imin(y0 + g.kh, g.h + g.ph), x1 = imin(x0 + g.kw, g.w + g.pw);
  const int64_t padded = (y1 - y0) * (x1 - x0);
  y0 = imax(y0, 0);
  x0 = imax(x0, 0);
  y1 = imin(y1, g.h);
  x1 = imin(x1, g.w);
  return {y0, y1, x0, x1, g.count_include_pad ? padded : (y1 - y0) * (x1 - x0)};
}

template <bool BACKWARD>
int pool_create(const mx_kernel_args* args, void** out) {
  const char* op = BACKWARD ? "_pooling_backward" : "Pooling";
  const int32_t flag = dtype_flag(args->inputs[0].dtype);
  if (flag != MX_FLOAT32 && flag != MX_FLOAT64 && flag != MX_FLOAT16 && flag != MX_BFLOAT16)
    return error(MX_ERR_UNSUPPORTED, std::string(op) + ": unsupported dtype " + dtype_name(flag) +
                                         " on cuda (float32, float64, float16, bfloat16, like cpu)");
  for (int32_t i = 0; i < args->num_inputs; ++i)
    if (dtype_flag(args->inputs[i].dtype) != flag)
      return error(MX_ERR_UNSUPPORTED, std::string(op) + ": inputs must share one dtype (input 0 is " +
                                           dtype_name(flag) + ") on cuda");
  const DLTensor& data = BACKWARD ? args->inputs[1] : args->inputs[0];
  const DLTensor& y = BACKWARD ? args->inputs[0] : args->outputs[0];
  // 3-d (NCDHW) is not served here yet: MX_ERR_UNSUPPORTED lets the host run the CPU kernel.
  if (data.ndim != 3 && data.ndim != 4)
    return error(MX_ERR_UNSUPPORTED, std::string(op) + ": " + std::to_string(data.ndim - 2) +
                                         "-d data is not served on cuda (1-d NCW and 2-d NCHW only)");
  const bool one_d = data.ndim == 3;
  PoolGeo g{};
  g.n = data.shape[0];
  g.c = data.shape[1];
  g.h = one_d ? 1 : data.shape[2];
  g.w = data.shape[data.ndim - 1];
  if (attr_bool(args, "global_pool")) {
    g.kh = g.h, g.kw = g.w, g.sh = g.sw = 1, g.ph = g.pw = 0;
  } else {
    pick(args, "kernel", one_d, 1, g.kh, g.kw);
    pick(args, "stride", one_d, 1, g.sh, g.sw);
    pick(args, "pad", one_d, 0, g.ph, g.pw);
  }
  const std::string t = attr(args, "pool_type");
  g.pool = t == "max" ? 0 : t == "avg" ? 1 : 2;
  g.count_include_pad = attr_bool(args, "count_include_pad");
  g.oh = y.ndim == 3 ? 1 : y.shape[2];
  g.ow = y.shape[y.ndim - 1];
  const size_t ws = BACKWARD && g.pool == 0 ? size_t(g.n * g.c * g.oh * g.ow) * sizeof(int64_t) : 0;
  *out = new PoolState{g, flag, ws};
  return 0;
}

// One thread per output, summing (or taking the max) in the CPU's order: bit-identical results.
// S is the storage type, T the compute type (float for 16-bit storage).
template <typename S>
int pool_fwd(const PoolGeo g, const S* x, S* y, cudaStream_t s) {
  using E = Elem<S>;
  using T = typename E::C;
  const int64_t ohw = g.oh * g.ow;
  return for_each(g.n * g.c * ohw, s, "Pooling", [=] __device__(int64_t i) {
    const Window wd = window(g, (i % ohw) / g.ow, i % g.ow);
    const S* xp = x + (i / ohw) * g.h * g.w;
    T acc = g.pool == 0 ? -std::numeric_limits<T>::infinity() : T(0);
    for (int64_t yy = wd.y0; yy < wd.y1; ++yy)
      for (int64_t xx = wd.x0; xx < wd.x1; ++xx) {
        const T v = E::load(xp[yy * g.w + xx]);
        acc = g.pool == 0 ? (acc < v ? v : acc) : acc + v;  // std::max(acc, v): NaN never replaces acc
      }
    if (g.pool == 0 && (wd.y0 >= wd.y1 || wd.x0 >= wd.x1)) acc = T(0);
    if (g.pool == 1) acc = wd.size > 0 ? acc / T(wd.size) : T(0);
    y[i] = E::store(acc);
  });
}

// The gradient, gathered: one thread per data element adds the shares of the windows holding it in
// the CPU's (oy, ox) order, from 0, so the sums are the CPU's. Max windows first record the index
// of their first maximum (the CPU's strict '>' scan) in `arg`.
template <typename S>
int pool_bwd(const PoolGeo g, const S* og, const S* x, S* dx, int64_t* arg, cudaStream_t s) {
  using E = Elem<S>;
  using T = typename E::C;
  const int64_t ohw = g.oh * g.ow, hw = g.h * g.w;
  if (g.pool == 0 && for_each(g.n * g.c * ohw, s, "_pooling_backward", [=] __device__(int64_t i) {
        const Window wd = window(g, (i % ohw) / g.ow, i % g.ow);
        const S* xp = x + (i / ohw) * hw;
        int64_t best = -1;
        for (int64_t yy = wd.y0; yy < wd.y1; ++yy)
          for (int64_t xx = wd.x0; xx < wd.x1; ++xx)
            if (best < 0 || E::load(xp[yy * g.w + xx]) > E::load(xp[best])) best = yy * g.w + xx;
        arg[i] = best;
      }))
    return -1;
  return for_each(g.n * g.c * hw, s, "_pooling_backward", [=] __device__(int64_t j) {
    const int64_t p = j / hw, r = j % hw, yy = r / g.w, xx = r % g.w;
    // Windows with y0 <= yy < y0 + kh (y0 = oy * sh - ph); likewise for x. window() rechecks.
    const int64_t oy0 = yy + g.ph < g.kh ? 0 : (yy + g.ph - g.kh) / g.sh + 1;
    const int64_t oy1 = imin(g.oh - 1, (yy + g.ph) / g.sh);
    const int64_t ox0 = xx + g.pw < g.kw ? 0 : (xx + g.pw - g.kw) / g.sw + 1;
    const int64_t ox1 = imin(g.ow - 1, (xx + g.pw) / g.sw);
    const S* gp = og + p * ohw;
    T acc = T(0);
    for (int64_t oy = oy0; oy <= oy1; ++oy)
      for (int64_t ox = ox0; ox <= ox1; ++ox) {
        const Window wd = window(g, oy, ox);
        if (yy < wd.y0 || yy >= wd.y1 || xx < wd.x0 || xx >= wd.x1) continue;
        const T gv = E::load(gp[oy * g.ow + ox]);
        if (g.pool == 0) {
          if (arg[p * ohw + oy * g.ow + ox] == r) acc += gv;
        } else {
          acc += g.pool == 1 ? (wd.size > 0 ? gv / T(wd.size) : T(0)) : gv;
        }
      }
    dx[j] = E::store(acc);
  });
}

template <bool BACKWARD>
int pool_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const PoolState& st = *static_cast<const PoolState*>(state);
  const char* op = BACKWARD ? "_pooling_backward" : "Pooling";
  if (st.ws > 0 && (!ctx->temp_space || ctx->temp_bytes < st.ws))
    return error(MX_ERR_INTERNAL, std::string(op) + ": the host passed " + std::to_string(ctx->temp_bytes) +
                                      " bytes of temp space, " + std::to_string(st.ws) + " are needed");
  cudaStream_t s = cuda_stream(ctx);
  auto go = [&](auto tag) {
    using T = decltype(tag);
    if constexpr (BACKWARD)
      return pool_bwd<T>(st.g, ptr<T>(in[0]), ptr<T>(in[1]), ptr<T>(out[0]), static_cast<int64_t*>(ctx->temp_space), s);
    else
      return pool_fwd<T>(st.g, ptr<T>(in[0]), ptr<T>(out[0]), s);
  };
  int rc = 0;
  dispatch_float(st.flag, [&](auto tag) { rc = go(tag); });
  return rc ? rc : finish(ctx, op);
}

uint64_t pool_workspace(void* state) { return static_cast<const PoolState*>(state)->ws; }
void pool_destroy(void* state) { delete static_cast<PoolState*>(state); }

const mx_kernel kConvKernels[] = {
    kernel("Convolution", conv_create<kFwd>, conv_run<kFwd>, conv_destroy, conv_workspace),
    kernel("_conv_backward_data", conv_create<kBwdData>, conv_run<kBwdData>, conv_destroy, conv_workspace),
    kernel("_conv_backward_weight", conv_create<kBwdWeight>, conv_run<kBwdWeight>, conv_destroy, conv_workspace),
    kernel("Deconvolution", conv_create<kDeconv>, conv_run<kDeconv>, conv_destroy, conv_workspace),
    kernel("Pooling", pool_create<false>, pool_run<false>, pool_destroy),
    kernel("_pooling_backward", pool_create<true>, pool_run<true>, pool_destroy, pool_workspace),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kConvKernels);

}  // namespace
}  // namespace mxcuda
