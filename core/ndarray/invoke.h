// Imperative op invocation: validate attributes, infer output shapes and dtypes, find the
// device's kernel, and push one engine op that runs it. Kernel states (parsed params, plans)
// are cached per (op, attrs, shapes, dtypes, device), so the plan is built once per shape.
#pragma once

#include <span>
#include <vector>

#include "ndarray/ndarray.h"
#include "op/schema.h"

namespace mx {

// Runs op on inputs. If `outputs` is empty it is filled with new arrays; otherwise it must hold
// arrays of exactly the inferred shapes and dtypes, which are written.
void invoke(const op::OpSchema& op, const op::Attrs& attrs, std::span<const NDArray* const> inputs,
            std::vector<NDArray>& outputs);

// Number of cached kernel states (for tests).
size_t kernel_cache_size();

}  // namespace mx
