//! From `lava-dispatch`'s exit status to the [`JobFinished`] report.
//!
//! `lava-dispatch` exits 0 complete, 1 incomplete, 2 on a bad job or device, 3 canceled.
//! The reason of a failed job is the `error_type`/`error_msg` of the last `job` result in
//! `output.yaml`, as LAVA reports it; any other status is the lab's fault.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use lava_common::error_type::ErrorType;
use lava_common::log::{Level, Message, Value, parse_line};
use lava_common::worker_api::{FinishedHealth, JobFinished};

use super::jobdir::JobDir;
use super::process::Ended;

/// How much of the end of `output.yaml` is searched for the `job` result.
const TAIL_BYTES: u64 = 256 * 1024;

/// The report for a job that ended as `ended`, with `log_lines` lines in its log.
pub fn finished(ended: &Ended, dir: &JobDir, log_lines: u64) -> JobFinished {
    let report = |health, error_type: Option<ErrorType>, error_msg: Option<String>| JobFinished {
        health,
        error_type,
        error_msg,
        log_lines,
    };
    let infrastructure = |msg: String| {
        report(
            FinishedHealth::Incomplete,
            Some(ErrorType::Infrastructure),
            Some(msg),
        )
    };
    match ended {
        Ended::Lost(why) => infrastructure(why.clone()),
        Ended::Code(0) => report(FinishedHealth::Complete, None, None),
        Ended::Code(code @ (1 | 3)) => {
            let (ty, msg) = job_error(&dir.output()).unwrap_or_default();
            if *code == 3 {
                return report(
                    FinishedHealth::Canceled,
                    Some(ty.unwrap_or(ErrorType::Canceled)),
                    msg.or_else(|| Some("canceled".into())),
                );
            }
            match (ty, msg) {
                (Some(ty), msg) => report(FinishedHealth::Incomplete, Some(ty), msg),
                (None, _) => infrastructure(format!(
                    "lava-dispatch exited with status 1 and no job result in {}",
                    dir.output().display()
                )),
            }
        }
        Ended::Code(code) => infrastructure(match dir.last_stderr_line() {
            Some(line) => format!("lava-dispatch exited with status {code}: {line}"),
            None => format!("lava-dispatch exited with status {code}"),
        }),
    }
}

/// The (`error_type`, `error_msg`) of the last `job` result in the log, if any. A type that
/// is not one of LAVA's is the dispatcher's own fault, so it reads as `Bug`.
pub fn job_error(output: &Path) -> Option<(Option<ErrorType>, Option<String>)> {
    let mut file = File::open(output).ok()?;
    let len = file.metadata().ok()?.len();
    let from = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    // A cut first line fails to parse and is skipped.
    text.lines().rev().find_map(|line| {
        let parsed = parse_line(line).ok()?;
        let Message::Map(m) = parsed.msg else {
            return None;
        };
        let is_job = parsed.lvl == Level::Results && m.get("case") == Some(&Value::from("job"));
        if !is_job {
            return None;
        }
        let text = |k: &str| match m.get(k) {
            Some(Value::Str(s) | Value::Scalar(s)) => Some(s.clone()),
            _ => None,
        };
        let error_type = text("error_type").map(|t| t.parse().unwrap_or(ErrorType::Bug));
        Some((error_type, text("error_msg")))
    })
}
