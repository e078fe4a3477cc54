//! `lava-lab fill` at a small size: the history is in the database (jobs, results,
//! transitions as far as each job got), every started job has its log where the server reads
//! it, and the database records each log's end as the file has it; a second fill of the same
//! database is refused. The cluster it leaves running is stopped at the end.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn lava_lab() -> &'static Path {
        Path::new(env!("CARGO_BIN_EXE_lava-lab"))
    }

    fn fill(&self, jobs: &str) -> std::process::Output {
        Command::new(Self::lava_lab())
            .arg("fill")
            .arg(self.dir.path())
            .args(["--jobs", jobs, "--log-max-kib", "2"])
            .output()
            .unwrap()
    }

    fn jobs_dir(&self) -> PathBuf {
        self.dir.path().join("server/var/lib/lava-server/jobs")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(Self::lava_lab())
            .arg("pg-stop")
            .arg(self.dir.path())
            .output();
    }
}

#[tokio::test]
async fn a_filled_history_has_results_transitions_and_the_logs_it_records() {
    let lab = Lab {
        dir: tempfile::tempdir().unwrap(),
    };
    // PostgreSQL runs as `nobody` when we are root: it must reach its directory.
    std::fs::set_permissions(
        lab.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = lab.fill("400");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(url.starts_with("postgresql://"), "{url}");
    let c = lava_db::connect(&url).await.unwrap();
    let count = |sql: &'static str| {
        let c = &c;
        async move { c.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(count("SELECT count(*) FROM jobs").await, 400);
    let started = count("SELECT count(*) FROM jobs WHERE state <> 'submitted'").await;
    let finished = count("SELECT count(*) FROM jobs WHERE state = 'finished'").await;
    assert!(started > 390 && finished < started, "{started} {finished}");
    assert_eq!(
        count("SELECT count(*) FROM job_transitions").await,
        2 * started + finished
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM job_transitions t JOIN jobs j ON j.id = t.job_id
             WHERE t.new_state = 'finished' AND t.new_health <> j.health"
        )
        .await,
        0
    );
    assert_eq!(count("SELECT count(*) FROM test_cases").await, 3 * finished);
    let logs = std::fs::read_dir(lab.jobs_dir()).unwrap().count() as i64;
    assert_eq!(logs, started);
    let rows = c
        .query(
            "SELECT id, log_lines, log_bytes FROM jobs WHERE state <> 'submitted'",
            &[],
        )
        .await
        .unwrap();
    for r in rows {
        let id: i64 = r.get(0);
        let text =
            std::fs::read_to_string(lab.jobs_dir().join(format!("{id}/output.yaml"))).unwrap();
        assert_eq!(text.len() as i64, r.get::<_, i64>(2), "job {id}");
        assert_eq!(text.lines().count() as i64, r.get::<_, i64>(1), "job {id}");
        assert!((256..=2048 + 200).contains(&text.len()), "job {id}");
    }
    assert_eq!(
        count("SELECT count(*) FROM job_log_index WHERE line = 0 AND byte_offset = 0").await,
        started
    );

    let again = lab.fill("10");
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("has jobs already"), "{stderr}");
    assert_eq!(count("SELECT count(*) FROM jobs").await, 400);
}
