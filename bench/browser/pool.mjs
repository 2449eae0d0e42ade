// The forward-only methods in the real page, on a pool of 1 Web Worker and of N, in Debian's
// headless Chromium. Build the page first (`trunk build --release --dist DIST`), then:
//
//   node bench/browser/pool.mjs [DIST] [--workers N] [--runs R]
//
// For each pool size it opens the page with `?workers=`, loads chelsea with no method selected,
// then, one method at a time at its defaults, times R explanations from the click to the drawn
// tile: the first for the top class, the next ones for other classes (the same work, computed
// afresh). Prints medians and the speed-up.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serve } from '../../tests/e2e/harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args.splice(at, 2)[1]) : fallback;
};
const workers = option('--workers', 2);
const runs = option('--runs', 3);
const dist = path.resolve(ROOT, args[0] ?? 'dist');
const METHODS = ['occlusion', 'rise', 'lime', 'kernel-shap'];
const TARGETS = ['282', '281', '285', '283', '287'];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const browser = await launchChromium();
const server = await serve(dist);
const results = {};
try {
  for (const size of [1, workers]) {
    const page = await browser.newPage();
    await page.goto(`${server.url}?workers=${size}`);
    await page.waitForFunction(() => document.getElementById('status-text').textContent.startsWith('Ready'), null, { timeout: 600_000 });
    // No method selected before the image arrives, so nothing else runs.
    await page.evaluate(() => {
      for (const box of document.querySelectorAll('.methods input[type="checkbox"]')) {
        if (box.checked) {
          box.checked = false;
          box.dispatchEvent(new Event('change'));
        }
      }
    });
    await page.click('[data-example="chelsea.png"]');
    await page.waitForSelector('#explanations:not([hidden])');
    for (const method of METHODS) {
      const times = [];
      for (let run = 0; run < runs; run++) {
        const started = Date.now();
        if (run === 0) await page.setChecked(`.methods input[value="${method}"]`, true);
        else await page.selectOption('#target', TARGETS[run % TARGETS.length]);
        await page.waitForFunction((name) => {
          const tile = document.querySelector(`.tile[data-method="${name}"]`);
          return tile.dataset.state === 'done' && tile.dataset.scale;
        }, method, { timeout: 1_800_000, polling: 50 });
        times.push((Date.now() - started) / 1000);
      }
      await page.setChecked(`.methods input[value="${method}"]`, false);
      await page.selectOption('#target', TARGETS[0]);
      results[method] ??= {};
      results[method][size] = median(times);
      console.log(`${method.padEnd(12)} ${size} worker(s): median ${median(times).toFixed(1)} s (${times.map((t) => t.toFixed(1)).join(', ')})`);
    }
    await page.close();
  }
  for (const method of METHODS) {
    const { 1: one, [workers]: many } = results[method];
    console.log(`${method.padEnd(12)} speed-up with ${workers} workers: ${(one / many).toFixed(2)}×`);
  }
} finally {
  await server.close();
  await browser.close();
}
