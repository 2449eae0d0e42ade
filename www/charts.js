// @ts-check
// Charts, drawn by Glimpse's wasm (plotters on a canvas) on the page's main thread: plotters
// measures text through the DOM, which a worker has not. The wasm is the workers' own module,
// instantiated here on first use; it only draws the numbers the workers computed.

let ready = null;

async function wasm() {
  // @ts-ignore: wasm-bindgen writes this module when Trunk builds the page.
  ready ??= import('./glimpse.js').then(async (module) => {
    await module.default();
    return module;
  });
  return ready;
}

/**
 * Draws curves on a canvas, the legend to the right: `{title, xLabel, yLabel, series: [{label,
 * colour: '#rrggbb', dashed, x, y}]}`.
 */
export async function drawCurves(canvas, chart) {
  (await wasm()).drawCurves(canvas, chart);
}

/** The colours of the series, by tile (`#rrggbb`). */
export async function seriesColours() {
  return (await wasm()).seriesColours();
}
