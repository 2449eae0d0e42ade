// Browser benchmark: the default grid (the methods the page selects at first) on chelsea, from
// the click on the example to the first drawn tile and to the last, on the real page with 1 and
// 2 workers, alternating, scoring by deletion and insertion off. Build the page first (`trunk
// build --release --dist DIST`), then:
//
//   node bench/browser/grid.mjs DIST [--runs N]
//
// The Python libraries' time for the same methods: `python3 bench/python/default_grid.py`.

import { SELECTED, alternate, dist, median, openPage, option, setControl, waitForMaps } from './page.mjs';

const runs = option('--runs', 2);

async function once(browser, url, workers) {
  const page = await openPage(browser, url, workers);
  await setControl(page, '#image-faithfulness', false);
  const started = Date.now();
  await page.click('[data-example="chelsea.png"]');
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((t) => t.dataset.state === 'done'), SELECTED, { timeout: 600_000, polling: 20 });
  const first = Date.now();
  const firstMethod = await page.$eval(`${SELECTED}[data-state="done"]`, (t) => t.dataset.method);
  await waitForMaps(page);
  const last = Date.now();
  const tiles = await page.$$eval(SELECTED, (ts) => ts.map((t) => t.dataset.method));
  await page.close();
  return { first: (first - started) / 1000, last: (last - started) / 1000, firstMethod, tiles };
}

const results = await alternate(dist(), runs, once, (run, workers, r) => {
  console.log(`run ${run + 1}, ${workers} worker(s): first map (${r.firstMethod}) at ${r.first.toFixed(2)} s, `
    + `all ${r.tiles.length} (${r.tiles.join(', ')}) at ${r.last.toFixed(1)} s`);
});
for (const workers of [1, 2]) {
  const [first, last] = ['first', 'last'].map((key) => median(results[workers].map((r) => r[key])));
  console.log(`${workers} worker(s): first map median ${first.toFixed(2)} s, last ${last.toFixed(1)} s`);
}
