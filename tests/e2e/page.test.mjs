// End to end: the built page (dist/) in headless Chromium. Build it first with `trunk build`.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateWithCli, launchChromium, serve, setControl, watchProblems } from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = process.env.GLIMPSE_DIST ?? path.join(ROOT, 'dist');
const SCREENSHOTS = path.join(ROOT, 'tests/e2e/screenshots');
const CATS = ['tabby, tabby cat', 'tiger cat', 'Egyptian cat'];
// Loading 18 MB of model and optimising it takes a while in a debug wasm build on 2 cores.
const READY_TIMEOUT = 180_000;

let server;
let browser;

before(async () => {
  server = await serve(DIST);
  browser = await launchChromium();
  await mkdir(SCREENSHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/**
 * Opens the page and waits for the model. Scoring every map's faithfulness is off unless
 * `faithfulness` is set: it adds hundreds of passes after the maps, which only its test needs.
 */
async function openPage(query = '', { faithfulness = false } = {}) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = watchProblems(page);
  await page.goto(`${server.url}${query}`);
  await waitForReady(page);
  if (!faithfulness) await setControl(page, '#image-faithfulness', false);
  return { page, problems };
}

async function waitForReady(page) {
  await page.waitForFunction(
    () => document.getElementById('status-text').textContent.startsWith('Ready'),
    null, { timeout: READY_TIMEOUT });
}

/** Waits until `expectedName` is classified: its view and top five are on the page. */
async function waitForResult(page, expectedName) {
  // The status line moves on to the explanations at once, so wait on the result itself.
  await page.waitForFunction(
    (name) => !document.getElementById('result').hidden
      && document.getElementById('model-view-caption').textContent.startsWith(`${name}, as the model sees it`),
    expectedName, { timeout: 60_000 });
}

async function topLabels(page) {
  return page.$$eval('#top5 li', (items) => items.map((item) => ({
    label: item.querySelector('.label').textContent,
    percent: parseFloat(item.querySelector('.prob').textContent),
  })));
}

/** Statistics of the "as the model sees it" canvas, read back from its pixels. */
async function viewStats(page) {
  return page.$eval('#model-view', (canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    let sumSq = 0;
    let red = 0;
    let blue = 0;
    const n = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      const grey = (data[i] + data[i + 1] + data[i + 2]) / 3;
      sum += grey;
      sumSq += grey * grey;
      red += data[i];
      blue += data[i + 2];
    }
    const mean = sum / n;
    return { width: canvas.width, height: canvas.height, mean, std: Math.sqrt(sumSq / n - mean * mean), red: red / n, blue: blue / n };
  });
}

test('an uploaded photo of a cat is classified as a cat', async () => {
  const { page, problems } = await openPage();
  await page.setInputFiles('#file', path.join(ROOT, 'www/examples/chelsea.png'));
  await waitForResult(page, 'chelsea.png');

  const top = await topLabels(page);
  assert.equal(top.length, 5);
  assert.ok(CATS.includes(top[0].label), `top label ${top[0].label}`);
  assert.deepEqual(new Set(top.slice(0, 3).map((t) => t.label)), new Set(CATS));
  const total = top.reduce((s, t) => s + t.percent, 0);
  assert.ok(total > 80 && total <= 100.5, `top-5 percentages sum to ${total}`);

  // The canvas shows the 224×224 crop of an orange cat, not a blank or grey square.
  const view = await viewStats(page);
  assert.equal(view.width, 224);
  assert.equal(view.height, 224);
  assert.ok(view.std > 20, `view has contrast (std ${view.std})`);
  assert.ok(view.red > view.blue + 20, `chelsea is orange (red ${view.red}, blue ${view.blue})`);

  await page.screenshot({ path: path.join(SCREENSHOTS, 'chelsea.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a text file named .png gets a clear error, and the page keeps working', async () => {
  const { page } = await openPage();
  await page.setInputFiles('#file', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('these are my notes, not a picture\n') });
  await page.waitForSelector('#error:not([hidden])');
  const message = await page.textContent('#error-text');
  assert.match(message, /notes\.png: This file is not an image the browser can read/);
  await page.screenshot({ path: path.join(SCREENSHOTS, 'not-an-image.png'), fullPage: true });

  // The page still works: the coffee example is espresso.
  await page.click('[data-example="coffee.png"]');
  await waitForResult(page, 'A cup of coffee');
  assert.equal((await topLabels(page))[0].label, 'espresso');
  assert.equal(await page.isHidden('#error'), true);
  await page.close();
});

test('a huge image is refused before it is decoded', async () => {
  const { page } = await openPage();
  // A PNG header claiming 30000×30000 pixels.
  const header = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).copy(header, 0);
  header.write('IHDR', 12, 'ascii');
  header.writeUInt32BE(30000, 16);
  header.writeUInt32BE(30000, 20);
  header[24] = 8;
  header[25] = 6;
  await page.setInputFiles('#file', { name: 'huge.png', mimeType: 'image/png', buffer: header });
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error-text'), /huge\.png: The image is 30000×30000 \(900 megapixels\)/);

  await page.click('[data-example="chelsea.png"]');
  await waitForResult(page, 'Chelsea the cat');
  assert.ok(CATS.includes((await topLabels(page))[0].label));
  await page.close();
});

/** A real PNG of `width`×`height` grey pixels (8-bit greyscale, unfiltered rows). */
function greyPng(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // greyscale
  const rows = Buffer.alloc((width + 1) * height, 128);
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = 0; // filter: none
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

test('a sliver of an image, a RISE grid past its limit and a trapping worker each get a clear message, and the page carries on', { timeout: 600_000 }, async () => {
  const { page } = await openPage();
  for (const [width, height] of [[32000, 1], [1, 32000]]) {
    const name = `strip-${width}x${height}.png`;
    await page.setInputFiles('#file', { name, mimeType: 'image/png', buffer: greyPng(width, height) });
    await page.waitForFunction((n) => document.getElementById('error-text').textContent.startsWith(n), name);
    assert.equal(await page.textContent('#error-text'), `${name}: The image is ${width}×${height}, 32000 times longer `
      + 'than it is wide; the model would see only a sliver of its middle. Glimpse accepts up to 100 times: crop it first.');
  }

  // The core's schema refuses RISE's grid of 100000 (it once asked every worker for gigabytes).
  await page.click('[data-example="chelsea.png"]');
  await waitForResult(page, 'Chelsea the cat');
  await selectMethods(page, ['rise']);
  await page.click('.tile[data-method="rise"] details.settings > summary');
  await setTileNumber(page, 'rise', 'Grid', 100000);
  await page.waitForSelector('.tile[data-method="rise"][data-state="error"]');
  assert.equal(await page.textContent('.tile[data-method="rise"] .state'), 'RISE: “Grid” must be a whole number from 1 to 64; it is 100000.');

  // A worker whose wasm traps (as running out of memory would) is replaced, and the tile says so.
  await selectMethods(page, []);
  for (const worker of page.workers()) await worker.evaluate(() => { self.glimpseTrapOn = 'explain'; });
  await selectMethods(page, ['gradient']);
  await page.waitForSelector('.tile[data-method="gradient"][data-state="error"]');
  assert.match(await page.textContent('.tile[data-method="gradient"] .state'),
    /^The engine crashed \(unreachable\); it has been restarted\. Run the method again, or with lighter settings\.$/);

  await screenshotSection(page, 'trapped.png');

  // The next method on the next image works, on the fresh workers (the model reloads first).
  await page.click('[data-example="coffee.png"]');
  await waitForResult(page, 'A cup of coffee');
  await waitForTiles(page, ['gradient'], 120_000);
  const gradient = await tileStats(page, 'gradient');
  assert.equal(gradient.state, 'done', gradient.stateText);
  assert.ok(gradient.coloured > 0.01);
  await page.close();
});

test('cancelling restarts the engine, and the page works afterwards', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  // The model is still downloading or being prepared: cancel it.
  await page.waitForSelector('#cancel:not([hidden])');
  await page.click('#cancel');
  await waitForReady(page);
  await page.click('[data-example="coffee.png"]');
  await waitForResult(page, 'A cup of coffee');
  assert.equal((await topLabels(page))[0].label, 'espresso');
  await page.close();
});

// ---- The explanation grid ---------------------------------------------------------------------

// One pass (forward and backward) takes about 0.3 s in the debug build on 2 cores, so the
// 50-pass methods take about 15 s each: the gradient methods at their defaults, in about
// 3 minutes. The forward-only methods are checked at lighter settings, twice (1 and 2 workers).
const EXPLAIN_TIMEOUT = 900_000;

/**
 * The image methods the page lists, from the core's registry: `{id, needs, signed}` each. The
 * tests below run every one of them, so a method is tested the day it is registered.
 */
async function registry(page) {
  return page.$$eval('.methods label.method', (labels) => labels.map((label) => ({
    id: label.dataset.method, needs: label.dataset.needs, signed: label.dataset.signed === 'true',
    summed: label.dataset.summed === 'true',
  })));
}

async function methodsNeeding(page, needs) {
  return (await registry(page)).filter((m) => m.needs === needs).map((m) => m.id);
}

async function selectMethods(page, methods) {
  for (const { id } of await registry(page)) {
    await page.setChecked(`.methods input[value="${id}"]`, methods.includes(id));
  }
}

async function waitForTiles(page, methods, timeout = EXPLAIN_TIMEOUT) {
  await page.waitForFunction((names) => names.every((name) => {
    const tile = document.querySelector(`.tile[data-method="${name}"]`);
    return tile && ['done', 'error'].includes(tile.dataset.state) && tile.dataset.scale;
  }), methods, { timeout, polling: 250 });
}

/**
 * A tile's canvas read back: the spread of its pixels, and how far it strays from the greyed
 * input (the worker's grey, 0.299 R + 0.587 G + 0.114 B), i.e. how much map is drawn on it.
 */
async function tileStats(page, method) {
  return page.evaluate((name) => {
    const read = (canvas) => canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const input = read(document.getElementById('model-view'));
    const tile = document.querySelector(`.tile[data-method="${name}"]`);
    const data = read(tile.querySelector('.canvas-box canvas'));
    let sum = 0;
    let sumSq = 0;
    let coloured = 0;
    let checksum = 0;
    const n = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
      const luma = (data[i] + data[i + 1] + data[i + 2]) / 3;
      sum += luma;
      sumSq += luma * luma;
      const grey = 0.299 * input[i] + 0.587 * input[i + 1] + 0.114 * input[i + 2];
      const off = Math.max(Math.abs(data[i] - grey), Math.abs(data[i + 1] - grey), Math.abs(data[i + 2] - grey));
      if (off > 12) coloured += 1;
      checksum = (checksum * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) % 1_000_000_007;
    }
    const mean = sum / n;
    return {
      std: Math.sqrt(sumSq / n - mean * mean),
      coloured: coloured / n,
      checksum,
      state: tile.dataset.state,
      stateText: tile.querySelector('.state').textContent,
      legend: tile.querySelector('.legend .ticks').textContent,
      ticks: [...tile.querySelectorAll('.legend .ticks span')].map((s) => s.textContent),
      completeness: tile.querySelector('.completeness:not([hidden])')?.textContent ?? null,
    };
  }, method);
}

/** The Explanations section, from the top of the page (where the sticky status bar is not on it). */
async function screenshotSection(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await page.locator('#explanations').boundingBox();
  await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true, clip: box });
}

test('every gradient method explains the cat, and the grid renders with per-map and shared scales', { timeout: 1_200_000 }, async () => {
  const { page, problems } = await openPage();
  const started = Date.now();
  await page.click('[data-example="chelsea.png"]');
  await waitForResult(page, 'Chelsea the cat');
  await page.waitForSelector('#explanations:not([hidden])');
  // The top prediction is the class explained.
  const top = await topLabels(page);
  assert.equal(await page.$eval('#target', (s) => s.selectedOptions[0].textContent), top[0].label);
  const GRADIENT_METHODS = await methodsNeeding(page, 'gradients');
  const signed = new Set((await registry(page)).filter((m) => m.signed).map((m) => m.id));
  await selectMethods(page, GRADIENT_METHODS);

  await waitForTiles(page, GRADIENT_METHODS);
  console.log(`all ${GRADIENT_METHODS.length} gradient methods explained in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const before = {};
  for (const method of GRADIENT_METHODS) {
    const stats = await tileStats(page, method);
    before[method] = stats;
    console.log(`  ${method}: ${stats.stateText}; scale ${stats.legend}; ${(stats.coloured * 100).toFixed(1)}% coloured`);
    assert.equal(stats.state, 'done', `${method}: ${stats.stateText}`);
    assert.match(stats.stateText, /^Done in /);
    assert.ok(stats.std > 10, `${method}: the tile has contrast (std ${stats.std})`);
    assert.ok(stats.coloured > 0.01, `${method}: a map is drawn over the grey image (${stats.coloured} coloured)`);
    // Signed maps have a legend centred at zero, magnitudes one starting at zero.
    assert.equal(stats.ticks.length, signed.has(method) ? 3 : 2);
  }
  assert.equal(await page.$$eval('.tile .state.bad', (bad) => bad.length), 0);
  for (const method of ['integrated-gradients', 'path-sampled-ig']) {
    assert.match(before[method].completeness, /^Σφ − \(f\(x\) − (f\(x′\)|E f\(x″\))\) = −?[\d.]+.* \([\d.]+% of −?[\d.]+\)/);
  }
  // The default refines IG's path until Σφ is within 1% of f(x) − f(x′); chelsea needs it.
  const ig = before['integrated-gradients'].completeness.match(/\(([\d.]+)% of/);
  assert.ok(Number(ig[1]) < 1, before['integrated-gradients'].completeness);
  assert.match(before['integrated-gradients'].completeness, /Refined to \d+ points\.$/);
  assert.equal(before.gradient.completeness, null);

  await screenshotSection(page, 'grid.png');

  // One shared scale per kind of map: every tile is drawn again, and maps in the same units
  // (here the contributions to the logit) show the same scale.
  await page.check('input[name="normalisation"][value="shared"]');
  await page.waitForFunction(() => [...document.querySelectorAll('.tile:not(.input-tile):not([hidden])')]
    .every((tile) => tile.dataset.scale === 'shared'), null, { timeout: 60_000 });
  const after = {};
  for (const method of GRADIENT_METHODS) after[method] = await tileStats(page, method);
  assert.equal(after['integrated-gradients'].legend, after['grad-x-input'].legend);
  assert.equal(after['integrated-gradients'].legend, after['path-sampled-ig'].legend);
  assert.equal(after.gradient.legend, after.smoothgrad.legend);
  assert.equal(after['smoothgrad-sq'].legend, after.vargrad.legend);
  const changed = GRADIENT_METHODS.filter((m) => after[m].checksum !== before[m].checksum);
  assert.ok(changed.length >= 4, `tiles redrawn with the shared scales: ${changed.join(', ')}`);
  for (const method of GRADIENT_METHODS) assert.equal(after[method].state, 'done');

  await screenshotSection(page, 'grid-shared.png');
  assert.deepEqual(problems, []);
  await page.close();
});

// The summed gradient methods (IG, SmoothGrad, ...) split every round of passes over the
// workers in chunks fixed by the core, and add the chunks' sums in order: the maps are the same,
// pixel for pixel, on one worker as on two. At light settings: 10 points, 10 samples.
const SUMMED_SETTINGS = { Steps: 10, Samples: 10 };

async function explainSummed(workers) {
  const { page, problems } = await openPage(`?workers=${workers}`);
  await page.click('[data-example="chelsea.png"]');
  await waitForResult(page, 'Chelsea the cat');
  await page.waitForSelector('#explanations:not([hidden])');
  const summed = (await registry(page)).filter((m) => m.summed).map((m) => m.id);
  await selectMethods(page, summed);
  for (const method of summed) {
    await page.click(`.tile[data-method="${method}"] details.settings > summary`);
    for (const [label, value] of Object.entries(SUMMED_SETTINGS)) {
      if (await tileField(page, method, label).count()) await setTileNumber(page, method, label, value);
    }
  }
  await waitForTiles(page, summed);
  const stats = {};
  for (const method of summed) stats[method] = await tileStats(page, method);
  assert.deepEqual(problems, []);
  await page.close();
  return { summed, stats };
}

test('the summed gradient methods draw the same maps on a pool of workers as on one', { timeout: 600_000 }, async () => {
  const pool = await explainSummed(2);
  const single = await explainSummed(1);
  assert.deepEqual(pool.summed, ['integrated-gradients', 'path-sampled-ig', 'smoothgrad', 'smoothgrad-sq', 'vargrad']);
  for (const method of pool.summed) {
    const [two, one] = [pool.stats[method], single.stats[method]];
    console.log(`  ${method}: ${two.stateText} (2 workers), ${one.stateText} (1); ${two.completeness ?? ''}`);
    assert.equal(two.state, 'done', `${method}: ${two.stateText}`);
    assert.ok(two.std > 10, `${method}: the tile has contrast (std ${two.std})`);
    assert.equal(two.checksum, one.checksum, `${method}: the same map on 1 and 2 workers`);
    assert.equal(two.completeness, one.completeness, method);
  }
  // IG refined its 10 points on both, to the same path.
  assert.match(pool.stats['integrated-gradients'].completeness, /Refined to \d+ points\.$/);
});

/** The field of a tile's settings whose label is exactly `label`. */
function tileField(page, method, label) {
  const name = page.locator('span', { hasText: new RegExp(`^${label}$`) });
  return page.locator(`.tile[data-method="${method}"] .settings label.field`).filter({ has: name });
}

/** Sets a number in a tile's settings, as a person would: type it, then leave the field. */
async function setTileNumber(page, method, label, value) {
  const input = tileField(page, method, label).locator('input');
  await input.fill(String(value));
  await input.dispatchEvent('change');
}

/** Lighter settings for the debug build: fewer passes, the same code paths. */
const LIGHT_SETTINGS = {
  occlusion: { Window: 32, Stride: 16 },
  rise: { Masks: 240 },
  lime: { Samples: 240 },
  'kernel-shap': { Coalitions: 240 },
  // The stem's 32 channels (the first layer listed) rather than the last layer's 1280.
  'score-cam': { Layer: { option: 1 } },
};

/** Pixels of a tile drawn in the boundary yellow (at the tile's opacity, over grey). */
async function yellowPixels(page, method) {
  return page.$eval(`.tile[data-method="${method}"] .canvas-box canvas`, (canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] > 190 && data[i + 1] > 160 && data[i + 2] < 80) count += 1;
    }
    return count;
  });
}

/** Waits until a tile's pixels differ from those with checksum `old` (as `tileStats` sums them). */
async function waitForRedraw(page, method, old) {
  await page.waitForFunction(({ name, old }) => {
    const canvas = document.querySelector(`.tile[data-method="${name}"] .canvas-box canvas`);
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) sum = (sum * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) % 1_000_000_007;
    return sum !== old;
  }, { name: method, old }, { timeout: 60_000 });
}

/** The forward-only methods on chelsea with `workers` workers: their tiles' statistics. */
async function explainForwardOnly(workers) {
  const { page, problems } = await openPage(`?workers=${workers}`);
  const pool = workers === 1 ? 'one Web Worker' : `${workers} Web Workers`;
  assert.match(await page.textContent('#model-name'), new RegExp(`on ${pool}\\.$`));
  await page.click('[data-example="chelsea.png"]');
  await waitForResult(page, 'Chelsea the cat');
  await page.waitForSelector('#explanations:not([hidden])');
  // The tiles start at their defaults; lighter settings replace the runs (occlusion's at once).
  const started = Date.now();
  const FORWARD_ONLY_METHODS = await methodsNeeding(page, 'forward-passes');
  await selectMethods(page, FORWARD_ONLY_METHODS);
  for (const method of FORWARD_ONLY_METHODS) {
    assert.ok(LIGHT_SETTINGS[method], `${method}: give it light settings for the debug build`);
    await page.click(`.tile[data-method="${method}"] details.settings > summary`);
    for (const [label, value] of Object.entries(LIGHT_SETTINGS[method])) {
      if (value.option === undefined) await setTileNumber(page, method, label, value);
      else await tileField(page, method, label).locator('select').selectOption({ index: value.option });
    }
  }
  await waitForTiles(page, FORWARD_ONLY_METHODS);
  const seconds = (Date.now() - started) / 1000;
  const stats = {};
  for (const method of FORWARD_ONLY_METHODS) {
    stats[method] = await tileStats(page, method);
    stats[method].yellow = await yellowPixels(page, method);
  }
  return { page, problems, stats, seconds, methods: await registry(page) };
}

test('the forward-only methods explain the cat, the same on a pool of workers as on one', { timeout: 1_200_000 }, async () => {
  const pool = await explainForwardOnly(2);
  const { page, stats } = pool;
  const FORWARD_ONLY_METHODS = pool.methods.filter((m) => m.needs === 'forward-passes').map((m) => m.id);
  for (const method of FORWARD_ONLY_METHODS) {
    const s = stats[method];
    console.log(`  ${method}: ${s.stateText}; scale ${s.legend}; ${(s.coloured * 100).toFixed(1)}% coloured; ${s.completeness ?? ''}`);
    assert.equal(s.state, 'done', `${method}: ${s.stateText}`);
    assert.ok(s.std > 10, `${method}: the tile has contrast (std ${s.std})`);
    assert.ok(s.coloured > 0.01, `${method}: a map is drawn (${s.coloured} coloured)`);
  }
  // Signed maps (occlusion, LIME, KernelSHAP) have a legend centred at zero; RISE and Score-CAM not.
  for (const { id, signed } of pool.methods.filter((m) => m.needs === 'forward-passes')) {
    assert.equal(stats[id].ticks.length, signed ? 3 : 2, id);
  }
  assert.match(stats.lime.completeness, /^\d+ superpixels; fit R² = (0|1)\.\d\d$/);
  // KernelSHAP's efficiency is enforced: Σφ − (f(x) − f(∅)) is rounding, 0.0% of the change.
  assert.match(stats['kernel-shap'].completeness, /^\d+ superpixels; Σφ − \(f\(x\) − f\(∅\)\) = .* \(0\.0% of −?[\d.]+\)$/);
  // Superpixel boundaries are drawn in yellow, and can be turned off.
  assert.ok(stats.lime.yellow > 500, `boundaries on the LIME tile: ${stats.lime.yellow} yellow pixels`);
  assert.ok(stats['kernel-shap'].yellow > 500);
  await screenshotSection(page, 'forward-only.png');
  await page.locator('.tile[data-method="lime"] .settings label.check').locator('input').uncheck();
  await waitForRedraw(page, 'lime', stats.lime.checksum);
  assert.ok(await yellowPixels(page, 'lime') < stats.lime.yellow / 10, 'no boundaries once turned off');
  // LIME shows its top 5 superpixels of each sign; "All" colours more of the image.
  const top = await tileStats(page, 'lime');
  await tileField(page, 'lime', 'Show').locator('select').selectOption('null');
  await waitForRedraw(page, 'lime', top.checksum);
  const all = await tileStats(page, 'lime');
  assert.ok(all.coloured > top.coloured, `all superpixels colour more (${all.coloured}) than the top 5 (${top.coloured})`);
  assert.deepEqual(pool.problems, []);
  await page.close();

  // One worker: the same seeded plans, scored in one place, give the very same pixels.
  const single = await explainForwardOnly(1);
  console.log(`forward-only methods: ${pool.seconds.toFixed(0)} s on 2 workers, ${single.seconds.toFixed(0)} s on 1`);
  for (const method of FORWARD_ONLY_METHODS) {
    assert.equal(single.stats[method].checksum, stats[method].checksum, `${method}: the same map on 1 and 2 workers`);
  }
  assert.deepEqual(single.problems, []);
  await single.page.close();
});

test('changing the target class explains that class instead', { timeout: 300_000 }, async () => {
  const { page, problems } = await openPage();
  await page.click('[data-example="chelsea.png"]');
  await waitForResult(page, 'Chelsea the cat');
  await page.waitForSelector('#explanations:not([hidden])');
  await selectMethods(page, ['gradient']);
  await waitForTiles(page, ['gradient']);
  const cat = await tileStats(page, 'gradient');
  assert.equal(cat.state, 'done');

  // Any of the 1000 classes: espresso (967), far from the top five.
  await page.selectOption('#target', '967');
  assert.match(await page.textContent('.target-line'), /Explaining espresso \(not in the top 5\)/);
  await page.waitForFunction((old) => {
    const tile = document.querySelector('.tile[data-method="gradient"]');
    return tile.dataset.state === 'done' && tile.dataset.scale && tile.querySelector('.legend .ticks').textContent !== old;
  }, cat.legend, { timeout: 120_000 });
  const espresso = await tileStats(page, 'gradient');
  assert.notEqual(espresso.checksum, cat.checksum, 'a different map for espresso');
  assert.ok(espresso.coloured > 0.01);

  // A row of the top five picks its class too.
  const second = (await topLabels(page))[1].label;
  await page.click('#top5 li:nth-child(2) .pick');
  assert.equal(await page.$eval('#target', (s) => s.selectedOptions[0].textContent), second);
  assert.equal(await page.getAttribute('#top5 li:nth-child(2) .pick', 'aria-pressed'), 'true');
  await page.waitForFunction((old) => {
    const tile = document.querySelector('.tile[data-method="gradient"]');
    return tile.dataset.state === 'done' && tile.dataset.scale && tile.querySelector('.legend .ticks').textContent !== old;
  }, espresso.legend, { timeout: 120_000 });
  const runnerUp = await tileStats(page, 'gradient');
  assert.notEqual(runnerUp.checksum, cat.checksum);
  assert.notEqual(runnerUp.checksum, espresso.checksum);
  assert.deepEqual(problems, []);
  await page.close();
});

test('cancelling an explanation keeps finished maps, and Explain finishes the rest', { timeout: 300_000 }, async () => {
  const { page, problems } = await openPage();
  await page.click('[data-example="chelsea.png"]');
  await waitForResult(page, 'Chelsea the cat');
  await page.waitForSelector('#explanations:not([hidden])');
  await selectMethods(page, ['gradient', 'integrated-gradients', 'grad-cam']);
  // Cancel Integrated Gradients halfway.
  await page.waitForFunction(() => /pass (1\d|[2-9]\d) of 51/.test(document.getElementById('status-text').textContent),
    null, { timeout: 120_000, polling: 100 });
  await page.click('#cancel');
  await page.waitForSelector('.tile[data-method="integrated-gradients"][data-state="cancelled"]');
  // The one-pass methods ran first: Grad-CAM did not wait behind Integrated Gradients.
  assert.equal(await page.getAttribute('.tile[data-method="grad-cam"]', 'data-state'), 'done');
  assert.equal(await page.getAttribute('.tile[data-method="gradient"]', 'data-state'), 'done');
  const gradient = await tileStats(page, 'gradient');
  assert.ok(gradient.coloured > 0.01, 'the finished map stays on screen');
  await page.waitForFunction(() => /cancelled \(Explain finishes them\)/.test(document.getElementById('status-text').textContent),
    null, { timeout: READY_TIMEOUT });

  // The engine restarted without the image: Explain sends it again, then runs what is missing.
  await page.click('#explain');
  await waitForTiles(page, ['gradient', 'integrated-gradients', 'grad-cam']);
  for (const method of ['integrated-gradients', 'grad-cam']) {
    const stats = await tileStats(page, method);
    assert.equal(stats.state, 'done', `${method}: ${stats.stateText}`);
    assert.ok(stats.coloured > 0.01);
  }
  assert.match((await tileStats(page, 'integrated-gradients')).completeness, /^Σφ − \(f\(x\) − f\(x′\)\) = /);
  assert.match(await page.textContent('#status-text'), /^Done: Chelsea the cat\. 3 of 3 maps drawn\.$/);
  assert.deepEqual(problems, []);
  await page.close();
});

/** The areas a tile's faithfulness line shows: {deletion: {morf, lerf}, insertion: {morf, lerf}}. */
async function tileAreas(page, method) {
  return page.$$eval(`.tile[data-method="${method}"] .faith .metric`, (spans) => Object.fromEntries(spans.map((span) => {
    const [morf, lerf] = span.textContent.match(/−?\d\.\d{3}/g).map((t) => Number(t.replace('−', '-')));
    return [span.dataset.metric, { morf, lerf }];
  })));
}

/** How many pixels of a canvas are within 40 of a colour (#rrggbb), in each colour asked. */
async function colourCounts(page, selector, colours) {
  return page.$eval(selector, (canvas, colours) => {
    const data = /** @type {HTMLCanvasElement} */ (canvas).getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    return colours.map((hex) => {
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40) n += 1;
      }
      return n;
    });
  }, colours);
}

test('deletion and insertion under three maps match the CLI, and the panel charts and ranks them', { timeout: 900_000 }, async () => {
  const METHODS = ['gradient', 'grad-x-input', 'grad-cam'];
  const STEPS = 10;
  const { page, problems } = await openPage('', { faithfulness: true });
  await setControl(page, '#image-faithfulness-steps', STEPS);
  await page.click('[data-example="chelsea.png"]');
  await waitForResult(page, 'Chelsea the cat');
  await page.waitForSelector('#explanations:not([hidden])');
  await selectMethods(page, METHODS);
  await waitForTiles(page, METHODS);
  await page.waitForFunction((names) => names.every((name) => {
    const line = document.querySelector(`.tile[data-method="${name}"] .faith`);
    return line && !line.hidden && line.querySelectorAll('.metric').length === 2 && !line.querySelector('.status');
  }) && !document.getElementById('image-yardstick').hidden, METHODS, { timeout: 600_000, polling: 500 });
  const target = Number(await page.$eval('#target', (s) => s.value));

  // The CLI on the same image, class, steps and seed.
  const { area: cliArea } = await evaluateWithCli(['--model', 'models/efficientnet-lite0.onnx', '--input', 'www/examples/chelsea.png',
    '--methods', METHODS.join(','), '--steps', String(STEPS), '--target', String(target)]);
  for (const method of METHODS) {
    const areas = await tileAreas(page, method);
    console.log(`  ${method}: ${JSON.stringify(areas)}`);
    for (const metric of ['deletion', 'insertion']) {
      for (const order of ['morf', 'lerf']) {
        const want = cliArea(method, metric, order);
        assert.ok(Math.abs(areas[metric][order] - want) <= 0.0015, `${method} ${metric} ${order}: page ${areas[metric][order]}, CLI ${want}`);
      }
    }
  }
  const yardstick = await page.textContent('#image-yardstick');
  for (const metric of ['deletion', 'insertion']) {
    const shown = Number(yardstick.match(new RegExp(`${metric} (\\d\\.\\d{3})`, 'i'))[1]);
    assert.ok(Math.abs(shown - cliArea('random', metric, 'random')) <= 0.0015, `random ${metric}: ${yardstick}`);
  }

  // One chart per metric, a curve in each tile's colour and the random order dashed in dark grey.
  await page.waitForSelector('#image-faith-panel:not([hidden])');
  await page.waitForFunction(() => document.querySelector('#image-deletion-chart').dataset.series === '4');
  await page.waitForTimeout(500);
  const colours = await page.$$eval(METHODS.map((m) => `.tile[data-method="${m}"] .faith .swatch`).join(','),
    (swatches) => swatches.map((s) => {
      const [r, g, b] = getComputedStyle(s).backgroundColor.match(/\d+/g).map(Number);
      return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
    }));
  assert.equal(new Set(colours).size, 3, `three tiles, three colours: ${colours}`);
  for (const chart of ['#image-deletion-chart', '#image-insertion-chart']) {
    const counts = await colourCounts(page, chart, [...colours, '#333333', '#ffffff']);
    console.log(`  ${chart}: ${counts.join(', ')} pixels in the tiles' colours, dark grey and white`);
    for (const [i, n] of counts.slice(0, 3).entries()) assert.ok(n > 40, `${chart}: the curve in ${colours[i]} is drawn (${n} pixels)`);
    assert.ok(counts[3] > 40, `${chart}: the random order and the axes' text are drawn (${counts[3]})`);
    assert.ok(counts[4] > 80_000, `${chart}: a white background (${counts[4]})`);
  }
  // The table ranks the maps by insertion − deletion, the random order last.
  const table = await page.$$eval('#image-faith-table tbody tr', (trs) => trs.map((tr) => ({
    map: tr.dataset.map, cells: [...tr.querySelectorAll('td')].map((td) => Number(td.textContent.replace('−', '-'))),
  })));
  assert.equal(table.length, 4);
  assert.equal(table[3].map, 'random order');
  const gaps = table.slice(0, 3).map((r) => r.cells[2]);
  assert.deepEqual(gaps, [...gaps].sort((a, b) => b - a), `ranked by insertion − deletion: ${gaps}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.locator('#image-faith-panel').screenshot({ path: path.join(SCREENSHOTS, 'faithfulness.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('the sanity check remakes two maps on the randomised model, matches the CLI, and shows the paper\'s finding; stability under a tile matches the CLI too', { timeout: 900_000 }, async () => {
  const METHODS = ['gradient', 'guided-backprop'];
  const { page, problems } = await openPage();
  await page.click('[data-example="chelsea.png"]');
  await waitForResult(page, 'Chelsea the cat');
  await page.waitForSelector('#explanations:not([hidden])');
  await selectMethods(page, METHODS);
  await waitForTiles(page, METHODS);
  await setControl(page, '#image-sanity-mode', 'cascading');
  await setControl(page, '#image-sanity-steps', 2);
  await page.click('#image-sanity-run');
  await page.waitForFunction(() => document.getElementById('image-sanity-status').textContent.startsWith('Done'),
    null, { timeout: 600_000, polling: 500 });
  const target = Number(await page.$eval('#target', (s) => s.value));

  // The filmstrip: a row per map, the original and a frame per step, each with its ρ.
  const rows = await page.$$eval('#image-filmstrip tbody tr', (trs) => trs.map((tr) => ({
    map: tr.dataset.map, rho: [...tr.querySelectorAll('td[data-rho]')].map((td) => Number(td.dataset.rho)),
    frames: tr.querySelectorAll('canvas.film').length,
  })));
  const heads = await page.$$eval('#image-filmstrip thead th', (ths) => ths.map((th) => th.textContent));
  assert.deepEqual(heads, ['Map', 'original', '1. _fc', '2. _conv_stem']);
  assert.deepEqual(rows.map((r) => [r.map, r.rho.length, r.frames]), [['gradient', 2, 3], ['guided-backprop', 2, 3]]);

  // The same numbers as the CLI on the same image, class and seed.
  const { rows: cli } = await evaluateWithCli(['--model', 'models/efficientnet-lite0.onnx', '--input', 'www/examples/chelsea.png',
    '--methods', METHODS.join(','), '--metrics', 'randomisation', '--randomisation-mode', 'cascading',
    '--randomisation-steps', '2', '--target', String(target)]);
  for (const row of rows) {
    const want = cli.find((r) => r.method === row.map).curve;
    console.log(`  ${row.map}: page ρ ${row.rho.map((r) => r.toFixed(4))}, CLI ${want.map((r) => r.toFixed(4))}`);
    for (const [k, rho] of row.rho.entries()) assert.ok(Math.abs(rho - want[k]) <= 1e-3, `${row.map} step ${k + 1}: page ${rho}, CLI ${want[k]}`);
  }
  // Adebayo et al.: the logits layer re-initialised, Guided Backprop's map barely moves; the gradient's does.
  const [gradient, guided] = rows;
  assert.ok(guided.rho[0] > 0.95 && gradient.rho[0] < 0.6, `guided ${guided.rho[0]}, gradient ${gradient.rho[0]}`);

  // The frames are maps drawn over the grey image, and the chart draws a curve per map.
  const coloured = await page.$$eval('#image-filmstrip canvas.film', (canvases) => canvases.map((canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (Math.max(Math.abs(data[i] - data[i + 1]), Math.abs(data[i + 1] - data[i + 2])) > 20) n += 1;
    return n / (data.length / 4);
  }));
  for (const share of coloured) assert.ok(share > 0.01, `every frame has colour: ${coloured}`);
  await page.waitForFunction(() => document.querySelector('#image-sanity-chart').dataset.series === '2');
  await page.waitForTimeout(500);
  const colours = await page.$$eval('#image-filmstrip tbody .swatch', (swatches) => swatches.map((s) => {
    const [r, g, b] = getComputedStyle(s).backgroundColor.match(/\d+/g).map(Number);
    return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  }));
  const counts = await colourCounts(page, '#image-sanity-chart', [...colours, '#ffffff']);
  console.log(`  sanity chart: ${counts.join(', ')} pixels in the maps' colours and white`);
  for (const [i, n] of counts.slice(0, 2).entries()) assert.ok(n > 40, `the curve in ${colours[i]} is drawn (${n} pixels)`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.locator('#image-sanity').screenshot({ path: path.join(SCREENSHOTS, 'sanity.png') });

  // Stability under the gradient's tile, on request: soft stability's passes and sensitivity's
  // noisy inputs spread over the workers give the CLI's numbers.
  const line = '.tile[data-method="gradient"] .stability';
  await page.click(`${line} .stability-run`);
  await page.waitForSelector(`${line} [data-metric="sensitivity"]`, { timeout: 600_000 });
  const stability = await page.$eval(line, (p) => ({
    text: p.textContent, rate: Number(p.querySelector('[data-metric="soft-stability"]').dataset.rate),
    max: Number(p.querySelector('[data-metric="sensitivity"]').dataset.max),
  }));
  console.log(`  stability: ${stability.text}`);
  assert.match(stability.text, /Soft stability τ₂ \d\.\d\d \(\d\.\d\d–\d\.\d\d at 90%, 150 samples\) · Sensitivity \d+\.\d\d/);
  const { rows: cliStability } = await evaluateWithCli(['--model', 'models/efficientnet-lite0.onnx', '--input', 'www/examples/chelsea.png',
    '--methods', 'gradient', '--metrics', 'soft-stability,sensitivity', '--target', String(target)]);
  const cliOf = (metric) => cliStability.find((r) => r.metric === metric).score;
  assert.ok(Math.abs(stability.rate - cliOf('soft-stability')) < 1e-6, `soft stability: page ${stability.rate}, CLI ${cliOf('soft-stability')}`);
  assert.ok(Math.abs(stability.max - cliOf('sensitivity')) <= 1e-3 * cliOf('sensitivity'), `sensitivity: page ${stability.max}, CLI ${cliOf('sensitivity')}`);
  await page.locator('.tile[data-method="gradient"]').screenshot({ path: path.join(SCREENSHOTS, 'stability.png') });
  assert.deepEqual(problems, []);
  await page.close();
});
