//! The page templates: read from the settings' templates directory and parsed once, then
//! parsed again only when a file there is added, removed or changed, so an edited template
//! shows on the next refresh with no restart and pages stay fast. The directory is looked at
//! at most once a second ([`RECHECK`]); a file whose size and mtime are unchanged is still
//! compared by the hash of its content (an edit within the same second of the same size
//! would otherwise go unseen). A template that does not parse or render gives an error page
//! naming it and the line.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use lava_common::error_chain::error_chain;

/// The extensions read as templates; each is autoescaped (page data is never trusted).
const EXTENSIONS: [&str; 2] = ["html", "svg"];

/// How long a look at the directory is trusted: requests within it render without a stat.
pub const RECHECK: Duration = Duration::from_secs(1);

/// What the files looked like when they were parsed: (path, size, mtime), sorted.
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// The templates of one directory, parsed, with when and how they were last looked at. Held
/// in the web app's state (each server its own; tests run several in one process).
pub struct Templates {
    dir: PathBuf,
    recheck: Duration,
    seen: Mutex<Option<Seen>>,
}

/// The last look at the directory.
struct Seen {
    at: Instant,
    files: Fingerprint,
    content: u64,
    parsed: Arc<Parsed>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates").field("dir", &self.dir).finish()
    }
}

impl Templates {
    /// The templates under `dir`, looked at again at most once per [`RECHECK`].
    pub fn new(dir: PathBuf) -> Templates {
        Templates::with_recheck(dir, RECHECK)
    }

    /// The templates under `dir`, looked at again at most once per `recheck`.
    pub fn with_recheck(dir: PathBuf, recheck: Duration) -> Templates {
        Templates {
            dir,
            recheck,
            seen: Mutex::new(None),
        }
    }

    /// The directory they are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed templates: the last parse while it is fresh, else parsed again when a file
    /// was added, removed or changed.
    fn parsed(&self) -> Arc<Parsed> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(s) = seen.as_ref()
            && now.duration_since(s.at) < self.recheck
        {
            return s.parsed.clone();
        }
        let files = fingerprint(&self.dir);
        let content = content_hash(&files);
        if let Some(s) = seen.as_mut()
            && s.files == files
            && s.content == content
        {
            s.at = now;
            return s.parsed.clone();
        }
        let parsed = Arc::new(parse(&self.dir, &files));
        tracing::debug!(dir = %self.dir.display(), files = files.len(), broken = parsed.broken.len(), "templates parsed");
        *seen = Some(Seen {
            at: now,
            files,
            content,
            parsed: parsed.clone(),
        });
        parsed
    }
}

/// A hash of the files' content, so an edit that keeps size and mtime is still seen. (Not a
/// security measure: only a change detector; an unreadable file hashes as empty.)
fn content_hash(files: &Fingerprint) -> u64 {
    let mut h = DefaultHasher::new();
    for (path, _, _) in files {
        path.hash(&mut h);
        std::fs::read(path).unwrap_or_default().hash(&mut h);
    }
    h.finish()
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
                    .map_err(|e| error_chain(&e))
            });
        match parsed {
            Ok(()) => good.push((path, Some(name))),
            Err(why) => broken.push((name, why)),
        }
    }
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![".html", ".svg"]);
    if let Err(e) = tera.add_template_files(good) {
        broken.push(("(inheritance)".into(), error_chain(&e)));
    }
    Parsed { tera, broken }
}

/// Escapes text for the error page, which cannot come from a template (they may be broken).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders template `name` to a string, or says why not (naming the broken template and
/// line when one did not parse).
pub fn render_string(
    templates: &Templates,
    name: &str,
    context: &impl serde::Serialize,
) -> Result<String, String> {
    let dir = templates.dir();
    let parsed = templates.parsed();
    let result = match parsed.broken.iter().find(|(n, _)| n == name) {
        Some((_, why)) => Err(why.clone()),
        None => tera::Context::from_serialize(context)
            .and_then(|ctx| parsed.tera.render(name, &ctx))
            .map_err(|e| {
                let mut why = error_chain(&e);
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
pub fn render(
    templates: &Templates,
    name: &str,
    status: StatusCode,
    context: &impl serde::Serialize,
) -> Response {
    match render_string(templates, name, context) {
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
                escape(&templates.dir().display().to_string()),
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
        let t = Templates::new(dir.path().to_path_buf());
        let ctx = serde_json::json!({"name": "<script>alert(1)</script>"});
        for name in ["a.html", "a.svg"] {
            let out = render_string(&t, name, &ctx).unwrap();
            assert!(!out.contains("<script>"), "{name}: {out}");
            assert!(out.contains("&lt;script&gt;"), "{name}: {out}");
        }
    }

    #[test]
    fn a_changed_file_is_parsed_again() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.html");
        std::fs::write(&f, "one").unwrap();
        let t = Templates::with_recheck(dir.path().to_path_buf(), Duration::ZERO);
        let ctx = serde_json::json!({});
        assert_eq!(render_string(&t, "p.html", &ctx).unwrap(), "one");
        std::fs::write(&f, "two!").unwrap();
        assert_eq!(render_string(&t, "p.html", &ctx).unwrap(), "two!");
    }

    #[test]
    fn an_edit_keeping_size_and_mtime_is_seen_by_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.html");
        std::fs::write(&f, "one").unwrap();
        let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
        let t = Templates::with_recheck(dir.path().to_path_buf(), Duration::ZERO);
        let ctx = serde_json::json!({});
        assert_eq!(render_string(&t, "p.html", &ctx).unwrap(), "one");
        std::fs::write(&f, "two").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().modified().unwrap(), mtime);
        assert_eq!(render_string(&t, "p.html", &ctx).unwrap(), "two");
    }

    #[test]
    fn the_directory_is_not_looked_at_again_within_the_recheck_time() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.html");
        std::fs::write(&f, "one").unwrap();
        let t = Templates::with_recheck(dir.path().to_path_buf(), Duration::from_secs(3600));
        let ctx = serde_json::json!({});
        assert_eq!(render_string(&t, "p.html", &ctx).unwrap(), "one");
        std::fs::write(&f, "two!").unwrap();
        // Still the parse of the first look: no stat within the hour.
        assert_eq!(render_string(&t, "p.html", &ctx).unwrap(), "one");
    }
}
