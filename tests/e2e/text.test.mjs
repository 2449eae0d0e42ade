// End to end, sentences: the built page (dist/) in headless Chromium. Build it first with
// `trunk build`. The expected scores are the references the native text tests use, made with
// onnxruntime (tests/data/text/make_attention_references.py).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateWithCli, launchChromium, serve, watchProblems } from './harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = process.env.GLIMPSE_DIST ?? path.join(ROOT, 'dist');
const SCREENSHOTS = path.join(ROOT, 'tests/e2e/screenshots');
const DATA = path.join(ROOT, 'tests/data/text');
const READY_TIMEOUT = 180_000;
const EXPLAIN_TIMEOUT = 600_000;
/** The text methods the page lists, from the core's registry: every one is run below. */
async function textMethods(page) {
  return page.$$eval('#text-explanations .methods label.method', (labels) => labels.map((l) => l.dataset.method));
}

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

async function reference(file) {
  return JSON.parse(await readFile(path.join(DATA, file), 'utf8'));
}

/** Opens the Sentences tab; scoring every map's faithfulness is off unless `faithfulness`. */
async function openSentences({ faithfulness = false } = {}) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = watchProblems(page);
  await page.goto(`${server.url}#sentences`);
  await page.waitForFunction(
    () => document.getElementById('status-text').textContent.startsWith('Ready')
      && !document.querySelector('#text-form button').disabled,
    null, { timeout: READY_TIMEOUT });
  if (!faithfulness) {
    await page.evaluate(() => {
      const box = /** @type {HTMLInputElement} */ (document.getElementById('text-faithfulness'));
      box.checked = false;
      box.dispatchEvent(new Event('change'));
    });
  }
  return { page, problems };
}

/** Waits until every listed tile is done (or one fails, which fails the test). */
async function waitForTiles(page, methods, timeout = EXPLAIN_TIMEOUT) {
  await page.waitForFunction((names) => names.every((name) => {
    const tile = document.querySelector(`.text-tile[data-method="${name}"]`);
    if (tile.dataset.state === 'error') throw new Error(`${name}: ${tile.querySelector('.state').textContent}`);
    return tile.dataset.state === 'done' && tile.querySelector('.token[data-score]');
  }), methods, { timeout, polling: 250 });
}

/** A tile's tokens: text, score (null when unscored) and background colour. */
async function tokens(page, method) {
  return page.$$eval(`.text-tile[data-method="${method}"] .token`, (spans) => spans.map((span) => ({
    text: span.textContent,
    score: span.dataset.score === undefined ? null : Number(span.dataset.score),
    background: getComputedStyle(span).backgroundColor,
  })));
}

/** How many distinct colours a tile's matrix canvas shows, and its size. */
async function matrixStats(page, method) {
  return page.$eval(`.text-tile[data-method="${method}"] canvas.matrix`, (canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return { width: canvas.width, height: canvas.height, colours: colours.size, visible: canvas.offsetWidth > 0 };
  });
}

async function matrixPixels(page, method) {
  return page.$eval(`.text-tile[data-method="${method}"] canvas.matrix`, (canvas) =>
    Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data));
}

/** Kendall's τ-b, written out here to check the page's table. */
function kendall(x, y) {
  let [concordant, discordant, tiedX, tiedY] = [0, 0, 0, 0];
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = x[i] - x[j];
      const dy = y[i] - y[j];
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiedX++;
      else if (dy === 0) tiedY++;
      else if (dx > 0 === dy > 0) concordant++;
      else discordant++;
    }
  }
  return (concordant - discordant) / Math.sqrt((concordant + discordant + tiedX) * (concordant + discordant + tiedY));
}

test('a typed sentence is read, every text method highlights its tokens, and each is scored for faithfulness', { timeout: 1_200_000 }, async () => {
  const { page, problems } = await openSentences({ faithfulness: true });
  const examples = await page.$$eval('#text-examples button', (buttons) => buttons.map((b) => b.title));
  assert.ok(examples.includes('not bad at all'), 'a negation example');
  assert.ok(examples.some((e) => e.length > 250), 'a long review');

  await page.click('#sentence');
  await page.keyboard.type('not bad at all');
  await page.click('#text-form button[type="submit"]');
  await page.waitForSelector('#text-result:not([hidden])');
  const top = await page.$$eval('#text-top li', (items) => items.map((item) => ({
    label: item.querySelector('.label').textContent, percent: parseFloat(item.querySelector('.prob').textContent),
  })));
  assert.equal(top[0].label, 'positive');
  // softmax([−1.2182, 1.2182]) from onnxruntime's logits.
  assert.ok(Math.abs(top[0].percent - 91.96) < 0.11, `P(positive) ${top[0].percent}%`);

  const METHODS = await textMethods(page);
  assert.ok(METHODS.length >= 9, `the registry lists ${METHODS.join(', ')}`);
  await waitForTiles(page, METHODS);
  for (const method of METHODS) {
    const shown = await tokens(page, method);
    assert.deepEqual(shown.map((t) => t.text), ['[CLS]', 'not', 'bad', 'at', 'all', '[SEP]'], method);
    const words = shown.slice(1, 5);
    assert.ok(words.every((w) => Number.isFinite(w.score)), `${method} scores every word`);
    // The word with the largest |score| is drawn in full colour, not white.
    const strongest = words.reduce((a, b) => (Math.abs(b.score) > Math.abs(a.score) ? b : a));
    assert.notEqual(strongest.background, 'rgb(255, 255, 255)', `${method}: ${strongest.text} is highlighted`);
  }

  // Occlusion is onnxruntime's drop in the logit with each word removed; KernelSHAP, with every
  // coalition of four words enumerated, the exact Shapley values.
  const occlusion = (await reference('occlusion.json')).sentences.not_bad.target_logit_drop;
  const shapley = (await reference('shapley_not_bad.json')).shapley_values;
  const scoresOf = async (method) => (await tokens(page, method)).slice(1, 5).map((t) => t.score);
  (await scoresOf('occlusion')).forEach((s, i) => assert.ok(Math.abs(s - occlusion[i]) < 1e-3, `occlusion ${s} vs ${occlusion[i]}`));
  (await scoresOf('kernel-shap')).forEach((s, i) => assert.ok(Math.abs(s - shapley[i]) < 1e-3, `SHAP ${s} vs ${shapley[i]}`));
  assert.match(await page.textContent('.text-tile[data-method="kernel-shap"] .completeness'), /\(0\.0% of 1\.52\)/);
  const ig = await page.textContent('.text-tile[data-method="integrated-gradients"] .completeness');
  const igPercent = parseFloat(ig.match(/\(([\d.]+)% of/)[1]);
  assert.ok(igPercent < 1, `IG completeness ${ig}`);
  assert.match(await page.textContent('.text-tile[data-method="lime"] .completeness'), /Fit R² = 0\.\d\d|Fit R² = 1\.00/);
  // [CLS] and [SEP] are not removed by the perturbation methods.
  const specials = (await tokens(page, 'occlusion')).filter((t) => t.text.startsWith('['));
  assert.ok(specials.every((t) => t.score === null));

  // The heatmaps: a 6 × 6 matrix of colours under token labels.
  for (const method of ['attention', 'rollout', 'gradient-rollout']) {
    const stats = await matrixStats(page, method);
    assert.ok(stats.visible && stats.width > 100, `${method} matrix shown`);
    assert.ok(stats.colours > 10, `${method} matrix has ${stats.colours} colours`);
  }

  // Every map is scored by deletion and insertion. A sentence's insertion starts where its
  // deletion ends (every word [PAD]), so inserting most relevant first passes through the same
  // inputs as deleting least relevant first, backwards: the two areas are equal.
  await page.waitForFunction((names) => names.every((name) => {
    const line = document.querySelector(`.text-tile[data-method="${name}"] .faith`);
    return line && !line.hidden && line.querySelectorAll('.metric').length === 2 && !line.querySelector('.status');
  }) && !document.getElementById('text-yardstick').hidden, METHODS, { timeout: 600_000, polling: 500 });
  // The CLI gives the same numbers for the same sentence, class, steps and seed.
  const { area: cliArea } = await evaluateWithCli(['--model', 'models/minilm-sentiment.onnx', '--text', 'not bad at all']);
  for (const method of METHODS) {
    const areas = await page.$$eval(`.text-tile[data-method="${method}"] .faith .metric`, (spans) => Object.fromEntries(
      spans.map((span) => [span.dataset.metric, span.textContent.match(/−?\d\.\d{3}/g).map((t) => Number(t.replace('−', '-')))])));
    for (const [metric, [morf, lerf]] of Object.entries(areas)) {
      for (const [order, shown] of [['morf', morf], ['lerf', lerf]]) {
        const want = cliArea(method, metric, order);
        assert.ok(Math.abs(shown - want) <= 0.0015, `${method} ${metric} ${order}: page ${shown}, CLI ${want}`);
      }
    }
    assert.ok(Math.abs(areas.insertion[0] - areas.deletion[1]) <= 0.001, `${method}: insertion (MoRF) retraces deletion (LeRF): ${JSON.stringify(areas)}`);
    assert.ok(Math.abs(areas.insertion[1] - areas.deletion[0]) <= 0.001, `${method}: and the other way round`);
    assert.ok(areas.deletion[0] < areas.deletion[1], `${method}: its most relevant words matter more than its least`);
  }
  await page.waitForSelector('#text-faith-panel:not([hidden])');
  assert.equal(await page.$$eval('#text-faith-table tbody tr', (rows) => rows.length), METHODS.length + 1, 'every map and the random order');
  await page.screenshot({ path: path.join(SCREENSHOTS, 'text.png'), fullPage: true });

  // Stability on request: four words, one of them the explanation, so every mask of up to two
  // more is tried once and the rate is exact; the CLI gives the same.
  await page.click('.text-tile[data-method="occlusion"] .stability-run');
  await page.waitForSelector('.text-tile[data-method="occlusion"] .stability [data-metric="soft-stability"]', { timeout: 120_000 });
  const stability = await page.$eval('.text-tile[data-method="occlusion"] .stability', (p) => ({
    text: p.textContent, rate: Number(p.querySelector('[data-metric="soft-stability"]').dataset.rate),
  }));
  assert.match(stability.text, /Soft stability τ₂ \d\.\d\d \(exact: all 7 masks\)/);
  assert.ok(!stability.text.includes('Sensitivity'), 'noise in token ids means nothing: no sensitivity for sentences');
  const { rows: cliStability } = await evaluateWithCli(['--model', 'models/minilm-sentiment.onnx', '--text', 'not bad at all',
    '--methods', 'occlusion', '--metrics', 'soft-stability']);
  assert.ok(Math.abs(stability.rate - cliStability[0].score) < 1e-6, `page ${stability.rate}, CLI ${cliStability[0].score}`);

  // Another head gives another heatmap.
  const before = await matrixPixels(page, 'attention');
  await page.selectOption('.text-tile[data-method="attention"] .attention-head', '2');
  await page.waitForFunction(() => document.querySelector('.text-tile[data-method="attention"] .caption').textContent.startsWith('head 3 of the last layer'));
  await waitForTiles(page, ['attention']);
  await page.waitForFunction((old) => {
    const canvas = document.querySelector('.text-tile[data-method="attention"] canvas.matrix');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    return data.length !== old.length || data.some((v, i) => v !== old[i]);
  }, before, { timeout: 60_000 });

  // The agreement table: Kendall's τ between attention and each other method, over |score|.
  await page.waitForSelector('#agreement:not([hidden])');
  const table = await page.$$eval('#agreement tbody tr', (rows) => rows.map((row) => ({
    name: row.querySelector('th').textContent,
    taus: Array.from(row.querySelectorAll('td'), (td) => (td.dataset.tau === undefined ? null : Number(td.dataset.tau))),
  })));
  assert.deepEqual(table.map((r) => r.name), ['Attention', 'Attention rollout', 'Gradient-weighted rollout']);
  const columns = await page.$$eval('#agreement thead th[scope="col"]', (ths) => ths.map((th) => th.textContent));
  assert.deepEqual(columns, ['Gradient', 'Gradient × Input', 'Integrated Gradients', 'Occlusion', 'LIME', 'KernelSHAP']);
  const rollout = (await scoresOf('rollout')).map(Math.abs);
  for (const [i, method] of ['gradient', 'grad-x-input', 'integrated-gradients', 'occlusion', 'lime', 'kernel-shap'].entries()) {
    const want = kendall(rollout, (await scoresOf(method)).map(Math.abs));
    assert.ok(Math.abs(table[1].taus[i] - want) < 1e-9, `rollout vs ${method}: ${table[1].taus[i]} vs ${want}`);
  }

  // The other class: occlusion's drops change sign (the two logits are opposite).
  await page.selectOption('#text-target', '0');
  await waitForTiles(page, ['occlusion']);
  await page.waitForFunction(() => document.querySelector('#text-top li[data-index="0"]').classList.contains('target'));
  (await scoresOf('occlusion')).forEach((s, i) => assert.ok(Math.abs(s + occlusion[i]) < 1e-3, `negative: ${s} vs ${-occlusion[i]}`));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a long review is truncated visibly, an empty or huge sentence gets a message, and cancel keeps the page working', { timeout: 600_000 }, async () => {
  const { page, problems } = await openSentences();
  for (const method of ['integrated-gradients', 'lime', 'kernel-shap']) {
    await page.uncheck(`#text-explanations .explain-controls label[data-method="${method}"] input`);
  }
  const review = (await page.$$eval('#text-examples button', (buttons) => buttons.map((b) => b.title))).find((e) => e.length > 250);
  await page.click(`#text-examples button[title="${review}"]`);
  await page.waitForSelector('#truncated:not([hidden])');
  assert.match(await page.textContent('#truncated'), /first 64 tokens/);
  await waitForTiles(page, ['gradient', 'occlusion', 'attention', 'rollout', 'gradient-rollout']);
  const shown = await tokens(page, 'occlusion');
  assert.equal(shown.length, 64);
  const unread = await page.textContent('.text-tile[data-method="occlusion"] .unread');
  assert.ok(review.endsWith(unread) && unread.length > 10, `the unread tail is shown: ${unread}`);
  const stats = await matrixStats(page, 'attention');
  assert.ok(stats.colours > 50, `a 64 × 64 heatmap: ${stats.colours} colours`);

  // LIME on 62 words: cancel it while it runs.
  await page.check('#text-explanations .explain-controls label[data-method="lime"] input');
  await page.waitForFunction(() => /pass \d+ of 500/.test(document.querySelector('.text-tile[data-method="lime"] .state').textContent), null, { timeout: 120_000 });
  await page.click('#cancel');
  await page.waitForFunction(() => document.querySelector('.text-tile[data-method="lime"]').dataset.state === 'cancelled');
  assert.equal(await page.getAttribute('.text-tile[data-method="occlusion"]', 'data-state'), 'done', 'finished maps stay');

  // An empty sentence: a message, and the page carries on.
  await page.fill('#sentence', '   ');
  await page.click('#text-form button[type="submit"]');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error-text'), /empty/i);
  // A huge one: refused with its size, before anything is tokenised.
  await page.fill('#sentence', 'word '.repeat(30_000));
  await page.click('#text-form button[type="submit"]');
  await page.waitForFunction(() => /150000 characters/.test(document.getElementById('error-text').textContent));
  assert.match(await page.textContent('#error-text'), /The text has 150000 characters; Glimpse reads up to 100000/);
  await page.uncheck('#text-explanations .explain-controls label[data-method="lime"] input');
  await page.fill('#sentence', 'This is the worst service I have ever had.');
  await page.click('#text-form button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('#text-top li .label')?.textContent === 'negative'
    && document.getElementById('error').hidden);
  await waitForTiles(page, ['occlusion']);
  const worst = await tokens(page, 'occlusion');
  assert.equal(worst.length, 12);
  assert.deepEqual(problems, []);
  await page.close();
});
