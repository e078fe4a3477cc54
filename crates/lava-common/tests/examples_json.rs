//! Every JSON example (fixtures and health checks) parses; the job parser's own checks of the
//! health check come with the dispatcher.

use std::path::Path;

#[test]
fn every_json_example_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut seen = 0;
    for sub in ["models", "health-checks"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let value: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                if sub == "models" {
                    let records = lava_common::fixture::parse(&text).unwrap();
                    lava_common::fixture::interpret(&records)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                } else {
                    assert!(value["actions"].is_array(), "{}", path.display());
                }
                seen += 1;
            }
        }
    }
    assert!(seen >= 2, "found {seen} JSON examples");
}
