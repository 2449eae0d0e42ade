// Browser benchmark: Glimpse's wasm against onnxruntime-web on EfficientNet-Lite0 (or, with
// `--page text`, on the MiniLM sentiment model), in Debian's headless Chromium. Build the page
// first (`trunk build --release`), then:
//
//   node bench/browser/run.mjs [DIST ...] [--runs N] [--method-runs N] [--methods a,b] [--page text]
//
// `--methods` times only the methods named (default: every one, some of which take minutes).
// Each DIST is a built page folder (default: dist); several compare builds (SIMD on and off).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serve } from '../../tests/e2e/harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 20;
const methodRunsAt = args.indexOf('--method-runs');
const methodRuns = methodRunsAt >= 0 ? Number(args.splice(methodRunsAt, 2)[1]) : 3;
const methodsAt = args.indexOf('--methods');
const only = methodsAt >= 0 ? `&methods=${encodeURIComponent(args.splice(methodsAt, 2)[1])}` : '';
const pageAt = args.indexOf('--page');
const pageName = pageAt >= 0 ? args.splice(pageAt, 2)[1] : 'index';
const dists = args.length ? args : ['dist'];

const browser = await launchChromium();
try {
  for (const dist of dists) {
    const server = await serve(path.join(ROOT, 'bench/browser'), {
      '/glimpse/': path.resolve(ROOT, dist),
      '/ort/': path.join(ROOT, 'node_modules/onnxruntime-web/dist'),
      '/models/': path.join(ROOT, 'models'),
      '/examples/': path.join(ROOT, 'www/examples'),
      '/data/': path.join(ROOT, 'tests/data'),
    });
    const page = await browser.newPage();
    await page.goto(`${server.url}${pageName}.html?runs=${runs}&method-runs=${methodRuns}${only}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 3_600_000 });
    const result = await page.evaluate(() => window.benchResult);
    await page.close();
    await server.close();
    if (result.error) throw new Error(result.error);
    console.log(`${dist}: ${runs} runs, max |Δlogit| ${result.maxDiff.toExponential(2)}`);
    console.log(`  glimpse (tract)   load ${result.glimpse.load.toFixed(0)} ms, forward median ${result.glimpse.median.toFixed(1)} ms (min ${result.glimpse.min.toFixed(1)})`);
    console.log(`  glimpse gradient  forward + backward median ${result.gradient.median.toFixed(1)} ms (min ${result.gradient.min.toFixed(1)}); ${(result.gradient.median / result.glimpse.median).toFixed(2)}× one forward pass`);
    console.log(`  onnxruntime-web   load ${result.ort.load.toFixed(0)} ms, forward median ${result.ort.median.toFixed(1)} ms (min ${result.ort.min.toFixed(1)})`);
    console.log(`  ratio glimpse / onnxruntime-web: ${result.ratio.toFixed(2)}`);
    for (const { label, maxDiff, glimpse, ort } of result.more) {
      console.log(`  ${label}: glimpse forward median ${glimpse.median.toFixed(1)} ms, onnxruntime-web ${ort.median.toFixed(1)} ms, `
        + `ratio ${(glimpse.median / ort.median).toFixed(2)}; gradient / forward ${(result.gradient.median / glimpse.median).toFixed(2)}; max |Δlogit| ${maxDiff.toExponential(2)}`);
    }
    for (const [name, { median, min }] of Object.entries(result.methods)) {
      console.log(`  ${name.padEnd(22)} median ${median.toFixed(0)} ms (min ${min.toFixed(0)})`);
    }
  }
} finally {
  await browser.close();
}
