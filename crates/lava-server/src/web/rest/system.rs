//! The API root and `system/`.

use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};

use super::super::auth::Auth;
use super::{API_VERSION, base_url, ok};

/// `GET /api/v0.2/`: each endpoint's absolute URL, by name.
pub async fn root(headers: HeaderMap) -> Response {
    let base = base_url(&headers);
    let names = [
        "aliases",
        "devices",
        "devicetypes",
        "jobs",
        "permissions/devicetypes",
        "permissions/devices",
        "system",
        "tags",
        "workers",
    ];
    let map: Map<String, Value> = names
        .iter()
        .map(|n| {
            (
                n.to_string(),
                Value::String(format!("{base}/api/v0.2/{n}/")),
            )
        })
        .collect();
    ok(Value::Object(map))
}

#[derive(Serialize)]
struct Version {
    version: &'static str,
}

/// `GET /api/v0.2/system/version/` (no database).
pub async fn version() -> Response {
    ok(Version {
        version: API_VERSION,
    })
}

#[derive(Serialize)]
struct WhoAmI {
    user: String,
}

/// `GET /api/v0.2/system/whoami/`: the username, `""` when anonymous.
pub async fn whoami(auth: Auth) -> Response {
    let user = auth.caller.map(|c| c.username).unwrap_or_default();
    ok(WhoAmI { user })
}
