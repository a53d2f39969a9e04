// Imperative op invocation: validate attributes, infer output shapes and dtypes, find the
// device's kernel, and push one engine op that runs it. Kernel states (parsed params, plans)
// are cached per (op, attrs, shapes, dtypes, device), so the plan is built once per shape.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "ndarray/ndarray.h"
#include "op/schema.h"
#include "resource/resource.h"

namespace mx {

// Runs op on inputs. If `outputs` is empty it is filled with new arrays; otherwise it must hold
// arrays of exactly the inferred shapes and dtypes, which are written.
void invoke(const op::OpSchema& op, const op::Attrs& attrs, std::span<const NDArray* const> inputs,
            std::vector<NDArray>& outputs);

// Whether an op with these input dtypes runs through float32 copies (16-bit floats into an op
// whose kernels compute in float32 / float64); a dtype it cannot take at all is MX_ERR_UNSUPPORTED
// naming the op and the input.
bool needs_promotion(const op::OpSchema& op, std::span<const int32_t> dtypes);

// A kernel call prepared once over fixed arrays (kernel state found, tensors set over their
// storage) and run many times: the executor prepares each node at bind time.
struct PreparedCall;
// Outputs must already have the op's inferred shapes and dtypes (all of them, hidden included).
std::shared_ptr<PreparedCall> prepare_call(const op::OpSchema& op, const op::Attrs& attrs,
                                           std::span<const NDArray* const> inputs, std::span<const NDArray> outputs);
// Reserves the Philox counters one run of a random op draws (a no-op draw for the others).
resource::RngDraw draw_random(const PreparedCall& call);
// Runs the kernel on the calling engine worker; throws mx::Error naming op and backend.
void run_prepared(const PreparedCall& call, engine::RunContext& ctx, const resource::RngDraw& rng, bool is_train);
const op::OpSchema& prepared_op(const PreparedCall& call);

// Number of cached kernel states (for tests).
size_t kernel_cache_size();

}  // namespace mx
