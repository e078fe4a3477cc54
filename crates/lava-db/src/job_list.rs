//! Reading lists of jobs for a caller: filters, ordering, paging and counts.
//!
//! The APIs and pages ask for "the jobs this viewer may see, matching these filters". The
//! SQL is built from only the filters that are set, so PostgreSQL plans each query for what
//! it really asks: `IdDesc` with `id_lt` and no offset walks the primary key backwards and
//! stops after `limit` rows, whatever the size of the table.

use chrono::{DateTime, Utc};
use lava_common::ids::{DeviceName, DeviceTypeName, JobId};
use lava_common::state::{JobHealth, JobState};
use postgres_types::ToSql;

use crate::jobs::{Job, SELECT, from_row};
use crate::viewer::Viewer;
use crate::{Db, Error};

/// The order of a job list. Ties are broken by id in the same direction, so pages are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobOrder {
    /// Oldest id first.
    #[default]
    IdAsc,
    /// Newest id first.
    IdDesc,
    /// Earliest submission first.
    SubmitTimeAsc,
    /// Latest submission first.
    SubmitTimeDesc,
    /// Earliest start first (jobs not started last, as PostgreSQL sorts NULL).
    StartTimeAsc,
    /// Latest start first (jobs not started first).
    StartTimeDesc,
    /// Earliest end first (jobs not ended last).
    EndTimeAsc,
    /// Latest end first (jobs not ended first).
    EndTimeDesc,
}

impl JobOrder {
    /// The ORDER BY clause; a fixed string per variant, never built from user input.
    fn sql(self) -> &'static str {
        match self {
            JobOrder::IdAsc => "j.id ASC",
            JobOrder::IdDesc => "j.id DESC",
            JobOrder::SubmitTimeAsc => "j.submit_time ASC, j.id ASC",
            JobOrder::SubmitTimeDesc => "j.submit_time DESC, j.id DESC",
            JobOrder::StartTimeAsc => "j.start_time ASC, j.id ASC",
            JobOrder::StartTimeDesc => "j.start_time DESC, j.id DESC",
            JobOrder::EndTimeAsc => "j.end_time ASC, j.id ASC",
            JobOrder::EndTimeDesc => "j.end_time DESC, j.id DESC",
        }
    }
}

/// Which jobs to list. Every field that is set narrows the list; empty vectors and `None`
/// mean "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    /// In this state.
    pub state: Option<JobState>,
    /// With this health.
    pub health: Option<JobHealth>,
    /// In one of these states.
    pub states: Vec<JobState>,
    /// With one of these healths.
    pub healths: Vec<JobHealth>,
    /// Requested this device type.
    pub device_type: Option<DeviceTypeName>,
    /// Ran (or runs) on this device.
    pub device: Option<DeviceName>,
    /// Submitted by this username.
    pub submitter: Option<String>,
    /// Id greater than this.
    pub id_gt: Option<JobId>,
    /// Id less than this.
    pub id_lt: Option<JobId>,
    /// Ended at or after this time.
    pub ended_since: Option<DateTime<Utc>>,
    /// One of these ids (empty: any).
    pub ids: Vec<JobId>,
    /// Submitted after this time.
    pub submitted_after: Option<DateTime<Utc>>,
    /// Submitted before this time.
    pub submitted_before: Option<DateTime<Utc>>,
    /// Ended after this time.
    pub ended_after: Option<DateTime<Utc>>,
    /// Ended before this time.
    pub ended_before: Option<DateTime<Utc>>,
    /// A health check (true) or not (false).
    pub health_check: Option<bool>,
    /// The order of the rows.
    pub order: JobOrder,
    /// At most this many rows (`list` only; 0 or less means no limit).
    pub limit: i64,
    /// Rows to skip first (`list` only).
    pub offset: i64,
}

/// A WHERE clause with its parameters, numbered from `$1`.
struct Where {
    sql: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Where {
    fn push(&mut self, cond: &str, value: Box<dyn ToSql + Sync + Send>) {
        self.params.push(value);
        let n = self.params.len();
        self.sql.push_str(" AND ");
        self.sql.push_str(&cond.replace("$?", &format!("${n}")));
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// The visibility condition first (it takes `$1` and `$2`), then each filter that is set.
fn conditions(viewer: &Viewer, f: &JobFilter) -> Where {
    let (user, su) = viewer.params();
    let mut w = Where {
        sql: format!("WHERE {}", Viewer::job_condition("j", 1)),
        params: vec![Box::new(user), Box::new(su)],
    };
    state_health(&mut w, f, "j");
    if let Some(t) = &f.device_type {
        w.push("j.requested_device_type = $?", Box::new(t.clone()));
    }
    if let Some(d) = &f.device {
        w.push("j.actual_device = $?", Box::new(d.clone()));
    }
    if let Some(s) = &f.submitter {
        w.push("u.username = $?", Box::new(s.clone()));
    }
    if let Some(id) = f.id_gt {
        w.push("j.id > $?", Box::new(id));
    }
    if let Some(id) = f.id_lt {
        w.push("j.id < $?", Box::new(id));
    }
    if !f.ids.is_empty() {
        w.push("j.id = ANY($?)", Box::new(f.ids.clone()));
    }
    for (column, op, t) in time_bounds(f) {
        if let Some(t) = t {
            w.push(&format!("j.{column} {op} $?"), Box::new(t));
        }
    }
    if let Some(h) = f.health_check {
        w.push("j.health_check = $?", Box::new(h));
    }
    w
}

/// The time filters of `f`: (column, operator, bound), the bound `None` when not set.
fn time_bounds(f: &JobFilter) -> [(&'static str, &'static str, Option<DateTime<Utc>>); 5] {
    [
        ("submit_time", ">", f.submitted_after),
        ("submit_time", "<", f.submitted_before),
        ("end_time", ">", f.ended_after),
        ("end_time", "<", f.ended_before),
        ("end_time", ">=", f.ended_since),
    ]
}

/// The jobs `viewer` may see that match `f`, in `f.order`, paged by `f.limit`/`f.offset`.
pub async fn list(c: &impl Db, viewer: &Viewer, f: &JobFilter) -> Result<Vec<Job>, Error> {
    let w = list_query(c, viewer, f).await?;
    let rows = c.query(&w.sql, &w.refs()).await?;
    rows.iter().map(from_row).collect()
}

/// At most this many jobs in a time filter's window are sorted by id rather than found by
/// walking the primary key (see [`sort_window`]): sorting them costs a few milliseconds.
const SORTED_WINDOW: i64 = 20_000;

/// The statement of [`list`] with its parameters.
async fn list_query(c: &impl Db, viewer: &Viewer, f: &JobFilter) -> Result<Where, Error> {
    let order = if sort_window(c, f).await? {
        // `+ 0` hides the order from the primary key: the rows come from the time index.
        match f.order {
            JobOrder::IdDesc => "j.id + 0 DESC",
            _ => "j.id + 0 ASC",
        }
    } else {
        f.order.sql()
    };
    let mut w = conditions(viewer, f);
    w.sql = format!("{SELECT} {} ORDER BY {order}", w.sql);
    if f.limit > 0 {
        w.params.push(Box::new(f.limit));
        w.sql.push_str(&format!(" LIMIT ${}", w.params.len()));
    }
    if f.offset > 0 {
        w.params.push(Box::new(f.offset));
        w.sql.push_str(&format!(" OFFSET ${}", w.params.len()));
    }
    Ok(w)
}

/// Whether a list in id order with a time filter should sort the jobs of its time window.
///
/// PostgreSQL costs a primary key walk as if matching rows were spread evenly over the ids,
/// but ids follow submission: `submit_time__gt=(a day ago)` in ascending id order walked a
/// million older rows (400 ms) to find the day's first 50. Whether a window is small is asked
/// of its time index, in its order, stopping after [`SORTED_WINDOW`] rows, once for the
/// submission times and once for the end times that are filtered, so each probe reads at most
/// that many index entries. If either window is small, its rows are sorted; otherwise the
/// planner's choice stands.
async fn sort_window(c: &impl Db, f: &JobFilter) -> Result<bool, Error> {
    if !matches!(f.order, JobOrder::IdAsc | JobOrder::IdDesc) {
        return Ok(false);
    }
    for window in ["submit_time", "end_time"] {
        let mut w = Where {
            sql: "WHERE true".to_string(),
            params: Vec::new(),
        };
        for (column, op, t) in time_bounds(f) {
            if let (true, Some(t)) = (column == window, t) {
                w.push(&format!("j.{column} {op} $?"), Box::new(t));
            }
        }
        if w.params.is_empty() {
            continue;
        }
        w.params.push(Box::new(SORTED_WINDOW + 1));
        let sql = format!(
            "SELECT count(*) AS n FROM (SELECT 1 FROM jobs j {} ORDER BY j.{window} LIMIT ${}) w",
            w.sql,
            w.params.len()
        );
        let n: i64 = c.query_one(&sql, &w.refs()).await?.try_get("n")?;
        if n <= SORTED_WINDOW {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How many jobs `viewer` may see that match `f` (its order, limit and offset are ignored).
pub async fn count(c: &impl Db, viewer: &Viewer, f: &JobFilter) -> Result<i64, Error> {
    if f.by_counters() {
        return count_from_counters(c, viewer, f).await;
    }
    count_exact(c, viewer, f).await
}

/// [`count`] by scanning the matching rows (what the counters must always agree with).
pub async fn count_exact(c: &impl Db, viewer: &Viewer, f: &JobFilter) -> Result<i64, Error> {
    let w = exact_count_query(viewer, f);
    Ok(c.query_one(&w.sql, &w.refs()).await?.try_get("n")?)
}

/// The statement of [`count_exact`] with its parameters.
fn exact_count_query(viewer: &Viewer, f: &JobFilter) -> Where {
    let mut w = conditions(viewer, f);
    // The submitter filter reads the username, so the join stays even for a count.
    w.sql = format!(
        "SELECT count(*) AS n FROM jobs j LEFT JOIN users u ON u.id = j.submitter_id {}",
        w.sql
    );
    w
}

/// The plan PostgreSQL picks for [`list`] (`EXPLAIN` text), so tests and benchmarks can check
/// that a page stays on an index as the table grows.
pub async fn plan(c: &impl Db, viewer: &Viewer, f: &JobFilter) -> Result<String, Error> {
    let w = list_query(c, viewer, f).await?;
    let rows = c.query(&format!("EXPLAIN {}", w.sql), &w.refs()).await?;
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<_, String>(0))
        .collect::<Result<_, _>>()?;
    Ok(lines.join("\n"))
}

/// The plan PostgreSQL picks for [`count`] (`EXPLAIN` text of the statements it runs: the
/// counters' and the viewer's own private jobs, or the exact count).
pub async fn plan_count(c: &impl Db, viewer: &Viewer, f: &JobFilter) -> Result<String, Error> {
    let sqls = if f.by_counters() {
        let (public, own) = counter_queries(viewer, f);
        let mut out = vec![public];
        out.extend(own);
        out
    } else {
        vec![exact_count_query(viewer, f)]
    };
    let mut lines = Vec::new();
    for w in sqls {
        let rows = c.query(&format!("EXPLAIN {}", w.sql), &w.refs()).await?;
        for r in &rows {
            lines.push(r.try_get::<_, String>(0)?);
        }
    }
    Ok(lines.join("\n"))
}

/// Job `id` if `viewer` may see it; `None` both when it does not exist and when it is not
/// visible, so callers answer "not found" either way.
pub async fn get(c: &impl Db, viewer: &Viewer, id: JobId) -> Result<Option<Job>, Error> {
    let (user, su) = viewer.params();
    let sql = format!(
        "{SELECT} WHERE j.id = $3 AND {}",
        Viewer::job_condition("j", 1)
    );
    let row = c.query_opt(&sql, &[&user, &su, &id]).await?;
    row.as_ref().map(from_row).transpose()
}

/// The viewing groups of a job: (group id, name), by name.
pub async fn viewing_groups(c: &impl Db, id: JobId) -> Result<Vec<(i64, String)>, Error> {
    let rows = c
        .query(
            "SELECT g.id, g.name FROM job_viewing_groups vg JOIN groups g ON g.id = vg.group_id
             WHERE vg.job_id = $1 ORDER BY g.name",
            &[&id],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("name")?)))
        .collect()
}

/// Folds the pending count deltas into the totals (the active scheduler calls this after its
/// passes). Safe to run concurrently: a delta row is moved by exactly one fold.
pub async fn fold_counts(c: &impl Db) -> Result<(), Error> {
    c.execute(
        "WITH moved AS (DELETE FROM job_count_deltas
                        RETURNING visibility, state, health, device_type, health_check,
                                  submitter_id, delta),
              totals AS (
                INSERT INTO job_counts AS t (visibility, state, health, device_type, health_check, n)
                SELECT visibility, state, health, device_type, health_check, sum(delta)::bigint
                FROM moved GROUP BY 1, 2, 3, 4, 5
                ON CONFLICT (visibility, state, health, device_type, health_check)
                DO UPDATE SET n = t.n + EXCLUDED.n)
         INSERT INTO job_counts_by_submitter AS t (submitter_id, visibility, state, health, n)
         SELECT submitter_id, visibility, state, health, sum(delta)::bigint
         FROM moved GROUP BY 1, 2, 3, 4
         ON CONFLICT (submitter_id, visibility, state, health) DO UPDATE SET n = t.n + EXCLUDED.n",
        &[],
    )
    .await?;
    Ok(())
}

impl JobFilter {
    /// Whether the counters can answer: only state, health and either the requested device
    /// type and `health_check` (`job_counts`) or the submitter (`job_counts_by_submitter`)
    /// narrow the list.
    fn by_counters(&self) -> bool {
        let by_type = self.device_type.is_some() || self.health_check.is_some();
        self.device.is_none()
            && !(by_type && self.submitter.is_some())
            && self.id_gt.is_none()
            && self.id_lt.is_none()
            && self.ended_since.is_none()
            && self.ids.is_empty()
            && self.submitted_after.is_none()
            && self.submitted_before.is_none()
            && self.ended_after.is_none()
            && self.ended_before.is_none()
    }
}

/// The state and health conditions of `f` on the columns of `alias`, into `w`.
fn state_health(w: &mut Where, f: &JobFilter, alias: &str) {
    if let Some(s) = f.state {
        w.push(&format!("{alias}.state = $?"), Box::new(s));
    }
    if let Some(h) = f.health {
        w.push(&format!("{alias}.health = $?"), Box::new(h));
    }
    if !f.states.is_empty() {
        w.push(
            &format!("{alias}.state = ANY($?)"),
            Box::new(f.states.clone()),
        );
    }
    if !f.healths.is_empty() {
        w.push(
            &format!("{alias}.health = ANY($?)"),
            Box::new(f.healths.clone()),
        );
    }
}

/// [`count`] from the counters: the public (or, for a superuser, all) jobs from the totals
/// and deltas, plus the viewer's own and group-visible private jobs counted exactly (few).
async fn count_from_counters(c: &impl Db, viewer: &Viewer, f: &JobFilter) -> Result<i64, Error> {
    let (public, own) = counter_queries(viewer, f);
    let mut n: i64 = c
        .query_one(&public.sql, &public.refs())
        .await?
        .try_get("n")?;
    if let Some(w) = own {
        n += c
            .query_one(&w.sql, &w.refs())
            .await?
            .try_get::<_, i64>("n")?;
    }
    Ok(n)
}

/// The statements of [`count_from_counters`]: the counters', and the exact count of the
/// viewer's own private jobs (none for anonymous callers and superusers).
fn counter_queries(viewer: &Viewer, f: &JobFilter) -> (Where, Option<Where>) {
    let mut w = Where {
        sql: if viewer.superuser {
            "WHERE true".into()
        } else {
            "WHERE k.visibility = 'public'".into()
        },
        params: Vec::new(),
    };
    state_health(&mut w, f, "k");
    counted_filters(&mut w, f, "k", "k.submitter_id");
    let counters = if f.submitter.is_some() {
        "SELECT submitter_id, visibility, state, health, n FROM job_counts_by_submitter
         UNION ALL SELECT submitter_id, visibility, state, health, delta FROM job_count_deltas"
    } else {
        "SELECT visibility, state, health, device_type, health_check, n FROM job_counts
         UNION ALL SELECT visibility, state, health, device_type, health_check, delta
         FROM job_count_deltas"
    };
    w.sql = format!(
        "SELECT coalesce(sum(k.n), 0)::bigint AS n FROM ({counters}) k {}",
        w.sql
    );
    let own = match (viewer.user_id, viewer.superuser) {
        (Some(user), false) => {
            let mut w = Where {
                sql: "WHERE j.visibility <> 'public' AND (j.submitter_id = $1 OR j.id IN (
                          SELECT vg.job_id FROM job_viewing_groups vg
                          JOIN user_groups ug ON ug.group_id = vg.group_id WHERE ug.user_id = $1))"
                    .into(),
                params: vec![Box::new(user)],
            };
            state_health(&mut w, f, "j");
            counted_filters(&mut w, f, "j", "coalesce(j.submitter_id, 0)");
            w.sql = format!("SELECT count(*) AS n FROM jobs j {}", w.sql);
            Some(w)
        }
        _ => None,
    };
    (w, own)
}

/// The filters besides state and health that the counters answer, on the columns of `alias`
/// (`submitter` is the expression of the submitter's id: the counters count a job whose
/// submitter is gone under 0, which no user has).
fn counted_filters(w: &mut Where, f: &JobFilter, alias: &str, submitter: &str) {
    if let Some(t) = &f.device_type {
        let column = if alias == "k" {
            "k.device_type"
        } else {
            "j.requested_device_type"
        };
        w.push(&format!("{column} = $?"), Box::new(t.clone()));
    }
    if let Some(h) = f.health_check {
        w.push(&format!("{alias}.health_check = $?"), Box::new(h));
    }
    if let Some(name) = &f.submitter {
        w.push(
            &format!("{submitter} = coalesce((SELECT id FROM users WHERE username = $?), -1)"),
            Box::new(name.clone()),
        );
    }
}
