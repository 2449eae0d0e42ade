//! The faithfulness charts, drawn with plotters on an `HtmlCanvasElement` of the page's main
//! thread (plotters measures text through the DOM, so not in a worker): each map's curve in its
//! tile's colour, the random order dashed, with axis labels and a legend beside. The page sends the
//! numbers the workers computed.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

/// One chart: `{title, xLabel, yLabel, series: [...]}`, and optionally `xTicks` (the x values
/// are then the ticks' indices, labelled by them) and `yRange: [low, high]` (else 0 to just above
/// the highest point).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    series: Vec<Series>,
    #[serde(default)]
    x_ticks: Option<Vec<String>>,
    #[serde(default)]
    y_range: Option<[f32; 2]>,
}

/// One curve: its label, colour (`#rrggbb`), whether dashed, and its points.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Series {
    label: String,
    colour: String,
    dashed: bool,
    x: Vec<f32>,
    y: Vec<f32>,
}

/// The series colours, by tile: Tableau's ten categorical colours, as `#rrggbb`.
#[wasm_bindgen(js_name = seriesColours)]
pub fn series_colours() -> Vec<String> {
    colorous::TABLEAU10.iter().map(|c| format!("#{c:x}")).collect()
}

fn rgb(hex: &str) -> Result<RGBColor, JsError> {
    let value = hex
        .strip_prefix('#')
        .filter(|h| h.len() == 6)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or_else(|| JsError::new(&format!("{hex} is not a colour (#rrggbb)")))?;
    Ok(RGBColor((value >> 16) as u8, (value >> 8) as u8, value as u8))
}

fn failed(e: impl std::fmt::Display) -> JsError {
    JsError::new(&format!("The chart could not be drawn: {e}"))
}

/// The legend's width beside the plot, in pixels.
const LEGEND_WIDTH: u32 = 150;

/// Draws a chart of curves on the canvas, at its size: the plot, and the legend to its right
/// (outside the plot, so it hides no curve).
#[wasm_bindgen(js_name = drawCurves)]
pub fn draw_curves(canvas: web_sys::HtmlCanvasElement, chart: JsValue) -> Result<(), JsError> {
    let chart: Chart = serde_wasm_bindgen::from_value(chart)?;
    let backend = CanvasBackend::with_canvas_object(canvas).ok_or_else(|| failed("no 2-D context"))?;
    let root = backend.into_drawing_area();
    root.fill(&WHITE).map_err(failed)?;
    let (width, _) = root.dim_in_pixel();
    let (plot_area, legend_area) = root.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
    let top = chart
        .series
        .iter()
        .flat_map(|s| s.y.iter().copied())
        .filter(|y| y.is_finite())
        .fold(0.0f32, f32::max);
    let y = match chart.y_range {
        Some([low, high]) if low < high => low..high,
        _ => 0.0..if top > 0.0 { top * 1.08 } else { 1.0 },
    };
    let ticks = chart.x_ticks.as_deref().unwrap_or_default();
    let x = match ticks.len() {
        0 => 0f32..1f32,
        n => -0.3f32..(n as f32 - 0.7),
    };
    let mut plot = ChartBuilder::on(&plot_area)
        .caption(&chart.title, ("sans-serif", 16))
        .margin(12)
        .margin_right(20)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x, y)
        .map_err(failed)?;
    let x_label = |x: &f32| match ticks.len() {
        0 => format!("{:.0}%", x * 100.0),
        _ => {
            let index = x.round();
            let near = (x - index).abs() < 1e-3 && index >= 0.0;
            near.then(|| ticks.get(index as usize).cloned()).flatten().unwrap_or_default()
        }
    };
    plot.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_labels(if ticks.is_empty() { 6 } else { ticks.len() })
        .y_labels(6)
        .x_label_formatter(&x_label)
        .y_label_formatter(&|y| format!("{y:.2}"))
        .label_style(("sans-serif", 12))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(failed)?;
    let font = ("sans-serif", 12).into_font().color(&BLACK);
    for (i, series) in chart.series.iter().enumerate() {
        let style = rgb(&series.colour)?.stroke_width(2);
        let points: Vec<(f32, f32)> = series.x.iter().copied().zip(series.y.iter().copied()).collect();
        if series.dashed {
            plot.draw_series(DashedLineSeries::new(points, 6, 4, style)).map_err(failed)?;
        } else {
            plot.draw_series(LineSeries::new(points, style)).map_err(failed)?;
        }
        // The legend: a stroke of the series' line and its label, one row each.
        let y = 44 + 18 * i as i32;
        let stroke: Vec<(i32, i32)> = vec![(4, y), (26, y)];
        if series.dashed {
            legend_area.draw(&PathElement::new(vec![(4, y), (11, y)], style)).map_err(failed)?;
            legend_area.draw(&PathElement::new(vec![(17, y), (24, y)], style)).map_err(failed)?;
        } else {
            legend_area.draw(&PathElement::new(stroke, style)).map_err(failed)?;
        }
        legend_area.draw(&Text::new(series.label.clone(), (32, y - 7), font.clone())).map_err(failed)?;
    }
    root.present().map_err(failed)
}
