// Forward passes on the inputs occlusion and RISE make, against the image itself: Glimpse's
// wasm and onnxruntime-web on EfficientNet-Lite0, in Debian's headless Chromium. Build the
// page first (`trunk build --release --dist /tmp/dist-release`), then:
//
//   node bench/browser/zeros.mjs [DIST] [--runs N]

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serve } from '../../tests/e2e/harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 20;
const dist = args[0] ?? 'dist';

const browser = await launchChromium();
const server = await serve(path.join(ROOT, 'bench/browser'), {
  '/glimpse/': path.resolve(ROOT, dist),
  '/ort/': path.join(ROOT, 'node_modules/onnxruntime-web/dist'),
  '/models/': path.join(ROOT, 'models'),
});
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}zeros.html?runs=${runs}`);
  await page.waitForFunction(() => window.benchResult, null, { timeout: 3_600_000 });
  const result = await page.evaluate(() => window.benchResult);
  if (result.error) throw new Error(result.error);
  console.log(`${dist}: ${runs} runs, each input in turn; medians`);
  const base = result.result.image;
  for (const [name, { glimpse, ort }] of Object.entries(result.result)) {
    console.log(`  ${name.padEnd(24)} glimpse ${glimpse.toFixed(1)} ms (${(glimpse / base.glimpse).toFixed(2)}×)   onnxruntime-web ${ort.toFixed(1)} ms (${(ort / base.ort).toFixed(2)}×)`);
  }
} finally {
  await server.close();
  await browser.close();
}
