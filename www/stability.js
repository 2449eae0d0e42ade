// @ts-check
// Stability under a tile, on request: soft stability (Jin et al. 2025: how often the prediction
// on the map's top quarter of features holds when up to r more are shown, with its Hoeffding
// interval) and, for images, sensitivity (Captum's sensitivity_max: the largest relative change
// of the map when the input moves by small noise). Both spread over the worker pool: soft
// stability's passes in slices like a sweep's, sensitivity's noisy inputs one map at a time.

import { el } from './dom.js';

/** A rate or a change to two decimals. */
function number(value) {
  return Number.isFinite(value) ? value.toFixed(2) : '–';
}

/** The radius as a subscript: τ₂. */
function subscript(n) {
  return String(n).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[Number(d)]);
}

export class Stability {
  #engine;
  #mode;
  #soft;
  #sensitivity;
  #target;
  #label;
  #onIdle;
  /** The tile whose stability is being measured, if any. */
  #running = null;

  /**
   * @param {object} options
   * @param {any} options.engine the worker pool
   * @param {'image' | 'text'} options.mode which session the workers use
   * @param {any[]} options.metrics the metrics' registry
   * @param {() => number} options.target the class explained
   * @param {(index: number) => string} options.label a class's name
   * @param {() => void} options.onIdle called when a measurement ends
   */
  constructor({ engine, mode, metrics, target, label, onIdle }) {
    this.#engine = engine;
    this.#mode = mode;
    this.#soft = metrics.find((m) => m.kind === 'stability');
    // Noise in the input space means nothing for token ids: sensitivity is for images.
    this.#sensitivity = mode === 'image' ? metrics.find((m) => m.kind === 'sensitivity') : undefined;
    this.#target = target;
    this.#label = label;
    this.#onIdle = onIdle;
  }

  get busy() {
    return this.#running !== null;
  }

  /** The line under a tile: a button, then the numbers. `reset()` clears it when the map changes. */
  part(tile) {
    const button = el('button', { type: 'button', className: 'stability-run' }, 'Stability');
    // The numbers so far, then where the measurement stands.
    const result = el('span', { className: 'stability-result' });
    const status = el('span', { className: 'status', role: 'status' });
    const titles = [this.#soft, this.#sensitivity].filter(Boolean).map((m) => `${m.title}: ${m.caption}`).join('\n');
    button.title = titles;
    button.addEventListener('click', () => this.run(tile));
    const root = el('p', { className: 'stability', hidden: true }, button, ' ', result, status);
    return {
      root, button, result, status,
      reset: () => {
        result.replaceChildren();
        status.replaceChildren();
        status.classList.remove('bad');
        tile.stability = null;
      },
    };
  }

  /** Shows progress on the tile being measured. */
  progress(progress) {
    const tile = this.#running;
    if (!tile || progress.tile !== tile.id || progress.mode !== this.#mode || !progress.total) return;
    const unit = progress.unit === 'map' ? 'noisy input' : 'pass';
    const { result, status } = tile.ui.stability;
    status.textContent = `${result.childNodes.length ? ' · ' : ''}${progress.stage}: ${unit} ${progress.done} of ${progress.total}…`;
  }

  /** Measures a finished tile's stability, unless something is measured already. */
  async run(tile) {
    if (this.#running || tile.state !== 'done' || !this.#soft) return;
    const { ticket } = tile;
    const { button, result, status } = tile.ui.stability;
    const target = this.#target();
    this.#running = tile;
    button.disabled = true;
    result.replaceChildren();
    status.classList.remove('bad');
    status.textContent = 'Measuring…';
    const current = () => tile.ticket === ticket && tile.state === 'done';
    try {
      const soft = await this.#engine.measure({ tile: tile.id, metric: this.#soft.defaults, target, mode: this.#mode, stage: 'soft stability' });
      if (current()) result.replaceChildren(softPart(soft, this.#label));
      const sensitivity = this.#sensitivity && await this.#engine.sensitivity({
        tile: tile.id, method: tile.method, metric: this.#sensitivity.defaults, target, stage: 'sensitivity',
      });
      if (!current()) return;
      if (sensitivity) result.append(' · ', sensitivityPart(sensitivity, this.#sensitivity.defaults));
      tile.stability = { soft, sensitivity };
      status.replaceChildren();
    } catch (error) {
      if (!current()) return;
      status.classList.toggle('bad', error.name !== 'Cancelled');
      const said = error.name === 'Cancelled' ? 'Stability cancelled.' : `Stability failed: ${error.message}`;
      status.textContent = `${result.childNodes.length ? ' · ' : ''}${said}`;
    } finally {
      this.#running = null;
      button.disabled = false;
      this.#onIdle();
    }
  }
}

/** τ_r with its interval (or "exact"), and what the top features alone are read as. */
function softPart(soft, label) {
  const interval = soft.exact
    ? `exact: all ${soft.samples} masks`
    : `${number(soft.low)}–${number(soft.high)} at ${Math.round(soft.confidence * 100)}%, ${soft.samples} samples`;
  return el('span', {
    className: 'metric', dataset: { metric: 'soft-stability', rate: String(soft.rate) },
    title: `The top ${soft.shown} of ${soft.features} features alone are read as “${label(soft.prediction)}”; `
      + `shown with up to ${soft.radius} more, the prediction holds this often. Higher is more stable.`,
  }, `Soft stability τ${subscript(soft.radius)} ${number(soft.rate)} (${interval})`);
}

/** The largest relative change of the map under small noise. */
function sensitivityPart(sensitivity, settings) {
  return el('span', {
    className: 'metric', dataset: { metric: 'sensitivity', max: String(sensitivity.max) },
    title: `The map made again on ${sensitivity.changes.length} inputs moved by up to ±${settings.radius}: `
      + `its largest relative change (${sensitivity.changes.map(number).join(', ')}). Lower is more stable.`,
  }, `Sensitivity ${number(sensitivity.max)}`);
}
