//! What an import would change, worked out against the database and the files in place, and
//! the changes made. Only what differs is a change, so a second import of the same lab
//! changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use lava_common::fixture::{DeviceRecord, DeviceTypeRecord, Item, UserRecord, WorkerRecord};
use lava_common::ids::{DeviceName, DeviceTypeName, WorkerName};
use lava_common::settings::Settings;

use super::tree::Tree;
use crate::conffiles::read_optional;

/// One change.
#[derive(Debug, Clone)]
pub enum Change {
    /// A group to add.
    Group(String),
    /// A user to add (`new`) or update.
    User { record: UserRecord, new: bool },
    /// A user to put into a group.
    Member { user: String, group: String },
    /// A tag to add.
    Tag {
        name: String,
        description: Option<String>,
    },
    /// A job failure tag to add.
    FailureTag { name: String, description: String },
    /// A device type to add or update.
    DeviceType { record: DeviceTypeRecord, new: bool },
    /// An alias to add, or to point at another type (`new` false).
    Alias {
        name: String,
        device_type: String,
        new: bool,
    },
    /// A worker to add or update.
    Worker { record: WorkerRecord, new: bool },
    /// A device to add or update.
    Device { record: DeviceRecord, new: bool },
    /// A file to write (whole, replacing what is there).
    File {
        path: PathBuf,
        text: String,
        new: bool,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = |new: bool| if new { "add" } else { "update" };
        match self {
            Change::Group(g) => write!(f, "add group {g}"),
            Change::User { record, new } => write!(f, "{} user {}", sign(*new), record.username),
            Change::Member { user, group } => write!(f, "add user {user} to group {group}"),
            Change::Tag { name, .. } => write!(f, "add tag {name}"),
            Change::FailureTag { name, .. } => write!(f, "add failure tag {name}"),
            Change::DeviceType { record, new } => {
                write!(f, "{} device type {}", sign(*new), record.name)?;
                if record.health_check_job.is_some() {
                    write!(f, " (with its health check)")?;
                }
                Ok(())
            }
            Change::Alias {
                name,
                device_type,
                new,
            } => write!(f, "{} alias {name} → {device_type}", sign(*new)),
            Change::Worker { record, new } => {
                write!(f, "{} worker {}", sign(*new), record.hostname)
            }
            Change::Device { record, new } => write!(
                f,
                "{} device {} ({}, {}{})",
                sign(*new),
                record.hostname,
                record.device_type,
                record.health,
                record
                    .worker_host
                    .as_ref()
                    .map(|w| format!(", on {w}"))
                    .unwrap_or_default()
            ),
            Change::File { path, new, .. } => {
                write!(
                    f,
                    "{} file {}",
                    if *new { "write" } else { "replace" },
                    path.display()
                )
            }
        }
    }
}

/// What the dump holds, typed.
#[derive(Debug, Default)]
pub struct Records {
    /// Users, with the groups each belongs to.
    pub users: Vec<(UserRecord, Vec<String>)>,
    /// Every group named in the dump.
    pub groups: Vec<String>,
    /// Tags and their descriptions.
    pub tags: Vec<(String, Option<String>)>,
    /// Job failure tags and their descriptions.
    pub failure_tags: Vec<(String, String)>,
    pub device_types: Vec<DeviceTypeRecord>,
    /// Aliases to device types.
    pub aliases: Vec<(String, String)>,
    pub workers: Vec<WorkerRecord>,
    pub devices: Vec<DeviceRecord>,
}

impl Records {
    /// Sorts the dump's typed items.
    pub fn new(
        items: &[(usize, Item)],
        dump: &lava_common::fixture::lava_dump::LabDump,
    ) -> Records {
        let members: BTreeMap<String, Vec<String>> = dump.member_names().into_iter().collect();
        let mut r = Records {
            groups: dump.group_names(),
            tags: dump.tags.values().cloned().collect(),
            failure_tags: dump.failure_tags.values().cloned().collect(),
            aliases: dump.aliases.clone(),
            ..Records::default()
        };
        for (_, item) in items {
            match item {
                Item::User(u) => r.users.push((
                    u.clone(),
                    members.get(&u.username).cloned().unwrap_or_default(),
                )),
                Item::DeviceType(t) => r.device_types.push(t.clone()),
                Item::Worker(w) => r.workers.push(w.clone()),
                Item::Device(d) => r.devices.push(d.clone()),
                Item::BundleStream(_) => {}
            }
        }
        r
    }
}

/// Works out every change, in the order they must be made (what is referred to first).
pub async fn plan(
    c: &impl lava_db::Db,
    settings: &Settings,
    tree: &Tree,
    records: &Records,
) -> anyhow::Result<Vec<Change>> {
    let mut out = Vec::new();
    let known_groups: BTreeSet<String> = lava_db::accounts::groups(c)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    for g in &records.groups {
        if !known_groups.contains(g) {
            out.push(Change::Group(g.clone()));
        }
    }
    for (user, groups) in &records.users {
        let before = lava_db::users::get(c, &user.username).await?;
        let had: Vec<String> = match &before {
            Some(_) => lava_db::users::groups_of(c, &user.username).await?,
            None => Vec::new(),
        };
        if before.as_ref().is_none_or(|b| b.info != *user) {
            out.push(Change::User {
                record: user.clone(),
                new: before.is_none(),
            });
        }
        for g in groups.iter().filter(|g| !had.contains(g)) {
            out.push(Change::Member {
                user: user.username.clone(),
                group: g.clone(),
            });
        }
    }
    let known_tags: BTreeSet<String> = lava_db::tags::list(c)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let mut tags: BTreeMap<String, Option<String>> = records.tags.iter().cloned().collect();
    for d in &records.devices {
        for t in &d.tags {
            tags.entry(t.clone()).or_default();
        }
    }
    for (name, description) in tags {
        if !known_tags.contains(&name) {
            out.push(Change::Tag { name, description });
        }
    }
    let known_failure_tags: BTreeSet<String> = lava_db::failure_tags::list(c)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    for (name, description) in &records.failure_tags {
        if !known_failure_tags.contains(name) {
            out.push(Change::FailureTag {
                name: name.clone(),
                description: description.clone(),
            });
        }
    }
    let mut types: BTreeMap<DeviceTypeName, DeviceTypeRecord> = records
        .device_types
        .iter()
        .map(|t| (t.name.clone(), t.clone()))
        .collect();
    // A dictionary whose device the dump does not hold makes the device (and its type, when
    // that is new), as `lava-server manage devices add` would have in LAVA.
    let mut devices: Vec<DeviceRecord> = records.devices.clone();
    for d in &tree.devices {
        let name = DeviceName::from(d.name.as_str());
        if devices.iter().any(|r| r.hostname == name)
            || lava_db::devices::get(c, &name).await?.is_some()
        {
            continue;
        }
        let Some(dt) = lava_common::device::dictionary_device_type(&d.text) else {
            anyhow::bail!(
                "{}: it does not {{% extends %}} a device-type template, so its type is unknown",
                d.path.display()
            );
        };
        let dt = DeviceTypeName::from(dt.as_str());
        if !types.contains_key(&dt) && lava_db::device_types::get(c, &dt).await?.is_none() {
            types.insert(dt.clone(), default_type(dt.clone()));
        }
        devices.push(DeviceRecord::new(name, dt));
    }
    for (name, check) in &tree.health_checks {
        let dt = DeviceTypeName::from(name.as_str());
        if types.contains_key(&dt) {
            continue;
        }
        let Some(t) = lava_db::device_types::get(c, &dt).await? else {
            anyhow::bail!(
                "{}: device type '{name}' is neither in the dump nor in the database",
                check.path.display()
            );
        };
        types.insert(dt, t.info);
    }
    let type_names: BTreeSet<DeviceTypeName> = types.keys().cloned().collect();
    for mut t in types.into_values() {
        // LAVA 2023 keeps health checks in files, not in the database.
        t.health_check_job = tree
            .health_checks
            .get(t.name.as_str())
            .map(|s| s.text.clone());
        let before = lava_db::device_types::get(c, &t.name).await?;
        if before.as_ref().is_none_or(|b| b.info != t) {
            out.push(Change::DeviceType {
                new: before.is_none(),
                record: t,
            });
        }
    }
    for (name, device_type) in &records.aliases {
        let before = lava_db::aliases::get(c, name).await?;
        if before
            .as_ref()
            .is_none_or(|a| a.device_type != *device_type)
        {
            out.push(Change::Alias {
                name: name.clone(),
                device_type: device_type.clone(),
                new: before.is_none(),
            });
        }
    }
    let mut workers: BTreeSet<WorkerName> = BTreeSet::new();
    for w in &records.workers {
        workers.insert(w.hostname.clone());
        let before = lava_db::workers::get(c, &w.hostname).await?;
        if before
            .as_ref()
            .is_none_or(|b| lava_db::workers::to_record(b) != *w)
        {
            out.push(Change::Worker {
                record: w.clone(),
                new: before.is_none(),
            });
        }
    }
    for d in devices {
        if !type_names.contains(&d.device_type)
            && lava_db::device_types::get(c, &d.device_type)
                .await?
                .is_none()
        {
            anyhow::bail!(
                "device {}: device type '{}' is neither in the dump nor in the database",
                d.hostname,
                d.device_type
            );
        }
        if let Some(w) = &d.worker_host
            && !workers.contains(w)
            && lava_db::workers::get(c, w).await?.is_none()
        {
            anyhow::bail!(
                "device {}: worker '{w}' is neither in the dump nor in the database",
                d.hostname
            );
        }
        let before = lava_db::devices::get(c, &d.hostname).await?;
        let same = before.as_ref().is_some_and(|b| {
            let mut had = b.info.tags.clone();
            let mut want = d.tags.clone();
            had.sort();
            want.sort();
            b.info.device_type == d.device_type
                && b.info.description == d.description
                && had == want
                && b.info.health == d.health
                && b.info.worker_host == d.worker_host
        });
        if !same {
            out.push(Change::Device {
                new: before.is_none(),
                record: d,
            });
        }
    }
    let mut clashes = Vec::new();
    let mut files = Vec::new();
    for d in &tree.devices {
        let conf = settings.device_conf(&d.name);
        if conf.exists() {
            clashes.push(format!(
                "{}: device {} already has {} (a device has one configuration: remove one)",
                d.path.display(),
                d.name,
                conf.display()
            ));
        }
        files.push((
            settings.devices_dir().join(format!(
                "{}.{}",
                d.name,
                lava_common::device::DICTIONARY_EXTENSION
            )),
            &d.text,
        ));
    }
    if !clashes.is_empty() {
        anyhow::bail!("nothing was imported:\n  {}", clashes.join("\n  "));
    }
    let types_dir = settings.server_etc.join("dispatcher-config/device-types");
    for t in &tree.device_types {
        files.push((types_dir.join(format!("{}.jinja2", t.name)), &t.text));
    }
    for (kind, f) in &tree.worker_files {
        let name = WorkerName::from(f.name.as_str());
        if !workers.contains(&name) && lava_db::workers::get(c, &name).await?.is_none() {
            anyhow::bail!(
                "{}: worker '{}' is neither in the dump nor in the database",
                f.path.display(),
                f.name
            );
        }
        files.push((kind.path(settings, &f.name), &f.text));
    }
    for (path, text) in files {
        let before = read_optional(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        if before.as_deref() != Some(text.as_str()) {
            out.push(Change::File {
                new: before.is_none(),
                path,
                text: text.clone(),
            });
        }
    }
    Ok(out)
}

fn default_type(name: DeviceTypeName) -> DeviceTypeRecord {
    DeviceTypeRecord {
        name,
        description: String::new(),
        health_check_job: None,
        health_frequency: 24,
        health_denominator: lava_common::fixture::HealthDenominator::Hours,
        disable_health_check: false,
        display: true,
    }
}

/// Makes the database changes of `changes` (the files are written by the caller, after the
/// transaction commits).
pub async fn apply(c: &impl lava_db::Db, changes: &[Change], source: &str) -> anyhow::Result<()> {
    let reason = format!("imported from {source}");
    for change in changes {
        match change {
            Change::Group(g) => {
                lava_db::users::add_group(c, g).await?;
            }
            Change::User { record, .. } => lava_db::users::upsert(c, record).await?,
            Change::Member { user, group } => lava_db::users::join_group(c, user, group).await?,
            Change::Tag { name, description } => {
                lava_db::tags::add(c, name, description.as_deref()).await?
            }
            Change::FailureTag { name, description } => {
                lava_db::failure_tags::add(c, name, description).await?;
            }
            Change::DeviceType { record, .. } => lava_db::device_types::upsert(c, record).await?,
            Change::Alias {
                name,
                device_type,
                new,
            } => {
                if !new {
                    lava_db::aliases::delete(c, name, None).await?;
                }
                lava_db::aliases::add(c, name, device_type).await?;
            }
            Change::Worker { record, .. } => {
                lava_db::lifecycle::worker::load(c, record, &reason).await?
            }
            Change::Device { record, .. } => {
                lava_db::lifecycle::device::load(c, record, &reason).await?
            }
            Change::File { .. } => {}
        }
    }
    Ok(())
}
