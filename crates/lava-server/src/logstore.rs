//! Job logs on the server: `JOBS_DIR/ID/output.yaml`, appended in batches that carry the
//! number of their first line, so a retried batch never duplicates or drops a line. The end
//! of the log and an index of batch offsets live in the database; the job's row lock
//! serializes appends. `results` lines become test cases in the same transaction.

use std::collections::BTreeMap;
use std::io::{BufRead as _, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::PathBuf;

use lava_common::log::{Level, Message, Value, parse_line};
use lava_common::state::TestResult;
use lava_db::logs::LogEnd;
use lava_db::results::NewCase;

/// Problems with an append or a read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The batch starts after the server's last line: resend from `lines`.
    #[error("the batch starts at line {offset} but the log has {lines} lines")]
    Gap {
        /// Where the batch started.
        offset: u64,
        /// Lines the server has.
        lines: u64,
    },
    /// The batch is not whole lines.
    #[error("a log batch must be whole lines, each ending in a newline")]
    Partial,
    /// The log file could not be written or read.
    #[error("job log {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] lava_db::Error),
}

/// The job logs of this server.
#[derive(Debug, Clone)]
pub struct LogStore {
    dir: PathBuf,
}

fn field(m: &BTreeMap<String, Value>, k: &str) -> Option<String> {
    match m.get(k)? {
        Value::Str(s) | Value::Scalar(s) => Some(s.clone()),
        _ => None,
    }
}

fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Str(s) | Value::Scalar(s) => serde_json::Value::String(s.clone()),
        Value::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Value::List(l) => serde_json::Value::Array(l.iter().map(to_json).collect()),
    }
}

/// The test case a `results` line at `line_no` files, if it is one.
pub fn case_of(line: &str, line_no: i64) -> Option<NewCase> {
    if !line.contains("\"lvl\": \"results\"") {
        return None;
    }
    let parsed = parse_line(line).ok()?;
    let (Level::Results, Message::Map(m)) = (parsed.lvl, parsed.msg) else {
        return None;
    };
    let name = field(&m, "case")?;
    let result = field(&m, "result").and_then(|r| r.parse::<TestResult>().ok())?;
    let known = [
        "case",
        "definition",
        "result",
        "measurement",
        "units",
        "set",
        "starttc",
        "endtc",
    ];
    let metadata = m
        .iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), to_json(v)))
        .collect();
    Some(NewCase {
        suite: field(&m, "definition").unwrap_or_else(|| "lava".into()),
        name,
        result,
        measurement: field(&m, "measurement").filter(|x| x.parse::<f64>().is_ok()),
        units: field(&m, "units").unwrap_or_default(),
        set: field(&m, "set"),
        metadata: serde_json::Value::Object(metadata),
        start_line: field(&m, "starttc")
            .and_then(|s| s.parse().ok())
            .or(Some(line_no)),
        end_line: field(&m, "endtc")
            .and_then(|s| s.parse().ok())
            .or(Some(line_no)),
    })
}

impl LogStore {
    /// Logs under `dir` (`/var/lib/lava-server/jobs`).
    pub fn new(dir: PathBuf) -> LogStore {
        LogStore { dir }
    }

    /// The log file of a job.
    pub fn path(&self, job: i64) -> PathBuf {
        self.dir.join(job.to_string()).join("output.yaml")
    }

    /// Appends a batch; returns the number of lines the log has after it.
    pub async fn append(
        &self,
        client: &mut lava_db::Client,
        job: i64,
        offset: u64,
        text: &str,
    ) -> Result<u64, LogError> {
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(LogError::Partial);
        }
        let tx = client.transaction().await.map_err(lava_db::Error::from)?;
        let end = lava_db::logs::lock_end(&tx, job).await?;
        let have = end.lines as u64;
        if offset > have {
            return Err(LogError::Gap {
                offset,
                lines: have,
            });
        }
        let skip = (have - offset) as usize;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        if skip >= lines.len() {
            return Ok(have);
        }
        let new = &lines[skip..];
        let bytes: usize = new.iter().map(|l| l.len()).sum();
        let path = self.path(job);
        let io = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        // Bytes past the recorded end come from an append whose commit failed: drop them.
        file.set_len(end.bytes as u64).map_err(io)?;
        file.seek(SeekFrom::Start(end.bytes as u64)).map_err(io)?;
        let mut buf = String::with_capacity(bytes);
        for l in new {
            buf.push_str(l);
        }
        file.write_all(buf.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        for (i, line) in new.iter().enumerate() {
            if let Some(case) = case_of(line, end.lines + i as i64) {
                lava_db::results::add(&tx, job, &case).await?;
            }
        }
        let new_end = LogEnd {
            lines: end.lines + new.len() as i64,
            bytes: end.bytes + bytes as i64,
        };
        lava_db::logs::record_append(&tx, job, end, new_end).await?;
        // Delivered at commit to every web app instance, whose live log followers read on.
        lava_db::notify::send(
            &tx,
            lava_db::notify::WORKER,
            &lava_db::notify::log_payload(job),
        )
        .await?;
        tx.commit().await.map_err(lava_db::Error::from)?;
        Ok(new_end.lines as u64)
    }

    /// Lines `[start, end)` of a job's log (`end` None: to the end), read from the nearest
    /// indexed offset, never the whole file. `None` when the job has no log yet.
    pub async fn read(
        &self,
        c: &impl lava_db::GenericClient,
        job: i64,
        start: u64,
        end: Option<u64>,
    ) -> Result<Option<Vec<u8>>, LogError> {
        let Some(log_end) = lava_db::logs::end(c, job).await? else {
            return Ok(None);
        };
        if log_end.lines == 0 {
            return Ok(None);
        }
        let stop = end.unwrap_or(u64::MAX).min(log_end.lines as u64);
        if start >= stop {
            return Ok(Some(Vec::new()));
        }
        let (line, byte) = lava_db::logs::seek(c, job, start as i64).await?;
        let path = self.path(job);
        let io = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::File::open(&path).map_err(io)?;
        file.seek(SeekFrom::Start(byte as u64)).map_err(io)?;
        let mut reader = std::io::BufReader::new(file.take((log_end.bytes - byte) as u64));
        let mut out = Vec::new();
        let mut line_no = line as u64;
        let mut buf = Vec::new();
        while line_no < stop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
                break;
            }
            if line_no >= start {
                out.extend_from_slice(&buf);
            }
            line_no += 1;
        }
        Ok(Some(out))
    }
}
