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
 * Shows an engine progress message on the tile in flight (`{tile, ticket}`), unless the run's
 * answer will be dropped (the tile was unticked or changed meanwhile) or the message is another
 * method's. Stages read "Title: pass 3 of 50".
 */
export function showTileProgress(inFlight, stage, fraction) {
  const tile = inFlight?.tile;
  if (!tile || tile.ticket !== inFlight.ticket || !stage.startsWith(tile.info.title)) return;
  const pass = stage.slice(tile.info.title.length).replace(/^:\s*/, '');
  tile.ui.state.textContent = pass ? `Running: ${pass}` : 'Running…';
  if (fraction === null || fraction === undefined) tile.ui.progress.removeAttribute('value');
  else tile.ui.progress.value = fraction;
}
