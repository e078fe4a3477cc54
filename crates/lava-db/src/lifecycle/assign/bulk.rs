//! Bulk assignment for every kind of job: tags, requested devices, worker job limits.
//!
//! Two reads and one write, whatever the size of the queue: the idle devices
//! ([`rules::idle_devices`], locked, in [`rules::DEVICE_ORDER`]); the queued jobs that could
//! go to them, at most as many of each queue (same device type and tags) as the type has idle
//! devices, and each device's best job naming it; then the one-by-one rule run in memory
//! (each device, in order, takes the best job that fits it unless its worker holds its job
//! limit), and [`super::apply`] makes all the pairs in one statement. `tests/assign.rs` holds
//! the result equal to [`super::one_by_one`], which asks the database device by device.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lava_common::ids::{DeviceName, DeviceTypeName, JobId, WorkerName};

use super::Assignment;
use super::rules::{self, IdleDevice, JOB_ORDER, QUEUED};
use crate::{Db, Error};

/// A queued job that may go to one of the idle devices.
#[derive(Debug, Clone)]
struct Candidate {
    id: JobId,
    priority: i32,
    submit_time: DateTime<Utc>,
}

impl Candidate {
    /// [`JOB_ORDER`] in Rust: highest priority first, then oldest, then lowest id.
    fn cmp_order(&self, other: &Candidate) -> Ordering {
        other
            .priority
            .cmp(&self.priority)
            .then(self.submit_time.cmp(&other.submit_time))
            .then(self.id.cmp(&other.id))
    }
}

/// Who a queue of jobs asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Wants {
    /// Any device of this type.
    Type(DeviceTypeName),
    /// Only this device (the job named it).
    Device(DeviceName),
}

/// Jobs asking for the same thing with the same tags, best first (reversed: best last).
struct Queue {
    tags: Vec<String>,
    jobs: Vec<Candidate>,
}

/// The pairs the one-by-one rule makes, computed from two reads; the jobs are locked
/// (a job another transaction holds is left for the next pass, with its device).
pub(super) async fn pairs(c: &impl Db) -> Result<Vec<Assignment>, Error> {
    // A device whose worker holds its job limit already is not among them.
    let devices: Vec<IdleDevice> = rules::idle_devices(c).await?;
    if devices.is_empty() {
        return Ok(Vec::new());
    }
    let mut queues = candidates(c, &devices).await?;
    let mut given: HashMap<WorkerName, i64> = HashMap::new();
    let mut out = Vec::new();
    for d in &devices {
        let held = given.get(&d.worker).copied().unwrap_or(0) + d.busy_on_worker;
        if d.job_limit > 0 && held >= i64::from(d.job_limit) {
            continue;
        }
        let Some(job) = take_best(&mut queues, d) else {
            continue;
        };
        *given.entry(d.worker.clone()).or_default() += 1;
        out.push(Assignment {
            job,
            device: d.hostname.clone(),
            worker: d.worker.clone(),
        });
    }
    let mut ids: Vec<JobId> = out.iter().map(|a| a.job).collect();
    ids.sort_unstable();
    // One probe of the queue per chosen job, in id order (the order every pass locks in):
    // the subquery with its own lock is not flattened into a join, so the plan cannot
    // become a scan of the whole queue, with or without statistics.
    let sql = "SELECT j.id FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, n)
         CROSS JOIN LATERAL (
            SELECT id FROM jobs WHERE id = u.id AND state = 'submitted'
            FOR UPDATE SKIP LOCKED) j
         ORDER BY u.n";
    let locked: Vec<JobId> = c
        .query(sql, &[&ids])
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    out.retain(|a| locked.binary_search(&a.job).is_ok());
    Ok(out)
}

/// Takes the best job that fits `d` out of its queues.
fn take_best(queues: &mut HashMap<Wants, Vec<Queue>>, d: &IdleDevice) -> Option<JobId> {
    let mut best: Option<(Wants, usize)> = None;
    for wants in [
        Wants::Device(d.hostname.clone()),
        Wants::Type(d.device_type.clone()),
    ] {
        let Some(list) = queues.get(&wants) else {
            continue;
        };
        for (i, q) in list.iter().enumerate() {
            let Some(head) = q.jobs.last() else { continue };
            if !q.tags.iter().all(|t| d.tags.contains(t)) {
                continue;
            }
            let better = match &best {
                None => true,
                Some((w, j)) => {
                    let current = queues[w][*j].jobs.last().expect("a non-empty queue");
                    head.cmp_order(current) == Ordering::Less
                }
            };
            if better {
                best = Some((wants.clone(), i));
            }
        }
    }
    let (wants, i) = best?;
    queues.get_mut(&wants)?[i].jobs.pop().map(|c| c.id)
}

/// The queued jobs the idle devices could take, by what they ask for and their tags: for
/// each device type, each set of tags its queued jobs ask for (a loose scan of the
/// `jobs_queue_by_type_tags` index) with at most as many of its best jobs as the type has idle
/// devices; for each device, the best job naming it that fits its tags. Each read walks an
/// index in queue order and stops, so the cost follows the idle devices, not the queue.
async fn candidates(
    c: &impl Db,
    devices: &[IdleDevice],
) -> Result<HashMap<Wants, Vec<Queue>>, Error> {
    let hostnames: Vec<&str> = devices.iter().map(|d| d.hostname.as_str()).collect();
    let types: Vec<&str> = devices.iter().map(|d| d.device_type.as_str()).collect();
    // Arrays of arrays must be rectangular in PostgreSQL: each device's tags travel as text.
    let tags: Vec<String> = devices
        .iter()
        .map(|d| {
            let quoted: Vec<String> = d
                .tags
                .iter()
                .map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            format!("{{{}}}", quoted.join(","))
        })
        .collect();
    let sql = format!(
        "WITH RECURSIVE dev AS (
            SELECT hostname, device_type, tags::text[] AS tags
            FROM unnest($1::text[], $2::text[], $3::text[]) AS x(hostname, device_type, tags)),
         per_type AS (SELECT device_type, count(*) AS n FROM dev GROUP BY device_type),
         groups AS (
            SELECT p.device_type AS t, f.tags FROM per_type p CROSS JOIN LATERAL (
              SELECT j.tags FROM jobs j
              WHERE {QUEUED} AND j.requested_device IS NULL
                AND j.requested_device_type = p.device_type
              ORDER BY j.tags LIMIT 1) f
            UNION ALL
            SELECT g.t, n.tags FROM groups g CROSS JOIN LATERAL (
              SELECT j.tags FROM jobs j
              WHERE {QUEUED} AND j.requested_device IS NULL
                AND j.requested_device_type = g.t AND j.tags > g.tags
              ORDER BY j.tags LIMIT 1) n)
         SELECT c.id, c.priority, c.submit_time, g.t AS wants, false AS named, g.tags
         FROM groups g JOIN per_type p ON p.device_type = g.t
         CROSS JOIN LATERAL (
            SELECT j.id, j.priority, j.submit_time FROM jobs j
            WHERE {QUEUED} AND j.requested_device IS NULL
              AND j.requested_device_type = g.t AND j.tags = g.tags
            ORDER BY {JOB_ORDER} LIMIT p.n) c
         UNION ALL
         SELECT c.id, c.priority, c.submit_time, dev.hostname, true, '{{}}'::text[]
         FROM dev CROSS JOIN LATERAL (
            SELECT j.id, j.priority, j.submit_time FROM jobs j
            WHERE {QUEUED} AND j.requested_device = dev.hostname AND j.tags <@ dev.tags
            ORDER BY {JOB_ORDER} LIMIT 1) c"
    );
    let rows = c.query(&sql, &[&hostnames, &types, &tags]).await?;
    let mut queues: HashMap<Wants, Vec<Queue>> = HashMap::new();
    for r in &rows {
        let wants: String = r.try_get("wants")?;
        let wants = if r.try_get::<_, bool>("named")? {
            Wants::Device(DeviceName::from(wants.as_str()))
        } else {
            Wants::Type(DeviceTypeName::from(wants.as_str()))
        };
        let tags: Vec<String> = r.try_get("tags")?;
        let job = Candidate {
            id: r.try_get("id")?,
            priority: r.try_get("priority")?,
            submit_time: r.try_get("submit_time")?,
        };
        let list = queues.entry(wants).or_default();
        match list.iter_mut().find(|q| q.tags == tags) {
            Some(q) => q.jobs.push(job),
            None => list.push(Queue {
                tags,
                jobs: vec![job],
            }),
        }
    }
    for list in queues.values_mut() {
        for q in list {
            // Best last, so taking one is a pop.
            q.jobs.sort_by(|a, b| b.cmp_order(a));
        }
    }
    Ok(queues)
}
