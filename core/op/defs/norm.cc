// The norm family: InstanceNorm GroupNorm L2Normalization LRN BatchNorm_v1.
#include "op/defs/defs.h"

namespace mx::op {

void register_norm(Registry& r) { (void)r; }

}  // namespace mx::op
