//! The per-worker files an admin keeps on the server (`lavacli workers config|env set`) and
//! the worker fetches: `dispatcher.yaml`, settings that change how the worker runs jobs, and
//! `env.yaml`, the environment its jobs run with. Both are checked here, by the server
//! before it stores them and by the worker before it uses them; a problem names its line.
//!
//! ```yaml
//! # env.yaml, as in LAVA
//! purge: true          # start jobs from an empty environment (default false)
//! removes: [http_proxy] # variables to drop from the worker's environment
//! overrides:           # variables to set
//!   LC_ALL: C.UTF-8
//!   PATH: /usr/local/bin:/usr/bin:/bin
//! ```
//!
//! ```yaml
//! # dispatcher.yaml: the worker settings the server may set
//! git_timeout: 300     # seconds one git command of a job may take
//! ```

use std::time::Duration;

use crate::job::node::{Data, Node};

/// A problem in a worker file, naming the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct WorkerFileError {
    /// `env.yaml` or `dispatcher.yaml`.
    pub file: &'static str,
    /// The 1-based line at fault, when known.
    pub line: Option<usize>,
    /// What is wrong with the line, for the admin to fix (lowercase, no location).
    pub message: String,
}

/// The environment a worker's jobs run with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerEnv {
    /// Start from an empty environment instead of the worker's own.
    pub purge: bool,
    /// Variables taken out of the worker's environment.
    pub removes: Vec<String>,
    /// Variables set, in the file's order.
    pub overrides: Vec<(String, String)>,
}

/// The worker settings the server may set for a worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerConfig {
    /// `git_timeout`: how long one git command of a job may take.
    pub git_timeout: Option<Duration>,
}

/// The largest file accepted (the files are small; a bigger one is a mistake).
pub const MAX_BYTES: usize = 64 * 1024;

fn err(file: &'static str, line: Option<usize>, message: impl Into<String>) -> WorkerFileError {
    WorkerFileError {
        file,
        line,
        message: message.into(),
    }
}

/// The top-level mapping of `text` (an empty file is an empty mapping).
fn mapping(
    file: &'static str,
    text: &str,
) -> Result<Vec<crate::job::node::Entry>, WorkerFileError> {
    if text.len() > MAX_BYTES {
        return Err(err(file, None, format!("larger than {MAX_BYTES} bytes")));
    }
    if text.trim().is_empty() {
        return Ok(vec![]);
    }
    let node = Node::from_yaml_text(text).map_err(|e| {
        let line = match &e {
            crate::job::JobError::Syntax { line, .. } => Some(*line),
            crate::job::JobError::Invalid { line, .. } => *line,
        };
        err(file, line, e.to_string())
    })?;
    match node.data {
        Data::Map(entries) => Ok(entries),
        Data::Null => Ok(vec![]),
        other => Err(err(
            file,
            node.line,
            format!("expected a mapping, found {}", other.kind()),
        )),
    }
}

/// An environment variable name: what a shell would accept.
fn check_var(file: &'static str, line: Option<usize>, name: &str) -> Result<(), WorkerFileError> {
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(err(
            file,
            line,
            format!("invalid variable name '{name}': letters, digits and '_' only"),
        ));
    }
    if name == "LAVA_WORKER_TOKEN" {
        return Err(err(
            file,
            line,
            "LAVA_WORKER_TOKEN cannot be set or removed",
        ));
    }
    Ok(())
}

fn scalar(data: &Data) -> Option<String> {
    match data {
        Data::Str(s) => Some(s.clone()),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(f.to_string()),
        Data::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads `env.yaml`.
pub fn parse_env(text: &str) -> Result<WorkerEnv, WorkerFileError> {
    const F: &str = "env.yaml";
    let mut env = WorkerEnv::default();
    for e in mapping(F, text)? {
        match e.key.as_str() {
            "purge" => match e.value.data {
                Data::Bool(b) => env.purge = b,
                ref d => {
                    return Err(err(
                        F,
                        e.line,
                        format!("purge: expected true or false, found {}", d.kind()),
                    ));
                }
            },
            "removes" => match &e.value.data {
                Data::Seq(items) => {
                    for item in items {
                        let Data::Str(name) = &item.data else {
                            return Err(err(F, item.line, "removes: expected variable names"));
                        };
                        check_var(F, item.line, name)?;
                        env.removes.push(name.clone());
                    }
                }
                Data::Null => {}
                d => {
                    return Err(err(
                        F,
                        e.line,
                        format!("removes: expected a list, found {}", d.kind()),
                    ));
                }
            },
            "overrides" => match &e.value.data {
                Data::Map(vars) => {
                    for v in vars {
                        check_var(F, v.line, &v.key)?;
                        let value = scalar(&v.value.data).ok_or_else(|| {
                            err(
                                F,
                                v.line,
                                format!(
                                    "{}: expected a string, found {}",
                                    v.key,
                                    v.value.data.kind()
                                ),
                            )
                        })?;
                        if value.contains('\0') {
                            return Err(err(
                                F,
                                v.line,
                                format!("{}: the value contains a NUL byte", v.key),
                            ));
                        }
                        env.overrides.push((v.key.clone(), value));
                    }
                }
                Data::Null => {}
                d => {
                    return Err(err(
                        F,
                        e.line,
                        format!("overrides: expected a mapping, found {}", d.kind()),
                    ));
                }
            },
            other => {
                return Err(err(
                    F,
                    e.line,
                    format!("unknown key '{other}' (expected purge, removes, overrides)"),
                ));
            }
        }
    }
    Ok(env)
}

/// Reads `dispatcher.yaml`.
pub fn parse_config(text: &str) -> Result<WorkerConfig, WorkerFileError> {
    const F: &str = "dispatcher.yaml";
    let mut config = WorkerConfig::default();
    for e in mapping(F, text)? {
        match e.key.as_str() {
            "git_timeout" => match e.value.data {
                Data::Int(n) if (1..=86_400).contains(&n) => {
                    config.git_timeout = Some(Duration::from_secs(n as u64));
                }
                ref d => {
                    return Err(err(
                        F,
                        e.line,
                        format!(
                            "git_timeout: expected seconds from 1 to 86400, found {}",
                            scalar(d).unwrap_or_else(|| d.kind().to_string())
                        ),
                    ));
                }
            },
            other => {
                return Err(err(
                    F,
                    e.line,
                    format!("unknown key '{other}' (expected git_timeout)"),
                ));
            }
        }
    }
    Ok(config)
}

impl WorkerEnv {
    /// The environment a job starts with, from the worker's own `current` one.
    pub fn apply(
        &self,
        current: impl IntoIterator<Item = (String, String)>,
    ) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = if self.purge {
            Vec::new()
        } else {
            current
                .into_iter()
                .filter(|(k, _)| !self.removes.contains(k))
                .collect()
        };
        for (k, v) in &self.overrides {
            vars.retain(|(name, _)| name != k);
            vars.push((k.clone(), v.clone()));
        }
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_reads_lava_keys_and_applies_them() {
        let env = parse_env("purge: false\nremoves: [A]\noverrides:\n  LC_ALL: C.UTF-8\n  N: 3\n")
            .unwrap();
        assert_eq!(env.removes, vec!["A".to_string()]);
        let out = env.apply(vec![("A".into(), "1".into()), ("B".into(), "2".into())]);
        assert_eq!(
            out,
            vec![
                ("B".to_string(), "2".to_string()),
                ("LC_ALL".to_string(), "C.UTF-8".to_string()),
                ("N".to_string(), "3".to_string())
            ]
        );
        let purged = parse_env("purge: true\noverrides: {X: y}\n").unwrap();
        assert_eq!(
            purged.apply(vec![("A".into(), "1".into())]),
            vec![("X".into(), "y".into())]
        );
    }

    #[test]
    fn problems_name_their_line() {
        let e = parse_env("overrides:\n  GOOD: 1\n  'BAD NAME': 2\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = parse_env("purge: true\nextra: 1\n").unwrap_err();
        assert_eq!(
            (e.line, e.to_string().contains("unknown key 'extra'")),
            (Some(2), true)
        );
        let e = parse_env("overrides:\n  LAVA_WORKER_TOKEN: x\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        let e = parse_config("\ngit_timeout: -4\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert_eq!(
            parse_config("git_timeout: 30\n").unwrap().git_timeout,
            Some(Duration::from_secs(30))
        );
        assert!(parse_env("purge: [\n").unwrap_err().line.is_some());
    }
}
