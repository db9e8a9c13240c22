//! The HTTP API under `/api`. Each handler is a few lines: parse, call, answer.

use crate::{store, tick};
use serde_json::json;
use worker::{Env, Method, Request, Response, Result};

pub async fn handle(req: Request, env: &Env) -> Result<Response> {
    let path = req.path();
    let method = req.method();
    match (path.as_str(), method) {
        ("/api/health", Method::Get) => health(env).await,
        ("/api/health", _) => error(405, "method_not_allowed", "use GET"),
        _ => error(404, "not_found", &format!("no route for {path}")),
    }
}

async fn health(env: &Env) -> Result<Response> {
    let heartbeat = store::read_heartbeat(&store::kv(env)?).await?;
    Response::from_json(&json!({
        "version": scheduler_core::VERSION,
        "time": tick::now_iso(),
        "heartbeat": heartbeat,
    }))
}

/// The one error shape of the API: `{"error": {"code", "message"}}`.
fn error(status: u16, code: &str, message: &str) -> Result<Response> {
    Ok(Response::from_json(&json!({"error": {"code": code, "message": message}}))?
        .with_status(status))
}
