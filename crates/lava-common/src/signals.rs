//! The test shell's signal markers, as the target prints them on its console.
//!
//! `lava-test-case`, `lava-test-set`, `lava-test-raise` and the test runner print markers
//! such as `<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=uname RESULT=pass>`; the dispatcher scans
//! every console line for them. A marker cut or garbled by interleaved kernel messages is
//! reported as [`Scan::Malformed`] and the job goes on: nothing here panics on any input.

use crate::state::TestResult;

/// A marker understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A test definition starts: `<LAVA_SIGNAL_STARTRUN 0_smoke uuid>`.
    StartRun {
        /// The definition's name (`0_smoke-inline`).
        definition: String,
        /// Its run id.
        uuid: String,
    },
    /// A test definition ended: `<LAVA_SIGNAL_ENDRUN 0_smoke uuid>`.
    EndRun {
        /// The definition's name.
        definition: String,
        /// Its run id.
        uuid: String,
    },
    /// A test case's output starts: `<LAVA_SIGNAL_STARTTC case>`.
    StartTc(String),
    /// A test case's output ends: `<LAVA_SIGNAL_ENDTC case>`.
    EndTc(String),
    /// A result: `<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x RESULT=pass [UNITS=u MEASUREMENT=m]>`.
    TestCase {
        /// The case name.
        case: String,
        /// What the test reported (`pass`, `fail`, …).
        result: TestResult,
        /// A measurement, as printed.
        measurement: Option<String>,
        /// The measurement's units, as printed.
        units: Option<String>,
    },
    /// `<LAVA_SIGNAL_TESTSET START name>`.
    TestSetStart(String),
    /// `<LAVA_SIGNAL_TESTSET STOP>`.
    TestSetStop,
    /// The test asked to end the job: `<LAVA_SIGNAL_TESTRAISE message>`.
    TestRaise(String),
    /// The test runner finished: `<LAVA_TEST_RUNNER EXIT>`.
    RunnerExit,
}

/// What one marker in a line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// A marker understood.
    Signal(Signal),
    /// Something that starts like a marker but cannot be read.
    Malformed {
        /// The text from the marker's start.
        text: String,
        /// Why it was not understood.
        why: &'static str,
    },
}

const STARTS: [&str; 2] = ["<LAVA_SIGNAL_", "<LAVA_TEST_RUNNER"];

/// Finds every marker in one console line, in order.
pub fn scan_line(line: &str) -> Vec<Scan> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = STARTS.iter().filter_map(|s| rest.find(s)).min() {
        let from = &rest[start..];
        match from.find('>') {
            Some(end) => {
                out.push(parse_marker(&from[1..end]));
                rest = &from[end + 1..];
            }
            None => {
                out.push(Scan::Malformed {
                    text: from.to_string(),
                    why: "no closing '>'",
                });
                break;
            }
        }
    }
    out
}

fn malformed(inner: &str, why: &'static str) -> Scan {
    Scan::Malformed {
        text: format!("<{inner}>"),
        why,
    }
}

/// Parses the text between `<` and `>`.
fn parse_marker(inner: &str) -> Scan {
    let mut words = inner.split_whitespace();
    let name = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    let two = |f: fn(String, String) -> Signal| match args.as_slice() {
        [a, b] => Scan::Signal(f(a.to_string(), b.to_string())),
        _ => malformed(inner, "expected a name and an id"),
    };
    let one = |f: fn(String) -> Signal| match args.as_slice() {
        [a] => Scan::Signal(f(a.to_string())),
        _ => malformed(inner, "expected one name"),
    };
    match name {
        "LAVA_SIGNAL_STARTRUN" => two(|definition, uuid| Signal::StartRun { definition, uuid }),
        "LAVA_SIGNAL_ENDRUN" => two(|definition, uuid| Signal::EndRun { definition, uuid }),
        "LAVA_SIGNAL_STARTTC" => one(Signal::StartTc),
        "LAVA_SIGNAL_ENDTC" => one(Signal::EndTc),
        "LAVA_SIGNAL_TESTCASE" => test_case(inner, &args),
        "LAVA_SIGNAL_TESTSET" => match args.as_slice() {
            ["START", name] => Scan::Signal(Signal::TestSetStart(name.to_string())),
            ["STOP"] => Scan::Signal(Signal::TestSetStop),
            _ => malformed(inner, "expected START NAME or STOP"),
        },
        "LAVA_SIGNAL_TESTRAISE" => Scan::Signal(Signal::TestRaise(args.join(" "))),
        "LAVA_TEST_RUNNER" if args == ["EXIT"] => Scan::Signal(Signal::RunnerExit),
        _ => malformed(inner, "unknown marker"),
    }
}

fn test_case(inner: &str, args: &[&str]) -> Scan {
    let (mut case, mut result, mut measurement, mut units) = (None, None, None, None);
    for arg in args {
        let Some((key, value)) = arg.split_once('=') else {
            return malformed(inner, "text that is not KEY=VALUE (interleaved output?)");
        };
        let slot = match key {
            "TEST_CASE_ID" => &mut case,
            "RESULT" => &mut result,
            "MEASUREMENT" => &mut measurement,
            "UNITS" => &mut units,
            _ => return malformed(inner, "unknown key"),
        };
        if slot.replace(value.to_string()).is_some() {
            return malformed(inner, "a key given twice");
        }
    }
    let (Some(case), Some(result)) = (case, result) else {
        return malformed(inner, "TEST_CASE_ID and RESULT are required");
    };
    let Ok(result) = result.parse::<TestResult>() else {
        return malformed(inner, "RESULT must be pass, fail, skip or unknown");
    };
    if case.is_empty() {
        return malformed(inner, "empty TEST_CASE_ID");
    }
    if measurement
        .as_deref()
        .is_some_and(|m| m.parse::<f64>().is_err())
    {
        return malformed(inner, "MEASUREMENT is not a number");
    }
    Scan::Signal(Signal::TestCase {
        case,
        result,
        measurement,
        units,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(line: &str) -> Scan {
        let mut v = scan_line(line);
        assert_eq!(v.len(), 1, "{line}: {v:?}");
        v.remove(0)
    }

    #[test]
    fn every_marker() {
        let s = |sig| Scan::Signal(sig);
        let cases = [
            (
                "<LAVA_SIGNAL_STARTRUN 0_smoke 213_1.1>",
                s(Signal::StartRun {
                    definition: "0_smoke".into(),
                    uuid: "213_1.1".into(),
                }),
            ),
            (
                "<LAVA_SIGNAL_ENDRUN 0_smoke 213_1.1>",
                s(Signal::EndRun {
                    definition: "0_smoke".into(),
                    uuid: "213_1.1".into(),
                }),
            ),
            (
                "<LAVA_SIGNAL_STARTTC uname>",
                s(Signal::StartTc("uname".into())),
            ),
            (
                "<LAVA_SIGNAL_ENDTC uname>",
                s(Signal::EndTc("uname".into())),
            ),
            (
                "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=uname RESULT=pass>",
                s(Signal::TestCase {
                    case: "uname".into(),
                    result: TestResult::Pass,
                    measurement: None,
                    units: None,
                }),
            ),
            (
                "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot RESULT=fail UNITS=ms MEASUREMENT=42.5>",
                s(Signal::TestCase {
                    case: "boot".into(),
                    result: TestResult::Fail,
                    measurement: Some("42.5".into()),
                    units: Some("ms".into()),
                }),
            ),
            (
                "<LAVA_SIGNAL_TESTSET START net>",
                s(Signal::TestSetStart("net".into())),
            ),
            ("<LAVA_SIGNAL_TESTSET STOP>", s(Signal::TestSetStop)),
            (
                "<LAVA_SIGNAL_TESTRAISE disk full>",
                s(Signal::TestRaise("disk full".into())),
            ),
            ("<LAVA_TEST_RUNNER EXIT>", s(Signal::RunnerExit)),
        ];
        for (line, expected) in cases {
            assert_eq!(one(line), expected, "{line}");
            assert_eq!(
                one(&format!("+ echo x {line} y")),
                expected,
                "embedded: {line}"
            );
        }
        assert!(scan_line("plain console output").is_empty());
    }

    #[test]
    fn broken_markers_are_reported_not_fatal() {
        let broken = [
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a [   12.3] random: crng init done RESULT=pass>",
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RES",
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=maybe>",
            "<LAVA_SIGNAL_TESTCASE RESULT=pass>",
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=pass MEASUREMENT=fast>",
            "<LAVA_SIGNAL_STARTRUN onlyname>",
            "<LAVA_SIGNAL_NOSUCH x>",
        ];
        for line in broken {
            assert!(matches!(one(line), Scan::Malformed { .. }), "{line}");
        }
    }

    #[test]
    fn several_markers_in_one_line() {
        let v = scan_line("<LAVA_SIGNAL_ENDTC a><LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=skip>");
        assert_eq!(v.len(), 2);
    }

    proptest! {
        #[test]
        fn any_line_never_panics(s in any::<String>()) {
            let _ = scan_line(&s);
            let _ = scan_line(&format!("<LAVA_SIGNAL_TESTCASE {s}>"));
            let _ = scan_line(&format!("<LAVA_SIGNAL_{s}"));
        }
    }
}
