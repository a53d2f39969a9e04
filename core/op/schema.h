// Operator schemas: what the core knows about an op independently of any device. Backends hold
// only kernels; everything a user can get wrong (unknown or out-of-range attributes, shapes,
// dtypes) is caught here, before anything is pushed, with a message naming the op.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/partial_shape.h"
#include "base/shape.h"
#include "mx/backend.h"

namespace mx::op {

// kAxes: "None", an int or a tuple of ints (negative counts from the end), as MXNet's `axis`.
// kOptInts: a tuple whose entries may be None, as slice's begin / end / step.
enum class ParamType { kInt, kFloat, kBool, kShape, kDType, kDevice, kEnum, kAxes, kOptInts, kString };

struct ParamSpec {
  std::string name;
  ParamType type;
  std::string default_value;  // canonical form; empty + required means the caller must give it
  bool required = false;
  double min = -1e308, max = 1e308;  // inclusive range for kInt / kFloat
  std::vector<std::string> choices;  // kEnum
  std::string doc;
};

// Attributes after validation: every param of the schema present, in schema order, canonical.
class Attrs {
 public:
  std::vector<std::pair<std::string, std::string>> kv;

  const std::string& str(const std::string& name) const;
  double f(const std::string& name) const;
  int64_t i(const std::string& name) const;
  bool b(const std::string& name) const;
  Shape shape(const std::string& name) const;
  int32_t dtype(const std::string& name) const;  // -1 for "None"
  std::vector<std::optional<int64_t>> opt_ints(const std::string& name) const;  // kOptInts
  bool is_none(const std::string& name) const { return str(name) == "None"; }
};

struct OpSchema;

// Gradients are graphs of other ops. A schema's gradient function emits op calls through a
// builder; autograd evaluates them on NDArrays (recording them again when a higher-order gradient
// is wanted), the static executor will turn them into graph nodes. Values are builder handles.
using GradValue = int32_t;
inline constexpr GradValue kNoGrad = -1;  // this input gets no gradient (treated as zero)

class GradBuilder {
 public:
  virtual ~GradBuilder() = default;
  // Emits `op` on inputs with attributes (MXNet string forms); returns its single output.
  virtual GradValue call(const std::string& op, std::vector<GradValue> inputs,
                         std::vector<std::pair<std::string, std::string>> attrs = {}) = 0;
  // The same, returning every output of the op (a backward op that computes several inputs'
  // gradients in one pass, as extension libraries and custom ops define them).
  virtual std::vector<GradValue> call_all(const std::string& op, std::vector<GradValue> inputs,
                                          std::vector<std::pair<std::string, std::string>> attrs = {}) = 0;
  // Values issued so far (valid values are 0 .. num_values() - 1).
  virtual size_t num_values() const = 0;
};

struct GradArgs {
  GradBuilder& g;
  const Attrs& attrs;
  std::vector<GradValue> inputs;     // the op's inputs
  std::vector<GradValue> outputs;    // the op's outputs
  std::vector<GradValue> out_grads;  // gradients flowing into each output
  const std::vector<Shape>& in_shapes;
  bool is_train = true;  // the backward pass's training flag (BatchNorm's gradient depends on it)
};

struct InferArgs {
  const OpSchema& op;
  const Attrs& attrs;
  const std::vector<Shape>& in_shapes;
  const std::vector<int32_t>& in_dtypes;
  // Symbolic inference (a graph, MXNet's rules) rather than an imperative call: a 0 in the shape
  // attribute of an op that creates an array means "unknown" there (kUnknownDim in the output, to
  // be filled from the graph), where an imperative call makes a zero-size array.
  bool symbolic = false;
};

// Symbolic inference on partially known shapes (core/symbol/infer.cc, base/partial_shape.h): what
// is known so far of each input and each output (hidden outputs included). A rule refines them in
// either direction with unify() and throws MX_ERR_SHAPE_MISMATCH on a contradiction.
struct PartialInferArgs {
  const OpSchema& op;
  const Attrs& attrs;
  std::vector<PartialShape>& in;
  std::vector<PartialShape>& out;
};

struct OpSchema {
  std::string name;
  std::vector<std::string> aliases;
  std::string doc;
  std::vector<std::string> inputs;  // argument names, in order
  int num_outputs = 1;
  // Outputs of one call when they depend on the attributes (split's num_outputs, topk's
  // ret_typ=both); nullptr: num_outputs.
  std::function<int(const Attrs&)> output_count;
  // Outputs a caller sees (the rest, e.g. Dropout's mask, exist for the gradient); -1: all.
  int num_visible_outputs = -1;
  // The same when it depends on the attributes (RNN's state_outputs); nullptr: num_visible_outputs.
  std::function<int(const Attrs&)> visible_output_count;
  std::vector<ParamSpec> params;
  // How many of `inputs` a call takes given its attributes (nullptr: all), e.g. no_bias.
  std::function<size_t(const Attrs&)> num_inputs;
  // Inputs the op updates in place (optimizer state, BatchNorm's moving statistics): the engine
  // orders them as writes. A variadic op (multi_sgd_mom_update) lists them for its largest call;
  // indices past a call's inputs are skipped.
  std::vector<size_t> mutated_inputs;
  // (input, output) pairs whose kernels may write the output over the input's memory (same shape
  // and dtype; each element read before it is written): the executor's memory planner reuses a
  // dying input's buffer for the output.
  //
  // Aliasing policy: `inplace` is exactly the set of exact-alias pairs (the same bytes, offset and
  // dtype) every backend's kernel handles; declare a pair only for kernels that read element i of
  // that input before writing element i of that output and nothing else of it afterwards
  // (elementwise, no __restrict). Every other overlap between a caller's output and an input (a
  // shifted view, a transposed or neighbourhood read, an undeclared pair) is made safe by the
  // core: invoke computes that output into a temporary and copies it into place after the kernel,
  // giving numpy's answer. Two outputs that overlap are an error. Inputs the op mutates
  // (`mutated_inputs`) are written in place by design and are not aliasing.
  std::vector<std::pair<size_t, size_t>> inplace;
  // Input dtypes the op accepts (empty: any).
  std::vector<int32_t> dtypes;
  // True for ops with no inputs that take their device from the "ctx" attribute.
  bool device_from_attrs = false;
  // Fill output shapes / dtypes; throw mx::Error naming the op and shapes on bad input.
  std::function<void(const InferArgs&, std::vector<Shape>&)> infer_shape;
  std::function<void(const InferArgs&, std::vector<int32_t>&)> infer_type;
  // Symbolic inference: fills the shapes of inputs that are still unknown (empty optionals) from
  // the attributes and the known ones, e.g. FullyConnected's weight and bias from data and
  // num_hidden; nullptr when no input can be deduced that way.
  std::function<void(const Attrs&, std::vector<std::optional<Shape>>&)> infer_input_shapes;
  // MXNet's FInferShape on partially known shapes: while some input of a node is not complete,
  // symbolic inference lets infer_input_shapes (on the complete inputs), the in-place pairs (an
  // in-place output has its input's shape) and this rule each add what they know; once every input
  // is complete, infer_shape alone decides. nullptr: the op has no rule of its own for partial
  // shapes (its outputs stay unknown until its inputs are complete, unless in-place pairs tell).
  std::function<void(const PartialInferArgs&)> infer_shape_partial;
  // Philox counter blocks one call draws (random ops); nullptr for deterministic ops.
  std::function<uint64_t(const Attrs&, const std::vector<Shape>& out_shapes)> random_blocks;
  // One gradient per input (kNoGrad allowed); nullptr: the op is not differentiable and autograd
  // never records it (optimizer updates).
  std::function<std::vector<GradValue>(const GradArgs&)> gradient;
  // Scratch bytes one call needs from the worker's temp space; nullptr for none.
  std::function<uint64_t(const Attrs&, const std::vector<Shape>& in_shapes)> temp_bytes;
  // Kernels that come with the op rather than from a backend (an extension library's, a custom
  // op's), per device type (MX_DEVICE_*); tried before any backend's. kernel_owner names their
  // provider in messages and op info.
  std::vector<std::pair<int32_t, const mx_kernel*>> own_kernels;
  std::string kernel_owner;
};

// How many of an op's `total` outputs a caller sees given its attributes.
inline size_t visible_outputs(const OpSchema& op, const Attrs& a, size_t total) {
  if (op.visible_output_count) return size_t(op.visible_output_count(a));
  return op.num_visible_outputs < 0 ? total : size_t(op.num_visible_outputs);
}

// op.infer_shape followed by check_shape on every output, so no overflowing or over-deep shape
// inferred from huge inputs or attributes reaches allocation. Every caller of inference uses it.
[[noreturn]] void bad_inferred_shape(const InferArgs& a, const std::vector<Shape>& out, size_t i);
// In symbolic inference the known dims of a partial output are checked.
inline void infer_shape_checked(const InferArgs& a, std::vector<Shape>& out) {
  a.op.infer_shape(a, out);
  for (size_t i = 0; i < out.size(); ++i)
    if (!shape_ok(a.symbolic ? known_dims(out[i]) : out[i])) bad_inferred_shape(a, out, i);
}

// MXNet's generic attributes that any op accepts and no kernel reads: `__*__` keys (__layout__,
// __init__, __lr_mult__, __ctx_group__, ...) and lr_mult, wd_mult, ctx_group, force_mirroring.
// A param of the op's own with such a name stays a param.
bool is_generic_attr(const std::string& key);

// Validates and completes attributes: unknown names (other than generic attributes, skipped), missing required params, unparsable values
// and out-of-range values each raise MX_ERR_INVALID_ARGUMENT naming op and attribute.
Attrs parse_attrs(const OpSchema& op, int n, const char* const* keys, const char* const* vals);
// The same for any parameter list (data iterators): errors name `owner`.
Attrs parse_params(const std::string& owner, const std::vector<ParamSpec>& params, int n, const char* const* keys,
                   const char* const* vals);

class Registry {
 public:
  // Built-in ops, while the registry is being built (single-threaded).
  void add(OpSchema schema);
  // Ops added at run time (extension libraries, custom ops from bindings): all or none, from any
  // thread; throws MX_ERR_INVALID_ARGUMENT naming the first name that is taken (by a built-in op
  // or an earlier addition) or repeated in the batch. Never removed.
  void add_runtime(std::vector<OpSchema> schemas) const;
  // nullptr if unknown.
  const OpSchema* find(const std::string& name) const;
  // Throws MX_ERR_NOT_FOUND naming the op.
  const OpSchema& get(const std::string& name) const;
  // Every name and alias, sorted (run-time additions included).
  std::vector<std::string> names() const;

 private:
  using Index = std::vector<std::pair<std::string, const OpSchema*>>;  // sorted by name
  static const OpSchema* lookup(const Index& index, const std::string& name);
  static void insert(Index& index, const std::string& name, const OpSchema* op);

  std::vector<std::unique_ptr<OpSchema>> ops_;
  Index index_;  // built-in: immutable once built, read without a lock
  // Run-time additions: looked up only when a name is not built in.
  struct Runtime {
    std::mutex mu;
    std::vector<std::unique_ptr<OpSchema>> ops;
    Index index;
    std::atomic<bool> any{false};
  };
  std::unique_ptr<Runtime> runtime_ = std::make_unique<Runtime>();
};

// The registry with every built-in op.
const Registry& registry();

// ---- helpers for schema definitions
ParamSpec param_shape(const std::string& name, const std::string& def, const std::string& doc);
ParamSpec param_dtype(const std::string& name, const std::string& def, const std::string& doc);
ParamSpec param_device(const std::string& doc);
ParamSpec param_float(const std::string& name, const std::string& def, const std::string& doc);
ParamSpec param_bool(const std::string& name, const std::string& def, const std::string& doc);
ParamSpec param_axes(const std::string& name, const std::string& def, const std::string& doc);
ParamSpec param_int(const std::string& name, const std::string& def, const std::string& doc);
ParamSpec param_string(const std::string& name, const std::string& def, const std::string& doc);
ParamSpec param_opt_ints(const std::string& name, const std::string& def, const std::string& doc);
ParamSpec param_required(ParamSpec p);
// Canonical string of a float attribute value.
std::string float_str(double v);
// Gradient for ops whose outputs are piecewise constant in every input.
std::vector<GradValue> no_gradient(const GradArgs& a);

}  // namespace mx::op
