// The methods whose passes split over the workers, in the real page, on a pool of 1 Web Worker
// and of N, in Debian's headless Chromium. Build the page first (`trunk build --release --dist
// DIST`), then:
//
//   node bench/browser/pool.mjs [DIST] [--workers N] [--runs R] [--text | --gradients]
//
// It opens the page twice, with `?workers=1` and `?workers=N`, loads chelsea (with `--text`:
// the long review, in the Sentences tab) with no method selected, then, one method at a time at
// its defaults, times R explanations on each page from the click to the drawn tile, alternating
// pages: the first for the top class, the next ones for other classes (the same work, computed
// afresh), with scoring by deletion and insertion off. Prints medians and the speed-up. By default the forward-only methods; with
// `--gradients`, the summed gradient methods (IG with its refinement off, as Captum runs it:
// IG-50; SmoothGrad; path-sampled IG), whose first run sets the tile's settings and is not
// timed.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serve, setControl } from '../../tests/e2e/harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args.splice(at, 2)[1]) : fallback;
};
const workers = option('--workers', 2);
const runs = option('--runs', 3);
const flag = (name) => {
  const at = args.indexOf(name);
  if (at >= 0) args.splice(at, 1);
  return at >= 0;
};
const text = flag('--text');
const gradients = flag('--gradients');
const dist = path.resolve(ROOT, args[0] ?? 'dist');

/** Where each mode keeps its pieces. */
const MODE = text
  ? {
    hash: '#sentences', faithfulness: '#text-faithfulness', methods: ['occlusion', 'lime', 'kernel-shap'], targets: ['1', '0'],
    boxes: '#text-explanations .methods', tile: '.text-tile', target: '#text-target', drawn: '.token[data-score]',
    load: async (page) => {
      await page.click('#text-examples button:last-child');
      await page.waitForSelector('#text-tiles:not([hidden])', { state: 'attached' });
    },
  }
  : {
    hash: '',
    faithfulness: '#image-faithfulness',
    methods: gradients ? ['integrated-gradients', 'smoothgrad', 'path-sampled-ig'] : ['occlusion', 'rise', 'lime', 'kernel-shap'],
    targets: ['282', '281', '285', '283', '287'],
    boxes: '#explanations .methods', tile: '.tile', target: '#target', drawn: '',
    load: async (page) => {
      await page.click('[data-example="chelsea.png"]');
      await page.waitForSelector('#explanations:not([hidden])');
    },
  };

/** Settings a method's tile is given before it is timed: a select's label and value. */
const SETTINGS = gradients ? { 'integrated-gradients': { 'Refine the path': 'null' } } : {};

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Opens the page with `size` workers and loads the example with no method selected. */
async function openPage(browser, server, size) {
  const page = await browser.newPage();
  await page.goto(`${server.url}?workers=${size}${MODE.hash}`);
  await page.waitForFunction(() => document.getElementById('status-text').textContent.startsWith('Ready'), null, { timeout: 600_000 });
  // Scoring every finished map by deletion and insertion would keep the workers busy between runs.
  await setControl(page, MODE.faithfulness, false);
  await page.evaluate((boxes) => {
    for (const box of document.querySelectorAll(`${boxes} input[type="checkbox"]`)) {
      if (box.checked) {
        box.checked = false;
        box.dispatchEvent(new Event('change'));
      }
    }
  }, MODE.boxes);
  await MODE.load(page);
  return page;
}

/** Seconds from the click (or target change) to the drawn tile. */
async function timeRun(page, method, run) {
  const started = Date.now();
  if (run === 0) {
    await page.setChecked(`${MODE.boxes} input[value="${method}"]`, true);
    const settings = Object.entries(SETTINGS[method] ?? {});
    if (settings.length) await page.click(`${MODE.tile}[data-method="${method}"] details.settings > summary`);
    for (const [label, value] of settings) {
      const name = page.locator('span', { hasText: new RegExp(`^${label}$`) });
      await page.locator(`${MODE.tile}[data-method="${method}"] .settings label.field`).filter({ has: name })
        .locator('select').selectOption(value);
    }
  } else await page.selectOption(MODE.target, MODE.targets[run % MODE.targets.length]);
  await page.waitForFunction(({ name, tileClass, drawn }) => {
    const tile = document.querySelector(`${tileClass}[data-method="${name}"]`);
    return tile.dataset.state === 'done' && (drawn ? tile.querySelector(drawn) : tile.dataset.scale);
  }, { name: method, tileClass: MODE.tile, drawn: MODE.drawn }, { timeout: 1_800_000, polling: 50 });
  return (Date.now() - started) / 1000;
}

const browser = await launchChromium();
const server = await serve(dist);
try {
  // Both pages stay open; runs alternate between them, so the machine's drift hits both alike.
  const sizes = [1, workers];
  const pages = [];
  for (const size of sizes) pages.push(await openPage(browser, server, size));
  for (const method of MODE.methods) {
    const times = sizes.map(() => []);
    // A method given settings first runs at them untimed: its timed runs are for other classes.
    const untimed = SETTINGS[method] ? 1 : 0;
    for (let run = 0; run < runs + untimed; run++) {
      for (const [i, page] of pages.entries()) {
        const seconds = await timeRun(page, method, run);
        if (run >= untimed) times[i].push(seconds);
      }
    }
    for (const page of pages) {
      await page.setChecked(`${MODE.boxes} input[value="${method}"]`, false);
      await page.selectOption(MODE.target, MODE.targets[0]);
    }
    const [one, many] = times.map(median);
    const list = (t) => t.map((x) => x.toFixed(1)).join(', ');
    console.log(`${method.padEnd(12)} 1 worker: median ${one.toFixed(1)} s (${list(times[0])}); `
      + `${workers} workers: median ${many.toFixed(1)} s (${list(times[1])}); speed-up ${(one / many).toFixed(2)}×`);
  }
} finally {
  await server.close();
  await browser.close();
}
