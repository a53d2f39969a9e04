// The axes family: moveaxis SwapAxis reshape_like flip depth_to_space space_to_depth broadcast_to broadcast_axis split_v2 shape_array size_array im2col col2im.
#include "op/defs/defs.h"

namespace mx::op {

void register_axes(Registry& r) { (void)r; }

}  // namespace mx::op
