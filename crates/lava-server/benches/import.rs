//! Bringing a big LAVA lab over: a `dumpdata` dump in LAVA 2023.01's shape with JOBS finished
//! jobs (default 1,000,000; `LAVA_BENCH_IMPORT_JOBS` to change it), each with a test suite of
//! two cases (results listed before jobs and users after both, as a real LAVA 2023.01 dump
//! orders them: `tools/lava-2023-dump`), is generated, then
//! `lava-server manage import-lava --with-history` imports it into a fresh database. Prints
//! the import rate in dump rows per second and the importer's peak memory; asserts nothing.

mod common;

use std::io::Write as _;
use std::time::Instant;

fn main() {
    common::run_bench(bench());
}

/// Writes the dump; returns its rows.
fn write_dump(path: &std::path::Path, jobs: u64) -> u64 {
    let file = std::fs::File::create(path).expect("dump");
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut rows = 0u64;
    let mut put = |w: &mut std::io::BufWriter<std::fs::File>, _: bool, record: String| {
        if rows > 0 {
            w.write_all(b",\n").expect("write");
        }
        w.write_all(record.as_bytes()).expect("write");
        rows += 1;
    };
    w.write_all(b"[").expect("write");
    for j in 1..=jobs {
        put(
            &mut w,
            false,
            format!(
                r#"{{"model": "lava_results_app.testsuite", "pk": {j}, "fields": {{"name": "0_smoke", "job": {j}}}}}"#
            ),
        );
        for (k, (name, result)) in [("boot", 0), ("ping", 1)].iter().enumerate() {
            put(
                &mut w,
                false,
                format!(
                    r#"{{"model": "lava_results_app.testcase", "pk": {}, "fields": {{"name": "{name}", "units": "", "result": {result}, "measurement": null, "metadata": "case: {name}\n", "suite": {j}, "start_log_line": {}, "end_log_line": {}, "test_set": null, "logged": "2023-02-01T10:04:00Z"}}}}"#,
                    j * 2 + k as u64,
                    10 + k,
                    11 + k
                ),
            );
        }
    }
    put(
        &mut w,
        false,
        r#"{"model": "lava_scheduler_app.devicetype", "pk": "qemu", "fields": {"architecture": null, "processor": null, "cpu_model": null, "bits": null, "cores": [], "core_count": null, "description": "", "health_frequency": 24, "disable_health_check": true, "health_denominator": 0, "display": true}}"#.into(),
    );
    put(
        &mut w,
        false,
        r#"{"model": "lava_scheduler_app.worker", "pk": "w1", "fields": {"state": 1, "health": 0, "description": "", "last_ping": "2023-02-01T10:00:00Z", "job_limit": 0, "version": "2023.01", "token": "x"}}"#.into(),
    );
    for d in 0..10 {
        put(
            &mut w,
            false,
            format!(
                r#"{{"model": "lava_scheduler_app.device", "pk": "qemu{d:02}", "fields": {{"device_type": "qemu", "device_version": "", "physical_owner": null, "physical_group": null, "description": "", "tags": [], "state": 0, "health": 0, "last_health_report_job": null, "worker_host": "w1", "is_synced": true}}}}"#
            ),
        );
    }
    for j in 1..=jobs {
        let day = j % 28 + 1;
        put(
            &mut w,
            false,
            format!(
                r#"{{"model": "lava_scheduler_app.testjob", "pk": {j}, "fields": {{"sub_id": "", "is_public": true, "target_group": null, "submitter": 1, "viewing_groups": [], "description": "smoke {j}", "health_check": false, "requested_device_type": "qemu", "tags": [], "actual_device": "qemu{:02}", "submit_time": "2023-02-{day:02}T10:00:00.405Z", "start_time": "2023-02-{day:02}T10:00:05.773Z", "end_time": "2023-02-{day:02}T10:05:00.836Z", "state": 5, "health": {}, "priority": 50, "definition": "job_name: smoke {j}\ndevice_type: qemu\nvisibility: public\ntimeouts:\n  job: {{minutes: 10}}\nactions: []\n", "original_definition": "job_name: smoke {j}\ndevice_type: qemu\nvisibility: public\ntimeouts:\n  job: {{minutes: 10}}\nactions: []\n", "multinode_definition": "", "pipeline_compatibility": 0, "queue_timeout": null, "failure_tags": [], "failure_comment": null, "token": ""}}}}"#,
                j % 10,
                1 + j % 2
            ),
        );
    }
    // Django's own apps come after LAVA's in a real dump: the submitter after its jobs.
    put(
        &mut w,
        false,
        r#"{"model": "auth.user", "pk": 1, "fields": {"password": "!", "last_login": null, "is_superuser": false, "username": "ci", "first_name": "", "last_name": "", "email": "", "is_staff": false, "is_active": true, "date_joined": "2023-01-01T00:00:00.125Z", "groups": [], "user_permissions": []}}"#.into(),
    );
    w.write_all(b"]\n").expect("write");
    w.flush().expect("flush");
    rows
}

/// Runs `cmd` to its end, sampling its peak resident set (`VmHWM`, the kernel's high-water
/// mark, read every 10 ms; the last read is at most 10 ms before the end). Returns its
/// standard output and the peak in bytes.
fn run_measured(cmd: &mut std::process::Command) -> (String, u64) {
    use std::io::Read as _;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let status_file = format!("/proc/{}/status", child.id());
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let readers = std::thread::spawn(move || {
        let (mut o, mut e) = (String::new(), String::new());
        let _ = out.read_to_string(&mut o);
        let _ = err.read_to_string(&mut e);
        (o, e)
    });
    let mut peak = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kb * 1024);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let (stdout, stderr) = readers.join().expect("readers");
    assert!(status.success(), "{stderr}");
    (stdout, peak)
}

async fn bench() {
    let jobs: u64 = std::env::var("LAVA_BENCH_IMPORT_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let db = lava_testkit::test_db().await.expect("database");
    let dir = tempfile::tempdir().expect("tempdir");
    let dump = dir.path().join("dump.json");
    let started = Instant::now();
    let rows = write_dump(&dump, jobs);
    let size = std::fs::metadata(&dump).expect("dump").len();
    println!(
        "import: a dump of {jobs} jobs, {rows} rows, {:.0} MB written in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let config = dir.path().join("dispatcher-config");
    std::fs::create_dir_all(&config).expect("dir");
    let root = dir.path().join("root");
    let server = env!("CARGO_BIN_EXE_lava-server");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(server)
            .args(args)
            .env("LAVA_ROOT", &root)
            .env("LAVA_DATABASE_URL", db.url())
            .env_remove("LAVA_SETTINGS")
            .output()
            .expect("lava-server");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["manage", "migrate"]);
    let started = Instant::now();
    let (stdout, peak) = run_measured(
        std::process::Command::new(server)
            .args([
                "manage",
                "import-lava",
                "--with-history",
                "--dispatcher-config",
            ])
            .arg(&config)
            .arg("--dump")
            .arg(&dump)
            .env("LAVA_ROOT", &root)
            .env("LAVA_DATABASE_URL", db.url())
            .env_remove("LAVA_SETTINGS"),
    );
    let took = started.elapsed().as_secs_f64();
    let history = stdout
        .lines()
        .find(|l| l.starts_with("history:"))
        .unwrap_or("no history line");
    println!("import: {history}");
    println!(
        "bench: import-lava --with-history, {jobs} jobs: {rows} rows in {took:.1} s: {:.0} rows/s",
        rows as f64 / took
    );
    println!(
        "bench: import-lava --with-history, {jobs} jobs: peak RSS of the importer {:.1} MB",
        peak as f64 / 1e6
    );
}
