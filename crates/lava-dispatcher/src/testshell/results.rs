//! Following a test run: markers become `results` lines as they arrive; `parse.pattern`
//! definitions get their cases from the output of their run.

use std::collections::BTreeMap;

use lava_common::job::TestDefinitionFile;
use lava_common::log::Value;
use lava_common::signals::{Scan, Signal, scan_line};
use lava_common::state::TestResult;
use regex::Regex;

use crate::job::{Ctx, ErrorType, Failure, prompt_regex};

/// A marker, complete (`>`) or cut by a newline.
const MARKER: &str = r"<LAVA_(?:SIGNAL_[A-Z]+|TEST_RUNNER)[^\n>]*(?:>|\n)";

struct Run {
    definition: Option<String>,
    set: Option<String>,
    starttc: Option<u64>,
    endtc: Option<u64>,
    output: String,
}

fn result_line(
    run: &Run,
    case: &str,
    result: TestResult,
    measurement: Option<&str>,
    units: Option<&str>,
) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    m.insert("case".to_string(), Value::from(case));
    m.insert(
        "definition".to_string(),
        Value::from(run.definition.clone().unwrap_or_else(|| "lava".to_string())),
    );
    m.insert("result".to_string(), Value::from(result.as_str()));
    if let Some(me) = measurement {
        m.insert("measurement".to_string(), Value::Scalar(me.to_string()));
    }
    if let Some(u) = units.filter(|u| !u.is_empty()) {
        m.insert("units".to_string(), Value::from(u));
    }
    if let Some(s) = &run.set {
        m.insert("set".to_string(), Value::from(s.as_str()));
    }
    if let (Some(s), Some(e)) = (run.starttc, run.endtc) {
        m.insert("starttc".to_string(), Value::Scalar(s.to_string()));
        m.insert("endtc".to_string(), Value::Scalar(e.to_string()));
    }
    m
}

/// Applies a definition's `parse.pattern` to its output.
fn parse_output(ctx: &Ctx, run: &Run, def: &TestDefinitionFile) {
    let Some(pattern) = &def.parse_pattern else {
        return;
    };
    let re = match Regex::new(pattern) {
        Ok(re) => re,
        Err(e) => {
            ctx.log.warning(format!(
                "parse pattern of {} is not a valid regex: {e}",
                def.name
            ));
            return;
        }
    };
    for line in run.output.lines() {
        let line = line.trim_end_matches('\r');
        let Some(c) = re.captures(line) else { continue };
        let Some(case) = c
            .name("test_case_id")
            .map(|m| m.as_str().trim().replace(' ', "_"))
        else {
            continue;
        };
        let word = c.name("result").map(|m| m.as_str()).unwrap_or("unknown");
        let word = def.fixupdict.get(word).map(String::as_str).unwrap_or(word);
        let Ok(result) = word.to_ascii_lowercase().parse::<TestResult>() else {
            ctx.log.warning(format!(
                "{case}: result '{word}' is not pass, fail, skip or unknown"
            ));
            continue;
        };
        let measurement = c.name("measurement").map(|m| m.as_str());
        let units = c.name("units").map(|m| m.as_str());
        ctx.log
            .results(result_line(run, &case, result, measurement, units));
    }
}

/// Follows the run until the runner's end marker and the prompt after it.
pub async fn follow(
    ctx: &mut Ctx,
    action: &str,
    defs: &[(String, TestDefinitionFile)],
) -> Result<(), Failure> {
    let marker = regex::bytes::Regex::new(MARKER).unwrap_or_else(|_| unreachable!("a fixed regex"));
    let mut run = Run {
        definition: None,
        set: None,
        starttc: None,
        endtc: None,
        output: String::new(),
    };
    loop {
        let m = ctx.expect(action, std::slice::from_ref(&marker)).await?;
        if run.definition.is_some() {
            run.output.push_str(&m.before);
        }
        for scan in scan_line(&m.matched) {
            let signal = match scan {
                Scan::Signal(s) => s,
                Scan::Malformed { text, why } => {
                    ctx.log.warning(format!(
                        "unreadable test shell marker ({why}): {}",
                        text.trim_end()
                    ));
                    continue;
                }
            };
            match signal {
                Signal::StartRun { definition, .. } => {
                    ctx.log
                        .info(format!("running test definition {definition}"));
                    run.definition = Some(definition);
                    run.output.clear();
                }
                Signal::EndRun { definition, .. } => {
                    if let Some((_, def)) = defs.iter().find(|(id, _)| *id == definition) {
                        parse_output(ctx, &run, def);
                    }
                    ctx.log.info(format!("test definition {definition} ended"));
                    run.definition = None;
                }
                Signal::StartTc(_) => {
                    run.starttc = Some(ctx.log.lines());
                    run.endtc = None;
                }
                Signal::EndTc(_) => run.endtc = Some(ctx.log.lines()),
                Signal::TestCase {
                    case,
                    result,
                    measurement,
                    units,
                } => {
                    ctx.log.results(result_line(
                        &run,
                        &case,
                        result,
                        measurement.as_deref(),
                        units.as_deref(),
                    ));
                    run.starttc = None;
                    run.endtc = None;
                }
                Signal::TestSetStart(name) => run.set = Some(name),
                Signal::TestSetStop => run.set = None,
                Signal::TestRaise(message) => {
                    return Err(Failure::new(
                        ErrorType::Test,
                        action,
                        format!("lava-test-raise: {message}"),
                    ));
                }
                Signal::RunnerExit => {
                    ctx.expect(action, &[prompt_regex()]).await?;
                    return Ok(());
                }
            }
        }
    }
}
