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
