// @ts-check
// Runs in a module Web Worker: loads Glimpse's wasm, holds the model, answers the page.
// Messages in: {id, type, ...}:
//   'load-model' {modelUrl, configUrl} or {onnx: Uint8Array, config: string} → {name, labels,
//                                         methods, colormaps, drawing, layers, unavailable: {method:
//                                         why it cannot run on this model}}; a model that fails
//                                         to load leaves the one before it in place
//   'inspect-model' {onnx}              → what the file holds (model::inspect::Inspection)
//   'read-labels' {bytes}               → [label] (a labels file: lines, or JSON)
//   'check-description' {json, kind}    → the description ('image' or 'text') as the CLI reads
//                                         it (JSON text)
//   'classify' {image: Blob}            → {view: {width, height, rgba}, top: [{index, label, prob}]}
//                                         (also makes it the image that 'explain' explains)
//   'set-baseline' {image: Blob}        → {view} (the custom baseline, as the model sees it)
//   'explain' {tile, method, target}    → {method, layer, completeness, segments, signed, shape}
//   'plan' {method, target}             → passes (a forward-only method, laid out on the image)
//   'scores' {method, target, start, end} → Float32Array (scores of passes start..end)
//   'finish' {tile, method, target, scores} → as 'explain', from every pass's score
//   'sums-round' {method, target}       → {nodes: [{at, weight}], chunk, done, total} (a summed
//                                       gradient method laid out afresh: its first round)
//   'sums' {method, target, nodes: Float64Array (at, weight, ...), start, end} → {sum, squares,
//                                       values} (Float64Array, Float64Array or null, Float32Array:
//                                       passes start..end of the round)
//   'absorb' {tile, method, target, parts: [sums of each chunk, in order]} → {round} (the next)
//                                       or {done: as 'explain'}
//   'render' {request}                  → [{tile, rgba, scale, colormap}]
//   'colorbar' {colormap, width, height} → Uint8Array (RGBA)
//   'forget' {tile}                     → null
//   'values' {tile}                     → Float32Array (the tile's map as the metrics rank it)
//   'measure-plan' {metric, target, values} → passes (a metric, laid out on the subject and map)
//   'measure-scores' {metric, target, values, start, end} → Float32Array
//   'measure-finish' {metric, target, values, scores} → {fractions, scores, auc} (a sweep) or
//                                       {rate, low, high, confidence, samples, exact, prediction,
//                                        shown, features, radius} (soft stability)
//   'raw-map' {tile}                    → Float32Array (the image tile's map as its method made it)
//   'sensitivity-plan' {metric}         → noisy inputs (sensitivity remakes the map on each)
//   'sensitivity-scores' {metric, method, target, original, start, end} → Float32Array (each
//                                       remade map's relative change from the original)
//   'sensitivity-finish' {metric, scores} → {changes, max}
//   'randomisation-steps' {metric}    → [{layers, label}] (the sanity check's steps on this model)
//   'randomisation-step' {metric, step, target, maps: [{tile, method}], values} → {step, label,
//                                       layers, maps: [{tile, similarity, picture}]}
//   'load-text-model' {modelUrl, configUrl, tokenizerUrl} or {onnx, config, tokenizer} → {name,
//                                         labels, examples, methods, colormaps, shape: {layers,
//                                         heads, maxLength}, unavailable}
//   'set-text' {text}                   → {tokens: [{token, start, end, word}], truncated, top}
//   'agreement'                         → [{attention, other, tau}] (Kendall's τ between tiles)
// With `mode: 'text'`, the verbs about maps and metrics go to the
// text model, on the sentence set last.
// Messages out: {id, type: 'progress', progress: {stage, done, total, unit}} (done and total in
// passes or bytes, as unit says, when they are known) then {id, type: 'done', result} or
// {id, type: 'error', message, fatal}. `fatal`: the wasm trapped (a panic, out of memory), so
// this worker's instance can no longer be trusted and the engine replaces it.

import init, {
  Playground, TextPlayground, checkDescription, checkImageFile, colorbar, colormaps, drawingDefaults, inspectModel,
  methods, metrics, readLabels, textMethods, trapForTests,
  // @ts-ignore: wasm-bindgen writes this module when Trunk builds the page.
} from './glimpse.js';

const MAX_FILE_BYTES = 200 * 1024 * 1024;
const wasmReady = init();
let playground = null;
let playgroundReady = null;
let textPlayground = null;
let textReady = null;

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  const progress = (stage, counts = {}) => postMessage({ id, type: 'progress', progress: { stage, ...counts } });
  try {
    // The end-to-end test names a request type here (Playwright evaluates in the worker) to
    // make the next such request trap, as running out of memory would.
    const flags = /** @type {any} */ (self);
    if (flags.glimpseTrapOn === type) {
      flags.glimpseTrapOn = null;
      trapForTests();
    }
    const verb = VERBS[type];
    if (!verb) throw new Error(`Unknown request ${type}`);
    const [result, transfer = []] = await verb(data, progress);
    postMessage({ id, type: 'done', result }, transfer);
  } catch (error) {
    const fatal = error instanceof WebAssembly.RuntimeError || /recursive use of an object/.test(messageOf(error));
    const message = fatal
      ? `The engine crashed (${messageOf(error)}); it has been restarted. Run the method again, or with lighter settings.`
      : messageOf(error);
    postMessage({ id, type: 'error', message, fatal });
  }
};

/**
 * Every request, one verb each: `(data, progress) → [result, transfer]`. The verbs about maps
 * (explain, plan, scores, finish, sums-round, sums, absorb, render, forget) are the same for images and sentences: they
 * go to the session of the request's mode.
 */
const VERBS = {
  'load-model': async (data, progress) => [
    await replacing(loadModel(data, progress), playgroundReady, (ready) => { playgroundReady = ready; }),
  ],
  'inspect-model': async (data) => {
    await wasmReady;
    return [inspectModel(data.onnx)];
  },
  'read-labels': async (data) => {
    await wasmReady;
    return [readLabels(data.bytes)];
  },
  'check-description': async (data) => {
    await wasmReady;
    return [checkDescription(new TextEncoder().encode(data.json), data.kind ?? 'image')];
  },
  'load-text-model': async (data, progress) => [
    await replacing(loadTextModel(data, progress), textReady, (ready) => { textReady = ready; }),
  ],
  classify: async (data, progress) => {
    const model = await session('image');
    const { pixels, width, height } = await decode(data.image, progress);
    progress('Running the model');
    const result = model.setImage(pixels, width, height, 5);
    return [result, [result.view.rgba.buffer, result.view.grey.buffer]];
  },
  'set-baseline': async (data, progress) => {
    const model = await session('image');
    const { pixels, width, height } = await decode(data.image, progress);
    const view = model.setBaseline(pixels, width, height);
    return [{ view }, [view.rgba.buffer, view.grey.buffer]];
  },
  'set-text': async (data, progress) => {
    const model = await session('text');
    progress('Reading the sentence');
    return [model.setText(data.text)];
  },
  explain: async (data, progress) => {
    const model = await session(data.mode);
    const stage = data.stage ?? data.method.method;
    progress(stage);
    return [model.explain(data.tile, JSON.stringify(data.method), data.target, passes(progress, stage))];
  },
  plan: async (data) => [(await session(data.mode)).plan(JSON.stringify(data.method), data.target)],
  scores: async (data) => {
    const model = await session(data.mode);
    const scores = model.scores(JSON.stringify(data.method), data.target, data.start, data.end, () => {});
    return [scores, [scores.buffer]];
  },
  finish: async (data) => [
    (await session(data.mode)).finish(data.tile, JSON.stringify(data.method), data.target, data.scores),
  ],
  'sums-round': async (data) => [(await session(data.mode)).sumsRound(JSON.stringify(data.method), data.target)],
  sums: async (data) => {
    const model = await session(data.mode);
    const part = model.sums(JSON.stringify(data.method), data.target, data.nodes, data.start, data.end, () => {});
    return [part, [part.sum, part.squares, part.values].filter(Boolean).map((a) => a.buffer)];
  },
  absorb: async (data) => [
    (await session(data.mode)).absorb(data.tile, JSON.stringify(data.method), data.target, data.parts),
  ],
  render: async (data) => {
    const tiles = (await session(data.mode)).render(JSON.stringify(data.request));
    // Image tiles carry a colour layer; text tiles, perhaps a matrix.
    return [tiles, tiles.flatMap((t) => [t.rgba, t.matrix?.rgba].filter(Boolean).map((b) => b.buffer))];
  },
  values: async (data) => {
    const values = (await session(data.mode)).values(data.tile);
    return [values, [values.buffer]];
  },
  'measure-plan': async (data) => [
    (await session(data.mode)).measurePlan(JSON.stringify(data.metric), data.target, data.values),
  ],
  'measure-scores': async (data) => {
    const model = await session(data.mode);
    const scores = model.measureScores(JSON.stringify(data.metric), data.target, data.values, data.start, data.end);
    return [scores, [scores.buffer]];
  },
  'raw-map': async (data) => {
    const raw = (await session('image')).rawMap(data.tile);
    return [raw, [raw.buffer]];
  },
  'sensitivity-plan': async (data) => [(await session('image')).sensitivityPlan(JSON.stringify(data.metric))],
  'sensitivity-scores': async (data) => {
    const changes = (await session('image')).sensitivityScores(JSON.stringify(data.metric), JSON.stringify(data.method),
      data.target, data.original, data.start, data.end, () => {});
    return [changes, [changes.buffer]];
  },
  'sensitivity-finish': async (data) => [
    (await session('image')).sensitivityFinish(JSON.stringify(data.metric), data.scores),
  ],
  'randomisation-steps': async (data) => [(await session(data.mode)).randomisationSteps(JSON.stringify(data.metric))],
  'randomisation-step': async (data) => [
    (await session(data.mode)).randomisationStep(JSON.stringify(data.metric), data.step, data.target,
      JSON.stringify(data.maps), data.values, () => {}),
  ],
  'measure-finish': async (data) => [
    (await session(data.mode)).measureFinish(JSON.stringify(data.metric), data.target, data.values, data.scores),
  ],
  forget: async (data) => {
    (await session(data.mode)).forget(data.tile);
    return [null];
  },
  agreement: async () => [(await session('text')).agreement()],
  colorbar: async (data) => {
    await wasmReady;
    const bar = colorbar(data.colormap, data.width, data.height);
    return [bar, [bar.buffer]];
  },
};

/**
 * A model loading (`attempt`) in place of the one `previous` loaded: until it has loaded,
 * requests wait for it (`setReady` stores what they wait on); if it fails, the model before it
 * stays. Resolves or rejects as `attempt` does.
 */
function replacing(attempt, previous, setReady) {
  setReady(attempt.catch((error) => {
    setReady(previous);
    if (!previous) throw error;
    return previous;
  }));
  return attempt;
}

/** The loaded session of a mode: the image playground, or the text one. */
async function session(mode) {
  if (mode === 'text') {
    if (!textReady) throw new Error('No text model is loaded.');
    await textReady;
    return textPlayground;
  }
  if (!playgroundReady) throw new Error('No model is loaded.');
  await playgroundReady;
  return playground;
}

/** The text model at the URLs, or one brought as bytes (`onnx`, `config` and `tokenizer` text). */
async function loadTextModel({ modelUrl, configUrl, tokenizerUrl, onnx, config, tokenizer }, progress) {
  progress('Starting the engine');
  await wasmReady;
  const text = (value) => new TextEncoder().encode(value);
  const description = config ? text(config) : await download(configUrl, 'text model description', () => {});
  const vocabulary = tokenizer ? text(tokenizer) : await download(tokenizerUrl, 'tokenizer', () => {});
  const bytes = onnx ?? await download(modelUrl, 'text model', (done, total) =>
    progress('Downloading the text model', { done, total, unit: 'bytes' }));
  progress('Preparing the text model (optimising its graph)');
  const next = new TextPlayground(bytes, description, vocabulary);
  textPlayground?.free();
  textPlayground = next;
  return {
    name: textPlayground.name,
    labels: textPlayground.labels(),
    examples: textPlayground.examples(),
    methods: textMethods(),
    metrics: metrics(),
    colormaps: colormaps(),
    shape: textPlayground.shape(),
    unavailable: textPlayground.unavailable(),
  };
}

/** The model at `modelUrl` with its description at `configUrl`, or one brought as bytes. */
async function loadModel({ modelUrl, configUrl, onnx, config }, progress) {
  progress('Starting the engine');
  await wasmReady;
  const description = config ? new TextEncoder().encode(config) : await download(configUrl, 'model description', () => {});
  const bytes = onnx ?? await download(modelUrl, 'model', (done, total) =>
    progress('Downloading the model', { done, total, unit: 'bytes' }));
  progress('Preparing the model (optimising its graph)');
  const next = new Playground(bytes, description);
  playground?.free();
  playground = next;
  let layers = null;
  try {
    layers = playground.layers();
  } catch {
    // No layer a CAM can look at: the CAMs are listed as unavailable, with why.
  }
  return {
    name: playground.name,
    labels: playground.labels(),
    methods: methods(),
    metrics: metrics(),
    colormaps: colormaps(),
    drawing: drawingDefaults(),
    layers,
    unavailable: playground.unavailable(),
  };
}

/** The image's RGBA pixels, decoded by the browser. */
async function decode(image, progress) {
  if (image.size === 0) throw new Error('The file is empty.');
  if (image.size > MAX_FILE_BYTES) {
    throw new Error(`The file is ${mb(image.size)}; Glimpse accepts images up to ${mb(MAX_FILE_BYTES)}.`);
  }
  progress('Reading the image');
  checkImageFile(new Uint8Array(await image.arrayBuffer()));
  let bitmap;
  try {
    bitmap = await createImageBitmap(image, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`This file is not an image the browser can read${image.type ? ` (${image.type})` : ''}.`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const pixels = new Uint8Array(context.getImageData(0, 0, width, height).data.buffer);
  return { pixels, width, height };
}

async function download(url, what, onProgress) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not download the ${what} (${response.status} ${response.statusText}).`);
  const total = Number(response.headers.get('Content-Length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let done = 0;
  for (;;) {
    const { done: finished, value } = await reader.read();
    if (finished) break;
    chunks.push(value);
    done += value.length;
    onProgress(done, total);
  }
  const bytes = new Uint8Array(done);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** The core's progress callback: passes done of the total, as structured progress. */
function passes(progress, stage) {
  return (done, total) => progress(stage, { done, total, unit: 'pass' });
}

function mb(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}
