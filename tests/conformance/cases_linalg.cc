// Conformance cases of the _linalg_*.
#include "harness.h"

namespace conformance {

Family linalg_family() { return {}; }

}  // namespace conformance
