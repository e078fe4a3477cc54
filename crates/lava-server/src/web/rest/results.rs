//! A job's log and results: `logs/`, `tests/`, `suites/`, `junit/`, `csv/`, `yaml/`.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt as _;
use lava_common::ids::JobId;
use lava_db::results::CaseDetail;
use serde::Serialize;
use serde_json::{Value, json};

use super::super::AppState;
use super::super::auth::Auth;
use super::super::error::ApiError;
use super::jobs::visible;
use super::{Paging, base_url, format, not_found, ok, query_pairs};
use crate::logstore::read::CHUNK;

fn attachment(kind: &'static str, name: String, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename={name}"),
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET …/<id>/logs/[?start=N&end=M]`: the raw lines `[start, end)`, streamed from the file
/// a chunk at a time (a log of any size costs one chunk of memory); 404 when there is no log
/// or the range is empty.
pub async fn logs(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let job = visible(&state, &auth, &id).await?;
    let params = query_pairs(uri.query());
    let num = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    let slice = {
        let c = state.db().await?;
        state
            .logs
            .slice(&c, job.id, num("start").unwrap_or(0), num("end"))
            .await
            .map_err(log_error)?
    };
    let slice = slice.filter(|s| !s.is_empty()).ok_or_else(not_found)?;
    let len = slice.len();
    let job_id = job.id;
    let body = slice.stream(CHUNK).inspect_err(move |e| {
        tracing::error!(job = %job_id, error = %e, "job log read failed while streaming");
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/yaml".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=job_{}.yaml", job.id),
            ),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// A log that could not be read, as a 500 naming the file.
fn log_error(e: crate::logstore::LogError) -> ApiError {
    match e {
        crate::logstore::LogError::Db(e) => e.into(),
        e => {
            tracing::error!(error = %e, "job log read failed");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
        }
    }
}

/// At most this much of a failed case's log goes into the junit report ...
const JUNIT_LOG_BYTES: usize = 256 * 1024;

/// ... and this much of all of them together.
const JUNIT_LOGS_BYTES: usize = 16 << 20;

/// The YAML text of a case's result line (sorted keys, block style), as LAVA's `metadata`.
pub fn metadata(c: &CaseDetail) -> BTreeMap<String, Value> {
    let mut m: BTreeMap<String, Value> = c
        .metadata
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    m.insert("case".into(), json!(c.name));
    m.insert("definition".into(), json!(c.suite));
    m.insert("result".into(), json!(c.result.as_str()));
    if let Some(x) = &c.measurement {
        m.insert("measurement".into(), json!(x));
    }
    if !c.units.is_empty() {
        m.insert("units".into(), json!(c.units));
    }
    if let Some(s) = &c.set {
        m.insert("set".into(), json!(s));
    }
    m
}

/// A scalar as YAML: plain when it reads back as the same string, quoted otherwise.
pub fn yaml_scalar(v: &Value) -> String {
    let Value::String(s) = v else {
        return v.to_string();
    };
    let reserved = ["", "~", "null", "true", "false", "yes", "no", "on", "off"];
    let plain = !reserved.contains(&s.to_ascii_lowercase().as_str())
        && s.parse::<f64>().is_err()
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !s.ends_with(' ')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains('\n')
        && !looks_like_a_date(s);
    if plain {
        s.clone()
    } else if s.contains('\n') {
        Value::String(s.clone()).to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Whether YAML 1.1 readers (PyYAML, so lavacli) would read `s` as a date or timestamp
/// (`2026-01-01…`), which must stay a string.
fn looks_like_a_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

fn yaml_map(m: &BTreeMap<String, Value>, indent: &str) -> String {
    let mut out = String::new();
    for (i, (k, v)) in m.iter().enumerate() {
        let lead = if i == 0 { "" } else { indent };
        out.push_str(&format!("{lead}{k}: {}\n", yaml_scalar(v)));
    }
    out
}

/// A test case, keys in LAVA's order.
#[derive(Serialize)]
struct CaseReply<'a> {
    id: i64,
    result: &'static str,
    resource_uri: String,
    unit: &'a str,
    name: &'a str,
    /// LAVA's decimal string (10 places), null without a measurement.
    measurement: &'a Option<String>,
    /// The case's result line as YAML text (see [`metadata`]).
    metadata: String,
    start_log_line: Option<i64>,
    end_log_line: Option<i64>,
    logged: String,
    suite: i64,
    test_set: &'a Option<String>,
}

fn case_json<'a>(base: &str, job: JobId, c: &'a CaseDetail) -> CaseReply<'a> {
    CaseReply {
        id: c.id,
        result: c.result.as_str(),
        resource_uri: format!(
            "{base}/api/v0.2/jobs/{job}/suites/{}/tests/{}/",
            c.suite_id, c.id
        ),
        unit: &c.units,
        name: &c.name,
        measurement: &c.measurement,
        metadata: yaml_map(&metadata(c), ""),
        start_log_line: c.start_line,
        end_log_line: c.end_line,
        logged: format::rest(&c.logged),
        suite: c.suite_id,
        test_set: &c.set,
    }
}

/// A test suite of a job.
#[derive(Serialize)]
struct SuiteReply<'a> {
    id: i64,
    resource_uri: String,
    name: &'a str,
    job: JobId,
}

/// `GET …/<id>/tests/`: test cases in id order, paged.
pub async fn tests(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let job = visible(&state, &auth, &id).await?;
    let c = state.db().await?;
    let count = lava_db::results::count_cases(&c, job.id).await?;
    let cases = if paging.limit == 0 {
        Vec::new()
    } else {
        lava_db::results::cases_page(&c, job.id, paging.limit, paging.offset).await?
    };
    let base = paging.base();
    let results = cases.iter().map(|t| case_json(base, job.id, t)).collect();
    Ok(ok(paging.envelope(count, results)))
}

/// `GET …/<id>/suites/`.
pub async fn suites(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let job = visible(&state, &auth, &id).await?;
    let c = state.db().await?;
    let all = lava_db::results::suites(&c, job.id).await?;
    let base = paging.base();
    Ok(ok(paging.slice(&all, |(sid, name)| SuiteReply {
        id: *sid,
        resource_uri: format!("{base}/api/v0.2/jobs/{}/suites/{sid}/", job.id),
        name,
        job: job.id,
    })))
}

/// `GET …/<id>/junit/[?classname_prefix=P]`.
pub async fn junit(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    let job = visible(&state, &auth, &id).await?;
    let prefix = query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "classname_prefix")
        .map(|(_, v)| v);
    let c = state.db().await?;
    let cases = lava_db::results::cases_page(&c, job.id, 0, 0).await?;
    let suites = lava_db::results::suites(&c, job.id).await?;
    let mut logs = Vec::new();
    let mut budget = JUNIT_LOGS_BYTES;
    for t in &cases {
        let text = match (t.start_line, t.end_line) {
            (Some(a), Some(b)) if t.result == lava_common::state::TestResult::Fail && b > a => {
                state
                    .logs
                    .read_capped(
                        &c,
                        job.id,
                        a as u64,
                        Some(b as u64),
                        JUNIT_LOG_BYTES.min(budget),
                    )
                    .await
                    .ok()
                    .flatten()
                    .map(|d| {
                        budget -= d.bytes.len();
                        let mut text = String::from_utf8_lossy(&d.bytes).into_owned();
                        if d.cut {
                            text.push_str(&format!(
                                "[{} more bytes in the job's log]\n",
                                d.whole - d.bytes.len() as u64
                            ));
                        }
                        text
                    })
            }
            _ => None,
        };
        logs.push(text);
    }
    let xml = super::junit::render(&job, &suites, &cases, &logs, prefix.as_deref());
    Ok(attachment(
        "application/xml",
        format!("job_{}.xml", job.id),
        xml.into_bytes(),
    ))
}

/// One case as a row of LAVA's results export (CSV and YAML), columns in LAVA's order. Ids
/// are strings, as LAVA exports them. `duration`, `timeout` and `level` come from the case's
/// free-form result line, so they keep whatever type the test reported (`""` when absent).
#[derive(Serialize)]
pub(crate) struct ExportRow {
    job: String,
    suite: String,
    result: &'static str,
    /// `""` without a measurement.
    measurement: String,
    unit: String,
    duration: Value,
    timeout: Value,
    logged: String,
    level: Value,
    metadata: String,
    url: String,
    name: String,
    id: String,
}

impl ExportRow {
    /// The columns in order, each as its JSON value.
    fn columns(&self) -> serde_json::Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }
}

/// One export row per case.
pub(crate) fn rows(base: &str, job: JobId, cases: &[CaseDetail]) -> Vec<ExportRow> {
    cases
        .iter()
        .map(|c| {
            let m = metadata(c);
            let or_empty = |k: &str| m.get(k).cloned().unwrap_or_else(|| Value::from(""));
            ExportRow {
                job: job.to_string(),
                suite: c.suite.clone(),
                result: c.result.as_str(),
                measurement: c.measurement.clone().unwrap_or_default(),
                unit: c.units.clone(),
                duration: or_empty("duration"),
                timeout: or_empty("timeout"),
                logged: format::python(&c.logged),
                level: or_empty("level"),
                metadata: yaml_map(&m, ""),
                url: format!("{base}/results/testcase/{}", c.id),
                name: c.name.clone(),
                id: c.id.to_string(),
            }
        })
        .collect()
}

/// The visible job `id` and the export rows of all its cases.
async fn all_rows(
    state: &AppState,
    auth: &Auth,
    headers: &HeaderMap,
    id: &str,
) -> Result<(i64, Vec<ExportRow>), ApiError> {
    let job = visible(state, auth, id).await?;
    let c = state.db().await?;
    let cases = lava_db::results::cases_page(&c, job.id, 0, 0).await?;
    Ok((job.id.0, rows(&base_url(headers), job.id, &cases)))
}

fn csv_field(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `GET …/<id>/csv/`: every case, one CSV row each, with a header row.
pub async fn csv(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (job, rows) = all_rows(&state, &auth, &headers, &id).await?;
    let rows: Vec<_> = rows.iter().map(ExportRow::columns).collect();
    let header_row = rows
        .first()
        .map(|r| r.keys().map(String::as_str).collect::<Vec<_>>());
    let mut out = header_row.map(|h| h.join(",") + "\r\n").unwrap_or_default();
    for r in &rows {
        let fields: Vec<String> = r.values().map(csv_field).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    Ok(attachment(
        "text/csv",
        format!("job_{job}.csv"),
        out.into_bytes(),
    ))
}

/// `GET …/<id>/yaml/`: every case as a YAML list of mappings.
pub async fn yaml(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (job, rows) = all_rows(&state, &auth, &headers, &id).await?;
    let out = yaml_list(rows);
    Ok(attachment(
        "application/yaml",
        format!("job_{job}.yaml"),
        out.into_bytes(),
    ))
}

/// Export rows as LAVA's YAML list of mappings (`[]` when there are none).
pub(crate) fn yaml_list(rows: Vec<ExportRow>) -> String {
    let mut out = String::new();
    for r in rows {
        let m: BTreeMap<String, Value> = r.columns().into_iter().collect();
        out.push_str("- ");
        out.push_str(&yaml_map(&m, "  "));
    }
    if out.is_empty() {
        out.push_str("[]\n");
    }
    out
}
