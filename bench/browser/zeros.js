// Does a forward pass cost more on the inputs occlusion and RISE make (a window of zeros, an
// image under a smooth mask) than on the image itself? EfficientNet-Lite0, Glimpse's wasm and
// onnxruntime-web (the yardstick) on the same inputs, the inputs taken in turn within each run
// so that the machine's noise falls on all of them alike. zeros.mjs serves this page.

import init, { Playground } from '/glimpse/glimpse.js';
import * as ort from '/ort/ort.wasm.min.mjs';
import { RUNS, WARMUP, bytes, loadBoth, log, median } from './timing.js';

const SIDE = 224;
const PLANE = SIDE * SIDE;

/** The inputs: an image-like one, then what the forward-only methods make of it. */
function inputs() {
  const image = Float32Array.from({ length: 3 * PLANE }, (_, i) => Math.sin(i * 0.001) * 1.5);
  const at = (c, y, x) => c * PLANE + y * SIDE + x;
  // Occlusion's default window: 16×16 of zeros (and a large one, a quarter of the image).
  const window = (side) => {
    const x = image.slice();
    for (let c = 0; c < 3; c++) for (let y = 100; y < 100 + side; y++) for (let i = 100; i < 100 + side; i++) x[at(c, y, i)] = 0;
    return x;
  };
  // RISE: the image under a smooth mask in 0‥1 (a bilinear 7×7 grid of 0s and 1s, as RISE
  // upsamples), most of it near 0.
  const mask = (y, x) => {
    const gy = (y / SIDE) * 6;
    const gx = (x / SIDE) * 6;
    const cell = (a, b) => ((a * 7 + b * 3) % 5 === 0 ? 1 : 0);
    const [y0, x0] = [Math.floor(gy), Math.floor(gx)];
    const [fy, fx] = [gy - y0, gx - x0];
    return (1 - fy) * ((1 - fx) * cell(y0, x0) + fx * cell(y0, x0 + 1)) + fy * ((1 - fx) * cell(y0 + 1, x0) + fx * cell(y0 + 1, x0 + 1));
  };
  const masked = image.map((v, i) => v * mask(Math.floor((i % PLANE) / SIDE), i % SIDE));
  return {
    image,
    'window 16×16 of zeros': window(16),
    'window 112×112 of zeros': window(112),
    'RISE-like mask': masked,
    'all zeros': new Float32Array(3 * PLANE),
    'tiny (1e-30)': new Float32Array(3 * PLANE).fill(1e-30),
  };
}

async function main() {
  const onnx = await bytes('/models/efficientnet-lite0.onnx');
  const config = await bytes('/models/efficientnet-lite0.json');
  const { glimpse, glimpseLoad, session, ortLoad } = await loadBoth(init, () => new Playground(onnx, config), ort, onnx);
  const all = Object.entries(inputs());
  const feeds = (x) => ({ input: new ort.Tensor('float32', x, [1, 3, SIDE, SIDE]) });
  const samples = Object.fromEntries(all.map(([name]) => [name, { glimpse: [], ort: [] }]));
  for (let run = -WARMUP; run < RUNS; run++) {
    for (const [name, x] of all) {
      let begin = performance.now();
      glimpse.logits(x);
      const g = performance.now() - begin;
      begin = performance.now();
      await session.run(feeds(x));
      const o = performance.now() - begin;
      if (run >= 0) {
        samples[name].glimpse.push(g);
        samples[name].ort.push(o);
      }
    }
  }
  const result = {};
  for (const [name, { glimpse: g, ort: o }] of Object.entries(samples)) {
    result[name] = { glimpse: median(g), ort: median(o) };
    log(`${name}: glimpse ${median(g).toFixed(1)} ms, onnxruntime-web ${median(o).toFixed(1)} ms`);
  }
  return { glimpseLoad, ortLoad, result };
}

main().then((r) => { window.benchResult = r; }, (e) => { window.benchResult = { error: String(e.stack ?? e) }; });
