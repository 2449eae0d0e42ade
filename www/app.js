// The page: examples, upload, progress, results. All computation happens in the worker
// (engine.js → worker.js → Rust); this file only moves bytes and draws what comes back.

import { Cancelled, Engine } from './engine.js';

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
  modelName: $('model-name'),
};

const engine = new Engine({ onProgress: showProgress, onRestart: loadModel });
let latestJob = 0;

function showProgress(stage, fraction) {
  ui.status.classList.remove('idle');
  ui.statusText.textContent = `${stage}…`;
  if (fraction === null || fraction === undefined) ui.progress.removeAttribute('value');
  else ui.progress.value = fraction;
  ui.cancel.hidden = false;
}

function showIdle(text) {
  ui.status.classList.add('idle');
  ui.statusText.textContent = text;
  ui.cancel.hidden = true;
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
  try {
    const { name } = await engine.request('load-model', MODEL);
    ui.modelName.textContent = `Model: ${name}. Weights and code run locally, in WebAssembly.`;
    showIdle('Ready. Pick an example or drop an image.');
  } catch (error) {
    if (error instanceof Cancelled) return; // the engine restarted and loads the model again
    ui.modelName.textContent = 'The model could not be loaded.';
    showIdle('');
    showError(error.message);
  }
}

async function classify(image, name) {
  const job = ++latestJob;
  clearError();
  try {
    const result = await engine.request('classify', { image });
    if (job !== latestJob) return;
    drawView(result.view, name);
    drawTop(result.top);
    ui.result.hidden = false;
    showIdle(`Done: ${name}.`);
  } catch (error) {
    if (job !== latestJob) return;
    if (error instanceof Cancelled) {
      showIdle('Cancelled.');
      return;
    }
    showIdle('');
    showError(`${name}: ${error.message}`);
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
    item.append(row, bar);
    return item;
  }));
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
