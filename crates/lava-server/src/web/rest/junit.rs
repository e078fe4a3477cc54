//! A job's results as JUnit XML, laid out as LAVA writes it (tab indents, attributes in this
//! order, a failed case carrying its log lines).

use lava_common::state::TestResult;
use lava_db::jobs::Job;
use lava_db::results::CaseDetail;

use super::format;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A case's duration in seconds, from its `duration` metadata.
fn duration(c: &CaseDetail) -> Option<f64> {
    match c.metadata.get("duration")? {
        serde_json::Value::String(s) => s.parse().ok(),
        v => v.as_f64(),
    }
}

/// A sum as Python prints it: `0` for no durations at all (an int), shortest round-trip
/// digits otherwise, with `.0` on whole numbers.
fn total(parts: &[f64]) -> String {
    if parts.is_empty() {
        return "0".into();
    }
    let sum: f64 = parts.iter().sum();
    if sum.fract() == 0.0 {
        format!("{sum:.1}")
    } else {
        format!("{sum}")
    }
}

/// The document. `logs[i]` holds the log lines of failed case `cases[i]`, when known.
pub fn render(
    job: &Job,
    suites: &[(i64, String)],
    cases: &[CaseDetail],
    logs: &[Option<String>],
    prefix: Option<&str>,
) -> String {
    let failed = |c: &&CaseDetail| c.result == TestResult::Fail;
    let all_durations: Vec<f64> = cases.iter().filter_map(duration).collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!(
        "<testsuites disabled=\"0\" errors=\"0\" failures=\"{}\" tests=\"{}\" time=\"{}\">\n",
        cases.iter().filter(failed).count(),
        cases.len(),
        total(&all_durations)
    ));
    let stamp = job.end_time.as_ref().map(format::junit).unwrap_or_default();
    for (sid, name) in suites {
        let mine: Vec<(usize, &CaseDetail)> = cases
            .iter()
            .enumerate()
            .filter(|(_, c)| c.suite_id == *sid)
            .collect();
        let durations: Vec<f64> = mine.iter().filter_map(|(_, c)| duration(c)).collect();
        out.push_str(&format!(
            "\t<testsuite disabled=\"0\" errors=\"0\" failures=\"{}\" name=\"{}\" skipped=\"{}\" tests=\"{}\" time=\"{}\" timestamp=\"{stamp}\">\n",
            mine.iter().filter(|(_, c)| c.result == TestResult::Fail).count(),
            esc(name),
            mine.iter().filter(|(_, c)| c.result == TestResult::Skip).count(),
            mine.len(),
            total(&durations),
        ));
        let classname = match prefix {
            Some(p) => format!("{p}_{name}"),
            None => name.clone(),
        };
        for (i, c) in mine {
            let time = duration(c)
                .map(|d| format!(" time=\"{d:.6}\""))
                .unwrap_or_default();
            let open = format!(
                "\t\t<testcase name=\"{}\"{time} timestamp=\"{}\" classname=\"{}\"",
                esc(&c.name),
                format::junit(&c.logged),
                esc(&classname)
            );
            if c.result != TestResult::Fail {
                out.push_str(&open);
                out.push_str("/>\n");
                continue;
            }
            out.push_str(&open);
            out.push_str(">\n");
            match logs.get(i).and_then(|l| l.as_deref()) {
                Some(text) => out.push_str(&format!(
                    "\t\t\t<failure type=\"failure\" message=\"failed\">{}</failure>\n",
                    esc(text)
                )),
                None => out.push_str("\t\t\t<failure type=\"failure\" message=\"failed\"/>\n"),
            }
            out.push_str("\t\t</testcase>\n");
        }
        out.push_str("\t</testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
