// Conformance cases of the shape and indexing ops (core/op/defs/axes.cc and lookup.cc): naive
// references index the inputs directly from MXNet's documented definitions. Dedicated tests below
// check what a Case cannot: every output of _split_v2 / _histogram / moments with its shape and
// dtype, the int64 outputs of shape_array / size_array, and the schema errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "../unit/test_util.h"
#include "dedicated.h"
#include "harness.h"

namespace conformance {
namespace {

// y[c_out] = x[map(c_out)] over the output shape `out`, map giving input coordinates.
template <typename Map>
Vec gather(const Vec& x, const Shape& in, const Shape& out, Map map) {
  Vec y(size_t(numel(out)));
  for (int64_t i = 0; i < numel(out); ++i) y[size_t(i)] = x[size_t(ravel(map(unravel(i, out)), in))];
  return y;
}

// Sliding windows of a (N, C, H, W) image (1-d: H = KH = 1): col[n, (c*KH + i)*KW + j, oy*OW + ox].
struct Win {
  int64_t N, C, H, W, KH, KW, sh, sw, dh, dw, ph, pw;
  int64_t OH() const { return (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1; }
  int64_t OW() const { return (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1; }
};
// Calls f(image index or -1, column index) for every tap.
template <typename F>
void taps(const Win& w, F f) {
  const int64_t OH = w.OH(), OW = w.OW();
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t c = 0; c < w.C; ++c)
      for (int64_t i = 0; i < w.KH; ++i)
        for (int64_t j = 0; j < w.KW; ++j)
          for (int64_t oy = 0; oy < OH; ++oy)
            for (int64_t ox = 0; ox < OW; ++ox) {
              const int64_t y = oy * w.sh - w.ph + i * w.dh, x = ox * w.sw - w.pw + j * w.dw;
              const int64_t col = ((n * w.C + c) * w.KH * w.KW + i * w.KW + j) * OH * OW + oy * OW + ox;
              const bool in = y >= 0 && y < w.H && x >= 0 && x < w.W;
              f(in ? ((n * w.C + c) * w.H + y) * w.W + x : -1, col);
            }
}
Vec naive_im2col(const Vec& x, const Win& w) {
  Vec col(size_t(w.N * w.C * w.KH * w.KW * w.OH() * w.OW()), 0.0);
  taps(w, [&](int64_t at, int64_t c) { col[size_t(c)] = at >= 0 ? x[size_t(at)] : 0.0; });
  return col;
}
Vec naive_col2im(const Vec& col, const Win& w) {
  Vec img(size_t(w.N * w.C * w.H * w.W), 0.0);
  taps(w, [&](int64_t at, int64_t c) {
    if (at >= 0) img[size_t(at)] += col[size_t(c)];
  });
  return img;
}

Case window_case(const char* op, Win w, Attrs attrs, bool one_d) {
  const Shape img = one_d ? Shape{w.N, w.C, w.W} : Shape{w.N, w.C, w.H, w.W};
  const Shape col{w.N, w.C * w.KH * w.KW, w.OH() * w.OW()};
  const bool to_col = std::string(op) == "im2col";
  return Case{op, attrs, {{to_col ? img : col}}, [w, to_col](const std::vector<Vec>& in) {
                return to_col ? naive_im2col(in[0], w) : naive_col2im(in[0], w);
              }};
}

Vec naive_histogram(const Vec& x, const Vec& edges) {
  Vec counts(edges.size() - 1, 0.0);
  for (double v : x) {
    if (v < edges.front() || v > edges.back()) continue;
    size_t b = 0;
    while (b + 1 < counts.size() && v >= edges[b + 1]) ++b;
    counts[b] += 1;
  }
  return counts;
}

// Mean (which = 0) or population variance (1) of x (3, 4, 2) over axis 1.
Vec naive_moment(const Vec& x, int which) {
  Vec y;
  for (int a = 0; a < 3; ++a)
    for (int c = 0; c < 2; ++c) {
      double m = 0, v = 0;
      for (int b = 0; b < 4; ++b) m += x[size_t((a * 4 + b) * 2 + c)] / 4;
      for (int b = 0; b < 4; ++b) v += (x[size_t((a * 4 + b) * 2 + c)] - m) * (x[size_t((a * 4 + b) * 2 + c)] - m) / 4;
      y.push_back(which ? v : m);
    }
  return y;
}

std::vector<Case> axes_cases() {
  const Shape s234{2, 3, 4};
  auto same = [](const std::vector<Vec>& in) { return in[0]; };
  return {
      Case{"SwapAxis", {{"dim1", "0"}, {"dim2", "2"}}, {{s234}}, [=](const std::vector<Vec>& in) {
             return gather(in[0], s234, {4, 3, 2}, [](std::vector<int64_t> c) { return std::vector<int64_t>{c[2], c[1], c[0]}; });
           }},
      Case{"swapaxes", {{"dim1", "-1"}, {"dim2", "1"}}, {{s234}}, [=](const std::vector<Vec>& in) {
             return gather(in[0], s234, {2, 4, 3}, [](std::vector<int64_t> c) { return std::vector<int64_t>{c[0], c[2], c[1]}; });
           }},
      Case{"reshape_like", {}, {{{2, 6}}, {{3, 4}}}, same, true, false, {1}},
      Case{"reshape_like", {{"lhs_begin", "1"}, {"lhs_end", "2"}, {"rhs_begin", "0"}, {"rhs_end", "-1"}},
           {{{2, 6, 1}}, {{2, 3, 5}}}, same, true, false, {1}},
      Case{"reverse", {{"axis", "(0,2)"}}, {{s234}}, [=](const std::vector<Vec>& in) {
             return gather(in[0], s234, s234, [](std::vector<int64_t> c) { return std::vector<int64_t>{1 - c[0], c[1], 3 - c[2]}; });
           }},
      Case{"flip", {{"axis", "-2"}}, {{s234}}, [=](const std::vector<Vec>& in) {
             return gather(in[0], s234, s234, [](std::vector<int64_t> c) { return std::vector<int64_t>{c[0], 2 - c[1], c[2]}; });
           }},
      // DCR: out[n, c, h, w] = in[n, ((h % b) * b + w % b) * C' + c, h / b, w / b]
      Case{"depth_to_space", {{"block_size", "2"}}, {{{2, 8, 2, 3}}}, [](const std::vector<Vec>& in) {
             return gather(in[0], {2, 8, 2, 3}, {2, 2, 4, 6}, [](std::vector<int64_t> c) {
               return std::vector<int64_t>{c[0], ((c[2] % 2) * 2 + c[3] % 2) * 2 + c[1], c[2] / 2, c[3] / 2};
             });
           }},
      // out[n, (i * b + j) * C + c, h, w] = in[n, c, h * b + i, w * b + j]
      Case{"space_to_depth", {{"block_size", "3"}}, {{{1, 2, 3, 6}}}, [](const std::vector<Vec>& in) {
             return gather(in[0], {1, 2, 3, 6}, {1, 18, 1, 2}, [](std::vector<int64_t> c) {
               const int64_t ij = c[1] / 2;
               return std::vector<int64_t>{c[0], c[1] % 2, c[2] * 3 + ij / 3, c[3] * 3 + ij % 3};
             });
           }},
      Case{"broadcast_to", {{"shape", "(3,0,4)"}}, {{{1, 2, 1}}}, [](const std::vector<Vec>& in) {
             return gather(in[0], {1, 2, 1}, {3, 2, 4}, [](std::vector<int64_t> c) { return std::vector<int64_t>{0, c[1], 0}; });
           }},
      Case{"broadcast_axis", {{"axis", "(0,-1)"}, {"size", "(3,4)"}}, {{{1, 2, 1}}}, [](const std::vector<Vec>& in) {
             return gather(in[0], {1, 2, 1}, {3, 2, 4}, [](std::vector<int64_t> c) { return std::vector<int64_t>{0, c[1], 0}; });
           }},
      Case{"broadcast_axes", {{"axis", "1"}, {"size", "3"}}, {{{2, 1}}}, [](const std::vector<Vec>& in) {
             return gather(in[0], {2, 1}, {2, 3}, [](std::vector<int64_t> c) { return std::vector<int64_t>{c[0], 0}; });
           }},
      // pieces [0, 1), [1, 4), [4, 6) of axis 1: the middle one
      Case{"_split_v2", {{"indices", "(0,1,4)"}, {"axis", "1"}}, {{{2, 6, 2}}}, [](const std::vector<Vec>& in) {
             return gather(in[0], {2, 6, 2}, {2, 3, 2}, [](std::vector<int64_t> c) { return std::vector<int64_t>{c[0], c[1] + 1, c[2]}; });
           }, true, false, {}, 1},
      Case{"_split_v2", {{"sections", "3"}, {"axis", "-1"}, {"squeeze_axis", "True"}}, {{{2, 3}}},
           [](const std::vector<Vec>& in) { return Vec{in[0][2], in[0][5]}; }, true, false, {}, 2},
      Case{"shape_array", {}, {{s234}}, [](const std::vector<Vec>&) { return Vec{2, 3, 4}; }, false},
      Case{"size_array", {}, {{s234}}, [](const std::vector<Vec>&) { return Vec{24}; }, false},
      window_case("im2col", {2, 2, 4, 5, 2, 3, 1, 2, 1, 1, 1, 0}, {{"kernel", "(2,3)"}, {"stride", "(1,2)"}, {"pad", "(1,0)"}},
                  false),
      window_case("im2col", {1, 2, 1, 7, 1, 2, 1, 1, 1, 2, 0, 1}, {{"kernel", "(2,)"}, {"dilate", "(2,)"}, {"pad", "(1,)"}}, true),
      window_case("col2im", {2, 2, 4, 5, 2, 2, 2, 1, 1, 2, 1, 1},
                  {{"output_size", "(4,5)"}, {"kernel", "(2,2)"}, {"stride", "(2,1)"}, {"dilate", "(1,2)"}, {"pad", "(1,1)"}}, false),
  };
}

std::vector<Case> lookup_cases() {
  // coordinates into (3, 4, 5), one column per index
  const Vec coords = {2, 0, 1, 2, 0, 1, 3, 0, 2, 1, 0, 3, 4, 0, 1, 3, 2, 0};
  return {
      Case{"_ravel_multi_index", {{"shape", "(3,4,5)"}}, {{{3, 6}, 0, 0, false, coords}}, [](const std::vector<Vec>& in) {
             Vec y(6);
             for (size_t j = 0; j < 6; ++j) y[j] = (in[0][j] * 4 + in[0][6 + j]) * 5 + in[0][12 + j];
             return y;
           }, false},
      Case{"unravel_index", {{"shape", "(3,4,5)"}}, {{{5}, 0, 0, false, {0, 59, 21, 7, 40}}}, [](const std::vector<Vec>& in) {
             Vec y(15);
             for (size_t j = 0; j < 5; ++j) {
               const int64_t v = int64_t(in[0][j]);
               y[j] = double(v / 20), y[5 + j] = double(v / 5 % 4), y[10 + j] = double(v % 5);
             }
             return y;
           }, false},
      // indices past the row clip to its ends
      Case{"batch_take", {}, {{{4, 3}}, {{4}, 0, 0, false, {2, 0, 5, -1}}}, [](const std::vector<Vec>& in) {
             return Vec{in[0][2], in[0][3], in[0][8], in[0][9]};
           }, false},
      Case{"choose_element_0index", {}, {{{3, 4}}, {{3}, 0, 0, false, {3, 0, 2}}}, [](const std::vector<Vec>& in) {
             return Vec{in[0][3], in[0][4], in[0][10]};
           }, true, false, {1}},
      Case{"fill_element_0index", {}, {{{3, 4}}, {{3}}, {{3}, 0, 0, false, {1, 3, 0}}}, [](const std::vector<Vec>& in) {
             Vec y = in[0];
             y[1] = in[1][0], y[7] = in[1][1], y[8] = in[1][2];
             return y;
           }, true, false, {2}},
      Case{"onehot_encode", {}, {{{3}, 0, 0, false, {2, 0, 3}}, {{3, 4}}}, [](const std::vector<Vec>&) {
             Vec y(12, 0.0);
             y[2] = y[4] = y[11] = 1;
             return y;
           }, false},
      Case{"histogram", {{"bin_cnt", "4"}, {"range", "(-1.5, 2)"}}, {{{30}, -2, 2}}, [](const std::vector<Vec>& in) {
             return naive_histogram(in[0], {-1.5, -0.625, 0.25, 1.125, 2});
           }, false},
      Case{"_histogram", {}, {{{30}, -2, 2}, {{5}, 0, 0, false, {-1.5, -0.5, 0, 1.5, 1.75}}}, [](const std::vector<Vec>& in) {
             return naive_histogram(in[0], in[1]);
           }, false},
      Case{"moments", {{"axes", "(1,)"}}, {{{3, 4, 2}}}, [](const std::vector<Vec>& in) { return naive_moment(in[0], 0); }},
      Case{"moments", {{"axes", "1"}, {"keepdims", "True"}}, {{{3, 4, 2}}},
           [](const std::vector<Vec>& in) { return naive_moment(in[0], 1); }, true, true, {}, 1},
  };
}

// ---------------------------------------------------------------- dedicated tests

using mx::test::Arr;

Arr filled(const Shape& s, const Vec& v, int32_t dtype = MX_FLOAT64) {
  Arr a(s, dtype);
  if (dtype == MX_FLOAT64) a.set(v);
  else a.set(std::vector<float>(v.begin(), v.end()));
  return a;
}
Vec values(const Arr& a) {
  int32_t dt = 0;
  EXPECT_MX_OK(mx_ndarray_get_dtype(a.get(), &dt));
  if (dt == MX_INT64) {
    auto v = a.to_vector<int64_t>();
    return Vec(v.begin(), v.end());
  }
  return a.to_vector<double>();
}
Vec iota(int64_t n) {
  Vec v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(i);
  return v;
}

}  // namespace

TEST(AxesOps, SplitV2ReturnsEveryPieceWithItsShape) {
  Arr x = filled({2, 5}, iota(10));
  // numpy's split at (2, 4) of axis 1: widths 2, 2, 1
  auto parts = call("_split_v2", {x.get()}, {{"indices", "(0,2,4)"}, {"axis", "1"}});
  ASSERT_EQ(parts.size(), 3u);
  const std::vector<Shape> shapes = {{2, 2}, {2, 2}, {2, 1}};
  const std::vector<Vec> want = {{0, 1, 5, 6}, {2, 3, 7, 8}, {4, 9}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(parts[i].shape(), shapes[i]) << "piece " << i;
    EXPECT_EQ(values(parts[i]), want[i]) << "piece " << i;
  }
  // an empty piece beside full ones is refused (the core skips calls with an empty output)
  const std::string msg = error_of("_split_v2", {x.get()}, {{"indices", "(0,2,2,4)"}, {"axis", "1"}});
  EXPECT_NE(msg.find("empty piece 1"), std::string::npos) << msg;
  auto rows = call("_split_v2", {x.get()}, {{"sections", "2"}, {"axis", "0"}, {"squeeze_axis", "True"}});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].shape(), (Shape{5}));
  EXPECT_EQ(values(rows[1]), (Vec{5, 6, 7, 8, 9}));
}

TEST(AxesOps, ShapeAndSizeArraysAreInt64) {
  Arr x({2, 3, 4}, MX_FLOAT32);
  auto s = call("shape_array", {x.get()}, {});
  auto n = call("size_array", {x.get()}, {});
  ASSERT_EQ(s.size(), 1u);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(dtype_of(s[0]), MX_INT64);
  EXPECT_EQ(dtype_of(n[0]), MX_INT64);
  EXPECT_EQ(s[0].to_vector<int64_t>(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(n[0].to_vector<int64_t>(), (std::vector<int64_t>{24}));
}

TEST(AxesOps, HistogramCountsInt64AndEdges) {
  // 2.0 is the last edge (counted in the last bin), -3 and 2.5 fall outside, NaN is never counted
  Arr x = filled({7}, {-3, -1, -0.5, 0, 0.99, 2, 2.5});
  auto out = call("_histogram", {x.get()}, {{"bin_cnt", "3"}, {"range", "(-1, 2)"}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(dtype_of(out[0]), MX_INT64);
  EXPECT_EQ(values(out[0]), (Vec{2, 2, 1}));
  EXPECT_EQ(values(out[1]), (Vec{-1, 0, 1, 2}));
  Arr edges = filled({3}, {0, 1, 4});
  auto given = call("histogram", {x.get(), edges.get()}, {});
  ASSERT_EQ(given.size(), 2u);
  EXPECT_EQ(values(given[0]), (Vec{2, 2}));
  EXPECT_EQ(values(given[1]), (Vec{0, 1, 4}));
  Arr same = filled({2}, {3, 3});  // an empty range widens to (lo - 0.5, hi + 0.5)
  auto wide = call("_histogram", {same.get()}, {{"bin_cnt", "2"}, {"range", "(3, 3)"}});
  ASSERT_EQ(wide.size(), 2u);
  EXPECT_EQ(values(wide[0]), (Vec{0, 2}));
  EXPECT_EQ(values(wide[1]), (Vec{2.5, 3, 3.5}));
}

TEST(AxesOps, MomentsGivesMeanAndVarianceShapes) {
  Arr x = filled({2, 3}, {1, 2, 3, 4, 6, 8});
  auto all = call("moments", {x.get()}, {});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].shape(), Shape{1});  // a full reduction is (1,), as in MXNet 1.x
  EXPECT_NEAR(values(all[0])[0], 4.0, 1e-12);
  EXPECT_NEAR(values(all[1])[0], (9 + 4 + 1 + 0 + 4 + 16) / 6.0, 1e-12);
  auto kept = call("moments", {x.get()}, {{"axes", "(-1,)"}, {"keepdims", "True"}});
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(values(kept[0]), (Vec{2, 6}));
  EXPECT_EQ(values(kept[1]), (Vec{2.0 / 3, 8.0 / 3}));
}

TEST(AxesOps, SchemaErrorsNameOpAndShapes) {
  Arr x({2, 3, 4}, MX_FLOAT32), img({1, 5, 4, 4}, MX_FLOAT32), row({3}, MX_FLOAT32), m({3, 4}, MX_FLOAT32);
  auto expect_error = [](const std::string& msg, std::vector<std::string> parts) {
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  };
  expect_error(error_of("SwapAxis", {x.get()}, {{"dim1", "3"}}), {"SwapAxis", "3"});
  expect_error(error_of("reverse", {x.get()}, {{"axis", "(0,-4)"}}), {"reverse", "-4"});
  expect_error(error_of("depth_to_space", {img.get()}, {{"block_size", "2"}}), {"depth_to_space", "(1,5,4,4)"});
  expect_error(error_of("space_to_depth", {img.get()}, {{"block_size", "3"}}), {"space_to_depth", "(1,5,4,4)"});
  expect_error(error_of("depth_to_space", {x.get()}, {{"block_size", "1"}}), {"depth_to_space", "(2,3,4)"});
  expect_error(error_of("broadcast_to", {x.get()}, {{"shape", "(2,5,4)"}}), {"broadcast_to", "(2,3,4)", "(2,5,4)"});
  expect_error(error_of("broadcast_axis", {x.get()}, {{"axis", "(1,)"}, {"size", "(3,)"}}), {"broadcast_axis", "(2,3,4)"});
  expect_error(error_of("reshape_like", {x.get(), m.get()}, {}), {"reshape_like", "(2,3,4)", "(3,4)"});
  expect_error(error_of("_split_v2", {x.get()}, {{"sections", "5"}, {"axis", "2"}}), {"_split_v2", "(2,3,4)"});
  expect_error(error_of("_split_v2", {x.get()}, {{"indices", "(0,3,2)"}}), {"_split_v2", "(2,3,4)"});
  expect_error(error_of("im2col", {img.get()}, {{"kernel", "(5,5)"}}), {"im2col", "(4,4)"});
  expect_error(error_of("col2im", {x.get()}, {{"output_size", "(4,4)"}, {"kernel", "(2,2)"}}), {"col2im", "(2,3,4)"});
  expect_error(error_of("ravel_multi_index", {m.get()}, {{"shape", "(4,5)"}}), {"_ravel_multi_index", "(3,4)"});
  expect_error(error_of("_unravel_index", {m.get()}, {{"shape", "(4,5)"}}), {"_unravel_index", "(3,4)"});
  expect_error(error_of("batch_take", {m.get(), m.get()}, {}), {"batch_take", "(3,4)"});
  expect_error(error_of("fill_element_0index", {m.get(), m.get(), row.get()}, {}), {"fill_element_0index", "(3,4)"});
  expect_error(error_of("_histogram", {row.get()}, {{"bin_cnt", "3"}}), {"_histogram", "range"});
  expect_error(error_of("_histogram", {row.get()}, {{"bin_cnt", "3"}, {"range", "(2, 1)"}}), {"_histogram", "(2, 1)"});
  expect_error(error_of("moments", {x.get()}, {{"axes", "(3,)"}}), {"moments", "3"});
}

Family axes_family() {
  Family f;
  f.cases = axes_cases();
  for (Case& c : lookup_cases()) f.cases.push_back(std::move(c));
  // Cases check one output each; these tests check every output with its shape and dtype.
  f.dedicated = {
      {"_split_v2", "conformance/cases_axes.cc:AxesOps.SplitV2ReturnsEveryPieceWithItsShape"},
      {"shape_array", "conformance/cases_axes.cc:AxesOps.ShapeAndSizeArraysAreInt64"},
      {"size_array", "conformance/cases_axes.cc:AxesOps.ShapeAndSizeArraysAreInt64"},
      {"_histogram", "conformance/cases_axes.cc:AxesOps.HistogramCountsInt64AndEdges"},
      {"moments", "conformance/cases_axes.cc:AxesOps.MomentsGivesMeanAndVarianceShapes"},
  };
  return f;
}

}  // namespace conformance
