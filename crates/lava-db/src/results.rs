//! Test suites and test cases, filed from the `results` lines of a job's log as they arrive.

use lava_common::state::TestResult;
use tokio_postgres::GenericClient;

use crate::Error;

/// A test case to file.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    /// The suite: the test definition (`0_smoke`), or `lava` for the dispatcher's own actions.
    pub suite: String,
    /// The case name.
    pub name: String,
    /// Its result.
    pub result: TestResult,
    /// A measurement, as printed (a decimal number).
    pub measurement: Option<String>,
    /// Its units.
    pub units: String,
    /// The test set, if any.
    pub set: Option<String>,
    /// Everything else the line said.
    pub metadata: serde_json::Value,
    /// The line of the log where the case's output starts, if known.
    pub start_line: Option<i64>,
    /// Where it ends (the result line itself when nothing else is known).
    pub end_line: Option<i64>,
}

/// A stored test case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Its id.
    pub id: i64,
    /// Its suite.
    pub suite: String,
    /// Its name.
    pub name: String,
    /// Its result.
    pub result: TestResult,
    /// The measurement, as text.
    pub measurement: Option<String>,
    /// Units.
    pub units: String,
    /// Its set.
    pub set: Option<String>,
}

/// Files one case (creating its suite on first use).
pub async fn add(c: &impl GenericClient, job: i64, case: &NewCase) -> Result<(), Error> {
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
pub async fn of_job(c: &impl GenericClient, job: i64) -> Result<Vec<Case>, Error> {
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
pub async fn suite_counts(c: &impl GenericClient, job: i64) -> Result<Vec<SuiteCounts>, Error> {
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
