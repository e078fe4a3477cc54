//! What each binary links, from the real dependency graph (`cargo tree`): `lava-dev` renders
//! the server's man pages from `lava-cli` and must not pull in the server itself, and a worker
//! host's `lava-dispatcher` never links the database code.

use std::path::Path;
use std::process::Command;

/// The workspace crates (`lava-*`) in the normal (non-dev) dependency graph of `krate`.
fn linked_workspace_crates(krate: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&root)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["-p", krate])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree -p {krate}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.starts_with("lava-"))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn lava_dev_renders_man_pages_without_linking_the_server() {
    assert_eq!(
        linked_workspace_crates("lava-dev"),
        ["lava-cli", "lava-common", "lava-dev"]
    );
}

#[test]
fn lava_cli_brings_only_the_common_ids() {
    assert_eq!(
        linked_workspace_crates("lava-cli"),
        ["lava-cli", "lava-common"]
    );
}

#[test]
fn lava_dispatcher_never_links_the_database() {
    let linked = linked_workspace_crates("lava-dispatcher");
    assert!(
        linked.contains(&"lava-dispatcher".to_string()),
        "{linked:?}"
    );
    for server_side in ["lava-db", "lava-server", "lava-cli"] {
        assert!(
            !linked.iter().any(|c| c == server_side),
            "lava-dispatcher links {server_side}: {linked:?}"
        );
    }
}
