//! The HTTP API under `/api` and the embeddable plots under `/embed`: routing, auth, and the
//! one error shape. Each handler lives in a submodule and stays a few lines: parse, call the
//! core, answer.
//!
//! | module | its job |
//! | --- | --- |
//! | [`http`] | the JSON error shape, bounded body reading, pagination, security headers |
//! | [`auth`] | the admin token (constant time), random ids and share tokens, SHA-256 |
//! | [`instances`] | instances: list, create/import, read, replace, delete, pause, run now, export |
//! | [`preview`] | `POST /api/preview`: next fire times of one task, without saving it |
//! | [`dashboard`] | dashboard data (admin and share link), share links |
//! | [`timeline`] | the timeline SVG (admin and embed) |
//!
//! Nothing here returns `Err` to the runtime or panics on input: every failure becomes a JSON
//! answer with a 4xx (or 503 when KV fails), and every answer carries the security headers.

mod auth;
mod dashboard;
mod http;
mod instances;
mod preview;
mod timeline;

use serde_json::json;
use worker::{Env, Method, Request, Response, Result};

use crate::store::{Kv, Ticker, TICKER};
use http::{Answer, ApiError};

/// Entry point for every fetch that reaches the worker.
pub async fn handle(req: Request, env: &Env) -> Result<Response> {
    let embed = req.path().starts_with("/embed/");
    let resp = match route(req, env).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    Ok(http::secure(resp, embed))
}

/// A matched route: what it is, the methods it takes, and whether it needs the admin token.
enum Route {
    Health,
    Preview,
    Instances,
    Import,
    Instance(String),
    InstanceAction(String, &'static str),
    Export(String),
    Dashboard(String),
    Timeline(String),
    Shares(String),
    Share(String, String),
    TaskAction(String, String, &'static str),
    SharedDashboard(String),
    SharedTimeline(String),
}

impl Route {
    fn parse(path: &str) -> Option<Route> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let id = |s: &str| s.to_string();
        Some(match segs.as_slice() {
            ["api", "health"] => Route::Health,
            ["api", "preview"] => Route::Preview,
            ["api", "instances"] => Route::Instances,
            ["api", "instances", "import"] => Route::Import,
            ["api", "instances", i] => Route::Instance(id(i)),
            ["api", "instances", i, "pause"] => Route::InstanceAction(id(i), "pause"),
            ["api", "instances", i, "resume"] => Route::InstanceAction(id(i), "resume"),
            ["api", "instances", i, "export"] => Route::Export(id(i)),
            ["api", "instances", i, "dashboard"] => Route::Dashboard(id(i)),
            ["api", "instances", i, "timeline.svg"] => Route::Timeline(id(i)),
            ["api", "instances", i, "shares"] => Route::Shares(id(i)),
            ["api", "instances", i, "shares", h] => Route::Share(id(i), id(h)),
            ["api", "instances", i, "tasks", t, a] => {
                let action = match *a {
                    "pause" => "pause",
                    "resume" => "resume",
                    "run" => "run",
                    _ => return None,
                };
                Route::TaskAction(id(i), id(t), action)
            }
            ["api", "share", t] => Route::SharedDashboard(id(t)),
            ["api", "share", t, "timeline.svg"] | ["embed", t, "timeline.svg"] => {
                Route::SharedTimeline(id(t))
            }
            _ => return None,
        })
    }

    fn allow(&self) -> &'static str {
        match self {
            Route::Health | Route::Export(_) | Route::Dashboard(_) | Route::Timeline(_) => "GET",
            Route::SharedDashboard(_) | Route::SharedTimeline(_) => "GET",
            Route::Preview | Route::Import | Route::InstanceAction(..) | Route::TaskAction(..) => {
                "POST"
            }
            Route::Instances | Route::Shares(_) => "GET, POST",
            Route::Instance(_) => "GET, PUT, DELETE",
            Route::Share(..) => "DELETE",
        }
    }

    fn public(&self) -> bool {
        matches!(
            self,
            Route::Health | Route::Preview | Route::SharedDashboard(_) | Route::SharedTimeline(_)
        )
    }
}

async fn route(mut req: Request, env: &Env) -> Answer {
    let path = req.path();
    let Some(route) = Route::parse(&path) else {
        return Err(ApiError::not_found(format!(
            "no route for {}",
            truncate(&path, 200)
        )));
    };
    let method = req.method();
    let name = match method {
        Method::Head => "GET",
        ref m => m.as_ref(),
    };
    if !route.allow().split(", ").any(|m| m == name) {
        return Err(ApiError::method(route.allow()));
    }
    if !route.public() {
        auth::require_admin(&req, env)?;
    }
    let post = name == "POST";
    let kv = || Kv::open(env).map_err(ApiError::from);
    match route {
        Route::Health => health(env).await,
        Route::Preview => preview::preview(&mut req).await,
        Route::Instances if post => instances::create(&mut req, &kv()?).await,
        Route::Instances => instances::list(&kv()?).await,
        Route::Import => instances::create(&mut req, &kv()?).await,
        Route::Instance(id) => match method {
            Method::Put => instances::replace(&mut req, &kv()?, &id).await,
            Method::Delete => instances::delete(&kv()?, &id).await,
            _ => instances::read(&kv()?, &id).await,
        },
        Route::InstanceAction(id, action) => {
            instances::set_paused(&kv()?, &id, action == "pause").await
        }
        Route::TaskAction(id, item, "run") => instances::run_now(&kv()?, &id, &item).await,
        Route::TaskAction(id, item, action) => {
            instances::set_task_enabled(&kv()?, &id, &item, action == "resume").await
        }
        Route::Export(id) => instances::export(&kv()?, &id).await,
        Route::Dashboard(id) => dashboard::admin(&req, env, &kv()?, &id).await,
        Route::Timeline(id) => timeline::admin(&kv()?, &id).await,
        Route::Shares(id) if post => dashboard::create_share(&req, &kv()?, &id).await,
        Route::Shares(id) => dashboard::list_shares(&kv()?, &id).await,
        Route::Share(id, hash) => dashboard::revoke_share(&kv()?, &id, &hash).await,
        Route::SharedDashboard(token) => dashboard::shared(&req, env, &kv()?, &token).await,
        Route::SharedTimeline(token) => timeline::shared(&kv()?, &token).await,
    }
}

async fn health(env: &Env) -> Answer {
    // Health must answer even when KV misbehaves: the heartbeat is then null.
    let heartbeat = match Kv::open(env) {
        Ok(kv) => kv
            .get::<Ticker>(TICKER)
            .await
            .ok()
            .flatten()
            .and_then(|t| t.heartbeat),
        Err(_) => None,
    };
    http::ok_json(&json!({
        "version": scheduler_core::VERSION,
        "time": crate::tick::now_iso(),
        "heartbeat": heartbeat,
    }))
}

/// At most `max` characters of `s` (for echoing user input into messages).
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
