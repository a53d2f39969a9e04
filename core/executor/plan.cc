#include "executor/plan.h"

#include <algorithm>
#include <map>

namespace mx::exec {
namespace {

// Totals are statistics: saturate rather than wrap (every single size was checked at bind).
uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

}  // namespace

MemoryPlan plan_memory(const std::vector<PlanNode>& nodes, const std::vector<PlanEntry>& entries) {
  MemoryPlan p;
  p.slot.assign(entries.size(), -1);
  std::vector<uint32_t> readers(entries.size(), 0);
  for (const PlanNode& n : nodes)
    for (uint32_t e : n.inputs) ++readers[e];
  // Free slots by size (equal sizes in the order they were freed), so each pick is a lookup and
  // not a scan: a node freeing many slots must not make every later node slow.
  std::multimap<uint64_t, int32_t> free_slots;
  std::vector<char> is_free;  // by slot

  auto take_slot = [&](uint64_t bytes) -> int32_t {
    // Best fit: the smallest free slot that holds it; else grow the largest free one (growing
    // costs less than a new slot); else a new slot.
    if (free_slots.empty()) {
      p.slot_bytes.push_back(bytes);
      is_free.push_back(0);
      return int32_t(p.slot_bytes.size() - 1);
    }
    auto pick = free_slots.lower_bound(bytes);
    if (pick == free_slots.end()) pick = free_slots.lower_bound(free_slots.rbegin()->first);  // the largest
    const int32_t s = pick->second;
    free_slots.erase(pick);
    is_free[size_t(s)] = 0;
    p.slot_bytes[size_t(s)] = std::max(p.slot_bytes[size_t(s)], bytes);
    return s;
  };
  auto release = [&](int32_t s) {
    if (s < 0 || is_free[size_t(s)]) return;
    is_free[size_t(s)] = 1;
    free_slots.emplace(p.slot_bytes[size_t(s)], s);
  };

  for (const PlanNode& n : nodes) {
    std::vector<bool> handed_over(n.inputs.size(), false);
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const uint32_t out = n.outputs[k];
      if (entries[out].external || p.slot[out] >= 0) continue;
      p.unplanned_bytes = sat_add(p.unplanned_bytes, entries[out].bytes);
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
      if (--readers[in] == 0 && !handed_over[i]) release(p.slot[in]);
    }
    // Outputs nobody reads (hidden outputs, unused results) free their slot once written.
    for (uint32_t out : n.outputs)
      if (readers[out] == 0) release(p.slot[out]);
  }
  for (uint64_t b : p.slot_bytes) p.planned_bytes = sat_add(p.planned_bytes, b);
  return p;
}

}  // namespace mx::exec
