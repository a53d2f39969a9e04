#include "plugin/kernel_choice.h"

namespace mx::plugin {

std::vector<KernelCandidate> kernel_candidates(const op::OpSchema& op, int32_t device_type) {
  std::vector<KernelCandidate> out;
  for (auto& [type, k] : op.own_kernels)
    if (type == device_type)
      if (const Backend* owner = registry().for_type(device_type))
        out.push_back({owner, op.kernel_owner.c_str(), k, true});
  for (auto& [b, k] : registry().kernels_for(device_type, op.name)) out.push_back({b, b->name.c_str(), k, false});
  return out;
}

}  // namespace mx::plugin
