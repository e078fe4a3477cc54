//! What a callback sends: the job's fields in LAVA's order and formats (legacy status
//! numbers, Python `str(datetime)` times), plus the log and the results per suite when the
//! dataset asks for them.

use chrono::{DateTime, Utc};
use lava_common::ids::{DeviceName, JobId};
use lava_common::state::{JobHealth, JobState};
use lava_db::jobs::Job;
use lava_db::results::CaseDetail;
use serde::Serialize;

use super::spec::Dataset;

/// The body of a POST callback; field order is the wire order.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    id: JobId,
    status: i32,
    status_string: &'static str,
    state: i32,
    state_string: &'static str,
    health: i32,
    health_string: &'static str,
    submit_time: String,
    start_time: String,
    end_time: String,
    submitter_username: String,
    failure_comment: Option<String>,
    priority: i32,
    description: String,
    actual_device_id: Option<DeviceName>,
    definition: String,
    metadata: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    results: Option<serde_json::Map<String, serde_json::Value>>,
}

/// LAVA's state number: Submitted 0, Scheduling 1, Scheduled 2, Running 3, Canceling 4,
/// Finished 5 (we have no Scheduling state).
pub fn state_code(s: JobState) -> i32 {
    match s {
        JobState::Submitted => 0,
        JobState::Scheduled => 2,
        JobState::Running => 3,
        JobState::Canceling => 4,
        JobState::Finished => 5,
    }
}

/// LAVA's health number: Unknown 0, Complete 1, Incomplete 2, Canceled 3.
pub fn health_code(h: JobHealth) -> i32 {
    match h {
        JobHealth::Unknown => 0,
        JobHealth::Complete => 1,
        JobHealth::Incomplete => 2,
        JobHealth::Canceled => 3,
    }
}

/// The legacy status (number and word) that callbacks and `{STATUS}` carry.
pub fn legacy_status(s: JobState, h: JobHealth) -> (i32, &'static str) {
    match (s, h) {
        (JobState::Running, _) => (1, "running"),
        (JobState::Canceling, _) => (5, "canceling"),
        (JobState::Finished, JobHealth::Complete) => (2, "complete"),
        (JobState::Finished, JobHealth::Canceled) => (4, "canceled"),
        (JobState::Finished, _) => (3, "incomplete"),
        _ => (0, "submitted"),
    }
}

/// Python's `str()` of an aware UTC datetime (`2026-11-24 21:20:57.034033+00:00`, no fraction
/// when it is zero), or `None`.
pub fn py_time(t: Option<DateTime<Utc>>) -> String {
    match t {
        None => "None".into(),
        Some(t) if t.timestamp_subsec_micros() == 0 => {
            t.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
        }
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string(),
    }
}

/// A YAML double-quoted scalar (a JSON string is one).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "''".into())
}

/// One suite's cases as the YAML list text LAVA puts under `results[suite]`.
fn suite_yaml(job: JobId, cases: &[&CaseDetail]) -> String {
    let mut out = String::new();
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    for c in cases {
        let level = c
            .metadata
            .get("level")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        out.push_str(&format!("- id: {}\n", q(&c.id.to_string())));
        out.push_str(&format!("  job: {}\n", q(&job.to_string())));
        out.push_str(&format!("  level: {}\n", q(level)));
        out.push_str(&format!("  log_end_line: {}\n", q(&opt(c.end_line))));
        out.push_str(&format!("  log_start_line: {}\n", q(&opt(c.start_line))));
        out.push_str(&format!("  logged: {}\n", q(&py_time(Some(c.logged)))));
        out.push_str(&format!(
            "  measurement: {}\n",
            q(c.measurement.as_deref().unwrap_or("None"))
        ));
        out.push_str("  metadata:\n");
        out.push_str(&format!("    case: {}\n", q(&c.name)));
        out.push_str(&format!("    definition: {}\n", q(&c.suite)));
        out.push_str(&format!("    result: {}\n", q(c.result.as_str())));
        if let Some(m) = c.metadata.as_object() {
            for (k, v) in m
                .iter()
                .filter(|(k, _)| !["case", "definition", "result"].contains(&k.as_str()))
            {
                let value = match v {
                    serde_json::Value::String(s) => q(s),
                    other => other.to_string(),
                };
                out.push_str(&format!("    {}: {}\n", q(k), value));
            }
        }
        out.push_str(&format!("  name: {}\n", q(&c.name)));
        out.push_str(&format!("  result: {}\n", q(c.result.as_str())));
        out.push_str(&format!("  suite: {}\n", q(&c.suite)));
        out.push_str(&format!("  unit: {}\n", q(&c.units)));
        out.push_str(&format!(
            "  url: {}\n",
            q(&format!("/results/testcase/{}", c.id))
        ));
    }
    out
}

impl Payload {
    /// The body for `job`; `log` and `cases` are only read for the datasets that carry them.
    pub fn new(
        job: &Job,
        dataset: Dataset,
        token: Option<String>,
        log: Option<String>,
        cases: &[CaseDetail],
    ) -> Payload {
        let (status, status_string) = legacy_status(job.state, job.health);
        let with_log = matches!(dataset, Dataset::Logs | Dataset::All);
        let with_results = matches!(dataset, Dataset::Results | Dataset::All);
        let results = with_results.then(|| {
            let mut suites: Vec<&str> = Vec::new();
            for d in cases {
                if !suites.contains(&d.suite.as_str()) {
                    suites.push(&d.suite);
                }
            }
            suites
                .into_iter()
                .map(|s| {
                    let mine: Vec<&CaseDetail> = cases.iter().filter(|d| d.suite == s).collect();
                    (
                        s.to_string(),
                        serde_json::Value::String(suite_yaml(job.id, &mine)),
                    )
                })
                .collect()
        });
        Payload {
            id: job.id,
            status,
            status_string,
            state: state_code(job.state),
            state_string: job.state.display_name(),
            health: health_code(job.health),
            health_string: job.health.display_name(),
            submit_time: py_time(Some(job.submit_time)),
            start_time: py_time(job.start_time),
            end_time: py_time(job.end_time),
            submitter_username: job.submitter.clone().unwrap_or_default(),
            failure_comment: job.failure_comment.clone(),
            priority: job.priority,
            description: job.description.clone(),
            actual_device_id: job.device.clone(),
            definition: job.definition.clone(),
            metadata: serde_json::Value::Array(Vec::new()),
            token,
            log: if with_log {
                Some(log.unwrap_or_default())
            } else {
                None
            },
            results,
        }
    }

    /// The form encoding: the same keys as strings, without null values and empty lists.
    pub fn form(&self) -> Vec<(String, String)> {
        let value = serde_json::to_value(self).unwrap_or_default();
        let Some(map) = value.as_object() else {
            return Vec::new();
        };
        map.iter()
            .filter_map(|(k, v)| {
                let text = match v {
                    serde_json::Value::Null => return None,
                    serde_json::Value::Array(a) if a.is_empty() => return None,
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Some((k.clone(), text))
            })
            .collect()
    }

    /// `{NAME}` placeholders of a URL: ID, STATUS, STATUS_STRING and the other upper-case
    /// field names.
    pub fn substitute(&self, url: &str) -> String {
        let mut out = url.to_string();
        for (k, v) in self.form() {
            if k == "definition" || k == "log" || k == "results" || k == "token" {
                continue;
            }
            out = out.replace(&format!("{{{}}}", k.to_uppercase()), &v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_print_as_python_does() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 21, 20, 57).unwrap();
        assert_eq!(py_time(Some(t)), "2026-11-24 21:20:57+00:00");
        let t = t + chrono::Duration::microseconds(34033);
        assert_eq!(py_time(Some(t)), "2026-11-24 21:20:57.034033+00:00");
        assert_eq!(py_time(None), "None");
    }

    #[test]
    fn legacy_status_follows_lava() {
        assert_eq!(
            legacy_status(JobState::Finished, JobHealth::Complete),
            (2, "complete")
        );
        assert_eq!(
            legacy_status(JobState::Finished, JobHealth::Incomplete),
            (3, "incomplete")
        );
        assert_eq!(
            legacy_status(JobState::Finished, JobHealth::Canceled),
            (4, "canceled")
        );
        assert_eq!(
            legacy_status(JobState::Running, JobHealth::Unknown),
            (1, "running")
        );
        assert_eq!(
            legacy_status(JobState::Scheduled, JobHealth::Unknown),
            (0, "submitted")
        );
    }
}
