//! Reading one value of a settings table: a value of the wrong type adds a problem naming
//! the key and what was found, and gives nothing, so that every key is checked in one pass.

/// `value` as a string; otherwise a problem for `name` (`section.key`).
pub(crate) fn string<'a>(
    name: &str,
    value: &'a toml::Value,
    problems: &mut Vec<String>,
) -> Option<&'a str> {
    let s = value.as_str();
    if s.is_none() {
        problems.push(format!(
            "{name}: expected a string, found {}",
            value.type_str()
        ));
    }
    s
}

/// `value` as true or false; otherwise a problem for `name` (`section.key`).
pub(crate) fn flag(name: &str, value: &toml::Value, problems: &mut Vec<String>) -> Option<bool> {
    let b = value.as_bool();
    if b.is_none() {
        problems.push(format!(
            "{name}: expected true or false, found {}",
            value.type_str()
        ));
    }
    b
}

#[cfg(test)]
mod tests {
    use crate::email_settings::EmailSettings;
    use crate::events_settings::EventSettings;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn email_and_events_name_a_value_of_the_wrong_type() {
        let mut problems = Vec::new();
        let email =
            EmailSettings::from_table(&table("smtp = 25\nfrom = 'a@b.example'"), &mut problems);
        let events = EventSettings::from_table(&table("enabled = 'yes'\ntopic = 1"), &mut problems);
        assert_eq!(
            problems,
            [
                "email.smtp: expected a string, found integer",
                "events.enabled: expected true or false, found string",
                "events.topic: expected a string, found integer",
            ]
        );
        // The good keys beside them are read.
        assert_eq!(email.from.as_deref(), Some("a@b.example"));
        assert_eq!(email.smtp, None);
        // A bad value leaves the default.
        assert_eq!(events.enabled, EventSettings::default().enabled);
    }
}
