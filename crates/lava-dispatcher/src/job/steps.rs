//! LAVA's named steps inside an action, with their own timeouts.
//!
//! A LAVA action is a pipeline of smaller ones, and a job may limit each by name: in the
//! action's `timeouts` (KernelCI's boot actions give `bootloader-commands`,
//! `auto-login-action`, `login-action`) or the job's `timeouts.actions`, the device's last.
//! Our boot has these steps, under LAVA's names:
//!
//! | step | from | to |
//! |---|---|---|
//! | `bootloader-interrupt` | power-on | the interrupt sent |
//! | `bootloader-commands` | the interrupt sent | the kernel started |
//! | `auto-login-action` | the kernel started | the shell prompt |
//!
//! A step's limit narrows the action's deadline while it runs (never widens it); a step that
//! runs out fails the action as a timeout naming the step. A name that is no step of the
//! action limits nothing, as in LAVA, which looks the names up in its pipeline; the log says
//! so.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::context::Ctx;
use super::failure::Failure;

/// Every step that has a limit of its own, by LAVA's name.
pub const STEPS: [&str; 3] = [
    "bootloader-interrupt",
    "bootloader-commands",
    "auto-login-action",
];

/// A step in progress: what to restore when it ends.
#[must_use = "end the step with Ctx::end_step"]
pub struct Step {
    name: &'static str,
    limit: Option<(Duration, Instant)>,
    outer: Instant,
}

/// The step limits of one action: its own `timeouts`, then the job's and the device's
/// `timeouts.actions`, for the names in [`STEPS`]; the names that limit nothing are returned
/// apart, for the log.
pub fn limits(
    own: &BTreeMap<String, Duration>,
    job: &BTreeMap<String, Duration>,
    device: &BTreeMap<String, Duration>,
) -> (BTreeMap<&'static str, Duration>, Vec<String>) {
    let found = STEPS
        .iter()
        .filter_map(|s| {
            own.get(*s)
                .or_else(|| job.get(*s))
                .or_else(|| device.get(*s))
                .map(|t| (*s, *t))
        })
        .collect();
    let unknown = own
        .keys()
        .filter(|k| !STEPS.contains(&k.as_str()))
        .cloned()
        .collect();
    (found, unknown)
}

impl Ctx {
    /// Starts step `name`: its limit, if it has one, narrows the deadline.
    pub fn begin_step(&mut self, name: &'static str) -> Step {
        let outer = self.deadline;
        let limit = self.step_timeouts.get(name).map(|t| {
            let end = (Instant::now() + *t).min(outer);
            (*t, end)
        });
        if let Some((_, end)) = limit {
            self.deadline = end;
        }
        Step { name, limit, outer }
    }

    /// Ends `step` with the outcome of its work: the action's deadline back, and a failure
    /// past the step's own deadline (and before the action's) reported as the step's timeout.
    pub fn end_step<T>(&mut self, step: Step, r: Result<T, Failure>) -> Result<T, Failure> {
        self.deadline = step.outer;
        match (r, step.limit) {
            (Err(f), Some((t, end))) if Instant::now() >= end && end < step.outer => {
                Err(Failure::timeout(
                    step.name,
                    format!(
                        "{} timed out after {}s ({})",
                        step.name,
                        t.as_secs(),
                        f.message
                    ),
                ))
            }
            (r, _) => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_s_own_limit_wins_and_unknown_names_are_told() {
        let m = |pairs: &[(&str, u64)]| -> BTreeMap<String, Duration> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Duration::from_secs(*v)))
                .collect()
        };
        let (found, unknown) = limits(
            &m(&[("auto-login-action", 60), ("login-action", 5)]),
            &m(&[("auto-login-action", 600), ("bootloader-commands", 30)]),
            &m(&[("bootloader-interrupt", 9), ("bootloader-commands", 99)]),
        );
        assert_eq!(found["auto-login-action"], Duration::from_secs(60));
        assert_eq!(found["bootloader-commands"], Duration::from_secs(30));
        assert_eq!(found["bootloader-interrupt"], Duration::from_secs(9));
        assert_eq!(unknown, ["login-action"]);
    }

    #[tokio::test]
    async fn a_step_narrows_the_deadline_and_its_overrun_is_its_own_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = super::super::context::test_ctx(dir.path());
        let outer = ctx.deadline;
        ctx.step_timeouts
            .insert("auto-login-action", Duration::from_millis(50));
        let step = ctx.begin_step("auto-login-action");
        assert!(ctx.deadline < outer);
        tokio::time::sleep(Duration::from_millis(80)).await;
        let r: Result<(), Failure> = Err(Failure::timeout("boot-qemu-image", "waited"));
        let f = ctx.end_step(step, r).unwrap_err();
        assert_eq!(ctx.deadline, outer);
        assert!(
            f.message
                .starts_with("auto-login-action timed out after 0s"),
            "{}",
            f.message
        );
        // Without a limit nothing changes.
        let step = ctx.begin_step("bootloader-commands");
        assert_eq!(ctx.deadline, outer);
        let r: Result<(), Failure> = Err(Failure::job("x", "boom"));
        assert_eq!(ctx.end_step(step, r).unwrap_err().message, "boom");
    }
}
