// The contrib family: boolean_mask index_copy index_array arange_like div_sqrt_dim quadratic interleaved_matmul_*.
#include "op/defs/defs.h"

namespace mx::op {

void register_contrib(Registry& r) { (void)r; }

}  // namespace mx::op
