// What the page benchmarks that drive the real page share (in Node, unlike timing.js, which
// runs in the benchmark pages): their command-line options, medians, setting a control as a
// person would, opening the page with a pool size and waiting for the grid, and running the
// two pool sizes alternately.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serve } from '../../tests/e2e/harness.mjs';

export { setControl } from '../../tests/e2e/harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);

/** The value of `--name VALUE` (a number when `fallback` is one), or `fallback`. */
export function option(name, fallback) {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [, value] = args.splice(at, 2);
  return typeof fallback === 'number' ? Number(value) : value;
}

/** The page to time: the folder left after the options (default `dist`). */
export function dist() {
  return path.resolve(ROOT, args[0] ?? 'dist');
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The tiles of the selected methods. */
export const SELECTED = '.tile:not(.input-tile):not([hidden])';

/** Opens the page with `workers` workers (at `hash`: `#sentences` for the text tab) and waits for the model. */
export async function openPage(browser, url, workers, hash = '') {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${url}?workers=${workers}${hash}`);
  await page.waitForFunction(() => document.getElementById('status-text').textContent.startsWith('Ready'), null, { timeout: 300_000 });
  return page;
}

/** Waits until every selected tile's map is drawn. */
export function waitForMaps(page) {
  return page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((t) => t.dataset.state === 'done'), SELECTED, { timeout: 1_800_000, polling: 100 });
}

/**
 * Serves `dist` and runs `once(browser, url, workers)` `runs` times for 1 and 2 workers, the
 * order alternating (1, 2, then 2, 1); `report(run, workers, result)` after each. Resolves with
 * the results by pool size.
 */
export async function alternate(dist, runs, once, report) {
  const server = await serve(dist);
  const browser = await launchChromium();
  const results = { 1: [], 2: [] };
  try {
    for (let run = 0; run < runs; run++) {
      for (const workers of run % 2 ? [2, 1] : [1, 2]) {
        const result = await once(browser, server.url, workers);
        results[workers].push(result);
        report(run, workers, result);
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  return results;
}
