//! Wake-ups for long polls: the scheduler's NOTIFY on `lava_worker` reaches the web app's one
//! LISTEN connection, which bumps the counter of that worker; a pending poll watching the
//! counter returns at once, so a scheduled job starts within milliseconds. The same channel
//! carries `log/ID` when a job's log grows, which wakes the followers of its live log.

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
    /// A receiver to wait on; take it before looking for work, so no wake-up is lost.
    /// Subscribing under the lock means [`Waiters::wake`] never drops a key someone is
    /// about to wait on.
    pub fn subscribe(&self, key: &str) -> watch::Receiver<u64> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_string())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Wakes whoever waits on `key` (a worker's pending poll, a job log's followers). A key
    /// nobody waits on is dropped instead, so one entry per job ever logged does not pile up.
    pub fn wake(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(key) {
            if s.receiver_count() == 0 {
                map.remove(key);
            } else {
                s.send_modify(|n| *n += 1);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_reaches_subscribers_and_unwatched_keys_are_dropped() {
        let w = Waiters::default();
        let rx = w.subscribe("log/1");
        w.wake("log/1");
        assert!(rx.has_changed().unwrap());
        w.wake("log/2");
        drop(rx);
        w.wake("log/1");
        assert!(w.map.lock().unwrap().is_empty());
    }
}
