//! `lava-server manage …` and `add_device.py`, run as a user would, against a private
//! PostgreSQL (one database per test) and a `LAVA_ROOT` sandbox per test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lava_testkit::{TestDb, test_db};

/// One sandbox: a LAVA_ROOT directory and a database.
struct Lab {
    root: tempfile::TempDir,
    db: TestDb,
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

impl Lab {
    async fn new() -> Lab {
        let lab = Lab {
            root: tempfile::tempdir().unwrap(),
            db: test_db().await.unwrap(),
        };
        let types = lab.root.path().join("etc/lava-dispatcher/device-types");
        std::fs::create_dir_all(&types).unwrap();
        for t in ["kvm", "mx53loco"] {
            std::fs::copy(
                examples().join(format!("device-types/{t}.conf")),
                types.join(format!("{t}.conf")),
            )
            .unwrap();
        }
        lab
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn run_as(&self, program: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("LAVA_ROOT", self.root.path())
            .env("LAVA_DATABASE_URL", self.db.url())
            .env_remove("LAVA_SETTINGS")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(text) = stdin {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs `lava-server ARGS`.
    fn server(&self, args: &[&str]) -> Output {
        self.run_as(Path::new(env!("CARGO_BIN_EXE_lava-server")), args, None)
    }

    /// Runs `lava-server manage ARGS` and expects success; returns stdout.
    fn manage(&self, args: &[&str]) -> String {
        let mut all = vec!["manage"];
        all.extend_from_slice(args);
        let out = self.server(&all);
        assert!(
            out.status.success(),
            "manage {args:?} failed: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs the binary through a link named `add_device.py`, as the seed calls it.
    fn add_device(&self, args: &[&str]) -> Output {
        let link = self.path("usr/share/lava-server/add_device.py");
        if !link.exists() {
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_lava-server"), &link).unwrap();
        }
        self.run_as(&link, args, None)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn seed_add_device_example() {
    let lab = Lab::new().await;
    lab.manage(&["migrate"]);
    let out = lab.add_device(&["mx53loco", "foo", "-t", "4006", "-p", "5", "-b"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let conf = lab.path("etc/lava-dispatcher/devices/foo.conf");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "hostname = foo\n\
         device_type = mx53loco\n\
         connection_command = telnet localhost 4006\n\
         hard_reset_command = /usr/bin/pduclient --daemon localhost --hostname pdu --command reboot --port 05\n\
         power_off_cmd = /usr/bin/pduclient --daemon localhost --hostname pdu --command off --port 05\n"
    );
    let devices = lab.manage(&["devices", "list"]);
    assert_eq!(devices, "foo\tmx53loco\tidle\tunknown\t-\n");
    assert_eq!(
        lab.manage(&["streams", "list"]),
        "/anonymous/lab-health/\t0\tpublic\tanonymous\n"
    );
    assert!(
        lab.manage(&["device-types", "list"])
            .contains("mx53loco\t1\tno")
    );

    // The same call again fails naming the device, and changes nothing.
    let before = std::fs::read_to_string(&conf).unwrap();
    let again = lab.add_device(&["mx53loco", "foo", "-t", "4006", "-p", "5", "-b"]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("'foo'"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), before);
    assert_eq!(lab.manage(&["devices", "list"]), devices);
    assert_eq!(lab.manage(&["streams", "list"]).lines().count(), 1);

    // An unknown type fails naming the type.
    let unknown = lab.add_device(&["nosuchtype", "bar"]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("'nosuchtype'"),
        "{}",
        text(&unknown.stderr)
    );
    assert!(!lab.path("etc/lava-dispatcher/devices/bar.conf").exists());
}

#[tokio::test]
async fn add_device_via_manage_and_simulate() {
    let lab = Lab::new().await;
    lab.manage(&["migrate"]);
    let sim = lab.manage(&["add-device", "kvm", "kvm02", "-s", "-b"]);
    assert!(sim.contains("hostname = kvm02"), "{sim}");
    assert!(
        sim.contains("would create bundle stream /anonymous/lab-health/"),
        "{sim}"
    );
    assert!(!lab.path("etc/lava-dispatcher/devices/kvm02.conf").exists());
    assert_eq!(lab.manage(&["devices", "list"]), "");
    assert_eq!(lab.manage(&["streams", "list"]), "");

    lab.manage(&["add-device", "kvm", "kvm02"]);
    assert_eq!(
        std::fs::read_to_string(lab.path("etc/lava-dispatcher/devices/kvm02.conf")).unwrap(),
        "hostname = kvm02\ndevice_type = kvm\n"
    );
    // -b with a stream already present adds none.
    lab.manage(&["streams", "add", "/anonymous/mine/"]);
    lab.manage(&["add-device", "kvm", "kvm03", "-b"]);
    assert_eq!(
        lab.manage(&["streams", "list"]),
        "/anonymous/mine/\t0\tpublic\tanonymous\n"
    );
}

#[tokio::test]
async fn add_device_leaves_nothing_behind_on_failure() {
    let lab = Lab::new().await;
    lab.manage(&["migrate"]);
    // A device already in the database but without a file: refused, no file written.
    lab.manage(&[
        "loaddata",
        examples().join("models/kvm.json").to_str().unwrap(),
    ]);
    let out = lab.add_device(&["kvm", "kvm01"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("device 'kvm01' already exists in the database"));
    assert!(!lab.path("etc/lava-dispatcher/devices/kvm01.conf").exists());

    // The file cannot be written (devices/ is a plain file): no database row either.
    std::fs::write(lab.path("etc/lava-dispatcher/devices"), "not a directory").unwrap();
    let out = lab.add_device(&["kvm", "kvm09", "-b"]);
    assert!(!out.status.success());
    let devices = lab.manage(&["devices", "list"]);
    assert!(!devices.contains("kvm09"), "{devices}");
    assert_eq!(lab.manage(&["streams", "list"]), "");
}

#[tokio::test]
async fn loaddata_is_idempotent_and_atomic() {
    let lab = Lab::new().await;
    lab.manage(&["migrate"]);
    assert_eq!(lab.manage(&["migrate"]), "No migrations to apply.\n");
    let kvm = examples().join("models/kvm.json");
    let kvm = kvm.to_str().unwrap();
    for _ in 0..2 {
        let out = lab.manage(&["loaddata", kvm]);
        assert_eq!(out, "Installed 2 object(s) from 1 fixture(s)\n");
    }
    assert_eq!(lab.manage(&["device-types", "list"]), "kvm\t1\tno\n");
    assert_eq!(
        lab.manage(&["devices", "list"]),
        "kvm01\tkvm\tidle\tunknown\t-\n"
    );

    // One bad record (a device of a type that exists nowhere) loads nothing of the file.
    let bad = lab.path("bad.json");
    std::fs::write(
        &bad,
        r#"[{"model": "lava_scheduler_app.devicetype", "pk": "qemu", "fields": {}},
            {"model": "lava_scheduler_app.device", "pk": "qemu01", "fields": {"device_type": "qemu"}},
            {"model": "lava_scheduler_app.device", "pk": "x1", "fields": {"device_type": "nosuch"}}]"#,
    )
    .unwrap();
    let out = lab.server(&["manage", "loaddata", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("record 2"), "{err}");
    assert!(err.contains("field 'device_type'"), "{err}");
    assert!(err.contains("nothing was loaded"), "{err}");
    assert_eq!(lab.manage(&["device-types", "list"]), "kvm\t1\tno\n");

    // A type error is caught before the database is touched, with index and field.
    std::fs::write(
        &bad,
        r#"[{"model": "lava_scheduler_app.devicetype", "pk": "qemu", "fields": {}},
            {"model": "lava_scheduler_app.device", "pk": "qemu01", "fields": {"device_type": "qemu", "status": "idle"}}]"#,
    )
    .unwrap();
    let out = lab.server(&["manage", "loaddata", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("record 1 (lava_scheduler_app.device 'qemu01'), field 'status'"),
        "{err}"
    );
    assert_eq!(lab.manage(&["devices", "list"]).lines().count(), 1);

    // Unknown fields load with a warning naming the record.
    std::fs::write(
        &bad,
        r#"[{"model": "lava_scheduler_app.devicetype", "pk": "qemu", "fields": {"colour": "red"}}]"#,
    )
    .unwrap();
    let out = lab.server(&["manage", "loaddata", bad.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(
        text(&out.stderr)
            .contains("record 0 (lava_scheduler_app.devicetype 'qemu'), field 'colour'")
    );
}

#[tokio::test]
async fn dumpdata_round_trips_into_a_fresh_database() {
    let lab = Lab::new().await;
    lab.manage(&["migrate"]);
    lab.manage(&[
        "loaddata",
        examples().join("models/kvm.json").to_str().unwrap(),
    ]);
    lab.manage(&[
        "users",
        "add",
        "admin",
        "--superuser",
        "--email",
        "a@example.org",
    ]);
    lab.manage(&[
        "streams",
        "add",
        "/anonymous/lab-health/",
        "--user",
        "admin",
    ]);
    lab.manage(&[
        "devices",
        "set-health",
        "kvm01",
        "maintenance",
        "--reason",
        "cabling",
    ]);
    lab.manage(&[
        "failure-tags",
        "add",
        "lab network",
        "--description",
        "the switch again",
    ]);
    lab.manage(&["failure-tags", "add", "bootloader-hang"]);
    let dump = lab.manage(&["dumpdata", "--indent", "2"]);
    // Failure tags in LAVA's model and shape: the id as pk, name and description.
    let v: serde_json::Value = serde_json::from_str(&dump).unwrap();
    let tags: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["model"] == "lava_scheduler_app.jobfailuretag")
        .cloned()
        .collect();
    assert_eq!(
        tags,
        [
            serde_json::json!({"model": "lava_scheduler_app.jobfailuretag", "pk": 1,
                "fields": {"name": "lab network", "description": "the switch again"}}),
            serde_json::json!({"model": "lava_scheduler_app.jobfailuretag", "pk": 2,
                "fields": {"name": "bootloader-hang", "description": ""}}),
        ]
    );
    let file = lab.path("dump.json");
    std::fs::write(&file, &dump).unwrap();

    let other = Lab::new().await;
    other.manage(&["migrate"]);
    other.manage(&["loaddata", file.to_str().unwrap()]);
    assert_eq!(other.manage(&["dumpdata", "--indent", "2"]), dump);
    assert_eq!(
        other.manage(&["failure-tags", "list"]),
        "2\tbootloader-hang\t\n1\tlab network\tthe switch again\n"
    );
    // Loading again changes nothing; a changed description is taken, matched by name.
    other.manage(&["loaddata", file.to_str().unwrap()]);
    assert_eq!(other.manage(&["dumpdata", "--indent", "2"]), dump);
    let edited = other.path("edited.json");
    std::fs::write(&edited, dump.replace("the switch again", "fixed")).unwrap();
    other.manage(&["loaddata", edited.to_str().unwrap()]);
    assert!(
        other
            .manage(&["failure-tags", "list"])
            .contains("1\tlab network\tfixed\n")
    );
    let only = other.manage(&["dumpdata", "lava_scheduler_app.JobFailureTag"]);
    let v: serde_json::Value = serde_json::from_str(&only).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(
        other.manage(&["devices", "list"]),
        "kvm01\tkvm\tidle\tmaintenance\t-\n"
    );
    let only = other.manage(&["dumpdata", "lava_scheduler_app.device"]);
    let v: serde_json::Value = serde_json::from_str(&only).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["model"], "lava_scheduler_app.device");
    let out = other.server(&["manage", "dumpdata", "nosuch.model"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown model 'nosuch.model'"));
}

#[tokio::test]
async fn device_types_devices_and_health() {
    let lab = Lab::new().await;
    lab.manage(&["migrate"]);
    lab.manage(&[
        "loaddata",
        examples().join("models/kvm.json").to_str().unwrap(),
    ]);
    let hc = examples().join("health-checks/kvm-health.json");
    lab.manage(&[
        "device-types",
        "set-health-check",
        "kvm",
        hc.to_str().unwrap(),
    ]);
    assert_eq!(lab.manage(&["device-types", "list"]), "kvm\t1\tyes\n");
    let show = lab.manage(&["device-types", "show", "kvm", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(
        v["health_check_job"].as_str().unwrap(),
        std::fs::read_to_string(&hc).unwrap()
    );

    lab.manage(&[
        "devices",
        "set-health",
        "kvm01",
        "bad",
        "--reason",
        "failed check",
    ]);
    lab.manage(&[
        "devices",
        "set-health",
        "kvm01",
        "good",
        "--reason",
        "fixed",
    ]);
    let show = lab.manage(&["devices", "show", "kvm01"]);
    assert!(show.contains("health: good"), "{show}");
    assert!(
        show.contains("unknown -> bad by lava: failed check"),
        "{show}"
    );
    assert!(show.contains("bad -> good by lava: fixed"), "{show}");

    // tags: put on (created when new), listed, taken off
    assert_eq!(
        lab.manage(&["devices", "tags", "add", "kvm01", "fast"]),
        "device 'kvm01': tag added fast\n"
    );
    lab.manage(&["devices", "tags", "add", "kvm01", "arm64"]);
    assert_eq!(
        lab.manage(&["devices", "tags", "list", "kvm01"]),
        "arm64\nfast\n"
    );
    lab.manage(&["devices", "tags", "delete", "kvm01", "fast"]);
    assert!(
        lab.manage(&["devices", "show", "kvm01"])
            .contains("tags: arm64\n")
    );
    let out = lab.server(&["manage", "devices", "tags", "delete", "kvm01", "fast"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("fast"), "{}", text(&out.stderr));
    let out = lab.server(&["manage", "devices", "tags", "add", "nosuch", "fast"]);
    assert!(
        text(&out.stderr).contains("nosuch"),
        "{}",
        text(&out.stderr)
    );

    let out = lab.server(&[
        "manage",
        "devices",
        "set-health",
        "kvm01",
        "broken",
        "--reason",
        "x",
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("invalid device health 'broken'"));
    let out = lab.server(&[
        "manage",
        "devices",
        "set-health",
        "nosuch",
        "bad",
        "--reason",
        "x",
    ]);
    assert!(
        text(&out.stderr).contains("device 'nosuch' was not found"),
        "{}",
        text(&out.stderr)
    );
    let out = lab.server(&["manage", "devices", "set-health", "kvm01", "bad"]);
    assert!(!out.status.success(), "--reason is required");

    lab.manage(&[
        "devices",
        "set-health",
        "kvm01",
        "retired",
        "--reason",
        "gone",
    ]);
    assert_eq!(lab.manage(&["devices", "list"]), "");
    assert!(lab.manage(&["devices", "list", "--all"]).contains("kvm01"));
    let out = lab.server(&[
        "manage",
        "devices",
        "set-health",
        "kvm01",
        "good",
        "--reason",
        "x",
    ]);
    assert!(text(&out.stderr).contains("cannot go from retired to good"));
}

#[tokio::test]
async fn users_tokens_and_workers() {
    let lab = Lab::new().await;
    lab.manage(&["migrate"]);
    let out = lab.run_as(
        Path::new(env!("CARGO_BIN_EXE_lava-server")),
        &[
            "manage",
            "users",
            "add",
            "alice",
            "--staff",
            "--password-stdin",
        ],
        Some("s3cret\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        lab.manage(&["users", "list"]),
        "alice\t-\tstaff\t-\tactive\n"
    );
    let dump = lab.manage(&["dumpdata", "auth.user"]);
    assert!(
        dump.contains("$argon2id$"),
        "password stored as an argon2 hash: {dump}"
    );
    assert!(!dump.contains("s3cret"));

    let token = lab.manage(&["tokens", "add", "--user", "alice", "--description", "ci"]);
    assert_eq!(token.trim().len(), 32);
    let list = lab.manage(&["tokens", "list"]);
    assert!(list.starts_with("1\talice\t"), "{list}");
    assert!(list.trim_end().ends_with("\tci"), "{list}");
    assert!(!list.contains(token.trim()), "the secret is never listed");
    lab.manage(&["tokens", "rm", "1"]);
    assert_eq!(lab.manage(&["tokens", "list"]), "");
    let out = lab.server(&["manage", "tokens", "add", "--user", "bob"]);
    assert!(text(&out.stderr).contains("user 'bob' was not found"));

    let wtoken = lab.manage(&["workers", "add", "worker1"]);
    assert_eq!(wtoken.trim().len(), 32);
    assert_eq!(
        lab.manage(&["workers", "list"]),
        "worker1\toffline\tactive\t0\t-\n"
    );
    let out = lab.server(&["manage", "workers", "add", "worker1"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("worker 'worker1' already exists"));
    // What the lava package's purge does with the local worker it registered.
    assert_eq!(
        lab.manage(&["workers", "remove", "worker1"]),
        "removed worker 'worker1'\n"
    );
    assert_eq!(lab.manage(&["workers", "list"]), "");
    let out = lab.server(&["manage", "workers", "remove", "worker1"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no worker 'worker1'"));
    assert_eq!(
        lab.manage(&["workers", "remove", "worker1", "--if-exists"]),
        "no worker 'worker1'\n"
    );
    // Removed with its token, so the name can be registered again.
    assert_eq!(lab.manage(&["workers", "add", "worker1"]).trim().len(), 32);
}

#[tokio::test]
async fn bad_settings_are_reported_with_their_key() {
    let lab = Lab::new().await;
    let out = Command::new(env!("CARGO_BIN_EXE_lava-server"))
        .args(["manage", "devices", "list"])
        .env("LAVA_ROOT", lab.root.path())
        .env("LAVA_DATABASE_URL", "mysql://nope")
        .env("LAVA_WEB_LISTEN", "here")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("LAVA_DATABASE_URL: 'mysql://nope' is not a postgresql:// URL"),
        "{err}"
    );
    assert!(err.contains("LAVA_WEB_LISTEN: 'here'"), "{err}");
}

#[test]
fn every_command_has_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["manage"],
        &["manage", "migrate"],
        &["manage", "loaddata"],
        &["manage", "dumpdata"],
        &["manage", "add-device"],
        &["manage", "device-types"],
        &["manage", "device-types", "list"],
        &["manage", "device-types", "add"],
        &["manage", "device-types", "show"],
        &["manage", "device-types", "set-health-check"],
        &["manage", "devices", "list"],
        &["manage", "devices", "show"],
        &["manage", "devices", "set-health"],
        &["manage", "streams", "list"],
        &["manage", "streams", "add"],
        &["manage", "users", "add"],
        &["manage", "users", "list"],
        &["manage", "tokens", "add"],
        &["manage", "tokens", "list"],
        &["manage", "tokens", "rm"],
        &["manage", "workers", "list"],
        &["manage", "workers", "add"],
        &["manage", "workers", "remove"],
        &["manage", "jobs", "rm"],
    ];
    for args in commands {
        let mut all = args.to_vec();
        all.push("--help");
        let out = Command::new(env!("CARGO_BIN_EXE_lava-server"))
            .args(&all)
            .output()
            .unwrap();
        assert!(out.status.success(), "{all:?}");
        assert!(text(&out.stdout).contains("Usage:"), "{all:?}");
    }
}

/// `manage jobs rm --older-than DAYS`: finished jobs that ended more than DAYS days ago go,
/// with their test results and log files, in batches; `--dry-run` deletes nothing; newer and
/// unfinished jobs stay; DAYS below 1 is refused with a clear error.
#[tokio::test]
async fn jobs_rm_deletes_old_finished_jobs_their_results_and_logs() {
    use lava_common::fixture::DeviceRecord;
    use lava_common::state::DeviceHealth;
    let lab = Lab::new().await;
    let c = lab.db.client().await.unwrap();
    lava_db::device_types::add(&c, &"kvm".into(), "")
        .await
        .unwrap();
    let device = DeviceRecord {
        health: DeviceHealth::Good,
        ..DeviceRecord::new("kvm01", "kvm")
    };
    lava_db::devices::add(&c, &device).await.unwrap();
    let definition = r#"{"job_name": "old", "device_type": "kvm", "timeout": 60, "actions": []}"#;
    let jobs_dir = lab.path("var/lib/lava-server/jobs");
    let mut ids = Vec::new();
    // Five finished jobs that ended 40 days ago, one 10 days ago, one still queued from
    // long ago; each with a log and a test case.
    for n in 0..7 {
        let id = lava_server::submit::submit(&c, definition, None)
            .await
            .unwrap();
        let case = lava_db::results::NewCase::new(
            "0_smoke",
            format!("case-{n}"),
            lava_common::state::TestResult::Pass,
        );
        lava_db::results::add(&c, id, &case).await.unwrap();
        let dir = jobs_dir.join(id.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("output.yaml"), "- {lvl: info, msg: hello}\n").unwrap();
        if n < 6 {
            lava_db::lifecycle::job::cancel(&c, id, None, "test")
                .await
                .unwrap();
            let days = if n < 5 { 40 } else { 10 };
            c.execute(
                "UPDATE jobs SET end_time = now() - make_interval(days => $2),
                    submit_time = now() - make_interval(days => $2 + 1) WHERE id = $1",
                &[&id, &days],
            )
            .await
            .unwrap();
        } else {
            c.execute(
                "UPDATE jobs SET submit_time = now() - interval '100 days' WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap();
        }
        ids.push(id);
    }

    for bad in ["0", "-3"] {
        let out = lab.server(&["manage", "jobs", "rm", "--older-than", bad]);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "--older-than {bad}: DAYS must be a whole number of days from 1"
            )),
            "{err}"
        );
    }

    // While an import writes job logs (holding the log files lock), the archive refuses to
    // start, so its sweep cannot take those logs for orphans.
    let holder = lab.db.client().await.unwrap();
    assert!(
        lava_db::try_advisory_lock(&holder, lava_db::LOG_FILES_LOCK)
            .await
            .unwrap()
    );
    let out = lab.server(&["manage", "jobs", "rm", "--older-than", "30"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("manage jobs rm cannot start: another `manage jobs rm` or `manage import-lava --job-output`"),
        "{err}"
    );
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&lava_db::LOG_FILES_LOCK])
        .await
        .unwrap();

    let dry = lab.manage(&[
        "jobs",
        "rm",
        "--older-than",
        "30",
        "--dry-run",
        "--batch",
        "2",
    ]);
    assert!(dry.contains("would delete 5 finished jobs"), "{dry}");
    assert!(
        dry.contains(&format!("would delete jobs {}..{}", ids[0], ids[1])),
        "{dry}"
    );
    assert!(
        dry.lines().last().unwrap() == "would delete 5 jobs, 5 test cases, 130 bytes of logs",
        "{dry}"
    );
    for id in &ids {
        assert!(lava_db::jobs::get(&c, *id).await.unwrap().is_some());
        assert!(jobs_dir.join(id.to_string()).exists());
    }

    let out = lab.manage(&["jobs", "rm", "--older-than", "30", "--batch", "2"]);
    // Three batches: 2, 2 and 1 jobs, then the totals.
    assert_eq!(out.matches("deleted jobs ").count(), 3, "{out}");
    assert!(out.contains("(5 of 5)"), "{out}");
    assert_eq!(
        out.lines().last().unwrap(),
        "deleted 5 jobs, 5 test cases, 130 bytes of logs",
        "{out}"
    );
    for (n, id) in ids.iter().enumerate() {
        let kept = n >= 5;
        assert_eq!(
            lava_db::jobs::get(&c, *id).await.unwrap().is_some(),
            kept,
            "job {id}"
        );
        assert_eq!(jobs_dir.join(id.to_string()).exists(), kept, "job {id}");
        assert_eq!(
            lava_db::results::of_job(&c, *id).await.unwrap().len(),
            usize::from(kept),
            "job {id}"
        );
    }
    // The job counters still agree with the table.
    let all = lava_db::job_list::JobFilter::default();
    let su = lava_db::viewer::Viewer {
        user_id: None,
        superuser: true,
    };
    assert_eq!(
        lava_db::job_list::count(&c, &su, &all).await.unwrap(),
        lava_db::job_list::count_exact(&c, &su, &all).await.unwrap()
    );
    assert_eq!(lava_db::job_list::count(&c, &su, &all).await.unwrap(), 2);
    // Nothing more is that old.
    let again = lab.manage(&["jobs", "rm", "--older-than", "30"]);
    assert_eq!(
        again.lines().last().unwrap(),
        "deleted 0 jobs, 0 test cases, 0 bytes of logs"
    );
    // A run interrupted after a commit left the log directory of a deleted job: the next
    // run removes it (a dry run only says so), and leaves what is not a job's alone.
    let orphan = jobs_dir.join("999999");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("output.yaml"), "- {}\n").unwrap();
    std::fs::create_dir_all(jobs_dir.join("not-a-job")).unwrap();
    let dry = lab.manage(&["jobs", "rm", "--older-than", "30", "--dry-run"]);
    assert!(
        dry.contains("would remove 1 log directories (5 bytes) of jobs no longer in the database"),
        "{dry}"
    );
    assert!(orphan.exists());
    let swept = lab.manage(&["jobs", "rm", "--older-than", "30"]);
    assert!(
        swept.contains("removed 1 log directories (5 bytes) of jobs no longer in the database"),
        "{swept}"
    );
    assert!(!orphan.exists());
    assert!(jobs_dir.join("not-a-job").exists());
    for id in &ids[5..] {
        assert!(
            jobs_dir.join(id.to_string()).exists(),
            "job {id} keeps its log"
        );
    }
}
