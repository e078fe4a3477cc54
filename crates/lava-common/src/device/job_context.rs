//! What a job's `context` may change in a device rendered from a LAVA device dictionary.
//!
//! LAVA renders a dictionary with the job's context as template variables, so a variable the
//! dictionary leaves unset (or a value that breaks out of the YAML line it is printed on) can
//! reach anything in the device YAML. A job comes from any submitter; the worker's commands
//! must not. So [`check_values`] refuses a context string with a control character (a line
//! break would write new keys) before the render, and after it [`check`]:
//! - refuses a render whose connection, power commands or worker network (`dispatcher_ip`,
//!   `tftp_root`) differ from the render without the job's context, naming the key;
//! - refuses a QEMU program the context changed into anything but a plain `qemu-system-NAME`;
//! - sends each QEMU option that a context string with more than a plain word in it reached
//!   through the same allow-list as a job's own QEMU options.
//!
//! Plain words (`arm64`, `virtio`, `ttyS0`) and numbers are what LAVA's templates take from a
//! context; they choose between a template's own options and cannot add one.

use serde_json::{Map, Value};

use super::Device;
use super::error::DeviceError;

/// Refuses a context string with a control character, before any render: a line break
/// would write new keys into the device YAML.
pub(super) fn check_values(context: &Map<String, Value>) -> Result<(), DeviceError> {
    let mut strings = Vec::new();
    for (key, v) in context {
        leaves(key, v, &mut strings);
    }
    match strings
        .iter()
        .find(|(_, s)| s.chars().any(char::is_control))
    {
        Some((key, _)) => Err(DeviceError::BadContext {
            key: key.clone(),
            why: "contains a control character (a newline, a tab, …): a device dictionary \
                  prints context values into its YAML"
                .into(),
        }),
        None => Ok(()),
    }
}

/// Checks `device`, rendered from `dictionary` with `context`, against `without`, the same
/// dictionary rendered without it.
pub(super) fn check(
    dictionary: &std::path::Path,
    context: &Map<String, Value>,
    device: &Device,
    without: &Device,
) -> Result<(), DeviceError> {
    let refuse = |path: &str, why: String| DeviceError::Yaml {
        dictionary: dictionary.to_path_buf(),
        path: path.to_string(),
        why,
    };
    let mut strings = Vec::new();
    for (key, v) in context {
        leaves(key, v, &mut strings);
    }
    let unchanged = "the job's context changes it: a job may not set the device's commands \
                     or the worker's network";
    if device.connection.as_ref().map(|c| &c.command)
        != without.connection.as_ref().map(|c| &c.command)
    {
        return Err(refuse("commands.connect", unchanged.into()));
    }
    for (path, a, b) in [
        (
            "commands.hard_reset",
            &device.power.hard_reset,
            &without.power.hard_reset,
        ),
        (
            "commands.power_on",
            &device.power.power_on,
            &without.power.power_on,
        ),
        (
            "commands.power_off",
            &device.power.power_off,
            &without.power.power_off,
        ),
    ] {
        if a != b {
            return Err(refuse(path, unchanged.into()));
        }
    }
    if device.network.server_ip != without.network.server_ip {
        return Err(refuse("dispatcher_ip", unchanged.into()));
    }
    if device.network.tftp_root != without.network.tftp_root {
        return Err(refuse("tftp_root", unchanged.into()));
    }
    let Some(q) = &device.qemu else {
        return Ok(());
    };
    let method = "actions.boot.methods.qemu.parameters";
    let own = without.qemu.as_ref().map(|w| w.binary.as_str());
    let program = q.binary.strip_prefix("qemu-system-").unwrap_or("");
    let plain = !program.is_empty()
        && program
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if own != Some(q.binary.as_str()) && !plain {
        return Err(refuse(
            &format!("{method}.command"),
            format!("{:?}: expected a plain qemu-system-NAME", q.binary),
        ));
    }
    let reached: Vec<&str> = strings
        .iter()
        .map(|(_, s)| s.as_str())
        .filter(|s| !plain_word(s))
        .collect();
    for option in options_reached(&q.options, &reached) {
        crate::job::check_boot_option(&option).map_err(|e| {
            refuse(
                &format!("{method}.options"),
                format!("set from the job's context, so checked as a job's option: {e}"),
            )
        })?;
    }
    Ok(())
}

/// Every string in a context value, with the top-level key it is under.
fn leaves(key: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((key.to_string(), s.clone())),
        Value::Array(items) => items.iter().for_each(|i| leaves(key, i, out)),
        Value::Object(map) => map.values().for_each(|i| leaves(key, i, out)),
        _ => {}
    }
}

/// A value that can only choose, never add: letters, digits and `_ . : + -`, not starting
/// with `-`.
fn plain_word(s: &str) -> bool {
    !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:+-".contains(&b))
}

/// The options (an option word and its value words) of `options` that overlap a place where
/// one of `values` occurs.
fn options_reached(options: &str, values: &[&str]) -> Vec<String> {
    // Each option: its byte range in `options` and its text.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut offset = 0;
    for word in options.split_whitespace() {
        let start = offset + options[offset..].find(word).unwrap_or(0);
        let end = start + word.len();
        offset = end;
        match groups.last_mut() {
            Some(g) if !word.starts_with('-') => g.1 = end,
            _ => groups.push((start, end)),
        }
    }
    let mut hit = vec![false; groups.len()];
    for v in values.iter().filter(|v| !v.is_empty()) {
        for (at, _) in options.match_indices(v) {
            let end = at + v.len();
            for (i, (s, e)) in groups.iter().enumerate() {
                if *s < end && at < *e {
                    hit[i] = true;
                }
            }
        }
    }
    groups
        .iter()
        .zip(hit)
        .filter(|(_, h)| *h)
        .map(|((s, e), _)| options[*s..*e].to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::DeviceSource;
    use super::*;
    use serde_json::json;

    /// A device type whose commands a careless template lets the context reach.
    const TYPE: &str = "\
commands:
  connect: {{ connection_command }}
  hard_reset: {{ hard_reset_command|default('pdu reboot') }}
actions:
  boot:
    methods:
      qemu:
        parameters:
          command: qemu-system-{{ arch|default('x86_64') }}
          options:
          - -m {{ memory|default(512) }}
          - -nographic
";

    fn render(context: serde_json::Value) -> Result<Device, DeviceError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("careless.jinja2"), TYPE).unwrap();
        let dictionary = dir.path().join("dev01.jinja2");
        std::fs::write(
            &dictionary,
            "{% extends 'careless.jinja2' %}\n{% set connection_command = 'telnet localhost 7000' %}\n",
        )
        .unwrap();
        DeviceSource::dictionary(&dictionary, &[])
            .unwrap()
            .device(context.as_object().unwrap())
    }

    #[test]
    fn a_job_chooses_but_never_writes_the_workers_commands() {
        let d = render(json!({"arch": "aarch64", "memory": 2048})).unwrap();
        let q = d.qemu.unwrap();
        assert_eq!(q.binary, "qemu-system-aarch64");
        assert_eq!(q.options, "-m 2048 -nographic");
        // Options a job may give anyway pass.
        assert!(render(json!({"memory": "1024 -smp 2"})).is_ok());
        let refused = |context: serde_json::Value, what: &str| {
            let e = render(context.clone()).unwrap_err().to_string();
            assert!(e.contains(what), "{context}: {e}");
        };
        refused(
            json!({"hard_reset_command": "rm -rf /srv"}),
            "commands.hard_reset: the job's context changes it",
        );
        refused(
            json!({"memory": "512 -drive file=/etc/shadow"}),
            "actions.boot.methods.qemu.parameters.options: set from the job's context",
        );
        refused(
            json!({"arch": "x86_64 -x"}),
            "expected a plain qemu-system-NAME",
        );
        refused(
            json!({"memory": "512\ncommands: {connect: sh}"}),
            "context.memory: contains a control character",
        );
    }

    #[test]
    fn options_a_value_reaches_are_found() {
        let options = "-cpu host -m 1024 -drive file=/etc/shadow -nographic";
        assert_eq!(
            options_reached(options, &["1024 -drive file=/etc/shadow"]),
            ["-m 1024", "-drive file=/etc/shadow"]
        );
        assert!(options_reached(options, &["cortex"]).is_empty());
        assert!(plain_word("arm64") && plain_word("ttyS0") && plain_word("1.5"));
        assert!(!plain_word("-enable-kvm") && !plain_word("a b") && !plain_word("x,y=z"));
    }
}
