//! Every state and health change lives in `lava-db/src/lifecycle/`: no other file of the
//! workspace (code, tests, benches, migrations, tools) holds an `UPDATE` that sets the `state`
//! or `health` of jobs, devices or workers, nor an `INSERT … ON CONFLICT DO UPDATE` that does.

use std::path::{Path, PathBuf};

use regex::Regex;

/// The statements that set a state or health column of one of the three tables, in `text`:
/// (line number, statement head).
fn state_writes(text: &str) -> Vec<(usize, String)> {
    let update = Regex::new(
        r#"(?is)\bupdate\s+(jobs|devices|workers)\b(?:\s+(?:as\s+)?\w+)?\s+set\s+([^";]*?)(?:\bwhere\b|\bfrom\b|\breturning\b|"|;|$)"#,
    )
    .unwrap();
    let upsert = Regex::new(
        r#"(?is)\binsert\s+into\s+(jobs|devices|workers)\b[^";]*?\bdo\s+update\s+set\s+([^";]*?)(?:\bwhere\b|\breturning\b|"|;|$)"#,
    )
    .unwrap();
    let column = Regex::new(r"(?i)(?:^|,)\s*(?:\w+\.)?(state|health)\s*=").unwrap();
    let mut found = Vec::new();
    for re in [&update, &upsert] {
        for m in re.captures_iter(text) {
            if column.is_match(&m[2]) {
                let at = m.get(0).unwrap().start();
                let line = text[..at].lines().count().max(1);
                let head: String = m[0]
                    .split_whitespace()
                    .take(6)
                    .collect::<Vec<_>>()
                    .join(" ");
                found.push((line, head));
            }
        }
    }
    found
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                files(&path, out);
            }
        } else if name.ends_with(".rs") || name.ends_with(".sql") {
            out.push(path);
        }
    }
}

#[test]
fn the_checker_finds_state_writes_and_only_those() {
    for bad in [
        "UPDATE jobs SET state = 'finished' WHERE id = $1",
        "UPDATE devices d SET current_job_id = NULL, health = $2 WHERE d.hostname = $1",
        "update workers set last_ping = now(), state = 'online', version = $2 from x",
        "INSERT INTO devices (hostname, health) VALUES ($1, $2)\n ON CONFLICT (hostname) DO UPDATE SET tags = EXCLUDED.tags, health = EXCLUDED.health",
    ] {
        assert_eq!(state_writes(bad).len(), 1, "{bad}");
    }
    for fine in [
        "UPDATE jobs SET priority = $2 WHERE id = $1 AND state = 'submitted'",
        "UPDATE devices SET worker_reported = (hostname = ANY($2)) WHERE health = 'good'",
        "UPDATE device_types SET health_check_job = $2 WHERE name = $1",
        "UPDATE job_callbacks SET state = 'skipped' WHERE id = $1",
        "INSERT INTO devices (hostname, health) VALUES ($1, $2) ON CONFLICT (hostname) DO NOTHING",
    ] {
        assert!(state_writes(fine).is_empty(), "{fine}");
    }
}

#[test]
fn only_the_lifecycle_module_changes_states() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let lifecycle = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lifecycle");
    let lifecycle = lifecycle.canonicalize().unwrap();
    let mut all = Vec::new();
    for dir in ["crates", "tools", "share"] {
        files(&root.join(dir), &mut all);
    }
    let mut offenders = Vec::new();
    let mut in_lifecycle = 0;
    for path in &all {
        if path.ends_with("lava-db/tests/lifecycle_only.rs") {
            continue; // the checker's own samples
        }
        let text = std::fs::read_to_string(path).unwrap();
        let found = state_writes(&text);
        if path.canonicalize().unwrap().starts_with(&lifecycle) {
            in_lifecycle += found.len();
            continue;
        }
        for (line, head) in found {
            let shown = path.strip_prefix(&root).unwrap_or(path);
            offenders.push(format!("{}:{line}: {head}", shown.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "state or health written outside lava-db/src/lifecycle/ (move it there):\n{}",
        offenders.join("\n")
    );
    // The scan reads the files it should: the lifecycle's own writes are found.
    assert!(
        in_lifecycle >= 5,
        "found {in_lifecycle} writes in lifecycle/"
    );
}
