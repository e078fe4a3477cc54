//! Failure tags: a lab's own names for why jobs fail, which staff put on jobs (with a
//! failure comment) and REST shows as `failure_tags`, LAVA's `JobFailureTag`.

use lava_common::ids::JobId;

use crate::{Db, Error};

/// A failure tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureTag {
    /// The id REST lists in a job's `failure_tags`.
    pub id: i32,
    /// Its name.
    pub name: String,
    /// What it means.
    pub description: String,
}

/// Every failure tag, by name.
pub async fn list(c: &impl Db) -> Result<Vec<FailureTag>, Error> {
    let rows = c
        .query(
            "SELECT id, name, description FROM failure_tags ORDER BY name",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(FailureTag {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
            })
        })
        .collect()
}

/// Creates a failure tag and returns its id; an existing name is an error naming it.
pub async fn add(c: &impl Db, name: &str, description: &str) -> Result<i32, Error> {
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "invalid failure tag {name:?}: it must have 1 to 256 characters, none of them control characters"
        )));
    }
    let row = c
        .query_opt(
            "INSERT INTO failure_tags (name, description) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING RETURNING id",
            &[&name, &description],
        )
        .await?;
    match row {
        Some(r) => Ok(r.try_get("id")?),
        None => Err(Error::AlreadyExists {
            what: "failure tag",
            key: name.to_string(),
        }),
    }
}

/// Deletes a failure tag and takes it off every job.
pub async fn remove(c: &impl Db, name: &str) -> Result<(), Error> {
    let Some(row) = c
        .query_opt(
            "DELETE FROM failure_tags WHERE name = $1 RETURNING id",
            &[&name],
        )
        .await?
    else {
        return Err(Error::not_found("failure tag", name));
    };
    let id: i32 = row.try_get("id")?;
    c.execute(
        "UPDATE jobs SET failure_tags = array_remove(failure_tags, $1) WHERE $1 = ANY(failure_tags)",
        &[&id],
    )
    .await?;
    Ok(())
}

/// Sets job `job`'s failure tags to `names` (replacing any it had) and, when given, its
/// failure comment. Every name must exist; nothing changes otherwise. Returns the ids set.
pub async fn set_on_job(
    c: &impl Db,
    job: JobId,
    names: &[String],
    comment: Option<&str>,
) -> Result<Vec<i32>, Error> {
    let rows = c
        .query(
            "SELECT id, name FROM failure_tags WHERE name = ANY($1)",
            &[&names],
        )
        .await?;
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let id = rows
            .iter()
            .find(|r| r.get::<_, &str>("name") == name)
            .map(|r| r.try_get::<_, i32>("id"))
            .transpose()?
            .ok_or_else(|| Error::not_found("failure tag", name))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let n = c
        .execute(
            "UPDATE jobs SET failure_tags = $2,
                failure_comment = COALESCE($3, failure_comment) WHERE id = $1",
            &[&job, &ids, &comment],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("job", job));
    }
    Ok(ids)
}
