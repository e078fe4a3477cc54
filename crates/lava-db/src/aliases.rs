//! Device-type aliases: other names a job may give as its `device_type`, resolved to the
//! real type at submission.

use crate::{Db, Error};

/// An alias and the device type it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// The alias.
    pub name: String,
    /// The device type it stands for.
    pub device_type: String,
}

/// Every alias, by name.
pub async fn list(c: &impl Db) -> Result<Vec<Alias>, Error> {
    let rows = c
        .query(
            "SELECT name, device_type FROM device_type_aliases ORDER BY name",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Alias {
                name: r.try_get("name")?,
                device_type: r.try_get("device_type")?,
            })
        })
        .collect()
}

/// One alias, if it exists.
pub async fn get(c: &impl Db, name: &str) -> Result<Option<Alias>, Error> {
    let row = c
        .query_opt(
            "SELECT name, device_type FROM device_type_aliases WHERE name = $1",
            &[&name],
        )
        .await?;
    row.map(|r| {
        Ok(Alias {
            name: r.try_get("name")?,
            device_type: r.try_get("device_type")?,
        })
    })
    .transpose()
}

/// The aliases of one device type, by name.
pub async fn of_type(c: &impl Db, device_type: &str) -> Result<Vec<String>, Error> {
    let rows = c
        .query(
            "SELECT name FROM device_type_aliases WHERE device_type = $1 ORDER BY name",
            &[&device_type],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get("name"))
        .collect::<Result<_, _>>()?)
}

/// Adds an alias for a device type. Refused, naming it, when the alias exists, is the name of
/// a device type, or the device type does not exist.
pub async fn add(c: &impl Db, name: &str, device_type: &str) -> Result<(), Error> {
    lava_common::ids::check_name("alias", name).map_err(|e| Error::Invalid(e.to_string()))?;
    if c.query_opt(
        "SELECT 1 FROM device_types WHERE name = $1",
        &[&device_type],
    )
    .await?
    .is_none()
    {
        return Err(Error::not_found("device type", device_type));
    }
    if c.query_opt("SELECT 1 FROM device_types WHERE name = $1", &[&name])
        .await?
        .is_some()
    {
        return Err(Error::Invalid(format!(
            "alias '{name}' is the name of a device type"
        )));
    }
    let n = c
        .execute(
            "INSERT INTO device_type_aliases (name, device_type) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            &[&name, &device_type],
        )
        .await?;
    if n == 0 {
        return Err(Error::AlreadyExists {
            what: "alias",
            key: name.to_string(),
        });
    }
    Ok(())
}

/// Deletes an alias; with `device_type`, only if it names that type. `NotFound` names the
/// alias otherwise.
pub async fn delete(c: &impl Db, name: &str, device_type: Option<&str>) -> Result<(), Error> {
    let n = c
        .execute(
            "DELETE FROM device_type_aliases WHERE name = $1
             AND ($2::text IS NULL OR device_type = $2)",
            &[&name, &device_type],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("alias", name));
    }
    Ok(())
}

/// The device type a job's `device_type` means: the type itself when one has that name,
/// else the type an alias names; `None` when neither exists.
pub async fn resolve(c: &impl Db, name: &str) -> Result<Option<String>, Error> {
    let row = c
        .query_opt(
            "SELECT name FROM device_types WHERE name = $1
             UNION ALL
             SELECT device_type FROM device_type_aliases WHERE name = $1
             LIMIT 1",
            &[&name],
        )
        .await?;
    Ok(row.map(|r| r.try_get("name")).transpose()?)
}
