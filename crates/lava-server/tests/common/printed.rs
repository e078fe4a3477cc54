//! What a child process prints, read as it comes: a test waits for the line or text that
//! says a thing happened (with a deadline) instead of sleeping and hoping it did.

use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::process::ChildStdout;
use tokio::time::{Instant, timeout_at};

/// A child's standard output and what has been read of it.
pub struct Printed {
    out: ChildStdout,
    /// Everything read so far.
    text: Vec<u8>,
    /// How much of `text` [`Printed::next_line`] has handed out.
    taken: usize,
    /// The child closed its output.
    ended: bool,
}

/// The deadline passed before the child printed what was waited for.
#[derive(Debug)]
pub struct TimedOut;

impl Printed {
    /// Reads `out` (a child spawned with `Stdio::piped()` for its stdout).
    pub fn new(out: ChildStdout) -> Printed {
        Printed {
            out,
            text: Vec::new(),
            taken: 0,
            ended: false,
        }
    }

    /// Everything printed so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }

    /// Reads once more, waiting until `deadline` at most; false at the end of the output.
    async fn read_more(&mut self, deadline: Instant) -> Result<bool, TimedOut> {
        if self.ended {
            return Ok(false);
        }
        let mut buf = [0u8; 4096];
        // One read is cancel-safe: when the deadline passes, nothing read is lost.
        let n = timeout_at(deadline, self.out.read(&mut buf))
            .await
            .map_err(|_| TimedOut)?
            .expect("reading the child's output");
        self.text.extend_from_slice(&buf[..n]);
        self.ended = n == 0;
        Ok(n > 0)
    }

    /// Waits until everything printed so far satisfies `done`; fails naming `what` after
    /// `secs`, or when the child closes its output first.
    pub async fn until(&mut self, what: &str, secs: u64, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(&self.text()) {
            match self.read_more(deadline).await {
                Ok(true) => {}
                Ok(false) => panic!("the output ended before {what}: {:?}", self.text()),
                Err(TimedOut) => panic!("timed out waiting for {what}: {:?}", self.text()),
            }
        }
    }

    /// The next whole line (without its newline), `Ok(None)` at the end of the output, or
    /// `Err(TimedOut)` when none is complete by `deadline`.
    pub async fn next_line(&mut self, deadline: Instant) -> Result<Option<String>, TimedOut> {
        loop {
            if let Some(end) = self.text[self.taken..].iter().position(|&b| b == b'\n') {
                let line = &self.text[self.taken..self.taken + end];
                let line = String::from_utf8_lossy(line).into_owned();
                self.taken += end + 1;
                return Ok(Some(line));
            }
            if !self.read_more(deadline).await? {
                return Ok(None);
            }
        }
    }

    /// Reads to the end of the output (the child exits or closes it); fails after `secs`.
    pub async fn read_to_end(&mut self, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            match self.read_more(deadline).await {
                Ok(true) => {}
                Ok(false) => return self.text(),
                Err(TimedOut) => panic!("the output did not end: {:?}", self.text()),
            }
        }
    }
}
