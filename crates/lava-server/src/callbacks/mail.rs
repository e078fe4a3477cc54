//! Notification mail for a job's `notify.recipients`: LAVA's subject, a plain-text body as
//! long as the job's `verbosity` asks, sent in plain SMTP to the `[email] smtp` relay.

use std::time::Duration;

use lava_common::email_settings::EmailSettings;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::spec::Verbosity;

/// The most failed test cases a verbose mail lists.
const MAX_LISTED: usize = 100;

/// What a notification says about its job.
pub struct Report<'a> {
    /// The job the notification is about; the subject line and link come from it.
    pub job: &'a lava_db::jobs::Job,
    /// Pass, fail, skip and unknown counts of its test suites.
    pub counts: [i64; 4],
    /// Its failed test cases, `suite/case`.
    pub failed: Vec<String>,
}

/// LAVA's subject line.
pub fn subject(job: &lava_db::jobs::Job) -> String {
    let description: String = job.description.chars().take(200).collect();
    format!(
        "LAVA notification for Test Job {} {}",
        job.id,
        description.replace(['\r', '\n'], " ")
    )
}

/// The body, for `verbosity`; `url` is the server's base URL, for the link.
pub fn body(r: &Report<'_>, verbosity: Verbosity, url: Option<&str>) -> String {
    let job = r.job;
    let mut out = format!(
        "Job {} \"{}\" {}: {}.\n",
        job.id, job.description, job.state, job.health
    );
    if let Some(url) = url {
        out.push_str(&format!("{url}/scheduler/job/{}\n", job.id));
    }
    if verbosity == Verbosity::StatusOnly {
        return out;
    }
    let field = |out: &mut String, name: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push_str(&format!("{name:<14}{v}\n"));
        }
    };
    out.push('\n');
    field(
        &mut out,
        "Device type:",
        job.device_type.as_ref().map(|t| t.to_string()),
    );
    field(
        &mut out,
        "Device:",
        job.device.as_ref().map(|d| d.to_string()),
    );
    field(
        &mut out,
        "Worker:",
        job.worker.as_ref().map(|w| w.to_string()),
    );
    field(&mut out, "Submitter:", job.submitter.clone());
    field(&mut out, "Submitted:", Some(job.submit_time.to_rfc3339()));
    field(&mut out, "Started:", job.start_time.map(|t| t.to_rfc3339()));
    field(&mut out, "Ended:", job.end_time.map(|t| t.to_rfc3339()));
    field(
        &mut out,
        "Error type:",
        job.error_type.map(|e| e.to_string()),
    );
    field(&mut out, "Failure:", job.failure_comment.clone());
    let [pass, fail, skip, unknown] = r.counts;
    field(
        &mut out,
        "Tests:",
        Some(format!(
            "{pass} pass, {fail} fail, {skip} skip, {unknown} unknown"
        )),
    );
    if verbosity == Verbosity::Verbose && !r.failed.is_empty() {
        out.push_str("\nFailed test cases:\n");
        for case in r.failed.iter().take(MAX_LISTED) {
            out.push_str(&format!("  {case}\n"));
        }
        if r.failed.len() > MAX_LISTED {
            out.push_str(&format!("  ... and {} more\n", r.failed.len() - MAX_LISTED));
        }
    }
    out
}

/// Sends one mail to `to` through the relay; the error says what failed.
pub async fn send(
    settings: &EmailSettings,
    to: &str,
    subject: &str,
    body: String,
    timeout: Duration,
) -> Result<(), String> {
    let Some((host, port)) = &settings.smtp else {
        return Err("no SMTP relay is configured ([email] smtp in the settings)".into());
    };
    let message = Message::builder()
        .from(
            settings
                .sender()
                .parse()
                .map_err(|e| format!("email.from: {e}"))?,
        )
        .to(to.parse().map_err(|e| format!("{to}: {e}"))?)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| format!("cannot build the mail: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
        .port(*port)
        .timeout(Some(timeout))
        .build();
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("{to} via {host}:{port}: {e}"))
}
