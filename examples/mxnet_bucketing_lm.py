#!/usr/bin/python3
"""A word-level LSTM language model written the way MXNet 1.x users write one (MXNet's
example/rnn/bucketing/lstm_bucketing.py): mx.rnn cells unrolled per bucket length,
BucketSentenceIter, BucketingModule.fit with Perplexity and a Speedometer. It imports `mxnet`,
so it runs unchanged on MXNet 1.9.1 or on mx with the optional alias package on the path:

    PYTHONPATH=bindings/python:bindings/mxnet-alias /usr/bin/python3 examples/mxnet_bucketing_lm.py

The corpus is generated here (sentences of a small grammar, of several lengths), so there is
structure to learn and no download.
"""
import argparse
import logging
import random

import mxnet as mx

SUBJECTS = ["the cat", "a dog", "my sister", "the old man", "a small bird", "the teacher"]
VERBS = ["sees", "likes", "follows", "paints", "finds", "calls"]
OBJECTS = ["the river", "a red ball", "the garden", "an apple", "the moon", "a long letter"]
ENDINGS = ["", "today", "again", "at night", "in the morning", "very slowly"]


def make_sentences(count, seed):
    rng = random.Random(seed)
    pick = lambda words: rng.choice(words).split()  # noqa: E731
    return [pick(SUBJECTS) + pick(VERBS) + pick(OBJECTS) + pick(ENDINGS) + ["."] for _ in range(count)]


def main():
    p = argparse.ArgumentParser(description="BucketingModule LSTM language model")
    p.add_argument("--num-sentences", type=int, default=4000)
    p.add_argument("--num-epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--num-hidden", type=int, default=64)
    p.add_argument("--num-embed", type=int, default=32)
    p.add_argument("--num-layers", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--disp-batches", type=int, default=50)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    buckets = [6, 8, 10, 12]
    invalid_label = 0
    train_sent, vocab = mx.rnn.encode_sentences(make_sentences(args.num_sentences, 1), invalid_label=invalid_label,
                                                start_label=1)
    val_sent, _ = mx.rnn.encode_sentences(make_sentences(args.num_sentences // 4, 2), vocab=vocab,
                                          invalid_label=invalid_label, start_label=1)
    data_train = mx.rnn.BucketSentenceIter(train_sent, args.batch_size, buckets=buckets, invalid_label=invalid_label)
    data_val = mx.rnn.BucketSentenceIter(val_sent, args.batch_size, buckets=buckets, invalid_label=invalid_label)

    stack = mx.rnn.SequentialRNNCell()
    for i in range(args.num_layers):
        stack.add(mx.rnn.LSTMCell(num_hidden=args.num_hidden, prefix="lstm_l%d_" % i))

    def sym_gen(seq_len):
        data = mx.sym.Variable("data")
        label = mx.sym.Variable("softmax_label")
        embed = mx.sym.Embedding(data=data, input_dim=len(vocab) + 1, output_dim=args.num_embed, name="embed")
        stack.reset()
        outputs, states = stack.unroll(seq_len, inputs=embed, merge_outputs=True)
        pred = mx.sym.Reshape(outputs, shape=(-1, args.num_hidden))
        pred = mx.sym.FullyConnected(data=pred, num_hidden=len(vocab) + 1, name="pred")
        label = mx.sym.Reshape(label, shape=(-1,))
        pred = mx.sym.SoftmaxOutput(data=pred, label=label, name="softmax")
        return pred, ("data",), ("softmax_label",)

    model = mx.mod.BucketingModule(sym_gen=sym_gen, default_bucket_key=data_train.default_bucket_key,
                                   context=mx.cpu())
    model.fit(train_data=data_train, eval_data=data_val, eval_metric=mx.metric.Perplexity(invalid_label),
              optimizer="adam", optimizer_params={"learning_rate": args.lr},
              initializer=mx.init.Xavier(factor_type="in", magnitude=2.34), num_epoch=args.num_epochs,
              batch_end_callback=mx.callback.Speedometer(args.batch_size, args.disp_batches, auto_reset=False))
    name, ppl = model.score(data_val, mx.metric.Perplexity(invalid_label))[0]
    print("final validation %s=%.3f (vocabulary of %d words)" % (name, ppl, len(vocab)))


if __name__ == "__main__":
    main()
