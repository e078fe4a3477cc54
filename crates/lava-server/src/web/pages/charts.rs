//! `/results/charts`: pass rate per device type and test over time, queue length and device
//! health over time, as server-rendered SVG (`/results/charts/queue.svg`, `health.svg`,
//! `pass-rate.svg?device_type=T`; `?days=N` sets the window). No JavaScript is involved.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use chrono::{DateTime, Duration, DurationRound, Utc};
use lava_common::ids::DeviceTypeName;
use lava_common::state::DeviceHealth;
use serde::Serialize;

use super::svg::{Series, chart};
use super::{PageError, PageResult, page, parse_opt};
use crate::web::AppState;
use crate::web::auth::Auth;

/// How many samples the queue and health lines have.
const SAMPLES: i32 = 96;

fn window(
    q: &HashMap<String, String>,
    default_days: i64,
) -> Result<(DateTime<Utc>, DateTime<Utc>), PageError> {
    let days = parse_opt::<i64>("days", q.get("days").map(String::as_str))?.unwrap_or(default_days);
    if !(1..=366).contains(&days) {
        return Err(PageError::BadRequest(format!(
            "days: '{days}' must be from 1 to 366"
        )));
    }
    let to = Utc::now();
    Ok((to - Duration::days(days), to))
}

fn health_color(h: DeviceHealth) -> &'static str {
    match h {
        DeviceHealth::Good => "#1a7f37",
        DeviceHealth::Unknown => "#9a6700",
        DeviceHealth::Looping => "#6b46c1",
        DeviceHealth::Bad => "#b42318",
        DeviceHealth::Maintenance => "#4a5568",
        DeviceHealth::Retired => "#a0aec0",
    }
}

/// The context of `/results/charts`: the device types with a pass-rate chart.
#[derive(Serialize)]
struct ChartsPage {
    types: Vec<DeviceTypeName>,
}

/// The context of one chart's SVG.
#[derive(Serialize)]
struct ChartSvg {
    chart: super::svg::Chart,
}

/// `/results/charts`: the page that shows every chart.
pub async fn index(State(state): State<AppState>, auth: Auth) -> PageResult {
    let c = state.db().await?;
    let types: Vec<DeviceTypeName> = lava_db::device_types::list(&c)
        .await?
        .into_iter()
        .filter(|t| t.info.display)
        .map(|t| t.info.name)
        .collect();
    Ok(page(&state, &auth, "charts.html", &ChartsPage { types }))
}

/// `/results/charts/<name>.svg`.
pub async fn svg_chart(
    State(state): State<AppState>,
    auth: Auth,
    Path(name): Path<DeviceTypeName>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let viewer = auth.viewer();
    let c = state.db().await?;
    let data = match name.as_str() {
        "queue.svg" => {
            let (from, to) = window(&q, 7)?;
            let points = lava_db::charts::queue_length(&c, &viewer, from, to, SAMPLES).await?;
            let s = Series {
                name: "queued jobs".into(),
                color: None,
                points: points.into_iter().map(|(t, n)| (t, n as f64)).collect(),
            };
            chart("Queue length", "jobs", from, to, None, &[s])
        }
        "health.svg" => {
            let (from, to) = window(&q, 30)?;
            let rows = lava_db::charts::device_health(&c, from, to, SAMPLES).await?;
            let series: Vec<_> = DeviceHealth::ALL
                .iter()
                .filter(|h| rows.iter().any(|(_, rh, _)| rh == *h))
                .map(|h| {
                    // A sample with no device of this health is a zero, not a gap.
                    let mut at: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
                    for (t, _, _) in &rows {
                        at.insert(*t, 0.0);
                    }
                    for (t, rh, n) in &rows {
                        if rh == h {
                            at.insert(*t, *n as f64);
                        }
                    }
                    Series {
                        name: h.display_name().into(),
                        color: Some(health_color(*h)),
                        points: at.into_iter().collect(),
                    }
                })
                .collect();
            chart("Devices by health", "devices", from, to, None, &series)
        }
        "pass-rate.svg" => {
            let (from, to) = window(&q, 30)?;
            let device_type = q.get("device_type").cloned().unwrap_or_default();
            let rows = lava_db::charts::pass_rates(&c, &viewer, from).await?;
            let mut by_suite: BTreeMap<String, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
            for r in rows.iter().filter(|r| r.device_type == device_type) {
                let judged = r.pass + r.fail;
                if judged > 0 {
                    // Plotted at noon, the middle of the day it sums.
                    let day = r.day.duration_trunc(Duration::days(1)).unwrap_or(r.day)
                        + Duration::hours(12);
                    by_suite
                        .entry(r.suite.clone())
                        .or_default()
                        .push((day, 100.0 * r.pass as f64 / judged as f64));
                }
            }
            let series: Vec<_> = by_suite
                .into_iter()
                .map(|(name, points)| Series {
                    name,
                    color: None,
                    points,
                })
                .collect();
            let title = format!("Pass rate on {device_type}");
            chart(&title, "%", from, to, Some(100.0), &series)
        }
        _ => return Err(PageError::NotFound(format!("no chart '{name}'"))),
    };
    Ok(page(&state, &auth, "chart.svg", &ChartSvg { chart: data }))
}
