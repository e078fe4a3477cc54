//! The Apache site, `apache/lava-server.conf.tera` rendered with tera.

use std::path::{Path, PathBuf};

use crate::{Error, Result};
use lava_common::error_chain::error_chain;

/// The template's path below the source tree.
pub const TEMPLATE: &str = "apache/lava-server.conf.tera";

/// Where the rendered site goes on an installed system.
pub const SITE: &str = "/etc/apache2/sites-available/lava-server.conf";

/// The user Apache runs the web app as (the lava-server package's system user).
pub const SERVICE_USER: &str = "lavaserver";

/// The web app's binary, which the site's piped log starts.
pub const SERVER_BINARY: &str = "/usr/bin/lava-server";

/// The request body limits of the site, in bytes: the web app's (its `[limits]` settings),
/// so that Apache refuses (413) what the app would refuse, before it reaches the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// `limits.request_bytes`: any request not listed below.
    pub request: u64,
    /// `limits.job_bytes`: a job submission (REST create and validate, XML-RPC, the
    /// submission form, a device type's health check form).
    pub job: u64,
    /// The worker API's messages other than log batches.
    pub worker_message: u64,
    /// `limits.log_batch_bytes`: a worker's log batch.
    pub log_batch: u64,
}

impl Default for BodyLimits {
    /// The web app's defaults (`[limits]` in the settings, the worker API's fixed bound).
    fn default() -> BodyLimits {
        let app = lava_common::limits::Limits::default();
        BodyLimits {
            request: app.request_bytes as u64,
            job: app.job_bytes as u64,
            worker_message: lava_common::limits::WORKER_MESSAGE_BYTES as u64,
            log_batch: app.log_batch_bytes as u64,
        }
    }
}

/// The values the site template takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApacheSite {
    /// `ServerName`, if any (otherwise Apache's default virtual host answers any name).
    pub server_name: Option<String>,
    /// The port of the `<VirtualHost>`.
    pub port: u16,
    /// The web app's address (`web.listen`), which Apache proxies to.
    pub upstream: String,
    /// `/usr/share/lava-server`: `static/` below it is served by Apache itself.
    pub share: PathBuf,
    /// The request body limit of each group of routes.
    pub limits: BodyLimits,
    /// The user the web app runs as ([`SERVICE_USER`]).
    pub web_user: String,
    /// The web app's binary, which Apache starts as a piped log ([`SERVER_BINARY`]).
    pub web_binary: PathBuf,
}

impl ApacheSite {
    /// Renders the template at `template`.
    pub fn render(&self, template: &Path) -> Result<String> {
        let text = std::fs::read_to_string(template).map_err(Error::io(template))?;
        let bad = |e: tera::Error| Error::Template {
            path: template.to_path_buf(),
            message: error_chain(&e),
        };
        if let Some(name) = &self.server_name
            && (name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '"'))
        {
            return Err(Error::Template {
                path: template.to_path_buf(),
                message: format!("server name '{name}' is not a host name"),
            });
        }
        let web_binary = self.web_binary.display().to_string();
        for (what, value) in [("user", self.web_user.as_str()), ("binary", &web_binary)] {
            if value.is_empty() || value.contains(|c: char| c.is_whitespace() || c == '"') {
                return Err(Error::Template {
                    path: template.to_path_buf(),
                    message: format!("web app {what} '{value}': empty, or with a space or a quote"),
                });
            }
        }
        let mut ctx = tera::Context::new();
        ctx.insert("server_name", &self.server_name);
        ctx.insert("port", &self.port);
        ctx.insert("upstream", &self.upstream);
        ctx.insert("user", &self.web_user);
        ctx.insert("binary", &web_binary);
        ctx.insert(
            "static_dir",
            &self.share.join("static").display().to_string(),
        );
        let l = &self.limits;
        ctx.insert("request_bytes", &l.request);
        ctx.insert("job_bytes", &l.job);
        ctx.insert("worker_message_bytes", &l.worker_message);
        ctx.insert("log_batch_bytes", &l.log_batch);
        let mut tera = tera::Tera::default();
        tera.autoescape_on(Vec::new());
        tera.register_filter("comment", comment);
        tera.add_raw_template("site", &text).map_err(bad)?;
        tera.render("site", &ctx).map_err(bad)
    }
}

/// The `comment` filter: every line prefixed with `# ` (an empty one with `#`), for the
/// variants shipped commented out, which an admin enables by removing that prefix.
fn comment(
    value: &tera::Value,
    _: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let text = value
        .as_str()
        .ok_or_else(|| tera::Error::msg("the comment filter takes text"))?;
    let lines: Vec<String> = text
        .lines()
        .map(|l| match l {
            "" => "#".to_string(),
            l => format!("# {l}"),
        })
        .collect();
    Ok(tera::Value::String(lines.join("\n")))
}
