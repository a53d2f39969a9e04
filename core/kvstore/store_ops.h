// The KVStore's engine operations: an operator over fixed arrays pushed with a priority (the store's
// merges and updates), and host functions pushed on the communication queue.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "ndarray/ndarray.h"

namespace mx::kv {

using AttrList = std::vector<std::pair<std::string, std::string>>;

// Runs op `name` (attrs as strings, validated by its schema) on inputs into outputs (of the op's
// inferred shapes) as one engine op on the outputs' device, after the inputs' producers.
void push_op(const std::string& name, const AttrList& attrs, std::vector<NDArray> inputs,
             std::vector<NDArray> outputs, int priority);

// A zeroed array like `like` on dev.
NDArray zeros_like(const NDArray& like, Device dev);

}  // namespace mx::kv
