//! The bundle a finished job files into each bundle stream its `submit_results` actions name:
//! the job's results as one JSON document, identified by the SHA-256 of its text.

use serde::Serialize;
use sha2::Digest as _;

use crate::ids::{DeviceName, JobId, StreamPath};
use crate::job::{ActionKind, JobPlan};
use crate::state::{JobHealth, TestResult};

/// The format name every bundle carries.
pub const FORMAT: &str = "lava-rs bundle 1.0";

/// A job's results as filed (fields in the order they are written).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bundle {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// The job the results come from.
    pub job: JobId,
    /// The job's name.
    pub description: String,
    /// How the job ended.
    pub health: JobHealth,
    /// The device it ran on.
    pub device: Option<DeviceName>,
    /// Its test cases, in the order they were filed.
    pub test_results: Vec<BundleResult>,
}

/// One test case of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleResult {
    /// The suite (test definition).
    pub test_id: String,
    /// The case's name in its suite.
    pub test_case_id: String,
    /// What the test shell reported for it.
    pub result: TestResult,
    /// Its measurement, as printed.
    pub measurement: Option<String>,
    /// The measurement's units, as printed (empty when none were given).
    pub units: String,
    /// Its test set.
    pub set: Option<String>,
}

impl Bundle {
    /// The document and the hex SHA-256 of its compact text, which identifies it in its
    /// stream.
    pub fn content(&self) -> (serde_json::Value, String) {
        let value = serde_json::to_value(self).unwrap_or_default();
        let sha = sha2::Sha256::digest(value.to_string().as_bytes());
        (value, sha.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// The bundle streams a plan's `submit_results` actions name, in order.
pub fn streams(plan: &JobPlan) -> Vec<StreamPath> {
    plan.actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::SubmitResults(s) => Some(StreamPath::from(s.stream.as_str())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_keeps_its_field_order_and_hash() {
        let b = Bundle {
            format: FORMAT,
            job: JobId(7),
            description: "smoke".into(),
            health: JobHealth::Complete,
            device: Some("kvm01".into()),
            test_results: vec![BundleResult {
                test_id: "0_smoke".into(),
                test_case_id: "ok".into(),
                result: TestResult::Pass,
                measurement: None,
                units: String::new(),
                set: None,
            }],
        };
        let (value, sha) = b.content();
        let text = value.to_string();
        assert_eq!(
            text,
            r#"{"format":"lava-rs bundle 1.0","job":7,"description":"smoke","health":"complete","device":"kvm01","test_results":[{"test_id":"0_smoke","test_case_id":"ok","result":"pass","measurement":null,"units":"","set":null}]}"#
        );
        let expected = sha2::Sha256::digest(text.as_bytes());
        assert_eq!(sha.len(), 64);
        assert!(sha.starts_with(&format!("{:02x}", expected[0])));
    }
}
