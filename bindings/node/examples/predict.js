#!/usr/bin/env node
'use strict';
// Test accuracy of a Fashion-MNIST checkpoint (as examples/train_fashion_mnist.py saves it), the
// Node counterpart of examples/c/predict.c:
//
//   MX_LIBRARY_PATH=/opt/mx/lib node examples/predict.js out/fashion_mnist/lenet 10 [data-dir]
const path = require('node:path');
const mx = require('..');
const { readImages, readIdx } = require('./idx');

function main([prefix, epoch, dataDir = '/usr/share/datasets/fashion-mnist']) {
  if (!prefix || !epoch) {
    console.error('usage: predict.js PREFIX EPOCH [DATA_DIR]');
    return 2;
  }
  const images = readImages(path.join(dataDir, 't10k-images-idx3-ubyte.gz'), Infinity);
  const labels = readIdx(path.join(dataDir, 't10k-labels-idx1-ubyte.gz')).values;
  const batch = 100;
  const perImage = images.rows * images.cols;
  const predictor = mx.Predictor.load(prefix, Number(epoch), { data: [batch, 1, images.rows, images.cols] });
  let correct = 0;
  for (let start = 0; start < images.count; start += batch) {
    const end = Math.min(images.count, start + batch);
    const out = predictor.predict(images.pixels.subarray(start * perImage, end * perImage));
    const probs = out.toTypedArray();
    const classes = out.shape[1];
    out.dispose();
    for (let i = 0; i < end - start; ++i) {
      let best = 0;
      for (let k = 1; k < classes; ++k) if (probs[i * classes + k] > probs[i * classes + best]) best = k;
      correct += best === labels[start + i] ? 1 : 0;
    }
  }
  predictor.dispose();
  console.log(`test accuracy ${(correct / images.count).toFixed(4)} (${correct} of ${images.count})`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
