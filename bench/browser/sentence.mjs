// Browser benchmark: every text method the page lists (all selected, as the page starts) on a
// sentence of the examples, from the click on the example to the last highlighted tile, on the
// real page with 1 and 2 workers, alternating, scoring by deletion and insertion off. Build the
// page first (`trunk build --release --dist DIST`), then:
//
//   node bench/browser/sentence.mjs DIST [--runs N] [--sentence "not bad at all"]
//
// Each run opens the page afresh, reads the example once untimed (the model's plan for the
// sentence's length is made then) and times the second click.

import { alternate, dist, median, openPage, option, setControl } from './page.mjs';

const runs = option('--runs', 2);
const sentence = option('--sentence', 'not bad at all');
const TILES = '.text-tile:not([hidden])';

async function once(browser, url, workers) {
  const page = await openPage(browser, url, workers, '#sentences');
  await setControl(page, '#text-faithfulness', false);
  await timeSentence(page);
  const timed = await timeSentence(page);
  await page.close();
  return timed;
}

/** Seconds from the click on the example to the last drawn tile, and the methods drawn. */
async function timeSentence(page) {
  const started = Date.now();
  await page.click(`#text-examples button[title="${sentence}"]`);
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((t) => t.dataset.state !== 'done'), TILES, { timeout: 60_000, polling: 10 });
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((t) => {
    if (t.dataset.state === 'error') throw new Error(`${t.dataset.method}: ${t.querySelector('.state').textContent}`);
    return t.dataset.state === 'done';
  }), TILES, { timeout: 1_800_000, polling: 20 });
  const seconds = (Date.now() - started) / 1000;
  const tiles = await page.$$eval(TILES, (ts) => ts.map((t) => t.dataset.method));
  return { seconds, tiles };
}

const results = await alternate(dist(), runs, once, (run, workers, { seconds, tiles }) => {
  console.log(`run ${run + 1}, ${workers} worker(s): all ${tiles.length} (${tiles.join(', ')}) in ${seconds.toFixed(2)} s`);
});
for (const workers of [1, 2]) {
  console.log(`${workers} worker(s), "${sentence}": median ${median(results[workers].map((r) => r.seconds)).toFixed(2)} s`);
}
