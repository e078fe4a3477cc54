//! A private PostgreSQL cluster, started from the Debian server binaries.
//!
//! The server listens only on a unix socket in a directory of ours, so clusters never clash
//! over a TCP port, and runs with durability switched off because its data is disposable.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use crate::command::{describe, run, shell_quote};
use crate::paths::ClusterPaths;
use crate::pgbin::pg_bindir;
use crate::user::RunAs;
use crate::watchdog::Watchdog;
use crate::{Error, admin};

/// Server settings for a throwaway cluster: no TCP, no fsync, room for many test pools.
const SERVER_OPTIONS: &str = "-p 5432 -c listen_addresses='' -c unix_socket_permissions=0777 \
     -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200";

/// A running private cluster; dropping it stops the server (see [`PgCluster::detach`]).
#[derive(Debug)]
pub struct PgCluster {
    paths: ClusterPaths,
    bindir: PathBuf,
    user: RunAs,
    /// Set for [`PgCluster::start_temp`]: removed after the server stopped.
    temp: Option<TempDir>,
    /// `None` when we do not own the server: it was running already, or we stopped it.
    watchdog: Option<Watchdog>,
}

impl PgCluster {
    /// Starts the cluster under `dir` (data in `dir/data`, socket in `dir/sock`, log in
    /// `dir/postgres.log`), creating it first if `dir/data` holds none.
    ///
    /// When that cluster is running already it is reused and left running when this value is
    /// dropped, because whoever started it owns it.
    pub fn start(dir: &Path) -> Result<Self, Error> {
        Self::launch(ClusterPaths::new(dir)?, None)
    }

    /// Starts a fresh cluster in a new temporary directory, removed when the cluster stops.
    pub fn start_temp() -> Result<Self, Error> {
        let temp = tempfile::Builder::new()
            .prefix("lava-pg-")
            .tempdir()
            .map_err(Error::io(
                "create temporary directory in",
                std::env::temp_dir(),
            ))?;
        // The mode follows our umask, which may be 077; the server may run as another user.
        std::fs::set_permissions(temp.path(), PermissionsExt::from_mode(0o755))
            .map_err(Error::io("chmod", temp.path()))?;
        Self::launch(ClusterPaths::new(temp.path())?, Some(temp))
    }

    fn launch(paths: ClusterPaths, temp: Option<TempDir>) -> Result<Self, Error> {
        let bindir = pg_bindir()?;
        let user = RunAs::for_data(&paths.data);
        let mut cluster = Self {
            paths,
            bindir,
            user,
            temp,
            watchdog: None,
        };
        cluster.prepare()?;
        if !cluster.paths.is_initialised() {
            cluster.initdb()?;
        }
        if cluster.is_running()? {
            return Ok(cluster);
        }
        let remove = cluster.temp.as_ref().map(|t| t.path().to_owned());
        cluster.watchdog = Some(Watchdog::spawn(&cluster.paths.data, remove.as_deref())?);
        let mut cmd = cluster.command("pg_ctl");
        cmd.arg("start")
            .args(["-w", "-t", "60", "-D"])
            .arg(&cluster.paths.data);
        cmd.arg("-l").arg(&cluster.paths.log);
        let sock = shell_quote(&cluster.paths.sock.to_string_lossy());
        cmd.arg("-o").arg(format!("-k {sock} {SERVER_OPTIONS}"));
        if let Err(e) = run(&mut cmd, Some(&cluster.paths.log)) {
            // A server that came up too slowly may still be running: the watchdog kills it.
            cluster.abandon();
            return Err(e);
        }
        Ok(cluster)
    }

    /// Creates the directories and the log file, owned by the server's user.
    fn prepare(&self) -> Result<(), Error> {
        let p = &self.paths;
        if self.user.uid().is_some() {
            self.check_reachable()?;
        }
        create_dirs(&p.root, 0o755)?;
        create_dirs(&p.data, 0o700)?;
        create_dirs(&p.sock, 0o755)?;
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p.log)
            .map_err(Error::io("create", &p.log))?;
        for path in [&p.data, &p.sock, &p.log] {
            self.user.chown(path)?;
        }
        Ok(())
    }

    /// Fails clearly, rather than with initdb's "permission denied", when a parent directory
    /// such as `/root` keeps the server's user out. The directories we create below the
    /// nearest existing one are all 0755, so that one decides.
    fn check_reachable(&self) -> Result<(), Error> {
        let root = &self.paths.root;
        let existing = root
            .ancestors()
            .find(|d| d.exists())
            .unwrap_or(Path::new("/"));
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "cd \"$1\"", "sh"])
            .arg(existing)
            .current_dir("/");
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        self.user.apply(&mut cmd);
        let ok = cmd.status().is_ok_and(|s| s.success());
        if ok {
            return Ok(());
        }
        Err(Error::Unreachable {
            path: self.paths.root.clone(),
            user: self.user.name().to_owned(),
            uid: self.user.uid().unwrap_or_default(),
        })
    }

    fn initdb(&self) -> Result<(), Error> {
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&self.paths.data);
        cmd.args([
            "-U",
            "lava",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ]);
        run(&mut cmd, None).map(drop)
    }

    /// Whether a server runs on our data directory (`pg_ctl status` exits 0).
    fn is_running(&self) -> Result<bool, Error> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("status").arg("-D").arg(&self.paths.data);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let status = cmd.status().map_err(|source| Error::Spawn {
            command: describe(&cmd),
            source,
        })?;
        Ok(status.success())
    }

    /// A server binary, run as the cluster's user from the cluster directory (a user such as
    /// `nobody` cannot stay in root's current directory) and without the caller's `PG*`
    /// variables, which would redirect the server and `pg_ctl`.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bindir.join(program));
        cmd.current_dir(&self.paths.root).stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PG") {
                cmd.env_remove(key);
            }
        }
        self.user.apply(&mut cmd);
        cmd
    }

    /// The URL of database `dbname` on this cluster.
    pub fn url(&self, dbname: &str) -> String {
        self.paths.url(dbname)
    }

    /// The directory holding the server's unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.paths.sock
    }

    /// The cluster's files.
    pub fn paths(&self) -> &ClusterPaths {
        &self.paths
    }

    /// Creates database `name` unless it exists; returns whether it was created.
    pub async fn ensure_database(&self, name: &str) -> Result<bool, Error> {
        admin::ensure_database(&self.url("postgres"), name).await
    }

    /// Stops the server (fast shutdown: sessions are disconnected) and removes a temporary
    /// cluster's directory. Does nothing when we do not own the server or stopped it already.
    ///
    /// If `pg_ctl stop` fails, the watchdog kills the server with SIGQUIT before this returns.
    pub fn stop(&mut self) -> Result<(), Error> {
        let Some(watchdog) = self.watchdog.take() else {
            return Ok(());
        };
        let mut cmd = self.command("pg_ctl");
        cmd.arg("stop")
            .args(["-w", "-m", "fast", "-D"])
            .arg(&self.paths.data);
        if let Err(e) = run(&mut cmd, Some(&self.paths.log)) {
            self.watchdog = Some(watchdog);
            self.abandon();
            return Err(e);
        }
        watchdog.detach();
        match self.temp.take() {
            Some(temp) => {
                let path = temp.path().to_owned();
                temp.close().map_err(Error::io("remove", path))
            }
            None => Ok(()),
        }
    }

    /// Leaves the server running after this value is gone (for `lava-lab pg-start`).
    pub fn detach(mut self) {
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.detach();
        }
        if let Some(temp) = self.temp.take() {
            let _ = temp.keep();
        }
    }

    /// Stops the cluster under `dir` if it runs; returns whether it did.
    pub fn stop_dir(dir: &Path) -> Result<bool, Error> {
        let paths = ClusterPaths::new(dir)?;
        if !paths.is_initialised() {
            return Ok(false);
        }
        let user = RunAs::for_data(&paths.data);
        let bindir = pg_bindir()?;
        let cluster = Self {
            paths,
            bindir,
            user,
            temp: None,
            watchdog: None,
        };
        if !cluster.is_running()? {
            return Ok(false);
        }
        let mut cmd = cluster.command("pg_ctl");
        cmd.arg("stop")
            .args(["-w", "-m", "fast", "-D"])
            .arg(&cluster.paths.data);
        run(&mut cmd, Some(&cluster.paths.log))?;
        Ok(true)
    }

    /// Hands the server and the temporary directory to the watchdog, which kills and removes.
    fn abandon(&mut self) {
        if let Some(temp) = self.temp.take() {
            // The watchdog removes it, after the server is dead.
            let _ = temp.keep();
        }
        if let Some(watchdog) = self.watchdog.take() {
            // A watchdog that cannot be waited for has exited already.
            let _ = watchdog.fire();
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, dir = %self.paths.root.display(), "cannot stop cluster");
        }
    }
}

/// Creates `dir` and its missing parents with `mode` (not subject to the umask), so the
/// server's user can traverse every directory we made.
fn create_dirs(dir: &Path, mode: u32) -> Result<(), Error> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(Error::io("create directory", dir))?;
    for made in missing {
        std::fs::set_permissions(made, PermissionsExt::from_mode(mode))
            .map_err(Error::io("chmod", made))?;
    }
    Ok(())
}
