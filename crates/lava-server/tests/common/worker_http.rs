//! The worker API as a worker calls it: each POST with the worker's token and protocol
//! version. The integration tests and the benches (`benches/common` includes this file)
//! share it.

use lava_common::worker_api::{PREFIX, PROTOCOL_HEADER, PROTOCOL_VERSION};

/// A test or bench playing a worker over HTTP.
pub struct Worker {
    /// Its HTTP client.
    pub http: reqwest::Client,
    /// The server's base URL.
    pub base: String,
    /// Its worker token, sent as `Authorization: Token ...`.
    pub token: String,
}

impl Worker {
    /// A POST to the worker API `path` with the worker's headers, to add a body to and send.
    pub fn request(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{PREFIX}/{path}", self.base))
            .header("authorization", format!("Token {}", self.token))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
    }

    /// POSTs `body` to the worker API path; status and reply.
    pub async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, T) {
        let r = self.request(path).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        match serde_json::from_str(&text) {
            Ok(v) => (status, v),
            Err(e) => panic!("{path}: HTTP {status} {text:?}: {e}"),
        }
    }

    /// [`Worker::post`] to a call that must succeed: its reply.
    pub async fn post_ok<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> T {
        let (status, reply) = self.post(path, body).await;
        assert_eq!(status, 200, "{path}");
        reply
    }
}
