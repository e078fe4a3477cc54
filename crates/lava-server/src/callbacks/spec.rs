//! The `notify` block of a job definition: when to call back, where, and with what.
//!
//! ```yaml
//! notify:
//!   criteria: {status: finished}        # running, finished, complete, incomplete, canceled, all
//!   callbacks:                          # or one `callback:` mapping
//!   - url: http://ci.example.com/lava/{ID}/{STATUS_STRING}
//!     method: POST                      # GET (default) or POST
//!     token: some-secret                # sent raw in `header` (default Authorization)
//!     header: X-Lava-Token
//!     dataset: all                      # minimal (default), logs, results, all
//!     content-type: json                # urlencoded (default) or json
//!   recipients:                         # email, through the `[email] smtp` relay
//!   - to: {method: email, email: ann@lab.example}
//!   - to: {method: email, user: bob}    # the user's address on this server
//!   verbosity: verbose                  # status-only, quiet (default) or verbose: the mail
//! ```

use lava_common::state::{JobHealth, JobState};
use serde_json::Value;

/// A parsed notify block.
#[derive(Debug, Clone, PartialEq)]
pub struct Notify {
    /// When the callbacks fire.
    pub criteria: Criteria,
    /// Where they go.
    pub callbacks: Vec<Callback>,
    /// Who gets mail.
    pub recipients: Vec<Recipient>,
    /// How much the mail says.
    pub verbosity: Verbosity,
}

/// The most recipients a notify block may name.
pub const MAX_RECIPIENTS: usize = 20;

/// One mail recipient (`to: {method: email, ...}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// An address given in the job.
    Email(String),
    /// A user of this server, mailed at their address.
    User(String),
}

/// `verbosity`: how much a notification mail says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// The job's end and a link.
    StatusOnly,
    /// Plus the job's details (LAVA's default).
    Quiet,
    /// Plus its failed test cases.
    Verbose,
}

/// `criteria.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criteria {
    /// The job started running.
    Running,
    /// The job finished, however it ended.
    Finished,
    /// The job finished Complete.
    Complete,
    /// The job finished Incomplete.
    Incomplete,
    /// The job was canceled.
    Canceled,
    /// Both when it starts and when it finishes.
    All,
}

/// The HTTP method of a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// No body.
    Get,
    /// The job's data in the body.
    Post,
}

/// How much of the job a POST carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// The job's fields.
    Minimal,
    /// Plus the whole log.
    Logs,
    /// Plus the results per suite.
    Results,
    /// Plus both.
    All,
}

/// One callback.
#[derive(Debug, Clone, PartialEq)]
pub struct Callback {
    /// The URL, with `{ID}`-style placeholders.
    pub url: String,
    /// GET or POST.
    pub method: Method,
    /// A token to send, if any.
    pub token: Option<String>,
    /// The header the token goes in.
    pub header: String,
    /// What a POST carries.
    pub dataset: Dataset,
    /// JSON instead of a form.
    pub json: bool,
}

impl Criteria {
    /// Whether the job entering `state` with `health` matches.
    pub fn matches(self, state: JobState, health: JobHealth) -> bool {
        match (self, state) {
            (Criteria::All, JobState::Running | JobState::Finished) => true,
            (Criteria::Running, JobState::Running) => true,
            (Criteria::Finished, JobState::Finished) => true,
            (Criteria::Complete, JobState::Finished) => health == JobHealth::Complete,
            (Criteria::Incomplete, JobState::Finished) => health == JobHealth::Incomplete,
            (Criteria::Canceled, JobState::Finished) => health == JobHealth::Canceled,
            _ => false,
        }
    }
}

fn text<'a>(v: &'a Value, key: &str, at: &str) -> Result<Option<&'a str>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "notify: {at}.{key}: expected a string, got {other}"
        )),
    }
}

fn one_of<T: Copy>(
    value: Option<&str>,
    at: &str,
    choices: &[(&str, T)],
    default: T,
) -> Result<T, String> {
    let Some(v) = value else { return Ok(default) };
    choices
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(v))
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<_> = choices.iter().map(|(n, _)| *n).collect();
            format!("notify: {at}: '{v}' is not one of {}", names.join(", "))
        })
}

/// Checks that mapping `v` at `at` has only `allowed` keys; a key LAVA knows that this server
/// does not do is refused with its reason from `refused`, so no part of a notify block is ever
/// accepted and then ignored.
fn keys(v: &Value, at: &str, allowed: &[&str], refused: &[(&str, &str)]) -> Result<(), String> {
    let Some(map) = v.as_object() else {
        return Err(format!("notify: {at}: expected a mapping"));
    };
    let path = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    for k in map.keys() {
        if let Some((_, why)) = refused.iter().find(|(r, _)| r == k) {
            return Err(format!("notify: {}: {why}", path(k)));
        }
        if !allowed.contains(&k.as_str()) {
            return Err(format!(
                "notify: {}: extra keys not allowed (expected one of {})",
                path(k),
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

fn recipient(v: &Value, at: &str) -> Result<Recipient, String> {
    keys(v, at, &["to"], &[])?;
    let to_at = format!("{at}.to");
    let to = v
        .get("to")
        .ok_or_else(|| format!("notify: {to_at}: required key not provided"))?;
    keys(
        to,
        &to_at,
        &["method", "email", "user"],
        &[
            (
                "handle",
                "IRC notifications are not sent by this server; use email or callbacks",
            ),
            (
                "server",
                "IRC notifications are not sent by this server; use email or callbacks",
            ),
        ],
    )?;
    let method = text(to, "method", &to_at)?
        .ok_or_else(|| format!("notify: {to_at}.method: required key not provided"))?;
    match method {
        "email" => {}
        "irc" => {
            return Err(format!(
                "notify: {to_at}.method: irc: IRC notifications are not sent by this server; use email or callbacks"
            ));
        }
        other => {
            return Err(format!(
                "notify: {to_at}.method: '{other}' is not one of email, irc"
            ));
        }
    }
    match (text(to, "email", &to_at)?, text(to, "user", &to_at)?) {
        (Some(_), Some(_)) => Err(format!("notify: {to_at}: give email or user, not both")),
        (Some(address), None) => {
            if lava_common::email_settings::address_ok(address) {
                Ok(Recipient::Email(address.to_string()))
            } else {
                Err(format!(
                    "notify: {to_at}.email: '{address}' is not one email address"
                ))
            }
        }
        (None, Some(user)) => {
            if user.is_empty()
                || user.len() > 150
                || user.contains(|c: char| c.is_whitespace() || c.is_control())
            {
                return Err(format!("notify: {to_at}.user: '{user}' is not a username"));
            }
            Ok(Recipient::User(user.to_string()))
        }
        (None, None) => Err(format!("notify: {to_at}: email or user is required")),
    }
}

fn callback(v: &Value, at: &str) -> Result<Callback, String> {
    keys(
        v,
        at,
        &[
            "url",
            "method",
            "token",
            "header",
            "dataset",
            "content-type",
        ],
        &[],
    )?;
    let url = text(v, "url", at)?.ok_or_else(|| format!("notify: {at}.url is required"))?;
    Ok(Callback {
        url: url.to_string(),
        method: one_of(
            text(v, "method", at)?,
            &format!("{at}.method"),
            &[("GET", Method::Get), ("POST", Method::Post)],
            Method::Get,
        )?,
        token: text(v, "token", at)?.map(str::to_string),
        header: text(v, "header", at)?
            .unwrap_or("Authorization")
            .to_string(),
        dataset: one_of(
            text(v, "dataset", at)?,
            &format!("{at}.dataset"),
            &[
                ("minimal", Dataset::Minimal),
                ("logs", Dataset::Logs),
                ("results", Dataset::Results),
                ("all", Dataset::All),
            ],
            Dataset::Minimal,
        )?,
        json: one_of(
            text(v, "content-type", at)?,
            &format!("{at}.content-type"),
            &[("urlencoded", false), ("json", true)],
            false,
        )?,
    })
}

impl Notify {
    /// Parses a notify block; the message names the key at fault.
    pub fn parse(v: &Value) -> Result<Notify, String> {
        keys(
            v,
            "",
            &[
                "criteria",
                "verbosity",
                "callback",
                "callbacks",
                "recipients",
            ],
            &[(
                "compare",
                "comparing results with earlier jobs is not supported",
            )],
        )?;
        if v.get("callback").is_some() && v.get("callbacks").is_some() {
            return Err("notify: callback and callbacks: give one or the other".into());
        }
        let verbosity = one_of(
            text(v, "verbosity", "")?,
            "verbosity",
            &[
                ("verbose", Verbosity::Verbose),
                ("quiet", Verbosity::Quiet),
                ("status-only", Verbosity::StatusOnly),
            ],
            Verbosity::Quiet,
        )?;
        let mut recipients = Vec::new();
        match v.get("recipients") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) if list.len() > MAX_RECIPIENTS => {
                return Err(format!(
                    "notify: recipients: at most {MAX_RECIPIENTS} recipients"
                ));
            }
            Some(Value::Array(list)) => {
                for (i, r) in list.iter().enumerate() {
                    recipients.push(recipient(r, &format!("recipients[{i}]"))?);
                }
            }
            Some(_) => return Err("notify: recipients: expected a list".into()),
        }
        let criteria = v
            .get("criteria")
            .ok_or("notify: criteria: required key not provided")?;
        keys(
            criteria,
            "criteria",
            &["status"],
            &[
                (
                    "type",
                    "regression and progression notifications need result comparisons, which are not supported",
                ),
                (
                    "dependency_query",
                    "notifications that depend on other jobs are not supported",
                ),
            ],
        )?;
        let status = Some(
            text(criteria, "status", "criteria")?
                .ok_or("notify: criteria.status: required key not provided")?,
        );
        let criteria = one_of(
            status,
            "criteria.status",
            &[
                ("running", Criteria::Running),
                ("finished", Criteria::Finished),
                ("complete", Criteria::Complete),
                ("incomplete", Criteria::Incomplete),
                ("canceled", Criteria::Canceled),
                ("all", Criteria::All),
            ],
            Criteria::Finished,
        )?;
        let mut callbacks = Vec::new();
        if let Some(one) = v.get("callback") {
            callbacks.push(callback(one, "callback")?);
        }
        match v.get("callbacks") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, c) in list.iter().enumerate() {
                    callbacks.push(callback(c, &format!("callbacks[{i}]"))?);
                }
            }
            Some(_) => return Err("notify: callbacks: expected a list".into()),
        }
        Ok(Notify {
            criteria,
            callbacks,
            recipients,
            verbosity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_captured_block() {
        let n = Notify::parse(&json!({
            "criteria": {"status": "finished"},
            "callbacks": [
                {"url": "http://h/{ID}", "method": "POST", "dataset": "all", "token": "t", "content-type": "json"},
                {"url": "http://h/f", "method": "POST", "token": "t", "header": "X-Lava-Token"},
                {"url": "http://h/g"}
            ]
        }))
        .unwrap();
        assert_eq!(n.criteria, Criteria::Finished);
        assert_eq!(n.callbacks.len(), 3);
        assert_eq!(
            (n.callbacks[0].dataset, n.callbacks[0].json),
            (Dataset::All, true)
        );
        assert_eq!(n.callbacks[1].header, "X-Lava-Token");
        assert_eq!(
            (n.callbacks[2].method, n.callbacks[2].dataset),
            (Method::Get, Dataset::Minimal)
        );
    }

    #[test]
    fn errors_name_the_key() {
        let e = Notify::parse(
            &json!({"criteria": {"status": "all"}, "callbacks": [{"url": "u", "method": "PUT"}]}),
        )
        .unwrap_err();
        assert!(
            e.contains("callbacks[0].method") && e.contains("'PUT'"),
            "{e}"
        );
        let e = Notify::parse(&json!({"criteria": {"status": "sometimes"}})).unwrap_err();
        assert!(e.contains("criteria.status"), "{e}");
        let e =
            Notify::parse(&json!({"criteria": {"status": "all"}, "callback": {"method": "GET"}}))
                .unwrap_err();
        assert!(e.contains("callback.url is required"), "{e}");
    }

    #[test]
    fn nothing_lava_knows_is_accepted_and_ignored() {
        let cases = [
            (
                json!({"criteria": {"status": "finished"}, "recipients": [{"to": {"method": "irc", "handle": "a", "server": "irc.x"}}]}),
                "notify: recipients[0].to.handle: IRC notifications are not sent by this server; use email or callbacks",
            ),
            (
                json!({"criteria": {"status": "finished"}, "recipients": [{"to": {"method": "irc"}}]}),
                "notify: recipients[0].to.method: irc: IRC notifications are not sent by this server; use email or callbacks",
            ),
            (
                json!({"criteria": {"status": "finished"}, "recipients": [{"to": {"method": "email", "email": "a@b, c@d"}}]}),
                "notify: recipients[0].to.email: 'a@b, c@d' is not one email address",
            ),
            (
                json!({"criteria": {"status": "finished"}, "recipients": [{"to": {"method": "email"}}]}),
                "notify: recipients[0].to: email or user is required",
            ),
            (
                json!({"criteria": {"status": "finished"}, "compare": {"blacklist": ["x"]}}),
                "notify: compare: comparing results with earlier jobs is not supported",
            ),
            (
                json!({"criteria": {"status": "complete", "type": "regression"}}),
                "notify: criteria.type: regression and progression notifications need result comparisons, which are not supported",
            ),
            (
                json!({"criteria": {"status": "finished", "dependency_query": "q"}}),
                "notify: criteria.dependency_query: notifications that depend on other jobs are not supported",
            ),
            (
                json!({"criteria": {"status": "finished"}, "callback": {"url": "u", "retries": 3}}),
                "notify: callback.retries: extra keys not allowed (expected one of url, method, token, header, dataset, content-type)",
            ),
            (
                json!({"criteria": {"status": "finished"}, "colour": "red"}),
                "notify: colour: extra keys not allowed (expected one of criteria, verbosity, callback, callbacks, recipients)",
            ),
            (
                json!({"callback": {"url": "u"}}),
                "notify: criteria: required key not provided",
            ),
            (
                json!({"criteria": {}}),
                "notify: criteria.status: required key not provided",
            ),
            (
                json!({"criteria": {"status": "finished"}, "verbosity": "loud"}),
                "notify: verbosity: 'loud' is not one of verbose, quiet, status-only",
            ),
            (
                json!({"criteria": {"status": "all"}, "callback": {"url": "u"}, "callbacks": []}),
                "notify: callback and callbacks: give one or the other",
            ),
        ];
        for (block, error) in cases {
            assert_eq!(Notify::parse(&block).unwrap_err(), error, "{block}");
        }
        let n =
            Notify::parse(&json!({"criteria": {"status": "all"}, "verbosity": "quiet"})).unwrap();
        assert_eq!((n.criteria, n.callbacks.len()), (Criteria::All, 0));
    }

    #[test]
    fn criteria_match_the_state_and_health() {
        use JobHealth::*;
        use JobState::*;
        assert!(Criteria::Running.matches(Running, Unknown));
        assert!(!Criteria::Running.matches(Finished, Complete));
        assert!(Criteria::Finished.matches(Finished, Canceled));
        assert!(Criteria::Complete.matches(Finished, Complete));
        assert!(!Criteria::Complete.matches(Finished, Incomplete));
        assert!(Criteria::Incomplete.matches(Finished, Incomplete));
        assert!(Criteria::Canceled.matches(Finished, Canceled));
        assert!(
            Criteria::All.matches(Running, Unknown) && Criteria::All.matches(Finished, Complete)
        );
    }
}
