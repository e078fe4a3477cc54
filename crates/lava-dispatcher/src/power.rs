//! Power control: pdudaemon's HTTP API, and a device's power commands (argument vectors,
//! never a shell line; see [`crate::command`]).
//!
//! pdudaemon answers `GET /power/control/COMMAND?hostname=PDU&port=N[&delay=S]` only after the
//! command ran, so a reboot holds the request for its whole delay (5 s by default): the timeout
//! covers connect, request and the full reply. A plain HTTP/1.0 GET over a `TcpStream` is all
//! the protocol needs, which keeps an HTTP client crate out of the dispatcher.

use std::fmt;
use std::process::{ExitStatus, Stdio};
use std::str::FromStr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::command::Argv;

/// pdudaemon's default HTTP port.
pub const DEFAULT_PDU_PORT: u16 = 16421;

/// How many lines of a failed command's output an error quotes.
const TAIL_LINES: usize = 20;

/// What pdudaemon is asked to do with a PDU port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduCommand {
    /// Switch the port on.
    On,
    /// Switch the port off.
    Off,
    /// Off, wait the delay, on.
    Reboot,
}

impl PduCommand {
    /// The word in the URL and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::Off => "off",
            Self::Reboot => "reboot",
        }
    }
}

impl fmt::Display for PduCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PduCommand {
    type Err = PowerError;

    fn from_str(s: &str) -> Result<Self, PowerError> {
        match s {
            "on" => Ok(Self::On),
            "off" => Ok(Self::Off),
            "reboot" => Ok(Self::Reboot),
            other => Err(PowerError::UnknownCommand(other.to_owned())),
        }
    }
}

/// Why a power request failed.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs, reason = "each field is named in the variant's message")]
pub enum PowerError {
    /// Not one of `on`, `off`, `reboot`.
    #[error("unknown pdu command {0:?}; expected on, off or reboot")]
    UnknownCommand(String),
    /// `--daemon` is not `HOST` or `HOST:PORT`.
    #[error("invalid pdudaemon address {0:?}; expected HOST or HOST:PORT")]
    BadDaemon(String),
    /// The TCP connection to pdudaemon failed (nobody listening, no route, …).
    #[error("cannot connect to pdudaemon at {address}: {source}")]
    Connect {
        /// `host:port`.
        address: String,
        #[source]
        source: std::io::Error,
    },
    /// Sending the request or reading the reply failed.
    #[error("error talking to pdudaemon for {url}: {source}")]
    Io {
        url: String,
        #[source]
        source: std::io::Error,
    },
    /// The reply is not HTTP.
    #[error("pdudaemon sent no valid http reply for {url}: {reply:?}")]
    BadReply {
        url: String,
        /// The start of what came back.
        reply: String,
    },
    /// pdudaemon answered with a status other than 200.
    #[error("pdudaemon refused {url}: http status {status}: {body}")]
    Status {
        url: String,
        status: u16,
        /// The reply body, trimmed.
        body: String,
    },
    /// No complete reply within the timeout.
    #[error("no reply from pdudaemon for {url} within {after:?}")]
    RequestTimeout { url: String, after: Duration },
    /// A power command could not be started.
    #[error("cannot run power command {command:?}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// A power command exited unsuccessfully.
    #[error("power command {command:?} failed ({status}):\n{output}")]
    Failed {
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// The tail of its stdout and stderr.
        output: String,
    },
    /// A power command ran past its timeout and was killed with its process group.
    #[error("power command {command:?} did not finish within {after:?} and was killed")]
    Timeout { command: String, after: Duration },
}

/// Splits `host` or `host:port` into host and port (IPv6 literals are not supported).
fn split_daemon(daemon: &str) -> Result<(String, u16), PowerError> {
    let bad = || PowerError::BadDaemon(daemon.to_owned());
    let (host, port) = match daemon.split_once(':') {
        Some((host, port)) => (host, port.parse().map_err(|_| bad())?),
        None => (daemon, DEFAULT_PDU_PORT),
    };
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Asks pdudaemon at `daemon` (`HOST` or `HOST:PORT`) to run `command` on port `port` of the
/// PDU `hostname`; succeeds on HTTP 200 only.
pub async fn pdu_request(
    daemon: &str,
    hostname: &str,
    command: PduCommand,
    port: u32,
    delay: Option<u32>,
    timeout: Duration,
) -> Result<(), PowerError> {
    let (host, tcp_port) = split_daemon(daemon)?;
    let address = format!("{host}:{tcp_port}");
    let mut path = format!(
        "/power/control/{command}?hostname={}&port={port}",
        encode(hostname)
    );
    if let Some(delay) = delay {
        path.push_str(&format!("&delay={delay}"));
    }
    let url = format!("http://{address}{path}");
    let exchange = async {
        let mut stream = TcpStream::connect((host.as_str(), tcp_port))
            .await
            .map_err(|source| PowerError::Connect {
                address: address.clone(),
                source,
            })?;
        let io = |source| PowerError::Io {
            url: url.clone(),
            source,
        };
        let request =
            format!("GET {path} HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(io)?;
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await.map_err(io)?;
        Ok(reply)
    };
    let reply = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| PowerError::RequestTimeout {
            url: url.clone(),
            after: timeout,
        })??;
    let (status, body) = parse_reply(&reply).ok_or_else(|| PowerError::BadReply {
        url: url.clone(),
        reply: String::from_utf8_lossy(&reply[..reply.len().min(200)]).into_owned(),
    })?;
    tracing::debug!(%url, status, body = body.trim(), "pdudaemon replied");
    if status == 200 {
        Ok(())
    } else {
        Err(PowerError::Status {
            url,
            status,
            body: body.trim().to_owned(),
        })
    }
}

/// The status code and body of an HTTP/1.x reply read to EOF.
fn parse_reply(reply: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(reply);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut words = head.lines().next()?.split_whitespace();
    if !words.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = words.next()?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// Runs a device's power command (`hard_reset_command`, `power_off_cmd`, `power_on_cmd`)
/// without a shell, in a process group of its own that is killed whole on timeout.
pub async fn run_power_command(argv: &Argv, timeout: Duration) -> Result<(), PowerError> {
    let command_line = argv.to_string();
    let command_line = command_line.as_str();
    let mut cmd = argv.command();
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|source| PowerError::Spawn {
        command: command_line.to_owned(),
        source,
    })?;
    let pgid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            let lines: Vec<&str> = text.lines().collect();
            Err(PowerError::Failed {
                command: command_line.to_owned(),
                status: output.status,
                output: lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n"),
            })
        }
        Ok(Err(source)) => Err(PowerError::Spawn {
            command: command_line.to_owned(),
            source,
        }),
        Err(_) => {
            // The command went with the dropped future (kill_on_drop), but not its children.
            // kill(1) signals the whole group without unsafe code.
            // (`id()` is `None` only once the child was reaped; never send to group 0: ours.)
            if let Some(pgid) = pgid.filter(|pgid| *pgid > 1) {
                let killed = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pgid}")])
                    .stderr(Stdio::null())
                    .status();
                tracing::debug!(pgid, ?killed, "killed the power command's process group");
            }
            Err(PowerError::Timeout {
                command: command_line.to_owned(),
                after: timeout,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_addresses_replies_and_encoding() {
        let ok = |s: &str| split_daemon(s).unwrap();
        assert_eq!(ok("localhost"), ("localhost".into(), DEFAULT_PDU_PORT));
        assert_eq!(ok("10.0.0.1:17421"), ("10.0.0.1".into(), 17421));
        for bad in ["", ":80", "host:", "host:x", "::1", "host:70000"] {
            assert!(split_daemon(bad).is_err(), "{bad}");
        }
        let reply = b"HTTP/1.0 500 Internal Server Error\r\nA: b\r\n\r\nInvalid request\n";
        assert_eq!(parse_reply(reply), Some((500, "Invalid request\n".into())));
        assert_eq!(parse_reply(b"garbage"), None);
        assert_eq!(encode("pdu 1&x"), "pdu%201%26x");
    }
}
