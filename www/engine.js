// @ts-check
// The page's handle on the Web Workers that run Glimpse's wasm: a pool of them, each with its
// own wasm instance and its own copy of the model (no SharedArrayBuffer, so no special headers).
// Worker 0 is the primary: it holds the maps and answers every request. The others help with
// the methods whose passes split freely. The forward-only ones: every worker lays out the same
// seeded plan, scores the slices it is handed, and the primary combines the scores. The summed
// gradient ones (Integrated Gradients, SmoothGrad, ...): the primary lays out a round of
// gradient passes, every worker sums the fixed chunks of it it is handed, and the primary adds
// the chunks' sums in order (so the map is the same bit for bit on any number of workers) and
// answers or lays out the next round.
//
// Every request gets an id; a worker answers with progress messages and then one `done` or
// `error`. Cancelling a method whose passes are split just stops handing out slices. Cancelling
// anything else terminates every worker (the only way to stop wasm mid-computation) and starts
// fresh ones.

export class Cancelled extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'Cancelled';
  }
}

/** Requests every worker must see: the models, and the image or sentence their passes perturb. */
const BROADCAST = new Set(['load-model', 'classify', 'load-text-model', 'set-text']);

/** The verbs that lay out, score and finish a forward-only method's plan, and a metric's. */
const PLAN_VERBS = { plan: 'plan', scores: 'scores', finish: 'finish' };
const MEASURE_VERBS = { plan: 'measure-plan', scores: 'measure-scores', finish: 'measure-finish' };
/** Sensitivity's: each "pass" remakes a whole map, so the slices are one noisy input each. */
const SENSITIVITY_VERBS = { plan: 'sensitivity-plan', scores: 'sensitivity-scores', finish: 'sensitivity-finish', slice: 1, unit: 'map' };

/** Passes per slice handed to a worker: small enough to balance the load and report progress. */
const SLICES_PER_WORKER = 6;
const MIN_SLICE = 4;
const MAX_SLICE = 64;

export class Engine {
  #workers = [];
  #pending = new Map();
  #nextId = 1;
  #onProgress;
  #onRestart;
  #forwardOnly = new Set();
  #summed = new Set();
  /** Forward-only runs in progress, each `{stop}`: they can be stopped between slices. */
  #runs = new Set();

  /**
   * @param {object} hooks
   * @param {(progress: {stage: string, done?: number, total?: number, unit?: string, tile?: number,
   *   mode?: string}) => void} hooks.onProgress progress of a request, with the tile and mode it is for
   * @param {() => void} hooks.onRestart called after fresh workers replaced cancelled or crashed
   *   ones, so the caller can load the model into them again.
   * @param {number} hooks.size how many workers.
   */
  constructor({ onProgress, onRestart, size = 1 }) {
    this.#onProgress = onProgress;
    this.#onRestart = onRestart;
    for (let i = 0; i < Math.max(1, size); i++) this.#workers.push(this.#spawn());
  }

  /** How many workers share the methods whose passes split. */
  get size() {
    return this.#workers.length;
  }

  get busy() {
    return this.#pending.size > 0;
  }

  /** Sends a request; resolves with the (primary) worker's result. */
  async request(type, payload = {}, transfer = []) {
    if (BROADCAST.has(type)) {
      const [result] = await Promise.all(this.#workers.map((_, i) => this.#send(i, type, payload, [], i === 0)));
      if (type === 'load-model' || type === 'load-text-model') {
        const mode = type === 'load-model' ? 'image' : 'text';
        for (const m of result.methods) {
          if (m.needs === 'forward-passes') this.#forwardOnly.add(`${mode}:${m.id}`);
          if (m.summed) this.#summed.add(`${mode}:${m.id}`);
        }
      }
      return result;
    }
    const key = `${payload.mode ?? 'image'}:${payload.method?.method}`;
    if (type === 'explain' && this.#forwardOnly.has(key)) {
      const { method, ...rest } = payload;
      return this.#explainInSlices({ ...rest, stage: payload.stage ?? method.method, request: { method }, verbs: PLAN_VERBS });
    }
    if (type === 'explain' && this.#summed.has(key)) {
      return this.#stoppable((run) => this.#rounds({ ...payload, stage: payload.stage ?? payload.method.method }, run));
    }
    return this.#send(0, type, payload, transfer, true);
  }

  /** Stops whatever runs now; every pending request rejects with `Cancelled`. */
  cancel() {
    const pending = [...this.#pending.values()];
    if (this.#runs.size && pending.every((entry) => entry.run)) this.abandon();
    else this.#restart(new Cancelled());
  }

  /**
   * Stops the split runs in progress: they reject with `Cancelled` at once, and the workers
   * finish the slice in hand (a few seconds at most) before taking the next request.
   */
  abandon() {
    for (const run of this.#runs) run.stop();
  }

  /**
   * A metric on tile `tile`'s map (`metric`: `{metric, ...settings}`), its passes spread over
   * every worker in slices like a forward-only method's; resolves with `{fractions, scores, auc}`.
   * A random order needs no map.
   */
  async measure({ tile, metric, target, mode, stage = metric.metric }) {
    const values = metric.order === 'random' ? new Float32Array(0) : await this.#send(0, 'values', { tile, mode }, [], false);
    return this.#explainInSlices({ tile, target, mode, stage, request: { metric, values }, verbs: MEASURE_VERBS });
  }

  /**
   * Sensitivity (Captum's `sensitivity_max`) of image tile `tile`'s map (made by `method`, its
   * JSON settings): the map made again on each noisy input, the inputs spread over every worker
   * one at a time; resolves with `{changes, max}`.
   */
  async sensitivity({ tile, method, metric, target, stage = metric.metric }) {
    const original = await this.#send(0, 'raw-map', { tile }, [], false);
    return this.#explainInSlices({ tile, target, mode: 'image', stage, request: { metric, method, original }, verbs: SENSITIVITY_VERBS });
  }

  /**
   * The sanity check: the steps of a randomisation metric (`onSteps([{layers, label}])`), each
   * one's randomised model built by one worker and every map in `maps` (`[{tile, method}]`)
   * made again on it (`onStep({step, label, layers, maps: [{tile, similarity, picture}]})`).
   * Steps go to the workers as they come free. Cancelling restarts the workers.
   */
  async sanityCheck({ metric, maps, target, mode, onSteps, onStep }) {
    const steps = await this.#send(0, 'randomisation-steps', { metric, mode }, [], false);
    onSteps(steps);
    const parts = [];
    for (const { tile } of maps) parts.push(await this.#send(0, 'values', { tile, mode }, [], false));
    const values = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (values.set(p, at), at + p.length), 0);
    const stage = 'sanity check';
    const total = steps.length * maps.length;
    let next = 0;
    let done = 0;
    const report = () => this.#onProgress({ stage, done, total, unit: 'map', mode });
    report();
    const work = async (index) => {
      while (next < steps.length) {
        const step = next++;
        onStep(await this.#send(index, 'randomisation-step', { metric, step, target, maps, values, mode }, [], false));
        done += maps.length;
        report();
      }
    };
    await Promise.all(this.#workers.map((_, i) => work(i)));
    return steps;
  }

  /** A forward-only method or a metric, its passes spread over every worker in slices. */
  #explainInSlices(payload) {
    return this.#stoppable((run) => this.#slices(payload, run));
  }

  /** Runs `job(run)`; `abandon` rejects it with `Cancelled` at once and stops its next slice. */
  async #stoppable(job) {
    const run = { stopped: false };
    const stopped = new Promise((_, reject) => {
      run.stop = () => {
        run.stopped = true;
        reject(new Cancelled());
      };
    });
    this.#runs.add(run);
    try {
      return await Promise.race([job(run), stopped]);
    } finally {
      this.#runs.delete(run);
    }
  }

  async #slices({ tile, target, mode, stage, request, verbs }, run) {
    const total = await this.#send(0, verbs.plan, { ...request, target, mode }, [], false, run);
    const slice = verbs.slice ?? Math.min(MAX_SLICE, Math.max(MIN_SLICE, Math.ceil(total / (this.#workers.length * SLICES_PER_WORKER))));
    const scores = new Float32Array(total);
    const report = (done) => this.#onProgress({ stage, done, total, unit: verbs.unit ?? 'pass', tile, mode });
    await this.#spread(total, slice, run, report, async (index, start, end) => {
      scores.set(await this.#send(index, verbs.scores, { ...request, target, mode, start, end }, [], false, run), start);
    });
    return this.#send(0, verbs.finish, { ...request, tile, target, mode, scores }, [scores.buffer], false, run);
  }

  /**
   * A summed gradient method: each round's chunks summed over every worker, absorbed by the primary.
   * @param {any} request `{tile, method, target, mode, stage}`, as 'explain' is asked
   * @param {{stopped: boolean}} run
   */
  async #rounds({ tile, method, target, mode, stage }, run) {
    let round = await this.#send(0, 'sums-round', { method, target, mode }, [], false, run);
    for (;;) {
      const { chunk, done: before, total } = round;
      const nodes = Float64Array.from(round.nodes.flatMap((n) => [n.at, n.weight]));
      const parts = [];
      const report = (done) => this.#onProgress({ stage, done: before + done, total, unit: 'pass', tile, mode });
      await this.#spread(round.nodes.length, chunk, run, report, async (index, start, end) => {
        parts[start / chunk] = await this.#send(index, 'sums', { method, target, mode, nodes, start, end }, [], false, run);
      });
      const buffers = parts.flatMap((p) => [p.sum, p.squares, p.values].filter(Boolean).map((a) => a.buffer));
      const next = await this.#send(0, 'absorb', { tile, method, target, mode, parts }, buffers, false, run);
      if (next.done) return next.done;
      round = next.round;
    }
  }

  /**
   * Hands out `total` passes in slices of `slice` to every worker as it comes free, until all are
   * done, one fails, or the run is stopped; `job(worker, start, end)` runs one slice.
   */
  async #spread(total, slice, run, report, job) {
    let next = 0;
    let done = 0;
    let failed = false;
    report(0);
    const work = async (index) => {
      while (next < total && !failed && !run.stopped) {
        const start = next;
        const end = Math.min(total, start + slice);
        next = end;
        try {
          await job(index, start, end);
        } catch (error) {
          failed = true;
          throw error;
        }
        done += end - start;
        report(done);
      }
    };
    await Promise.all(this.#workers.map((_, i) => work(i)));
    if (run.stopped) throw new Cancelled();
  }

  #send(index, type, payload, transfer, reportProgress, run = null) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, reportProgress, run, tile: payload.tile, mode: payload.mode });
      this.#workers[index].postMessage({ id, type, ...payload }, transfer);
    });
  }

  #spawn() {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = ({ data }) => this.#receive(data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#restart(new Error(`The engine stopped unexpectedly: ${event.message || 'unknown error'}`));
    };
    return worker;
  }

  #restart(reason) {
    const size = this.#workers.length;
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (let i = 0; i < size; i++) this.#workers.push(this.#spawn());
    for (const { reject } of pending) reject(reason);
    this.#onRestart();
  }

  #receive(message) {
    // A trapped worker cannot be trusted again: replace them all, and say what failed.
    if (message.type === 'error' && message.fatal) {
      this.#restart(new Error(message.message));
      return;
    }
    const entry = this.#pending.get(message.id);
    if (!entry) return;
    if (message.type === 'progress') {
      if (entry.reportProgress) this.#onProgress({ ...message.progress, tile: entry.tile, mode: entry.mode });
      return;
    }
    this.#pending.delete(message.id);
    if (message.type === 'done') entry.resolve(message.result);
    else entry.reject(new Error(message.message));
  }
}
