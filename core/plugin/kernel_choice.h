// Which kernels can run an op on a device type, in the order they are tried: the op's own kernels
// (an extension library's, mx/extension.h) first, then every plugin of that device type with a
// kernel of that name, highest priority first (backend.h, ABI 1.3).
#pragma once

#include <cstdint>
#include <vector>

#include "mx/backend.h"
#include "op/schema.h"
#include "plugin/registry.h"

namespace mx::plugin {

struct KernelCandidate {
  const Backend* backend;  // the device type's owner: whose memory and streams the kernel runs on
  const char* name;        // who provides the kernel: a backend's or an extension library's name
  const mx_kernel* kernel;
  bool own = false;      // the op's own kernel (extension library, custom op), not a backend's
  bool foreign = false;  // not the owner's kernel (own, or a kernel-only plugin's)
};

// For device dev (a kernel-only plugin with fewer devices than the owner serves only its own ids).
std::vector<KernelCandidate> kernel_candidates(const op::OpSchema& op, Device dev);

}  // namespace mx::plugin
