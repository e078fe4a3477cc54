//! The dispatcher's own settings: what a job may reach from the worker host.
//!
//! Read from `dispatcher.toml` in the dispatcher's configuration directory
//! (`/etc/lava-dispatcher/dispatcher.toml`, moved by `LAVA_ROOT` or `LAVA_DISPATCHER_ETC`,
//! or named by `LAVA_DISPATCHER_SETTINGS`) and then overridden by `LAVA_*` environment
//! variables, like the server's settings. A missing file means the defaults; every
//! problem is reported at once, each naming its key or variable.
//!
//! Each setting is one row of [`KEYS`] and one field.
//!
//! ```toml
//! [jobs]
//! # Directories whose files jobs may name with file:// URLs (images, test definitions,
//! # git repositories). Host paths, used as written.
//! file_url_dirs = ["/var/lib/lava-server/images", "/usr/share/lava-dispatcher/test-definitions"]
//! # Whether jobs may fetch from loopback, link-local, unspecified or multicast addresses.
//! allow_local_targets = false
//! # How long one git command of a job may take, in seconds.
//! git_timeout = 600
//!
//! [tftp]
//! # The directory tftpd-hpa serves; a job's files go under ROOT/JOB_ID/ for its lifetime.
//! root = "/srv/tftp"
//!
//! [nfs]
//! # The directory NFS root file systems are unpacked (and exported) under, per job.
//! root = "/var/lib/lava-dispatcher/nfs"
//!
//! [network]
//! # The worker's address as boards reach it ({SERVER_IP}, {NFS_SERVER_IP}); when unset, the
//! # address of the interface of the default route.
//! dispatcher_ip = "192.168.0.2"
//!
//! [docker]
//! # The container engine a QEMU boot's `docker` block runs under: docker or podman (a name
//! # in PATH or an absolute path).
//! engine = "docker"
//! # The images jobs may run their QEMU in; empty (the default): none.
//! images = ["kernelci/qemu"]
//! # Options given to the engine before its command (`--root DIR` for podman's storage…).
//! engine_options = []
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::host_paths::HostPaths;
use crate::settings::SettingsError;

/// The file's name in the dispatcher's configuration directory.
pub const DISPATCHER_SETTINGS_FILE: &str = "dispatcher.toml";

/// The image directory below `LAVA_ROOT`: file URLs may name what is there by default. On a
/// host that runs the server too it is below the server's private `/var/lib/lava-server`,
/// which the package leaves open to traversal (0751) for this directory alone.
pub const DEFAULT_IMAGE_DIR: &str = "var/lib/lava-server/images";

/// The test definitions the `lava-dispatcher` package ships, below `LAVA_ROOT`: the example
/// jobs and the kvm health check read them with file URLs, so they are allowed by default.
pub const DEFAULT_TESTDEF_DIR: &str = "usr/share/lava-dispatcher/test-definitions";

/// The default limit of one git command, in seconds.
pub const DEFAULT_GIT_TIMEOUT_SECS: u64 = 600;

/// The default limit of one image, downloaded or decompressed, in MiB (16 GiB): above any
/// root file system a board boots, below what fills a worker's disk.
pub const DEFAULT_MAX_IMAGE_MIB: u64 = 16 * 1024;

/// The TFTP root below `LAVA_ROOT` (`/srv/tftp`, where Debian's tftpd-hpa serves).
pub const DEFAULT_TFTP_ROOT: &str = "srv/tftp";

/// The NFS root below `LAVA_ROOT`.
pub const DEFAULT_NFS_ROOT: &str = "var/lib/lava-dispatcher/nfs";

/// Every setting: (section, key, environment variable).
pub const KEYS: [(&str, &str, &str); 10] = [
    ("jobs", "file_url_dirs", "LAVA_FILE_URL_DIRS"),
    ("jobs", "allow_local_targets", "LAVA_ALLOW_LOCAL_TARGETS"),
    ("jobs", "git_timeout", "LAVA_GIT_TIMEOUT"),
    ("jobs", "max_image_mib", "LAVA_MAX_IMAGE_MIB"),
    ("tftp", "root", "LAVA_TFTP_ROOT"),
    ("nfs", "root", "LAVA_NFS_ROOT"),
    ("network", "dispatcher_ip", "LAVA_DISPATCHER_IP"),
    ("docker", "engine", "LAVA_DOCKER_ENGINE"),
    ("docker", "images", "LAVA_DOCKER_IMAGES"),
    ("docker", "engine_options", "LAVA_DOCKER_ENGINE_OPTIONS"),
];

/// The default container engine.
pub const DEFAULT_DOCKER_ENGINE: &str = "docker";

/// What a job may reach from the worker host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatcherSettings {
    /// The file that was read (or would have been, had it existed).
    pub file: PathBuf,
    /// `jobs.file_url_dirs`: directories whose files `file://` URLs may name.
    pub file_url_dirs: Vec<PathBuf>,
    /// `jobs.allow_local_targets`: whether jobs may reach loopback, link-local,
    /// unspecified and multicast addresses.
    pub allow_local_targets: bool,
    /// `jobs.git_timeout`: the limit of one git command.
    pub git_timeout: Duration,
    /// `jobs.max_image_mib`, in bytes: the most one image may take on the worker's disk,
    /// as downloaded and again once decompressed (a small xz file can unpack to terabytes).
    pub max_image_bytes: u64,
    /// `tftp.root`: the directory the TFTP server serves; jobs use `ROOT/JOB_ID/`.
    pub tftp_root: PathBuf,
    /// `nfs.root`: where NFS root file systems are unpacked and exported, per job.
    pub nfs_root: PathBuf,
    /// `network.dispatcher_ip`: the worker's address as boards reach it; `None` for the
    /// address of the default route's interface.
    pub dispatcher_ip: Option<std::net::IpAddr>,
    /// `docker.engine`: the container engine QEMU boots with a `docker` block run under.
    pub docker_engine: String,
    /// `docker.images`: the only images those boots may name (none by default), so a job
    /// cannot make the worker run an image of its choosing.
    pub docker_images: Vec<String>,
    /// `docker.engine_options`: the admin's options for the engine, given before each of its
    /// commands (`run`, `rm`).
    pub docker_engine_options: Vec<String>,
}

impl DispatcherSettings {
    /// The defaults, for a host whose paths are `host`.
    pub fn defaults(host: &HostPaths) -> DispatcherSettings {
        DispatcherSettings {
            file: host.dispatcher_etc.join(DISPATCHER_SETTINGS_FILE),
            file_url_dirs: vec![
                host.root.join(DEFAULT_IMAGE_DIR),
                host.root.join(DEFAULT_TESTDEF_DIR),
            ],
            allow_local_targets: false,
            git_timeout: Duration::from_secs(DEFAULT_GIT_TIMEOUT_SECS),
            max_image_bytes: DEFAULT_MAX_IMAGE_MIB << 20,
            tftp_root: host.root.join(DEFAULT_TFTP_ROOT),
            nfs_root: host.root.join(DEFAULT_NFS_ROOT),
            dispatcher_ip: None,
            docker_engine: DEFAULT_DOCKER_ENGINE.to_string(),
            docker_images: Vec::new(),
            docker_engine_options: Vec::new(),
        }
    }

    /// Loads the settings of the host whose paths are `host`, from its file and the
    /// process environment.
    pub fn load(host: &HostPaths) -> Result<DispatcherSettings, SettingsError> {
        DispatcherSettings::load_with(host, |name| std::env::var(name).ok())
    }

    /// Loads the settings, taking environment variables from `env` (for tests).
    pub fn load_with(
        host: &HostPaths,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<DispatcherSettings, SettingsError> {
        let mut out = DispatcherSettings::defaults(host);
        if let Some(f) = env("LAVA_DISPATCHER_SETTINGS").filter(|f| !f.is_empty()) {
            out.file = PathBuf::from(f);
        }
        let mut problems = Vec::new();
        let table = read_table(&out.file, &mut problems);
        let mut values = Values::default();
        for (section, value) in &table {
            let Some(inner) = value.as_table() else {
                problems.push(format!("{section}: expected a [{section}] table"));
                continue;
            };
            for (key, value) in inner {
                let name = format!("{section}.{key}");
                if !KEYS.iter().any(|(s, k, _)| s == section && k == key) {
                    problems.push(format!("{name}: unknown setting"));
                    continue;
                }
                values.file(&name, value, &mut problems);
            }
        }
        for (section, key, var) in KEYS {
            if let Some(v) = env(var) {
                values.env(&format!("{section}.{key}"), var, &v, &mut problems);
            }
        }
        if let Some(dirs) = values.url_dirs {
            out.file_url_dirs = dirs;
        }
        if let Some(b) = values.allow_local_targets {
            out.allow_local_targets = b;
        }
        if let Some(t) = values.git_timeout {
            out.git_timeout = t;
        }
        if let Some(mib) = values.max_image_mib {
            out.max_image_bytes = mib << 20;
        }
        if let Some(d) = values.tftp_root {
            out.tftp_root = d;
        }
        if let Some(d) = values.nfs_root {
            out.nfs_root = d;
        }
        if let Some(ip) = values.dispatcher_ip {
            out.dispatcher_ip = Some(ip);
        }
        if let Some(e) = values.docker_engine {
            out.docker_engine = e;
        }
        if let Some(i) = values.docker_images {
            out.docker_images = i;
        }
        if let Some(o) = values.docker_engine_options {
            out.docker_engine_options = o;
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(SettingsError {
                file: out.file,
                problems,
            })
        }
    }

    /// The directory of `file_url_dirs` that holds `path` once symbolic links and `..`
    /// are resolved (the path must exist); `None` when none does.
    pub fn file_url_dir_of(&self, path: &Path) -> Option<PathBuf> {
        let real = path.canonicalize().ok()?;
        self.file_url_dirs
            .iter()
            .filter_map(|d| d.canonicalize().ok())
            .find(|d| real.starts_with(d))
    }
}

/// The largest `jobs.max_image_mib` (1 PiB): the limit in bytes must fit a `u64`.
const MAX_IMAGE_MIB_CEILING: u64 = 1 << 30;

/// Values found so far, each checked for its type; `None` when not given.
#[derive(Default)]
struct Values {
    url_dirs: Option<Vec<PathBuf>>,
    allow_local_targets: Option<bool>,
    git_timeout: Option<Duration>,
    max_image_mib: Option<u64>,
    tftp_root: Option<PathBuf>,
    nfs_root: Option<PathBuf>,
    dispatcher_ip: Option<std::net::IpAddr>,
    docker_engine: Option<String>,
    docker_images: Option<Vec<String>>,
    docker_engine_options: Option<Vec<String>>,
}

impl Values {
    /// A value from the file, at `name` (`section.key`).
    fn file(&mut self, name: &str, value: &toml::Value, problems: &mut Vec<String>) {
        let wrong = |want: &str| format!("{name}: expected {want}, found {}", value.type_str());
        match name {
            "jobs.file_url_dirs" => match value.as_array() {
                Some(items) => {
                    let mut dirs = Vec::new();
                    for item in items {
                        match item.as_str() {
                            Some(s) => dirs.push(s.to_string()),
                            None => problems.push(wrong("an array of strings")),
                        }
                    }
                    self.url_dirs = Some(dirs_of(name, &dirs, problems));
                }
                None => problems.push(wrong("an array of strings")),
            },
            "jobs.allow_local_targets" => match value.as_bool() {
                Some(b) => self.allow_local_targets = Some(b),
                None => problems.push(wrong("true or false")),
            },
            "jobs.git_timeout" => match value.as_integer() {
                Some(n) if n > 0 => self.git_timeout = Some(Duration::from_secs(n as u64)),
                _ => problems.push(format!(
                    "{name}: expected a positive number of seconds, found {value}"
                )),
            },
            "jobs.max_image_mib" => match value.as_integer() {
                Some(n) if (1..=MAX_IMAGE_MIB_CEILING as i64).contains(&n) => {
                    self.max_image_mib = Some(n as u64)
                }
                _ => problems.push(format!(
                    "{name}: expected a number of MiB from 1 to {MAX_IMAGE_MIB_CEILING}, found {value}"
                )),
            },
            "tftp.root" | "nfs.root" | "network.dispatcher_ip" | "docker.engine" => {
                match value.as_str() {
                    Some(text) => self.text(name, name, text, problems),
                    None => problems.push(wrong("a string")),
                }
            }
            "docker.images" | "docker.engine_options" => match value.as_array() {
                Some(items) => {
                    let mut words = Vec::new();
                    for item in items {
                        match item.as_str() {
                            Some(s) => words.push(s.to_string()),
                            None => problems.push(wrong("an array of strings")),
                        }
                    }
                    self.docker_list(name, name, words, problems);
                }
                None => problems.push(wrong("an array of strings")),
            },
            _ => unreachable!("every key of KEYS is read"),
        }
    }

    /// A value from environment variable `var`, overriding `name`.
    fn env(&mut self, name: &str, var: &str, value: &str, problems: &mut Vec<String>) {
        match name {
            "jobs.file_url_dirs" => {
                let dirs: Vec<String> = value
                    .split(':')
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect();
                self.url_dirs = Some(dirs_of(var, &dirs, problems));
            }
            "jobs.allow_local_targets" => match value {
                "1" | "true" | "yes" => self.allow_local_targets = Some(true),
                "0" | "false" | "no" | "" => self.allow_local_targets = Some(false),
                other => problems.push(format!("{var}: '{other}' is not true or false")),
            },
            "jobs.git_timeout" => match value.parse::<u64>() {
                Ok(n) if n > 0 => self.git_timeout = Some(Duration::from_secs(n)),
                _ => problems.push(format!(
                    "{var}: '{value}' is not a positive number of seconds"
                )),
            },
            "jobs.max_image_mib" => match value.parse::<u64>() {
                Ok(n) if (1..=MAX_IMAGE_MIB_CEILING).contains(&n) => self.max_image_mib = Some(n),
                _ => problems.push(format!(
                    "{var}: '{value}' is not a number of MiB from 1 to {MAX_IMAGE_MIB_CEILING}"
                )),
            },
            "tftp.root" | "nfs.root" | "network.dispatcher_ip" | "docker.engine" => {
                self.text(name, var, value, problems)
            }
            // Image references hold no space nor comma; the engine's options are words.
            "docker.images" | "docker.engine_options" => {
                let words = value
                    .split(|c: char| c.is_whitespace() || (c == ',' && name == "docker.images"))
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect();
                self.docker_list(name, var, words, problems)
            }
            _ => unreachable!("every key of KEYS is read"),
        }
    }

    /// `docker.images` or `docker.engine_options`, from the file or a variable (`shown`).
    fn docker_list(
        &mut self,
        name: &str,
        shown: &str,
        words: Vec<String>,
        problems: &mut Vec<String>,
    ) {
        let before = problems.len();
        for w in &words {
            if name == "docker.images" {
                if let Err(e) = crate::job::check_image_reference(w) {
                    problems.push(format!("{shown}: {e}"));
                }
            } else if w.is_empty() || w.chars().any(char::is_control) {
                problems.push(format!(
                    "{shown}: '{}' is not an option word (empty, or a control character)",
                    w.escape_default()
                ));
            }
        }
        if problems.len() == before {
            if name == "docker.images" {
                self.docker_images = Some(words);
            } else {
                self.docker_engine_options = Some(words);
            }
        }
    }

    /// A directory, address or program setting, from the file or a variable (`shown` names
    /// it).
    fn text(&mut self, name: &str, shown: &str, value: &str, problems: &mut Vec<String>) {
        match name {
            "docker.engine" => {
                let ok = !value.is_empty()
                    && !value.starts_with('-')
                    && !value.chars().any(|c| c.is_whitespace() || c.is_control());
                if ok {
                    self.docker_engine = Some(value.to_string());
                } else {
                    problems.push(format!(
                        "{shown}: '{}' is not a program (docker, podman or an absolute path)",
                        value.escape_default()
                    ));
                }
            }
            "network.dispatcher_ip" => match value.parse() {
                Ok(ip) => self.dispatcher_ip = Some(ip),
                Err(_) => problems.push(format!("{shown}: '{value}' is not an IP address")),
            },
            _ => {
                let dirs = dirs_of(shown, &[value.to_string()], problems);
                let slot = if name == "tftp.root" {
                    &mut self.tftp_root
                } else {
                    &mut self.nfs_root
                };
                if let Some(d) = dirs.into_iter().next() {
                    *slot = Some(d);
                }
            }
        }
    }
}

/// Checks directories: absolute, and not `/` (which would allow every file, or, for a TFTP
/// or NFS root, serve it).
fn dirs_of(name: &str, dirs: &[String], problems: &mut Vec<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        let p = Path::new(d);
        if !p.is_absolute() {
            problems.push(format!("{name}: '{d}' must be an absolute path"));
        } else if p.parent().is_none() {
            problems.push(format!(
                "{name}: '{d}' would allow every file of the host; name the image directories"
            ));
        } else {
            out.push(p.to_path_buf());
        }
    }
    out
}

fn read_table(file: &Path, problems: &mut Vec<String>) -> toml::Table {
    match std::fs::read_to_string(file) {
        Ok(text) => toml::from_str::<toml::Table>(&text).unwrap_or_else(|e| {
            problems.push(format!("not valid TOML: {}", e.to_string().trim_end()));
            toml::Table::new()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(e) => {
            problems.push(format!("cannot read the file: {e}"));
            toml::Table::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn host(root: &Path) -> HostPaths {
        let r = root.display().to_string();
        HostPaths::load_with(|k| (k == "LAVA_ROOT").then(|| r.clone())).unwrap()
    }

    fn load(root: &Path, vars: &[(&str, &str)]) -> Result<DispatcherSettings, SettingsError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DispatcherSettings::load_with(&host(root), |k| env.get(k).cloned())
    }

    fn write(root: &Path, text: &str) {
        let etc = root.join("etc/lava-dispatcher");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join(DISPATCHER_SETTINGS_FILE), text).unwrap();
    }

    #[test]
    fn defaults_are_safe_and_below_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let s = load(dir.path(), &[]).unwrap();
        assert_eq!(
            s.file_url_dirs,
            [
                dir.path().join("var/lib/lava-server/images"),
                dir.path()
                    .join("usr/share/lava-dispatcher/test-definitions")
            ]
        );
        assert!(!s.allow_local_targets);
        assert_eq!(s.git_timeout, Duration::from_secs(600));
        assert_eq!(s.max_image_bytes, 16 << 30);
        assert_eq!(s.tftp_root, dir.path().join("srv/tftp"));
        assert_eq!(s.nfs_root, dir.path().join("var/lib/lava-dispatcher/nfs"));
        assert_eq!(s.dispatcher_ip, None);
        assert_eq!(
            s.file,
            dir.path().join("etc/lava-dispatcher/dispatcher.toml")
        );
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "[jobs]\nfile_url_dirs = [\"/srv/images\", \"/srv/tests\"]\nallow_local_targets = true\ngit_timeout = 30\nmax_image_mib = 512\n",
        );
        let s = load(dir.path(), &[]).unwrap();
        assert_eq!(s.max_image_bytes, 512 << 20);
        assert_eq!(
            s.file_url_dirs,
            [PathBuf::from("/srv/images"), PathBuf::from("/srv/tests")]
        );
        assert!(s.allow_local_targets);
        assert_eq!(s.git_timeout, Duration::from_secs(30));
        let s = load(
            dir.path(),
            &[
                ("LAVA_FILE_URL_DIRS", "/a:/b"),
                ("LAVA_ALLOW_LOCAL_TARGETS", "0"),
                ("LAVA_GIT_TIMEOUT", "5"),
                ("LAVA_MAX_IMAGE_MIB", "3"),
                ("LAVA_TFTP_ROOT", "/var/tftp"),
                ("LAVA_DISPATCHER_IP", "192.0.2.7"),
            ],
        )
        .unwrap();
        assert_eq!(s.tftp_root, PathBuf::from("/var/tftp"));
        assert_eq!(s.dispatcher_ip, Some("192.0.2.7".parse().unwrap()));
        assert_eq!(s.file_url_dirs, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert!(!s.allow_local_targets);
        assert_eq!(s.git_timeout, Duration::from_secs(5));
        assert_eq!(s.max_image_bytes, 3 << 20);
    }

    #[test]
    fn every_problem_is_reported_at_once_naming_its_key() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "[jobs]\nfile_url_dirs = [\"relative\", \"/\"]\nfile_url_dir = 1\nallow_local_targets = \"yes\"\ngit_timeout = 0\nmax_image_mib = -1\n[tftp]\nroot = \"tftp\"\nport = 69\n[network]\ndispatcher_ip = \"board\"\n",
        );
        let e = load(
            dir.path(),
            &[
                ("LAVA_ALLOW_LOCAL_TARGETS", "maybe"),
                ("LAVA_MAX_IMAGE_MIB", "0"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            e.problems,
            [
                "jobs.file_url_dirs: 'relative' must be an absolute path",
                "jobs.file_url_dirs: '/' would allow every file of the host; name the image directories",
                "jobs.file_url_dir: unknown setting",
                "jobs.allow_local_targets: expected true or false, found string",
                "jobs.git_timeout: expected a positive number of seconds, found 0",
                "jobs.max_image_mib: expected a number of MiB from 1 to 1073741824, found -1",
                "tftp.root: 'tftp' must be an absolute path",
                "tftp.port: unknown setting",
                "network.dispatcher_ip: 'board' is not an IP address",
                "LAVA_ALLOW_LOCAL_TARGETS: 'maybe' is not true or false",
                "LAVA_MAX_IMAGE_MIB: '0' is not a number of MiB from 1 to 1073741824",
            ]
        );
        assert!(e.to_string().contains("dispatcher.toml"), "{e}");
    }

    #[test]
    fn docker_runs_no_image_unless_the_admin_lists_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = load(dir.path(), &[]).unwrap();
        assert_eq!(s.docker_engine, "docker");
        assert!(s.docker_images.is_empty());
        assert!(s.docker_engine_options.is_empty());
        write(
            dir.path(),
            "[docker]\nengine = \"/usr/bin/podman\"\nimages = [\"kernelci/qemu\", \"localhost/q:1\"]\nengine_options = [\"--root\", \"/srv/podman\"]\n",
        );
        let s = load(dir.path(), &[]).unwrap();
        assert_eq!(s.docker_engine, "/usr/bin/podman");
        assert_eq!(s.docker_images, ["kernelci/qemu", "localhost/q:1"]);
        assert_eq!(s.docker_engine_options, ["--root", "/srv/podman"]);
        let s = load(
            dir.path(),
            &[
                ("LAVA_DOCKER_ENGINE", "podman"),
                ("LAVA_DOCKER_IMAGES", "a/b:1, c"),
                ("LAVA_DOCKER_ENGINE_OPTIONS", "--root /r --runroot /rr"),
            ],
        )
        .unwrap();
        assert_eq!(s.docker_engine, "podman");
        assert_eq!(s.docker_images, ["a/b:1", "c"]);
        assert_eq!(
            s.docker_engine_options,
            ["--root", "/r", "--runroot", "/rr"]
        );
        write(
            dir.path(),
            "[docker]\nengine = \"--privileged\"\nimages = [\"-v/:/h\", 3]\nengine_options = [\"\"]\n",
        );
        let e = load(dir.path(), &[("LAVA_DOCKER_IMAGES", "Bad")]).unwrap_err();
        assert_eq!(
            e.problems,
            [
                "docker.engine: '--privileged' is not a program (docker, podman or an absolute path)",
                "docker.images: expected an array of strings, found array",
                "docker.images: '-v/:/h' is not a valid image reference: '-v' is not a path component (lowercase letters and digits, separated by single '.', '_', '__' or '-')",
                "docker.engine_options: '' is not an option word (empty, or a control character)",
                "LAVA_DOCKER_IMAGES: 'Bad' is not a valid image reference: 'Bad' is not a path component (lowercase letters and digits, separated by single '.', '_', '__' or '-')",
            ]
        );
    }

    #[test]
    fn a_path_is_inside_a_directory_only_once_links_are_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        std::fs::create_dir_all(&images).unwrap();
        std::fs::write(images.join("k"), "k").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), images.join("link")).unwrap();
        let mut s = load(dir.path(), &[]).unwrap();
        s.file_url_dirs = vec![images.clone()];
        assert!(s.file_url_dir_of(&images.join("k")).is_some());
        assert!(s.file_url_dir_of(&images.join("link")).is_none());
        assert!(s.file_url_dir_of(&images.join("../secret")).is_none());
        assert!(s.file_url_dir_of(&images.join("missing")).is_none());
    }
}
