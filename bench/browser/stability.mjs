// Browser benchmark: stability on request under one tile (soft stability, then sensitivity) of
// the default grid on chelsea, on the real page with 1 and 2 workers, alternating. Build the
// page first (`trunk build --release --dist DIST`), then:
//
//   node bench/browser/stability.mjs DIST [--runs N] [--method gradient]
//
// Times, per run, from the click on the tile's Stability button to soft stability's rate (its
// 151 passes in slices over the workers) and to sensitivity's (the map made again on 10 noisy
// inputs, one a worker at a time), and prints the medians.

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
const at = args.indexOf('--method');
const method = at >= 0 ? args.splice(at, 2)[1] : 'gradient';
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
  const line = `.tile[data-method="${method}"] .stability`;
  const started = Date.now();
  await page.click(`${line} .stability-run`);
  await page.waitForSelector(`${line} [data-metric="soft-stability"]`, { timeout: 1_800_000 });
  const soft = (Date.now() - started) / 1000;
  await page.waitForFunction((sel) => {
    const p = document.querySelector(sel);
    return p.querySelector('[data-metric="sensitivity"]') || /failed|cancelled/.test(p.textContent);
  }, line, { timeout: 1_800_000, polling: 100 });
  const total = (Date.now() - started) / 1000;
  const text = await page.textContent(line);
  if (!text.includes('Sensitivity')) throw new Error(text);
  await page.close();
  return { soft, total, text };
}

const server = await serve(dist);
const browser = await launchChromium();
const times = { 1: { soft: [], total: [] }, 2: { soft: [], total: [] } };
try {
  for (let run = 0; run < runs; run++) {
    for (const workers of run % 2 ? [2, 1] : [1, 2]) {
      const result = await once(browser, server.url, workers);
      times[workers].soft.push(result.soft);
      times[workers].total.push(result.total);
      console.log(`run ${run + 1}, ${workers} worker(s): soft stability ${result.soft.toFixed(1)} s, both ${result.total.toFixed(1)} s (${result.text})`);
    }
  }
  for (const workers of [1, 2]) {
    const { soft, total } = times[workers];
    console.log(`${workers} worker(s): soft stability median ${median(soft).toFixed(1)} s, sensitivity after it ${median(total.map((t, i) => t - soft[i])).toFixed(1)} s, both ${median(total).toFixed(1)} s`);
  }
} finally {
  await browser.close();
  await server.close();
}
