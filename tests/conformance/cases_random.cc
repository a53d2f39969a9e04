// Conformance cases of the samplers, sample_*, random_pdf_*.
#include "harness.h"

namespace conformance {

Family random_family() { return {}; }

}  // namespace conformance
