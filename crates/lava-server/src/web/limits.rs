//! Request body limits: one per route, from one table ([`limit_for`]), enforced by one
//! middleware before any handler runs.
//!
//! A body that announces a length over its route's limit is refused before anything reads it;
//! one sent without a length (chunked) is cut off where it crosses the limit, and the
//! handler's extractor fails with 413. Before the refusal goes out, the rest of the body is
//! read and thrown away (up to [`DRAIN_BYTES`]), so the client, still sending, reads the
//! answer rather than a broken pipe. Either way the caller gets its surface's error shape:
//! REST a 413 with DRF's
//! `{"detail"}`, XML-RPC a fault (HTTP 200, code 413, as every XML-RPC error is), the worker
//! API a 413 with its `{"message"}`, pages an HTML 413. A route missing from the table gets
//! the small default, so a new route is never unbounded.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lava_common::limits::{Limits, WORKER_MESSAGE_BYTES};

use super::error::{Detail, Message};

/// Who is on the other side of a route, for the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// REST v0.2 and other JSON APIs: `{"detail": …}`.
    Rest,
    /// `/RPC2`: a fault.
    XmlRpc,
    /// The worker API: `{"message": …}`.
    Worker,
    /// Pages and forms: an HTML page.
    Html,
}

/// A route's body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    /// Bytes at most.
    pub bytes: usize,
    /// The setting that sets it, if one does.
    pub setting: Option<&'static str>,
    /// How its errors look.
    pub surface: Surface,
}

/// The body limit of a request to `path`: job submissions get `limits.job_bytes`, worker
/// log batches `limits.log_batch_bytes`, other worker messages 1 MiB, everything else
/// `limits.request_bytes`.
pub fn limit_for(limits: &Limits, path: &str) -> BodyLimit {
    let job = |surface| BodyLimit {
        bytes: limits.job_bytes,
        setting: Some("limits.job_bytes"),
        surface,
    };
    let small = |surface| BodyLimit {
        bytes: limits.request_bytes,
        setting: Some("limits.request_bytes"),
        surface,
    };
    if let Some(rest) = path.strip_prefix(lava_common::worker_api::PREFIX) {
        if rest.starts_with("/jobs/") && rest.ends_with("/logs") {
            return BodyLimit {
                bytes: limits.log_batch_bytes,
                setting: Some("limits.log_batch_bytes"),
                surface: Surface::Worker,
            };
        }
        return BodyLimit {
            bytes: WORKER_MESSAGE_BYTES,
            setting: None,
            surface: Surface::Worker,
        };
    }
    match path {
        "/RPC2" => job(Surface::XmlRpc),
        // With and without the slash: the unslashed URL answers a 301 to the slashed one.
        "/api/v0.2/jobs/"
        | "/api/v0.2/jobs"
        | "/api/v0.2/jobs/validate/"
        | "/api/v0.2/jobs/validate" => job(Surface::Rest),
        "/scheduler/jobsubmit" => job(Surface::Html),
        p if p.starts_with("/admin/device-types/") && p.ends_with("/health-check") => {
            job(Surface::Html)
        }
        p if p.starts_with("/api/") => small(Surface::Rest),
        _ => small(Surface::Html),
    }
}

/// The most of a refused body read and thrown away so that the client sees the refusal; past
/// it the connection is closed under the sender, as any server does with a huge upload.
pub const DRAIN_BYTES: u64 = 64 << 20;

/// The middleware: refuses an announced length over the limit, caps the body read by the
/// handler, and turns a 413 into the surface's error shape.
pub async fn enforce(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let limit = limit_for(&limits, req.uri().path());
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let shared = Shared(Arc::new(Mutex::new(Body::empty())));
    let (parts, body) = req.into_parts();
    if let Ok(mut slot) = shared.0.lock() {
        *slot = body;
    }
    if announced.is_some_and(|n| n > limit.bytes as u64) {
        drain(&shared, announced.unwrap_or(0)).await;
        return too_large(&limit);
    }
    let capped = Body::new(http_body_util::Limited::new(shared.clone(), limit.bytes));
    let res = next.run(Request::from_parts(parts, capped)).await;
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE {
        drain(&shared, DRAIN_BYTES).await;
        return too_large(&limit);
    }
    res
}

/// A request body that the handler reads through the cap while the middleware keeps a hold
/// on it, to read what the handler left.
#[derive(Clone)]
struct Shared(Arc<Mutex<Body>>);

impl HttpBody for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        match self.0.lock() {
            Ok(mut body) => Pin::new(&mut *body).poll_frame(cx),
            Err(_) => Poll::Ready(None),
        }
    }
}

/// Reads and discards what is left of the body, at most `up_to` bytes (and [`DRAIN_BYTES`]).
async fn drain(shared: &Shared, up_to: u64) {
    use http_body_util::BodyExt as _;
    let mut left = up_to.min(DRAIN_BYTES);
    let mut body = shared.clone();
    while left > 0 {
        match body.frame().await {
            Some(Ok(frame)) => {
                let n = frame.data_ref().map_or(0, |d| d.len() as u64);
                left = left.saturating_sub(n.max(1));
            }
            _ => break,
        }
    }
}

/// The words of a refusal.
fn message(limit: &BodyLimit) -> String {
    match limit.setting {
        Some(key) => format!(
            "Request body too large: the limit here is {} bytes ({key}).",
            limit.bytes
        ),
        None => format!(
            "Request body too large: the limit here is {} bytes.",
            limit.bytes
        ),
    }
}

/// A refusal in the surface's shape.
pub fn too_large(limit: &BodyLimit) -> Response {
    let text = message(limit);
    match limit.surface {
        Surface::Rest => (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(Detail { detail: &text }),
        )
            .into_response(),
        Surface::Worker => (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(Message { message: &text }),
        )
            .into_response(),
        Surface::XmlRpc => (
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            super::xmlrpc::codec::fault(413, &text),
        )
            .into_response(),
        Surface::Html => (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::response::Html(format!(
                "<!DOCTYPE html><html><head><title>Request too large</title>\
                 <link rel=\"stylesheet\" href=\"/static/lava.css\"></head><body><main>\
                 <h1>Request too large</h1><p>{text}</p><p><a href=\"/\">Home</a></p>\
                 </main></body></html>"
            )),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let l = Limits::default();
        let at = |p: &str| {
            let b = limit_for(&l, p);
            (b.bytes, b.surface)
        };
        assert_eq!(at("/RPC2"), (1 << 20, Surface::XmlRpc));
        assert_eq!(at("/api/v0.2/jobs/"), (1 << 20, Surface::Rest));
        assert_eq!(at("/api/v0.2/jobs/validate/"), (1 << 20, Surface::Rest));
        assert_eq!(at("/api/v0.2/jobs/7/resubmit/"), (65536, Surface::Rest));
        assert_eq!(at("/api/v0.2/devices/kvm01/"), (65536, Surface::Rest));
        assert_eq!(at("/scheduler/jobsubmit"), (1 << 20, Surface::Html));
        assert_eq!(
            at("/admin/device-types/kvm/health-check"),
            (1 << 20, Surface::Html)
        );
        assert_eq!(at("/admin/users/add"), (65536, Surface::Html));
        assert_eq!(at("/accounts/login/"), (65536, Surface::Html));
        assert_eq!(
            at("/api/worker/v1/jobs/12/logs"),
            (16 << 20, Surface::Worker)
        );
        assert_eq!(at("/api/worker/v1/poll"), (1 << 20, Surface::Worker));
        assert_eq!(at("/anything/else"), (65536, Surface::Html));
    }
}
