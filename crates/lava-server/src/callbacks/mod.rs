//! Notify callbacks: a job's `notify` block names URLs to call when it starts or finishes, so
//! CI systems need not poll.
//!
//! The job transition queues a row in the same transaction ([`lava_db::callbacks::queue`]),
//! so a callback is never lost to a crash; the active scheduler sends the due rows here,
//! retries failures with doubling, jittered delays for as long as the retry window lasts
//! (`[callbacks] retry_window`, measured from the job's change), and records every attempt.
//! Several callbacks of one job are tracked one by one, so a retry never calls twice a URL
//! that already answered. The job's mail `recipients` go out the same way (`mail.rs`), each
//! tracked as place [`MAIL_PLACE`] + its index.

pub mod mail;
pub mod payload;
pub mod spec;
pub mod target;

use std::time::Duration;

use lava_common::state::CallbackState;
use tokio::sync::watch;

use crate::logstore::LogStore;
use lava_common::error_chain::error_chain;
use payload::Payload;
use spec::{Callback, Dataset, Method, Notify, Recipient, Verbosity};

/// Where recipients' places start among a row's delivered places (callbacks count from 0).
pub const MAIL_PLACE: i32 = 1000;

/// How callbacks are sent.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long after the job's change a failing callback is still retried
    /// (`[callbacks] retry_window`); the last attempt is made at its end.
    pub retry_window: Duration,
    /// The delay before the first retry; it doubles with each one, up to `max_retry`, and is
    /// jittered (a random point in its upper half) so that callbacks that failed together
    /// (a receiver that was down) do not all come back at once.
    pub first_retry: Duration,
    /// The longest delay between two attempts.
    pub max_retry: Duration,
    /// The time a callback URL has to answer.
    pub timeout: Duration,
    /// How often to look for due callbacks.
    pub poll: Duration,
    /// Callbacks may go to loopback and link-local addresses (`[callbacks]
    /// allow_local_targets`).
    pub allow_local_targets: bool,
    /// The SMTP relay and sender for recipients (`[email]`).
    pub email: lava_common::email_settings::EmailSettings,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            retry_window: lava_common::backoff_settings::Backoff::default().callback_retry_window,
            first_retry: Duration::from_secs(10),
            max_retry: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
            poll: Duration::from_secs(1),
            allow_local_targets: false,
            email: Default::default(),
        }
    }
}

/// The HTTP client callbacks are sent with (see [`target::client`]): local targets only
/// when `allow_local_targets`.
pub fn http_client(allow_local_targets: bool) -> Http {
    Http {
        client: target::client(allow_local_targets),
        allow_local_targets,
    }
}

/// An HTTP client for callbacks and whether it may reach local addresses.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    allow_local_targets: bool,
}

async fn send(
    http: &Http,
    cb: &Callback,
    token: Option<&str>,
    body: &Payload,
    timeout: Duration,
) -> Result<(), String> {
    let url = body.substitute(&cb.url);
    let parsed = reqwest::Url::parse(&url).map_err(|e| format!("{url}: {e}"))?;
    target::check_url(&parsed, http.allow_local_targets).map_err(|e| format!("{url}: {e}"))?;
    let mut req = match cb.method {
        Method::Get => http.client.get(parsed),
        Method::Post => http.client.post(parsed),
    };
    if let Some(token) = token {
        req = req.header(cb.header.as_str(), token);
    }
    if cb.method == Method::Post {
        req = if cb.json {
            let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
            req.header("content-type", "application/json").body(bytes)
        } else {
            req.form(&body.form())
        };
    }
    let resp = req
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| format!("{url}: {}", error_chain(&e)))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url}: HTTP {}", resp.status()))
    }
}

/// Sends what is due once; returns how many rows it handled.
pub async fn run_once(
    c: &lava_db::Client,
    logs: &LogStore,
    http: &Http,
    opts: &Options,
) -> Result<usize, lava_db::Error> {
    let due = lava_db::callbacks::due(c, 20).await?;
    for d in &due {
        let Some(job) = lava_db::jobs::get(c, d.job_id).await? else {
            lava_db::callbacks::skip(c, d.id).await?;
            continue;
        };
        let notify = match Notify::parse(&job.plan["notify"]) {
            Ok(n) => n,
            Err(e) => {
                // The notify block itself is wrong: no retry can help.
                let state = CallbackState::Failed;
                lava_db::callbacks::record_attempt(
                    c,
                    d.id,
                    state,
                    &d.delivered,
                    Some(&e),
                    Duration::ZERO,
                )
                .await?;
                continue;
            }
        };
        if !notify.criteria.matches(d.trigger, job.health) {
            lava_db::callbacks::skip(c, d.id).await?;
            continue;
        }
        let wants = |f: fn(Dataset) -> bool| {
            notify
                .callbacks
                .iter()
                .any(|cb| cb.method == Method::Post && f(cb.dataset))
        };
        let log = if wants(|d| matches!(d, Dataset::Logs | Dataset::All)) {
            logs.for_callback(c, job.id)
                .await
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        } else {
            None
        };
        let cases = if wants(|d| matches!(d, Dataset::Results | Dataset::All)) {
            lava_db::results::cases_page(c, job.id, 0, 0).await?
        } else {
            Vec::new()
        };
        // The tokens kept apart; the plan's own (masked) ones only for jobs stored before.
        let tokens = lava_db::callback_tokens::of_job(c, job.id).await?;
        let mut delivered = d.delivered.clone();
        let mut errors = Vec::new();
        for (i, cb) in notify.callbacks.iter().enumerate() {
            let i = i as i32;
            if delivered.contains(&i) {
                continue;
            }
            let token = tokens
                .iter()
                .find(|(place, _)| *place == i)
                .map(|(_, t)| t.clone())
                .or_else(|| cb.token.clone());
            let body = Payload::new(&job, cb.dataset, token.clone(), log.clone(), &cases);
            match send(http, cb, token.as_deref(), &body, opts.timeout).await {
                Ok(()) => {
                    tracing::info!(job = %job.id, callback = i, "callback sent");
                    delivered.push(i);
                }
                Err(e) => {
                    tracing::warn!(job = %job.id, callback = i, attempt = d.attempts + 1, error = %e, "callback failed");
                    errors.push(format!("callbacks[{i}] {e}"));
                }
            }
        }
        if !notify.recipients.is_empty() {
            let failed: Vec<String> = if notify.verbosity == Verbosity::Verbose {
                let all = if cases.is_empty() {
                    lava_db::results::cases_page(c, job.id, 0, 0).await?
                } else {
                    cases
                };
                all.iter()
                    .filter(|k| k.result == lava_common::state::TestResult::Fail)
                    .map(|k| format!("{}/{}", k.suite, k.name))
                    .collect()
            } else {
                Vec::new()
            };
            let report = mail::Report {
                job: &job,
                counts: lava_db::jobs::result_counts(c, job.id).await?,
                failed,
            };
            let subject = mail::subject(&job);
            let body = mail::body(&report, notify.verbosity, opts.email.url.as_deref());
            for (i, r) in notify.recipients.iter().enumerate() {
                let place = MAIL_PLACE + i as i32;
                if delivered.contains(&place) {
                    continue;
                }
                let sent = match address(c, r).await? {
                    Ok(to) => {
                        mail::send(&opts.email, &to, &subject, body.clone(), opts.timeout).await
                    }
                    Err(e) => Err(e),
                };
                match sent {
                    Ok(()) => {
                        tracing::info!(job = %job.id, recipient = i, "notification mail sent");
                        delivered.push(place);
                    }
                    Err(e) => {
                        tracing::warn!(job = %job.id, recipient = i, attempt = d.attempts + 1, error = %e, "notification mail failed");
                        errors.push(format!("recipients[{i}] {e}"));
                    }
                }
            }
        }
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        let retry_in = retry_delay(opts, d.attempts, d.age, rand::random::<f64>());
        let state = match (&error, retry_in) {
            (None, _) => CallbackState::Sent,
            (Some(_), None) => CallbackState::Failed,
            (Some(_), Some(_)) => CallbackState::Pending,
        };
        let retry_in = retry_in.unwrap_or_default();
        lava_db::callbacks::record_attempt(c, d.id, state, &delivered, error.as_deref(), retry_in)
            .await?;
    }
    Ok(due.len())
}

/// The address a recipient is mailed at: its own, or its user's on this server.
async fn address(
    c: &lava_db::Client,
    r: &Recipient,
) -> Result<Result<String, String>, lava_db::Error> {
    Ok(match r {
        Recipient::Email(a) => Ok(a.clone()),
        Recipient::User(name) => match lava_db::users::get(c, name).await? {
            None => Err(format!("user '{name}' does not exist")),
            Some(u) if lava_common::email_settings::address_ok(&u.info.email) => Ok(u.info.email),
            Some(_) => Err(format!("user '{name}' has no email address")),
        },
    })
}

/// When to try again after failed attempt number `attempts + 1` of a callback queued `age`
/// ago: the doubling delay, capped, jittered by `jitter` (0 to 1) into its upper half, and
/// cut to end at the window's end; `None` once the window is over.
pub fn retry_delay(opts: &Options, attempts: i32, age: Duration, jitter: f64) -> Option<Duration> {
    let left = opts
        .retry_window
        .checked_sub(age)
        .filter(|d| !d.is_zero())?;
    let doubled = opts
        .first_retry
        .saturating_mul(2u32.saturating_pow(attempts.clamp(0, 31) as u32))
        .min(opts.max_retry);
    let jittered = doubled.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    Some(jittered.min(left))
}

/// Sends callbacks until `stop` turns true or the connection fails (the caller reconnects).
pub async fn run(
    url: String,
    logs: LogStore,
    opts: Options,
    mut stop: watch::Receiver<bool>,
) -> Result<(), lava_db::Error> {
    let c = lava_db::connect(&url).await?;
    let http = http_client(opts.allow_local_targets);
    loop {
        let handled = run_once(&c, &logs, &http, &opts).await?;
        if handled == 0 {
            tokio::select! {
                _ = tokio::time::sleep(opts.poll) => {}
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
        if c.is_closed() {
            return Err(lava_db::Error::Invalid(
                "the database connection closed".into(),
            ));
        }
    }
}
