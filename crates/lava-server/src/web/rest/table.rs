//! The table of every REST v0.2 route: its methods, who may call each, what it answers and how
//! it differs from LAVA 2023.01. The `Allow` header of every reply, the `OPTIONS` answer,
//! `docs/api.md` and the test that holds the router to this table all read it.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::web::xmlrpc::methods::Perm::{self, *};

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// Its path below the host; `{x}` stands for one path segment.
    pub path: &'static str,
    /// Each method it serves and who may call it (`HEAD` and `OPTIONS` come with `GET`).
    pub methods: &'static [(&'static str, Perm)],
    /// What it does and answers.
    pub help: &'static str,
    /// How it differs from LAVA 2023.01 (empty: it does not).
    pub differs: &'static str,
}

const fn r(
    path: &'static str,
    methods: &'static [(&'static str, Perm)],
    help: &'static str,
    differs: &'static str,
) -> Route {
    Route {
        path,
        methods,
        help,
        differs,
    }
}

/// Every route, a literal path before the pattern it would also match.
pub const ROUTES: &[Route] = &[
    r(
        "/api/v0.2/",
        &[("GET", Anyone)],
        "Each endpoint's absolute URL, by name.",
        "",
    ),
    r(
        "/api/v0.2/system/version/",
        &[("GET", Anyone)],
        "`{\"version\": \"2023.01\"}`.",
        "",
    ),
    r(
        "/api/v0.2/system/whoami/",
        &[("GET", Anyone)],
        "`{\"user\": NAME}`, `\"\"` when anonymous.",
        "",
    ),
    r(
        "/api/v0.2/jobs/",
        &[("GET", Anyone), ("POST", User)],
        "GET: the jobs the caller may see (filters `state`, `health`, `state__in`, `health__in`, `id__gt`, `id__lt`, `id__in`, `submit_time__gt/lt`, `end_time__gt/lt`, `requested_device_type`, `actual_device`, `submitter`, `health_check`; `ordering`; `limit`/`offset`). POST `{\"definition\": YAML}`: 201 `{\"message\", \"job_ids\"}`.",
        "Jobs carry `error_type` (LAVA's error type of a failure, null otherwise); `failure_tags` lists the ids of the failure tags staff set (`lava-server manage failure-tags`); no `token` field.",
    ),
    r(
        "/api/v0.2/jobs/validate/",
        &[("POST", Anyone)],
        "Checks `{\"definition\": YAML}` without submitting it.",
        "",
    ),
    r(
        "/api/v0.2/jobs/{id}/",
        &[("GET", Anyone)],
        "One job (404 when missing or not visible).",
        "PUT, PATCH and DELETE are not served.",
    ),
    r(
        "/api/v0.2/jobs/{id}/cancel/",
        &[("POST", User)],
        "Cancels the job: `{\"message\": \"Job cancel signal sent.\"}`.",
        "A POST: LAVA cancels on GET, which a link or prefetch could trigger.",
    ),
    r(
        "/api/v0.2/jobs/{id}/resubmit/",
        &[("POST", User)],
        "Submits the job's definition again: 201 with the new id.",
        "",
    ),
    r(
        "/api/v0.2/jobs/{id}/logs/",
        &[("GET", Anyone)],
        "The job's `output.yaml` (`?start=&end=` line range).",
        "",
    ),
    r(
        "/api/v0.2/jobs/{id}/tests/",
        &[("GET", Anyone)],
        "The job's test cases, paged.",
        "",
    ),
    r(
        "/api/v0.2/jobs/{id}/suites/",
        &[("GET", Anyone)],
        "The job's test suites, paged.",
        "",
    ),
    r(
        "/api/v0.2/jobs/{id}/junit/",
        &[("GET", Anyone)],
        "The results as JUnit XML (`?classname_prefix=`).",
        "",
    ),
    r(
        "/api/v0.2/jobs/{id}/csv/",
        &[("GET", Anyone)],
        "The results as CSV.",
        "",
    ),
    r(
        "/api/v0.2/jobs/{id}/yaml/",
        &[("GET", Anyone)],
        "The results as YAML.",
        "",
    ),
    r(
        "/api/v0.2/devices/",
        &[("GET", Anyone), ("POST", Staff)],
        "GET: every device. POST `{\"hostname\", \"device_type\", \"worker_host\", \"description\"?, \"health\"?, \"tags\"?}`: 201 with the new device.",
        "",
    ),
    r(
        "/api/v0.2/devices/{hostname}/",
        &[("GET", Anyone), ("PUT", Staff), ("PATCH", Staff)],
        "GET: one device. PUT/PATCH `{\"health\", \"reason\"?}` changes its health; other fields are refused.",
        "DELETE is not served; only `health` changes here.",
    ),
    r(
        "/api/v0.2/devices/{hostname}/dictionary/",
        &[("GET", Superuser), ("POST", Superuser)],
        "GET: `{\"dictionary\": TEXT}`, the device's `.conf` as written. POST `{\"dictionary\": TEXT}`: checked (naming the bad line), then replaced atomically.",
        "The dictionary is the `.conf` file, not a Jinja2 device dictionary.",
    ),
    r(
        "/api/v0.2/devicetypes/",
        &[("GET", Anyone)],
        "Every device type, with its aliases.",
        "POST is not served (`lavacli device-types add`).",
    ),
    r(
        "/api/v0.2/devicetypes/{name}/",
        &[("GET", Anyone)],
        "One device type.",
        "",
    ),
    r(
        "/api/v0.2/devicetypes/{name}/template/",
        &[("GET", Superuser), ("POST", Superuser)],
        "GET: `{\"template\": TEXT}`, the device-type file. POST `{\"template\": TEXT}`: checked, then replaced atomically.",
        "The template is the device type's `.conf` file, not a Jinja2 template.",
    ),
    r(
        "/api/v0.2/workers/",
        &[("GET", Anyone), ("POST", Staff)],
        "GET: every worker. POST `{\"hostname\", \"description\"?, \"health\"?, \"job_limit\"?}`: 201 with the new worker.",
        "No `token` field: tokens are stored hashed.",
    ),
    r(
        "/api/v0.2/workers/{hostname}/",
        &[("GET", Anyone)],
        "One worker.",
        "",
    ),
    r(
        "/api/v0.2/aliases/",
        &[("GET", Anyone), ("POST", Staff)],
        "GET: `{\"name\", \"device_type\"}` of every alias. POST the same: 201.",
        "",
    ),
    r(
        "/api/v0.2/aliases/{name}/",
        &[("GET", Anyone), ("DELETE", Staff)],
        "One alias; DELETE removes it (204).",
        "",
    ),
    r(
        "/api/v0.2/tags/",
        &[("GET", Anyone), ("POST", Staff)],
        "GET: `{\"name\", \"description\"}` of every tag. POST the same: 201.",
        "Tags are known by name: no `id` field, and `tags/NAME/` instead of `tags/ID/`.",
    ),
    r(
        "/api/v0.2/tags/{name}/",
        &[("GET", Anyone), ("DELETE", Staff)],
        "One tag; DELETE removes it from every device too (204).",
        "",
    ),
    r(
        "/api/v0.2/permissions/devicetypes/",
        &[("GET", Anyone)],
        "Group permissions on device types: always an empty list.",
        "No per-group device-type permissions: jobs have visibility instead; POST is not served.",
    ),
    r(
        "/api/v0.2/permissions/devices/",
        &[("GET", Anyone)],
        "Group permissions on devices: always an empty list.",
        "No per-group device permissions; POST is not served.",
    ),
];

/// Whether `path` (a request's) matches the route pattern `pattern`.
fn matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') && !b.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The route a request path belongs to.
pub fn route_of(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| matches(r.path, path))
}

/// The `Allow` header of a route: its methods, `HEAD` after `GET`'s, then `OPTIONS`, in
/// DRF's order.
pub fn allow(route: &Route) -> String {
    let mut verbs: Vec<&str> = Vec::new();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        if route.methods.iter().any(|(v, _)| *v == m) {
            verbs.push(m);
        }
    }
    if verbs.contains(&"GET") {
        verbs.push("HEAD");
    }
    verbs.push("OPTIONS");
    verbs.join(", ")
}

/// DRF's `OPTIONS` metadata of a view.
#[derive(Serialize)]
struct Metadata {
    name: &'static str,
    description: &'static str,
    renders: [&'static str; 1],
    parses: [&'static str; 1],
}

/// Middleware: every reply of a known route carries its exact `Allow`; `OPTIONS` answers
/// with the route's name and description, as DRF does.
pub async fn allow_header(req: Request, next: Next) -> Response {
    let Some(route) = route_of(req.uri().path()) else {
        return next.run(req).await;
    };
    let allow = HeaderValue::from_str(&allow(route)).unwrap_or(HeaderValue::from_static("OPTIONS"));
    let mut resp = if req.method() == Method::OPTIONS {
        (
            StatusCode::OK,
            axum::Json(Metadata {
                name: route.path,
                description: route.help,
                renders: ["application/json"],
                parses: ["application/json"],
            }),
        )
            .into_response()
    } else {
        next.run(req).await
    };
    resp.headers_mut().insert(header::ALLOW, allow);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_routes_come_before_the_patterns_they_match() {
        assert_eq!(
            route_of("/api/v0.2/jobs/validate/").unwrap().path,
            "/api/v0.2/jobs/validate/"
        );
        assert_eq!(
            route_of("/api/v0.2/jobs/12/").unwrap().path,
            "/api/v0.2/jobs/{id}/"
        );
        assert!(route_of("/api/v0.2/jobs//").is_none());
        assert!(route_of("/api/v0.2/nosuch/").is_none());
        for (i, r) in ROUTES.iter().enumerate() {
            assert_eq!(route_of(r.path).map(|x| x.path), Some(r.path), "{}", r.path);
            assert!(
                ROUTES[..i].iter().all(|e| e.path != r.path),
                "{} twice",
                r.path
            );
        }
    }

    #[test]
    fn allow_lists_the_methods_in_drf_order() {
        assert_eq!(
            allow(route_of("/api/v0.2/jobs/").unwrap()),
            "GET, POST, HEAD, OPTIONS"
        );
        assert_eq!(
            allow(route_of("/api/v0.2/jobs/1/cancel/").unwrap()),
            "POST, OPTIONS"
        );
        assert_eq!(
            allow(route_of("/api/v0.2/devices/d/").unwrap()),
            "GET, PUT, PATCH, HEAD, OPTIONS"
        );
    }
}
