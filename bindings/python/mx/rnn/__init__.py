"""mx.rnn: MXNet 1.x's symbolic RNN cells (RNNCell, LSTMCell, GRUCell, SequentialRNNCell, DropoutCell,
ResidualCell, ZoneoutCell, BidirectionalCell, FusedRNNCell) and the bucketing sentence iterator (encode_sentences,
BucketSentenceIter), RNN checkpoints (save / load / do_rnn_checkpoint)."""
from .io import BucketSentenceIter, encode_sentences  # noqa: F401
from .rnn_cell import (BaseRNNCell, BidirectionalCell, DropoutCell, GRUCell, LSTMCell,  # noqa: F401
                       ModifierCell, ResidualCell, RNNCell, RNNParams, SequentialRNNCell, ZoneoutCell)
from .fused_cell import FusedRNNCell  # noqa: F401
from .rnn import do_rnn_checkpoint, load_rnn_checkpoint, save_rnn_checkpoint  # noqa: F401
