// @ts-check
// Runs in a module Web Worker: loads Glimpse's wasm, holds the model, answers the page.
// Messages in: {id, type, ...}:
//   'load-model' {modelUrl, configUrl}  → {name, labels, methods, colormaps, layers, gradientsUnavailable}
//   'classify' {image: Blob}            → {view: {width, height, rgba}, top: [{index, label, prob}]}
//                                         (also makes it the image that 'explain' explains)
//   'set-baseline' {image: Blob}        → {view} (the custom baseline, as the model sees it)
//   'explain' {tile, method, target}    → {method, layer, completeness, segments, signed, shape}
//   'plan' {method, target}             → passes (a forward-only method, laid out on the image)
//   'scores' {method, target, start, end} → Float32Array (scores of passes start..end)
//   'finish' {tile, method, target, scores} → as 'explain', from every pass's score
//   'render' {request}                  → [{tile, rgba, scale, colormap}]
//   'colorbar' {colormap, width, height} → Uint8Array (RGBA)
//   'forget' {tile}                     → null
//   'load-text-model' {modelUrl, configUrl, tokenizerUrl} → {name, labels, examples, methods,
//                                         colormaps, shape: {layers, heads, maxLength}}
//   'set-text' {text}                   → {tokens: [{token, start, end, word}], truncated, top}
//   'agreement'                         → [{attention, other, tau}] (Kendall's τ between tiles)
// With `mode: 'text'`, 'explain', 'plan', 'scores', 'finish', 'render' and 'forget' go to the
// text model, on the sentence set last.
// Messages out: {id, type: 'progress', progress: {stage, done, total, unit}} (done and total in
// passes or bytes, as unit says, when they are known) then {id, type: 'done', result} or
// {id, type: 'error', message, fatal}. `fatal`: the wasm trapped (a panic, out of memory), so
// this worker's instance can no longer be trusted and the engine replaces it.

import init, {
  Playground, TextPlayground, checkImageFile, colorbar, colormaps, methods, textMethods, trapForTests,
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
    let result;
    let transfer = [];
    // The end-to-end test names a request type here (Playwright evaluates in the worker) to
    // make the next such request trap, as running out of memory would.
    const flags = /** @type {any} */ (self);
    if (flags.glimpseTrapOn === type) {
      flags.glimpseTrapOn = null;
      trapForTests();
    }
    if (type === 'load-model') {
      playgroundReady = loadModel(data, progress);
      result = await playgroundReady;
    } else if (type === 'load-text-model') {
      textReady = loadTextModel(data, progress);
      result = await textReady;
    } else if (data.mode === 'text' || type === 'set-text' || type === 'agreement') {
      [result, transfer] = await answerText(data, progress);
    } else {
      const model = await loaded();
      if (type === 'classify') {
        const { pixels, width, height } = await decode(data.image, progress);
        progress('Running the model');
        result = model.setImage(pixels, width, height, 5);
        transfer = [result.view.rgba.buffer, result.view.grey.buffer];
      } else if (type === 'set-baseline') {
        const { pixels, width, height } = await decode(data.image, progress);
        result = { view: model.setBaseline(pixels, width, height) };
        transfer = [result.view.rgba.buffer, result.view.grey.buffer];
      } else if (type === 'explain') {
        const stage = data.stage ?? data.method.method;
        progress(stage);
        result = model.explain(data.tile, JSON.stringify(data.method), data.target, passes(progress, stage));
      } else if (type === 'plan') {
        result = model.plan(JSON.stringify(data.method), data.target);
      } else if (type === 'scores') {
        result = model.scores(JSON.stringify(data.method), data.target, data.start, data.end, () => {});
        transfer = [result.buffer];
      } else if (type === 'finish') {
        result = model.finish(data.tile, JSON.stringify(data.method), data.target, data.scores);
      } else if (type === 'render') {
        result = model.render(JSON.stringify(data.request));
        transfer = result.map((tile) => tile.rgba.buffer);
      } else if (type === 'colorbar') {
        result = colorbar(data.colormap, data.width, data.height);
        transfer = [result.buffer];
      } else if (type === 'forget') {
        model.forget(data.tile);
        result = null;
      } else {
        throw new Error(`Unknown request ${type}`);
      }
    }
    postMessage({ id, type: 'done', result }, transfer);
  } catch (error) {
    const fatal = error instanceof WebAssembly.RuntimeError || /recursive use of an object/.test(messageOf(error));
    const message = fatal
      ? `The engine crashed (${messageOf(error)}); it has been restarted. Run the method again, or with lighter settings.`
      : messageOf(error);
    postMessage({ id, type: 'error', message, fatal });
  }
};

/** A request about the sentence, answered by the text model. */
async function answerText(data, progress) {
  if (!textReady) throw new Error('No text model is loaded.');
  await textReady;
  const model = textPlayground;
  const method = () => JSON.stringify(data.method);
  switch (data.type) {
    case 'set-text':
      progress('Reading the sentence');
      return [model.setText(data.text), []];
    case 'explain': {
      const stage = data.stage ?? data.method.method;
      progress(stage);
      return [model.explain(data.tile, method(), data.target, passes(progress, stage)), []];
    }
    case 'plan':
      return [model.plan(method(), data.target), []];
    case 'scores': {
      const scores = model.scores(method(), data.target, data.start, data.end, () => {});
      return [scores, [scores.buffer]];
    }
    case 'finish':
      return [model.finish(data.tile, method(), data.target, data.scores), []];
    case 'render': {
      const tiles = model.render(JSON.stringify(data.request));
      return [tiles, tiles.flatMap((t) => (t.matrix ? [t.matrix.rgba.buffer] : []))];
    }
    case 'forget':
      model.forget(data.tile);
      return [null, []];
    case 'agreement':
      return [model.agreement(), []];
    default:
      throw new Error(`Unknown text request ${data.type}`);
  }
}

async function loadTextModel({ modelUrl, configUrl, tokenizerUrl }, progress) {
  progress('Starting the engine');
  await wasmReady;
  const config = await download(configUrl, 'text model description', () => {});
  const tokenizer = await download(tokenizerUrl, 'tokenizer', () => {});
  const onnx = await download(modelUrl, 'text model', (done, total) =>
    progress('Downloading the text model', { done, total, unit: 'bytes' }));
  progress('Preparing the text model (optimising its graph)');
  textPlayground?.free();
  textPlayground = null;
  textPlayground = new TextPlayground(onnx, config, tokenizer);
  return {
    name: textPlayground.name,
    labels: textPlayground.labels(),
    examples: textPlayground.examples(),
    methods: textMethods(),
    colormaps: colormaps(),
    shape: textPlayground.shape(),
  };
}

async function loaded() {
  if (!playgroundReady) throw new Error('No model is loaded.');
  await playgroundReady;
  return playground;
}

async function loadModel({ modelUrl, configUrl }, progress) {
  progress('Starting the engine');
  await wasmReady;
  const config = await download(configUrl, 'model description', () => {});
  const onnx = await download(modelUrl, 'model', (done, total) =>
    progress('Downloading the model', { done, total, unit: 'bytes' }));
  progress('Preparing the model (optimising its graph)');
  playground?.free();
  playground = null;
  playground = new Playground(onnx, config);
  const unavailable = playground.gradientsUnavailable();
  return {
    name: playground.name,
    labels: playground.labels(),
    methods: methods(),
    colormaps: colormaps(),
    layers: unavailable ? null : playground.layers(),
    gradientsUnavailable: unavailable ?? null,
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
