//! Back-offs: how long notify callbacks keep trying, and how a device whose health checks
//! keep failing on the lab's side is retried and then given up on. The keys of the settings
//! file that set them (see [`crate::settings`]):
//!
//! ```toml
//! [callbacks]
//! retry_window = 86400     # seconds a failing callback is retried (exponential, jittered)
//!
//! [health_checks]
//! retry_delay = 60         # seconds before the next check after an infrastructure failure
//! retry_delay_max = 3600   # the delay doubles with each failure in a row, up to this
//! failures_to_bad = 3      # failed health checks in a row that make a device bad
//! ```

use std::time::Duration;

/// The back-off settings, each with a default that suits a lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// `[callbacks] retry_window`: a callback that keeps failing is retried, with doubling
    /// jittered delays, until this long after its job's change queued it; then it fails.
    pub callback_retry_window: Duration,
    /// `[health_checks] retry_delay`: after a health check that ended incomplete on an
    /// infrastructure error, the next one waits this long; it doubles with each failure in a
    /// row.
    pub health_check_retry_delay: Duration,
    /// `[health_checks] retry_delay_max`: the longest wait between health checks.
    pub health_check_retry_delay_max: Duration,
    /// `[health_checks] failures_to_bad`: this many failed health checks in a row make the
    /// device bad.
    pub health_check_failures_to_bad: u32,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            callback_retry_window: Duration::from_secs(24 * 3600),
            health_check_retry_delay: Duration::from_secs(60),
            health_check_retry_delay_max: Duration::from_secs(3600),
            health_check_failures_to_bad: 3,
        }
    }
}

/// The largest number of seconds a back-off key takes (a year).
const MAX_SECONDS: i64 = 366 * 24 * 3600;

impl Backoff {
    /// Takes `[section] key = value` if it is a back-off setting: `true` when it was (whether
    /// or not the value was good; a bad value is added to `problems`).
    pub fn take(
        &mut self,
        section: &str,
        key: &str,
        value: &toml::Value,
        problems: &mut Vec<String>,
    ) -> bool {
        let name = format!("{section}.{key}");
        let (min, max) = match (section, key) {
            ("callbacks", "retry_window")
            | ("health_checks", "retry_delay")
            | ("health_checks", "retry_delay_max") => (0, MAX_SECONDS),
            ("health_checks", "failures_to_bad") => (1, 1000),
            _ => return false,
        };
        let n = match value.as_integer() {
            Some(n) if (min..=max).contains(&n) => n,
            _ => {
                problems.push(format!(
                    "{name}: expected a whole number from {min} to {max}, found {value}"
                ));
                return true;
            }
        };
        let secs = Duration::from_secs(n as u64);
        match key {
            "retry_window" => self.callback_retry_window = secs,
            "retry_delay" => self.health_check_retry_delay = secs,
            "retry_delay_max" => self.health_check_retry_delay_max = secs,
            _ => self.health_check_failures_to_bad = n as u32,
        }
        true
    }

    /// Checks what no single key can: the delay's cap is not below the first delay.
    pub fn check(&self, problems: &mut Vec<String>) {
        if self.health_check_retry_delay_max < self.health_check_retry_delay {
            problems.push(format!(
                "health_checks.retry_delay_max: {} is less than health_checks.retry_delay ({})",
                self.health_check_retry_delay_max.as_secs(),
                self.health_check_retry_delay.as_secs()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Backoff, Vec<String>) {
        let table: toml::Table = toml::from_str(text).unwrap();
        let mut out = Backoff::default();
        let mut problems = Vec::new();
        for (section, inner) in &table {
            for (key, value) in inner.as_table().unwrap() {
                assert!(out.take(section, key, value, &mut problems), "{key}");
            }
        }
        out.check(&mut problems);
        (out, problems)
    }

    #[test]
    fn keys_are_read_and_checked() {
        let (b, problems) = read(
            "[callbacks]\nretry_window = 3600\n\
             [health_checks]\nretry_delay = 5\nretry_delay_max = 50\nfailures_to_bad = 2\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(b.callback_retry_window, Duration::from_secs(3600));
        assert_eq!(b.health_check_retry_delay, Duration::from_secs(5));
        assert_eq!(b.health_check_retry_delay_max, Duration::from_secs(50));
        assert_eq!(b.health_check_failures_to_bad, 2);

        let (_, problems) = read("[health_checks]\nfailures_to_bad = 0\nretry_delay = \"1m\"\n");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "health_checks.failures_to_bad: expected a whole number from 1 to 1000, found 0"
            ),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("health_checks.retry_delay"),
            "{problems:?}"
        );

        let (_, problems) = read("[health_checks]\nretry_delay = 100\nretry_delay_max = 10\n");
        assert_eq!(
            problems,
            ["health_checks.retry_delay_max: 10 is less than health_checks.retry_delay (100)"]
        );
    }
}
