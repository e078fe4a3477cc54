//! Reply shapes that REST and XML-RPC share, so the two APIs cannot drift apart on them.
//! (Shapes only one API serves live beside its handlers.)

use serde::Serialize;

/// A device tag: `{name, description}`, `description` null when nobody gave one.
#[derive(Debug, Serialize)]
pub struct TagReply<'a> {
    name: &'a str,
    description: &'a Option<String>,
}

impl<'a> From<&'a lava_db::tags::Tag> for TagReply<'a> {
    fn from(t: &'a lava_db::tags::Tag) -> TagReply<'a> {
        TagReply {
            name: &t.name,
            description: &t.description,
        }
    }
}

/// A device-type alias: `{name, device_type}`.
#[derive(Debug, Serialize)]
pub struct AliasReply<'a> {
    name: &'a str,
    device_type: &'a str,
}

impl<'a> From<&'a lava_db::aliases::Alias> for AliasReply<'a> {
    fn from(a: &'a lava_db::aliases::Alias) -> AliasReply<'a> {
        AliasReply {
            name: &a.name,
            device_type: &a.device_type,
        }
    }
}
