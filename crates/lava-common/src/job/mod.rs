//! Job definitions: the seed-era JSON format and LAVA's YAML format, parsed into one
//! [`JobPlan`] that everything downstream uses.
//!
//! Both formats go through the same steps: text → a small document tree that remembers YAML
//! lines ([`node`]) → a typed, path-tracking reader ([`reader`]) → the plan. So the same mistake
//! gets the same message in either format, naming the path (`actions[1].boot.method`) and, for
//! YAML, the line. The first error found is reported.
//!
//! Image roles: JSON `deploy_linaro_image.image` becomes the image `image`;
//! `deploy_linaro_kernel` gives `kernel`, `ramdisk` and `dtb`; YAML's `initrd` is the same role
//! as JSON's `ramdisk` (see [`Deploy::ramdisk`]).

mod action;
mod depth;
mod docker;
mod error;
mod fields;
mod json;
pub(crate) mod node;
mod plan;
mod qemu_args;
mod reader;
mod secrets;
mod testdef;
mod yaml;
mod yaml_actions;
mod yaml_image;
mod yaml_test;

pub use action::{
    Action, ActionKind, AutoLogin, Boot, BootMethod, Checksum, ChecksumAlgorithm, Compression,
    Deploy, DeployTo, Image, ImageOverlays, KernelType, MAX_FAILURE_RETRY, OverlayFile,
    OverlayKind, OverlayTarget, SubmitResults, Test, TestDefinition, TestSource, TransferOverlay,
};
pub use depth::MAX_JOB_BYTES;
pub use docker::{BootDocker, MAX_IMAGE_REFERENCE, check_image_reference};
pub use error::JobError;
pub use json::parse_json;
pub use plan::{DEFAULT_PRIORITY, JobPlan, SourceFormat, Timeouts, Visibility};
pub use qemu_args::{QemuArgError, allowed_options, check_boot_option, check_image_arg};
pub use secrets::{Masked, SECRET_MASK, SecretValues, mask_plan_tokens, mask_secrets, plan_tokens};
pub use testdef::{
    TestDefinitionFile, check_testdef_path, parse_testdef_value, parse_testdef_yaml,
};
pub use yaml::parse_yaml;

/// Reads one YAML document (with the job parser's bounds on size, nesting and aliases) as
/// JSON, as PyYAML reads it (a key given twice keeps its last value): the device YAML that a
/// device dictionary renders to is read through here.
pub(crate) fn yaml_to_json(text: &str) -> Result<serde_json::Value, JobError> {
    node::Node::from_yaml_text_with(text, true).map(|n| n.to_json())
}

/// Parse a job in either format: JSON when the first non-blank character is `{`, else YAML.
pub fn parse_job(text: &str) -> Result<JobPlan, JobError> {
    if text.trim_start().starts_with('{') {
        parse_json(text)
    } else {
        parse_yaml(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_format() {
        let json = r#" {"device_type": "kvm", "timeout": 60, "actions": []}"#;
        assert_eq!(parse_job(json).unwrap().source, SourceFormat::Json);
        let yaml = "job_name: x\ndevice_type: qemu\ntimeouts: {job: {minutes: 1}}\nvisibility: public\nactions: []\n";
        assert_eq!(parse_job(yaml).unwrap().source, SourceFormat::Yaml);
    }

    #[test]
    fn plans_round_trip_through_json() {
        let yaml = "job_name: x\ndevice_type: qemu\ntimeouts: {job: {minutes: 1}}\nvisibility: public\nactions: []\n";
        let plan = parse_job(yaml).unwrap();
        let stored = serde_json::to_value(&plan).unwrap();
        assert_eq!(stored["timeouts"]["job"], 60);
        assert_eq!(serde_json::from_value::<JobPlan>(stored).unwrap(), plan);
    }
}
