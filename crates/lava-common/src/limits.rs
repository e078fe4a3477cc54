//! The bounds a shared server keeps, as the `[limits]` table and the `[database]` pool keys of
//! the settings file read them (see [`crate::settings`]).
//!
//! Every input from the network has a size: a request body per route, a job definition, a
//! log line. Every wait has a deadline: a database connection. The defaults suit a lab on one
//! small server; each can be raised where a lab needs it.

use std::time::Duration;

/// `[limits]`: sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `job_bytes`: the largest request body of a job submission (REST create and validate,
    /// XML-RPC, the web form, a device type's health check form), so the largest job.
    pub job_bytes: usize,
    /// `log_batch_bytes`: the largest body of a worker's log batch.
    pub log_batch_bytes: usize,
    /// `log_line_bytes`: the longest log line kept whole; a longer one is cut and marked.
    pub log_line_bytes: usize,
    /// `request_bytes`: the largest body of any other request.
    pub request_bytes: usize,
    /// `callback_log_bytes`: the most of a job's log a notify callback sends.
    pub callback_log_bytes: usize,
}

/// One MiB.
const MIB: usize = 1 << 20;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            job_bytes: MIB,
            log_batch_bytes: 16 * MIB,
            // LAVA replaces lines of a million characters and more.
            log_line_bytes: MIB,
            request_bytes: 64 * 1024,
            callback_log_bytes: 16 * MIB,
        }
    }
}

/// The body limit of the worker API's messages other than log batches (a poll lists every
/// device of the worker).
pub const WORKER_MESSAGE_BYTES: usize = MIB;

/// The smallest `log_batch_bytes`: a worker's batch holds up to
/// [`crate::worker_api::LOG_BATCH_LINES_BYTES`] of log text, which JSON escaping can double;
/// a smaller limit would refuse a batch the worker can only send again, for ever.
pub const MIN_LOG_BATCH_BYTES: usize = 2 * crate::worker_api::LOG_BATCH_LINES_BYTES + 64 * 1024;

/// The smallest `log_line_bytes`: a cut line must still hold its time, level and marker.
pub const MIN_LOG_LINE_BYTES: usize = 4096;

impl Limits {
    /// Reads the `[limits]` table; unknown keys and bad values are added to `problems`.
    pub fn from_table(table: &toml::Table, problems: &mut Vec<String>) -> Limits {
        let mut out = Limits::default();
        for (key, value) in table {
            let name = format!("limits.{key}");
            let slot = match key.as_str() {
                "job_bytes" => &mut out.job_bytes,
                "log_batch_bytes" => &mut out.log_batch_bytes,
                "log_line_bytes" => &mut out.log_line_bytes,
                "request_bytes" => &mut out.request_bytes,
                "callback_log_bytes" => &mut out.callback_log_bytes,
                _ => {
                    problems.push(format!("{name}: unknown setting"));
                    continue;
                }
            };
            match value.as_integer() {
                Some(n) if n > 0 => *slot = n as usize,
                _ => problems.push(format!(
                    "{name}: expected a positive number of bytes, found {value}"
                )),
            }
        }
        let max_job = crate::job::MAX_JOB_BYTES;
        if out.job_bytes > max_job {
            problems.push(format!(
                "limits.job_bytes: {} is more than the {max_job} bytes the job parser reads",
                out.job_bytes
            ));
        }
        if out.log_batch_bytes < MIN_LOG_BATCH_BYTES {
            problems.push(format!(
                "limits.log_batch_bytes: {} is less than {MIN_LOG_BATCH_BYTES}, the largest batch a worker sends",
                out.log_batch_bytes
            ));
        }
        if out.log_line_bytes < MIN_LOG_LINE_BYTES {
            problems.push(format!(
                "limits.log_line_bytes: {} is less than {MIN_LOG_LINE_BYTES}",
                out.log_line_bytes
            ));
        }
        if out.log_line_bytes > out.log_batch_bytes / 2 {
            problems.push(format!(
                "limits.log_line_bytes: {} must be at most half of limits.log_batch_bytes ({}), so a batch holds a line of either kind",
                out.log_line_bytes, out.log_batch_bytes
            ));
        }
        out
    }
}

/// The `[database]` pool keys: how many connections the web app keeps and how long a request
/// waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// `pool_size`: connections at most.
    pub size: usize,
    /// `pool_wait_timeout` (seconds): how long a request waits for a free connection.
    pub wait: Duration,
    /// `pool_create_timeout` (seconds): how long opening a connection may take.
    pub create: Duration,
}

impl Default for PoolSettings {
    fn default() -> PoolSettings {
        PoolSettings {
            size: 16,
            wait: Duration::from_secs(5),
            create: Duration::from_secs(5),
        }
    }
}

impl PoolSettings {
    /// Reads `key` of `[database]` if it is a pool key; `false` when it is not one.
    pub fn read(&mut self, key: &str, value: &toml::Value, problems: &mut Vec<String>) -> bool {
        let name = format!("database.{key}");
        match key {
            "pool_size" => match value.as_integer() {
                Some(n) if (1..=10_000).contains(&n) => self.size = n as usize,
                _ => problems.push(format!(
                    "{name}: expected a number of connections from 1 to 10000, found {value}"
                )),
            },
            "pool_wait_timeout" | "pool_create_timeout" => {
                let secs = value
                    .as_float()
                    .or_else(|| value.as_integer().map(|i| i as f64));
                match secs {
                    Some(s) if s > 0.0 && s <= 3600.0 => {
                        let d = Duration::from_secs_f64(s);
                        if key == "pool_wait_timeout" {
                            self.wait = d;
                        } else {
                            self.create = d;
                        }
                    }
                    _ => problems.push(format!(
                        "{name}: expected seconds (more than 0, at most 3600), found {value}"
                    )),
                }
            }
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(text: &str) -> (Limits, Vec<String>) {
        let table: toml::Table = toml::from_str(text).unwrap();
        let mut problems = Vec::new();
        (Limits::from_table(&table, &mut problems), problems)
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(limits("").0, Limits::default());
        let (l, p) = limits("job_bytes = 2097152\nlog_line_bytes = 65536\n");
        assert!(p.is_empty(), "{p:?}");
        assert_eq!((l.job_bytes, l.log_line_bytes), (2 << 20, 65536));
    }

    #[test]
    fn every_problem_is_listed() {
        let table: toml::Table = toml::from_str(
            "job_bytes = \"big\"\nrequest_bytes = -1\ncolour = 1\nlog_line_bytes = 10\n",
        )
        .unwrap();
        let mut p = Vec::new();
        Limits::from_table(&table, &mut p);
        assert_eq!(
            p,
            [
                "limits.job_bytes: expected a positive number of bytes, found \"big\"",
                "limits.request_bytes: expected a positive number of bytes, found -1",
                "limits.colour: unknown setting",
                "limits.log_line_bytes: 10 is less than 4096",
            ]
        );
        let (_, p) = limits("job_bytes = 1073741824\n");
        assert!(p[0].contains("job parser"), "{p:?}");
        let (_, p) = limits("log_batch_bytes = 1048576\nlog_line_bytes = 4096\n");
        assert_eq!(
            p,
            [
                "limits.log_batch_bytes: 1048576 is less than 2162688, the largest batch a worker sends"
            ]
        );
    }

    #[test]
    fn pool_keys() {
        let mut pool = PoolSettings::default();
        let mut p = Vec::new();
        assert!(pool.read("pool_size", &toml::Value::Integer(4), &mut p));
        assert!(pool.read("pool_wait_timeout", &toml::Value::Float(0.5), &mut p));
        assert!(pool.read("pool_create_timeout", &toml::Value::Integer(2), &mut p));
        assert!(!pool.read("url", &toml::Value::Integer(2), &mut p));
        assert!(pool.read("pool_size", &toml::Value::Integer(0), &mut p));
        assert_eq!(pool.size, 4);
        assert_eq!(pool.wait, Duration::from_millis(500));
        assert_eq!(pool.create, Duration::from_secs(2));
        assert_eq!(
            p,
            ["database.pool_size: expected a number of connections from 1 to 10000, found 0"]
        );
    }
}
