// Shared by the benchmark pages: the run counts from the address, a log on the page, timing
// with warm-up and medians, and fetching bytes.

const params = new URLSearchParams(location.search);
export const RUNS = Number(params.get('runs') ?? 20);
export const WARMUP = 3;
// Methods at their defaults take up to hundreds of passes each: fewer runs, one warm-up.
export const METHOD_RUNS = Number(params.get('method-runs') ?? 3);
/** Whether to time this method: every one, or those named in `methods=a,b`. */
export const timed = (name) => !params.get('methods') || params.get('methods').split(',').includes(name);

export const log = (line) => { document.getElementById('log').textContent += `\n${line}`; };

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` `warmup` times, then times `runs` runs: {median, min, samples} in ms. */
export async function time(fn, runs = RUNS, warmup = WARMUP) {
  for (let i = 0; i < warmup; i++) await fn();
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return { median: median(samples), min: Math.min(...samples), samples };
}

/** An image's RGBA pixels as the browser decodes it, unconverted: {data, width, height}. */
export async function pixels(url) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob(),
    { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  return { data: new Uint8Array(data.buffer), width: bitmap.width, height: bitmap.height };
}

export async function bytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Runs the page's benchmark and leaves its figures (or its error) in `window.benchResult`
 * for run.mjs: `main` returns {maxDiff, glimpseLoad, glimpseTime, gradientTime, methodTimes,
 * ortLoad, ortTime} and, optionally, `more`: other forward passes timed both ways, each
 * {label, maxDiff, glimpse, ort}.
 */
export function start(main) {
  main().then(
    (t) => {
      window.benchResult = {
        runs: RUNS,
        maxDiff: t.maxDiff,
        glimpse: { load: t.glimpseLoad, ...t.glimpseTime },
        gradient: t.gradientTime,
        methods: t.methodTimes,
        ort: { load: t.ortLoad, ...t.ortTime },
        ratio: t.glimpseTime.median / t.ortTime.median,
        more: t.more ?? [],
      };
    },
    (error) => { window.benchResult = { error: String(error.stack ?? error) }; log(String(error)); },
  );
}

/** Loads the model both ways, timed: Glimpse (`makeGlimpse`, after the wasm's `init`) and an
 * onnxruntime-web session (wasm backend, one thread). */
export async function loadBoth(init, makeGlimpse, ort, onnx) {
  let begin = performance.now();
  await init();
  const glimpse = makeGlimpse();
  const glimpseLoad = performance.now() - begin;
  log(`glimpse loaded in ${glimpseLoad.toFixed(0)} ms`);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/ort/';
  begin = performance.now();
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  const ortLoad = performance.now() - begin;
  log(`onnxruntime-web loaded in ${ortLoad.toFixed(0)} ms`);
  return { glimpse, glimpseLoad, session, ortLoad };
}
