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
const TOP_LEVEL: [&str; 12] = [
    "job_name",
    "device_type",
    "timeouts",
    "priority",
    "visibility",
    "tags",
    "context",
    "metadata",
    "notify",
    "secrets",
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
    let action_ats = root.required("actions")?.seq()?;
    let actions: Vec<_> = action_ats
        .iter()
        .map(yaml_actions::action)
        .collect::<Result<_, _>>()?;
    one_namespace(&action_ats, &actions)?;
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
        secrets: root
            .get_some("secrets")
            .map(|s| fields::secrets(&s))
            .transpose()?
            .unwrap_or_default(),
        actions,
        source: SourceFormat::Yaml,
    })
}

/// LAVA gives every action without a `namespace` the namespace `common`.
const DEFAULT_NAMESPACE: &str = "common";

/// Refuses a job whose actions are in more than one namespace: in LAVA each namespace has
/// its own deploy, boot and test data (a host and a guest, two images), which this
/// dispatcher's single chain of actions does not keep apart.
fn one_namespace(ats: &[At<'_>], actions: &[super::action::Action]) -> Result<(), JobError> {
    let mut first: Option<&str> = None;
    for (at, action) in ats.iter().zip(actions) {
        let ns = action.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
        match first {
            None => first = Some(ns),
            Some(f) if f != ns => {
                return Err(at.error(format!(
                    "namespace '{ns}': an earlier action is in namespace '{f}'; jobs with \
                     several namespaces are not supported (give every action the same one, or none)"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn timeouts(at: &At<'_>) -> Result<Timeouts, JobError> {
    let map: MapAt<'_> = at.map()?;
    map.deny_unknown(&[
        "job",
        "action",
        "connection",
        "actions",
        "connections",
        "queue",
    ])?;
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
        queue: match map.get_some("queue") {
            Some(at) => {
                let t = fields::timeout(&at)?;
                if t > MAX_QUEUE_TIMEOUT {
                    return Err(at.error("timeout too large (at most 366 days)"));
                }
                Some(t)
            }
            None => None,
        },
    })
}

/// The longest `timeouts.queue`: a year, far past any real wait, and a deadline PostgreSQL
/// can store.
const MAX_QUEUE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);

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

    /// A job of MINIMAL's header with `actions` (YAML lines below `actions:`).
    fn with_actions(actions: &str) -> String {
        MINIMAL.replace("actions: []\n", &format!("actions:\n{actions}"))
    }

    const BOOT: &str = "- boot: {method: qemu, media: tmpfs, prompts: ['#']";

    #[test]
    fn one_namespace_and_the_retry_interval_are_read() {
        let job = with_actions(&format!(
            "{BOOT}, namespace: target, failure_retry: 2, failure_retry_interval: 5}}\n{BOOT}, namespace: target}}\n"
        ));
        let plan = parse_yaml(&job).unwrap();
        assert_eq!(plan.actions[0].namespace.as_deref(), Some("target"));
        assert_eq!(
            plan.actions[0].failure_retry_interval,
            Some(Duration::from_secs(5))
        );
        assert_eq!(plan.actions[1].failure_retry_interval, None);
    }

    #[test]
    fn several_namespaces_are_refused_naming_the_action() {
        let job = with_actions(&format!(
            "{BOOT}, namespace: host}}\n{BOOT}, namespace: guest}}\n"
        ));
        let e = parse_yaml(&job).unwrap_err().to_string();
        assert!(e.contains("actions[1]"), "{e}");
        assert!(
            e.contains("namespace 'guest': an earlier action is in namespace 'host'"),
            "{e}"
        );
        // An action without one is in LAVA's `common`.
        let job = with_actions(&format!("{BOOT}}}\n{BOOT}, namespace: guest}}\n"));
        let e = parse_yaml(&job).unwrap_err().to_string();
        assert!(e.contains("earlier action is in namespace 'common'"), "{e}");
        let job = with_actions(&format!("{BOOT}, namespace: '../x'}}\n"));
        assert!(parse_yaml(&job).is_err());
    }

    #[test]
    fn a_retry_interval_past_an_hour_is_refused() {
        let job = with_actions(&format!(
            "{BOOT}, failure_retry: 2, failure_retry_interval: 3601}}\n"
        ));
        let e = parse_yaml(&job).unwrap_err().to_string();
        assert!(
            e.contains("failure_retry_interval 3601: expected at most 3600 seconds"),
            "{e}"
        );
    }

    #[test]
    fn queue_timeouts_are_read() {
        let job = MINIMAL.replace(
            "  job: {minutes: 10}\n",
            "  job: {minutes: 10}\n  queue: {days: 2}\n",
        );
        let plan = parse_yaml(&job).unwrap();
        assert_eq!(plan.timeouts.queue, Some(Duration::from_secs(2 * 86400)));
        assert_eq!(parse_yaml(MINIMAL).unwrap().timeouts.queue, None);
        let job = MINIMAL.replace(
            "  job: {minutes: 10}\n",
            "  job: {minutes: 10}\n  queue: {weeks: 2}\n",
        );
        let e = parse_yaml(&job).unwrap_err().to_string();
        assert!(e.contains("timeouts.queue") && e.contains("line 5"), "{e}");
        let job = MINIMAL.replace(
            "  job: {minutes: 10}\n",
            "  job: {minutes: 10}\n  queue: {days: 100000000000}\n",
        );
        let e = parse_yaml(&job).unwrap_err().to_string();
        assert!(
            e.contains("timeouts.queue") && e.contains("at most 366 days"),
            "{e}"
        );
    }

    #[test]
    fn secrets_are_shell_names_with_one_line_string_values() {
        let job = format!("{MINIMAL}secrets:\n  API_KEY: s3cret\n  _b2: ''\n");
        let plan = parse_yaml(&job).unwrap();
        assert_eq!(plan.secrets["API_KEY"], "s3cret");
        assert_eq!(plan.secrets["_b2"], "");
        for (bad, why) in [
            (
                "  'A-B': x\n",
                "secret name 'A-B' is not a shell variable name",
            ),
            ("  1A: x\n", "secret name '1A'"),
            ("  PIN: 1234\n", "secrets.PIN"),
            ("  K: \"s3cret\\nline\"\n", "must be on one line"),
        ] {
            let e = parse_yaml(&format!("{MINIMAL}secrets:\n{bad}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains("s3cret"), "an error quotes a secret: {e}");
        }
    }

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
