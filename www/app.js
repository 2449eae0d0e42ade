// @ts-check
// The page: two modes, images and sentences. For images: examples, upload, the top five and the
// explanation grid (grid.js); for sentences: a text box, examples, the prediction and the text
// view (text.js). Progress, cancel and errors are shared. All computation happens in the
// workers (engine.js → worker.js → Rust); this file only moves bytes and draws what comes back.

import { progressText } from './dom.js';
import { Cancelled, Engine } from './engine.js';
import { Grid } from './grid.js';
import { Models } from './models.js';
import { TextView } from './text.js';

/** The image model the page ships; a model brought by the person replaces it (models.js). */
const BUNDLED = {
  id: 'bundled',
  name: 'EfficientNet-Lite0 (ImageNet, 1000 classes)',
  payload: { modelUrl: 'models/efficientnet-lite0.onnx', configUrl: 'models/efficientnet-lite0.json' },
};
const BUNDLED_TEXT = {
  id: 'bundled-text',
  name: 'all-MiniLM-L6-v2 sentiment (negative, positive)',
  payload: {
    modelUrl: 'models/minilm-sentiment.onnx',
    configUrl: 'models/minilm-sentiment.json',
    tokenizerUrl: 'models/minilm-tokenizer.json',
  },
};
const EXAMPLES = [
  { file: 'chelsea.png', title: 'Chelsea the cat' },
  { file: 'coffee.png', title: 'A cup of coffee' },
  { file: 'rocket.jpg', title: 'A rocket launch' },
  { file: 'astronaut.png', title: 'An astronaut' },
];

/** An element by id; `any`, since each is used as the kind of element the page made it. */
const $ = (id) => /** @type {any} */ (document.getElementById(id));
const ui = {
  examples: $('examples'), dropzone: $('dropzone'), file: $('file'),
  status: $('status'), progress: $('progress'), statusText: $('status-text'), cancel: $('cancel'),
  error: $('error'), errorText: $('error-text'), errorClose: $('error-close'),
  result: $('result'), view: $('model-view'), viewCaption: $('model-view-caption'), top5: $('top5'),
  explanations: $('explanations'), modelName: $('model-name'),
  bringRoot: $('bring-root'), imageModels: $('image-models'), textModels: $('text-models'),
  imageTab: $('mode-images'), textTab: $('mode-text'), imageMode: $('image-mode'), textMode: $('text-mode'),
  textExamples: $('text-examples'), textForm: $('text-form'), sentence: $('sentence'),
  textResult: $('text-result'), textTop: $('text-top'),
  truncated: $('truncated'), textExplanations: $('text-explanations'), sentenceHint: $('sentence-hint'),
};

const engine = new Engine({ onProgress: showProgress, onRestart: restarted, size: poolSize() });
let grid = newGrid();
const models = new Models({
  engine, bundled: { image: BUNDLED, text: BUNDLED_TEXT }, onError: showError,
  onUse: (kind, source) => (kind === 'text' ? loadTextModel(source) : loadModel(source)),
  roots: { panel: ui.bringRoot, image: ui.imageModels, text: ui.textModels },
});
let textView = newTextView();

/** 'image' or 'text': which half of the page shows. */
let mode = 'image';
/** What 'load-text-model' answered, once it has; the model it is; the request in flight. */
let textModel = null;
let textSource = BUNDLED_TEXT;
let textLoading = null;
/** The newest sentence read: {text, ...what 'set-text' answered}; the text the workers hold. */
let currentText = null;
let workerText = null;
let reading = null;
let latestText = 0;

/** What 'load-model' answered, once it has; the model it is (`BUNDLED`, or one brought). */
let model = null;
let source = BUNDLED;
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

function showProgress(progress) {
  ui.status.classList.remove('idle');
  ui.statusText.textContent = `${progressText(progress)}…`;
  if (progress.total) ui.progress.value = progress.done / progress.total;
  else ui.progress.removeAttribute('value');
  ui.cancel.hidden = false;
  grid.progress(progress);
  textView.progress(progress);
}

function showIdle(text) {
  ui.status.classList.add('idle');
  ui.statusText.textContent = text;
  ui.cancel.hidden = true;
}

/** Once nothing runs: says where things stand. */
function settle() {
  if (mode === 'text') {
    if (textLoading || reading || textView.busy || !textModel) return;
    if (!currentText) showIdle('Ready. Type a sentence or pick an example.');
    else showIdle(`Done: “${shorten(currentText.text)}”. ${textView.summary()}`.trim());
    return;
  }
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

function newGrid() {
  return new Grid({ engine, root: ui.explanations, prepareImage, onIdle: settle, onTarget: markTarget });
}

/**
 * Loads a model into every worker (the one in use again after a restart); resolves with
 * whether it loaded. A model that fails leaves the one before it in place.
 */
async function loadModel(next = source) {
  const switching = next !== source;
  if (switching) {
    clearError();
    grid.interrupt();
  }
  const request = engine.request('load-model', next.payload);
  loading = request;
  try {
    const info = await request;
    if (next !== source) {
      source = next;
      workerImage = null;
      grid = newGrid();
      ui.explanations.hidden = true;
    }
    model = info;
    grid.setModel(info);
    models.using('image', source.id);
    describeModels();
    if (switching && current) classify(current.image, current.name);
    return true;
  } catch (error) {
    if (error instanceof Cancelled) return false; // the engine restarted and loads the model in use again
    if (!model) ui.modelName.textContent = 'The model could not be loaded.';
    showIdle('');
    showError(switching ? `${next.name} could not be loaded: ${error.message}` : error.message);
    models.using('image', source.id);
    return false;
  } finally {
    if (loading === request) loading = null;
    settle();
  }
}

/** The footer: which models, and where they run. */
function describeModels() {
  const workers = engine.size === 1 ? 'one Web Worker' : `${engine.size} Web Workers`;
  const names = [model && `Images: ${model.name}.`, textModel && `Sentences: ${textModel.name}.`];
  ui.modelName.textContent = `${names.filter(Boolean).join(' ')} Weights and code run locally, in WebAssembly, on ${workers}.`;
}

/** The worker was replaced (Cancel, or a crash): it must load the model and image again. */
function restarted() {
  workerImage = null;
  workerText = null;
  grid.workerLost();
  textView.workerLost();
  loadModel();
  if (textModel || textLoading) loadTextModel();
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
  // A small input (28×28) is shown with its pixels visible, not blurred.
  ui.view.classList.toggle('pixelated', Math.max(width, height) < 112);
  ui.viewCaption.textContent = `${name}, as the model sees it: ${width}×${height}, resized and centre-cropped.`;
}

function drawTop(top) {
  ui.top5.replaceChildren(...top.map((prediction) => rankedItem(prediction, () => grid.setTarget(prediction.index))));
  markTarget(grid.target);
}

/** One ranked class, as a button that makes it the class explained. */
function rankedItem({ label, prob, index }, pick) {
  const item = document.createElement('li');
  item.dataset.index = index;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'pick';
  button.title = `Explain “${label}”`;
  button.addEventListener('click', pick);
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
  button.append(row, bar);
  item.append(button);
  return item;
}

/** Marks the explained class in the top five. */
function markTarget(index) {
  markIn(ui.top5, index);
}

function markIn(list, index) {
  for (const item of list.children) {
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

// ---- Sentences ------------------------------------------------------------------------------

function newTextView() {
  return new TextView({ engine, root: ui.textExplanations, prepareSentence, onIdle: settle, onTarget: markTextTarget });
}

/** As `loadModel`, for the text model: resolves with whether it loaded. */
async function loadTextModel(next = textSource) {
  const switching = next !== textSource;
  if (switching) {
    clearError();
    textView.interrupt();
  }
  const request = engine.request('load-text-model', next.payload);
  textLoading = request;
  if (switching) setMode('text');
  try {
    const info = await request;
    if (next !== textSource) {
      textSource = next;
      workerText = null;
      textView = newTextView();
      ui.textExplanations.hidden = true;
    }
    textModel = info;
    textView.setModel(info);
    models.using('text', textSource.id);
    setUpTextExamples(info.examples);
    ui.sentenceHint.textContent = `Ctrl+Enter reads it too. The model reads the first ${info.shape.maxLength} tokens.`;
    describeModels();
    ui.textForm.querySelector('button').disabled = false;
    if (switching && currentText) readSentence(currentText.text);
    return true;
  } catch (error) {
    if (error instanceof Cancelled) return false;
    showIdle('');
    showError(switching ? `${next.name} could not be loaded: ${error.message}` : `The text model could not be loaded: ${error.message}`);
    models.using('text', textSource.id);
    return false;
  } finally {
    if (textLoading === request) textLoading = null;
    settle();
  }
}

/** Reads a sentence, shows the prediction, and starts explaining it. */
async function readSentence(text) {
  const job = ++latestText;
  clearError();
  textView.interrupt();
  if (!textModel) await textLoading;
  if (!textModel) return;
  const request = engine.request('set-text', { text });
  reading = request;
  let result;
  try {
    result = await request;
  } catch (error) {
    if (reading === request) reading = null;
    if (job !== latestText) return;
    if (error instanceof Cancelled) {
      showIdle('Cancelled.');
      return;
    }
    showIdle('');
    showError(error.message);
    return;
  }
  if (reading === request) reading = null;
  workerText = text;
  if (job !== latestText) return;
  currentText = { text, ...result };
  drawTextTop(result.top);
  const tokens = result.tokens.length;
  ui.truncated.hidden = !result.truncated;
  ui.truncated.textContent = `The model reads only its first ${textModel.shape.maxLength} tokens; the rest of the text is greyed out below.`;
  ui.textResult.hidden = false;
  showIdle(`Read ${tokens} tokens.`);
  textView.setSentence(currentText);
}

/** Before a text explanation: waits for a reading in flight, or sends the sentence again. */
async function prepareSentence() {
  while (reading) await reading.catch(() => {});
  if (!currentText) throw new Error('No sentence is loaded.');
  if (workerText !== currentText.text) {
    const { text } = currentText;
    await engine.request('set-text', { text });
    workerText = text;
  }
}

function drawTextTop(top) {
  ui.textTop.replaceChildren(...top.map((prediction) => rankedItem(prediction, () => textView.setTarget(prediction.index))));
  markTextTarget(textView.target);
}

function markTextTarget(index) {
  markIn(ui.textTop, index);
}

function setUpTextExamples(examples) {
  ui.textExamples.replaceChildren(...examples.map((text) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'sentence-example';
    button.textContent = shorten(text, 60);
    button.title = text;
    button.addEventListener('click', () => {
      for (const other of ui.textExamples.children) other.setAttribute('aria-pressed', String(other === button));
      ui.sentence.value = text;
      readSentence(text);
    });
    return button;
  }));
}

function setUpTextForm() {
  ui.sentence.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) ui.textForm.requestSubmit();
  });
  ui.textForm.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const other of ui.textExamples.children) other.setAttribute('aria-pressed', 'false');
    readSentence(ui.sentence.value);
  });
}

function shorten(text, length = 40) {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > length ? `${flat.slice(0, length - 1)}…` : flat;
}

// ---- Modes --------------------------------------------------------------------------------

function setMode(next) {
  mode = next;
  const text = next === 'text';
  ui.imageMode.hidden = text;
  ui.textMode.hidden = !text;
  ui.imageTab.setAttribute('aria-selected', String(!text));
  ui.textTab.setAttribute('aria-selected', String(text));
  const hash = text ? '#sentences' : '';
  if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
  if (text && !textModel && !textLoading) loadTextModel();
  settle();
}

ui.imageTab.addEventListener('click', () => setMode('image'));
ui.textTab.addEventListener('click', () => setMode('text'));
setUpTextForm();

ui.cancel.addEventListener('click', () => engine.cancel());
ui.errorClose.addEventListener('click', clearError);
setUpExamples();
setUpUpload();
loadModel();
setMode(location.hash === '#sentences' ? 'text' : 'image');

/**
 * How many workers share the forward-only methods: one per core, up to four (each holds its own
 * copy of the model), or `?workers=N` in the address (the benchmark compares 1 with N).
 */
function poolSize() {
  const asked = Number(new URLSearchParams(location.search).get('workers'));
  if (Number.isInteger(asked) && asked >= 1) return Math.min(asked, 16);
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 2, 4));
}
