//! What the actions of one job share: the log, the device, downloaded images, the console.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use lava_common::device::Device;
use lava_common::dispatcher_settings::DispatcherSettings;
use lava_common::job::{SourceFormat, Test, TransferOverlay};
use regex::bytes::Regex;
use tokio::time::Instant;

use super::failure::Failure;
use crate::actions::tftp::TftpDir;
use crate::connection::{Connection, ConnectionError, Match};
use crate::joblog::JobLog;
use crate::testshell::overlay::Overlay;

/// The prompt the dispatcher sets on the target (`PS1`), so it never has to guess.
pub const SHELL_PROMPT: &str = "LAVA-SHELL# ";

/// The command that sets [`SHELL_PROMPT`]. The prompt is split by quotes so that the echo of
/// the command itself cannot match the prompt.
pub const SET_PROMPT: &str = "export PS1='LAVA''-SHELL# '";

/// The state of a running job.
pub struct Ctx {
    /// The job log: every line goes out through it, its secrets masked.
    pub log: JobLog,
    /// The device, as its configuration and the job's context describe it.
    pub device: Device,
    /// What the job may reach from this host.
    pub settings: DispatcherSettings,
    /// The job id (`local` for a run by hand).
    pub job_id: String,
    /// The job's private directory for downloads and generated files.
    pub workdir: PathBuf,
    /// Where downloads are cached between jobs.
    pub cache_dir: PathBuf,
    /// Deployed images: role (`kernel`, `ramdisk`, `image`…) to local file.
    pub images: BTreeMap<String, PathBuf>,
    /// The deploy's `image_arg`s (YAML jobs), with `{role}` placeholders for the images.
    pub image_args: Vec<String>,
    /// What the last deploy made for a bootloader (files on the TFTP server, kernel type).
    pub deployed: crate::actions::deploy::Deployed,
    /// This job's directory on the TFTP server, removed when the job ends.
    pub tftp: Option<TftpDir>,
    /// This job's exported NFS root, unexported and removed when the job ends.
    pub nfs: Option<crate::actions::nfs::NfsExport>,
    /// The test actions of the job, by their index in `actions`: their definitions go into
    /// the one overlay of the job.
    pub tests: Vec<(usize, Test)>,
    /// Which format the job was written in (seed-era jobs leave choices to the device).
    pub source: SourceFormat,
    /// The job's test overlay, once built.
    pub overlay: Option<Overlay>,
    /// Whether the booted target has the overlay unpacked.
    pub overlay_on_target: bool,
    /// How the last boot wants the target to fetch the overlay itself.
    pub transfer_overlay: Option<TransferOverlay>,
    /// The console, once a boot action has connected.
    pub conn: Option<Connection>,
    /// The container a QEMU boot with `docker` runs in, removed when the job ends.
    pub container: Option<crate::actions::container::Container>,
    /// Whether the shell prompt has been set.
    pub shell_ready: bool,
    /// The current action's deadline.
    pub deadline: Instant,
    /// The longest a single wait may take.
    pub connection_timeout: Option<Duration>,
    /// The current action's limits of its named steps (see [`super::steps`]).
    pub step_timeouts: BTreeMap<&'static str, Duration>,
    /// Whether this job powered the device (so finalize powers it off).
    pub powered: bool,
    /// How many test definitions ran so far (their `N_` prefix).
    pub definitions_run: usize,
    /// The job's `secrets`, for the overlay's `secrets` file (the log masks their values).
    pub secrets: BTreeMap<String, String>,
}

impl Ctx {
    /// The context of a job before its first action: nothing downloaded, deployed, built or
    /// connected, the device not powered, no test actions, secrets or connection timeout
    /// (a job's plan sets those), and `deadline` for the validation.
    pub fn new(
        log: JobLog,
        device: Device,
        settings: DispatcherSettings,
        job_id: String,
        workdir: PathBuf,
        cache_dir: PathBuf,
        deadline: Instant,
    ) -> Ctx {
        Ctx {
            log,
            device,
            settings,
            job_id,
            workdir,
            cache_dir,
            images: BTreeMap::new(),
            image_args: Vec::new(),
            deployed: Default::default(),
            tftp: None,
            nfs: None,
            tests: Vec::new(),
            source: SourceFormat::Yaml,
            overlay: None,
            overlay_on_target: false,
            transfer_overlay: None,
            conn: None,
            container: None,
            shell_ready: false,
            deadline,
            connection_timeout: None,
            step_timeouts: BTreeMap::new(),
            powered: false,
            definitions_run: 0,
            secrets: BTreeMap::new(),
        }
    }

    /// How long the next wait may take: the connection timeout, or a little past the
    /// action's deadline, so that the runner, which knows whether the job or the action ran
    /// out of time, is the one that reports it.
    pub fn wait_limit(&self) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1);
        match self.connection_timeout {
            Some(c) => c.min(left),
            None => left,
        }
    }

    /// The console, or a job error naming `action` when no boot has connected one.
    pub fn conn(&mut self, action: &str) -> Result<&mut Connection, Failure> {
        self.conn
            .as_mut()
            .ok_or_else(|| Failure::job(action, "no connection to the device: boot it first"))
    }

    /// Waits for one of `patterns` on the console.
    pub async fn expect(&mut self, action: &str, patterns: &[Regex]) -> Result<Match, Failure> {
        let limit = self.wait_limit();
        let conn = self.conn(action)?;
        conn.expect(patterns, limit)
            .await
            .map_err(|e| connection_failure(action, e))
    }

    /// Sends a line to the console.
    pub async fn sendline(&mut self, action: &str, text: &str) -> Result<(), Failure> {
        let conn = self.conn(action)?;
        conn.sendline(text)
            .await
            .map_err(|e| connection_failure(action, e))
    }

    /// Sends text to the console without a line end (control characters, an interrupt).
    pub async fn send(&mut self, action: &str, text: &str) -> Result<(), Failure> {
        let conn = self.conn(action)?;
        conn.send(text)
            .await
            .map_err(|e| connection_failure(action, e))
    }

    /// Runs a shell command on the target and returns its output (the shell must be ready).
    pub async fn shell(&mut self, action: &str, command: &str) -> Result<String, Failure> {
        self.sendline(action, command).await?;
        let m = self.expect(action, &[prompt_regex()]).await?;
        Ok(m.before)
    }
}

/// The regex of [`SHELL_PROMPT`].
pub fn prompt_regex() -> Regex {
    Regex::new(&regex::escape(SHELL_PROMPT)).unwrap_or_else(|_| unreachable!("a literal"))
}

/// Compiles a prompt or pattern from a device config or job, naming it when it is invalid.
pub fn pattern(action: &str, what: &str, text: &str) -> Result<Regex, Failure> {
    Regex::new(text).map_err(|e| Failure::job(action, format!("invalid {what} '{text}': {e}")))
}

/// The failure for a console problem during `action`.
pub fn connection_failure(action: &str, e: ConnectionError) -> Failure {
    match e {
        ConnectionError::Timeout { .. } => Failure::timeout(action, e.to_string()),
        other => Failure::infra(action, other.to_string()),
    }
}

/// A job context for unit tests: a kvm device, the default settings of a host rooted at
/// `dir`, the log in `dir/output.yaml`, a minute to go.
#[cfg(test)]
pub fn test_ctx(dir: &std::path::Path) -> Ctx {
    use lava_common::conf::{ConfFile, DeviceConfig};
    use lava_common::host_paths::HostPaths;
    let root = dir.display().to_string();
    let host = HostPaths::load_with(|k| (k == "LAVA_ROOT").then(|| root.clone())).unwrap();
    let mut conf = ConfFile::new("test.conf");
    conf.set("device_type", "kvm").unwrap();
    conf.set("qemu_options", "-nographic").unwrap();
    let device =
        lava_common::device::from_conf(&DeviceConfig::layered(&[&conf]), &serde_json::Map::new())
            .unwrap();
    Ctx::new(
        JobLog::create(&dir.join("output.yaml"), false).unwrap(),
        device,
        DispatcherSettings::defaults(&host),
        "t".into(),
        dir.join("work"),
        dir.join("cache"),
        tokio::time::Instant::now() + std::time::Duration::from_secs(60),
    )
}
