//! The ZeroMQ PUB socket: each event as one five-part message.

use std::sync::Arc;

use tokio::sync::broadcast;
use zeromq::{Socket as _, SocketSend as _, ZmqMessage};

use super::Event;

/// A bound PUB socket.
pub struct Publisher {
    socket: zeromq::PubSocket,
}

impl Publisher {
    /// Binds `address` (`tcp://*:PORT` means every IPv4 address, as in LAVA).
    pub async fn bind(address: &str) -> Result<Publisher, zeromq::ZmqError> {
        let endpoint = match address.strip_prefix("tcp://*:") {
            Some(port) => format!("tcp://0.0.0.0:{port}"),
            None => address.to_string(),
        };
        let mut socket = zeromq::PubSocket::new();
        socket.bind(&endpoint).await?;
        Ok(Publisher { socket })
    }

    /// Sends every event `rx` gets until the hub goes away. Slow subscribers lose messages
    /// (ZeroMQ's PUB semantics); so does this loop when it falls behind the hub.
    pub async fn run(mut self, mut rx: broadcast::Receiver<Arc<Event>>) {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    let parts: Vec<axum::body::Bytes> = e
                        .parts()
                        .iter()
                        .map(|p| axum::body::Bytes::from(p.clone()))
                        .collect();
                    let Ok(msg) = ZmqMessage::try_from(parts) else {
                        continue;
                    };
                    if let Err(err) = self.socket.send(msg).await {
                        tracing::warn!(error = %err, "event not published");
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(lost = n, "the ZeroMQ publisher fell behind; events lost");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
