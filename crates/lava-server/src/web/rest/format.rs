//! LAVA's time formats, which differ per surface (reference §0). Each drops the fraction when
//! it is zero, as Python's `isoformat()` does.

use chrono::{DateTime, Timelike, Utc};

fn iso(t: &DateTime<Utc>, sep: char, zone: &str) -> String {
    let micros = t.nanosecond() / 1000 % 1_000_000;
    let base = t.format(&format!("%Y-%m-%d{sep}%H:%M:%S")).to_string();
    if micros == 0 {
        format!("{base}{zone}")
    } else {
        format!("{base}.{micros:06}{zone}")
    }
}

/// REST JSON: `2026-11-24T19:05:06.773843Z`.
pub fn rest(t: &DateTime<Utc>) -> String {
    iso(t, 'T', "Z")
}

/// REST JSON for an optional time (null when unset).
pub fn rest_opt(t: &Option<DateTime<Utc>>) -> Option<String> {
    t.as_ref().map(rest)
}

/// Python's `str(datetime)` (XML-RPC verbose job lists): `2026-11-24 19:14:37.229916+00:00`.
pub fn python(t: &DateTime<Utc>) -> String {
    iso(t, ' ', "+00:00")
}

/// JUnit timestamps: `2026-11-24T19:06:23.822689+00:00`.
pub fn junit(t: &DateTime<Utc>) -> String {
    iso(t, 'T', "+00:00")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn each_surface_has_its_format_and_drops_a_zero_fraction() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 19, 5, 6).unwrap()
            + chrono::Duration::microseconds(773_843);
        assert_eq!(rest(&t), "2026-11-24T19:05:06.773843Z");
        assert_eq!(python(&t), "2026-11-24 19:05:06.773843+00:00");
        assert_eq!(junit(&t), "2026-11-24T19:05:06.773843+00:00");
        let whole = Utc.with_ymd_and_hms(2026, 11, 24, 19, 5, 6).unwrap();
        assert_eq!(rest(&whole), "2026-11-24T19:05:06Z");
        assert_eq!(python(&whole), "2026-11-24 19:05:06+00:00");
        assert_eq!(rest_opt(&None), None);
    }
}
