//! The soak's lab, set up as an admin would: a private PostgreSQL, the schema, the `dummy`
//! device type and N devices spread over W workers (each worker a `LAVA_ROOT` of its own with
//! its `.conf` files and token), a user with an API token, then the web app, the scheduler
//! and the workers as daemons.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use lava_testkit::PgCluster;

use super::stack::{Daemon, free_port, output};

/// The device type, as `examples/device-types/dummy.conf` documents it.
const DUMMY_CONF: &str = include_str!("../../../../../../examples/device-types/dummy.conf");

/// The running lab. Fields drop in order: the daemons stop before the database does.
pub struct Lab {
    pub web: Daemon,
    pub scheduler: Daemon,
    pub workers: Vec<Daemon>,
    /// The devices of each worker, by worker index.
    pub devices: Vec<Vec<String>>,
    /// The web app's URL.
    pub url: String,
    /// The soak user's API token.
    pub token: String,
    _cluster: PgCluster,
}

/// The device names: `dummy0001`, … (as wide as `n` needs).
pub fn device_names(n: usize) -> Vec<String> {
    let width = n.to_string().len().max(4);
    (1..=n).map(|i| format!("dummy{i:0width$}")).collect()
}

/// `lava-server` with the lab's server environment.
fn server(bin: &Path, root: &Path, db: &str) -> Command {
    let mut c = Command::new(bin.join("lava-server"));
    c.env("LAVA_ROOT", root).env("LAVA_DATABASE_URL", db);
    c
}

fn write(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

impl Lab {
    /// Sets the lab up in `dir` and starts its daemons from the binaries in `bin`.
    pub fn start(
        dir: &Path,
        bin: &Path,
        devices: usize,
        workers: usize,
        rt: &tokio::runtime::Runtime,
    ) -> anyhow::Result<Lab> {
        // PostgreSQL runs as `nobody` when we are root: it must reach its directory.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        eprintln!("soak: starting postgresql in {}", dir.join("pg").display());
        let cluster = PgCluster::start(&dir.join("pg")).context("cannot start postgresql")?;
        rt.block_on(cluster.ensure_database("lava"))?;
        let db = cluster.url("lava");
        let root = dir.join("server");
        let manage = |args: &[&str]| {
            let mut c = server(bin, &root, &db);
            c.arg("manage").args(args);
            output(c)
        };
        manage(&["migrate"])?;
        manage(&["users", "add", "soak", "--superuser"])?;
        let token = manage(&["tokens", "add", "--user", "soak", "--description", "soak"])?
            .trim()
            .to_string();

        let names = device_names(devices);
        let mut split: Vec<Vec<String>> = vec![Vec::new(); workers];
        let mut fixture = vec![serde_json::json!(
            {"model": "lava_scheduler_app.devicetype", "pk": "dummy", "fields": {}}
        )];
        for w in 0..workers {
            let name = format!("worker-{w}");
            let worker_token = manage(&["workers", "add", &name])?.trim().to_string();
            manage(&["workers", "approve", &name])?;
            let etc = dir.join(&name).join("etc/lava-dispatcher");
            write(
                &etc.join("worker.token"),
                &format!("{worker_token}\n"),
                0o600,
            )?;
            write(&etc.join("device-types/dummy.conf"), DUMMY_CONF, 0o644)?;
        }
        for (i, d) in names.iter().enumerate() {
            let w = i % workers;
            let conf = format!("device_type = dummy\nhostname = {d}\n");
            let etc = dir.join(format!("worker-{w}/etc/lava-dispatcher"));
            write(&etc.join(format!("devices/{d}.conf")), &conf, 0o644)?;
            fixture.push(serde_json::json!({
                "model": "lava_scheduler_app.device", "pk": d,
                "fields": {"device_type": "dummy", "health": 1, "worker_host": format!("worker-{w}")}
            }));
            split[w].push(d.clone());
        }
        let fixture_file = dir.join("devices.json");
        write(
            &fixture_file,
            &serde_json::Value::Array(fixture).to_string(),
            0o644,
        )?;
        manage(&["loaddata", &fixture_file.display().to_string()])?;

        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs)?;
        let (b, r, d) = (bin.to_path_buf(), root.clone(), db.clone());
        let web = Daemon::start("web", &logs.join("web.log"), move || {
            let mut c = server(&b, &r, &d);
            c.args(["web", "--listen", &format!("127.0.0.1:{port}")]);
            c
        })?;
        wait_listening(port)?;
        let (b, r, d) = (bin.to_path_buf(), root.clone(), db.clone());
        let scheduler = Daemon::start("scheduler", &logs.join("scheduler.log"), move || {
            let mut c = server(&b, &r, &d);
            c.args(["scheduler", "--interval", "5"]);
            c
        })?;
        let mut worker_daemons = Vec::new();
        for w in 0..workers {
            let name = format!("worker-{w}");
            let (b, host, u) = (bin.to_path_buf(), dir.join(&name), url.clone());
            let n = name.clone();
            worker_daemons.push(Daemon::start(
                &name,
                &logs.join(format!("{name}.log")),
                move || worker(&b, &host, &u, &n),
            )?);
        }
        Ok(Lab {
            web,
            scheduler,
            workers: worker_daemons,
            devices: split,
            url,
            token,
            _cluster: cluster,
        })
    }

    /// Every daemon, for sampling and the report.
    pub fn daemons(&mut self) -> Vec<&mut Daemon> {
        let mut all = vec![&mut self.web, &mut self.scheduler];
        all.extend(self.workers.iter_mut());
        all
    }
}

fn worker(bin: &Path, host: &PathBuf, url: &str, name: &str) -> Command {
    let mut c = Command::new(bin.join("lava-dispatcher"));
    c.args(["worker", "--url", url, "--name", name])
        .env("LAVA_ROOT", host)
        .env_remove("LAVA_WORKER_TOKEN");
    c
}

/// Waits (at most 60 s) for the web app to accept connections.
fn wait_listening(port: u16) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the web app is not listening on 127.0.0.1:{port} after 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Ok(())
}
