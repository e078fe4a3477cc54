//! REST calls as lavacli and scripts make them: one request, its status and its JSON, so a
//! test reads as the requests it makes and what it expects of each.

use serde_json::Value;

use super::Server;

/// A client that shows redirects instead of following them, and gives up after 30 s.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Calls to one server with one API token (or none).
pub struct Rest<'a> {
    server: &'a Server,
    token: Option<&'a str>,
}

impl Server {
    /// REST calls with `token` in `Authorization: Token …`, or anonymous.
    pub fn rest<'a>(&'a self, token: Option<&'a str>) -> Rest<'a> {
        Rest {
            server: self,
            token,
        }
    }
}

impl Rest<'_> {
    /// `method path` with an optional JSON body: (status, `Allow` header, body).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String, String) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = client().request(m, format!("{}{path}", self.server.url));
        if let Some(t) = self.token {
            r = r.header("authorization", format!("Token {t}"));
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let allow = r
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, allow, r.text().await.unwrap())
    }

    /// `method path` with an optional JSON body: (status, the JSON answer or null if empty).
    pub async fn json(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (status, _, text) = self.call(method, path, body).await;
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: {text}"))
        };
        (status, v)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.json("GET", path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.json("POST", path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.json("DELETE", path, None).await
    }
}
