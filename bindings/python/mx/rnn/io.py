"""mx.rnn's sentence data: encode_sentences (words -> integer ids) and BucketSentenceIter, which pads
sentences to the next bucket length and yields batches whose bucket_key is that length (for
BucketingModule). The label is the data shifted left by one step (next-word prediction)."""
import bisect
import random

import numpy as np

from .. import ndarray
from ..io import DataBatch, DataDesc, DataIter


def encode_sentences(sentences, vocab=None, invalid_label=-1, invalid_key="\n", start_label=0,
                     unknown_token=None):
    """Encode lists of words as lists of ids. Without a vocab one is built, numbering new words from
    start_label (skipping invalid_label); with a vocab, unknown words map to unknown_token (which is
    added if new) or raise. Returns (encoded sentences, vocab)."""
    idx = start_label
    if vocab is None:
        vocab = {invalid_key: invalid_label}
        new_vocab = True
    else:
        new_vocab = False
    encoded = []
    for sentence in sentences:
        coded = []
        for word in sentence:
            if word not in vocab:
                if not (new_vocab or unknown_token):
                    raise ValueError("encode_sentences: unknown token %r is not in vocab and unknown_token is not set"
                                     % (word,))
                if unknown_token:
                    word = unknown_token
                if word not in vocab:
                    if idx == invalid_label:
                        idx += 1
                    vocab[word] = idx
                    idx += 1
            coded.append(vocab[word])
        encoded.append(coded)
    return encoded, vocab


class BucketSentenceIter(DataIter):
    """Batches of encoded sentences grouped by length bucket, padded with invalid_label.

    buckets defaults to every sentence length that occurs at least batch_size times; sentences longer
    than the largest bucket are discarded. layout 'NT' gives (batch, time) arrays, 'TN' (time, batch).
    Each batch is one bucket's sentences only; reset() shuffles batches and sentences."""

    def __init__(self, sentences, batch_size, buckets=None, invalid_label=-1, data_name="data",
                 label_name="softmax_label", dtype="float32", layout="NT"):
        super().__init__(batch_size)
        if not buckets:
            counts = np.bincount([len(s) for s in sentences]) if len(sentences) else []
            buckets = [length for length, n in enumerate(counts) if n >= batch_size]
        buckets = sorted(buckets)
        if not buckets:
            raise ValueError("BucketSentenceIter: no bucket: no sentence length occurs batch_size=%d times; "
                             "pass buckets explicitly" % batch_size)
        self.major_axis = layout.find("N")
        if layout not in ("NT", "TN"):
            raise ValueError("BucketSentenceIter: invalid layout %r: must be 'NT' (batch major) or 'TN' (time major)"
                             % (layout,))

        padded = [[] for _ in buckets]
        discarded = 0
        for sentence in sentences:
            bucket = bisect.bisect_left(buckets, len(sentence))
            if bucket == len(buckets):
                discarded += 1
                continue
            row = np.full((buckets[bucket],), invalid_label, dtype=dtype)
            row[:len(sentence)] = sentence
            padded[bucket].append(row)
        self.data = [np.asarray(rows, dtype=dtype).reshape(len(rows), length) for rows, length in zip(padded, buckets)]
        if discarded:
            print("WARNING: discarded %d sentences longer than the largest bucket." % discarded)

        self.buckets = buckets
        self.data_name = data_name
        self.label_name = label_name
        self.dtype = dtype
        self.invalid_label = invalid_label
        self.layout = layout
        self.default_bucket_key = max(buckets)
        self.provide_data = [DataDesc(data_name, self._shape(self.default_bucket_key), dtype, layout)]
        self.provide_label = [DataDesc(label_name, self._shape(self.default_bucket_key), dtype, layout)]

        # (bucket index, first row) of every full batch; the remainder of each bucket is dropped
        self.idx = [(i, j) for i, rows in enumerate(self.data)
                    for j in range(0, len(rows) - batch_size + 1, batch_size)]
        self.curr_idx = 0
        self.nddata = []
        self.ndlabel = []
        self.reset()

    def _shape(self, length):
        return (self.batch_size, length) if self.major_axis == 0 else (length, self.batch_size)

    def reset(self):
        self.curr_idx = 0
        random.shuffle(self.idx)
        for rows in self.data:
            np.random.shuffle(rows)
        self.nddata = []
        self.ndlabel = []
        for rows in self.data:
            label = np.empty_like(rows)
            label[:, :-1] = rows[:, 1:]
            label[:, -1:] = self.invalid_label
            self.nddata.append(rows)
            self.ndlabel.append(label)

    def next(self):
        if self.curr_idx == len(self.idx):
            raise StopIteration
        i, j = self.idx[self.curr_idx]
        self.curr_idx += 1
        data = self.nddata[i][j:j + self.batch_size]
        label = self.ndlabel[i][j:j + self.batch_size]
        if self.major_axis == 1:
            data, label = data.T, label.T
        batch = DataBatch([ndarray.array(data, dtype=self.dtype)], [ndarray.array(label, dtype=self.dtype)], pad=0,
                          provide_data=[DataDesc(self.data_name, data.shape, self.dtype, self.layout)],
                          provide_label=[DataDesc(self.label_name, label.shape, self.dtype, self.layout)])
        batch.bucket_key = self.buckets[i]
        return batch
