//! A LAVA lab's history brought in (`manage import-lava --with-history`): rows are staged in
//! temporary tables as the dump streams by (a dump lists results before their jobs), then
//! resolved and inserted in a few set-based statements. Jobs keep LAVA's ids, so links to
//! the old lab's jobs stay right; a job whose id is here already is left alone when it is the
//! same job (a second import) and stops the import when it is another.
//!
//! Everything happens in the caller's transaction, with the event stream quiet for it.

use lava_common::fixture::lava_history::{CaseRow, JobRow, SetRow, SuiteRow};

use crate::{Db, Error};

/// What the history import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryReport {
    /// Jobs inserted.
    pub jobs: i64,
    /// Jobs that were here already (a second import).
    pub jobs_present: i64,
    /// Jobs left out: their device type and device are both gone.
    pub jobs_without_device: i64,
    /// Test suites inserted.
    pub suites: i64,
    /// Test cases inserted.
    pub cases: i64,
}

/// Makes the staging tables (dropped when the transaction ends) and quiets the event stream
/// for this transaction.
pub async fn begin(c: &impl Db) -> Result<(), Error> {
    for sql in [
        "SET LOCAL lava.quiet_events = 'on'",
        "CREATE TEMP TABLE import_jobs (id bigint PRIMARY KEY, submitter bigint,
            description text, definition text, health_check boolean, device_type text,
            actual_device text, tags bigint[], priority integer, is_public boolean,
            groups bigint[], submitter_name text, group_names text[], health integer, submit_time timestamptz, start_time timestamptz,
            end_time timestamptz, failure_comment text, failure_tags bigint[]) ON COMMIT DROP",
        "CREATE TEMP TABLE import_suites (pk bigint PRIMARY KEY, job bigint, name text,
            suite_id bigint) ON COMMIT DROP",
        "CREATE TEMP TABLE import_sets (pk bigint PRIMARY KEY, name text) ON COMMIT DROP",
        "CREATE TEMP TABLE import_cases (suite bigint, name text, result integer,
            measurement text, units text, metadata jsonb, start_log_line bigint,
            end_log_line bigint, test_set bigint, logged timestamptz) ON COMMIT DROP",
        "CREATE TEMP TABLE import_names (kind text, pk bigint, name text,
            PRIMARY KEY (kind, pk)) ON COMMIT DROP",
        "CREATE TEMP TABLE import_new (id bigint PRIMARY KEY) ON COMMIT DROP",
    ] {
        c.execute(sql, &[]).await?;
    }
    Ok(())
}

/// Stages the dump's names by LAVA's pk (`kind`: user, tag, group, failure tag).
pub async fn stage_names(c: &impl Db, kind: &str, names: &[(i64, String)]) -> Result<(), Error> {
    let (pks, names): (Vec<i64>, Vec<&str>) = names.iter().map(|(p, n)| (*p, n.as_str())).unzip();
    c.execute(
        "INSERT INTO import_names (kind, pk, name) SELECT $1, * FROM unnest($2::bigint[], $3::text[])",
        &[&kind, &pks, &names],
    )
    .await?;
    Ok(())
}

/// Stages jobs.
pub async fn stage_jobs(c: &impl Db, rows: &[JobRow]) -> Result<(), Error> {
    let col = |f: fn(&JobRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let submitters: Vec<Option<i64>> = rows.iter().map(|r| r.submitter).collect();
    let descriptions = col(|r| Some(r.description.clone()));
    let definitions = col(|r| Some(r.definition.clone()));
    let checks: Vec<bool> = rows.iter().map(|r| r.health_check).collect();
    let types = col(|r| r.device_type.clone());
    let devices = col(|r| r.actual_device.clone());
    // Arrays of arrays must be rectangular in PostgreSQL: lists travel as text.
    let tags = col(|r| Some(pk_list(&r.tags)));
    let priorities: Vec<i32> = rows.iter().map(|r| r.priority).collect();
    let public: Vec<bool> = rows.iter().map(|r| r.is_public).collect();
    let groups = col(|r| Some(pk_list(&r.viewing_groups)));
    let submitter_names = col(|r| r.submitter_name.clone());
    let group_names: Vec<String> = rows
        .iter()
        .map(|r| serde_json::Value::from(r.viewing_group_names.clone()).to_string())
        .collect();
    let healths: Vec<i32> = rows.iter().map(|r| r.health).collect();
    let submitted: Vec<_> = rows.iter().map(|r| r.submit_time).collect();
    let started: Vec<_> = rows.iter().map(|r| r.start_time).collect();
    let ended: Vec<_> = rows.iter().map(|r| r.end_time).collect();
    let comments = col(|r| r.failure_comment.clone());
    let failure_tags = col(|r| Some(pk_list(&r.failure_tags)));
    c.execute(
        "INSERT INTO import_jobs SELECT id, submitter, description, definition, health_check,
            device_type, actual_device, tags::bigint[], priority, is_public, groups::bigint[],
            submitter_name,
            ARRAY(SELECT jsonb_array_elements_text(group_names::jsonb)),
            health, submit_time, start_time, end_time, failure_comment,
            failure_tags::bigint[]
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::boolean[],
            $6::text[], $7::text[], $8::text[], $9::integer[], $10::boolean[], $11::text[],
            $12::integer[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[],
            $16::text[], $17::text[], $18::text[], $19::text[])
         AS x(id, submitter, description, definition, health_check, device_type,
            actual_device, tags, priority, is_public, groups, health, submit_time, start_time,
            end_time, failure_comment, failure_tags, submitter_name, group_names)",
        &[
            &ids,
            &submitters,
            &descriptions,
            &definitions,
            &checks,
            &types,
            &devices,
            &tags,
            &priorities,
            &public,
            &groups,
            &healths,
            &submitted,
            &started,
            &ended,
            &comments,
            &failure_tags,
            &submitter_names,
            &group_names,
        ],
    )
    .await?;
    Ok(())
}

fn pk_list(pks: &[i64]) -> String {
    let inner: Vec<String> = pks.iter().map(i64::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

/// Stages test suites.
pub async fn stage_suites(c: &impl Db, rows: &[SuiteRow]) -> Result<(), Error> {
    let pks: Vec<i64> = rows.iter().map(|r| r.pk).collect();
    let jobs: Vec<i64> = rows.iter().map(|r| r.job).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    c.execute(
        "INSERT INTO import_suites (pk, job, name)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[])",
        &[&pks, &jobs, &names],
    )
    .await?;
    Ok(())
}

/// Stages test sets.
pub async fn stage_sets(c: &impl Db, rows: &[SetRow]) -> Result<(), Error> {
    let pks: Vec<i64> = rows.iter().map(|r| r.pk).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    c.execute(
        "INSERT INTO import_sets (pk, name) SELECT * FROM unnest($1::bigint[], $2::text[])",
        &[&pks, &names],
    )
    .await?;
    Ok(())
}

/// Stages test cases.
pub async fn stage_cases(c: &impl Db, rows: &[CaseRow]) -> Result<(), Error> {
    let suites: Vec<i64> = rows.iter().map(|r| r.suite).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let results: Vec<i32> = rows.iter().map(|r| r.result).collect();
    let measurements: Vec<Option<&str>> = rows.iter().map(|r| r.measurement.as_deref()).collect();
    let units: Vec<&str> = rows.iter().map(|r| r.units.as_str()).collect();
    let metadata: Vec<&serde_json::Value> = rows.iter().map(|r| &r.metadata).collect();
    let starts: Vec<Option<i64>> = rows.iter().map(|r| r.start_log_line).collect();
    let ends: Vec<Option<i64>> = rows.iter().map(|r| r.end_log_line).collect();
    let sets: Vec<Option<i64>> = rows.iter().map(|r| r.test_set).collect();
    let logged: Vec<_> = rows.iter().map(|r| r.logged).collect();
    c.execute(
        "INSERT INTO import_cases SELECT * FROM unnest($1::bigint[], $2::text[],
            $3::integer[], $4::text[], $5::text[], $6::jsonb[], $7::bigint[], $8::bigint[],
            $9::bigint[], $10::timestamptz[])",
        &[
            &suites,
            &names,
            &results,
            &measurements,
            &units,
            &metadata,
            &starts,
            &ends,
            &sets,
            &logged,
        ],
    )
    .await?;
    Ok(())
}

/// Inserts the staged history: new jobs (with their viewing groups), then their suites and
/// cases, and moves the job id sequence past LAVA's ids up to `last_lava_id` (unfinished jobs
/// included, so a job resubmitted here never takes an old job's number). Fails, naming up to
/// five ids, when a staged job's id belongs to another job here.
pub async fn finish(c: &impl Db, last_lava_id: i64) -> Result<HistoryReport, Error> {
    let taken: Vec<i64> = c
        .query(
            "SELECT i.id FROM import_jobs i JOIN jobs j ON j.id = i.id
             WHERE j.submit_time IS DISTINCT FROM i.submit_time
                OR j.description IS DISTINCT FROM i.description
             ORDER BY i.id LIMIT 5",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if !taken.is_empty() {
        return Err(Error::Invalid(format!(
            "job id(s) {} of the dump belong to other jobs here: import the history into a \
             server that has run no jobs of its own",
            taken
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let staged: i64 = c
        .query_one("SELECT count(*) FROM import_jobs", &[])
        .await?
        .try_get(0)?;
    let present: i64 = c
        .query_one(
            "SELECT count(*) FROM import_jobs i WHERE EXISTS (SELECT 1 FROM jobs j WHERE j.id = i.id)",
            &[],
        )
        .await?
        .try_get(0)?;
    let jobs = c
        .execute(
            "WITH ins AS (
                INSERT INTO jobs (id, submitter_id, description, original_definition,
                    health_check, requested_device_type, actual_device, tags, priority,
                    visibility, state, health, submit_time, start_time, end_time,
                    failure_comment, failure_tags)
                SELECT i.id, u.id, i.description, i.definition, i.health_check, dt.name,
                    d.hostname,
                    coalesce((SELECT array_agg(n.name ORDER BY n.name) FROM import_names n
                        WHERE n.kind = 'tag' AND n.pk = ANY(i.tags)), '{}'),
                    i.priority,
                    (CASE WHEN i.is_public THEN 'public'
                        WHEN cardinality(i.groups) + cardinality(i.group_names) > 0
                            THEN 'group'
                        ELSE 'personal' END)::job_visibility,
                    'finished',
                    (ARRAY['unknown', 'complete', 'incomplete', 'canceled'])[i.health + 1]::job_health,
                    i.submit_time, i.start_time, i.end_time, i.failure_comment,
                    coalesce((SELECT array_agg(f.id ORDER BY n.pk) FROM import_names n
                        JOIN failure_tags f ON f.name = n.name
                        WHERE n.kind = 'failure tag' AND n.pk = ANY(i.failure_tags)), '{}')
                FROM import_jobs i
                LEFT JOIN import_names un ON un.kind = 'user' AND un.pk = i.submitter
                LEFT JOIN users u ON u.username = coalesce(un.name, i.submitter_name)
                LEFT JOIN device_types dt ON dt.name = i.device_type
                LEFT JOIN devices d ON d.hostname = i.actual_device
                WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = i.id)
                  AND (dt.name IS NOT NULL OR d.hostname IS NOT NULL)
                RETURNING id)
             INSERT INTO import_new (id) SELECT id FROM ins",
            &[],
        )
        .await? as i64;
    c.execute(
        "INSERT INTO job_viewing_groups (job_id, group_id)
         SELECT DISTINCT i.id, g.id FROM import_jobs i JOIN import_new n ON n.id = i.id
         CROSS JOIN LATERAL (
            SELECT gn.name FROM unnest(i.groups) AS gp(pk)
            JOIN import_names gn ON gn.kind = 'group' AND gn.pk = gp.pk
            UNION SELECT unnest(i.group_names)) AS vg(name)
         JOIN groups g ON g.name = vg.name",
        &[],
    )
    .await?;
    c.execute(
        "SELECT setval(pg_get_serial_sequence('jobs', 'id'), GREATEST(
            (SELECT coalesce(max(id), 0) FROM jobs),
            nextval(pg_get_serial_sequence('jobs', 'id')) - 1, $1, 1))",
        &[&last_lava_id],
    )
    .await?;
    let suites = c
        .execute(
            "INSERT INTO test_suites (job_id, name)
             SELECT DISTINCT s.job, s.name FROM import_suites s JOIN import_new n ON n.id = s.job",
            &[],
        )
        .await? as i64;
    c.execute(
        "UPDATE import_suites s SET suite_id = t.id FROM test_suites t
         WHERE t.job_id = s.job AND t.name = s.name
           AND EXISTS (SELECT 1 FROM import_new n WHERE n.id = s.job)",
        &[],
    )
    .await?;
    let cases = c
        .execute(
            "INSERT INTO test_cases (suite_id, name, test_set, result, measurement, units,
                metadata, start_log_line, end_log_line, logged)
             SELECT s.suite_id, c.name, ts.name,
                (ARRAY['pass', 'fail', 'skip', 'unknown'])[c.result + 1]::test_result,
                c.measurement::numeric, c.units, c.metadata, c.start_log_line,
                c.end_log_line, coalesce(c.logged, now())
             FROM import_cases c JOIN import_suites s ON s.pk = c.suite
             LEFT JOIN import_sets ts ON ts.pk = c.test_set
             WHERE s.suite_id IS NOT NULL",
            &[],
        )
        .await? as i64;
    Ok(HistoryReport {
        jobs,
        jobs_present: present,
        jobs_without_device: staged - present - jobs,
        suites,
        cases,
    })
}

/// Up to `limit` jobs of the dump that are here and have no log yet, after job `after`, by
/// id, with their submit times (where LAVA kept their logs).
pub async fn jobs_without_log(
    c: &impl Db,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, chrono::DateTime<chrono::Utc>)>, Error> {
    c.query(
        "SELECT j.id, j.submit_time FROM jobs j JOIN import_jobs i ON i.id = j.id
         WHERE j.id > $1 AND j.log_lines = 0 AND j.log_bytes = 0
         ORDER BY j.id LIMIT $2",
        &[&after, &limit],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("submit_time")?)))
    .collect()
}
