//! The fixture format of `lava-server manage loaddata` and `dumpdata`.
//!
//! A fixture is a JSON list of `{"model", "pk", "fields"}` records, as Django's `dumpdata`
//! writes them, with LAVA's model and field names, so fixtures made for LAVA load here.
//! [`interpret`] turns records into typed [`Item`]s, checking every record and reporting
//! every problem with its record index and field; it does no I/O.

mod fields;
pub mod lava_dump;
pub mod lava_history;
mod records;

pub use records::{
    BundleStreamRecord, DeviceRecord, DeviceTypeRecord, FailureTagRecord, HealthDenominator,
    UserRecord, WorkerRecord,
};

use serde::{Deserialize, Serialize};
use std::fmt;

/// LAVA's model name for device types.
pub const MODEL_DEVICE_TYPE: &str = "lava_scheduler_app.devicetype";
/// LAVA's model name for devices.
pub const MODEL_DEVICE: &str = "lava_scheduler_app.device";
/// LAVA's model name for workers.
pub const MODEL_WORKER: &str = "lava_scheduler_app.worker";
/// LAVA's model name for bundle streams (the seed-era dashboard).
pub const MODEL_BUNDLE_STREAM: &str = "dashboard_app.bundlestream";
/// Django's model name for users.
pub const MODEL_USER: &str = "auth.user";
/// LAVA's model name for job failure tags.
pub const MODEL_FAILURE_TAG: &str = "lava_scheduler_app.jobfailuretag";

/// Every model this format knows, in the order they must be loaded (references first).
pub const MODELS: [&str; 6] = [
    MODEL_USER,
    MODEL_WORKER,
    MODEL_DEVICE_TYPE,
    MODEL_DEVICE,
    MODEL_BUNDLE_STREAM,
    MODEL_FAILURE_TAG,
];

/// One record as it stands in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureRecord {
    /// `app_label.modelname`.
    pub model: String,
    /// The primary key: a name for device types, devices and workers, a number otherwise.
    #[serde(default)]
    pub pk: serde_json::Value,
    /// The field values.
    #[serde(default)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A typed record.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A `lava_scheduler_app.devicetype`.
    DeviceType(DeviceTypeRecord),
    /// A `lava_scheduler_app.device`.
    Device(DeviceRecord),
    /// A `lava_scheduler_app.worker`.
    Worker(WorkerRecord),
    /// A `dashboard_app.bundlestream`.
    BundleStream(BundleStreamRecord),
    /// An `auth.user`.
    User(UserRecord),
}

impl Item {
    /// The model name of this item.
    pub fn model(&self) -> &'static str {
        match self {
            Item::DeviceType(_) => MODEL_DEVICE_TYPE,
            Item::Device(_) => MODEL_DEVICE,
            Item::Worker(_) => MODEL_WORKER,
            Item::BundleStream(_) => MODEL_BUNDLE_STREAM,
            Item::User(_) => MODEL_USER,
        }
    }
}

/// One problem with one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordProblem {
    /// The record's index in the file (0-based, as in the JSON list).
    pub index: usize,
    /// Its model, as written.
    pub model: String,
    /// Its primary key, as written.
    pub pk: String,
    /// The field at fault, if one is.
    pub field: Option<String>,
    /// What is wrong with the record (the location is in `pk` and `field`).
    pub message: String,
}

impl fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {} ({} {})", self.index, self.model, self.pk)?;
        if let Some(field) = &self.field {
            write!(f, ", field '{field}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A fixture that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixtureError {
    /// The text is not a JSON list of records.
    #[error("not a fixture: {0}")]
    Syntax(String),
    /// Some records are invalid; all of them are listed.
    #[error("{} invalid record(s):\n  {}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n  "))]
    Records(Vec<RecordProblem>),
}

/// The typed records of a fixture, with their indices, and the warnings found on the way.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interpreted {
    /// `(index in the file, item)`, in file order.
    pub items: Vec<(usize, Item)>,
    /// `(index in the file, failure tag)`, in file order. Apart from `items` because nothing
    /// refers to a failure tag from a fixture (jobs, which do, are not fixture data), so
    /// every consumer of `items` can ignore them.
    pub failure_tags: Vec<(usize, FailureTagRecord)>,
    /// Things that loaded but deserve a look (unknown fields, ignored values).
    pub warnings: Vec<RecordProblem>,
}

/// Parses fixture text into raw records.
pub fn parse(text: &str) -> Result<Vec<FixtureRecord>, FixtureError> {
    serde_json::from_str(text).map_err(|e| FixtureError::Syntax(e.to_string()))
}

/// Checks every record and turns it into an [`Item`]. Any invalid record fails the whole
/// fixture, with every problem listed.
pub fn interpret(records: &[FixtureRecord]) -> Result<Interpreted, FixtureError> {
    let mut out = Interpreted::default();
    let mut problems = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let mut ctx = fields::Fields::new(index, record);
        let (item, tag) = if record.model.eq_ignore_ascii_case(MODEL_FAILURE_TAG) {
            (None, records::failure_tag(&mut ctx))
        } else {
            (records::interpret_record(&mut ctx, records), None)
        };
        let (errors, warnings) = ctx.finish();
        out.warnings.extend(warnings);
        if errors.is_empty() {
            out.items.extend(item.map(|i| (index, i)));
            out.failure_tags.extend(tag.map(|t| (index, t)));
        } else {
            problems.extend(errors);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(FixtureError::Records(problems))
    }
}

/// Turns items back into records, as `dumpdata` prints them.
pub fn to_records(items: &[Item]) -> Vec<FixtureRecord> {
    items.iter().map(records::to_record).collect()
}

/// The record `dumpdata` prints for a failure tag: LAVA's shape, its id as the pk.
pub fn failure_tag_record(tag: &FailureTagRecord) -> FixtureRecord {
    records::failure_tag_record(tag)
}
