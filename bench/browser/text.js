// Times one forward pass of the MiniLM sentiment model with Glimpse's wasm (tract) and with
// onnxruntime-web (wasm backend, one thread), on the same ids, in the same page: padded to 64
// positions, then at the sentence's own length (6 tokens); then one gradient on the embeddings
// (at the sentence's own length, as the page reads it), and every text method at its defaults on
// "not bad at all", on one worker. run.mjs (`--page text`) serves this page and reads
// `window.benchResult`.

import init, { TextPlayground, textMethods } from '/glimpse/glimpse.js';
import * as ort from '/ort/ort.wasm.min.mjs';
import { METHOD_RUNS, bytes, loadBoth, log, start, time, timed } from './timing.js';

const SENTENCE = 'not bad at all';

/** One forward pass of `ids` both ways, checked to agree, then timed: Glimpse first, then ORT. */
async function forward(glimpse, session, ids, label) {
  const idArray = Uint32Array.from(ids);
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(ids, (id) => (id === 0 ? 0n : 1n)), [1, ids.length]),
  };
  // Same answer first: a benchmark of two different computations would mean nothing.
  const a = glimpse.logits(idArray);
  const b = (await session.run(feeds, ['logits'])).logits.data;
  const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  log(`${label}: max |glimpse − ort| over the logits: ${maxDiff.toExponential(2)}`);
  const glimpseTime = await time(() => glimpse.logits(idArray));
  log(`${label}: glimpse forward median ${glimpseTime.median.toFixed(1)} ms`);
  const ortTime = await time(() => session.run(feeds, ['logits']));
  log(`${label}: onnxruntime-web forward median ${ortTime.median.toFixed(1)} ms`);
  return { label, maxDiff, glimpse: glimpseTime, ort: ortTime };
}

async function main() {
  const onnx = await bytes('/models/minilm-sentiment.onnx');
  const config = await bytes('/models/minilm-sentiment.json');
  const tokenizer = await bytes('/models/minilm-tokenizer.json');

  const { glimpse, glimpseLoad, session, ortLoad } = await loadBoth(init, () => new TextPlayground(onnx, config, tokenizer), ort, onnx);

  // The sentence's ids, padded to 64, as Hugging Face's tokenizer made them for the reference.
  const { tokens } = glimpse.setText(SENTENCE);
  const reference = await (await fetch('/data/text/logits.json')).json();
  const ids = reference.input_ids[reference.sentences.indexOf(SENTENCE)];
  const own = ids.filter((id) => id !== 0);
  if (own.length !== tokens.length) throw new Error('Glimpse tokenises differently');
  const padded = await forward(glimpse, session, ids, `padded to ${ids.length}`);
  const more = [await forward(glimpse, session, own, `own length (${own.length} tokens)`)];

  const explain = (method) => glimpse.explain(0, JSON.stringify(method), 1, () => {});
  const gradientTime = await time(() => explain({ method: 'gradient' }));
  log(`glimpse gradient on the embeddings: median ${gradientTime.median.toFixed(1)} ms`);
  const methodTimes = {};
  for (const { defaults: method } of textMethods().filter(({ id }) => timed(id))) {
    methodTimes[method.method] = await time(() => explain(method), METHOD_RUNS, 1);
    log(`${method.method}: median ${methodTimes[method.method].median.toFixed(0)} ms`);
  }

  return {
    maxDiff: padded.maxDiff, glimpseLoad, glimpseTime: padded.glimpse, gradientTime, methodTimes, ortLoad, ortTime: padded.ort, more,
  };
}

start(main);
