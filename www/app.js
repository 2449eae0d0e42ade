// The page: examples, upload, progress, results, and the explanation grid (grid.js). All
// computation happens in the worker (engine.js → worker.js → Rust); this file only moves bytes
// and draws what comes back.

import { Cancelled, Engine } from './engine.js';
import { Grid } from './grid.js';

const MODEL = { modelUrl: 'models/efficientnet-lite0.onnx', configUrl: 'models/efficientnet-lite0.json' };
const EXAMPLES = [
  { file: 'chelsea.png', title: 'Chelsea the cat' },
  { file: 'coffee.png', title: 'A cup of coffee' },
  { file: 'rocket.jpg', title: 'A rocket launch' },
  { file: 'astronaut.png', title: 'An astronaut' },
];

const $ = (id) => document.getElementById(id);
const ui = {
  examples: $('examples'), dropzone: $('dropzone'), file: $('file'),
  status: $('status'), progress: $('progress'), statusText: $('status-text'), cancel: $('cancel'),
  error: $('error'), errorText: $('error-text'), errorClose: $('error-close'),
  result: $('result'), view: $('model-view'), viewCaption: $('model-view-caption'), top5: $('top5'),
  explanations: $('explanations'), modelName: $('model-name'),
};

const engine = new Engine({ onProgress: showProgress, onRestart: restarted, size: poolSize() });
const grid = new Grid({
  engine, root: ui.explanations, prepareImage, onIdle: settle, onTarget: markTarget,
});

/** What 'load-model' answered, once it has. */
let model = null;
/** The 'load-model' request in flight. */
let loading = null;
/** The newest image picked; answers for older ones are ignored. */
let latestJob = 0;
/** The 'classify' request of the newest image, while it is in flight. */
let classifying = null;
/** The newest image classified: {image: Blob, name}. */
let current = null;
/** The image the worker holds (it explains that one); null after the worker restarted. */
let workerImage = null;

function showProgress(stage, fraction) {
  ui.status.classList.remove('idle');
  ui.statusText.textContent = `${stage}…`;
  if (fraction === null || fraction === undefined) ui.progress.removeAttribute('value');
  else ui.progress.value = fraction;
  ui.cancel.hidden = false;
  grid.progress(stage, fraction);
}

function showIdle(text) {
  ui.status.classList.add('idle');
  ui.statusText.textContent = text;
  ui.cancel.hidden = true;
}

/** Once nothing runs: says where things stand. */
function settle() {
  if (loading || classifying || grid.busy) return;
  if (!model) return;
  if (!current) showIdle('Ready. Pick an example or drop an image.');
  else showIdle(`Done: ${current.name}. ${grid.summary()}`.trim());
}

function showError(message) {
  ui.errorText.textContent = message;
  ui.error.hidden = false;
}

function clearError() {
  ui.error.hidden = true;
  ui.errorText.textContent = '';
}

async function loadModel() {
  const request = engine.request('load-model', MODEL);
  loading = request;
  try {
    const info = await request;
    model = info;
    grid.setModel(info);
    const workers = engine.size === 1 ? 'one Web Worker' : `${engine.size} Web Workers`;
    ui.modelName.textContent = `Model: ${info.name}. Weights and code run locally, in WebAssembly, on ${workers}.`;
  } catch (error) {
    if (error instanceof Cancelled) return; // the engine restarted and loads the model again
    ui.modelName.textContent = 'The model could not be loaded.';
    showIdle('');
    showError(error.message);
  } finally {
    if (loading === request) loading = null;
  }
  settle();
}

/** The worker was replaced (Cancel, or a crash): it must load the model and image again. */
function restarted() {
  workerImage = null;
  grid.workerLost();
  loadModel();
}

/** Classifies an image, shows the top five, and starts explaining it. */
async function classify(image, name) {
  const job = ++latestJob;
  clearError();
  // The old image's maps are about to be useless: stop the one computing rather than wait.
  grid.interrupt();
  const request = engine.request('classify', { image });
  classifying = request;
  let result;
  try {
    result = await request;
  } catch (error) {
    if (classifying === request) classifying = null;
    if (job !== latestJob) return;
    if (error instanceof Cancelled) {
      showIdle('Cancelled.');
      return;
    }
    showIdle('');
    showError(`${name}: ${error.message}`);
    return;
  }
  if (classifying === request) classifying = null;
  workerImage = image; // even if a newer image was picked meanwhile: the worker holds this one
  if (job !== latestJob) return;
  current = { image, name };
  drawView(result.view, name);
  drawTop(result.top);
  ui.result.hidden = false;
  showIdle(`Done: ${name}.`);
  grid.setImage(result.view, result.top);
}

/** Before an explanation: waits for a classification in flight, or sends the image again. */
async function prepareImage() {
  while (classifying) await classifying.catch(() => {});
  if (!current) throw new Error('No image is loaded.');
  if (workerImage !== current.image) {
    const { image } = current;
    await engine.request('classify', { image });
    workerImage = image;
  }
}

function drawView({ width, height, rgba }, name) {
  ui.view.width = width;
  ui.view.height = height;
  const pixels = new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), width, height);
  ui.view.getContext('2d').putImageData(pixels, 0, 0);
  ui.viewCaption.textContent = `${name}, as the model sees it: ${width}×${height}, resized and centre-cropped.`;
}

function drawTop(top) {
  ui.top5.replaceChildren(...top.map(({ label, prob, index }) => {
    const item = document.createElement('li');
    item.dataset.index = index;
    // Each row is a button: it makes that class the one explained.
    const pick = document.createElement('button');
    pick.type = 'button';
    pick.className = 'pick';
    pick.title = `Explain “${label}”`;
    pick.addEventListener('click', () => grid.setTarget(index));
    const row = document.createElement('div');
    row.className = 'row';
    const name = document.createElement('span');
    name.className = 'label';
    name.textContent = label;
    const percent = document.createElement('span');
    percent.className = 'prob';
    percent.textContent = `${(prob * 100).toFixed(1)}%`;
    row.append(name, percent);
    const bar = document.createElement('div');
    bar.className = 'bar';
    const fill = document.createElement('div');
    fill.style.width = `${Math.max(prob * 100, 0.5)}%`;
    bar.append(fill);
    pick.append(row, bar);
    item.append(pick);
    return item;
  }));
  markTarget(grid.target);
}

/** Marks the explained class in the top five. */
function markTarget(index) {
  for (const item of ui.top5.children) {
    const chosen = Number(item.dataset.index) === index;
    item.classList.toggle('target', chosen);
    item.querySelector('.pick').setAttribute('aria-pressed', String(chosen));
  }
}

function setUpExamples() {
  for (const { file, title } of EXAMPLES) {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.example = file;
    const img = document.createElement('img');
    img.src = `examples/${file}`;
    img.alt = '';
    button.append(img, title);
    button.addEventListener('click', async () => {
      for (const other of ui.examples.children) other.setAttribute('aria-pressed', String(other === button));
      try {
        const response = await fetch(`examples/${file}`);
        if (!response.ok) throw new Error(`Could not load the example (${response.status}).`);
        await classify(await response.blob(), title);
      } catch (error) {
        showError(error.message);
      }
    });
    ui.examples.append(button);
  }
}

function useFile(file) {
  if (!file) return;
  for (const other of ui.examples.children) other.setAttribute('aria-pressed', 'false');
  classify(file, file.name);
}

function setUpUpload() {
  ui.file.addEventListener('change', () => {
    useFile(ui.file.files[0]);
    ui.file.value = '';
  });
  for (const type of ['dragenter', 'dragover']) {
    ui.dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      ui.dropzone.classList.add('over');
    });
  }
  for (const type of ['dragleave', 'drop']) {
    ui.dropzone.addEventListener(type, () => ui.dropzone.classList.remove('over'));
  }
  ui.dropzone.addEventListener('drop', (event) => {
    event.preventDefault();
    useFile(event.dataTransfer.files[0]);
  });
}

ui.cancel.addEventListener('click', () => engine.cancel());
ui.errorClose.addEventListener('click', clearError);
setUpExamples();
setUpUpload();
loadModel();

/**
 * How many workers share the forward-only methods: one per core, up to four (each holds its own
 * copy of the model), or `?workers=N` in the address (the benchmark compares 1 with N).
 */
function poolSize() {
  const asked = Number(new URLSearchParams(location.search).get('workers'));
  if (Number.isInteger(asked) && asked >= 1) return Math.min(asked, 16);
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));
}
