// @ts-check
// Faithfulness under every map: the controls that say which metrics the queue scores each
// finished map by (deletion and insertion, most and least relevant first, from the metrics'
// registry), the line under a tile that gives their areas, the random order's yardstick, and
// the panel that puts every map's curves in one chart per metric with a table that ranks them.

import { drawCurves, seriesColours } from './charts.js';
import { el } from './dom.js';

/** An area (or a difference of two) to the third decimal, with a true minus sign. */
function aucText(auc) {
  return `${auc < 0 ? '−' : ''}${Math.abs(auc).toFixed(3)}`;
}

/** The orders every map is scored in; the random order is the view's yardstick. */
const ORDERS = ['morf', 'lerf'];

/** The metrics' controls for one view: on or off, and the steps (limits from the schema). */
export class FaithfulnessControls {
  #metrics;
  #on;
  #steps;
  #colours = [];

  /**
   * @param {any[]} metrics the metrics' registry, as the worker exports it
   * @param {string} idPrefix makes the controls' ids unique in the page
   * @param {() => void} onChange called when the person turns scoring on or changes the steps
   */
  constructor(metrics, idPrefix, onChange) {
    // The sweeps: the sanity check (randomisation) has its own section.
    metrics = metrics.filter((m) => m.kind === 'sweep');
    this.#metrics = metrics;
    const steps = metrics[0]?.settings.find((s) => s.key === 'steps');
    this.#on = el('input', { type: 'checkbox', id: `${idPrefix}-faithfulness`, checked: true });
    this.#steps = el('input', {
      type: 'number', id: `${idPrefix}-faithfulness-steps`, min: steps?.min ?? 1, max: steps?.max ?? 1000,
      step: 1, value: steps?.default ?? 50,
    });
    this.#on.addEventListener('change', onChange);
    this.#steps.addEventListener('change', () => {
      const value = Number(this.#steps.value);
      if (!Number.isInteger(value) || value < Number(this.#steps.min) || value > Number(this.#steps.max)) {
        this.#steps.value = String(steps?.default ?? 50);
      }
      onChange();
    });
    seriesColours().then((colours) => { this.#colours = colours; }, () => {});
    const titles = metrics.map((m) => m.title.toLowerCase()).join(' and ');
    this.root = el('fieldset', { className: 'faithfulness' }, el('legend', {}, 'Faithfulness'),
      el('label', { title: metrics.map((m) => `${m.title}: ${m.caption}`).join('\n') }, this.#on, `Score every map by ${titles}`),
      el('label', {}, 'in', this.#steps, 'steps'));
  }

  /** The metric runs for every finished map, or null when scoring is off. */
  measures() {
    if (!this.#on.checked) return null;
    const steps = Number(this.#steps.value);
    return this.#metrics.flatMap((m) => ORDERS.map((order) => ({ ...m.defaults, order, steps })));
  }

  /** A tile's colour in the charts and beside its scores. */
  colour(tile) {
    return this.#colours[tile.id % this.#colours.length] ?? '#777777';
  }

  /** The title of a metric by its id. */
  title(id) {
    return this.#metrics.find((m) => m.id === id)?.title ?? id;
  }

  /** Whether a higher area is better for this metric. */
  higherIsBetter(id) {
    return Boolean(this.#metrics.find((m) => m.id === id)?.higherIsBetter);
  }

  /** The metrics' ids, in the registry's order. */
  get ids() {
    return this.#metrics.map((m) => m.id);
  }
}

/**
 * The queue's hooks for a view's faithfulness (see `TileQueue`), from its panel (`panel()`,
 * null before the model is loaded) and its tiles.
 */
export function queueHooks(panel, tiles) {
  return {
    measures: () => panel()?.measures() ?? null,
    scored: (tile) => panel()?.scored(tile, tiles()),
    yardstick: (curves) => panel()?.setYardstick(curves, tiles()),
  };
}

/** A tile's curve for a metric in an order, if it is done. */
function curveOf(scores, metric, order) {
  return scores?.curves.find((c) => c.metric.metric === metric && c.metric.order === order);
}

/**
 * Every scored map side by side: one chart per metric with each map's curve (most relevant
 * first) in its tile's colour and the random order dashed, and a table of the maps ranked by
 * insertion − deletion.
 */
export class FaithfulnessPanel {
  #controls;
  #unit;
  #charts;
  #table;
  #yardstick = null;
  #drawn = '';

  /**
   * @param {FaithfulnessControls} controls
   * @param {string} idPrefix makes the panel's ids unique in the page
   * @param {string} unit what the features are: 'pixels', 'tokens'
   */
  constructor(controls, idPrefix, unit) {
    this.#controls = controls;
    this.#unit = unit;
    this.#charts = controls.ids.map((id) => ({
      id, canvas: el('canvas', { id: `${idPrefix}-${id}-chart`, className: 'chart', width: 540, height: 300 }),
    }));
    this.#table = el('table', { className: 'faith-table', id: `${idPrefix}-faith-table` });
    /** The random order's areas, for the view to place. */
    this.yardstick = el('p', { className: 'faith yardstick', id: `${idPrefix}-yardstick`, hidden: true });
    this.root = el('section', { className: 'faith-panel', id: `${idPrefix}-faith-panel`, hidden: true },
      el('h3', {}, 'Which map can you trust?'),
      el('p', { className: 'caption' }, `Each map ranks the ${unit}; deletion removes them most relevant first and `
        + 'watches the probability fall (a faithful map makes it fall fast: a low area), insertion puts them back into '
        + `${unit === 'pixels' ? 'a blurred image' : 'a sentence of [PAD]s (so it retraces deletion least relevant first)'} `
        + 'and watches it rise (a high area). A random order is the yardstick; least relevant first (LeRF) '
        + 'should do the opposite, since either order alone can mislead (Blücher et al. 2024).'),
      el('div', { className: 'charts' }, ...this.#charts.map((c) => c.canvas)),
      this.#table);
  }

  /** The metric runs every finished map is scored by, or null when scoring is off. */
  measures() {
    return this.#controls.measures();
  }

  /** Shows a tile's scores under it, and in the charts and table among `tiles`. */
  scored(tile, tiles) {
    showScores(tile, this.#controls);
    this.update(tiles);
  }

  /** Shows the random order's curves (null: none yet). */
  setYardstick(curves, tiles) {
    this.#yardstick = curves;
    showYardstick(this.yardstick, curves, this.#controls);
    this.update(tiles);
  }

  /** Draws the charts and the table from the tiles' scores, if they changed. */
  update(tiles) {
    const scored = tiles.filter((t) => t.selected && t.scores?.curves.length);
    const signature = JSON.stringify([scored.map((t) => [t.id, t.scores.curves.length]), this.#yardstick?.length ?? 0]);
    if (signature === this.#drawn) return;
    this.#drawn = signature;
    this.root.hidden = !scored.length;
    if (!scored.length) return;
    for (const { id, canvas } of this.#charts) {
      const series = scored.flatMap((tile) => {
        const curve = curveOf(tile.scores, id, 'morf');
        return curve ? [{ label: tile.info.title, colour: this.#controls.colour(tile), dashed: false, x: [...curve.fractions], y: [...curve.scores] }] : [];
      });
      const random = this.#yardstick?.find((c) => c.metric.metric === id);
      if (random) series.push({ label: 'random order', colour: '#333333', dashed: true, x: [...random.fractions], y: [...random.scores] });
      const higher = this.#controls.higherIsBetter(id);
      const chart = {
        title: `${this.#controls.title(id)}: ${higher ? 'higher' : 'lower'} is more faithful`,
        xLabel: `share of ${this.#unit} ${higher ? 'put back' : 'removed'}`,
        yLabel: 'probability of the class',
        series,
      };
      canvas.dataset.series = String(series.length);
      drawCurves(canvas, chart).catch((error) => { canvas.title = error.message; });
    }
    this.#drawTable(scored);
  }

  #drawTable(scored) {
    const [deletion, insertion] = ['deletion', 'insertion'];
    const row = (name, colour, scores) => {
      const area = (metric, order) => curveOf(scores, metric, order)?.auc;
      return { name, colour, del: area(deletion, 'morf'), ins: area(insertion, 'morf'), lerfDel: area(deletion, 'lerf'), lerfIns: area(insertion, 'lerf') };
    };
    const rows = scored.map((t) => row(t.info.title, this.#controls.colour(t), t.scores))
      .filter((r) => r.del !== undefined && r.ins !== undefined)
      .sort((a, b) => (b.ins - b.del) - (a.ins - a.del));
    if (this.#yardstick?.length) {
      const random = { curves: this.#yardstick.map((c) => ({ ...c, metric: { ...c.metric, order: 'morf' } })) };
      rows.push(row('random order', '#333333', random));
    }
    const cell = (value) => el('td', {}, value === undefined ? '–' : aucText(value));
    this.#table.replaceChildren(
      el('caption', {}, 'The maps ranked by insertion − deletion (most relevant first)'),
      el('thead', {}, el('tr', {}, ...['Map', 'Deletion ↓', 'Insertion ↑', 'Insertion − deletion', 'LeRF deletion', 'LeRF insertion'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows.map((r) => el('tr', { dataset: { map: r.name } },
        el('th', { scope: 'row' }, el('span', { className: 'swatch', style: `background: ${r.colour}` }), r.name),
        cell(r.del), cell(r.ins), cell(r.del === undefined || r.ins === undefined ? undefined : r.ins - r.del),
        cell(r.lerfDel), cell(r.lerfIns)))));
  }
}

/** The line under a tile: each metric's area, most relevant first, with least relevant first beside. */
function showScores(tile, controls) {
  const line = tile.ui.faith;
  const scores = tile.scores;
  line.hidden = !scores;
  if (!scores) return;
  line.classList.toggle('bad', scores.state === 'error');
  if (scores.state === 'error') {
    line.textContent = `Faithfulness failed: ${scores.error}`;
    return;
  }
  const parts = [el('span', { className: 'swatch', style: `background: ${controls.colour(tile)}` })];
  for (const metric of new Set(scores.curves.map((c) => c.metric.metric))) {
    const morf = curveOf(scores, metric, 'morf')?.auc;
    const lerf = curveOf(scores, metric, 'lerf')?.auc;
    if (morf === undefined) continue;
    const better = controls.higherIsBetter(metric) ? 'higher' : 'lower';
    parts.push(el('span', { className: 'metric', dataset: { metric }, title: `area under the curve, most relevant first (${better} is more faithful); least relevant first in brackets` },
      `${controls.title(metric)} ${aucText(morf)}`,
      lerf === undefined ? '' : ` (LeRF ${aucText(lerf)})`));
  }
  const status = scores.state === 'running' ? (scores.progress ?? 'Scoring faithfulness…')
    : scores.state === 'cancelled' ? 'Faithfulness cancelled: press Explain to finish it' : '';
  const [swatch, ...areas] = parts;
  line.replaceChildren(swatch, ...areas.flatMap((p, i) => (i ? [' · ', p] : [p])),
    status ? el('span', { className: 'status' }, areas.length ? ` · ${status}` : status) : '');
}

/** The random order's areas, the yardstick every map should beat. */
function showYardstick(line, curves, controls) {
  line.hidden = !curves?.length;
  if (!curves?.length) return;
  line.textContent = `A random order (the yardstick): ${curves.map((c) => `${controls.title(c.metric.metric)} ${aucText(c.auc)}`).join(' · ')}`;
}
