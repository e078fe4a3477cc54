//! LAVA's current YAML job format: the top level and `timeouts`.
//!
//! The keys follow LAVA 2023's job schema. Required keys missing and unknown keys present are
//! reported with LAVA's wording (`required key not provided`, `extra keys not allowed`), plus
//! the path and line. Multinode (`protocols: lava-multinode`) is not supported and says so.

use super::error::JobError;
use super::fields;
use super::node::Node;
use super::plan::{DEFAULT_PRIORITY, JobPlan, SourceFormat, Timeouts};
use super::reader::{At, MapAt};
use super::yaml_actions;

/// The top-level keys of a YAML job.
const TOP_LEVEL: [&str; 11] = [
    "job_name",
    "device_type",
    "timeouts",
    "priority",
    "visibility",
    "tags",
    "context",
    "metadata",
    "notify",
    "actions",
    "protocols",
];

/// Parse a LAVA YAML job.
pub fn parse_yaml(text: &str) -> Result<JobPlan, JobError> {
    let node = Node::from_yaml_text(text)?;
    let root = At::root(&node).map()?;
    if let Some(protocols) = root.get("protocols") {
        let multinode = protocols
            .map()
            .is_ok_and(|p| p.get("lava-multinode").is_some());
        let what = if multinode {
            "multinode jobs are"
        } else {
            "protocols are"
        };
        return Err(protocols.error(format!("{what} not supported")));
    }
    root.deny_unknown(&TOP_LEVEL)?;
    let name = root.req_str("job_name")?;
    let device_type = root.req_str("device_type")?;
    let timeouts = timeouts(&root.required("timeouts")?)?;
    let visibility = fields::visibility(&root.required("visibility")?)?;
    let priority = root
        .get_some("priority")
        .map(|p| fields::priority(&p))
        .transpose()?
        .unwrap_or(DEFAULT_PRIORITY);
    let context = match root.get_some("context") {
        Some(at) => match at.json() {
            serde_json::Value::Object(map) => {
                // The keys a device may use are typed into its bootloader: checked here.
                for key in crate::device::CONTEXT_KEYS {
                    if let Some(v) = map.get(key) {
                        crate::device::check_context_value(key, v).map_err(|e| {
                            let at = at.map().ok().and_then(|m| m.get(key)).unwrap_or(at.clone());
                            let why = e.to_string();
                            let why = why.split_once(": ").map_or(why.as_str(), |(_, w)| w);
                            at.error(why.to_string())
                        })?;
                    }
                }
                map
            }
            _ => return Err(at.error(format!("expected a mapping, found {}", at.node.data.kind()))),
        },
        None => serde_json::Map::new(),
    };
    let metadata = root
        .get_some("metadata")
        .map(|m| fields::string_map(&m))
        .transpose()?
        .unwrap_or_default();
    let actions = root
        .required("actions")?
        .seq()?
        .iter()
        .map(yaml_actions::action)
        .collect::<Result<_, _>>()?;
    Ok(JobPlan {
        name,
        device_type: Some(device_type),
        target: None,
        priority,
        visibility,
        tags: root.strings("tags")?,
        health_check: false,
        timeouts,
        context,
        metadata,
        notify: root.get_some("notify").map(|n| n.json()),
        actions,
        source: SourceFormat::Yaml,
    })
}

fn timeouts(at: &At<'_>) -> Result<Timeouts, JobError> {
    let map: MapAt<'_> = at.map()?;
    map.deny_unknown(&["job", "action", "connection", "actions", "connections"])?;
    let optional = |key| map.get_some(key).map(|t| fields::timeout(&t)).transpose();
    let table = |key| {
        map.get_some(key)
            .map(|t| fields::timeout_map(&t))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    Ok(Timeouts {
        job: fields::timeout(&map.required("job")?)?,
        action: optional("action")?,
        connection: optional("connection")?,
        actions: table("actions")?,
        connections: table("connections")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::plan::Visibility;
    use super::*;
    use std::time::Duration;

    const MINIMAL: &str = "\
job_name: empty
device_type: qemu
timeouts:
  job: {minutes: 10}
  actions:
    boot-qemu-image: {minutes: 2}
  connections:
    lava-test-shell: {seconds: 30}
visibility: {group: [lab]}
priority: 7
tags: [kvm]
context: {arch: amd64, extra: [1, 2]}
metadata: {build: 12}
actions: []
";

    #[test]
    fn minimal_job_parses() {
        let plan = parse_yaml(MINIMAL).unwrap();
        assert_eq!(plan.name, "empty");
        assert_eq!(plan.timeouts.job, Duration::from_secs(600));
        assert_eq!(
            plan.timeouts.actions["boot-qemu-image"],
            Duration::from_secs(120)
        );
        assert_eq!(
            plan.timeouts.connections["lava-test-shell"],
            Duration::from_secs(30)
        );
        assert_eq!(plan.visibility, Visibility::Group(vec!["lab".into()]));
        assert_eq!(plan.priority, 7);
        assert_eq!(plan.tags, ["kvm"]);
        assert_eq!(plan.context["arch"], "amd64");
        assert_eq!(plan.metadata["build"], "12");
        assert!(plan.actions.is_empty());
        assert_eq!(plan.source, SourceFormat::Yaml);
    }

    #[test]
    fn top_level_errors() {
        let drop_line = |key: &str| {
            MINIMAL
                .lines()
                .filter(|l| !l.starts_with(key))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let err = parse_yaml(&drop_line("job_name")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1: job_name: required key not provided"
        );
        let err = parse_yaml(&MINIMAL.replace("priority: 7", "priority: 700")).unwrap_err();
        assert_eq!(err.path(), "priority");
        assert_eq!(err.line(), Some(10));
        let err = parse_yaml(&MINIMAL.replace("tags:", "colour: red\ntags:")).unwrap_err();
        assert_eq!(err.to_string(), "line 11: colour: extra keys not allowed");
        let err = parse_yaml(&MINIMAL.replace("  job: {minutes: 10}\n", "")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: timeouts.job: required key not provided"
        );
        let err =
            parse_yaml(&MINIMAL.replace("extra: [1, 2]", "console_device: \"ttyS0\\nreset\""))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 12: context.console_device: contains a control character (a newline, a tab, …)"
        );
        let multinode = format!("{MINIMAL}protocols:\n  lava-multinode: {{}}\n");
        let err = parse_yaml(&multinode).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 15: protocols: multinode jobs are not supported"
        );
        let err = parse_yaml("- a\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1: (document): expected a mapping, found a list"
        );
    }
}
