//! Typed replies become the values the hand-built ones were.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::*;

#[derive(Serialize)]
enum Kind {
    Plain,
    Wrapped(i32),
    Pair(i32, i32),
    Named { a: bool },
}

#[derive(Serialize)]
struct Reply<'a> {
    id: i64,
    name: &'a str,
    absent: Option<String>,
    nothing: (),
    ratio: f64,
    tags: Vec<&'a str>,
    when: Option<DateTime>,
    raw: &'a serde_bytes_like::Bytes,
    kinds: [Kind; 4],
    small: u8,
}

/// `serialize_bytes` without a dependency on serde_bytes.
mod serde_bytes_like {
    pub struct Bytes(pub Vec<u8>);
    impl serde::Serialize for Bytes {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }
}

#[test]
fn a_struct_keeps_field_order_and_every_type_maps_as_the_hand_built_values_did() {
    let t = NaiveDate::from_ymd_opt(2026, 11, 24)
        .unwrap()
        .and_hms_micro_opt(19, 5, 6, 229_916)
        .unwrap();
    let raw = serde_bytes_like::Bytes(b"[]".to_vec());
    let reply = Reply {
        id: 213,
        name: "a<b",
        absent: None,
        nothing: (),
        ratio: 0.5,
        tags: vec!["x", "y"],
        when: Some(DateTime(t)),
        raw: &raw,
        kinds: [
            Kind::Plain,
            Kind::Wrapped(1),
            Kind::Pair(1, 2),
            Kind::Named { a: true },
        ],
        small: 7,
    };
    let expected = Value::structure([
        ("id", Value::Int(213)),
        ("name", Value::str("a<b")),
        ("absent", Value::Nil),
        ("nothing", Value::Nil),
        ("ratio", Value::Double(0.5)),
        ("tags", Value::Array(vec![Value::str("x"), Value::str("y")])),
        ("when", Value::DateTime(t)),
        ("raw", Value::Base64(b"[]".to_vec())),
        (
            "kinds",
            Value::Array(vec![
                Value::str("Plain"),
                Value::structure([("Wrapped", Value::Int(1))]),
                Value::structure([("Pair", Value::Array(vec![Value::Int(1), Value::Int(2)]))]),
                Value::structure([("Named", Value::structure([("a", Value::Bool(true))]))]),
            ]),
        ),
        ("small", Value::Int(7)),
    ]);
    assert_eq!(to_value(&reply).unwrap(), expected);
}

#[test]
fn maps_keep_their_order_and_flattened_options_add_members_only_when_set() {
    #[derive(Serialize)]
    struct Extra {
        more: i32,
    }
    #[derive(Serialize)]
    struct Row {
        id: i32,
        #[serde(flatten)]
        extra: Option<Extra>,
    }
    let m = BTreeMap::from([("b", 2), ("a", 1)]);
    assert_eq!(
        to_value(&m).unwrap(),
        Value::structure([("a", Value::Int(1)), ("b", Value::Int(2))])
    );
    let short = Row { id: 1, extra: None };
    let long = Row {
        id: 1,
        extra: Some(Extra { more: 2 }),
    };
    assert_eq!(
        to_value(&short).unwrap(),
        Value::structure([("id", Value::Int(1))])
    );
    assert_eq!(
        to_value(&long).unwrap(),
        Value::structure([("id", Value::Int(1)), ("more", Value::Int(2))])
    );
}

#[test]
fn what_xml_rpc_cannot_carry_is_an_error_naming_it() {
    let e = to_value(&BTreeMap::from([(1, 2)])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "reply not encodable as XML-RPC: a struct member name must be a string, not Int(1)"
    );
    let e = to_value(&u64::MAX).unwrap_err();
    assert_eq!(
        e.to_string(),
        "reply not encodable as XML-RPC: integer 18446744073709551615 is out of range"
    );
}

#[test]
fn a_time_is_a_plain_string_to_other_serializers() {
    let t = NaiveDate::from_ymd_opt(2026, 1, 2)
        .unwrap()
        .and_hms_opt(3, 4, 5)
        .unwrap();
    assert_eq!(
        serde_json::to_string(&DateTime(t)).unwrap(),
        "\"2026-01-02T03:04:05\""
    );
}
