// End to end: your own model in the page. A model the test script made (the zoo's small ResNet,
// random weights, 10 classes; not bundled) is dropped with a labels file, described in the form,
// and explained; its numbers are the CLI's under the description the page saves; it is still
// listed after a reload, and can be removed. Malformed models each get their message, and the
// page carries on with the model it had. Build the page first with `trunk build`.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, runCli, serve, watchProblems } from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = process.env.GLIMPSE_DIST ?? path.join(ROOT, 'dist');
const SCREENSHOTS = path.join(ROOT, 'tests/e2e/screenshots');
const ZOO = path.join(ROOT, 'tests/data/zoo');
const HOSTILE = path.join(ROOT, 'tests/data/hostile');
const READY_TIMEOUT = 180_000;
const METHODS = ['gradient', 'integrated-gradients', 'grad-cam', 'occlusion'];

let server;
let browser;
let scratch;

before(async () => {
  server = await serve(DIST);
  browser = await launchChromium();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'glimpse-models-'));
  await mkdir(SCREENSHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function waitForReady(page) {
  await page.waitForFunction(() => document.getElementById('status-text').textContent.startsWith('Ready'),
    null, { timeout: READY_TIMEOUT });
}

/** Drops files on "Bring your own model" (opening it first). */
async function bring(page, files) {
  if (await page.$eval('#bring', (panel) => panel.hidden)) await page.click('#bring-toggle');
  await page.setInputFiles('#bring-files', files);
}

async function topFive(page) {
  return page.$$eval('#top5 li', (items) => items.map((item) => ({
    index: Number(item.dataset.index),
    label: item.querySelector('.label').textContent,
    percent: parseFloat(item.querySelector('.prob').textContent),
  })));
}

async function classifyChelsea(page) {
  await page.click('[data-example="chelsea.png"]');
  await page.waitForFunction(() => !document.getElementById('result').hidden
    && document.getElementById('model-view-caption').textContent.startsWith('Chelsea the cat, as the model sees it'),
  null, { timeout: 60_000 });
}

/** A fresh browser context (downloads allowed) on the page, ready. */
async function openPage() {
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchProblems(page);
  await page.goto(server.url);
  await waitForReady(page);
  return { context, page, problems };
}

test('a model of your own, dropped with its labels and described in the form, classifies as the CLI does, draws four methods and stays after a reload', { timeout: 900_000 }, async () => {
  const { context, page, problems } = await openPage();

  const labels = path.join(scratch, 'labels.txt');
  await writeFile(labels, ['ant', 'bee', 'cat', 'dog', 'eel', 'fox', 'gnu', 'hen', 'ibis', 'jay'].join('\n'));
  await bring(page, [path.join(ZOO, 'resnet.onnx'), labels]);
  await page.waitForSelector('#bring-form:not([hidden])');
  // What the file says, read before it is loaded.
  const found = await page.$eval('#bring-found', (e) => e.textContent);
  assert.match(found, /input: float32 \[batch, 3, 64, 64\]/);
  assert.match(found, /logits: float32 \[batch, 10\]/);
  assert.match(found, /Conv ×13/);
  assert.match(found, /an image classifier, channels first \(NCHW\), colour, 64×64/);
  // The guesses, then what the person types.
  const value = (name) => page.$eval(`#bring-form [name="${name}"]`, (e) => e.value);
  assert.equal(await value('height'), '64');
  assert.equal(await value('layout'), 'NCHW');
  assert.equal(await value('output'), 'logits');
  assert.equal((await value('labels')).split('\n').length, 10);
  await page.fill('#bring-form [name="name"]', 'Zoo ResNet');
  await page.fill('#bring-form [name="resize"]', '80');
  await page.selectOption('#bring-form [name="normalisation"]', 'custom');
  await page.selectOption('#bring-form [name="scale"]', '1');
  await page.fill('#bring-form [name="mean"]', '0.5, 0.4, 0.3');
  await page.fill('#bring-form [name="std"]', '0.25');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'bring-a-model.png'), fullPage: true });

  // The description saves as the JSON the CLI reads.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#bring-form [name="save"]')]);
  const description = path.join(scratch, 'zoo-resnet.json');
  await download.saveAs(description);

  await page.click('#bring-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('model-select').selectedOptions[0]?.textContent.startsWith('Zoo ResNet (yours'),
    null, { timeout: READY_TIMEOUT });
  await waitForReady(page);
  assert.ok(await page.$eval('#bring', (panel) => panel.hidden), 'the panel closes once the model runs');

  await classifyChelsea(page);
  const top = await topFive(page);
  const cli = runCli(['classify', '--model', path.join(ZOO, 'resnet.onnx'), '--config', description,
    '--input', 'www/examples/chelsea.png', '--top', '5']);
  assert.deepEqual(top.map((t) => t.label), cli.map((c) => c.label), 'the page ranks the classes as the CLI does');
  for (const [i, prediction] of cli.entries()) {
    assert.ok(Math.abs(top[i].percent - prediction.prob * 100) <= 0.05, `${top[i].label}: ${top[i].percent}% against ${prediction.prob}`);
  }

  for (const id of await page.$$eval('.methods input[type="checkbox"]', (boxes) => boxes.map((b) => b.value))) {
    await page.setChecked(`.methods input[value="${id}"]`, METHODS.includes(id));
  }
  await page.waitForFunction((names) => names.every((name) => {
    const tile = document.querySelector(`.tile[data-method="${name}"]`);
    return tile && ['done', 'error'].includes(tile.dataset.state) && tile.dataset.scale;
  }), METHODS, { timeout: 600_000, polling: 250 });
  for (const method of METHODS) {
    const tile = await page.$eval(`.tile[data-method="${method}"]`, (t) => {
      const canvas = t.querySelector('.canvas-box canvas');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set();
      for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      return { state: t.dataset.state, text: t.querySelector('.state').textContent, colours: colours.size };
    });
    assert.equal(tile.state, 'done', `${method}: ${tile.text}`);
    assert.ok(tile.colours > 50, `${method}: a map is drawn (${tile.colours} colours)`);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SCREENSHOTS, 'your-model-grid.png'), fullPage: true });

  // A reload: the model is still listed, and still runs.
  await page.reload();
  await waitForReady(page);
  const options = await page.$$eval('#model-select option', (o) => o.map((x) => x.textContent));
  assert.ok(options.some((o) => o.startsWith('Zoo ResNet (yours')), options.join(' | '));
  const id = await page.$eval('#model-select', (s) => [...s.options].find((o) => o.textContent.startsWith('Zoo ResNet')).value);
  await page.selectOption('#model-select', id);
  await page.waitForFunction(() => document.getElementById('model-name').textContent.includes('Zoo ResNet'),
    null, { timeout: READY_TIMEOUT });
  await waitForReady(page);
  await classifyChelsea(page);
  assert.deepEqual((await topFive(page)).map((t) => t.label), cli.map((c) => c.label));

  // Removed, it is gone, and the bundled model is back.
  await page.click('#model-remove');
  await page.waitForFunction(() => document.getElementById('model-name').textContent.includes('EfficientNet-Lite0'),
    null, { timeout: READY_TIMEOUT });
  assert.ok(!(await page.$$eval('#model-select option', (o) => o.map((x) => x.textContent))).some((o) => o.includes('Zoo ResNet')));
  assert.deepEqual(problems, []);
  await context.close();
});

test('malformed models each get their message, and the page carries on with its model', { timeout: 600_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = watchProblems(page);
  await page.goto(server.url);
  await waitForReady(page);

  // Not a model at all: the inspection says so.
  await bring(page, [path.join(HOSTILE, 'random_bytes.onnx')]);
  await page.waitForFunction(() => document.getElementById('bring-found').textContent.includes('is not an ONNX model'));
  assert.ok(await page.$eval('#bring-form', (f) => f.hidden));

  // Weights in a file that is not there: refused from the inspection, naming it.
  await bring(page, [path.join(HOSTILE, 'external_data_missing.onnx')]);
  await page.waitForFunction(() => document.getElementById('bring-found').textContent.includes('another file (weights.bin)'));
  assert.ok(await page.$eval('#bring-form', (f) => f.hidden));

  // A convolution with a kernel of 0: it looks fine until it is loaded; then the workers say
  // which node is wrong, and the model before it stays.
  await bring(page, [path.join(HOSTILE, 'conv_zero_kernel.onnx')]);
  await page.waitForSelector('#bring-form:not([hidden])');
  await page.click('#bring-form button[type="submit"]');
  await page.waitForFunction(() => !document.getElementById('error').hidden, null, { timeout: 60_000 });
  const error = await page.$eval('#error-text', (e) => e.textContent);
  assert.match(error, /node conv_zero_kernel \(Conv\): kernel_shape is \[0, 0\]/);
  await page.click('#error-close');

  await classifyChelsea(page);
  assert.match((await topFive(page))[0].label, /cat/);
  assert.equal(await page.$eval('#model-select', (s) => s.value), 'bundled');

  // A model some methods cannot run on (SqueezeNet's classifier is a convolution, not global
  // pooling then a linear layer, so CAM does not apply): the page lists it with why, unticked.
  await bring(page, [path.join(ZOO, 'squeezenet.onnx')]);
  await page.waitForSelector('#bring-form:not([hidden])');
  await page.click('#bring-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('model-name').textContent.includes('squeezenet'),
    null, { timeout: READY_TIMEOUT });
  const refused = await page.$$eval('#methods-unavailable li', (items) => items.map((i) => [i.dataset.method, i.textContent]));
  assert.deepEqual(refused.map(([id]) => id), ['cam']);
  assert.match(refused[0][1], /CAM: .+/);
  assert.ok(await page.$eval('.methods input[value="cam"]', (box) => box.disabled && !box.checked));
  await page.click('#model-remove');
  await page.waitForFunction(() => document.getElementById('model-name').textContent.includes('EfficientNet-Lite0'),
    null, { timeout: READY_TIMEOUT });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a text model of your own, dropped with its tokenizer, highlights a sentence as the CLI scores it', { timeout: 600_000 }, async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  const problems = watchProblems(page);
  await page.goto(`${server.url}#sentences`);
  await page.waitForFunction(() => document.getElementById('status-text').textContent.startsWith('Ready'),
    null, { timeout: READY_TIMEOUT });
  const TEXT_ZOO = path.join(ROOT, 'tests/data/text_zoo');
  await page.click('#text-bring-toggle');
  await page.setInputFiles('#bring-files', [path.join(TEXT_ZOO, 'bert.onnx'), path.join(TEXT_ZOO, 'wordpiece-tokenizer.json')]);
  await page.waitForFunction(() => document.getElementById('bring-tokenizer')?.textContent.includes('wordpiece-tokenizer.json'));
  const found = await page.$eval('#bring-found', (e) => e.textContent);
  assert.match(found, /a text classifier: token ids \(input_ids\), a mask \(attention_mask\), token types \(token_type_ids\)/);
  const value = (name) => page.$eval(`#bring-form [name="${name}"]`, (e) => e.value);
  // The special tokens' ids come from the tokenizer.
  assert.deepEqual([await value('pad'), await value('cls'), await value('sep')], ['0', '2', '3']);
  assert.equal(await value('types'), 'token_type_ids');
  await page.fill('#bring-form [name="name"]', 'Tiny BERT');
  await page.fill('#bring-form [name="max_length"]', '16');
  await page.fill('#bring-form [name="labels"]', 'negative\npositive');
  await page.click('#bring-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('text-model-select').selectedOptions[0]?.textContent.startsWith('Tiny BERT (yours'),
    null, { timeout: READY_TIMEOUT });

  await page.fill('#sentence', 'not bad at all');
  await page.click('#text-form button[type="submit"]');
  await page.waitForFunction(() => !document.getElementById('text-result').hidden, null, { timeout: 60_000 });
  const methods = ['gradient', 'integrated-gradients', 'occlusion', 'attention'];
  await page.waitForFunction((names) => names.every((name) => {
    const tile = document.querySelector(`.text-tile[data-method="${name}"]`);
    return tile && ['done', 'error'].includes(tile.dataset.state);
  }), methods, { timeout: 300_000, polling: 250 });
  for (const method of methods) {
    const tile = await page.$eval(`.text-tile[data-method="${method}"]`, (t) => ({
      state: t.dataset.state, text: t.querySelector('.state').textContent,
      tokens: [...t.querySelectorAll('.tokens .token')].map((s) => s.textContent),
      coloured: [...t.querySelectorAll('.tokens .token')].filter((s) => s.style.backgroundColor && s.style.backgroundColor !== 'rgb(255, 255, 255)').length,
    }));
    assert.equal(tile.state, 'done', `${method}: ${tile.text}`);
    assert.ok(tile.coloured >= 2, `${method}: tokens highlighted (${JSON.stringify(tile)})`);
  }
  // The page's occlusion scores are the CLI's on the same model, description and sentence.
  const description = path.join(scratch, 'tiny-bert.json');
  await writeFile(description, JSON.stringify(JSON.parse(await page.evaluate(async () => {
    const db = await new Promise((resolve) => { const r = indexedDB.open('glimpse', 1); r.onsuccess = () => resolve(r.result); });
    const all = await new Promise((resolve) => { const r = db.transaction('models').objectStore('models').getAll(); r.onsuccess = () => resolve(r.result); });
    return all.find((m) => m.name === 'Tiny BERT').description;
  }))));
  const out = path.join(scratch, 'occlusion.json');
  runCli(['explain', '--model', path.join(TEXT_ZOO, 'bert.onnx'), '--config', description,
    '--tokenizer', path.join(TEXT_ZOO, 'wordpiece-tokenizer.json'), '--text', 'not bad at all',
    '--method', 'occlusion', '--target', String(await page.$eval('#text-target', (s) => s.value)), '--out', out]);
  const cli = JSON.parse(await readFile(out, 'utf8'));
  const shown = await page.$eval('.text-tile[data-method="occlusion"]', (t) => [...t.querySelectorAll('.tokens .token')].map((s) => s.title));
  const scored = cli.tokens.filter((t) => t.score !== null);
  const titles = shown.filter((t) => !t.includes('not scored'));
  assert.equal(titles.length, scored.length);
  for (const [i, token] of scored.entries()) {
    const [text, number] = titles[i].split(': ');
    assert.equal(text, token.token);
    const value = Number(number.replace('−', '-'));
    assert.ok(Math.abs(value - token.score) <= 0.0005 * Math.max(1, Math.abs(token.score)) + 1e-4, `${text}: page ${value}, CLI ${token.score}`);
  }
  await page.screenshot({ path: path.join(SCREENSHOTS, 'your-text-model.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a quantised model runs the methods that need no gradient; a model with several inputs asks which is the image', { timeout: 600_000 }, async () => {
  const { context, page, problems } = await openPage();

  // Quantised by onnxruntime's quantiser: the page says what will not work, and the rest does.
  await bring(page, [path.join(ZOO, 'quantised.onnx')]);
  await page.waitForSelector('#bring-form:not([hidden])');
  assert.match(await page.$eval('#bring-found', (e) => e.textContent),
    /quantised integers \(DequantizeLinear, QuantizeLinear\): the forward-only methods work/);
  await page.click('#bring-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('model-name').textContent.includes('quantised'),
    null, { timeout: READY_TIMEOUT });
  const refused = Object.fromEntries(await page.$$eval('#methods-unavailable li', (items) => items.map((i) => [i.dataset.method, i.textContent])));
  for (const id of ['gradient', 'integrated-gradients', 'grad-cam']) assert.match(refused[id] ?? '', /QuantizeLinear/, id);
  assert.equal(refused.occlusion, undefined);
  assert.equal(refused['score-cam'], undefined);
  await classifyChelsea(page);
  for (const id of await page.$$eval('.methods input[type="checkbox"]:not([disabled])', (boxes) => boxes.map((b) => b.value))) {
    await page.setChecked(`.methods input[value="${id}"]`, id === 'occlusion');
  }
  await page.waitForFunction(() => document.querySelector('.tile[data-method="occlusion"]')?.dataset.state === 'done',
    null, { timeout: 120_000, polling: 250 });

  // Three inputs: the form asks which is the image, guessing the one named so; the page then
  // ranks the classes as the CLI does under the description it saves. (A fresh page, so that
  // Chelsea is classified by this model and no other.)
  await page.goto(server.url);
  await waitForReady(page);
  await bring(page, [path.join(ZOO, 'two_inputs.onnx')]);
  await page.waitForSelector('#bring-form:not([hidden])');
  assert.match(await page.$eval('#bring-found', (e) => e.textContent), /3 inputs: choose which is the image \(the guess is image\)/);
  const choices = await page.$$eval('#bring-form [name="image_input"] option', (o) => o.map((x) => x.value));
  assert.deepEqual(choices, ['image', 'reference']);
  assert.equal(await page.$eval('#bring-form [name="image_input"]', (s) => s.value), 'image');
  await page.selectOption('#bring-form [name="normalisation"]', 'unit');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#bring-form [name="save"]')]);
  const description = path.join(scratch, 'two-inputs.json');
  await download.saveAs(description);
  assert.equal(JSON.parse(await readFile(description, 'utf8')).input, 'image');
  await page.click('#bring-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('model-name').textContent.includes('two_inputs'),
    null, { timeout: READY_TIMEOUT });
  await waitForReady(page);
  await classifyChelsea(page);
  const cli = runCli(['classify', '--model', path.join(ZOO, 'two_inputs.onnx'), '--config', description,
    '--input', 'www/examples/chelsea.png', '--top', '5']);
  const top = await topFive(page);
  assert.deepEqual(top.map((t) => t.index), cli.map((c) => c.index));
  for (const [i, prediction] of cli.entries()) assert.ok(Math.abs(top[i].percent - prediction.prob * 100) <= 0.05);
  assert.deepEqual(problems, []);
  await context.close();
});
