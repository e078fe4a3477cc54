//! The cluster, the per-test databases and `lava-lab`, against the real PostgreSQL binaries.

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::Instant;

use lava_testkit::{Error, PgCluster, test_db};

/// A directory under /tmp that the server's user (`nobody` when we are root) can reach.
fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("lava-testkit-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    dir
}

async fn has_schema(client: &tokio_postgres::Client) -> bool {
    let sql =
        "SELECT 1 FROM information_schema.tables WHERE table_name = 'refinery_schema_history'";
    client.query_opt(sql, &[]).await.unwrap().is_some()
}

#[tokio::test]
async fn temp_cluster_serves_its_socket_url_and_vanishes_on_stop() {
    let started = Instant::now();
    let mut cluster = PgCluster::start_temp().unwrap();
    eprintln!("temp cluster started in {:?}", started.elapsed());
    let url = cluster.url("postgres");
    let config = tokio_postgres::Config::from_str(&url).unwrap();
    assert_eq!(
        config.get_hosts(),
        [tokio_postgres::config::Host::Unix(
            cluster.socket_dir().to_owned()
        )]
    );
    let client = lava_db::connect(&url).await.unwrap();
    let row = client.query_one("SELECT 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
    drop(client);

    let root = cluster.paths().root.clone();
    assert!(root.exists());
    cluster.stop().unwrap();
    assert!(!root.exists(), "{} left behind", root.display());
    cluster.stop().unwrap();
}

#[tokio::test]
async fn each_test_db_is_distinct_and_migrated() {
    let started = Instant::now();
    let a = test_db().await.unwrap();
    eprintln!("first test_db in {:?}", started.elapsed());
    let started = Instant::now();
    let b = test_db().await.unwrap();
    eprintln!("second test_db in {:?}", started.elapsed());
    assert_ne!(a.name(), b.name());
    assert_ne!(a.url(), b.url());

    let ca = a.client().await.unwrap();
    let cb = b.client().await.unwrap();
    assert!(has_schema(&ca).await);
    assert!(has_schema(&cb).await);
    ca.batch_execute("CREATE TABLE only_in_a (x int)")
        .await
        .unwrap();
    let sql = "SELECT 1 FROM information_schema.tables WHERE table_name = 'only_in_a'";
    assert!(cb.query_opt(sql, &[]).await.unwrap().is_none());

    let pooled = a.pool().unwrap().get().await.unwrap();
    assert!(pooled.query_opt(sql, &[]).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_dbs_in_parallel() {
    let tasks: Vec<_> = (0..8).map(|_| tokio::spawn(test_db())).collect();
    let mut names = Vec::new();
    for task in tasks {
        let db = task.await.unwrap().unwrap();
        assert!(has_schema(&db.client().await.unwrap()).await);
        names.push(db.name().to_owned());
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 8);
}

#[test]
fn a_failed_start_quotes_the_server_log() {
    let sandbox = sandbox();
    let dir = sandbox.path().join("pg");
    let mut cluster = PgCluster::start(&dir).unwrap();
    let conf = cluster.paths().data.join("postgresql.conf");
    cluster.stop().unwrap();
    assert!(dir.exists(), "a persistent cluster is kept");
    drop(cluster);

    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("no_such_setting = 1\n");
    std::fs::write(&conf, text).unwrap();
    let err = PgCluster::start(&dir).unwrap_err().to_string();
    assert!(err.contains("pg_ctl start"), "{err}");
    assert!(err.contains("no_such_setting"), "{err}");
}

#[test]
fn an_unreachable_directory_is_named() {
    let private = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        private.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let we_are_root = std::os::unix::fs::MetadataExt::uid(&private.path().metadata().unwrap()) == 0;
    match PgCluster::start(&private.path().join("pg")) {
        Err(Error::Unreachable { user, .. }) if we_are_root => assert_eq!(user, "nobody"),
        Ok(_) if !we_are_root => {}
        other => panic!("{other:?}"),
    }
}

fn lava_lab(args: &[&str], dir: &Path) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_lava-lab"))
        .args(args)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "lava-lab {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn lava_lab_starts_reuses_and_stops_a_persistent_cluster() {
    let sandbox = sandbox();
    let dir = sandbox.path().join("state");
    let expected = String::from_utf8(lava_lab(&["pg-url"], &dir).stdout).unwrap();
    for round in 0..2 {
        let started = Instant::now();
        let out = lava_lab(&["pg-start"], &dir);
        eprintln!("pg-start round {round} took {:?}", started.elapsed());
        let url = String::from_utf8(out.stdout).unwrap();
        assert_eq!(url, expected);
        assert_eq!(url.lines().count(), 1);

        let client = lava_db::connect(url.trim()).await.unwrap();
        if round == 0 {
            client
                .batch_execute("CREATE TABLE survives (x int)")
                .await
                .unwrap();
        } else {
            client
                .query_one("SELECT count(*) FROM survives", &[])
                .await
                .unwrap();
        }
        drop(client);

        // Starting a running cluster again only prints its URL.
        assert_eq!(lava_lab(&["pg-start"], &dir).stdout, url.as_bytes());
        lava_lab(&["pg-stop"], &dir);
        assert!(lava_db::connect(url.trim()).await.is_err());
    }
    // Stopping a stopped cluster is fine.
    lava_lab(&["pg-stop"], &dir);
}

#[test]
fn lava_lab_refuses_a_socket_path_that_is_too_long() {
    let long = Path::new("/tmp").join("d".repeat(100));
    let output = Command::new(env!("CARGO_BIN_EXE_lava-lab"))
        .arg("pg-start")
        .arg(&long)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("longer than the 107"), "{stderr}");
    assert!(!long.exists());
}

/// Run by [`a_killed_owner_leaves_no_server_behind`] in a child process, which it then kills.
#[test]
#[ignore = "helper: runs until killed"]
fn helper_start_cluster_and_wait() {
    let cluster = PgCluster::start_temp().unwrap();
    let pid = std::fs::read_to_string(cluster.paths().data.join("postmaster.pid")).unwrap();
    println!(
        "CLUSTER {} {}",
        cluster.paths().root.display(),
        pid.lines().next().unwrap()
    );
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    // The owner staying alive is the point: the test kills it meanwhile. (The bound only
    // ends a helper started by hand and forgotten.)
    std::thread::sleep(std::time::Duration::from_secs(600));
}

#[test]
fn a_killed_owner_leaves_no_server_behind() {
    use std::io::BufRead;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_start_cluster_and_wait",
            "--ignored",
            "--nocapture",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let line = stdout
        .lines()
        .map(Result::unwrap)
        .find(|l| l.starts_with("CLUSTER "))
        .unwrap();
    let mut words = line.split_whitespace().skip(1);
    let root = Path::new(words.next().unwrap()).to_owned();
    let pid = words.next().unwrap().to_owned();
    assert!(Path::new("/proc").join(&pid).exists());

    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    let deadline = Instant::now() + std::time::Duration::from_secs(15);
    while (root.exists() || Path::new("/proc").join(&pid).exists()) && Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !Path::new("/proc").join(&pid).exists(),
        "postmaster {pid} still runs"
    );
    assert!(!root.exists(), "{} left behind", root.display());
}
