// @ts-check
// The sanity check (Adebayo et al. 2018), run with one button: the model's layers are
// re-initialised from the logits down, each step's randomised model is built once by a worker
// and every finished map is made again on it. A filmstrip shows each map across the steps and a
// chart its rank correlation with the original: a map that does not change does not explain the
// model. The steps spread over the worker pool; the numbers and pictures come from the wasm.

import { drawCurves } from './charts.js';
import { el } from './dom.js';

/** ρ to two decimals with a true minus sign; NaN (a constant map) as a dash. */
function rhoText(rho) {
  if (rho === null || rho === undefined || Number.isNaN(rho)) return '–';
  return `${rho < 0 ? '−' : ''}${Math.abs(rho).toFixed(2)}`;
}

/** A layer's name, short enough for an axis: its ONNX path without the leading slash and op. */
function shortLayer(label) {
  return label.replace(/^\//, '').replace(/\/(Conv|Gemm|MatMul)$/, '');
}

export class SanityCheck {
  #engine;
  #mode;
  #metric;
  #tiles;
  #target;
  #colour;
  #cell;
  #original;
  #modeSelect;
  #steps;
  #button;
  #status;
  #filmstrip;
  #chart;
  #running = false;
  #onIdle;

  /**
   * @param {object} options
   * @param {any} options.engine the worker pool
   * @param {string} options.mode 'image' or 'text': which session the workers use
   * @param {any} options.metric the randomisation metric's registry entry
   * @param {() => any[]} options.tiles the view's tiles
   * @param {() => number} options.target the class explained
   * @param {(tile: any) => string} options.colour a tile's colour in the charts
   * @param {(picture: any) => HTMLElement} options.cell draws a remade map's picture
   * @param {(tile: any) => HTMLElement} options.original draws a tile's own map, small
   * @param {string} options.idPrefix makes the ids unique in the page
   * @param {() => void} options.onIdle called when the check ends, so the page can say where things stand
   */
  constructor({ engine, mode, metric, tiles, target, colour, cell, original, idPrefix, onIdle }) {
    this.#engine = engine;
    this.#onIdle = onIdle;
    this.#mode = mode;
    this.#metric = metric;
    this.#tiles = tiles;
    this.#target = target;
    this.#colour = colour;
    this.#cell = cell;
    this.#original = original;
    const modeSetting = metric.settings.find((s) => s.key === 'mode');
    const stepsSetting = metric.settings.find((s) => s.key === 'steps');
    this.#modeSelect = el('select', { id: `${idPrefix}-sanity-mode` },
      ...(modeSetting?.choices ?? []).map((o) => el('option', { value: o.value, selected: o.value === metric.defaults.mode }, o.label)));
    this.#steps = el('input', {
      type: 'number', id: `${idPrefix}-sanity-steps`, min: stepsSetting?.min ?? 1, max: stepsSetting?.max ?? 200,
      step: 1, value: metric.defaults.steps,
    });
    this.#button = el('button', { type: 'button', id: `${idPrefix}-sanity-run` }, 'Run the sanity check');
    this.#button.addEventListener('click', () => this.run());
    this.#status = el('p', { className: 'status', id: `${idPrefix}-sanity-status`, role: 'status' });
    this.#filmstrip = el('table', { className: 'filmstrip', id: `${idPrefix}-filmstrip` });
    this.#chart = el('canvas', { id: `${idPrefix}-sanity-chart`, className: 'chart', width: 540, height: 300, hidden: true });
    this.root = el('section', { className: 'sanity', id: `${idPrefix}-sanity` },
      el('h3', {}, 'Sanity check: does the map depend on the model?'),
      el('p', { className: 'caption' }, `${metric.caption[0].toUpperCase()}${metric.caption.slice(1)}. Each step re-initialises the model's layers with weights `
        + '(as PyTorch initialises a new layer, seeded), cascading from the logits down or one at a time, and makes every '
        + 'finished map again; ρ is the Spearman rank correlation of the absolute maps with the originals '
        + '(Adebayo et al. 2018). A map that keeps its shape when the weights are noise explains the input, not the model.'),
      el('div', { className: 'controls' },
        el('label', {}, 'Mode ', this.#modeSelect),
        el('label', {}, 'Steps ', this.#steps),
        this.#button),
      this.#status, this.#chart, this.#filmstrip);
  }

  /** Whether the check runs. */
  get busy() {
    return this.#running;
  }

  /** Runs the check on every selected, finished map. */
  async run() {
    if (this.#running) return;
    const tiles = this.#tiles().filter((t) => t.selected && t.state === 'done');
    if (!tiles.length) {
      this.#status.textContent = 'Explain at least one map first: the check makes the finished maps again.';
      return;
    }
    const steps = Number(this.#steps.value);
    if (!Number.isInteger(steps) || steps < Number(this.#steps.min) || steps > Number(this.#steps.max)) {
      this.#status.textContent = `Steps is a whole number from ${this.#steps.min} to ${this.#steps.max}.`;
      return;
    }
    const metric = { ...this.#metric.defaults, mode: this.#modeSelect.value, steps };
    const target = this.#target();
    const maps = tiles.map((t) => ({ tile: t.id, method: t.method }));
    this.#running = true;
    this.#button.disabled = true;
    this.#status.textContent = 'Randomising the model…';
    const results = [];
    let labels = [];
    try {
      await this.#engine.sanityCheck({
        metric, maps, target, mode: this.#mode,
        onSteps: (/** @type {any[]} */ steps) => {
          labels = steps;
          this.#draw(tiles, labels, results);
        },
        onStep: (/** @type {any} */ result) => {
          results[result.step] = result;
          const done = results.filter(Boolean).length;
          this.#status.textContent = `Step ${done} of ${labels.length} done; each remakes ${tiles.length} map${tiles.length === 1 ? '' : 's'}…`;
          this.#draw(tiles, labels, results);
        },
      });
      this.#draw(tiles, labels, results);
      this.#status.textContent = `Done: ${labels.length} step${labels.length === 1 ? '' : 's'}, ${metric.mode}.`;
    } catch (error) {
      this.#status.textContent = error.name === 'Cancelled' ? 'Sanity check cancelled.' : `Sanity check failed: ${error.message}`;
    } finally {
      this.#running = false;
      this.#button.disabled = false;
      this.#onIdle();
    }
  }

  /** The filmstrip and the chart from the steps finished so far. */
  #draw(tiles, labels, results) {
    const count = Math.max(labels.length, results.length);
    const heads = Array.from({ length: count }, (_, k) => {
      const label = labels[k]?.label ?? results[k]?.label ?? '';
      return el('th', { scope: 'col', title: label }, `${k + 1}. ${shortLayer(label)}`);
    });
    this.#filmstrip.replaceChildren(
      el('caption', {}, 'Each map made again as the layers are re-initialised (deepest layer named); ρ under each'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Map'), el('th', { scope: 'col' }, 'original'), ...heads)),
      el('tbody', {}, ...tiles.map((tile, i) => el('tr', { dataset: { map: tile.info.id } },
        el('th', { scope: 'row' }, el('span', { className: 'swatch', style: `background: ${this.#colour(tile)}` }), tile.info.title),
        el('td', {}, this.#original(tile)),
        ...Array.from({ length: count }, (_, k) => {
          const remade = results[k]?.maps[i];
          if (!remade) return el('td', { className: 'pending' }, '…');
          const { spearmanAbs, ssim } = remade.similarity;
          return el('td', { dataset: { rho: String(spearmanAbs) } }, this.#cell(remade.picture),
            el('span', { className: 'rho', title: `Spearman ρ of |map|; signed ${rhoText(remade.similarity.spearmanSigned)}${ssim === null || ssim === undefined ? '' : `; SSIM ${rhoText(ssim)}`}` },
              `ρ ${rhoText(spearmanAbs)}`));
        })))));
    const done = results.map((r, k) => (r ? k : -1)).filter((k) => k >= 0);
    this.#chart.hidden = !done.length;
    if (!done.length) return;
    const series = tiles.map((tile, i) => ({
      label: tile.info.title, colour: this.#colour(tile), dashed: false,
      x: done.map((k) => k), y: done.map((k) => results[k].maps[i].similarity.spearmanAbs),
    }));
    const chart = {
      title: 'Rank correlation with the original map', xLabel: 'step: layers re-initialised from the logits down (named above)',
      yLabel: 'Spearman ρ of |map|', series,
      xTicks: Array.from({ length: count }, (_, k) => String(k + 1)),
      yRange: [-1, 1],
    };
    this.#chart.dataset.series = String(series.length);
    drawCurves(this.#chart, chart).catch((error) => { this.#chart.title = error.message; });
  }
}
