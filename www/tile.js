// @ts-check
// The tile view: how an image tile paints its map over the grey image, draws its legend and
// reports its checks, and the completeness line that tiles of both views show. The grid decides
// what to compute and when; this draws what came back.

import { el } from './dom.js';
import { formatNumber, formatPercent, ordinal } from './methods.js';

/**
 * The tile's canvas: the grey image, and over it the map's colour layer (the core's RGBA with
 * its own alpha) at the tile's opacity, composited by the canvas.
 */
export function paintTile(tile, view, grey) {
  const { width, height } = view;
  const canvas = tile.ui.canvas;
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  context.putImageData(grey, 0, 0);
  if (tile.overlay) {
    if (tile.layerOf !== tile.overlay) {
      tile.layer = layerCanvas(tile.overlay, width, height);
      tile.layerOf = tile.overlay;
    }
    context.globalAlpha = tile.opacity;
    context.drawImage(tile.layer, 0, 0);
    context.globalAlpha = 1;
  }
  canvas.classList.toggle('pending', !tile.overlay || tile.state !== 'done');
  tile.root.dataset.scale = tile.overlay ? (tile.sharedWith ? 'shared' : 'own') : '';
}

/**
 * A small canvas for the sanity check's filmstrip: the grey image with a colour layer (the
 * core's RGBA, straight alpha; none for the tile's own layer) over it at `opacity`.
 */
export function filmFrame(view, grey, rgba, opacity) {
  const canvas = el('canvas', { className: 'film', width: view.width, height: view.height });
  const context = canvas.getContext('2d');
  context.putImageData(grey, 0, 0);
  context.globalAlpha = opacity;
  context.drawImage(layerCanvas(rgba, view.width, view.height), 0, 0);
  return canvas;
}

/** The tile's colour legend: the bar, its ticks, and which maps share its scale. */
export async function drawLegend(tile, atPercentile, colorbars) {
  const { legend } = tile.ui;
  const { scale, colormap } = tile;
  legend.root.hidden = scale === null;
  if (scale === null) return;
  const signed = tile.signed;
  const ticks = signed
    ? [formatNumber(-scale), '0', formatNumber(scale, { plus: true })]
    : ['0', formatNumber(scale)];
  legend.ticks.replaceChildren(...ticks.map((t) => el('span', {}, t)));
  const others = tile.sharedWith?.map((t) => t.info.title);
  const percentile = `${ordinal(atPercentile)} percentile of |value|`;
  legend.note.textContent = !tile.sharedWith
    ? `${percentile}, this map`
    : others.length
      ? `${percentile}, shared with ${others.join(', ')}`
      : `${percentile}; no other map shown has its units`;
  try {
    const bar = await colorbars.get(colormap);
    if (tile.colormap !== colormap) return;
    legend.bar.getContext('2d').putImageData(bar, 0, 0);
  } catch {
    // The legend's colours are a nicety; the numbers are already there.
  }
}

/**
 * A completeness check on a tile of either view: Σφ − (f(x) − f(x′)) and its share of the
 * change, marked when above the tolerance, and the points a refined path took.
 */
export function showCheck(tile, check) {
  const { completeness } = tile.ui;
  completeness.classList.toggle('warn', !check.within_tolerance);
  completeness.replaceChildren(
    `${tile.info.completeness} = ${formatNumber(check.error, { digits: 2 })} `,
    el('span', { className: 'relative' },
      `(${formatPercent(check.relative)} of ${formatNumber(check.expected, { digits: 3 })})`),
  );
  if (check.steps && check.steps !== tile.method.steps) completeness.append(el('small', {}, `Refined to ${check.steps} points.`));
}

/** The completeness line of a finished tile: IG's and KernelSHAP's check, LIME's fit. */
export function describeCheck(tile) {
  const check = tile.result?.completeness;
  const segments = tile.result?.segments;
  const { completeness } = tile.ui;
  completeness.hidden = !check && !segments;
  completeness.classList.remove('warn');
  if (segments && !check) {
    completeness.replaceChildren(`${segments.count} superpixels; fit R² = ${segments.r_squared.toFixed(2)}`);
    completeness.title = 'R²: how much of the score’s variation over the samples the linear fit explains '
      + '(weighted by closeness to the image). Low R² means the model is not linear in the superpixels here.';
    return;
  }
  if (!check) return;
  const warn = !check.within_tolerance;
  showCheck(tile, check);
  if (segments) completeness.prepend(`${segments.count} superpixels; `);
  const steps = check.steps;
  if (warn) completeness.append(el('small', {}, `Above ${formatPercent(check.tolerance)} after ${steps ?? tile.method.steps} points: the path integral is not accurate yet; try more steps.`));
  completeness.title = 'Completeness: the attributions should add up to the change in the class score '
    + 'between the baseline and the image.';
}

/** A colour layer (RGBA with straight alpha) on a canvas of its own, to be drawn at any opacity. */
function layerCanvas(rgba, width, height) {
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  return canvas;
}
