//! `lava-lab soak` at CI size: the real web app, scheduler and two workers over a private
//! PostgreSQL, 50 dummy devices, jobs submitted through REST by four clients, worker-0 and
//! the scheduler killed hard and started again mid-way. It fails when a job does not finish,
//! ends Incomplete outside the killed worker's crash, a device ran two jobs at once, or a
//! numbered line of a job's test is missing from or doubled in its stored log.
//!
//! It runs the workspace's binaries from this test's target directory (`cargo test
//! --workspace` builds them all; alone, build them first with `cargo build --bins`).

use std::process::Command;

/// The CI size: 1,000 jobs take 2.5 to 3 minutes (debug build) on a 2-core machine shared with
/// other builds; 2,000 took 4.4. `make bench` runs 500 devices, 5 workers, 20,000 jobs.
const DEVICES: &str = "50";
const WORKERS: &str = "2";
const JOBS: &str = "1000";

#[test]
fn a_small_lab_under_load_loses_no_job_and_no_line_and_never_double_books() {
    let lab_lab = std::path::Path::new(env!("CARGO_BIN_EXE_lava-lab"));
    let out = Command::new(lab_lab)
        .args([
            "soak",
            "--devices",
            DEVICES,
            "--workers",
            WORKERS,
            "--jobs",
            JOBS,
        ])
        .args(["--clients", "4", "--timeout", "900"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "lava-lab soak failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("soak: every check passed"), "{stdout}");
    // Both crashes happened, and every figure was printed.
    assert!(stdout.contains("soak: worker-0 killed at"), "{stdout}");
    assert!(stdout.contains("soak: scheduler killed at"), "{stdout}");
    for figure in [
        "jobs per hour",
        "submit-to-running p50",
        "submit-to-running p99",
        "device-free-to-next-running p50",
        "device-free-to-next-running p99",
        "peak RSS (VmHWM) of web",
        "peak RSS (VmHWM) of scheduler",
        "peak RSS (VmHWM) of worker-0",
        "peak RSS (VmHWM) of worker-1",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("bench: ") && l.contains(figure)),
            "no bench line for {figure}:\n{stdout}"
        );
    }
    // A script reads each `bench:` line's last field as the figure.
    for l in stdout.lines().filter(|l| l.starts_with("bench: ")) {
        let figure = l.rsplit(": ").next().unwrap();
        assert!(figure.parse::<f64>().is_ok(), "{l}");
    }
    let count = |label: &str| -> usize {
        stdout
            .lines()
            .find(|l| l.contains(label))
            .and_then(|l| l.rsplit(": ").next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {label} line:\n{stdout}"))
    };
    let jobs: usize = JOBS.parse().unwrap();
    assert_eq!(
        count("jobs complete") + count("jobs incomplete"),
        jobs,
        "{stdout}"
    );
    eprintln!("{stdout}");
}

/// A process's parent and start time (in clock ticks since boot), from `/proc/PID/stat`;
/// `None` once it is gone or a zombie.
fn parent_and_start(pid: u32) -> Option<(u32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: the fields follow its end.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    Some((fields.get(1)?.parse().ok()?, fields.get(19)?.parse().ok()?))
}

/// Every living descendant of `root`: (pid, start time, command name).
fn descendants(root: u32) -> Vec<(u32, u64, String)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((parent, start)) = parent_and_start(pid) {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            all.push((pid, parent, start, comm.trim().to_string()));
        }
    }
    let mut found: Vec<(u32, u64, String)> = Vec::new();
    let mut parents = vec![root];
    while let Some(p) = parents.pop() {
        for (pid, parent, start, comm) in &all {
            if *parent == p {
                found.push((*pid, *start, comm.clone()));
                parents.push(*pid);
            }
        }
    }
    found
}

#[test]
fn an_interrupted_soak_stops_every_process_it_started() {
    let lab_lab = std::path::Path::new(env!("CARGO_BIN_EXE_lava-lab"));
    let dir = tempfile::tempdir().unwrap();
    let soak = Command::new(lab_lab)
        .args([
            "soak",
            "--devices",
            "4",
            "--workers",
            "1",
            "--jobs",
            "100000",
        ])
        .args(["--clients", "1", "--no-crash", "--timeout", "600"])
        .arg("--dir")
        .arg(dir.path().join("lab"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupted while a job runs: a lava-dispatch of the worker's is among its processes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let seen = loop {
        let now = descendants(soak.id());
        if now.iter().any(|(_, _, comm)| comm == "lava-dispatch") {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no job ran within 300 s; processes: {now:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(soak.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = soak.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let alive = |procs: &[(u32, u64, String)]| -> Vec<(u32, u64, String)> {
        procs
            .iter()
            .filter(|(pid, start, _)| parent_and_start(*pid).is_some_and(|(_, s)| s == *start))
            .cloned()
            .collect()
    };
    // An orphan's end is reaped by init: give it a moment.
    let mut left = alive(&seen);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = alive(&seen);
    }
    for (pid, _, _) in &left {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        left.is_empty(),
        "still running after the soak ended ({}): {left:?}\n{stderr}",
        out.status
    );
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("interrupted by a signal: the lab is stopped"),
        "{stderr}"
    );
}
