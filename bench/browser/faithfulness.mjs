// Browser benchmark: deletion and insertion (both orders, and the random order's yardstick)
// under the default grid's maps of chelsea, on the real page with 1 and 2 workers, alternating.
// Build the page first (`trunk build --release --dist DIST`), then:
//
//   node bench/browser/faithfulness.mjs DIST [--runs N] [--steps S]
//
// Times, per run, how long the maps take and then how long scoring them all takes (the queue
// scores once every map is drawn), and prints the medians by pool size.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serve } from '../../tests/e2e/harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args.splice(at, 2)[1]) : fallback;
};
const runs = option('--runs', 2);
const steps = option('--steps', 50);
const dist = path.resolve(ROOT, args[0] ?? 'dist');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function once(browser, url, workers) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${url}?workers=${workers}`);
  await page.waitForFunction(() => document.getElementById('status-text').textContent.startsWith('Ready'), null, { timeout: 300_000 });
  const started = Date.now();
  await page.click('[data-example="chelsea.png"]');
  await page.evaluate((value) => {
    const input = /** @type {HTMLInputElement} */ (document.getElementById('image-faithfulness-steps'));
    input.value = String(value);
    input.dispatchEvent(new Event('change'));
  }, steps);
  const selected = '.tile:not(.input-tile):not([hidden])';
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((t) => t.dataset.state === 'done'), selected, { timeout: 1_800_000, polling: 100 });
  const mapsDone = Date.now();
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((t) => {
    const line = t.querySelector('.faith');
    return line && !line.hidden && line.querySelectorAll('.metric').length === 2 && !line.querySelector('.status');
  }) && !document.getElementById('image-yardstick').hidden, selected, { timeout: 1_800_000, polling: 100 });
  const scored = Date.now();
  const tiles = await page.$$eval(selected, (ts) => ts.length);
  await page.close();
  return { maps: (mapsDone - started) / 1000, scores: (scored - mapsDone) / 1000, tiles };
}

const server = await serve(dist);
const browser = await launchChromium();
const times = { 1: [], 2: [] };
try {
  for (let run = 0; run < runs; run++) {
    for (const workers of run % 2 ? [2, 1] : [1, 2]) {
      const result = await once(browser, server.url, workers);
      times[workers].push(result);
      console.log(`run ${run + 1}, ${workers} worker(s): ${result.tiles} maps in ${result.maps.toFixed(1)} s, then scored in ${result.scores.toFixed(1)} s`);
    }
  }
  for (const workers of [1, 2]) {
    const scores = times[workers].map((t) => t.scores);
    console.log(`${workers} worker(s): scoring median ${median(scores).toFixed(1)} s (runs: ${scores.map((s) => s.toFixed(1)).join(', ')})`);
  }
} finally {
  await browser.close();
  await server.close();
}
