// Naive float64 references for the ops the oneDNN plugin serves, written from the definitions
// (direct loops, MXNet's window rules), independent of any kernel; and the float32 / bfloat16
// roundings the tests feed the kernels. Shared by kernels_test.cc and host_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ref {

using Vec = std::vector<double>;

// The value a float32 / bfloat16 tensor holds for v (bfloat16: round to nearest even).
double to_f32(double v);
double to_bf16(double v);
uint16_t bf16_bits(double v);
double from_bf16_bits(uint16_t b);

// Uniform values in [lo, hi), reproducible from seed.
Vec uniform(size_t n, double lo, double hi, uint64_t seed);

// A 2-d convolution (1-d: h = kh = 1, sh = dh = 1, ph = 0): data (n, c, h, w), weight
// (f, c/groups, kh, kw), output (n, f, oh, ow) with oh = (h + 2ph - dh(kh-1) - 1) / sh + 1.
struct Conv {
  int64_t n, c, h, w, f, kh, kw, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  int64_t oh() const { return (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1; }
  int64_t ow() const { return (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1; }
};
Vec conv_forward(const Vec& x, const Vec& w, const Vec* bias, const Conv& g);
// The adjoints of conv_forward: d(sum(og * y))/dx and /dweight.
Vec conv_backward_data(const Vec& og, const Vec& w, const Conv& g);
Vec conv_backward_weight(const Vec& og, const Vec& x, const Conv& g);
// Deconvolution of x (n, c_in, ih, iw) with weight (c_in, f/groups, kh, kw): each input pixel
// scattered through the kernel into an output of (n, f, oh, ow), output pixel
// (iy*sh - ph + ky*dh, ix*sw - pw + kx*dw), plus bias per output channel.
Vec deconv_forward(const Vec& x, const Vec& w, const Vec* bias, int64_t n, int64_t c_in, int64_t ih, int64_t iw,
                   int64_t f, int64_t oh, int64_t ow, const Conv& geometry);

// Pooling over planes (n * c) of (h, w) with MXNet's window rules: window (y0, x0) = (oy*sh - ph,
// ox*sw - pw), clipped to the padded extent (h + ph, w + pw), then to the data; avg divides by
// the clipped padded window (include_pad) or by its data elements.
struct Pool {
  int64_t planes, h, w, kh, kw, sh = 1, sw = 1, ph = 0, pw = 0, oh, ow;
  bool max = true, include_pad = true;
};
Vec pool_forward(const Vec& x, const Pool& g);
// The gradient: max to each window's first maximum, avg shared by the window's data elements.
Vec pool_backward(const Vec& og, const Vec& x, const Pool& g);

// C (m, n) = op(A) op(B); A stored (m, k) or, transposed, (k, m); B (k, n) or (n, k).
Vec matmul(const Vec& a, const Vec& b, int64_t m, int64_t k, int64_t n, bool ta, bool tb);

// A normalisation's outputs as mx has them: y, and per channel (BatchNorm) or row (LayerNorm)
// the mean and `dev`: the biased variance (BatchNorm) or the standard deviation sqrt(var + eps)
// (LayerNorm).
struct NormOut {
  Vec y, mean, dev;
};
// BatchNorm over data (outer, c, inner) with the batch's statistics, or with mean / var given.
NormOut batch_norm(const Vec& x, const Vec& gamma, const Vec& beta, const Vec* mean, const Vec* var,
                        int64_t outer, int64_t c, int64_t inner, double eps, bool fix_gamma);
// LayerNorm of rows of `width`.
NormOut layer_norm(const Vec& x, const Vec& gamma, const Vec& beta, int64_t rows, int64_t width, double eps);

// softmax / log_softmax of x / t over the middle axis of (outer, n, inner).
Vec softmax(const Vec& x, int64_t outer, int64_t n, int64_t inner, double t, bool log);

}  // namespace ref
