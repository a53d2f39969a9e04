#include "common.h"

#include <omp.h>

#include <cstdio>

namespace mxdnnl {

const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

HostThreads::HostThreads() : previous_(omp_get_max_threads()) {
  const mx_host_api* h = mx_impl::g_host;
  if (h && h->intra_op_threads) omp_set_num_threads(h->intra_op_threads());
}

HostThreads::~HostThreads() { omp_set_num_threads(previous_); }

namespace {

const char* runtime_name(unsigned r) {
  switch (r) {
    case DNNL_RUNTIME_SEQ: return "sequential";
    case DNNL_RUNTIME_OMP: return "OpenMP";
    case DNNL_RUNTIME_TBB: return "TBB";
    case DNNL_RUNTIME_THREADPOOL: return "threadpool";
  }
  return "unknown runtime";
}

const char* isa_name(dnnl::cpu_isa isa) {
  using dnnl::cpu_isa;
  switch (isa) {
    case cpu_isa::sse41: return "sse41";
    case cpu_isa::avx: return "avx";
    case cpu_isa::avx2: return "avx2";
    case cpu_isa::avx2_vnni: return "avx2_vnni";
    case cpu_isa::avx512_core: return "avx512_core";
    case cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other isa";
  }
}

}  // namespace

const char* dnnl_description() {
  static const std::string s = [] {
    const dnnl_version_t* v = dnnl_version();
    char buf[128];
    std::snprintf(buf, sizeof(buf), "%d.%d.%d (%s, %s)", v->major, v->minor, v->patch, runtime_name(v->cpu_runtime),
                  isa_name(dnnl::get_effective_cpu_isa()));
    return std::string(buf);
  }();
  return s.c_str();
}

// ---------------------------------------------------------------- tensors

bool serves_bfloat16() {
  // oneDNN 2.x has bfloat16 kernels from AVX-512 on; below it every bfloat16 primitive descriptor
  // is refused. One probe says which, so such calls go back to the host (its CPU backend) whole.
  static const bool ok = [] {
    try {
      const memory::desc md({16}, memory::data_type::bf16, memory::format_tag::a);
      dnnl::eltwise_forward::primitive_desc({dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_relu, md,
                                             0.f, 0.f},
                                            engine());
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return ok;
}

memory::data_type data_type_of(const DLTensor& t) {
  switch (mx_impl::dtype_flag(t.dtype)) {
    case MX_FLOAT32: return memory::data_type::f32;
    case MX_BFLOAT16:
      if (!serves_bfloat16())
        throw Unsupported(std::string("bfloat16 on this CPU (oneDNN ") + dnnl_description() +
                          " has no bfloat16 kernels below AVX-512)");
      return memory::data_type::bf16;
  }
  throw Unsupported(std::string("dtype ") + mx_impl::dtype_name(mx_impl::dtype_flag(t.dtype)) +
                    " (the oneDNN plugin serves float32 and bfloat16)");
}

namespace {

bool compact(const DLTensor& t) {
  if (!t.strides) return true;
  int64_t expect = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    if (t.shape[d] != 1 && t.strides[d] != expect) return false;
    expect *= t.shape[d];
  }
  return true;
}

void check(const DLTensor& t, memory::data_type want) {
  if (data_type_of(t) != want) throw Unsupported("inputs and outputs of mixed dtypes");
  if (!compact(t)) throw Unsupported("strided (non-compact) tensors");
  if (numel(t) == 0) throw Unsupported("empty tensors");
}

}  // namespace

memory::data_type check_tensors(const mx_kernel_args& a) {
  if (a.num_inputs < 1) throw Unsupported("no inputs");
  const memory::data_type t = data_type_of(a.inputs[0]);
  for (int32_t i = 0; i < a.num_inputs; ++i) check(a.inputs[i], t);
  for (int32_t i = 0; i < a.num_outputs; ++i) check(a.outputs[i], t);
  return t;
}

memory::dims dims_of(const DLTensor& t) { return memory::dims(t.shape, t.shape + t.ndim); }

memory::desc plain(const memory::dims& dims, memory::data_type t) {
  std::vector<int> order(dims.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
  return permuted(dims, t, order);
}

memory::desc permuted(const memory::dims& dims, memory::data_type t, const std::vector<int>& physical) {
  memory::dims strides(dims.size());
  int64_t s = 1;
  for (size_t k = physical.size(); k-- > 0;) {
    strides[size_t(physical[k])] = s;
    s *= dims[size_t(physical[k])];
  }
  return memory::desc(dims, t, strides);
}

float load(const void* p, memory::data_type t, int64_t i) {
  if (t == memory::data_type::f32) return static_cast<const float*>(p)[i];
  const uint32_t u = uint32_t(static_cast<const uint16_t*>(p)[i]) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

void store(void* p, memory::data_type t, int64_t i, float v) {
  if (t == memory::data_type::f32) {
    static_cast<float*>(p)[i] = v;
    return;
  }
  uint32_t u;
  std::memcpy(&u, &v, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) u = (u >> 16 | 0x40) << 16;  // NaN stays quiet
  else u += 0x7fffu + ((u >> 16) & 1u);
  static_cast<uint16_t*>(p)[i] = uint16_t(u >> 16);
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

// ---------------------------------------------------------------- scratch

constexpr size_t kAlign = 64;

size_t ScratchPlan::add(size_t bytes) {
  const size_t at = total_;
  total_ += (bytes + kAlign - 1) / kAlign * kAlign;
  return at;
}

Scratch::Scratch(const mx_kernel_ctx* ctx, size_t bytes) {
  if (bytes == 0) return;
  const size_t need = bytes + kAlign;  // room to align the start
  char* p = nullptr;
  if (ctx && ctx->temp_space && ctx->temp_bytes >= need) {
    p = static_cast<char*>(ctx->temp_space);
  } else {
    own_.reset(new char[need]);
    p = own_.get();
  }
  base_ = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + kAlign - 1) / kAlign * kAlign);
}

memory Scratch::memory_at(const memory::desc& md, size_t offset) const { return memory(md, engine(), at(offset)); }

// ---------------------------------------------------------------- Call

void Call::bind(int arg, int index, bool is_input, const memory::desc& user, const memory::desc& chosen,
                ScratchPlan& plan) {
  Bound b{arg, index, is_input, user, chosen, {}, 0};
  if (user != chosen) {
    const memory::desc& from = is_input ? user : chosen;
    const memory::desc& to = is_input ? chosen : user;
    b.reorder = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), from, engine(), to));
    b.offset = plan.add(chosen.get_size());
  }
  args_.push_back(std::move(b));
}

void Call::input(int arg, int index, const memory::desc& user, const memory::desc& chosen, ScratchPlan& plan) {
  bind(arg, index, true, user, chosen, plan);
}

void Call::output(int arg, int index, const memory::desc& user, const memory::desc& chosen, ScratchPlan& plan) {
  bind(arg, index, false, user, chosen, plan);
}

void Call::set(const dnnl::primitive& p, const memory::desc& scratchpad, ScratchPlan& plan) {
  prim_ = p;
  scratchpad_ = scratchpad;
  scratchpad_offset_ = plan.add(scratchpad.get_size());
}

void Call::run(const Scratch& s, const DLTensor* in, DLTensor* out, const Args& extra) const {
  dnnl::stream& st = stream();
  Args args = extra;
  std::vector<std::pair<const Bound*, memory>> copies_out;
  for (const Bound& b : args_) {
    const DLTensor& t = b.is_input ? in[b.index] : out[b.index];
    memory user(b.user, engine(), data_of(t));
    if (!b.reorder) {
      args[b.arg] = user;
      continue;
    }
    memory copy = s.memory_at(b.chosen, b.offset);
    if (b.is_input) b.reorder.execute(st, user, copy);
    else copies_out.emplace_back(&b, user);
    args[b.arg] = copy;
  }
  if (scratchpad_.get_size() > 0) args[DNNL_ARG_SCRATCHPAD] = s.memory_at(scratchpad_, scratchpad_offset_);
  prim_.execute(st, args);
  for (auto& [b, user] : copies_out) b->reorder.execute(st, args.at(b->arg), user);
  st.wait();
}

// ---------------------------------------------------------------- errors

namespace detail {

int fail_create(const mx_kernel_args* a, int32_t code, const char* why) {
  return mx_impl::error(code, std::string(a->op_name) + " on dnnl: " + why);
}

int fail_run(const char* op, int32_t code, const char* why) {
  return mx_impl::error(code, std::string(op) + " on dnnl: " + why);
}

}  // namespace detail

}  // namespace mxdnnl
