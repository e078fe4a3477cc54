use chrono::TimeZone;

use super::*;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
}

fn run(id: i64, device: &str, start: i64, end: i64, health: &str) -> Run {
    Run {
        id,
        device: Some(device.into()),
        state: "Finished".into(),
        health: health.into(),
        submit: t(0),
        start: Some(t(start)),
        end: Some(t(end)),
    }
}

fn log_of(numbers: &[usize]) -> String {
    let mut text = String::from(
        "- {\"dt\": \"2026-12-07T14:47:40.712742\", \"lvl\": \"info\", \"msg\": \"start\"}\n",
    );
    for n in numbers {
        text.push_str(&format!(
            "- {{\"dt\": \"2026-12-07T14:47:40.712742\", \"lvl\": \"target\", \"msg\": \"{}\"}}\n",
            numbered(*n)
        ));
    }
    text
}

#[test]
fn a_whole_log_passes_and_a_dropped_or_doubled_line_fails() {
    assert!(log(1, &log_of(&[1, 2, 3]), 3, true).is_empty());
    assert_eq!(
        log(1, &log_of(&[1, 3]), 3, true),
        ["job 1: line 2 is missing from the log"]
    );
    let doubled = log(1, &log_of(&[1, 2, 2, 3]), 3, true);
    assert!(doubled.contains(&"job 1: line 2 is in the log 2 times".to_string()));
    assert!(!log(1, &log_of(&[2, 1]), 2, true).is_empty(), "order");
    assert!(!log(1, &log_of(&[1, 2, 3, 4]), 3, true).is_empty(), "extra");
    assert!(!log(1, "not yaml\n", 0, true).is_empty());
    // An excused Incomplete job may stop short, never repeat.
    assert!(log(1, &log_of(&[1]), 3, false).is_empty());
    assert!(!log(1, &log_of(&[1, 1]), 3, false).is_empty());
}

#[test]
fn an_overlap_on_one_device_is_a_double_booking() {
    let ok = [
        run(1, "d1", 1, 2, "Complete"),
        run(2, "d1", 2, 3, "Complete"),
    ];
    assert!(records(&ok, &[]).is_empty());
    let twice = [
        run(1, "d1", 1, 3, "Complete"),
        run(2, "d1", 2, 4, "Complete"),
    ];
    let p = records(&twice, &[]);
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("d1 ran two jobs at once: job 1"), "{p:?}");
    let other_device = [
        run(1, "d1", 1, 3, "Complete"),
        run(2, "d2", 2, 4, "Complete"),
    ];
    assert!(records(&other_device, &[]).is_empty());
}

#[test]
fn incomplete_is_allowed_only_on_a_crashed_workers_device_during_the_crash() {
    let crash = Crash {
        daemon: "worker-0".into(),
        killed: t(10),
        restarted: t(11),
        devices: vec!["d1".into()],
    };
    let during = [run(1, "d1", 9, 12, "Incomplete")];
    assert!(records(&during, std::slice::from_ref(&crash)).is_empty());
    let after = [run(1, "d1", 12, 13, "Incomplete")];
    assert_eq!(records(&after, std::slice::from_ref(&crash)).len(), 1);
    let elsewhere = [run(1, "d2", 9, 12, "Incomplete")];
    assert_eq!(records(&elsewhere, std::slice::from_ref(&crash)).len(), 1);
    let mut unfinished = run(1, "d1", 9, 12, "Complete");
    unfinished.state = "Running".into();
    assert_eq!(records(&[unfinished], &[crash]).len(), 1);
}

#[test]
fn latencies() {
    let mut a = run(1, "d1", 1, 5, "Complete");
    let mut b = run(2, "d1", 6, 9, "Complete");
    a.submit = t(0);
    b.submit = t(0);
    assert_eq!(submit_to_running(&[a.clone(), b.clone()]), [1.0, 6.0]);
    assert_eq!(free_to_next_running(&[a.clone(), b.clone()]), [1.0]);
    // Submitted after the device came free: not a scheduling gap.
    b.submit = t(5) + chrono::TimeDelta::milliseconds(1);
    assert!(free_to_next_running(&[a, b]).is_empty());
    let mut v = vec![3.0, 1.0, 2.0, 4.0];
    assert_eq!(quantile(&mut v, 0.5), Some(2.0));
    assert_eq!(quantile(&mut v, 0.99), Some(4.0));
    assert_eq!(quantile(&mut [], 0.5), None);
}
