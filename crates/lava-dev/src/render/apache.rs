//! The Apache site, `apache/lava-server.conf.tera` rendered with tera.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The template's path below the source tree.
pub const TEMPLATE: &str = "apache/lava-server.conf.tera";

/// Where the rendered site goes on an installed system.
pub const SITE: &str = "/etc/apache2/sites-available/lava-server.conf";

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
}

impl ApacheSite {
    /// Renders the template at `template`.
    pub fn render(&self, template: &Path) -> Result<String> {
        let text = std::fs::read_to_string(template).map_err(Error::io(template))?;
        let bad = |e: tera::Error| Error::Template {
            path: template.to_path_buf(),
            message: chain(&e),
        };
        if let Some(name) = &self.server_name
            && (name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '"'))
        {
            return Err(Error::Template {
                path: template.to_path_buf(),
                message: format!("server name '{name}' is not a host name"),
            });
        }
        let mut ctx = tera::Context::new();
        ctx.insert("server_name", &self.server_name);
        ctx.insert("port", &self.port);
        ctx.insert("upstream", &self.upstream);
        ctx.insert(
            "static_dir",
            &self.share.join("static").display().to_string(),
        );
        tera::Tera::one_off(&text, &ctx, false).map_err(bad)
    }
}

/// Tera's error with its causes (the useful part is usually in a source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
