#include "plugin/kernel_choice.h"

namespace mx::plugin {

std::vector<KernelCandidate> kernel_candidates(const op::OpSchema& op, Device dev) {
  std::vector<KernelCandidate> out;
  const Backend* owner = registry().for_type(dev.type);
  if (!owner) return out;
  for (auto& [type, k] : op.own_kernels)
    if (type == dev.type) out.push_back({owner, op.kernel_owner.c_str(), k, true, true});
  for (auto& [b, k] : registry().kernels_for(dev.type, op.name)) {
    if (b->kernels_only && dev.id >= b->num_devices) continue;
    out.push_back({owner, b->name.c_str(), k, false, b != owner});
  }
  return out;
}

}  // namespace mx::plugin
