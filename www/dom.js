// @ts-check
// Helpers shared by the image grid and the text view: building elements, the legends' colour
// bars, and a tile's progress line.

/** Makes an element: `el('p', {className: 'x'}, 'text', child)`. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function option(value, text, selected = false) {
  return el('option', { value, selected }, text);
}

/** A labelled form field: the label's text above the control. */
export function field(label, control, hint) {
  return el('label', { className: 'field' }, el('span', {}, label), control, hint ? el('small', {}, hint) : null);
}

export function formatSeconds(seconds) {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** The legends' colour bars: one pixel high, this wide. */
export const COLORBAR_WIDTH = 256;

/** Colour bars from the worker, asked for once per colour map and kept. */
export class Colorbars {
  #engine;
  #bars = new Map();

  constructor(engine) {
    this.#engine = engine;
  }

  /** Resolves with the colour map's bar as `ImageData`. */
  get(colormap) {
    if (!this.#bars.has(colormap)) {
      const request = this.#engine.request('colorbar', { colormap, width: COLORBAR_WIDTH, height: 1 })
        .then((rgba) => new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), COLORBAR_WIDTH, 1));
      request.catch(() => this.#bars.delete(colormap));
      this.#bars.set(colormap, request);
    }
    return this.#bars.get(colormap);
  }
}

/**
 * Shows the engine's progress (`{stage, done, total, unit, tile, mode}`) on the tile in flight
 * (`{tile, ticket}`) of the view in `mode`, unless the run's answer will be dropped (the tile
 * was unticked or changed meanwhile) or the progress is another request's.
 */
export function showTileProgress(inFlight, progress, mode) {
  const tile = inFlight?.tile;
  if (!tile || tile.ticket !== inFlight.ticket || progress.tile !== tile.id || (progress.mode ?? 'image') !== mode) return;
  const counted = progress.unit === 'pass' && progress.total;
  tile.ui.state.textContent = counted ? `Running: pass ${progress.done} of ${progress.total}` : 'Running…';
  if (counted) tile.ui.progress.value = progress.done / progress.total;
  else tile.ui.progress.removeAttribute('value');
}

/** A progress report as the status bar says it: 'Integrated Gradients: pass 3 of 51'. */
export function progressText({ stage, done, total, unit }) {
  if (!total) return stage;
  if (unit === 'bytes') return `${stage}: ${(done / 1e6).toFixed(1)} MB of ${(total / 1e6).toFixed(1)} MB`;
  if (unit === 'map') return `${stage}: map ${done} of ${total}`;
  return `${stage}: pass ${done} of ${total}`;
}
