//! Whether a process has a TCP connection up, from `/proc`: how a test knows a client it
//! started (one that prints nothing when it connects) has reached a server.

use std::collections::HashSet;

/// The socket inodes of the established IPv4 TCP connections to `127.0.0.1:port`.
fn established_to(port: u16) -> HashSet<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let remote = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            (f.len() > 9 && f[2] == remote && f[3] == "01").then(|| f[9].to_string())
        })
        .collect()
}

/// Whether process `pid` holds an established TCP connection to `127.0.0.1:port`.
pub fn connected_to(pid: u32, port: u16) -> bool {
    let inodes = established_to(port);
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok).any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|target| {
            let target = target.to_string_lossy();
            target
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'))
                .is_some_and(|inode| inodes.contains(inode))
        })
    })
}
