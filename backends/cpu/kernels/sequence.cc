// The sequence family (core/op/defs/sequence.cc): SequenceLast, SequenceMask, SequenceReverse and
// _backward_SequenceLast. Data is (T, B, R...) for axis 0 or (B, T, R...) for axis 1; a sample's
// length comes from sequence_length (any numeric dtype, truncated and clamped to [0, T]) or is T.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

enum SeqKind { kLast, kMask, kReverse, kLastBackward };

struct SeqPlan {
  SeqKind kind;
  int32_t dtype, length_dtype;  // length_dtype -1: no sequence_length input
  int64_t t, b, r;
  bool batch_first;  // axis 1
  double value;
  // Flat index of (step, sample, element).
  int64_t at(int64_t step, int64_t sample, int64_t e) const {
    return ((batch_first ? sample * t + step : step * b + sample) * r) + e;
  }
};

template <SeqKind K>
int seq_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[K == kLastBackward ? 1 : 0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_float(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) + " on cpu");
  auto* p = new SeqPlan{K, dt, -1, 0, 0, 1, attr_int(args, "axis") == 1, attr_float(args, "value")};
  if (attr_bool(args, "use_sequence_length")) p->length_dtype = dtype_flag(args->inputs[args->num_inputs - 1].dtype);
  if (p->length_dtype != -1 && !dispatch_numeric(p->length_dtype, [](auto) {})) {
    delete p;
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported sequence_length dtype on cpu");
  }
  p->t = x.shape[p->batch_first ? 1 : 0];
  p->b = x.shape[p->batch_first ? 0 : 1];
  for (int d = 2; d < x.ndim; ++d) p->r *= x.shape[d];
  *out = p;
  return 0;
}

// Each sample's length in [0, T].
std::vector<int64_t> lengths(const SeqPlan& p, const DLTensor* len) {
  std::vector<int64_t> n(size_t(p.b), p.t);
  if (p.length_dtype == -1) return n;
  dispatch_numeric(p.length_dtype, [&](auto tag) {
    using L = decltype(tag);
    const L* v = reinterpret_cast<const L*>(data_of(*len));
    for (int64_t s = 0; s < p.b; ++s) {
      const double d = double(Elem<L>::load(v[s]));
      n[size_t(s)] = d <= 0 ? 0 : d >= double(p.t) ? p.t : int64_t(d);
    }
  });
  return n;
}

template <typename T>
void seq_t(const SeqPlan& p, const std::vector<int64_t>& len, const DLTensor* in, DLTensor* out) {
  T* y = reinterpret_cast<T*>(data_of(out[0]));
  if (p.kind == kLast || p.kind == kLastBackward) {
    // SequenceLast's output (B, R...) in either layout is sample-major.
    const T* src = reinterpret_cast<const T*>(data_of(in[0]));
    if (p.kind == kLastBackward) std::fill(y, y + p.t * p.b * p.r, Elem<T>::store(0));
    for (int64_t s = 0; s < p.b; ++s) {
      const int64_t last = std::max<int64_t>(len[size_t(s)] - 1, 0);
      for (int64_t e = 0; e < p.r; ++e) {
        if (p.kind == kLast) y[s * p.r + e] = src[p.at(last, s, e)];
        else y[p.at(last, s, e)] = src[s * p.r + e];
      }
    }
    return;
  }
  const T* x = reinterpret_cast<const T*>(data_of(in[0]));
  const T fill = Elem<T>::store(static_cast<typename Elem<T>::C>(p.value));
  parallel_for(p.b, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t s = lo; s < hi; ++s) {
      const int64_t n = len[size_t(s)];
      for (int64_t step = 0; step < p.t; ++step)
        for (int64_t e = 0; e < p.r; ++e) {
          if (p.kind == kMask) y[p.at(step, s, e)] = step < n ? x[p.at(step, s, e)] : fill;
          else y[p.at(step, s, e)] = x[p.at(step < n ? n - 1 - step : step, s, e)];
        }
    }
  });
}

int seq_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t nin, DLTensor* out, int32_t) {
  const SeqPlan& p = *static_cast<const SeqPlan*>(state);
  const std::vector<int64_t> len = lengths(p, &in[nin - 1]);
  dispatch_float(p.dtype, [&](auto tag) { seq_t<decltype(tag)>(p, len, in, out); });
  return 0;
}

void seq_destroy(void* s) { delete static_cast<SeqPlan*>(s); }

const mx_kernel kSequenceKernels[] = {
    kernel("SequenceLast", seq_create<kLast>, seq_run, seq_destroy),
    kernel("SequenceMask", seq_create<kMask>, seq_run, seq_destroy),
    kernel("SequenceReverse", seq_create<kReverse>, seq_run, seq_destroy),
    kernel("_backward_SequenceLast", seq_create<kLastBackward>, seq_run, seq_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kSequenceKernels);

}  // namespace
}  // namespace mxcpu
