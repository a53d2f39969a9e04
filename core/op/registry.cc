#include "op/defs/defs.h"

namespace mx::op {

const Registry& registry() {
  static const Registry* r = [] {
    auto* reg = new Registry();  // never destroyed: schemas are referenced by pending ops
    register_elemwise(*reg);
    register_init(*reg);
    register_random(*reg);
    register_dot(*reg);
    register_unary(*reg);
    register_broadcast(*reg);
    register_reduce(*reg);
    register_shape(*reg);
    register_nn(*reg);
    register_optimizer(*reg);
    register_conv(*reg);
    register_indexing(*reg);
    register_slicing(*reg);
    register_sorting(*reg);
    register_gather(*reg);
    register_math(*reg);
    register_creation(*reg);
    register_axes(*reg);
    register_lookup(*reg);
    register_norm(*reg);
    register_loss(*reg);
    register_sequence(*reg);
    register_resample(*reg);
    register_spatial(*reg);
    register_detection(*reg);
    register_rnn(*reg);
    register_contrib(*reg);
    register_ctc(*reg);
    register_sampling(*reg);
    register_linalg(*reg);
    return reg;
  }();
  return *r;
}

}  // namespace mx::op
