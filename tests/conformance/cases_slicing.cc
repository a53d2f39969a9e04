// Conformance cases for slice, slice_like, split / SliceChannel, Concat of many inputs,
// gather_nd and scatter_nd. References index the inputs directly (numpy's slicing rules spelled
// out per case).
#include "harness.h"

namespace conformance {
namespace {

// data[b0:e0:s0, b1:e1:s1, ...] for resolved (begin, step, count) per axis.
struct Axis {
  int64_t begin, step, count;
};
Vec naive_slice(const Vec& x, const Shape& s, const std::vector<Axis>& axes) {
  Shape out;
  for (auto& a : axes) out.push_back(a.count);
  Vec y(size_t(numel(out)));
  for (int64_t i = 0; i < numel(out); ++i) {
    auto c = unravel(i, out);
    for (size_t d = 0; d < c.size(); ++d) c[d] = axes[d].begin + c[d] * axes[d].step;
    y[size_t(i)] = x[size_t(ravel(c, s))];
  }
  return y;
}

Case slice_case(std::string begin, std::string end, std::string step, Shape s, std::vector<Axis> axes) {
  std::vector<std::pair<std::string, std::string>> attrs{{"begin", begin}, {"end", end}};
  if (!step.empty()) attrs.push_back({"step", step});
  return Case{"slice", attrs, {{s}}, [=](const std::vector<Vec>& in) { return naive_slice(in[0], s, axes); }};
}

// Indices (M, n) addressing the first M axes of `full`; out[j, z...] = full[idx[:, j], z...].
Vec naive_gather(const Vec& data, const Shape& full, const Vec& idx, int64_t m, int64_t n) {
  int64_t block = 1;
  for (size_t d = size_t(m); d < full.size(); ++d) block *= full[d];
  Vec y(size_t(n * block));
  for (int64_t j = 0; j < n; ++j) {
    std::vector<int64_t> c(full.size(), 0);
    for (int64_t a = 0; a < m; ++a) {
      int64_t v = int64_t(idx[size_t(a * n + j)]);
      c[size_t(a)] = v < 0 ? v + full[size_t(a)] : v;
    }
    const int64_t base = ravel(c, full);
    for (int64_t e = 0; e < block; ++e) y[size_t(j * block + e)] = data[size_t(base + e)];
  }
  return y;
}

}  // namespace

std::vector<Case> slicing_cases() {
  std::vector<Case> c = {
      slice_case("(1,None)", "(3,None)", "", {4, 5}, {{1, 1, 2}, {0, 1, 5}}),
      // negative step walking backwards, None begin/end, stride 2 on the last axis
      slice_case("(None,4,0)", "(None,0,None)", "(1,-2,2)", {2, 5, 3}, {{0, 1, 2}, {4, -2, 2}, {0, 2, 2}}),
      // negative begin, end past the axis (clamps), fewer entries than dims
      slice_case("(-3,)", "(10,)", "(2,)", {5, 3}, {{2, 2, 2}, {0, 1, 3}}),
      slice_case("(None,)", "(None,)", "(-1,)", {4, 2}, {{3, -1, 4}, {0, 1, 2}}),
      Case{"slice_like", {}, {{{4, 5}}, {{2, 3}}}, [](const std::vector<Vec>& in) {
             return naive_slice(in[0], {4, 5}, {{0, 1, 2}, {0, 1, 3}});
           }, true, false, {1}},
      Case{"slice_like", {{"axes", "(-1,)"}}, {{{3, 5}}, {{2, 2}}}, [](const std::vector<Vec>& in) {
             return naive_slice(in[0], {3, 5}, {{0, 1, 3}, {0, 1, 2}});
           }, true, false, {1}},
      Case{"split", {{"num_outputs", "3"}}, {{{2, 6, 2}}}, [](const std::vector<Vec>& in) {
             return naive_slice(in[0], {2, 6, 2}, {{0, 1, 2}, {2, 1, 2}, {0, 1, 2}});
           }, true, false, {}, 1},
      Case{"SliceChannel", {{"num_outputs", "3"}, {"axis", "-1"}, {"squeeze_axis", "True"}}, {{{2, 3}}},
           [](const std::vector<Vec>& in) { return naive_slice(in[0], {2, 3}, {{0, 1, 2}, {2, 1, 1}}); }, true, false, {}, 2},
      // more inputs than a launch keeps inline
      Case{"Concat", {{"num_args", "12"}, {"dim", "0"}}, std::vector<InputSpec>(12, InputSpec{{1, 3}}),
           [](const std::vector<Vec>& in) {
             Vec y;
             for (auto& x : in) y.insert(y.end(), x.begin(), x.end());
             return y;
           }},
      // indices in [-3, 3): negative ones count from the end; repeats accumulate in the gradient
      Case{"gather_nd", {}, {{{3, 4, 2}}, {{2, 5}, -3, 3, true}}, [](const std::vector<Vec>& in) {
             return naive_gather(in[0], {3, 4, 2}, in[1], 2, 5);
           }, true, false, {1}},
      Case{"gather_nd", {}, {{{3, 4}}, {{1, 2, 2}, 0, 3, true}}, [](const std::vector<Vec>& in) {
             return naive_gather(in[0], {3, 4}, in[1], 1, 4);
           }, true, false, {1}},
      // distinct positions (repeats would make the write order matter)
      Case{"scatter_nd", {{"shape", "(3,4,2)"}}, {{{3, 2}}, {{2, 3}, 0, 0, true, {2, 0, -1, 1, 3, 0}}},
           [](const std::vector<Vec>& in) {
             Vec y(24, 0.0);
             const int64_t pos[3][2] = {{2, 1}, {0, 3}, {2, 0}};  // (-1 -> 2)
             for (int j = 0; j < 3; ++j)
               for (int e = 0; e < 2; ++e) y[size_t((pos[j][0] * 4 + pos[j][1]) * 2 + e)] = in[0][size_t(j * 2 + e)];
             return y;
           }, true, false, {1}},
  };
  return c;
}

}  // namespace conformance
