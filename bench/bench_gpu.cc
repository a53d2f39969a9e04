// GPU benchmarks (issue 14), each beside its peer measured in the same process, on the same device
// buffers (the raw calls reach mx's arrays through DLPack):
//  - dot 4096x4096x4096 in float32, float16 and bfloat16 vs one cublasGemmEx (compute 32F) per
//    product: TFLOP/s of both (target >= 0.95x). The peer's handle uses cuBLAS's default math mode
//    (TF32 for float32 only when MX_CUDA_ALLOW_TENSOR_CORE=1, as mx); a second peer in
//    CUBLAS_PEDANTIC_MATH (mx's mode) is printed beside it to tell math mode from overhead;
//  - Convolution forward + backward data + backward weight (no bias) for LeNet's two layers
//    (batch 64: 1x28x28 -> 20x5x5, 20x12x12 -> 50x5x5) and a ResNet-50 3x3 layer (batch 64,
//    64x56x56 -> 64, pad 1) vs cudnnConvolutionForward / BackwardData / BackwardFilter with the
//    algorithms cudnnFind* picks and the workspace allocated beforehand (target >= 0.9x). float32
//    in FMA math (no TF32) unless MX_CUDA_ALLOW_TENSOR_CORE=1, as mx;
//  - elemwise_add of 2^28 float32 vs a device-to-device cudaMemcpy of 2^28 float32, as effective
//    bandwidth: 3 arrays' bytes for the add, 2 for the copy (target >= 0.85x);
//  - tiny-op rate: 100k in-place _plus_scalar on a 1-element gpu array through the C API, ops/s
//    (target >= 300k/s), beside 100k raw 4-byte cudaMemsetAsync calls.
// mx's results are checked against the peer's (relative L2 error; outputs poisoned with NaN first):
// a wrong result or an mx error other than "unsupported" makes the exit status 1. Speed targets are
// printed as met / not met, never enforced. Timing: a warm-up burst, then the median of several
// bursts, wall clock from the first enqueue to the end of a device-wide synchronisation.
// Without a usable GPU it prints "no GPU: <reason>" and exits 77. Prints a table and one JSON line
// (prefix "JSON "). The LeNet training epoch on the GPU is scripts/gpu-check.sh's (the example).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <dlpack/dlpack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "mx/c_api.h"

namespace {

using Clock = std::chrono::steady_clock;

// An mx call that failed: its message and MX_ERR_* code. Unsupported ops end one section only.
struct MxError : std::runtime_error {
  int code;
  MxError(const std::string& m, int c) : std::runtime_error(m), code(c) {}
};

void mxok(int rc, const char* what) {
  if (rc != 0) throw MxError(std::string(what) + ": " + mx_get_last_error(), mx_get_last_error_code());
}

// A failing CUDA / cuBLAS / cuDNN call in the peer's code is a broken machine: stop.
[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "bench_gpu: %s\n", m.c_str());
  std::exit(1);
}
void cu(cudaError_t e, const char* what) {
  if (e != cudaSuccess) die(std::string(what) + ": " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}
void cb(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) die(std::string(what) + ": " + cublasGetStatusString(s));
}
void cd(cudnnStatus_t s, const char* what) {
  if (s != CUDNN_STATUS_SUCCESS) die(std::string(what) + ": " + cudnnGetErrorString(s));
}

bool tensor_cores_allowed() {  // mirrors the CUDA backend's switch
  for (const char* name : {"MX_CUDA_ALLOW_TENSOR_CORE", "MXNET_CUDA_ALLOW_TENSOR_CORE"}) {
    const char* v = std::getenv(name);
    if (v && *v) return !std::strcmp(v, "1") || !std::strcmp(v, "true") || !std::strcmp(v, "True");
  }
  return false;
}

// ---- host values in the three float dtypes (float16 through GCC's _Float16, round to nearest even)
size_t dtype_bytes(int32_t dt) { return dt == MX_FLOAT32 ? 4 : 2; }

std::vector<unsigned char> encode(const std::vector<float>& v, int32_t dt) {
  std::vector<unsigned char> out(v.size() * dtype_bytes(dt));
  for (size_t i = 0; i < v.size(); ++i) {
    if (dt == MX_FLOAT32) {
      std::memcpy(&out[i * 4], &v[i], 4);
    } else if (dt == MX_FLOAT16) {
      const _Float16 h = static_cast<_Float16>(v[i]);
      std::memcpy(&out[i * 2], &h, 2);
    } else {
      uint32_t b;
      std::memcpy(&b, &v[i], 4);
      const uint16_t r = std::isnan(v[i]) ? uint16_t(0x7fc0) : uint16_t((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
      std::memcpy(&out[i * 2], &r, 2);
    }
  }
  return out;
}

std::vector<float> decode(const std::vector<unsigned char>& raw, int32_t dt) {
  std::vector<float> out(raw.size() / dtype_bytes(dt));
  for (size_t i = 0; i < out.size(); ++i) {
    if (dt == MX_FLOAT32) {
      std::memcpy(&out[i], &raw[i * 4], 4);
    } else if (dt == MX_FLOAT16) {
      _Float16 h;
      std::memcpy(&h, &raw[i * 2], 2);
      out[i] = static_cast<float>(h);
    } else {
      uint16_t r;
      std::memcpy(&r, &raw[i * 2], 2);
      const uint32_t b = uint32_t(r) << 16;
      std::memcpy(&out[i], &b, 4);
    }
  }
  return out;
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = u(g);
  return v;
}

// ---- gpu arrays: mx handles, with their device pointers taken through DLPack for the peers
struct Arrays {
  std::vector<mx_ndarray_t> handles;
  std::vector<DLManagedTensor*> views;
  ~Arrays() {
    mx_ndarray_wait_all();
    for (DLManagedTensor* t : views)
      if (t->deleter) t->deleter(t);
    for (mx_ndarray_t h : handles) mx_ndarray_free(h);
  }
  // An array of `shape` on gpu(0): `fill` values, or NaN (a poisoned output) when fill is empty.
  mx_ndarray_t make(std::vector<int64_t> shape, int32_t dt, const std::vector<float>& fill = {}) {
    mx_ndarray_t h;
    mxok(mx_ndarray_create(shape.data(), int32_t(shape.size()), dt, MX_DEVICE_GPU, 0, &h), "mx_ndarray_create");
    handles.push_back(h);
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const std::vector<unsigned char> bytes =
        encode(fill.empty() ? std::vector<float>(size_t(n), NAN) : fill, dt);
    mxok(mx_ndarray_copy_from_host(h, bytes.data(), bytes.size()), "mx_ndarray_copy_from_host");
    return h;
  }
  void* ptr(mx_ndarray_t h) {
    DLManagedTensor* t = nullptr;
    mxok(mx_ndarray_to_dlpack(h, &t), "mx_ndarray_to_dlpack");
    views.push_back(t);
    if (t->dl_tensor.device.device_type != kDLCUDA || t->dl_tensor.device.device_id != 0)
      die("a gpu(0) array's DLPack tensor is not on CUDA device 0");
    return static_cast<char*>(t->dl_tensor.data) + t->dl_tensor.byte_offset;
  }
};

std::vector<float> to_host(mx_ndarray_t h, int32_t dt) {
  int64_t n = 0;
  mxok(mx_ndarray_get_size(h, &n), "mx_ndarray_get_size");
  std::vector<unsigned char> raw(size_t(n) * dtype_bytes(dt));
  mxok(mx_ndarray_copy_to_host(h, raw.data(), raw.size()), "mx_ndarray_copy_to_host");
  return decode(raw, dt);
}

// ||a - b|| / ||b||, infinite when a holds a NaN (an element mx never wrote).
double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) return INFINITY;
    const double d = double(a[i]) - double(b[i]);
    num += d * d;
    den += double(b[i]) * double(b[i]);
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

void invoke(const char* op, std::vector<mx_ndarray_t> in, mx_ndarray_t out,
            const std::vector<std::pair<const char*, std::string>>& attrs = {}) {
  std::vector<const char*> k, v;
  for (const auto& [key, val] : attrs) {
    k.push_back(key);
    v.push_back(val.c_str());
  }
  mx_ndarray_t* o = &out;
  int32_t n = 1;
  mxok(mx_imperative_invoke(op, int32_t(in.size()), in.data(), &n, &o, int32_t(k.size()), k.data(), v.data()), op);
}

// Everything mx pushed, finished on the device too.
void mx_sync() {
  mxok(mx_ndarray_wait_all(), "mx_ndarray_wait_all");
  cu(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

// Median over `reps` of (wall time of `burst` calls of f, then `sync`) / burst, in ms; one warm burst first.
double median_ms(int reps, int burst, const std::function<void()>& f, const std::function<void()>& sync) {
  for (int i = 0; i < burst; ++i) f();
  sync();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < burst; ++i) f();
    sync();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count() / burst);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

const char* verdict(double ratio, double target) { return ratio >= target ? "met" : "NOT met"; }

// A section's outcome: "ok", "unsupported: ...", "error: ..." or "MISMATCH ...".
struct Outcome {
  std::string status = "ok";
  bool failed = false;
};

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    o += c;
  }
  return o + "\"";
}

std::string num(double v) {  // JSON number, null for "not measured"
  if (!(v > 0) || !std::isfinite(v)) return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

// Runs a section; an mx error ends it with the message (unsupported ops do not fail the run).
Outcome guarded(const char* name, const std::function<void(Outcome&)>& body) {
  Outcome o;
  try {
    body(o);
  } catch (const MxError& e) {
    o.status = std::string(e.code == MX_ERR_UNSUPPORTED ? "unsupported: " : "error: ") + e.what();
    o.failed = e.code != MX_ERR_UNSUPPORTED;
    std::printf("%s: %s\n", name, o.status.c_str());
    mx_ndarray_wait_all();  // clear the error for the next section
  }
  return o;
}

// Why no GPU is usable: the CUDA backend's own message, or that none was loaded.
std::string no_gpu_reason() {
  int32_t count = 0;
  if (mx_backend_count(&count) != 0) return std::string("mx_backend_count: ") + mx_get_last_error();
  for (int32_t i = 0; i < count; ++i) {
    mx_backend_info info{};
    info.struct_size = sizeof info;
    if (mx_backend_get_info(i, &info) != 0) continue;
    const bool cuda = info.device_type == MX_DEVICE_GPU || (info.name && std::strstr(info.name, "cuda")) ||
                      (info.path && std::strstr(info.path, "cuda"));
    if (cuda)
      return std::string("CUDA backend ") + (info.path ? info.path : "?") + ": " +
             (info.message && *info.message ? info.message : "0 devices");
  }
  const char* p = std::getenv("MX_BACKEND_PATH");
  return std::string("no CUDA backend plugin was loaded (MX_BACKEND_PATH=") + (p ? p : "unset") + ")";
}

// ------------------------------------------------------------------ dot vs cublasGemmEx
struct GemmResult {
  const char* dtype;
  double mx_ms = 0, peer_ms = 0, pedantic_ms = 0, err = 0;
  Outcome o;
};

GemmResult bench_dot(int32_t dt, const char* name, cudaDataType_t cuda_dt, cudaStream_t stream,
                     cublasHandle_t peer, cublasHandle_t pedantic) {
  GemmResult r;
  r.dtype = name;
  constexpr int64_t n = 4096;
  r.o = guarded((std::string("dot ") + name).c_str(), [&](Outcome& o) {
    Arrays g;
    mx_ndarray_t a = g.make({n, n}, dt, random_values(size_t(n * n), 1)),
                 b = g.make({n, n}, dt, random_values(size_t(n * n), 2)), c = g.make({n, n}, dt),
                 c_raw = g.make({n, n}, dt);
    void *pa = g.ptr(a), *pb = g.ptr(b), *pc = g.ptr(c_raw);
    const float one = 1, zero = 0;
    // Row-major C = A B is column-major C^T = B^T A^T.
    auto gemm = [&](cublasHandle_t h) {
      cb(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, int(n), int(n), int(n), &one, pb, cuda_dt, int(n), pa, cuda_dt,
                      int(n), &zero, pc, cuda_dt, int(n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
         "cublasGemmEx");
    };
    auto raw_sync = [&] { cu(cudaStreamSynchronize(stream), "cudaStreamSynchronize"); };
    mx_sync();
    r.pedantic_ms = median_ms(7, 5, [&] { gemm(pedantic); }, raw_sync);
    r.peer_ms = median_ms(7, 5, [&] { gemm(peer); }, raw_sync);
    r.mx_ms = median_ms(7, 5, [&] { invoke("dot", {a, b}, c); }, mx_sync);
    r.err = rel_err(to_host(c, dt), to_host(c_raw, dt));
    const double tol = dt == MX_FLOAT32 ? (tensor_cores_allowed() ? 5e-3 : 1e-5) : dt == MX_FLOAT16 ? 5e-3 : 2e-2;
    if (!(r.err <= tol)) {
      o.status = "MISMATCH: relative error " + std::to_string(r.err) + " vs cuBLAS (tolerance " + std::to_string(tol) + ")";
      o.failed = true;
    }
  });
  return r;
}

// ------------------------------------------------------------------ Convolution vs cuDNN
struct ConvCase {
  const char* name;
  int n, c, hw, f, k, pad;
};

struct ConvResult {
  const char* name;
  double mx_ms = 0, peer_ms = 0, err_y = 0, err_dx = 0, err_dw = 0;
  std::string algos;
  Outcome o;
};

// The first algorithm cudnnFind* ranked that succeeded in an allowed math mode (no TF32 unless allowed).
template <typename Perf>
const Perf& pick(const Perf* perf, int returned, const char* what) {
  for (int i = 0; i < returned; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (!tensor_cores_allowed() && perf[i].mathType != CUDNN_FMA_MATH && perf[i].mathType != CUDNN_DEFAULT_MATH)
      continue;
    return perf[i];
  }
  die(std::string(what) + ": no algorithm usable");
}

ConvResult bench_conv(const ConvCase& s, cudaStream_t stream, cudnnHandle_t dnn) {
  ConvResult r;
  r.name = s.name;
  r.o = guarded(s.name, [&](Outcome& o) {
    const int oh = s.hw + 2 * s.pad - s.k + 1;
    Arrays g;
    const std::vector<int64_t> xs{s.n, s.c, s.hw, s.hw}, ws{s.f, s.c, s.k, s.k}, ys{s.n, s.f, oh, oh};
    auto count = [](const std::vector<int64_t>& sh) {
      size_t m = 1;
      for (int64_t d : sh) m *= size_t(d);
      return m;
    };
    mx_ndarray_t x = g.make(xs, MX_FLOAT32, random_values(count(xs), 3)),
                 w = g.make(ws, MX_FLOAT32, random_values(count(ws), 4)),
                 dy = g.make(ys, MX_FLOAT32, random_values(count(ys), 5)), y = g.make(ys, MX_FLOAT32),
                 dx = g.make(xs, MX_FLOAT32), dw = g.make(ws, MX_FLOAT32), y_raw = g.make(ys, MX_FLOAT32),
                 dx_raw = g.make(xs, MX_FLOAT32), dw_raw = g.make(ws, MX_FLOAT32);
    void *px = g.ptr(x), *pw = g.ptr(w), *pdy = g.ptr(dy), *py = g.ptr(y_raw), *pdx = g.ptr(dx_raw),
         *pdw = g.ptr(dw_raw);

    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t conv[3];  // forward, backward data, backward filter: each its algorithm's math
    cd(cudnnCreateTensorDescriptor(&xd), "cudnnCreateTensorDescriptor");
    cd(cudnnCreateTensorDescriptor(&yd), "cudnnCreateTensorDescriptor");
    cd(cudnnCreateFilterDescriptor(&wd), "cudnnCreateFilterDescriptor");
    cd(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.c, s.hw, s.hw), "cudnnSetTensor4dDescriptor");
    cd(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.n, s.f, oh, oh), "cudnnSetTensor4dDescriptor");
    cd(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s.f, s.c, s.k, s.k), "cudnnSetFilter4dDescriptor");
    for (auto& c : conv) {
      cd(cudnnCreateConvolutionDescriptor(&c), "cudnnCreateConvolutionDescriptor");
      cd(cudnnSetConvolution2dDescriptor(c, s.pad, s.pad, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
         "cudnnSetConvolution2dDescriptor");
      cd(cudnnSetConvolutionMathType(c, tensor_cores_allowed() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
         "cudnnSetConvolutionMathType");
    }
    int got = 0;
    cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    cudnnConvolutionBwdDataAlgoPerf_t dp[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    cudnnConvolutionBwdFilterAlgoPerf_t wp[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    mx_sync();
    cd(cudnnFindConvolutionForwardAlgorithm(dnn, xd, wd, conv[0], yd, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, fp),
       "cudnnFindConvolutionForwardAlgorithm");
    const auto fa = pick(fp, got, "forward");
    cd(cudnnFindConvolutionBackwardDataAlgorithm(dnn, wd, yd, conv[1], xd, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, dp),
       "cudnnFindConvolutionBackwardDataAlgorithm");
    const auto da = pick(dp, got, "backward data");
    cd(cudnnFindConvolutionBackwardFilterAlgorithm(dnn, xd, yd, conv[2], wd, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                   &got, wp),
       "cudnnFindConvolutionBackwardFilterAlgorithm");
    const auto wa = pick(wp, got, "backward filter");
    cd(cudnnSetConvolutionMathType(conv[0], fa.mathType), "cudnnSetConvolutionMathType");
    cd(cudnnSetConvolutionMathType(conv[1], da.mathType), "cudnnSetConvolutionMathType");
    cd(cudnnSetConvolutionMathType(conv[2], wa.mathType), "cudnnSetConvolutionMathType");
    r.algos = "fwd " + std::to_string(int(fa.algo)) + ", bwd data " + std::to_string(int(da.algo)) + ", bwd filter " +
              std::to_string(int(wa.algo));
    const size_t ws_bytes = std::max({fa.memory, da.memory, wa.memory, size_t(1)});
    void* workspace = nullptr;
    cu(cudaMalloc(&workspace, ws_bytes), "cudaMalloc (cuDNN workspace)");
    const float one = 1, zero = 0;
    auto raw_step = [&] {
      cd(cudnnConvolutionForward(dnn, &one, xd, px, wd, pw, conv[0], fa.algo, workspace, ws_bytes, &zero, yd, py),
         "cudnnConvolutionForward");
      cd(cudnnConvolutionBackwardData(dnn, &one, wd, pw, yd, pdy, conv[1], da.algo, workspace, ws_bytes, &zero, xd, pdx),
         "cudnnConvolutionBackwardData");
      cd(cudnnConvolutionBackwardFilter(dnn, &one, xd, px, yd, pdy, conv[2], wa.algo, workspace, ws_bytes, &zero, wd, pdw),
         "cudnnConvolutionBackwardFilter");
    };
    const std::vector<std::pair<const char*, std::string>> attrs = {
        {"kernel", "(" + std::to_string(s.k) + "," + std::to_string(s.k) + ")"},
        {"pad", "(" + std::to_string(s.pad) + "," + std::to_string(s.pad) + ")"},
        {"num_filter", std::to_string(s.f)},
        {"no_bias", "True"}};
    auto mx_step = [&] {
      invoke("Convolution", {x, w}, y, attrs);
      invoke("_conv_backward_data", {dy, w, x}, dx, attrs);
      invoke("_conv_backward_weight", {dy, x}, dw, attrs);
    };
    r.peer_ms = median_ms(9, 5, raw_step, [&] { cu(cudaStreamSynchronize(stream), "cudaStreamSynchronize"); });
    r.mx_ms = median_ms(9, 5, mx_step, mx_sync);
    cu(cudaFree(workspace), "cudaFree");
    for (auto& c : conv) cudnnDestroyConvolutionDescriptor(c);
    cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyTensorDescriptor(xd);
    r.err_y = rel_err(to_host(y, MX_FLOAT32), to_host(y_raw, MX_FLOAT32));
    r.err_dx = rel_err(to_host(dx, MX_FLOAT32), to_host(dx_raw, MX_FLOAT32));
    r.err_dw = rel_err(to_host(dw, MX_FLOAT32), to_host(dw_raw, MX_FLOAT32));
    const double tol = tensor_cores_allowed() ? 5e-3 : 1e-5;
    if (!(std::max({r.err_y, r.err_dx, r.err_dw}) <= tol)) {
      o.status = "MISMATCH vs cuDNN: relative errors y " + std::to_string(r.err_y) + ", dx " + std::to_string(r.err_dx) +
                 ", dw " + std::to_string(r.err_dw) + " (tolerance " + std::to_string(tol) + ")";
      o.failed = true;
    }
  });
  return r;
}

}  // namespace

int main() {
  int32_t gpus = 0;
  if (mx_device_count(MX_DEVICE_GPU, &gpus) != 0) {
    std::printf("no GPU: mx_device_count failed: %s\n", mx_get_last_error());
    return 77;
  }
  int cuda_count = 0;
  const cudaError_t ce = cudaGetDeviceCount(&cuda_count);
  if (gpus == 0 || ce != cudaSuccess || cuda_count == 0) {
    std::string why = gpus == 0 ? no_gpu_reason()
                                : std::string("cudaGetDeviceCount: ") + cudaGetErrorName(ce) + ": " + cudaGetErrorString(ce);
    std::printf("no GPU: %s\n", why.c_str());
    std::printf("JSON {\"bench\":\"gpu\",\"skipped\":%s}\n", json_str("no GPU: " + why).c_str());
    return 77;
  }
  mx_device_info dev{};
  dev.struct_size = sizeof dev;
  mxok(mx_device_get_info(MX_DEVICE_GPU, 0, &dev), "mx_device_get_info");
  std::printf("bench_gpu on %s; tensor cores for float32 %s\n", dev.name, tensor_cores_allowed() ? "ALLOWED" : "off");

  cu(cudaSetDevice(0), "cudaSetDevice");
  cudaStream_t stream;
  cu(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  cublasHandle_t peer, pedantic;
  cb(cublasCreate(&peer), "cublasCreate");
  cb(cublasCreate(&pedantic), "cublasCreate");
  cb(cublasSetStream(peer, stream), "cublasSetStream");
  cb(cublasSetStream(pedantic, stream), "cublasSetStream");
  cb(cublasSetMathMode(peer, tensor_cores_allowed() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  cb(cublasSetMathMode(pedantic, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
  cudnnHandle_t dnn;
  cd(cudnnCreate(&dnn), "cudnnCreate");
  cd(cudnnSetStream(dnn, stream), "cudnnSetStream");
  bool failed = false;

  // ---- dot 4096^3
  std::vector<GemmResult> gemms = {bench_dot(MX_FLOAT32, "float32", CUDA_R_32F, stream, peer, pedantic),
                                   bench_dot(MX_FLOAT16, "float16", CUDA_R_16F, stream, peer, pedantic),
                                   bench_dot(MX_BFLOAT16, "bfloat16", CUDA_R_16BF, stream, peer, pedantic)};

  // ---- convolutions
  const ConvCase cases[] = {{"lenet_conv1", 64, 1, 28, 20, 5, 0},
                            {"lenet_conv2", 64, 20, 12, 50, 5, 0},
                            {"resnet50_3x3", 64, 64, 56, 64, 3, 1}};
  std::vector<ConvResult> convs;
  for (const ConvCase& c : cases) convs.push_back(bench_conv(c, stream, dnn));

  // ---- elemwise_add 2^28 float32 vs cudaMemcpy device to device
  const int64_t big = int64_t(1) << 28;
  double add_ms = 0, copy_ms = 0;
  const Outcome add = guarded("elemwise_add", [&](Outcome& o) {
    Arrays g;
    std::vector<float> va(static_cast<size_t>(big)), vb(static_cast<size_t>(big));
    for (int64_t i = 0; i < big; ++i) {
      va[size_t(i)] = float(i % 1000) * 0.25f;
      vb[size_t(i)] = float(i % 997) - 300.f;
    }
    mx_ndarray_t a = g.make({big}, MX_FLOAT32, va), b = g.make({big}, MX_FLOAT32, vb), c = g.make({big}, MX_FLOAT32);
    void *pa = g.ptr(a), *pc = g.ptr(c);
    mx_sync();
    copy_ms = median_ms(9, 5, [&] { cu(cudaMemcpyAsync(pc, pa, size_t(big) * 4, cudaMemcpyDeviceToDevice, stream), "cudaMemcpyAsync"); },
                        [&] { cu(cudaStreamSynchronize(stream), "cudaStreamSynchronize"); });
    add_ms = median_ms(9, 5, [&] { invoke("elemwise_add", {a, b}, c); }, mx_sync);
    const std::vector<float> vc = to_host(c, MX_FLOAT32);
    for (size_t i = 0; i < vc.size(); ++i)
      if (vc[i] != va[i] + vb[i]) {
        o.status = "MISMATCH: element " + std::to_string(i) + " is " + std::to_string(vc[i]) + ", expected " +
                   std::to_string(va[i] + vb[i]);
        o.failed = true;
        break;
      }
  });
  const double add_gbs = add_ms > 0 ? 3.0 * 4 * double(big) / (add_ms * 1e6) : 0;
  const double copy_gbs = copy_ms > 0 ? 2.0 * 4 * double(big) / (copy_ms * 1e6) : 0;

  // ---- tiny ops: 100k in-place _plus_scalar on one element vs 100k raw 4-byte cudaMemsetAsync
  constexpr int kTiny = 100000;
  double tiny_ops = 0, memset_ops = 0;
  const Outcome tiny = guarded("_plus_scalar", [&](Outcome& o) {
    Arrays g;
    mx_ndarray_t x = g.make({1}, MX_FLOAT32, {0.f});
    void* px = g.ptr(x);
    const std::vector<std::pair<const char*, std::string>> one = {{"scalar", "1"}};
    for (int i = 0; i < 1000; ++i) invoke("_plus_scalar", {x}, x, one);
    mx_sync();
    auto t0 = Clock::now();
    for (int i = 0; i < kTiny; ++i) invoke("_plus_scalar", {x}, x, one);
    mx_sync();
    tiny_ops = kTiny / std::chrono::duration<double>(Clock::now() - t0).count();
    const float v = to_host(x, MX_FLOAT32)[0];
    if (v != float(kTiny + 1000)) {
      o.status = "MISMATCH: after " + std::to_string(kTiny + 1000) + " increments the value is " + std::to_string(v);
      o.failed = true;
    }
    for (int i = 0; i < 1000; ++i) cu(cudaMemsetAsync(px, 0, 4, stream), "cudaMemsetAsync");
    cu(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    t0 = Clock::now();
    for (int i = 0; i < kTiny; ++i) cu(cudaMemsetAsync(px, 0, 4, stream), "cudaMemsetAsync");
    cu(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    memset_ops = kTiny / std::chrono::duration<double>(Clock::now() - t0).count();
  });

  cudnnDestroy(dnn);
  cublasDestroy(pedantic);
  cublasDestroy(peer);
  cudaStreamDestroy(stream);

  // ---- report
  std::printf("\n%-46s %11s %11s %8s %8s  %s\n", "benchmark", "mx", "peer", "ratio", "target", "");
  std::string json = "{\"bench\":\"gpu\",\"device\":" + json_str(dev.name) +
                     ",\"tf32\":" + (tensor_cores_allowed() ? "true" : "false");
  for (const GemmResult& r : gemms) {
    const double flop = 2.0 * 4096.0 * 4096.0 * 4096.0;
    const double tm = r.mx_ms > 0 ? flop / (r.mx_ms * 1e9) : 0, tp = flop / (r.peer_ms * 1e9),
                 tq = r.pedantic_ms > 0 ? flop / (r.pedantic_ms * 1e9) : 0, ratio = tp > 0 ? tm / tp : 0;
    failed |= r.o.failed;
    if (r.o.status == "ok")
      std::printf("%-46s %8.1f TF %8.1f TF %8.3f %8s  %s (pedantic cuBLAS %.1f TF; rel err %.1e)\n",
                  (std::string("dot 4096^3 ") + r.dtype + " (peer: cublasGemmEx)").c_str(), tm, tp, ratio, ">=0.95",
                  verdict(ratio, 0.95), tq, r.err);
    else
      std::printf("%-46s %11s %8.1f TF %8s %8s  %s\n", (std::string("dot 4096^3 ") + r.dtype).c_str(), "-", tp, "-",
                  ">=0.95", r.o.status.c_str());
    const std::string p = std::string(",\"dot_") + r.dtype;
    json += p + "_tflops\":" + num(r.o.status == "ok" ? tm : 0) + p + "_cublas_tflops\":" + num(tp) + p +
            "_cublas_pedantic_tflops\":" + num(tq) + p + "_ratio\":" + num(r.o.status == "ok" ? ratio : 0) + p +
            "_status\":" + json_str(r.o.status);
  }
  double conv_mx_total = 0, conv_peer_total = 0;
  bool conv_all = true;
  for (const ConvResult& r : convs) {
    failed |= r.o.failed;
    const double ratio = r.mx_ms > 0 ? r.peer_ms / r.mx_ms : 0;
    if (r.o.status == "ok") {
      conv_mx_total += r.mx_ms;
      conv_peer_total += r.peer_ms;
      std::printf("%-46s %8.3f ms %8.3f ms %8.3f %8s  %s (cuDNN algos %s)\n",
                  (std::string(r.name) + " fwd+bwd (peer: cuDNN)").c_str(), r.mx_ms, r.peer_ms, ratio, ">=0.9",
                  verdict(ratio, 0.9), r.algos.c_str());
    } else {
      conv_all = false;
      std::printf("%-46s %11s %8.3f ms %8s %8s  %s\n", (std::string(r.name) + " fwd+bwd").c_str(), "-", r.peer_ms, "-",
                  ">=0.9", r.o.status.c_str());
    }
    const std::string p = std::string(",\"") + r.name;
    json += p + "_ms\":" + num(r.o.status == "ok" ? r.mx_ms : 0) + p + "_cudnn_ms\":" + num(r.peer_ms) + p +
            "_ratio\":" + num(r.o.status == "ok" ? ratio : 0) + p + "_status\":" + json_str(r.o.status);
  }
  failed |= add.failed || tiny.failed;
  const double bw_ratio = copy_gbs > 0 ? add_gbs / copy_gbs : 0;
  if (add.status == "ok")
    std::printf("%-46s %6.0f GB/s %6.0f GB/s %8.3f %8s  %s\n", "elemwise_add 2^28 f32 (peer: cudaMemcpy D2D)", add_gbs,
                copy_gbs, bw_ratio, ">=0.85", verdict(bw_ratio, 0.85));
  else
    std::printf("%-46s %11s %6.0f GB/s %8s %8s  %s\n", "elemwise_add 2^28 f32", "-", copy_gbs, "-", ">=0.85",
                add.status.c_str());
  if (tiny.status == "ok")
    std::printf("%-46s %7.0f k/s %7.0f k/s %8s %8s  %s\n", "_plus_scalar 1 elem (peer: cudaMemsetAsync 4 B)",
                tiny_ops / 1e3, memset_ops / 1e3, "-", ">=300k/s", verdict(tiny_ops, 3e5));
  else
    std::printf("%-46s %11s %7.0f k/s %8s %8s  %s\n", "_plus_scalar 1 elem", "-", memset_ops / 1e3, "-", ">=300k/s",
                tiny.status.c_str());
  json += ",\"conv_total_ms\":" + num(conv_all ? conv_mx_total : 0) +
          ",\"conv_total_cudnn_ms\":" + num(conv_all ? conv_peer_total : 0) +
          ",\"conv_total_ratio\":" + num(conv_all && conv_mx_total > 0 ? conv_peer_total / conv_mx_total : 0) +
          ",\"add_2p28_gbs\":" + num(add.status == "ok" ? add_gbs : 0) + ",\"memcpy_2p28_gbs\":" + num(copy_gbs) +
          ",\"add_bandwidth_ratio\":" + num(add.status == "ok" ? bw_ratio : 0) + ",\"add_status\":" + json_str(add.status) +
          ",\"tiny_ops_per_s\":" + num(tiny.status == "ok" ? tiny_ops : 0) + ",\"memset_ops_per_s\":" + num(memset_ops) +
          ",\"tiny_status\":" + json_str(tiny.status) + ",\"failed\":" + (failed ? "true" : "false") + "}";
  std::printf("JSON %s\n", json.c_str());
  return failed ? 1 : 0;
}
