#include "executor/plan.h"

#include <algorithm>

namespace mx::exec {

MemoryPlan plan_memory(const std::vector<PlanNode>& nodes, const std::vector<PlanEntry>& entries) {
  MemoryPlan p;
  p.slot.assign(entries.size(), -1);
  std::vector<uint32_t> readers(entries.size(), 0);
  for (const PlanNode& n : nodes)
    for (uint32_t e : n.inputs) ++readers[e];
  std::vector<int32_t> free_slots;

  auto take_slot = [&](uint64_t bytes) -> int32_t {
    // Best fit: the smallest free slot that holds it; else grow the largest free one (growing
    // costs less than a new slot); else a new slot.
    int best = -1, largest = -1;
    for (int i = 0; i < int(free_slots.size()); ++i) {
      const uint64_t have = p.slot_bytes[size_t(free_slots[size_t(i)])];
      if (have >= bytes && (best < 0 || have < p.slot_bytes[size_t(free_slots[size_t(best)])])) best = i;
      if (largest < 0 || have > p.slot_bytes[size_t(free_slots[size_t(largest)])]) largest = i;
    }
    const int pick = best >= 0 ? best : largest;
    if (pick < 0) {
      p.slot_bytes.push_back(bytes);
      return int32_t(p.slot_bytes.size() - 1);
    }
    const int32_t s = free_slots[size_t(pick)];
    free_slots.erase(free_slots.begin() + pick);
    p.slot_bytes[size_t(s)] = std::max(p.slot_bytes[size_t(s)], bytes);
    return s;
  };

  for (const PlanNode& n : nodes) {
    std::vector<bool> handed_over(n.inputs.size(), false);
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const uint32_t out = n.outputs[k];
      if (entries[out].external || p.slot[out] >= 0) continue;
      p.unplanned_bytes += entries[out].bytes;
      for (auto [i, o] : n.inplace) {
        if (o != k || i >= n.inputs.size() || handed_over[i]) continue;
        const uint32_t in = n.inputs[i];
        // Only this read is left (a second read of it by this node counts too), and same size.
        if (entries[in].external || p.slot[in] < 0 || readers[in] != 1 || entries[in].bytes != entries[out].bytes)
          continue;
        p.slot[out] = p.slot[in];
        handed_over[i] = true;
        ++p.inplace_count;
        break;
      }
      if (p.slot[out] < 0) p.slot[out] = take_slot(entries[out].bytes);
    }
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const uint32_t in = n.inputs[i];
      if (--readers[in] == 0 && p.slot[in] >= 0 && !handed_over[i] &&
          std::find(free_slots.begin(), free_slots.end(), p.slot[in]) == free_slots.end())
        free_slots.push_back(p.slot[in]);
    }
    // Outputs nobody reads (hidden outputs, unused results) free their slot once written.
    for (uint32_t out : n.outputs)
      if (readers[out] == 0 && p.slot[out] >= 0 &&
          std::find(free_slots.begin(), free_slots.end(), p.slot[out]) == free_slots.end())
        free_slots.push_back(p.slot[out]);
  }
  for (uint64_t b : p.slot_bytes) p.planned_bytes += b;
  return p;
}

}  // namespace mx::exec
