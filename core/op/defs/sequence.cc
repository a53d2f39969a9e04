// The sequence family: SequenceLast SequenceMask SequenceReverse.
#include "op/defs/defs.h"

namespace mx::op {

void register_sequence(Registry& r) { (void)r; }

}  // namespace mx::op
