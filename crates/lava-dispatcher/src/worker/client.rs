//! The HTTP client of the worker API (`/api/worker/v1/…`).
//!
//! Every request carries the worker's token, name and protocol version; answers are mapped
//! onto [`WorkerError`] so the caller only decides how long to wait before trying again.
//! A 409 is not an error here: on `logs` and `finished` it carries the server's line count,
//! which is where the next batch starts.

use lava_common::ids::JobId;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use lava_common::worker_api::{
    Ack, ApiError, JobFinished, LogAck, LogBatch, PREFIX, PROTOCOL_HEADER, PROTOCOL_VERSION,
    PollRequest, PollResponse,
};
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{WorkerError, chain};
use super::report::{FinishReply, Reporter};

/// The header naming the worker.
pub const NAME_HEADER: &str = "lava-worker-name";

/// How long a job endpoint (`started`, `logs`, `finished`) may take.
const JOB_TIMEOUT: Duration = Duration::from_secs(60);

/// How much longer than `wait_ms` a poll may take before the worker gives up on it.
const POLL_SLACK: Duration = Duration::from_secs(10);

/// A connection to one server, as one worker. Cheap to clone; clones share the token, so a
/// token reloaded on SIGHUP is used by every job at once.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    name: String,
    token: Arc<RwLock<String>>,
}

impl Api {
    /// A client for the server at `url` (`http://host:8000`, or with a path prefix).
    pub fn new(url: &str, name: &str, token: &str) -> Result<Api, WorkerError> {
        let bad = |reason: String| WorkerError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("expected an http:// or https:// URL".into()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("lava-dispatcher/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| bad(chain(&e)))?;
        Ok(Api {
            http,
            base: url.trim_end_matches('/').to_string(),
            name: name.to_string(),
            token: Arc::new(RwLock::new(token.to_string())),
        })
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Replaces the token (SIGHUP with `--token-file`).
    pub fn set_token(&self, token: &str) {
        if let Ok(mut t) = self.token.write() {
            *t = token.to_string();
        }
    }

    /// `POST poll`: held by the server up to `wait_ms` when there is nothing to do.
    pub async fn poll(&self, req: &PollRequest) -> Result<PollResponse, WorkerError> {
        let timeout = Duration::from_millis(req.wait_ms) + POLL_SLACK;
        let (status, url, body) = self.post("poll", req, timeout).await?;
        expect_ok(status, &url, &body)?;
        decode(&url, &body)
    }

    /// `POST jobs/{id}/started`.
    pub async fn started(&self, job: JobId) -> Result<(), WorkerError> {
        let (status, url, body) = self
            .post(
                &format!("jobs/{job}/started"),
                &serde_json::json!({}),
                JOB_TIMEOUT,
            )
            .await?;
        expect_ok(status, &url, &body)?;
        decode::<Ack>(&url, &body).map(|_| ())
    }

    /// `POST jobs/{id}/logs`: the server's line count, whether it took the batch (200) or
    /// wants the lines from elsewhere (409).
    pub async fn logs(&self, job: JobId, batch: &LogBatch) -> Result<LogAck, WorkerError> {
        let (status, url, body) = self
            .post(&format!("jobs/{job}/logs"), batch, JOB_TIMEOUT)
            .await?;
        if status != StatusCode::CONFLICT {
            expect_ok(status, &url, &body)?;
        }
        decode(&url, &body)
    }

    /// `POST jobs/{id}/finished`.
    pub async fn finished(&self, job: JobId, f: &JobFinished) -> Result<FinishReply, WorkerError> {
        let (status, url, body) = self
            .post(&format!("jobs/{job}/finished"), f, JOB_TIMEOUT)
            .await?;
        if status == StatusCode::CONFLICT {
            return decode::<LogAck>(&url, &body).map(|a| FinishReply::NeedLines(a.lines));
        }
        expect_ok(status, &url, &body)?;
        decode::<Ack>(&url, &body).map(|_| FinishReply::Done)
    }

    /// Sends one request; maps the statuses every endpoint shares (401, protocol 400).
    async fn post(
        &self,
        path: &str,
        body: &impl Serialize,
        timeout: Duration,
    ) -> Result<(StatusCode, String, Vec<u8>), WorkerError> {
        let url = format!("{}{PREFIX}/{path}", self.base);
        let body = serde_json::to_vec(body).map_err(|e| WorkerError::BadAnswer {
            url: url.clone(),
            detail: format!("cannot encode the request: {e}"),
        })?;
        let token = self.token.read().map(|t| t.clone()).unwrap_or_default();
        let unreachable = |e: reqwest::Error| WorkerError::Unreachable {
            url: url.clone(),
            detail: chain(&e),
        };
        let resp = self
            .http
            .post(&url)
            .timeout(timeout)
            .header("authorization", format!("Token {token}"))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header(NAME_HEADER, &self.name)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status();
        let theirs = resp
            .headers()
            .get(PROTOCOL_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp.bytes().await.map_err(unreachable)?.to_vec();
        if status == StatusCode::UNAUTHORIZED {
            return Err(WorkerError::Unauthorized {
                url: self.base.clone(),
                name: self.name.clone(),
            });
        }
        if let Some(v) = theirs
            && v.trim() != PROTOCOL_VERSION.to_string()
        {
            return Err(WorkerError::Protocol {
                url: self.base.clone(),
                message: format!("the server speaks version {v}"),
            });
        }
        if status == StatusCode::BAD_REQUEST {
            let message = message(&bytes);
            if message.to_lowercase().contains("protocol") {
                return Err(WorkerError::Protocol {
                    url: self.base.clone(),
                    message,
                });
            }
        }
        Ok((status, url, bytes))
    }
}

/// Turns any status but 2xx into its error.
fn expect_ok(status: StatusCode, url: &str, body: &[u8]) -> Result<(), WorkerError> {
    if status.is_success() {
        return Ok(());
    }
    let (url, message) = (url.to_string(), message(body));
    let code = status.as_u16();
    if status.is_client_error() {
        Err(WorkerError::Rejected {
            url,
            status: code,
            message,
        })
    } else {
        Err(WorkerError::Server {
            url,
            status: code,
            message,
        })
    }
}

/// The server's explanation: an [`ApiError`] body, else the body's text (a proxy's page).
fn message(body: &[u8]) -> String {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(e) => e.message,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let short: String = text.chars().take(200).collect();
            if short.is_empty() {
                "(no message)".into()
            } else {
                short
            }
        }
    }
}

fn decode<T: DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, WorkerError> {
    serde_json::from_slice(body).map_err(|e| WorkerError::BadAnswer {
        url: url.to_string(),
        detail: e.to_string(),
    })
}

impl Reporter for Api {
    async fn started(&self, job: JobId) -> Result<(), WorkerError> {
        Api::started(self, job).await
    }

    async fn logs(&self, job: JobId, batch: &LogBatch) -> Result<LogAck, WorkerError> {
        Api::logs(self, job, batch).await
    }

    async fn finished(&self, job: JobId, f: &JobFinished) -> Result<FinishReply, WorkerError> {
        Api::finished(self, job, f).await
    }
}
