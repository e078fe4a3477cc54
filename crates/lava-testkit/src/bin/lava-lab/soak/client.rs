//! The soak's REST client: what `lavacli` or a CI system would call, `POST jobs/` to submit,
//! `jobs/ID/` and `jobs/ID/logs/` to read back, with the user's API token.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::check::Run;

/// One REST client (a connection pool of its own, as a separate CI system would have).
#[derive(Clone)]
pub struct Rest {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Rest {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Rest> {
        Ok(Rest {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            base: format!("{base}/api/v0.2"),
            token: token.to_string(),
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        let r = self
            .http
            .get(format!("{}/{path}", self.base))
            .header("Authorization", format!("Token {}", self.token))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        if !r.status().is_success() {
            bail!("GET {path}: {}", r.status());
        }
        Ok(r)
    }

    async fn json(&self, path: &str) -> anyhow::Result<Value> {
        let body = self.get(path).await?.bytes().await?;
        serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
    }

    /// Submits `definition`; returns the new job's id.
    pub async fn submit(&self, definition: &str) -> anyhow::Result<i64> {
        let body = serde_json::json!({ "definition": definition }).to_string();
        let r = self
            .http
            .post(format!("{}/jobs/", self.base))
            .header("Authorization", format!("Token {}", self.token))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .context("POST jobs/")?;
        let status = r.status();
        let body = r.bytes().await?;
        if status != reqwest::StatusCode::CREATED {
            bail!("POST jobs/: {status}: {}", String::from_utf8_lossy(&body));
        }
        let v: Value = serde_json::from_slice(&body)?;
        v["job_ids"][0]
            .as_i64()
            .with_context(|| format!("POST jobs/: no job id in {v}"))
    }

    /// How many jobs are in `state` (REST's `count`).
    pub async fn count(&self, state: &str) -> anyhow::Result<i64> {
        let v = self.json(&format!("jobs/?state={state}&limit=1")).await?;
        v["count"]
            .as_i64()
            .with_context(|| format!("jobs/?state={state}: no count in {v}"))
    }

    /// Job `id` as REST shows it.
    pub async fn run(&self, id: i64) -> anyhow::Result<Run> {
        let v = self.json(&format!("jobs/{id}/")).await?;
        let time = |key: &str| -> anyhow::Result<Option<DateTime<Utc>>> {
            match v[key].as_str() {
                None => Ok(None),
                Some(t) => Ok(Some(
                    DateTime::parse_from_rfc3339(t)
                        .with_context(|| format!("job {id}: {key} {t:?}"))?
                        .with_timezone(&Utc),
                )),
            }
        };
        let text = |key: &str| v[key].as_str().unwrap_or_default().to_string();
        Ok(Run {
            id,
            device: v["actual_device"].as_str().map(str::to_string),
            state: text("state"),
            health: text("health"),
            submit: time("submit_time")?.with_context(|| format!("job {id}: no submit_time"))?,
            start: time("start_time")?,
            end: time("end_time")?,
        })
    }

    /// Job `id`'s whole stored log (`output.yaml`).
    pub async fn log(&self, id: i64) -> anyhow::Result<String> {
        let body = self.get(&format!("jobs/{id}/logs/")).await?.bytes().await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

/// Runs `work(i)` for every `i` below `n` from `clients` concurrent tasks, each with its own
/// client; the results in the order of `i`.
pub async fn fan_out<T, F, Fut>(clients: &[Rest], n: usize, work: F) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(Rest, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let mut tasks = Vec::new();
    for c in clients {
        let (c, next, work) = (c.clone(), next.clone(), work.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(done);
                }
                done.push((i, work(c.clone(), i).await?));
            }
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, v)| v).collect())
}
