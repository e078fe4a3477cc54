//! The test overlay over the console, for targets with neither network nor ramdisk (a
//! serial board without `transfer_overlay`, a QEMU disk image without a ramdisk): base64 in
//! acknowledged chunks, checked on the target chunk by chunk and as a whole.
//!
//! Nothing paces a console, and getty leaves the target's tty `ixon ixoff`. Measured on the
//! U-Boot QEMU board (busybox): 231,000 bytes sent while nothing read them arrived whole,
//! but the board answered with 15 XOFF and no XON, which ser2net and telnet hand to us as
//! data; QEMU's UART held the rest back, so nothing was lost there, yet the console takes
//! only some 20 KiB/s (1,001,000 bytes in 52 s): the 7 MB of base64 of a 5 MiB overlay took
//! 4.5 minutes on a quiet machine and ran past the test action's 8 on a loaded one. A real
//! UART holds nothing back: once a slow reader lets the tty's buffers fill (64 KiB to
//! 640 KiB of flip buffers, by kernel version, and a 4 KiB line buffer) bytes are dropped and
//! `base64 -d` waits for an end that never comes.
//!
//! So the target's tty is made quiet for the transfer (`-echo -ixon -ixoff`, restored after),
//! and at most [`WINDOW`] chunks are in flight: each is acknowledged with the sha256 of the
//! bytes the target decoded, so the stream never runs further ahead than the smallest tty
//! buffers hold, progress is logged, and a lost or changed byte is named by its chunk within
//! [`CHUNK_WAIT`] instead of a timeout minutes later. The whole file's sha256 is checked on
//! the target before it is unpacked.

use std::time::Duration;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::job::{Ctx, Failure, connection_failure, prompt_regex};

/// Bytes per base64 line (76 characters).
const LINE_BYTES: usize = 57;

/// Lines per chunk: 11,400 bytes, 15,400 characters of base64 and line ends.
const CHUNK_LINES: usize = 200;

/// Chunks sent ahead of the acknowledgements: two, about 31 KiB, well inside a Linux tty's
/// 4 KiB line buffer plus its 64 KiB of receive buffers, however slow the reader.
const WINDOW: usize = 2;

/// The longest one chunk may take to be acknowledged (about 15 KiB: seconds even on a
/// loaded emulated board).
const CHUNK_WAIT: Duration = Duration::from_secs(120);

/// The commands the target needs.
const TOOLS: &str = "head base64 tee sha256sum tar";

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn regex(re: &str) -> regex::bytes::Regex {
    regex::bytes::Regex::new(re).unwrap_or_else(|_| unreachable!("a fixed regex"))
}

/// The loop the target's shell runs: for each chunk, `head` reads its lines (a canonical
/// tty hands over one line a read, so `head` never takes the next chunk's), `base64 -d`
/// decodes them onto the end of `file`, and the chunk's sha256 is the acknowledgement.
fn board_loop(file: &str, chunks: usize, last_lines: usize) -> String {
    format!(
        "t=$(stty -g 2>/dev/null); stty -echo -ixon -ixoff 2>/dev/null; rm -f {file}; i=0; echo \"LAVA_\"\"READY\"; \
         while [ $i -lt {chunks} ]; do n={CHUNK_LINES}; [ $i -eq {last} ] && n={last_lines}; \
         s=$(head -n $n | base64 -d | tee -a {file} | sha256sum); echo \"LAVA_CHUNK $i ${{s%% *}}\"; i=$((i+1)); done; \
         [ -n \"$t\" ] && stty $t 2>/dev/null",
        last = chunks - 1
    )
}

/// One chunk as typed: base64 lines, each with the console's line end.
fn encode(chunk: &[u8], end: &str) -> String {
    let mut text = String::with_capacity(chunk.len() / LINE_BYTES * (77 + end.len()) + 80);
    for line in chunk.chunks(LINE_BYTES) {
        text.push_str(&base64::engine::general_purpose::STANDARD.encode(line));
        text.push_str(end);
    }
    text
}

/// Fails naming the commands the target lacks.
async fn check_tools(ctx: &mut Ctx, action: &str) -> Result<(), Failure> {
    let out = ctx
        .shell(
            action,
            &format!(
                "for c in {TOOLS}; do command -v $c >/dev/null || echo \"LAVA_MISSING_$c\"; done"
            ),
        )
        .await?;
    let missing: Vec<&str> = out
        .split(|c: char| c.is_whitespace())
        .filter_map(|w| w.strip_prefix("LAVA_MISSING_"))
        .filter(|w| !w.is_empty() && !w.starts_with('$'))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::infra(
        action,
        format!(
            "the target cannot take the test overlay over its console: it lacks {} (it needs {TOOLS})",
            missing.join(", ")
        ),
    ))
}

/// Sends `data` to `file` on the target, whose shell is at its prompt, and checks it there.
pub async fn send(ctx: &mut Ctx, action: &str, data: &[u8], file: &str) -> Result<(), Failure> {
    check_tools(ctx, action).await?;
    let chunk_bytes = LINE_BYTES * CHUNK_LINES;
    let chunks: Vec<&[u8]> = data.chunks(chunk_bytes).collect();
    let count = chunks.len();
    if count == 0 {
        return Err(Failure::infra(action, "the test overlay tarball is empty"));
    }
    let last_lines = chunks[count - 1].len().div_ceil(LINE_BYTES);
    ctx.sendline(action, &board_loop(file, count, last_lines))
        .await?;
    ctx.expect(action, &[regex(r"LAVA_READY\r*\n")]).await?;
    let end = ctx.conn(action)?.line_end().to_string();
    let ack = [regex(r"LAVA_CHUNK (\d+) ([^\r\n]*)\r*\n")];
    let mut sent = 0;
    let mut reported = 0;
    for (i, chunk) in chunks.iter().enumerate() {
        while sent < count && sent < i + WINDOW {
            let text = encode(chunks[sent], &end);
            let shown = format!(
                "(chunk {} of {count}: {} bytes of base64)",
                sent + 1,
                text.len()
            );
            ctx.conn(action)?
                .send_shown_as(&text, &shown)
                .await
                .map_err(|e| connection_failure(action, e))?;
            sent += 1;
        }
        let limit = ctx.wait_limit();
        let wait = limit.min(CHUNK_WAIT);
        let from = i * chunk_bytes;
        let span = format!(
            "chunk {} of {count} (bytes {from}..{} of the overlay)",
            i + 1,
            from + chunk.len()
        );
        let m = match ctx.conn(action)?.expect(&ack, wait).await {
            Ok(m) => m,
            Err(crate::connection::ConnectionError::Timeout { tail, .. }) if wait < limit => {
                return Err(Failure::infra(
                    action,
                    format!(
                        "{span} was not acknowledged within {} s: the console lost bytes or the target stopped reading (last output: {tail:?})",
                        wait.as_secs()
                    ),
                ));
            }
            Err(e) => return Err(connection_failure(action, e)),
        };
        let fields: Vec<&str> = m.matched.trim_end().splitn(3, ' ').skip(1).collect();
        let want = hex(&Sha256::digest(chunk));
        if fields.first().and_then(|n| n.parse::<usize>().ok()) != Some(i)
            || fields.get(1) != Some(&want.as_str())
        {
            return Err(Failure::infra(
                action,
                format!(
                    "{span} arrived changed: the target acknowledged '{}', expected 'LAVA_CHUNK {i} {want}'",
                    m.matched.trim_end()
                ),
            ));
        }
        let done = (i + 1) * 10 / count;
        if done > reported {
            reported = done;
            ctx.log.info(format!(
                "test overlay over the console: {} of {} bytes acknowledged",
                from + chunk.len(),
                data.len()
            ));
        }
    }
    ctx.expect(action, &[prompt_regex()]).await?;
    let out = ctx
        .shell(
            action,
            &format!("s=$(sha256sum < {file}); echo \"LAVA_SUM=\"\"${{s%% *}}\""),
        )
        .await?;
    let want = hex(&Sha256::digest(data));
    let got = out
        .split(|c: char| c.is_whitespace())
        .find_map(|w| w.strip_prefix("LAVA_SUM="))
        .unwrap_or("");
    if got != want {
        return Err(Failure::infra(
            action,
            format!(
                "the test overlay on the target ({file}) has sha256 '{got}', not {want}, though every chunk was acknowledged"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_whole_base64_lines_with_the_line_end() {
        let data: Vec<u8> = (0..=255u8).cycle().take(LINE_BYTES * 3 + 5).collect();
        let text = encode(&data, "\r");
        let lines: Vec<&str> = text.split_terminator('\r').collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[..3].iter().all(|l| l.len() == 76));
        let back: Vec<u8> = lines
            .iter()
            .flat_map(|l| base64::engine::general_purpose::STANDARD.decode(l).unwrap())
            .collect();
        assert_eq!(back, data);
    }

    #[test]
    fn the_loop_reads_the_last_chunks_own_line_count() {
        let l = board_loop("/tmp/f", 3, 7);
        assert!(l.contains("[ $i -lt 3 ]"), "{l}");
        assert!(l.contains("[ $i -eq 2 ] && n=7"), "{l}");
        assert!(l.contains("stty -echo -ixon -ixoff"), "{l}");
        assert!(l.contains("tee -a /tmp/f"), "{l}");
    }
}
