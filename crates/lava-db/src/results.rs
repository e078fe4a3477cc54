//! Test suites and test cases, filed from the `results` lines of a job's log as they arrive.

use lava_common::ids::JobId;
use lava_common::state::TestResult;

use crate::{Db, Error};

/// A test case to file: what a `results` line of the log says (see
/// [`lava_common::log::case_of`]).
pub use lava_common::log::ResultCase as NewCase;

/// A stored test case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Its id (a test case's own number, not the job's).
    pub id: i64,
    /// Its suite's name (`lava` for the dispatcher's own results).
    pub suite: String,
    /// The name given to `lava-test-case` (or the dispatcher's, in the `lava` suite).
    pub name: String,
    /// Pass, fail, skip or unknown.
    pub result: TestResult,
    /// The measurement, as text.
    pub measurement: Option<String>,
    /// The measurement's units; empty when there are none.
    pub units: String,
    /// The `lava-test-set` it was in, if any (LAVA's `test_set`).
    pub set: Option<String>,
}

/// Files one case (creating its suite on first use).
pub async fn add(c: &impl Db, job: JobId, case: &NewCase) -> Result<(), Error> {
    let suite: i64 = c
        .query_one(
            "INSERT INTO test_suites (job_id, name) VALUES ($1, $2)
             ON CONFLICT (job_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
            &[&job, &case.suite],
        )
        .await?
        .try_get("id")?;
    c.execute(
        "INSERT INTO test_cases (suite_id, name, test_set, result, measurement, units, metadata,
            start_log_line, end_log_line)
         VALUES ($1, $2, $3, $4, CAST($5::text AS numeric), $6, $7, $8, $9)",
        &[
            &suite,
            &case.name,
            &case.set,
            &case.result,
            &case.measurement,
            &case.units,
            &case.metadata,
            &case.start_line,
            &case.end_line,
        ],
    )
    .await?;
    Ok(())
}

/// Every case of a job, in the order filed.
pub async fn of_job(c: &impl Db, job: JobId) -> Result<Vec<Case>, Error> {
    let rows = c
        .query(
            "SELECT tc.id, s.name AS suite, tc.name, tc.result, tc.measurement::text AS measurement,
                    tc.units, tc.test_set
             FROM test_cases tc JOIN test_suites s ON s.id = tc.suite_id
             WHERE s.job_id = $1 ORDER BY tc.id",
            &[&job],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Case {
                id: r.try_get("id")?,
                suite: r.try_get("suite")?,
                name: r.try_get("name")?,
                result: r.try_get("result")?,
                measurement: r.try_get("measurement")?,
                units: r.try_get("units")?,
                set: r.try_get("test_set")?,
            })
        })
        .collect()
}

/// A test case with everything the REST API shows.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseDetail {
    /// Its id (a test case's own number, not the job's).
    pub id: i64,
    /// Its suite's id.
    pub suite_id: i64,
    /// Its suite's name.
    pub suite: String,
    /// The name given to `lava-test-case` (or the dispatcher's, in the `lava` suite).
    pub name: String,
    /// Pass, fail, skip or unknown.
    pub result: TestResult,
    /// The measurement with 10 decimals, as LAVA prints it.
    pub measurement: Option<String>,
    /// The measurement's units; empty when there are none.
    pub units: String,
    /// The `lava-test-set` it was in, if any (LAVA's `test_set`).
    pub set: Option<String>,
    /// The rest of the result line.
    pub metadata: serde_json::Value,
    /// First log line of its output (0-based), if known.
    pub start_line: Option<i64>,
    /// Last log line, if known.
    pub end_line: Option<i64>,
    /// When it was filed.
    pub logged: chrono::DateTime<chrono::Utc>,
}

/// A page of a job's cases in id order (`limit` ≤ 0: all of them).
pub async fn cases_page(
    c: &impl Db,
    job: JobId,
    limit: i64,
    offset: i64,
) -> Result<Vec<CaseDetail>, Error> {
    let rows = c
        .query(
            "SELECT tc.id, s.id AS suite_id, s.name AS suite, tc.name, tc.result,
                    round(tc.measurement, 10)::text AS measurement, tc.units, tc.test_set,
                    tc.metadata, tc.start_log_line, tc.end_log_line, tc.logged
             FROM test_cases tc JOIN test_suites s ON s.id = tc.suite_id
             WHERE s.job_id = $1 ORDER BY tc.id
             LIMIT (CASE WHEN $2::bigint > 0 THEN $2::bigint END) OFFSET $3::bigint",
            &[&job, &limit, &offset],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(CaseDetail {
                id: r.try_get("id")?,
                suite_id: r.try_get("suite_id")?,
                suite: r.try_get("suite")?,
                name: r.try_get("name")?,
                result: r.try_get("result")?,
                measurement: r.try_get("measurement")?,
                units: r.try_get("units")?,
                set: r.try_get("test_set")?,
                metadata: r.try_get("metadata")?,
                start_line: r.try_get("start_log_line")?,
                end_line: r.try_get("end_log_line")?,
                logged: r.try_get("logged")?,
            })
        })
        .collect()
}

/// How many cases a job has.
pub async fn count_cases(c: &impl Db, job: JobId) -> Result<i64, Error> {
    Ok(c.query_one(
        "SELECT count(*) AS n FROM test_cases tc JOIN test_suites s ON s.id = tc.suite_id
         WHERE s.job_id = $1",
        &[&job],
    )
    .await?
    .try_get("n")?)
}

/// A job's suites in id order: (id, name).
pub async fn suites(c: &impl Db, job: JobId) -> Result<Vec<(i64, String)>, Error> {
    let rows = c
        .query(
            "SELECT id, name FROM test_suites WHERE job_id = $1 ORDER BY id",
            &[&job],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}

/// The counts of one suite of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteCounts {
    /// The suite's name.
    pub suite: String,
    /// Passed cases.
    pub pass: i64,
    /// Failed cases.
    pub fail: i64,
    /// Skipped cases.
    pub skip: i64,
    /// Cases with an unknown result.
    pub unknown: i64,
}

/// Pass, fail, skip and unknown counts per suite of a job, in the order the suites were made.
pub async fn suite_counts(c: &impl Db, job: JobId) -> Result<Vec<SuiteCounts>, Error> {
    let rows = c
        .query(
            "SELECT s.name,
                    count(tc.id) FILTER (WHERE tc.result = 'pass') AS pass,
                    count(tc.id) FILTER (WHERE tc.result = 'fail') AS fail,
                    count(tc.id) FILTER (WHERE tc.result = 'skip') AS skip,
                    count(tc.id) FILTER (WHERE tc.result = 'unknown') AS unknown
             FROM test_suites s LEFT JOIN test_cases tc ON tc.suite_id = s.id
             WHERE s.job_id = $1 GROUP BY s.id, s.name ORDER BY s.id",
            &[&job],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(SuiteCounts {
                suite: r.try_get("name")?,
                pass: r.try_get("pass")?,
                fail: r.try_get("fail")?,
                skip: r.try_get("skip")?,
                unknown: r.try_get("unknown")?,
            })
        })
        .collect()
}
