//! The state machines of devices, jobs and workers.
//!
//! Each state is a Rust enum mapped one to one onto a PostgreSQL enum type (feature
//! `postgres`), so no code compares state strings by hand. Each enum knows its legal
//! transitions; the scheduler and the admin commands ask before they change anything.

use std::fmt;
use std::str::FromStr;

/// A value that is not one of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} '{value}' (expected one of: {expected})")]
pub struct ParseStateError {
    /// What was being parsed ("device health", …).
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
    /// The accepted names, comma separated.
    pub expected: String,
}

macro_rules! state_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $pg:tt, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $db:literal / $display:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        #[cfg_attr(feature = "postgres", derive(postgres_types::ToSql, postgres_types::FromSql))]
        #[cfg_attr(feature = "postgres", postgres(name = $pg, rename_all = "lowercase"))]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lowercase name used in the database, settings and command lines.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $db,)+ }
            }

            /// The capitalised name LAVA shows in its UI and APIs.
            pub fn display_name(self) -> &'static str {
                match self { $($name::$variant => $display,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseStateError;

            /// Accepts the name in any case (`good`, `Good`, `GOOD`).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
                    .ok_or_else(|| ParseStateError {
                        kind: $kind,
                        value: s.to_string(),
                        expected: $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    })
            }
        }
    };
}

state_enum! {
    /// What a device is doing.
    DeviceState, "device_state", "device state" {
        /// Free for the scheduler.
        Idle = "idle" / "Idle",
        /// Given a job that has not started yet.
        Reserved = "reserved" / "Reserved",
        /// Running a job.
        Running = "running" / "Running",
    }
}

state_enum! {
    /// Whether a device may be given jobs.
    DeviceHealth, "device_health", "device health" {
        /// Its last health check passed.
        Good = "good" / "Good",
        /// Not known: a health check runs before any other job.
        Unknown = "unknown" / "Unknown",
        /// Runs health checks in a loop (admin debugging aid).
        Looping = "looping" / "Looping",
        /// Its last health check failed: no jobs go there.
        Bad = "bad" / "Bad",
        /// Taken out of service by an admin.
        Maintenance = "maintenance" / "Maintenance",
        /// Gone for good; kept for history.
        Retired = "retired" / "Retired",
    }
}

state_enum! {
    /// Where a job is in its life.
    JobState, "job_state", "job state" {
        /// Queued, waiting for a device.
        Submitted = "submitted" / "Submitted",
        /// Given a device; the worker has not started it yet.
        Scheduled = "scheduled" / "Scheduled",
        /// Running on its device.
        Running = "running" / "Running",
        /// Cancel requested; waiting for the worker to stop it.
        Canceling = "canceling" / "Canceling",
        /// Over; see the health for how it ended.
        Finished = "finished" / "Finished",
    }
}

state_enum! {
    /// How a job ended.
    JobHealth, "job_health", "job health" {
        /// Not finished yet.
        Unknown = "unknown" / "Unknown",
        /// Ran to the end (failed test cases do not change this).
        Complete = "complete" / "Complete",
        /// Stopped by an error: boot failure, timeout, infrastructure.
        Incomplete = "incomplete" / "Incomplete",
        /// Canceled by a user or a queue timeout.
        Canceled = "canceled" / "Canceled",
    }
}

state_enum! {
    /// Whether a worker is talking to the server (from its heartbeats).
    WorkerState, "worker_state", "worker state" {
        /// Heard from within the heartbeat timeout.
        Online = "online" / "Online",
        /// Not heard from.
        Offline = "offline" / "Offline",
    }
}

state_enum! {
    /// Whether an admin lets a worker take jobs.
    WorkerHealth, "worker_health", "worker health" {
        /// Takes jobs.
        Active = "active" / "Active",
        /// Takes no new jobs.
        Maintenance = "maintenance" / "Maintenance",
        /// Gone for good; kept for history.
        Retired = "retired" / "Retired",
    }
}

state_enum! {
    /// Who may see a job.
    JobVisibility, "job_visibility", "job visibility" {
        /// Everyone, anonymous users included.
        Public = "public" / "Public",
        /// Its submitter only.
        Personal = "personal" / "Personal",
        /// Members of its viewing groups.
        Group = "group" / "Group",
    }
}

state_enum! {
    /// The result of one test case.
    TestResult, "test_result", "test result" {
        /// Passed.
        Pass = "pass" / "pass",
        /// Failed.
        Fail = "fail" / "fail",
        /// Not run.
        Skip = "skip" / "skip",
        /// Ran without a verdict.
        Unknown = "unknown" / "unknown",
    }
}

state_enum! {
    /// Where a job's notify callbacks are.
    CallbackState, "callback_state", "callback state" {
        /// Waiting to be sent (again).
        Pending = "pending" / "Pending",
        /// Every callback was delivered.
        Sent = "sent" / "Sent",
        /// Given up after the last retry.
        Failed = "failed" / "Failed",
        /// The notify criteria did not match this change.
        Skipped = "skipped" / "Skipped",
    }
}

impl DeviceState {
    /// Whether the scheduler or a worker may move a device from `self` to `to`.
    pub fn can_transition_to(self, to: DeviceState) -> bool {
        use DeviceState::*;
        matches!(
            (self, to),
            (Idle, Reserved) | (Reserved, Running) | (Reserved, Idle) | (Running, Idle)
        )
    }
}

impl DeviceHealth {
    /// Whether the health may change from `self` to `to`. A retired device only comes back
    /// through `unknown` or `maintenance`, so it is checked before it takes jobs again.
    pub fn can_transition_to(self, to: DeviceHealth) -> bool {
        use DeviceHealth::*;
        match (self, to) {
            (a, b) if a == b => false,
            (Retired, Unknown | Maintenance) => true,
            (Retired, _) => false,
            _ => true,
        }
    }

    /// Whether the scheduler may give the device an ordinary (non health check) job.
    pub fn accepts_jobs(self) -> bool {
        matches!(self, DeviceHealth::Good | DeviceHealth::Unknown)
    }
}

impl JobState {
    /// Whether a job may move from `self` to `to`.
    pub fn can_transition_to(self, to: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, to),
            (Submitted, Scheduled)
                | (Submitted, Finished)
                | (Scheduled, Running)
                | (Scheduled, Canceling)
                | (Scheduled, Finished)
                | (Running, Canceling)
                | (Running, Finished)
                | (Canceling, Finished)
        )
    }
}

impl JobHealth {
    /// Whether a job's health may change from `self` to `to`: it is set once, at the end.
    pub fn can_transition_to(self, to: JobHealth) -> bool {
        self == JobHealth::Unknown && to != JobHealth::Unknown
    }
}

impl WorkerState {
    /// Whether a worker may move from `self` to `to`.
    pub fn can_transition_to(self, to: WorkerState) -> bool {
        self != to
    }
}

impl WorkerHealth {
    /// Whether an admin may move a worker from `self` to `to`.
    pub fn can_transition_to(self, to: WorkerHealth) -> bool {
        self != to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks `can_transition_to` against an explicit list of legal pairs, for every pair.
    fn check_table<T: Copy + PartialEq + fmt::Debug>(
        all: &[T],
        legal: &[(T, T)],
        can: impl Fn(T, T) -> bool,
    ) {
        for &from in all {
            for &to in all {
                let expected = legal.contains(&(from, to));
                assert_eq!(can(from, to), expected, "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn device_state_transitions() {
        use DeviceState::*;
        let legal = [
            (Idle, Reserved),
            (Reserved, Running),
            (Reserved, Idle),
            (Running, Idle),
        ];
        check_table(DeviceState::ALL, &legal, DeviceState::can_transition_to);
    }

    #[test]
    fn device_health_transitions() {
        use DeviceHealth::*;
        let mut legal = Vec::new();
        for &a in DeviceHealth::ALL {
            for &b in DeviceHealth::ALL {
                let ok = a != b && (a != Retired || matches!(b, Unknown | Maintenance));
                if ok {
                    legal.push((a, b));
                }
            }
        }
        // Spot checks so the generated table itself is held to the rule.
        assert!(legal.contains(&(Good, Bad)));
        assert!(!legal.contains(&(Retired, Good)));
        assert!(legal.contains(&(Retired, Maintenance)));
        check_table(DeviceHealth::ALL, &legal, DeviceHealth::can_transition_to);
    }

    #[test]
    fn job_state_transitions() {
        use JobState::*;
        let legal = [
            (Submitted, Scheduled),
            (Submitted, Finished),
            (Scheduled, Running),
            (Scheduled, Canceling),
            (Scheduled, Finished),
            (Running, Canceling),
            (Running, Finished),
            (Canceling, Finished),
        ];
        check_table(JobState::ALL, &legal, JobState::can_transition_to);
    }

    #[test]
    fn job_health_transitions() {
        use JobHealth::*;
        let legal = [
            (Unknown, Complete),
            (Unknown, Incomplete),
            (Unknown, Canceled),
        ];
        check_table(JobHealth::ALL, &legal, JobHealth::can_transition_to);
    }

    #[test]
    fn worker_transitions() {
        use WorkerHealth::*;
        use WorkerState::*;
        check_table(
            WorkerState::ALL,
            &[(Online, Offline), (Offline, Online)],
            WorkerState::can_transition_to,
        );
        let legal = [
            (Active, Maintenance),
            (Active, Retired),
            (Maintenance, Active),
            (Maintenance, Retired),
            (Retired, Active),
            (Retired, Maintenance),
        ];
        check_table(WorkerHealth::ALL, &legal, WorkerHealth::can_transition_to);
    }

    #[test]
    fn names_parse_in_any_case() {
        for &h in DeviceHealth::ALL {
            assert_eq!(h.as_str().parse::<DeviceHealth>(), Ok(h));
            assert_eq!(
                h.display_name().to_uppercase().parse::<DeviceHealth>(),
                Ok(h)
            );
        }
        let err = "broken".parse::<DeviceHealth>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid device health 'broken' (expected one of: good, unknown, looping, bad, maintenance, retired)"
        );
    }

    #[test]
    fn only_good_and_unknown_accept_jobs() {
        let accepting: Vec<_> = DeviceHealth::ALL
            .iter()
            .filter(|h| h.accepts_jobs())
            .collect();
        assert_eq!(accepting, [&DeviceHealth::Good, &DeviceHealth::Unknown]);
    }
}
