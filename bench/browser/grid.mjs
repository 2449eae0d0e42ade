// Browser benchmark: the default grid (the methods the page selects at first) on chelsea, from
// the click on the example to the first drawn tile and to the last, on the real page with 1 and
// 2 workers, alternating, scoring by deletion and insertion off; then the same from a click on
// a second example (coffee), when the models' plans for the input's shape are made. Build the
// page first (`trunk build --release --dist DIST`), then:
//
//   node bench/browser/grid.mjs DIST [--runs N]
//
// The Python libraries' time for the same methods: `python3 bench/python/default_grid.py`.

import { SELECTED, alternate, dist, median, openPage, option, setControl, waitForMaps } from './page.mjs';

const runs = option('--runs', 2);

async function once(browser, url, workers) {
  const page = await openPage(browser, url, workers);
  await setControl(page, '#image-faithfulness', false);
  const first = await timeGrid(page, 'chelsea.png');
  const second = await timeGrid(page, 'coffee.png');
  await page.close();
  return { first, second };
}

/** Seconds from the click on an example to the first drawn tile and to the last. */
async function timeGrid(page, example) {
  const started = Date.now();
  await page.click(`[data-example="${example}"]`);
  // A tile still done from the image before is not this image's.
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((t) => t.dataset.state !== 'done'), SELECTED, { timeout: 60_000, polling: 10 });
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((t) => t.dataset.state === 'done'), SELECTED, { timeout: 600_000, polling: 20 });
  const first = Date.now();
  const firstMethod = await page.$eval(`${SELECTED}[data-state="done"]`, (t) => t.dataset.method);
  await waitForMaps(page);
  const last = Date.now();
  const tiles = await page.$$eval(SELECTED, (ts) => ts.map((t) => t.dataset.method));
  return { first: (first - started) / 1000, last: (last - started) / 1000, firstMethod, tiles };
}

const results = await alternate(dist(), runs, once, (run, workers, { first, second }) => {
  console.log(`run ${run + 1}, ${workers} worker(s): chelsea's first map (${first.firstMethod}) at ${first.first.toFixed(2)} s, `
    + `all ${first.tiles.length} (${first.tiles.join(', ')}) at ${first.last.toFixed(1)} s; `
    + `then coffee's first at ${second.first.toFixed(2)} s, all at ${second.last.toFixed(1)} s`);
});
for (const workers of [1, 2]) {
  for (const image of ['first', 'second']) {
    const [first, last] = ['first', 'last'].map((key) => median(results[workers].map((r) => r[image][key])));
    console.log(`${workers} worker(s), ${image === 'first' ? 'chelsea' : 'coffee, second'}: first map median ${first.toFixed(2)} s, last ${last.toFixed(1)} s`);
  }
}
