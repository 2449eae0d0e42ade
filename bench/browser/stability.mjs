// Browser benchmark: stability on request under one tile (soft stability, then sensitivity) of
// the default grid on chelsea, on the real page with 1 and 2 workers, alternating. Build the
// page first (`trunk build --release --dist DIST`), then:
//
//   node bench/browser/stability.mjs DIST [--runs N] [--method gradient]
//
// Times, per run, from the click on the tile's Stability button to soft stability's rate (its
// 151 passes in slices over the workers) and to sensitivity's (the map made again on 10 noisy
// inputs, one a worker at a time), and prints the medians.

import { alternate, dist, median, openPage, option, setControl, waitForMaps } from './page.mjs';

const runs = option('--runs', 2);
const method = option('--method', 'gradient');

async function once(browser, url, workers) {
  const page = await openPage(browser, url, workers);
  await setControl(page, '#image-faithfulness', false);
  await page.click('[data-example="chelsea.png"]');
  await waitForMaps(page);
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

const results = await alternate(dist(), runs, once, (run, workers, result) => {
  console.log(`run ${run + 1}, ${workers} worker(s): soft stability ${result.soft.toFixed(1)} s, both ${result.total.toFixed(1)} s (${result.text})`);
});
for (const workers of [1, 2]) {
  const soft = results[workers].map((r) => r.soft);
  const total = results[workers].map((r) => r.total);
  console.log(`${workers} worker(s): soft stability median ${median(soft).toFixed(1)} s, sensitivity after it ${median(total.map((t, i) => t - soft[i])).toFixed(1)} s, both ${median(total).toFixed(1)} s`);
}
