//! Checked moves: a change of state and health that the state machines of
//! `lava_common::state` allow, written as one `UPDATE` that names the old values and one
//! transition row. A move cannot be built for an illegal change, so nothing in this module
//! writes one.

use lava_common::ids::{DeviceName, JobId};
use lava_common::state::{DeviceHealth, DeviceState, JobHealth, JobState};
use postgres_types::ToSql;

use crate::{Db, Error};

/// Why a move was refused: the change is not one the state machine allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} cannot go from {from} to {to}")]
pub struct Illegal {
    /// The object ("job 7", "device 'kvm01'").
    pub what: String,
    /// Its state (and health) now.
    pub from: String,
    /// The state (and health) asked for.
    pub to: String,
}

impl From<Illegal> for Error {
    fn from(e: Illegal) -> Error {
        Error::Invalid(e.to_string())
    }
}

/// Extra SQL parameters of a move's `UPDATE`, numbered after the move's own.
pub(super) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// A legal change of a job's state and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct JobMove {
    from: (JobState, JobHealth),
    to: (JobState, JobHealth),
}

impl JobMove {
    /// The move of job `id` from `from` to `to`, as [`JobMove::new`] checks it.
    pub(super) fn of_job(
        id: JobId,
        from: (JobState, JobHealth),
        to: (JobState, JobHealth),
    ) -> Result<JobMove, Illegal> {
        JobMove::new(from, to).map_err(|e| Illegal {
            what: format!("job {id}"),
            ..e
        })
    }

    /// The move of a job from `from` to `to`: the state must change as
    /// [`JobState::can_transition_to`] allows; the health stays or changes as
    /// [`JobHealth::can_transition_to`] allows.
    pub(super) fn new(
        from: (JobState, JobHealth),
        to: (JobState, JobHealth),
    ) -> Result<JobMove, Illegal> {
        let health_ok = from.1 == to.1 || from.1.can_transition_to(to.1);
        if from.0.can_transition_to(to.0) && health_ok {
            Ok(JobMove { from, to })
        } else {
            Err(Illegal {
                what: "a job".into(),
                from: format!("{} ({})", from.0, from.1),
                to: format!("{} ({})", to.0, to.1),
            })
        }
    }

    /// The state and health it leaves.
    pub(super) fn from(self) -> (JobState, JobHealth) {
        self.from
    }

    /// The state and health it reaches.
    pub(super) fn to(self) -> (JobState, JobHealth) {
        self.to
    }

    /// Applies the move to job `id`: `UPDATE jobs SET state, health{sets} WHERE id AND the old
    /// state and health{cond}`, where `sets` and `cond` number their parameters from `$6`
    /// (`extra`); then its transition row. Returns false, having written nothing, when the
    /// row was not as expected (a lost race).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write(
        self,
        c: &impl Db,
        id: JobId,
        (sets, cond, extra): (&str, &str, Params<'_>),
        device: Option<&DeviceName>,
        actor: Option<i64>,
        reason: &str,
    ) -> Result<bool, Error> {
        let sql = format!(
            "UPDATE jobs SET state = $2, health = $3{sets}
             WHERE id = $1 AND state = $4 AND health = $5{cond}"
        );
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&id, &self.to.0, &self.to.1, &self.from.0, &self.from.1];
        params.extend_from_slice(extra);
        if c.execute(&sql, &params).await? == 0 {
            return Ok(false);
        }
        self.record(c, id, device, actor, reason).await?;
        Ok(true)
    }

    /// Writes the transition row of a move applied by the caller's own statement, and
    /// queues the job's notify callbacks when it started or ended.
    pub(super) async fn record(
        self,
        c: &impl Db,
        id: JobId,
        device: Option<&DeviceName>,
        actor: Option<i64>,
        reason: &str,
    ) -> Result<(), Error> {
        c.execute(
            "INSERT INTO job_transitions (job_id, old_state, new_state, old_health, new_health,
                device, actor_id, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &id,
                &self.from.0,
                &self.to.0,
                &self.from.1,
                &self.to.1,
                &device,
                &actor,
                &reason,
            ],
        )
        .await?;
        if matches!(self.to.0, JobState::Running | JobState::Finished) {
            crate::callbacks::queue(c, id, self.to.0).await?;
        }
        Ok(())
    }
}

/// A legal change of a device's state and health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DeviceMove {
    from: (DeviceState, DeviceHealth),
    to: (DeviceState, DeviceHealth),
}

impl DeviceMove {
    /// The move of device `name` from `from` to `to`: something changes, and each of state
    /// and health stays or changes as its `can_transition_to` allows.
    pub(super) fn new(
        name: &DeviceName,
        from: (DeviceState, DeviceHealth),
        to: (DeviceState, DeviceHealth),
    ) -> Result<DeviceMove, Illegal> {
        let state_ok = from.0 == to.0 || from.0.can_transition_to(to.0);
        let health_ok = from.1 == to.1 || from.1.can_transition_to(to.1);
        if from != to && state_ok && health_ok {
            Ok(DeviceMove { from, to })
        } else {
            Err(Illegal {
                what: format!("device '{name}'"),
                from: describe(from, to, from),
                to: describe(from, to, to),
            })
        }
    }

    /// Applies the move to device `name`, as [`JobMove::write`] does for a job.
    pub(super) async fn write(
        self,
        c: &impl Db,
        name: &DeviceName,
        (sets, cond, extra): (&str, &str, Params<'_>),
        job: Option<JobId>,
        actor: Option<i64>,
        reason: &str,
    ) -> Result<bool, Error> {
        let sql = format!(
            "UPDATE devices SET state = $2, health = $3{sets}
             WHERE hostname = $1 AND state = $4 AND health = $5{cond}"
        );
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&name, &self.to.0, &self.to.1, &self.from.0, &self.from.1];
        params.extend_from_slice(extra);
        if c.execute(&sql, &params).await? == 0 {
            return Ok(false);
        }
        c.execute(
            "INSERT INTO device_transitions (device, old_state, new_state, old_health, new_health,
                job_id, actor_id, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &name,
                &self.from.0,
                &self.to.0,
                &self.from.1,
                &self.to.1,
                &job,
                &actor,
                &reason,
            ],
        )
        .await?;
        Ok(true)
    }
}

/// A legal change of devices' state alone, their health staying what it is: for the one
/// statement that moves many devices at once (assignment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DeviceStateMove {
    from: DeviceState,
    to: DeviceState,
}

impl DeviceStateMove {
    /// The move from `from` to `to`, as [`DeviceState::can_transition_to`] allows.
    pub(super) fn new(from: DeviceState, to: DeviceState) -> Result<DeviceStateMove, Illegal> {
        if from.can_transition_to(to) {
            Ok(DeviceStateMove { from, to })
        } else {
            Err(Illegal {
                what: "a device".into(),
                from: from.to_string(),
                to: to.to_string(),
            })
        }
    }

    /// The state it leaves and the state it reaches.
    pub(super) fn states(self) -> (DeviceState, DeviceState) {
        (self.from, self.to)
    }
}

/// A device's state and health for a refusal: only the half that was asked to change, when
/// the other stays.
fn describe(
    from: (DeviceState, DeviceHealth),
    to: (DeviceState, DeviceHealth),
    side: (DeviceState, DeviceHealth),
) -> String {
    match (from.0 == to.0, from.1 == to.1) {
        (true, false) => side.1.to_string(),
        (false, true) => side.0.to_string(),
        _ => format!("{} ({})", side.0, side.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_legal_moves_are_built() {
        use JobHealth as H;
        use JobState as S;
        assert!(JobMove::new((S::Submitted, H::Unknown), (S::Scheduled, H::Unknown)).is_ok());
        assert!(JobMove::new((S::Running, H::Unknown), (S::Finished, H::Complete)).is_ok());
        let e = JobMove::of_job(
            JobId(7),
            (S::Finished, H::Complete),
            (S::Finished, H::Incomplete),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "job 7 cannot go from finished (complete) to finished (incomplete)"
        );
        assert!(JobMove::new((S::Running, H::Unknown), (S::Submitted, H::Unknown)).is_err());

        use DeviceHealth as DH;
        use DeviceState as DS;
        assert!(
            DeviceMove::new(
                &DeviceName::from("d"),
                (DS::Idle, DH::Good),
                (DS::Reserved, DH::Good)
            )
            .is_ok()
        );
        assert!(
            DeviceMove::new(
                &DeviceName::from("d"),
                (DS::Running, DH::Good),
                (DS::Idle, DH::Bad)
            )
            .is_ok()
        );
        let e = DeviceMove::new(
            &DeviceName::from("kvm01"),
            (DS::Idle, DH::Retired),
            (DS::Idle, DH::Good),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "device 'kvm01' cannot go from retired to good"
        );
        assert!(
            DeviceMove::new(
                &DeviceName::from("d"),
                (DS::Idle, DH::Good),
                (DS::Running, DH::Good)
            )
            .is_err()
        );
        assert!(
            DeviceMove::new(
                &DeviceName::from("d"),
                (DS::Idle, DH::Good),
                (DS::Idle, DH::Good)
            )
            .is_err()
        );
    }
}
