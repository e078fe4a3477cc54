//! `results.*`: a job's test cases as LAVA's YAML export, whole, by suite or by case name.

use lava_common::ids::JobId;
use lava_db::job_list;
use lava_db::results::CaseDetail;

use super::args::Args;
use super::codec::Value;
use super::{Ctx, Fault};
use crate::web::rest::results::{rows, yaml_list};

fn job_not_found() -> Fault {
    Fault::new(404, "Specified job not found.")
}

/// The cases of job `job_id` if the caller may see it (a job they may not see is answered
/// like a missing one).
async fn cases(ctx: &Ctx, a: &Args) -> Result<(JobId, Vec<CaseDetail>), Fault> {
    let id = match a.job_id(0, "job_id") {
        Ok(id) => id,
        Err(f) if f.code == 404 => return Err(job_not_found()),
        Err(f) => return Err(f),
    };
    let c = ctx.db().await?;
    job_list::get(&c, &ctx.viewer(), id)
        .await?
        .ok_or_else(job_not_found)?;
    let cases = lava_db::results::cases_page(&c, id, 0, 0).await?;
    Ok((id, cases))
}

fn yaml(ctx: &Ctx, job: JobId, cases: &[CaseDetail]) -> Value {
    Value::Str(yaml_list(rows(&ctx.base, job, cases)))
}

/// `results.get_testjob_results_yaml(job_id)`.
pub async fn job(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let (id, cases) = cases(ctx, &a).await?;
    Ok(yaml(ctx, id, &cases))
}

fn in_suite(cases: Vec<CaseDetail>, suite: &str) -> Result<Vec<CaseDetail>, Fault> {
    let kept: Vec<CaseDetail> = cases.into_iter().filter(|c| c.suite == suite).collect();
    if kept.is_empty() {
        return Err(Fault::new(404, "Specified test suite(s) not found."));
    }
    Ok(kept)
}

/// `results.get_testsuite_results_yaml(job_id, suite_name, limit=None, offset=None)`.
pub async fn suite(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let suite_name = a.string(1, "suite_name")?;
    let limit = a.opt_int(2, "limit")?;
    let offset = a.opt_int(3, "offset")?.unwrap_or(0).max(0) as usize;
    let (id, all) = cases(ctx, &a).await?;
    let kept = in_suite(all, &suite_name)?;
    let page: Vec<CaseDetail> = kept
        .into_iter()
        .skip(offset)
        .take(limit.map_or(usize::MAX, |l| l.max(0) as usize))
        .collect();
    Ok(yaml(ctx, id, &page))
}

/// `results.get_testcase_results_yaml(job_id, suite_name, case_name)`: every case of the
/// suite with that name (a test may report one name several times).
pub async fn case(ctx: &Ctx, a: Args) -> Result<Value, Fault> {
    let suite_name = a.string(1, "suite_name")?;
    let case_name = a.string(2, "case_name")?;
    let (id, all) = cases(ctx, &a).await?;
    let kept: Vec<CaseDetail> = in_suite(all, &suite_name)?
        .into_iter()
        .filter(|c| c.name == case_name)
        .collect();
    if kept.is_empty() {
        return Err(Fault::new(404, "Specified test case not found."));
    }
    Ok(yaml(ctx, id, &kept))
}
