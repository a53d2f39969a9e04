// The ctc family: ctc_loss / CTCLoss.
#include "op/defs/defs.h"

namespace mx::op {

void register_ctc(Registry& r) { (void)r; }

}  // namespace mx::op
