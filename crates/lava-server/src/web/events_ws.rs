//! `GET /ws/`: the event stream over a WebSocket, as LAVA 2023.01's publisher serves it and
//! `lavacli events listen` reads it: one text message per event, a JSON array of the five
//! parts `[topic, uuid, datetime, username, data]`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use crate::events::Hub;

/// At most this many listeners at once; more get 503.
const MAX_LISTENERS: usize = 512;

/// Listeners connected now.
static LISTENERS: AtomicUsize = AtomicUsize::new(0);

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/ws/", get(upgrade))
}

async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    if !state.events.enabled() {
        return (
            StatusCode::NOT_FOUND,
            "events are disabled on this server\n",
        )
            .into_response();
    }
    if LISTENERS.fetch_add(1, Ordering::SeqCst) >= MAX_LISTENERS {
        LISTENERS.fetch_sub(1, Ordering::SeqCst);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many event listeners; try again later\n",
        )
            .into_response();
    }
    let hub = state.events.clone();
    // Clients only listen: anything they send is read and dropped, in small frames.
    ws.max_message_size(4096)
        .max_frame_size(4096)
        .on_upgrade(move |socket| async move {
            forward(socket, hub).await;
            LISTENERS.fetch_sub(1, Ordering::SeqCst);
        })
}

async fn forward(mut socket: WebSocket, hub: Arc<Hub>) {
    let mut rx = hub.subscribe();
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Ok(e) => {
                    if socket.send(Message::Text(e.to_json_array().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!(lost = n, "a WebSocket listener fell behind");
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
