#include "ndarray/invoke.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "base/block_pool.h"
#include "base/dtype.h"
#include "base/error.h"
#include "engine/engine.h"
#include "ndarray/autograd.h"
#include "plugin/kernel_choice.h"
#include "plugin/registry.h"
#include "resource/resource.h"

namespace mx {
namespace {

// A backend kernel's state for one (op, attrs, shapes, dtypes, device).
struct KernelState {
  const plugin::Backend* backend = nullptr;  // owns the memory and streams it runs on
  const char* provider = "";                 // the plugin or library whose kernel it is
  bool own = false;                          // an extension's or custom op's kernel: may issue ops
  bool foreign = false;                      // not the owning plugin's: gets the native stream
  const mx_kernel* kernel = nullptr;
  void* state = nullptr;
  ~KernelState() {
    if (kernel && kernel->destroy && state) kernel->destroy(state);
  }
};

class KernelCache {
 public:
  std::shared_ptr<KernelState> find(const std::string& key) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }
  std::shared_ptr<KernelState> insert(const std::string& key, std::shared_ptr<KernelState> ks) {
    std::lock_guard<std::mutex> lk(mu_);
    if (map_.size() >= kMaxEntries) map_.clear();  // pending ops hold their own references
    return map_.emplace(key, std::move(ks)).first->second;
  }
  size_t size() {
    std::lock_guard<std::mutex> lk(mu_);
    return map_.size();
  }
  // Held across fork() by the forking thread (see engine::add_fork_hooks).
  void lock_for_fork() { mu_.lock(); }
  void unlock_after_fork() { mu_.unlock(); }

 private:
  static constexpr size_t kMaxEntries = 4096;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<KernelState>> map_;
};

KernelCache& cache() {
  static auto* c = new KernelCache();  // states may be destroyed by workers during teardown
  return *c;
}

[[maybe_unused]] const bool g_fork_hooks = (engine::add_fork_hooks({[] { cache().lock_for_fork(); },
                                                                    [] { cache().unlock_after_fork(); },
                                                                    [] { cache().unlock_after_fork(); }}),
                                            true);

// Per-thread scratch of the invoke path, one thread_local so the hot path pays one TLS lookup.
struct Scratch {
  std::vector<Shape> in_shapes, out_shapes;
  std::vector<int32_t> in_dtypes, out_dtypes;
  std::string key, last_key;
  std::shared_ptr<KernelState> last_state;  // memo of the last kernel hit
  bool busy = false;  // an invoke on this thread is using it (a custom op's callback re-enters invoke)
};

// The calling thread's scratch for invoke. Out of line on purpose: the caller keeps the reference
// in a register, where GCC would redo the TLS lookup (a __tls_get_addr call in a shared library)
// after every call it makes, some twenty times per op.
[[gnu::noinline]] Scratch& invoke_scratch() {
  thread_local Scratch sc;
  return sc;
}

// The kernel of the highest-priority plugin that accepts the call: a create() failing with
// MX_ERR_UNSUPPORTED passes the call to the next candidate (backend.h, ABI 1.3).
std::shared_ptr<KernelState> choose_kernel(const op::OpSchema& op, const op::Attrs& attrs, Device dev,
                                           const DLTensor* tensors, size_t n_tensors, size_t n_in) {
  const auto candidates = plugin::kernel_candidates(op, dev);
  if (candidates.empty()) fail(MX_ERR_UNSUPPORTED, op.name, ": no backend has a kernel for this op on ", dev.str());
  std::vector<const char*> keys, vals;
  for (auto& [kk, v] : attrs.kv) {
    keys.push_back(kk.c_str());
    vals.push_back(v.c_str());
  }
  mx_kernel_args args{};
  args.struct_size = sizeof(args);
  args.op_name = op.name.c_str();
  args.num_attrs = int32_t(keys.size());
  args.attr_keys = keys.data();
  args.attr_vals = vals.data();
  args.num_inputs = int32_t(n_in);
  args.inputs = tensors;
  args.num_outputs = int32_t(n_tensors - n_in);
  args.outputs = tensors + n_in;
  args.device_id = dev.id;
  std::string declined;  // what the plugins before the chosen one said
  for (size_t c = 0; c < candidates.size(); ++c) {
    const auto [b, who, k, own, foreign] = candidates[c];
    auto ks = std::make_shared<KernelState>();
    ks->backend = b;
    ks->provider = who;
    ks->own = own;
    ks->foreign = foreign;
    ks->kernel = k;
    if (!k->create) return ks;
    std::string msg;
    plugin::take_backend_error(nullptr);
    if (k->create(&args, &ks->state) == 0) return ks;
    int32_t code = plugin::take_backend_error(&msg);
    ks->state = nullptr;  // a failed create owns nothing
    if (code == MX_ERR_UNSUPPORTED && c + 1 < candidates.size()) {
      declined += str_cat("; ", who, " declined: ", msg);
      continue;
    }
    fail(code == MX_ERR_OK ? MX_ERR_INTERNAL : code, op.name, ": ", who, " rejected the call: ", msg, declined);
  }
  fail(MX_ERR_INTERNAL, op.name, ": no kernel chosen");  // not reached: the last candidate returns or fails
}

std::shared_ptr<KernelState> kernel_for(Scratch& sc, const op::OpSchema& op, const op::Attrs& attrs, Device dev,
                                        const DLTensor* tensors, size_t n_tensors, size_t n_in) {
  std::string& key = sc.key;
  key.clear();
  key.append(op.name).push_back('\0');
  for (auto& [k, v] : attrs.kv) key.append(v).push_back('\0');
  key.push_back(char(dev.type));
  key.push_back(char(dev.id));
  const uint32_t generation = plugin::registry().priority_generation();  // a priority change re-chooses
  key.append(reinterpret_cast<const char*>(&generation), sizeof(generation));
  for (size_t i = 0; i < n_tensors; ++i) {
    const DLTensor& t = tensors[i];
    key.push_back(char(t.dtype.code));
    key.push_back(char(t.dtype.bits));
    key.push_back(char(t.ndim));
    key.append(reinterpret_cast<const char*>(t.shape), size_t(t.ndim) * sizeof(int64_t));
  }
  // A loop of the same op skips the shared map and its lock.
  if (sc.last_state && key == sc.last_key) return sc.last_state;
  if (auto ks = cache().find(key)) {
    sc.last_key = key;
    sc.last_state = ks;
    return ks;
  }

  plugin::registry().for_device(dev);  // a clear error when no backend owns the device
  auto ks = choose_kernel(op, attrs, dev, tensors, n_tensors, n_in);
  sc.last_key = key;
  sc.last_state = cache().insert(key, std::move(ks));
  return sc.last_state;
}

}  // namespace

namespace {

// SmallVec's interface, with the inline storage left uninitialised: a PreparedCall is made per
// op, and zeroing its 768 inline bytes was a fifth of invoke's own time. Only [0, size) is read.
template <typename T, size_t N>
class UninitVec {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  UninitVec() {}
  UninitVec(const UninitVec&) = delete;
  UninitVec& operator=(const UninitVec&) = delete;
  void push_back(const T& v) {
    if (size_ == N && heap_.empty()) heap_.assign(inline_data(), inline_data() + N);
    if (heap_.empty()) inline_data()[size_] = v;
    else heap_.push_back(v);
    ++size_;
  }
  T* data() { return heap_.empty() ? inline_data() : heap_.data(); }
  const T* data() const { return const_cast<UninitVec*>(this)->data(); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  size_t size() const { return size_; }

 private:
  T* inline_data() { return reinterpret_cast<T*>(buf_); }
  alignas(T) unsigned char buf_[N * sizeof(T)];
  size_t size_ = 0;
  std::vector<T> heap_;  // past N elements
};

}  // namespace

// Everything one kernel call needs, in one allocation for up to 8 tensors of up to 6 dims (more
// spill to the heap: Concat of many inputs); tensors' shape pointers point into `dims`.
struct PreparedCall {
  PreparedCall() {}  // user-provided: value-initialisation (make_shared) would zero the buffers
  UninitVec<int64_t, 48> dims;
  UninitVec<DLTensor, 8> tensors;
  std::shared_ptr<KernelState> ks;
  size_t n_in = 0, n = 0;
  uint64_t rng_blocks = 0;  // Philox blocks one run draws (random ops)
  uint64_t temp_bytes = 0;
  Device dev;
  const op::OpSchema* op = nullptr;
};

namespace {

// Fixes tensors over the arrays' storage and finds (or creates) the kernel state.
void fill_call(PreparedCall& pc, Scratch& sc, const op::OpSchema& op, const op::Attrs& attrs, Device dev,
               std::span<const NDArray* const> inputs, std::span<const NDArray> outputs,
               const std::vector<Shape>& in_shapes, const std::vector<Shape>& out_shapes) {
  pc.op = &op;
  pc.dev = dev;
  pc.n_in = inputs.size();
  auto add = [&](const NDArray& a) {
    for (int64_t d : a.shape()) pc.dims.push_back(d);
    pc.tensors.push_back(a.dl_tensor());
    ++pc.n;
  };
  for (const NDArray* a : inputs) add(*a);
  for (const NDArray& a : outputs) add(a);
  for (size_t i = 0, off = 0; i < pc.n; ++i) {  // dims no longer moves
    DLTensor& t = pc.tensors[i];
    t.shape = pc.dims.data() + off;
    t.strides = nullptr;
    off += size_t(t.ndim);
  }
  pc.ks = kernel_for(sc, op, attrs, dev, pc.tensors.data(), pc.n, inputs.size());
  if (op.random_blocks) pc.rng_blocks = op.random_blocks(attrs, out_shapes);
  if (op.temp_bytes) pc.temp_bytes = op.temp_bytes(attrs, in_shapes);
  // ABI 1.2: a kernel may need device scratch of its own (a cuDNN algorithm's workspace).
  const mx_kernel* k = pc.ks->kernel;
  if (k && k->struct_size >= offsetof(mx_kernel, workspace_bytes) + sizeof(k->workspace_bytes) && k->workspace_bytes)
    pc.temp_bytes = std::max(pc.temp_bytes, k->workspace_bytes(pc.ks->state));
}

// Largest tensor (in elements) of an op that may run on the pushing thread when its arrays are
// free (engine::PushOptions::may_run_inline): handing such an op to a worker costs more than
// running it. MX_INLINE_OP_MAX_SIZE overrides it; 0 sends every op to the workers.
int64_t inline_max_size() {
  static const int64_t n = [] {
    const char* v = std::getenv("MX_INLINE_OP_MAX_SIZE");
    return v && *v ? std::max<int64_t>(0, std::atoll(v)) : int64_t(1024);
  }();
  return n;
}

bool runs_inline(const PreparedCall& pc) {
  // An extension's or custom op's kernel issues ops of its own (it may call back into Python).
  if (!pc.dev.is_cpu() || pc.ks->own) return false;
  const int64_t limit = inline_max_size();
  for (size_t i = 0; i < pc.n; ++i) {
    const DLTensor& t = pc.tensors[i];
    int64_t size = 1;
    for (int d = 0; d < t.ndim; ++d) size *= t.shape[d];
    if (size > limit) return false;
  }
  return true;
}

bool is_16bit_float(int32_t dtype) { return dtype == MX_FLOAT16 || dtype == MX_BFLOAT16; }

// ---- aliasing between the caller's outputs and the inputs (see OpSchema::inplace)

inline bool overlaps(const NDArray& a, const NDArray& b) {
  if (a.chunk() != b.chunk()) return false;  // views share their base's chunk
  const uint64_t a0 = a.byte_offset(), b0 = b.byte_offset(), an = a.nbytes(), bn = b.nbytes();
  return an != 0 && bn != 0 && a0 < b0 + bn && b0 < a0 + an;  // empty ranges overlap nothing
}

// The exact alias a kernel can be trusted with: the same bytes read and written as one dtype,
// and a pair the schema declares.
bool declared_inplace(const op::OpSchema& op, size_t in, size_t out, const NDArray& a, const NDArray& o) {
  if (a.byte_offset() != o.byte_offset() || a.dtype() != o.dtype()) return false;
  if (std::find(op.inplace.begin(), op.inplace.end(), std::pair<size_t, size_t>{in, out}) == op.inplace.end())
    return false;
  return a.nbytes() == o.nbytes();
}

struct Aliasing {
  uint64_t via_temp = 0;  // bit k: output k is computed into a temporary, then copied
  bool any = false;       // some output overlaps some input (a declared exact alias included)
};

[[noreturn, gnu::cold, gnu::noinline]] void fail_overlapping_outputs(const op::OpSchema& op, size_t j, size_t k) {
  fail(MX_ERR_INVALID_ARGUMENT, op.name, ": outputs ", j, " and ", k,
       " overlap (share memory); each output needs memory of its own");
}

// Throws for two outputs that overlap (no order of writes makes that meaningful); marks outputs
// that overlap an input other than through a declared exact alias. Outputs past 64 that need it
// are not representable in the mask, so then every output goes through a temporary.
Aliasing find_aliasing(const op::OpSchema& op, std::span<const NDArray* const> inputs,
                       std::span<const NDArray> outputs) {
  Aliasing r;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const NDArray& o = outputs[k];
    for (size_t j = 0; j < k; ++j)
      if (overlaps(outputs[j], o)) fail_overlapping_outputs(op, j, k);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!overlaps(*inputs[i], o)) continue;
      r.any = true;
      if (!declared_inplace(op, i, k, *inputs[i], o)) r.via_temp |= k < 64 ? uint64_t(1) << k : ~uint64_t(0);
    }
  }
  return r;
}

// An input the op updates in place (optimizer state) is written while the kernel still reads the
// other arrays: it must share no byte with another input or with an output.
void check_mutated_inputs(const op::OpSchema& op, std::span<const NDArray* const> inputs,
                          std::span<const NDArray> outputs) {
  auto name = [&](size_t i) { return i < op.inputs.size() ? "'" + op.inputs[i] + "'" : std::to_string(i); };
  for (size_t m : op.mutated_inputs) {
    if (m >= inputs.size()) continue;
    for (size_t i = 0; i < inputs.size(); ++i)
      if (i != m && overlaps(*inputs[i], *inputs[m]))
        fail(MX_ERR_INVALID_ARGUMENT, op.name, ": input ", name(m), " (updated in place) overlaps input ", name(i),
             " (they share memory)");
    for (size_t k = 0; k < outputs.size(); ++k)
      if (overlaps(outputs[k], *inputs[m]))
        fail(MX_ERR_INVALID_ARGUMENT, op.name, ": input ", name(m), " (updated in place) overlaps output ", k,
             " (they share memory)");
  }
}

// Records the op when an output overwrites an input. The tape keeps the inputs' values for the
// gradient, so an input the call overwrites is kept as a copy taken before the kernel runs.
// (Inputs already on the tape are left as they are: recording rejects writing over them.)
void record_aliased(const op::OpSchema& op, const op::Attrs& attrs, std::span<const NDArray* const> inputs,
                    std::vector<NDArray>& outputs) {
  if (!autograd::is_recording() || !op.gradient) return;  // nothing is recorded
  bool on_tape = false;
  for (const NDArray* a : inputs) on_tape |= a->ag_entry().node != nullptr;
  if (!on_tape) return;
  std::vector<NDArray> kept(inputs.size());
  std::vector<const NDArray*> rec(inputs.begin(), inputs.end());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const NDArray& a = *inputs[i];
    if (a.ag_entry().node || std::none_of(outputs.begin(), outputs.end(), [&](const NDArray& o) { return overlaps(a, o); }))
      continue;
    kept[i] = NDArray(a.shape(), a.dtype(), a.device());
    copy(a, kept[i]);
    rec[i] = &kept[i];
  }
  autograd::record(op, attrs, rec, outputs);
}

// float16 / bfloat16 inputs of an op whose kernels compute in float32 / float64 only: run it on
// float32 copies and cast the results back into `outputs` (and into inputs the op mutates). Not
// recorded: autograd has recorded the op itself, and its gradient ops promote the same way.
void run_promoted(const op::OpSchema& op, const op::Attrs& attrs, std::span<const NDArray* const> inputs,
                  std::vector<NDArray>& outputs) {
  struct Pause {
    bool was = autograd::set_recording(false);
    ~Pause() { autograd::set_recording(was); }
  } pause;
  const op::OpSchema& cast = op::registry().get("Cast");
  auto cast_into = [&](const NDArray& from, int32_t dtype, std::vector<NDArray>& to) {
    const char* k[] = {"dtype"};
    const char* v[] = {dtype_info(dtype).name};
    const NDArray* in[] = {&from};
    invoke(cast, op::parse_attrs(cast, 1, k, v), in, to);
  };
  std::vector<NDArray> wide(inputs.size());
  std::vector<const NDArray*> args;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!is_16bit_float(inputs[i]->dtype())) {
      args.push_back(inputs[i]);
      continue;
    }
    std::vector<NDArray> o;
    cast_into(*inputs[i], MX_FLOAT32, o);
    wide[i] = o[0];
    args.push_back(&wide[i]);
  }
  std::vector<NDArray> results;
  invoke(op, attrs, args, results);
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::vector<NDArray> o{outputs[i]};
    cast_into(results[i], outputs[i].dtype(), o);
  }
  for (size_t m : op.mutated_inputs)
    if (m < wide.size() && wide[m].defined()) {
      std::vector<NDArray> o{*inputs[m]};
      cast_into(wide[m], inputs[m]->dtype(), o);
    }
}

}  // namespace

size_t kernel_cache_size() { return cache().size(); }

bool needs_promotion(const op::OpSchema& op, std::span<const int32_t> dtypes) {
  bool promote = false;
  auto accepts = [&](int32_t dt) { return std::find(op.dtypes.begin(), op.dtypes.end(), dt) != op.dtypes.end(); };
  for (size_t i = 0; i < dtypes.size(); ++i) {
    if (op.dtypes.empty() || accepts(dtypes[i])) continue;
    if (is_16bit_float(dtypes[i]) && accepts(MX_FLOAT32)) promote = true;
    else
      fail(MX_ERR_UNSUPPORTED, op.name, ": dtype ", dtype_info(dtypes[i]).name, " of input '",
           op.inputs[std::min(i, op.inputs.size() - 1)], "' is not supported");
  }
  return promote;
}

void invoke(const op::OpSchema& op, const op::Attrs& attrs, std::span<const NDArray* const> inputs,
            std::vector<NDArray>& outputs) {
  const bool provided = !outputs.empty();  // the caller's arrays, which may alias the inputs
  const size_t expected = op.num_inputs ? op.num_inputs(attrs) : op.inputs.size();
  if (inputs.size() != expected)
    fail(MX_ERR_INVALID_ARGUMENT, op.name, ": expected ", expected, " input(s) (", [&] {
      std::string names;
      for (size_t i = 0; i < expected && i < op.inputs.size(); ++i) names += (i ? ", " : "") + op.inputs[i];
      return names;
    }(), "), got ", inputs.size());

  // Device
  Device dev = cpu();
  if (op.device_from_attrs) {
    const std::string& ctx = attrs.str("ctx");
    if (!ctx.empty()) dev = Device::parse(ctx);
  } else if (!inputs.empty()) {
    dev = inputs[0]->device();
    for (size_t i = 1; i < inputs.size(); ++i)
      if (!(inputs[i]->device() == dev))
        fail(MX_ERR_INVALID_ARGUMENT, op.name, ": inputs are on different devices: ", op.inputs[0], " on ",
             dev.str(), ", ", op.inputs[i], " on ", inputs[i]->device().str());
  }

  // Shapes and dtypes (per-thread scratch: no allocation once warm). A call made from inside this
  // thread's own invoke (a custom op's inference or kernel under the naive engine) gets its own.
  Scratch& thread_sc = invoke_scratch();
  std::unique_ptr<Scratch> nested_sc;
  if (thread_sc.busy) nested_sc = std::make_unique<Scratch>();
  struct Release {
    Scratch* s;
    ~Release() {
      if (s) s->busy = false;
    }
  } release{nested_sc ? nullptr : &thread_sc};
  thread_sc.busy = true;
  Scratch& sc = nested_sc ? *nested_sc : thread_sc;
  auto& in_shapes = sc.in_shapes;
  auto& out_shapes = sc.out_shapes;
  auto& in_dtypes = sc.in_dtypes;
  auto& out_dtypes = sc.out_dtypes;
  in_shapes.clear();
  in_dtypes.clear();
  for (const NDArray* a : inputs) {
    in_shapes.push_back(a->shape());
    in_dtypes.push_back(a->dtype());
  }
  const bool promote = needs_promotion(op, in_dtypes);
  op::InferArgs ia{op, attrs, in_shapes, in_dtypes};
  op::infer_shape_checked(ia, out_shapes);
  op.infer_type(ia, out_dtypes);

  // Outputs (a caller may pass only the visible ones: hidden ones are made here)
  const size_t visible = op::visible_outputs(op, attrs, out_shapes.size());
  if (!outputs.empty() && outputs.size() == visible)
    for (size_t i = visible; i < out_shapes.size(); ++i) outputs.emplace_back(out_shapes[i], out_dtypes[i], dev);
  if (outputs.empty()) {
    for (size_t i = 0; i < out_shapes.size(); ++i) outputs.emplace_back(out_shapes[i], out_dtypes[i], dev);
  } else {
    if (outputs.size() != out_shapes.size())
      fail(MX_ERR_INVALID_ARGUMENT, op.name, ": expected ", out_shapes.size(), " output(s), got ", outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].shape() != out_shapes[i] || outputs[i].dtype() != out_dtypes[i])
        fail(MX_ERR_SHAPE_MISMATCH, op.name, ": output ", i, " is ", shape_str(outputs[i].shape()), " ",
             dtype_info(outputs[i].dtype()).name, " but the op produces ", shape_str(out_shapes[i]), " ",
             dtype_info(out_dtypes[i]).name);
      if (!(outputs[i].device() == dev))
        fail(MX_ERR_INVALID_ARGUMENT, op.name, ": output ", i, " is on ", outputs[i].device().str(),
             " but the op runs on ", dev.str());
    }
  }
  // Aliasing: only arrays the caller passed can overlap an input; fresh ones cost nothing here.
  const Aliasing alias = provided ? find_aliasing(op, inputs, outputs) : Aliasing{};
  if (!op.mutated_inputs.empty()) check_mutated_inputs(op, inputs, outputs);
  if (alias.any) record_aliased(op, attrs, inputs, outputs);
  else autograd::record(op, attrs, inputs, outputs);  // the tape holds the caller's outputs
  bool empty = false;
  for (auto& o : outputs) empty |= o.size() == 0;
  if (empty) return;  // nothing to compute
  // Promotion computes into fresh float32 arrays and casts them into the outputs afterwards, so
  // it never writes over an input it still reads.
  if (promote) return run_promoted(op, attrs, inputs, outputs);

  // Outputs that overlap an input (other than a declared exact alias) are computed into
  // temporaries and copied into place after the kernel, as engine ops like the rest. (An empty
  // vector costs nothing on the common path.)
  std::span<const NDArray> targets(outputs);
  std::vector<NDArray> temps;
  if (alias.via_temp) {
    temps.assign(outputs.begin(), outputs.end());
    for (size_t k = 0; k < temps.size(); ++k)
      if ((alias.via_temp >> std::min<size_t>(k, 63)) & 1) temps[k] = NDArray(out_shapes[k], out_dtypes[k], dev);
    targets = temps;
  }

  // Launch record (freed by the worker)
  struct Launch {
    Launch() {}  // no zeroing of call's buffers by allocate_shared's value-initialisation
    PreparedCall call;
    resource::RngDraw rng;
    bool is_train = false;
  };
  auto launch = std::allocate_shared<Launch>(PoolAllocator<Launch>());
  fill_call(launch->call, sc, op, attrs, dev, inputs, targets, in_shapes, out_shapes);
  if (launch->call.rng_blocks) launch->rng = resource::reserve_random(dev, launch->call.rng_blocks);
  launch->is_train = autograd::is_training();

  // Reads, then writes: outputs and the inputs the op mutates.
  SmallVec<engine::Var*, 16> vars;
  for (const NDArray* a : inputs) vars.push_back(a->var());
  for (auto& a : targets) vars.push_back(a.var());
  for (size_t m : op.mutated_inputs)  // a variadic op lists them for its largest call
    if (m < inputs.size()) vars.push_back(inputs[m]->var());
  std::span<engine::Var* const> reads(vars.data(), inputs.size()),
      writes(vars.data() + inputs.size(), vars.size() - inputs.size());
  engine::PushOptions opts;
  opts.name = op.name.c_str();
  opts.may_run_inline = runs_inline(launch->call);
  engine::get().push([launch](engine::RunContext& ctx) { run_prepared(launch->call, ctx, launch->rng, launch->is_train); },
                     dev, reads, writes, opts);
  if (alias.via_temp)
    for (size_t k = 0; k < targets.size(); ++k)
      if (targets[k].var() != outputs[k].var()) copy(targets[k], outputs[k]);
}

std::shared_ptr<PreparedCall> prepare_call(const op::OpSchema& op, const op::Attrs& attrs,
                                           std::span<const NDArray* const> inputs, std::span<const NDArray> outputs) {
  thread_local Scratch sc;
  std::vector<Shape> in_shapes, out_shapes;
  for (const NDArray* a : inputs) in_shapes.push_back(a->shape());
  for (const NDArray& a : outputs) out_shapes.push_back(a.shape());
  const Device dev = outputs.empty() ? cpu() : outputs[0].device();
  auto pc = std::make_shared<PreparedCall>();
  fill_call(*pc, sc, op, attrs, dev, inputs, outputs, in_shapes, out_shapes);
  return pc;
}

resource::RngDraw draw_random(const PreparedCall& call) {
  return call.rng_blocks ? resource::reserve_random(call.dev, call.rng_blocks) : resource::RngDraw{};
}

void run_prepared(const PreparedCall& call, engine::RunContext& ctx, const resource::RngDraw& rng, bool is_train) {
  const KernelState& ks = *call.ks;
  mx_kernel_ctx kc{};
  kc.struct_size = sizeof(kc);
  kc.device_id = ctx.device.id;
  kc.stream = ctx.stream;
  kc.temp_space = resource::temp_space(ctx, call.temp_bytes);
  kc.temp_bytes = call.temp_bytes;
  kc.rng_seed = rng.seed;
  kc.rng_offset = rng.offset;
  kc.is_train = is_train ? 1 : 0;
  const size_t n_in = call.n_in;
  // Output descriptors are const in the prepared call but the kernel ABI takes them mutable;
  // kernels write through data, never into the descriptors.
  const DLTensor* t = call.tensors.data();
  // A kernel that is not the owning plugin's (kernel-only plugin, extension library, custom op)
  // cannot read the owner's mx_stream_t: it gets the native handle (ABI 1.3).
  const mx_backend_api& owner = ks.backend->api;
  if (ks.foreign && ctx.stream && owner.struct_size >= offsetof(mx_backend_api, stream_native) + sizeof(void*) &&
      owner.stream_native) {
    uint64_t native = 0;
    if (owner.stream_native(ctx.stream, &native) == 0) kc.native_stream = native;
  }
  // Ops an extension's kernel issues run here, now, and off the autograd tape whatever the engine.
  std::optional<engine::InlineScope> nested;
  bool was_recording = false;
  if (ks.own) {
    nested.emplace();
    was_recording = autograd::set_recording(false);
  }
  const int rc = ks.kernel->run(ks.state, &kc, t, int32_t(n_in), const_cast<DLTensor*>(t + n_in), int32_t(call.n - n_in));
  if (ks.own) {
    autograd::set_recording(was_recording);
    nested.reset();
  }
  if (rc != 0) {
    std::string msg;
    int32_t code = plugin::take_backend_error(&msg);
    fail(code == MX_ERR_OK ? MX_ERR_INTERNAL : code, call.op->name, " on ", ctx.device.str(), ": backend ",
         ks.provider, ": ", msg);
  }
}

const op::OpSchema& prepared_op(const PreparedCall& call) { return *call.op; }

}  // namespace mx
