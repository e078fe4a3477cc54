//! Results: `/results/` (jobs with results, newest first, `?before=<id>` pages),
//! `/results/<job id>` (per-suite counts and every case), and the bundle streams
//! `/dashboard/streams/` and `/dashboard/streams<pathname>`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use lava_common::ids::{JobId, StreamPath};
use lava_db::results::SuiteCounts;
use serde::Serialize;

use super::{
    PAGE_SIZE, PageError, PageResult, cut_page, jobs::JobRow, jobs::visible_job, page, parse_opt,
    when,
};
use crate::web::AppState;
use crate::web::auth::Auth;

/// Per-suite counts for a template, and their sums for the `total` row the template adds.
#[derive(Serialize)]
pub struct Suites<'a> {
    rows: Vec<SuiteRow<'a>>,
    pass: i64,
    fail: i64,
    skip: i64,
    unknown: i64,
}

/// One suite's counts.
#[derive(Serialize)]
struct SuiteRow<'a> {
    suite: &'a str,
    pass: i64,
    fail: i64,
    skip: i64,
    unknown: i64,
}

impl<'a> Suites<'a> {
    /// The rows of `suites` and their sums.
    pub fn of(suites: &'a [SuiteCounts]) -> Suites<'a> {
        let sum = |f: fn(&SuiteCounts) -> i64| suites.iter().map(f).sum::<i64>();
        Suites {
            rows: suites
                .iter()
                .map(|s| SuiteRow {
                    suite: &s.suite,
                    pass: s.pass,
                    fail: s.fail,
                    skip: s.skip,
                    unknown: s.unknown,
                })
                .collect(),
            pass: sum(|s| s.pass),
            fail: sum(|s| s.fail),
            skip: sum(|s| s.skip),
            unknown: sum(|s| s.unknown),
        }
    }
}

/// The context of `/results/`.
#[derive(Serialize)]
struct ResultsPage {
    jobs: Vec<ResultRow>,
    older: Option<JobId>,
    paged: bool,
}

/// A job with its result counts.
#[derive(Serialize)]
struct ResultRow {
    id: JobId,
    description: String,
    device: Option<lava_common::ids::DeviceName>,
    device_type: Option<lava_common::ids::DeviceTypeName>,
    state: &'static str,
    health: &'static str,
    health_class: &'static str,
    end_time: Option<String>,
    pass: i64,
    fail: i64,
    other: i64,
}

/// The context of `/results/<job id>`.
#[derive(Serialize)]
struct JobResultsPage<'a> {
    job: JobRow<'a>,
    suites: Suites<'a>,
    cases: Vec<CaseRow>,
}

/// One test case.
#[derive(Serialize)]
struct CaseRow {
    suite: String,
    name: String,
    result: &'static str,
    measurement: Option<String>,
    units: String,
    set: Option<String>,
}

/// The context of `/dashboard/streams/`.
#[derive(Serialize)]
struct StreamsPage {
    streams: Vec<StreamRow>,
}

/// A bundle stream in the list.
#[derive(Serialize)]
struct StreamRow {
    pathname: StreamPath,
    name: String,
    is_public: bool,
    is_anonymous: bool,
    bundles: i64,
}

/// The context of one stream's page.
#[derive(Serialize)]
struct StreamPage {
    stream: StreamHead,
    bundles: Vec<BundleRow>,
    older: Option<i64>,
    paged: bool,
}

/// The stream a page is about.
#[derive(Serialize)]
struct StreamHead {
    pathname: StreamPath,
    name: String,
    is_public: bool,
    bundles: i64,
}

/// A bundle of a stream.
#[derive(Serialize)]
struct BundleRow {
    id: i64,
    job: Option<JobId>,
    job_description: Option<String>,
    uploaded_on: Option<String>,
    sha256: String,
}

fn before_of(q: &HashMap<String, String>) -> Result<Option<JobId>, PageError> {
    Ok(parse_opt::<i64>("before", q.get("before").map(String::as_str))?.map(JobId))
}

/// `/results/`.
pub async fn all(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let before = before_of(&q)?;
    let c = state.db().await?;
    let mut rows = lava_db::result_pages::list(&c, &auth.viewer(), before, PAGE_SIZE + 1).await?;
    let older = cut_page(&mut rows).map(|r| r.id);
    let jobs: Vec<_> = rows
        .into_iter()
        .map(|r| ResultRow {
            id: r.id,
            description: r.description,
            device: r.device,
            device_type: r.device_type,
            state: r.state.display_name(),
            health: r.health.display_name(),
            health_class: r.health.as_str(),
            end_time: when(r.end_time),
            pass: r.pass,
            fail: r.fail,
            other: r.other,
        })
        .collect();
    Ok(page(
        &state,
        &auth,
        "results.html",
        &ResultsPage {
            jobs,
            older,
            paged: before.is_some(),
        },
    ))
}

/// `/results/<job id>`.
pub async fn one(State(state): State<AppState>, auth: Auth, Path(id): Path<JobId>) -> PageResult {
    let c = state.db().await?;
    let job = visible_job(&c, &auth, id).await?;
    let counts = lava_db::results::suite_counts(&c, id).await?;
    let cases: Vec<_> = lava_db::results::of_job(&c, id)
        .await?
        .into_iter()
        .map(|tc| CaseRow {
            suite: tc.suite,
            name: tc.name,
            result: tc.result.as_str(),
            measurement: tc.measurement,
            units: tc.units,
            set: tc.set,
        })
        .collect();
    Ok(page(
        &state,
        &auth,
        "job_results.html",
        &JobResultsPage {
            job: JobRow::of(&job),
            suites: Suites::of(&counts),
            cases,
        },
    ))
}

/// `/dashboard/streams/`.
pub async fn streams(State(state): State<AppState>, auth: Auth) -> PageResult {
    let c = state.db().await?;
    let streams: Vec<_> = lava_db::stream_pages::list(&c, &auth.viewer())
        .await?
        .into_iter()
        .map(|s| StreamRow {
            pathname: s.pathname,
            name: s.name,
            is_public: s.is_public,
            is_anonymous: s.is_anonymous,
            bundles: s.bundles,
        })
        .collect();
    Ok(page(
        &state,
        &auth,
        "streams.html",
        &StreamsPage { streams },
    ))
}

/// `/dashboard/streams<pathname>`: one stream's bundles, newest first (`?before=<id>`).
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    Path(rest): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let pathname = format!("/{}", rest.trim_start_matches('/'));
    let before = parse_opt::<i64>("before", q.get("before").map(String::as_str))?;
    let viewer = auth.viewer();
    let c = state.db().await?;
    let Some(s) =
        lava_db::stream_pages::get(&c, &viewer, &StreamPath::from(pathname.as_str())).await?
    else {
        return Err(PageError::NotFound(format!(
            "no bundle stream '{pathname}'"
        )));
    };
    let mut rows = lava_db::stream_pages::bundles(&c, &viewer, s.id, before, PAGE_SIZE + 1).await?;
    let older = cut_page(&mut rows).map(|b| b.id);
    let bundles: Vec<_> = rows
        .into_iter()
        .map(|b| BundleRow {
            id: b.id,
            job: b.job,
            job_description: b.job_description,
            uploaded_on: when(Some(b.uploaded_on)),
            sha256: b.content_sha256,
        })
        .collect();
    Ok(page(
        &state,
        &auth,
        "stream.html",
        &StreamPage {
            stream: StreamHead {
                pathname: s.pathname,
                name: s.name,
                is_public: s.is_public,
                bundles: s.bundles,
            },
            bundles,
            older,
            paged: before.is_some(),
        },
    ))
}
