// Loads the release wasm with EfficientNet-Lite0 on chelsea (or, with `?model=text`, MiniLM on
// "not bad at all") and leaves `window.pass(kind)` for profile.mjs to call under Chromium's
// profiler: 'forward' (one forward pass) or 'gradient' (the gradient method: a forward pass
// keeping what the VJPs read, then the backward walk).

import init, { Playground, TextPlayground } from '/glimpse/glimpse.js';
import { bytes, log, pixels } from './timing.js';

const text = new URLSearchParams(location.search).get('model') === 'text';

async function main() {
  await init();
  if (text) {
    const files = ['minilm-sentiment.onnx', 'minilm-sentiment.json', 'minilm-tokenizer.json'];
    const [onnx, config, tokenizer] = await Promise.all(files.map((f) => bytes(`/models/${f}`)));
    const glimpse = new TextPlayground(onnx, config, tokenizer);
    const sentence = 'not bad at all';
    glimpse.setText(sentence);
    // The sentence's ids at its own length (the reference's, padded to 64, without the padding),
    // as the page reads it.
    const reference = await (await fetch('/data/text/logits.json')).json();
    const ids = Uint32Array.from(reference.input_ids[reference.sentences.indexOf(sentence)].filter((id) => id !== 0));
    return (kind) => (kind === 'forward' ? glimpse.logits(ids) : glimpse.explain(0, '{"method":"gradient"}', 1, () => {}));
  }
  const onnx = await bytes('/models/efficientnet-lite0.onnx');
  const glimpse = new Playground(onnx, await bytes('/models/efficientnet-lite0.json'));
  const { data, width, height } = await pixels('/examples/chelsea.png');
  glimpse.setImage(data, width, height, 5);
  const input = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i * 0.001));
  return (kind) => (kind === 'forward' ? glimpse.logits(input) : glimpse.explain(0, '{"method":"gradient"}', 282, () => {}));
}

main().then(
  (pass) => {
    window.pass = pass;
    log('ready');
  },
  (error) => {
    window.passError = String(error);
    log(String(error));
  },
);
