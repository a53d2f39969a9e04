// Sampling kernels of the spatial family (core/op/defs/spatial.cc): GridGenerator, BilinearSampler,
// SpatialTransformer, _contrib_BilinearResize2D, _contrib_AdaptiveAvgPooling2D and their gradients.
// Grids hold (x, y) in [-1, 1] with the corners on the corner pixels (MXNet's convention,
// torch's align_corners=True). Computation is in float64 (vision_util.h).
#include <algorithm>
#include <cmath>

#include "vision_util.h"

namespace mxcpu::vision {
namespace {

// Normalised coordinate of pixel i of n: -1 .. 1 over the corners (-1 for a single pixel).
double normalised(int64_t i, int64_t n) { return n > 1 ? -1 + 2.0 * double(i) / double(n - 1) : -1; }
// d normalised / d pixel.
double pixel_scale(int64_t n) { return n > 1 ? 2.0 / double(n - 1) : 0; }

// ---------------------------------------------------------------- GridGenerator

// Affine grid of theta (N, 6) into out (N, 2, H, W).
void affine_grid(const Buf& theta, Buf& out) {
  const int64_t N = out.dim(0), H = out.dim(2), W = out.dim(3);
  for (int64_t n = 0; n < N; ++n) {
    const double* t = &theta.v[size_t(n * 6)];
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        const double x = normalised(j, W), y = normalised(i, H);
        out[((n * 2 + 0) * H + i) * W + j] = t[0] * x + t[1] * y + t[2];
        out[((n * 2 + 1) * H + i) * W + j] = t[3] * x + t[4] * y + t[5];
      }
  }
}

void grid_generator(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  if (p.str("transform_type") == "affine") return affine_grid(in[0], out[0]);
  // warp: pixel coordinates plus flow, normalised
  const Buf& flow = in[0];
  const int64_t N = flow.dim(0), H = flow.dim(2), W = flow.dim(3);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        const int64_t ox = ((n * 2 + 0) * H + i) * W + j, oy = ((n * 2 + 1) * H + i) * W + j;
        out[0][ox] = (flow[ox] + double(j)) * pixel_scale(W) - 1;
        out[0][oy] = (flow[oy] + double(i)) * pixel_scale(H) - 1;
      }
}

// in: out_grad (N, 2, H, W), data; out: d data.
void grid_generator_backward(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const Buf& g = in[0];
  const int64_t N = g.dim(0), H = g.dim(2), W = g.dim(3);
  Buf& d = out[0];
  if (p.str("transform_type") == "affine") {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const double src[3] = {normalised(j, W), normalised(i, H), 1};
          for (int r = 0; r < 2; ++r)
            for (int c = 0; c < 3; ++c) d[n * 6 + r * 3 + c] += g[((n * 2 + r) * H + i) * W + j] * src[c];
        }
    return;
  }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < H * W; ++k) {
      d[(n * 2 + 0) * H * W + k] = g[(n * 2 + 0) * H * W + k] * pixel_scale(W);
      d[(n * 2 + 1) * H * W + k] = g[(n * 2 + 1) * H * W + k] * pixel_scale(H);
    }
}

// ---------------------------------------------------------------- BilinearSampler

// Taps of grid point (i, j) of batch n over a data plane (H, W).
Taps grid_taps(const Buf& grid, int64_t n, int64_t k, int64_t H, int64_t W) {
  const int64_t hw = grid.dim(2) * grid.dim(3);
  const double gx = grid[(n * 2 + 0) * hw + k], gy = grid[(n * 2 + 1) * hw + k];
  return bilinear_taps((gy + 1) * double(H - 1) / 2, (gx + 1) * double(W - 1) / 2, H, W);
}

void sample(const Buf& data, const Buf& grid, Buf& out) {
  const int64_t N = data.dim(0), C = data.dim(1), H = data.dim(2), W = data.dim(3);
  const int64_t hw = grid.dim(2) * grid.dim(3);
  parallel_for(N, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n)
      for (int64_t k = 0; k < hw; ++k) {
        const Taps t = grid_taps(grid, n, k, H, W);
        for (int64_t c = 0; c < C; ++c) {
          const double* plane = &data.v[size_t((n * C + c) * H * W)];
          double s = 0;
          for (int q = 0; q < 4; ++q)
            if (t.in[q]) s += t.w[q] * plane[t.idx[q]];
          out[(n * C + c) * hw + k] = s;
        }
      }
  });
}

void bilinear_sampler(const Params&, const std::vector<Buf>& in, std::vector<Buf>& out) { sample(in[0], in[1], out[0]); }

// in: out_grad, data, grid; out: d data, d grid.
void sampler_backward(const Buf& g, const Buf& data, const Buf& grid, Buf& ddata, Buf& dgrid) {
  const int64_t N = data.dim(0), C = data.dim(1), H = data.dim(2), W = data.dim(3);
  const int64_t hw = grid.dim(2) * grid.dim(3);
  parallel_for(N, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n)
      for (int64_t k = 0; k < hw; ++k) {
        const Taps t = grid_taps(grid, n, k, H, W);
        double dy = 0, dx = 0;
        for (int64_t c = 0; c < C; ++c) {
          const int64_t plane = (n * C + c) * H * W;
          const double go = g[(n * C + c) * hw + k];
          for (int q = 0; q < 4; ++q)
            if (t.in[q]) {
              ddata[plane + t.idx[q]] += go * t.w[q];
              dy += go * t.dwy[q] * data[plane + t.idx[q]];
              dx += go * t.dwx[q] * data[plane + t.idx[q]];
            }
        }
        dgrid[(n * 2 + 0) * hw + k] = dx * double(W - 1) / 2;
        dgrid[(n * 2 + 1) * hw + k] = dy * double(H - 1) / 2;
      }
  });
}

void bilinear_sampler_backward(const Params&, const std::vector<Buf>& in, std::vector<Buf>& out) {
  sampler_backward(in[0], in[1], in[2], out[0], out[1]);
}

void spatial_transformer(const Params&, const std::vector<Buf>& in, std::vector<Buf>& out) {
  Buf grid;
  grid.shape = {in[0].dim(0), 2, out[0].dim(2), out[0].dim(3)};
  grid.v.assign(size_t(grid.shape[0] * 2 * grid.shape[2] * grid.shape[3]), 0.0);
  affine_grid(in[1], grid);
  sample(in[0], grid, out[0]);
}

// ---------------------------------------------------------------- BilinearResize2D

// Source position of output index i along an axis of n_in -> n_out (torch's area_pixel rules).
struct Axis {
  int64_t lo, step;  // lower input index and +1 / +0 to the upper one
  double l0, l1;     // weights of lo and lo + step
};
std::vector<Axis> resize_axis(int64_t n_in, int64_t n_out, bool align) {
  const double scale = align ? (n_out > 1 ? double(n_in - 1) / double(n_out - 1) : 0) : double(n_in) / double(n_out);
  std::vector<Axis> ax(static_cast<size_t>(n_out));
  for (int64_t i = 0; i < n_out; ++i) {
    const double src = align ? scale * double(i) : std::max(scale * (double(i) + 0.5) - 0.5, 0.0);
    const int64_t lo = std::min(int64_t(src), n_in - 1);
    const double l1 = src - double(lo);
    ax[size_t(i)] = {lo, lo < n_in - 1 ? 1 : 0, 1 - l1, l1};
  }
  return ax;
}

// Forward (grad = false: out = resize(in)) or backward (grad = true: in += resize^T(out)), one
// plane at a time.
void resize_planes(Buf& small_or_in, Buf& big_or_out, bool align, bool grad) {
  Buf& x = small_or_in;
  Buf& y = big_or_out;
  const int64_t P = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3), OH = y.dim(2), OW = y.dim(3);
  const auto ay = resize_axis(H, OH, align), ax = resize_axis(W, OW, align);
  parallel_for(P, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      double* xp = &x.v[size_t(p * H * W)];
      double* yp = &y.v[size_t(p * OH * OW)];
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          const Axis& a = ay[size_t(i)];
          const Axis& b = ax[size_t(j)];
          const int64_t r0 = a.lo * W, r1 = (a.lo + a.step) * W, c0 = b.lo, c1 = b.lo + b.step;
          const double w[4] = {a.l0 * b.l0, a.l0 * b.l1, a.l1 * b.l0, a.l1 * b.l1};
          const int64_t at[4] = {r0 + c0, r0 + c1, r1 + c0, r1 + c1};
          if (grad) {
            for (int q = 0; q < 4; ++q) xp[at[q]] += w[q] * yp[i * OW + j];
          } else {
            double s = 0;
            for (int q = 0; q < 4; ++q) s += w[q] * xp[at[q]];
            yp[i * OW + j] = s;
          }
        }
    }
  });
}

void bilinear_resize(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  Buf x = in[0];
  resize_planes(x, out[0], p.b("align_corners"), false);
}

void bilinear_resize_backward(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  Buf g = in[0];
  resize_planes(out[0], g, p.b("align_corners"), true);
}

// ---------------------------------------------------------------- AdaptiveAvgPooling2D

// Window [start, end) of output index i of n_out over n_in.
int64_t window_start(int64_t i, int64_t n_out, int64_t n_in) { return i * n_in / n_out; }
int64_t window_end(int64_t i, int64_t n_out, int64_t n_in) { return ((i + 1) * n_in + n_out - 1) / n_out; }

// Calls f(input index, output index, window size) for every input pixel of every output window.
template <typename F>
void for_each_window(const std::vector<int64_t>& in_shape, const std::vector<int64_t>& out_shape, F f) {
  const int64_t P = in_shape[0] * in_shape[1], H = in_shape[2], W = in_shape[3], OH = out_shape[2], OW = out_shape[3];
  parallel_for(P, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          const int64_t y0 = window_start(i, OH, H), y1 = window_end(i, OH, H);
          const int64_t x0 = window_start(j, OW, W), x1 = window_end(j, OW, W);
          const double count = double((y1 - y0) * (x1 - x0));
          for (int64_t a = y0; a < y1; ++a)
            for (int64_t b = x0; b < x1; ++b) f((p * H + a) * W + b, (p * OH + i) * OW + j, count);
        }
  });
}

void adaptive_avg_pool(const Params&, const std::vector<Buf>& in, std::vector<Buf>& out) {
  for_each_window(in[0].shape, out[0].shape, [&](int64_t x, int64_t y, double count) { out[0][y] += in[0][x] / count; });
}

void adaptive_avg_pool_backward(const Params&, const std::vector<Buf>& in, std::vector<Buf>& out) {
  for_each_window(out[0].shape, in[0].shape, [&](int64_t x, int64_t y, double count) { out[0][x] += in[0][y] / count; });
}

const mx_kernel kTable[] = {
    vision_kernel<grid_generator>("GridGenerator"),
    vision_kernel<grid_generator_backward>("_backward_GridGenerator"),
    vision_kernel<bilinear_sampler>("BilinearSampler"),
    vision_kernel<bilinear_sampler_backward>("_backward_BilinearSampler"),
    vision_kernel<spatial_transformer>("SpatialTransformer"),
    vision_kernel<bilinear_resize>("_contrib_BilinearResize2D"),
    vision_kernel<bilinear_resize_backward>("_backward_contrib_BilinearResize2D"),
    vision_kernel<adaptive_avg_pool>("_contrib_AdaptiveAvgPooling2D"),
    vision_kernel<adaptive_avg_pool_backward>("_backward_contrib_AdaptiveAvgPooling2D"),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kTable);

}  // namespace
}  // namespace mxcpu::vision
