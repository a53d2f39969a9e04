// Window kernels of the spatial family (core/op/defs/spatial.cc): ROIPooling, _contrib_ROIAlign and
// Correlation, and their gradients. ROIs are rows [batch_index, x1, y1, x2, y2] in image
// coordinates (times spatial_scale: data coordinates); a ROI whose batch index is not a batch of
// data yields zeros. Computation is in float64 (vision_util.h).
#include <algorithm>
#include <cmath>

#include "vision_util.h"

namespace mxcpu::vision {
namespace {

// A coordinate as an integer, with NaN and huge values pinned (they only select empty windows).
int64_t to_int(double v) {
  if (std::isnan(v)) return 0;
  return int64_t(std::max(-1e12, std::min(1e12, v)));
}

// The batch of ROI r, or -1 when it names none.
int64_t roi_batch(const Buf& rois, int64_t r, int64_t batches) {
  const double b = rois[r * 5];
  return b >= 0 && b < double(batches) ? int64_t(b) : -1;
}

// ---------------------------------------------------------------- ROIPooling

// out[0]: the maxima, out[1]: the flat index into data of each (-1 for an empty bin).
void roi_pooling(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const Buf &data = in[0], &rois = in[1];
  const int64_t N = data.dim(0), C = data.dim(1), H = data.dim(2), W = data.dim(3), R = rois.dim(0);
  const std::vector<int64_t> pooled = p.ints("pooled_size");
  const int64_t PH = pooled[0], PW = pooled[1];
  const double scale = p.f("spatial_scale");
  parallel_for(R, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t n = roi_batch(rois, r, N);
      const int64_t x0 = to_int(std::round(rois[r * 5 + 1] * scale)), y0 = to_int(std::round(rois[r * 5 + 2] * scale));
      const int64_t x1 = to_int(std::round(rois[r * 5 + 3] * scale)), y1 = to_int(std::round(rois[r * 5 + 4] * scale));
      const double bin_h = double(std::max<int64_t>(y1 - y0 + 1, 1)) / double(PH);
      const double bin_w = double(std::max<int64_t>(x1 - x0 + 1, 1)) / double(PW);
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < PH; ++i)
          for (int64_t j = 0; j < PW; ++j) {
            const int64_t o = ((r * C + c) * PH + i) * PW + j;
            const int64_t hs = std::clamp<int64_t>(int64_t(std::floor(double(i) * bin_h)) + y0, 0, H);
            const int64_t he = std::clamp<int64_t>(int64_t(std::ceil(double(i + 1) * bin_h)) + y0, 0, H);
            const int64_t ws = std::clamp<int64_t>(int64_t(std::floor(double(j) * bin_w)) + x0, 0, W);
            const int64_t we = std::clamp<int64_t>(int64_t(std::ceil(double(j + 1) * bin_w)) + x0, 0, W);
            double best = 0;
            int64_t arg = -1;
            if (n >= 0)
              for (int64_t a = hs; a < he; ++a)
                for (int64_t b = ws; b < we; ++b) {
                  const int64_t at = ((n * C + c) * H + a) * W + b;
                  if (arg < 0 || data[at] > best) best = data[at], arg = at;
                }
            out[0][o] = best;
            out[1][o] = double(arg);
          }
    }
  });
}

// in: out_grad, argmax, data; out: d data.
void roi_pooling_backward(const Params&, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const int64_t size = int64_t(out[0].v.size());
  for (size_t k = 0; k < in[0].v.size(); ++k) {
    const double at = in[1].v[k];
    if (at >= 0 && at < double(size)) out[0][int64_t(at)] += in[0].v[k];
  }
}

// ---------------------------------------------------------------- ROIAlign

struct AlignGeometry {
  int64_t PH, PW, grid_h, grid_w;
  double y0, x0, bin_h, bin_w;
};

AlignGeometry align_geometry(const Params& p, const Buf& rois, int64_t r) {
  const std::vector<int64_t> pooled = p.ints("pooled_size");
  const double scale = p.f("spatial_scale"), offset = p.b("aligned") ? 0.5 : 0.0;
  AlignGeometry g{};
  g.PH = pooled[0], g.PW = pooled[1];
  g.x0 = rois[r * 5 + 1] * scale - offset;
  g.y0 = rois[r * 5 + 2] * scale - offset;
  double w = rois[r * 5 + 3] * scale - offset - g.x0, h = rois[r * 5 + 4] * scale - offset - g.y0;
  if (!p.b("aligned")) w = std::max(w, 1.0), h = std::max(h, 1.0);
  g.bin_h = h / double(g.PH);
  g.bin_w = w / double(g.PW);
  const int64_t ratio = p.i("sample_ratio");
  // Samples per bin side: bounded so that a huge ROI cannot ask for billions.
  g.grid_h = ratio > 0 ? ratio : std::clamp<int64_t>(to_int(std::ceil(h / double(g.PH))), 0, 1024);
  g.grid_w = ratio > 0 ? ratio : std::clamp<int64_t>(to_int(std::ceil(w / double(g.PW))), 0, 1024);
  return g;
}

// Detectron's bilinear sample: zero beyond one pixel outside, clamped to the border inside that.
struct AlignTaps {
  int64_t idx[4];
  double w[4];
};
AlignTaps align_taps(double y, double x, int64_t H, int64_t W) {
  AlignTaps t{};
  if (H < 1 || W < 1 || !(y >= -1 && y <= double(H) && x >= -1 && x <= double(W))) return t;
  y = std::max(y, 0.0), x = std::max(x, 0.0);
  int64_t ylo = int64_t(y), xlo = int64_t(x), yhi, xhi;
  if (ylo >= H - 1) yhi = ylo = H - 1, y = double(ylo);
  else yhi = ylo + 1;
  if (xlo >= W - 1) xhi = xlo = W - 1, x = double(xlo);
  else xhi = xlo + 1;
  const double ly = y - double(ylo), lx = x - double(xlo);
  t.idx[0] = ylo * W + xlo, t.idx[1] = ylo * W + xhi, t.idx[2] = yhi * W + xlo, t.idx[3] = yhi * W + xhi;
  t.w[0] = (1 - ly) * (1 - lx), t.w[1] = (1 - ly) * lx, t.w[2] = ly * (1 - lx), t.w[3] = ly * lx;
  return t;
}

// Calls f(data index, output index, weight) for every tap of every sample of ROI r.
template <typename F>
void for_each_align_tap(const Params& p, const Buf& rois, const std::vector<int64_t>& dshape, int64_t r, int64_t C_out,
                        F f) {
  const int64_t N = dshape[0], C = dshape[1], H = dshape[2], W = dshape[3];
  const int64_t n = roi_batch(rois, r, N);
  if (n < 0) return;
  const AlignGeometry g = align_geometry(p, rois, r);
  const bool ps = p.b("position_sensitive");
  const double count = double(std::max<int64_t>(g.grid_h * g.grid_w, 1));
  for (int64_t c = 0; c < C_out; ++c)
    for (int64_t i = 0; i < g.PH; ++i)
      for (int64_t j = 0; j < g.PW; ++j) {
        const int64_t o = ((r * C_out + c) * g.PH + i) * g.PW + j;
        const int64_t cin = ps ? (c * g.PH + i) * g.PW + j : c;
        const int64_t plane = (n * C + cin) * H * W;
        for (int64_t iy = 0; iy < g.grid_h; ++iy)
          for (int64_t ix = 0; ix < g.grid_w; ++ix) {
            const double y = g.y0 + double(i) * g.bin_h + (double(iy) + 0.5) * g.bin_h / double(g.grid_h);
            const double x = g.x0 + double(j) * g.bin_w + (double(ix) + 0.5) * g.bin_w / double(g.grid_w);
            const AlignTaps t = align_taps(y, x, H, W);
            for (int q = 0; q < 4; ++q)
              if (t.w[q] != 0) f(plane + t.idx[q], o, t.w[q] / count);
          }
      }
}

void roi_align(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const Buf &data = in[0], &rois = in[1];
  parallel_for(rois.dim(0), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r)
      for_each_align_tap(p, rois, data.shape, r, out[0].dim(1),
                         [&](int64_t d, int64_t o, double w) { out[0][o] += w * data[d]; });
  });
}

// in: out_grad, rois, data; out: d data (ROIs may overlap: one sequential pass).
void roi_align_backward(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  for (int64_t r = 0; r < in[1].dim(0); ++r)
    for_each_align_tap(p, in[1], in[2].shape, r, in[0].dim(1),
                       [&](int64_t d, int64_t o, double w) { out[0][d] += w * in[0][o]; });
}

// ---------------------------------------------------------------- Correlation

struct CorrGeometry {
  int64_t k, md, s1, s2, pad, radius, grid, TH, TW;
};
CorrGeometry corr_geometry(const Params& p, const std::vector<int64_t>& out_shape) {
  CorrGeometry g{};
  g.k = p.i("kernel_size"), g.md = p.i("max_displacement"), g.s1 = p.i("stride1"), g.s2 = p.i("stride2");
  g.pad = p.i("pad_size");
  g.radius = g.md / g.s2;
  g.grid = 2 * g.radius + 1;
  g.TH = out_shape[2], g.TW = out_shape[3];
  return g;
}

// Calls f(index in data1, index in data2, output index) for every product of the correlation whose
// two taps both fall inside the (unpadded) data; padding contributes zeros.
template <typename F>
void for_each_corr_pair(const CorrGeometry& g, const std::vector<int64_t>& ds, int64_t n, F f) {
  const int64_t C = ds[1], H = ds[2], W = ds[3];
  for (int64_t tc = 0; tc < g.grid * g.grid; ++tc) {
    const int64_t dx = (tc % g.grid - g.radius) * g.s2, dy = (tc / g.grid - g.radius) * g.s2;
    for (int64_t i = 0; i < g.TH; ++i)
      for (int64_t j = 0; j < g.TW; ++j) {
        const int64_t o = ((n * g.grid * g.grid + tc) * g.TH + i) * g.TW + j;
        const int64_t y1 = i * g.s1 + g.md - g.pad, x1 = j * g.s1 + g.md - g.pad;  // unpadded patch corner
        for (int64_t h = 0; h < g.k; ++h)
          for (int64_t w = 0; w < g.k; ++w) {
            const int64_t ya = y1 + h, xa = x1 + w, yb = ya + dy, xb = xa + dx;
            const bool in_a = ya >= 0 && ya < H && xa >= 0 && xa < W, in_b = yb >= 0 && yb < H && xb >= 0 && xb < W;
            for (int64_t c = 0; c < C; ++c)
              f(in_a ? ((n * C + c) * H + ya) * W + xa : -1, in_b ? ((n * C + c) * H + yb) * W + xb : -1, o);
          }
      }
  }
}

void correlation(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const CorrGeometry g = corr_geometry(p, out[0].shape);
  const bool mul = p.b("is_multiply");
  const double norm = double(g.k * g.k * in[0].dim(1));
  parallel_for(in[0].dim(0), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n)
      for_each_corr_pair(g, in[0].shape, n, [&](int64_t a, int64_t b, int64_t o) {
        const double va = a >= 0 ? in[0][a] : 0, vb = b >= 0 ? in[1][b] : 0;
        out[0][o] += (mul ? va * vb : std::fabs(va - vb)) / norm;
      });
  });
}

// in: out_grad, data1, data2; out: d data1, d data2.
void correlation_backward(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const CorrGeometry g = corr_geometry(p, in[0].shape);
  const bool mul = p.b("is_multiply");
  const double norm = double(g.k * g.k * in[1].dim(1));
  parallel_for(in[1].dim(0), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n)
      for_each_corr_pair(g, in[1].shape, n, [&](int64_t a, int64_t b, int64_t o) {
        const double va = a >= 0 ? in[1][a] : 0, vb = b >= 0 ? in[2][b] : 0, go = in[0][o] / norm;
        const double sign = va > vb ? 1.0 : va < vb ? -1.0 : 0.0;
        if (a >= 0) out[0][a] += go * (mul ? vb : sign);
        if (b >= 0) out[1][b] += go * (mul ? va : -sign);
      });
  });
}

const mx_kernel kTable[] = {
    vision_kernel<roi_pooling>("ROIPooling"),
    vision_kernel<roi_pooling_backward>("_backward_ROIPooling"),
    vision_kernel<roi_align>("_contrib_ROIAlign"),
    vision_kernel<roi_align_backward>("_backward_ROIAlign"),
    vision_kernel<correlation>("Correlation"),
    vision_kernel<correlation_backward>("_backward_Correlation"),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kTable);

}  // namespace
}  // namespace mxcpu::vision
