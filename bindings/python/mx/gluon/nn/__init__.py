"""mx.gluon.nn: neural-network layers (MXNet 1.9.1's gluon.nn). Block, HybridBlock and
SymbolBlock are re-exported here as in MXNet (`class Net(nn.Block)`)."""
from ..block import Block, HybridBlock, SymbolBlock
from .activations import *
from .basic_layers import *
from .norm_layers import *
from .conv_layers import *
from .pooling_layers import *
