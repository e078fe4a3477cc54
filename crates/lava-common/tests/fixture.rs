//! The fixture format against LAVA-shaped records, good and bad.

use lava_common::fixture::{self, FixtureError, Item};
use lava_common::state::DeviceHealth;

fn examples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn kvm_example_loads_as_type_and_device() {
    let text = std::fs::read_to_string(examples().join("models/kvm.json")).unwrap();
    let records = fixture::parse(&text).unwrap();
    let out = fixture::interpret(&records).unwrap();
    assert_eq!(out.items.len(), 2);
    match &out.items[0].1 {
        Item::DeviceType(t) => {
            assert_eq!(t.name, "kvm");
            assert_eq!(t.health_check_job, None);
        }
        other => panic!("{other:?}"),
    }
    match &out.items[1].1 {
        Item::Device(d) => {
            assert_eq!(
                (d.hostname.as_str(), d.device_type.as_str()),
                ("kvm01", "kvm")
            );
            assert_eq!(d.health, DeviceHealth::Unknown);
            assert_eq!(d.worker_host, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[test]
fn legacy_status_numbers_map_to_health() {
    let cases = [
        (r#""status": 1, "health_status": 1"#, DeviceHealth::Good),
        (r#""status": 1, "health_status": 2"#, DeviceHealth::Bad),
        (r#""status": 1, "health_status": 3"#, DeviceHealth::Looping),
        (
            r#""status": 0, "health_status": 1"#,
            DeviceHealth::Maintenance,
        ),
        (r#""status": 4"#, DeviceHealth::Retired),
        (r#""health": 4"#, DeviceHealth::Maintenance),
        (r#""health": "Bad""#, DeviceHealth::Bad),
    ];
    for (fields, expected) in cases {
        let text = format!(
            r#"[{{"model": "lava_scheduler_app.device", "pk": "d1", "fields": {{"device_type": "kvm", {fields}}}}}]"#
        );
        let out = fixture::interpret(&fixture::parse(&text).unwrap()).unwrap();
        match &out.items[0].1 {
            Item::Device(d) => assert_eq!(d.health, expected, "{fields}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn bad_records_are_all_named_with_index_and_field() {
    let text = r#"[
        {"model": "lava_scheduler_app.devicetype", "pk": "kvm", "fields": {}},
        {"model": "lava_scheduler_app.device", "pk": "d1", "fields": {"device_type": 7}},
        {"model": "lava_scheduler_app.device", "pk": "bad/name", "fields": {"device_type": "kvm"}},
        {"model": "nosuch.model", "pk": 1, "fields": {}},
        {"model": "dashboard_app.bundlestream", "pk": 1, "fields": {"pathname": "lab-health"}}
    ]"#;
    let err = fixture::interpret(&fixture::parse(text).unwrap()).unwrap_err();
    let FixtureError::Records(problems) = &err else {
        panic!("{err}")
    };
    let got: Vec<(usize, Option<&str>)> = problems
        .iter()
        .map(|p| (p.index, p.field.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (1, Some("device_type")),
            (2, Some("hostname")),
            (3, Some("model")),
            (4, Some("pathname"))
        ]
    );
    assert_eq!(
        problems[0].to_string(),
        "record 1 (lava_scheduler_app.device 'd1'), field 'device_type': expected a string, found a number"
    );
}

#[test]
fn unknown_fields_warn_naming_the_record() {
    let text =
        r#"[{"model": "lava_scheduler_app.devicetype", "pk": "kvm", "fields": {"colour": "red"}}]"#;
    let out = fixture::interpret(&fixture::parse(text).unwrap()).unwrap();
    assert_eq!(out.items.len(), 1);
    assert_eq!(
        out.warnings[0].to_string(),
        "record 0 (lava_scheduler_app.devicetype 'kvm'), field 'colour': unknown field, ignored"
    );
}

#[test]
fn stream_user_pk_resolves_within_the_fixture() {
    let text = r#"[
        {"model": "auth.user", "pk": 1, "fields": {"username": "admin", "is_superuser": true}},
        {"model": "dashboard_app.bundlestream", "pk": 1,
         "fields": {"pathname": "/anonymous/lab-health/", "user": 1, "is_anonymous": true}}
    ]"#;
    let out = fixture::interpret(&fixture::parse(text).unwrap()).unwrap();
    match &out.items[1].1 {
        Item::BundleStream(s) => {
            assert_eq!(s.user.as_deref(), Some("admin"));
            assert_eq!(s.slug, "lab-health");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dump_round_trips() {
    let text = std::fs::read_to_string(examples().join("models/kvm.json")).unwrap();
    let first = fixture::interpret(&fixture::parse(&text).unwrap()).unwrap();
    let items: Vec<Item> = first.items.iter().map(|(_, i)| i.clone()).collect();
    let dumped = serde_json::to_string(&fixture::to_records(&items)).unwrap();
    let again = fixture::interpret(&fixture::parse(&dumped).unwrap()).unwrap();
    let items_again: Vec<Item> = again.items.into_iter().map(|(_, i)| i).collect();
    assert_eq!(items, items_again);
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
}

#[test]
fn not_json_is_a_syntax_error() {
    assert!(matches!(
        fixture::parse("{oops"),
        Err(FixtureError::Syntax(_))
    ));
}

#[test]
fn failure_tags_load_in_lavas_shape_and_dump_back() {
    let text = r#"[
        {"model": "lava_scheduler_app.jobfailuretag", "pk": 3,
         "fields": {"name": "lab network", "description": "the switch again"}},
        {"model": "lava_scheduler_app.JobFailureTag", "pk": 4,
         "fields": {"name": "bootloader hang", "description": null}}
    ]"#;
    let out = fixture::interpret(&fixture::parse(text).unwrap()).unwrap();
    assert!(out.items.is_empty());
    let tags: Vec<_> = out.failure_tags.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(
        tags,
        [
            fixture::FailureTagRecord {
                id: Some(3),
                name: "lab network".into(),
                description: "the switch again".into(),
            },
            fixture::FailureTagRecord {
                id: Some(4),
                name: "bootloader hang".into(),
                description: String::new(),
            },
        ]
    );
    let back = fixture::failure_tag_record(&tags[0]);
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        r#"{"model":"lava_scheduler_app.jobfailuretag","pk":3,"fields":{"name":"lab network","description":"the switch again"}}"#
    );
}

#[test]
fn a_failure_tag_needs_a_bounded_name_without_control_characters() {
    let long = "x".repeat(257);
    for (fields, why) in [
        (r#"{"description": "d"}"#.to_string(), "is required"),
        (r#"{"name": "a\u0007b"}"#.to_string(), "control characters"),
        (format!(r#"{{"name": "{long}"}}"#), "1 to 256 characters"),
        (r#"{"name": 5}"#.to_string(), "expected a string"),
    ] {
        let text = format!(
            r#"[{{"model": "lava_scheduler_app.jobfailuretag", "pk": 1, "fields": {fields}}}]"#
        );
        let err = fixture::interpret(&fixture::parse(&text).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("record 0 (lava_scheduler_app.jobfailuretag 1), field 'name'")
                && err.contains(why),
            "{fields}: {err}"
        );
    }
    let text =
        r#"[{"model": "lava_scheduler_app.jobfailuretag", "pk": "x", "fields": {"name": "n"}}]"#;
    let err = fixture::interpret(&fixture::parse(text).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("pk must be a number"), "{err}");
}
