// What every kernel file of the oneDNN plugin shares: the engine and this thread's stream, DLPack
// tensors as oneDNN memory descriptors, scratch carved from the host's temp space, a primitive bound
// to mx's tensors (reordering between mx's plain layouts and the ones a primitive prefers), and the
// adapter that turns a state class into an mx_kernel: the only try/catch, so no exception leaves.
//
// A state class S is built once per (attrs, shapes, dtypes) by S(const mx_kernel_args&), which
// throws Unsupported (or a dnnl::error) for a call this plugin does not serve; the host then runs
// the next plugin's kernel. S::run(ctx, in, out) const may run on several threads at once: states
// hold primitives and descriptors only, every buffer of a call lives in that call's scratch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include <mx/backend.h>
#include <mx/plugin.h>

namespace mxdnnl {

using dnnl::memory;
using mx_impl::attr;
using mx_impl::attr_bool;
using mx_impl::attr_float;
using mx_impl::attr_int;
using mx_impl::attr_ints;
using mx_impl::data_of;
using mx_impl::numel;

// A call this plugin does not serve (the message says why; the host falls back on it).
struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The CPU engine every primitive is created on.
const dnnl::engine& engine();
// This thread's stream.
dnnl::stream& stream();
// While it lives, the calling thread's OpenMP thread count is the host's intra_op_threads (the
// thread's own count comes back after). Debian's oneDNN runs its primitives on OpenMP, and a
// primitive fixes its thread count (its work split) when it is created: create() and run() both
// hold one.
class HostThreads {
 public:
  HostThreads();
  ~HostThreads();
  HostThreads(const HostThreads&) = delete;
  HostThreads& operator=(const HostThreads&) = delete;

 private:
  int previous_;
};

// "2.6.3 (OpenMP, avx512_core_bf16)": oneDNN's version, threading runtime and the ISA it uses.
const char* dnnl_description();
// Whether oneDNN has bfloat16 kernels on this CPU (AVX-512 and up); bfloat16 calls are Unsupported otherwise.
bool serves_bfloat16();

// ---------------------------------------------------------------- tensors

// float32 or bfloat16 as oneDNN's type; any other dtype throws Unsupported.
memory::data_type data_type_of(const DLTensor& t);
// Every input and output of the call: one dtype (float32 or bfloat16), compact, not empty.
// Returns that dtype; throws Unsupported otherwise.
memory::data_type check_tensors(const mx_kernel_args& a);

memory::dims dims_of(const DLTensor& t);
// Row-major layout of dims.
memory::desc plain(const memory::dims& dims, memory::data_type t);
// Layout of logical dims stored in the order `physical` (physical[0] outermost, the last
// innermost): e.g. dims {O, I, H, W} stored as (I, O, H, W) is physical {1, 0, 2, 3}.
memory::desc permuted(const memory::dims& dims, memory::data_type t, const std::vector<int>& physical);

// Element i of a float32 / bfloat16 buffer as float, and back (bfloat16: round to nearest even,
// NaN kept quiet, as mx's own conversions).
float load(const void* p, memory::data_type t, int64_t i);
void store(void* p, memory::data_type t, int64_t i, float v);

// Primitive attributes every descriptor here uses: the scratchpad comes from the caller (the
// host's temp space), which makes concurrent runs of one primitive safe.
dnnl::primitive_attr user_scratchpad();

// ---------------------------------------------------------------- scratch

// Byte offsets in a call's scratch, planned in create(): each slot 64-byte aligned.
class ScratchPlan {
 public:
  size_t add(size_t bytes);
  size_t bytes() const { return total_; }

 private:
  size_t total_ = 0;
};

// One call's scratch: the host's temp space when it is big enough (it is, when the host honours
// workspace_bytes), else an allocation of our own.
class Scratch {
 public:
  Scratch(const mx_kernel_ctx* ctx, size_t bytes);
  char* at(size_t offset) const { return base_ + offset; }
  memory memory_at(const memory::desc& md, size_t offset) const;

 private:
  char* base_ = nullptr;
  std::unique_ptr<char[]> own_;
};

// ---------------------------------------------------------------- a primitive bound to mx tensors

using Args = std::unordered_map<int, memory>;

// A primitive and where its arguments come from: mx inputs and outputs by index, in mx's plain
// layout, copied through the scratch when the primitive chose another layout (a blocked format
// for convolutions). run() reorders inputs in, executes, reorders outputs back, and waits.
class Call {
 public:
  // DNNL argument `arg` reads mx input `index`; `user` is its layout in mx, `chosen` the
  // primitive descriptor's.
  void input(int arg, int index, const memory::desc& user, const memory::desc& chosen, ScratchPlan& plan);
  void output(int arg, int index, const memory::desc& user, const memory::desc& chosen, ScratchPlan& plan);
  void set(const dnnl::primitive& p, const memory::desc& scratchpad, ScratchPlan& plan);
  // extra: arguments the caller binds itself (buffers in the scratch, converted statistics).
  void run(const Scratch& s, const DLTensor* in, DLTensor* out, const Args& extra = {}) const;

 private:
  struct Bound {
    int arg, index;
    bool is_input;
    memory::desc user, chosen;
    dnnl::reorder reorder;  // empty when the layouts agree
    size_t offset = 0;      // of the copy in the chosen layout
  };
  void bind(int arg, int index, bool is_input, const memory::desc& user, const memory::desc& chosen,
            ScratchPlan& plan);
  std::vector<Bound> args_;
  dnnl::primitive prim_;
  memory::desc scratchpad_;
  size_t scratchpad_offset_ = 0;
};

// What every state class has: its op's name (for messages) and its scratch plan.
struct KernelState {
  explicit KernelState(const mx_kernel_args& a) : op(a.op_name) {}
  const char* name() const { return op.c_str(); }
  // What workspace_bytes reports: the plan and room to align its start.
  size_t scratch_bytes() const { return plan.bytes() ? plan.bytes() + 64 : 0; }
  std::string op;
  ScratchPlan plan;
};

// ---------------------------------------------------------------- the kernel adapter

namespace detail {
int fail_create(const mx_kernel_args* a, int32_t code, const char* why);
int fail_run(const char* op, int32_t code, const char* why);
}  // namespace detail

// S: a KernelState with S(const mx_kernel_args&) (may throw Unsupported) and
// void run(const mx_kernel_ctx*, const DLTensor* in, DLTensor* out) const.
template <class S>
int create_state(const mx_kernel_args* a, void** out) {
  try {
    const HostThreads threads;
    *out = new S(*a);
    return 0;
  } catch (const Unsupported& e) {
    return detail::fail_create(a, MX_ERR_UNSUPPORTED, e.what());
  } catch (const dnnl::error& e) {  // no implementation for these shapes / dtypes / attributes
    return detail::fail_create(a, MX_ERR_UNSUPPORTED, (std::string("oneDNN refused the descriptor: ") + e.what()).c_str());
  } catch (const std::bad_alloc&) {
    return detail::fail_create(a, MX_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return detail::fail_create(a, MX_ERR_INTERNAL, e.what());
  }
}

template <class S>
int run_state(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const S& s = *static_cast<const S*>(state);
  try {
    const HostThreads threads;
    s.run(ctx, in, out);
    return 0;
  } catch (const std::bad_alloc&) {
    return detail::fail_run(s.name(), MX_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return detail::fail_run(s.name(), MX_ERR_INTERNAL, e.what());
  }
}

template <class S>
void destroy_state(void* state) {
  delete static_cast<S*>(state);
}

template <class S>
uint64_t state_scratch_bytes(void* state) {
  return static_cast<const S*>(state)->scratch_bytes();
}

template <class S>
constexpr mx_kernel make_kernel(const char* op_name) {
  return mx_impl::kernel(op_name, create_state<S>, run_state<S>, destroy_state<S>, state_scratch_bytes<S>);
}

}  // namespace mxdnnl
