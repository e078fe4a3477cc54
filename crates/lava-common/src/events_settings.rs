//! `[events]`: the event publisher of `lava-server web` (LAVA's `EVENT_NOTIFICATION`,
//! `EVENT_SOCKET` and `EVENT_TOPIC`).
//!
//! ```toml
//! [events]
//! enabled = true                       # publish job, device and worker changes
//! publisher = "tcp://*:5500"           # where the ZeroMQ PUB socket binds
//! publisher_url = "tcp://*:5500"       # what scheduler.get_publisher_event_socket answers
//! topic = "org.linaro.validation"      # the prefix of every topic
//! ```

use crate::settings_value;

/// LAVA's default publisher address.
pub const DEFAULT_PUBLISHER: &str = "tcp://*:5500";

/// LAVA's default topic prefix.
pub const DEFAULT_TOPIC: &str = "org.linaro.validation";

/// The event publisher's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSettings {
    /// Whether events are published at all (ZeroMQ and `/ws/`).
    pub enabled: bool,
    /// `tcp://HOST:PORT` the PUB socket binds (`*`: every address).
    pub publisher: String,
    /// The address clients are told; `None`: the same as `publisher`.
    pub publisher_url: Option<String>,
    /// The topic prefix (`org.linaro.validation` gives `org.linaro.validation.testjob`).
    pub topic: String,
}

impl Default for EventSettings {
    fn default() -> EventSettings {
        EventSettings {
            enabled: true,
            publisher: DEFAULT_PUBLISHER.to_string(),
            publisher_url: None,
            topic: DEFAULT_TOPIC.to_string(),
        }
    }
}

impl EventSettings {
    /// What `scheduler.get_publisher_event_socket` answers.
    pub fn announced(&self) -> &str {
        self.publisher_url.as_deref().unwrap_or(&self.publisher)
    }

    /// Reads the `[events]` table, adding a problem per bad key.
    pub fn from_table(table: &toml::Table, problems: &mut Vec<String>) -> EventSettings {
        let mut out = EventSettings::default();
        for (key, value) in table {
            let name = format!("events.{key}");
            match key.as_str() {
                "enabled" => {
                    if let Some(b) = settings_value::flag(&name, value, problems) {
                        out.enabled = b;
                    }
                }
                "publisher" | "publisher_url" | "topic" => {
                    let Some(s) = settings_value::string(&name, value, problems) else {
                        continue;
                    };
                    match key.as_str() {
                        "publisher" => {
                            check_address(&name, s, problems);
                            out.publisher = s.to_string();
                        }
                        "publisher_url" => {
                            check_address(&name, s, problems);
                            out.publisher_url = Some(s.to_string());
                        }
                        _ => {
                            if s.is_empty() || s.contains(char::is_whitespace) {
                                problems.push(format!(
                                    "{name}: '{s}' must be a word such as {DEFAULT_TOPIC}"
                                ));
                            }
                            out.topic = s.to_string();
                        }
                    }
                }
                _ => problems.push(format!("{name}: unknown setting")),
            }
        }
        out
    }
}

/// Checks a `tcp://HOST:PORT` address, adding a problem naming `name` when it is not one.
pub fn check_address(name: &str, value: &str, problems: &mut Vec<String>) {
    let ok = value
        .strip_prefix("tcp://")
        .and_then(|rest| rest.rsplit_once(':'))
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !ok {
        problems.push(format!(
            "{name}: '{value}' is not an address such as {DEFAULT_PUBLISHER} (tcp://HOST:PORT)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_and_names_bad_ones() {
        let mut problems = vec![];
        let t: toml::Table = toml::from_str(
            "enabled = false\npublisher = \"tcp://127.0.0.1:5555\"\ntopic = \"lab\"\n",
        )
        .unwrap();
        let s = EventSettings::from_table(&t, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            (s.enabled, s.announced(), s.topic.as_str()),
            (false, "tcp://127.0.0.1:5555", "lab")
        );
        let t: toml::Table = toml::from_str("publisher = \"udp://x\"\nother = 1\n").unwrap();
        EventSettings::from_table(&t, &mut problems);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("events.other") || problems[1].starts_with("events.other"));
    }
}
