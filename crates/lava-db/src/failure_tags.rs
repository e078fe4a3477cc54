//! Failure tags: a lab's own names for why jobs fail, which staff put on jobs (with a
//! failure comment) and REST shows as `failure_tags`, LAVA's `JobFailureTag`.

use lava_common::ids::{JobId, check_failure_tag_name};

use crate::{Db, Error};

/// A failure tag: a lab's name for why jobs fail, put on jobs by staff (LAVA's `JobFailureTag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureTag {
    /// The id REST lists in a job's `failure_tags`.
    pub id: i32,
    /// Unique among tags.
    pub name: String,
    /// What it means (empty when nobody said).
    pub description: String,
}

fn tag(r: &tokio_postgres::Row) -> Result<FailureTag, Error> {
    Ok(FailureTag {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
    })
}

/// Every failure tag, by name.
pub async fn list(c: &impl Db) -> Result<Vec<FailureTag>, Error> {
    let rows = c
        .query(
            "SELECT id, name, description FROM failure_tags ORDER BY name",
            &[],
        )
        .await?;
    rows.iter().map(tag).collect()
}

/// Every failure tag in id order, the order `dumpdata` writes them (so a dump loaded into an
/// empty database gives the same ids back).
pub async fn list_by_id(c: &impl Db) -> Result<Vec<FailureTag>, Error> {
    let rows = c
        .query(
            "SELECT id, name, description FROM failure_tags ORDER BY id",
            &[],
        )
        .await?;
    rows.iter().map(tag).collect()
}

/// Failure tag `id`, if there is one.
pub async fn get(c: &impl Db, id: i32) -> Result<Option<FailureTag>, Error> {
    let row = c
        .query_opt(
            "SELECT id, name, description FROM failure_tags WHERE id = $1",
            &[&id],
        )
        .await?;
    row.as_ref().map(tag).transpose()
}

fn check(name: &str) -> Result<(), Error> {
    check_failure_tag_name(name).map_err(|e| Error::Invalid(e.to_string()))
}

/// Creates a failure tag and returns its id; an existing name is an error naming it.
pub async fn add(c: &impl Db, name: &str, description: &str) -> Result<i32, Error> {
    check(name)?;
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

/// Creates the tag `name` or, when it exists, sets its description (a fixture loaded twice
/// changes nothing the second time); returns its id.
pub async fn upsert(c: &impl Db, name: &str, description: &str) -> Result<i32, Error> {
    check(name)?;
    let row = c
        .query_one(
            "INSERT INTO failure_tags (name, description) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description RETURNING id",
            &[&name, &description],
        )
        .await?;
    Ok(row.try_get("id")?)
}

/// Renames tag `id` and sets its description. Jobs refer to tags by id, so they keep it
/// under its new name; a name another tag has is an error naming it.
pub async fn update(c: &impl Db, id: i32, name: &str, description: &str) -> Result<(), Error> {
    check(name)?;
    let taken = c
        .query_opt(
            "SELECT 1 FROM failure_tags WHERE name = $1 AND id <> $2",
            &[&name, &id],
        )
        .await?;
    if taken.is_some() {
        return Err(Error::AlreadyExists {
            what: "failure tag",
            key: name.to_string(),
        });
    }
    let n = c
        .execute(
            "UPDATE failure_tags SET name = $2, description = $3 WHERE id = $1",
            &[&id, &name, &description],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("failure tag", id));
    }
    Ok(())
}

/// Deletes a failure tag and takes it off every job.
pub async fn remove(c: &impl Db, name: &str) -> Result<(), Error> {
    let row = c
        .query_opt(
            "DELETE FROM failure_tags WHERE name = $1 RETURNING id",
            &[&name],
        )
        .await?;
    let Some(row) = row else {
        return Err(Error::not_found("failure tag", name));
    };
    untag_jobs(c, row.try_get("id")?).await
}

/// Deletes failure tag `id` and takes it off every job; returns the name it had.
pub async fn remove_id(c: &impl Db, id: i32) -> Result<String, Error> {
    let row = c
        .query_opt(
            "DELETE FROM failure_tags WHERE id = $1 RETURNING name",
            &[&id],
        )
        .await?;
    let Some(row) = row else {
        return Err(Error::not_found("failure tag", id));
    };
    untag_jobs(c, id).await?;
    Ok(row.try_get("name")?)
}

/// Takes a deleted tag off every job (jobs hold tag ids in an array, not a foreign key).
async fn untag_jobs(c: &impl Db, id: i32) -> Result<(), Error> {
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
