// Browser benchmark: the sanity check (model randomisation, cascading, at its default steps)
// on the default grid's maps of chelsea, on the real page with 1 and 2 workers, alternating.
// Build the page first (`trunk build --release --dist DIST`), then:
//
//   node bench/browser/sanity.mjs DIST [--runs N] [--steps S]
//
// Times, per run, how long the maps take and then how long the sanity check takes (every
// step's randomised model built once, every map made again on it), and prints the medians.

import { alternate, dist, median, openPage, option, setControl, waitForMaps } from './page.mjs';

const runs = option('--runs', 2);
const steps = option('--steps', 0);

async function once(browser, url, workers) {
  const page = await openPage(browser, url, workers);
  await setControl(page, '#image-faithfulness', false);
  await page.click('[data-example="chelsea.png"]');
  await waitForMaps(page);
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

const results = await alternate(dist(), runs, once, (run, workers, result) => {
  console.log(`run ${run + 1}, ${workers} worker(s): ${result.tiles} maps × ${result.steps} steps in ${result.seconds.toFixed(1)} s`);
});
for (const workers of [1, 2]) {
  const times = results[workers].map((r) => r.seconds);
  console.log(`${workers} worker(s): median ${median(times).toFixed(1)} s (runs: ${times.map((s) => s.toFixed(1)).join(', ')})`);
}
