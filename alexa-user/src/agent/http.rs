//! Two small HTTP servers, bound to loopback by default: `/metrics` for
//! Prometheus, and a local API for home automation (e.g. Home Assistant
//! telling the agent the microphone state). Each serves only its few
//! routes, with small body limits and request timeouts. Reads are open on
//! loopback; a change needs the bearer token (`token.rs`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::{Context as _, Result};
use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use tower_http::timeout::TimeoutLayer;

use super::Agent;

pub const DEFAULT_METRICS: &str = "127.0.0.1:9464";
pub const DEFAULT_API: &str = "127.0.0.1:9465";
/// Request bodies are a word or a tiny JSON object.
const MAX_BODY: usize = 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Binds (before the agent touches the kernel, so a taken port refuses the
/// start cleanly).
pub async fn bind(addr: SocketAddr, what: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for the {what} on {addr}"))
}

/// Serves `/metrics` in the background; returns the address.
pub fn serve_metrics(listener: tokio::net::TcpListener, agent: Arc<Agent>) -> SocketAddr {
    serve(
        listener,
        Router::new().route("/metrics", get(metrics)),
        agent,
    )
}

pub fn serve_api(listener: tokio::net::TcpListener, agent: Arc<Agent>) -> SocketAddr {
    let app = Router::new().route("/api/status", get(status)).route(
        "/api/microphone",
        get(microphone).put(set_microphone).post(set_microphone),
    );
    serve(listener, app, agent)
}

fn serve(
    listener: tokio::net::TcpListener,
    app: Router<Arc<Agent>>,
    agent: Arc<Agent>,
) -> SocketAddr {
    let app = app
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            TIMEOUT,
        ))
        .with_state(agent);
    let local = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    local
}

fn failure(e: anyhow::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}\n")).into_response()
}

async fn metrics(State(agent): State<Arc<Agent>>) -> Response {
    match agent.status().and_then(|s| super::metrics::render(&s)) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => failure(e),
    }
}

async fn status(State(agent): State<Arc<Agent>>) -> Response {
    match agent.status() {
        Ok(s) => Json(s).into_response(),
        Err(e) => failure(e),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Mic {
    on: bool,
}

async fn microphone(State(agent): State<Arc<Agent>>) -> Response {
    match agent.status() {
        Ok(s) => Json(Mic { on: s.microphone }).into_response(),
        Err(e) => failure(e),
    }
}

/// 401 unless the request carries the agent's API token.
fn refused(agent: &Agent, headers: &HeaderMap) -> Option<Response> {
    let given = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    if agent
        .api_token
        .as_deref()
        .is_some_and(|t| super::token::authorizes(given, t))
    {
        return None;
    }
    Some(
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"alexa\"")],
            "this change needs the API token: send \"Authorization: Bearer TOKEN\" (`sudo alexa status` shows it)\n",
        )
            .into_response(),
    )
}

/// Body: `on`, `off`, or `{"on": true|false}`; needs the API token.
async fn set_microphone(
    State(agent): State<Arc<Agent>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = refused(&agent, &headers) {
        return r;
    }
    let text = String::from_utf8_lossy(&body);
    let on = match text.trim() {
        "on" => Some(true),
        "off" => Some(false),
        t => serde_json::from_str::<Mic>(t).ok().map(|m| m.on),
    };
    let Some(on) = on else {
        return (
            StatusCode::BAD_REQUEST,
            "body must be on, off or {\"on\": true|false}\n",
        )
            .into_response();
    };
    match agent.set_microphone(on) {
        Ok(()) => Json(Mic { on }).into_response(),
        Err(e) => failure(e),
    }
}
