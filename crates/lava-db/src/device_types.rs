//! Device types.

use lava_common::fixture::{DeviceTypeRecord, HealthDenominator};
use lava_common::ids::DeviceTypeName;
use tokio_postgres::Row;

use crate::{Db, Error};

/// A device type with the number of its devices (retired ones not counted).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceType {
    /// The stored fields.
    pub info: DeviceTypeRecord,
    /// How many non-retired devices have this type.
    pub devices: i64,
}

const SELECT: &str = "SELECT t.name, t.description, t.health_check_job, t.health_frequency,
        t.health_denominator, t.disable_health_check, t.display,
        (SELECT count(*) FROM devices d WHERE d.device_type = t.name AND d.health <> 'retired') AS devices
    FROM device_types t";

fn from_row(row: &Row) -> Result<DeviceType, Error> {
    Ok(DeviceType {
        info: DeviceTypeRecord {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            health_check_job: row.try_get("health_check_job")?,
            health_frequency: row.try_get("health_frequency")?,
            health_denominator: row.try_get::<_, HealthDenominator>("health_denominator")?,
            disable_health_check: row.try_get("disable_health_check")?,
            display: row.try_get("display")?,
        },
        devices: row.try_get("devices")?,
    })
}

/// Every device type, by name.
pub async fn list(c: &impl Db) -> Result<Vec<DeviceType>, Error> {
    let rows = c.query(&format!("{SELECT} ORDER BY t.name"), &[]).await?;
    rows.iter().map(from_row).collect()
}

/// One device type, if it exists.
pub async fn get(c: &impl Db, name: &DeviceTypeName) -> Result<Option<DeviceType>, Error> {
    let row = c
        .query_opt(&format!("{SELECT} WHERE t.name = $1"), &[&name])
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Inserts a device type, or updates every field of an existing one (fixture loading).
pub async fn upsert(c: &impl Db, t: &DeviceTypeRecord) -> Result<(), Error> {
    c.execute(
        "INSERT INTO device_types (name, description, health_check_job, health_frequency,
                health_denominator, disable_health_check, display)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description,
            health_check_job = EXCLUDED.health_check_job,
            health_frequency = EXCLUDED.health_frequency,
            health_denominator = EXCLUDED.health_denominator,
            disable_health_check = EXCLUDED.disable_health_check,
            display = EXCLUDED.display",
        &[
            &t.name,
            &t.description,
            &t.health_check_job,
            &t.health_frequency,
            &t.health_denominator,
            &t.disable_health_check,
            &t.display,
        ],
    )
    .await?;
    Ok(())
}

/// Adds a device type with default settings; fails if it exists.
pub async fn add(c: &impl Db, name: &DeviceTypeName, description: &str) -> Result<(), Error> {
    let n = c
        .execute(
            "INSERT INTO device_types (name, description) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&name, &description],
        )
        .await?;
    if n == 0 {
        return Err(Error::AlreadyExists {
            what: "device type",
            key: name.to_string(),
        });
    }
    Ok(())
}

/// Adds a device type with default settings unless it exists; returns whether it was added.
pub async fn ensure(c: &impl Db, name: &DeviceTypeName) -> Result<bool, Error> {
    let n = c
        .execute(
            "INSERT INTO device_types (name) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&name],
        )
        .await?;
    Ok(n == 1)
}

/// Sets (or with `None` clears) the type's health check job definition.
pub async fn set_health_check(
    c: &impl Db,
    name: &DeviceTypeName,
    job: Option<&str>,
) -> Result<(), Error> {
    let n = c
        .execute(
            "UPDATE device_types SET health_check_job = $2 WHERE name = $1",
            &[&name, &job],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("device type", name));
    }
    Ok(())
}

/// The settings `scheduler.device_types.update` may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeChanges {
    /// Free text.
    pub description: Option<String>,
    /// Shown in the lists of the web pages.
    pub display: Option<bool>,
    /// How many hours or jobs between health checks (at least 1).
    pub health_frequency: Option<i32>,
    /// Whether the frequency counts hours or jobs.
    pub health_denominator: Option<HealthDenominator>,
    /// Health checks off.
    pub disable_health_check: Option<bool>,
}

/// Applies `t` to device type `name` in one statement. `NotFound` names it when it does not
/// exist; a frequency below 1 is refused naming the value.
pub async fn update(c: &impl Db, name: &str, t: &TypeChanges) -> Result<(), Error> {
    if let Some(f) = t.health_frequency.filter(|f| *f < 1) {
        return Err(Error::Invalid(format!(
            "health frequency {f} is not a positive number"
        )));
    }
    let n = c
        .execute(
            "UPDATE device_types SET description = coalesce($2, description),
                display = coalesce($3, display),
                health_frequency = coalesce($4, health_frequency),
                health_denominator = coalesce($5, health_denominator),
                disable_health_check = coalesce($6, disable_health_check)
             WHERE name = $1",
            &[
                &name,
                &t.description,
                &t.display,
                &t.health_frequency,
                &t.health_denominator,
                &t.disable_health_check,
            ],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("device type", name));
    }
    Ok(())
}
