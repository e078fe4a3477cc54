//! `make bench` for board jobs on the U-Boot QEMU board: a board job's time through
//! `lava-dispatch` against the raw boot (the same images, the device type's ramdisk commands
//! typed by hand), and the test overlay's transfer rate for a 5 MiB repository in the
//! ramdisk over TFTP against the rate over the console (acknowledged base64 chunks).
//!
//! The kernel's 27 MiB TFTP transfer varies by seconds from boot to boot (QEMU's user-mode
//! network under TCG), so the overhead is also given with each boot's own kernel transfer
//! taken out. Both boots start from the same power command, the device's `hard_reset_command`
//! (a PDU reboot with the board's `--delay 1`), so the difference is the dispatcher's own.
//!
//! Prints figures; asserts nothing about speed (a busy machine must not fail a build).
//! `LAVA_BENCH_BOOTS` sets how many raw boots and jobs are timed (default 3).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lava_common::log::{Level, LogLine, Message, parse_line};
use lava_testkit::{UbootBoard, UbootBoardConfig, board_image, built_pduclient};

const WAIT: Duration = Duration::from_secs(300);

/// Job and action timeouts (minutes) of the jobs that boot and run tests.
const QUICK: (u32, u32) = (15, 8);

/// ... and of the job whose 5 MiB overlay goes over the console.
const SLOW_CONSOLE: (u32, u32) = (45, 40);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn git_repo(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let repo = dir.join("tests.git");
    let _ = std::fs::remove_dir_all(&repo);
    for (path, data) in files {
        let p = repo.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    common::commit(&repo);
    repo
}

struct Job {
    total: Duration,
    log: Vec<LogLine>,
}

fn run_job(board: &UbootBoard, dir: &Path, job: &str, id: &str) -> Job {
    let image = board_image().unwrap();
    let file = dir.join(format!("{id}.yaml"));
    std::fs::write(&file, job).unwrap();
    let out = dir.join(id);
    let started = Instant::now();
    let status = Command::new(workspace().join("target/release/lava-dispatch"))
        .arg("--device")
        .arg(board.device_conf_path())
        .arg("--output-dir")
        .arg(&out)
        .args(["--job-id", id, "--quiet"])
        .arg(&file)
        .env("LAVA_ROOT", dir.join("root"))
        .env(
            "LAVA_FILE_URL_DIRS",
            format!(
                "{}:{}",
                image.kernel.parent().unwrap().display(),
                dir.display()
            ),
        )
        .env("LAVA_DISPATCHER_CACHE", dir.join("cache"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let total = started.elapsed();
    let text = std::fs::read_to_string(out.join("output.yaml")).unwrap();
    assert!(status.success(), "job {id} failed:\n{text}");
    let log = text.lines().map(|l| parse_line(l).unwrap()).collect();
    Job { total, log }
}

fn text(l: &LogLine) -> &str {
    match &l.msg {
        Message::Text(t) => t,
        Message::Map(_) => "",
    }
}

fn secs(a: &LogLine, b: &LogLine) -> f64 {
    let t =
        |l: &LogLine| chrono::NaiveDateTime::parse_from_str(&l.dt, "%Y-%m-%dT%H:%M:%S%.f").unwrap();
    (t(b) - t(a)).num_microseconds().unwrap() as f64 / 1e6
}

/// From the power command to "the shell is ready", and the kernel's transfer, by the log's
/// clock.
fn to_shell(log: &[LogLine]) -> (f64, f64) {
    let find = |what: &dyn Fn(&LogLine) -> bool| log.iter().position(what).unwrap();
    let power = find(&|l| text(l).starts_with("hard_reset_command:"));
    let ready = find(&|l| text(l) == "the shell is ready");
    let sent = find(&|l| l.lvl == Level::Input && text(l).starts_with("tftp 0x40400000"));
    let next = sent
        + 1
        + log[sent + 1..]
            .iter()
            .position(|l| l.lvl == Level::Input)
            .unwrap();
    (secs(&log[power], &log[ready]), secs(&log[sent], &log[next]))
}

/// The number in a log line like "… (N bytes)".
fn bytes_in(line: &str) -> u64 {
    line.rsplit('(')
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A board job; `minutes` are the job's and each action's timeouts.
fn job_yaml(
    image: &lava_testkit::BoardImage,
    repo: &Path,
    path: &str,
    ramdisk: &str,
    minutes: (u32, u32),
) -> String {
    format!(
        "job_name: bench\ndevice_type: uboot-qemu\nvisibility: public\ntimeouts:\n  job: {{minutes: {}}}\n  action: {{minutes: {}}}\n\
         actions:\n- deploy:\n    to: tftp\n    kernel: {{url: 'file://{}', type: image}}\n    ramdisk:\n      url: 'file://{}'\n{ramdisk}    dtb: {{url: 'file://{}'}}\n\
         - boot:\n    method: u-boot\n    commands: ramdisk\n    auto_login: {{login_prompt: 'login:', username: root}}\n    prompts: ['root@lava-arm64:~#']\n\
         - test:\n    definitions:\n    - {{from: git, repository: 'file://{}', path: {path}, name: t}}\n",
        minutes.0,
        minutes.1,
        image.kernel.display(),
        image.ramdisk.display(),
        image.dtb.display(),
        repo.display()
    )
}

fn main() {
    let boots: usize = std::env::var("LAVA_BENCH_BOOTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let image = board_image().expect("the board's images");
    let board = UbootBoard::start(&UbootBoardConfig::temporary(&built_pduclient().unwrap()))
        .expect("the board");
    let dir = tempfile::tempdir().unwrap();
    let files = board.place_job_files("raw", &image).expect("job files");
    let commands = board.ramdisk_commands(&files).expect("boot commands");
    let smoke = include_bytes!("../../../share/test-definitions/smoke.yaml");
    let repo = git_repo(dir.path(), &[("smoke.yaml", smoke)]);
    let (mut raw, mut raw_net) = (Vec::new(), Vec::new());
    let (mut total, mut shell, mut shell_net) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..boots {
        // Powered as the dispatcher powers the board: through its `hard_reset_command`.
        let boot = board
            .raw_boot(&commands, "hard_reset_command", WAIT)
            .expect("raw boot");
        raw.push(boot.shell_prompt.as_secs_f64());
        raw_net.push((boot.shell_prompt - boot.kernel_tftp).as_secs_f64());
        let job = run_job(
            &board,
            dir.path(),
            &job_yaml(&image, &repo, "smoke.yaml", "", QUICK),
            &format!("j{n}"),
        );
        let (to, kernel) = to_shell(&job.log);
        total.push(job.total.as_secs_f64());
        shell.push(to);
        shell_net.push(to - kernel);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (raw_m, raw_net_m) = (median(&mut raw), median(&mut raw_net));
    let (total_m, shell_m, net_m) = (
        median(&mut total),
        median(&mut shell),
        median(&mut shell_net),
    );
    println!(
        "board job (deploy over TFTP, u-boot ramdisk boot, smoke test): total {total_m:.2} s, power-on to shell {shell_m:.2} s; raw boot power-on to shell {raw_m:.2} s (median of {boots})"
    );
    println!(
        "board job overhead over the raw boot: {:.2} s to the shell, {:.2} s for the whole job; without the kernel's TFTP transfer (which varies by seconds): {:.2} s (goal under 1 s)",
        shell_m - raw_m,
        total_m - raw_m,
        net_m - raw_net_m
    );

    // The overlay of a 5 MiB repository with a binary file: in the ramdisk over TFTP...
    let blob = common::noise(5 << 20);
    let def = b"metadata:\n  format: Lava-Test Test Definition 1.0\n  name: big\nrun:\n  steps:\n  - lava-test-case size --shell test -s bin/blob.bin\n";
    let repo = git_repo(dir.path(), &[("big.yaml", def), ("bin/blob.bin", &blob)]);
    let job = run_job(
        &board,
        dir.path(),
        &job_yaml(&image, &repo, "big.yaml", "", QUICK),
        "ramdisk",
    );
    let overlay = job
        .log
        .iter()
        .find(|l| text(l).starts_with("test overlay "))
        .map(|l| {
            text(l)
                .split(", ")
                .last()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .unwrap();
    let placed = job
        .log
        .iter()
        .find(|l| text(l).starts_with("ramdisk on the TFTP server:"))
        .unwrap();
    let ramdisk_bytes = bytes_in(text(placed));
    let sent = job
        .log
        .iter()
        .position(|l| l.lvl == Level::Input && text(l).starts_with("tftp 0x44000000"))
        .unwrap();
    let next = job.log[sent + 1..]
        .iter()
        .find(|l| l.lvl == Level::Input)
        .unwrap();
    let tftp_s = secs(&job.log[sent], next);
    let tftp_rate = ramdisk_bytes as f64 / tftp_s;
    // ... and over the console, in acknowledged base64 chunks. The emulated UART takes
    // some 20 KiB/s, less on a loaded machine: the 5 MiB take minutes, hence the timeouts.
    let job = run_job(
        &board,
        dir.path(),
        &job_yaml(
            &image,
            &repo,
            "big.yaml",
            "      install_overlay: false\n",
            SLOW_CONSOLE,
        ),
        "console",
    );
    let line = job
        .log
        .iter()
        .find(|l| text(l).starts_with("overlay over the console: "))
        .map(|l| text(l).to_string())
        .unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    let (console_bytes, console_s): (f64, f64) =
        (words[4].parse().unwrap(), words[7].parse().unwrap());
    let console_rate = console_bytes / console_s;
    let mib = |b: f64| b / 1048576.0;
    println!(
        "test overlay of a 5 MiB repository ({overlay} bytes compressed): {:.2} MiB/s in the ramdisk over TFTP ({ramdisk_bytes} bytes in {tftp_s:.2} s) against {:.3} MiB/s over the console in base64 ({console_bytes} bytes in {console_s:.2} s): {:.0}x (goal at least 10x)",
        mib(tftp_rate),
        mib(console_rate),
        tftp_rate / console_rate
    );
    println!(
        "bench: console overlay transfer rate: {:.1} KiB/s ({console_bytes} bytes in {console_s:.2} s)",
        console_rate / 1024.0
    );
    println!(
        "bench: console overlay job total time: {:.2} s",
        job.total.as_secs_f64()
    );
}
