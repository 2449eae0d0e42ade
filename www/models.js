// @ts-check
// Your own model: a picker in each mode (the bundled model and every model of that kind
// brought before), and the "Bring your own model" panel. Dropped files are read here and handed
// to a worker: it inspects the ONNX file (inputs, outputs, operators, what kind of classifier it
// looks like, what stops it), reads a labels file, and checks the description the form makes
// exactly as the CLI reads it. An image model needs only its description; a text model its
// tokenizer.json too. Models are kept in this browser (IndexedDB) until removed; nothing is
// uploaded.

import { el, field, option } from './dom.js';

/** The largest model the page takes: every worker keeps its own copy, and tract another while
 * it optimises, in WebAssembly's 4 GB. */
export const MAX_MODEL_BYTES = 300 * 1024 * 1024;
const MAX_SIDE_FILE_BYTES = 20 * 1024 * 1024;

/** Normalisations, each as mean and std in 0‥255 pixel units for red, green, blue. */
const NORMALISATIONS = [
  { id: 'imagenet', title: 'ImageNet: x/255, then mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)',
    mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], colour: true },
  { id: 'minus-one', title: 'x/127.5 − 1: pixels to −1‥1 (Keras “tf”, Inception, MobileNet)', mean: [127.5], std: [127.5] },
  { id: 'unit', title: 'x/255: pixels to 0‥1', mean: [0], std: [255] },
  { id: 'none', title: 'None: pixels 0‥255 as they are', mean: [0], std: [1] },
  { id: 'caffe', title: 'ImageNet’s mean subtracted, 0‥255 (Keras “caffe”, usually BGR)',
    mean: [123.68, 116.779, 103.939], std: [1, 1, 1], colour: true },
  { id: 'custom', title: 'Custom: the mean and std below' },
];

/**
 * The saved models, in this browser's IndexedDB: `{id, kind: 'image' | 'text', name,
 * description, tokenizer (text models), onnx: Blob, bytes, added}`.
 */
export class Shelf {
  #db;

  constructor(db) {
    this.#db = db;
  }

  /** Opens the shelf; `null` where the browser keeps nothing (IndexedDB unavailable). */
  static async open() {
    if (typeof indexedDB === 'undefined') return null;
    try {
      const db = await done(Object.assign(indexedDB.open('glimpse', 1), {
        onupgradeneeded: (/** @type {any} */ event) => event.target.result.createObjectStore('models', { keyPath: 'id' }),
      }));
      return new Shelf(db);
    } catch {
      return null;
    }
  }

  /** Every saved model but its bytes, oldest first. */
  async list() {
    const all = await done(this.#store('readonly').getAll());
    return all.map(({ id, kind, name, bytes, added }) => ({ id, kind: kind ?? 'image', name, bytes, added }))
      .sort((a, b) => a.added - b.added);
  }

  get(id) {
    return done(this.#store('readonly').get(id));
  }

  put(record) {
    return done(this.#store('readwrite').put(record));
  }

  remove(id) {
    return done(this.#store('readwrite').delete(id));
  }

  #store(mode) {
    return this.#db.transaction('models', mode).objectStore('models');
  }
}

/** An IndexedDB request as a promise. */
function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('The browser refused to keep the model.'));
  });
}

/**
 * The pickers and the panel. `onUse(kind, source)` loads a model of that kind (`{id, name,
 * payload}`, where `payload` is what the workers' 'load-model' or 'load-text-model' takes) and
 * resolves with whether it loaded.
 */
export class Models {
  #engine;
  #onUse;
  /** The bundled model of each kind. */
  #bundled;
  /** @type {Shelf | null} */
  #shelf = null;
  #ui;
  /** Each picker: {select, remove, toggle}, by kind. */
  #pickers = {};
  /** The id of the model in use, by kind. */
  #current = {};
  /** The dropped model: {name, bytes: Uint8Array, inspection, kind, tokenizer?: string}. */
  #brought = null;
  #imagenetLabels = null;

  /**
   * @param {object} options
   * @param {import('./engine.js').Engine} options.engine
   * @param {{image: {id: string, name: string, payload: object}, text: {id: string, name: string, payload: object}}} options.bundled
   * @param {(kind: string, source: {id: string, name: string, payload: object}) => Promise<boolean>} options.onUse
   * @param {(message: string) => void} options.onError
   * @param {{panel: HTMLElement, image: HTMLElement, text: HTMLElement}} options.roots where the
   *   panel and each mode's picker go
   */
  constructor({ engine, bundled, onUse, onError, roots }) {
    this.#engine = engine;
    this.#onUse = onUse;
    this.#bundled = bundled;
    this.onError = onError;
    this.#ui = this.#build(roots.panel);
    for (const kind of ['image', 'text']) {
      this.#current[kind] = bundled[kind].id;
      this.#pickers[kind] = this.#picker(kind, roots[kind]);
    }
    this.#refresh();
    Shelf.open().then((shelf) => {
      this.#shelf = shelf;
      if (!shelf) this.#ui.kept.textContent = 'This browser keeps no models (IndexedDB is unavailable): bring it again next time.';
      this.#refresh();
    });
  }

  /** The model of `kind` in use changed (it loaded): its picker shows it. */
  using(kind, id) {
    this.#current[kind] = id;
    const picker = this.#pickers[kind];
    picker.select.value = id;
    picker.remove.hidden = id === this.#bundled[kind].id;
  }

  // ---- The pickers --------------------------------------------------------------------------

  #picker(kind, root) {
    const prefix = kind === 'image' ? '' : 'text-';
    const select = el('select', { id: `${prefix}model-select` });
    const remove = el('button', { type: 'button', id: `${prefix}model-remove`, hidden: true }, 'Remove from this browser');
    const toggle = el('button', { type: 'button', className: 'bring-toggle', id: `${prefix}bring-toggle`, 'aria-expanded': 'false', 'aria-controls': 'bring' },
      'Bring your own model…');
    root.replaceChildren(el('div', { className: 'model-bar' }, field('Model', select), remove, toggle));
    select.addEventListener('change', () => this.#pick(kind, select.value));
    remove.addEventListener('click', () => this.#remove(kind));
    toggle.addEventListener('click', () => this.#toggle());
    return { select, remove, toggle };
  }

  #toggle(open = this.#ui.panel.hidden) {
    this.#ui.panel.hidden = !open;
    for (const { toggle } of Object.values(this.#pickers)) toggle.setAttribute('aria-expanded', String(open));
  }

  #build(root) {
    const files = el('input', { type: 'file', id: 'bring-files', multiple: true, accept: '.onnx,.json,.txt' });
    const drop = el('label', { className: 'dropzone', id: 'bring-drop' }, files,
      el('span', {}, 'Drop your ', el('b', {}, '.onnx'), ' file here, with its description (', el('b', {}, '.json'),
        ') and labels (', el('b', {}, '.txt'), ' one a line, or ', el('b', {}, '.json'), ') if you have them, or ',
        el('u', {}, 'choose files'), '.'));
    const found = el('div', { id: 'bring-found', className: 'found' });
    const form = el('form', { id: 'bring-form', className: 'bring-form', hidden: true });
    const kept = el('p', { className: 'note' }, 'Models you bring are kept in this browser until you remove them. Nothing is uploaded.');
    const panel = el('section', { className: 'bring', id: 'bring', hidden: true, 'aria-labelledby': 'bring-heading' },
      el('h2', { id: 'bring-heading' }, 'Bring your own model'),
      el('p', { className: 'hint' }, 'A classifier exported to ONNX (PyTorch, Keras through tf2onnx, Hugging Face): an image or token ids in, one row of class scores out. ',
        'A text model comes with its tokenizer.json. The page reads the files, shows what it found, and asks for what they cannot say.'),
      drop, found, form, kept);
    root.replaceChildren(panel);

    files.addEventListener('change', () => {
      this.#take([...files.files]);
      files.value = '';
    });
    for (const type of ['dragenter', 'dragover']) {
      drop.addEventListener(type, (event) => {
        event.preventDefault();
        drop.classList.add('over');
      });
    }
    for (const type of ['dragleave', 'drop']) drop.addEventListener(type, () => drop.classList.remove('over'));
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      this.#take([...event.dataTransfer.files]);
    });
    return { panel, found, form, kept };
  }

  async #refresh() {
    const saved = this.#shelf ? await this.#shelf.list().catch(() => []) : [];
    for (const [kind, { select, remove }] of Object.entries(this.#pickers)) {
      const bundled = this.#bundled[kind];
      const current = this.#current[kind];
      select.replaceChildren(
        option(bundled.id, bundled.name, current === bundled.id),
        ...saved.filter((m) => m.kind === kind).map((m) => option(m.id, `${m.name} (yours, ${mb(m.bytes)})`, current === m.id)));
      remove.hidden = current === bundled.id;
    }
  }

  async #pick(kind, id) {
    const { select } = this.#pickers[kind];
    if (id === this.#bundled[kind].id) {
      if (!await this.#onUse(kind, this.#bundled[kind])) select.value = this.#current[kind];
      return;
    }
    const record = await this.#shelf?.get(id);
    if (!record) return this.onError('That model is no longer kept in this browser.');
    const onnx = new Uint8Array(await record.onnx.arrayBuffer());
    const payload = { onnx, config: record.description, ...(record.tokenizer ? { tokenizer: record.tokenizer } : {}) };
    if (!await this.#onUse(kind, { id, name: record.name, payload })) select.value = this.#current[kind];
  }

  async #remove(kind) {
    const id = this.#current[kind];
    if (id === this.#bundled[kind].id || !this.#shelf) return;
    await this.#shelf.remove(id);
    await this.#onUse(kind, this.#bundled[kind]);
    await this.#refresh();
  }

  // ---- Dropped files ------------------------------------------------------------------------

  /** Sorts dropped files into the model, a description, a tokenizer, labels; reads each. */
  async #take(files) {
    const onnx = files.find((f) => /\.onnx$/i.test(f.name));
    const others = files.filter((f) => f !== onnx);
    try {
      if (onnx) await this.#inspect(onnx);
      // A tokenizer first: a text description's form shows what it found in it.
      const json = await Promise.all(others.map(async (file) => ({ file, parsed: await parseJson(file) })));
      const rank = ({ parsed }) => (isTokenizer(parsed) ? 0 : isDescription(parsed) ? 1 : 2);
      for (const item of json.sort((a, b) => rank(a) - rank(b))) await this.#side(item.file, item.parsed);
      if (!onnx && !this.#brought) throw new Error('Drop the model’s .onnx file too: the description, tokenizer and labels go with it.');
    } catch (error) {
      this.onError(error.message);
    }
  }

  async #inspect(file) {
    this.#brought = null;
    this.#ui.form.hidden = true;
    if (file.size === 0) throw new Error(`${file.name} is empty.`);
    if (file.size > MAX_MODEL_BYTES) {
      throw new Error(`${file.name} is ${mb(file.size)}; the page holds models up to ${mb(MAX_MODEL_BYTES)} (each worker keeps its own copy). The CLI takes larger ones.`);
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    this.#ui.found.replaceChildren(el('p', {}, `Reading ${file.name}…`));
    let inspection;
    try {
      inspection = await this.#engine.request('inspect-model', { onnx: bytes });
    } catch (error) {
      this.#ui.found.replaceChildren(el('p', { className: 'refusal' }, `${file.name} is not an ONNX model Glimpse can read: ${error.message}`));
      return;
    }
    this.#ui.found.replaceChildren(...found(file, inspection));
    if (inspection.refusal) return;
    const kind = inspection.kind.kind === 'text' ? 'text' : 'image';
    this.#brought = { name: file.name.replace(/\.onnx$/i, ''), bytes, inspection, kind, tokenizer: null };
    this.#fillForm(kind === 'image' ? guess(this.#brought.name, inspection) : guessText(this.#brought.name, inspection, null));
  }

  /** A description, a tokenizer or a labels file, told apart by what they hold. */
  async #side(file, parsed = undefined) {
    if (file.size > MAX_SIDE_FILE_BYTES) throw new Error(`${file.name} is ${mb(file.size)}: too large for a description, tokenizer or labels.`);
    const content = parsed === undefined ? await parseJson(file) : parsed;
    if (!this.#brought) throw new Error(`${file.name}: drop the model’s .onnx file first, or with it.`);
    if (isTokenizer(content)) return this.#takeTokenizer(file);
    if (isDescription(content)) return this.#loadDescription(file.name, new Uint8Array(await file.arrayBuffer()));
    const labels = await this.#engine.request('read-labels', { bytes: new Uint8Array(await file.arrayBuffer()) })
      .catch((error) => {
        throw new Error(`${file.name}: ${error.message}`);
      });
    this.#ui.form.elements.labels.value = labels.join('\n');
    this.#checkLabels();
  }

  async #takeTokenizer(file) {
    if (this.#brought.kind !== 'text') throw new Error(`${file.name} is a tokenizer, and ${this.#brought.name} is an image model.`);
    this.#brought.tokenizer = await file.text();
    // The special tokens' ids come from the tokenizer: fill them in, keeping what was typed.
    const fields = this.#ui.form.elements;
    const guessed = guessText(this.#brought.name, this.#brought.inspection, JSON.parse(this.#brought.tokenizer));
    for (const name of ['pad', 'cls', 'sep']) if (guessed[name] !== '') fields[name].value = guessed[name];
    this.#ui.form.querySelector('#bring-tokenizer').textContent = `Tokenizer: ${file.name} (${mb(file.size)}).`;
  }

  async #loadDescription(fileName, bytes) {
    const { kind } = this.#brought;
    const checked = await this.#engine.request('check-description', { json: new TextDecoder().decode(bytes), kind })
      .catch((error) => {
        throw new Error(`${fileName} is not a description of ${kind === 'text' ? 'a text' : 'an image'} model Glimpse can follow: ${error.message}`);
      });
    const description = JSON.parse(checked);
    const { inspection } = this.#brought;
    const images = imageInputs(inspection).map((i) => i.input);
    if (kind === 'image' && description.input && !images.includes(description.input)) {
      throw new Error(`${fileName} names the input ${description.input}, which is not one of ${this.#brought.name}'s image inputs (${images.join(', ') || inspection.inputs.map((i) => i.name).join(', ')}).`);
    }
    this.#fillForm(kind === 'image' ? fromDescription(description) : fromTextDescription(description));
  }

  // ---- The description form -----------------------------------------------------------------

  /** Builds the form for the brought model's kind and fills it with `values`. */
  #fillForm(values) {
    const { form } = this.#ui;
    const { inspection, kind } = this.#brought;
    const classes = inspection.classes;
    const imagenet = el('button', { type: 'button', hidden: classes !== 1000 }, 'ImageNet’s 1000 labels');
    const labelsFile = el('input', { type: 'file', accept: '.txt,.json', id: 'bring-labels-file' });
    const descriptionFile = el('input', { type: 'file', accept: '.json', id: 'bring-description-file' });
    form.replaceChildren(
      el('h3', {}, 'Describe it'),
      kind === 'image' ? imageFields(inspection) : textFields(inspection),
      el('div', { className: 'bring-labels' },
        field('Labels', el('textarea', { name: 'labels', rows: 5, placeholder: 'one class a line, in output order; none: “class 0”, “class 1”, …' }),
          classes ? `The model has ${classes} outputs.` : 'The file does not say how many outputs.'),
        el('div', { className: 'bring-buttons' },
          el('label', { className: 'button', htmlFor: 'bring-labels-file' }, labelsFile, 'Labels from a file…'), imagenet),
        el('p', { className: 'note', id: 'bring-labels-check' })),
      el('div', { className: 'bring-buttons' },
        el('button', { type: 'submit', className: 'primary' }, 'Explain with this model'),
        el('button', { type: 'button', name: 'save' }, 'Save the description (.json)'),
        el('label', { className: 'button', htmlFor: 'bring-description-file' }, descriptionFile, 'Load a description…')));
    form.hidden = false;
    const fields = form.elements;
    for (const [name, value] of Object.entries(values)) {
      if (fields[name]) fields[name].value = value;
    }
    if (kind === 'image') this.#syncForm();
    this.#checkLabels();

    form.onchange = (event) => {
      if (kind !== 'image') return;
      // Another input as the image: its size, layout and channels.
      if (event.target === fields.image_input) {
        const image = imageInputs(this.#brought.inspection).find((i) => i.input === fields.image_input.value);
        for (const [name, value] of Object.entries(imageGuess(image))) fields[name].value = value;
      }
      this.#syncForm();
    };
    fields.labels.oninput = () => this.#checkLabels();
    labelsFile.onchange = () => {
      if (labelsFile.files[0]) this.#side(labelsFile.files[0], null).catch((e) => this.onError(e.message));
      labelsFile.value = '';
    };
    descriptionFile.onchange = () => {
      const file = descriptionFile.files[0];
      if (file) file.arrayBuffer().then((b) => this.#loadDescription(file.name, new Uint8Array(b))).catch((e) => this.onError(e.message));
      descriptionFile.value = '';
    };
    imagenet.onclick = async () => {
      try {
        this.#imagenetLabels ??= (await (await fetch('models/efficientnet-lite0.json')).json()).labels;
        fields.labels.value = this.#imagenetLabels.join('\n');
        this.#checkLabels();
      } catch {
        this.onError('ImageNet’s labels could not be read.');
      }
    };
    fields.save.onclick = () => this.#save();
    form.onsubmit = (event) => {
      event.preventDefault();
      this.#use();
    };
  }

  /** Shows the fields that apply: the channel order for colour, the custom numbers for custom. */
  #syncForm() {
    const fields = this.#ui.form.elements;
    const grey = fields.channels.value === '1';
    fields.order.disabled = grey;
    if (grey) fields.order.value = 'RGB';
    for (const o of fields.normalisation.options) {
      o.disabled = grey && Boolean(NORMALISATIONS.find((n) => n.id === o.value)?.colour);
    }
    if (fields.normalisation.selectedOptions[0]?.disabled) fields.normalisation.value = 'unit';
    const custom = fields.normalisation.value === 'custom';
    for (const name of ['scale', 'mean', 'std']) fields[name].closest('.field').hidden = !custom;
    fields.mean.required = custom;
    fields.std.required = custom;
  }

  #labels() {
    const lines = this.#ui.form.elements.labels.value.split('\n').map((l) => l.trim());
    while (lines.length && !lines[lines.length - 1]) lines.pop();
    return lines;
  }

  #checkLabels() {
    const count = this.#labels().length;
    const classes = this.#brought?.inspection.classes;
    const line = this.#ui.form.querySelector('#bring-labels-check');
    if (!line) return;
    line.textContent = !count ? 'No labels: the classes will be called “class 0”, “class 1”, ….'
      : classes && count !== classes ? `${count} labels for ${classes} outputs: check that they are the model’s.`
        : `${count} labels.`;
    line.classList.toggle('warning', Boolean(classes && count && count !== classes));
  }

  /** The description the form says, as the CLI reads it. */
  #description() {
    const fields = this.#ui.form.elements;
    const { kind, inspection, name } = this.#brought;
    if (kind === 'text') {
      const classes = inspection.classes ?? this.#labels().length;
      return {
        name: fields.name.value.trim() || name,
        // A text model without labels still needs one per class: "class i".
        labels: this.#labels().length ? this.#labels() : Array.from({ length: classes }, (_, i) => `class ${i}`),
        tokenizer: 'tokenizer.json',
        max_length: Number(fields.max_length.value),
        inputs: {
          input_ids: fields.ids.value,
          attention_mask: fields.mask.value,
          ...(fields.types.value ? { token_type_ids: fields.types.value } : {}),
        },
        outputs: { logits: inspection.outputs[0].name },
        special_tokens: { pad: Number(fields.pad.value), cls: Number(fields.cls.value), sep: Number(fields.sep.value) },
        pooling: fields.pooling.value,
        examples: [],
      };
    }
    const channels = Number(fields.channels.value);
    const order = fields.order.value;
    let mean;
    let std;
    if (fields.normalisation.value === 'custom') {
      const unit = Number(fields.scale.value) === 1 ? 255 : 1;
      mean = numbers(fields.mean.value, 'mean', channels).map((m) => m * unit);
      std = numbers(fields.std.value, 'std', channels).map((s) => s * unit);
    } else {
      const preset = NORMALISATIONS.find((n) => n.id === fields.normalisation.value);
      const per = (values) => (values.length === 1 ? Array(channels).fill(values[0]) : values);
      mean = per(preset.mean);
      std = per(preset.std);
      if (order === 'BGR') [mean, std] = [[...mean].reverse(), [...std].reverse()];
    }
    return {
      name: fields.name.value.trim() || name,
      ...(fields.image_input ? { input: fields.image_input.value } : {}),
      preprocess: {
        height: Number(fields.height.value), width: Number(fields.width.value), resize_short_side: Number(fields.resize.value),
        mean, std, layout: fields.layout.value, channels, channel_order: order,
      },
      output: fields.output.value,
      labels: this.#labels(),
    };
  }

  /** The form's description, checked by the core as the CLI would read it (JSON text). */
  #checked() {
    const { kind } = this.#brought;
    return this.#engine.request('check-description', { json: JSON.stringify(this.#description()), kind });
  }

  /** Downloads the description as JSON. */
  async #save() {
    try {
      const json = await this.#checked();
      const link = el('a', { href: URL.createObjectURL(new Blob([json], { type: 'application/json' })), download: `${this.#brought.name}.json` });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    } catch (error) {
      this.onError(`The description cannot be saved: ${error.message}`);
    }
  }

  /** Loads the model in every worker; once it runs, keeps it in the browser. */
  async #use() {
    let config;
    try {
      config = await this.#checked();
    } catch (error) {
      return this.onError(`The description cannot be followed: ${error.message}`);
    }
    const { bytes, kind, tokenizer } = this.#brought;
    if (kind === 'text' && !tokenizer) return this.onError('A text model needs its tokenizer: drop its tokenizer.json.');
    const name = JSON.parse(config).name;
    const id = `model-${Date.now()}`;
    const payload = { onnx: bytes, config, ...(kind === 'text' ? { tokenizer } : {}) };
    if (!await this.#onUse(kind, { id, name, payload })) return;
    try {
      await this.#shelf?.put({ id, kind, name, description: config, tokenizer, onnx: new Blob([bytes]), bytes: bytes.length, added: Date.now() });
    } catch (error) {
      this.#ui.kept.textContent = `This browser would not keep the model (${error.message}): bring it again next time.`;
    }
    this.using(kind, id);
    await this.#refresh();
    this.#toggle(false);
  }
}

/** A file's JSON, or null when it is not JSON (a labels .txt). */
async function parseJson(file) {
  if (!/\.json$/i.test(file.name) || file.size > MAX_SIDE_FILE_BYTES) return null;
  try {
    return JSON.parse(await file.text());
  } catch {
    return null;
  }
}

function isTokenizer(json) {
  return Boolean(json && typeof json === 'object' && 'model' in json && ('added_tokens' in json || 'normalizer' in json || 'pre_tokenizer' in json));
}

function isDescription(json) {
  return Boolean(json && typeof json === 'object' && ('preprocess' in json || ('max_length' in json && 'inputs' in json)));
}

/** The inputs that could take the image, the inspection's guess first. */
function imageInputs({ kind }) {
  return kind.kind === 'image' ? [kind, ...kind.others] : [];
}

/** The image form's fields; which input is the image, for a model with several. */
function imageFields(inspection) {
  const images = imageInputs(inspection);
  return el('div', { className: 'bring-fields' },
    field('Name', el('input', { type: 'text', name: 'name', required: true, maxLength: 80 })),
    images.length > 1 ? field('Image input', choice('image_input', images.map((i) => [i.input, i.input])),
      'the input the image goes into; the others are fed zeros') : null,
    field('Height', number('height', 1, 2048), 'pixels the model takes'),
    field('Width', number('width', 1, 2048)),
    field('Resize the short side to', number('resize', 1, 8192), 'then centre-crop; ImageNet models: 256 for 224'),
    field('Layout', choice('layout', [['NCHW', 'NCHW: channels first (PyTorch)'], ['NHWC', 'NHWC: channels last (Keras)']])),
    field('Channels', choice('channels', [['3', '3: colour'], ['1', '1: grey']])),
    field('Channel order', choice('order', [['RGB', 'RGB'], ['BGR', 'BGR (Caffe, OpenCV)']])),
    field('Normalisation', choice('normalisation', NORMALISATIONS.map((n) => [n.id, n.title]))),
    field('Custom scale', choice('scale', [['1', 'pixels in 0‥1'], ['255', 'pixels in 0‥255']]), 'the mean and std are in these units'),
    field('Custom mean', el('input', { type: 'text', name: 'mean', placeholder: '0.485, 0.456, 0.406' }), 'one per channel, in the model’s channel order'),
    field('Custom std', el('input', { type: 'text', name: 'std', placeholder: '0.229, 0.224, 0.225' })),
    field('Output', choice('output', [['logits', 'logits (scores before a softmax)'], ['probabilities', 'probabilities (the graph ends in a softmax)']])));
}

/** The text form's fields: which input is which, the length, the pooling, the special tokens. */
function textFields(inspection) {
  const inputs = inspection.inputs.map((i) => [i.name, `${i.name} (${i.element})`]);
  return el('div', {},
    el('div', { className: 'bring-fields' },
      field('Name', el('input', { type: 'text', name: 'name', required: true, maxLength: 80 })),
      field('Token ids', choice('ids', inputs)),
      field('Attention mask', choice('mask', inputs)),
      field('Token types', choice('types', [['', 'none (the graph takes none)'], ...inputs]), 'fed as zeros: one sentence'),
      field('Length', number('max_length', 2, 4096), 'the most tokens a sentence keeps, [CLS] and [SEP] included (a model that fixes its length reads every sentence padded to it)'),
      field('Pooling', choice('pooling', [['cls', 'the first token ([CLS]: BERT, RoBERTa, DistilBERT)'], ['mean', 'the mean of the tokens (sentence-transformers)']])),
      field('Padding id', number('pad', 0, 10_000_000)),
      field('[CLS] id', number('cls', 0, 10_000_000)),
      field('[SEP] id', number('sep', 0, 10_000_000))),
    el('p', { className: 'note', id: 'bring-tokenizer' }, 'Tokenizer: none yet. Drop the model’s tokenizer.json here too.'));
}

function number(name, min, max) {
  return el('input', { type: 'number', name, min, max, step: 1, required: true });
}

function choice(name, choices) {
  return el('select', { name }, ...choices.map(([v, t]) => option(v, t)));
}

/** What the inspection found, as the panel shows it. */
function found(file, inspection) {
  const shape = (slot) => `${slot.name}: ${slot.element} [${slot.shape.join(', ')}]`;
  const operators = inspection.operators.map(([op, n]) => (n > 1 ? `${op} ×${n}` : op)).join(', ');
  const kind = inspection.kind;
  const looks = kind.kind === 'image'
    ? `an image classifier, channels ${kind.layout === 'NCHW' ? 'first' : 'last'} (${kind.layout}), ${kind.channels === 1 ? 'grey' : 'colour'}${kind.height && kind.width ? `, ${kind.width}×${kind.height}` : ''}`
    : kind.kind === 'text' ? `a text classifier: token ids (${kind.ids})${kind.mask ? `, a mask (${kind.mask})` : ''}${kind.token_types ? `, token types (${kind.token_types})` : ''}`
      : 'neither an image nor a text classifier';
  const rows = [
    ['File', `${file.name}, ${mb(file.size)}, opset ${inspection.opset}${inspection.producer ? `, written by ${inspection.producer}` : ''}`],
    ['Inputs', inspection.inputs.map(shape).join('; ') || 'none'],
    ['Outputs', inspection.outputs.map(shape).join('; ') || 'none'],
    ['Operators', operators || 'none'],
    ['Weights', inspection.parameters.toLocaleString('en')],
    ['Looks like', looks],
  ];
  return [
    el('dl', { className: 'inspection' }, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    ...inspection.notes.map((n) => el('p', { className: 'note warning' }, n)),
    inspection.refusal ? el('p', { className: 'refusal' }, `Glimpse cannot explain this model. ${inspection.refusal}`) : null,
  ].filter(Boolean);
}

/** The form's first values, from what the file says and what most models of its kind take. */
function guess(name, inspection) {
  const { kind } = inspection;
  return {
    name,
    ...imageGuess(kind),
    order: 'RGB',
    scale: '1',
    mean: '',
    std: '',
    output: inspection.output_operator === 'Softmax' ? 'probabilities' : 'logits',
    labels: '',
  };
}

/** The size, layout, channels and normalisation an image input suggests. */
function imageGuess(image) {
  const height = image.height ?? '';
  const width = image.width ?? '';
  const side = Math.min(Number(height) || 0, Number(width) || 0);
  return {
    image_input: image.input,
    height,
    width,
    // ImageNet models resize the short side to 256 for a 224 crop; small models take the crop.
    resize: side >= 64 ? Math.round(side * 256 / 224) : side || '',
    layout: image.layout,
    channels: String(image.channels),
    normalisation: image.channels === 3 ? 'imagenet' : 'unit',
  };
}

/** The form's values for a description (a preset when its numbers are one). */
function fromDescription(d) {
  const p = d.preprocess;
  const rgb = (values) => (p.channel_order === 'BGR' ? [...values].reverse() : values);
  const same = (a, b) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1e-3 * Math.max(1, Math.abs(b[i])));
  const preset = NORMALISATIONS.find((n) => n.mean && (n.mean.length === 1
    ? same(p.mean, Array(p.channels).fill(n.mean[0])) && same(p.std, Array(p.channels).fill(n.std[0]))
    : p.channels === 3 && same(rgb(p.mean), n.mean) && same(rgb(p.std), n.std)));
  return {
    name: d.name,
    ...(d.input ? { image_input: d.input } : {}),
    height: p.height,
    width: p.width,
    resize: p.resize_short_side,
    layout: p.layout,
    channels: String(p.channels),
    order: p.channel_order,
    normalisation: preset?.id ?? 'custom',
    scale: '255',
    mean: p.mean.join(', '),
    std: p.std.join(', '),
    output: d.output,
    labels: d.labels.join('\n'),
  };
}

/** A text model's first values: the inputs by name, the special tokens from its tokenizer. */
function guessText(name, inspection, tokenizer) {
  const { kind } = inspection;
  const id = (...tokens) => {
    const vocab = tokenizer?.model?.vocab;
    for (const token of tokens) {
      const added = tokenizer?.added_tokens?.find((t) => t.content === token);
      if (added) return added.id;
      if (Array.isArray(vocab)) {
        const index = vocab.findIndex((entry) => entry[0] === token);
        if (index >= 0) return index;
      } else if (vocab && token in vocab) {
        return vocab[token];
      }
    }
    return '';
  };
  return {
    name,
    ids: kind.ids,
    mask: kind.mask ?? kind.ids,
    types: kind.token_types ?? '',
    max_length: kind.length ?? 64,
    pooling: 'cls',
    pad: id('[PAD]', '<pad>'),
    cls: id('[CLS]', '<s>'),
    sep: id('[SEP]', '</s>'),
    labels: '',
  };
}

/** The text form's values for a description. */
function fromTextDescription(d) {
  return {
    name: d.name,
    ids: d.inputs.input_ids,
    mask: d.inputs.attention_mask,
    types: d.inputs.token_type_ids ?? '',
    max_length: d.max_length,
    pooling: d.pooling,
    pad: d.special_tokens.pad,
    cls: d.special_tokens.cls,
    sep: d.special_tokens.sep,
    labels: d.labels.join('\n'),
  };
}

/** Comma-separated numbers, one per channel (one for all of them). */
function numbers(text, what, channels) {
  const values = text.split(/[,\s]+/).filter(Boolean).map(Number);
  if (values.some((v) => !Number.isFinite(v))) throw new Error(`The ${what} must be numbers, separated by commas.`);
  if (values.length === 1) return Array(channels).fill(values[0]);
  if (values.length !== channels) throw new Error(`The ${what} needs ${channels} values (one per channel), not ${values.length}.`);
  return values;
}

function mb(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}
