// What the page says about each explanation method: its title, a one-line caption of what the
// map shows, which settings it has, and which maps share its units (for one shared colour
// scale). The worker says which methods exist and their defaults; this file only describes them.

/** Rough reading of each method, for a room: `caption(method, layer)` is one short line. */
export const METHODS = {
  gradient: {
    title: 'Gradient',
    caption: () => '|∂y/∂x|, the largest over colour channels',
    group: 'gradient',
  },
  'grad-x-input': {
    title: 'Gradient × Input',
    caption: () => 'x ⊙ ∂y/∂x, summed over colour channels',
    group: 'contribution',
  },
  'integrated-gradients': {
    title: 'Integrated Gradients',
    caption: (m) => `(x − x′) ⊙ ∫ ∇y along the path from x′ = ${baselineCaption(m.baseline)}`,
    settings: 'path',
    group: 'contribution',
    completeness: 'Σφ − (f(x) − f(x′))',
  },
  'path-sampled-ig': {
    title: 'Path-sampled IG',
    caption: (m) => `IG averaged over baselines x″ on the path from x′ = ${baselineCaption(m.baseline)}`,
    settings: 'path',
    group: 'contribution',
    completeness: 'Σφ − (f(x) − E f(x″))',
  },
  smoothgrad: {
    title: 'SmoothGrad',
    caption: (m) => `|mean ∇y(x + ε)| over ${m.samples} noisy copies, σ = ${round(m.sigma)}`,
    settings: 'noise',
    group: 'gradient',
  },
  'smoothgrad-sq': {
    title: 'SmoothGrad²',
    caption: (m) => `mean ∇y(x + ε)² over ${m.samples} noisy copies, σ = ${round(m.sigma)}`,
    settings: 'noise',
    group: 'squared',
  },
  vargrad: {
    title: 'VarGrad',
    caption: (m) => `variance of ∇y(x + ε) over ${m.samples} noisy copies, σ = ${round(m.sigma)}`,
    settings: 'noise',
    group: 'squared',
  },
  'guided-backprop': {
    title: 'Guided Backprop',
    caption: () => '∂y/∂x, passing only positive signals back through ReLUs',
    group: 'gradient',
  },
  cam: {
    title: 'CAM',
    caption: (m, layer) => `Σₖ wₖAₖ, the classifier's weights on ${layer}`,
  },
  'grad-cam': {
    title: 'Grad-CAM',
    caption: (m, layer) => `ReLU(Σₖ αₖAₖ), αₖ = mean ∂y/∂Aₖ, on ${layer}`,
    settings: 'layer',
  },
  occlusion: {
    title: 'Occlusion',
    caption: (m) => `drop in the score when a ${m.window}×${m.window} window is ${FILL_CAPTIONS[m.fill]}`,
    settings: 'occlusion',
    group: 'drop',
  },
  rise: {
    title: 'RISE',
    caption: (m) => `mean of ${m.masks} random masks weighted by P(class | masked image), above its lowest value`,
    settings: 'rise',
    group: 'probability',
  },
  lime: {
    title: 'LIME',
    caption: (m) => `a weighted linear fit of the score on which of ~${m.segments} superpixels show, over ${m.samples} samples`,
    settings: 'segments',
    group: 'segment',
    top: 5,
  },
  'kernel-shap': {
    title: 'KernelSHAP',
    caption: (m) => `Shapley values of ~${m.segments} superpixels, from ${m.budget ?? `2M + 2048`} coalitions`,
    settings: 'segments',
    group: 'segment',
    completeness: 'Σφ − (f(x) − f(∅))',
    top: null,
  },
  'grad-cam-pp': {
    title: 'Grad-CAM++',
    caption: (m, layer) => `ReLU(Σₖ αₖAₖ), αₖ from positive gradients, on ${layer}`,
    settings: 'layer',
  },
};

/** The methods shown when the page opens. */
export const DEFAULT_SELECTION = ['gradient', 'grad-x-input', 'integrated-gradients', 'smoothgrad', 'guided-backprop', 'grad-cam'];

/**
 * Which maps share a colour scale with this one: those in the same units, or none. A scale
 * shared across units is meaningless and blanks maps: on the cat, the 99th percentile of |∂y/∂x|
 * is 0.1 and of CAM 17. The CAMs each keep their own: their scales are conventions (for a
 * pooled linear head, Grad-CAM is ReLU(CAM) divided by the map's area).
 */
export function scaleGroup(name) {
  return METHODS[name]?.group ?? name;
}

/** The groups, for a tooltip. */
export const UNIT_GROUPS = 'gradients (Gradient, SmoothGrad, Guided Backprop); squared gradients '
  + '(SmoothGrad², VarGrad); contributions to the score (Gradient × Input, Integrated Gradients, '
  + 'Path-sampled IG); a superpixel’s share of the score (LIME, KernelSHAP). Each CAM keeps its own, '
  + 'and so do Occlusion (a whole window’s drop) and RISE (probabilities).';

/** 99 → '99th', 92 → '92nd', 99.5 → '99.5th'. */
export function ordinal(n) {
  if (!Number.isInteger(n) || [11, 12, 13].includes(n % 100)) return `${n}th`;
  return `${n}${{ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th'}`;
}

/** Quadrature rules of the path methods, as the worker names them. */
export const RULES = [
  ['gauss-legendre', 'Gauss–Legendre'],
  ['riemann-left', 'Riemann, left'],
  ['riemann-right', 'Riemann, right'],
  ['riemann-middle', 'Riemann, midpoint'],
  ['riemann-trapezoid', 'Trapezoid'],
];

/** Integrated Gradients' refinement: the completeness tolerance, or none (Captum's fixed points). */
export const REFINEMENTS = [
  [0.01, 'Until within 1%'],
  [0.001, 'Until within 0.1%'],
  [null, 'Off: exactly the steps, as Captum'],
];

/** What an occluded window shows, as the worker names it. */
export const FILLS = [
  ['zero', 'Zero (after normalisation)'],
  ['blur', 'The blurred image'],
  ['mean', 'The image’s mean colour'],
];

/** What a hidden superpixel shows (LIME, KernelSHAP), as the worker names it. */
export const SEGMENT_FILLS = [
  ['mean', 'Its mean colour'],
  ['blur', 'The blurred image'],
  ['black', 'Black'],
];

/** How many superpixels of each sign a map shows. */
export const TOP_SEGMENTS = [
  [null, 'All'],
  [3, 'Top 3 of each sign'],
  [5, 'Top 5 of each sign'],
  [10, 'Top 10 of each sign'],
];

const FILL_CAPTIONS = { zero: 'set to zero', blur: 'blurred', mean: 'greyed to the mean' };

/** Baselines x′ of the path methods. */
export const BASELINES = [
  ['black', 'Black image', { kind: 'black' }],
  ['blur', 'Blurred input (σ = 20 px)', { kind: 'blur', sigma: 20 }],
  ['noise', 'Uniform noise', { kind: 'noise', seed: 0 }],
  ['custom', 'Your own image…', { kind: 'custom' }],
];

function baselineCaption(baseline) {
  return { black: 'black', blur: 'the blurred input', noise: 'noise', custom: 'your image' }[baseline?.kind] ?? 'black';
}

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

function round(value) {
  return Number(value.toFixed(3));
}

/** The text methods, as `METHODS` describes the image ones; `quick` ones run first. */
export const TEXT_METHODS = {
  gradient: {
    quick: true,
    title: 'Gradient',
    caption: () => '‖∂y/∂e‖, the norm of the gradient at each token’s embedding',
  },
  'grad-x-input': {
    quick: true,
    title: 'Gradient × Input',
    caption: () => 'e · ∂y/∂e, summed over the embedding',
  },
  'integrated-gradients': {
    title: 'Integrated Gradients',
    caption: () => '(e − e′) · ∫ ∇y along the path from e′, the embeddings of the sentence with every word [PAD]',
    settings: 'path',
    completeness: 'Σφ − (f(x) − f(x′))',
  },
  occlusion: {
    quick: true,
    title: 'Occlusion',
    caption: () => 'drop in the score when the token is left out',
  },
  lime: {
    title: 'LIME',
    caption: (m) => `a weighted linear fit of the score on which tokens are kept, over ${m.samples} samples`,
    settings: 'lime',
  },
  'kernel-shap': {
    title: 'KernelSHAP',
    caption: (m) => `Shapley values of the tokens, from ${m.budget ?? '2M + 2048'} coalitions (every one, up to 11 tokens)`,
    settings: 'shap',
    completeness: 'Σφ − (f(x) − f(∅))',
  },
  attention: {
    quick: true,
    title: 'Attention',
    caption: (m) => `${m.head === null || m.head === undefined ? 'the mean of the heads' : `head ${m.head + 1}`} of ${m.layer === null || m.layer === undefined ? 'the last layer' : `layer ${m.layer + 1}`}: how much the sentence’s summary attends to each token`,
    settings: 'attention',
  },
  rollout: {
    quick: true,
    title: 'Attention rollout',
    caption: () => 'attention multiplied through every layer, with the residual connection (Abnar & Zuidema 2020)',
  },
  'gradient-rollout': {
    quick: true,
    title: 'Gradient-weighted rollout',
    caption: () => 'rollout of attention weighted by its positive gradient, layer by layer (Chefer et al. 2021)',
  },
};

/** The text methods shown when the page opens: all of them. */
export const TEXT_SELECTION = Object.keys(TEXT_METHODS);
