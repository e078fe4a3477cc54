//! The seed-era JSON job format: `{job_name, device_type|target, timeout, actions: [{command,
//! parameters}]}`.
//!
//! Like LAVA's own JSON schema, unknown top-level keys and unknown action parameters are
//! rejected (only `logging_level` is accepted and ignored), and so is an unknown command.

use super::action::{
    Action, ActionKind, Boot, BootMethod, Compression, Deploy, DeployTo, Image, SubmitResults,
    Test, TestDefinition, TestSource,
};
use super::error::JobError;
use super::fields;
use super::node::{Data, Node};
use super::plan::{DEFAULT_PRIORITY, JobPlan, SourceFormat, Timeouts, Visibility};
use super::qemu_args::check_boot_option;
use super::reader::{At, MapAt};
use super::testdef::check_testdef_path;

/// The test definition file a seed-era git repository holds when `testdef` is not given.
const DEFAULT_TESTDEF: &str = "lavatest.yaml";

/// Parameters of an action that has none.
static NO_PARAMETERS: Node = Node {
    data: Data::Map(Vec::new()),
    line: None,
};

/// Parse a seed-era JSON job.
pub fn parse_json(text: &str) -> Result<JobPlan, JobError> {
    let node = Node::from_json_text(text)?;
    let root = At::root(&node).map()?;
    root.deny_unknown(&[
        "job_name",
        "device_type",
        "target",
        "timeout",
        "health_check",
        "priority",
        "tags",
        "actions",
        "logging_level",
    ])?;
    let device_type = root.opt_str("device_type")?;
    let target = root.opt_str("target")?;
    match (&device_type, &target) {
        (None, None) => {
            return Err(JobError::invalid(
                "device_type",
                None,
                "required key not provided (or target)",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(JobError::invalid(
                "target",
                None,
                "device_type and target are mutually exclusive",
            ));
        }
        _ => {}
    }
    let actions = root
        .required("actions")?
        .seq()?
        .iter()
        .map(action)
        .collect::<Result<_, _>>()?;
    Ok(JobPlan {
        name: root.opt_str("job_name")?.unwrap_or_default(),
        device_type,
        target,
        priority: root
            .get_some("priority")
            .map(|p| fields::priority(&p))
            .transpose()?
            .unwrap_or(DEFAULT_PRIORITY),
        visibility: Visibility::Public,
        tags: root.strings("tags")?,
        health_check: root
            .get_some("health_check")
            .map(|h| h.bool())
            .transpose()?
            .unwrap_or(false),
        timeouts: Timeouts {
            job: root.required("timeout")?.seconds()?,
            ..Timeouts::default()
        },
        context: serde_json::Map::new(),
        metadata: Default::default(),
        notify: None,
        secrets: Default::default(),
        actions,
        source: SourceFormat::Json,
    })
}

fn action(at: &At<'_>) -> Result<Action, JobError> {
    let map = at.map()?;
    map.deny_unknown(&["command", "parameters", "metadata"])?;
    let command = map.req_str("command")?;
    let params = match map.get_some("parameters") {
        Some(p) => p.map()?,
        None => At {
            node: &NO_PARAMETERS,
            path: format!("{}.parameters", at.path),
            line: None,
        }
        .map()?,
    };
    let mut timeout = None;
    let kind = match command.as_str() {
        "deploy_linaro_image" => {
            params.deny_unknown(&["image"])?;
            let url = params.req_str("image")?;
            let compression = compression_from_suffix(&url);
            ActionKind::Deploy(Deploy {
                to: DeployTo::Image,
                images: vec![(
                    "image".into(),
                    Image {
                        compression,
                        ..image(url)
                    },
                )],
            })
        }
        "deploy_linaro_kernel" => {
            params.deny_unknown(&["kernel", "ramdisk", "dtb"])?;
            let mut images = vec![("kernel".to_string(), image(params.req_str("kernel")?))];
            for name in ["ramdisk", "dtb"] {
                if let Some(url) = params.opt_str(name)? {
                    images.push((name.to_string(), image(url)));
                }
            }
            ActionKind::Deploy(Deploy {
                to: DeployTo::Tmpfs,
                images,
            })
        }
        "dummy_deploy" => {
            params.deny_unknown(&["target_type"])?;
            ActionKind::Deploy(Deploy {
                to: DeployTo::Tmpfs,
                images: Vec::new(),
            })
        }
        "boot_linaro_image" => {
            params.deny_unknown(&["options", "boot_cmds"])?;
            let options = params.strings("options")?;
            if let Some(at) = params.get_some("options") {
                for (item, option) in at.seq()?.iter().zip(&options) {
                    check_boot_option(option).map_err(|e| item.error(e.to_string()))?;
                }
            }
            ActionKind::Boot(Boot {
                method: BootMethod::Device,
                commands: match params.get_some("boot_cmds") {
                    Some(at) => super::yaml_actions::boot_commands(&at)?,
                    None => Vec::new(),
                },
                command_set: None,
                options,
                prompts: Vec::new(),
                auto_login: None,
                transfer_overlay: None,
                docker: None,
            })
        }
        "lava_test_shell" => {
            params.deny_unknown(&["testdef_repos", "testdef_urls", "timeout"])?;
            timeout = params
                .get_some("timeout")
                .map(|t| t.seconds())
                .transpose()?;
            ActionKind::Test(test_shell(&params)?)
        }
        "submit_results" | "submit_results_on_host" => {
            params.deny_unknown(&["server", "stream", "token"])?;
            ActionKind::SubmitResults(SubmitResults {
                server: params.req_str("server")?,
                stream: params.req_str("stream")?,
            })
        }
        other => return Err(at.error(format!("unknown action '{other}'"))),
    };
    Ok(Action {
        kind,
        timeout,
        failure_retry: None,
        failure_retry_interval: None,
        namespace: None,
        timeouts: Default::default(),
    })
}

fn test_shell(params: &MapAt<'_>) -> Result<Test, JobError> {
    let mut definitions = Vec::new();
    if let Some(repos) = params.get_some("testdef_repos") {
        for repo in repos.seq()? {
            let repo = repo.map()?;
            repo.deny_unknown(&["git-repo", "testdef", "revision", "parameters"])?;
            let path = repo
                .opt_str("testdef")?
                .unwrap_or_else(|| DEFAULT_TESTDEF.to_string());
            if let Some(at) = repo.get_some("testdef") {
                check_testdef_path(&path).map_err(|why| at.error(why))?;
            }
            definitions.push(TestDefinition {
                name: stem(&path),
                source: TestSource::Git {
                    repository: repo.req_str("git-repo")?,
                    path,
                    revision: repo.opt_str("revision")?,
                },
                parameters: repo
                    .get_some("parameters")
                    .map(|p| fields::string_map(&p))
                    .transpose()?
                    .unwrap_or_default(),
                kmsg: false,
            });
        }
    }
    for url in params.strings("testdef_urls")? {
        definitions.push(TestDefinition {
            name: stem(&url),
            source: TestSource::Url { url },
            parameters: Default::default(),
            kmsg: false,
        });
    }
    if definitions.is_empty() {
        return Err(params
            .at
            .error("one of testdef_repos or testdef_urls is required"));
    }
    Ok(Test { definitions })
}

fn image(url: String) -> Image {
    Image::at(url)
}

/// Seed-era disk images were decompressed by their file name.
fn compression_from_suffix(url: &str) -> Option<Compression> {
    [
        (".gz", Compression::Gz),
        (".xz", Compression::Xz),
        (".bz2", Compression::Bz2),
        (".zst", Compression::Zstd),
    ]
    .into_iter()
    .find(|(suffix, _)| url.ends_with(suffix))
    .map(|(_, c)| c)
}

/// The file name without directory and `.yaml`: `…/smoke.yaml` → `smoke`.
fn stem(path: &str) -> String {
    let file = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path);
    let file = file
        .strip_suffix(".yaml")
        .or_else(|| file.strip_suffix(".yml"))
        .unwrap_or(file);
    if file.is_empty() {
        "test".to_string()
    } else {
        file.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const HEALTH: &str = r#"{"job_name": "kvm-health", "device_type": "kvm", "health_check": true,
        "timeout": 900, "logging_level": "DEBUG",
        "actions": [
          {"command": "deploy_linaro_kernel", "parameters": {"kernel": "file:///k", "ramdisk": "file:///r.cpio.gz"}},
          {"command": "boot_linaro_image"},
          {"command": "lava_test_shell", "parameters": {"testdef_urls": ["file:///t/smoke.yaml"], "timeout": 300,
            "testdef_repos": [{"git-repo": "https://git/x.git", "testdef": "ubuntu/smoke.yaml",
              "parameters": {"N": 3}}]}},
          {"command": "submit_results_on_host", "parameters": {"server": "http://localhost/RPC2/", "stream": "/anonymous/lab-health/"}}
        ]}"#;

    #[test]
    fn seed_health_check_parses() {
        let plan = parse_json(HEALTH).unwrap();
        assert_eq!(plan.device_type.as_deref(), Some("kvm"));
        assert!(plan.health_check);
        assert_eq!(plan.timeouts.job, Duration::from_secs(900));
        let ActionKind::Deploy(d) = &plan.actions[0].kind else {
            panic!()
        };
        assert_eq!(d.ramdisk().unwrap().url, "file:///r.cpio.gz");
        assert_eq!(d.ramdisk().unwrap().compression, None);
        assert!(
            matches!(&plan.actions[1].kind, ActionKind::Boot(b) if b.method == BootMethod::Device)
        );
        assert_eq!(plan.actions[2].timeout, Some(Duration::from_secs(300)));
        let ActionKind::Test(t) = &plan.actions[2].kind else {
            panic!()
        };
        assert_eq!(t.definitions[0].name, "smoke");
        assert_eq!(t.definitions[0].parameters["N"], "3");
        assert_eq!(t.definitions[1].name, "smoke");
        assert!(
            matches!(&plan.actions[3].kind, ActionKind::SubmitResults(s) if s.stream == "/anonymous/lab-health/")
        );
    }

    #[test]
    fn errors_name_paths() {
        let cases = [
            (
                r#"{"device_type": "kvm", "timeout": 1, "actions": [{"command": "reboot"}]}"#,
                "actions[0]: unknown action 'reboot'",
            ),
            (
                r#"{"device_type": "kvm", "actions": []}"#,
                "timeout: required key not provided",
            ),
            (
                r#"{"timeout": 1, "actions": []}"#,
                "device_type: required key not provided (or target)",
            ),
            (
                r#"{"device_type": "kvm", "timeout": 1, "actions": [], "vm_group": {}}"#,
                "vm_group: extra keys not allowed",
            ),
            (
                r#"{"device_type": "kvm", "timeout": 1, "actions": [{"command": "deploy_linaro_image", "parameters": {}}]}"#,
                "actions[0].parameters.image: required key not provided",
            ),
            (
                r#"{"device_type": "kvm", "timeout": 1, "actions": [{"command": "lava_test_shell", "parameters": {"testdef_repos": [{}]}}]}"#,
                "actions[0].parameters.testdef_repos[0].git-repo: required key not provided",
            ),
            (
                r#"{"device_type": "kvm", "timeout": -1, "actions": []}"#,
                "timeout: expected a non-negative integer, found -1",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_json(text).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn boot_options_and_testdef_paths_are_checked() {
        let e = parse_json(r#"{"device_type": "kvm", "timeout": 1, "actions": [{"command": "boot_linaro_image", "parameters": {"options": ["-m 512", "-m 512 $(reboot)"]}}]}"#).unwrap_err();
        assert_eq!(e.path(), "actions[0].parameters.options[1]");
        assert!(
            e.to_string()
                .contains("options '-m 512 $(reboot)' is refused"),
            "{e}"
        );
        let e = parse_json(r#"{"device_type": "kvm", "timeout": 1, "actions": [{"command": "lava_test_shell", "parameters": {"testdef_repos": [{"git-repo": "https://g/x.git", "testdef": "/etc/passwd"}]}}]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "actions[0].parameters.testdef_repos[0].testdef: '/etc/passwd' is absolute; it must be relative to the repository"
        );
    }

    #[test]
    fn disk_images_get_compression_from_name() {
        let text = r#"{"target": "kvm01", "timeout": 60, "actions": [{"command": "deploy_linaro_image", "parameters": {"image": "http://x/disk.img.gz"}}]}"#;
        let plan = parse_json(text).unwrap();
        let ActionKind::Deploy(d) = &plan.actions[0].kind else {
            panic!()
        };
        assert_eq!(d.image("image").unwrap().compression, Some(Compression::Gz));
        assert_eq!(plan.target.as_deref(), Some("kvm01"));
        assert_eq!(stem("file:///x/"), "x");
    }
}
