#!/usr/bin/python3
"""A character-level LSTM language model: Embedding -> RNN (mode='lstm', MXNet's fused op) ->
FullyConnected -> softmax cross-entropy, written imperatively (mx.nd + autograd, Adam through the
fused adam_update op). The text is generated here, deterministically: sentences from a small
grammar, so that there is structure to learn. Prints the training perplexity every --log-every
steps, then the perplexity on held-out text and a sample.

    /usr/bin/python3 examples/lstm_lm.py --steps 300
"""
import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import mx  # noqa: E402

SUBJECTS = ["the cat", "a dog", "my sister", "the old man", "a small bird", "the teacher", "our neighbour"]
VERBS = ["sees", "likes", "follows", "paints", "finds", "calls", "remembers"]
OBJECTS = ["the river", "a red ball", "the garden", "an apple", "the moon", "a letter", "the bright window"]
ENDINGS = [" today.", " again.", " at night.", ".", " in the morning.", " slowly."]


def make_text(num_sentences, seed):
    """Sentences of the grammar SUBJECT VERB OBJECT ENDING, drawn with a fixed seed."""
    rng = np.random.RandomState(seed)
    parts = []
    for _ in range(num_sentences):
        parts.append("%s %s %s%s " % (SUBJECTS[rng.randint(len(SUBJECTS))], VERBS[rng.randint(len(VERBS))],
                                      OBJECTS[rng.randint(len(OBJECTS))], ENDINGS[rng.randint(len(ENDINGS))]))
    return "".join(parts)


def rnn_param_count(mode_gates, layers, inp, hidden):
    """Elements of MXNet's packed RNN parameter vector (one direction)."""
    n = 0
    for layer in range(layers):
        n += mode_gates * hidden * ((inp if layer == 0 else hidden) + hidden + 2)
    return n


class Model:
    def __init__(self, vocab, embed, hidden, layers, rng):
        self.vocab, self.embed, self.hidden, self.layers = vocab, embed, hidden, layers
        u = lambda shape, s: mx.nd.array(rng.uniform(-s, s, shape).astype(np.float32))  # noqa: E731
        self.params = {
            "embed_weight": u((vocab, embed), 0.1),
            "rnn_parameters": u((rnn_param_count(4, layers, embed, hidden),), 1.0 / math.sqrt(hidden)),
            "out_weight": u((vocab, hidden), 1.0 / math.sqrt(hidden)),
            "out_bias": mx.nd.zeros((vocab,)),
        }
        for p in self.params.values():
            p.attach_grad()
        self.state = {k: (mx.nd.zeros(v.shape), mx.nd.zeros(v.shape)) for k, v in self.params.items()}

    def loss(self, x, y):
        """Summed cross-entropy of predicting y (T, N) from x (T, N)."""
        p = self.params
        T, N = x.shape
        e = mx.nd.Embedding(x, p["embed_weight"], input_dim=self.vocab, output_dim=self.embed)
        zeros = mx.nd.zeros((self.layers, N, self.hidden))
        h = mx.nd.RNN(e, p["rnn_parameters"], zeros, zeros, state_size=self.hidden, num_layers=self.layers,
                      mode="lstm")
        logits = mx.nd.FullyConnected(mx.nd.reshape(h, shape=(T * N, self.hidden)), p["out_weight"], p["out_bias"],
                                      num_hidden=self.vocab)
        return mx.nd.softmax_cross_entropy(logits, mx.nd.reshape(y, shape=(T * N,)))

    def adam_step(self, lr, t, scale):
        corrected = lr * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        for k, w in self.params.items():
            m, v = self.state[k]
            mx.nd.adam_update(w, w.grad, m, v, out=w, lr=corrected, rescale_grad=scale, clip_gradient=5.0)


def batches(ids, seq_len, batch, rng):
    """Random windows of the text: x (T, N) and the next characters y (T, N), as float32 ids."""
    starts = rng.randint(0, len(ids) - seq_len - 1, size=batch)
    x = np.stack([ids[s:s + seq_len] for s in starts], axis=1)
    y = np.stack([ids[s + 1:s + seq_len + 1] for s in starts], axis=1)
    return mx.nd.array(x.astype(np.float32)), mx.nd.array(y.astype(np.float32))


def sample(model, chars, start, length):
    """Greedy continuation of `start`, rerunning the model over the growing text (short, so cheap)."""
    index = {c: i for i, c in enumerate(chars)}
    text = start
    p = model.params
    for _ in range(length):
        x = mx.nd.array(np.array([[index[c]] for c in text], dtype=np.float32))
        zeros = mx.nd.zeros((model.layers, 1, model.hidden))
        e = mx.nd.Embedding(x, p["embed_weight"], input_dim=model.vocab, output_dim=model.embed)
        h = mx.nd.RNN(e, p["rnn_parameters"], zeros, zeros, state_size=model.hidden, num_layers=model.layers,
                      mode="lstm")
        last = mx.nd.reshape(h, shape=(len(text), model.hidden)).asnumpy()[-1:]
        logits = last @ p["out_weight"].asnumpy().T + p["out_bias"].asnumpy()
        text += chars[int(logits.argmax())]
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--seq-len", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--embed", type=int, default=32)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.01)
    args = ap.parse_args(argv)

    train_text, valid_text = make_text(3000, seed=0), make_text(200, seed=1)
    chars = sorted(set(train_text + valid_text))
    index = {c: i for i, c in enumerate(chars)}
    train_ids = np.array([index[c] for c in train_text])
    valid_ids = np.array([index[c] for c in valid_text])
    rng = np.random.RandomState(0)
    model = Model(len(chars), args.embed, args.hidden, args.layers, rng)
    print("text: %d training characters, vocabulary %d; LSTM %d x %d" % (len(train_text), len(chars), args.layers,
                                                                      args.hidden))

    tic, window_loss, window_chars = time.time(), 0.0, 0
    tokens = args.seq_len * args.batch_size
    for step in range(1, args.steps + 1):
        x, y = batches(train_ids, args.seq_len, args.batch_size, rng)
        with mx.autograd.record():
            loss = model.loss(x, y)
        loss.backward()
        model.adam_step(args.lr, step, 1.0 / tokens)
        window_loss += float(loss.asscalar())
        window_chars += tokens
        if step == 1 or step % args.log_every == 0 or step == args.steps:
            print("step %4d: train perplexity %.3f (%.0f chars/s)"
                  % (step, math.exp(window_loss / window_chars), window_chars / (time.time() - tic)), flush=True)
            tic, window_loss, window_chars = time.time(), 0.0, 0

    # Held-out perplexity over consecutive windows (training mode off: no dropout anyway).
    total, count = 0.0, 0
    for s in range(0, len(valid_ids) - args.seq_len - 1, args.seq_len * 4):
        x = mx.nd.array(valid_ids[s:s + args.seq_len].reshape(-1, 1).astype(np.float32))
        y = mx.nd.array(valid_ids[s + 1:s + args.seq_len + 1].reshape(-1, 1).astype(np.float32))
        total += float(model.loss(x, y).asscalar())
        count += args.seq_len
    print("valid perplexity %.3f" % math.exp(total / count))
    print("sample: %r" % sample(model, chars, "the cat ", 40))
    return 0


if __name__ == "__main__":
    sys.exit(main())
