//! `tools/bench-table`, which `make bench` ends with: our figures found in a bench log in
//! the benches' own line formats, LAVA 2023.01's beside them with the ratio, a missing
//! figure said to be missing, and the benches' exit status passed on.

use std::path::Path;
use std::process::Command;

fn table(log: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.log");
    std::fs::write(&path, log).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/bench-table");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 (package python3)");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn row<'a>(table: &'a str, measure: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("| {measure} ")))
        .unwrap_or_else(|| panic!("no row {measure}:\n{table}"))
}

const LOG: &str = "\
bench: scheduling pass, 50000 queued jobs (a third with tags, 1% naming a device) and 2000 idle devices, assigned 1850: 301.52 ms
submit-to-running over 200 jobs on 20 devices: p50 10.00 ms, p95 14.00 ms
idle RSS: lava-server web 12.0 MiB, lava-server scheduler 8.0 MiB
XML-RPC scheduler.jobs.submit: p50 5.00 ms, p95 9.00 ms (one client); 1058/s (16 clients)
all jobs, first page (/scheduler/alljobs): p50 2.33 ms, p95 2.50 ms (one client); 700 requests/s (8 clients)
1 GiB log: REST logs/ whole: 3.1 s, 346 MB/s, first byte after 1.20 ms; web process peak since start 41 MiB
REST jobs/?submitter= at 1000000 jobs (count + list): p50 0.90 ms, p99 2.00 ms
chart queue length (7 days) at 1000000 jobs: p50 40.42 ms, p99 42.97 ms
bench: soak 500 devices 5 workers 20000 jobs, jobs per hour (first submit to last end, 2000.0 s): 36000
";

#[test]
fn the_table_puts_lavas_figures_beside_ours() {
    let (code, out, err) = table(&format!("{LOG}bench-exit: 0\n"));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        row(&out, "scheduling pass, 50,000 queued x 2,000 idle devices").contains("302 ms"),
        "{out}"
    );
    let s2r = row(
        &out,
        "submit-to-running p50, 20 devices (LAVA: stock scheduler)",
    );
    assert!(
        s2r.contains("10.00 ms") && s2r.contains("14,600 ms") && s2r.contains("1,460.0x"),
        "{s2r}"
    );
    let xmlrpc = row(&out, "XML-RPC scheduler.jobs.submit, 16 clients");
    assert!(
        xmlrpc.contains("1,058 jobs/s") && xmlrpc.contains("20.0x"),
        "{xmlrpc}"
    );
    assert!(
        row(&out, "all-jobs page p50, 100,000 jobs").contains("20.0x"),
        "{out}"
    );
    assert!(
        row(&out, "web process peak RSS serving the 1 GiB log over REST").contains("41.00 MiB"),
        "{out}"
    );
    assert!(
        row(&out, "soak: jobs per hour").contains("36,000 jobs/h"),
        "{out}"
    );
    assert!(
        row(&out, "REST jobs/?submitter= at 1,000,000 jobs, p50 / p99").contains("0.90 / 2.00 ms"),
        "{out}"
    );
    assert!(
        row(
            &out,
            "chart queue length, 7 days, at 1,000,000 jobs, p50 / p99"
        )
        .contains("40.42 / 42.97 ms"),
        "{out}"
    );
    // (12 + 8) MiB is 20.97 MB against LAVA's 862 MB.
    assert!(
        row(
            &out,
            "idle RSS, web + scheduler (LAVA: server stack and worker)"
        )
        .contains("41.1x"),
        "{out}"
    );
    assert!(
        row(&out, "soak: submit-to-running p99").contains("not in the log"),
        "{out}"
    );
}

#[test]
fn failed_or_unfinished_benches_fail_the_table() {
    let (code, out, err) = table(&format!("{LOG}bench-exit: 2\n"));
    assert_eq!(code, Some(2));
    assert!(
        out.contains("| measure"),
        "the table is printed anyway: {out}"
    );
    assert!(err.contains("the benches failed (exit 2)"), "{err}");
    let (code, _, err) = table(LOG);
    assert_eq!(code, Some(1));
    assert!(err.contains("no bench-exit line"), "{err}");
}
