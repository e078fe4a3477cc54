//! A job's directory under the worker's work dir: `WORK/jobs/ID/`.
//!
//! Everything the worker must know about a job after a restart is on disk here: the
//! definition, the `pid` of the shell that runs `lava-dispatch` (its process group), the
//! `exit` file the shell writes when `lava-dispatch` ends, `output.yaml`, and
//! `stdout.log`/`stderr.log`. The directory goes once the server has the job's end.

use lava_common::ids::JobId;
use lava_common::job::SecretValues;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::error::WorkerError;

/// The mode of the worker's directories: the job's files are for the worker and the lab's
/// group only (the files get 0640 from the process's mask, see
/// [`crate::startup::restrict_umask`]).
pub const DIR_MODE: u32 = 0o750;

/// The mode of the worker's files.
pub const FILE_MODE: u32 = 0o640;

/// Creates (truncates) `path` with [`FILE_MODE`], whatever the process's mask.
pub fn create_private_file(path: &Path) -> Result<std::fs::File, WorkerError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| WorkerError::io(path, e))?;
    file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))
        .map_err(|e| WorkerError::io(path, e))?;
    Ok(file)
}

/// Writes `path` whole with [`FILE_MODE`].
pub fn write_private_file(path: &Path, data: &[u8]) -> Result<(), WorkerError> {
    use std::io::Write as _;
    create_private_file(path)?
        .write_all(data)
        .map_err(|e| WorkerError::io(path, e))
}

/// Creates `dir` (and its parents) and gives it [`DIR_MODE`], also when it existed already
/// with a wider mode.
pub fn create_private_dir(dir: &Path) -> Result<(), WorkerError> {
    std::fs::create_dir_all(dir).map_err(|e| WorkerError::io(dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
        .map_err(|e| WorkerError::io(dir, e))
}

/// The directory of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDir {
    /// The job whose files these are; the directory is named after it.
    pub id: JobId,
    /// `WORK/jobs/ID`.
    pub path: PathBuf,
}

/// `WORK/jobs`.
pub fn jobs_root(work: &Path) -> PathBuf {
    work.join("jobs")
}

impl JobDir {
    /// The directory of job `id` (not created).
    pub fn new(work: &Path, id: JobId) -> JobDir {
        JobDir {
            id,
            path: jobs_root(work).join(id.to_string()),
        }
    }

    /// Every job directory left in `work` (after a restart), by id.
    pub fn scan(work: &Path) -> Result<Vec<JobDir>, WorkerError> {
        let root = jobs_root(work);
        let entries = match std::fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(WorkerError::io(root, e)),
        };
        let mut out: Vec<JobDir> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<JobId>().ok())
            .map(|id| JobDir::new(work, id))
            .collect();
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    /// Creates the directory (replacing a stale one) and writes the device's name and the
    /// definition into it: `job.json` when it starts with `{`, else `job.yaml`, and the job's
    /// secret values (which the definition holds masked) to `secrets.json` when it has any.
    /// Returns the job file.
    pub fn create(
        work: &Path,
        id: JobId,
        device: &str,
        definition: &str,
        secrets: &SecretValues,
    ) -> Result<(JobDir, PathBuf), WorkerError> {
        let dir = JobDir::new(work, id);
        if dir.path.exists() {
            std::fs::remove_dir_all(&dir.path).map_err(|e| WorkerError::io(&dir.path, e))?;
        }
        create_private_dir(&dir.path)?;
        let name = if definition.trim_start().starts_with('{') {
            "job.json"
        } else {
            "job.yaml"
        };
        write_private_file(&dir.device_file(), format!("{device}\n").as_bytes())?;
        let file = dir.path.join(name);
        write_private_file(&file, definition.as_bytes())?;
        if !secrets.0.is_empty() {
            let json = serde_json::to_vec(secrets)
                .unwrap_or_else(|_| unreachable!("a map of strings serialises"));
            write_private_file(&dir.secrets_file(), &json)?;
        }
        Ok((dir, file))
    }

    /// The job's secret values (`lava-dispatch --secrets`), when it has any.
    pub fn secrets_file(&self) -> PathBuf {
        self.path.join("secrets.json")
    }

    /// The name of the job's device.
    pub fn device_file(&self) -> PathBuf {
        self.path.join("device")
    }

    /// The job's device, as recorded at its start.
    pub fn read_device(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.device_file()).ok()?;
        Some(text.trim().to_string()).filter(|d| !d.is_empty())
    }

    /// `output.yaml`, written by `lava-dispatch`.
    pub fn output(&self) -> PathBuf {
        self.path.join("output.yaml")
    }

    /// `lava-dispatch`'s standard output.
    pub fn stdout(&self) -> PathBuf {
        self.path.join("stdout.log")
    }

    /// `lava-dispatch`'s standard error.
    pub fn stderr(&self) -> PathBuf {
        self.path.join("stderr.log")
    }

    /// The pid of the job's shell, which leads its process group.
    pub fn pid_file(&self) -> PathBuf {
        self.path.join("pid")
    }

    /// `lava-dispatch`'s exit status, written by the shell around it.
    pub fn exit_file(&self) -> PathBuf {
        self.path.join("exit")
    }

    /// The recorded pid, if any.
    pub fn read_pid(&self) -> Option<i32> {
        read_number(&self.pid_file())
    }

    /// The recorded exit status, once the shell wrote it whole.
    pub fn read_exit(&self) -> Option<i32> {
        read_number(&self.exit_file())
    }

    /// The last non-empty line `lava-dispatch` wrote to its standard error.
    pub fn last_stderr_line(&self) -> Option<String> {
        let text = std::fs::read(self.stderr()).ok()?;
        let text = String::from_utf8_lossy(&text);
        text.lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    }

    /// Removes the directory; a failure is logged, since the job itself is over.
    pub fn remove(&self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove {}: {e}", self.path.display());
        }
    }
}

fn read_number(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
