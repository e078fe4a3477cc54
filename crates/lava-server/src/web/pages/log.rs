//! A job's log for browsers: `/scheduler/job/<id>/log/raw` (the whole `output.yaml`) and
//! `/scheduler/job/<id>/log/stream`, Server-Sent Events that send the existing lines from
//! `?start=N` (or the `Last-Event-ID` a reconnecting browser sends) in chunks, then new lines
//! as the worker API appends them, and an `end` event once the job is finished and every line
//! was sent. Both answer 404 for a job the caller may not see.
//!
//! Events are cut by bytes, not lines: each reads at most [`READ_BYTES`] of the log and its
//! data is at most [`EVENT_BYTES`], so a log of huge lines costs what one of short lines does.
//! A line longer than one read is sent cut, saying so; the raw log has it whole.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::TryStreamExt as _;
use lava_common::ids::JobId;
use lava_common::log::{Message, map_to_json, parse_line};
use lava_common::state::JobState;
use tokio::sync::watch;
use tower_http::services::ServeFile;

use super::{PageError, PageResult, jobs::visible_job, parse_opt};
use crate::logstore::read::{Pos, blocking, read_lines};
use crate::web::AppState;
use crate::web::auth::Auth;

/// The most of the log one event reads: a 50 MB log arrives in about a hundred events, and
/// the browser appends each without a visible pause.
const READ_BYTES: usize = 448 * 1024;

/// The most data one event carries. A line's JSON is at most twice its log text (a raw
/// line's `"` and `\\` are escaped again; YAML's `\xNN` becomes JSON's `\u00NN`) plus its
/// number and time, so one read always fits.
pub const EVENT_BYTES: usize = 1 << 20;

/// The chunk in which a raw log is streamed when it is not served as a file.
const RAW_CHUNK: usize = 64 << 10;

/// How often a follower looks again without a wake-up (the job's end, another instance's
/// append whose notification was lost).
const RECHECK: Duration = Duration::from_secs(1);

/// `/scheduler/job/<id>/log/raw`: the log as plain text, streamed from the file (a 50 MB log
/// is never held in memory; browsers and `curl -r` may ask for byte ranges).
pub async fn raw(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<JobId>,
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
    // Bytes past the log's recorded end (an append whose commit failed, or one not yet
    // committed) are not the log: then only the recorded part is sent, without ranges.
    let slice = {
        let c = state.db().await?;
        state
            .logs
            .slice(&c, id, 0, None)
            .await
            .map_err(|e| PageError::Unavailable(format!("job log {}: {e}", path.display())))?
    };
    let on_disk = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    if let Some(slice) = slice.filter(|s| s.len() != on_disk) {
        let len = slice.len();
        let body = slice.stream(RAW_CHUNK).inspect_err(move |e| {
            tracing::error!(job = %id, error = %e, "job log read failed while streaming");
        });
        return Ok((
            [
                (header::CONTENT_TYPE, plain),
                (header::CONTENT_LENGTH, HeaderValue::from(len)),
            ],
            Body::from_stream(body),
        )
            .into_response());
    }
    let mut res = ServeFile::new(&path)
        .try_call(req)
        .await
        .map_err(|e| PageError::Unavailable(format!("job log {}: {e}", path.display())))?;
    res.headers_mut().insert(header::CONTENT_TYPE, plain);
    Ok(res.map(Body::new))
}

/// One line for the browser, sent as the JSON array `[number, dt, level, text]`.
type LineItem = (u64, String, &'static str, String);

/// The data of the `end` event: how many lines the log has.
#[derive(serde::Serialize)]
struct End {
    lines: u64,
}

/// One line for the browser; a line that does not parse is sent whole at level `raw`, so
/// nothing is hidden. A line read only in part (`cut`: its whole length) is sent as raw text
/// and says where the rest is.
fn line_item(n: u64, line: &str, cut: Option<u64>) -> LineItem {
    if let Some(whole) = cut {
        let text = format!(
            "{}… [line cut: {} of {whole} bytes shown; the raw log has it whole]",
            line.trim_end_matches('\n'),
            line.len()
        );
        return (n, String::new(), "raw", text);
    }
    match parse_line(line) {
        Ok(l) => {
            let text = match l.msg {
                Message::Text(t) => t,
                Message::Map(m) => map_to_json(&m).to_string(),
            };
            (n, l.dt, l.lvl.as_str(), text)
        }
        Err(_) => (n, String::new(), "raw", line.trim_end_matches('\n').into()),
    }
}

/// `item` as JSON text (a tuple of strings and a number always serializes).
fn to_json(item: &impl serde::Serialize) -> String {
    serde_json::to_string(item).unwrap_or_default()
}

/// A follower of one job's log.
struct Follower {
    state: AppState,
    job: JobId,
    next: u64,
    /// The open log and where line `next` starts in it, once found.
    at: Option<(Arc<std::fs::File>, Pos)>,
    wake: watch::Receiver<u64>,
    done: bool,
    /// Whether the opening comment went out.
    opened: bool,
}

impl Follower {
    /// The next event: lines, the end, or (after a database or file error) nothing, which
    /// closes the stream; the browser reconnects from the last line it got.
    async fn next_event(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        if !self.opened {
            // A comment at once, so the browser (and a check through Apache) sees the stream
            // open even while the job is still queued and has no lines.
            self.opened = true;
            return Some(Event::default().comment(format!("following job {}", self.job)));
        }
        loop {
            let result = self.read().await;
            match result {
                Ok(Some(ev)) => return Some(ev),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(job = %self.job, error = ?e, "log stream stopped");
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
        let (end, job_state) = {
            let c = self.state.db().await?;
            let Some(progress) = lava_db::logs::progress(&c, self.job).await? else {
                return Err(PageError::NotFound(format!("no job {}", self.job)));
            };
            if self.next < progress.0.lines as u64 && self.at.is_none() {
                // The first read finds line `next` from the nearest index entry.
                if let Some(slice) = self.state.logs.slice(&c, self.job, self.next, None).await? {
                    self.next = slice.from.line;
                    self.at = Some((slice.file, slice.from));
                }
            }
            progress
        };
        let have = end.lines as u64;
        if self.next < have
            && let Some((file, pos)) = self.at.clone()
        {
            let reader = file.clone();
            let log_end = end.bytes as u64;
            let lines = blocking(move || read_lines(&reader, pos, log_end, READ_BYTES))
                .await
                .map_err(|e| PageError::Unavailable(format!("job log {}: {e}", self.job)))?;
            let mut data = String::from("[");
            let mut pos = pos;
            for line in lines {
                let text = String::from_utf8_lossy(&line.text);
                let item = to_json(&line_item(pos.line, &text, line.cut.then_some(line.len)));
                if data.len() > 1 && data.len() + item.len() + 2 > EVENT_BYTES {
                    break;
                }
                if data.len() > 1 {
                    data.push(',');
                }
                data.push_str(&item);
                pos = Pos {
                    line: pos.line + 1,
                    byte: pos.byte + line.len,
                };
            }
            data.push(']');
            self.next = pos.line;
            self.at = Some((file, pos));
            return Ok(Some(
                Event::default()
                    .event("lines")
                    .id(self.next.to_string())
                    .data(data),
            ));
        }
        if self.next >= have && job_state == JobState::Finished {
            self.done = true;
            return Ok(Some(
                Event::default()
                    .event("end")
                    .data(to_json(&End { lines: have })),
            ));
        }
        Ok(None)
    }
}

/// `/scheduler/job/<id>/log/stream?start=N`.
pub async fn stream(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<JobId>,
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
        at: None,
        wake,
        done: false,
        opened: false,
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
            to_json(&line_item(7, l, None)),
            r#"[7,"2026-01-01T00:00:00.000000","target","<b>hi"]"#
        );
        let r = "- {\"dt\": \"x\", \"lvl\": \"results\", \"msg\": {\"case\": \"c\", \"result\": \"pass\"}}\n";
        assert_eq!(
            line_item(0, r, None).3,
            "{\"case\":\"c\",\"result\":\"pass\"}"
        );
        assert_eq!(
            to_json(&line_item(1, "garbage\n", None)),
            r#"[1,"","raw","garbage"]"#
        );
        // The worst line: one read of nothing but quotes and backslashes, cut.
        let worst = "\"\\".repeat(READ_BYTES / 2);
        let item = to_json(&line_item(u64::MAX, &worst, Some(u64::MAX)));
        assert!(item.len() + 2 <= EVENT_BYTES, "{}", item.len());
        let cut = line_item(2, "- {\"dt\": \"x", Some(1000));
        assert_eq!(
            cut.3,
            "- {\"dt\": \"x… [line cut: 11 of 1000 bytes shown; the raw log has it whole]"
        );
        assert_eq!(to_json(&End { lines: 3 }), r#"{"lines":3}"#);
    }
}
