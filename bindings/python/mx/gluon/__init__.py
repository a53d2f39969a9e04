"""mx.gluon: MXNet 1.x's imperative / hybridizable neural-network API (Block, Parameter, nn, rnn,
loss, Trainer, data, model_zoo)."""
