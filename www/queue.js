// @ts-check
// The queue both views run their tiles through: one tile at a time, the cheapest first by the
// registry's cost, each run checked against the tile's ticket so that an answer for an older
// input, target or setting is dropped. A view says how to prepare a tile's input, and draws
// what comes back; the queue owns the tickets, the run in flight and the tile's state machine
// (idle → queued → running → done | error | cancelled).

import { COLORBAR_WIDTH, el, formatSeconds, showTileProgress } from './dom.js';
import { Cancelled } from './engine.js';
import { cheapest } from './settings.js';

/** The state line of the states that say the same thing in every tile. */
const STATE_TEXT = {
  idle: 'Not computed yet',
  waiting: 'Choose a baseline image in Settings',
  queued: 'Queued',
  running: 'Running…',
  cancelled: 'Cancelled: press Explain to finish it',
};

/**
 * Shows a tile's state on the parts every view's tile has: `ui.state` (the state line),
 * `ui.progress` and `ui.completeness` and `ui.stability` (shown only when done); a map that is
 * not done has no faithfulness scores and no stability.
 */
export function showState(tile, state) {
  tile.state = state;
  tile.root.dataset.state = state;
  const { ui } = tile;
  ui.progress.hidden = state !== 'running';
  if (state === 'running') ui.progress.removeAttribute('value');
  ui.state.classList.toggle('bad', state === 'error');
  if (state === 'done') ui.state.textContent = `Done in ${formatSeconds(tile.seconds)}`;
  else if (state === 'error') ui.state.textContent = tile.error;
  else ui.state.textContent = STATE_TEXT[state];
  if (ui.stability) ui.stability.root.hidden = state !== 'done';
  if (state !== 'done') {
    ui.completeness.hidden = true;
    ui.faith.hidden = true;
    tile.scores = null;
    ui.stability?.reset();
  }
}

/** A tile of either view for one method of the registry (`info`), at its default settings. */
export function newTile(id, info, fields) {
  return {
    id, info, method: { ...info.defaults }, signed: info.signed,
    state: 'idle', ticket: 0, live: false, result: null, ...fields,
  };
}

/**
 * The parts every view's tile has: its caption, progress bar, state line, completeness line
 * and colour legend (`legend.root` holds the bar, its ticks and a note).
 */
/**
 * The Methods fieldset both views show: a box per tile (`select(tile, checked)` on change),
 * disabled with why for a method the model cannot run (`tile.unavailable`), and those reasons
 * listed under it (a gradient method names the operators the engine lacks).
 */
export function methodChoices(tiles, select, idPrefix) {
  const boxes = tiles.map((tile) => {
    const { id, title, needs, signed, summed } = tile.info;
    const why = tile.unavailable;
    const box = el('input', { type: 'checkbox', value: id, checked: tile.selected, disabled: Boolean(why) });
    box.addEventListener('change', () => select(tile, box.checked));
    return el('label', { className: `method${why ? ' unavailable' : ''}`, title: why ?? '', dataset: { method: id, needs, signed: String(signed), summed: String(summed) } }, box, title);
  });
  const refused = tiles.filter((t) => t.unavailable);
  const notes = refused.length ? el('details', { className: 'unavailable', id: `${idPrefix}methods-unavailable` },
    el('summary', {}, `${refused.length} method${refused.length === 1 ? '' : 's'} cannot run on this model`),
    el('ul', {}, ...refused.map((t) => el('li', { dataset: { method: t.info.id } }, el('strong', {}, t.info.title), `: ${t.unavailable}`)))) : null;
  return el('fieldset', { className: 'methods' }, el('legend', {}, 'Methods'), ...boxes, notes);
}

export function tileParts() {
  const legend = {
    bar: el('canvas', { className: 'bar', width: COLORBAR_WIDTH, height: 1 }),
    ticks: el('div', { className: 'ticks' }),
    note: el('p', { className: 'note' }),
  };
  return {
    caption: el('p', { className: 'caption' }),
    progress: el('progress', { max: 1, hidden: true }),
    // Not a live region: the status bar above already announces progress.
    state: el('p', { className: 'state' }),
    completeness: el('p', { className: 'completeness', hidden: true }),
    faith: el('p', { className: 'faith', hidden: true }),
    legend: { ...legend, root: el('div', { className: 'legend', hidden: true }, legend.bar, legend.ticks, legend.note) },
  };
}

export class TileQueue {
  #engine;
  #mode;
  #hooks;
  #tickets = 0;
  #pumping = false;
  /** The explain request in flight: {tile, ticket, scoring}. */
  #inFlight = null;
  /** The random order's curves for the subject and target: {key, curves}. */
  #yardstick = null;

  /**
   * @param {object} options
   * @param {import('./engine.js').Engine} options.engine
   * @param {'image' | 'text'} options.mode which model the requests go to
   * @param {() => any[]} options.tiles the view's tiles, each `{id, info, method, selected, state, ticket}`
   * @param {() => number} options.target the class explained
   * @param {(tile: any) => Promise<void>} options.prepare makes sure the workers hold what the tile needs
   * @param {(tile: any, state: string) => void} options.setState shows a tile's state
   * @param {(tile: any) => Promise<void>} options.finished shows a tile's result
   * @param {() => void} options.onIdle called when the last queued tile has run
   * @param {() => any[] | null} options.measures the metric runs every finished map is scored
   *   by, after every queued map is drawn (null: none)
   * @param {(tile: any) => void} options.scored shows a tile's scores (`tile.scores`)
   * @param {(curves: any[] | null) => void} options.yardstick shows the random order's curves
   */
  constructor({ engine, mode, tiles, target, prepare, setState, finished, onIdle, measures, scored, yardstick }) {
    this.#engine = engine;
    this.#mode = mode;
    this.#hooks = { tiles, target, prepare, setState, finished, onIdle, measures, scored, yardstick };
  }

  /** The subject or target changed: the random order's curves are stale. */
  forgetYardstick() {
    this.#yardstick = null;
    this.#hooks.yardstick(null);
  }

  /** Scores the maps that are not scored yet (or were cancelled), after any queued map. */
  rescore() {
    for (const tile of this.#hooks.tiles()) if (tile.scores?.state === 'cancelled') tile.scores = null;
    if (this.#yardstick?.failed) this.#yardstick = null;
    this.#pump();
  }

  /** Whether tiles are being computed (or wait to be). */
  get busy() {
    return this.#pumping;
  }

  /** A new ticket for the tile: any answer for an older one is dropped. */
  renew(tile) {
    tile.ticket = ++this.#tickets;
  }

  /** Puts a tile in the queue and runs the queue. */
  queue(tile) {
    this.renew(tile);
    this.#hooks.setState(tile, 'queued');
    this.#pump();
  }

  /** Whether this tile's run is the one in flight. */
  running(tile) {
    return this.#inFlight?.tile === tile;
  }

  /** Stops the computation in flight, if any, by restarting the engine. */
  interrupt() {
    if (this.#inFlight) this.#engine.cancel();
  }

  /** Shows the engine's progress on the tile in flight, if it is this view's. */
  progress(progress) {
    const flight = this.#inFlight;
    if (!flight?.scoring) return showTileProgress(flight, progress, this.#mode);
    const { tile, ticket } = flight;
    if (!tile || tile.ticket !== ticket || progress.tile !== tile.id || !tile.scores || !progress.total) return;
    tile.scores.progress = `Scoring ${progress.stage}: pass ${progress.done} of ${progress.total}`;
    this.#hooks.scored(tile);
  }

  async #pump() {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const tile = cheapest(this.#hooks.tiles().filter((t) => t.selected && t.state === 'queued'));
        if (tile) {
          await this.#run(tile);
          continue;
        }
        const measures = this.#hooks.measures();
        if (!measures) break;
        const key = JSON.stringify([this.#hooks.target(), measures]);
        const unscored = this.#hooks.tiles().find((t) => t.selected && t.state === 'done' && t.live
          && (!t.scores || t.scores.key !== key));
        if (unscored) {
          await this.#score(unscored, measures, key);
          continue;
        }
        const anyScored = this.#hooks.tiles().some((t) => t.scores?.key === key && t.scores.state === 'done');
        if (anyScored && this.#yardstick?.key !== key) {
          await this.#scoreRandom(measures, key);
          continue;
        }
        break;
      }
    } finally {
      this.#pumping = false;
    }
    this.#hooks.onIdle();
  }

  /** Scores a finished map by every metric run, one after another, each spread over the workers. */
  async #score(tile, measures, key) {
    const ticket = tile.ticket;
    const target = this.#hooks.target();
    tile.scores = { key, ticket, state: 'running', curves: [], progress: null, error: null };
    this.#inFlight = { tile, ticket, scoring: true };
    this.#hooks.scored(tile);
    try {
      for (const metric of measures) {
        // A map asked for meanwhile goes first; this one is scored again after it.
        if (this.#hooks.tiles().some((t) => t.selected && t.state === 'queued')) {
          tile.scores = null;
          return;
        }
        const stage = `${metric.metric} (${metric.order})`;
        const curve = await this.#engine.measure({ tile: tile.id, metric, target, mode: this.#mode, stage });
        if (tile.ticket !== ticket) return;
        tile.scores.curves.push({ ...curve, metric });
        this.#hooks.scored(tile);
      }
      tile.scores.state = 'done';
    } catch (error) {
      if (tile.ticket !== ticket || !tile.scores) return;
      tile.scores.state = error instanceof Cancelled ? 'cancelled' : 'error';
      tile.scores.error = error.message;
    } finally {
      if (this.#inFlight?.ticket === ticket) this.#inFlight = null;
      if (tile.ticket === ticket && tile.scores) this.#hooks.scored(tile);
    }
  }

  /** The random order's curves, once per subject, target and settings: the yardstick. */
  async #scoreRandom(measures, key) {
    const runs = measures.filter((m, i) => measures.findIndex((n) => n.metric === m.metric) === i)
      .map((m) => ({ ...m, order: 'random' }));
    const yardstick = { key, curves: [] };
    this.#yardstick = yardstick;
    try {
      for (const metric of runs) {
        const curve = await this.#engine.measure({ tile: -1, metric, target: this.#hooks.target(), mode: this.#mode, stage: `${metric.metric} (random order)` });
        if (this.#yardstick !== yardstick) return;
        yardstick.curves.push({ ...curve, metric });
      }
      this.#hooks.yardstick(yardstick.curves);
    } catch {
      // Not tried again in this run of the queue; Explain (rescore) tries again.
      if (this.#yardstick === yardstick) yardstick.failed = true;
    }
  }

  async #run(tile) {
    const ticket = tile.ticket;
    const { setState } = this.#hooks;
    setState(tile, 'running');
    try {
      await this.#hooks.prepare(tile);
      if (tile.ticket !== ticket) return;
      this.#inFlight = { tile, ticket };
      const started = performance.now();
      const result = await this.#engine.request('explain', {
        mode: this.#mode, tile: tile.id, method: tile.method, target: this.#hooks.target(), stage: tile.info.title,
      });
      if (tile.ticket !== ticket) return;
      tile.result = result;
      tile.seconds = (performance.now() - started) / 1000;
      tile.live = true;
      setState(tile, 'done');
      await this.#hooks.finished(tile);
    } catch (error) {
      if (tile.ticket !== ticket) return;
      if (error instanceof Cancelled) {
        setState(tile, 'cancelled');
      } else {
        tile.error = error.message;
        setState(tile, 'error');
      }
    } finally {
      if (this.#inFlight?.ticket === ticket) this.#inFlight = null;
    }
  }
}
