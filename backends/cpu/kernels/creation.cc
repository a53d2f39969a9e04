// The creation family (core/op/defs/creation.cc): _arange, _linspace, _eye, _contrib_arange_like,
// diag and _backward_diag.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

constexpr int64_t kGrain = int64_t(1) << 15;

// ---------------------------------------------------------------- ranges and eye

enum RangeKind { kArange, kArangeLike, kLinspace, kEye };

struct RangeState {
  int kind;
  int32_t dtype;
  double start = 0, step = 1, stop = 0;
  int64_t repeat = 1, cols = 0, k = 0;
  bool endpoint = false;
};

template <int KIND>
int range_create(const mx_kernel_args* args, void** out) {
  auto* st = new RangeState{KIND, dtype_flag(args->outputs[0].dtype)};
  if (!dispatch_numeric(st->dtype, [](auto) {})) {
    delete st;
    return unsupported(args, dtype_flag(args->outputs[0].dtype));
  }
  if (KIND == kArange || KIND == kArangeLike) {
    st->start = attr_float(args, "start");
    st->step = attr_float(args, "step");
    st->repeat = attr_int(args, "repeat");
    const char* stop = attr(args, "stop");
    if (KIND == kArange && (std::strcmp(stop, "None") == 0 || *stop == '\0')) st->start = 0;  // arange(n): 0 .. n
  } else if (KIND == kLinspace) {
    st->start = attr_float(args, "start");
    st->stop = attr_float(args, "stop");
    st->endpoint = attr_bool(args, "endpoint");
    const int64_t num = attr_int(args, "num"), intervals = st->endpoint ? num - 1 : num;
    st->step = intervals > 0 ? (st->stop - st->start) / double(intervals) : 0.0;
  } else {
    st->cols = args->outputs[0].shape[1];
    st->k = attr_int(args, "k");
  }
  *out = st;
  return 0;
}

// MXNet's range: start + (i / repeat) * step in the output's compute type (an integer dtype
// truncates start and step first).
template <typename S>
void fill_range(const RangeState& st, S* y, int64_t n) {
  using E = Elem<S>;
  using C = typename E::C;
  const C start = static_cast<C>(st.start), step = static_cast<C>(st.step);
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = E::store(C(start + C(i / st.repeat) * step));
  });
}

template <typename S>
void fill_linspace(const RangeState& st, S* y, int64_t n) {
  using E = Elem<S>;
  for (int64_t i = 0; i < n; ++i) {
    const double v = st.endpoint && i == n - 1 && n > 1 ? st.stop : st.start + st.step * double(i);
    y[i] = E::store(static_cast<typename E::C>(v));
  }
}

template <typename S>
void fill_eye(const RangeState& st, S* y, int64_t n) {
  using E = Elem<S>;
  using C = typename E::C;
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = E::store(C(i % st.cols - i / st.cols == st.k ? 1 : 0));
  });
}

int range_run(void* state, const mx_kernel_ctx*, const DLTensor*, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const RangeState*>(state);
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    const int64_t n = numel(out[0]);
    if (st.kind == kLinspace) fill_linspace(st, y, n);
    else if (st.kind == kEye) fill_eye(st, y, n);
    else fill_range(st, y, n);
  });
  return 0;
}

void range_destroy(void* s) { delete static_cast<RangeState*>(s); }

// ---------------------------------------------------------------- diag

// The diagonal of a "matrix" tensor (1-d diag: the (m, m) matrix; n-d: the data with its axis1 /
// axis2 planes) as a list of flat indices into it: entry o is the matrix element at position o of
// the diagonal tensor (the other axes in order, then the position along the diagonal).
struct DiagState {
  bool scatter;  // output = zeros with the diagonal tensor written onto its diagonal
  int64_t elem;  // bytes per element
  std::vector<int64_t> index;  // flat matrix index of each diagonal element
};

std::vector<int64_t> diag_index(const DLTensor& matrix, int a1, int a2, int64_t k, int64_t len) {
  const int nd = matrix.ndim;
  std::vector<int64_t> stride(size_t(nd), 1);
  for (int d = nd - 2; d >= 0; --d) stride[size_t(d)] = stride[size_t(d + 1)] * matrix.shape[d + 1];
  std::vector<int64_t> oshape, ostride;  // the other axes
  for (int d = 0; d < nd; ++d)
    if (d != a1 && d != a2) oshape.push_back(matrix.shape[d]), ostride.push_back(stride[size_t(d)]);
  int64_t outer = 1;
  for (int64_t s : oshape) outer *= s;
  const int64_t r0 = k < 0 ? -k : 0, c0 = k > 0 ? k : 0;
  const int64_t base = r0 * stride[size_t(a1)] + c0 * stride[size_t(a2)], along = stride[size_t(a1)] + stride[size_t(a2)];
  std::vector<int64_t> idx;
  idx.reserve(size_t(outer * len));
  for (int64_t o = 0; o < outer; ++o) {
    int64_t off = 0, rest = o;
    for (int d = int(oshape.size()) - 1; d >= 0; --d) {
      off += (rest % oshape[size_t(d)]) * ostride[size_t(d)];
      rest /= oshape[size_t(d)];
    }
    for (int64_t j = 0; j < len; ++j) idx.push_back(off + base + j * along);
  }
  return idx;
}

// diag (inputs: data) and _backward_diag (inputs: ograd, data): `data` decides the direction.
template <bool BACKWARD>
int diag_create(const mx_kernel_args* args, void** out) {
  const DLTensor& data = args->inputs[BACKWARD ? 1 : 0];
  const DLTensor& dst = args->outputs[0];
  const DLTensor& src = args->inputs[0];
  const int64_t k = attr_int(args, "k");
  const bool vector = data.ndim == 1;
  // The tensor holding the matrix: diag of a vector builds it (output); diag of n-d reads it
  // (input); the backward swaps the two.
  const bool matrix_is_output = vector != BACKWARD;
  const DLTensor& matrix = matrix_is_output ? dst : src;
  const DLTensor& diagonal = matrix_is_output ? src : dst;
  int a1 = 0, a2 = 1;
  if (!vector) {
    a1 = int(attr_int(args, "axis1"));
    a2 = int(attr_int(args, "axis2"));
    if (a1 < 0) a1 += data.ndim;
    if (a2 < 0) a2 += data.ndim;
  }
  auto* st = new DiagState{matrix_is_output, elem_bytes(dst), {}};
  st->index = diag_index(matrix, a1, a2, k, diagonal.shape[diagonal.ndim - 1]);
  *out = st;
  return 0;
}

template <typename W>
void move_diag(const DiagState& st, const void* src, void* dst, int64_t dst_n) {
  const W* s = static_cast<const W*>(src);
  W* d = static_cast<W*>(dst);
  const int64_t n = int64_t(st.index.size());
  if (st.scatter) {
    std::memset(dst, 0, size_t(dst_n) * sizeof(W));
    for (int64_t o = 0; o < n; ++o) d[st.index[size_t(o)]] = s[o];
  } else {
    for (int64_t o = 0; o < n; ++o) d[o] = s[st.index[size_t(o)]];
  }
}

int diag_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const DiagState*>(state);
  const void* src = data_of(in[0]);
  void* dst = data_of(out[0]);
  const int64_t n = numel(out[0]);
  switch (st.elem) {
    case 1: move_diag<uint8_t>(st, src, dst, n); break;
    case 2: move_diag<uint16_t>(st, src, dst, n); break;
    case 4: move_diag<uint32_t>(st, src, dst, n); break;
    case 8: move_diag<uint64_t>(st, src, dst, n); break;
    default: return error(MX_ERR_UNSUPPORTED, "diag: unsupported element size on cpu");
  }
  return 0;
}

void diag_destroy(void* s) { delete static_cast<DiagState*>(s); }

const mx_kernel kCreationKernels[] = {
    kernel("_arange", range_create<kArange>, range_run, range_destroy),
    kernel("_contrib_arange_like", range_create<kArangeLike>, range_run, range_destroy),
    kernel("_linspace", range_create<kLinspace>, range_run, range_destroy),
    kernel("_eye", range_create<kEye>, range_run, range_destroy),
    kernel("diag", diag_create<false>, diag_run, diag_destroy),
    kernel("_backward_diag", diag_create<true>, diag_run, diag_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kCreationKernels);

}  // namespace
}  // namespace mxcpu
