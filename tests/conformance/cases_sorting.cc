// Conformance cases for sort, argsort and topk. Random continuous inputs have no ties, so the
// reference orders by value alone.
#include <algorithm>
#include <numeric>

#include "harness.h"

namespace conformance {
namespace {

enum class Out { kValues, kIndices, kMask };

// Sorts each row of axis `axis` (-1: flattened) and keeps the first k of each (k = 0: all).
Vec naive_sort(const Vec& x, const Shape& s, int axis, int64_t k, bool ascend, Out what) {
  int64_t outer = 1, len = numel(s), inner = 1;
  if (axis >= 0) {
    outer = inner = 1;
    for (int d = 0; d < axis; ++d) outer *= s[size_t(d)];
    len = s[size_t(axis)];
    for (size_t d = size_t(axis) + 1; d < s.size(); ++d) inner *= s[d];
  }
  if (k == 0) k = len;
  Vec y(what == Out::kMask ? x.size() : size_t(outer * k * inner), 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      std::vector<int64_t> ord(static_cast<size_t>(len));
      std::iota(ord.begin(), ord.end(), 0);
      auto at = [&](int64_t j) { return x[size_t((o * len + j) * inner + i)]; };
      std::sort(ord.begin(), ord.end(), [&](int64_t a, int64_t b) { return ascend ? at(a) < at(b) : at(a) > at(b); });
      for (int64_t j = 0; j < k; ++j) {
        const int64_t from = ord[size_t(j)];
        if (what == Out::kMask) y[size_t((o * len + from) * inner + i)] = 1;
        else y[size_t((o * k + j) * inner + i)] = what == Out::kValues ? at(from) : double(from);
      }
    }
  return y;
}

Case sort_case(std::string op, std::vector<std::pair<std::string, std::string>> attrs, Shape s, int axis, int64_t k,
               bool ascend, Out what, size_t output = 0) {
  const bool grad = what == Out::kValues;
  return Case{op, attrs, {{s}}, [=](const std::vector<Vec>& in) { return naive_sort(in[0], s, axis, k, ascend, what); },
              grad, false, {}, output};
}

}  // namespace

std::vector<Case> sorting_cases() {
  return {
      sort_case("sort", {}, {3, 5}, 1, 0, true, Out::kValues),
      sort_case("sort", {{"axis", "0"}, {"is_ascend", "False"}}, {4, 3}, 0, 0, false, Out::kValues),
      sort_case("sort", {{"axis", "None"}}, {2, 3, 2}, -1, 0, true, Out::kValues),
      sort_case("argsort", {}, {3, 5}, 1, 0, true, Out::kIndices),
      sort_case("argsort", {{"axis", "0"}, {"is_ascend", "False"}, {"dtype", "int32"}}, {4, 3}, 0, 0, false, Out::kIndices),
      sort_case("topk", {}, {3, 5}, 1, 1, false, Out::kIndices),
      sort_case("topk", {{"axis", "1"}, {"k", "2"}, {"ret_typ", "value"}}, {3, 5, 2}, 1, 2, false, Out::kValues),
      sort_case("topk", {{"k", "3"}, {"ret_typ", "mask"}}, {2, 6}, 1, 3, false, Out::kMask),
      sort_case("topk", {{"axis", "None"}, {"k", "4"}, {"ret_typ", "value"}, {"is_ascend", "True"}}, {3, 4}, -1, 4, true,
                Out::kValues),
      sort_case("topk", {{"axis", "0"}, {"k", "2"}, {"ret_typ", "both"}}, {4, 3}, 0, 2, false, Out::kValues, 0),
      sort_case("topk", {{"axis", "0"}, {"k", "2"}, {"ret_typ", "both"}, {"dtype", "int64"}}, {4, 3}, 0, 2, false,
                Out::kIndices, 1),
  };
}

}  // namespace conformance
