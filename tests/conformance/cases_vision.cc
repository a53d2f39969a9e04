// Conformance cases of the spatial sampling, ROI and detection ops.
#include "harness.h"

namespace conformance {

Family vision_family() { return {}; }

}  // namespace conformance
