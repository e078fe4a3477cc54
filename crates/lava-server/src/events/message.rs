//! One event: the NOTIFY payload of the triggers turned into LAVA's message, with LAVA's
//! field names, display strings and field order.

use chrono::{DateTime, FixedOffset, Utc};
use lava_common::state::{
    DeviceHealth, DeviceState, JobHealth, JobState, WorkerHealth, WorkerState,
};
use serde::{Deserialize, Serialize};

/// One event, as its five parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `org.linaro.validation.testjob`, `….device` or `….worker`.
    pub topic: String,
    /// A fresh UUID.
    pub uuid: String,
    /// When it was published: naive UTC, ISO 8601, as Python's `utcnow().isoformat()`.
    pub datetime: String,
    /// The job's submitter, or `lavaserver` for devices and workers.
    pub username: String,
    /// The JSON data.
    pub data: String,
}

impl Event {
    /// The five parts in wire order.
    pub fn parts(&self) -> [String; 5] {
        [
            self.topic.clone(),
            self.uuid.clone(),
            self.datetime.clone(),
            self.username.clone(),
            self.data.clone(),
        ]
    }

    /// The WebSocket text: a JSON array of the five strings.
    pub fn to_json_array(&self) -> String {
        serde_json::to_string(&self.parts()).unwrap_or_default()
    }
}

/// Python's `isoformat()` of a naive datetime: microseconds only when there are some.
fn python_iso(t: &chrono::NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// Python's `isoformat()` of an aware UTC datetime (`…+00:00`).
fn python_iso_aware(t: &DateTime<FixedOffset>) -> String {
    format!("{}+00:00", python_iso(&t.with_timezone(&Utc).naive_utc()))
}

#[derive(Deserialize)]
#[serde(tag = "topic", rename_all = "lowercase")]
enum Payload {
    Testjob(JobRow),
    Device(DeviceRow),
    Worker(WorkerRow),
}

#[derive(Deserialize)]
struct JobRow {
    id: i64,
    state: String,
    health: String,
    description: String,
    priority: i64,
    submit_time: DateTime<FixedOffset>,
    start_time: Option<DateTime<FixedOffset>>,
    end_time: Option<DateTime<FixedOffset>>,
    submitter: Option<String>,
    health_check: bool,
    visibility: String,
    device: Option<String>,
    worker: Option<String>,
    device_type: Option<String>,
}

#[derive(Deserialize)]
struct DeviceRow {
    hostname: String,
    state: String,
    health: String,
    device_type: String,
    worker: Option<String>,
    job: Option<i64>,
}

#[derive(Deserialize)]
struct WorkerRow {
    hostname: String,
    state: String,
    health: String,
}

/// `.testjob` data, in LAVA's order. `job` is the id as a string: lavacli's `events wait
/// job N` compares it with the id as typed.
#[derive(Serialize)]
struct JobData {
    health: &'static str,
    state: &'static str,
    job: String,
    description: String,
    priority: i64,
    submit_time: String,
    submitter: String,
    health_check: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<String>,
}

/// `.device` data, in LAVA's order.
#[derive(Serialize)]
struct DeviceData {
    health: &'static str,
    state: &'static str,
    device: String,
    device_type: String,
    worker: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<String>,
}

/// `.worker` data, in LAVA's order.
#[derive(Serialize)]
struct WorkerData {
    hostname: String,
    health: &'static str,
    state: &'static str,
}

/// Why a payload could not become an event.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Not the JSON the triggers send.
    #[error("bad event payload: {0}")]
    Json(#[from] serde_json::Error),
    /// A state or health the enums do not know.
    #[error("bad event payload: {0}")]
    State(String),
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, PayloadError>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| PayloadError::State(e.to_string()))
}

/// The event a trigger's payload announces, under topic prefix `prefix`. A job that is not
/// public keeps its state, health and device, but not its description or submitter: the
/// stream has no authentication.
pub fn from_notification(prefix: &str, payload: &str) -> Result<Event, PayloadError> {
    let now = python_iso(&Utc::now().naive_utc());
    let (topic, username, data) = match serde_json::from_str::<Payload>(payload)? {
        Payload::Testjob(j) => {
            let public = j.visibility == "public";
            let submitter = if public {
                j.submitter.unwrap_or_default()
            } else {
                String::new()
            };
            let data = JobData {
                health: parse::<JobHealth>(&j.health)?.display_name(),
                state: parse::<JobState>(&j.state)?.display_name(),
                job: j.id.to_string(),
                description: if public { j.description } else { String::new() },
                priority: j.priority,
                submit_time: python_iso_aware(&j.submit_time),
                submitter: submitter.clone(),
                health_check: j.health_check,
                worker: j.device.as_ref().and(j.worker),
                device: j.device,
                device_type: j.device_type,
                start_time: j.start_time.as_ref().map(python_iso_aware),
                end_time: j.end_time.as_ref().map(python_iso_aware),
            };
            ("testjob", submitter, serde_json::to_string(&data)?)
        }
        Payload::Device(d) => {
            let data = DeviceData {
                health: parse::<DeviceHealth>(&d.health)?.display_name(),
                state: parse::<DeviceState>(&d.state)?.display_name(),
                device: d.hostname,
                device_type: d.device_type,
                worker: d.worker,
                job: d.job.map(|j| j.to_string()),
            };
            (
                "device",
                "lavaserver".to_string(),
                serde_json::to_string(&data)?,
            )
        }
        Payload::Worker(w) => {
            let data = WorkerData {
                hostname: w.hostname,
                health: parse::<WorkerHealth>(&w.health)?.display_name(),
                state: parse::<WorkerState>(&w.state)?.display_name(),
            };
            (
                "worker",
                "lavaserver".to_string(),
                serde_json::to_string(&data)?,
            )
        }
    };
    Ok(Event {
        topic: format!("{prefix}.{topic}"),
        uuid: uuid::Uuid::new_v4().to_string(),
        datetime: now,
        username,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_payload_becomes_lavas_testjob_event() {
        let p = r#"{"topic":"testjob","id":7,"state":"running","health":"unknown","description":"d","priority":50,"submit_time":"2026-01-02T03:04:05.5+00:00","start_time":"2026-01-02T03:04:06+00:00","end_time":null,"submitter":"admin","health_check":false,"visibility":"public","device":"kvm01","worker":"w1","device_type":"kvm"}"#;
        let e = from_notification("org.linaro.validation", p).unwrap();
        assert_eq!(e.topic, "org.linaro.validation.testjob");
        assert_eq!(e.username, "admin");
        assert_eq!(
            e.data,
            r#"{"health":"Unknown","state":"Running","job":"7","description":"d","priority":50,"submit_time":"2026-01-02T03:04:05.500000+00:00","submitter":"admin","health_check":false,"device":"kvm01","worker":"w1","device_type":"kvm","start_time":"2026-01-02T03:04:06+00:00"}"#
        );
        assert_eq!(e.uuid.len(), 36);
        let arr: Vec<String> = serde_json::from_str(&e.to_json_array()).unwrap();
        assert_eq!(arr[4], e.data);
    }

    #[test]
    fn private_jobs_lose_description_and_submitter() {
        let p = r#"{"topic":"testjob","id":8,"state":"submitted","health":"unknown","description":"secret","priority":50,"submit_time":"2026-01-02T03:04:05+00:00","start_time":null,"end_time":null,"submitter":"bob","health_check":false,"visibility":"personal","device":null,"worker":null,"device_type":"kvm"}"#;
        let e = from_notification("t", p).unwrap();
        assert_eq!(e.username, "");
        assert!(
            !e.data.contains("secret") && !e.data.contains("bob"),
            "{}",
            e.data
        );
    }

    #[test]
    fn devices_and_workers() {
        let d = from_notification("t", r#"{"topic":"device","hostname":"kvm01","state":"reserved","health":"good","device_type":"kvm","worker":"w1","job":3}"#).unwrap();
        assert_eq!(
            d.data,
            r#"{"health":"Good","state":"Reserved","device":"kvm01","device_type":"kvm","worker":"w1","job":"3"}"#
        );
        let w = from_notification(
            "t",
            r#"{"topic":"worker","hostname":"w1","state":"online","health":"active"}"#,
        )
        .unwrap();
        assert_eq!(
            (w.topic.as_str(), w.data.as_str()),
            (
                "t.worker",
                r#"{"hostname":"w1","health":"Active","state":"Online"}"#
            )
        );
        assert!(from_notification("t", "{}").is_err());
    }
}
