// Conformance cases of the math and creation ops (helper: math).
#include "harness.h"

namespace conformance {

Family math_family() { return {}; }

}  // namespace conformance
