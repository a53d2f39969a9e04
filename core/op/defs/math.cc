// The math family: extra elementwise math (tan … trunc, hypot, hard_sigmoid, softmin, smooth_l1, nanprod, all_finite, amp_cast, isinf/isnan/isfinite).
#include "op/defs/defs.h"

namespace mx::op {

void register_math(Registry& r) { (void)r; }

}  // namespace mx::op
