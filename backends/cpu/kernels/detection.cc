// Kernels of the detection family (core/op/defs/detection.cc): _contrib_box_nms, _contrib_box_iou,
// _contrib_bipartite_matching, _contrib_MultiBoxPrior, _contrib_MultiBoxTarget and
// _contrib_MultiBoxDetection, following MXNet 1.9.1's CPU kernels (stable sorts, so equal scores keep
// their input order). Computation is in float64 (vision_util.h); batches are independent and run in
// parallel.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "vision_util.h"

namespace mxcpu::vision {
namespace {

// ---------------------------------------------------------------- boxes

// Corner form [xmin, ymin, xmax, ymax] of a box in `center` ([x, y, w, h]) or corner form.
struct Box {
  double l, t, r, b;
};
Box corner_box(const double* v, bool center) {
  if (!center) return {v[0], v[1], v[2], v[3]};
  return {v[0] - v[2] / 2, v[1] - v[3] / 2, v[0] + v[2] / 2, v[1] + v[3] / 2};
}
double area(const Box& a) { return (a.r < a.l || a.b < a.t) ? 0 : (a.r - a.l) * (a.b - a.t); }
double intersection(const Box& a, const Box& b) {
  const double w = std::min(a.r, b.r) - std::max(a.l, b.l), h = std::min(a.b, b.b) - std::max(a.t, b.t);
  return (w > 0 ? w : 0) * (h > 0 ? h : 0);
}
// MXNet's box_iou / box_nms overlap: 0 without intersection.
double iou(const Box& a, const Box& b) {
  const double i = intersection(a, b);
  return i <= 0 ? 0 : i / (area(a) + area(b) - i);
}

// Indices 0 .. n-1 stably sorted by key, descending (ascending when `ascend`).
std::vector<int64_t> order_by(const std::vector<double>& key, bool ascend) {
  std::vector<int64_t> idx(key.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return ascend ? key[size_t(a)] < key[size_t(b)] : key[size_t(a)] > key[size_t(b)];
  });
  return idx;
}

int64_t leading(const Buf& b, int trailing) {
  int64_t n = 1;
  for (size_t d = 0; d + size_t(trailing) < b.shape.size(); ++d) n *= b.shape[d];
  return n;
}

// ---------------------------------------------------------------- box_iou, box_nms

void box_iou(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const bool center = p.str("format") == "center";
  const int64_t L = leading(in[0], 1), R = leading(in[1], 1);
  parallel_for(L, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const Box a = corner_box(&in[0].v[size_t(i * 4)], center);
      for (int64_t j = 0; j < R; ++j) out[0][i * R + j] = iou(a, corner_box(&in[1].v[size_t(j * 4)], center));
    }
  });
}

void box_nms(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const Buf& x = in[0];
  Buf& y = out[0];
  const int64_t B = leading(x, 2), N = x.dim(int(x.shape.size()) - 2), K = x.shape.back();
  const int64_t cs = p.i("coord_start"), si = p.i("score_index"), ii = p.i("id_index"), bg = p.i("background_id");
  const int64_t topk = p.i("topk") < 0 ? N : std::min(N, p.i("topk"));
  const double overlap = p.f("overlap_thresh"), valid_thresh = p.f("valid_thresh");
  const bool force = p.b("force_suppress"), in_center = p.str("in_format") == "center";
  const bool out_center = p.str("out_format") == "center";
  if (topk < 1) {  // MXNet: nothing takes part, the data passes through
    y.v = x.v;
    return;
  }
  std::fill(y.v.begin(), y.v.end(), -1.0);
  parallel_for(B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const double* rows = &x.v[size_t(b * N * K)];
      // valid boxes by score, descending, then the first topk of them
      std::vector<int64_t> valid;
      std::vector<double> scores;
      for (int64_t n = 0; n < N; ++n) {
        const double* row = rows + n * K;
        if (!(row[si] > valid_thresh) || (ii >= 0 && row[ii] == double(bg))) continue;
        valid.push_back(n);
        scores.push_back(row[si]);
      }
      std::vector<int64_t> cand;
      for (int64_t k : order_by(scores, false)) cand.push_back(valid[size_t(k)]);
      if (int64_t(cand.size()) > topk) cand.resize(size_t(topk));
      std::vector<bool> removed(cand.size(), false);
      for (size_t i = 0; i < cand.size(); ++i) {
        if (removed[i]) continue;
        const double* ri = rows + cand[i] * K;
        const Box bi = corner_box(ri + cs, in_center);
        for (size_t j = i + 1; j < cand.size(); ++j) {
          const double* rj = rows + cand[j] * K;
          if (removed[j] || (!force && ii >= 0 && int64_t(ri[ii]) != int64_t(rj[ii]))) continue;
          if (iou(bi, corner_box(rj + cs, in_center)) > overlap) removed[j] = true;
        }
      }
      int64_t kept = 0;
      for (size_t i = 0; i < cand.size(); ++i) {
        if (removed[i]) continue;
        double* o = &y.v[size_t((b * N + kept++) * K)];
        std::copy(rows + cand[i] * K, rows + (cand[i] + 1) * K, o);
        if (in_center != out_center) {
          const Box c = corner_box(o + cs, in_center);
          const double conv[4] = {(c.l + c.r) / 2, (c.t + c.b) / 2, c.r - c.l, c.b - c.t};
          if (out_center) std::copy(conv, conv + 4, o + cs);
          else o[cs] = c.l, o[cs + 1] = c.t, o[cs + 2] = c.r, o[cs + 3] = c.b;
        }
      }
    }
  });
}

// ---------------------------------------------------------------- bipartite_matching

void bipartite_matching(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const Buf& x = in[0];
  const int64_t B = leading(x, 2), N = x.dim(int(x.shape.size()) - 2), M = x.shape.back();
  const bool ascend = p.b("is_ascend");
  const double threshold = p.f("threshold");
  const int64_t topk = p.i("topk");
  std::fill(out[0].v.begin(), out[0].v.end(), -1.0);
  std::fill(out[1].v.begin(), out[1].v.end(), -1.0);
  parallel_for(B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const std::vector<double> scores(x.v.begin() + b * N * M, x.v.begin() + (b + 1) * N * M);
      double* rows = &out[0].v[size_t(b * N)];
      double* cols = &out[1].v[size_t(b * M)];
      int64_t count = 0;
      for (int64_t k : order_by(scores, ascend)) {
        const int64_t r = k / M, c = k % M;
        if (rows[r] != -1 || cols[c] != -1) continue;
        const double s = scores[size_t(k)];
        if (ascend ? !(s < threshold) : !(s > threshold)) break;  // every later score is worse
        rows[r] = double(c);
        cols[c] = double(r);
        if (topk > 0 && ++count >= topk) break;
      }
    }
  });
}

// ---------------------------------------------------------------- MultiBoxPrior

void multibox_prior(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const int64_t H = in[0].dim(2), W = in[0].dim(3);
  const std::vector<double> sizes = p.floats("sizes"), ratios = p.floats("ratios"), steps = p.floats("steps"),
                            offsets = p.floats("offsets");
  const double step_y = steps[0] > 0 ? steps[0] : 1.0 / double(H), step_x = steps[1] > 0 ? steps[1] : 1.0 / double(W);
  const bool clip = p.b("clip");
  double* o = out[0].v.data();
  auto put = [&](double cx, double cy, double w, double h) {
    const double v[4] = {cx - w, cy - h, cx + w, cy + h};
    for (double e : v) *o++ = clip ? std::clamp(e, 0.0, 1.0) : e;
  };
  for (int64_t r = 0; r < H; ++r)
    for (int64_t c = 0; c < W; ++c) {
      const double cy = (double(r) + offsets[0]) * step_y, cx = (double(c) + offsets[1]) * step_x;
      for (double size : sizes) put(cx, cy, size * double(H) / double(W) / 2, size / 2);  // ratio 1, every size
      for (size_t j = 1; j < ratios.size(); ++j) {  // sizes[0], every further ratio
        const double q = std::sqrt(ratios[j]);
        put(cx, cy, sizes[0] * double(H) / double(W) * q / 2, sizes[0] / q / 2);
      }
    }
}

// ---------------------------------------------------------------- MultiBoxTarget

// in: anchor (1, A, 4), label (B, L, width), cls_pred (B, classes, A); out: loc_target, loc_mask, cls_target.
void multibox_target(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const Buf &anchor = in[0], &label = in[1], &cls = in[2];
  const int64_t A = anchor.dim(1), B = label.dim(0), L = label.dim(1), LW = label.dim(2), NC = cls.dim(1);
  const double overlap_thresh = p.f("overlap_threshold"), ratio = p.f("negative_mining_ratio");
  const double mining_thresh = p.f("negative_mining_thresh");
  const std::vector<double> var = p.floats("variances");
  std::fill(out[2].v.begin(), out[2].v.end(), p.f("ignore_label"));
  parallel_for(B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const double* lab = &label.v[size_t(b * L * LW)];
      int64_t G = 0;  // ground truths: the rows before the first with class -1
      while (G < L && lab[G * LW] != -1) ++G;
      if (G == 0) continue;
      std::vector<double> ov(size_t(A * G));
      for (int64_t a = 0; a < A; ++a)
        for (int64_t g = 0; g < G; ++g)
          ov[size_t(a * G + g)] = iou(corner_box(&anchor.v[size_t(a * 4)], false), corner_box(lab + g * LW + 1, false));
      std::vector<int> flag(size_t(A), -1);  // 1 positive, 0 negative, -1 ignored
      std::vector<double> best_iou(size_t(A), -1);
      std::vector<int64_t> match(size_t(A), -1);
      // Bipartite: repeatedly the best (anchor, ground truth) pair among the unmatched ones.
      std::vector<bool> gt_done(size_t(G), false);
      for (int64_t round = 0; round < G; ++round) {
        int64_t ba = -1, bg = -1;
        double best = 1e-6;
        for (int64_t a = 0; a < A; ++a) {
          if (flag[size_t(a)] == 1) continue;
          for (int64_t g = 0; g < G; ++g)
            if (!gt_done[size_t(g)] && ov[size_t(a * G + g)] > best) best = ov[size_t(a * G + g)], ba = a, bg = g;
        }
        if (ba < 0) break;
        flag[size_t(ba)] = 1, best_iou[size_t(ba)] = best, match[size_t(ba)] = bg, gt_done[size_t(bg)] = true;
      }
      // Then every other anchor whose best ground truth overlaps enough.
      auto best_gt = [&](int64_t a) {
        int64_t g_best = 0;
        for (int64_t g = 1; g < G; ++g)
          if (ov[size_t(a * G + g)] > ov[size_t(a * G + g_best)]) g_best = g;
        best_iou[size_t(a)] = ov[size_t(a * G + g_best)];
        match[size_t(a)] = g_best;
      };
      if (overlap_thresh > 0)
        for (int64_t a = 0; a < A; ++a) {
          if (flag[size_t(a)] == 1) continue;
          best_gt(a);
          if (best_iou[size_t(a)] > overlap_thresh) flag[size_t(a)] = 1;
        }
      int64_t positives = 0;
      for (int f : flag) positives += f == 1;
      if (ratio > 0) {
        // Hard negatives: the unmatched anchors below mining_thresh with the lowest background probability.
        const int64_t wanted = std::min(int64_t(double(positives) * ratio), A - positives);
        std::vector<int64_t> cand;
        std::vector<double> key;
        for (int64_t a = 0; a < A && wanted > 0; ++a) {
          if (flag[size_t(a)] == 1) continue;
          if (best_iou[size_t(a)] < 0) best_gt(a);
          if (!(best_iou[size_t(a)] < mining_thresh)) continue;
          const double* c = &cls.v[size_t(b * NC * A + a)];
          double mx = c[0], sum = 0;
          for (int64_t k = 1; k < NC; ++k) mx = std::max(mx, c[k * A]);
          for (int64_t k = 0; k < NC; ++k) sum += std::exp(c[k * A] - mx);
          cand.push_back(a);
          key.push_back(-std::exp(c[0] - mx) / sum);
        }
        const auto ord = order_by(key, false);
        for (size_t i = 0; i < ord.size() && int64_t(i) < wanted; ++i) flag[size_t(cand[size_t(ord[i])])] = 0;
      } else {
        for (int& f : flag)
          if (f != 1) f = 0;
      }
      for (int64_t a = 0; a < A; ++a) {
        if (flag[size_t(a)] == 0) out[2][b * A + a] = 0;
        if (flag[size_t(a)] != 1) continue;
        const double* g = lab + match[size_t(a)] * LW;
        out[2][b * A + a] = g[0] + 1;  // 0 is the background
        const Box an = corner_box(&anchor.v[size_t(a * 4)], false), gt = corner_box(g + 1, false);
        const double aw = an.r - an.l, ah = an.b - an.t, gw = gt.r - gt.l, gh = gt.b - gt.t;
        const double enc[4] = {((gt.l + gt.r) / 2 - (an.l + an.r) / 2) / aw / var[0],
                               ((gt.t + gt.b) / 2 - (an.t + an.b) / 2) / ah / var[1], std::log(gw / aw) / var[2],
                               std::log(gh / ah) / var[3]};
        for (int k = 0; k < 4; ++k) out[0][(b * A + a) * 4 + k] = enc[k], out[1][(b * A + a) * 4 + k] = 1;
      }
    }
  });
}

// ---------------------------------------------------------------- MultiBoxDetection

// in: cls_prob (B, classes, A), loc_pred (B, A*4), anchor (1, A, 4); out (B, A, 6).
void multibox_detection(const Params& p, const std::vector<Buf>& in, std::vector<Buf>& out) {
  const Buf &prob = in[0], &loc = in[1], &anchor = in[2];
  const int64_t B = prob.dim(0), NC = prob.dim(1), A = prob.dim(2), bg = p.i("background_id");
  const std::vector<double> var = p.floats("variances");
  const double threshold = p.f("threshold"), nms = p.f("nms_threshold");
  const bool clip = p.b("clip"), force = p.b("force_suppress");
  const int64_t topk = p.i("nms_topk");
  std::fill(out[0].v.begin(), out[0].v.end(), -1.0);
  parallel_for(B, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      double* o = &out[0].v[size_t(b * A * 6)];
      int64_t valid = 0;
      for (int64_t a = 0; a < A; ++a) {
        double score = -1;
        int64_t id = -1;
        for (int64_t k = 0; k < NC; ++k)
          if (k != bg && prob[(b * NC + k) * A + a] > score) score = prob[(b * NC + k) * A + a], id = k;
        if (id < 0 || score < threshold) continue;
        // decode: centre offsets scaled by the anchor size, log sizes
        const Box an = corner_box(&anchor.v[size_t(a * 4)], false);
        const double* l = &loc.v[size_t((b * A + a) * 4)];
        const double aw = an.r - an.l, ah = an.b - an.t;
        const double ox = l[0] * var[0] * aw + (an.l + an.r) / 2, oy = l[1] * var[1] * ah + (an.t + an.b) / 2;
        const double ow = std::exp(l[2] * var[2]) * aw / 2, oh = std::exp(l[3] * var[3]) * ah / 2;
        const double row[6] = {double(id > bg ? id - 1 : id), score, ox - ow, oy - oh, ox + ow, oy + oh};
        for (int k = 0; k < 6; ++k) o[valid * 6 + k] = k >= 2 && clip ? std::clamp(row[k], 0.0, 1.0) : row[k];
        ++valid;
      }
      if (valid < 1 || nms <= 0 || nms > 1) continue;
      // Sort the valid rows by score; beyond nms_topk they keep their place with class -1.
      std::vector<double> scores(static_cast<size_t>(valid));
      for (int64_t i = 0; i < valid; ++i) scores[size_t(i)] = o[i * 6 + 1];
      const std::vector<double> rows(o, o + valid * 6);
      const auto ord = order_by(scores, false);
      const int64_t keep = topk > 0 && topk < valid ? topk : valid;
      for (int64_t i = keep; i < valid; ++i) o[i * 6] = -1;
      for (int64_t i = 0; i < keep; ++i) std::copy(&rows[size_t(ord[size_t(i)] * 6)], &rows[size_t(ord[size_t(i)] * 6 + 6)], o + i * 6);
      for (int64_t i = 0; i < keep; ++i) {
        if (o[i * 6] < 0) continue;
        const Box bi = corner_box(o + i * 6 + 2, false);
        for (int64_t j = i + 1; j < keep; ++j) {
          if (o[j * 6] < 0 || (!force && o[i * 6] != o[j * 6])) continue;
          if (iou(bi, corner_box(o + j * 6 + 2, false)) >= nms) o[j * 6] = -1;
        }
      }
    }
  });
}

const mx_kernel kTable[] = {
    vision_kernel<box_nms>("_contrib_box_nms"),
    vision_kernel<box_iou>("_contrib_box_iou"),
    vision_kernel<bipartite_matching>("_contrib_bipartite_matching"),
    vision_kernel<multibox_prior>("_contrib_MultiBoxPrior"),
    vision_kernel<multibox_target>("_contrib_MultiBoxTarget"),
    vision_kernel<multibox_detection>("_contrib_MultiBoxDetection"),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kTable);

}  // namespace
}  // namespace mxcpu::vision
