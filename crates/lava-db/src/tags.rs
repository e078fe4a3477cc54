//! Tags: named markers on devices that jobs may require (`tags:` in a job). A device's tag
//! names live in `devices.tags`, which the scheduler matches; every name there has a row in
//! `tags` with its description.

use crate::{Db, Error};

/// A tag as `scheduler.tags.list` and REST show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Unique; what jobs list in `tags` and devices carry.
    pub name: String,
    /// What it means, if anyone said.
    pub description: Option<String>,
}

/// A tag with the devices that carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagDevices {
    /// The tag itself: name and description.
    pub tag: Tag,
    /// The hostnames of its devices, sorted.
    pub devices: Vec<String>,
}

/// Every tag, by name.
pub async fn list(c: &impl Db) -> Result<Vec<Tag>, Error> {
    let rows = c
        .query("SELECT name, description FROM tags ORDER BY name", &[])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Tag {
                name: r.try_get("name")?,
                description: r.try_get("description")?,
            })
        })
        .collect()
}

/// One tag and its devices, if it exists.
pub async fn get(c: &impl Db, name: &str) -> Result<Option<TagDevices>, Error> {
    let Some(row) = c
        .query_opt(
            "SELECT name, description FROM tags WHERE name = $1",
            &[&name],
        )
        .await?
    else {
        return Ok(None);
    };
    let rows = c
        .query(
            "SELECT hostname FROM devices WHERE $1 = ANY(tags) ORDER BY hostname",
            &[&name],
        )
        .await?;
    Ok(Some(TagDevices {
        tag: Tag {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
        },
        devices: rows
            .iter()
            .map(|r| r.try_get("hostname"))
            .collect::<Result<_, _>>()?,
    }))
}

/// Checks a tag name: what `tags` accepts (1 to 50 characters, no whitespace or commas,
/// which would make lists of tags ambiguous).
pub fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.chars().count() > 50 {
        return Err(Error::Invalid(format!(
            "invalid tag '{name}': it must have 1 to 50 characters"
        )));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c == ',' || c.is_control())
    {
        return Err(Error::Invalid(format!(
            "invalid tag '{name}': no spaces, commas or control characters"
        )));
    }
    Ok(())
}

/// Creates a tag; an existing one is an error naming it.
pub async fn add(c: &impl Db, name: &str, description: Option<&str>) -> Result<(), Error> {
    check_name(name)?;
    let n = c
        .execute(
            "INSERT INTO tags (name, description) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&name, &description],
        )
        .await?;
    if n == 0 {
        return Err(Error::AlreadyExists {
            what: "tag",
            key: name.to_string(),
        });
    }
    Ok(())
}

/// Deletes a tag and takes it off every device; `NotFound` when there is no such tag.
pub async fn delete(c: &impl Db, name: &str) -> Result<(), Error> {
    c.execute(
        "UPDATE devices SET tags = array_remove(tags, $1) WHERE $1 = ANY(tags)",
        &[&name],
    )
    .await?;
    let n = c
        .execute("DELETE FROM tags WHERE name = $1", &[&name])
        .await?;
    if n == 0 {
        return Err(Error::not_found("tag", name));
    }
    Ok(())
}

/// The tags of a device, sorted; `None` when there is no such device.
pub async fn of_device(c: &impl Db, hostname: &str) -> Result<Option<Vec<String>>, Error> {
    let row = c
        .query_opt(
            "SELECT ARRAY(SELECT unnest(tags) ORDER BY 1) AS tags FROM devices WHERE hostname = $1",
            &[&hostname],
        )
        .await?;
    Ok(row.map(|r| r.try_get("tags")).transpose()?)
}

/// Puts a tag on a device, creating the tag if it is new (as LAVA does). Already there is
/// not an error. `NotFound` names the device when it does not exist.
pub async fn add_to_device(c: &impl Db, hostname: &str, tag: &str) -> Result<(), Error> {
    check_name(tag)?;
    c.execute(
        "INSERT INTO tags (name) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&tag],
    )
    .await?;
    let n = c
        .execute(
            "UPDATE devices SET tags = CASE WHEN $2 = ANY(tags) THEN tags
                                          ELSE array_append(tags, $2) END
             WHERE hostname = $1",
            &[&hostname, &tag],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("device", hostname));
    }
    Ok(())
}

/// Takes a tag off a device. `NotFound` names the device, or the tag when the device does
/// not carry it.
pub async fn remove_from_device(c: &impl Db, hostname: &str, tag: &str) -> Result<(), Error> {
    let Some(tags) = of_device(c, hostname).await? else {
        return Err(Error::not_found("device", hostname));
    };
    if !tags.iter().any(|t| t == tag) {
        return Err(Error::not_found("tag", tag));
    }
    c.execute(
        "UPDATE devices SET tags = array_remove(tags, $2) WHERE hostname = $1",
        &[&hostname, &tag],
    )
    .await?;
    Ok(())
}

/// Makes sure every name in `tags` has a row in `tags` (devices loaded from fixtures or
/// added by admin commands with tags).
pub async fn ensure(c: &impl Db, tags: &[String]) -> Result<(), Error> {
    for t in tags {
        check_name(t)?;
    }
    c.execute(
        "INSERT INTO tags (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        &[&tags],
    )
    .await?;
    Ok(())
}
