//! One board and one job directory per test, `lava-dispatch` run on the board's device file,
//! and the checks every board test ends with: the job's TFTP directory gone, the board
//! powered off, no console session left.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use lava_common::log::{Level, LogLine, Value};
use lava_testkit::{BoardImage, UbootBoard, UbootBoardConfig, board_image, built_pduclient};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn s(v: &Value) -> String {
    match v {
        Value::Str(s) | Value::Scalar(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// The smoke test definition of `share/test-definitions`.
pub fn smoke() -> &'static str {
    include_str!("../../../../share/test-definitions/smoke.yaml")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A board of one's own and a directory for one job.
pub struct BoardRun {
    tmp: tempfile::TempDir,
    pub board: UbootBoard,
    pub image: BoardImage,
    pub job_id: String,
}

impl BoardRun {
    /// A board whose first `dead_boots` power-ons leave it dead.
    pub fn start(dead_boots: u32) -> BoardRun {
        let mut config = UbootBoardConfig::temporary(&built_pduclient().unwrap());
        config.dead_boots = dead_boots;
        let board = UbootBoard::start(&config).unwrap();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        BoardRun {
            tmp: tempfile::tempdir().unwrap(),
            board,
            image: board_image().unwrap(),
            job_id: format!("b{}-{n}", std::process::id()),
        }
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn out(&self) -> PathBuf {
        self.dir().join("out")
    }

    /// `text` with the example images set to the board's and the example repository to
    /// `repo`.
    pub fn point(&self, text: &str, repo: &Path) -> String {
        let images = "file:///var/lib/lava-server/images/uboot-arm64/";
        text.replace(
            &format!("{images}Image"),
            &format!("file://{}", self.image.kernel.display()),
        )
        .replace(
            &format!("{images}ramdisk.cpio.gz"),
            &format!("file://{}", self.image.ramdisk.display()),
        )
        .replace(
            &format!("{images}virt.dtb"),
            &format!("file://{}", self.image.dtb.display()),
        )
        .replace(
            "file:///var/lib/lava-server/images/test-definitions.git",
            &format!("file://{}", repo.display()),
        )
    }

    /// An example job (path below `examples/`), pointed at the board and `repo`.
    pub fn example(&self, rel: &str, repo: &Path) -> PathBuf {
        let text = std::fs::read_to_string(workspace().join("examples").join(rel)).unwrap();
        let name = Path::new(rel).file_name().unwrap();
        let job = self.dir().join(name);
        std::fs::write(&job, self.point(&text, repo)).unwrap();
        job
    }

    /// A `tftp` deploy of the board's images; `ramdisk` adds keys to the ramdisk.
    pub fn deploy(&self, ramdisk: &str) -> String {
        format!(
            "    to: tftp\n    kernel: {{url: 'file://{}', type: image}}\n    ramdisk:\n      url: 'file://{}'\n{ramdisk}    dtb: {{url: 'file://{}'}}\n",
            self.image.kernel.display(),
            self.image.ramdisk.display(),
            self.image.dtb.display()
        )
    }

    /// A YAML job: `deploy` (the deploy's body), a u-boot boot with `boot` added, and a test
    /// of `path` in `repo`; `timeouts` adds lines to `timeouts`.
    pub fn yaml_job(
        &self,
        deploy: &str,
        boot: &str,
        repo: &Path,
        path: &str,
        timeouts: &str,
    ) -> PathBuf {
        let job = self.dir().join("job.yaml");
        std::fs::write(
            &job,
            format!(
                "job_name: board\ndevice_type: uboot-qemu\nvisibility: public\n\
                 timeouts:\n  job: {{minutes: 12}}\n  action: {{minutes: 6}}\n{timeouts}\
                 actions:\n\
                 - deploy:\n{deploy}\
                 - boot:\n    method: u-boot\n    {boot}\n    auto_login: {{login_prompt: 'login:', username: root}}\n    prompts: ['root@lava-arm64:~#']\n\
                 - test:\n    definitions:\n    - {{from: git, repository: 'file://{}', path: {path}, name: {}}}\n",
                repo.display(),
                path.trim_end_matches(".yaml")
            ),
        )
        .unwrap();
        job
    }

    /// `lava-dispatch` on the board's device file, allowed to read the board's images and
    /// this test's directory.
    pub fn command(&self, job: &Path) -> Command {
        self.command_on(job, &self.board.device_conf_path())
    }

    /// `lava-dispatch` on `device` (the board's `.conf` or its LAVA device dictionary).
    pub fn command_on(&self, job: &Path, device: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lava-dispatch"));
        cmd.arg("--device")
            .arg(device)
            .arg("--output-dir")
            .arg(self.out())
            .args(["--job-id", &self.job_id, "--quiet"])
            .arg(job)
            .env("LAVA_ROOT", self.dir().join("root"))
            .env(
                "LAVA_FILE_URL_DIRS",
                format!(
                    "{}:{}",
                    self.image.kernel.parent().unwrap().display(),
                    self.dir().display()
                ),
            )
            .env("LAVA_DISPATCHER_CACHE", self.dir().join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    pub fn dispatch(&self, job: &Path) -> Output {
        self.command(job).output().unwrap()
    }

    /// Runs `job`, which must end complete (exit 0).
    pub fn passes(&self, job: &Path) {
        let out = self.dispatch(job);
        assert_eq!(out.status.code(), Some(0), "{}", self.log_text());
    }

    /// Runs `job`, which must end incomplete (exit 1): its (error_type, error_msg).
    pub fn fails(&self, job: &Path) -> (String, String) {
        let out = self.dispatch(job);
        assert_eq!(out.status.code(), Some(1), "{}", self.log_text());
        self.error()
    }

    /// [`BoardRun::yaml_job`] with the plain deploy running `smoke.yaml` from
    /// [`BoardRun::smoke_repo`].
    pub fn smoke_job(&self, boot: &str, timeouts: &str) -> PathBuf {
        self.yaml_job(
            &self.deploy(""),
            boot,
            &self.smoke_repo(),
            "smoke.yaml",
            timeouts,
        )
    }

    /// A repository `tests.git` in the run's directory holding `smoke.yaml`.
    pub fn smoke_repo(&self) -> PathBuf {
        git_repo(self.dir(), "tests.git", &[("smoke.yaml", smoke())])
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.out().join("output.yaml")).unwrap_or_default()
    }

    pub fn log(&self) -> Vec<LogLine> {
        crate::common::parse_log(&self.log_text())
    }

    fn texts(&self, lvl: Level) -> Vec<String> {
        crate::common::texts(self.log(), lvl)
    }

    /// What was typed on the console.
    pub fn inputs(&self) -> Vec<String> {
        self.texts(Level::Input)
    }

    pub fn results(&self) -> Vec<std::collections::BTreeMap<String, Value>> {
        crate::common::results(self.log())
    }

    /// (definition, case, result) of every test result, LAVA's own excluded.
    pub fn cases(&self) -> Vec<(String, String, String)> {
        self.results()
            .into_iter()
            .filter(|m| m["definition"] != Value::from("lava"))
            .map(|m| (s(&m["definition"]), s(&m["case"]), s(&m["result"])))
            .collect()
    }

    /// The final `job` result's (error_type, error_msg).
    pub fn error(&self) -> (String, String) {
        let job = self
            .results()
            .into_iter()
            .rfind(|m| m["case"] == Value::from("job"))
            .expect("a job result");
        assert_eq!(job["result"], Value::from("fail"), "{job:?}");
        (s(&job["error_type"]), s(&job["error_msg"]))
    }

    /// The job left nothing: its TFTP directory is gone, the board is powered off, no
    /// console session or process of the job is alive.
    pub fn assert_clean(&self) {
        let tftp = self.board.tftp_root().join(&self.job_id);
        assert!(!tftp.exists(), "{} left on the TFTP server", tftp.display());
        let pdu = self.board.pdu_log();
        assert!(
            pdu.trim_end()
                .lines()
                .last()
                .is_some_and(|l| l.contains(" off ")),
            "the board was powered off last: {pdu}"
        );
        let out = Command::new("ps")
            .args(["-eo", "stat=,args="])
            .output()
            .unwrap();
        let ps = String::from_utf8_lossy(&out.stdout).into_owned();
        let telnet = format!("telnet 127.0.0.1 {}", self.board.telnet_port());
        let out_dir = self.out().display().to_string();
        let live: Vec<&str> = ps
            .lines()
            .filter(|l| !l.trim_start().starts_with('Z'))
            .filter(|l| l.contains(&telnet) || l.contains(&out_dir))
            .collect();
        assert!(live.is_empty(), "left running: {live:?}");
        assert!(
            !self
                .board
                .read_run_file("qemu.pid")
                .trim()
                .chars()
                .any(|c| c.is_ascii_digit())
                || self.board.pids().len() <= 5,
            "QEMU left running: {:?}",
            self.board.pids()
        );
    }
}

pub use crate::common::{big_repo, git_repo};
