//! A serial line that changes one byte: the fault a noisy UART makes, and the one a test
//! overlay sent over the console must catch before it is unpacked. A TCP relay sits between
//! the dispatcher's telnet and ser2net and swaps one base64 letter the dispatcher sends for
//! another, once.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;

use super::harness::BoardRun;

/// Relays `127.0.0.1:PORT` to ser2net's telnet port, changing the first ASCII letter at or
/// after byte `at` of what the client sends. Returns the relay's port.
fn relay(ser2net: u16, at: u64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", ser2net)) else {
                return;
            };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            thread::spawn(move || {
                let (mut seen, mut done) = (0u64, false);
                let mut buf = [0u8; 8192];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if !done && seen + n as u64 > at {
                        let from = at.saturating_sub(seen) as usize;
                        if let Some(b) = buf[from..n].iter_mut().find(|b| b.is_ascii_alphabetic()) {
                            *b = if *b == b'A' { b'B' } else { b'A' };
                            done = true;
                        }
                    }
                    seen += n as u64;
                    if s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = s_out.shutdown(std::net::Shutdown::Both);
            });
            let (mut s_in, mut c_out) = (server, client);
            thread::spawn(move || {
                let _ = std::io::copy(&mut s_in, &mut c_out);
                let _ = c_out.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

/// The board's device file with its console behind the relay.
fn noisy_conf(run: &BoardRun, dir: &Path, at: u64) -> PathBuf {
    let port = run.board.telnet_port();
    let text = std::fs::read_to_string(run.board.device_conf_path()).unwrap();
    let noisy = text.replace(
        &format!("telnet 127.0.0.1 {port}"),
        &format!("telnet 127.0.0.1 {}", relay(port, at)),
    );
    assert_ne!(noisy, text, "the device file names the console");
    // Same name (the device's hostname) and layout: its type in `../device-types/`.
    let board_conf = run.board.device_conf_path();
    let etc = board_conf.parent().unwrap().parent().unwrap();
    let types = dir.join("noisy/device-types");
    std::fs::create_dir_all(&types).unwrap();
    for t in std::fs::read_dir(etc.join("device-types")).unwrap() {
        let t = t.unwrap();
        std::fs::copy(t.path(), types.join(t.file_name())).unwrap();
    }
    let conf = dir
        .join("noisy/devices")
        .join(board_conf.file_name().unwrap());
    std::fs::create_dir_all(conf.parent().unwrap()).unwrap();
    std::fs::write(&conf, noisy).unwrap();
    conf
}

/// One letter changed 200,000 bytes into what the dispatcher types, well inside the 1 MiB
/// overlay's base64: the job ends incomplete naming the chunk, before anything is unpacked.
/// (Before the chunked transfer, `base64 -d` decoded the changed letter into a wrong byte
/// and the job failed later, at `tar`, with no word of where.)
#[test]
fn a_byte_changed_on_the_serial_line_is_named_by_its_chunk() {
    let run = BoardRun::start(0);
    let (repo, _) = super::harness::big_repo(run.dir(), 1);
    let deploy = run.deploy("      install_overlay: false\n");
    let job = run.yaml_job(&deploy, "commands: ramdisk", &repo, "big.yaml", "");
    let conf = noisy_conf(&run, run.dir(), 200_000);
    let out = run.command_on(&job, &conf).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        run.log_text()
    );
    let (kind, msg) = run.error();
    assert_eq!(kind, "Infrastructure", "{msg}");
    assert!(
        msg.contains("arrived changed") && msg.contains("bytes ") && msg.contains("chunk "),
        "{msg}"
    );
    let log = run.log_text();
    assert!(
        !log.contains("tar -C / -xzf"),
        "nothing was unpacked: {log}"
    );
    run.assert_clean();
}
