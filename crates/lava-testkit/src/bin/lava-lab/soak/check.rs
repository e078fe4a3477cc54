//! What the soak asserts, on the jobs' records and logs as the server returns them: every job
//! finished, Complete unless a crash it overlapped allows Incomplete; no device ran two jobs
//! at once; every numbered line the test wrote is in the stored log exactly once (at most
//! once, in order, for an allowed Incomplete job). Pure functions, so the unit tests below can
//! hand them a dropped line or an overlap and see them fail.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use lava_common::log::{Level, Message, parse_line};

/// What the soak's test step prints before each line's number.
pub const PREFIX: &str = "soak-line ";

/// The text of numbered line `n` the soak's test step prints.
#[cfg(test)]
pub fn numbered(n: usize) -> String {
    format!("{PREFIX}{n}")
}

/// One job as REST `jobs/ID/` returns it.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: i64,
    pub device: Option<String>,
    pub state: String,
    pub health: String,
    pub submit: DateTime<Utc>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

/// A daemon killed hard: when, and on which devices its crash may end a job Incomplete (for
/// a worker, the devices it runs; for the scheduler, none: it runs no job).
#[derive(Debug, Clone)]
pub struct Crash {
    pub daemon: String,
    pub killed: DateTime<Utc>,
    pub restarted: DateTime<Utc>,
    pub devices: Vec<String>,
}

/// Whether `run` may have ended Incomplete because of `crashes`: it ran on a crashed worker's
/// device and was under way (started, not yet ended) at some instant between the kill and
/// the restart.
pub fn excused(run: &Run, crashes: &[Crash]) -> bool {
    let Some(device) = &run.device else {
        return false;
    };
    crashes.iter().any(|c| {
        c.devices.contains(device)
            && run.start.is_none_or(|s| s <= c.restarted)
            && run.end.is_none_or(|e| e >= c.killed)
    })
}

/// Every problem with the records: a job not finished, Incomplete or Canceled without a crash
/// to excuse it, or two jobs on one device at once.
pub fn records(runs: &[Run], crashes: &[Crash]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_device: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for r in runs {
        if r.state != "Finished" {
            problems.push(format!("job {} did not finish: {}", r.id, r.state));
            continue;
        }
        if r.health != "Complete" && !(r.health == "Incomplete" && excused(r, crashes)) {
            problems.push(format!(
                "job {} ended {} on {:?} with no crash under way to excuse it",
                r.id, r.health, r.device
            ));
        }
        if let Some(d) = &r.device
            && r.start.is_some()
        {
            by_device.entry(d).or_default().push(r);
        }
    }
    for (device, mut list) in by_device {
        list.sort_by_key(|r| (r.start, r.id));
        for pair in list.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            match a.end {
                Some(end) if Some(end) <= b.start => {}
                _ => problems.push(format!(
                    "{device} ran two jobs at once: job {} ({} to {}) and job {} (from {})",
                    a.id,
                    when(a.start),
                    when(a.end),
                    b.id,
                    when(b.start)
                )),
            }
        }
    }
    problems
}

/// The problems of one job's stored log: each of the `lines` numbered lines must be there
/// once and in order (`complete`), or at most once and in order (an excused Incomplete job);
/// a line that does not parse is a problem too.
pub fn log(id: i64, text: &str, lines: usize, complete: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for (no, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(l) if l.lvl == Level::Target => {
                if let Message::Text(t) = &l.msg
                    && let Some(n) = t.strip_prefix(PREFIX)
                    && let Ok(n) = n.parse::<usize>()
                {
                    seen.push(n);
                }
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("job {id}: log line {} does not parse: {e}", no + 1)),
        }
    }
    let mut count = vec![0usize; lines + 1];
    for &n in &seen {
        match count.get_mut(n) {
            Some(c) if n > 0 => *c += 1,
            _ => problems.push(format!(
                "job {id}: a numbered line {n} the test never wrote"
            )),
        }
    }
    for (n, &c) in count.iter().enumerate().skip(1) {
        if c > 1 {
            problems.push(format!("job {id}: line {n} is in the log {c} times"));
        } else if c == 0 && complete {
            problems.push(format!("job {id}: line {n} is missing from the log"));
        }
    }
    if !seen.windows(2).all(|w| w[0] < w[1]) {
        problems.push(format!("job {id}: numbered lines out of order: {seen:?}"));
    }
    problems
}

/// The `q` quantile (0 to 1) of `values`, nearest rank; `None` when empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

/// Seconds from submit to running, for every job that ran.
pub fn submit_to_running(runs: &[Run]) -> Vec<f64> {
    runs.iter()
        .filter_map(|r| r.start.map(|s| secs(s - r.submit)))
        .collect()
}

/// Seconds from a device's job end to its next job's start, when that next job was already
/// queued as the device came free (so the gap is the lab's, not an empty queue's).
pub fn free_to_next_running(runs: &[Run]) -> Vec<f64> {
    let mut by_device: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for r in runs {
        if let (Some(d), Some(_)) = (&r.device, r.start) {
            by_device.entry(d).or_default().push(r);
        }
    }
    let mut gaps = Vec::new();
    for list in by_device.values_mut() {
        list.sort_by_key(|r| r.start);
        for pair in list.windows(2) {
            if let (Some(end), Some(start)) = (pair[0].end, pair[1].start)
                && pair[1].submit <= end
            {
                gaps.push(secs(start - end));
            }
        }
    }
    gaps
}

/// A time as the problems name it; "never" when unset.
fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "never".to_string(),
        |t| t.format("%H:%M:%S%.6f").to_string(),
    )
}

fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

#[cfg(test)]
mod tests;
