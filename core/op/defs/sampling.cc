// The sampling family: the samplers beyond uniform/normal, sample_* with per-element parameters, random_pdf_*, multinomial, shuffle, randint.
#include "op/defs/defs.h"

namespace mx::op {

void register_sampling(Registry& r) { (void)r; }

}  // namespace mx::op
