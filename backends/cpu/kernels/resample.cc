// The resample family (core/op/defs/resample.cc): UpSampling (nearest here; bilinear runs the
// Deconvolution kernel as a depthwise deconvolution), Pad and _backward_Pad. Pad never pads the
// batch and channel axes, so every (sample, channel) plane is independent.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

// ---------------------------------------------------------------- UpSampling

struct UpPlan {
  int32_t dtype;
  bool sum;
  const mx_kernel* deconv;  // bilinear: Deconvolution's kernel and its state
  void* deconv_state;
};

std::string pair_str(int64_t v) {
  const std::string s = std::to_string(v);
  std::string out = "(";
  out.append(s).append(",").append(s).append(")");
  return out;
}

int upsampling_create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_float(dt, [](auto) {})) return unsupported(args, dt);
  auto* p = new UpPlan{dt, std::strcmp(attr(args, "multi_input_mode"), "sum") == 0, nullptr, nullptr};
  if (std::strcmp(attr(args, "sample_type"), "bilinear") == 0) {
    // depthwise: kernel 2s - s%2, stride s, pad ceil((s-1)/2), one group per channel
    const int64_t s = attr_int(args, "scale"), c = args->inputs[0].shape[1];
    const std::string k = pair_str(2 * s - s % 2), stride = pair_str(s), pad = pair_str(s / 2), one = pair_str(1),
                      ch = std::to_string(c);
    const char* keys[] = {"kernel", "stride", "pad", "dilate", "num_filter", "num_group", "no_bias", "target_shape", "adj"};
    const char* vals[] = {k.c_str(), stride.c_str(), pad.c_str(), one.c_str(), ch.c_str(), ch.c_str(), "True", "()", "(0,0)"};
    mx_kernel_args a = *args;
    a.op_name = "Deconvolution";
    a.num_attrs = int32_t(std::size(keys));
    a.attr_keys = keys;
    a.attr_vals = vals;
    p->deconv = find_kernel("Deconvolution");
    const int rc = p->deconv ? p->deconv->create(&a, &p->deconv_state)
                             : error(MX_ERR_INTERNAL, "UpSampling: the cpu backend has no Deconvolution kernel");
    if (rc != 0) {
      delete p;
      return -1;
    }
  }
  *out = p;
  return 0;
}

// out[n, first + c, y, x] = in[n, c, y / f, x / f] (concat) or the sum over inputs (sum), f the
// input's factor.
template <typename T>
void nearest_t(const UpPlan& p, const DLTensor* in, int32_t nin, DLTensor& out) {
  const int64_t n = out.shape[0], oc = out.shape[1], oh = out.shape[2], ow = out.shape[3];
  T* y = reinterpret_cast<T*>(data_of(out));
  parallel_for(n * oc, 1, [&](int64_t lo, int64_t hi) {
    std::vector<double> plane(size_t(oh * ow));
    for (int64_t nc = lo; nc < hi; ++nc) {
      const int64_t b = nc / oc, co = nc % oc;
      std::fill(plane.begin(), plane.end(), 0.0);
      int64_t first = 0;
      for (int32_t i = 0; i < nin; ++i) {
        const DLTensor& t = in[i];
        const int64_t c = t.shape[1], h = t.shape[2], w = t.shape[3], f = oh / h;
        const int64_t ci = p.sum ? co : co - first;
        first += c;
        if (ci < 0 || ci >= c) continue;
        const T* x = reinterpret_cast<const T*>(data_of(t)) + (b * c + ci) * h * w;
        for (int64_t yy = 0; yy < oh; ++yy)
          for (int64_t xx = 0; xx < ow; ++xx) plane[size_t(yy * ow + xx)] += ld(x[(yy / f) * w + xx / f]);
      }
      for (int64_t k = 0; k < oh * ow; ++k) y[nc * oh * ow + k] = st<T>(plane[size_t(k)]);
    }
  });
}

int upsampling_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t nin, DLTensor* out, int32_t nout) {
  const UpPlan& p = *static_cast<const UpPlan*>(state);
  if (p.deconv) return p.deconv->run(p.deconv_state, ctx, in, nin, out, nout);
  dispatch_float(p.dtype, [&](auto tag) { nearest_t<decltype(tag)>(p, in, nin, out[0]); });
  return 0;
}

uint64_t upsampling_workspace(void* state) {
  const UpPlan& p = *static_cast<const UpPlan*>(state);
  if (!p.deconv || !MX_HAS_FIELD(p.deconv, mx_kernel, workspace_bytes) || !p.deconv->workspace_bytes) return 0;
  return p.deconv->workspace_bytes(p.deconv_state);
}

void upsampling_destroy(void* s) {
  auto* p = static_cast<UpPlan*>(s);
  if (p->deconv) p->deconv->destroy(p->deconv_state);
  delete p;
}

// ---------------------------------------------------------------- Pad

struct PadPlan {
  int32_t dtype;
  int mode;  // 0 constant, 1 edge, 2 reflect
  double value;
  int ndim;
  int64_t planes;              // batch * channels
  std::vector<int64_t> in, before, out;  // spatial axes only
  // Index along spatial axis d of the data element output coordinate o copies (-1: the constant).
  int64_t source(int d, int64_t o) const {
    const int64_t n = in[size_t(d)];
    int64_t s = o - before[size_t(d)];
    if (s >= 0 && s < n) return s;
    if (mode == 0) return -1;
    if (mode == 1) return s < 0 ? 0 : n - 1;
    return s < 0 ? -s : 2 * (n - 1) - s;  // reflect: pad < n, so one bounce suffices
  }
};

template <bool Backward>
int pad_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[Backward ? 1 : 0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_float(dt, [](auto) {})) return unsupported(args, dt);
  const std::string mode = attr(args, "mode");
  const auto width = attr_ints(attr(args, "pad_width"));
  auto* p = new PadPlan{dt, mode == "constant" ? 0 : mode == "edge" ? 1 : 2, attr_float(args, "constant_value"),
                        x.ndim - 2, x.shape[0] * x.shape[1], {}, {}, {}};
  for (int d = 2; d < x.ndim; ++d) {
    p->in.push_back(x.shape[d]);
    p->before.push_back(width[size_t(2 * d)]);
    p->out.push_back(x.shape[d] + width[size_t(2 * d)] + width[size_t(2 * d + 1)]);
  }
  *out = p;
  return 0;
}

// Visits every output element of one plane with its flat output index and its data source index
// within the plane (-1: constant).
template <typename F>
void each_padded(const PadPlan& p, F&& f) {
  int64_t total = 1;
  for (int64_t v : p.out) total *= v;
  std::vector<int64_t> c(size_t(p.ndim), 0);
  for (int64_t o = 0; o < total; ++o) {
    int64_t src = 0;
    for (int d = 0; d < p.ndim && src >= 0; ++d) {
      const int64_t s = p.source(d, c[size_t(d)]);
      src = s < 0 ? -1 : src * p.in[size_t(d)] + s;
    }
    f(o, src);
    for (int d = p.ndim - 1; d >= 0; --d) {  // next coordinate
      if (++c[size_t(d)] < p.out[size_t(d)]) break;
      c[size_t(d)] = 0;
    }
  }
}

template <bool Backward>
int pad_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const PadPlan& p = *static_cast<const PadPlan*>(state);
  int64_t in_plane = 1, out_plane = 1;
  for (int d = 0; d < p.ndim; ++d) in_plane *= p.in[size_t(d)], out_plane *= p.out[size_t(d)];
  dispatch_float(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* src = reinterpret_cast<const T*>(data_of(in[0]));
    T* dst = reinterpret_cast<T*>(data_of(out[0]));
    parallel_for(p.planes, 1, [&](int64_t lo, int64_t hi) {
      std::vector<double> acc(size_t(Backward ? in_plane : 0));
      for (int64_t pl = lo; pl < hi; ++pl) {
        if (Backward) {  // dx[source] += og
          std::fill(acc.begin(), acc.end(), 0.0);
          const T* og = src + pl * out_plane;
          each_padded(p, [&](int64_t o, int64_t s) {
            if (s >= 0) acc[size_t(s)] += ld(og[o]);
          });
          for (int64_t k = 0; k < in_plane; ++k) dst[pl * in_plane + k] = st<T>(acc[size_t(k)]);
        } else {
          const T* x = src + pl * in_plane;
          T* y = dst + pl * out_plane;
          const T fill = st<T>(p.value);
          each_padded(p, [&](int64_t o, int64_t s) { y[o] = s >= 0 ? x[s] : fill; });
        }
      }
    });
  });
  return 0;
}

void pad_destroy(void* s) { delete static_cast<PadPlan*>(s); }

const mx_kernel kResampleKernels[] = {
    kernel("UpSampling", upsampling_create, upsampling_run, upsampling_destroy, upsampling_workspace),
    kernel("Pad", pad_create<false>, pad_run<false>, pad_destroy),
    kernel("_backward_Pad", pad_create<true>, pad_run<true>, pad_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kResampleKernels);

}  // namespace
}  // namespace mxcpu
