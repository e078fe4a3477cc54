//! Wake-ups for long polls: the scheduler's NOTIFY on `lava_worker` reaches the web app's one
//! LISTEN connection, which bumps the counter of that worker; a pending poll watching the
//! counter returns at once, so a scheduled job starts within milliseconds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;

/// One counter per worker.
#[derive(Default)]
pub struct Waiters {
    map: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl Waiters {
    fn sender(&self, worker: &str) -> watch::Sender<u64> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(worker.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .clone()
    }

    /// A receiver to wait on; take it before looking for work, so no wake-up is lost.
    pub fn subscribe(&self, worker: &str) -> watch::Receiver<u64> {
        self.sender(worker).subscribe()
    }

    /// Wakes the worker's pending poll.
    pub fn wake(&self, worker: &str) {
        self.sender(worker).send_modify(|n| *n += 1);
    }

    /// Wakes every pending poll (after a lost LISTEN connection, when notifications may
    /// have been missed).
    pub fn wake_all(&self) {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        for s in map.values() {
            s.send_modify(|n| *n += 1);
        }
    }
}

/// Keeps a LISTEN connection on `lava_worker` and wakes polls; reconnects with backoff.
pub async fn listen(url: String, waiters: std::sync::Arc<Waiters>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match lava_db::listen(&url, &[lava_db::notify::WORKER]).await {
            Ok((_client, mut rx)) => {
                tracing::info!("listening for scheduled jobs");
                backoff = Duration::from_millis(200);
                waiters.wake_all();
                while let Some(n) = rx.recv().await {
                    waiters.wake(&n.payload);
                }
                tracing::warn!("lost the LISTEN connection; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "cannot LISTEN; retrying in {backoff:?}"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}
