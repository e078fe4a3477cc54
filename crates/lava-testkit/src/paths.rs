//! Where a cluster keeps its files, and the URL that reaches it.

use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::Error;

/// The socket file name the server creates in the socket directory (the port is the default).
const SOCKET_FILE: &str = ".s.PGSQL.5432";

/// `sizeof(sockaddr_un.sun_path)` on Linux, less the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// What a URL component may keep unescaped (RFC 3986 unreserved).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The files of one cluster under its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterPaths {
    /// The cluster directory itself.
    pub root: PathBuf,
    /// `root/data`: the data directory (`PGDATA`).
    pub data: PathBuf,
    /// `root/sock`: the only place the server listens (a unix socket, no TCP).
    pub sock: PathBuf,
    /// `root/postgres.log`: the server log.
    pub log: PathBuf,
}

impl ClusterPaths {
    /// Lays out a cluster under `root`, made absolute because the socket path must be.
    ///
    /// Fails when the socket path would be too long for the kernel.
    pub fn new(root: &Path) -> Result<Self, Error> {
        let root = std::path::absolute(root).map_err(Error::io("resolve", root))?;
        let sock = root.join("sock");
        let len = sock.join(SOCKET_FILE).as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(Error::SocketPathTooLong {
                path: sock,
                len,
                max: MAX_SOCKET_PATH,
            });
        }
        Ok(Self {
            data: root.join("data"),
            log: root.join("postgres.log"),
            sock,
            root,
        })
    }

    /// `postgresql://lava@<socket dir>/<dbname>`, the socket directory percent-encoded.
    pub fn url(&self, dbname: &str) -> String {
        let host = utf8_percent_encode(&self.sock.to_string_lossy(), COMPONENT).to_string();
        let db = utf8_percent_encode(dbname, COMPONENT);
        format!("postgresql://lava@{host}/{db}")
    }

    /// Whether `data` already holds an initialised cluster.
    pub fn is_initialised(&self) -> bool {
        self.data.join("PG_VERSION").is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encodes_the_socket_dir() {
        let paths = ClusterPaths::new(Path::new("/tmp/x")).unwrap();
        assert_eq!(paths.url("db"), "postgresql://lava@%2Ftmp%2Fx%2Fsock/db");
    }

    #[test]
    fn relative_dirs_become_absolute() {
        let paths = ClusterPaths::new(Path::new("rel")).unwrap();
        assert!(paths.sock.is_absolute());
        assert!(paths.sock.ends_with("rel/sock"));
    }

    #[test]
    fn long_socket_paths_are_refused() {
        let long = format!("/tmp/{}", "x".repeat(90));
        let err = ClusterPaths::new(Path::new(&long)).unwrap_err();
        assert!(matches!(err, Error::SocketPathTooLong { .. }), "{err}");
        let ok = format!("/tmp/{}", "x".repeat(80));
        assert!(ClusterPaths::new(Path::new(&ok)).is_ok());
    }
}
