"""mx.gluon: MXNet 1.x's imperative / hybridizable neural-network API.

    from mx import gluon
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(128, activation="relu"), gluon.nn.Dense(10))
    net.initialize(mx.init.Xavier()); net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
"""
from . import parameter
from .parameter import Parameter, Constant, DeferredInitializationError
from .parameter_dict import ParameterDict
from . import block
from .block import Block, HybridBlock, SymbolBlock
from . import utils
from . import nn
from . import rnn
from . import loss
from . import data
from . import trainer
from .trainer import Trainer
from . import model_zoo
from . import contrib
