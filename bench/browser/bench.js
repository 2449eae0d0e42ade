// Times one forward pass of the same ONNX file with Glimpse's wasm (tract) and with
// onnxruntime-web (wasm backend, one thread), on the same input, in the same page; then one
// gradient, and every explanation method at its defaults on chelsea.
// run.mjs serves this page and reads `window.benchResult`.

import init, { Playground, methods } from '/glimpse/glimpse.js';
import * as ort from '/ort/ort.wasm.min.mjs';
import { METHOD_RUNS, bytes, loadBoth, log, pixels, start, time, timed } from './timing.js';

async function main() {
  const onnx = await bytes('/models/efficientnet-lite0.onnx');
  const config = await bytes('/models/efficientnet-lite0.json');
  const input = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001));

  const { glimpse, glimpseLoad, session, ortLoad } = await loadBoth(init, () => new Playground(onnx, config), ort, onnx);
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
  for (const { defaults: method } of methods().filter(({ id }) => timed(id))) {
    // A new seed each run: the explainer would otherwise reuse SmoothGrad's last passes.
    let run = 0;
    const next = () => ('seed' in method ? { ...method, seed: run++ } : method);
    methodTimes[method.method] = await time(() => explain(next()), METHOD_RUNS, 1);
    log(`${method.method}: median ${methodTimes[method.method].median.toFixed(0)} ms`);
  }

  return { maxDiff, glimpseLoad, glimpseTime, gradientTime, methodTimes, ortLoad, ortTime };
}

start(main);
