// Shared by the browser tests and the browser benchmark: a static server for the built page
// and a headless Debian Chromium that never touches the network.

import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

/** Serves `root` on a free loopback port; `routes` maps URL prefixes to other folders. */
export async function serve(root, routes = {}) {
  const server = createServer(async (request, response) => {
    const url = new URL(request.url, 'http://localhost');
    let pathname = decodeURIComponent(url.pathname);
    if (pathname.endsWith('/')) pathname += 'index.html';
    let base = root;
    for (const [prefix, folder] of Object.entries(routes)) {
      if (pathname.startsWith(prefix)) {
        base = folder;
        pathname = pathname.slice(prefix.length - 1);
      }
    }
    const file = path.join(base, path.normalize(pathname));
    try {
      if (!file.startsWith(path.resolve(base)) || !(await stat(file)).isFile()) throw new Error('not found');
      const body = await readFile(file);
      response.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Length': body.length,
      });
      response.end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/**
 * Debian's Chromium, headless, with no background network traffic. Playwright gives every
 * launch a fresh, empty profile directory of its own.
 */
export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    ],
  });
}

/** Collects the page's uncaught errors and console errors, for a test to assert there are none. */
export function watchProblems(page) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  return problems;
}

/**
 * Runs `glimpse evaluate` (the debug build `cargo test` made) from the repository root with
 * `args`, and returns its report's results; `area(method, metric, order)` reads one.
 */
export async function evaluateWithCli(args) {
  const out = path.join(os.tmpdir(), `glimpse-e2e-${process.pid}-${Date.now()}.json`);
  runCli(['evaluate', ...args, '--out', out]);
  const rows = JSON.parse(await readFile(out, 'utf8')).results;
  const area = (method, metric, order) => {
    const row = rows.find((r) => r.method === method && r.metric === metric && r.order === order);
    if (!row) throw new Error(`the CLI's report has no ${method} ${metric} ${order}`);
    return row.auc;
  };
  return { rows, area };
}

/**
 * Runs the CLI (the debug build `cargo test` made) from the repository root with `args`, and
 * returns what it printed, parsed as JSON.
 */
export function runCli(args) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const cli = path.join(process.env.CARGO_TARGET_DIR ?? path.join(root, 'target'), 'debug', 'glimpse');
  const run = spawnSync(cli, args, { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${cli} (built by cargo test) failed: ${run.error?.message ?? run.stderr}`);
  return JSON.parse(run.stdout);
}

/** Sets a control that may be hidden (the Explanations section before an image), as a person would. */
export async function setControl(page, selector, value) {
  await page.evaluate(({ selector, value }) => {
    const input = /** @type {HTMLInputElement} */ (document.querySelector(selector));
    if (typeof value === 'boolean') input.checked = value;
    else input.value = String(value);
    input.dispatchEvent(new Event('change'));
  }, { selector, value });
}
