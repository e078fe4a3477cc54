//! Loading and dumping fixtures (`manage loaddata` / `dumpdata`).

use std::collections::BTreeMap;

use lava_common::fixture::{
    FailureTagRecord, FixtureError, Interpreted, Item, MODEL_FAILURE_TAG, MODELS, RecordProblem,
};

use crate::{Db, Error, device_types, devices, failure_tags, lifecycle, streams, users, workers};

/// How many records of each model were loaded.
pub type LoadReport = BTreeMap<&'static str, usize>;

/// Checks that every reference of the fixture resolves, in the database or in the fixture
/// itself, and lists every one that does not.
async fn check_references(c: &impl Db, fx: &Interpreted) -> Result<(), Error> {
    let in_fixture = |pred: &dyn Fn(&Item) -> bool| fx.items.iter().any(|(_, i)| pred(i));
    let mut problems = Vec::new();
    for (index, item) in &fx.items {
        let mut missing = |field: &str, what: &str, key: &str| {
            problems.push(RecordProblem {
                index: *index,
                model: item.model().to_string(),
                pk: format!("'{}'", item_key(item)),
                field: Some(field.to_string()),
                message: format!(
                    "{what} '{key}' does not exist (not in the database nor in this fixture)"
                ),
            });
        };
        match item {
            Item::Device(d) => {
                let t = &d.device_type;
                if !in_fixture(&|i| matches!(i, Item::DeviceType(x) if x.name == *t))
                    && device_types::get(c, t).await?.is_none()
                {
                    missing("device_type", "device type", t);
                }
                if let Some(w) = &d.worker_host
                    && !in_fixture(&|i| matches!(i, Item::Worker(x) if x.hostname == *w))
                    && workers::get(c, w).await?.is_none()
                {
                    missing("worker_host", "worker", w);
                }
            }
            Item::BundleStream(s) => {
                if let Some(u) = &s.user
                    && !in_fixture(&|i| matches!(i, Item::User(x) if x.username == *u))
                    && users::id_of(c, u).await?.is_none()
                {
                    missing("user", "user", u);
                }
                if let Some(g) = &s.group
                    && c.query_opt("SELECT 1 FROM groups WHERE name = $1", &[g])
                        .await?
                        .is_none()
                {
                    missing("group", "group", g);
                }
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(FixtureError::Records(problems).into())
    }
}

fn item_key(item: &Item) -> &str {
    match item {
        Item::DeviceType(t) => &t.name,
        Item::Device(d) => &d.hostname,
        Item::Worker(w) => &w.hostname,
        Item::BundleStream(s) => &s.pathname,
        Item::User(u) => &u.username,
    }
}

/// Loads every item, referenced models first. Existing rows with the same natural key are
/// updated, so loading a fixture twice is harmless. Call it inside a transaction: on error,
/// roll back and nothing of the fixture stays.
pub async fn load(c: &impl Db, fx: &Interpreted, source: &str) -> Result<LoadReport, Error> {
    check_references(c, fx).await?;
    let reason = format!("loaded from fixture {source}");
    let mut report = LoadReport::new();
    for model in MODELS {
        for (_, item) in fx.items.iter().filter(|(_, i)| i.model() == model) {
            match item {
                Item::User(u) => users::upsert(c, u).await?,
                Item::Worker(w) => lifecycle::worker::load(c, w, &reason).await?,
                Item::DeviceType(t) => device_types::upsert(c, t).await?,
                Item::Device(d) => lifecycle::device::load(c, d, &reason).await?,
                Item::BundleStream(s) => streams::upsert(c, s).await?,
            }
            *report.entry(model).or_default() += 1;
        }
    }
    for (_, t) in &fx.failure_tags {
        failure_tags::upsert(c, &t.name, &t.description).await?;
        *report.entry(MODEL_FAILURE_TAG).or_default() += 1;
    }
    Ok(report)
}

/// What [`dump`] read, each part in load order.
#[derive(Debug, Default)]
pub struct Dumped {
    /// The items of every model but failure tags.
    pub items: Vec<Item>,
    /// The failure tags, by id.
    pub failure_tags: Vec<FailureTagRecord>,
}

/// Reads the items of the given models (all known models when `models` is empty), in load
/// order. Unknown model names are an error that lists the known ones.
pub async fn dump(c: &impl Db, models: &[String]) -> Result<Dumped, Error> {
    let mut wanted = Vec::new();
    for m in models {
        let lower = m.to_ascii_lowercase();
        match MODELS.iter().find(|k| **k == lower) {
            Some(k) => wanted.push(*k),
            None => {
                return Err(Error::Invalid(format!(
                    "unknown model '{m}' (known: {})",
                    MODELS.join(", ")
                )));
            }
        }
    }
    let mut dumped = Dumped::default();
    let out = &mut dumped.items;
    for model in MODELS {
        if !wanted.is_empty() && !wanted.contains(&model) {
            continue;
        }
        match model {
            MODEL_FAILURE_TAG => {
                dumped.failure_tags = failure_tags::list_by_id(c)
                    .await?
                    .into_iter()
                    .map(|t| FailureTagRecord {
                        id: Some(i64::from(t.id)),
                        name: t.name,
                        description: t.description,
                    })
                    .collect();
            }
            lava_common::fixture::MODEL_USER => out.extend(
                users::list(c)
                    .await?
                    .into_iter()
                    .map(|u| Item::User(u.info)),
            ),
            lava_common::fixture::MODEL_WORKER => out.extend(
                workers::list(c)
                    .await?
                    .iter()
                    .map(|w| Item::Worker(workers::to_record(w))),
            ),
            lava_common::fixture::MODEL_DEVICE_TYPE => out.extend(
                device_types::list(c)
                    .await?
                    .into_iter()
                    .map(|t| Item::DeviceType(t.info)),
            ),
            lava_common::fixture::MODEL_DEVICE => out.extend(
                devices::list(c)
                    .await?
                    .iter()
                    .map(|d| Item::Device(d.info.clone())),
            ),
            _ => out.extend(
                streams::list(c)
                    .await?
                    .into_iter()
                    .map(|s| Item::BundleStream(s.info)),
            ),
        }
    }
    Ok(dumped)
}
