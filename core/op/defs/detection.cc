// The detection family: box_nms box_iou bipartite_matching MultiBoxPrior MultiBoxTarget MultiBoxDetection.
#include "op/defs/defs.h"

namespace mx::op {

void register_detection(Registry& r) { (void)r; }

}  // namespace mx::op
