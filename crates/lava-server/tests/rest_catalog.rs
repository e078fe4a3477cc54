//! The REST v0.2 routes beyond jobs: tags, aliases (resolved at submit), permissions, device
//! dictionaries and device-type templates, creating devices and workers, the new job filters
//! and fields; and a walk over the route table proving that each route serves exactly its
//! methods, with the exact `Allow` header and the table's permissions.

mod common;

use common::*;
use lava_server::web::rest::table::{ROUTES, allow};
use lava_server::web::xmlrpc::methods::Perm;
use serde_json::{Value, json};

const KVM_TYPE: &str = "qemu_binary = qemu-system-x86_64\nmemory = 256\n";
const KVM01: &str = "device_type = kvm\nhostname = kvm01\nconsole = %(hostname)s-console\n";

fn setup_files(s: &Server) -> std::path::PathBuf {
    let etc = s.root.path().join("etc/lava-dispatcher");
    std::fs::create_dir_all(etc.join("device-types")).unwrap();
    std::fs::create_dir_all(etc.join("devices")).unwrap();
    std::fs::write(etc.join("device-types/kvm.conf"), KVM_TYPE).unwrap();
    std::fs::write(etc.join("devices/kvm01.conf"), KVM01).unwrap();
    etc
}

#[tokio::test]
async fn tags_aliases_files_creation_filters_and_job_fields() {
    let s = Server::start().await;
    let admin = s.user("admin", true);
    let bob = s.user("bob", false);
    let etc = setup_files(&s);
    let (as_admin, as_bob, anon) = (s.rest(Some(&admin)), s.rest(Some(&bob)), s.rest(None));

    // tags
    let (st, v) = as_admin
        .post(
            "/api/v0.2/tags/",
            json!({"name": "fast", "description": "Fast boards"}),
        )
        .await;
    assert_eq!(
        (st, v.clone()),
        (201, json!({"name": "fast", "description": "Fast boards"}))
    );
    let (st, v) = as_admin
        .post("/api/v0.2/tags/", json!({"name": "fast"}))
        .await;
    assert_eq!(st, 400, "{v}");
    assert!(v["name"][0].as_str().unwrap().contains("fast"), "{v}");
    let (st, _) = as_bob.post("/api/v0.2/tags/", json!({"name": "x"})).await;
    assert_eq!(st, 403);
    as_admin
        .post("/api/v0.2/tags/", json!({"name": "slow"}))
        .await;
    let (_, v) = anon.get("/api/v0.2/tags/").await;
    assert_eq!(v["count"], 2);
    assert_eq!(
        v["results"][0],
        json!({"name": "fast", "description": "Fast boards"})
    );
    let (st, _) = as_admin.delete("/api/v0.2/tags/slow/").await;
    assert_eq!(st, 204);
    assert_eq!(anon.get("/api/v0.2/tags/slow/").await.0, 404);

    // aliases: created here, shown on the type, resolved at submit
    let (st, v) = as_admin
        .post(
            "/api/v0.2/aliases/",
            json!({"name": "kvm-alias", "device_type": "kvm"}),
        )
        .await;
    assert_eq!(
        (st, v),
        (201, json!({"name": "kvm-alias", "device_type": "kvm"}))
    );
    let (st, v) = as_admin
        .post(
            "/api/v0.2/aliases/",
            json!({"name": "x", "device_type": "nosuch"}),
        )
        .await;
    assert_eq!(st, 400);
    assert!(
        v["device_type"][0].as_str().unwrap().contains("nosuch"),
        "{v}"
    );
    let (st, v) = as_admin
        .post(
            "/api/v0.2/aliases/",
            json!({"name": "kvm", "device_type": "kvm"}),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(
        anon.get("/api/v0.2/aliases/kvm-alias/").await.1,
        json!({"name": "kvm-alias", "device_type": "kvm"})
    );
    assert_eq!(
        anon.get("/api/v0.2/devicetypes/kvm/").await.1["aliases"],
        json!(["kvm-alias"])
    );
    let (st, v) = as_bob
        .post(
            "/api/v0.2/jobs/",
            json!({"definition": EMPTY_JOB.replace("device_type: kvm", "device_type: kvm-alias")}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let aliased = v["job_ids"][0].as_i64().unwrap();
    assert_eq!(
        anon.get(&format!("/api/v0.2/jobs/{aliased}/")).await.1["requested_device_type"],
        "kvm"
    );

    // permissions: none kept, an honest empty list
    let (st, v) = anon.get("/api/v0.2/permissions/devicetypes/").await;
    assert_eq!((st, v["count"].clone()), (200, json!(0)));
    assert_eq!(anon.get("/api/v0.2/permissions/devices/").await.0, 200);

    // device dictionary and device-type template
    let (st, v) = as_admin.get("/api/v0.2/devices/kvm01/dictionary/").await;
    assert_eq!((st, v), (200, json!({"dictionary": KVM01})));
    assert_eq!(
        as_bob.get("/api/v0.2/devices/kvm01/dictionary/").await.0,
        403
    );
    let broken = "device_type = kvm\nhostname = kvm01\nthis line is broken\n";
    let (st, v) = as_admin
        .post(
            "/api/v0.2/devices/kvm01/dictionary/",
            json!({"dictionary": broken}),
        )
        .await;
    assert_eq!(st, 400);
    let msg = v["dictionary"][0].as_str().unwrap();
    assert!(msg.contains("kvm01.conf") && msg.contains('3'), "{msg}");
    assert_eq!(
        std::fs::read_to_string(etc.join("devices/kvm01.conf")).unwrap(),
        KVM01
    );
    let wrong_type = "device_type = qemu\n";
    let (st, _) = as_admin
        .post(
            "/api/v0.2/devices/kvm01/dictionary/",
            json!({"dictionary": wrong_type}),
        )
        .await;
    assert_eq!(st, 400);
    let new = format!("{KVM01}memory = 512\n");
    let (st, _) = as_admin
        .post(
            "/api/v0.2/devices/kvm01/dictionary/",
            json!({"dictionary": new}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        std::fs::read_to_string(etc.join("devices/kvm01.conf")).unwrap(),
        new
    );
    let (st, v) = as_admin.get("/api/v0.2/devicetypes/kvm/template/").await;
    assert_eq!((st, v), (200, json!({"template": KVM_TYPE})));
    let (st, _) = as_admin
        .post(
            "/api/v0.2/devicetypes/kvm/template/",
            json!({"template": "memory 1024\n"}),
        )
        .await;
    assert_eq!(st, 400);
    assert_eq!(
        std::fs::read_to_string(etc.join("device-types/kvm.conf")).unwrap(),
        KVM_TYPE
    );
    let (st, _) = as_admin
        .post(
            "/api/v0.2/devicetypes/kvm/template/",
            json!({"template": "memory = 1024\n"}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        std::fs::read_to_string(etc.join("device-types/kvm.conf")).unwrap(),
        "memory = 1024\n"
    );
    assert_eq!(
        as_admin
            .get("/api/v0.2/devicetypes/nosuch/template/")
            .await
            .0,
        404
    );

    // creating workers and devices
    let (st, v) = as_admin
        .post(
            "/api/v0.2/workers/",
            json!({"hostname": "w2", "description": "second", "job_limit": 2}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (
            v["hostname"].clone(),
            v["job_limit"].clone(),
            v["health"].clone()
        ),
        (json!("w2"), json!(2), json!("Active"))
    );
    assert_eq!(
        as_admin
            .post("/api/v0.2/workers/", json!({"hostname": "w2"}))
            .await
            .0,
        400
    );
    assert_eq!(
        as_bob
            .post("/api/v0.2/workers/", json!({"hostname": "w3"}))
            .await
            .0,
        403
    );
    let (st, v) = as_admin.post("/api/v0.2/devices/", json!({"hostname": "kvm02", "device_type": "kvm", "worker_host": "w2", "tags": ["fast"], "health": "Maintenance"})).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (
            v["tags"].clone(),
            v["health"].clone(),
            v["worker_host"].clone()
        ),
        (json!(["fast"]), json!("Maintenance"), json!("w2"))
    );
    let (st, v) = as_admin
        .post(
            "/api/v0.2/devices/",
            json!({"hostname": "kvm03", "device_type": "kvm", "worker_host": "nosuch"}),
        )
        .await;
    assert_eq!(st, 400);
    assert!(
        v["worker_host"][0].as_str().unwrap().contains("nosuch"),
        "{v}"
    );
    assert_eq!(
        as_admin
            .post(
                "/api/v0.2/devices/",
                json!({"hostname": "kvm02", "device_type": "kvm", "worker_host": "w2"})
            )
            .await
            .0,
        400
    );
    assert_eq!(anon.get("/api/v0.2/devices/kvm03/").await.0, 404);

    // filters and job fields: one job ends incomplete with an error type
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    w.take(aliased).await;
    let (status, _): (u16, Value) = w
        .post(
            &format!("jobs/{aliased}/finished"),
            json!({"health": "incomplete", "error_type": "Infrastructure", "error_msg": "no power", "log_lines": 0}),
        )
        .await;
    assert_eq!(status, 200);
    let second = s.submit(EMPTY_JOB);
    let (_, job) = anon.get(&format!("/api/v0.2/jobs/{aliased}/")).await;
    assert_eq!(job["error_type"], "Infrastructure");
    assert!(
        job["failure_comment"]
            .as_str()
            .unwrap()
            .contains("no power"),
        "{job}"
    );
    let ids = |v: &Value| -> Vec<i64> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_i64().unwrap())
            .collect()
    };
    let (_, v) = anon
        .get(&format!("/api/v0.2/jobs/?id__in={aliased},{second},999999"))
        .await;
    assert_eq!(
        (ids(&v), v["count"].clone()),
        (vec![aliased, second], json!(2))
    );
    let submitted = job["submit_time"].as_str().unwrap().to_string();
    let ended = job["end_time"].as_str().unwrap().to_string();
    for (query, want) in [
        (format!("submit_time__gt={submitted}"), vec![second]),
        (format!("submit_time__lt={submitted}"), vec![]),
        ("end_time__gt=2000-01-01".to_string(), vec![aliased]),
        (format!("end_time__lt={ended}"), vec![]),
        (
            "health_check=false&actual_device=kvm01&requested_device_type=kvm&health=Incomplete"
                .to_string(),
            vec![aliased],
        ),
    ] {
        let (_, v) = anon.get(&format!("/api/v0.2/jobs/?{query}")).await;
        assert_eq!(ids(&v), want, "{query}");
    }
    let (_, v) = anon.get("/api/v0.2/jobs/?actual_device=kvm02").await;
    assert_eq!(v["count"], 0);
    let (_, v) = anon.get("/api/v0.2/jobs/?health_check=true").await;
    assert_eq!(v["count"], 0);
    let (st, v) = anon.get("/api/v0.2/jobs/?submit_time__gt=yesterday").await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v, json!({"submit_time__gt": ["Enter a valid date/time."]}));
}

/// A concrete path for a route pattern, naming objects that exist.
fn concrete(path: &str, job: i64) -> String {
    let seg = |prefix: &str, value: &str| (prefix.to_string(), value.to_string());
    let subs = [
        seg("/api/v0.2/jobs/{id}", &job.to_string()),
        seg("/api/v0.2/devices/{hostname}", "kvm01"),
        seg("/api/v0.2/workers/{hostname}", "w1"),
        seg("/api/v0.2/devicetypes/{name}", "kvm"),
        seg("/api/v0.2/tags/{name}", "fast"),
        seg("/api/v0.2/aliases/{name}", "kvm-alias"),
    ];
    for (pattern, value) in subs {
        if let Some(rest) = path.strip_prefix(&pattern) {
            let (head, _) = pattern.rsplit_once('/').unwrap();
            return format!("{head}/{value}{rest}");
        }
    }
    assert!(!path.contains('{'), "no object for {path}");
    path.to_string()
}

#[tokio::test]
async fn every_route_serves_exactly_its_methods_with_its_allow_header_and_permissions() {
    let s = Server::start().await;
    let admin = s.user("admin", true);
    let bob = s.user("bob", false);
    let sam = s.staff("sam");
    setup_files(&s);
    let _w = s.worker("w1");
    let as_admin = s.rest(Some(&admin));
    as_admin
        .post("/api/v0.2/tags/", json!({"name": "fast"}))
        .await;
    as_admin
        .post(
            "/api/v0.2/aliases/",
            json!({"name": "kvm-alias", "device_type": "kvm"}),
        )
        .await;
    let job = s.submit(EMPTY_JOB);
    let (anon, as_bob, as_sam) = (s.rest(None), s.rest(Some(&bob)), s.rest(Some(&sam)));
    let mut checked = 0;
    for r in ROUTES {
        let path = concrete(r.path, job);
        let want = allow(r);
        let (st, allow_got, body) = anon.call("OPTIONS", &path, None).await;
        assert_eq!(
            (st, allow_got.as_str()),
            (200, want.as_str()),
            "OPTIONS {path}: {body}"
        );
        for verb in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let perm = r.methods.iter().find(|(v, _)| *v == verb).map(|(_, p)| *p);
            // Anonymous first: a route's own method refuses or serves; any other is a 405.
            let (st, allow_got, body) = anon.call(verb, &path, Some(json!({}))).await;
            assert_eq!(allow_got, want, "{verb} {path}: Allow");
            checked += 1;
            match perm {
                None => assert_eq!(st, 405, "{verb} {path} is not in the table: {body}"),
                Some(Perm::Anyone) => assert_ne!(st, 405, "{verb} {path}: {body}"),
                Some(p) => {
                    assert_eq!(st, 403, "{verb} {path} anonymous: {body}");
                    assert!(
                        body.contains("Authentication credentials were not provided."),
                        "{body}"
                    );
                    if p >= Perm::Staff {
                        let (st, _, body) = as_bob.call(verb, &path, Some(json!({}))).await;
                        assert_eq!(st, 403, "{verb} {path} as a user: {body}");
                        assert!(
                            body.contains("You do not have permission to perform this action."),
                            "{body}"
                        );
                    }
                    if p == Perm::Superuser {
                        let (st, _, body) = as_sam.call(verb, &path, Some(json!({}))).await;
                        assert_eq!(st, 403, "{verb} {path} as staff: {body}");
                    }
                }
            }
        }
    }
    assert!(ROUTES.len() >= 28, "only {} routes", ROUTES.len());
    assert_eq!(checked, 5 * ROUTES.len());
}

/// `docs/api.md` is what the method and route tables say; `UPDATE_API_DOC=1` (`make
/// api-doc`) rewrites it.
#[test]
fn docs_api_md_is_generated_from_the_tables() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md");
    let want = lava_server::api_doc::markdown();
    if std::env::var_os("UPDATE_API_DOC").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date: run `make api-doc`",
        path.display()
    );
    for m in lava_server::web::xmlrpc::methods::METHODS {
        assert!(have.contains(&format!("| `{}` |", m.name)), "{}", m.name);
    }
    for r in ROUTES {
        assert!(have.contains(&format!("| `{}` |", r.path)), "{}", r.path);
    }
}
