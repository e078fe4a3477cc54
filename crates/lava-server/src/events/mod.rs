//! The event stream, as LAVA's `lava-publisher` sends it: every change of a job's, device's
//! or worker's state or health, as five-part messages (topic, uuid, datetime, username, JSON
//! data) on a ZeroMQ PUB socket and, as JSON arrays of the same five strings, on the
//! WebSocket `/ws/` (what `lavacli events listen` reads from a 2023.01 server).
//!
//! The source is the database itself: triggers (migration V10) NOTIFY `lava_events` when
//! a change commits, whichever code made it; one LISTEN connection in `lava-server web` feeds
//! a broadcast channel that the ZeroMQ publisher and every WebSocket read.

mod message;
mod zmq;

use std::sync::Arc;
use std::time::Duration;

use lava_common::events_settings::EventSettings;
use tokio::sync::broadcast;

pub use message::{Event, from_notification};

/// How many events a slow reader may fall behind before it loses some.
const BACKLOG: usize = 4096;

/// Where events go: every subscriber gets every event published after it subscribed.
pub struct Hub {
    tx: broadcast::Sender<Arc<Event>>,
    settings: EventSettings,
}

impl Hub {
    /// A hub for `settings` (nothing runs until [`Hub::start`]).
    pub fn new(settings: EventSettings) -> Arc<Hub> {
        Arc::new(Hub {
            tx: broadcast::channel(BACKLOG).0,
            settings,
        })
    }

    /// What `scheduler.get_publisher_event_socket` answers.
    pub fn announced(&self) -> String {
        self.settings.announced().to_string()
    }

    /// Whether events are published (`[events] enabled`).
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// A receiver of the events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Sends an event to every subscriber (none listening is fine).
    pub fn publish(&self, e: Event) {
        let _ = self.tx.send(Arc::new(e));
    }

    /// Starts the database listener and the ZeroMQ publisher, when events are enabled.
    /// A publisher that cannot bind is logged and left out; the WebSocket still works.
    pub async fn start(self: &Arc<Hub>, database_url: String) {
        if !self.settings.enabled {
            tracing::info!("events are disabled ([events] enabled = false)");
            return;
        }
        match zmq::Publisher::bind(&self.settings.publisher).await {
            Ok(p) => {
                tracing::info!(address = %self.settings.publisher, "event publisher listening");
                tokio::spawn(p.run(self.subscribe()));
            }
            Err(e) => tracing::error!(
                address = %self.settings.publisher,
                error = %e,
                "cannot start the ZeroMQ event publisher ([events] publisher); events still go to /ws/"
            ),
        }
        tokio::spawn(listen(database_url, self.clone()));
    }
}

/// Keeps a LISTEN connection on `lava_events` and publishes what it hears; reconnects with
/// backoff.
async fn listen(url: String, hub: Arc<Hub>) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match lava_db::listen(&url, &[lava_db::notify::EVENTS]).await {
            Ok((_client, mut rx)) => {
                tracing::info!("listening for events");
                backoff = Duration::from_millis(200);
                while let Some(n) = rx.recv().await {
                    match from_notification(&hub.settings.topic, &n.payload) {
                        Ok(e) => hub.publish(e),
                        Err(e) => tracing::warn!(error = %e, "event payload not understood"),
                    }
                }
                tracing::warn!("lost the events LISTEN connection; reconnecting");
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for events; retrying in {backoff:?}")
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}
