//! `make bench` for the dispatcher: console throughput through the expect engine into the
//! log file, and the resident memory of `lava-dispatch` during a real QEMU job.
//!
//! Prints figures; asserts nothing about speed (a busy machine must not fail a build).

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lava_dispatcher::command::Argv;
use lava_dispatcher::connection::Connection;
use lava_dispatcher::joblog::JobLog;

const BYTES: u64 = 100_000_000;

fn throughput() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("output.yaml");
    let log = JobLog::create(&log_path, false).expect("log");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let elapsed = runtime.block_on(async {
        // 100 MB of 100-byte lines, then an end marker for the expect engine to find.
        let cmd = Argv::from_config(
            "bench",
            &format!("sh -c 'yes \"$(printf %098d 0)\" | head -c {BYTES}; echo BENCH-DONE'"),
        )
        .expect("a command");
        let started = Instant::now();
        let mut conn = Connection::spawn(&cmd, &log).expect("spawn");
        let done = regex::bytes::Regex::new("BENCH-DONE").expect("regex");
        conn.expect(&[done], Duration::from_secs(600))
            .await
            .expect("the end marker");
        let t = started.elapsed();
        conn.close().await;
        t
    });
    log.finish().expect("flush");
    let lines = log.lines();
    let size = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
    println!(
        "console throughput: {:.1} MB/s ({BYTES} bytes of console output in {:.2} s; {lines} log lines, {:.1} MB of output.yaml)",
        BYTES as f64 / elapsed.as_secs_f64() / 1e6,
        elapsed.as_secs_f64(),
        size as f64 / 1e6
    );
}

/// The same output read from a pseudo-terminal and thrown away: the ceiling any console
/// reader has on this machine.
fn raw_pty() {
    use tokio::io::AsyncReadExt as _;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (bytes, elapsed) = runtime.block_on(async {
        let (pty, pts) = pty_process::open().expect("pty");
        let started = Instant::now();
        let mut child = pty_process::Command::new("sh")
            .arg("-c")
            .arg(format!("yes \"$(printf %098d 0)\" | head -c {BYTES}"))
            .spawn(pts)
            .expect("spawn");
        let (mut read, _write) = pty.into_split();
        let mut buf = vec![0u8; 64 * 1024];
        let mut n = 0u64;
        while let Ok(k) = read.read(&mut buf).await {
            if k == 0 {
                break;
            }
            n += k as u64;
        }
        let _ = child.wait().await;
        (n, started.elapsed())
    });
    println!(
        "raw pseudo-terminal ceiling: {:.1} MB/s ({bytes} bytes read and discarded in {:.2} s)",
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
        elapsed.as_secs_f64()
    );
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn job_rss() {
    let img = match lava_testkit::test_image() {
        Ok(i) => i,
        Err(e) => {
            println!("lava-dispatch RSS: skipped, no test image ({e})");
            return;
        }
    };
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("tempdir");
    let job = img
        .example_job("health-checks/kvm-health.json")
        .expect("health check");
    let job_path = dir.path().join("job.json");
    std::fs::write(&job_path, job).expect("job");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lava-dispatch"))
        .arg("--device")
        .arg(ws.join("examples/devices/kvm.conf"))
        .arg("--output-dir")
        .arg(dir.path().join("out"))
        .arg("--quiet")
        .arg(&job_path)
        .env("LAVA_QEMU_ACCEL", "tcg")
        .env("LAVA_DISPATCHER_CACHE", dir.path().join("cache"))
        .env(
            "LAVA_FILE_URL_DIRS",
            format!(
                "{}:{}",
                img.kernel.parent().expect("image dir").display(),
                ws.join("share").display()
            ),
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("lava-dispatch");
    let (mut peak, mut samples) = (0u64, 0u32);
    loop {
        if let Some(kib) = rss_kib(child.id()) {
            peak = peak.max(kib);
            samples += 1;
        }
        if let Ok(Some(status)) = child.try_wait() {
            println!(
                "lava-dispatch RSS during the kvm health check: peak {:.1} MiB over {samples} samples; job {} in {:.1} s",
                peak as f64 / 1024.0,
                if status.success() {
                    "complete"
                } else {
                    "INCOMPLETE"
                },
                started.elapsed().as_secs_f64()
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The worker daemon's memory while idle (its server unreachable, so it waits and retries).
fn worker_rss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("worker.token");
    std::fs::write(&token, "x\n").expect("token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("mode");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lava-dispatcher"))
        .args([
            "worker",
            "--url",
            "http://127.0.0.1:9",
            "--name",
            "bench",
            "--token-file",
        ])
        .arg(&token)
        .env("LAVA_ROOT", dir.path())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker");
    std::thread::sleep(Duration::from_secs(2));
    let rss = rss_kib(child.id()).unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "idle RSS: lava-dispatcher worker {:.1} MiB",
        rss as f64 / 1024.0
    );
}

fn main() {
    // `cargo bench` passes --bench; a plain `cargo test --benches` run passes nothing and
    // should stay quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    raw_pty();
    throughput();
    job_rss();
    worker_rss();
}
