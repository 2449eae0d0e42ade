// The page's handle on the Web Worker that runs Glimpse's wasm. Every request gets an id; the
// worker answers with progress messages and then one `done` or `error`. Cancelling terminates
// the worker (the only way to stop wasm mid-computation) and starts a fresh one.

export class Cancelled extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'Cancelled';
  }
}

export class Engine {
  #worker = null;
  #pending = new Map();
  #nextId = 1;
  #onProgress;
  #onRestart;

  /**
   * @param {object} hooks
   * @param {(stage: string, fraction: number | null) => void} hooks.onProgress
   * @param {() => void} hooks.onRestart called after a fresh worker replaced a cancelled or
   *   crashed one, so the caller can load the model into it again.
   */
  constructor({ onProgress, onRestart }) {
    this.#onProgress = onProgress;
    this.#onRestart = onRestart;
    this.#spawn();
  }

  get busy() {
    return this.#pending.size > 0;
  }

  /** Sends a request; resolves with the worker's result. */
  request(type, payload = {}, transfer = []) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, type, ...payload }, transfer);
    });
  }

  /** Stops whatever runs now; every pending request rejects with `Cancelled`. */
  cancel() {
    this.#restart(new Cancelled());
  }

  #spawn() {
    this.#worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.#worker.onmessage = ({ data }) => this.#receive(data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#restart(new Error(`The engine stopped unexpectedly: ${event.message || 'unknown error'}`));
    };
  }

  #restart(reason) {
    this.#worker.terminate();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#spawn();
    for (const { reject } of pending) reject(reason);
    this.#onRestart();
  }

  #receive(message) {
    const entry = this.#pending.get(message.id);
    if (!entry) return;
    if (message.type === 'progress') {
      this.#onProgress(message.stage, message.fraction);
      return;
    }
    this.#pending.delete(message.id);
    if (message.type === 'done') entry.resolve(message.result);
    else entry.reject(new Error(message.message));
  }
}
