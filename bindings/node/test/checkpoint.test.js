'use strict';
// A checkpoint trained and saved by the Python binding predicts the same in Node: identical
// classes for the first 1000 Fashion-MNIST test images, probabilities within 1e-5. The images
// reach Node by its own route (the idx.gz file parsed here), Python's through MNISTIter.
const { test, describe, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const mx = require('..');
const { readImages, readIdx } = require('../examples/idx');

const FASHION = process.env.MX_FASHION_MNIST || '/usr/share/datasets/fashion-mnist';
const PYTHON = process.env.MX_PYTHON || '/usr/bin/python3';
const haveData = fs.existsSync(path.join(FASHION, 't10k-images-idx3-ubyte.gz'));

// Runs make_checkpoint.py into a fresh directory; returns its meta.json and the saved predictions.
function pythonCheckpoint() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mx-node-ckpt-'));
  const run = spawnSync(PYTHON, [path.join(__dirname, 'make_checkpoint.py'), dir, '--data-dir', FASHION],
    { encoding: 'utf8', timeout: 120000 });
  assert.strictEqual(run.status, 0, `make_checkpoint.py failed:\n${run.stdout}${run.stderr}`);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  const bytes = (f) => fs.readFileSync(path.join(dir, f));
  const probs = bytes('probs.f32');
  const classes = bytes('classes.i32');
  return {
    dir,
    meta,
    probs: new Float32Array(probs.buffer, probs.byteOffset, probs.byteLength / 4),
    classes: new Int32Array(classes.buffer, classes.byteOffset, classes.byteLength / 4),
  };
}

function argmax(values, offset, n) {
  let best = 0;
  for (let k = 1; k < n; ++k) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}

describe('a checkpoint trained and saved by Python', { skip: !haveData && 'no Fashion-MNIST' }, () => {
  let py;
  before(() => {
    py = pythonCheckpoint();
  });
  after(() => py && fs.rmSync(py.dir, { recursive: true, force: true }));

  test('Node predicts what Python predicts with it', () => {
    const { num, num_classes: classes } = py.meta;
    const images = readImages(path.join(FASHION, 't10k-images-idx3-ubyte.gz'), num);
    const perImage = images.rows * images.cols;
    // Batches of 128 leave a last one of 104 (1000 = 7 * 128 + 104): the reshape path runs too.
    const batch = 128;
    const predictor = mx.Predictor.load(py.meta.prefix, py.meta.epoch, { data: [batch, 1, images.rows, images.cols] });
    const probs = new Float32Array(num * classes);
    try {
      for (let start = 0; start < num; start += batch) {
        const end = Math.min(num, start + batch);
        const out = predictor.predict(images.pixels.subarray(start * perImage, end * perImage));
        assert.deepStrictEqual(out.shape, [end - start, classes]);
        probs.set(out.toTypedArray(), start * classes);
        out.dispose();
      }
    } finally {
      predictor.dispose();
    }

    let worst = 0;
    const mismatches = [];
    for (let i = 0; i < num; ++i) {
      if (argmax(probs, i * classes, classes) !== py.classes[i]) mismatches.push(i);
      for (let k = 0; k < classes; ++k) worst = Math.max(worst, Math.abs(probs[i * classes + k] - py.probs[i * classes + k]));
    }
    assert.deepStrictEqual(mismatches, [], `classes differ from Python's for images ${mismatches.slice(0, 10)}`);
    assert.ok(worst <= 1e-5, `probabilities differ from Python's by up to ${worst}`);

    // The comparison means something only for a trained model: well above chance (10 %).
    const labels = readIdx(path.join(FASHION, 't10k-labels-idx1-ubyte.gz')).values;
    const correct = py.classes.reduce((n, c, i) => n + (c === labels[i] ? 1 : 0), 0);
    assert.ok(correct / num > 0.6, `accuracy ${correct / num}`);
  });

  test('examples/predict.js prints the test accuracy Python computes', () => {
    const run = spawnSync(process.execPath, [path.join(__dirname, '..', 'examples', 'predict.js'), py.meta.prefix,
      String(py.meta.epoch), FASHION], { encoding: 'utf8', timeout: 60000 });
    assert.strictEqual(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^test accuracy ${py.meta.test_accuracy.replace('.', '\\.')} `));
  });
});

test('a Predictor names the parameters a checkpoint lacks', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mx-node-ckpt-'));
  try {
    const data = mx.Symbol.fromJSON(JSON.stringify({
      nodes: [{ op: 'null', name: 'data', inputs: [] }, { op: 'null', name: 'fc_weight', inputs: [] },
        { op: 'null', name: 'fc_bias', inputs: [] },
        { op: 'FullyConnected', name: 'fc', attrs: { num_hidden: '3' }, inputs: [[0, 0, 0], [1, 0, 0], [2, 0, 0]] }],
      arg_nodes: [0, 1, 2], heads: [[3, 0, 0]],
    }));
    const weight = mx.NDArray.from(new Float32Array(12), [3, 4]);
    mx.NDArray.save(path.join(dir, 'p.params'), { 'arg:fc_weight': weight }); // no fc_bias
    assert.throws(() => new mx.Predictor(data, path.join(dir, 'p.params'), { data: [2, 4] }), /fc_bias/);
    weight.dispose();
    data.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
