//! The client APIs through a real `lava-server web` on 100,000 jobs: `GET /api/v0.2/jobs/`
//! (default paging, with its count) and XML-RPC `scheduler.jobs.submit`. Prints requests per
//! second and p50/p95 latency; asserts nothing. `cargo bench -p lava-server --bench api`.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{EMPTY_JOB, add_bench_type, ms, percentile, run_bench, start_web};
use lava_common::fixture::DeviceRecord;
use lava_common::ids::{DeviceTypeName, JobId};
use lava_common::state::DeviceHealth;
use lava_server::web::xmlrpc::codec::{Value, call, parse_response};

const JOBS: i64 = 100_000;

/// One device type with one device, a superuser and their token.
async fn populate(db: &lava_testkit::TestDb) -> String {
    let c = db.client().await.expect("db");
    add_bench_type(&c).await;
    let d = DeviceRecord {
        health: DeviceHealth::Good,
        ..DeviceRecord::new("bench01", "bench")
    };
    lava_db::devices::add(&c, &d).await.expect("device");
    let user = lava_common::fixture::UserRecord {
        username: "bench".into(),
        email: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        password: String::new(),
        is_staff: true,
        is_superuser: true,
        is_active: true,
    };
    lava_db::users::add(&c, &user).await.expect("user");
    let token = lava_common::token::generate();
    lava_db::tokens::add(&c, "bench", "bench", &lava_common::token::hash(&token))
        .await
        .expect("token");
    let started = Instant::now();
    lava_db::jobs::insert_many_for_bench(&c, JOBS, &DeviceTypeName::from("bench"), None)
        .await
        .expect("bulk jobs");
    println!(
        "loaded {JOBS} finished jobs in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    token
}

/// Latency from one client making `total` requests in turn (p50/p95, as a user sees it),
/// then the rate of `total` requests from `clients` concurrent clients; prints both.
async fn measure<F, Fut>(what: &str, total: usize, clients: usize, request: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let mut lat = Vec::with_capacity(total);
    for _ in 0..total {
        let t = Instant::now();
        request().await;
        lat.push(t.elapsed());
    }
    lat.sort();
    let request = Arc::new(request);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (request, next) = (request.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                request().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{what}: p50 {}, p95 {} (one client); {:.0}/s ({clients} clients)",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.95)),
        total as f64 / secs,
    );
}

/// The two queries of a job list page on their own, without HTTP.
async fn queries(db: &lava_testkit::TestDb) {
    use lava_db::job_list::{JobFilter, JobOrder, count, list};
    let c = db.client().await.expect("db");
    let viewer = lava_db::viewer::Viewer::ANONYMOUS;
    let time = |n: usize, started: Instant| ms(started.elapsed() / n as u32);
    let default = JobFilter {
        limit: 50,
        ..Default::default()
    };
    let keyset = JobFilter {
        order: JobOrder::IdDesc,
        id_lt: Some(JobId(50_000)),
        limit: 50,
        ..Default::default()
    };
    for (what, f) in [("default page", &default), ("keyset page", &keyset)] {
        let started = Instant::now();
        for _ in 0..20 {
            list(&c, &viewer, f).await.expect("list");
        }
        let l = time(20, started);
        let started = Instant::now();
        for _ in 0..20 {
            count(&c, &viewer, f).await.expect("count");
        }
        println!("job_list {what}: list {l}, count {}", time(20, started));
    }
}

async fn run() {
    let db = lava_testkit::test_db().await.expect("db");
    let token = populate(&db).await;
    queries(&db).await;
    let root = tempfile::tempdir().expect("root");
    let (_web, base) = start_web(root.path(), db.url()).await;
    let http = reqwest::Client::new();

    let (h, url, tok) = (
        http.clone(),
        format!("{base}/api/v0.2/jobs/"),
        token.clone(),
    );
    measure(
        "GET /api/v0.2/jobs/ (limit 50 of 100,000, with count)",
        500,
        8,
        move || {
            let r = h
                .get(&url)
                .header("authorization", format!("Token {tok}"))
                .send();
            async move {
                let r = r.await.expect("get");
                assert_eq!(r.status().as_u16(), 200);
                r.bytes().await.expect("body");
            }
        },
    )
    .await;

    let (h, url) = (
        http.clone(),
        format!("{base}/api/v0.2/jobs/?ordering=-id&id__lt=50000&limit=50"),
    );
    measure(
        "GET /api/v0.2/jobs/?ordering=-id&id__lt=50000 (keyset page)",
        500,
        8,
        move || {
            let r = h.get(&url).send();
            async move {
                r.await.expect("get").bytes().await.expect("body");
            }
        },
    )
    .await;

    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("bench:{token}"))
    );
    let (h, url) = (http.clone(), format!("{base}/RPC2"));
    let body = call("scheduler.jobs.submit", &[Value::str(EMPTY_JOB)]);
    measure("XML-RPC scheduler.jobs.submit", 2_000, 16, move || {
        let r = h
            .post(&url)
            .header("authorization", &basic)
            .header("content-type", "text/xml")
            .body(body.clone())
            .send();
        async move {
            let text = r.await.expect("post").text().await.expect("body");
            match parse_response(text.as_bytes()) {
                Ok(Ok(Value::Int(_))) => {}
                other => panic!("submit failed: {other:?}"),
            }
        }
    })
    .await;
}

fn main() {
    run_bench(run());
}
