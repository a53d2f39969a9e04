// Static memory planning (MXNet's PlanMemory): every internal entry of an executor graph gets a
// storage slot. Walking the nodes in execution order, an output takes over a dying input's slot
// when the op allows it in place, else the best-fitting free slot; an entry's slot is freed after
// its last reader. Slots become separate buffers, each with its own engine var, so reuse is
// ordered by the engine like any other write-after-read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace mx::exec {

struct PlanEntry {
  uint64_t bytes = 0;
  bool external = false;  // bound to an array the planner does not own (arguments, outputs, gradients)
};

struct PlanNode {
  std::vector<uint32_t> inputs;   // entry ids
  std::vector<uint32_t> outputs;  // entry ids
  std::vector<std::pair<size_t, size_t>> inplace;  // (input position, output position) the op allows
};

struct MemoryPlan {
  std::vector<int32_t> slot;        // per entry: its slot, -1 for external entries
  std::vector<uint64_t> slot_bytes;
  uint64_t planned_bytes = 0;       // sum of slot sizes
  uint64_t unplanned_bytes = 0;     // sum of the internal entries' sizes (one buffer each)
  uint32_t inplace_count = 0;       // outputs that took over their input's slot
};

MemoryPlan plan_memory(const std::vector<PlanNode>& nodes, const std::vector<PlanEntry>& entries);

}  // namespace mx::exec
