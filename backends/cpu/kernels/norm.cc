// The norm family (core/op/defs/norm.cc): InstanceNorm and GroupNorm (one kernel: rows of
// (sample, group) normalised over the rest, then a per-channel or per-group affine), L2Normalization, LRN and
// _backward_LRN, and BatchNorm_v1 (BatchNorm's kernel called with axis=1). Statistics are
// accumulated in double; 16-bit types are stored as such and computed through float.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

bool float_dtype_or_error(const mx_kernel_args* args, int32_t dt) {
  if (dispatch_float(dt, [](auto) {})) return true;
  error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) + " on cpu");
  return false;
}

// ---------------------------------------------------------------- GroupNorm, InstanceNorm

struct GroupPlan {
  int32_t dtype;
  int64_t n, c, groups, spatial;  // data (n, c, spatial...)
  double eps;
  bool per_group;  // gamma / beta (groups,) as MXNet 1.x's GroupNorm, else (c,)
};

int group_norm_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!float_dtype_or_error(args, dt)) return -1;
  auto* p = new GroupPlan{dt, x.shape[0], x.shape[1], 0, 1, attr_float(args, "eps"), false};
  for (int d = 2; d < x.ndim; ++d) p->spatial *= x.shape[d];
  p->groups = std::strcmp(args->op_name, "InstanceNorm") == 0 ? p->c : attr_int(args, "num_groups");
  p->per_group = p->groups != p->c && numel(args->inputs[1]) == p->groups;
  *out = p;
  return 0;
}

template <typename T>
void group_norm_t(const GroupPlan& p, const DLTensor* in, DLTensor* out) {
  auto ptr = [](const DLTensor& t) { return reinterpret_cast<T*>(data_of(t)); };
  const T *x = ptr(in[0]), *gamma = ptr(in[1]), *beta = ptr(in[2]);
  T *y = ptr(out[0]), *mean = ptr(out[1]), *stdev = ptr(out[2]);
  const int64_t group_channels = p.c / p.groups, m = group_channels * p.spatial;
  parallel_for(p.n * p.groups, std::max<int64_t>(1, 8192 / std::max<int64_t>(m, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      const T* xr = x + row * m;
      double s = 0, s2 = 0;
      for (int64_t j = 0; j < m; ++j) s += ld(xr[j]);
      const double mu = s / double(m);
      for (int64_t j = 0; j < m; ++j) s2 += (ld(xr[j]) - mu) * (ld(xr[j]) - mu);
      const double sd = std::sqrt(s2 / double(m) + p.eps);
      mean[row] = st<T>(mu);
      stdev[row] = st<T>(sd);
      const int64_t first_channel = (row % p.groups) * group_channels;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t ch = p.per_group ? row % p.groups : first_channel + j / p.spatial;
        y[row * m + j] = st<T>((ld(xr[j]) - mu) / sd * ld(gamma[ch]) + ld(beta[ch]));
      }
    }
  });
}

int group_norm_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const GroupPlan& p = *static_cast<const GroupPlan*>(state);
  dispatch_float(p.dtype, [&](auto tag) { group_norm_t<decltype(tag)>(p, in, out); });
  return 0;
}

void group_norm_destroy(void* s) { delete static_cast<GroupPlan*>(s); }

// ---------------------------------------------------------------- L2Normalization

// Data as (outer, n, inner): each (outer, inner) pair normalises its n elements at stride inner.
struct L2Plan {
  int32_t dtype;
  int64_t outer, n, inner;
  double eps;
};

int l2_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!float_dtype_or_error(args, dt)) return -1;
  const std::string mode = attr(args, "mode");
  int64_t rest = 1, spatial = 1;
  for (int d = 1; d < x.ndim; ++d) rest *= x.shape[d];
  for (int d = 2; d < x.ndim; ++d) spatial *= x.shape[d];
  L2Plan p{dt, x.shape[0], rest, 1, attr_float(args, "eps")};            // instance
  if (mode == "channel") p = {dt, x.shape[0], x.shape[1], spatial, p.eps};  // over C at each position
  if (mode == "spatial") p = {dt, x.shape[0] * x.shape[1], spatial, 1, p.eps};
  *out = new L2Plan(p);
  return 0;
}

int l2_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const L2Plan& p = *static_cast<const L2Plan*>(state);
  dispatch_float(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = reinterpret_cast<const T*>(data_of(in[0]));
    T *y = reinterpret_cast<T*>(data_of(out[0])), *norm = reinterpret_cast<T*>(data_of(out[1]));
    parallel_for(p.outer * p.inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(p.n, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const int64_t base = (r / p.inner) * p.n * p.inner + r % p.inner;
        double s = 0;
        for (int64_t j = 0; j < p.n; ++j) s += ld(x[base + j * p.inner]) * ld(x[base + j * p.inner]);
        const double nrm = std::sqrt(s + p.eps);
        norm[r] = st<T>(nrm);
        for (int64_t j = 0; j < p.n; ++j) y[base + j * p.inner] = st<T>(ld(x[base + j * p.inner]) / nrm);
      }
    });
  });
  return 0;
}

void l2_destroy(void* s) { delete static_cast<L2Plan*>(s); }

// ---------------------------------------------------------------- LRN

// scale[c] = knorm + alpha / nsize * sum of x[c']^2 for c' in [c - nsize/2, c + (nsize-1)/2];
// out = x * scale^-beta. The gradient reaches x[c] from every output whose window holds c.
struct LrnPlan {
  int32_t dtype;
  int64_t n, c, hw;
  double alpha, beta, knorm;
  int64_t nsize;
};

int lrn_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[std::strcmp(args->op_name, "LRN") == 0 ? 0 : 1];
  const int32_t dt = dtype_flag(x.dtype);
  if (!float_dtype_or_error(args, dt)) return -1;
  *out = new LrnPlan{dt, x.shape[0], x.shape[1], x.shape[2] * x.shape[3], attr_float(args, "alpha"),
                     attr_float(args, "beta"), attr_float(args, "knorm"), attr_int(args, "nsize")};
  return 0;
}

int lrn_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const LrnPlan& p = *static_cast<const LrnPlan*>(state);
  const int64_t before = p.nsize / 2, after = (p.nsize - 1) / 2;
  dispatch_float(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = reinterpret_cast<const T*>(data_of(in[0]));
    T *y = reinterpret_cast<T*>(data_of(out[0])), *scale = reinterpret_cast<T*>(data_of(out[1]));
    parallel_for(p.n * p.hw, 256, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const int64_t base = (r / p.hw) * p.c * p.hw + r % p.hw;
        for (int64_t ch = 0; ch < p.c; ++ch) {
          double s = 0;
          for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(p.c - 1, ch + after); ++k)
            s += ld(x[base + k * p.hw]) * ld(x[base + k * p.hw]);
          const double sc = p.knorm + p.alpha / double(p.nsize) * s;
          scale[base + ch * p.hw] = st<T>(sc);
          y[base + ch * p.hw] = st<T>(ld(x[base + ch * p.hw]) * std::pow(sc, -p.beta));
        }
      }
    });
  });
  return 0;
}

// inputs: out_grad, data, scale.
// dx[c] = og[c] * scale[c]^-beta - 2 alpha beta / nsize * x[c] * sum over windows j holding c of
//         og[j] * x[j] * scale[j]^(-beta-1).
int lrn_backward_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const LrnPlan& p = *static_cast<const LrnPlan*>(state);
  const int64_t before = p.nsize / 2, after = (p.nsize - 1) / 2;
  dispatch_float(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    auto cptr = [](const DLTensor& t) { return reinterpret_cast<const T*>(data_of(t)); };
    const T *og = cptr(in[0]), *x = cptr(in[1]), *scale = cptr(in[2]);
    T* dx = reinterpret_cast<T*>(data_of(out[0]));
    parallel_for(p.n * p.hw, 256, [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const int64_t base = (r / p.hw) * p.c * p.hw + r % p.hw;
        for (int64_t ch = 0; ch < p.c; ++ch) {
          double s = 0;  // windows j with j - before <= ch <= j + after
          for (int64_t j = std::max<int64_t>(0, ch - after); j <= std::min(p.c - 1, ch + before); ++j) {
            const int64_t k = base + j * p.hw;
            s += ld(og[k]) * ld(x[k]) * std::pow(ld(scale[k]), -p.beta - 1);
          }
          const int64_t k = base + ch * p.hw;
          dx[k] = st<T>(ld(og[k]) * std::pow(ld(scale[k]), -p.beta) -
                        2 * p.alpha * p.beta / double(p.nsize) * ld(x[k]) * s);
        }
      }
    });
  });
  return 0;
}

void lrn_destroy(void* s) { delete static_cast<LrnPlan*>(s); }

// ---------------------------------------------------------------- BatchNorm_v1

// BatchNorm's own kernel and its state, created with the v1 attributes plus axis=1.
struct DelegatePlan {
  const mx_kernel* kernel;
  void* inner;
};

int bn_v1_create(const mx_kernel_args* args, void** out) {
  const mx_kernel* bn = find_kernel("BatchNorm");
  if (!bn) return error(MX_ERR_INTERNAL, "BatchNorm_v1: the cpu backend has no BatchNorm kernel");
  std::vector<const char*> keys(args->attr_keys, args->attr_keys + args->num_attrs);
  std::vector<const char*> vals(args->attr_vals, args->attr_vals + args->num_attrs);
  keys.push_back("axis"), vals.push_back("1");
  keys.push_back("cudnn_off"), vals.push_back("False");
  mx_kernel_args a = *args;
  a.op_name = "BatchNorm";
  a.num_attrs = int32_t(keys.size());
  a.attr_keys = keys.data();
  a.attr_vals = vals.data();
  void* inner = nullptr;
  if (bn->create(&a, &inner) != 0) return -1;
  *out = new DelegatePlan{bn, inner};
  return 0;
}

int delegate_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t nin, DLTensor* out, int32_t nout) {
  const DelegatePlan& p = *static_cast<const DelegatePlan*>(state);
  return p.kernel->run(p.inner, ctx, in, nin, out, nout);
}

void delegate_destroy(void* s) {
  auto* p = static_cast<DelegatePlan*>(s);
  p->kernel->destroy(p->inner);
  delete p;
}

const mx_kernel kNormKernels[] = {
    kernel("InstanceNorm", group_norm_create, group_norm_run, group_norm_destroy),
    kernel("GroupNorm", group_norm_create, group_norm_run, group_norm_destroy),
    kernel("L2Normalization", l2_create, l2_run, l2_destroy),
    kernel("LRN", lrn_create, lrn_run, lrn_destroy),
    kernel("_backward_LRN", lrn_create, lrn_backward_run, lrn_destroy),
    kernel("BatchNorm_v1", bn_v1_create, delegate_run, delegate_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kNormKernels);

}  // namespace
}  // namespace mxcpu
