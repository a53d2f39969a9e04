// The rnn family: RNN (LSTM, GRU, rnn_relu, rnn_tanh) and its gradient.
#include "op/defs/defs.h"

namespace mx::op {

void register_rnn(Registry& r) { (void)r; }

}  // namespace mx::op
