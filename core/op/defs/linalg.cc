// The linalg family: MXNet 1.9.1's _linalg_* operators (aliases linalg_*), float32 and float64, each
// on the matrices of its trailing two axes, batched over the leading ones. Kernels:
// backends/cpu/kernels/linalg.cc (products, diagonals, triangles) and linalg_factor.cc (LAPACK).
//
// Gradients are graphs of the family's own ops where MXNet's backward is a short formula (so they
// differentiate again); potrf, gelqf, syevd, det and slogdet have gradient-only kernels
// (_backward_linalg_*; det's and slogdet's give zero for a singular matrix, as MXNet's do).
// potrf and syevd read only the lower triangle of their symmetric input and, as MXNet, return a
// symmetric gradient (the derivative along symmetric perturbations).
#include <cstdlib>
#include <string>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

using Attr = std::pair<std::string, std::string>;

const char* bool_str(bool b) { return b ? "True" : "False"; }

// ---------------------------------------------------------------- shape checks

// BLAS and LAPACK take 32-bit sizes.
void check_blas_extent(const std::string& op, const Shape& s, int64_t extent) {
  if (extent > INT32_MAX)
    fail(MX_ERR_INVALID_ARGUMENT, op, ": matrix extent ", extent, " of input ", shape_str(s),
         " exceeds what BLAS/LAPACK take (2^31 - 1)");
}

// s holds matrices (>= 2 dims), square ones where asked.
void need_matrices(const std::string& op, const Shape& s, bool square, const char* what = "A") {
  if (s.size() < 2)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": input ", what, " must have at least 2 dimensions (a batch of matrices), got ",
         shape_str(s));
  if (square && s[s.size() - 1] != s[s.size() - 2])
    fail(MX_ERR_SHAPE_MISMATCH, op, ": input ", what, " must hold square matrices (last two dimensions equal), got ",
         shape_str(s));
  check_blas_extent(op, s, s[s.size() - 1]);
  check_blas_extent(op, s, s[s.size() - 2]);
}

// The first size() - drop dims of s.
Shape leading(const Shape& s, size_t drop) { return Shape(s.begin(), s.end() - long(drop)); }

// Shape of a per-matrix scalar (sumlogdiag, det): the batch dims, or (1,) for a single matrix.
Shape per_matrix(const Shape& s) {
  Shape o = leading(s, 2);
  if (o.empty()) o = {1};
  return o;
}

Shape with_tail(Shape s, std::initializer_list<int64_t> tail) {
  for (int64_t t : tail) s.push_back(t);
  return s;
}

// ---------------------------------------------------------------- schema helpers

OpSchema la_schema(const char* name, const char* doc, std::vector<std::string> inputs) {
  OpSchema s;
  s.name = std::string("_linalg_") + name;
  s.aliases = {std::string("linalg_") + name};
  s.doc = doc;
  s.inputs = std::move(inputs);
  s.dtypes = {MX_FLOAT32, MX_FLOAT64};
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    for (size_t i = 1; i < a.in_dtypes.size(); ++i)
      if (a.in_dtypes[i] != a.in_dtypes[0])
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": input '", a.op.inputs[i], "' is ", dtype_info(a.in_dtypes[i]).name,
             " but '", a.op.inputs[0], "' is ", dtype_info(a.in_dtypes[0]).name);
    out.assign(size_t(a.op.num_outputs), a.in_dtypes[0]);
  };
  return s;
}

ParamSpec alpha_param() { return param_float("alpha", "1", "scalar factor of the product"); }
ParamSpec offset_param() {
  return with_range(param_int("offset", "0", "diagonal offset: 0 the main diagonal, > 0 above it, < 0 below it"),
                    -double(INT32_MAX), double(INT32_MAX));
}

// Shorthands for the gradient graphs.
GradValue gemm2(Grad& d, GradValue x, GradValue y, bool tx, bool ty, double alpha, int64_t axis) {
  return d.op("_linalg_gemm2", {x, y},
              {{"transpose_a", bool_str(tx)}, {"transpose_b", bool_str(ty)}, {"alpha", float_str(alpha)},
               {"axis", std::to_string(axis)}});
}
GradValue trsm(Grad& d, GradValue a, GradValue b, bool transpose, bool rightside, bool lower, double alpha) {
  return d.op("_linalg_trsm", {a, b},
              {{"transpose", bool_str(transpose)}, {"rightside", bool_str(rightside)}, {"lower", bool_str(lower)},
               {"alpha", float_str(alpha)}});
}
// The lower (or upper) triangle of x with the diagonal, the rest zero.
GradValue triangle(Grad& d, GradValue x, bool lower) {
  const std::vector<Attr> at = {{"offset", "0"}, {"lower", bool_str(lower)}};
  return d.op("_linalg_maketrian", {d.op("_linalg_extracttrian", {x}, at)}, at);
}
// ---------------------------------------------------------------- products

// gemm / gemm2 shapes as MXNet's LaMatrixMultMacOpShape: rows on `axis`, columns on the last axis.
void gemm_shape(const InferArgs& a, std::vector<Shape>& out) {
  const std::string& op = a.op.name;
  const Shape &sa = a.in_shapes[0], &sb = a.in_shapes[1];
  const bool ta = a.attrs.b("transpose_a"), tb = a.attrs.b("transpose_b");
  if (sa.size() < 2 || sa.size() != sb.size())
    fail(MX_ERR_SHAPE_MISMATCH, op, ": A ", shape_str(sa), " and B ", shape_str(sb),
         " must have the same number (>= 2) of dimensions");
  const int64_t nd = int64_t(sa.size()), axis_attr = a.attrs.i("axis");
  const int64_t ax = axis_attr < 0 ? axis_attr + nd : axis_attr;
  if (ax < 0 || ax >= nd - 1)
    fail(MX_ERR_INVALID_ARGUMENT, op, ": axis ", axis_attr, " is not a row axis of ", nd, "-d inputs (it must be in [",
         -nd, ", ", nd - 2, "])");
  Shape o = sa;
  for (int64_t i = 0; i < nd - 1; ++i)
    if (i != ax && sa[size_t(i)] != sb[size_t(i)])
      fail(MX_ERR_SHAPE_MISMATCH, op, ": A ", shape_str(sa), " and B ", shape_str(sb),
           " must agree except on the row axis ", ax, " and the last axis");
  const int64_t ka = ta ? sa[size_t(ax)] : sa.back(), kb = tb ? sb.back() : sb[size_t(ax)];
  if (ka != kb)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": cannot multiply A ", shape_str(sa), (ta ? "^T" : ""), " by B ", shape_str(sb),
         (tb ? "^T" : ""), " (inner extents ", ka, " and ", kb, ")");
  o[size_t(ax)] = ta ? sa.back() : sa[size_t(ax)];
  o[o.size() - 1] = tb ? sb[size_t(ax)] : sb.back();
  // The row stride of a matrix spans the axes between the row axis and the last one.
  for (const Shape* s : std::initializer_list<const Shape*>{&sa, &sb, &o}) {
    int64_t ld = s->back();
    for (int64_t i = ax + 1; i < nd - 1; ++i) ld = checked_mul(ld, (*s)[size_t(i)], op);
    check_blas_extent(op, *s, ld);
    check_blas_extent(op, *s, (*s)[size_t(ax)]);
  }
  if (a.in_shapes.size() > 2 && a.in_shapes[2] != o)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": C is ", shape_str(a.in_shapes[2]), " but A ", shape_str(sa), " and B ",
         shape_str(sb), " give ", shape_str(o));
  out = {o};
}

std::vector<GradValue> gemm_grad(const GradArgs& a) {
  Grad d{a.g};
  const bool ta = a.attrs.b("transpose_a"), tb = a.attrs.b("transpose_b");
  const double alpha = a.attrs.f("alpha");
  const int64_t axis = a.attrs.i("axis");
  const GradValue A = a.inputs[0], B = a.inputs[1], dC = a.out_grads[0];
  std::vector<GradValue> g = {ta ? gemm2(d, B, dC, tb, true, alpha, axis) : gemm2(d, dC, B, false, !tb, alpha, axis),
                              tb ? gemm2(d, dC, A, true, ta, alpha, axis) : gemm2(d, A, dC, !ta, false, alpha, axis)};
  if (a.inputs.size() > 2) g.push_back(d.scalar("_mul_scalar", dC, a.attrs.f("beta")));
  return g;
}

void register_products(Registry& r) {
  {
    OpSchema s = la_schema("gemm", "out = alpha * op(A) * op(B) + beta * C on the matrices of the inputs.", {"A", "B", "C"});
    s.params = {param_bool("transpose_a", "False", "multiply with the transpose of A"),
                param_bool("transpose_b", "False", "multiply with the transpose of B"), alpha_param(),
                param_float("beta", "1", "scalar factor of C"),
                param_axis("axis", "-2", "axis of the matrix rows (the last axis holds the columns)")};
    s.infer_shape = gemm_shape;
    s.gradient = gemm_grad;
    r.add(std::move(s));
  }
  {
    OpSchema s = la_schema("gemm2", "out = alpha * op(A) * op(B) on the matrices of the inputs.", {"A", "B"});
    s.params = {param_bool("transpose_a", "False", "multiply with the transpose of A"),
                param_bool("transpose_b", "False", "multiply with the transpose of B"), alpha_param(),
                param_axis("axis", "-2", "axis of the matrix rows (the last axis holds the columns)")};
    s.infer_shape = gemm_shape;
    s.gradient = gemm_grad;
    r.add(std::move(s));
  }
  // trmm and trsm: A triangular (n x n), B (m x k); out has B's shape.
  auto triangular_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const std::string& op = a.op.name;
    const Shape &sa = a.in_shapes[0], &sb = a.in_shapes[1];
    need_matrices(op, sa, true, "A");
    need_matrices(op, sb, false, "B");
    if (sa.size() != sb.size() || leading(sa, 2) != leading(sb, 2))
      fail(MX_ERR_SHAPE_MISMATCH, op, ": A ", shape_str(sa), " and B ", shape_str(sb),
           " must have the same batch dimensions");
    const bool right = a.attrs.b("rightside");
    const int64_t n = sa.back(), kb = right ? sb.back() : sb[sb.size() - 2];
    if (n != kb)
      fail(MX_ERR_SHAPE_MISMATCH, op, ": A ", shape_str(sa), " does not fit B ", shape_str(sb),
           right ? " from the right (B's columns)" : " from the left (B's rows)");
    out = {sb};
  };
  auto tri_params = [] {
    return std::vector<ParamSpec>{param_bool("transpose", "False", "use the transpose of the triangular matrix A"),
                                  param_bool("rightside", "False", "multiply (solve) with A from the right"),
                                  param_bool("lower", "True", "A is lower (True) or upper (False) triangular"),
                                  alpha_param()};
  };
  {
    OpSchema s = la_schema("trmm", "out = alpha * op(A) * B (or alpha * B * op(A) with rightside), A triangular.", {"A", "B"});
    s.params = tri_params();
    s.infer_shape = triangular_shape;
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const bool t = a.attrs.b("transpose"), right = a.attrs.b("rightside"), lower = a.attrs.b("lower");
      const double alpha = a.attrs.f("alpha");
      const GradValue A = a.inputs[0], B = a.inputs[1], dC = a.out_grads[0];
      const GradValue dA = right == t ? gemm2(d, dC, B, t, !t, alpha, -2) : gemm2(d, B, dC, !t, t, alpha, -2);
      const GradValue dB = d.op("_linalg_trmm", {A, dC},
                                {{"transpose", bool_str(!t)}, {"rightside", bool_str(right)}, {"lower", bool_str(lower)},
                                 {"alpha", float_str(alpha)}});
      return std::vector<GradValue>{triangle(d, dA, lower), dB};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s = la_schema("trsm", "out = alpha * op(A)^-1 * B (or alpha * B * op(A)^-1 with rightside), A triangular.",
                           {"A", "B"});
    s.params = tri_params();
    s.infer_shape = triangular_shape;
    s.gradient = [](const GradArgs& a) {
      // With G = op(A)^-T dC (a solve of dC, alpha 1): dB = alpha G, dA = -G C^T (or -C^T G), the
      // triangle of A only.
      Grad d{a.g};
      const bool t = a.attrs.b("transpose"), right = a.attrs.b("rightside"), lower = a.attrs.b("lower");
      const GradValue A = a.inputs[0], C = a.outputs[0];
      const GradValue G = trsm(d, A, a.out_grads[0], !t, right, lower, 1.0);
      const GradValue dA = right == t ? gemm2(d, G, C, t, !t, -1.0, -2) : gemm2(d, C, G, !t, t, -1.0, -2);
      return std::vector<GradValue>{triangle(d, dA, lower), d.scalar("_mul_scalar", G, a.attrs.f("alpha"))};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s = la_schema("syrk", "out = alpha * A * A^T (or alpha * A^T * A with transpose).", {"A"});
    s.params = {param_bool("transpose", "False", "use A^T * A"), alpha_param()};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& sa = a.in_shapes[0];
      need_matrices(a.op.name, sa, false);
      const int64_t n = a.attrs.b("transpose") ? sa.back() : sa[sa.size() - 2];
      out = {with_tail(leading(sa, 2), {n, n})};
    };
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const double alpha = a.attrs.f("alpha");
      const GradValue A = a.inputs[0], dB = a.out_grads[0];
      // alpha (dB + dB^T) A, or alpha A (dB + dB^T).
      const GradValue g = a.attrs.b("transpose")
                              ? d.op("elemwise_add", {gemm2(d, A, dB, false, false, alpha, -2), gemm2(d, A, dB, false, true, alpha, -2)})
                              : d.op("elemwise_add", {gemm2(d, dB, A, false, false, alpha, -2), gemm2(d, dB, A, true, false, alpha, -2)});
      return std::vector<GradValue>{g};
    };
    r.add(std::move(s));
  }
}

// ---------------------------------------------------------------- diagonals and triangles

void register_diag_trian(Registry& r) {
  {
    OpSchema s = la_schema("sumlogdiag", "Sum of the logarithms of the diagonal of each square matrix.", {"A"});
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      need_matrices(a.op.name, a.in_shapes[0], true);
      out = {per_matrix(a.in_shapes[0])};
    };
    s.gradient = [](const GradArgs& a) {
      // dA = diag(dB / diag(A)).
      Grad d{a.g};
      const Shape& sa = a.in_shapes[0];
      const GradValue g = d.op("broadcast_div", {reshape_to(d, a.out_grads[0], with_tail(leading(sa, 2), {1})),
                                                 d.op("_linalg_extractdiag", {a.inputs[0]})});
      return std::vector<GradValue>{d.op("_linalg_makediag", {g})};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s = la_schema("extractdiag", "The diagonal (or an offset one) of each square matrix.", {"A"});
    s.params = {offset_param()};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& sa = a.in_shapes[0];
      need_matrices(a.op.name, sa, true);
      const int64_t off = a.attrs.i("offset"), m = sa.back() - std::abs(off);
      if (m <= 0)
        fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": offset ", off, " leaves no diagonal in matrices of ", shape_str(sa));
      out = {with_tail(leading(sa, 2), {m})};
    };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_linalg_makediag", {a.out_grads[0]}, {{"offset", a.attrs.str("offset")}})};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s = la_schema("makediag", "Square matrices with the input vectors on their diagonal (or an offset one).", {"A"});
    s.params = {offset_param()};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& sa = a.in_shapes[0];
      if (sa.empty()) fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": input must have at least 1 dimension, got ", shape_str(sa));
      const int64_t n = sa.back() + std::abs(a.attrs.i("offset"));
      check_blas_extent(a.op.name, sa, n);
      out = {with_tail(leading(sa, 1), {n, n})};
    };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_linalg_extractdiag", {a.out_grads[0]}, {{"offset", a.attrs.str("offset")}})};
    };
    r.add(std::move(s));
  }
  auto trian_params = [] {
    return std::vector<ParamSpec>{offset_param(),
                                  param_bool("lower", "True", "the lower (True) or upper triangle; only used with offset 0")};
  };
  {
    OpSchema s = la_schema("extracttrian",
                           "The entries of a triangle of each square matrix, row by row: offset 0 the lower (upper) "
                           "triangle with the diagonal, > 0 the upper triangle above diagonal `offset`, < 0 the "
                           "lower one below it.",
                           {"A"});
    s.params = trian_params();
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& sa = a.in_shapes[0];
      need_matrices(a.op.name, sa, true);
      const int64_t off = a.attrs.i("offset"), m = sa.back() - std::abs(off);
      if (m <= 0)
        fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": offset ", off, " leaves no triangle in matrices of ", shape_str(sa));
      out = {with_tail(leading(sa, 2), {m * (m + 1) / 2})};
    };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_linalg_maketrian", {a.out_grads[0]},
                                             {{"offset", a.attrs.str("offset")}, {"lower", a.attrs.str("lower")}})};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s = la_schema("maketrian", "Square matrices whose triangle (as extracttrian addresses it) holds the input.", {"A"});
    s.params = trian_params();
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& sa = a.in_shapes[0];
      if (sa.empty()) fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": input must have at least 1 dimension, got ", shape_str(sa));
      const int64_t len = sa.back();
      int64_t m = 0;
      while (m * (m + 1) / 2 < len) ++m;
      if (m * (m + 1) / 2 != len || len == 0)
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": the last axis of ", shape_str(sa),
             " must have a triangular number m (m + 1) / 2 > 0 of entries");
      const int64_t n = m + std::abs(a.attrs.i("offset"));
      check_blas_extent(a.op.name, sa, n);
      out = {with_tail(leading(sa, 1), {n, n})};
    };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_linalg_extracttrian", {a.out_grads[0]},
                                             {{"offset", a.attrs.str("offset")}, {"lower", a.attrs.str("lower")}})};
    };
    r.add(std::move(s));
  }
}

// ---------------------------------------------------------------- factorizations

void square_same_shape(const InferArgs& a, std::vector<Shape>& out) {
  need_matrices(a.op.name, a.in_shapes[0], true);
  out = {a.in_shapes[0]};
}

// The gradient-only ops: dA has the shape of the forward input, given by input `like`.
OpSchema backward_schema(const char* name, const char* doc, std::vector<std::string> inputs, size_t like) {
  OpSchema s = la_schema("", doc, std::move(inputs));
  s.name = name;
  s.aliases = {};
  s.infer_shape = [like](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[like]}; };
  s.gradient = no_gradient;
  return s;
}

void register_factorizations(Registry& r) {
  const ParamSpec lower = param_bool("lower", "True", "the factor is lower (True: A = L L^T) or upper (A = U^T U) triangular");
  {
    OpSchema s = la_schema("potrf",
                           "Cholesky factor of each symmetric positive-definite matrix (only its lower, or upper, "
                           "triangle is read); fails naming the batch index of a matrix that is not positive definite.",
                           {"A"});
    s.params = {lower};
    s.infer_shape = square_same_shape;
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_backward_linalg_potrf", {a.out_grads[0], a.outputs[0]},
                                             {{"lower", a.attrs.str("lower")}})};
    };
    r.add(std::move(s));
    OpSchema b = backward_schema("_backward_linalg_potrf", "Gradient of _linalg_potrf from dL and L.", {"dL", "L"}, 1);
    b.params = {lower};
    r.add(std::move(b));
  }
  {
    OpSchema s = la_schema("potri", "Inverse (L L^T)^-1 (or (U^T U)^-1) of a matrix from its triangular Cholesky factor.", {"A"});
    s.params = {lower};
    s.infer_shape = square_same_shape;
    s.gradient = [](const GradArgs& a) {
      // Lower: dL = -tril(B (dB + dB^T) L^-T) with B the output; upper: -triu(U^-T (dB + dB^T) B).
      Grad d{a.g};
      const bool low = a.attrs.b("lower");
      const GradValue L = a.inputs[0], B = a.outputs[0], dB = a.out_grads[0];
      GradValue x, g;
      if (low) {
        x = d.op("elemwise_add", {gemm2(d, B, dB, false, false, 1, -2), gemm2(d, B, dB, false, true, 1, -2)});
        g = trsm(d, L, x, true, true, true, -1.0);
      } else {
        x = d.op("elemwise_add", {gemm2(d, dB, B, false, false, 1, -2), gemm2(d, dB, B, true, false, 1, -2)});
        g = trsm(d, L, x, true, false, false, -1.0);
      }
      return std::vector<GradValue>{triangle(d, g, low)};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s = la_schema("inverse", "Inverse of each square matrix; fails naming the batch index of a singular one.", {"A"});
    s.infer_shape = square_same_shape;
    s.gradient = [](const GradArgs& a) {
      // dA = -B^T dB B^T with B = inverse(A).
      Grad d{a.g};
      const GradValue B = a.outputs[0];
      return std::vector<GradValue>{gemm2(d, B, gemm2(d, a.out_grads[0], B, false, true, 1, -2), true, false, -1.0, -2)};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s = la_schema("det", "Determinant of each square matrix (LU factorization).", {"A"});
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      need_matrices(a.op.name, a.in_shapes[0], true);
      out = {per_matrix(a.in_shapes[0])};
    };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_backward_linalg_det", {a.out_grads[0], a.outputs[0], a.inputs[0]})};
    };
    r.add(std::move(s));
    r.add(backward_schema("_backward_linalg_det",
                          "Gradient of _linalg_det: ddet * det * A^-T, zero for a singular A (as MXNet).",
                          {"ddet", "det", "A"}, 2));
  }
  {
    OpSchema s = la_schema("slogdet", "Sign and log of the absolute value of the determinant of each square matrix.", {"A"});
    s.num_outputs = 2;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      need_matrices(a.op.name, a.in_shapes[0], true);
      out = {per_matrix(a.in_shapes[0]), per_matrix(a.in_shapes[0])};
    };
    s.gradient = [](const GradArgs& a) {
      // The sign is piecewise constant; d logabsdet / dA = A^-T.
      return std::vector<GradValue>{a.g.call("_backward_linalg_slogdet", {a.out_grads[1], a.inputs[0]})};
    };
    r.add(std::move(s));
    r.add(backward_schema("_backward_linalg_slogdet",
                          "Gradient of _linalg_slogdet's logabsdet: dlogabsdet * A^-T, zero for a singular A (as MXNet).",
                          {"dlogabsdet", "A"}, 1));
  }
  {
    OpSchema s = la_schema("gelqf",
                           "LQ factorization A = L Q of each m x n matrix (m <= n, full rank): outputs Q (m x n, "
                           "orthonormal rows) and L (m x m, lower triangular).",
                           {"A"});
    s.num_outputs = 2;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& sa = a.in_shapes[0];
      need_matrices(a.op.name, sa, false);
      const int64_t m = sa[sa.size() - 2];
      if (m > sa.back())
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": A ", shape_str(sa), " must have no more rows than columns");
      out = {sa, with_tail(leading(sa, 2), {m, m})};
    };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_backward_linalg_gelqf",
                                             {a.out_grads[0], a.out_grads[1], a.outputs[0], a.outputs[1]})};
    };
    r.add(std::move(s));
    r.add(backward_schema("_backward_linalg_gelqf", "Gradient of _linalg_gelqf from dQ, dL, Q and L.",
                          {"dQ", "dL", "Q", "L"}, 2));
  }
  {
    OpSchema s = la_schema("syevd",
                           "Eigendecomposition A = U^T diag(lambda) U of each symmetric matrix (its lower triangle is "
                           "read): outputs U (eigenvectors in rows, each with its largest entry positive) and lambda "
                           "(ascending).",
                           {"A"});
    s.num_outputs = 2;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& sa = a.in_shapes[0];
      need_matrices(a.op.name, sa, true);
      out = {sa, leading(sa, 1)};
    };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_backward_linalg_syevd",
                                             {a.out_grads[0], a.out_grads[1], a.outputs[0], a.outputs[1]})};
    };
    r.add(std::move(s));
    r.add(backward_schema("_backward_linalg_syevd", "Gradient of _linalg_syevd from dU, dlambda, U and lambda.",
                          {"dU", "dlambda", "U", "lambda"}, 2));
  }
}

}  // namespace

void register_linalg(Registry& r) {
  register_products(r);
  register_diag_trian(r);
  register_factorizations(r);
}

}  // namespace mx::op
