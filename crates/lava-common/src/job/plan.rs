//! The typed job plan: what a job asks for, whichever format it was written in.
//!
//! Everything downstream (the scheduler, the stored job row, the dispatcher) sees only this
//! type. It derives serde so the server can store it as JSONB and ship it to a worker;
//! durations serialize as whole seconds.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::action::Action;

/// A parsed, validated job definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobPlan {
    /// `job_name`; empty when a seed-era JSON job had none.
    pub name: String,
    /// The requested device type, if any.
    pub device_type: Option<String>,
    /// A requested device hostname (seed-era JSON `target`).
    pub target: Option<String>,
    /// 0 (low) to 100 (high); 50 when not given.
    pub priority: u8,
    /// Who may see the job.
    pub visibility: Visibility,
    /// Device tags the job needs; a device must have all of them.
    pub tags: Vec<String>,
    /// Whether this is a health check job.
    pub health_check: bool,
    /// Job, action and connection timeouts.
    pub timeouts: Timeouts,
    /// Free-form `context` (device template variables in LAVA).
    pub context: Map<String, Value>,
    /// `metadata`, every value as a string.
    pub metadata: BTreeMap<String, String>,
    /// The raw `notify` block, kept for the callback code.
    pub notify: Option<Value>,
    /// `secrets`: name to value. A stored plan holds [`super::SECRET_MASK`] for each value;
    /// the values themselves are kept apart and reach only the dispatcher.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// The actions, in document order.
    pub actions: Vec<Action>,
    /// Which format the job was written in.
    pub source: SourceFormat,
}

/// The priority a job gets when it names none (LAVA's `medium`).
pub const DEFAULT_PRIORITY: u8 = 50;

/// Which format a job definition was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// The seed-era JSON format (`{command, parameters}` actions).
    Json,
    /// LAVA's current YAML format (`deploy`, `boot`, `test` actions).
    Yaml,
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceFormat::Json => "json",
            SourceFormat::Yaml => "yaml",
        })
    }
}

/// Who may see a job (LAVA's `visibility`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone, including anonymous users.
    Public,
    /// Only the submitter.
    Personal,
    /// Members of the named groups.
    Group(Vec<String>),
}

/// The timeouts of a job.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Timeouts {
    /// The whole job.
    #[serde(with = "secs")]
    pub job: Duration,
    /// The default for every action.
    #[serde(with = "opt_secs")]
    pub action: Option<Duration>,
    /// The default for every connection (one console interaction).
    #[serde(with = "opt_secs")]
    pub connection: Option<Duration>,
    /// Per-action overrides, by LAVA action name.
    #[serde(with = "map_secs")]
    pub actions: BTreeMap<String, Duration>,
    /// Per-connection overrides, by LAVA action name.
    #[serde(with = "map_secs")]
    pub connections: BTreeMap<String, Duration>,
    /// `queue`: how long the job may wait for a device before it is canceled (LAVA 2023).
    #[serde(with = "opt_secs", default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Duration>,
}

/// Serde for a [`Duration`] as whole seconds.
pub(crate) mod secs {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// Serde for an optional [`Duration`] as whole seconds or null.
pub(crate) mod opt_secs {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        d.map(|d| d.as_secs()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_secs))
    }
}

/// Serde for a map of [`Duration`]s as whole seconds.
pub(crate) mod map_secs {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<String, Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let secs: BTreeMap<&String, u64> = m.iter().map(|(k, v)| (k, v.as_secs())).collect();
        secs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Duration>, D::Error> {
        let secs = BTreeMap::<String, u64>::deserialize(d)?;
        Ok(secs
            .into_iter()
            .map(|(k, v)| (k, Duration::from_secs(v)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_serialize_as_seconds() {
        let t = Timeouts {
            job: Duration::from_secs(600),
            action: Some(Duration::from_secs(300)),
            connection: None,
            actions: BTreeMap::from([("boot-qemu-image".into(), Duration::from_secs(120))]),
            connections: BTreeMap::new(),
            queue: None,
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"job": 600, "action": 300, "connection": null,
                "actions": {"boot-qemu-image": 120}, "connections": {}})
        );
        assert_eq!(serde_json::from_value::<Timeouts>(v).unwrap(), t);
        let q = Timeouts {
            queue: Some(Duration::from_secs(7200)),
            ..t
        };
        let v = serde_json::to_value(&q).unwrap();
        assert_eq!(v["queue"], 7200);
        assert_eq!(serde_json::from_value::<Timeouts>(v).unwrap(), q);
    }

    #[test]
    fn visibility_serializes_like_lava() {
        let g = Visibility::Group(vec!["lab".into()]);
        assert_eq!(
            serde_json::to_value(&g).unwrap(),
            serde_json::json!({"group": ["lab"]})
        );
        assert_eq!(
            serde_json::to_value(Visibility::Public).unwrap(),
            serde_json::json!("public")
        );
        assert_eq!(SourceFormat::Yaml.to_string(), "yaml");
    }
}
