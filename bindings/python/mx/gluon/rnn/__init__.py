"""mx.gluon.rnn: recurrent layers over the fused RNN op (RNN, LSTM, GRU) and step-by-step cells
(RNNCell, LSTMCell, GRUCell and the cells that stack, wrap or combine them), as MXNet 1.9.1."""
from .rnn_cell import (RecurrentCell, HybridRecurrentCell, RNNCell, LSTMCell, GRUCell, SequentialRNNCell,
                       HybridSequentialRNNCell)
from .modifier_cell import DropoutCell, ModifierCell, ZoneoutCell, ResidualCell, BidirectionalCell
from .rnn_layer import RNN, LSTM, GRU

__all__ = ["RecurrentCell", "HybridRecurrentCell", "RNNCell", "LSTMCell", "GRUCell", "SequentialRNNCell",
           "HybridSequentialRNNCell", "DropoutCell", "ModifierCell", "ZoneoutCell", "ResidualCell",
           "BidirectionalCell", "RNN", "LSTM", "GRU"]
