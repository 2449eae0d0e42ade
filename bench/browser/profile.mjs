// Where a pass spends its time in the browser: Chromium's sampling profiler (through
// Playwright's CDP session) over N passes of the release wasm, on the page's main thread, each
// function's self time summed over the samples. Build the page first (`trunk build --release
// --dist DIST`), then:
//
//   node bench/browser/profile.mjs DIST [--kind gradient|forward] [--passes N] [--top K] [--text]
//       [--callers NAME]
//
// Prints the wall time per pass and the top K functions by self time, with their share; with
// `--callers`, the self time of the functions whose name contains NAME by their caller.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serve } from '../../tests/e2e/harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : fallback;
};
const kind = option('--kind', 'gradient');
const passes = Number(option('--passes', 20));
const top = Number(option('--top', 25));
const callers = option('--callers', null);
const textAt = args.indexOf('--text');
if (textAt >= 0) args.splice(textAt, 1);
const dist = path.resolve(ROOT, args[0] ?? 'dist');

const browser = await launchChromium();
const server = await serve(path.join(ROOT, 'bench/browser'), {
  '/glimpse/': dist,
  '/models/': path.join(ROOT, 'models'),
  '/examples/': path.join(ROOT, 'www/examples'),
  '/data/': path.join(ROOT, 'tests/data'),
});
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}profile.html${textAt >= 0 ? '?model=text' : ''}`);
  await page.waitForFunction(() => window.pass || window.passError, null, { timeout: 600_000 });
  const error = await page.evaluate(() => window.passError);
  if (error) throw new Error(error);
  const run = (n) => page.evaluate(({ n, kind }) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) window.pass(kind);
    return (performance.now() - started) / n;
  }, { n, kind });
  await run(3);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const perPass = await run(passes);
  const { profile } = await cdp.send('Profiler.stop');

  // Self time per node: the time deltas of the samples that landed in it.
  const self = new Map();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byName = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const micros = self.get(node.id) ?? 0;
    total += micros;
    const name = node.callFrame.functionName || `(${node.callFrame.url || 'anonymous'})`;
    byName.set(name, (byName.get(name) ?? 0) + micros);
  }
  console.log(`${kind}, ${textAt >= 0 ? 'MiniLM' : 'EfficientNet-Lite0'}: ${perPass.toFixed(1)} ms a pass over ${passes} passes; ${(total / 1000).toFixed(0)} ms sampled`);
  const rows = [...byName].sort((a, b) => b[1] - a[1]).slice(0, top);
  const line = (micros, name) => `${(100 * micros / total).toFixed(1).padStart(5)}%  ${(micros / 1000 / passes).toFixed(2).padStart(7)} ms/pass  ${name}`;
  for (const [name, micros] of rows) console.log(line(micros, name));
  if (callers) {
    const parent = new Map();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
    const byCaller = new Map();
    for (const node of profile.nodes.filter((n) => n.callFrame.functionName.includes(callers))) {
      // Up to three callers, so that a helper (to_owned) is told apart by who asked for it.
      const chain = [];
      for (let up = parent.get(node.id); up && chain.length < 3; up = parent.get(up.id)) chain.push(up.callFrame.functionName.replace(/::h[0-9a-f]{16}$/, ''));
      const caller = chain.join(' ← ') || '(root)';
      byCaller.set(caller, (byCaller.get(caller) ?? 0) + (self.get(node.id) ?? 0));
    }
    console.log(`\n${callers}, by caller:`);
    for (const [name, micros] of [...byCaller].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(line(micros, name));
  }
} finally {
  await server.close();
  await browser.close();
}
