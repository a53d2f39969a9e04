// The geometry shared by the conv family's kernels (conv.cc) and pooling (pool.cc): every
// geometry is 3-d (depth, height, width); 1-d (NCW) and 2-d (NCHW) data run as 3-d with leading
// spatial dims of 1 (kernel 1, stride 1, pad 0), so one set of loops serves NCW, NCHW and NCDHW.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../cpu_backend.h"

namespace mxcpu {

inline bool conv_dtype(int32_t dt) { return dt == MX_FLOAT32 || dt == MX_FLOAT64 || dt == MX_FLOAT16 || dt == MX_BFLOAT16; }

constexpr int kDims = 3;  // spatial dims every geometry is widened to: depth, height, width

struct Geo {
  bool f64;
  int64_t n, c;                 // data batch and channels
  int64_t in[kDims];            // data spatial extent
  int64_t f;                    // filters
  int64_t k[kDims], s[kDims], d[kDims], p[kDims];  // kernel, stride, dilate, pad
  int64_t out[kDims];           // output spatial extent
  int64_t groups;
  bool bias;
  // pooling
  int pool;  // 0 max, 1 avg, 2 sum
  bool count_include_pad;

  int64_t in_plane() const { return in[0] * in[1] * in[2]; }
  int64_t out_plane() const { return out[0] * out[1] * out[2]; }
  int64_t taps() const { return k[0] * k[1] * k[2]; }
};

// Leading spatial dims a tensor of ndim dims lacks to be 3-d.
inline int missing_dims(const DLTensor& t) { return kDims - int(t.ndim - 2); }

// The spatial extent of t, widened to 3 dims with leading 1s.
inline void spatial_of(const DLTensor& t, int64_t (&e)[kDims]) {
  const int off = missing_dims(t);
  for (int i = 0; i < kDims; ++i) e[i] = i < off ? 1 : t.shape[2 + i - off];
}

// Fills the 3-d geometry from the data shape and attributes.
inline void geo_from(const mx_kernel_args* args, const DLTensor& data, bool conv, Geo& g) {
  g.f64 = data.dtype.bits == 64;
  const int off = missing_dims(data);
  g.n = data.shape[0];
  g.c = data.shape[1];
  spatial_of(data, g.in);
  // An absent attribute is def on every real dim; the added leading dims are 1 (pad 0).
  auto pick = [&](const char* name, int64_t def, int64_t (&v)[kDims]) {
    const auto a = attr_ints(attr(args, name));
    for (int i = 0; i < kDims; ++i)
      v[i] = i < off ? (std::strcmp(name, "pad") == 0 ? 0 : 1) : a.empty() ? def : a[size_t(i - off)];
  };
  const bool global = !conv && std::strcmp(attr(args, "global_pool"), "True") == 0;
  if (global) {
    for (int i = 0; i < kDims; ++i) g.k[i] = g.in[i], g.s[i] = 1, g.p[i] = 0;
  } else {
    pick("kernel", 1, g.k);
    pick("stride", 1, g.s);
    pick("pad", 0, g.p);
  }
  for (auto& v : g.d) v = 1;
  if (conv) {
    pick("dilate", 1, g.d);
    g.f = std::strtoll(attr(args, "num_filter"), nullptr, 10);
    g.groups = std::strtoll(attr(args, "num_group"), nullptr, 10);
    g.bias = std::strcmp(attr(args, "no_bias"), "True") != 0;
  } else {
    const std::string t = attr(args, "pool_type");
    g.pool = t == "max" ? 0 : t == "avg" ? 1 : 2;
    g.count_include_pad = std::strcmp(attr(args, "count_include_pad"), "True") == 0;
  }
}

}  // namespace mxcpu
