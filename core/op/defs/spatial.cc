// The spatial family: GridGenerator BilinearSampler SpatialTransformer BilinearResize2D AdaptiveAvgPooling2D ROIPooling ROIAlign Correlation.
#include "op/defs/defs.h"

namespace mx::op {

void register_spatial(Registry& r) { (void)r; }

}  // namespace mx::op
