//! Line charts as data for the `chart.svg` template: coordinates are computed here, text is
//! left to the template (which escapes it), so no page data is ever written into SVG raw.

use chrono::{DateTime, Utc};
use serde::Serialize;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 280.0;
const LEFT: f64 = 50.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 30.0;

/// Colours for series, in order; the pass-rate and health charts pick by name instead.
const PALETTE: [&str; 8] = [
    "#2b6cb0", "#c05621", "#2f855a", "#b83280", "#6b46c1", "#b7791f", "#2c7a7b", "#4a5568",
];

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its legend.
    pub name: String,
    /// Its colour (`#rrggbb`); `None` takes the next of the palette.
    pub color: Option<&'static str>,
    /// (time, value) points, in time order.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// A chart ready for `chart.svg`: every coordinate computed, every text still to be escaped.
#[derive(Debug, Serialize)]
pub struct Chart {
    title: String,
    unit: String,
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    legend_x: f64,
    series: Vec<Line>,
    y_ticks: Vec<YTick>,
    x_ticks: Vec<XTick>,
    empty: bool,
}

/// A series as a polyline, with where its legend goes.
#[derive(Debug, Serialize)]
struct Line {
    name: String,
    color: &'static str,
    points: String,
    legend_y: f64,
}

/// A value axis tick: its height and label.
#[derive(Debug, Serialize)]
struct YTick {
    y: String,
    label: String,
}

/// A time axis tick: its position and label.
#[derive(Debug, Serialize)]
struct XTick {
    x: String,
    label: String,
}

/// A time chart from `from` to `to`, values from 0 to `y_max` (at least 1).
pub fn chart(
    title: &str,
    unit: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    y_max: Option<f64>,
    series: &[Series],
) -> Chart {
    let span = (to - from).num_seconds().max(1) as f64;
    let top = y_max.unwrap_or_else(|| {
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0, f64::max)
    });
    let top = if top < 1.0 { 1.0 } else { top };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: DateTime<Utc>| LEFT + plot_w * ((t - from).num_seconds() as f64 / span);
    let y = |v: f64| TOP + plot_h * (1.0 - v / top);
    let lines: Vec<_> = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let points: Vec<String> = s
                .points
                .iter()
                .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
                .collect();
            Line {
                name: s.name.clone(),
                color: s.color.unwrap_or(PALETTE[i % PALETTE.len()]),
                points: points.join(" "),
                legend_y: TOP + 14.0 * i as f64,
            }
        })
        .collect();
    let y_ticks: Vec<_> = (0..=4)
        .map(|i| {
            let v = top * f64::from(i) / 4.0;
            YTick {
                y: format!("{:.1}", y(v)),
                label: format_value(v),
            }
        })
        .collect();
    let x_ticks: Vec<_> = (0..=4)
        .map(|i| {
            let t = from + chrono::Duration::seconds((span * f64::from(i) / 4.0) as i64);
            XTick {
                x: format!("{:.1}", x(t)),
                label: t.format("%m-%d %H:%M").to_string(),
            }
        })
        .collect();
    Chart {
        title: title.to_string(),
        unit: unit.to_string(),
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: WIDTH - RIGHT,
        top: TOP,
        bottom: HEIGHT - BOTTOM,
        legend_x: WIDTH - RIGHT + 10.0,
        series: lines,
        y_ticks,
        x_ticks,
        empty: series.iter().all(|s| s.points.is_empty()),
    }
}

fn format_value(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_span_the_plot_area() {
        let t0 = DateTime::<Utc>::from_timestamp(0, 0).unwrap();
        let t1 = DateTime::<Utc>::from_timestamp(100, 0).unwrap();
        let s = Series {
            name: "q".into(),
            color: None,
            points: vec![(t0, 0.0), (t1, 4.0)],
        };
        let c = chart("t", "", t0, t1, None, &[s]);
        let bottom = HEIGHT - BOTTOM;
        let right = WIDTH - RIGHT;
        assert_eq!(
            c.series[0].points,
            format!("{LEFT:.1},{bottom:.1} {right:.1},{TOP:.1}")
        );
        assert_eq!(c.y_ticks[4].label, "4");
    }
}
