// @ts-check
// The sentence view's explanations: one tile per text method, each showing the sentence with
// its tokens highlighted (and, for the attention methods, the token × token matrix), then how
// far attention agrees with the other methods (Kendall's τ). Tiles run one at a time through
// the engine, as the image grid's do, with the same tickets: an answer for an older sentence,
// target or setting is dropped.

import { COLORBAR_WIDTH, Colorbars, el, field, option } from './dom.js';
import { Cancelled } from './engine.js';
import { colormapName, formatNumber } from './methods.js';
import { TileQueue, methodChoices, newTile, showState, tileParts } from './queue.js';
import { FaithfulnessControls, FaithfulnessPanel, queueHooks } from './faithfulness.js';
import { SanityCheck } from './sanity.js';
import { Stability } from './stability.js';
import { caption, listField, settingsFields } from './settings.js';
import { showCheck } from './tile.js';

const MODE = 'text';
/** The matrix's side in CSS pixels, whatever the number of tokens. */
const MATRIX_SIDE = 360;


export class TextView {
  #engine;
  #prepareSentence;
  #onIdle;
  #onTarget;
  #root;
  #ui = {};

  #model = null;
  #tiles = [];
  /** The sentence explained: {text, tokens, truncated, top}. */
  #sentence = null;
  #target = null;
  #queue;
  #colorbars;

  /**
   * @param {object} options
   * @param {import('./engine.js').Engine} options.engine
   * @param {HTMLElement} options.root the section the view fills
   * @param {() => Promise<void>} options.prepareSentence makes sure the workers hold the sentence
   * @param {() => void} options.onIdle called when the last queued tile has finished
   * @param {(index: number) => void} options.onTarget called when the explained class changes
   */
  constructor({ engine, root, prepareSentence, onIdle, onTarget }) {
    this.#engine = engine;
    this.#colorbars = new Colorbars(engine);
    this.#prepareSentence = prepareSentence;
    this.#onIdle = onIdle;
    this.#onTarget = onTarget;
    this.#root = root;
    this.#queue = new TileQueue({
      engine, mode: MODE, tiles: () => this.#tiles, target: () => this.#target,
      prepare: () => this.#prepareSentence(), setState: (tile, state) => this.#setState(tile, state),
      finished: async (tile) => {
        this.#describe(tile);
        await this.#render(tile);
        await this.#updateAgreement();
      },
      onIdle,
      ...queueHooks(() => this.#panel, () => this.#tiles),
    });
  }

  get busy() {
    return this.#queue.busy || Boolean(this.#sanity?.busy) || Boolean(this.#stability?.busy);
  }

  get target() {
    return this.#target;
  }

  /** Which metrics score every finished map, and the panel that compares them. */
  #faithfulness = null;
  #panel = null;
  /** The sanity check's section, once the model is loaded (none if the registry has no randomisation). */
  #sanity = null;
  /** Stability under each tile, on request. */
  #stability = null;

  /** Builds the controls and tiles for the loaded text model (once). */
  setModel(model) {
    if (this.#model) return;
    this.#model = model;
    this.#stability = new Stability({
      engine: this.#engine, mode: 'text', metrics: model.metrics, target: () => this.#target,
      label: (index) => model.labels[index] ?? `class ${index}`, onIdle: this.#onIdle,
    });
    this.#tiles = model.methods.map((entry, id) => this.#makeTile(id, entry));
    // The methods can be chosen before the first sentence; the tiles show up with it.
    this.#ui.tilesBox = el('div', { className: 'text-tiles', id: 'text-tiles', hidden: true }, ...this.#tiles.map((t) => t.root));
    const controls = this.#makeControls();
    this.#panel = new FaithfulnessPanel(this.#faithfulness, 'text', 'tokens');
    const randomisation = model.metrics.find((m) => m.kind === 'randomisation');
    this.#sanity = randomisation && new SanityCheck({
      engine: this.#engine, mode: 'text', metric: randomisation, idPrefix: 'text', onIdle: this.#onIdle,
      tiles: () => this.#tiles, target: () => this.#target, colour: (tile) => this.#faithfulness.colour(tile),
      cell: (picture) => this.#filmTokens(picture.colours, picture.dark),
      original: (tile) => this.#filmTokens(tile.drawn?.colours, tile.drawn?.dark),
    });
    this.#root.replaceChildren(
      el('h2', { id: 'text-explanations-heading' }, 'Explanations'),
      controls,
      this.#panel.yardstick,
      this.#ui.tilesBox,
      this.#panel.root,
      ...(this.#sanity ? [this.#sanity.root] : []),
      this.#makeAgreement());
    this.#root.hidden = false;
  }

  /** A sentence was read: explain it for its top class, from scratch. */
  setSentence(sentence) {
    if (!this.#model) return;
    this.#ui.tilesBox.hidden = false;
    this.#sentence = sentence;
    this.#target = sentence.top[0]?.index ?? 0;
    this.#ui.target.value = String(this.#target);
    this.#onTarget(this.#target);
    for (const tile of this.#tiles) this.#reset(tile);
    this.#queue.forgetYardstick();
    this.#drawAgreement([]);
    this.#queueSelected();
  }

  setTarget(index) {
    if (index === this.#target || !this.#sentence) return;
    this.#target = index;
    this.#ui.target.value = String(index);
    this.#onTarget(index);
    this.interrupt();
    for (const tile of this.#tiles) this.#reset(tile);
    this.#drawAgreement([]);
    this.#queueSelected();
  }

  /** Stops the computation in flight, if any. */
  interrupt() {
    this.#queue.interrupt();
  }

  /** The workers were replaced: they hold no sentence or map now. */
  workerLost() {
    for (const tile of this.#tiles) {
      tile.live = false;
      if (tile.state === 'queued') this.#setState(tile, 'cancelled');
    }
  }

  /** Routes the engine's progress messages to the running tile. */
  progress(progress) {
    this.#queue.progress(progress);
    this.#stability?.progress(progress);
  }

  summary() {
    const selected = this.#tiles.filter((t) => t.selected);
    if (!selected.length || !this.#sentence) return '';
    const count = (state) => selected.filter((t) => t.state === state).length;
    const parts = [`${count('done')} of ${selected.length} maps drawn`];
    if (count('error')) parts.push(`${count('error')} failed`);
    if (count('cancelled')) parts.push(`${count('cancelled')} cancelled (Explain finishes them)`);
    return `${parts.join('; ')}.`;
  }

  // ---- The queue ----------------------------------------------------------------------------

  #queueSelected() {
    for (const tile of this.#tiles) if (tile.selected) this.#enqueue(tile);
  }

  #enqueue(tile) {
    tile.live = false;
    if (this.#sentence) return this.#queue.queue(tile);
    this.#queue.renew(tile);
    this.#setState(tile, 'idle');
  }

  #reset(tile) {
    this.#queue.renew(tile);
    tile.live = false;
    tile.result = null;
    tile.drawn = null;
    this.#setState(tile, 'idle');
  }

  // ---- Drawing ------------------------------------------------------------------------------

  /** Asks the worker for the tile's colours (and matrix) and draws them. */
  async #render(tile) {
    if (!tile.live) {
      // The map was lost with a restarted worker: compute it again to recolour it.
      this.#enqueue(tile);
      return;
    }
    const ticket = tile.ticket;
    let answer;
    try {
      answer = await this.#engine.request('render', {
        mode: MODE, request: { tiles: [{ tile: tile.id, colormap: tile.colormap }] },
      });
    } catch (error) {
      if (error instanceof Cancelled || tile.ticket !== ticket) return;
      tile.error = `The map could not be drawn: ${error.message}`;
      this.#setState(tile, 'error');
      return;
    }
    const [drawn] = answer;
    if (!drawn || tile.ticket !== ticket) return;
    tile.drawn = drawn;
    tile.colormap = drawn.colormap;
    tile.ui.colormap.value = drawn.colormap;
    this.#paint(tile);
    this.#drawLegend(tile);
  }

  /** The sentence's tokens, small, with these highlights behind them: a filmstrip frame. */
  #filmTokens(colours, dark) {
    const spans = this.#sentence.tokens.map((token, i) => {
      const span = el('span', { className: token.start === token.end ? 'token special' : 'token' }, token.token);
      if (colours?.[i]) {
        const [r, g, b] = colours[i];
        span.style.backgroundColor = `rgb(${r}, ${g}, ${b})`;
        if (dark?.[i]) span.classList.add('dark');
      }
      return span;
    });
    return el('p', { className: 'tokens film' }, ...spans.flatMap((s, i) => (i ? [' ', s] : [s])));
  }

  /** The sentence with the tile's colours behind its tokens, and its matrix. */
  #paint(tile) {
    const { ui } = tile;
    const { text, tokens, truncated } = this.#sentence;
    const colours = tile.drawn?.colours;
    const scores = tile.result?.scores;
    const parts = [];
    let at = 0;
    tokens.forEach((token, i) => {
      const special = token.start === token.end;
      if (!special && token.start > at) parts.push(text.slice(at, token.start));
      const span = el('span', {
        className: special ? 'token special' : 'token',
        dataset: { index: i },
      }, special ? token.token : text.slice(token.start, token.end));
      const score = scores?.[i];
      if (colours && score !== null && score !== undefined) {
        const [r, g, b] = colours[i];
        span.style.backgroundColor = `rgb(${r}, ${g}, ${b})`;
        // Dark highlights get light text, as the core says.
        if (tile.drawn.dark[i]) span.classList.add('dark');
        span.dataset.score = String(score);
        span.title = `${token.token}: ${formatNumber(score, { digits: 3 })}`;
      } else if (scores) {
        span.title = `${token.token}: not scored (the method leaves [CLS] and [SEP] in place)`;
        span.classList.add('unscored');
      }
      parts.push(span);
      if (!special) at = token.end;
    });
    if (truncated) parts.push(el('span', { className: 'unread', title: 'Beyond the model’s length: not read' }, text.slice(at)));
    ui.tokens.replaceChildren(...parts);
    ui.tokens.classList.toggle('pending', !colours || tile.state !== 'done');
    this.#drawMatrix(tile);
  }

  #drawMatrix(tile) {
    const { matrixBox } = tile.ui;
    const matrix = tile.drawn?.matrix;
    matrixBox.hidden = !matrix;
    if (!matrix) return;
    const { size, rgba, scale } = matrix;
    const labels = this.#sentence.tokens.slice(0, size).map((t) => t.token);
    const cell = Math.max(4, Math.floor(MATRIX_SIDE / size));
    const fontSize = Math.min(13, Math.max(7, cell - 2));
    const margin = Math.ceil(Math.min(110, 8 + fontSize * 0.62 * Math.max(...labels.map((l) => l.length))));
    const side = margin + cell * size;
    const canvas = tile.ui.matrix;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(side * ratio);
    canvas.height = Math.round(side * ratio);
    canvas.style.width = `${side}px`;
    canvas.style.height = `${side}px`;
    const context = canvas.getContext('2d');
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = 'white';
    context.fillRect(0, 0, side, side);
    const cells = new OffscreenCanvas(size, size);
    cells.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), size, size), 0, 0);
    context.imageSmoothingEnabled = false;
    context.drawImage(cells, margin, margin, cell * size, cell * size);
    context.fillStyle = '#1b1f24';
    context.font = `${fontSize}px system-ui, sans-serif`;
    context.textBaseline = 'middle';
    context.textAlign = 'right';
    labels.forEach((label, i) => context.fillText(label, margin - 4, margin + (i + 0.5) * cell));
    context.save();
    context.rotate(-Math.PI / 2);
    context.textAlign = 'left';
    labels.forEach((label, j) => context.fillText(label, -margin + 4, margin + (j + 0.5) * cell));
    context.restore();
    tile.ui.matrixNote.textContent = `Rows attend to columns. Full colour at ${formatNumber(scale, { digits: 3 })}, `
      + 'the largest entry between two different words; [CLS], [SEP] and the diagonal may be brighter.';
  }

  async #drawLegend(tile) {
    const { legend } = tile.ui;
    const { scale, colormap } = tile.drawn;
    legend.root.hidden = false;
    const ticks = tile.signed
      ? [formatNumber(-scale), '0', formatNumber(scale, { plus: true })]
      : ['0', formatNumber(scale)];
    legend.ticks.replaceChildren(...ticks.map((t) => el('span', {}, t)));
    const specialsScored = this.#sentence.tokens.some((t, i) => !t.word && tile.result?.scores[i] !== null);
    legend.note.textContent = `Full colour at the largest |score| of a word${specialsScored ? '; [CLS] and [SEP] may go beyond it' : ''}.`;
    try {
      const bar = await this.#colorbars.get(colormap);
      if (tile.colormap !== colormap) return;
      // Magnitudes use the positive half of the map: stretch that half over the bar.
      const half = new OffscreenCanvas(COLORBAR_WIDTH, 1);
      half.getContext('2d').putImageData(bar, 0, 0);
      const context = legend.bar.getContext('2d');
      context.imageSmoothingEnabled = false;
      context.clearRect(0, 0, COLORBAR_WIDTH, 1);
      if (tile.signed) context.drawImage(half, 0, 0);
      else context.drawImage(half, COLORBAR_WIDTH / 2, 0, COLORBAR_WIDTH / 2, 1, 0, 0, COLORBAR_WIDTH, 1);
    } catch {
      // The legend's colours are a nicety; the numbers are already there.
    }
  }


  /** Kendall's τ between each attention map and each other map, once both are done. */
  async #updateAgreement() {
    const done = this.#tiles.filter((t) => t.selected && t.state === 'done' && t.live);
    if (!done.some((t) => t.fromAttention) || !done.some((t) => !t.fromAttention)) {
      this.#drawAgreement([]);
      return;
    }
    const tickets = new Map(done.map((t) => [t.id, t.ticket]));
    let pairs;
    try {
      pairs = await this.#engine.request('agreement', {});
    } catch {
      return; // the table is redrawn with the next finished map
    }
    const current = pairs.filter(({ attention, other }) =>
      [attention, other].every((id) => tickets.get(id) === this.#tiles[id]?.ticket && this.#tiles[id].selected));
    this.#drawAgreement(current);
  }

  #drawAgreement(pairs) {
    const { agreement } = this.#ui;
    agreement.root.hidden = !pairs.length;
    if (!pairs.length) return;
    const rows = [...new Set(pairs.map((p) => p.attention))];
    const columns = [...new Set(pairs.map((p) => p.other))];
    const tau = new Map(pairs.map((p) => [`${p.attention}:${p.other}`, p.tau]));
    const title = (id) => this.#tiles[id].info.title;
    const head = el('tr', {}, el('th', {}, ''), ...columns.map((c) => el('th', { scope: 'col' }, title(c))));
    const body = rows.map((r) => el('tr', {}, el('th', { scope: 'row' }, title(r)), ...columns.map((c) => {
      const value = tau.get(`${r}:${c}`);
      const cell = el('td', {}, value === null || value === undefined ? '—' : value.toFixed(2).replace('-', '−'));
      if (value !== null && value !== undefined) {
        // Green for agreement, red for disagreement, white for none.
        const hue = value >= 0 ? 140 : 0;
        cell.style.backgroundColor = `hsl(${hue} 60% ${100 - 35 * Math.abs(value)}%)`;
        cell.dataset.tau = String(value);
      }
      return cell;
    })));
    agreement.table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
  }

  // ---- Tile state -------------------------------------------------------------------------

  #setState(tile, state) {
    showState(tile, state);
    if (state === 'idle') {
      tile.drawn = null;
      tile.ui.legend.root.hidden = true;
    }
    if (this.#sentence) this.#paint(tile);
  }

  #describe(tile) {
    tile.ui.caption.textContent = caption(tile.info, tile.method);
    const check = tile.result?.completeness;
    const r2 = tile.result?.rSquared;
    const { completeness } = tile.ui;
    completeness.hidden = !check && (r2 === null || r2 === undefined);
    completeness.classList.remove('warn');
    if (!check && r2 !== null && r2 !== undefined) {
      completeness.replaceChildren(`Fit R² = ${r2.toFixed(2)}`);
      completeness.title = 'How much of the score’s variation over the samples the linear fit explains.';
      return;
    }
    if (check) showCheck(tile, check);
  }

  // ---- Building the view ------------------------------------------------------------------

  #makeControls() {
    const methodSet = methodChoices(this.#tiles, (tile, checked) => this.#select(tile, checked), 'text-');
    const target = el('select', { id: 'text-target' },
      ...this.#model.labels.map((label, index) => option(String(index), label)));
    target.addEventListener('change', () => this.setTarget(Number(target.value)));
    this.#ui.target = target;
    const explain = el('button', { type: 'button', id: 'text-explain', className: 'primary' }, 'Explain');
    explain.addEventListener('click', () => this.#explainMissing());
    this.#faithfulness = new FaithfulnessControls(this.#model.metrics, 'text', () => this.#queue.rescore());
    return el('div', { className: 'explain-controls' }, methodSet,
      el('div', { className: 'explain-options' },
        field('Explain the class', target, 'The predicted class, unless you pick another: here or in the list above.'),
        this.#faithfulness.root,
        explain));
  }

  #makeAgreement() {
    const table = el('table', { className: 'agreement-table' });
    const root = el('section', { className: 'agreement', id: 'agreement', hidden: true },
      el('h3', {}, 'Does attention agree with the other methods?'),
      el('p', { className: 'caption' }, 'Kendall’s τ between the rankings of the words by |score| '
        + '(1: the same order, 0: unrelated, −1: reversed). Attention is not always explanation '
        + '(Jain & Wallace 2019): a low τ says attention ranks the words differently from what '
        + 'changes the score.'),
      table);
    this.#ui.agreement = { root, table };
    return root;
  }

  /** A tile for one text method of the registry (`info`), at its default settings. */
  #makeTile(id, info) {
    const { colormaps } = this.#model;
    const tile = newTile(id, info, {
      fromAttention: info.needs === 'attention',
      unavailable: this.#model.unavailable?.[info.id] ?? null,
      // Every text method the model can run is shown at first.
      selected: !this.#model.unavailable?.[info.id],
      // Highlights always use a diverging map, white at zero: magnitudes use its positive half.
      colormap: colormaps.diverging[0],
      drawn: null,
    });
    const ui = {
      ...tileParts(),
      tokens: el('p', { className: 'tokens pending', lang: 'en' }),
      matrix: el('canvas', { className: 'matrix', width: 1, height: 1 }),
      matrixNote: el('p', { className: 'note' }),
      matrixBox: null,
      settings: null,
      stability: this.#stability.part(tile),
    };
    ui.caption.textContent = caption(info, info.defaults);
    ui.matrixBox = el('figure', { className: 'matrix-box', hidden: true }, ui.matrix, el('figcaption', {}, ui.matrixNote));
    tile.ui = ui;
    ui.settings = this.#makeSettings(tile);
    tile.root = el('article', { className: 'text-tile', hidden: !tile.selected, dataset: { method: info.id, state: 'idle' } },
      el('div', { className: 'text-tile-head' }, el('h3', {}, info.title), ui.caption),
      el('div', { className: 'text-tile-body' },
        el('div', { className: 'text-tile-main' }, ui.tokens, ui.progress, ui.state, ui.completeness, ui.faith, ui.stability.root, ui.legend.root, ui.settings),
        ui.matrixBox));
    showState(tile, 'idle');
    return tile;
  }

  #makeSettings(tile) {
    const change = (c) => this.#changeMethod(tile, c);
    const { layers, heads } = this.#model.shape;
    /** @type {(count: number, name: string) => [number, string][]} */
    const positions = (count, name) => Array.from({ length: count }, (_, i) => [i, `${name} ${i + 1}`]);
    const fields = settingsFields(tile.info, tile.method, change, {
      layer: (setting) => listField(setting, tile.method.layer, positions(layers, 'Layer'), change, 'attention-layer'),
      head: (setting) => listField(setting, tile.method.head, positions(heads, 'Head'), change, 'attention-head'),
    });
    const maps = this.#model.colormaps.diverging;
    // 'Blue–red' for signed scores; 'White–red', its positive half, for magnitudes.
    const name = (m) => (tile.signed ? colormapName(m) : `White–${colormapName(m).split('–')[1]}`);
    const colormap = el('select', {}, ...maps.map((m) => option(m, name(m), m === tile.colormap)));
    colormap.addEventListener('change', () => {
      tile.colormap = colormap.value;
      if (tile.state === 'done') this.#render(tile);
    });
    tile.ui.colormap = colormap;
    fields.push(field('Colours', colormap, tile.signed ? 'against the class, nothing, for it' : 'nothing to most'));
    // The attention tile's layer and head are what one explores: open from the start.
    return el('details', { className: 'settings', open: tile.info.id === 'attention' }, el('summary', {}, 'Settings'),
      el('div', { className: 'fields' }, ...fields));
  }

  // ---- Reacting to the controls -------------------------------------------------------------

  #select(tile, selected) {
    tile.selected = selected;
    tile.root.hidden = !selected;
    if (selected) {
      if (tile.state === 'done') this.#render(tile);
      else this.#enqueue(tile);
    } else if (tile.state === 'queued' || tile.state === 'running') {
      this.#queue.renew(tile);
      this.#setState(tile, 'idle');
    }
    if (this.#sentence) this.#updateAgreement();
  }

  #changeMethod(tile, change) {
    tile.method = { ...tile.method, ...change };
    if (this.#queue.running(tile)) this.#engine.abandon();
    tile.ui.caption.textContent = caption(tile.info, tile.method);
    if (tile.selected && this.#sentence) {
      tile.result = null;
      tile.drawn = null;
      this.#enqueue(tile);
      this.#updateAgreement();
    }
  }

  #explainMissing() {
    if (!this.#sentence) return;
    let queued = 0;
    for (const tile of this.#tiles) {
      if (tile.selected && ['idle', 'cancelled', 'error'].includes(tile.state)) {
        this.#enqueue(tile);
        queued += 1;
      }
    }
    this.#queue.rescore();
    if (!queued && !this.#queue.busy) this.#onIdle();
  }
}
