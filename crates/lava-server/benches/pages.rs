//! The job pages over a big table: 100,000 jobs, then requests per second and p50/p95
//! latency of the all-jobs page (first page and a deep `?before=` page) and of a job's detail
//! page, served in-process by the real router from the repository's templates; then a job
//! with a 50 MB log through a real `lava-server web` (its page and live log stream, in
//! `biglog`). Prints figures; asserts nothing (the goal is p50 < 5 ms each).

mod biglog;
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{ms, percentile};
use lava_common::ids::DeviceTypeName;
use lava_server::logstore::LogStore;
use lava_server::web::{AppState, router, waiters::Waiters};

const JOBS: i64 = 100_000;
const SEQUENTIAL: usize = 400;
const CONCURRENT: usize = 8;
const PER_CLIENT: usize = 100;

async fn fetch(http: &reqwest::Client, url: &str) -> Duration {
    let started = Instant::now();
    let r = http.get(url).send().await.expect("request");
    assert_eq!(r.status().as_u16(), 200, "{url}");
    r.bytes().await.expect("body");
    started.elapsed()
}

async fn measure(http: &reqwest::Client, base: &str, what: &str, path: &str) {
    let url = format!("{base}{path}");
    for _ in 0..20 {
        fetch(http, &url).await;
    }
    let mut lat = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        lat.push(fetch(http, &url).await);
    }
    lat.sort();
    let started = Instant::now();
    let clients: Vec<_> = (0..CONCURRENT)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                for _ in 0..PER_CLIENT {
                    fetch(&http, &url).await;
                }
            })
        })
        .collect();
    for c in clients {
        c.await.expect("client");
    }
    let rate = (CONCURRENT * PER_CLIENT) as f64 / started.elapsed().as_secs_f64();
    println!(
        "{what} ({path}): p50 {}, p95 {} (one client); {rate:.0} requests/s ({CONCURRENT} clients)",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.95)),
    );
}

#[tokio::main]
async fn main() {
    let db = lava_testkit::test_db().await.expect("db");
    let (lo, hi) = {
        let c = db.client().await.expect("db");
        lava_db::device_types::add(&c, &DeviceTypeName::from("bench"), "")
            .await
            .expect("type");
        let started = Instant::now();
        lava_db::jobs::insert_many_for_bench(&c, JOBS, &DeviceTypeName::from("bench"), None)
            .await
            .expect("jobs");
        let ids = c
            .query_one("SELECT min(id) AS lo, max(id) AS hi FROM jobs", &[])
            .await
            .expect("ids");
        println!(
            "inserted {JOBS} jobs in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        (ids.get::<_, i64>("lo"), ids.get::<_, i64>("hi"))
    };
    let logs = tempfile::tempdir().expect("tmp");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let state = AppState {
        pool: lava_db::pool(db.url(), 16).expect("pool"),
        logs: LogStore::new(logs.path().to_path_buf()),
        waiters: Arc::new(Waiters::default()),
        templates: std::sync::Arc::new(lava_server::web::pages::templates::Templates::new(
            repo.join("templates"),
        )),
        static_dir: repo.join("static"),
        limits: lava_common::limits::Limits::default(),
        events: lava_server::events::Hub::new(Default::default()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let http = reqwest::Client::new();
    measure(&http, &base, "all jobs, first page", "/scheduler/alljobs").await;
    let deep = lo + 1000;
    measure(
        &http,
        &base,
        "all jobs, deep page",
        &format!("/scheduler/alljobs?before={deep}"),
    )
    .await;
    let mid = (lo + hi) / 2;
    measure(&http, &base, "job detail", &format!("/scheduler/job/{mid}")).await;
    biglog::run().await;
}
