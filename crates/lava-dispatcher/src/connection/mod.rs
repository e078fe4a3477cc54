//! Connections to a device's console: a command (`telnet localhost 4006`, or QEMU itself)
//! run under a pseudo-terminal in its own session, and an expect engine over its output.
//!
//! Every byte the device prints reaches the log as `target` lines (see [`reader`]), and
//! everything sent is logged as `input` lines before it is written. Each wait has its own
//! timeout, because a silent peer is never reported by telnet or ser2net.

pub mod reader;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use regex::bytes::Regex;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::watch;

use crate::command::Argv;
use crate::joblog::JobLog;
use reader::{Feed, Window};

/// Problems with a console connection.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs, reason = "each field is named in the variant's message")]
pub enum ConnectionError {
    /// The command could not be started.
    #[error("cannot start '{command}': {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    /// None of the patterns appeared in time.
    #[error("timed out after {after:?} waiting for {patterns} (last output: {tail:?})")]
    Timeout {
        /// The patterns, as written.
        patterns: String,
        /// How long it waited.
        after: Duration,
        /// The end of what the device printed.
        tail: String,
    },
    /// The console closed while waiting (the command exited or the connection was lost).
    #[error(
        "connection '{command}' closed ({why}) while waiting for {patterns} (last output: {tail:?})"
    )]
    Closed {
        command: String,
        /// How it closed.
        why: String,
        /// The patterns waited for.
        patterns: String,
        /// The end of what the device printed.
        tail: String,
    },
    /// Writing to the console failed.
    #[error("cannot write to '{command}': {source}")]
    Write {
        command: String,
        source: std::io::Error,
    },
}

/// A successful wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Which pattern matched.
    pub index: usize,
    /// The output before the match.
    pub before: String,
    /// The matched text.
    pub matched: String,
}

/// A live console.
pub struct Connection {
    command: String,
    child: tokio::process::Child,
    pid: Option<i32>,
    writer: pty_process::OwnedWritePty,
    window: Arc<Mutex<Window>>,
    wake: watch::Receiver<u64>,
    log: JobLog,
    reader: tokio::task::JoinHandle<()>,
    char_delay: Duration,
    line_end: String,
}

fn tail_of(data: &[u8]) -> String {
    let start = data.len().saturating_sub(200);
    String::from_utf8_lossy(&data[start..]).into_owned()
}

impl Connection {
    /// Runs `argv` (no shell) under a new pseudo-terminal, in its own session (so its
    /// whole process group can be killed), and starts logging its output.
    pub fn spawn(argv: &Argv, log: &JobLog) -> Result<Connection, ConnectionError> {
        let command_line = argv.to_string();
        let spawn_err = |e: std::io::Error| ConnectionError::Spawn {
            command: command_line.clone(),
            source: e,
        };
        let to_io = |e: pty_process::Error| std::io::Error::other(e.to_string());
        let (pty, pts) = pty_process::open().map_err(to_io).map_err(spawn_err)?;
        // Wide, so programs that format for the terminal do not wrap our markers.
        pty.resize(pty_process::Size::new(50, 1000))
            .map_err(to_io)
            .map_err(spawn_err)?;
        let child = argv
            .pty_command()
            .spawn(pts)
            .map_err(to_io)
            .map_err(spawn_err)?;
        let pid = child.id().map(|p| p as i32);
        let (read, writer) = pty.into_split();
        let window = Arc::new(Mutex::new(Window::default()));
        let (wake_tx, wake) = watch::channel(0u64);
        let feed = Feed {
            window: window.clone(),
            wake: wake_tx,
        };
        let reader = tokio::spawn(reader::run(read, log.clone(), feed));
        log.debug(format!(
            "connected: {command_line} (pid {})",
            pid.unwrap_or(0)
        ));
        Ok(Connection {
            command: command_line,
            child,
            pid,
            writer,
            window,
            wake,
            log: log.clone(),
            reader,
            char_delay: Duration::ZERO,
            line_end: "\n".to_string(),
        })
    }

    /// The command line of this connection.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The process group of the connection (its leader's pid).
    pub fn pgid(&self) -> Option<i32> {
        self.pid
    }

    /// Sets a delay between characters sent (slow bootloaders drop fast input).
    pub fn set_char_delay(&mut self, delay: Duration) {
        self.char_delay = delay;
    }

    /// Sets what [`Connection::sendline`] appends: `\n` for QEMU, `\r` for a serial board
    /// behind telnet (a `\r\n` would reach it as two line ends).
    pub fn set_line_end(&mut self, line_end: &str) {
        self.line_end = line_end.to_string();
    }

    /// What [`Connection::sendline`] appends.
    pub fn line_end(&self) -> &str {
        &self.line_end
    }

    /// Waits until one of `patterns` appears in the output, for at most `timeout`. The
    /// output up to the end of the match is consumed.
    pub async fn expect(
        &mut self,
        patterns: &[Regex],
        timeout: Duration,
    ) -> Result<Match, ConnectionError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let names = || {
            patterns
                .iter()
                .map(|p| format!("'{}'", p.as_str()))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        loop {
            self.wake.borrow_and_update();
            {
                let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
                let found = patterns
                    .iter()
                    .enumerate()
                    .filter_map(|(i, p)| p.find(&w.data).map(|m| (m.start(), m.end(), i)))
                    .min();
                if let Some((start, end, index)) = found {
                    let m = Match {
                        index,
                        before: String::from_utf8_lossy(&w.data[..start]).into_owned(),
                        matched: String::from_utf8_lossy(&w.data[start..end]).into_owned(),
                    };
                    w.data.drain(..end);
                    return Ok(m);
                }
                if let Some(why) = &w.closed {
                    return Err(ConnectionError::Closed {
                        command: self.command.clone(),
                        why: why.clone(),
                        patterns: names(),
                        tail: tail_of(&w.data),
                    });
                }
            }
            if tokio::time::timeout_at(deadline, self.wake.changed())
                .await
                .is_err()
            {
                let w = self.window.lock().unwrap_or_else(|p| p.into_inner());
                return Err(ConnectionError::Timeout {
                    patterns: names(),
                    after: timeout,
                    tail: tail_of(&w.data),
                });
            }
        }
    }

    /// Sends `text` as it is (logged as an `input` line first).
    pub async fn send(&mut self, text: &str) -> Result<(), ConnectionError> {
        self.send_shown_as(text, text).await
    }

    /// Sends `text`, logging `shown` as the `input` line (for bulk data, which would make a
    /// log line of megabytes).
    pub async fn send_shown_as(&mut self, text: &str, shown: &str) -> Result<(), ConnectionError> {
        self.log.input(shown);
        let write_err = |e| ConnectionError::Write {
            command: self.command.clone(),
            source: e,
        };
        if self.char_delay.is_zero() {
            self.writer
                .write_all(text.as_bytes())
                .await
                .map_err(write_err)?;
        } else {
            let mut buf = [0u8; 4];
            for c in text.chars() {
                let bytes = c.encode_utf8(&mut buf).as_bytes();
                self.writer.write_all(bytes).await.map_err(write_err)?;
                tokio::time::sleep(self.char_delay).await;
            }
        }
        self.writer.flush().await.map_err(write_err)
    }

    /// Sends `text` and the line end.
    pub async fn sendline(&mut self, text: &str) -> Result<(), ConnectionError> {
        let line = format!("{text}{}", self.line_end);
        self.send(&line).await
    }

    /// Drops output received so far that no expect has consumed.
    pub fn clear(&mut self) {
        if let Ok(mut w) = self.window.lock() {
            w.data.clear();
        }
    }

    /// Kills the connection's whole process group.
    pub fn kill(&mut self) {
        if let Some(pid) = self.pid {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }

    /// Kills the process group, waits for the process and for the last output to be logged.
    pub async fn close(mut self) {
        self.kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        let reader = std::mem::replace(&mut self.reader, tokio::spawn(async {}));
        let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
        self.pid = None;
        self.log.debug(format!("disconnected: {}", self.command));
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.kill();
    }
}
