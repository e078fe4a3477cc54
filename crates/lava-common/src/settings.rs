//! Settings: every path and the database URL, in one type.
//!
//! Read from `/etc/lava-server/settings.toml` (if present) and then overridden by `LAVA_*`
//! environment variables. `LAVA_ROOT=DIR` moves every filesystem path, the settings file
//! included, under `DIR`, so tests and `make run` work unprivileged in a temporary directory.
//! Every problem is reported at once, each naming its key or variable.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::backoff_settings::Backoff;
use crate::email_settings::EmailSettings;
use crate::events_settings::EventSettings;
use crate::limits::{Limits, PoolSettings};
use crate::settings_value;

/// The settings file's path below the root.
pub const SETTINGS_FILE: &str = "etc/lava-server/settings.toml";

/// The database URL used when neither the file nor the environment names one: the local
/// PostgreSQL's unix socket, as Debian's `postgresql` package sets it up.
pub const DEFAULT_DATABASE_URL: &str =
    "postgresql://lavaserver@%2Fvar%2Frun%2Fpostgresql/lavaserver";

/// The web app's default listening address (Apache proxies to it).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8000";

/// The path settings: (key in `[paths]`, environment variable, default).
const PATHS: [(&str, &str, &str); 4] = [
    ("server_etc", "LAVA_SERVER_ETC", "/etc/lava-server"),
    (
        "dispatcher_etc",
        "LAVA_DISPATCHER_ETC",
        "/etc/lava-dispatcher",
    ),
    ("var_lib", "LAVA_VAR_LIB", "/var/lib/lava-server"),
    ("share", "LAVA_SHARE", "/usr/share/lava-server"),
];

/// Everything a LAVA process needs to know about where things are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `/`, or `LAVA_ROOT`.
    pub root: PathBuf,
    /// The settings file that was read (or would have been, had it existed).
    pub settings_file: PathBuf,
    /// `/etc/lava-server`.
    pub server_etc: PathBuf,
    /// `/etc/lava-dispatcher`: `devices/`, `device-types/`.
    pub dispatcher_etc: PathBuf,
    /// `/var/lib/lava-server`: job logs and other state.
    pub var_lib: PathBuf,
    /// `/usr/share/lava-server`: templates, static files, helper scripts.
    pub share: PathBuf,
    /// The PostgreSQL URL.
    pub database_url: String,
    /// Where `lava-server web` listens.
    pub web_listen: SocketAddr,
    /// The secret used to sign session cookies, if set.
    pub secret_key: Option<String>,
    /// The switches that relax or tune the server's defences (see [`Safety`]).
    pub safety: Safety,
    /// `[limits]`: request bodies, job definitions, log lines.
    pub limits: Limits,
    /// The `[database]` pool keys: size and timeouts.
    pub pool: PoolSettings,
    /// `[events]`: the event publisher.
    pub events: EventSettings,
    /// `[email]`: the SMTP relay for notify recipients.
    pub email: EmailSettings,
    /// `[callbacks] retry_window` and `[health_checks]`: retries and giving up.
    pub backoff: Backoff,
}

/// The settings of the server's defences, each with a safe default:
/// `[web] secure_cookies`, `[web] login_failures_per_minute`, `[callbacks] allow_local_targets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Safety {
    /// Session cookies carry `Secure` (the site is served over HTTPS). Default off, because
    /// a browser drops a `Secure` cookie sent over plain HTTP and nobody could log in.
    pub secure_cookies: bool,
    /// Failed logins a username, or a client address, may have within a minute before
    /// further attempts get 429. Default 10.
    pub login_failures_per_minute: u32,
    /// Notify callbacks may go to loopback, link-local, unspecified and multicast addresses
    /// (the server's own host and its neighbours' services). Default off; tests turn it on.
    pub callbacks_allow_local_targets: bool,
}

impl Default for Safety {
    fn default() -> Safety {
        Safety {
            secure_cookies: false,
            login_failures_per_minute: 10,
            callbacks_allow_local_targets: false,
        }
    }
}

impl Safety {
    /// Takes `[section] key = value` if it is one of the safety settings: `true` when it was
    /// (whether or not the value was good; a bad value is added to `problems`).
    fn take(
        &mut self,
        section: &str,
        key: &str,
        value: &toml::Value,
        problems: &mut Vec<String>,
    ) -> bool {
        let name = format!("{section}.{key}");
        let flag = |problems: &mut Vec<String>| settings_value::flag(&name, value, problems);
        match (section, key) {
            ("web", "secure_cookies") => {
                if let Some(b) = flag(problems) {
                    self.secure_cookies = b;
                }
            }
            ("callbacks", "allow_local_targets") => {
                if let Some(b) = flag(problems) {
                    self.callbacks_allow_local_targets = b;
                }
            }
            ("web", "login_failures_per_minute") => match value.as_integer().map(u32::try_from) {
                Some(Ok(n)) if n > 0 => self.login_failures_per_minute = n,
                _ => problems.push(format!(
                    "{name}: expected a whole number from 1 to {}, found {value}",
                    u32::MAX
                )),
            },
            _ => return false,
        }
        true
    }
}

/// Settings that could not be used; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SettingsError {
    /// The settings file involved.
    pub file: PathBuf,
    /// One line per problem, each naming its key or variable.
    pub problems: Vec<String>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid settings ({}):", self.file.display())?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl Settings {
    /// Loads the settings from the file and the process environment.
    pub fn load() -> Result<Settings, SettingsError> {
        Settings::load_with(|name| std::env::var(name).ok())
    }

    /// Loads the settings, taking environment variables from `env` (for tests).
    pub fn load_with(env: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let mut problems = Vec::new();
        let root = crate::host_paths::root_from_env(&env, &mut problems);
        let settings_file = match env("LAVA_SETTINGS").filter(|s| !s.is_empty()) {
            Some(s) => PathBuf::from(s),
            None => root.join(SETTINGS_FILE),
        };
        let table = match std::fs::read_to_string(&settings_file) {
            Ok(text) => match toml::from_str::<toml::Table>(&text) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("not valid TOML: {}", e.to_string().trim_end()));
                    toml::Table::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(e) => {
                problems.push(format!("cannot read the file: {e}"));
                toml::Table::new()
            }
        };
        let file = FileValues::from_table(&table, &mut problems);

        let rooted = |key: &str, value: &str, problems: &mut Vec<String>| -> PathBuf {
            let p = Path::new(value);
            if !p.is_absolute() {
                problems.push(format!("{key}: '{value}' must be an absolute path"));
            }
            root.join(p.strip_prefix("/").unwrap_or(p))
        };
        let mut paths = Vec::new();
        for (key, var, default) in PATHS {
            let (name, value) = match env(var) {
                Some(v) => (var.to_string(), v),
                None => match file.paths.iter().find(|(k, _)| k == key) {
                    Some((_, v)) => (format!("paths.{key}"), v.clone()),
                    None => (key.to_string(), default.to_string()),
                },
            };
            paths.push(rooted(&name, &value, &mut problems));
        }

        let database_url = match env("LAVA_DATABASE_URL") {
            Some(u) => check_url("LAVA_DATABASE_URL", u, &mut problems),
            None => match file.database_url {
                Some(u) => check_url("database.url", u, &mut problems),
                None => DEFAULT_DATABASE_URL.to_string(),
            },
        };
        let (listen_key, listen) = match env("LAVA_WEB_LISTEN") {
            Some(l) => ("LAVA_WEB_LISTEN", l),
            None => match file.web_listen {
                Some(l) => ("web.listen", l),
                None => ("web.listen", DEFAULT_LISTEN.to_string()),
            },
        };
        let web_listen = match listen.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                problems.push(format!(
                    "{listen_key}: '{listen}' is not an address and port such as {DEFAULT_LISTEN}"
                ));
                SocketAddr::from(([127, 0, 0, 1], 8000))
            }
        };
        let secret_key = env("LAVA_SECRET_KEY").or(file.secret_key);
        let mut events = file.events;
        if let Some(socket) = env("LAVA_EVENT_SOCKET") {
            crate::events_settings::check_address("LAVA_EVENT_SOCKET", &socket, &mut problems);
            events.publisher = socket;
        }

        file.backoff.check(&mut problems);
        if !problems.is_empty() {
            return Err(SettingsError {
                file: settings_file,
                problems,
            });
        }
        let [server_etc, dispatcher_etc, var_lib, share] =
            <[PathBuf; 4]>::try_from(paths).unwrap_or_else(|_| unreachable!("four paths"));
        Ok(Settings {
            root,
            settings_file,
            server_etc,
            dispatcher_etc,
            var_lib,
            share,
            database_url,
            web_listen,
            secret_key,
            safety: file.safety,
            limits: file.limits,
            pool: file.pool,
            events,
            email: file.email,
            backoff: file.backoff,
        })
    }

    /// `/etc/lava-dispatcher/devices`.
    pub fn devices_dir(&self) -> PathBuf {
        self.dispatcher_etc.join("devices")
    }

    /// `/etc/lava-dispatcher/device-types`.
    pub fn device_types_dir(&self) -> PathBuf {
        self.dispatcher_etc.join("device-types")
    }

    /// `/etc/lava-dispatcher/devices/NAME.conf`.
    pub fn device_conf(&self, name: &str) -> PathBuf {
        crate::conf::device_path(&self.dispatcher_etc, name)
    }

    /// `/etc/lava-dispatcher/device-types/TYPE.conf`.
    pub fn device_type_conf(&self, device_type: &str) -> PathBuf {
        crate::conf::device_type_path(&self.dispatcher_etc, device_type)
    }

    /// `/usr/share/lava-server/templates`.
    pub fn templates_dir(&self) -> PathBuf {
        self.share.join("templates")
    }

    /// `/usr/share/lava-server/static`: the web pages' CSS and JavaScript (Apache serves it
    /// directly in production; the web app serves it too, so a dev server needs no Apache).
    pub fn static_dir(&self) -> PathBuf {
        self.share.join("static")
    }

    /// `/var/lib/lava-server/jobs`: one directory of logs per job.
    pub fn jobs_dir(&self) -> PathBuf {
        self.var_lib.join("jobs")
    }
}

/// The values found in the settings file, each checked for its type.
#[derive(Default)]
struct FileValues {
    database_url: Option<String>,
    paths: Vec<(String, String)>,
    web_listen: Option<String>,
    secret_key: Option<String>,
    safety: Safety,
    limits: Limits,
    pool: PoolSettings,
    events: EventSettings,
    email: EmailSettings,
    backoff: Backoff,
}

impl FileValues {
    fn from_table(table: &toml::Table, problems: &mut Vec<String>) -> FileValues {
        let mut out = FileValues::default();
        for (section, value) in table {
            let Some(inner) = value.as_table() else {
                problems.push(format!("{section}: expected a [{section}] table"));
                continue;
            };
            // Numbers, not strings: the limits and the pool keys read their own values.
            if section == "limits" {
                out.limits = Limits::from_table(inner, problems);
                continue;
            }
            if section == "events" {
                out.events = EventSettings::from_table(inner, problems);
                continue;
            }
            if section == "email" {
                out.email = EmailSettings::from_table(inner, problems);
                continue;
            }
            for (key, value) in inner {
                if out.safety.take(section, key, value, problems)
                    || out.backoff.take(section, key, value, problems)
                {
                    continue;
                }
                if section == "database" && out.pool.read(key, value, problems) {
                    continue;
                }
                let name = format!("{section}.{key}");
                let Some(s) = settings_value::string(&name, value, problems) else {
                    continue;
                };
                let s = s.to_string();
                match (section.as_str(), key.as_str()) {
                    ("database", "url") => out.database_url = Some(s),
                    ("paths", k) if PATHS.iter().any(|(p, _, _)| *p == k) => {
                        out.paths.push((k.to_string(), s))
                    }
                    ("web", "listen") => out.web_listen = Some(s),
                    ("web", "secret_key") => out.secret_key = Some(s),
                    _ => problems.push(format!("{name}: unknown setting")),
                }
            }
        }
        out
    }
}

fn check_url(key: &str, url: String, problems: &mut Vec<String>) -> String {
    if !(url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        problems.push(format!("{key}: '{url}' is not a postgresql:// URL"));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(root: &Path, vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert("LAVA_ROOT".into(), root.display().to_string());
        Settings::load_with(|k| env.get(k).cloned())
    }

    #[test]
    fn root_moves_every_path() {
        let dir = tempfile::tempdir().unwrap();
        let s = load(dir.path(), &[]).unwrap();
        assert_eq!(s.dispatcher_etc, dir.path().join("etc/lava-dispatcher"));
        assert_eq!(
            s.device_conf("foo"),
            dir.path().join("etc/lava-dispatcher/devices/foo.conf")
        );
        assert_eq!(s.share, dir.path().join("usr/share/lava-server"));
        assert_eq!(
            s.templates_dir(),
            dir.path().join("usr/share/lava-server/templates")
        );
        assert_eq!(
            s.static_dir(),
            dir.path().join("usr/share/lava-server/static")
        );
        assert_eq!(s.var_lib, dir.path().join("var/lib/lava-server"));
        assert_eq!(
            s.settings_file,
            dir.path().join("etc/lava-server/settings.toml")
        );
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(s.web_listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc/lava-server");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("settings.toml"),
            "[database]\nurl = \"postgresql://a@localhost/a\"\n[paths]\nshare = \"/opt/share\"\n[web]\nlisten = \"127.0.0.1:9000\"\n",
        )
        .unwrap();
        let s = load(dir.path(), &[]).unwrap();
        assert_eq!(s.database_url, "postgresql://a@localhost/a");
        assert_eq!(s.share, dir.path().join("opt/share"));
        assert_eq!(s.web_listen.port(), 9000);
        let s = load(dir.path(), &[("LAVA_DATABASE_URL", "postgresql://b@x/b")]).unwrap();
        assert_eq!(s.database_url, "postgresql://b@x/b");
    }

    #[test]
    fn limits_and_pool_keys_are_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc/lava-server");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("settings.toml"),
            "[database]\nurl = \"postgresql://a@localhost/a\"\npool_size = 4\npool_wait_timeout = 2.5\n[limits]\njob_bytes = 2097152\n",
        )
        .unwrap();
        let s = load(dir.path(), &[]).unwrap();
        assert_eq!(s.database_url, "postgresql://a@localhost/a");
        assert_eq!(s.pool.size, 4);
        assert_eq!(s.pool.wait, std::time::Duration::from_millis(2500));
        assert_eq!(s.pool.create, PoolSettings::default().create);
        assert_eq!(s.limits.job_bytes, 2 << 20);
        assert_eq!(s.limits.log_line_bytes, Limits::default().log_line_bytes);
        let defaults = load(tempfile::tempdir().unwrap().path(), &[]).unwrap();
        assert_eq!(defaults.limits, Limits::default());
        assert_eq!(defaults.pool, PoolSettings::default());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc/lava-server");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("settings.toml"),
            "[database]\nurl = 5\nuri = \"x\"\n[paths]\nshare = \"relative\"\n",
        )
        .unwrap();
        let e = load(dir.path(), &[("LAVA_WEB_LISTEN", "nowhere")]).unwrap_err();
        assert_eq!(
            e.problems,
            [
                "database.url: expected a string, found integer",
                "database.uri: unknown setting",
                "paths.share: 'relative' must be an absolute path",
                "LAVA_WEB_LISTEN: 'nowhere' is not an address and port such as 127.0.0.1:8000",
            ]
        );
        assert!(e.to_string().starts_with("invalid settings ("), "{e}");
    }

    #[test]
    fn safety_settings_default_safe_and_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), &[]).unwrap().safety, Safety::default());
        let etc = dir.path().join("etc/lava-server");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("settings.toml"),
            "[web]\nsecure_cookies = true\nlogin_failures_per_minute = 3\n\
             [callbacks]\nallow_local_targets = true\nretry_window = 3600\n\
             [health_checks]\nfailures_to_bad = 5\n",
        )
        .unwrap();
        let all = load(dir.path(), &[]).unwrap();
        let s = all.safety;
        assert!(s.secure_cookies && s.callbacks_allow_local_targets);
        assert_eq!(s.login_failures_per_minute, 3);
        let b = all.backoff;
        assert_eq!(
            b.callback_retry_window,
            std::time::Duration::from_secs(3600)
        );
        assert_eq!(b.health_check_failures_to_bad, 5);
        assert_eq!(
            b.health_check_retry_delay,
            crate::backoff_settings::Backoff::default().health_check_retry_delay
        );
        std::fs::write(
            etc.join("settings.toml"),
            "[web]\nsecure_cookies = \"yes\"\nlogin_failures_per_minute = 0\n\
             [callbacks]\nallow_local_targets = 1\nother = 2\n",
        )
        .unwrap();
        let e = load(dir.path(), &[]).unwrap_err();
        assert_eq!(
            e.problems,
            [
                "web.secure_cookies: expected true or false, found string",
                "web.login_failures_per_minute: expected a whole number from 1 to 4294967295, found 0",
                "callbacks.allow_local_targets: expected true or false, found integer",
                "callbacks.other: expected a string, found integer",
            ]
        );
    }

    #[test]
    fn broken_toml_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc/lava-server");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("settings.toml"), "[database]\nurl = \n").unwrap();
        let e = load(dir.path(), &[]).unwrap_err();
        assert!(e.problems[0].contains("line 2"), "{e}");
    }
}
