//! Who is looking: the one place that decides which jobs a caller may see.
//!
//! LAVA's rules: a public job is visible to everybody; a personal job to its submitter; a
//! group job to its submitter and to the members of its viewing groups; a superuser sees
//! every job. Every query that reads jobs for a caller adds [`Viewer::job_condition`].

use lava_common::ids::JobId;

/// The caller of a page or API, as far as visibility goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Viewer {
    /// The user's id; `None` for an anonymous caller.
    pub user_id: Option<i64>,
    /// A superuser sees every job.
    pub superuser: bool,
}

impl Viewer {
    /// An anonymous caller.
    pub const ANONYMOUS: Viewer = Viewer {
        user_id: None,
        superuser: false,
    };

    /// A SQL condition, true for the rows of `jobs` (under `alias`) this viewer may see. It reads
    /// the user id from parameter `$user_param` (a nullable bigint) and the superuser flag from
    /// `$user_param + 1` (a boolean); pass [`Viewer::params`] there.
    pub fn job_condition(alias: &str, user_param: usize) -> String {
        let u = user_param;
        let s = user_param + 1;
        format!(
            "(${s}::boolean OR {alias}.visibility = 'public' \
             OR {alias}.submitter_id = ${u}::bigint \
             OR ({alias}.visibility = 'group' AND EXISTS (\
                 SELECT 1 FROM job_viewing_groups vg \
                 JOIN user_groups ug ON ug.group_id = vg.group_id \
                 WHERE vg.job_id = {alias}.id AND ug.user_id = ${u}::bigint)))"
        )
    }

    /// The two parameter values [`Viewer::job_condition`] reads, in order.
    pub fn params(&self) -> (Option<i64>, bool) {
        (self.user_id, self.superuser)
    }
}

/// Whether `viewer` may see job `id`; `false` also when the job does not exist, so callers
/// answer "not found" in both cases and never leak that a private job exists.
pub async fn can_see_job(
    c: &impl crate::Db,
    viewer: &Viewer,
    id: JobId,
) -> Result<bool, crate::Error> {
    let (user, su) = viewer.params();
    let sql = format!(
        "SELECT 1 FROM jobs j WHERE j.id = $1 AND {}",
        Viewer::job_condition("j", 2)
    );
    Ok(c.query_opt(&sql, &[&id, &user, &su]).await?.is_some())
}
