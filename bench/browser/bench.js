// Times one forward pass of the same ONNX file with Glimpse's wasm (tract) and with
// onnxruntime-web (wasm backend, one thread), on the same input, in the same page; then one
// gradient, and every explanation method at its defaults on chelsea.
// run.mjs serves this page and reads `window.benchResult`.

import init, { Playground, methods } from '/glimpse/glimpse.js';
import * as ort from '/ort/ort.wasm.min.mjs';

const params = new URLSearchParams(location.search);
const RUNS = Number(params.get('runs') ?? 20);
const WARMUP = 3;
// Methods at their defaults take up to 100 passes each: fewer runs, one warm-up.
const METHOD_RUNS = Number(params.get('method-runs') ?? 3);
const log = (line) => { document.getElementById('log').textContent += `\n${line}`; };

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function time(fn, runs = RUNS, warmup = WARMUP) {
  for (let i = 0; i < warmup; i++) await fn();
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return { median: median(samples), min: Math.min(...samples), samples };
}

async function bytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function main() {
  const onnx = await bytes('/models/efficientnet-lite0.onnx');
  const config = await bytes('/models/efficientnet-lite0.json');
  const input = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001));

  let start = performance.now();
  await init();
  const glimpse = new Playground(onnx, config);
  const glimpseLoad = performance.now() - start;
  log(`glimpse loaded in ${glimpseLoad.toFixed(0)} ms`);

  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/ort/';
  start = performance.now();
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  const ortLoad = performance.now() - start;
  log(`onnxruntime-web loaded in ${ortLoad.toFixed(0)} ms`);
  const feeds = { input: new ort.Tensor('float32', input, [1, 3, 224, 224]) };

  // Same answer first: a benchmark of two different computations would mean nothing.
  const a = glimpse.logits(input);
  const b = (await session.run(feeds)).logits.data;
  const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  log(`max |glimpse − ort| over the logits: ${maxDiff.toExponential(2)}`);

  const glimpseTime = await time(() => glimpse.logits(input));
  log(`glimpse forward: median ${glimpseTime.median.toFixed(1)} ms`);

  const ortTime = await time(() => session.run(feeds));
  log(`onnxruntime-web forward: median ${ortTime.median.toFixed(1)} ms`);

  const { data, width, height } = await pixels('/examples/chelsea.png');
  glimpse.setImage(data, width, height, 5);
  const explain = (method) => glimpse.explain(0, JSON.stringify(method), 282, () => {});
  const gradientTime = await time(() => explain({ method: 'gradient' }));
  log(`glimpse forward + backward: median ${gradientTime.median.toFixed(1)} ms`);
  const methodTimes = {};
  for (const { signed, ...method } of methods()) {
    // A new seed each run: the explainer would otherwise reuse SmoothGrad's last passes.
    let run = 0;
    const next = () => ('seed' in method ? { ...method, seed: run++ } : method);
    methodTimes[method.method] = await time(() => explain(next()), METHOD_RUNS, 1);
    log(`${method.method}: median ${methodTimes[method.method].median.toFixed(0)} ms`);
  }

  window.benchResult = {
    runs: RUNS, maxDiff,
    glimpse: { load: glimpseLoad, ...glimpseTime },
    gradient: gradientTime,
    methods: methodTimes,
    ort: { load: ortLoad, ...ortTime },
    ratio: glimpseTime.median / ortTime.median,
  };
}

async function pixels(url) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob(),
    { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  return { data: new Uint8Array(data.buffer), width: bitmap.width, height: bitmap.height };
}

main().catch((error) => { window.benchResult = { error: String(error.stack ?? error) }; log(String(error)); });
