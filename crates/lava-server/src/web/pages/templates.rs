//! The page templates: read from the settings' templates directory and parsed once, then
//! parsed again only when a file there is added, removed or changed (its size or mtime), so an
//! edited template shows on the next refresh with no restart and pages stay fast. A template
//! that does not parse or render gives an error page naming it and the line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The extensions read as templates; each is autoescaped (page data is never trusted).
const EXTENSIONS: [&str; 2] = ["html", "svg"];

/// What the files looked like when they were parsed: (path, size, mtime), sorted.
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// Parsed templates per directory (tests run several servers in one process).
type Cache = Mutex<HashMap<PathBuf, (Fingerprint, Arc<Parsed>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

fn walk(dir: &Path, out: &mut Fingerprint) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        // `metadata` follows symlinks, so a dev setup may link the repo's directory.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, out);
        } else if path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| EXTENSIONS.contains(&x))
        {
            out.push((path, meta.len(), meta.modified().ok()));
        }
    }
}

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    files
}

/// Templates parsed from a directory, and the files that did not parse with why.
struct Parsed {
    tera: tera::Tera,
    broken: Vec<(String, String)>,
}

fn name_of(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

fn parse(dir: &Path, files: &Fingerprint) -> Parsed {
    let named: Vec<(PathBuf, Option<String>)> = files
        .iter()
        .map(|(p, _, _)| (p.clone(), Some(name_of(dir, p))))
        .collect();
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![".html", ".svg"]);
    if tera.add_template_files(named.clone()).is_ok() {
        return Parsed {
            tera,
            broken: Vec::new(),
        };
    }
    // One broken file must not take every page down: find it, and load the others.
    let mut broken = Vec::new();
    let mut good = Vec::new();
    for (path, name) in named {
        let name = name.unwrap_or_default();
        let parsed = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                tera::Template::new(&name, None, &text)
                    .map(|_| ())
                    .map_err(|e| describe(&e))
            });
        match parsed {
            Ok(()) => good.push((path, Some(name))),
            Err(why) => broken.push((name, why)),
        }
    }
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![".html", ".svg"]);
    if let Err(e) = tera.add_template_files(good) {
        broken.push(("(inheritance)".into(), describe(&e)));
    }
    Parsed { tera, broken }
}

/// The parsed templates of `dir`, parsed again when a file changed.
fn templates(dir: &Path) -> Arc<Parsed> {
    let now = fingerprint(dir);
    if let Some((seen, parsed)) = cache().lock().unwrap_or_else(|p| p.into_inner()).get(dir)
        && *seen == now
    {
        return parsed.clone();
    }
    let parsed = Arc::new(parse(dir, &now));
    tracing::debug!(dir = %dir.display(), files = now.len(), broken = parsed.broken.len(), "templates parsed");
    cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(dir.to_path_buf(), (now, parsed.clone()));
    parsed
}

/// The error chain of a tera error: the template, then the line and what is wrong.
fn describe(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Escapes text for the error page, which cannot come from a template (they may be broken).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders template `name` from `dir` to a string, or says why not (naming the broken
/// template and line when one did not parse).
pub fn render_string(
    dir: &Path,
    name: &str,
    context: &serde_json::Value,
) -> Result<String, String> {
    let parsed = templates(dir);
    let result = match parsed.broken.iter().find(|(n, _)| n == name) {
        Some((_, why)) => Err(why.clone()),
        None => tera::Context::from_value(context.clone())
            .and_then(|ctx| parsed.tera.render(name, &ctx))
            .map_err(|e| {
                let mut why = describe(&e);
                // A page that extends or includes a broken template fails as "not found":
                // say which one is broken and why.
                for (n, w) in &parsed.broken {
                    why.push_str(&format!("\n\nbroken template {n}: {w}"));
                }
                why
            }),
    };
    result.inspect_err(|why| {
        tracing::error!(template = name, dir = %dir.display(), error = %why, "template error");
    })
}

/// Renders template `name` with `context` as a page with `status`, or the template error page.
pub fn render(dir: &Path, name: &str, status: StatusCode, context: &serde_json::Value) -> Response {
    match render_string(dir, name, context) {
        Ok(text) if name.ends_with(".svg") => {
            (status, [(header::CONTENT_TYPE, "image/svg+xml")], text).into_response()
        }
        Ok(html) => (status, Html(html)).into_response(),
        Err(why) => {
            let page = format!(
                "<!DOCTYPE html><html><head><title>Template error</title></head><body>\
                 <h1>Template error</h1><p>The page template <code>{}</code> in <code>{}</code> \
                 could not be rendered:</p><pre>{}</pre></body></html>",
                escape(name),
                escape(&dir.display().to_string()),
                escape(&why)
            );
            (StatusCode::INTERNAL_SERVER_ERROR, Html(page)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_escaped_in_html_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.html"), "<p>{{ name }}</p>").unwrap();
        std::fs::write(dir.path().join("a.svg"), "<text>{{ name }}</text>").unwrap();
        let ctx = serde_json::json!({"name": "<script>alert(1)</script>"});
        for t in ["a.html", "a.svg"] {
            let out = render_string(dir.path(), t, &ctx).unwrap();
            assert!(!out.contains("<script>"), "{t}: {out}");
            assert!(out.contains("&lt;script&gt;"), "{t}: {out}");
        }
    }

    #[test]
    fn a_changed_file_is_parsed_again() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.html");
        std::fs::write(&f, "one").unwrap();
        let ctx = serde_json::json!({});
        assert_eq!(render_string(dir.path(), "p.html", &ctx).unwrap(), "one");
        std::fs::write(&f, "two!").unwrap();
        assert_eq!(render_string(dir.path(), "p.html", &ctx).unwrap(), "two!");
    }
}
