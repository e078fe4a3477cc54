//! Commands as argument vectors, and the environment every child gets.
//!
//! Nothing the dispatcher runs goes through a shell. A device's own command lines
//! (`connection_command`, `power_on_cmd`, `qemu_options`, …) are written by the lab's admin
//! and split here with shell-words rules (quotes and backslashes as `sh` reads them, but no
//! expansion, substitution, pipes or `;`); a configured command that really needs a shell
//! says so itself, as `sh -c '…'`. Text from a job is never split here: it is checked
//! against an allow-list first (see `lava_common::job::check_image_arg`).
//!
//! Every child loses the worker's secrets from its environment ([`SECRET_ENV`]), whatever
//! started the dispatcher, so a job's QEMU, power command or git cannot read them.

use std::fmt;

/// Environment variables that hold secrets of the worker and never reach a child.
pub const SECRET_ENV: [&str; 1] = ["LAVA_WORKER_TOKEN"];

/// The most [`Argv::output`] keeps of a child's stdout, and of its stderr.
pub const MAX_OUTPUT: u64 = 16 << 20;

/// A program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argv(Vec<String>);

/// A device command line that cannot be split into words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} '{value}' cannot be used as a command: {reason}")]
pub struct ArgvError {
    /// The device setting.
    pub key: String,
    /// Its value as the device file wrote it, unsplit.
    pub value: String,
    /// What is wrong with the value.
    pub reason: String,
}

impl Argv {
    /// Splits a device setting's command line with shell-words rules.
    pub fn from_config(key: &str, line: &str) -> Result<Argv, ArgvError> {
        let err = |reason: &str| ArgvError {
            key: key.to_string(),
            value: line.to_string(),
            reason: reason.to_string(),
        };
        let words = shlex::split(line).ok_or_else(|| err("unbalanced quotes"))?;
        if words.is_empty() {
            return Err(err("it is empty"));
        }
        Ok(Argv(words))
    }

    /// A command the code itself names: `program` and its `args`.
    pub fn new<S: Into<String>>(
        program: impl Into<String>,
        args: impl IntoIterator<Item = S>,
    ) -> Argv {
        Argv(
            std::iter::once(program.into())
                .chain(args.into_iter().map(Into::into))
                .collect(),
        )
    }

    /// A command from words already split; `None` when there is no program.
    pub fn from_words(words: Vec<String>) -> Option<Argv> {
        (!words.is_empty()).then_some(Argv(words))
    }

    /// The program to run: the first word, never empty (an `Argv` has at least one).
    pub fn program(&self) -> &str {
        &self.0[0]
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[String] {
        &self.0[1..]
    }

    /// Every word, the program first.
    pub fn words(&self) -> &[String] {
        &self.0
    }

    /// A tokio command for it, with the secrets taken out of its environment.
    pub fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(self.program());
        cmd.args(self.args());
        for var in SECRET_ENV {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Runs it to its end: stdin closed, stdout and stderr captured (at most [`MAX_OUTPUT`]
    /// bytes each), killed when the future is dropped (an action's deadline or a cancel).
    pub async fn output(&self) -> std::io::Result<std::process::Output> {
        self.output_capped(MAX_OUTPUT).await
    }

    /// [`Argv::output`] keeping at most `max` bytes of each stream: a child that prints more
    /// is killed and the error (of kind `InvalidData`) says so, naming the program, so
    /// nothing it prints is held whole before it is judged.
    pub async fn output_capped(&self, max: u64) -> std::io::Result<std::process::Output> {
        let mut child = self
            .command()
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(std::io::Error::other("the child's output was not piped"));
        };
        let (out, err) = (read_capped(out, max), read_capped(err, max));
        tokio::pin!(out, err);
        let (mut stdout, mut stderr) = (None, None);
        // The first stream past the bound ends the child at once, whatever the other does.
        while stdout.is_none() || stderr.is_none() {
            let (read, into) = tokio::select! {
                r = &mut out, if stdout.is_none() => (r?, &mut stdout),
                r = &mut err, if stderr.is_none() => (r?, &mut stderr),
            };
            if read.len() as u64 > max {
                child.kill().await?;
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} printed more than {max} bytes", self.program()),
                ));
            }
            *into = Some(read);
        }
        let (stdout, stderr) = (stdout.unwrap_or_default(), stderr.unwrap_or_default());
        let status = child.wait().await?;
        Ok(std::process::Output {
            status,
            stdout,
            stderr,
        })
    }

    /// A blocking standard-library command for it (for work done on a blocking thread),
    /// with the secrets taken out of its environment.
    pub fn std_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(self.program());
        cmd.args(self.args());
        for var in SECRET_ENV {
            cmd.env_remove(var);
        }
        cmd
    }

    /// A command to run under a pseudo-terminal, with the secrets taken out of its
    /// environment.
    pub fn pty_command(&self) -> pty_process::Command {
        let mut cmd = pty_process::Command::new(self.program()).args(self.args());
        for var in SECRET_ENV {
            cmd = cmd.env_remove(var);
        }
        cmd
    }
}

/// Up to `max + 1` bytes of `r` (one more than allowed, so too much can be told apart).
async fn read_capped(r: impl tokio::io::AsyncRead + Unpin, max: u64) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    r.take(max + 1).read_to_end(&mut buf).await?;
    Ok(buf)
}

impl fmt::Display for Argv {
    /// The words quoted as a shell would need them, for logs and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = self
            .0
            .iter()
            .map(|w| match shlex::try_quote(w) {
                Ok(q) => q.into_owned(),
                Err(_) => format!("{w:?}"),
            })
            .collect::<Vec<_>>();
        f.write_str(&quoted.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lines_split_like_a_shell_reads_them_but_never_run_one() {
        let a = Argv::from_config("c", "telnet localhost 4006").unwrap();
        assert_eq!(a.program(), "telnet");
        assert_eq!(a.args(), ["localhost", "4006"]);
        let a = Argv::from_config("c", r#"sh -c 'echo "a b"; exit 1' $(x) ;"#).unwrap();
        assert_eq!(a.words(), ["sh", "-c", "echo \"a b\"; exit 1", "$(x)", ";"]);
        assert_eq!(a.to_string(), r#"sh -c 'echo "a b"; exit 1' '$(x)' ';'"#);
        let e = Argv::from_config("power_on_cmd", "pduclient 'x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "power_on_cmd 'pduclient 'x' cannot be used as a command: unbalanced quotes"
        );
        assert!(Argv::from_config("k", "   ").is_err());
        assert!(Argv::from_words(Vec::new()).is_none());
    }
    #[tokio::test]
    async fn output_keeps_what_fits_and_kills_a_child_that_prints_more() {
        let fits = Argv::new("sh", ["-c", "printf abc; printf err >&2; exit 3"]);
        let out = fits.output_capped(3).await.unwrap();
        assert_eq!(
            (&out.stdout[..], &out.stderr[..]),
            (&b"abc"[..], &b"err"[..])
        );
        assert_eq!(out.status.code(), Some(3));
        // `yes` never ends by itself: the cap ends it.
        let endless = Argv::new("yes", ["lava"]);
        let err = endless.output_capped(1000).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(err.to_string(), "yes printed more than 1000 bytes");
        // Past the bound on stdout while stderr stays open (SIGPIPE ignored, so closing the
        // pipe does not end it): ended by the bound, not by waiting for stderr.
        let stubborn = Argv::new(
            "sh",
            ["-c", "trap '' PIPE; yes 2>/dev/null; exec sleep 600"],
        );
        let bounded = stubborn.output_capped(1000);
        let err = tokio::time::timeout(std::time::Duration::from_secs(60), bounded)
            .await
            .expect("the bound ends the child")
            .unwrap_err();
        assert_eq!(err.to_string(), "sh printed more than 1000 bytes");
        let noisy = Argv::new("sh", ["-c", "head -c 1001 /dev/zero >&2"]);
        let err = noisy.output_capped(1000).await.unwrap_err();
        assert_eq!(err.to_string(), "sh printed more than 1000 bytes");
    }
}
