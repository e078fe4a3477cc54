//! The worker's job life cycle against real `lava-dispatch` runs, without HTTP: a recording
//! [`Reporter`] stands where the server will be and behaves as it must (a batch that does
//! not start where its copy ends is answered with its line count, as a 409 is).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lava_common::host_paths::HostPaths;
use lava_common::ids::JobId;
use lava_common::worker_api::{
    FinishedHealth, JobFinished, JobStart, LogAck, LogBatch, RunningJob,
};
use lava_dispatcher::worker::devices;
use lava_dispatcher::worker::jobdir::JobDir;
use lava_dispatcher::worker::jobs::{Done, Jobs};
use lava_dispatcher::worker::process::LOST;
use lava_dispatcher::worker::task::JobEnd;
use lava_dispatcher::worker::{FinishReply, Reporter, WorkerError};
use tokio::sync::mpsc::UnboundedReceiver;

const TRIVIAL: &str = "job_name: t\ndevice_type: kvm\nvisibility: public\ntimeouts:\n  job: {minutes: 1}\nactions: []\n";
/// Waits on a console that never answers, until canceled (or its 60 s timeout).
const SLOW: &str =
    r#"{"device_type": "fakeboard", "timeout": 60, "actions": [{"command": "boot_linaro_image"}]}"#;

struct Lab {
    dir: tempfile::TempDir,
    settings: HostPaths,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let etc = common::dispatcher_etc(&root);
        let write = |rel: &str, text: &str| std::fs::write(etc.join(rel), text).unwrap();
        write(
            "device-types/fakeboard.conf",
            "client_type = bootloader\ninterrupt_boot_prompt = Hit any key to stop autoboot\n\
             bootloader_prompt = =>\nboot_cmds = boot\nlogin_prompt = login:\nusername = root\n",
        );
        write(
            "devices/slow01.conf",
            "device_type = fakeboard\nhostname = slow01\nconnection_command = sleep 600\n",
        );
        let r = root.to_str().unwrap().to_string();
        let settings = HostPaths::load_with(|k| (k == "LAVA_ROOT").then(|| r.clone())).unwrap();
        Lab { dir, settings }
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn jobs(&self, rec: &Recorder) -> (Jobs<Recorder>, UnboundedReceiver<Done>) {
        rec.0.lock().unwrap().work = self.work();
        Jobs::new(
            self.work(),
            PathBuf::from(env!("CARGO_BIN_EXE_lava-dispatch")),
            rec.clone(),
        )
    }

    fn devices(&self) -> devices::DeviceScan {
        devices::scan(&self.settings)
    }

    /// Writes `name` (a `.conf`, a dictionary or any other file) into the devices directory.
    fn device_file(&self, name: &str, text: &str) {
        std::fs::write(self.settings.devices_dir().join(name), text).unwrap();
    }
}

/// (hostname, device type) of every device a scan found.
fn hosts_and_types(scan: &devices::DeviceScan) -> Vec<(&str, &str)> {
    scan.devices
        .iter()
        .map(|d| (d.hostname.as_str(), d.device_type.as_str()))
        .collect()
}

fn start(id: i64, device: &str, definition: &str) -> JobStart {
    JobStart {
        id: JobId(id),
        device: device.into(),
        definition: definition.into(),
        secrets: Default::default(),
    }
}

/// What the "server" saw and holds.
#[derive(Default)]
struct Rec {
    work: PathBuf,
    started: Vec<JobId>,
    /// (offset, lines accepted) of every batch that was taken.
    batches: Vec<(u64, u64)>,
    /// Every offset sent, taken or not.
    offsets: Vec<u64>,
    held: HashMap<JobId, Vec<String>>,
    finished: Vec<(JobId, JobFinished)>,
    /// output.yaml as it was when the job finished.
    file: HashMap<JobId, String>,
    /// Take at most this many lines of a batch.
    max_take: Option<usize>,
    /// Once the server holds `.0` lines, it "loses" all but `.1` and says so.
    rewind: Option<(usize, usize)>,
    /// The first `finished` finds only this many lines held.
    short_at_finish: Option<usize>,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Rec>>);

impl Reporter for Recorder {
    async fn started(&self, job: JobId) -> Result<(), WorkerError> {
        self.0.lock().unwrap().started.push(job);
        Ok(())
    }

    async fn logs(&self, job: JobId, batch: &LogBatch) -> Result<LogAck, WorkerError> {
        let mut r = self.0.lock().unwrap();
        r.offsets.push(batch.offset);
        let (max_take, rewind) = (r.max_take, r.rewind);
        let held = r.held.entry(job).or_default();
        if let Some((when, to)) = rewind
            && held.len() >= when
        {
            held.truncate(to);
            r.rewind = None;
            return Ok(LogAck { lines: to as u64 });
        }
        if batch.offset != held.len() as u64 {
            return Ok(LogAck {
                lines: held.len() as u64,
            });
        }
        let lines: Vec<String> = batch
            .lines
            .split_inclusive('\n')
            .map(String::from)
            .collect();
        assert!(lines.iter().all(|l| l.ends_with('\n')), "whole lines only");
        let take = lines.len().min(max_take.unwrap_or(usize::MAX));
        held.extend(lines.into_iter().take(take));
        let now = held.len() as u64;
        r.batches.push((batch.offset, take as u64));
        Ok(LogAck { lines: now })
    }

    async fn finished(&self, job: JobId, f: &JobFinished) -> Result<FinishReply, WorkerError> {
        let mut r = self.0.lock().unwrap();
        let short = r.short_at_finish.take();
        let held = r.held.entry(job).or_default();
        if let Some(n) = short {
            held.truncate(n);
        }
        if f.log_lines > held.len() as u64 {
            return Ok(FinishReply::NeedLines(held.len() as u64));
        }
        let out = JobDir::new(&r.work, job).output();
        let text = std::fs::read_to_string(out).unwrap_or_default();
        r.file.insert(job, text);
        r.finished.push((job, f.clone()));
        Ok(FinishReply::Done)
    }
}

impl Recorder {
    fn held_text(&self, job: JobId) -> String {
        self.0
            .lock()
            .unwrap()
            .held
            .get(&job)
            .cloned()
            .unwrap_or_default()
            .concat()
    }
}

async fn next_done(rx: &mut UnboundedReceiver<Done>) -> (JobId, JobFinished) {
    let done = tokio::time::timeout(Duration::from_secs(90), rx.recv())
        .await
        .expect("the job did not end in time")
        .unwrap();
    match done {
        (id, JobEnd::Reported(f)) => (id, f),
        other => panic!("unexpected end {other:?}"),
    }
}

/// Waits until the job's log has at least `n` lines.
fn wait_for_lines(work: &Path, id: JobId, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = JobDir::new(work, id).output();
    while std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .count()
        < n
    {
        assert!(Instant::now() < deadline, "the job log stayed short");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_is_reported_and_cleaned_up() {
    let lab = Lab::new();
    let rec = Recorder::default();
    let (mut jobs, mut rx) = lab.jobs(&rec);
    let started = Instant::now();
    jobs.start(&start(7, "kvm01", TRIVIAL), &lab.devices());
    let (id, f) = next_done(&mut rx).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(id, JobId(7));
    assert_eq!(f.health, FinishedHealth::Complete, "{f:?}");
    let r = rec.0.lock().unwrap();
    assert_eq!(r.started, [JobId(7)]);
    let file = r.file[&JobId(7)].clone();
    assert_eq!(f.log_lines as usize, file.lines().count());
    assert!(file.contains("\"case\": \"job\""));
    drop(r);
    assert_eq!(
        rec.held_text(JobId(7)),
        file,
        "the server holds the log exactly"
    );
    assert!(
        !JobDir::new(&lab.work(), JobId(7)).path.exists(),
        "the job dir is removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_lost_lines_gets_exactly_the_missing_ones() {
    let lab = Lab::new();
    let rec = Recorder::default();
    {
        let mut r = rec.0.lock().unwrap();
        r.max_take = Some(2);
        r.rewind = Some((4, 1));
    }
    let (mut jobs, mut rx) = lab.jobs(&rec);
    jobs.start(&start(8, "kvm01", TRIVIAL), &lab.devices());
    let (_, f) = next_done(&mut rx).await;
    assert_eq!(f.health, FinishedHealth::Complete);
    let r = rec.0.lock().unwrap();
    let file = r.file[&JobId(8)].clone();
    let offsets = r.offsets.clone();
    let batches = r.batches.clone();
    drop(r);
    assert_eq!(rec.held_text(JobId(8)), file, "no duplicate, no gap");
    // Two lines a batch: 0, 2, then the rewind to 1 answers the batch at 4; it resumes at 1.
    assert_eq!(&offsets[..4], &[0, 2, 4, 1], "{offsets:?}");
    for w in batches.windows(2) {
        if w[1].0 != 1 {
            assert_eq!(w[0].0 + w[0].1, w[1].0, "contiguous: {batches:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_refused_for_missing_lines_uploads_them_and_retries() {
    let lab = Lab::new();
    let rec = Recorder::default();
    rec.0.lock().unwrap().short_at_finish = Some(3);
    let (mut jobs, mut rx) = lab.jobs(&rec);
    jobs.start(&start(9, "kvm01", TRIVIAL), &lab.devices());
    let (_, f) = next_done(&mut rx).await;
    assert_eq!(f.health, FinishedHealth::Complete);
    let file = rec.0.lock().unwrap().file[&JobId(9)].clone();
    assert_eq!(rec.held_text(JobId(9)), file);
    assert!(rec.0.lock().unwrap().offsets.contains(&3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_sends_sigterm_and_the_job_ends_canceled() {
    let lab = Lab::new();
    let rec = Recorder::default();
    let (mut jobs, mut rx) = lab.jobs(&rec);
    jobs.start(&start(10, "slow01", SLOW), &lab.devices());
    let work = lab.work();
    tokio::task::spawn_blocking(move || wait_for_lines(&work, JobId(10), 3))
        .await
        .unwrap();
    let t = Instant::now();
    jobs.cancel(JobId(10));
    // A second SIGTERM to the group (a user's, or another cancel) must not lose the status.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let pid = JobDir::new(&lab.work(), JobId(10)).read_pid().unwrap();
    lava_dispatcher::worker::process::signal_group(pid, nix::sys::signal::Signal::SIGTERM);
    let (_, f) = next_done(&mut rx).await;
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(f.health, FinishedHealth::Canceled, "{f:?}");
    assert_eq!(f.error_type.map(|t| t.as_str()), Some("Canceled"));
    assert!(rec.held_text(JobId(10)).contains("start: finalize"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_starts_end_incomplete_with_the_reason() {
    let lab = Lab::new();
    let rec = Recorder::default();
    let (mut jobs, mut rx) = lab.jobs(&rec);
    jobs.start(&start(11, "nosuch", TRIVIAL), &lab.devices());
    let (_, f) = next_done(&mut rx).await;
    assert_eq!(f.health, FinishedHealth::Incomplete);
    let msg = f.error_msg.unwrap();
    assert!(
        msg.contains("'nosuch' is not configured") && msg.contains("nosuch.conf"),
        "{msg}"
    );
    // A definition lava-dispatch refuses: it exits 2; the reason is its last stderr line.
    jobs.start(&start(12, "kvm01", "job_name: t\n"), &lab.devices());
    let (_, f) = next_done(&mut rx).await;
    assert_eq!(f.error_type.map(|t| t.as_str()), Some("Infrastructure"));
    let msg = f.error_msg.unwrap();
    assert!(
        msg.starts_with("lava-dispatch exited with status 2: lava-dispatch: "),
        "{msg}"
    );
    assert_eq!(
        rec.0.lock().unwrap().started,
        [JobId(12)],
        "no start reported for a job never run"
    );
}

#[test]
fn a_restarted_worker_reattaches_to_its_running_job() {
    let lab = Lab::new();
    let rec = Recorder::default();
    let rt = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    };
    // The first worker starts the job, uploads a little, and dies.
    let first = rt();
    first.block_on(async {
        let (mut jobs, _rx) = lab.jobs(&rec);
        jobs.start(&start(13, "slow01", SLOW), &lab.devices());
        let work = lab.work();
        tokio::task::spawn_blocking(move || wait_for_lines(&work, JobId(13), 3))
            .await
            .unwrap();
        std::mem::forget(jobs);
    });
    drop(first);
    let dir = JobDir::new(&lab.work(), JobId(13));
    let pid = dir.read_pid().unwrap();
    assert!(lava_dispatcher::worker::process::is_job_process(pid, &dir));
    // The second finds it, resumes from the server's count, and can cancel it.
    rt().block_on(async {
        let (mut jobs, mut rx) = lab.jobs(&rec);
        assert_eq!(jobs.recover().unwrap(), 1);
        let report = jobs.running_report();
        assert_eq!(report[0].id, JobId(13));
        assert!(report[0].log_lines >= 3);
        let server_has = rec
            .0
            .lock()
            .unwrap()
            .held
            .get(&JobId(13))
            .map_or(0, Vec::len);
        jobs.resume(&[RunningJob {
            id: JobId(13),
            log_lines: server_has as u64,
        }]);
        jobs.cancel(JobId(13));
        let (_, f) = next_done(&mut rx).await;
        assert_eq!(f.health, FinishedHealth::Canceled, "{f:?}");
        let file = rec.0.lock().unwrap().file[&JobId(13)].clone();
        assert_eq!(
            rec.held_text(JobId(13)),
            file,
            "the log is whole across the restart"
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_that_ended_while_the_worker_was_away() {
    let lab = Lab::new();
    let rec = Recorder::default();
    let (mut jobs, mut rx) = lab.jobs(&rec);
    let gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    let mut gone = gone;
    gone.wait().unwrap();
    // Lost: the process is gone and left no exit status.
    let (lost, _) = JobDir::create(
        &lab.work(),
        JobId(20),
        "kvm01",
        TRIVIAL,
        &Default::default(),
    )
    .unwrap();
    std::fs::write(lost.pid_file(), format!("{gone_pid}\n")).unwrap();
    // Ended incomplete: an exit status of 1 and the job result in the log.
    let (ended, _) = JobDir::create(
        &lab.work(),
        JobId(21),
        "kvm01",
        TRIVIAL,
        &Default::default(),
    )
    .unwrap();
    std::fs::write(ended.pid_file(), format!("{gone_pid}\n")).unwrap();
    std::fs::write(ended.exit_file(), "1\n").unwrap();
    std::fs::write(
        ended.output(),
        "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"results\", \"msg\": {\"case\": \"job\", \"definition\": \"lava\", \"error_msg\": \"boot failed\", \"error_type\": \"Job\", \"result\": \"fail\"}}\n",
    )
    .unwrap();
    assert_eq!(jobs.recover().unwrap(), 2);
    jobs.resume(&[]);
    let mut got = [next_done(&mut rx).await, next_done(&mut rx).await];
    got.sort_by_key(|(id, _)| *id);
    assert_eq!(
        got[0].1.error_type.map(|t| t.as_str()),
        Some("Infrastructure")
    );
    assert_eq!(got[0].1.error_msg.as_deref(), Some(LOST));
    assert_eq!(got[1].1.health, FinishedHealth::Incomplete);
    assert_eq!(got[1].1.error_type.map(|t| t.as_str()), Some("Job"));
    assert_eq!(got[1].1.error_msg.as_deref(), Some("boot failed"));
    assert_eq!(got[1].1.log_lines, 1);
    assert!(!ended.path.exists() && !lost.path.exists());
}

#[test]
fn devices_come_from_the_conf_files_and_move_with_them() {
    let lab = Lab::new();
    let devices_dir = lab.settings.devices_dir();
    lab.device_file("broken.conf", "device_type = nosuchtype\n");
    lab.device_file("README", "not a device\n");
    let scan = lab.devices();
    let names = hosts_and_types(&scan);
    assert_eq!(names, [("kvm01", "kvm"), ("slow01", "fakeboard")]);
    assert_eq!(scan.invalid.len(), 1);
    assert_eq!(scan.invalid[0].0, "broken.conf");
    assert!(
        scan.invalid[0].1.contains("nosuchtype"),
        "{:?}",
        scan.invalid
    );
    // Moving the file away moves the device at the next scan.
    std::fs::rename(
        devices_dir.join("kvm01.conf"),
        lab.dir.path().join("kvm01.conf"),
    )
    .unwrap();
    let scan = lab.devices();
    assert!(scan.devices.iter().all(|d| d.hostname != "kvm01"));
}

/// LAVA device dictionaries beside the `.conf` files: the type is the template the
/// dictionary extends; a device with both kinds of file, or a dictionary that extends
/// nothing, is left out naming the file and why.
#[test]
fn device_dictionaries_are_devices_too() {
    let lab = Lab::new();
    let devices_dir = lab.settings.devices_dir();
    lab.device_file("bbb01.jinja2", "{% extends 'beaglebone-black.jinja2' %}\n{% set connection_command = 'telnet localhost 7001' %}\n");
    lab.device_file("kvm01.jinja2", "{% extends 'qemu.jinja2' %}\n");
    lab.device_file("loose.jinja2", "{% set x = 1 %}\n");
    let scan = lab.devices();
    let names = hosts_and_types(&scan);
    assert_eq!(
        names,
        [("bbb01", "beaglebone-black"), ("slow01", "fakeboard")]
    );
    let invalid: Vec<(&str, &str)> = scan
        .invalid
        .iter()
        .map(|(f, why)| (f.as_str(), why.as_str()))
        .collect();
    assert_eq!(invalid.len(), 2, "{invalid:?}");
    assert_eq!(invalid[0].0, "kvm01.jinja2");
    assert!(
        invalid[0].1.contains("kvm01.conf is there too"),
        "{invalid:?}"
    );
    assert_eq!(invalid[1].0, "loose.jinja2");
    assert!(
        invalid[1]
            .1
            .contains("does not {% extends %} a device-type template"),
        "{invalid:?}"
    );
    // The job of a dictionary device is run on its dictionary.
    assert_eq!(
        scan.file_of("bbb01"),
        Some(devices_dir.join("bbb01.jinja2").as_path())
    );
    assert_eq!(
        scan.file_of("slow01"),
        Some(lab.settings.device_conf("slow01").as_path())
    );
}

#[test]
fn a_device_is_named_by_its_hostname_and_its_file_name_only_stands_in() {
    let lab = Lab::new();
    let devices_dir = lab.settings.devices_dir();
    // The seed: `cp examples/devices/kvm.conf /etc/lava-dispatcher/devices/`, whose
    // hostname is kvm01 (the device examples/models/kvm.json adds).
    std::fs::remove_file(devices_dir.join("kvm01.conf")).unwrap();
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::copy(
        ws.join("examples/devices/kvm.conf"),
        devices_dir.join("kvm.conf"),
    )
    .unwrap();
    // No hostname: the file's name.
    lab.device_file("plain.conf", "device_type = kvm\n");
    // Two files declaring one name: neither is served, both are named.
    lab.device_file("twin-a.conf", "device_type = kvm\nhostname = twin\n");
    lab.device_file("twin-b.conf", "device_type = kvm\nhostname = twin\n");
    lab.device_file("bad.conf", "device_type = kvm\nhostname = no/slash\n");
    let scan = lab.devices();
    let names: Vec<_> = scan.devices.iter().map(|d| d.hostname.as_str()).collect();
    assert_eq!(names, ["kvm01", "plain", "slow01"]);
    assert_eq!(
        scan.file_of("kvm01"),
        Some(devices_dir.join("kvm.conf").as_path())
    );
    assert_eq!(scan.file_of("kvm"), None);
    assert_eq!(
        scan.renamed,
        [("kvm.conf".to_string(), "kvm01".to_string())]
    );
    let invalid: Vec<_> = scan.invalid.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(invalid, ["bad.conf", "twin-a.conf", "twin-b.conf"]);
    assert!(
        scan.invalid[1].1.contains("twin-a.conf and twin-b.conf"),
        "{:?}",
        scan.invalid
    );
    assert!(scan.invalid[0].1.contains("hostname"), "{:?}", scan.invalid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_on_the_file_that_declares_its_device() {
    let lab = Lab::new();
    let devices_dir = lab.settings.devices_dir();
    std::fs::rename(
        devices_dir.join("slow01.conf"),
        devices_dir.join("board.conf"),
    )
    .unwrap();
    let rec = Recorder::default();
    let (mut jobs, mut rx) = lab.jobs(&rec);
    jobs.start(&start(21, "slow01", SLOW), &lab.devices());
    let work = lab.work();
    // Three lines: lava-dispatch loaded the device and is waiting on its console.
    tokio::task::spawn_blocking(move || wait_for_lines(&work, JobId(21), 3))
        .await
        .unwrap();
    let pid = JobDir::new(&lab.work(), JobId(21)).read_pid().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("/devices/board.conf"), "{cmdline}");
    jobs.cancel(JobId(21));
    let (_, f) = next_done(&mut rx).await;
    assert_eq!(f.health, FinishedHealth::Canceled, "{f:?}");
}
