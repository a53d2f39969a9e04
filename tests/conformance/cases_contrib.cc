// Conformance cases of the optimizer updates of issue 16, the contrib ops and ctc_loss.
// Updates mutate their state inputs, so they are checked by the dedicated TESTs below (each
// against MXNet's documented formula written naively here, in float64 and float32, states
// included); the differentiable ops are Cases (forward + finite-difference gradients).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "../unit/test_util.h"
#include "harness.h"

namespace conformance {
namespace {

using mx::test::Arr;
using Attrs = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------- helpers over the C API

const char* dtype_str(int32_t dtype) {
  const char* name = nullptr;
  EXPECT_MX_OK(mx_dtype_name(dtype, &name));
  return name;
}

Arr cast_to(const Arr& a, int32_t dtype) {
  const char* k[] = {"dtype"};
  const char* v[] = {dtype_str(dtype)};
  return mx::test::invoke1("Cast", {a.get()}, 1, k, v);
}

// An array of `dtype` holding v (rounded to dtype).
Arr array_of(const Shape& s, const Vec& v, int32_t dtype) {
  Arr a(s, MX_FLOAT64);
  a.set(v);
  return dtype == MX_FLOAT64 ? std::move(a) : cast_to(a, dtype);
}

Vec values(const Arr& a) { return cast_to(a, MX_FLOAT64).to_vector<double>(); }

// Runs op on inputs; outputs given (e.g. the weight, to update in place) or fresh. Returns rc.
int call(const std::string& op, std::vector<mx_ndarray_t> in, const Attrs& attrs, std::vector<Arr>* fresh,
         std::vector<mx_ndarray_t> given = {}) {
  std::vector<const char*> k, v;
  for (auto& [a, b] : attrs) k.push_back(a.c_str()), v.push_back(b.c_str());
  int32_t n = int32_t(given.size());
  mx_ndarray_t* outs = given.empty() ? nullptr : given.data();
  const int rc = mx_imperative_invoke(op.c_str(), int32_t(in.size()), in.data(), &n, &outs, int32_t(k.size()), k.data(),
                                      v.data());
  if (rc == 0 && given.empty() && fresh)
    for (int32_t i = 0; i < n; ++i) fresh->emplace_back(outs[i]);
  return rc;
}

void expect_near_all(const Vec& got, const Vec& want, double rtol, double atol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << what << " at " << i;
}

// ---------------------------------------------------------------- optimizer updates

double clip_to(double v, double c) { return c >= 0 ? std::max(-c, std::min(c, v)) : v; }
double sgn(double v) { return double((v > 0) - (v < 0)); }

// One element of an update: w and g in, states (in/out), returns the output element.
using Formula = std::function<double(double w, double g, std::vector<double>& st)>;

struct Update {
  std::string op;
  Attrs attrs;
  std::vector<double> state0;  // first element's initial state values (element i adds 0.01 i)
  Formula f;
};

const Vec kW = {1.0, -2.0, 0.5, 3.0, -0.75, 0.25}, kG = {0.5, 4.0, -0.25, -8.0, 1.5, -0.1};

Vec state_init(double base) {
  Vec v(kW.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = base + 0.01 * double(i);
  return v;
}

// Runs u in place (out = weight) in `dtype` and compares the weight and every state against the
// formula evaluated in float64 on the same (rounded) inputs.
void check_update(const Update& u, int32_t dtype) {
  const std::string what = u.op + " (" + dtype_str(dtype) + ")";
  const Shape s{int64_t(kW.size())};
  Arr w = array_of(s, kW, dtype), g = array_of(s, kG, dtype);
  std::vector<Arr> st;
  for (double b : u.state0) st.push_back(array_of(s, state_init(b), dtype));
  // The reference starts from the values the arrays hold (rounded to dtype).
  Vec w0 = values(w), g0 = values(g), want_w(kW.size());
  std::vector<Vec> st0, want_st(st.size(), Vec(kW.size()));
  for (Arr& a : st) st0.push_back(values(a));
  for (size_t i = 0; i < kW.size(); ++i) {
    std::vector<double> e;
    for (auto& v : st0) e.push_back(v[i]);
    want_w[i] = u.f(w0[i], g0[i], e);
    for (size_t k = 0; k < e.size(); ++k) want_st[k][i] = e[k];
  }
  std::vector<mx_ndarray_t> in = {w.get(), g.get()};
  for (Arr& a : st) in.push_back(a.get());
  ASSERT_EQ(call(u.op, in, u.attrs, nullptr, {w.get()}), 0) << what << ": " << mx_get_last_error();
  // float16 stores the weight and every state rounded (the step itself runs in float32).
  const double rtol = dtype == MX_FLOAT64 ? 1e-12 : dtype == MX_FLOAT32 ? 2e-5 : 2e-3;
  const double atol = dtype == MX_FLOAT64 ? 1e-13 : dtype == MX_FLOAT32 ? 1e-6 : 1e-3;
  expect_near_all(values(w), want_w, rtol, atol, what + " weight");
  for (size_t k = 0; k < st.size(); ++k) expect_near_all(values(st[k]), want_st[k], rtol, atol, what + " state " + std::to_string(k));
}

Attrs with(Attrs a, const Attrs& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

std::vector<Update> updates(double clip) {
  const double lr = 0.1, wd = 0.01, rs = 0.5;
  const Attrs common = {{"lr", "0.1"}, {"wd", "0.01"}, {"rescale_grad", "0.5"}, {"clip_gradient", std::to_string(clip)}};
  auto cg = [=](double g) { return clip_to(rs * g, clip); };
  const double mom = 0.9;
  std::vector<Update> u;
  u.push_back({"signsgd_update", common, {}, [=](double w, double g, std::vector<double>&) {
                 return (1 - lr * wd) * w - lr * sgn(g);
               }});
  u.push_back({"signum_update", with(common, {{"momentum", "0.9"}, {"wd_lh", "0.05"}}), {0.2},
               [=](double w, double g, std::vector<double>& st) {
                 st[0] = mom * st[0] - (1 - mom) * (wd * w + cg(g));
                 return (1 - lr * 0.05) * w + lr * sgn(st[0]);
               }});
  u.push_back({"nag_mom_update", with(common, {{"momentum", "0.9"}}), {0.2}, [=](double w, double g, std::vector<double>& st) {
                 const double gr = cg(g) + wd * w;
                 st[0] = mom * st[0] - lr * gr;  // MXNet: state = momentum * state - lr * grad
                 return w + mom * st[0] - lr * gr;
               }});
  {
    Attrs a = {{"lr", "0.1"}, {"wd", "0.01"}, {"rescale_grad", "0.5"}, {"clip_grad", std::to_string(clip)},
               {"beta1", "0.6"}, {"beta2", "0.999"}, {"epsilon", "1e-8"}, {"t", "3"}};
    u.push_back({"ftml_update", a, {0.2, 0.3, 0.1}, [=](double w, double g, std::vector<double>& st) {
                   const double gr = clip_to(rs * g + wd * w, clip), b1 = 0.6, b2 = 0.999;
                   st[1] = b2 * st[1] + (1 - b2) * gr * gr;
                   const double dt = (1 - std::pow(b1, 3)) / lr * (std::sqrt(st[1] / (1 - std::pow(b2, 3))) + 1e-8);
                   st[2] = b1 * st[2] + (1 - b1) * gr - (dt - b1 * st[0]) * w;
                   st[0] = dt;
                   return -st[2] / dt;
                 }});
  }
  u.push_back({"ftrl_update", with(common, {{"lamda1", "0.3"}, {"beta", "1.5"}}), {0.05, 0.3},
               [=](double w, double g, std::vector<double>& st) {
                 const double gr = cg(g);
                 st[0] += gr - (std::sqrt(st[1] + gr * gr) - std::sqrt(st[1])) * w / lr;
                 st[1] += gr * gr;
                 if (std::fabs(st[0]) <= 0.3) return 0.0;
                 return (sgn(st[0]) * 0.3 - st[0]) / ((1.5 + std::sqrt(st[1])) / lr + wd);
               }});
  u.push_back({"rmspropalex_update",
               with(common, {{"gamma1", "0.9"}, {"gamma2", "0.8"}, {"epsilon", "1e-6"}, {"clip_weights", "2.5"}}),
               {0.5, 0.1, 0.02}, [=](double w, double g, std::vector<double>& st) {
                 const double gr = clip_to(rs * g + wd * w, clip);
                 st[0] = 0.1 * gr * gr + 0.9 * st[0];
                 st[1] = 0.1 * gr + 0.9 * st[1];
                 st[2] = 0.8 * st[2] - lr * gr / std::sqrt(st[0] - st[1] * st[1] + 1e-6);
                 return clip_to(w + st[2], 2.5);
               }});
  u.push_back({"adagrad_update",
               {{"lr", "0.1"}, {"epsilon", "1e-7"}, {"rescale_grad", "0.5"}, {"clip_gradient", std::to_string(clip)}},
               {0.3}, [=](double w, double g, std::vector<double>& st) {
                 const double gr = cg(g);
                 st[0] += gr * gr;
                 return w - lr * gr / std::sqrt(st[0] + 1e-7);
               }});
  for (bool bias : {true, false}) {
    Attrs a = {{"beta1", "0.8"}, {"beta2", "0.95"}, {"epsilon", "1e-6"}, {"t", "4"},
               {"bias_correction", bias ? "True" : "False"}, {"wd", "0.01"}, {"rescale_grad", "0.5"},
               {"clip_gradient", std::to_string(clip)}};
    u.push_back({"lamb_update_phase1", a, {0.1, 0.2}, [=](double w, double g, std::vector<double>& st) {
                   const double gr = cg(g);
                   st[0] = 0.8 * st[0] + 0.2 * gr;
                   st[1] = 0.95 * st[1] + 0.05 * gr * gr;
                   double m = st[0], v = st[1];
                   if (bias) m /= 1 - std::pow(0.8, 4), v /= 1 - std::pow(0.95, 4);
                   return m / (std::sqrt(v) + 1e-6) + wd * w;
                 }});
  }
  return u;
}

TEST(ContribOptimizers, UpdatesMatchMXNetFormulasAndMutateState) {
  // Every op named here: "signsgd_update" "signum_update" "nag_mom_update" "ftml_update"
  // "ftrl_update" "rmspropalex_update" "adagrad_update" "lamb_update_phase1"
  for (double clip : {1.5, -1.0})
    for (const Update& u : updates(clip))
      for (int32_t dt : {MX_FLOAT64, MX_FLOAT32, MX_FLOAT16}) check_update(u, dt);
}

TEST(ContribOptimizers, AdagradRejectsWeightDecayAsMXNetDoes) {
  Arr w = array_of({2}, {1, 2}, MX_FLOAT32), g = array_of({2}, {1, 2}, MX_FLOAT32), h = array_of({2}, {0, 0}, MX_FLOAT32);
  EXPECT_NE(call("_sparse_adagrad_update", {w.get(), g.get(), h.get()}, {{"lr", "0.1"}, {"wd", "0.1"}}, nullptr, {w.get()}), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("wd"), std::string::npos) << mx_get_last_error();
  Arr bad = array_of({3}, {0, 0, 0}, MX_FLOAT32);
  EXPECT_NE(call("ftml_update", {w.get(), g.get(), h.get(), h.get(), bad.get()}, {{"lr", "0.1"}, {"t", "1"}}, nullptr), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("ftml_update"), std::string::npos) << mx_get_last_error();
}

TEST(ContribOptimizers, LambPhase2ScalesTheStepByTheClippedNormRatio) {
  const Vec w0 = {1.0, -2.0, 0.5}, g0 = {0.3, -0.6, 0.9};
  struct Run {
    double r1, r2, lower, upper, ratio;
  };
  // ratio = clip(r1, lower, upper) / r2, or 1 when the clipped r1 or r2 is 0
  for (const Run& r : {Run{2, 4, -1, -1, 0.5}, Run{2, 4, 3, -1, 0.75}, Run{2, 4, -1, 1, 0.25}, Run{0, 4, -1, -1, 1},
                       Run{2, 0, -1, -1, 1}})
    for (int32_t dt : {MX_FLOAT64, MX_FLOAT32}) {
      Arr w = array_of({3}, w0, dt), g = array_of({3}, g0, dt), r1 = array_of({1}, {r.r1}, dt), r2 = array_of({1}, {r.r2}, dt);
      ASSERT_EQ(call("lamb_update_phase2", {w.get(), g.get(), r1.get(), r2.get()},
                     {{"lr", "0.1"}, {"lower_bound", std::to_string(r.lower)}, {"upper_bound", std::to_string(r.upper)}},
                     nullptr, {w.get()}),
                0)
          << mx_get_last_error();
      Vec want(3);
      for (size_t i = 0; i < 3; ++i) want[i] = w0[i] - 0.1 * r.ratio * g0[i];
      expect_near_all(values(w), want, 1e-6, 1e-7, "lamb_update_phase2 r1=" + std::to_string(r.r1));
    }
}

// The multi-precision forms: float16 weight and gradient, float32 momentum and master weight32.
// weight32 and mom must equal the float32 update of (weight32, float32(grad)), the output its
// float16 rounding.
TEST(ContribOptimizers, MultiPrecisionUpdatesAreTheFloat32UpdateThenRounded) {
  const Shape s{int64_t(kW.size())};
  const double lr = 0.1, wd = 0.01, rs = 0.5, clip = 1.5, mom = 0.9;
  const Attrs common = {{"lr", "0.1"}, {"wd", "0.01"}, {"rescale_grad", "0.5"}, {"clip_gradient", "1.5"}};
  struct Mp {
    const char* op;
    bool has_mom;
    Formula f;  // in float64 on the float32 values; st[0] = mom
  };
  const Mp ops[] = {
      {"mp_sgd_update", false, [=](double w, double g, std::vector<double>&) { return (1 - lr * wd) * w - lr * clip_to(rs * g, clip); }},
      {"mp_sgd_mom_update", true, [=](double w, double g, std::vector<double>& st) {
         st[0] = mom * st[0] - lr * wd * w - lr * clip_to(rs * g, clip);
         return w + st[0];
       }},
      {"mp_nag_mom_update", true, [=](double w, double g, std::vector<double>& st) {
         const double gr = clip_to(rs * g, clip) + wd * w;
         st[0] = mom * st[0] - lr * gr;
         return w + mom * st[0] - lr * gr;
       }},
  };
  for (const Mp& m : ops) {
    // weight32 deliberately differs from float32(weight): the step must read the master copy.
    Vec w32v(kW.size());
    for (size_t i = 0; i < w32v.size(); ++i) w32v[i] = kW[i] + 1e-4 * double(i + 1);
    Arr w = array_of(s, kW, MX_FLOAT16), g = array_of(s, kG, MX_FLOAT16);
    Arr w32 = array_of(s, w32v, MX_FLOAT32), mo = array_of(s, state_init(0.2), MX_FLOAT32);
    const Vec g16 = values(g), w32_0 = values(w32), mom0 = values(mo);
    Attrs attrs = common;
    if (m.has_mom) attrs.push_back({"momentum", "0.9"});
    std::vector<mx_ndarray_t> in = {w.get(), g.get()};
    if (m.has_mom) in.push_back(mo.get());
    in.push_back(w32.get());
    ASSERT_EQ(call(m.op, in, attrs, nullptr, {w.get()}), 0) << m.op << ": " << mx_get_last_error();
    Vec want32(kW.size()), want_mom(kW.size());
    for (size_t i = 0; i < kW.size(); ++i) {
      std::vector<double> st = {mom0[i]};
      want32[i] = m.f(w32_0[i], g16[i], st);
      want_mom[i] = st[0];
    }
    expect_near_all(values(w32), want32, 1e-6, 1e-7, std::string(m.op) + " weight32");
    if (m.has_mom) expect_near_all(values(mo), want_mom, 1e-6, 1e-7, std::string(m.op) + " mom");
    // The float16 output is exactly the rounding of the new weight32.
    EXPECT_EQ(values(w), values(cast_to(w32, MX_FLOAT16))) << m.op;
    // And matches the plain float32 update of the same values, rounded.
    const char* plain = m.has_mom ? (std::string(m.op) == "mp_nag_mom_update" ? "nag_mom_update" : "sgd_mom_update") : "sgd_update";
    Arr pw = array_of(s, w32_0, MX_FLOAT32), pg = array_of(s, g16, MX_FLOAT32), pm = array_of(s, mom0, MX_FLOAT32);
    std::vector<mx_ndarray_t> pin = {pw.get(), pg.get()};
    if (m.has_mom) pin.push_back(pm.get());
    ASSERT_EQ(call(plain, pin, attrs, nullptr, {pw.get()}), 0) << plain << ": " << mx_get_last_error();
    expect_near_all(values(w32), values(pw), 1e-6, 1e-7, std::string(m.op) + " vs " + plain);
  }
  // The master copy and the momentum must be float32.
  Arr w = array_of(s, kW, MX_FLOAT16), g = array_of(s, kG, MX_FLOAT16), w16 = array_of(s, kW, MX_FLOAT16);
  EXPECT_NE(call("mp_sgd_update", {w.get(), g.get(), w16.get()}, {{"lr", "0.1"}}, nullptr), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("float32"), std::string::npos) << mx_get_last_error();
}

// ---------------------------------------------------------------- contrib ops

// index_array: every element's coordinates along the chosen axes, int64.
TEST(ContribOps, IndexArrayListsCoordinates) {
  Arr x = array_of({2, 3}, Vec(6, 0.0), MX_FLOAT32);
  std::vector<Arr> out;
  ASSERT_EQ(call("_contrib_index_array", {x.get()}, {}, &out), 0) << mx_get_last_error();
  EXPECT_EQ(out[0].shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(out[0].to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0, 1, 0, 2, 1, 0, 1, 1, 1, 2}));
  out.clear();
  ASSERT_EQ(call("_contrib_index_array", {x.get()}, {{"axes", "(-1,)"}}, &out), 0) << mx_get_last_error();
  EXPECT_EQ(out[0].shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(out[0].to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
  EXPECT_NE(call("_contrib_index_array", {x.get()}, {{"axes", "(2,)"}}, &out), 0);
}

// boolean_mask's output size depends on index's values, which shape inference never sees here:
// the op is an error that says so, never a wrong-sized result or a crash.
TEST(ContribOps, BooleanMaskReportsItsDataDependentShape) {
  Arr x = array_of({3, 2}, Vec(6, 1.0), MX_FLOAT32), m = array_of({3}, {1, 0, 1}, MX_FLOAT32);
  std::vector<Arr> out;
  EXPECT_NE(call("_contrib_boolean_mask", {x.get(), m.get()}, {}, &out), 0);
  const std::string msg = mx_get_last_error();
  EXPECT_NE(msg.find("_contrib_boolean_mask"), std::string::npos) << msg;
  EXPECT_NE(msg.find("depends on the values"), std::string::npos) << msg;
}

TEST(ContribOps, IndexCopyRejectsOutOfRangeIndices) {
  Arr old = array_of({3, 2}, Vec(6, 1.0), MX_FLOAT32), idx = array_of({1}, {3}, MX_INT64), nw = array_of({1, 2}, {5, 6}, MX_FLOAT32);
  std::vector<Arr> out;
  ASSERT_EQ(call("_contrib_index_copy", {old.get(), idx.get(), nw.get()}, {}, &out), 0) << mx_get_last_error();
  EXPECT_NE(mx_ndarray_wait_to_read(out[0].get()), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("out of range"), std::string::npos) << mx_get_last_error();
}

// Naive references of the interleaved products (MXNet's reshape / transpose / batch_dot recipe
// spelled out): element (l, b, h * parts * D + part * D + d) of an interleaved input is part
// `part` of head h of batch b at position l.
double inter(const Vec& x, int64_t B, int64_t H, int64_t D, int64_t parts, int64_t l, int64_t b, int64_t h, int64_t part,
             int64_t d) {
  return x[size_t(((l * B + b) * H + h) * parts * D + part * D + d)];
}

Case selfatt_qk_case(int64_t L, int64_t B, int64_t H, int64_t D) {
  return Case{"_contrib_interleaved_matmul_selfatt_qk", {{"heads", std::to_string(H)}}, {{{L, B, H * 3 * D}}},
              [=](const std::vector<Vec>& in) {
                Vec y(size_t(B * H * L * L));
                for (int64_t b = 0; b < B; ++b)
                  for (int64_t h = 0; h < H; ++h)
                    for (int64_t i = 0; i < L; ++i)
                      for (int64_t j = 0; j < L; ++j) {
                        double s = 0;
                        for (int64_t d = 0; d < D; ++d)
                          s += inter(in[0], B, H, D, 3, i, b, h, 0, d) * inter(in[0], B, H, D, 3, j, b, h, 1, d);
                        y[size_t(((b * H + h) * L + i) * L + j)] = s / std::sqrt(double(D));
                      }
                return y;
              }};
}

// out (Lq, B, H * D): out[i, b, h * D + d] = sum_j att[b * H + h, i, j] v(j, b, h, d)
Vec naive_valatt(const Vec& kv, const Vec& att, int64_t Lk, int64_t Lq, int64_t B, int64_t H, int64_t D, int64_t parts) {
  Vec y(size_t(Lq * B * H * D), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Lq; ++i)
        for (int64_t d = 0; d < D; ++d) {
          double s = 0;
          for (int64_t j = 0; j < Lk; ++j)
            s += att[size_t(((b * H + h) * Lq + i) * Lk + j)] * inter(kv, B, H, D, parts, j, b, h, parts - 1, d);
          y[size_t(((i * B + b) * H + h) * D + d)] = s;
        }
  return y;
}

Case selfatt_valatt_case(int64_t L, int64_t B, int64_t H, int64_t D) {
  return Case{"_contrib_interleaved_matmul_selfatt_valatt", {{"heads", std::to_string(H)}},
              {{{L, B, H * 3 * D}}, {{B * H, L, L}}},
              [=](const std::vector<Vec>& in) { return naive_valatt(in[0], in[1], L, L, B, H, D, 3); }};
}

Case encdec_qk_case(int64_t Lq, int64_t Lk, int64_t B, int64_t H, int64_t D) {
  return Case{"_contrib_interleaved_matmul_encdec_qk", {{"heads", std::to_string(H)}},
              {{{Lq, B, H * D}}, {{Lk, B, H * 2 * D}}}, [=](const std::vector<Vec>& in) {
                Vec y(size_t(B * H * Lq * Lk));
                for (int64_t b = 0; b < B; ++b)
                  for (int64_t h = 0; h < H; ++h)
                    for (int64_t i = 0; i < Lq; ++i)
                      for (int64_t j = 0; j < Lk; ++j) {
                        double s = 0;
                        for (int64_t d = 0; d < D; ++d)
                          s += inter(in[0], B, H, D, 1, i, b, h, 0, d) * inter(in[1], B, H, D, 2, j, b, h, 0, d);
                        y[size_t(((b * H + h) * Lq + i) * Lk + j)] = s / std::sqrt(double(D));
                      }
                return y;
              }};
}

Case encdec_valatt_case(int64_t Lq, int64_t Lk, int64_t B, int64_t H, int64_t D) {
  return Case{"_contrib_interleaved_matmul_encdec_valatt", {{"heads", std::to_string(H)}},
              {{{Lk, B, H * 2 * D}}, {{B * H, Lq, Lk}}},
              [=](const std::vector<Vec>& in) { return naive_valatt(in[0], in[1], Lk, Lq, B, H, D, 2); }};
}

// ---------------------------------------------------------------- ctc_loss

// -log of the sum over every path of `len` steps (C^len of them) that collapses (merge repeats,
// drop blanks) to `label`, of the product of per-step softmax probabilities: the definition,
// independent of any recursion.
double brute_force_ctc(const Vec& x, int64_t N, int64_t C, int64_t n, int64_t len, const std::vector<int64_t>& label,
                       int64_t blank) {
  std::vector<Vec> prob(static_cast<size_t>(len), Vec(static_cast<size_t>(C)));
  for (int64_t t = 0; t < len; ++t) {
    double sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += std::exp(x[size_t((t * N + n) * C + c)]);
    for (int64_t c = 0; c < C; ++c) prob[size_t(t)][size_t(c)] = std::exp(x[size_t((t * N + n) * C + c)]) / sum;
  }
  double total = 0;
  std::vector<int64_t> path(static_cast<size_t>(len), 0);
  for (int64_t k = 0, paths = int64_t(std::pow(double(C), double(len))); k < paths; ++k) {
    for (int64_t t = len - 1, r = k; t >= 0; --t, r /= C) path[size_t(t)] = r % C;
    std::vector<int64_t> collapsed;
    for (int64_t t = 0; t < len; ++t)
      if (path[size_t(t)] != blank && (t == 0 || path[size_t(t)] != path[size_t(t - 1)])) collapsed.push_back(path[size_t(t)]);
    if (collapsed != label) continue;
    double p = 1;
    for (int64_t t = 0; t < len; ++t) p *= prob[size_t(t)][size_t(path[size_t(t)])];
    total += p;
  }
  return -std::log(total);
}

// data (T, N, C) random, labels fixed; lengths given (or T and the padding rule).
Case ctc_case(const char* op, bool blank_first, std::vector<std::vector<int64_t>> labels, int64_t maxl,
              std::vector<int64_t> data_lens, bool use_label_lengths) {
  const int64_t T = 5, N = int64_t(labels.size()), C = 4, blank = blank_first ? 0 : C - 1;
  Vec label_values;
  for (auto& l : labels)
    for (int64_t j = 0; j < maxl; ++j)  // padding: 0 / -1 (or, with label lengths, any in-range value)
      label_values.push_back(j < int64_t(l.size()) ? double(l[size_t(j)]) : use_label_lengths ? 1.0 : blank_first ? 0.0 : -1.0);
  Attrs attrs = {{"blank_label", blank_first ? "first" : "last"}};
  std::vector<InputSpec> inputs = {{{T, N, C}, -2, 2}, {{N, maxl}, 0, 0, true, label_values}};
  std::vector<size_t> no_fd = {1};
  if (!data_lens.empty()) {
    attrs.push_back({"use_data_lengths", "True"});
    inputs.push_back({{N}, 0, 0, true, Vec(data_lens.begin(), data_lens.end())});
    no_fd.push_back(inputs.size() - 1);
  }
  if (use_label_lengths) {
    attrs.push_back({"use_label_lengths", "True"});
    Vec ll;
    for (auto& l : labels) ll.push_back(double(l.size()));
    inputs.push_back({{N}, 0, 0, true, ll});
    no_fd.push_back(inputs.size() - 1);
  }
  return Case{op, attrs, inputs, [=](const std::vector<Vec>& in) {
                Vec loss;
                for (int64_t n = 0; n < N; ++n)
                  loss.push_back(brute_force_ctc(in[0], N, C, n, data_lens.empty() ? T : data_lens[size_t(n)],
                                                 labels[size_t(n)], blank));
                return loss;
              }, true, false, no_fd};
}

std::vector<Case> contrib_cases() {
  return {
      Case{"_contrib_div_sqrt_dim", {}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             Vec y = in[0];
             for (double& v : y) v /= 2;  // sqrt(4)
             return y;
           }},  // linear: no second derivative to check
      Case{"_contrib_quadratic", {{"a", "0.5"}, {"b", "-1.5"}, {"c", "2"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             Vec y = in[0];
             for (double& v : y) v = 0.5 * v * v - 1.5 * v + 2;
             return y;
           }, true, true},
      Case{"_contrib_index_copy", {}, {{{5, 3}}, {{2}, 0, 0, true, {3, 0}}, {{2, 3}}}, [](const std::vector<Vec>& in) {
             Vec y = in[0];
             for (int64_t i = 0; i < 2; ++i)
               for (int64_t c = 0; c < 3; ++c) y[size_t(int64_t(in[1][size_t(i)]) * 3 + c)] = in[2][size_t(i * 3 + c)];
             return y;
           }, true, false, {1}},
      selfatt_qk_case(3, 2, 2, 2),
      selfatt_valatt_case(3, 2, 2, 2),
      encdec_qk_case(2, 3, 2, 2, 2),
      encdec_valatt_case(2, 3, 2, 2, 2),
      ctc_case("CTCLoss", true, {{1, 2}, {3, 3, 1}}, 3, {}, false),
      ctc_case("ctc_loss", false, {{0, 1, 2}, {2}}, 3, {5, 3}, true),
      ctc_case("_contrib_ctc_loss", true, {{2, 1, 1}, {}}, 3, {4, 2}, false),
      ctc_case("_contrib_CTCLoss", true, {{3}, {1, 2}}, 2, {}, true),
  };
}

}  // namespace

Family contrib_family() {
  Family f;
  f.cases = contrib_cases();
  f.dedicated.push_back({"_contrib_index_array", "conformance/cases_contrib.cc:ContribOps.IndexArrayListsCoordinates"});
  f.dedicated.push_back({"_contrib_boolean_mask", "conformance/cases_contrib.cc:ContribOps.BooleanMaskReportsItsDataDependentShape"});
  f.gradient_only = {
      {"_backward_interleaved_matmul_selfatt_qk", "_contrib_interleaved_matmul_selfatt_qk", nullptr},
      {"_backward_interleaved_matmul_selfatt_valatt", "_contrib_interleaved_matmul_selfatt_valatt", nullptr},
      {"_backward_interleaved_matmul_encdec_qk", "_contrib_interleaved_matmul_encdec_qk", nullptr},
      {"_backward_interleaved_matmul_encdec_valatt", "_contrib_interleaved_matmul_encdec_valatt", nullptr},
  };
  const char* kUpdates = "conformance/cases_contrib.cc:ContribOptimizers.UpdatesMatchMXNetFormulasAndMutateState";
  for (const char* op : {"signsgd_update", "signum_update", "nag_mom_update", "ftml_update", "ftrl_update",
                         "rmspropalex_update", "adagrad_update", "lamb_update_phase1"})
    f.dedicated.push_back({op, kUpdates});
  f.dedicated.push_back({"lamb_update_phase2", "conformance/cases_contrib.cc:ContribOptimizers.LambPhase2ScalesTheStepByTheClippedNormRatio"});
  for (const char* op : {"mp_sgd_update", "mp_sgd_mom_update", "mp_nag_mom_update"})
    f.dedicated.push_back({op, "conformance/cases_contrib.cc:ContribOptimizers.MultiPrecisionUpdatesAreTheFloat32UpdateThenRounded"});
  return f;
}

}  // namespace conformance
