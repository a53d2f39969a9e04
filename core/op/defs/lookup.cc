// The lookup family: ravel_multi_index unravel_index batch_take choose_element_0index fill_element_0index onehot_encode histogram moments.
#include "op/defs/defs.h"

namespace mx::op {

void register_lookup(Registry& r) { (void)r; }

}  // namespace mx::op
