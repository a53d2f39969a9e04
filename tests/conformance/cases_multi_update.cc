// MXNet's multi-tensor SGD ops (multi_sgd_update, multi_sgd_mom_update, multi_mp_sgd_update,
// multi_mp_sgd_mom_update): every weight, momentum and master copy after two steps against the
// SGD formula written naively here in float64, per weight with its own lr and wd; sizes that are
// not multiples of the kernel's work items, and a call large enough to run in parallel.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../unit/test_util.h"
#include "harness.h"

namespace conformance {
namespace {

using mx::test::Arr;
using Attrs = std::vector<std::pair<std::string, std::string>>;

Arr filled(const Shape& s, const Vec& v, int32_t dtype) {
  Arr a(s, MX_FLOAT64);
  a.set(v);
  if (dtype == MX_FLOAT64) return a;
  const char* k[] = {"dtype"};
  const char* name = nullptr;
  EXPECT_MX_OK(mx_dtype_name(dtype, &name));
  const char* val[] = {name};
  return mx::test::invoke1("Cast", {a.get()}, 1, k, val);
}

Vec values(const Arr& a) {
  const char* k[] = {"dtype"};
  const char* v[] = {"float64"};
  return mx::test::invoke1("Cast", {a.get()}, 1, k, v).to_vector<double>();
}

// Runs op with outputs `out` (the weights); returns rc.
int run(const std::string& op, std::vector<mx_ndarray_t> in, const Attrs& attrs, std::vector<mx_ndarray_t> out) {
  std::vector<const char*> k, v;
  for (auto& [a, b] : attrs) k.push_back(a.c_str()), v.push_back(b.c_str());
  int32_t n = int32_t(out.size());
  mx_ndarray_t* outs = out.data();
  return mx_imperative_invoke(op.c_str(), int32_t(in.size()), in.data(), &n, &outs, int32_t(k.size()), k.data(), v.data());
}

double clip_to(double v, double c) { return c >= 0 ? std::max(-c, std::min(c, v)) : v; }

struct Weight {
  Arr w, g, mom, w32;
  Vec rw, rmom;  // the float64 reference of the weight (weight32 with mp) and the momentum
};

void check(const std::string& op, bool has_mom, bool mp, int32_t dtype, double clip) {
  const std::vector<int64_t> sizes = {6, 1, 16384 * 2 + 5};  // total > 32768: the parallel path
  const Vec lrs = {0.1, 0.3, 0.05}, wds = {0.01, 0.0, 0.2};
  const double momentum = 0.9, rescale = 0.5;
  const int32_t state_dt = mp ? MX_FLOAT32 : dtype;
  const std::string what = op + " " + std::to_string(dtype) + " clip " + std::to_string(clip);
  std::vector<Weight> ws(sizes.size());
  for (size_t k = 0; k < sizes.size(); ++k) {
    Vec w(size_t(sizes[k])), m(w.size());
    for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(double(i + 7 * k)), m[i] = 0.1 * std::cos(double(i + k));
    ws[k].w = filled({sizes[k]}, w, dtype);
    ws[k].mom = filled({sizes[k]}, m, state_dt);
    ws[k].w32 = filled({sizes[k]}, w, MX_FLOAT32);
    ws[k].rw = values(mp ? ws[k].w32 : ws[k].w);
    ws[k].rmom = values(ws[k].mom);
  }
  Attrs attrs = {{"lrs", "(0.1, 0.3, 0.05)"}, {"wds", "(0.01, 0, 0.2)"}, {"rescale_grad", "0.5"},
                 {"clip_gradient", std::to_string(clip)}, {"num_weights", "3"}};
  if (has_mom) attrs.push_back({"momentum", "0.9"});
  for (int step = 0; step < 2; ++step) {
    std::vector<mx_ndarray_t> in, out;
    for (size_t k = 0; k < ws.size(); ++k) {
      Vec g(size_t(sizes[k]));
      for (size_t i = 0; i < g.size(); ++i) g[i] = 3 * std::cos(double(3 * i + k + step));
      ws[k].g = filled({sizes[k]}, g, dtype);
      in.push_back(ws[k].w.get());
      in.push_back(ws[k].g.get());
      if (has_mom) in.push_back(ws[k].mom.get());
      if (mp) in.push_back(ws[k].w32.get());
      out.push_back(ws[k].w.get());
    }
    ASSERT_EQ(run(op, in, attrs, out), 0) << what << ": " << mx_get_last_error();
    for (size_t k = 0; k < ws.size(); ++k) {
      const Vec g = values(ws[k].g);
      for (size_t i = 0; i < g.size(); ++i) {
        const double gr = clip_to(rescale * g[i], clip), w = ws[k].rw[i];
        if (has_mom) {
          ws[k].rmom[i] = momentum * ws[k].rmom[i] - lrs[k] * (gr + wds[k] * w);
          ws[k].rw[i] = w + ws[k].rmom[i];
        } else {
          ws[k].rw[i] = w - lrs[k] * (gr + wds[k] * w);
        }
      }
      // A 16-bit weight without a master copy is stored rounded after each step, as its states.
      if (!mp && dtype == MX_FLOAT16) {
        ws[k].rw = values(filled({sizes[k]}, ws[k].rw, MX_FLOAT16));
        ws[k].rmom = values(filled({sizes[k]}, ws[k].rmom, MX_FLOAT16));
      }
    }
  }
  const double tol = dtype == MX_FLOAT64 ? 1e-12 : dtype == MX_FLOAT32 || mp ? 2e-6 : 2e-3;
  for (size_t k = 0; k < ws.size(); ++k) {
    const Vec got = values(mp ? ws[k].w32 : ws[k].w), mom = values(ws[k].mom);
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], ws[k].rw[i], tol * (1 + std::fabs(ws[k].rw[i]))) << what << " weight " << k << " at " << i;
      if (has_mom) {
        ASSERT_NEAR(mom[i], ws[k].rmom[i], tol * (1 + std::fabs(ws[k].rmom[i]))) << what << " mom " << k << " at " << i;
      }
    }
    // With a master copy the weight is exactly its rounding.
    if (mp) {
      EXPECT_EQ(values(ws[k].w), values(filled({sizes[k]}, values(ws[k].w32), dtype))) << what << " weight " << k;
    }
  }
}

TEST(MultiSgd, EveryWeightFollowsTheSgdFormulaWithItsOwnLrAndWd) {
  for (double clip : {-1.0, 0.8}) {
    for (int32_t dt : {MX_FLOAT64, MX_FLOAT32, MX_FLOAT16}) {
      check("multi_sgd_update", false, false, dt, clip);
      check("multi_sgd_mom_update", true, false, dt, clip);
    }
    check("multi_mp_sgd_update", false, true, MX_FLOAT16, clip);
    check("multi_mp_sgd_mom_update", true, true, MX_FLOAT16, clip);
  }
}

TEST(MultiSgd, BadCallsNameTheOpAndTheWeight) {
  Arr a = filled({3}, {1, 2, 3}, MX_FLOAT32), b = filled({4}, {1, 2, 3, 4}, MX_FLOAT32), c = filled({3}, {1, 2, 3}, MX_FLOAT32);
  const Attrs two = {{"lrs", "(0.1,0.1)"}, {"wds", "(0,0)"}, {"num_weights", "2"}};
  auto error_has = [](const std::string& text) {
    const std::string e = mx_get_last_error();
    EXPECT_NE(e.find(text), std::string::npos) << e;
  };
  EXPECT_NE(run("multi_sgd_update", {a.get(), c.get(), b.get(), a.get()}, two, {a.get(), b.get()}), 0);
  error_has("multi_sgd_update: weight 1: input 3 is");
  EXPECT_NE(run("multi_sgd_update", {a.get(), c.get()}, {{"lrs", "(0.1,0.1)"}, {"wds", "(0)"}}, {a.get()}), 0);
  error_has("multi_sgd_update: lrs has 2 values but num_weights is 1");
  EXPECT_NE(run("multi_sgd_mom_update", {a.get(), c.get(), c.get()}, {{"lrs", "(nan)"}, {"wds", "(0)"}}, {a.get()}), 0);
  error_has("multi_sgd_mom_update: lrs='(nan)' is not a tuple of finite floats");
  EXPECT_NE(run("multi_mp_sgd_mom_update", {a.get(), c.get(), c.get()}, {{"lrs", "(1)"}, {"wds", "(0)"}}, {a.get()}), 0);
  error_has("multi_mp_sgd_mom_update");
  // A momentum that is also a weight is written while read: refused.
  EXPECT_NE(run("multi_sgd_mom_update", {a.get(), c.get(), a.get()}, {{"lrs", "(1)"}, {"wds", "(0)"}}, {a.get()}), 0);
  error_has("multi_sgd_mom_update");
  EXPECT_EQ(values(a), (Vec{1, 2, 3}));  // nothing ran
}

}  // namespace

Family multi_update_family() {
  Family f;
  for (const char* op : {"multi_sgd_update", "multi_sgd_mom_update", "multi_mp_sgd_update", "multi_mp_sgd_mom_update"})
    f.dedicated.push_back({op, "conformance/cases_multi_update.cc:MultiSgd.EveryWeightFollowsTheSgdFormulaWithItsOwnLrAndWd"});
  return f;
}

}  // namespace conformance
