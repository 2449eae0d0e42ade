// End to end: the built page (dist/) in headless Chromium. Build it first with `trunk build`.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serve } from './harness.mjs';

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

async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  await page.goto(server.url);
  await waitForReady(page);
  return { page, problems };
}

async function waitForReady(page) {
  await page.waitForFunction(
    () => document.getElementById('status-text').textContent.startsWith('Ready'),
    null, { timeout: READY_TIMEOUT });
}

async function waitForResult(page, expectedName) {
  await page.waitForFunction(
    (name) => document.getElementById('status-text').textContent === `Done: ${name}.`,
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
