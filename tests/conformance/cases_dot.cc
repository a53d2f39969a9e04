// Conformance cases for dot on N-d inputs and vectors: the reference multiplies the matrix views
// MXNet defines (lhs: columns are its last axis, or its first with transpose_a; rhs: rows are
// its first axis, or its last with transpose_b).
#include "harness.h"

namespace conformance {
namespace {

Case dot_nd(Shape l, Shape r, bool ta, bool tb) {
  const int64_t k = ta ? l.front() : l.back(), m = numel(l) / k, n = numel(r) / k;
  return Case{"dot",
              {{"transpose_a", ta ? "True" : "False"}, {"transpose_b", tb ? "True" : "False"}},
              {{l}, {r}},
              [=](const std::vector<Vec>& in) {
                Vec c(size_t(m * n), 0.0);
                for (int64_t i = 0; i < m; ++i)
                  for (int64_t j = 0; j < n; ++j)
                    for (int64_t p = 0; p < k; ++p)
                      c[size_t(i * n + j)] += (ta ? in[0][size_t(p * m + i)] : in[0][size_t(i * k + p)]) *
                                              (tb ? in[1][size_t(j * k + p)] : in[1][size_t(p * n + j)]);
                return c;
              },
              true, true};
}

}  // namespace

std::vector<Case> dot_cases() {
  return {dot_nd({2, 3, 4}, {4, 5}, false, false), dot_nd({4, 2, 3}, {5, 4}, true, true),
          dot_nd({3, 4}, {4, 2, 2}, false, false), dot_nd({5}, {5}, false, false), dot_nd({2, 5}, {3, 5}, false, true)};
}

}  // namespace conformance
