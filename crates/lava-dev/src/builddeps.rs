//! The build-dependency check: `dpkg-checkbuilddeps` against `debian/control`.

use std::path::Path;
use std::process::Command;

use crate::{Error, Result};

/// Runs `dpkg-checkbuilddeps CONTROL` (or `program`, for tests) and fails with the list of
/// packages to install when some are missing.
pub fn check(program: &str, control: &Path) -> Result<()> {
    let command = format!("{program} {}", control.display());
    let out = Command::new(program)
        .arg(control)
        .output()
        .map_err(|source| Error::Tool {
            tool: program.to_string(),
            problem: format!("cannot run it: {source}"),
            install: "sudo apt-get install dpkg-dev".into(),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let unmet: Vec<String> = stderr
        .lines()
        .filter_map(|l| l.split_once("Unmet build dependencies:").map(|(_, r)| r))
        .flat_map(split_relations)
        .collect();
    if unmet.is_empty() {
        return Err(Error::Command {
            command,
            status: out.status,
            stderr: stderr.into_owned(),
        });
    }
    Err(Error::BuildDeps {
        control: control.to_path_buf(),
        packages: unmet,
    })
}

/// `a (>= 1) b | c` → `["a (>= 1)", "b | c"]`: dpkg lists unmet relations separated by spaces.
fn split_relations(list: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut join_next = false;
    let mut depth = 0usize;
    for word in list.split_whitespace() {
        let attach = join_next || depth > 0 || word == "|" || word.starts_with('(');
        match out.last_mut() {
            Some(last) if attach => {
                last.push(' ');
                last.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
        depth += word.matches('(').count();
        depth = depth.saturating_sub(word.matches(')').count());
        join_next = word == "|";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_dpkg_lists() {
        assert_eq!(
            split_relations(" cargo (>= 0.66) | rustup fakeroot git"),
            ["cargo (>= 0.66) | rustup", "fakeroot", "git"]
        );
    }
}
