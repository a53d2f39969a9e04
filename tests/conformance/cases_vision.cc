// Conformance cases of the spatial sampling, ROI and detection ops. The references are written from
// MXNet 1.9.1's documented definitions, in a different form from the kernels where one exists:
// bilinear interpolation as a sum of tent weights over every pixel, windows from floor / ceil in
// float64, correlation on explicitly padded copies; the detection ops (no gradients, as MXNet) as
// plain selection loops over fixed boxes, one output of the multi-output ones per case. The test at
// the end checks that bad shapes are schema errors naming the op and the shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "../unit/test_util.h"
#include "harness.h"

namespace conformance {
namespace {

using Attrs = std::vector<std::pair<std::string, std::string>>;

double tent(double d) { return std::max(0.0, 1 - std::fabs(d)); }

// Bilinear value of plane (H, W) at (y, x) with zeros outside: the tent-weighted sum of all pixels.
double tent_sample(const Vec& x, size_t off, int64_t H, int64_t W, double yy, double xx) {
  double s = 0;
  for (int64_t p = 0; p < H; ++p)
    for (int64_t q = 0; q < W; ++q) s += x[off + size_t(p * W + q)] * tent(yy - double(p)) * tent(xx - double(q));
  return s;
}

// ---------------------------------------------------------------- GridGenerator, BilinearSampler

double lin(int64_t i, int64_t n) { return n > 1 ? -1 + 2.0 * double(i) / double(n - 1) : -1; }

Vec affine_grid_ref(const Vec& theta, int64_t N, int64_t H, int64_t W) {
  Vec y(size_t(N * 2 * H * W));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const double* t = &theta[size_t(n * 6 + r * 3)];
          y[size_t(((n * 2 + r) * H + i) * W + j)] = t[0] * lin(j, W) + t[1] * lin(i, H) + t[2];
        }
  return y;
}

Vec sampler_ref(const Vec& data, const Shape& ds, const Vec& grid, int64_t OH, int64_t OW) {
  const int64_t N = ds[0], C = ds[1], H = ds[2], W = ds[3];
  Vec y(size_t(N * C * OH * OW));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < OH * OW; ++k) {
        const double gx = grid[size_t(n * 2 * OH * OW + k)], gy = grid[size_t((n * 2 + 1) * OH * OW + k)];
        y[size_t((n * C + c) * OH * OW + k)] =
            tent_sample(data, size_t((n * C + c) * H * W), H, W, (gy + 1) / 2 * double(H - 1), (gx + 1) / 2 * double(W - 1));
      }
  return y;
}

// ---------------------------------------------------------------- BilinearResize2D, AdaptiveAvgPooling2D

Vec resize_ref(const Vec& x, const Shape& s, int64_t OH, int64_t OW, bool align) {
  auto src = [&](int64_t i, int64_t n_in, int64_t n_out) {
    double v;
    if (align) v = n_out > 1 ? double(i) * double(n_in - 1) / double(n_out - 1) : 0;
    else v = std::max(0.0, (double(i) + 0.5) * double(n_in) / double(n_out) - 0.5);
    return std::min(v, double(n_in - 1));
  };
  Vec y(size_t(s[0] * s[1] * OH * OW));
  for (int64_t p = 0; p < s[0] * s[1]; ++p)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j)
        y[size_t((p * OH + i) * OW + j)] =
            tent_sample(x, size_t(p * s[2] * s[3]), s[2], s[3], src(i, s[2], OH), src(j, s[3], OW));
  return y;
}

Case resize_case(Attrs attrs, Shape s, int64_t OH, int64_t OW, bool align, bool like = false) {
  std::vector<InputSpec> in{{s}};
  if (like) in.push_back({{1, 1, OH, OW}});
  Case c{"_contrib_BilinearResize2D", attrs, in,
         [=](const std::vector<Vec>& v) { return resize_ref(v[0], s, OH, OW, align); }};
  if (like) c.no_fd = {1};
  return c;
}

Vec adaptive_ref(const Vec& x, const Shape& s, int64_t OH, int64_t OW) {
  Vec y(size_t(s[0] * s[1] * OH * OW));
  for (int64_t p = 0; p < s[0] * s[1]; ++p)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j) {
        const auto y0 = int64_t(std::floor(double(i * s[2]) / double(OH))), y1 = int64_t(std::ceil(double((i + 1) * s[2]) / double(OH)));
        const auto x0 = int64_t(std::floor(double(j * s[3]) / double(OW))), x1 = int64_t(std::ceil(double((j + 1) * s[3]) / double(OW)));
        double sum = 0;
        for (int64_t a = y0; a < y1; ++a)
          for (int64_t b = x0; b < x1; ++b) sum += x[size_t((p * s[2] + a) * s[3] + b)];
        y[size_t((p * OH + i) * OW + j)] = sum / double((y1 - y0) * (x1 - x0));
      }
  return y;
}

// ---------------------------------------------------------------- ROIPooling, ROIAlign

// ROIs as [batch, x1, y1, x2, y2] rows, chosen away from rounding ties (ROIPooling rounds them).
const Vec kRois = {0, 1.1, 0.9, 4.2, 3.8,  //
                   1, 0.2, 0.3, 6.3, 5.4,  //
                   1, 2.2, 1.1, 2.7, 4.9};

Vec roi_pool_ref(const Vec& x, const Shape& s, const Vec& rois, int64_t PH, int64_t PW, double scale) {
  const int64_t R = int64_t(rois.size() / 5), C = s[1], H = s[2], W = s[3];
  Vec y(size_t(R * C * PH * PW));
  for (int64_t r = 0; r < R; ++r) {
    const double* b = &rois[size_t(r * 5)];
    const auto n = int64_t(b[0]);
    const auto x0 = int64_t(std::lround(b[1] * scale)), y0 = int64_t(std::lround(b[2] * scale));
    const auto x1 = int64_t(std::lround(b[3] * scale)), y1 = int64_t(std::lround(b[4] * scale));
    const double bh = double(std::max<int64_t>(y1 - y0 + 1, 1)) / double(PH), bw = double(std::max<int64_t>(x1 - x0 + 1, 1)) / double(PW);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < PH; ++i)
        for (int64_t j = 0; j < PW; ++j) {
          const int64_t hs = std::clamp<int64_t>(y0 + int64_t(std::floor(double(i) * bh)), 0, H);
          const int64_t he = std::clamp<int64_t>(y0 + int64_t(std::ceil(double(i + 1) * bh)), 0, H);
          const int64_t ws = std::clamp<int64_t>(x0 + int64_t(std::floor(double(j) * bw)), 0, W);
          const int64_t we = std::clamp<int64_t>(x0 + int64_t(std::ceil(double(j + 1) * bw)), 0, W);
          double m = (he <= hs || we <= ws) ? 0 : -1e300;
          for (int64_t a = hs; a < he; ++a)
            for (int64_t q = ws; q < we; ++q) m = std::max(m, x[size_t(((n * C + c) * H + a) * W + q)]);
          y[size_t(((r * C + c) * PH + i) * PW + j)] = m;
        }
  }
  return y;
}

// Detectron's sample: zero beyond one pixel outside the plane, else the clamped point's tent sum.
double align_sample(const Vec& x, size_t off, int64_t H, int64_t W, double yy, double xx) {
  if (yy < -1 || yy > double(H) || xx < -1 || xx > double(W)) return 0;
  yy = std::min(std::max(yy, 0.0), double(H - 1));
  xx = std::min(std::max(xx, 0.0), double(W - 1));
  return tent_sample(x, off, H, W, yy, xx);
}

Vec roi_align_ref(const Vec& x, const Shape& s, const Vec& rois, int64_t PH, int64_t PW, double scale, int64_t ratio,
                  bool aligned, bool ps) {
  const int64_t R = int64_t(rois.size() / 5), C = s[1], H = s[2], W = s[3], CO = ps ? C / (PH * PW) : C;
  const double off = aligned ? 0.5 : 0;
  Vec y(size_t(R * CO * PH * PW));
  for (int64_t r = 0; r < R; ++r) {
    const double* b = &rois[size_t(r * 5)];
    const auto n = int64_t(b[0]);
    const double xs = b[1] * scale - off, ys = b[2] * scale - off;
    double rw = b[3] * scale - off - xs, rh = b[4] * scale - off - ys;
    if (!aligned) rw = std::max(rw, 1.0), rh = std::max(rh, 1.0);
    const double bh = rh / double(PH), bw = rw / double(PW);
    const int64_t gh = ratio > 0 ? ratio : int64_t(std::ceil(rh / double(PH)));
    const int64_t gw = ratio > 0 ? ratio : int64_t(std::ceil(rw / double(PW)));
    for (int64_t c = 0; c < CO; ++c)
      for (int64_t i = 0; i < PH; ++i)
        for (int64_t j = 0; j < PW; ++j) {
          const int64_t cin = ps ? (c * PH + i) * PW + j : c;
          double sum = 0;
          for (int64_t a = 0; a < gh; ++a)
            for (int64_t q = 0; q < gw; ++q)
              sum += align_sample(x, size_t((n * C + cin) * H * W), H, W, ys + bh * (double(i) + (double(a) + 0.5) / double(gh)),
                                  xs + bw * (double(j) + (double(q) + 0.5) / double(gw)));
          y[size_t(((r * CO + c) * PH + i) * PW + j)] = sum / double(std::max<int64_t>(gh * gw, 1));
        }
  }
  return y;
}

Case roi_case(const char* op, Attrs attrs, Shape s, std::function<Vec(const Vec&, const Vec&)> ref) {
  return Case{op, attrs, {{s}, {{3, 5}, 0, 0, false, kRois}},
              [=](const std::vector<Vec>& in) { return ref(in[0], in[1]); }, true, false, {1}};
}

// ---------------------------------------------------------------- Correlation

Vec correlation_ref(const Vec& a, const Vec& b, const Shape& s, int64_t k, int64_t md, int64_t s1, int64_t s2, int64_t pad,
                    bool mul) {
  const int64_t N = s[0], C = s[1], H = s[2], W = s[3], PH = H + 2 * pad, PW = W + 2 * pad;
  // Zero-padded copies.
  auto padded = [&](const Vec& x) {
    Vec p(size_t(N * C * PH * PW), 0.0);
    for (int64_t i = 0; i < N * C; ++i)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) p[size_t((i * PH + h + pad) * PW + w + pad)] = x[size_t((i * H + h) * W + w)];
    return p;
  };
  const Vec pa = padded(a), pb = padded(b);
  const int64_t border = md + (k - 1) / 2, rad = md / s2, grid = 2 * rad + 1;
  const auto TH = int64_t(std::ceil(double(PH - 2 * border) / double(s1)));
  const auto TW = int64_t(std::ceil(double(PW - 2 * border) / double(s1)));
  Vec y(size_t(N * grid * grid * TH * TW));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t dyi = 0; dyi < grid; ++dyi)
      for (int64_t dxi = 0; dxi < grid; ++dxi)
        for (int64_t i = 0; i < TH; ++i)
          for (int64_t j = 0; j < TW; ++j) {
            // patch centres in padded coordinates
            const int64_t cy = i * s1 + border, cx = j * s1 + border;
            const int64_t oy = (dyi - rad) * s2, ox = (dxi - rad) * s2;
            double sum = 0;
            for (int64_t c = 0; c < C; ++c)
              for (int64_t h = -(k - 1) / 2; h <= (k - 1) / 2; ++h)
                for (int64_t w = -(k - 1) / 2; w <= (k - 1) / 2; ++w) {
                  const double va = pa[size_t(((n * C + c) * PH + cy + h) * PW + cx + w)];
                  const double vb = pb[size_t(((n * C + c) * PH + cy + oy + h) * PW + cx + ox + w)];
                  sum += mul ? va * vb : std::fabs(va - vb);
                }
            y[size_t((((n * grid + dyi) * grid + dxi) * TH + i) * TW + j)] = sum / double(k * k * C);
          }
  return y;
}

Case corr_case(Attrs attrs, Shape s, int64_t k, int64_t md, int64_t s1, int64_t s2, int64_t pad, bool mul) {
  return Case{"Correlation", attrs, {{s}, {s}},
              [=](const std::vector<Vec>& in) { return correlation_ref(in[0], in[1], s, k, md, s1, s2, pad, mul); }};
}

std::vector<Case> spatial_cases() {
  const Shape img{2, 2, 4, 5};
  std::vector<Case> c = {
      Case{"GridGenerator", {{"transform_type", "affine"}, {"target_shape", "(3,4)"}}, {{{2, 6}}},
           [](const std::vector<Vec>& in) { return affine_grid_ref(in[0], 2, 3, 4); }},
      Case{"GridGenerator", {{"transform_type", "warp"}}, {{{2, 2, 3, 4}}},
           [](const std::vector<Vec>& in) {
             Vec y(in[0].size());
             for (int64_t n = 0; n < 2; ++n)
               for (int64_t i = 0; i < 3; ++i)
                 for (int64_t j = 0; j < 4; ++j) {
                   const size_t ix = size_t(((n * 2) * 3 + i) * 4 + j), iy = size_t(((n * 2 + 1) * 3 + i) * 4 + j);
                   y[ix] = (in[0][ix] + double(j)) / 1.5 - 1;  // (W - 1) / 2 = 1.5
                   y[iy] = (in[0][iy] + double(i)) / 1.0 - 1;  // (H - 1) / 2 = 1
                 }
             return y;
           }},
      // grid points partly outside [-1, 1]: those taps read zeros
      Case{"BilinearSampler", {}, {{img}, {{2, 2, 3, 3}, -1.2, 1.2}},
           [=](const std::vector<Vec>& in) { return sampler_ref(in[0], img, in[1], 3, 3); }},
      Case{"SpatialTransformer", {{"target_shape", "(3,4)"}},
           {{img}, {{2, 6}, 0, 0, false, {0.83, 0.17, 0.09, -0.13, 0.77, -0.06, 0.71, -0.27, 0.19, 0.23, 1.07, 0.13}}},
           [=](const std::vector<Vec>& in) { return sampler_ref(in[0], img, affine_grid_ref(in[1], 2, 3, 4), 3, 4); }},
      resize_case({{"height", "5"}, {"width", "7"}}, {1, 2, 3, 4}, 5, 7, true),
      resize_case({{"height", "2"}, {"width", "7"}, {"align_corners", "False"}}, {2, 1, 3, 4}, 2, 7, false),
      resize_case({{"scale_height", "2"}, {"scale_width", "0.5"}}, {1, 2, 3, 4}, 6, 2, true),
      resize_case({{"mode", "odd_scale"}, {"scale_height", "2"}, {"scale_width", "2"}}, {1, 1, 3, 4}, 5, 8, true),
      resize_case({{"mode", "to_even_up"}, {"align_corners", "False"}}, {1, 2, 3, 4}, 4, 4, false),
      resize_case({{"mode", "to_odd_down"}}, {1, 1, 3, 4}, 3, 3, true),
      resize_case({{"mode", "like"}}, {1, 2, 3, 4}, 4, 6, true, true),
      Case{"_contrib_AdaptiveAvgPooling2D", {{"output_size", "(3,4)"}}, {{{2, 2, 5, 7}}},
           [](const std::vector<Vec>& in) { return adaptive_ref(in[0], {2, 2, 5, 7}, 3, 4); }},
      Case{"_contrib_AdaptiveAvgPooling2D", {{"output_size", "2"}}, {{{1, 2, 3, 5}}},
           [](const std::vector<Vec>& in) { return adaptive_ref(in[0], {1, 2, 3, 5}, 2, 2); }},
      Case{"_contrib_AdaptiveAvgPooling2D", {}, {{{2, 3, 4, 3}}},
           [](const std::vector<Vec>& in) { return adaptive_ref(in[0], {2, 3, 4, 3}, 1, 1); }},
      roi_case("ROIPooling", {{"pooled_size", "(2,3)"}, {"spatial_scale", "1"}}, {2, 2, 6, 7},
               [](const Vec& x, const Vec& r) { return roi_pool_ref(x, {2, 2, 6, 7}, r, 2, 3, 1.0); }),
      roi_case("ROIPooling", {{"pooled_size", "(3,2)"}, {"spatial_scale", "0.5"}}, {2, 3, 4, 4},
               [](const Vec& x, const Vec& r) { return roi_pool_ref(x, {2, 3, 4, 4}, r, 3, 2, 0.5); }),
      roi_case("_contrib_ROIAlign", {{"pooled_size", "(2,2)"}, {"spatial_scale", "1"}, {"sample_ratio", "2"}}, {2, 2, 5, 6},
               [](const Vec& x, const Vec& r) { return roi_align_ref(x, {2, 2, 5, 6}, r, 2, 2, 1.0, 2, false, false); }),
      roi_case("_contrib_ROIAlign", {{"pooled_size", "(3,2)"}, {"spatial_scale", "0.8"}}, {2, 1, 5, 6},
               [](const Vec& x, const Vec& r) { return roi_align_ref(x, {2, 1, 5, 6}, r, 3, 2, 0.8, -1, false, false); }),
      roi_case("_contrib_ROIAlign", {{"pooled_size", "(2,2)"}, {"spatial_scale", "1"}, {"aligned", "True"}}, {2, 2, 5, 6},
               [](const Vec& x, const Vec& r) { return roi_align_ref(x, {2, 2, 5, 6}, r, 2, 2, 1.0, -1, true, false); }),
      roi_case("_contrib_ROIAlign",
               {{"pooled_size", "(2,2)"}, {"spatial_scale", "1"}, {"sample_ratio", "1"}, {"position_sensitive", "True"}},
               {2, 8, 5, 6},
               [](const Vec& x, const Vec& r) { return roi_align_ref(x, {2, 8, 5, 6}, r, 2, 2, 1.0, 1, false, true); }),
      corr_case({}, {1, 2, 5, 6}, 1, 1, 1, 1, 0, true),
      corr_case({{"kernel_size", "3"}, {"max_displacement", "2"}, {"stride2", "2"}, {"pad_size", "2"}}, {2, 2, 4, 5}, 3, 2,
                1, 2, 2, true),
      corr_case({{"max_displacement", "2"}, {"stride1", "2"}, {"pad_size", "1"}, {"is_multiply", "False"}}, {1, 3, 5, 6}, 1,
                2, 2, 1, 1, false),
  };
  return c;
}

// ---------------------------------------------------------------- detection

// Deterministic pseudo-random numbers in [lo, hi) (a small LCG: fixed inputs that several inputs share).
struct Lcg {
  uint64_t s;
  double operator()(double lo, double hi) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * double(s >> 11) / double(1ull << 53);
  }
};

// n corner boxes clustered around a few centres, so that many overlap.
Vec corner_boxes(int64_t n, uint64_t seed) {
  Lcg r{seed};
  Vec v;
  for (int64_t i = 0; i < n; ++i) {
    const double cx = 0.25 + 0.5 * double(i % 2) + r(-0.1, 0.1), cy = 0.3 + 0.4 * double((i / 2) % 2) + r(-0.1, 0.1);
    const double w = r(0.15, 0.4), h = r(0.15, 0.4);
    v.insert(v.end(), {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
  }
  return v;
}

double ref_iou(const double* a, const double* b) {
  const double iw = std::max(0.0, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  const double ih = std::max(0.0, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  if (iw * ih == 0) return 0;
  return iw * ih / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih);
}

Vec to_center(Vec v) {
  for (size_t i = 0; i < v.size(); i += 4) {
    const double l = v[i], t = v[i + 1], r = v[i + 2], b = v[i + 3];
    v[i] = (l + r) / 2, v[i + 1] = (t + b) / 2, v[i + 2] = r - l, v[i + 3] = b - t;
  }
  return v;
}
Vec to_corner(Vec v) {
  for (size_t i = 0; i < v.size(); i += 4) {
    const double x = v[i], y = v[i + 1], w = v[i + 2], h = v[i + 3];
    v[i] = x - w / 2, v[i + 1] = y - h / 2, v[i + 2] = x + w / 2, v[i + 3] = y + h / 2;
  }
  return v;
}

Case iou_case(bool center) {
  const Vec l = corner_boxes(6, 3), r = corner_boxes(4, 9);
  return Case{"_contrib_box_iou", {{"format", center ? "center" : "corner"}},
              {{{2, 3, 4}, 0, 0, false, center ? to_center(l) : l}, {{4, 4}, 0, 0, false, center ? to_center(r) : r}},
              [=](const std::vector<Vec>& in) {
                const Vec a = center ? to_corner(in[0]) : in[0], b = center ? to_corner(in[1]) : in[1];
                Vec y;
                for (size_t i = 0; i < 6; ++i)
                  for (size_t j = 0; j < 4; ++j) y.push_back(ref_iou(&a[i * 4], &b[j * 4]));
                return y;
              },
              false};
}

// Rows [class, score, x1, y1, x2, y2] of B batches of N boxes; classes in {0, 1, 2}, the last row of
// each batch of class -1 (background with id_index 0).
Vec detection_rows(int64_t B, int64_t N, uint64_t seed) {
  Lcg r{seed};
  const Vec boxes = corner_boxes(B * N, seed + 1);
  Vec v;
  for (int64_t i = 0; i < B * N; ++i) {
    v.push_back(i % N == N - 1 ? -1 : std::floor(r(0, 3)));
    v.push_back(r(0, 1));
    v.insert(v.end(), boxes.begin() + i * 4, boxes.begin() + i * 4 + 4);
  }
  return v;
}

struct NmsSpec {
  double overlap = 0.5, valid = 0;
  int64_t topk = -1, id_index = -1, background = -1;
  bool force = false, center_in = false, center_out = false;
};

// box_nms on rows of width 6 ([id, score, 4 coordinates]): a plain selection loop per batch.
Vec nms_ref(const Vec& x, int64_t B, int64_t N, const NmsSpec& p) {
  const int64_t K = 6;
  Vec y(x.size(), -1.0);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> order;
    for (int64_t n = 0; n < N; ++n) {
      const double* row = &x[size_t((b * N + n) * K)];
      if (row[1] > p.valid && !(p.id_index >= 0 && row[0] == double(p.background))) order.push_back(n);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t u, int64_t v) { return x[size_t((b * N + u) * K + 1)] > x[size_t((b * N + v) * K + 1)]; });
    if (p.topk >= 0 && int64_t(order.size()) > p.topk) order.resize(size_t(p.topk));
    std::vector<int64_t> kept;
    for (int64_t n : order) {
      const double* row = &x[size_t((b * N + n) * K)];
      const Vec box = p.center_in ? to_corner(Vec(row + 2, row + 6)) : Vec(row + 2, row + 6);
      bool suppressed = false;
      for (int64_t k : kept) {
        const double* kr = &x[size_t((b * N + k) * K)];
        if (!p.force && p.id_index >= 0 && kr[0] != row[0]) continue;
        const Vec kb = p.center_in ? to_corner(Vec(kr + 2, kr + 6)) : Vec(kr + 2, kr + 6);
        if (ref_iou(kb.data(), box.data()) > p.overlap) suppressed = true;
      }
      if (!suppressed) kept.push_back(n);
    }
    for (size_t i = 0; i < kept.size(); ++i) {
      const double* row = &x[size_t((b * N + kept[i]) * K)];
      double* o = &y[size_t((b * N + int64_t(i)) * K)];
      std::copy(row, row + K, o);
      Vec box(row + 2, row + 6);
      if (p.center_in && !p.center_out) box = to_corner(box);
      if (!p.center_in && p.center_out) box = to_center(box);
      std::copy(box.begin(), box.end(), o + 2);
    }
  }
  return y;
}

Case nms_case(Attrs attrs, NmsSpec spec, const char* op = "_contrib_box_nms") {
  Vec rows = detection_rows(2, 7, 5);
  if (spec.center_in)
    for (size_t i = 0; i < rows.size(); i += 6) {
      const Vec c = to_center(Vec(rows.begin() + long(i) + 2, rows.begin() + long(i) + 6));
      std::copy(c.begin(), c.end(), rows.begin() + long(i) + 2);
    }
  Case c{op, attrs, {{{2, 7, 6}, 0, 0, false, rows}},
         [=](const std::vector<Vec>& in) { return nms_ref(in[0], 2, 7, spec); }, false};
  c.half = false;  // rounded scores and coordinates may change which box wins
  return c;
}

// Greedy matching of (B, N, M) scores: pairs in score order, each row and column once.
Vec matching_ref(const Vec& x, int64_t B, int64_t N, int64_t M, double thr, bool ascend, int64_t topk, size_t output) {
  Vec rows(size_t(B * N), -1), cols(size_t(B * M), -1);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> order(size_t(N * M));
    std::iota(order.begin(), order.end(), 0);
    const double* s = &x[size_t(b * N * M)];
    std::stable_sort(order.begin(), order.end(), [&](int64_t u, int64_t v) { return ascend ? s[u] < s[v] : s[u] > s[v]; });
    int64_t matched = 0;
    for (int64_t k : order) {
      if (topk > 0 && matched == topk) break;
      const int64_t r = k / M, c = k % M;
      if (rows[size_t(b * N + r)] >= 0 || cols[size_t(b * M + c)] >= 0) continue;
      if (ascend ? s[k] >= thr : s[k] <= thr) break;
      rows[size_t(b * N + r)] = double(c), cols[size_t(b * M + c)] = double(r), ++matched;
    }
  }
  return output == 0 ? rows : cols;
}

Case matching_case(Attrs attrs, double thr, bool ascend, int64_t topk, size_t output) {
  Case c{"_contrib_bipartite_matching", attrs, {{{2, 3, 4}, 0, 1}},
         [=](const std::vector<Vec>& in) { return matching_ref(in[0], 2, 3, 4, thr, ascend, topk, output); }, false, false,
         {}, output};
  c.half = false;
  return c;
}

Vec prior_ref(int64_t H, int64_t W, const Vec& sizes, const Vec& ratios, bool clip, double sy, double sx, double oy,
              double ox) {
  Vec y;
  for (int64_t r = 0; r < H; ++r)
    for (int64_t c = 0; c < W; ++c) {
      const double cy = (double(r) + oy) * (sy > 0 ? sy : 1.0 / double(H)), cx = (double(c) + ox) * (sx > 0 ? sx : 1.0 / double(W));
      std::vector<std::pair<double, double>> shapes;  // (size, ratio)
      for (double s : sizes) shapes.push_back({s, 1});
      for (size_t j = 1; j < ratios.size(); ++j) shapes.push_back({sizes[0], ratios[j]});
      for (auto [s, q] : shapes) {
        const double half_w = s * double(H) / double(W) * std::sqrt(q) / 2, half_h = s / std::sqrt(q) / 2;
        for (double v : {cx - half_w, cy - half_h, cx + half_w, cy + half_h}) y.push_back(clip ? std::min(1.0, std::max(0.0, v)) : v);
      }
    }
  return y;
}

// Anchors on a 3 x 3 grid of [0, 1], two shapes per cell (18 anchors).
Vec grid_anchors() {
  Vec v;
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c)
      for (double half : {0.18, 0.3}) {
        const double cx = (c + 0.5) / 3, cy = (r + 0.5) / 3;
        v.insert(v.end(), {cx - half, cy - half * 0.8, cx + half, cy + half * 0.8});
      }
  return v;
}
constexpr int64_t kAnchors = 18;

// Labels (2, 3, 5): [class, x1, y1, x2, y2]; the second batch has one object and a -1 row after it.
const Vec kLabels = {1, 0.05, 0.1, 0.4, 0.45,   0, 0.5, 0.55, 0.95, 0.9,  2, 0.3, 0.2, 0.75, 0.6,
                     0, 0.6, 0.05, 0.98, 0.4,  -1, -1, -1, -1, -1,       2, 0.1, 0.1, 0.2, 0.2};

// MultiBoxTarget's outputs (0 loc_target, 1 loc_mask, 2 cls_target), written out per anchor.
Vec target_ref(const Vec& anchors, const Vec& labels, const Vec& cls, int64_t C, double thr, double ignore, double ratio,
               double mining_thr, size_t output) {
  const int64_t A = kAnchors, B = 2, L = 3;
  const double var[4] = {0.1, 0.1, 0.2, 0.2};
  Vec loc(size_t(B * A * 4), 0), mask(size_t(B * A * 4), 0), cls_t(size_t(B * A), ignore);
  for (int64_t b = 0; b < B; ++b) {
    const double* lab = &labels[size_t(b * L * 5)];
    int64_t G = 0;
    while (G < L && lab[G * 5] != -1) ++G;
    auto ov = [&](int64_t a, int64_t g) { return ref_iou(&anchors[size_t(a * 4)], lab + g * 5 + 1); };
    std::vector<int64_t> gt_of(size_t(A), -1);
    std::vector<bool> used_gt(size_t(G), false);
    while (true) {  // best remaining pair, repeatedly
      double best = 1e-6;
      int64_t ba = -1, bg = -1;
      for (int64_t a = 0; a < A; ++a)
        for (int64_t g = 0; g < G; ++g)
          if (gt_of[size_t(a)] < 0 && !used_gt[size_t(g)] && ov(a, g) > best) best = ov(a, g), ba = a, bg = g;
      if (ba < 0) break;
      gt_of[size_t(ba)] = bg, used_gt[size_t(bg)] = true;
    }
    std::vector<double> max_ov(size_t(A), 0);
    std::vector<int64_t> argmax(size_t(A), 0);
    for (int64_t a = 0; a < A; ++a)
      for (int64_t g = 0; g < G; ++g)
        if (ov(a, g) > max_ov[size_t(a)] || g == 0) max_ov[size_t(a)] = ov(a, g), argmax[size_t(a)] = g;
    for (int64_t a = 0; a < A; ++a)
      if (gt_of[size_t(a)] < 0 && max_ov[size_t(a)] > thr) gt_of[size_t(a)] = argmax[size_t(a)];
    int64_t pos = 0;
    for (int64_t g : gt_of) pos += g >= 0;
    std::vector<int64_t> negatives;
    if (ratio > 0) {
      std::vector<std::pair<double, int64_t>> cand;  // (background probability, anchor)
      for (int64_t a = 0; a < A; ++a) {
        if (gt_of[size_t(a)] >= 0 || !(max_ov[size_t(a)] < mining_thr)) continue;
        double sum = 0;
        for (int64_t k = 0; k < C; ++k) sum += std::exp(cls[size_t((b * C + k) * A + a)]);
        cand.push_back({std::exp(cls[size_t(b * C * A + a)]) / sum, a});
      }
      std::stable_sort(cand.begin(), cand.end(), [](auto& u, auto& v) { return u.first < v.first; });
      const int64_t want = std::min(int64_t(double(pos) * ratio), A - pos);
      for (int64_t i = 0; i < want && i < int64_t(cand.size()); ++i) negatives.push_back(cand[size_t(i)].second);
    } else {
      for (int64_t a = 0; a < A; ++a)
        if (gt_of[size_t(a)] < 0 && G > 0) negatives.push_back(a);
    }
    for (int64_t a : negatives) cls_t[size_t(b * A + a)] = 0;
    for (int64_t a = 0; a < A; ++a) {
      const int64_t g = gt_of[size_t(a)];
      if (g < 0) continue;
      const double* an = &anchors[size_t(a * 4)];
      const double* gt = lab + g * 5 + 1;
      const double aw = an[2] - an[0], ah = an[3] - an[1];
      const double e[4] = {((gt[0] + gt[2]) - (an[0] + an[2])) / 2 / aw / var[0], ((gt[1] + gt[3]) - (an[1] + an[3])) / 2 / ah / var[1],
                           std::log((gt[2] - gt[0]) / aw) / var[2], std::log((gt[3] - gt[1]) / ah) / var[3]};
      for (int k = 0; k < 4; ++k) loc[size_t((b * A + a) * 4 + k)] = e[k], mask[size_t((b * A + a) * 4 + k)] = 1;
      cls_t[size_t(b * A + a)] = lab[g * 5] + 1;
    }
  }
  return output == 0 ? loc : output == 1 ? mask : cls_t;
}

Case target_case(Attrs attrs, double thr, double ignore, double ratio, size_t output) {
  Case c{"_contrib_MultiBoxTarget", attrs,
         {{{1, kAnchors, 4}, 0, 0, false, grid_anchors()}, {{2, 3, 5}, 0, 0, false, kLabels}, {{2, 3, kAnchors}, -2, 2}},
         [=](const std::vector<Vec>& in) { return target_ref(in[0], in[1], in[2], 3, thr, ignore, ratio, 0.5, output); },
         false, false, {}, output};
  c.half = false;
  return c;
}

// MultiBoxDetection: decoded boxes above threshold, score-sorted, per-class NMS (class -1 when removed).
Vec detection_ref(const Vec& prob, const Vec& loc, const Vec& anchors, int64_t C, double thr, double nms, bool force,
                  int64_t topk, bool clip) {
  const int64_t A = kAnchors, B = 2;
  const double var[4] = {0.1, 0.1, 0.2, 0.2};
  Vec y(size_t(B * A * 6), -1);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<Vec> rows;
    for (int64_t a = 0; a < A; ++a) {
      int64_t best = 1;
      for (int64_t k = 2; k < C; ++k)
        if (prob[size_t((b * C + k) * A + a)] > prob[size_t((b * C + best) * A + a)]) best = k;
      const double score = prob[size_t((b * C + best) * A + a)];
      if (score < thr) continue;
      const double* an = &anchors[size_t(a * 4)];
      const double* l = &loc[size_t((b * A + a) * 4)];
      const double aw = an[2] - an[0], ah = an[3] - an[1];
      const double cx = (an[0] + an[2]) / 2 + l[0] * var[0] * aw, cy = (an[1] + an[3]) / 2 + l[1] * var[1] * ah;
      const double hw = aw * std::exp(l[2] * var[2]) / 2, hh = ah * std::exp(l[3] * var[3]) / 2;
      Vec row = {double(best - 1), score, cx - hw, cy - hh, cx + hw, cy + hh};
      if (clip)
        for (size_t k = 2; k < 6; ++k) row[k] = std::min(1.0, std::max(0.0, row[k]));
      rows.push_back(row);
    }
    const Vec unsorted = [&] {
      Vec v;
      for (auto& r : rows) v.insert(v.end(), r.begin(), r.end());
      return v;
    }();
    std::stable_sort(rows.begin(), rows.end(), [](const Vec& u, const Vec& v) { return u[1] > v[1]; });
    const size_t keep = topk > 0 && size_t(topk) < rows.size() ? size_t(topk) : rows.size();
    for (size_t i = 0; i < keep; ++i)
      for (size_t j = i + 1; j < keep; ++j)
        if (rows[i][0] >= 0 && rows[j][0] >= 0 && (force || rows[i][0] == rows[j][0]) &&
            ref_iou(&rows[i][2], &rows[j][2]) >= nms)
          rows[j][0] = -1;
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t k = 0; k < 6; ++k)
        // rows past nms_topk keep their unsorted place, with class -1
        y[size_t((b * A + int64_t(i)) * 6) + k] = i < keep ? rows[i][k] : (k == 0 ? -1 : unsorted[i * 6 + k]);
  }
  return y;
}

Case detection_case(Attrs attrs, double thr, double nms, bool force, int64_t topk, bool clip) {
  Case c{"_contrib_MultiBoxDetection", attrs,
         {{{2, 3, kAnchors}, 0, 1}, {{2, kAnchors * 4}, -1, 1}, {{1, kAnchors, 4}, 0, 0, false, grid_anchors()}},
         [=](const std::vector<Vec>& in) { return detection_ref(in[0], in[1], in[2], 3, thr, nms, force, topk, clip); },
         false};
  c.half = false;
  return c;
}

std::vector<Case> detection_cases() {
  NmsSpec by_class;
  by_class.id_index = 0;
  NmsSpec forced = by_class;
  forced.force = true;
  forced.overlap = 0.3;
  NmsSpec top;
  top.topk = 4;
  top.valid = 0.25;
  NmsSpec fmt;
  fmt.center_in = true;
  NmsSpec fmt_out;
  fmt_out.center_out = true;
  NmsSpec bg = by_class;
  bg.background = 1;
  return {
      iou_case(false),
      iou_case(true),
      nms_case({}, NmsSpec{}),
      nms_case({{"id_index", "0"}}, by_class, "_contrib_box_non_maximum_suppression"),
      nms_case({{"id_index", "0"}, {"force_suppress", "True"}, {"overlap_thresh", "0.3"}}, forced),
      nms_case({{"id_index", "0"}, {"background_id", "1"}}, bg),
      nms_case({{"topk", "4"}, {"valid_thresh", "0.25"}}, top),
      nms_case({{"in_format", "center"}}, fmt),
      nms_case({{"out_format", "center"}}, fmt_out),
      matching_case({{"threshold", "0.3"}}, 0.3, false, -1, 0),
      matching_case({{"threshold", "0.3"}}, 0.3, false, -1, 1),
      matching_case({{"threshold", "0.8"}, {"is_ascend", "True"}, {"topk", "2"}}, 0.8, true, 2, 1),
      Case{"_contrib_MultiBoxPrior", {}, {{{1, 2, 3, 4}}},
           [](const std::vector<Vec>&) { return prior_ref(3, 4, {1}, {1}, false, -1, -1, 0.5, 0.5); }, false},
      Case{"_contrib_MultiBoxPrior",
           {{"sizes", "(0.5,0.25)"}, {"ratios", "[1, 2, 0.5]"}, {"clip", "True"}, {"steps", "(0.3,0.2)"}, {"offsets", "(0.4,0.6)"}},
           {{{2, 1, 3, 4}}},
           [](const std::vector<Vec>&) { return prior_ref(3, 4, {0.5, 0.25}, {1, 2, 0.5}, true, 0.3, 0.2, 0.4, 0.6); }, false},
      target_case({}, 0.5, -1, -1, 0),
      target_case({}, 0.5, -1, -1, 1),
      target_case({{"overlap_threshold", "0.3"}}, 0.3, -1, -1, 2),
      target_case({{"negative_mining_ratio", "2"}, {"ignore_label", "-2"}}, 0.5, -2, 2, 2),
      detection_case({{"threshold", "0.2"}}, 0.2, 0.5, false, -1, true),
      detection_case({{"threshold", "0.3"}, {"force_suppress", "True"}, {"nms_threshold", "0.3"}, {"clip", "False"}}, 0.3, 0.3,
                     true, -1, false),
      detection_case({{"threshold", "0.1"}, {"nms_topk", "5"}}, 0.1, 0.5, false, 5, true),
  };
}

}  // namespace

Family vision_family() {
  Family f;
  f.cases = spatial_cases();
  for (Case& c : detection_cases()) f.cases.push_back(std::move(c));
  f.gradient_only = {
      {"_backward_GridGenerator", "GridGenerator", nullptr},
      {"_backward_BilinearSampler", "BilinearSampler", nullptr},
      {"_backward_contrib_BilinearResize2D", "_contrib_BilinearResize2D", nullptr},
      {"_backward_contrib_AdaptiveAvgPooling2D", "_contrib_AdaptiveAvgPooling2D", nullptr},
      {"_backward_ROIPooling", "ROIPooling", nullptr},
      {"_backward_ROIAlign", "_contrib_ROIAlign", nullptr},
      {"_backward_Correlation", "Correlation", nullptr},
  };
  return f;
}


namespace {

using mx::test::Arr;

// The message of invoking `op` on arrays of the given shapes (float32), or "" when it succeeds.
std::string invoke_error(const char* op, std::vector<std::vector<int64_t>> shapes, Attrs attrs) {
  std::vector<Arr> arrs;
  std::vector<mx_ndarray_t> h;
  for (auto& s : shapes) {
    arrs.emplace_back(s);
    h.push_back(arrs.back().get());
  }
  std::vector<const char*> keys, vals;
  for (auto& [k, v] : attrs) keys.push_back(k.c_str()), vals.push_back(v.c_str());
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  if (mx_imperative_invoke(op, int32_t(h.size()), h.data(), &nout, &outs, int32_t(keys.size()), keys.data(), vals.data()) == 0) {
    for (int32_t i = 0; i < nout; ++i) mx_ndarray_free(outs[i]);
    return "";
  }
  return mx_get_last_error();
}

TEST(Vision, BadShapesAreSchemaErrorsNamingOpAndShapes) {
  struct Bad {
    const char* op;
    std::vector<std::vector<int64_t>> shapes;
    Attrs attrs;
    const char* shape_text;
  };
  const Bad bad[] = {
      {"ROIPooling", {{1, 2, 5, 5}, {3, 4}}, {{"pooled_size", "(2,2)"}, {"spatial_scale", "1"}}, "(3,4)"},
      {"_contrib_ROIAlign", {{1, 2, 5, 5}, {3}}, {{"pooled_size", "(2,2)"}, {"spatial_scale", "1"}}, "(3)"},
      {"BilinearSampler", {{1, 2, 5, 5}, {1, 3, 4, 4}}, {}, "(1,3,4,4)"},
      {"SpatialTransformer", {{1, 2, 5, 5}, {1, 5}}, {{"target_shape", "(3,3)"}}, "(1,5)"},
      {"GridGenerator", {{2, 5}}, {{"transform_type", "affine"}, {"target_shape", "(3,3)"}}, "(2,5)"},
      {"GridGenerator", {{1, 3, 4, 4}}, {{"transform_type", "warp"}}, "(1,3,4,4)"},
      {"_contrib_BilinearResize2D", {{2, 5, 5}}, {{"height", "3"}, {"width", "3"}}, "(2,5,5)"},
      {"_contrib_AdaptiveAvgPooling2D", {{2, 5}}, {}, "(2,5)"},
      {"Correlation", {{1, 2, 5, 5}, {1, 2, 5, 4}}, {}, "(1,2,5,4)"},
      {"_contrib_box_iou", {{3, 4}, {2, 5}}, {}, "(2,5)"},
      {"_contrib_box_nms", {{3, 5}}, {}, "(3,5)"},
      {"_contrib_MultiBoxTarget", {{1, 4, 4}, {1, 2, 4}, {1, 3, 4}}, {}, "(1,2,4)"},
      {"_contrib_MultiBoxDetection", {{1, 3, 4}, {1, 15}, {1, 4, 4}}, {}, "(1,15)"},
      {"_contrib_BilinearResize2D", {{1, 1, 0, 3}}, {{"height", "2"}}, "(1,1,0,3)"},
      // gradient-only ops called directly: out_grad must be the forward output shape
      {"_backward_contrib_BilinearResize2D", {{1, 2, 3, 3}, {2, 2, 4, 4}}, {}, "(1,2,3,3)"},
      {"_backward_ROIAlign", {{3, 2, 2, 2}, {3, 5}, {1, 2, 5, 5}}, {{"pooled_size", "(3,3)"}, {"spatial_scale", "1"}}, "(3,2,2,2)"},
      {"_backward_Correlation", {{1, 9, 5, 5}, {1, 2, 5, 5}, {1, 2, 5, 5}}, {}, "(1,9,5,5)"},
      {"_backward_BilinearSampler", {{1, 2, 4, 4}, {1, 2, 5, 5}, {1, 2, 3, 3}}, {}, "(1,2,4,4)"},
  };
  for (const Bad& b : bad) {
    const std::string msg = invoke_error(b.op, b.shapes, b.attrs);
    ASSERT_FALSE(msg.empty()) << b.op << " accepted " << b.shape_text;
    EXPECT_NE(msg.find(b.op), std::string::npos) << msg;
    EXPECT_NE(msg.find(b.shape_text), std::string::npos) << msg;
  }
  // Attributes out of range are errors too, never a kernel's problem.
  EXPECT_FALSE(invoke_error("Correlation", {{1, 2, 5, 5}, {1, 2, 5, 5}}, {{"kernel_size", "2"}}).empty());
  EXPECT_FALSE(invoke_error("_contrib_MultiBoxPrior", {{1, 2, 3, 3}}, {{"ratios", "(1,-2)"}}).empty());
  EXPECT_FALSE(invoke_error("_contrib_BilinearResize2D", {{1, 1, 3, 3}}, {{"mode", "odd_scale"}}).empty());
  EXPECT_FALSE(invoke_error("_contrib_BilinearResize2D", {{1, 1, 3, 3}}, {{"scale_height", "1e300"}}).empty());
}

TEST(Vision, RoiOpsTolerateRoisOutsideTheBatchOrNotFinite) {
  const float nan = std::nanf("");
  Arr data({1, 1, 4, 4}), rois({4, 5});
  data.set(std::vector<float>(16, 1.0f));
  rois.set(std::vector<float>{5, 0, 0, 2, 2,  -1, 0, 0, 2, 2,  0, nan, 0, 2, 2,  0, -1e30f, -1e30f, 1e30f, 1e30f});
  for (const char* op : {"ROIPooling", "_contrib_ROIAlign"}) {
    const char* keys[] = {"pooled_size", "spatial_scale", "sample_ratio"};
    const char* vals[] = {"(2,2)", "1", "2"};
    Arr out = mx::test::invoke1(op, {data.get(), rois.get()}, std::string(op) == "ROIPooling" ? 2 : 3, keys, vals);
    const auto v = out.to_vector<float>();
    ASSERT_EQ(v.size(), 16u) << op;
    // ROIs naming no batch give zeros
    for (size_t i = 0; i < 8; ++i) EXPECT_EQ(v[i], 0.0f) << op << " at " << i;
  }
}

}  // namespace
}  // namespace conformance
