//! `[email]`: how notify `recipients` get their mail (LAVA's `EMAIL_HOST`, `EMAIL_PORT` and
//! `SERVER_EMAIL`). Mail goes in plain SMTP to a relay the admin runs (Debian's `exim4`, which
//! then delivers or forwards it with TLS as configured); without `smtp`, no mail is sent and
//! each job's notification records why.
//!
//! ```toml
//! [email]
//! smtp = "localhost:25"                  # the relay (host:port)
//! from = "lava-server@lab.example.org"   # the sender of notifications
//! url = "https://lab.example.org"        # the server's address, for links to jobs
//! ```

/// The `[email]` table; the default (no `smtp`) sends no mail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailSettings {
    /// `host:port` of the SMTP relay; `None`: no mail is sent.
    pub smtp: Option<(String, u16)>,
    /// The sender address (default `lava-server@localhost`).
    pub from: Option<String>,
    /// The server's base URL, for links in the mail.
    pub url: Option<String>,
}

impl EmailSettings {
    /// The sender address.
    pub fn sender(&self) -> &str {
        self.from.as_deref().unwrap_or("lava-server@localhost")
    }

    /// Reads the `[email]` table, adding a problem per bad key.
    pub fn from_table(table: &toml::Table, problems: &mut Vec<String>) -> EmailSettings {
        let mut out = EmailSettings::default();
        for (key, value) in table {
            let name = format!("email.{key}");
            let Some(s) = crate::settings_value::string(&name, value, problems) else {
                continue;
            };
            match key.as_str() {
                "smtp" => match s.rsplit_once(':') {
                    Some((host, port))
                        if !host.is_empty()
                            && !host.contains(char::is_whitespace)
                            && port.parse::<u16>().is_ok_and(|p| p > 0) =>
                    {
                        out.smtp = Some((host.to_string(), port.parse().unwrap_or(25)));
                    }
                    _ => problems.push(format!("{name}: expected HOST:PORT, found '{s}'")),
                },
                "from" => {
                    if address_ok(s) {
                        out.from = Some(s.to_string());
                    } else {
                        problems.push(format!("{name}: '{s}' is not an email address"));
                    }
                }
                "url" => {
                    if s.starts_with("http://") || s.starts_with("https://") {
                        out.url = Some(s.trim_end_matches('/').to_string());
                    } else {
                        problems.push(format!("{name}: expected an http:// or https:// URL"));
                    }
                }
                _ => problems.push(format!("{name}: unknown setting")),
            }
        }
        out
    }
}

/// Whether `s` looks like one plain email address: `local@domain`, no spaces, no angle
/// brackets or commas (one address, never a header's worth), at most 254 bytes.
pub fn address_ok(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_and_bad_ones_named() {
        let table: toml::Table = toml::from_str(
            "smtp = \"localhost:2525\"\nfrom = \"lab@x.org\"\nurl = \"https://lab/\"",
        )
        .unwrap();
        let mut problems = Vec::new();
        let s = EmailSettings::from_table(&table, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.smtp, Some(("localhost".into(), 2525)));
        assert_eq!(s.url.as_deref(), Some("https://lab"));
        let table: toml::Table =
            toml::from_str("smtp = \"localhost\"\nfrom = \"a, b@c\"\nport = 25").unwrap();
        let mut problems = Vec::new();
        EmailSettings::from_table(&table, &mut problems);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains("email.from")),
            "{problems:?}"
        );
    }

    #[test]
    fn one_plain_address_only() {
        assert!(address_ok("ann@lab.example"));
        for bad in [
            "ann",
            "@x",
            "a@",
            "a b@c",
            "a@b,c@d",
            "<a@b>",
            "a@b\r\nBcc: c@d",
        ] {
            assert!(!address_ok(bad), "{bad}");
        }
    }
}
