// @ts-check
// The explanation grid: which methods to run, for which class, how to colour them, and one
// tile per method. Tiles run through the queue both views share (queue.js: one at a time, the
// cheap ones first, tickets so that runs never mix), and each fills in as its map is done. The
// worker keeps the maps (by tile id) and draws them; this file decides what to compute and
// when, and paints what comes back.

import { Colorbars, el, field, option } from './dom.js';
import { Cancelled } from './engine.js';
import {
  DEFAULT_SELECTION, TOP_SEGMENTS, colormapName, layerName, shapeText,
} from './methods.js';
import { TileQueue, methodChoices, newTile, showState, tileParts } from './queue.js';
import { describeCheck, drawLegend, filmFrame, paintTile } from './tile.js';
import { caption, listField, settingsFields } from './settings.js';
import { FaithfulnessControls, FaithfulnessPanel, queueHooks } from './faithfulness.js';
import { SanityCheck } from './sanity.js';
import { Stability } from './stability.js';



export class Grid {
  #engine;
  #prepareImage;
  #onIdle;
  #onTarget;
  #ui;

  #model = null;
  /** Tiles by id, in grid order (the worker's method order). */
  #tiles = [];
  /** The image explained: {width, height, rgba} and its grey version (as the worker greys it). */
  #view = null;
  #grey = null;
  #top = [];
  #target = null;
  #shared = false;
  /** The percentile of |value| at full colour: the core's default until the person picks one. */
  #percentile = null;

  #queue;
  /** Which metrics score every finished map, and the panel that compares them. */
  #faithfulness = null;
  #panel = null;
  /** The sanity check's section, once the model is loaded (none if the registry has no randomisation). */
  #sanity = null;
  /** Stability under each tile, on request. */
  #stability = null;

  /** Tiles waiting for a render, and the promise of the render loop while it runs. */
  #dirty = new Set();
  #flushing = null;
  #colorbars;

  /** The custom baseline: {image: Blob, name, view}; which Blob the worker holds; an upload. */
  #baseline = null;
  #workerBaseline = null;
  #uploading = null;

  /**
   * @param {object} options
   * @param {import('./engine.js').Engine} options.engine
   * @param {HTMLElement} options.root the Explanations section, filled in by `setModel`
   * @param {() => Promise<void>} options.prepareImage makes sure the worker holds the current image
   * @param {() => void} options.onIdle called when the last queued tile has finished
   * @param {(index: number) => void} options.onTarget called when the target class changes
   */
  constructor({ engine, root, prepareImage, onIdle, onTarget }) {
    this.#engine = engine;
    this.#colorbars = new Colorbars(engine);
    this.#prepareImage = prepareImage;
    this.#onIdle = onIdle;
    this.#onTarget = onTarget;
    this.#ui = { root };
    this.#queue = new TileQueue({
      engine, mode: 'image', tiles: () => this.#tiles, target: () => this.#target,
      prepare: (tile) => this.#prepare(tile), setState: (tile, state) => this.#setState(tile, state),
      finished: (tile) => {
        this.#describe(tile);
        return this.#render([tile]);
      },
      onIdle,
      ...queueHooks(() => this.#panel, () => this.#tiles),
    });
  }

  /** Whether tiles are being computed (or wait to be). */
  get busy() {
    return this.#queue.busy || Boolean(this.#sanity?.busy) || Boolean(this.#stability?.busy);
  }

  get target() {
    return this.#target;
  }

  /** Builds the controls and tiles for a freshly loaded model (once: reloads keep them). */
  setModel(model) {
    if (this.#model) return;
    this.#model = model;
    this.#percentile = model.drawing.percentile;
    const { root } = this.#ui;
    const heading = el('h2', { id: 'explanations-heading' }, 'Explanations');
    this.#stability = new Stability({
      engine: this.#engine, mode: 'image', metrics: model.metrics, target: () => this.#target,
      label: (index) => model.labels[index] ?? `class ${index}`, onIdle: this.#onIdle,
    });
    this.#tiles = model.methods.map((entry, id) => this.#makeTile(id, entry));
    // A model none of the first choices apply to starts with the first two methods that do.
    if (!this.#tiles.some((t) => t.selected)) {
      for (const tile of this.#tiles.filter((t) => !t.unavailable).slice(0, 2)) {
        tile.selected = true;
        tile.root.hidden = false;
      }
    }
    const controls = this.#makeControls();
    this.#panel = new FaithfulnessPanel(this.#faithfulness, 'image', 'pixels');
    const randomisation = model.metrics.find((m) => m.kind === 'randomisation');
    this.#sanity = randomisation && new SanityCheck({
      engine: this.#engine, mode: 'image', metric: randomisation, idPrefix: 'image', onIdle: this.#onIdle,
      tiles: () => this.#tiles, target: () => this.#target, colour: (tile) => this.#faithfulness.colour(tile),
      cell: (picture) => filmFrame(this.#view, this.#grey, picture.rgba, model.drawing.opacity),
      original: (tile) => filmFrame(this.#view, this.#grey, tile.overlay, tile.opacity),
    });
    root.replaceChildren(heading, controls, this.#makeGrid(), this.#panel.root, ...(this.#sanity ? [this.#sanity.root] : []));
    for (const colormap of [...model.colormaps.diverging, ...model.colormaps.sequential]) this.#colorbars.get(colormap);
  }

  /** A new image was classified: explain it for its top class, from scratch. */
  setImage(view, top) {
    if (!this.#model) return;
    this.#ui.root.hidden = false;
    this.#view = view;
    this.#grey = new ImageData(new Uint8ClampedArray(view.grey), view.width, view.height);
    this.#top = top;
    this.#target = top[0]?.index ?? 0;
    this.#ui.target.value = String(this.#target);
    this.#drawInput();
    this.#onTarget(this.#target);
    // The worker forgot every map when it took the new image.
    for (const tile of this.#tiles) this.#reset(tile);
    this.#queue.forgetYardstick();
    this.#queueSelected();
  }

  /** Explains another class: every selected tile runs again. */
  setTarget(index) {
    if (index === this.#target || !this.#view) return;
    this.#target = index;
    this.#ui.target.value = String(index);
    this.#drawTargetLine();
    this.#onTarget(index);
    // Every map is about to be stale: stop the one computing rather than wait for it.
    this.interrupt();
    for (const tile of this.#tiles) this.#reset(tile);
    this.#queueSelected();
  }

  /** Stops the computation in flight, if any, by restarting the engine. */
  interrupt() {
    this.#queue.interrupt();
  }

  /** The worker was replaced (Cancel, or a crash): it holds no map, image or baseline now. */
  workerLost() {
    this.#workerBaseline = null;
    for (const tile of this.#tiles) {
      // Finished tiles keep their picture; the map is computed again only if it must be redrawn.
      tile.live = false;
      // A queued tile, or a finished one whose render was lost with the worker, is cancelled.
      if (tile.state === 'queued' || (tile.state === 'done' && !tile.overlay)) this.#setState(tile, 'cancelled');
      // The running tile learns of it from its rejected request.
    }
  }

  /** Routes the engine's progress messages to the running tile. */
  progress(progress) {
    this.#queue.progress(progress);
    this.#stability?.progress(progress);
  }

  /** One line on how the selected tiles stand, for the status bar. */
  summary() {
    const selected = this.#tiles.filter((t) => t.selected);
    if (!selected.length || !this.#view) return '';
    const count = (state) => selected.filter((t) => t.state === state).length;
    const parts = [`${count('done')} of ${selected.length} maps drawn`];
    if (count('error')) parts.push(`${count('error')} failed`);
    if (count('cancelled')) parts.push(`${count('cancelled')} cancelled (Explain finishes them)`);
    if (count('waiting')) parts.push(`${count('waiting')} waiting for a baseline image`);
    return `${parts.join('; ')}.`;
  }

  // ---- The queue ----------------------------------------------------------------------------

  #queueSelected() {
    for (const tile of this.#tiles) if (tile.selected) this.#enqueue(tile);
  }

  /** Puts a tile in the queue (or, if it needs a baseline image that is missing, waits). */
  #enqueue(tile) {
    tile.live = false;
    if (!this.#view || (tile.method.baseline === 'custom' && !this.#baseline && !this.#uploading)) {
      this.#queue.renew(tile);
      if (!this.#view) return this.#setState(tile, 'idle');
      tile.ui.settings.open = true;
      return this.#setState(tile, 'waiting');
    }
    this.#queue.queue(tile);
  }

  /** Forgets a tile's map and result, as when the image or target changes. */
  #reset(tile) {
    this.#queue.renew(tile);
    tile.live = false;
    tile.result = null;
    tile.overlay = null;
    tile.scale = null;
    this.#setState(tile, 'idle');
  }

  /** Makes sure the worker holds the image and, if the tile needs it, the custom baseline. */
  async #prepare(tile) {
    await this.#prepareImage();
    if (tile.method.baseline !== 'custom') return;
    while (this.#uploading) {
      const upload = this.#uploading;
      await upload.catch(() => {});
      if (this.#uploading === upload) this.#uploading = null;
    }
    if (!this.#baseline) throw new Error('Choose a baseline image first (Settings, Baseline).');
    if (this.#workerBaseline !== this.#baseline.image) {
      const { image } = this.#baseline;
      await this.#engine.request('set-baseline', { image });
      this.#workerBaseline = image;
    }
  }

  // ---- Drawing ------------------------------------------------------------------------------

  /**
   * Redraws tiles whose colour map, colour scale or map changed. A lost map (the engine restarted
   * since) is computed again first. With a shared scale, the whole group of each tile is redrawn.
   */
  #restyle(tiles) {
    const live = [];
    for (const tile of tiles) {
      if (!tile.selected || tile.state !== 'done') continue;
      if (tile.live) live.push(tile);
      else this.#enqueue(tile);
    }
    if (live.length) this.#render(live);
  }

  /** Asks the worker to draw these tiles (and their groups); resolves when drawn. */
  #render(tiles) {
    for (const tile of tiles) this.#dirty.add(tile);
    this.#flushing ??= this.#flush();
    return this.#flushing;
  }

  async #flush() {
    try {
      while (this.#dirty.size) {
        const tiles = [...this.#dirty];
        this.#dirty.clear();
        for (const batch of this.#renderBatches(tiles)) await this.#renderBatch(batch);
      }
    } finally {
      this.#flushing = null;
    }
  }

  /** Per map: one request for them all. Shared: one request per group, with every member. */
  #renderBatches(tiles) {
    const drawable = (t) => t.selected && t.state === 'done' && t.live;
    if (!this.#shared) return [tiles.filter(drawable)];
    const groups = new Set(tiles.map((t) => t.info.group));
    return [...groups].map((group) => this.#tiles.filter((t) => drawable(t) && t.info.group === group));
  }

  async #renderBatch(tiles) {
    if (!tiles.length) return;
    const tickets = new Map(tiles.map((t) => [t.id, t.ticket]));
    const shared = this.#shared;
    // Layers come at full strength: the tile's own opacity is applied here, so the slider needs no worker.
    const request = {
      shared, percentile: this.#percentile,
      tiles: tiles.map((t) => ({ tile: t.id, colormap: t.colormap, top: t.top, boundaries: t.boundaries })),
    };
    let answer;
    try {
      answer = await this.#engine.request('render', { request });
    } catch (error) {
      if (error instanceof Cancelled) return;
      for (const tile of tiles) {
        if (tile.ticket !== tickets.get(tile.id)) continue;
        tile.error = `The map could not be drawn: ${error.message}`;
        this.#setState(tile, 'error');
      }
      return;
    }
    for (const { tile: id, rgba, scale, colormap } of answer) {
      const tile = this.#tiles[id];
      if (!tile || tile.ticket !== tickets.get(id) || !tile.live) continue;
      tile.overlay = rgba;
      tile.scale = scale;
      tile.colormap = colormap;
      tile.ui.colormap.value = colormap;
      tile.sharedWith = shared ? tiles.filter((t) => t !== tile) : null;
      paintTile(tile, this.#view, this.#grey);
      drawLegend(tile, this.#percentile, this.#colorbars);
    }
  }


  #drawInput() {
    const { width, height, rgba } = this.#view;
    const canvas = this.#ui.input;
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
    this.#ui.inputCaption.textContent = `As the model sees it: ${width}×${height}`;
    this.#drawTargetLine();
  }

  #drawTargetLine() {
    const label = this.#model.labels[this.#target] ?? `class ${this.#target}`;
    const ranked = this.#top.findIndex((t) => t.index === this.#target);
    const how = ranked < 0 ? 'not in the top 5' : `#${ranked + 1}, ${(this.#top[ranked].prob * 100).toFixed(1)}%`;
    this.#ui.targetLine.replaceChildren('Explaining ', el('strong', {}, label), ` (${how})`);
  }

  // ---- Tile state -------------------------------------------------------------------------

  #setState(tile, state) {
    showState(tile, state);
    // A tile that is computed again keeps its last map until the new one comes.
    if (state !== 'done' && (!tile.overlay || state === 'idle')) {
      tile.overlay = null;
      tile.scale = null;
      tile.ui.legend.root.hidden = true;
    }
    if (this.#view) paintTile(tile, this.#view, this.#grey);
  }

  /** The caption (the layer, once known) and the completeness line of a finished tile. */
  #describe(tile) {
    this.#caption(tile);
    describeCheck(tile);
  }

  #caption(tile) {
    const name = tile.result?.layer ?? tile.method.layer ?? this.#model.layers?.default;
    const layer = this.#model.layers?.layers.find((l) => l.name === name);
    const where = name ? `layer ${layerName(name)}${layer ? ` (${shapeText(layer.shape)})` : ''}` : 'the last layer';
    tile.ui.caption.textContent = caption(tile.info, tile.method, { layer: where });
  }

  // ---- Building the page ------------------------------------------------------------------

  #makeControls() {
    const methodSet = methodChoices(this.#tiles, (tile, checked) => this.#select(tile, checked), '');

    const target = el('select', { id: 'target' },
      ...this.#model.labels.map((label, index) => option(String(index), label)));
    target.addEventListener('change', () => this.setTarget(Number(target.value)));
    this.#ui.target = target;

    const perMap = el('input', { type: 'radio', name: 'normalisation', value: 'per-map', checked: true });
    const shared = el('input', { type: 'radio', name: 'normalisation', value: 'shared' });
    const percentile = el('input', {
      type: 'number', id: 'percentile', min: 50, max: 100, step: 0.1, value: this.#percentile,
    });
    for (const radio of [perMap, shared]) {
      radio.addEventListener('change', () => {
        this.#shared = shared.checked;
        this.#restyle(this.#tiles);
      });
    }
    percentile.addEventListener('change', () => {
      const value = Number(percentile.value);
      if (!Number.isFinite(value) || value <= 0 || value > 100 || percentile.value === '') {
        percentile.value = this.#percentile;
        return;
      }
      this.#percentile = value;
      this.#restyle(this.#tiles);
    });
    const scale = el('fieldset', { className: 'scale' }, el('legend', {}, 'Colour scale'),
      el('label', {}, perMap, 'Per map'),
      el('label', { title: `One scale for the maps in the same units: ${unitGroups(this.#model.methods)}` }, shared, 'Shared'),
      el('label', { className: 'percentile' }, 'clipped at percentile', percentile));

    const explain = el('button', { type: 'button', id: 'explain', className: 'primary' }, 'Explain');
    explain.addEventListener('click', () => this.#explainMissing());
    this.#faithfulness = new FaithfulnessControls(this.#model.metrics, 'image', () => this.#queue.rescore());

    return el('div', { className: 'explain-controls' },
      methodSet,
      el('div', { className: 'explain-options' },
        field('Explain the class', target, 'The top prediction, unless you pick another: here or in the list above.'),
        scale,
        this.#faithfulness.root,
        explain));
  }

  #makeGrid() {
    this.#ui.input = el('canvas', { width: 224, height: 224 });
    this.#ui.inputCaption = el('p', { className: 'caption' }, 'As the model sees it');
    this.#ui.targetLine = el('p', { className: 'target-line' });
    const input = el('article', { className: 'tile input-tile', dataset: { method: 'input' } },
      el('h3', {}, 'Input'), this.#ui.inputCaption, el('div', { className: 'canvas-box' }, this.#ui.input),
      el('div', { className: 'below' }, this.#ui.targetLine, this.#panel.yardstick));
    return el('div', { className: 'grid', id: 'grid' }, input, ...this.#tiles.map((t) => t.root));
  }

  /** A tile for one method of the registry (`info`), at its default settings. */
  #makeTile(id, info) {
    const { colormaps } = this.#model;
    const tile = newTile(id, info, {
      unavailable: this.#model.unavailable?.[info.id] ?? null,
      selected: DEFAULT_SELECTION.includes(info.id) && !this.#model.unavailable?.[info.id],
      colormap: info.signed ? colormaps.diverging[0] : colormaps.sequential[0],
      opacity: this.#model.drawing.opacity,
      top: info.segments ?? null, boundaries: true,
      overlay: null, scale: null, sharedWith: null,
    });
    const ui = {
      ...tileParts(), canvas: el('canvas', { width: 224, height: 224, className: 'pending' }), settings: null,
      stability: this.#stability.part(tile),
    };
    tile.ui = ui;
    ui.settings = this.#makeSettings(tile);
    // Four parts, so that titles, captions and canvases line up across a row of tiles.
    tile.root = el('article', { className: 'tile', hidden: !tile.selected, dataset: { method: info.id, state: 'idle' } },
      el('h3', {}, info.title), ui.caption,
      el('div', { className: 'canvas-box' }, ui.canvas, ui.progress),
      el('div', { className: 'below' }, ui.state, ui.legend.root, ui.completeness, ui.faith, ui.stability.root, ui.settings));
    showState(tile, 'idle');
    this.#caption(tile);
    return tile;
  }

  /** The tile's settings: only its method's, then its colour map and opacity. */
  #makeSettings(tile) {
    const { ui } = tile;
    const change = (c) => this.#changeMethod(tile, c);
    const fields = settingsFields(tile.info, tile.method, change, {
      baseline: (setting) => this.#makeBaselineField(tile, setting),
      layer: (setting) => {
        const { layers, default: fallback } = this.#model.layers;
        const names = layers.map((l) => layerName(l.name));
        const unique = new Set(names).size === names.length;
        const items = layers.map((l, i) => [l.name, `${unique ? names[i] : l.name} · ${shapeText(l.shape)}`]);
        // The default layer is listed once, as none (the method's own default).
        const named = items.filter(([name]) => name !== fallback);
        const label = items.find(([name]) => name === fallback)?.[1] ?? fallback;
        return listField({ ...setting, none: `${label} (default)` }, tile.method.layer, named, change);
      },
    });
    if ('segments' in tile.info) {
      const top = el('select', {}, ...TOP_SEGMENTS.map(([value, text]) => option(String(value), text, value === tile.top)));
      top.addEventListener('change', () => {
        tile.top = top.value === 'null' ? null : Number(top.value);
        this.#restyle([tile]);
      });
      fields.push(field('Show', top));
      const boundaries = el('input', { type: 'checkbox', checked: tile.boundaries });
      boundaries.addEventListener('change', () => {
        tile.boundaries = boundaries.checked;
        this.#restyle([tile]);
      });
      fields.push(el('label', { className: 'field check' }, boundaries, 'Superpixel boundaries'));
    }
    const maps = tile.signed ? this.#model.colormaps.diverging : this.#model.colormaps.sequential;
    const colormap = el('select', {}, ...maps.map((m) => option(m, colormapName(m), m === tile.colormap)));
    colormap.addEventListener('change', () => {
      tile.colormap = colormap.value;
      this.#restyle([tile]);
    });
    ui.colormap = colormap;
    const opacity = el('input', { type: 'range', min: 0, max: 1, step: 0.05, value: tile.opacity });
    const opacityText = el('output', {}, `${Math.round(tile.opacity * 100)}%`);
    opacity.addEventListener('input', () => {
      tile.opacity = Number(opacity.value);
      opacityText.textContent = `${Math.round(tile.opacity * 100)}%`;
      if (this.#view) paintTile(tile, this.#view, this.#grey);
    });
    fields.push(field('Colour map', colormap, tile.signed ? 'diverging: negative, zero, positive' : 'sequential: zero to largest'));
    fields.push(el('label', { className: 'field' }, el('span', {}, 'Opacity ', opacityText), opacity));
    return el('details', { className: 'settings' }, el('summary', {}, 'Settings'),
      el('div', { className: 'fields' }, ...fields));
  }

  /** The baseline's choices, and the custom image's upload and preview. */
  #makeBaselineField(tile, setting) {
    const select = el('select', {},
      ...setting.choices.map(({ value, label }) => option(value, label.charAt(0).toUpperCase() + label.slice(1), value === tile.method.baseline)));
    const file = el('input', { type: 'file', accept: 'image/*', className: 'baseline-file' });
    const preview = el('canvas', { className: 'baseline-preview', width: 224, height: 224 });
    const name = el('span', { className: 'baseline-name' }, 'No image chosen yet.');
    const custom = el('div', { className: 'baseline-custom', hidden: true },
      preview, el('div', {}, name, el('label', { className: 'button' }, file, 'Choose an image…')));
    tile.baselineUi = { select, custom, preview, name };
    select.addEventListener('change', () => {
      custom.hidden = select.value !== 'custom';
      this.#changeMethod(tile, { baseline: select.value });
    });
    file.addEventListener('change', () => {
      const chosen = file.files[0];
      file.value = '';
      if (chosen) this.#uploadBaseline(chosen, tile);
    });
    return el('div', { className: 'field' }, field(`${setting.label} x′`, select, setting.help), custom);
  }

  // ---- Reacting to the controls -------------------------------------------------------------

  #select(tile, selected) {
    tile.selected = selected;
    tile.root.hidden = !selected;
    if (selected) {
      // A map still held (or drawn before a restart) is shown again as it was.
      if (tile.state === 'done') this.#restyle(this.#groupOf(tile));
      else this.#enqueue(tile);
    } else {
      if (tile.state === 'queued' || tile.state === 'running') {
        this.#queue.renew(tile);
        this.#setState(tile, 'idle');
      }
      // A shared scale no longer includes this map.
      if (this.#shared) this.#restyle(this.#groupOf(tile));
    }
  }

  #groupOf(tile) {
    const { group } = tile.info;
    return this.#tiles.filter((t) => t.selected && t.info.group === group);
  }

  /** A compute setting changed: only this tile runs again. */
  #changeMethod(tile, change) {
    tile.method = { ...tile.method, ...change };
    // A forward-only method in progress stops at once; other methods finish their stale run.
    if (this.#queue.running(tile)) this.#engine.abandon();
    this.#caption(tile);
    if (tile.selected && this.#view) {
      tile.result = null;
      tile.overlay = null;
      tile.scale = null;
      this.#enqueue(tile);
      // Its old map no longer counts towards a shared scale.
      if (this.#shared) this.#restyle(this.#groupOf(tile).filter((t) => t !== tile));
    }
  }

  /** The Explain button: computes every selected tile that has no map yet. */
  #explainMissing() {
    if (!this.#view) return;
    let queued = 0;
    for (const tile of this.#tiles) {
      if (tile.selected && ['idle', 'cancelled', 'error', 'waiting'].includes(tile.state)) {
        this.#enqueue(tile);
        queued += 1;
      }
    }
    this.#queue.rescore();
    if (!queued && !this.#queue.busy) this.#onIdle();
  }

  async #uploadBaseline(image, fromTile) {
    const upload = this.#engine.request('set-baseline', { image });
    this.#uploading = upload;
    for (const tile of this.#pathTiles()) tile.baselineUi.name.textContent = `Reading ${image.name}…`;
    try {
      const { view } = await upload;
      this.#workerBaseline = image;
      this.#baseline = { image, name: image.name, view };
    } catch (error) {
      if (error instanceof Cancelled) return;
      fromTile.error = `Baseline image: ${error.message}`;
      this.#setState(fromTile, 'error');
      return;
    } finally {
      if (this.#uploading === upload) this.#uploading = null;
      this.#drawBaselines();
    }
    // Every selected tile that starts from the custom baseline runs again from the new one.
    for (const tile of this.#pathTiles()) {
      if (tile.selected && tile.method.baseline === 'custom') this.#enqueue(tile);
    }
  }

  #pathTiles() {
    return this.#tiles.filter((t) => t.baselineUi);
  }

  #drawBaselines() {
    for (const tile of this.#pathTiles()) {
      const { preview, name } = tile.baselineUi;
      if (!this.#baseline) {
        name.textContent = 'No image chosen yet.';
        continue;
      }
      const { width, height, rgba } = this.#baseline.view;
      preview.width = width;
      preview.height = height;
      preview.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
      name.textContent = this.#baseline.name;
    }
  }
}

/** The groups of maps that may share a scale, for a tooltip: 'Gradient, SmoothGrad; …'. */
function unitGroups(methods) {
  const groups = new Map();
  for (const { id, group, title } of methods) if (group !== id) groups.set(group, [...(groups.get(group) ?? []), title]);
  return `${[...groups.values()].map((titles) => titles.join(', ')).join('; ')}. Every other map keeps its own.`;
}
