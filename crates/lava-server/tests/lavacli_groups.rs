//! Every command group of Debian's real `lavacli` 1.2 against the real web app: what it
//! prints, what it changes, and that `system.listMethods` has every method lavacli calls.
//! Needs Debian's `lavacli` package (`.ci/run` installs it); fails, naming it, without.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::printed::{Printed, TimedOut};
use common::sockets::connected_to;
use common::*;
use tokio::time::Instant;

const LAVACLI: &str = "/usr/bin/lavacli";

/// Every XML-RPC method lavacli 1.2 calls (`grep -o 'proxy\.[a-z_.A-Z]*'` over its source).
const LAVACLI_METHODS: [&str; 59] = [
    "results.get_testcase_results_yaml",
    "results.get_testjob_results_yaml",
    "results.get_testsuite_results_yaml",
    "scheduler.aliases.add",
    "scheduler.aliases.delete",
    "scheduler.aliases.list",
    "scheduler.aliases.show",
    "scheduler.device_types.add",
    "scheduler.device_types.aliases.add",
    "scheduler.device_types.aliases.delete",
    "scheduler.device_types.aliases.list",
    "scheduler.device_types.get_health_check",
    "scheduler.device_types.get_template",
    "scheduler.device_types.list",
    "scheduler.device_types.set_health_check",
    "scheduler.device_types.set_template",
    "scheduler.device_types.show",
    "scheduler.device_types.update",
    "scheduler.devices.add",
    "scheduler.devices.get_dictionary",
    "scheduler.devices.list",
    "scheduler.devices.set_dictionary",
    "scheduler.devices.show",
    "scheduler.devices.tags.add",
    "scheduler.devices.tags.delete",
    "scheduler.devices.tags.list",
    "scheduler.devices.update",
    "scheduler.get_publisher_event_socket",
    "scheduler.jobs.cancel",
    "scheduler.jobs.configuration",
    "scheduler.jobs.definition",
    "scheduler.jobs.list",
    "scheduler.jobs.logs",
    "scheduler.jobs.queue",
    "scheduler.jobs.resubmit",
    "scheduler.jobs.show",
    "scheduler.jobs.submit",
    "scheduler.jobs.validate",
    "scheduler.tags.add",
    "scheduler.tags.delete",
    "scheduler.tags.list",
    "scheduler.tags.show",
    "scheduler.workers.add",
    "scheduler.workers.get_certificate",
    "scheduler.workers.get_config",
    "scheduler.workers.get_env",
    "scheduler.workers.list",
    "scheduler.workers.set_certificate",
    "scheduler.workers.set_config",
    "scheduler.workers.set_env",
    "scheduler.workers.show",
    "scheduler.workers.update",
    "system.api_version",
    "system.get_master_certificate",
    "system.listMethods",
    "system.methodHelp",
    "system.methodSignature",
    "system.version",
    "system.whoami",
];

/// lavacli with its config in `home`, unbuffered so a test can read it as it prints.
fn lavacli(home: &Path, args: &[&str]) -> Command {
    assert!(
        Path::new(LAVACLI).exists(),
        "{LAVACLI} is not installed: apt-get install lavacli"
    );
    let mut c = Command::new(LAVACLI);
    c.args(args)
        .env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .env("NO_PROXY", "*")
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy");
    c
}

/// Runs lavacli as identity `id`; (exit code, stdout and stderr).
fn run(home: &Path, id: &str, args: &[&str]) -> (i32, String) {
    let mut all = vec!["-i", id];
    all.extend_from_slice(args);
    let out = lavacli(home, &all).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// Runs lavacli as `id`, which must succeed; its output.
fn ok(home: &Path, id: &str, args: &[&str]) -> String {
    let (code, out) = run(home, id, args);
    assert_eq!(code, 0, "lavacli {args:?}: {out}");
    assert!(!out.contains("Unable to call"), "lavacli {args:?}: {out}");
    out
}

fn identity(home: &Path, s: &Server, id: &str, user: &str, token: &str) {
    let uri = format!("{}/RPC2", s.url);
    let args = [
        "identities",
        "add",
        id,
        "--uri",
        &uri,
        "--username",
        user,
        "--token",
        token,
    ];
    assert_eq!(lavacli(home, &args).status().unwrap().code(), Some(0));
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

const KVM_TYPE: &str = "qemu_binary = qemu-system-x86_64\nmemory = 256\n";
const KVM01: &str = "device_type = kvm\nhostname = kvm01\nconsole = %(hostname)s-console\n";

#[tokio::test]
async fn every_lavacli_group_works_against_the_server() {
    let s = Server::start().await;
    let admin = s.user("admin", true);
    let bob = s.user("bob", false);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    identity(h, &s, "default", "admin", &admin);
    identity(h, &s, "bob", "bob", &bob);
    let etc = s.root.path().join("etc/lava-dispatcher");
    std::fs::create_dir_all(etc.join("device-types")).unwrap();
    std::fs::create_dir_all(etc.join("devices")).unwrap();
    std::fs::write(etc.join("device-types/kvm.conf"), KVM_TYPE).unwrap();
    std::fs::write(etc.join("devices/kvm01.conf"), KVM01).unwrap();
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    // In maintenance until the job below may run: nothing is scheduled on it before.
    ok(
        h,
        "default",
        &["devices", "update", "kvm01", "--health", "MAINTENANCE"],
    );

    // system
    let methods = ok(h, "default", &["system", "methods", "list"]);
    let listed: Vec<&str> = methods.lines().collect();
    let missing: Vec<&str> = LAVACLI_METHODS
        .iter()
        .copied()
        .filter(|m| !listed.contains(m))
        .collect();
    assert!(missing.is_empty(), "system.listMethods lacks {missing:?}");
    assert_eq!(ok(h, "default", &["system", "api"]), "2\n");
    assert_eq!(ok(h, "default", &["system", "version"]), "2023.01\n");
    assert_eq!(ok(h, "bob", &["system", "whoami"]), "bob\n");
    let help = ok(
        h,
        "default",
        &["system", "methods", "help", "scheduler.tags.add"],
    );
    assert!(
        help.starts_with("scheduler.tags.add(name, description=None)\n"),
        "{help}"
    );
    assert!(help.contains("Permission: staff."), "{help}");
    assert_eq!(
        ok(
            h,
            "default",
            &["system", "methods", "signature", "system.version"]
        ),
        "[['string']]\n"
    );
    let (code, out) = run(h, "default", &["system", "certificate"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Fault 404") && out.contains("ZeroMQ certificates"),
        "{out}"
    );

    // tags, and tags on devices
    ok(
        h,
        "default",
        &["tags", "add", "fast", "--description", "Fast boards"],
    );
    ok(h, "default", &["tags", "add", "slow"]);
    assert_eq!(
        ok(h, "default", &["tags", "list"]),
        "Tags:\n* fast (Fast boards)\n* slow\n"
    );
    let (_, out) = run(h, "default", &["tags", "add", "fast"]);
    assert!(
        out.contains("Fault 400: 'Bad request: tag already exists?'"),
        "{out}"
    );
    ok(h, "default", &["devices", "tags", "add", "kvm01", "fast"]);
    assert_eq!(
        ok(h, "default", &["devices", "tags", "list", "kvm01"]),
        "Tags:\n* fast\n"
    );
    assert_eq!(
        ok(h, "default", &["tags", "show", "fast"]),
        "name       : fast\ndescription: Fast boards\ndevices    :\n* kvm01\n"
    );
    let show = ok(h, "default", &["devices", "show", "kvm01"]);
    assert!(show.contains("tags        : ['fast']\n"), "{show}");
    assert!(show.contains("device-dict : True\n"), "{show}");
    ok(h, "default", &["tags", "delete", "slow"]);
    ok(h, "default", &["devices", "tags", "add", "kvm01", "slow"]);
    ok(
        h,
        "default",
        &["devices", "tags", "delete", "kvm01", "slow"],
    );
    assert_eq!(
        ok(
            h,
            "default",
            &["devices", "tags", "list", "kvm01", "--json"]
        ),
        "[\"fast\"]\n"
    );
    // A plain user may read but not write.
    let (_, out) = run(h, "bob", &["tags", "add", "mine"]);
    assert!(
        out.contains(
            "Fault 403: \"User 'bob' is missing permission lava_scheduler_app.add_tag .\""
        ),
        "{out}"
    );

    // device types, aliases, templates and health checks
    ok(
        h,
        "default",
        &["device-types", "add", "qemu2", "--description", "second"],
    );
    ok(
        h,
        "default",
        &["device-types", "aliases", "add", "kvm", "kvm-alias"],
    );
    assert_eq!(
        ok(h, "default", &["device-types", "aliases", "list", "kvm"]),
        "Aliases:\n* kvm-alias\n"
    );
    ok(h, "default", &["aliases", "add", "q2", "qemu2"]);
    assert_eq!(
        ok(h, "default", &["aliases", "list"]),
        "Aliases:\n* kvm-alias\n* q2\n"
    );
    assert_eq!(
        ok(h, "default", &["aliases", "show", "q2"]),
        "name       : q2\ndevice-type: qemu2\n"
    );
    ok(h, "default", &["aliases", "delete", "q2"]);
    let (_, out) = run(h, "default", &["aliases", "add", "kvm", "qemu2"]);
    assert!(
        out.contains("Fault 400"),
        "an alias may not be a type's name: {out}"
    );
    let show = ok(h, "default", &["device-types", "show", "kvm"]);
    assert!(
        show.contains("aliases         : ['kvm-alias']\ndevices         : ['kvm01']\n"),
        "{show}"
    );
    ok(
        h,
        "default",
        &[
            "device-types",
            "update",
            "qemu2",
            "--health-frequency",
            "7",
            "--health-denominator",
            "jobs",
            "--hide",
        ],
    );
    let dt = ok(h, "default", &["device-types", "show", "qemu2", "--json"]);
    assert!(
        dt.contains("\"display\": false")
            && dt.contains("\"health_frequency\": 7")
            && dt.contains("\"health_denominator\": \"jobs\""),
        "{dt}"
    );
    assert_eq!(
        ok(h, "default", &["device-types", "list"]),
        "Device-Types:\n* kvm (1)\n* qemu2 (0)\n"
    );
    assert_eq!(
        ok(h, "default", &["device-types", "template", "get", "kvm"]),
        KVM_TYPE
    );
    let t = write(
        h,
        "kvm.conf",
        "qemu_binary = qemu-system-x86_64\nmemory = 512\n",
    );
    ok(
        h,
        "default",
        &["device-types", "template", "set", "kvm", &t],
    );
    assert!(
        std::fs::read_to_string(etc.join("device-types/kvm.conf"))
            .unwrap()
            .contains("512")
    );
    let hc = write(
        h,
        "hc.yaml",
        &EMPTY_JOB.replace("job_name: t", "job_name: kvm-health"),
    );
    ok(
        h,
        "default",
        &["device-types", "health-check", "set", "kvm", &hc],
    );
    let got = ok(
        h,
        "default",
        &["device-types", "health-check", "get", "kvm"],
    );
    assert!(got.starts_with("job_name: kvm-health\n"), "{got}");
    let bad_hc = write(h, "bad-hc.yaml", "job_name: x\ndevice_type: qemu2\n");
    let (_, out) = run(
        h,
        "default",
        &["device-types", "health-check", "set", "kvm", &bad_hc],
    );
    assert!(out.contains("Fault 400"), "{out}");
    // An empty health check removes it (so kvm01 runs the job below, not a health check).
    let none = write(h, "none.yaml", "");
    ok(
        h,
        "default",
        &["device-types", "health-check", "set", "kvm", &none],
    );
    let (_, out) = run(
        h,
        "default",
        &["device-types", "health-check", "get", "kvm"],
    );
    assert!(out.contains("Fault 404"), "{out}");

    // device dictionaries: get, a broken file refused naming its line, a good one stored
    assert_eq!(
        ok(h, "default", &["devices", "dict", "get", "kvm01"]),
        KVM01
    );
    let rendered = ok(
        h,
        "default",
        &["devices", "dict", "get", "kvm01", "--render"],
    );
    assert!(
        rendered.contains("console: \"kvm01-console\"\n"),
        "{rendered}"
    );
    assert!(rendered.contains("memory: \"512\"\n"), "{rendered}");
    let broken = write(h, "broken.conf", "device_type = kvm\nthis line is broken\n");
    let before = std::fs::read(etc.join("devices/kvm01.conf")).unwrap();
    let (_, out) = run(h, "default", &["devices", "dict", "set", "kvm01", &broken]);
    assert!(
        out.contains("Unable to call 'devices.dict': <Fault 400:"),
        "{out}"
    );
    assert!(
        out.contains("kvm01.conf:2") && out.contains("this line is broken"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(etc.join("devices/kvm01.conf")).unwrap(),
        before
    );
    let missing_ref = write(h, "ref.conf", "device_type = kvm\nconsole = %(nowhere)s\n");
    let (_, out) = run(
        h,
        "default",
        &["devices", "dict", "set", "kvm01", &missing_ref],
    );
    assert!(
        out.contains("kvm01.conf:2") && out.contains("nowhere"),
        "{out}"
    );
    let wrong_type = write(h, "type.conf", "hostname = kvm01\ndevice_type = qemu2\n");
    let (_, out) = run(
        h,
        "default",
        &["devices", "dict", "set", "kvm01", &wrong_type],
    );
    assert!(
        out.contains("kvm01.conf:2: device_type is 'qemu2'"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(etc.join("devices/kvm01.conf")).unwrap(),
        before
    );
    let good = write(h, "good.conf", "device_type = kvm\nhostname = kvm01\n");
    assert_eq!(
        ok(h, "default", &["devices", "dict", "set", "kvm01", &good]),
        ""
    );
    assert_eq!(
        std::fs::read_to_string(etc.join("devices/kvm01.conf")).unwrap(),
        "device_type = kvm\nhostname = kvm01\n"
    );
    let (_, out) = run(h, "bob", &["devices", "dict", "set", "kvm01", &good]);
    assert!(out.contains("Fault 403"), "{out}");

    // devices: add, update, maintenance
    ok(
        h,
        "default",
        &[
            "devices",
            "add",
            "kvm02",
            "--type",
            "kvm",
            "--worker",
            "w1",
            "--description",
            "two",
        ],
    );
    ok(
        h,
        "default",
        &["devices", "update", "kvm02", "--description", "second kvm"],
    );
    let (_, out) = run(
        h,
        "default",
        &["devices", "update", "kvm02", "--user", "bob"],
    );
    assert!(out.contains("Fault 400") && out.contains("owners"), "{out}");
    ok(h, "default", &["devices", "maintenance", "kvm02"]);
    let show = ok(h, "default", &["devices", "show", "kvm02"]);
    assert!(show.contains("health      : Maintenance\n"), "{show}");
    assert!(show.contains("description : second kvm\n"), "{show}");
    assert_eq!(
        ok(h, "default", &["devices", "list"]),
        "Devices:\n* kvm01 (kvm): Idle,Maintenance\n* kvm02 (kvm): Idle,Maintenance\n"
    );

    // workers: add, update, maintenance, config, env, certificate
    ok(
        h,
        "default",
        &["workers", "add", "w2", "--description", "second"],
    );
    ok(
        h,
        "default",
        &["workers", "update", "w2", "--job-limit", "2"],
    );
    let show = ok(h, "default", &["workers", "show", "w2"]);
    assert!(
        show.contains("job limit   : 2\n") && show.contains("description : second\n"),
        "{show}"
    );
    ok(h, "default", &["workers", "maintenance", "w2"]);
    assert!(ok(h, "default", &["workers", "show", "w2"]).contains("health      : Maintenance\n"));
    let cfg = write(h, "dispatcher.yaml", "git_timeout: 120\n");
    ok(h, "default", &["workers", "config", "set", "w2", &cfg]);
    assert_eq!(
        ok(h, "default", &["workers", "config", "get", "w2"]),
        "git_timeout: 120\n"
    );
    let env = write(h, "env.yaml", "overrides:\n  LC_ALL: C.UTF-8\n");
    ok(h, "default", &["workers", "env", "set", "w2", &env]);
    assert_eq!(
        ok(h, "default", &["workers", "env", "get", "w2"]),
        "overrides:\n  LC_ALL: C.UTF-8\n"
    );
    let bad_env = write(h, "bad-env.yaml", "overrides:\n  OK: 1\n  'NOT OK': 2\n");
    let (_, out) = run(h, "default", &["workers", "env", "set", "w2", &bad_env]);
    assert!(out.contains("env.yaml line 3"), "{out}");
    // (lavacli 1.2 offers `workers certificate` only to servers older than 2020.09.)
    let (_, out) = run(h, "bob", &["workers", "env", "get", "w2"]);
    assert!(out.contains("Fault 403"), "{out}");

    // jobs: an alias resolved at submit, the queue, the configuration (kvm01 in
    // maintenance keeps the job queued)
    let job = write(
        h,
        "job.yaml",
        &EMPTY_JOB.replace("device_type: kvm", "device_type: kvm-alias"),
    );
    let id = ok(h, "bob", &["jobs", "submit", &job]).trim().to_string();
    let show = ok(h, "bob", &["jobs", "show", &id]);
    assert!(show.contains("device-type : kvm\n"), "{show}");
    let queue = ok(h, "default", &["jobs", "queue"]);
    assert_eq!(
        queue,
        format!("Jobs (from 1 to 25):\n* {id}: bob (t) - kvm\n")
    );
    let (_, out) = run(
        h,
        "default",
        &[
            "jobs",
            "config",
            &id,
            "--dest",
            h.join("cfg").to_str().unwrap(),
        ],
    );
    assert!(
        out.contains(&format!("Job '{id}' has not started yet")),
        "{out}"
    );

    // events: `events listen` sees the job's states as they change; `events wait` returns
    // when it finishes; then results.
    let spawn = |args: &[&str]| {
        tokio::process::Command::from(lavacli(h, args))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let mut listen = spawn(&[
        "events", "listen", "--filter", "testjob", "--filter", "worker",
    ]);
    let mut heard = Printed::new(listen.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = heard.next_line(deadline).await.unwrap().unwrap();
    assert!(
        first.starts_with("Connecting to ") && first.ends_with("/ws/"),
        "{first}"
    );
    // The WebSocket relays events once the server has subscribed it, which it does not say:
    // change w2's health (a worker without devices: nothing else changes) until the listener
    // prints a change, so nothing of the job's happens before.
    let deadline = Instant::now() + Duration::from_secs(30);
    'subscribed: for health in ["ACTIVE", "MAINTENANCE"].iter().cycle() {
        ok(
            h,
            "default",
            &["workers", "update", "w2", "--health", health],
        );
        let flip = Instant::now() + Duration::from_secs(2);
        loop {
            assert!(
                Instant::now() < deadline,
                "events listen printed no change of w2: {:?}",
                heard.text()
            );
            match heard.next_line(flip.min(deadline)).await {
                Ok(Some(line)) if line.contains(" - [w2] state=") => break 'subscribed,
                // (w1, the worker the test plays, may come and go meanwhile.)
                Ok(Some(_)) => {}
                Ok(None) => panic!("events listen ended: {:?}", heard.text()),
                Err(TimedOut) => continue 'subscribed,
            }
        }
    }
    let port: u16 = s.events.rsplit(':').next().unwrap().parse().unwrap();
    let mut waiter = spawn(&["events", "wait", "job", &id, "--state", "FINISHED"]);
    let mut waited = Printed::new(waiter.stdout.take().unwrap());
    waited
        .until("events wait to say where it listens", 20, |t| {
            t.contains('\n')
        })
        .await;
    assert!(
        waited
            .text()
            .starts_with(&format!("Listening to {}", s.events)),
        "{}",
        waited.text()
    );
    // ZeroMQ tells a subscriber nothing when it is subscribed; the waiter prints nothing more
    // until its event. Its TCP connection to the publisher is the last thing to see: its
    // subscription follows on that connection, long before the job, which needs a lavacli
    // call, a scheduler pass and the whole run, can finish.
    let pid = waiter.id().unwrap();
    wait_for("events wait connected to the publisher", 20, || {
        connected_to(pid, port).then_some(())
    })
    .await;
    let n: i64 = id.parse().unwrap();
    ok(
        h,
        "default",
        &["devices", "update", "kvm01", "--health", "GOOD"],
    );
    w.take(n).await;
    let results = "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"results\", \"msg\": {\"case\": \"uname\", \"definition\": \"0_smoke\", \"result\": \"pass\"}}\n";
    w.run(n, results, "complete").await;
    let mut states = vec![];
    let deadline = Instant::now() + Duration::from_secs(20);
    let prefix = format!("[{id}] ");
    while !states.contains(&"Finished".to_string()) {
        let Ok(Some(line)) = heard.next_line(deadline).await else {
            panic!("events listen printed {states:?}, then: {:?}", heard.text());
        };
        // --filter testjob --filter worker: kvm01's changes are not printed.
        assert!(!line.contains(".device "), "{line}");
        if let Some(rest) = line
            .split(" - ")
            .nth(1)
            .and_then(|l| l.strip_prefix(&prefix))
        {
            assert!(line.contains("org.linaro.validation.testjob bob"), "{line}");
            let state = rest
                .split("state=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap();
            states.push(state.to_string());
        }
    }
    drop(heard);
    let _ = listen.kill().await;
    assert_eq!(
        states,
        ["Scheduled", "Running", "Finished"],
        "events listen printed {states:?}"
    );
    let waited_out = waited.read_to_end(20).await;
    assert!(waiter.wait().await.unwrap().success(), "{waited_out}");

    assert_eq!(
        ok(h, "bob", &["results", &id]),
        "Results:\n* 0_smoke.uname [pass]\n"
    );
    assert_eq!(
        ok(h, "bob", &["results", &id, "0_smoke", "uname"]),
        "pass\n"
    );
    let suite = ok(h, "bob", &["results", &id, "0_smoke", "--json"]);
    assert!(
        suite.contains("\"name\": \"uname\"") && suite.contains("\"result\": \"pass\""),
        "{suite}"
    );
    let (_, out) = run(h, "bob", &["results", &id, "nosuch"]);
    assert!(out.contains("Fault 404"), "{out}");
    let dest = h.join("cfg");
    ok(
        h,
        "default",
        &["jobs", "config", &id, "--dest", dest.to_str().unwrap()],
    );
    assert!(
        std::fs::read_to_string(dest.join("definition.yaml"))
            .unwrap()
            .contains("kvm-alias")
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("device.yaml")).unwrap(),
        "device_type = kvm\nhostname = kvm01\n"
    );

    // utils (no server) and identities
    let log = write(h, "log.yaml", &line(0));
    assert_eq!(
        ok(h, "default", &["utils", "logs", "print", &log]),
        "2026-01-01T00:00:00 line 0\n"
    );
    assert!(ok(h, "default", &["identities", "list"]).contains("* bob\n"));
}
