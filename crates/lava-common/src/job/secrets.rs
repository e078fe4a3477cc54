//! Callback tokens and `secrets` out of stored definitions.
//!
//! A job's `notify` callbacks may carry a `token` (a CI system's credential), and its
//! `secrets` block holds values for the test shell. Everyone who may see the job may read its
//! definition, so the server stores the definition with each such value replaced by
//! [`SECRET_MASK`] and keeps the values apart. The mask is written over the value's own text
//! in the document, so comments, layout and every other byte stay as submitted, and the
//! masked text is parsed again and must give the same plan with masked values, or the job is
//! refused: a secret is never kept in a form that could not be masked.

use std::collections::BTreeMap;

use saphyr::{LoadableYamlNode, MarkedYamlOwned, YamlDataOwned};
use serde_json::Value;

use super::error::JobError;
use super::plan::{JobPlan, SourceFormat};

/// What a stored definition shows where a callback token or a secret was.
pub const SECRET_MASK: &str = "********";

/// A job's `secrets` on their way to the dispatcher: name to value. Its `Debug` shows the
/// names only, so a traced request or response never holds a value.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretValues(pub BTreeMap<String, String>);

impl SecretValues {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A definition with its callback tokens and secrets taken out.
#[derive(Clone, PartialEq)]
pub struct Masked {
    /// The definition with every callback token and secret replaced by [`SECRET_MASK`].
    pub text: String,
    /// Its plan: the notify and secrets blocks show the mask too.
    pub plan: JobPlan,
    /// The tokens by their place among the callbacks (`callback` first, then `callbacks` in
    /// order, the order the callback code numbers them).
    pub tokens: Vec<(i32, String)>,
    /// The `secrets` block: name to value.
    pub secrets: BTreeMap<String, String>,
}

impl std::fmt::Debug for Masked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masked")
            .field("text", &self.text)
            .field("tokens", &self.tokens.len())
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The callbacks of a notify block in the callback code's order.
fn callbacks(notify: &Value) -> Vec<&Value> {
    let mut out: Vec<&Value> = notify.get("callback").into_iter().collect();
    if let Some(Value::Array(list)) = notify.get("callbacks") {
        out.extend(list.iter());
    }
    out
}

/// The tokens of a notify block by place (`callback` first, then `callbacks` in order).
pub fn plan_tokens(notify: &Value) -> Vec<(i32, String)> {
    callbacks(notify)
        .into_iter()
        .enumerate()
        .filter_map(|(i, cb)| Some((i as i32, cb.get("token")?.as_str()?.to_string())))
        .collect()
}

/// Takes the callback tokens and secrets out of `text`, whose plan is `plan` (the result of
/// parsing it). A definition without either comes back as it is.
pub fn mask_secrets(text: &str, plan: JobPlan) -> Result<Masked, JobError> {
    let tokens = plan.notify.as_ref().map(plan_tokens).unwrap_or_default();
    let secrets = plan.secrets.clone();
    if tokens.is_empty() && secrets.is_empty() {
        return Ok(Masked {
            text: text.to_string(),
            plan,
            tokens,
            secrets,
        });
    }
    if plan.source != SourceFormat::Yaml {
        return Err(JobError::invalid(
            "notify",
            None,
            "callback tokens are only supported in yaml jobs",
        ));
    }
    let spans = token_spans(text)?;
    let mut masked = text.to_string();
    let mut sorted = spans;
    sorted.sort_by_key(|s| std::cmp::Reverse(s.start));
    for s in &sorted {
        masked.replace_range(s.start..s.end, &format!("\"{SECRET_MASK}\""));
    }
    let mut expected = plan;
    if let Some(notify) = expected.notify.as_mut() {
        mask_plan_tokens(notify);
    }
    for value in expected.secrets.values_mut() {
        *value = SECRET_MASK.to_string();
    }
    let again = super::parse_job(&masked).ok();
    if again.as_ref() != Some(&expected) {
        let at = if secrets.is_empty() {
            "notify"
        } else {
            "secrets"
        };
        return Err(JobError::invalid(
            at,
            None,
            "the callback tokens or secrets cannot be masked in this layout: write each value once, as a plain or quoted value on one line",
        ));
    }
    Ok(Masked {
        text: masked,
        plan: expected,
        tokens,
        secrets,
    })
}

/// Replaces every callback token of a notify block (in a plan) by the mask.
pub fn mask_plan_tokens(notify: &mut Value) {
    let mask = |cb: &mut Value| {
        if let Some(t) = cb.get_mut("token").filter(|t| t.is_string()) {
            *t = Value::String(SECRET_MASK.to_string());
        }
    };
    if let Some(cb) = notify.get_mut("callback") {
        mask(cb);
    }
    if let Some(Value::Array(list)) = notify.get_mut("callbacks") {
        list.iter_mut().for_each(mask);
    }
}

/// A token's text in the document, as a byte range.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

/// The byte ranges of every `token` value under `notify.callback` and `notify.callbacks[*]`,
/// and of every value of `secrets`.
fn token_spans(text: &str) -> Result<Vec<Span>, JobError> {
    let docs = MarkedYamlOwned::load_from_str(text)
        .map_err(|e| JobError::invalid("", Some(e.marker().line()), e.info().to_string()))?;
    let Some(root) = docs.first() else {
        return Ok(Vec::new());
    };
    // Char offsets (saphyr's markers) to byte offsets.
    let bytes: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .collect();
    let mut out = Vec::new();
    // (path, node): the values to mask.
    let mut values: Vec<(String, &MarkedYamlOwned)> = Vec::new();
    if let Some(notify) = entry(root, "notify") {
        let mut holders: Vec<(String, &MarkedYamlOwned)> = Vec::new();
        if let Some(cb) = entry(notify, "callback") {
            holders.push(("notify.callback".into(), cb));
        }
        if let Some(list) = entry(notify, "callbacks")
            && let YamlDataOwned::Sequence(items) = &list.data
        {
            for (i, cb) in items.iter().enumerate() {
                holders.push((format!("notify.callbacks[{i}]"), cb));
            }
        }
        for (path, cb) in holders {
            if let YamlDataOwned::Mapping(map) = &cb.data {
                values.extend(
                    map.iter()
                        .filter(|(k, _)| is_key(k, "token"))
                        .map(|(_, v)| (format!("{path}.token"), v)),
                );
            }
        }
    }
    if let Some(secrets) = entry(root, "secrets")
        && let YamlDataOwned::Mapping(map) = &secrets.data
    {
        for (k, v) in map {
            let name = match &k.data {
                YamlDataOwned::Value(s) => s.as_str().unwrap_or("?").to_string(),
                _ => "?".to_string(),
            };
            values.push((format!("secrets.{name}"), v));
        }
    }
    for (path, v) in values {
        let (start, end) = (v.span.start.index(), v.span.end.index());
        let (Some(&start), Some(&end)) = (bytes.get(start), bytes.get(end)) else {
            continue;
        };
        let source = &text[start..end];
        let plain = matches!(&v.data, YamlDataOwned::Value(s) if s.as_str() == Some(source));
        // A quoted scalar's span runs on over the blanks and comment after it.
        let quoted = quoted_len(source);
        let end = match (plain, quoted) {
            (true, _) => end,
            (false, Some(len)) => start + len,
            (false, None) => start,
        };
        if end == start {
            return Err(JobError::invalid(
                path,
                Some(v.span.start.line()),
                "write the value itself as a plain or quoted value on one line (not an alias, anchor, tag or block), so it can be kept out of the stored definition",
            ));
        }
        out.push(Span { start, end });
    }
    Ok(out)
}

/// The length in bytes of the quoted scalar that `source` starts with (quotes included), or
/// `None` when it does not start with a complete one.
fn quoted_len(source: &str) -> Option<usize> {
    let quote = source.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let mut chars = source.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            ('"', '\\') => {
                chars.next();
            }
            ('\'', '\'') if chars.peek().is_some_and(|(_, n)| *n == '\'') => {
                chars.next();
            }
            (q, c) if c == q => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn is_key(k: &MarkedYamlOwned, name: &str) -> bool {
    matches!(&k.data, YamlDataOwned::Value(s) if s.as_str() == Some(name))
}

/// The value of `key` in a mapping node.
fn entry<'a>(node: &'a MarkedYamlOwned, key: &str) -> Option<&'a MarkedYamlOwned> {
    match &node.data {
        YamlDataOwned::Mapping(map) => map.iter().find(|(k, _)| is_key(k, key)).map(|(_, v)| v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::parse_job;

    const HEAD: &str = "job_name: cb\ndevice_type: qemu\ntimeouts: {job: {minutes: 1}}\nvisibility: public\nactions: []\n";

    fn mask(notify: &str) -> Result<Masked, JobError> {
        let text = format!("{HEAD}{notify}");
        mask_secrets(&text, parse_job(&text).unwrap())
    }

    #[test]
    fn every_token_style_is_masked_and_the_rest_kept() {
        let m = mask(
            "notify:\n  criteria: {status: finished}   # keep me\n  callback: {url: 'http://h/a', token: plain-sekrit}\n  callbacks:\n  - url: http://h/b\n    token: 'single''quoted'  # and me\n  - {url: http://h/c}\n  - url: http://h/d\n    token: \"double \\\"quoted\\\" é\"\n",
        )
        .unwrap();
        assert_eq!(
            m.tokens,
            [
                (0, "plain-sekrit".to_string()),
                (1, "single'quoted".to_string()),
                (3, "double \"quoted\" é".to_string())
            ]
        );
        for (_, t) in &m.tokens {
            assert!(!m.text.contains(t.as_str()), "{}", m.text);
        }
        assert!(m.text.contains("# keep me"), "{}", m.text);
        assert!(m.text.contains("\"********\"  # and me\n"), "{}", m.text);
        assert_eq!(m.text.matches(SECRET_MASK).count(), 3, "{}", m.text);
        let notify = m.plan.notify.as_ref().unwrap();
        assert_eq!(notify["callback"]["token"], SECRET_MASK);
        assert_eq!(notify["callbacks"][0]["token"], SECRET_MASK);
        assert!(notify["callbacks"][1].get("token").is_none());
        assert_eq!(parse_job(&m.text).unwrap(), m.plan);
        // A masked definition (a resubmission) masks to itself.
        let again = mask_secrets(&m.text, m.plan.clone()).unwrap();
        assert_eq!(again.text, m.text);
        assert!(again.tokens.iter().all(|(_, t)| t == SECRET_MASK));
    }

    #[test]
    fn secrets_are_masked_in_text_and_plan_and_kept_apart() {
        let m = mask(
            "secrets:\n  API_KEY: plain-s3cret   # the key\n  PASS: 'it''s'\n  EMPTY: \"\"\nmetadata: {API_KEY: shown}\n",
        )
        .unwrap();
        assert_eq!(m.secrets["API_KEY"], "plain-s3cret");
        assert_eq!(m.secrets["PASS"], "it's");
        assert_eq!(m.secrets["EMPTY"], "");
        assert!(
            !m.text.contains("plain-s3cret") && !m.text.contains("it''s"),
            "{}",
            m.text
        );
        assert!(
            m.text.contains("API_KEY: \"********\"   # the key\n"),
            "{}",
            m.text
        );
        assert!(m.text.contains("metadata: {API_KEY: shown}"), "{}", m.text);
        assert!(m.plan.secrets.values().all(|v| v == SECRET_MASK));
        assert_eq!(parse_job(&m.text).unwrap(), m.plan);
        assert!(!format!("{m:?}").contains("plain-s3cret"));
        let wire = SecretValues(m.secrets.clone());
        assert!(!format!("{wire:?}").contains("plain-s3cret"), "{wire:?}");
        // An alias would leave the anchor's copy behind.
        let e = mask("metadata: {x: &t plain-s3cret}\nsecrets: {K: *t}\n").unwrap_err();
        assert!(e.to_string().contains("secrets.K"), "{e}");
    }

    #[test]
    fn a_definition_without_tokens_is_unchanged() {
        let m = mask("notify:\n  callback: {url: 'http://h/a'}\n").unwrap();
        assert!(m.tokens.is_empty());
        assert_eq!(
            m.text,
            format!("{HEAD}notify:\n  callback: {{url: 'http://h/a'}}\n")
        );
    }

    #[test]
    fn layouts_that_cannot_be_masked_are_refused() {
        // An alias would leave the anchor's copy of the token behind.
        let e =
            mask("metadata: {x: &t sekrit}\nnotify:\n  callback: {url: 'http://h/a', token: *t}\n")
                .unwrap_err();
        assert!(e.to_string().contains("notify.callback.token"), "{e}");
        let e = mask("notify:\n  callback:\n    url: http://h/a\n    token: |\n      sekrit\n")
            .unwrap_err();
        assert!(e.to_string().contains("plain or quoted"), "{e}");
    }
}
