//! `lava-server manage import-lava` brings a LAVA 2023.01 lab over: a dispatcher-config tree
//! whose dictionaries extend LAVA's own templates (from Debian's `lava-server` package,
//! fetched at test time), the workers' `dispatcher.d`, and a `dumpdata` dump in LAVA
//! 2023.01's shape (its models and fields as `lava_scheduler_app/models.py` of that release
//! defines them, with the Django tables and history a real dump carries). A dry run changes
//! nothing, the import brings everything, a second run changes nothing, a broken dump
//! changes nothing.

mod common;

use std::path::Path;

use common::{EMPTY_JOB, Server, copy_dir};
use lava_common::ids::{DeviceName, DeviceTypeName, JobId};
use lava_common::state::{JobHealth, JobVisibility};

/// The dump, as LAVA 2023.01's `lava-server manage dumpdata` writes it (one line per record
/// here for reading; dumpdata writes one long line): apps in Django's order, so LAVA's results
/// and jobs come before the users and groups they refer to, times in milliseconds with `Z`,
/// unset text fields `null`, as a real dump (tools/lava-2023-dump) shows.
const DUMP: &str = r#"[
{"model": "lava_results_app.testsuite", "pk": 10, "fields": {"name": "lava", "job": 1042}},
{"model": "lava_results_app.testsuite", "pk": 11, "fields": {"name": "0_smoke", "job": 1042}},
{"model": "lava_results_app.testset", "pk": 5, "fields": {"name": "network", "suite": 11}},
{"model": "lava_results_app.testcase", "pk": 100, "fields": {"name": "job", "units": "", "result": 0, "measurement": null, "metadata": "definition: lava\ncase: job\nresult: pass\n", "suite": 10, "start_log_line": 1, "end_log_line": 2, "test_set": null, "logged": "2023-02-01T10:05:00Z"}},
{"model": "lava_results_app.testcase", "pk": 101, "fields": {"name": "ping", "units": "ms", "result": 1, "measurement": "12.5000000000", "metadata": "case: ping\nresult: fail\n", "suite": 11, "start_log_line": 30, "end_log_line": 31, "test_set": 5, "logged": "2023-02-01T10:04:00Z"}},
{"model": "lava_results_app.testcase", "pk": 102, "fields": {"name": "dmesg", "units": "", "result": 2, "measurement": null, "metadata": "", "suite": 11, "start_log_line": null, "end_log_line": null, "test_set": null, "logged": "2023-02-01T10:04:30Z"}},
{"model": "lava_scheduler_app.extendeduser", "pk": 1, "fields": {"user": 2, "irc_handle": null, "irc_server": null, "table_length": null}},
{"model": "lava_scheduler_app.tag", "pk": 1, "fields": {"name": "usb-otg", "description": "USB OTG port wired"}},
{"model": "lava_scheduler_app.tag", "pk": 2, "fields": {"name": "fast", "description": null}},
{"model": "lava_scheduler_app.architecture", "pk": "arm64", "fields": {}},
{"model": "lava_scheduler_app.jobfailuretag", "pk": 3, "fields": {"name": "bootloader hang", "description": "U-Boot stopped answering"}},
{"model": "lava_scheduler_app.alias", "pk": "am335x-boneblack", "fields": {"device_type": "beaglebone-black"}},
{"model": "lava_scheduler_app.alias", "pk": "kvm-x86", "fields": {"device_type": "qemu"}},
{"model": "lava_scheduler_app.devicetype", "pk": "qemu", "fields": {"architecture": null, "processor": null, "cpu_model": null, "bits": null, "core_count": null, "description": null, "health_frequency": 24, "disable_health_check": false, "health_denominator": 0, "display": true, "cores": []}},
{"model": "lava_scheduler_app.devicetype", "pk": "beaglebone-black", "fields": {"architecture": "arm64", "processor": null, "cpu_model": "AM335x", "bits": null, "cores": [], "core_count": 1, "description": "", "health_frequency": 10, "disable_health_check": false, "health_denominator": 1, "display": true}},
{"model": "lava_scheduler_app.worker", "pk": "w1", "fields": {"state": 1, "health": 0, "description": "rack 2", "last_ping": "2023-02-01T10:00:00.252Z", "job_limit": 2, "version": null, "token": "lava-worker-token-not-ours"}},
{"model": "lava_scheduler_app.device", "pk": "qemu01", "fields": {"device_type": "qemu", "device_version": null, "physical_owner": null, "physical_group": null, "description": "first", "tags": [2], "state": 0, "health": 0, "last_health_report_job": null, "worker_host": "w1", "is_synced": true}},
{"model": "lava_scheduler_app.device", "pk": "bbb-01", "fields": {"device_type": "beaglebone-black", "device_version": "", "physical_owner": 2, "physical_group": null, "description": "", "tags": [1, 2], "state": 0, "health": 4, "last_health_report_job": null, "worker_host": "w1", "is_synced": true}},
{"model": "lava_scheduler_app.testjob", "pk": 1042, "fields": {"sub_id": "", "is_public": false, "target_group": null, "submitter": 2, "viewing_groups": [1], "description": "smoke on qemu", "health_check": false, "requested_device_type": "qemu", "tags": [2], "actual_device": "qemu01", "submit_time": "2023-02-01T10:00:00.405Z", "start_time": "2023-02-01T10:00:05.773Z", "end_time": "2023-02-01T10:05:00Z", "state": 5, "health": 1, "priority": 50, "definition": "job_name: smoke on qemu\ndevice_type: qemu\n", "original_definition": "job_name: smoke on qemu\ndevice_type: qemu\nvisibility:\n  group: [lab-admins]\n", "multinode_definition": "", "pipeline_compatibility": 0, "queue_timeout": null, "failure_tags": [], "failure_comment": null, "token": "old-job-token"}},
{"model": "lava_scheduler_app.testjob", "pk": 1043, "fields": {"sub_id": "", "is_public": true, "target_group": null, "submitter": 2, "viewing_groups": [], "description": "beaglebone-black health check", "health_check": true, "requested_device_type": "beaglebone-black", "tags": [], "actual_device": "bbb-01", "submit_time": "2023-02-01T11:00:00.250000Z", "start_time": "2023-02-01T11:00:01Z", "end_time": "2023-02-01T11:03:00Z", "state": 5, "health": 2, "priority": 50, "definition": "job_name: hc\n", "original_definition": "", "multinode_definition": "", "pipeline_compatibility": 0, "queue_timeout": null, "failure_tags": [3], "failure_comment": "u-boot did not answer", "token": ""}},
{"model": "lava_scheduler_app.testjob", "pk": 1044, "fields": {"is_public": true, "submitter": 2, "viewing_groups": [], "description": "still queued", "health_check": false, "requested_device_type": "qemu", "tags": [], "actual_device": null, "submit_time": "2023-02-01T12:00:00Z", "start_time": null, "end_time": null, "state": 0, "health": 0, "priority": 50, "definition": "job_name: q\n", "original_definition": "job_name: q\n"}},
{"model": "admin.logentry", "pk": 1, "fields": {"action_time": "2023-01-10T09:00:00.120Z", "user": 2, "content_type": 1, "object_id": "2", "object_repr": "ann", "action_flag": 2, "change_message": "[]"}},
{"model": "auth.permission", "pk": 1, "fields": {"name": "Can add user", "content_type": 1, "codename": "add_user"}},
{"model": "auth.group", "pk": 1, "fields": {"name": "lab-admins", "permissions": [1]}},
{"model": "auth.user", "pk": 2, "fields": {"password": "pbkdf2_sha256$260000$abc$def=", "last_login": "2023-02-01T10:00:00.512Z", "is_superuser": false, "username": "ann", "first_name": "Ann", "last_name": "Admin", "email": "ann@lab.example", "is_staff": true, "is_active": true, "date_joined": "2022-01-01T00:00:00Z", "groups": [1], "user_permissions": []}},
{"model": "contenttypes.contenttype", "pk": 1, "fields": {"app_label": "auth", "model": "user"}},
{"model": "sessions.session", "pk": "k1", "fields": {"session_data": "x", "expire_date": "2023-03-01T00:00:00Z"}},
{"model": "sites.site", "pk": 1, "fields": {"domain": "example.com", "name": "example.com"}}
]"#;

const QEMU01: &str = "{% extends 'qemu.jinja2' %}\n{% set mac_addr = '52:54:00:12:34:59' %}\n{% set memory = 1024 %}\n";
const BBB01: &str = "{% extends 'beaglebone-black.jinja2' %}\n{% set connection_command = 'telnet localhost 7000' %}\n{% set power_on_command = 'pduclient --hostname pdu --port 1 --command on' %}\n";
/// A device the dump does not hold: made from its dictionary, with its type from `extends`.
const NEW01: &str = "{% extends 'qemu.jinja2' %}\n{% set memory = 512 %}\n";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The old lab's files: `etc/lava-server/{dispatcher-config,dispatcher.d}` below `dir`.
fn old_lab(dir: &Path, dump: &str) {
    let config = dir.join("etc/lava-server/dispatcher-config");
    write(&config.join("devices/qemu01.jinja2"), QEMU01);
    write(&config.join("devices/bbb-01.jinja2"), BBB01);
    write(&config.join("devices/new01.jinja2"), NEW01);
    write(
        &config.join("device-types/my-board.jinja2"),
        "{% extends 'beaglebone-black.jinja2' %}\n{% set console_device = 'ttyS2' %}\n",
    );
    write(
        &config.join("health-checks/qemu.yaml"),
        &EMPTY_JOB.replace("device_type: kvm", "device_type: qemu"),
    );
    write(
        &dir.join("etc/lava-server/dispatcher.d/w1/env.yaml"),
        "overrides:\n  LC_ALL: C.UTF-8\n",
    );
    write(&dir.join("dump.json"), dump);
}

/// A fresh server and, in a temporary directory, an old lab holding `dump`; with
/// `templates`, LAVA's stock device-type templates where an installed LAVA keeps them (the
/// old lab's dictionaries extend them, so only then do they all render).
async fn lab(dump: &str, templates: bool) -> (Server, tempfile::TempDir) {
    let s = Server::start().await;
    if templates {
        let pkg = lava_testkit::lava_device_types().unwrap();
        copy_dir(
            &pkg.device_types(),
            &s.root.path().join("usr/share/lava-server/device-types"),
        );
    }
    let old = tempfile::tempdir().unwrap();
    old_lab(old.path(), dump);
    (s, old)
}

/// Runs `import-lava` on the old lab below `old`: whether it succeeded, its stdout and stderr.
fn import(s: &Server, old: &Path, extra: &[&str]) -> (bool, String, String) {
    let config = old.join("etc/lava-server/dispatcher-config");
    let dump = old.join("dump.json");
    let mut args = vec![
        "manage",
        "import-lava",
        "--dispatcher-config",
        config.to_str().unwrap(),
        "--dump",
        dump.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let o = s.cmd(&args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// [`import`] that must succeed: its stdout and stderr.
fn imported(s: &Server, old: &Path, extra: &[&str]) -> (String, String) {
    let (ok, stdout, stderr) = import(s, old, extra);
    assert!(ok, "import-lava {extra:?} failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[tokio::test]
async fn a_lava_2023_lab_moves_over_once_and_a_second_run_changes_nothing() {
    let (s, old) = lab(DUMP, true).await;
    let before = s.manage(&["dumpdata"]);

    let (stdout, stderr) = imported(&s, old.path(), &["--dry-run"]);
    for line in [
        "add group lab-admins",
        "add user ann",
        "add user ann to group lab-admins",
        "add tag usb-otg",
        "add failure tag bootloader hang",
        "add device type qemu (with its health check)",
        "add device type beaglebone-black",
        "add alias kvm-x86 → qemu",
        "add worker w1",
        "add device qemu01 (qemu, good, on w1)",
        "add device bbb-01 (beaglebone-black, maintenance, on w1)",
        "add device new01 (qemu, unknown)",
        "dry run: ",
    ] {
        assert!(stdout.contains(line), "no '{line}' in:\n{stdout}");
    }
    assert!(
        stderr.contains(
            "3 lava_scheduler_app.testjob record(s) of history not imported (add --with-history)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 sessions.session record(s) not imported"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 user(s) (ann) keep a password hash this server cannot check"),
        "{stderr}"
    );
    assert_eq!(
        s.manage(&["dumpdata"]),
        before,
        "the dry run changed the database"
    );
    let devices = s.root.path().join("etc/lava-dispatcher/devices");
    assert!(!devices.join("qemu01.jinja2").exists());

    let (stdout, stderr) = imported(&s, old.path(), &[]);
    assert!(stdout.contains("change(s) made"), "{stdout}");
    assert!(
        stdout.contains("worker w1 has no token yet: `lava-server manage workers add w1`"),
        "{stdout}"
    );
    // Every dictionary renders with LAVA's templates into a device this dispatcher runs.
    assert!(!stderr.contains("warning: "), "{stderr}");

    let c = lava_db::connect(s.db.url()).await.unwrap();
    let qemu01 = lava_db::devices::get(&c, &DeviceName::from("qemu01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(qemu01.info.tags, ["fast"]);
    assert_eq!(qemu01.info.worker_host.as_ref().unwrap().as_str(), "w1");
    let mut bbb_tags = lava_db::tags::of_device(&c, "bbb-01")
        .await
        .unwrap()
        .unwrap();
    bbb_tags.sort();
    assert_eq!(bbb_tags, ["fast", "usb-otg"]);
    let qemu = lava_db::device_types::get(&c, &DeviceTypeName::from("qemu"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        qemu.info
            .health_check_job
            .unwrap()
            .contains("device_type: qemu")
    );
    assert_eq!(
        lava_db::aliases::resolve(&c, "am335x-boneblack")
            .await
            .unwrap(),
        Some("beaglebone-black".into())
    );
    assert_eq!(
        lava_db::users::groups_of(&c, "ann").await.unwrap(),
        ["lab-admins"]
    );
    let w1 = lava_db::workers::get(&c, &"w1".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((w1.job_limit, w1.description.as_str()), (2, "rack 2"));
    assert_eq!(
        std::fs::read_to_string(devices.join("qemu01.jinja2")).unwrap(),
        QEMU01
    );
    assert_eq!(
        std::fs::read_to_string(devices.join("new01.jinja2")).unwrap(),
        NEW01
    );
    assert!(
        s.root
            .path()
            .join("etc/lava-server/dispatcher-config/device-types/my-board.jinja2")
            .is_file()
    );
    assert!(
        s.root
            .path()
            .join("etc/lava-server/dispatcher.d/w1/env.yaml")
            .is_file()
    );
    // An alias submits to its type, as in LAVA.
    let job = s.root.path().join("alias.yaml");
    std::fs::write(
        &job,
        EMPTY_JOB.replace("device_type: kvm", "device_type: kvm-x86"),
    )
    .unwrap();
    s.manage(&["submit", job.to_str().unwrap()]);

    assert!(!s.manage(&["workers", "add", "w1"]).trim().is_empty());

    let after = s.manage(&["dumpdata"]);
    let (stdout, _) = imported(&s, old.path(), &[]);
    assert!(
        stdout.contains("nothing to change: this lab is already here"),
        "{stdout}"
    );
    assert_eq!(s.manage(&["dumpdata"]), after);

    // The history: finished jobs keep LAVA's ids, with their results.
    let (stdout, _) = imported(&s, old.path(), &["--with-history", "--dry-run"]);
    assert!(
        stdout.contains(
            "dry run: 0 change(s), 2 job(s) of history and 0 job log(s), nothing written"
        ),
        "{stdout}"
    );
    assert!(
        lava_db::jobs::get(&c, JobId(1042)).await.unwrap().is_none(),
        "the dry run left a job"
    );
    let (stdout, stderr) = imported(&s, old.path(), &["--with-history"]);
    assert!(
        stdout.contains(
            "history: 2 job(s), 2 test suite(s), 3 test case(s) imported; 0 job(s) already here"
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains("1 job(s) had not finished when the dump was made"),
        "{stderr}"
    );
    let smoke = lava_db::jobs::get(&c, JobId(1042)).await.unwrap().unwrap();
    assert_eq!(smoke.description, "smoke on qemu");
    assert_eq!(smoke.visibility, JobVisibility::Group);
    assert_eq!(smoke.health, JobHealth::Complete);
    assert_eq!(smoke.tags, ["fast"]);
    assert!(smoke.definition.contains("group: [lab-admins]"));
    assert_eq!(
        lava_db::jobs::result_counts(&c, JobId(1042)).await.unwrap(),
        [0, 1, 1, 0],
        "the test suites' cases (the `lava` suite's are not counted)"
    );
    let hc = lava_db::jobs::get(&c, JobId(1043)).await.unwrap().unwrap();
    assert_eq!(hc.health, JobHealth::Incomplete);
    assert_eq!(hc.failure_comment.as_deref(), Some("u-boot did not answer"));
    let hang = lava_db::failure_tags::list(&c)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "bootloader hang")
        .unwrap();
    assert_eq!(hang.description, "U-Boot stopped answering");
    assert_eq!(hc.failure_tags, [hang.id]);
    assert_eq!(hc.definition, "job_name: hc\n");
    let page = reqwest::get(format!("{}/scheduler/job/1043", s.url))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("beaglebone-black health check")
    );
    // New jobs number on from the old lab's last one (1044 was still queued there).
    let id: i64 = s
        .manage(&["submit", job.to_str().unwrap()])
        .trim()
        .parse()
        .unwrap();
    assert!(id > 1044, "{id}");

    let (stdout, _) = imported(&s, old.path(), &["--with-history"]);
    assert!(
        stdout
            .contains("0 job(s), 0 test suite(s), 0 test case(s) imported; 2 job(s) already here")
            && stdout.contains("nothing to change: this lab is already here"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_dump_that_does_not_hold_together_imports_nothing() {
    let unknown_worker = DUMP.replace(
        r#""worker_host": "w1", "is_synced": true}},
{"model": "lava_scheduler_app.device", "pk": "bbb-01""#,
        r#""worker_host": "w9", "is_synced": true}},
{"model": "lava_scheduler_app.device", "pk": "bbb-01""#,
    );
    let (s, old) = lab(&unknown_worker, false).await;
    let before = s.manage(&["dumpdata"]);
    let (ok, stdout, stderr) = import(&s, old.path(), &[]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("device qemu01: worker 'w9' is neither in the dump nor in the database"),
        "{stderr}"
    );
    assert_eq!(s.manage(&["dumpdata"]), before);
    assert!(
        !s.root
            .path()
            .join("etc/lava-dispatcher/devices/qemu01.jinja2")
            .exists()
    );

    let bad_tag = DUMP.replace(r#""tags": [2], "#, r#""tags": [7], "#);
    old_lab(old.path(), &bad_tag);
    let (ok, _, stderr) = import(&s, old.path(), &[]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("qemu01") && stderr.contains("tag 7 is not in the dump"),
        "{stderr}"
    );

    let bad_time = DUMP.replace(
        r#""submit_time": "2023-02-01T11:00:00.250000Z""#,
        r#""submit_time": "yesterday""#,
    );
    old_lab(old.path(), &bad_time);
    let (ok, _, stderr) = import(&s, old.path(), &["--with-history"]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("1 history record(s) cannot be read, nothing was imported")
            && stderr.contains(r#"lava_scheduler_app.testjob 1043), field 'submit_time'"#),
        "{stderr}"
    );
    assert_eq!(s.manage(&["dumpdata"]), before);

    // A dictionary this dispatcher cannot render is named (it is still LAVA's, so it comes
    // over, and its jobs fail with the same message until it is fixed).
    old_lab(old.path(), DUMP);
    let broken = old
        .path()
        .join("etc/lava-server/dispatcher-config/devices/broken01.jinja2");
    write(&broken, "{% extends 'no-such-board.jinja2' %}\n");
    let (stdout, stderr) = imported(&s, old.path(), &["--dry-run"]);
    assert!(
        stderr.contains(&format!("warning: {}", broken.display()))
            && stderr.contains("no-such-board.jinja2"),
        "{stderr}"
    );
    assert!(
        stdout.contains("add device broken01 (no-such-board, unknown)"),
        "{stdout}"
    );
}

/// [`DUMP`] as `dumpdata --natural-foreign --natural-primary` writes it (the usual way to move
/// a Django site's data): users and groups without their pk, and every reference to them by
/// natural key (`["name"]`). LAVA's own models have no natural keys and keep their pks.
fn natural_keys(dump: &str) -> String {
    dump.replace(
        r#"{"model": "auth.group", "pk": 1, "fields": {"name": "lab-admins", "permissions": [1]}}"#,
        r#"{"model": "auth.group", "fields": {"name": "lab-admins", "permissions": [["add_user", "auth", "user"]]}}"#,
    )
    .replace(r#"{"model": "auth.user", "pk": 2, "#, r#"{"model": "auth.user", "#)
    .replace(r#""groups": [1]"#, r#""groups": [["lab-admins"]]"#)
    .replace(r#""submitter": 2"#, r#""submitter": ["ann"]"#)
    .replace(r#""physical_owner": 2"#, r#""physical_owner": ["ann"]"#)
    .replace(r#""viewing_groups": [1]"#, r#""viewing_groups": [["lab-admins"]]"#)
}

#[tokio::test]
async fn a_dump_with_natural_keys_imports_the_same() {
    let dump = natural_keys(DUMP);
    assert!(!dump.contains(r#""submitter": 2"#) && !dump.contains(r#""groups": [1]"#));
    let (s, old) = lab(&dump, true).await;
    let (stdout, _) = imported(&s, old.path(), &["--with-history"]);
    assert!(
        stdout.contains("add user ann to group lab-admins")
            && stdout.contains("history: 2 job(s), 2 test suite(s), 3 test case(s) imported"),
        "{stdout}"
    );
    let c = lava_db::connect(s.db.url()).await.unwrap();
    let smoke = lava_db::jobs::get(&c, JobId(1042)).await.unwrap().unwrap();
    assert_eq!(smoke.visibility, JobVisibility::Group);
    assert_eq!(smoke.submitter.as_deref(), Some("ann"));
    let page = reqwest::get(format!("{}/scheduler/job/1042", s.url))
        .await
        .unwrap();
    assert_eq!(page.status(), 404, "a group job is not public");
    let (stdout, _) = imported(&s, old.path(), &["--with-history"]);
    assert!(
        stdout.contains("nothing to change: this lab is already here"),
        "{stdout}"
    );
}

/// Job 1042's log as LAVA's job output tree holds it (`YYYY/MM/DD/ID/output.yaml` by its
/// submit day), with a `results` line that must not be filed again (results come from the
/// dump), a line longer than the store's cap, and a last line LAVA never ended.
fn job_output(dir: &Path) -> String {
    let long = "x".repeat(2_000_000);
    let log = format!(
        "- {{\"dt\": \"2023-02-01T10:00:05.250000\", \"lvl\": \"info\", \"msg\": \"start: 0 validate\"}}\n\
         - {{\"dt\": \"2023-02-01T10:00:06\", \"lvl\": \"target\", \"msg\": \"{long}\"}}\n\
         - {{\"dt\": \"2023-02-01T10:04:00\", \"lvl\": \"results\", \"msg\": {{\"case\": \"ping\", \"definition\": \"0_smoke\", \"result\": \"fail\"}}}}\n\
         - {{\"dt\": \"2023-02-01T10:05:00\", \"lvl\": \"info\", \"msg\": \"Job finished\"}}"
    );
    write(&dir.join("2023/02/01/1042/output.yaml"), &log);
    write(&dir.join("2023/02/01/1042/output.idx"), "not ours");
    log
}

#[tokio::test]
async fn job_logs_come_from_lavas_job_output_tree_without_filing_results_again() {
    let (s, old) = lab(DUMP, false).await;
    let tree = old.path().join("job-output");
    let log = job_output(&tree);
    let arg = ["--with-history", "--job-output", tree.to_str().unwrap()];

    let (stdout, _) = imported(&s, old.path(), &[&arg[..], &["--dry-run"]].concat());
    assert!(
        stdout.contains("job logs: 1 found") && stdout.contains("1 missing"),
        "{stdout}"
    );
    assert!(!s.root.path().join("var/lib/lava-server/jobs/1042").exists());

    // While `manage jobs rm` holds the log files lock, the import refuses to start: its log
    // directories would have no job rows until it commits, and the archive's sweep removes
    // such directories.
    let holder = lava_db::connect(s.db.url()).await.unwrap();
    assert!(
        lava_db::try_advisory_lock(&holder, lava_db::LOG_FILES_LOCK)
            .await
            .unwrap()
    );
    let (ok, _, stderr) = import(&s, old.path(), &arg);
    assert!(
        !ok && stderr.contains("manage import-lava --job-output cannot start: another"),
        "{stderr}"
    );
    assert!(!s.root.path().join("var/lib/lava-server/jobs/1042").exists());
    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&lava_db::LOG_FILES_LOCK])
        .await
        .unwrap();

    let (stdout, stderr) = imported(&s, old.path(), &arg);
    assert!(
        stdout.contains("job logs: 1 copied")
            && stdout.contains(
                "1 missing, 0 refused (over 8 GiB), 1 line(s) cut to limits.log_line_bytes"
            )
            && stdout.contains("2 job(s) of history and 1 job log(s) imported"),
        "{stdout}"
    );
    assert!(
        stderr.contains("note: job 1043: no log in")
            && stderr.contains("2023/02/01/1043/output.yaml[.xz]"),
        "{stderr}"
    );
    let stored = reqwest::get(format!("{}/api/v0.2/jobs/1043/logs/", s.url))
        .await
        .unwrap();
    assert_ne!(stored.status(), 200, "job 1043 has no log");
    let c = lava_db::connect(s.db.url()).await.unwrap();
    let path = s
        .root
        .path()
        .join("var/lib/lava-server/jobs/1042/output.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let source: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        (lines[0], lines[2], lines[3]),
        (source[0], source[2], source[3])
    );
    assert!(
        lines[1].len() < 1_100_000 && lines[1].contains("<line way too long: 2000000 bytes"),
        "{}",
        &lines[1][..200]
    );
    assert!(
        text.ends_with("\"Job finished\"}\n"),
        "the last line is ended"
    );
    let end = lava_db::logs::end(&c, JobId(1042)).await.unwrap().unwrap();
    assert_eq!((end.lines, end.bytes), (4, text.len() as i64));
    // The log's `results` line is not filed again: the dump's cases only.
    assert_eq!(
        lava_db::jobs::result_counts(&c, JobId(1042)).await.unwrap(),
        [0, 1, 1, 0]
    );
    // Read back through the store, from a line past the first index entry.
    let logs = lava_server::logstore::LogStore::new(s.root.path().join("var/lib/lava-server/jobs"));
    let tail = logs.read(&c, JobId(1042), 2, None).await.unwrap().unwrap();
    assert_eq!(tail, format!("{}\n{}\n", source[2], source[3]).into_bytes());

    let (stdout, _) = imported(&s, old.path(), &arg);
    assert!(
        stdout.contains("job logs: 0 copied (0 bytes), 1 missing")
            && stdout.contains("nothing to change: this lab is already here"),
        "{stdout}"
    );
}
