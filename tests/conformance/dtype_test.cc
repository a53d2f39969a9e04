// Integer dtypes: elementwise, comparison, reduction, shape and indexing ops on int8, uint8,
// int32 and int64 against exact naive references; unsupported dtypes are errors naming op and
// dtype. (16-bit floats run inside every conformance case.)
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "../unit/test_util.h"
#include "harness.h"

namespace {

using conformance::numel;
using conformance::Shape;
using mx::test::Arr;
using IVec = std::vector<int64_t>;

struct IntInput {
  Shape shape;
  int64_t lo, hi;  // draws in [lo, hi)
  IVec values = {};  // fixed values instead
};

struct IntCase {
  std::string op;
  std::vector<std::pair<std::string, std::string>> attrs;
  std::vector<IntInput> inputs;
  std::function<IVec(const std::vector<IVec>&)> ref;
  bool unsigned_ok = true;  // the ranges and results fit uint8
  std::string label() const {
    std::string s = op;
    for (auto& [k, v] : attrs) s += " " + k + "=" + v;
    return s;
  }
};

template <typename T>
Arr typed(const Shape& s, const IVec& v, int32_t dtype) {
  Arr a(s, dtype);
  a.set(std::vector<T>(v.begin(), v.end()));
  return a;
}

Arr make_int(const Shape& s, const IVec& v, int32_t dtype) {
  switch (dtype) {
    case MX_INT8: return typed<int8_t>(s, v, dtype);
    case MX_UINT8: return typed<uint8_t>(s, v, dtype);
    case MX_INT32: return typed<int32_t>(s, v, dtype);
    default: return typed<int64_t>(s, v, dtype);
  }
}

// Any array's values, through a Cast to float64 (exact for every integer used here).
IVec read_int(const Arr& a) {
  const char* k[] = {"dtype"};
  const char* v[] = {"float64"};
  Arr d = mx::test::invoke1("Cast", {a.get()}, 1, k, v);
  auto x = d.to_vector<double>();
  return IVec(x.begin(), x.end());
}

IVec map2(const IVec& a, const IVec& b, int64_t (*f)(int64_t, int64_t)) {
  IVec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = f(a[i], b[i]);
  return y;
}
IVec map1(const IVec& a, const std::function<int64_t(int64_t)>& f) {
  IVec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = f(a[i]);
  return y;
}

std::vector<IntCase> int_cases() {
  return {
      {"elemwise_add", {}, {{{3, 4}, 0, 60}, {{3, 4}, 0, 60}}, [](auto& in) { return map2(in[0], in[1], [](int64_t a, int64_t b) { return a + b; }); }},
      {"elemwise_sub", {}, {{{3, 4}, -50, 50}, {{3, 4}, -50, 50}}, [](auto& in) { return map2(in[0], in[1], [](int64_t a, int64_t b) { return a - b; }); }, false},
      {"elemwise_mul", {}, {{{3, 4}, 0, 11}, {{3, 4}, 0, 11}}, [](auto& in) { return map2(in[0], in[1], [](int64_t a, int64_t b) { return a * b; }); }},
      {"broadcast_add", {}, {{{3, 4}, 0, 50}, {{1, 4}, 0, 50}}, [](auto& in) {
         IVec y(12);
         for (int i = 0; i < 12; ++i) y[size_t(i)] = in[0][size_t(i)] + in[1][size_t(i % 4)];
         return y;
       }},
      {"broadcast_maximum", {}, {{{2, 3}, -9, 9}, {{2, 1}, -9, 9}}, [](auto& in) {
         IVec y(6);
         for (int i = 0; i < 6; ++i) y[size_t(i)] = std::max(in[0][size_t(i)], in[1][size_t(i / 3)]);
         return y;
       }, false},
      {"broadcast_minimum", {}, {{{2, 3}, 0, 9}, {{2, 1}, 0, 9}}, [](auto& in) {
         IVec y(6);
         for (int i = 0; i < 6; ++i) y[size_t(i)] = std::min(in[0][size_t(i)], in[1][size_t(i / 3)]);
         return y;
       }},
      {"broadcast_equal", {}, {{{3, 4}, 0, 3}, {{3, 4}, 0, 3}}, [](auto& in) { return map2(in[0], in[1], [](int64_t a, int64_t b) -> int64_t { return a == b; }); }},
      {"broadcast_greater", {}, {{{3, 4}, 0, 3}, {{3, 4}, 0, 3}}, [](auto& in) { return map2(in[0], in[1], [](int64_t a, int64_t b) -> int64_t { return a > b; }); }},
      {"_plus_scalar", {{"scalar", "3"}}, {{{5}, 0, 100}}, [](auto& in) { return map1(in[0], [](int64_t a) { return a + 3; }); }},
      {"_mul_scalar", {{"scalar", "2"}}, {{{5}, -30, 30}}, [](auto& in) { return map1(in[0], [](int64_t a) { return a * 2; }); }, false},
      {"_greater_scalar", {{"scalar", "4"}}, {{{6}, 0, 9}}, [](auto& in) { return map1(in[0], [](int64_t a) -> int64_t { return a > 4; }); }},
      {"abs", {}, {{{7}, -50, 50}}, [](auto& in) { return map1(in[0], [](int64_t a) { return a < 0 ? -a : a; }); }, false},
      {"negative", {}, {{{7}, -50, 50}}, [](auto& in) { return map1(in[0], [](int64_t a) { return -a; }); }, false},
      {"sign", {}, {{{7}, -5, 5}}, [](auto& in) { return map1(in[0], [](int64_t a) -> int64_t { return (a > 0) - (a < 0); }); }, false},
      {"square", {}, {{{7}, 0, 11}}, [](auto& in) { return map1(in[0], [](int64_t a) { return a * a; }); }},
      {"clip", {{"a_min", "2"}, {"a_max", "6"}}, {{{8}, 0, 9}}, [](auto& in) { return map1(in[0], [](int64_t a) { return std::clamp<int64_t>(a, 2, 6); }); }},
      {"where", {}, {{{6}, 0, 2}, {{6}, 0, 50}, {{6}, 50, 100}}, [](auto& in) {
         IVec y(6);
         for (size_t i = 0; i < 6; ++i) y[i] = in[0][i] ? in[1][i] : in[2][i];
         return y;
       }},
      {"sum", {{"axis", "1"}}, {{{3, 4}, 0, 20}}, [](auto& in) {
         IVec y(3, 0);
         for (int i = 0; i < 12; ++i) y[size_t(i / 4)] += in[0][size_t(i)];
         return y;
       }},
      {"max", {{"axis", "0"}}, {{{3, 4}, 0, 100}}, [](auto& in) {
         IVec y(4, -1);
         for (int i = 0; i < 12; ++i) y[size_t(i % 4)] = std::max(y[size_t(i % 4)], in[0][size_t(i)]);
         return y;
       }},
      {"argmax", {{"axis", "1"}}, {{{3, 4}, 0, 100, {5, 9, 1, 0, 7, 7, 2, 3, 0, 1, 2, 60}}}, [](auto&) { return IVec{1, 0, 3}; }},
      {"transpose", {}, {{{2, 3}, 0, 100}}, [](auto& in) {
         IVec y(6);
         for (int i = 0; i < 2; ++i)
           for (int j = 0; j < 3; ++j) y[size_t(j * 2 + i)] = in[0][size_t(i * 3 + j)];
         return y;
       }},
      {"Reshape", {{"shape", "(-1,2)"}}, {{{2, 3, 2}, 0, 100}}, [](auto& in) { return in[0]; }},
      {"Concat", {{"num_args", "2"}, {"dim", "0"}}, {{{1, 3}, 0, 100}, {{2, 3}, 0, 100}}, [](auto& in) {
         IVec y = in[0];
         y.insert(y.end(), in[1].begin(), in[1].end());
         return y;
       }},
      {"slice", {{"begin", "(None,1)"}, {"end", "(None,None)"}, {"step", "(None,2)"}}, {{{2, 5}, 0, 100}}, [](auto& in) {
         return IVec{in[0][1], in[0][3], in[0][6], in[0][8]};
       }},
      {"take", {}, {{{4, 2}, 0, 100}, {{3}, 0, 4}}, [](auto& in) {
         IVec y;
         for (int64_t k : in[1]) y.insert(y.end(), {in[0][size_t(k * 2)], in[0][size_t(k * 2 + 1)]});
         return y;
       }},
      {"one_hot", {{"depth", "3"}, {"dtype", "int32"}}, {{{4}, 0, 3}}, [](auto& in) {
         IVec y(12, 0);
         for (size_t i = 0; i < 4; ++i) y[i * 3 + size_t(in[0][i])] = 1;
         return y;
       }},
      {"tile", {{"reps", "(2,)"}}, {{{3}, 0, 100}}, [](auto& in) { return IVec{in[0][0], in[0][1], in[0][2], in[0][0], in[0][1], in[0][2]}; }},
      {"repeat", {{"repeats", "2"}}, {{{3}, 0, 100}}, [](auto& in) { return IVec{in[0][0], in[0][0], in[0][1], in[0][1], in[0][2], in[0][2]}; }},
      {"gather_nd", {}, {{{3, 2}, 0, 100}, {{1, 2}, 0, 3}}, [](auto& in) {
         return IVec{in[0][size_t(in[1][0] * 2)], in[0][size_t(in[1][0] * 2 + 1)], in[0][size_t(in[1][1] * 2)],
                     in[0][size_t(in[1][1] * 2 + 1)]};
       }},
      {"pick", {}, {{{3, 4}, 0, 100}, {{3}, 0, 4}}, [](auto& in) {
         IVec y(3);
         for (size_t r = 0; r < 3; ++r) y[r] = in[0][r * 4 + size_t(in[1][r])];
         return y;
       }},
      {"sort", {}, {{{9}, 0, 100}}, [](auto& in) {
         IVec y = in[0];
         std::sort(y.begin(), y.end());
         return y;
       }},
      {"topk", {{"k", "2"}, {"ret_typ", "value"}}, {{{6}, 0, 100, {5, 90, 17, 3, 64, 2}}}, [](auto&) { return IVec{90, 64}; }},
      {"zeros_like", {}, {{{4}, 0, 100}}, [](auto&) { return IVec(4, 0); }},
      {"Cast", {{"dtype", "float32"}}, {{{5}, 0, 100}}, [](auto& in) { return in[0]; }},
  };
}

TEST(IntegerDtypes, OpsMatchExactNaiveReferences) {
  std::mt19937_64 rng(3);
  for (const IntCase& c : int_cases()) {
    for (int32_t dtype : {MX_INT32, MX_INT64, MX_INT8, MX_UINT8}) {
      if (dtype == MX_UINT8 && !c.unsigned_ok) continue;
      std::vector<IVec> xs;
      std::vector<Arr> arrs;
      std::vector<mx_ndarray_t> h;
      for (const IntInput& in : c.inputs) {
        IVec x = in.values;
        if (x.empty()) {
          std::uniform_int_distribution<int64_t> u(in.lo, in.hi - 1);
          for (int64_t i = 0; i < numel(in.shape); ++i) x.push_back(u(rng));
        }
        arrs.push_back(make_int(in.shape, x, dtype));
        h.push_back(arrs.back().get());
        xs.push_back(x);
      }
      std::vector<const char*> k, v;
      for (auto& [key, val] : c.attrs) {
        k.push_back(key.c_str());
        v.push_back(val.c_str());
      }
      const char* name = nullptr;
      ASSERT_MX_OK(mx_dtype_name(dtype, &name));
      const std::string where = c.label() + " in " + name;
      int32_t nout = 0;
      mx_ndarray_t* outs = nullptr;
      const int rc = mx_imperative_invoke(c.op.c_str(), int32_t(h.size()), h.data(), &nout, &outs, int32_t(k.size()), k.data(),
                                          v.data());
      ASSERT_EQ(rc, 0) << where << ": " << mx_get_last_error();
      Arr y(outs[0]);
      for (int32_t i = 1; i < nout; ++i) mx_ndarray_free(outs[i]);
      EXPECT_EQ(read_int(y), c.ref(xs)) << where;
    }
  }
}

TEST(Dtypes, UnsupportedDtypesAreErrorsNamingOpAndDtype) {
  struct Bad {
    const char* op;
    int32_t dtype;
    const char* dtype_name;
    int n_inputs;
    std::vector<std::pair<const char*, const char*>> attrs;
  };
  const std::vector<Bad> bad = {
      {"exp", MX_INT32, "int32", 1, {}},
      {"softmax", MX_INT64, "int64", 1, {}},
      {"dot", MX_INT8, "int8", 2, {}},
      {"FullyConnected", MX_INT32, "int32", 2, {{"num_hidden", "3"}, {"no_bias", "True"}}},
      {"elemwise_add", MX_BOOL, "bool", 2, {}},
  };
  for (const Bad& b : bad) {
    std::vector<Arr> arrs;
    std::vector<mx_ndarray_t> h;
    for (int i = 0; i < b.n_inputs; ++i) {
      arrs.emplace_back(Shape{3, 3}, b.dtype);
      h.push_back(arrs.back().get());
    }
    std::vector<const char*> k, v;
    for (auto& [key, val] : b.attrs) {
      k.push_back(key);
      v.push_back(val);
    }
    int32_t nout = 0;
    mx_ndarray_t* outs = nullptr;
    EXPECT_EQ(mx_imperative_invoke(b.op, int32_t(h.size()), h.data(), &nout, &outs, int32_t(k.size()), k.data(), v.data()), -1)
        << b.op;
    const std::string msg = mx_get_last_error();
    EXPECT_NE(msg.find(b.op), std::string::npos) << msg;
    EXPECT_NE(msg.find(b.dtype_name), std::string::npos) << msg;
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_UNSUPPORTED) << msg;
  }
}

}  // namespace
