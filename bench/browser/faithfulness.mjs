// Browser benchmark: deletion and insertion (both orders, and the random order's yardstick)
// under the default grid's maps of chelsea, on the real page with 1 and 2 workers, alternating.
// Build the page first (`trunk build --release --dist DIST`), then:
//
//   node bench/browser/faithfulness.mjs DIST [--runs N] [--steps S]
//
// Times, per run, how long the maps take and then how long scoring them all takes (the queue
// scores once every map is drawn), and prints the medians by pool size.

import { SELECTED, alternate, dist, median, openPage, option, setControl, waitForMaps } from './page.mjs';

const runs = option('--runs', 2);
const steps = option('--steps', 50);

async function once(browser, url, workers) {
  const page = await openPage(browser, url, workers);
  const started = Date.now();
  await page.click('[data-example="chelsea.png"]');
  await setControl(page, '#image-faithfulness-steps', steps);
  await waitForMaps(page);
  const mapsDone = Date.now();
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((t) => {
    const line = t.querySelector('.faith');
    return line && !line.hidden && line.querySelectorAll('.metric').length === 2 && !line.querySelector('.status');
  }) && !document.getElementById('image-yardstick').hidden, SELECTED, { timeout: 1_800_000, polling: 100 });
  const scored = Date.now();
  const tiles = await page.$$eval(SELECTED, (ts) => ts.length);
  await page.close();
  return { maps: (mapsDone - started) / 1000, scores: (scored - mapsDone) / 1000, tiles };
}

const results = await alternate(dist(), runs, once, (run, workers, result) => {
  console.log(`run ${run + 1}, ${workers} worker(s): ${result.tiles} maps in ${result.maps.toFixed(1)} s, then scored in ${result.scores.toFixed(1)} s`);
});
for (const workers of [1, 2]) {
  const scores = results[workers].map((t) => t.scores);
  console.log(`${workers} worker(s): scoring median ${median(scores).toFixed(1)} s (runs: ${scores.map((s) => s.toFixed(1)).join(', ')})`);
}
