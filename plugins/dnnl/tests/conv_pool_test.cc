// The convolution family and pooling on the plugin's kernels, float32 and bfloat16: Convolution
// and its data / weight gradients, Deconvolution (adj, target_shape, groups, dilation), Pooling
// and its gradient under MXNet's window rules, and the configurations handed back to the host.
#include "harness.h"

namespace {

using namespace harness;

Attrs conv_attrs(const ref::Conv& g, bool one_d, bool bias) {
  auto t = [&](int64_t a, int64_t b) { return one_d ? tuple({b}) : tuple({a, b}); };
  return {{"kernel", t(g.kh, g.kw)},   {"stride", t(g.sh, g.sw)},
          {"pad", t(g.ph, g.pw)},      {"dilate", t(g.dh, g.dw)},
          {"num_filter", std::to_string(g.f)}, {"num_group", std::to_string(g.groups)},
          {"no_bias", bias ? "False" : "True"}};
}

Shape nchw(bool one_d, int64_t n, int64_t c, int64_t h, int64_t w) { return one_d ? Shape{n, c, w} : Shape{n, c, h, w}; }

struct ConvCase {
  const char* what;
  ref::Conv g;
  bool bias, one_d;
};

const ConvCase kConvCases[] = {
    {"3x3 stride 2 pad 1, bias", {2, 3, 6, 5, 4, 3, 3, 2, 2, 1, 1}, true, false},
    {"2x2 dilation 2, 2 groups", {1, 4, 5, 5, 4, 2, 2, 1, 1, 0, 0, 2, 2, 2}, false, false},
    {"1-d kernel 3 pad 1, bias", {2, 3, 1, 7, 2, 1, 3, 1, 1, 0, 1}, true, true},
    {"stride 3 dropping the last rows", {1, 2, 7, 6, 3, 3, 3, 3, 3, 1, 1}, true, false},
    {"LeNet conv1 (5x5, 1 -> 20 on 28x28)", {4, 1, 28, 28, 20, 5, 5}, true, false},
    {"LeNet conv2 (5x5, 20 -> 50 on 12x12)", {4, 20, 12, 12, 50, 5, 5}, true, false},
    {"ResNet 3x3 (64 -> 64, pad 1)", {2, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1}, false, false},
};

TEST(Convolution, ForwardAndGradientsMatchTheDefinition) {
  for (const ConvCase& c : kConvCases)
    for (int32_t dt : served()) {
      const ref::Conv& g = c.g;
      const std::string what = std::string(c.what) + " " + name(dt);
      const Shape xs = nchw(c.one_d, g.n, g.c, g.h, g.w), ys = nchw(c.one_d, g.n, g.f, g.oh(), g.ow());
      const Shape ws = c.one_d ? Shape{g.f, g.c / g.groups, g.kw} : Shape{g.f, g.c / g.groups, g.kh, g.kw};
      const Tensor x = random(xs, dt, -2, 2, 1), w = random(ws, dt, -1, 1, 2), b = random({g.f}, dt, -1, 1, 3),
                   og = random(ys, dt, -1, 1, 4);
      const Attrs attrs = conv_attrs(g, c.one_d, c.bias);
      const Vec bias = b.values();

      std::vector<Tensor> in = {x, w}, out = {Tensor(ys, dt)};
      if (c.bias) in.push_back(b);
      run("Convolution", attrs, in, out);
      expect_close(out[0].values(), ref::conv_forward(x.values(), w.values(), c.bias ? &bias : nullptr, g), dt,
                   what + " forward");

      std::vector<Tensor> bd_in = {og, w, Tensor(xs, dt)}, bd_out = {Tensor(xs, dt)};
      run("_conv_backward_data", attrs, bd_in, bd_out);
      expect_close(bd_out[0].values(), ref::conv_backward_data(og.values(), w.values(), g), dt, what + " data gradient");

      std::vector<Tensor> bw_in = {og, x}, bw_out = {Tensor(ws, dt)};
      run("_conv_backward_weight", attrs, bw_in, bw_out);
      expect_close(bw_out[0].values(), ref::conv_backward_weight(og.values(), x.values(), g), dt,
                   what + " weight gradient");
    }
}

struct DeconvCase {
  const char* what;
  Attrs attrs;
  Shape x, w, y;    // input, weight (c_in, f/groups, k), output
  ref::Conv g;      // kernel, stride, dilation, groups and the effective pad
  bool bias;
};

TEST(Deconvolution, ScattersEachInputPixelThroughTheKernel) {
  const DeconvCase cases[] = {
      // out = 2*(3-1) + 3 - 2*1 + adj 1 = 6
      {"stride 2 pad 1 adj 1, bias",
       {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"adj", "(1,1)"}, {"num_filter", "2"}, {"no_bias", "False"}},
       {2, 3, 3, 3}, {3, 2, 3, 3}, {2, 2, 6, 6}, {0, 0, 0, 0, 0, 3, 3, 2, 2, 1, 1}, true},
      // groups and dilation: out = (4-1) + 2*(2-1) + 1 = 6
      {"dilation 2, 2 groups",
       {{"kernel", "(2,2)"}, {"dilate", "(2,2)"}, {"num_group", "2"}, {"num_filter", "4"}},
       {1, 4, 4, 4}, {4, 2, 2, 2}, {1, 4, 6, 6}, {0, 0, 0, 0, 0, 2, 2, 1, 1, 0, 0, 2, 2, 2}, false},
      // 1-d, target_shape 8: full = 2*(4-1) + 3 = 9, so pad 1 and adj 1
      {"1-d target_shape",
       {{"kernel", "(3,)"}, {"stride", "(2,)"}, {"target_shape", "(8,)"}, {"num_filter", "2"}},
       {2, 3, 4}, {3, 2, 3}, {2, 2, 8}, {0, 0, 0, 0, 0, 1, 3, 1, 2, 0, 1}, false},
      // adj above pad: oneDNN's right padding would be negative (pad 0, adj 1): out = 2*2 + 3 + 1 = 8
      {"adj 1 without pad",
       {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"adj", "(1,1)"}, {"num_filter", "3"}},
       {1, 2, 3, 3}, {2, 3, 3, 3}, {1, 3, 8, 8}, {0, 0, 0, 0, 0, 3, 3, 2, 2, 0, 0}, false},
  };
  for (const DeconvCase& c : cases)
    for (int32_t dt : served()) {
      const Tensor x = random(c.x, dt, -2, 2, 5), w = random(c.w, dt, -1, 1, 6), b = random({c.y[1]}, dt, -1, 1, 7);
      std::vector<Tensor> in = {x, w}, out = {Tensor(c.y, dt)};
      if (c.bias) in.push_back(b);
      run("Deconvolution", c.attrs, in, out);
      const bool one_d = c.x.size() == 3;
      const Vec bias = b.values();
      const Vec want = ref::deconv_forward(x.values(), w.values(), c.bias ? &bias : nullptr, c.x[0], c.x[1],
                                           one_d ? 1 : c.x[2], c.x.back(), c.y[1], one_d ? 1 : c.y[2], c.y.back(), c.g);
      expect_close(out[0].values(), want, dt, std::string(c.what) + " " + name(dt));
    }
}

struct PoolCase {
  const char* what;
  Attrs attrs;
  Shape x;
  ref::Pool g;  // planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow, max, include_pad
};

const PoolCase kPoolCases[] = {
    {"max 2x2 stride 2", {{"kernel", "(2,2)"}, {"stride", "(2,2)"}}, {2, 2, 4, 6}, {4, 4, 6, 2, 2, 2, 2, 0, 0, 2, 3}},
    {"avg 3x3 stride 2 pad 1, padding counted",
     {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"pool_type", "avg"}},
     {1, 2, 5, 5}, {2, 5, 5, 3, 3, 2, 2, 1, 1, 3, 3, false, true}},
    {"avg 3x3 stride 2 pad 1, padding not counted",
     {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"pool_type", "avg"}, {"count_include_pad", "False"}},
     {1, 2, 5, 5}, {2, 5, 5, 3, 3, 2, 2, 1, 1, 3, 3, false, false}},
    // full convention, windows past the data: 6 -> ceil((6-3)/2) + 1 = 3 outputs
    {"max 3x3 stride 2, full", {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pooling_convention", "full"}},
     {1, 2, 6, 6}, {2, 6, 6, 3, 3, 2, 2, 0, 0, 3, 3}},
    {"avg 3x3 stride 2, full, padding not counted",
     {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pooling_convention", "full"}, {"pool_type", "avg"}, {"count_include_pad", "False"}},
     {1, 2, 6, 6}, {2, 6, 6, 3, 3, 2, 2, 0, 0, 3, 3, false, false}},
    {"avg 3x3 stride 2, full, padding counted, no window past the padding",
     {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"pooling_convention", "full"}, {"pool_type", "avg"}},
     {1, 1, 5, 5}, {1, 5, 5, 3, 3, 2, 2, 1, 1, 3, 3, false, true}},
    {"global avg", {{"global_pool", "True"}, {"pool_type", "avg"}}, {2, 3, 4, 4}, {6, 4, 4, 4, 4, 1, 1, 0, 0, 1, 1, false, true}},
    {"global max", {{"global_pool", "True"}}, {2, 3, 4, 5}, {6, 4, 5, 4, 5, 1, 1, 0, 0, 1, 1}},
    {"1-d max 3 stride 2", {{"kernel", "(3,)"}, {"stride", "(2,)"}}, {2, 2, 9}, {4, 1, 9, 1, 3, 1, 2, 0, 0, 1, 4}},
    {"LeNet max 2x2 stride 2", {{"kernel", "(2,2)"}, {"stride", "(2,2)"}}, {4, 20, 24, 24}, {80, 24, 24, 2, 2, 2, 2, 0, 0, 12, 12}},
};

TEST(Pooling, ForwardAndGradientFollowMXNetsWindows) {
  for (const PoolCase& c : kPoolCases)
    for (int32_t dt : served()) {
      const ref::Pool& g = c.g;
      const std::string what = std::string(c.what) + " " + name(dt);
      Shape ys = c.x;
      ys[ys.size() - 1] = g.ow;
      if (ys.size() == 4) ys[2] = g.oh;
      const Tensor x = random(c.x, dt, -2, 2, 8);
      std::vector<Tensor> in = {x}, out = {Tensor(ys, dt)};
      run("Pooling", c.attrs, in, out);
      expect_close(out[0].values(), ref::pool_forward(x.values(), g), dt, what + " forward");

      const Tensor og = random(ys, dt, -1, 1, 9);
      std::vector<Tensor> bin = {og, x, out[0]}, bout = {Tensor(c.x, dt)};
      run("_pooling_backward", c.attrs, bin, bout);
      expect_close(bout[0].values(), ref::pool_backward(og.values(), x.values(), g), dt, what + " gradient");
    }
}

TEST(Pooling, MaxGradientGoesToTheFirstMaximumOfTies) {
  // Plateaus of equal values: each window's gradient must land on its first (row-major) maximum.
  for (int32_t dt : served()) {
    Vec v(2 * 2 * 4 * 6);
    for (size_t i = 0; i < v.size(); ++i) v[i] = double((i * 7) % 3);  // 0, 1, 2 repeating: ties everywhere
    Tensor x({2, 2, 4, 6}, dt, v), og({2, 2, 2, 3}, dt, ref::uniform(24, 0.5, 1, 10));
    std::vector<Tensor> in = {og, x, Tensor({2, 2, 2, 3}, dt)}, out = {Tensor({2, 2, 4, 6}, dt)};
    run("_pooling_backward", {{"kernel", "(2,2)"}, {"stride", "(2,2)"}}, in, out);
    expect_close(out[0].values(), ref::pool_backward(og.values(), x.values(), {4, 4, 6, 2, 2, 2, 2, 0, 0, 2, 3}), dt,
                 std::string("ties ") + name(dt));
  }
}

TEST(Pooling, HandsBackWhatOneDnnWouldComputeDifferently) {
  const Tensor x({1, 1, 6, 6}, MX_FLOAT32), y3({1, 1, 3, 3}, MX_FLOAT32);
  // sum pooling: no oneDNN algorithm
  expect_unsupported("Pooling", {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pool_type", "sum"}, {"pooling_convention", "full"}},
                     {x}, {y3});
  // full convention, padding counted, last window past the padding: MXNet divides by less
  expect_unsupported("Pooling", {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pool_type", "avg"}, {"pooling_convention", "full"}},
                     {x}, {y3});
  // a window wholly in the padding (pad >= kernel)
  expect_unsupported("Pooling", {{"kernel", "(2,2)"}, {"stride", "(2,2)"}, {"pad", "(2,2)"}}, {x}, {Tensor({1, 1, 5, 5}, MX_FLOAT32)});
  for (int32_t dt : {MX_FLOAT64, MX_FLOAT16})
    expect_unsupported("Pooling", {{"kernel", "(2,2)"}, {"stride", "(2,2)"}}, {Tensor({1, 1, 6, 6}, dt)}, {Tensor({1, 1, 3, 3}, dt)});
  expect_unsupported("_pooling_backward",
                     {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pool_type", "sum"}, {"pooling_convention", "full"}},
                     {y3, x, y3}, {x});
}

TEST(Convolution, HandsBackOtherDtypes) {
  for (int32_t dt : {MX_FLOAT64, MX_FLOAT16}) {
    const Attrs a = {{"kernel", "(3,3)"}, {"num_filter", "2"}, {"no_bias", "True"}};
    expect_unsupported("Convolution", a, {Tensor({1, 1, 5, 5}, dt), Tensor({2, 1, 3, 3}, dt)}, {Tensor({1, 2, 3, 3}, dt)});
    expect_unsupported("_conv_backward_weight", a, {Tensor({1, 2, 3, 3}, dt), Tensor({1, 1, 5, 5}, dt)},
                       {Tensor({2, 1, 3, 3}, dt)});
    expect_unsupported("Deconvolution", a, {Tensor({1, 1, 3, 3}, dt), Tensor({1, 2, 3, 3}, dt)}, {Tensor({1, 2, 5, 5}, dt)});
  }
}

}  // namespace
