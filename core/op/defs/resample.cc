// The resample family: UpSampling Pad.
#include "op/defs/defs.h"

namespace mx::op {

void register_resample(Registry& r) { (void)r; }

}  // namespace mx::op
