//! A big job log (128 MiB: 100,000 short lines, then 768 lines of 128 KiB) served whole over
//! REST (and a range of it), XML-RPC and the live log stream by a real `lava-server web`,
//! whose memory stays under 100 MiB throughout. The log is written straight into the log
//! store with its index, as the worker API's appends leave it, to keep the test quick; the
//! same with 1 GiB uploaded through the worker API, and its rates, is
//! `cargo bench -p lava-server --bench logs`.

mod common;

use common::*;
use lava_common::ids::JobId;
use lava_server::web::xmlrpc::codec::{Value, call};
use serde_json::Value as Json;

const SHORT: usize = 100_000;
const LONG: usize = 768;
const LINES: usize = SHORT + LONG;

/// What every line starts with, up to its message's text.
const PREFIX: &str = "- {\"dt\": \"2026-01-01T00:00:00.000000\", \"lvl\": \"target\", \"msg\": \"";

/// Log line `n`: 320 bytes for the short ones, 128 KiB for the long ones, each unique.
fn big_line(n: usize) -> String {
    let size = if n < SHORT { 320 } else { 128 * 1024 };
    let head = format!("{PREFIX}{n:>8} ");
    let tail = "\"}\n";
    let mut line = head;
    let fill = size - line.len() - tail.len();
    line.extend(std::iter::repeat_n((b'a' + (n % 26) as u8) as char, fill));
    line.push_str(tail);
    line
}

/// Checks a byte stream against the log's lines `[from, to)` as it arrives, without holding
/// more than a line of it.
struct Expect {
    next: usize,
    to: usize,
    line: Vec<u8>,
    at: usize,
}

impl Expect {
    fn new(from: usize, to: usize) -> Expect {
        Expect {
            next: from,
            to,
            line: Vec::new(),
            at: 0,
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.at == self.line.len() {
                assert!(self.next < self.to, "more bytes than lines {}", self.to);
                self.line = big_line(self.next).into_bytes();
                self.at = 0;
                self.next += 1;
            }
            let n = data.len().min(self.line.len() - self.at);
            assert!(
                self.line[self.at..self.at + n] == data[..n],
                "line {} differs",
                self.next - 1
            );
            self.at += n;
            data = &data[n..];
        }
    }

    fn done(&self) {
        assert!(
            self.at == self.line.len() && self.next == self.to,
            "stopped at line {} of {}",
            self.next,
            self.to
        );
    }
}

/// The web process's peak resident memory (`VmHWM`) in MiB.
fn web_peak_mib(s: &Server) -> f64 {
    let pid = s._daemons[0].0.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .expect("VmHWM")
        / 1024.0
}

/// Writes the log into the store as the worker API's appends do: in batches of at most
/// 1 MiB (or one longer line), each with its index entry.
async fn store(s: &Server, id: i64) {
    use std::io::Write as _;
    let c = s.db.client().await.unwrap();
    let path = s
        .root
        .path()
        .join(format!("var/lib/lava-server/jobs/{id}/output.yaml"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut at = lava_db::logs::LogEnd { lines: 0, bytes: 0 };
    let mut n = 0;
    while n < LINES {
        let mut batch = 0;
        let from = n;
        while n < LINES {
            let l = big_line(n);
            if batch > 0 && batch + l.len() > 1 << 20 {
                break;
            }
            file.write_all(l.as_bytes()).unwrap();
            batch += l.len();
            n += 1;
        }
        let end = lava_db::logs::LogEnd {
            lines: at.lines + (n - from) as i64,
            bytes: at.bytes + batch as i64,
        };
        lava_db::logs::record_append(&c, JobId(id), at, end)
            .await
            .unwrap();
        at = end;
    }
    file.flush().unwrap();
}

async fn rest(s: &Server, id: i64, query: &str, from: usize, to: usize) {
    let mut r = reqwest::get(format!("{}/api/v0.2/jobs/{id}/logs/{query}", s.url))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{query}");
    assert_eq!(r.headers()["content-type"], "application/yaml");
    let mut expect = Expect::new(from, to);
    while let Some(chunk) = r.chunk().await.unwrap() {
        expect.feed(&chunk);
    }
    expect.done();
}

/// `scheduler.jobs.logs(id, 0, nil)`, its base64 decoded line by line as it arrives.
async fn xmlrpc(s: &Server, id: i64) {
    use base64::Engine as _;
    let body = call(
        "scheduler.jobs.logs",
        &[Value::str(id.to_string()), Value::Int(0), Value::Nil],
    );
    let mut r = reqwest::Client::new()
        .post(format!("{}/RPC2", s.url))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let mut expect = Expect::new(0, LINES);
    let (mut buf, mut head, mut in_data, mut tail) =
        (Vec::new(), String::new(), false, String::new());
    while let Some(chunk) = r.chunk().await.unwrap() {
        buf.extend_from_slice(&chunk);
        let mut at = 0;
        while let Some(nl) = buf[at..].iter().position(|b| *b == b'\n') {
            let line = std::str::from_utf8(&buf[at..at + nl]).unwrap();
            at += nl + 1;
            if !in_data {
                if line.is_empty() || !tail.is_empty() || line.starts_with("</base64>") {
                    tail.push_str(line);
                    tail.push('\n');
                } else {
                    head.push_str(line);
                    head.push('\n');
                    in_data = line.ends_with("<base64>");
                }
            } else if line.starts_with("</base64>") {
                in_data = false;
                tail.push_str(line);
                tail.push('\n');
            } else {
                assert!(line.len() <= 76, "base64 lines are wrapped at 76");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(line)
                    .unwrap();
                expect.feed(&bytes);
            }
        }
        buf.drain(..at);
    }
    expect.done();
    assert_eq!(
        head,
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n<value><boolean>1</boolean></value>\n<value><base64>\n"
    );
    assert_eq!(
        tail,
        "</base64></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n"
    );
}

/// The live log stream from line 0 to its `end` event: every event at most 1 MiB, numbered
/// by the line after its last; one event in eight is read line by line (reading all of them
/// in a debug build would take most of the test's time).
async fn sse(s: &Server, id: i64) {
    let mut r = reqwest::get(format!("{}/scheduler/job/{id}/log/stream?start=0", s.url))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (mut buf, mut next, mut ended, mut biggest) = (Vec::<u8>::new(), 0u64, false, 0);
    let (mut scanned, mut events) = (0, 0);
    'read: while let Some(chunk) = r.chunk().await.unwrap() {
        buf.extend_from_slice(&chunk);
        while let Some(at) = buf[scanned..].windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..scanned + at + 2).collect();
            scanned = 0;
            let text = std::str::from_utf8(&event).unwrap();
            let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name));
            let data = field("data: ").unwrap_or("");
            biggest = biggest.max(data.len());
            assert!(data.len() <= 1 << 20, "an event of {} bytes", data.len());
            match field("event: ") {
                Some("lines") => {
                    let last: u64 = field("id: ").unwrap().parse().unwrap();
                    assert!(last > next, "every event has lines");
                    events += 1;
                    if events % 8 == 1 {
                        let lines: Vec<Json> = serde_json::from_str(data).unwrap();
                        for l in lines {
                            assert_eq!(l[0].as_u64(), Some(next));
                            let n = next as usize;
                            let text = l[3].as_str().unwrap();
                            assert!(text.starts_with(&format!("{n:>8} ")), "line {n}");
                            let want = big_line(n).len() - PREFIX.len() - "\"}\n".len();
                            assert_eq!(text.len(), want, "line {n}");
                            next += 1;
                        }
                    }
                    assert!(next <= last);
                    next = last;
                }
                Some("end") => {
                    ended = true;
                    break 'read;
                }
                _ => {}
            }
        }
        scanned = buf.len().saturating_sub(1);
    }
    assert!(ended, "no end event");
    assert_eq!(next, LINES as u64);
    assert!(
        biggest > 400_000,
        "events are filled up to their size: {biggest}"
    );
}

#[tokio::test]
async fn a_big_log_is_served_whole_in_bounded_memory() {
    let s = Server::start().await;
    let w = s.worker("w1");
    w.poll(&[], 0).await;
    let id = s.submit(EMPTY_JOB);
    w.take(id).await;
    store(&s, id).await;
    let (status, _): (u16, lava_common::worker_api::Ack) = w.complete(id, LINES).await;
    assert_eq!(status, 200);

    rest(&s, id, "", 0, LINES).await;
    rest(&s, id, "?start=50000&end=100400", 50_000, 100_400).await;
    xmlrpc(&s, id).await;
    sse(&s, id).await;

    // The job page starts its stream at most 1,000 lines and 1 MiB before the end.
    let page = reqwest::get(format!("{}/scheduler/job/{id}", s.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start: usize = page
        .split("/log/stream?start=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .expect("the page's stream start");
    assert_eq!(start, LINES - 8, "the last 1 MiB of 128 KiB lines");

    let peak = web_peak_mib(&s);
    assert!(peak < 100.0, "the web process peaked at {peak:.0} MiB");
}
