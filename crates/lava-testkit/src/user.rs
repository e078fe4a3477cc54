//! Which user runs `initdb` and `postgres`.
//!
//! Both refuse to run as root, and CI runs as root, so as root we drop to `nobody` (or to the
//! owner of an existing data directory, so a cluster made by a developer's own account still
//! starts under `sudo`). Everything is found without libc: the effective uid comes from
//! `/proc/self/status`, users from `/etc/passwd`.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::Error;

/// The user that owns a cluster's files and runs its server.
#[derive(Debug, Clone)]
pub(crate) struct RunAs {
    /// `None` when that is us already: no uid switch, no chown.
    switch_to: Option<(u32, u32)>,
    name: String,
}

impl RunAs {
    /// Picks the user for the cluster whose data directory is `data` (which may not exist yet).
    pub(crate) fn for_data(data: &Path) -> Self {
        if effective_uid() != Some(0) {
            return Self {
                switch_to: None,
                name: "the current user".into(),
            };
        }
        let owner = std::fs::metadata(data).ok().filter(|m| m.uid() != 0);
        let (uid, gid) = match owner {
            Some(m) => (m.uid(), m.gid()),
            None => lookup_user("nobody").unwrap_or((65534, 65534)),
        };
        let name = user_name(uid).unwrap_or_else(|| format!("#{uid}"));
        Self {
            switch_to: Some((uid, gid)),
            name,
        }
    }

    /// The uid we switch to, if any.
    pub(crate) fn uid(&self) -> Option<u32> {
        self.switch_to.map(|(uid, _)| uid)
    }

    /// The user's name, for messages.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Makes `cmd` run as this user.
    pub(crate) fn apply(&self, cmd: &mut Command) {
        if let Some((uid, gid)) = self.switch_to {
            // std drops supplementary groups too when root switches uid.
            cmd.uid(uid).gid(gid);
        }
    }

    /// Gives `path` to this user, so the server can write it.
    pub(crate) fn chown(&self, path: &Path) -> Result<(), Error> {
        match self.switch_to {
            Some((uid, gid)) => std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(Error::io("chown", path)),
            None => Ok(()),
        }
    }
}

/// Our effective uid (the second field of the `Uid:` line), `None` off Linux.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads `/etc/passwd` as (name, uid, gid) triples.
fn passwd() -> Vec<(String, u32, u32)> {
    let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let uid = fields.nth(1)?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            Some((name.to_owned(), uid, gid))
        })
        .collect()
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    passwd()
        .into_iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, uid, gid)| (uid, gid))
}

fn user_name(uid: u32) -> Option<String> {
    passwd()
        .into_iter()
        .find(|(_, u, _)| *u == uid)
        .map(|(n, _, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_our_uid() {
        assert!(effective_uid().is_some());
    }

    #[test]
    fn root_is_in_passwd() {
        assert_eq!(lookup_user("root"), Some((0, 0)));
        assert_eq!(user_name(0).as_deref(), Some("root"));
    }
}
