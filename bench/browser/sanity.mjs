// Browser benchmark: the sanity check (model randomisation, cascading, at its default steps)
// on the default grid's maps of chelsea, on the real page with 1 and 2 workers, alternating.
// Build the page first (`trunk build --release --dist DIST`), then:
//
//   node bench/browser/sanity.mjs DIST [--runs N] [--steps S]
//
// Times, per run, how long the maps take and then how long the sanity check takes (every
// step's randomised model built once, every map made again on it), and prints the medians.

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
const steps = option('--steps', 0);
const dist = path.resolve(ROOT, args[0] ?? 'dist');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Sets a control that may be hidden, as a person would. */
function setControl(page, selector, value) {
  return page.evaluate(({ selector, value }) => {
    const input = /** @type {HTMLInputElement} */ (document.querySelector(selector));
    if (typeof value === 'boolean') input.checked = value;
    else input.value = String(value);
    input.dispatchEvent(new Event('change'));
  }, { selector, value });
}

async function once(browser, url, workers) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${url}?workers=${workers}`);
  await page.waitForFunction(() => document.getElementById('status-text').textContent.startsWith('Ready'), null, { timeout: 300_000 });
  await setControl(page, '#image-faithfulness', false);
  await page.click('[data-example="chelsea.png"]');
  const selected = '.tile:not(.input-tile):not([hidden])';
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((t) => t.dataset.state === 'done'), selected, { timeout: 1_800_000, polling: 100 });
  await setControl(page, '#image-sanity-mode', 'cascading');
  if (steps) await setControl(page, '#image-sanity-steps', steps);
  const started = Date.now();
  await page.click('#image-sanity-run');
  await page.waitForFunction(() => /^(Done|Sanity)/.test(document.getElementById('image-sanity-status').textContent), null, { timeout: 3_600_000, polling: 100 });
  const seconds = (Date.now() - started) / 1000;
  const status = await page.textContent('#image-sanity-status');
  if (!status.startsWith('Done')) throw new Error(status);
  const tiles = await page.$$eval('#image-filmstrip tbody tr', (trs) => trs.length);
  const count = await page.$$eval('#image-filmstrip thead th', (ths) => ths.length - 2);
  await page.close();
  return { seconds, tiles, steps: count };
}

const server = await serve(dist);
const browser = await launchChromium();
const times = { 1: [], 2: [] };
try {
  for (let run = 0; run < runs; run++) {
    for (const workers of run % 2 ? [2, 1] : [1, 2]) {
      const result = await once(browser, server.url, workers);
      times[workers].push(result.seconds);
      console.log(`run ${run + 1}, ${workers} worker(s): ${result.tiles} maps × ${result.steps} steps in ${result.seconds.toFixed(1)} s`);
    }
  }
  for (const workers of [1, 2]) {
    console.log(`${workers} worker(s): median ${median(times[workers]).toFixed(1)} s (runs: ${times[workers].map((s) => s.toFixed(1)).join(', ')})`);
  }
} finally {
  await browser.close();
  await server.close();
}
