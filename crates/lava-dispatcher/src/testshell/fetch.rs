//! Getting test definitions: inline in the job, from a URL, or from a git repository
//! (cloned on the dispatcher; local paths and `file://` URLs work as well as remote ones).

use std::path::{Path, PathBuf};

use lava_common::job::{
    TestDefinition, TestDefinitionFile, TestSource, parse_testdef_value, parse_testdef_yaml,
};
use walkdir::WalkDir;

use crate::job::{Ctx, Failure};

/// A definition ready to send: its parsed file and the other files it brings along.
pub struct Fetched {
    /// The parsed definition.
    pub file: TestDefinitionFile,
    /// Files of its repository (relative path, content), sent next to `run.sh`.
    pub files: Vec<(String, String)>,
}

/// The most repository content sent over a console.
const MAX_REPO_BYTES: u64 = 512 * 1024;

async fn read_url(action: &str, url: &str) -> Result<String, Failure> {
    if let Some(path) = url.strip_prefix("file://") {
        return std::fs::read_to_string(path)
            .map_err(|e| Failure::job(action, format!("cannot read test definition {url}: {e}")));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        let resp = reqwest::get(url).await.map_err(|e| {
            Failure::infra(action, format!("cannot fetch test definition {url}: {e}"))
        })?;
        if !resp.status().is_success() {
            return Err(Failure::job(
                action,
                format!("cannot fetch test definition {url}: HTTP {}", resp.status()),
            ));
        }
        return resp.text().await.map_err(|e| {
            Failure::infra(action, format!("cannot fetch test definition {url}: {e}"))
        });
    }
    Err(Failure::job(
        action,
        format!("unsupported test definition URL '{url}'"),
    ))
}

fn git(action: &str, args: &[&str], dir: Option<&Path>) -> Result<(), Failure> {
    let mut cmd = std::process::Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| Failure::infra(action, format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Failure::job(
            action,
            format!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ))
    }
}

fn repo_files(action: &str, dir: &Path) -> Result<Vec<(String, String)>, Failure> {
    let mut files = Vec::new();
    let mut total = 0;
    for entry in WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
    {
        let entry = entry
            .map_err(|e| Failure::infra(action, format!("cannot read the repository: {e}")))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .display()
            .to_string();
        total += entry.metadata().map(|m| m.len()).unwrap_or(0);
        if total > MAX_REPO_BYTES {
            return Err(Failure::job(
                action,
                format!("the test repository is larger than {MAX_REPO_BYTES} bytes"),
            ));
        }
        match std::fs::read_to_string(entry.path()) {
            Ok(text) => files.push((rel, text)),
            Err(_) => {
                return Err(Failure::job(
                    action,
                    format!("{rel} in the test repository is not text"),
                ));
            }
        }
    }
    Ok(files)
}

/// Fetches and parses one definition; `workdir` holds clones.
pub async fn definition(
    ctx: &Ctx,
    action: &str,
    def: &TestDefinition,
    index: usize,
) -> Result<Fetched, Failure> {
    let bad = |e: lava_common::job::JobError| {
        Failure::job(action, format!("test definition '{}': {e}", def.name))
    };
    match &def.source {
        TestSource::Inline { definition } => Ok(Fetched {
            file: parse_testdef_value(definition).map_err(bad)?,
            files: Vec::new(),
        }),
        TestSource::Url { url } => {
            let text = read_url(action, url).await?;
            Ok(Fetched {
                file: parse_testdef_yaml(&text).map_err(bad)?,
                files: Vec::new(),
            })
        }
        TestSource::Git {
            repository,
            path,
            revision,
        } => {
            let dir: PathBuf = ctx.workdir.join(format!("tests/{index}"));
            let _ = std::fs::remove_dir_all(&dir);
            ctx.log.info(format!("cloning {repository}"));
            let dir_s = dir.display().to_string();
            git(action, &["clone", "--quiet", repository, &dir_s], None)?;
            if let Some(rev) = revision {
                git(action, &["checkout", "--quiet", rev], Some(&dir))?;
            }
            let text = std::fs::read_to_string(dir.join(path))
                .map_err(|e| Failure::job(action, format!("{path} in {repository}: {e}")))?;
            let file = parse_testdef_yaml(&text).map_err(bad)?;
            Ok(Fetched {
                file,
                files: repo_files(action, &dir)?,
            })
        }
    }
}
