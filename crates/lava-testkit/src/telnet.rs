//! A blocking client of ser2net's telnet port, for tests and benches that drive a board by
//! hand (lab-recipes.md §1 and §4).
//!
//! ser2net opens with `IAC WILL/DO …` option requests and doubles a board's 0xff byte; a
//! client that never answers the options still gets the board's output, so this one only
//! strips the telnet commands. A silent board is never reported by the connection, so every
//! wait has its own deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How much of the transcript a failure message quotes.
const QUOTED_TAIL: usize = 3000;

/// Why a wait on the console ended without its text.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The deadline passed.
    #[error("no {wanted:?} within {waited:?}; the console's last output:\n{tail}")]
    Timeout {
        /// The text waited for.
        wanted: String,
        /// How long we waited.
        waited: Duration,
        /// The end of everything seen so far.
        tail: String,
    },
    /// ser2net closed the connection (stopped, or another client took the port).
    #[error("the console closed waiting for {wanted:?}; its last output:\n{tail}")]
    Closed {
        /// The text waited for.
        wanted: String,
        /// The end of everything seen so far.
        tail: String,
    },
    /// Reading or writing the socket failed.
    #[error("console i/o on 127.0.0.1:{port}: {source}")]
    Io {
        /// ser2net's port.
        port: u16,
        /// The socket error (the connection refused, reset, or timed out).
        #[source]
        source: std::io::Error,
    },
}

/// The telnet decoder's state (RFC 854).
#[derive(Debug, Clone, Copy)]
enum Telnet {
    Data,
    /// After IAC (0xff).
    Iac,
    /// After IAC WILL/WONT/DO/DONT: one option byte follows.
    Option,
    /// Inside IAC SB … IAC SE.
    Sub,
    /// After IAC inside a subnegotiation.
    SubIac,
}

/// A connection to a board's console through ser2net's telnet port on 127.0.0.1.
#[derive(Debug)]
pub struct TelnetConsole {
    port: u16,
    stream: TcpStream,
    /// Decoded output not matched yet.
    pending: Vec<u8>,
    /// Everything matched so far, for failure messages.
    transcript: String,
    state: Telnet,
}

impl TelnetConsole {
    /// Connects to `127.0.0.1:port`.
    pub fn connect(port: u16) -> Result<Self, ConsoleError> {
        let io = |source| ConsoleError::Io { port, source };
        let stream = TcpStream::connect(("127.0.0.1", port)).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        Ok(Self {
            port,
            stream,
            pending: Vec::new(),
            transcript: String::new(),
            state: Telnet::Data,
        })
    }

    /// Reads until `needle` appears, within `timeout`; returns the output before it and
    /// consumes everything up to and including it.
    pub fn expect(&mut self, needle: &str, timeout: Duration) -> Result<String, ConsoleError> {
        let started = Instant::now();
        let mut buf = [0u8; 8192];
        loop {
            if let Some(at) = find(&self.pending, needle.as_bytes()) {
                let before = String::from_utf8_lossy(&self.pending[..at]).into_owned();
                self.transcript.push_str(&before);
                self.transcript.push_str(needle);
                self.pending.drain(..at + needle.len());
                return Ok(before);
            }
            let Some(left) = timeout
                .checked_sub(started.elapsed())
                .filter(|d| !d.is_zero())
            else {
                return Err(ConsoleError::Timeout {
                    wanted: needle.to_owned(),
                    waited: started.elapsed(),
                    tail: self.tail(),
                });
            };
            let io = |source| ConsoleError::Io {
                port: self.port,
                source,
            };
            self.stream.set_read_timeout(Some(left)).map_err(io)?;
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    return Err(ConsoleError::Closed {
                        wanted: needle.to_owned(),
                        tail: self.tail(),
                    });
                }
                Ok(n) => self.feed(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(ConsoleError::Io {
                        port: self.port,
                        source,
                    });
                }
            }
        }
    }

    /// Sends `text` as typed; end lines with `\r` alone (a board's tty turns `\r\n` into two
    /// line ends).
    pub fn send(&mut self, text: &str) -> Result<(), ConsoleError> {
        self.stream
            .write_all(text.as_bytes())
            .map_err(|source| ConsoleError::Io {
                port: self.port,
                source,
            })
    }

    /// Everything matched so far plus what is pending.
    pub fn transcript(&self) -> String {
        let mut all = self.transcript.clone();
        all.push_str(&String::from_utf8_lossy(&self.pending));
        all
    }

    fn tail(&self) -> String {
        let all = self.transcript();
        let mut cut = all.len().saturating_sub(QUOTED_TAIL);
        while !all.is_char_boundary(cut) {
            cut += 1;
        }
        all[cut..].to_owned()
    }

    /// Strips telnet commands from `input` into `pending`, undoubling 0xff.
    fn feed(&mut self, input: &[u8]) {
        for &b in input {
            self.state = match (self.state, b) {
                (Telnet::Data, 0xff) => Telnet::Iac,
                (Telnet::Data, _) | (Telnet::Iac, 0xff) => {
                    self.pending.push(b);
                    Telnet::Data
                }
                (Telnet::Iac, 250) => Telnet::Sub,
                (Telnet::Iac, 251..=254) => Telnet::Option,
                (Telnet::Iac | Telnet::Option, _) => Telnet::Data,
                (Telnet::Sub, 0xff) => Telnet::SubIac,
                (Telnet::SubIac, 240) => Telnet::Data,
                (Telnet::Sub | Telnet::SubIac, _) => Telnet::Sub,
            };
        }
    }
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn strips_negotiation_and_undoubles_iac() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // WILL SGA, DO COM-PORT, a subnegotiation, then "a\xff\xffb => ".
            s.write_all(b"\xff\xfb\x03\xff\xfd\x2cx\xff\xfa\x2c\x01\x02\xff\xf0a\xff\xffb => ")
                .unwrap();
            let mut got = [0u8; 4];
            s.read_exact(&mut got).unwrap();
            got
        });
        let mut console = TelnetConsole::connect(port).unwrap();
        let before = console.expect("=> ", Duration::from_secs(5)).unwrap();
        assert_eq!(before.as_bytes(), b"xa\xef\xbf\xbdb ");
        console.send("ls\r\n").unwrap();
        assert_eq!(&server.join().unwrap(), b"ls\r\n");
        let err = console.expect("never", Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, ConsoleError::Closed { .. }), "{err}");
    }

    #[test]
    fn a_silent_peer_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut console = TelnetConsole::connect(port).unwrap();
        let _held = listener.accept().unwrap();
        let err = console
            .expect("login:", Duration::from_millis(200))
            .unwrap_err();
        assert!(err.to_string().starts_with("no \"login:\" within"), "{err}");
    }
}
