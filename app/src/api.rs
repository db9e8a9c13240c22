//! Every call to the worker's API lives here.

use gloo_net::http::Request;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Health {
    pub version: String,
    pub time: String,
    pub heartbeat: Option<Heartbeat>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Heartbeat {
    pub scheduled_time: String,
}

pub async fn health() -> Result<Health, String> {
    let resp = Request::get("/api/health")
        .send()
        .await
        .map_err(|e| format!("could not reach the server: {e}"))?;
    if !resp.ok() {
        return Err(format!("the server answered {}", resp.status()));
    }
    resp.json().await.map_err(|e| format!("unexpected answer: {e}"))
}
