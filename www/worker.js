// Runs in a module Web Worker: loads Glimpse's wasm, holds the model, answers the page.
// Messages in: {id, type: 'load-model', modelUrl, configUrl} | {id, type: 'classify', image: Blob}.
// Messages out: {id, type: 'progress', stage, fraction} then {id, type: 'done', result} or
// {id, type: 'error', message}.

import init, { Classifier, checkImageFile } from './glimpse.js';

const MAX_FILE_BYTES = 200 * 1024 * 1024;
const wasmReady = init();
let classifier = null;
let classifierReady = null;

self.onmessage = async ({ data }) => {
  const { id, type } = data;
  const progress = (stage, fraction = null) => postMessage({ id, type: 'progress', stage, fraction });
  try {
    let result;
    let transfer = [];
    if (type === 'load-model') {
      classifierReady = loadModel(data, progress);
      result = await classifierReady;
    } else if (type === 'classify') {
      result = await classify(data.image, progress);
      transfer = [result.view.rgba.buffer];
    } else {
      throw new Error(`Unknown request ${type}`);
    }
    postMessage({ id, type: 'done', result }, transfer);
  } catch (error) {
    postMessage({ id, type: 'error', message: messageOf(error) });
  }
};

async function loadModel({ modelUrl, configUrl }, progress) {
  progress('Starting the engine');
  await wasmReady;
  const config = await download(configUrl, 'model description', () => {});
  const onnx = await download(modelUrl, 'model', (done, total) =>
    progress(`Downloading the model: ${mb(done)} of ${mb(total)}`, total ? done / total : null));
  progress('Preparing the model (optimising its graph)');
  classifier?.free();
  classifier = null;
  classifier = new Classifier(onnx, config);
  return { name: classifier.name };
}

async function classify(image, progress) {
  if (!classifierReady) throw new Error('No model is loaded.');
  await classifierReady;
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
  const pixels = context.getImageData(0, 0, width, height).data;
  progress('Running the model');
  return classifier.classify(new Uint8Array(pixels.buffer), width, height, 5);
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

function mb(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}
