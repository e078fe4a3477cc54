//! A job's log for browsers: `/scheduler/job/<id>/log/raw` (the whole `output.yaml`) and
//! `/scheduler/job/<id>/log/stream`, Server-Sent Events that send the existing lines from
//! `?start=N` (or the `Last-Event-ID` a reconnecting browser sends) in chunks, then new lines
//! as the worker API appends them, and an `end` event once the job is finished and every line
//! was sent. Both answer 404 for a job the caller may not see.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use lava_common::log::{Message, Value as LogValue, parse_line};
use lava_common::state::JobState;
use serde_json::{Value, json};
use tokio::sync::watch;
use tower_http::services::ServeFile;

use super::{PageError, PageResult, jobs::visible_job, parse_opt};
use crate::web::AppState;
use crate::web::auth::Auth;

/// Lines per event: big enough that a 50 MB log arrives in a few hundred events, small
/// enough that the browser appends each without a visible pause.
const CHUNK: u64 = 2000;

/// How often a follower looks again without a wake-up (the job's end, another instance's
/// append whose notification was lost).
const RECHECK: Duration = Duration::from_secs(1);

/// `/scheduler/job/<id>/log/raw`: the log as plain text, streamed from the file (a 50 MB log
/// is never held in memory; browsers and `curl -r` may ask for byte ranges).
pub async fn raw(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    req: Request,
) -> PageResult {
    let lines = {
        let c = state.db().await?;
        visible_job(&c, &auth, id).await?.log_lines
    };
    let plain = HeaderValue::from_static("text/plain; charset=utf-8");
    if lines == 0 {
        return Ok(([(header::CONTENT_TYPE, plain)], "").into_response());
    }
    let path = state.logs.path(id);
    let mut res = ServeFile::new(&path)
        .try_call(req)
        .await
        .map_err(|e| PageError::Unavailable(format!("job log {}: {e}", path.display())))?;
    res.headers_mut().insert(header::CONTENT_TYPE, plain);
    Ok(res.map(Body::new))
}

fn to_json(v: &LogValue) -> Value {
    match v {
        LogValue::Str(s) | LogValue::Scalar(s) => Value::String(s.clone()),
        LogValue::Map(m) => map_json(m),
        LogValue::List(l) => Value::Array(l.iter().map(to_json).collect()),
    }
}

fn map_json(m: &BTreeMap<String, LogValue>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
}

/// One line for the browser: `[number, dt, level, text]`; a line that does not parse is sent
/// whole at level `raw`, so nothing is hidden.
fn line_json(n: u64, line: &str) -> Value {
    match parse_line(line) {
        Ok(l) => {
            let text = match &l.msg {
                Message::Text(t) => t.clone(),
                Message::Map(m) => map_json(m).to_string(),
            };
            json!([n, l.dt, l.lvl.as_str(), text])
        }
        Err(_) => json!([n, "", "raw", line.trim_end_matches('\n')]),
    }
}

/// A follower of one job's log.
struct Follower {
    state: AppState,
    job: i64,
    next: u64,
    wake: watch::Receiver<u64>,
    done: bool,
}

impl Follower {
    /// The next event: lines, the end, or (after a database or file error) nothing, which
    /// closes the stream; the browser reconnects from the last line it got.
    async fn next_event(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        loop {
            let result = self.read().await;
            match result {
                Ok(Some(ev)) => return Some(ev),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(job = self.job, error = ?e, "log stream stopped");
                    return None;
                }
            }
            tokio::select! {
                _ = self.wake.changed() => {}
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    }

    /// Lines past `next`, or the end, or `None` when there is nothing new yet.
    async fn read(&mut self) -> Result<Option<Event>, PageError> {
        let c = self.state.db().await?;
        let Some((end, job_state)) = lava_db::logs::progress(&**c, self.job).await? else {
            return Err(PageError::NotFound(format!("no job {}", self.job)));
        };
        let have = end.lines as u64;
        if self.next < have {
            let stop = (self.next + CHUNK).min(have);
            let bytes = self
                .state
                .logs
                .read(&**c, self.job, self.next, Some(stop))
                .await?
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<Value> = text
                .split_inclusive('\n')
                .enumerate()
                .map(|(i, l)| line_json(self.next + i as u64, l))
                .collect();
            self.next += lines.len() as u64;
            let data = Value::Array(lines).to_string();
            return Ok(Some(
                Event::default()
                    .event("lines")
                    .id(self.next.to_string())
                    .data(data),
            ));
        }
        if job_state == JobState::Finished {
            self.done = true;
            return Ok(Some(
                Event::default()
                    .event("end")
                    .data(json!({"lines": have}).to_string()),
            ));
        }
        Ok(None)
    }
}

/// `/scheduler/job/<id>/log/stream?start=N`.
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> PageResult {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let start = parse_opt::<u64>("start", q.get("start").map(String::as_str))?;
    {
        let c = state.db().await?;
        visible_job(&c, &auth, id).await?;
    }
    // Subscribed before the first read, so no append between the two is missed.
    let wake = state.waiters.subscribe(&lava_db::notify::log_payload(id));
    let follower = Follower {
        state,
        job: id,
        next: resume.or(start).unwrap_or(0),
        wake,
        done: false,
    };
    let events = futures_util::stream::unfold(follower, |mut f| async move {
        f.next_event().await.map(|ev| (Ok::<_, Infallible>(ev), f))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_number_time_level_text() {
        let l =
            "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"target\", \"msg\": \"<b>hi\"}\n";
        assert_eq!(
            line_json(7, l),
            json!([7, "2026-01-01T00:00:00.000000", "target", "<b>hi"])
        );
        let r = "- {\"dt\": \"x\", \"lvl\": \"results\", \"msg\": {\"case\": \"c\", \"result\": \"pass\"}}\n";
        assert_eq!(
            line_json(0, r)[3],
            json!("{\"case\":\"c\",\"result\":\"pass\"}")
        );
        assert_eq!(line_json(1, "garbage\n"), json!([1, "", "raw", "garbage"]));
    }
}
