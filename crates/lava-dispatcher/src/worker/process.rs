//! The job's process: `sh` around `lava-dispatch`, leader of its own process group.
//!
//! The shell records `lava-dispatch`'s exit status in the job directory, so the status
//! survives a worker restart; the worker watches its own child with `wait`, and a child it
//! re-attached to after a restart (no longer its child) through `/proc/PID`.

use std::path::Path;
use std::process::Stdio;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::error::WorkerError;
use super::jobdir::{JobDir, create_private_file, write_private_file};

/// The shell script around `lava-dispatch`. Traps (not ignores) TERM/INT/HUP so a cancel
/// sent to the group reaches `lava-dispatch` and the shell still writes the exit file; a
/// trapped signal is reset to the default in the child, unlike an ignored one. Only
/// builtins run after `lava-dispatch`, so a repeated signal to the group cannot kill the
/// step that records the status. The file is read only once the shell is gone, so it is
/// never read half-written.
/// The mask makes every file of the job 0640 and every directory 0750, whatever the worker's.
const WRAPPER: &str =
    r#"umask 027; trap : TERM INT HUP; "$0" "$@"; echo $? > "$LAVA_WORKER_EXIT_FILE""#;

/// How a job's process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// `lava-dispatch` exited with this status.
    Code(i32),
    /// Its status is unknown; why.
    Lost(String),
}

/// The message for a job whose process vanished while the worker was away.
pub const LOST: &str = "lava-dispatch was lost (worker restarted and the process is gone)";

/// A running job's process.
#[derive(Debug)]
pub struct JobProcess {
    pid: i32,
    child: Option<tokio::process::Child>,
    /// Set when the job never ran: why.
    failed: Option<String>,
}

impl JobProcess {
    /// Starts `lava_dispatch` for the job in `dir` on `device_conf`, in its own process
    /// group, and records its pid.
    pub fn launch(
        dir: &JobDir,
        job_file: &Path,
        lava_dispatch: &Path,
        device_conf: &Path,
    ) -> Result<JobProcess, WorkerError> {
        let (stdout, stderr) = (
            create_private_file(&dir.stdout())?,
            create_private_file(&dir.stderr())?,
        );
        let mut cmd = tokio::process::Command::new("sh");
        // The worker's token never reaches the job: not on its command line (it is not
        // there), not in its environment.
        for var in crate::command::SECRET_ENV {
            cmd.env_remove(var);
        }
        cmd.arg("-c")
            .arg(WRAPPER)
            .arg(lava_dispatch)
            .arg("--device")
            .arg(device_conf)
            .arg("--output-dir")
            .arg(&dir.path)
            .args(["--job-id", &dir.id.to_string(), "--quiet"]);
        // Nor do the job's secret values: they are in a private file, named here.
        let secrets = dir.secrets_file();
        if secrets.is_file() {
            cmd.arg("--secrets").arg(&secrets);
        }
        let child = cmd
            .arg(job_file)
            .env("LAVA_WORKER_EXIT_FILE", dir.exit_file())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(false)
            .spawn()
            .map_err(|source| WorkerError::Spawn {
                program: lava_dispatch.to_path_buf(),
                job: dir.id,
                source,
            })?;
        let pid = child.id().map(|p| p as i32).unwrap_or_default();
        let pid_file = dir.pid_file();
        write_private_file(&pid_file, format!("{pid}\n").as_bytes())?;
        Ok(JobProcess {
            pid,
            child: Some(child),
            failed: None,
        })
    }

    /// A process found running after a restart.
    pub fn adopted(pid: i32) -> JobProcess {
        JobProcess {
            pid,
            child: None,
            failed: None,
        }
    }

    /// A job that could not be started (or was refused while draining): it ends at once,
    /// incomplete, with `why`.
    pub fn not_started(why: String) -> JobProcess {
        JobProcess {
            pid: 0,
            child: None,
            failed: Some(why),
        }
    }

    /// The shell's pid, which is also the process group id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// How the process ended, or `None` while it runs.
    pub fn poll_end(&mut self, dir: &JobDir) -> Option<Ended> {
        if let Some(why) = &self.failed {
            return Some(Ended::Lost(why.clone()));
        }
        match &mut self.child {
            Some(child) => {
                let status = match child.try_wait() {
                    Ok(Some(s)) => s,
                    Ok(None) => return None,
                    Err(e) => {
                        return Some(Ended::Lost(format!("cannot wait for lava-dispatch: {e}")));
                    }
                };
                Some(match dir.read_exit() {
                    Some(code) => Ended::Code(code),
                    None => Ended::Lost(format!(
                        "lava-dispatch's shell ended ({status}) without recording its exit status"
                    )),
                })
            }
            None if is_job_process(self.pid, dir) => None,
            None => Some(match dir.read_exit() {
                Some(code) => Ended::Code(code),
                None => Ended::Lost(LOST.into()),
            }),
        }
    }

    /// Sends `signal` to the job's whole process group.
    pub fn signal(&self, signal: Signal) {
        signal_group(self.pid, signal);
    }
}

/// Sends `signal` to process group `pgid`; a group that is gone already is fine.
pub fn signal_group(pgid: i32, signal: Signal) {
    if pgid <= 1 {
        return;
    }
    if let Err(e) = killpg(Pid::from_raw(pgid), signal)
        && e != nix::errno::Errno::ESRCH
    {
        tracing::warn!("cannot send {signal} to process group {pgid}: {e}");
    }
}

/// Whether `pid` is alive (not a zombie) and is this job's shell or `lava-dispatch`: its
/// command line names the job directory, which guards against a recycled pid.
pub fn is_job_process(pid: i32, dir: &JobDir) -> bool {
    if pid <= 1 {
        return false;
    }
    let proc = Path::new("/proc").join(pid.to_string());
    let Ok(stat) = std::fs::read_to_string(proc.join("stat")) else {
        return false;
    };
    // The state follows the command name in parentheses, which may itself hold ") ".
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    if matches!(state, Some('Z' | 'X')) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(proc.join("cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    let dir = dir.path.to_string_lossy();
    cmdline.split('\0').any(|arg| arg == dir)
}
