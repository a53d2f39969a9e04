"""mx.rnn: MXNet 1.x's symbolic RNN cells, BucketSentenceIter and RNN checkpoints. Owner: helper E."""
