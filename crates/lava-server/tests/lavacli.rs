//! Debian's real `lavacli` against the real web app: what it prints and its exit status.
//! Needs Debian's `lavacli` package (`.ci/run` installs it); fails, naming it, without.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::printed::Printed;
use common::*;
use lava_common::worker_api::Ack;

const LAVACLI: &str = "/usr/bin/lavacli";

/// lavacli with its config in `home` (XDG_CONFIG_HOME) and no proxy in the way.
fn lavacli(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(LAVACLI);
    c.args(args)
        .env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .env("NO_PROXY", "*")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy");
    c
}

fn run(home: &Path, args: &[&str]) -> (i32, String) {
    let out: Output = lavacli(home, args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn lavacli_submits_shows_follows_and_lists() {
    assert!(
        Path::new(LAVACLI).exists(),
        "{LAVACLI} is not installed: apt-get install lavacli"
    );
    let s = Server::start().await;
    let token = s.user("admin", true);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let uri = format!("{}/RPC2", s.url);
    let add = [
        "identities",
        "add",
        "default",
        "--uri",
        &uri,
        "--username",
        "admin",
        "--token",
        &token,
    ];
    assert_eq!(run(h, &add).0, 0);

    assert_eq!(run(h, &["system", "version"]), (0, "2023.01\n".into()));
    let w = s.worker("w1");
    w.poll(&[], 0).await;

    let job = h.join("job.yaml");
    std::fs::write(&job, EMPTY_JOB).unwrap();
    let (code, out) = run(h, &["jobs", "submit", job.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let id: i64 = out.trim().parse().unwrap_or_else(|_| panic!("{out}"));

    let (code, show) = run(h, &["jobs", "show", &id.to_string()]);
    assert_eq!(code, 0, "{show}");
    assert!(
        show.starts_with(&format!(
            "id          : {id}\ndescription : t\nsubmitter   : admin\ndevice-type : kvm\n"
        )),
        "{show}"
    );
    assert!(show.contains("visibility  : Public\n"), "{show}");

    w.take(id).await;
    // `jobs wait` while the job runs: it prints the state, then dots, and returns once the
    // job is finished.
    let mut waiter = tokio::process::Command::from(lavacli(
        h,
        &["jobs", "wait", &id.to_string(), "--polling", "1"],
    ))
    .stdout(Stdio::piped())
    .kill_on_drop(true)
    .spawn()
    .unwrap();
    let mut printed = Printed::new(waiter.stdout.take().unwrap());
    // The job ends only once the waiter has seen it running (it prints the state it sees).
    printed
        .until("`jobs wait` to print the Running state", 30, |t| {
            t.contains("Running")
        })
        .await;
    let lines: String = (0..3).map(line).collect();
    let (status, _) = w.log(id, 0, &lines).await;
    assert_eq!(status, 200);
    let (status, _): (u16, Ack) = w.complete(id, 3).await;
    assert_eq!(status, 200);
    let waited_out = printed.read_to_end(30).await;
    let waited = waiter.wait().await.unwrap();
    assert!(waited.success(), "{waited_out}");
    assert!(waited_out.starts_with("Running"), "{waited_out}");

    let (code, logs) = run(h, &["jobs", "logs", &id.to_string(), "--no-follow"]);
    assert_eq!(code, 0, "{logs}");
    assert_eq!(
        logs,
        "2026-01-01T00:00:00 line 0\n2026-01-01T00:00:00 line 1\n2026-01-01T00:00:00 line 2\n"
    );
    let (code, raw) = run(
        h,
        &["jobs", "logs", &id.to_string(), "--start", "2", "--raw"],
    );
    assert_eq!((code, raw), (0, line(2)));
    // Already finished: nothing to wait for.
    assert_eq!(
        run(h, &["jobs", "wait", &id.to_string()]),
        (0, String::new())
    );
    let (_, show) = run(h, &["jobs", "show", &id.to_string()]);
    assert!(
        show.contains("state       : Finished\nHealth      : Complete\n"),
        "{show}"
    );

    let (code, list) = run(h, &["jobs", "list", "--limit", "1"]);
    assert_eq!(
        (code, list),
        (
            0,
            format!("Jobs (from 1 to 1):\n* {id}: Finished,Complete [admin] (t) - kvm\n")
        )
    );
    let (code, devices) = run(h, &["devices", "list"]);
    assert_eq!(
        (code, devices),
        (0, "Devices:\n* kvm01 (kvm): Idle,Unknown\n".into())
    );
    assert_eq!(run(h, &["workers", "list"]), (0, "Workers:\n* w1\n".into()));

    let (code, out) = run(h, &["jobs", "show", "99999"]);
    assert_eq!(
        (code, out.trim()),
        (
            1,
            "Unable to call 'jobs.show': <Fault 404: \"Job '99999' was not found.\">"
        )
    );
    let bad = format!("{}/RPC2", s.url.replace("http://", "http://admin:wrong@"));
    let (code, out) = run(h, &["--uri", &bad, "system", "version"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("Unable to connect: 401 Client Error: Unauthorized for url: "),
        "{out}"
    );
}
