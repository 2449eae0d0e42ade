// @ts-check
// The page's own choices about methods (which are shown at first, how many superpixels a map
// shows) and how numbers and names are written for a room. What each method is (its title,
// caption, settings and units) comes from the core's registry, through the worker.

/** The methods shown when the page opens. */
export const DEFAULT_SELECTION = ['gradient', 'grad-x-input', 'integrated-gradients', 'smoothgrad', 'guided-backprop', 'grad-cam'];

/** 99 → '99th', 92 → '92nd', 99.5 → '99.5th'. */
export function ordinal(n) {
  if (!Number.isInteger(n) || [11, 12, 13].includes(n % 100)) return `${n}th`;
  return `${n}${{ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th'}`;
}

/** How many superpixels of each sign a map shows. */
export const TOP_SEGMENTS = [
  [null, 'All'],
  [3, 'Top 3 of each sign'],
  [5, 'Top 5 of each sign'],
  [10, 'Top 10 of each sign'],
];

/** A colour map's name for people: 'blue-red' → 'Blue–red'. */
export function colormapName(name) {
  const words = name.split('-');
  return words.map((w, i) => (i === 0 ? w[0].toUpperCase() + w.slice(1) : w)).join('–');
}

/** A layer's ONNX tensor name, shortened: '/_swish_1/Clip_output_0' → '_swish_1/Clip'. */
export function layerName(name) {
  return name.replace(/^\//, '').replace(/_output_0$/, '');
}

/** A layer's shape without its batch axis: [1, 1280, 7, 7] → '1280×7×7'. */
export function shapeText(shape) {
  return shape.slice(1).join('×');
}

const SUPERSCRIPT = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/**
 * A number for a legend, with `digits` significant digits, a true minus sign, and powers of ten
 * written out (1.5×10⁻⁴) rather than as 1.5e-4, which a room cannot read.
 */
export function formatNumber(value, { digits = 2, plus = false } = {}) {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const sign = value < 0 ? '−' : plus ? '+' : '';
  const abs = Math.abs(value);
  let text;
  if (abs >= 1e-3 && abs < 10 ** digits) {
    text = String(Number(abs.toPrecision(digits)));
  } else if (abs >= 10 ** digits && abs < 1e6) {
    text = String(Math.round(abs));
  } else {
    const [mantissa, exponent] = abs.toExponential(digits - 1).split('e');
    const power = [...String(Number(exponent))].map((c) => SUPERSCRIPT[c]).join('');
    text = `${Number(mantissa)}×10${power}`;
  }
  return sign + text;
}

/** A ratio as a percentage: 0.0171 → '1.7%'. */
export function formatPercent(ratio) {
  const percent = ratio * 100;
  return `${percent >= 10 ? percent.toFixed(0) : percent.toFixed(1)}%`;
}
