//! The small `kvm` test image boots under QEMU (TCG), logs `root` in on the serial console
//! and runs a command.
//!
//! The image is built by `share/create-kvm-image` into `target/lava-images` if missing
//! (`make test-image` does the same ahead of time). The console is QEMU's stdio through plain
//! pipes, which `-nographic` accepts as well as a terminal.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// Kills QEMU unless it exited, whatever way the test ends.
struct Qemu {
    child: Child,
}

impl Drop for Qemu {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The serial console: what QEMU wrote so far, read by a thread, and its stdin.
struct Console {
    input: ChildStdin,
    output: Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Console {
    fn new(child: &mut Child) -> Self {
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            input: child.stdin.take().expect("piped stdin"),
            output: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for `pattern` and returns the text up to and including it; what follows stays.
    fn expect(&mut self, pattern: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        let pat = pattern.as_bytes();
        loop {
            if let Some(i) = self.seen.windows(pat.len()).position(|w| w == pat) {
                let rest = self.seen.split_off(i + pat.len());
                let text = std::mem::replace(&mut self.seen, rest);
                return String::from_utf8_lossy(&text).into_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.seen.extend_from_slice(&bytes),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no {pattern:?} within {timeout:?}; the console showed:\n{}",
                    String::from_utf8_lossy(&self.seen)
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "QEMU closed the console before {pattern:?}; it showed:\n{}",
                    String::from_utf8_lossy(&self.seen)
                ),
            }
        }
    }

    fn send(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.input.flush())
            .expect("write to the console");
    }
}

#[test]
fn the_test_image_boots_to_a_root_shell() {
    let image = lava_testkit::test_image().expect("build the test image");
    if Command::new("qemu-system-x86_64")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("qemu-system-x86_64 not found: install qemu-system-x86");
    }

    let start = Instant::now();
    let child = image
        .qemu_command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start qemu-system-x86_64");
    let mut qemu = Qemu { child };
    let mut console = Console::new(&mut qemu.child);

    let boot = console.expect("login: ", Duration::from_secs(60));
    let login_after = start.elapsed();
    println!("login prompt after {login_after:.2?}");
    assert!(boot.ends_with("lava-kvm login: "), "{boot}");

    console.send("root");
    console.expect("root@lava-kvm:~# ", Duration::from_secs(30));
    println!("shell prompt after {:.2?}", start.elapsed());

    // The echo of the command line shows `$((6*7))`, only the output shows 42.
    console.send("echo hello-$((6*7))");
    let out = console.expect("hello-42", Duration::from_secs(30));
    assert!(out.contains("echo hello-$((6*7))"), "{out}");
    console.expect("root@lava-kvm:~# ", Duration::from_secs(30));

    // The applets a dispatcher needs to deliver and run test scripts over the console. The
    // quotes keep the markers out of the echoed command line (which the shell may also wrap).
    console.send(
        "for a in sh cat sed grep awk uname mkdir base64 gzip cpio; do \
         command -v $a >/dev/null || echo MISS''ING-$a; done; echo APPLETS''-DONE",
    );
    let out = console.expect("APPLETS-DONE", Duration::from_secs(30));
    assert!(!out.contains("MISSING-"), "{out}");
    console.expect("root@lava-kvm:~# ", Duration::from_secs(30));

    console.send("poweroff -f");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = qemu.child.try_wait().expect("wait for qemu") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "QEMU still runs after poweroff -f"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "QEMU exited with {status}");
    println!("QEMU exited after {:.2?}", start.elapsed());
}
