//! The HTTP API under `/api` and the embeddable plots under `/embed`: routing, auth, and the
//! one error shape. Each handler lives in a submodule and stays a few lines: parse, call the
//! core, answer.
//!
//! Routing happens twice. The worker ([`handle`]) checks the method and the admin token,
//! answers what needs no instance (health, preview, the list from the Directory) and forwards
//! everything about one instance, unchanged, to that instance's Durable Object (a share link
//! goes to the instance KV `share:{hash}` names). The object ([`handle_in_instance`]) parses
//! the same route again and runs the handler next to the instance's rows, one request after
//! the other wherever they write.
//!
//! | module | its job |
//! | --- | --- |
//! | [`http`] | the JSON error shape, bounded body reading, pagination, security headers |
//! | [`auth`] | the admin token (constant time), random ids and share tokens, SHA-256 |
//! | [`instances`] | instances: list, create/import, read, replace, delete, pause, run now, export |
//! | [`preview`] | `POST /api/preview`: next fire times of one task, without saving it |
//! | [`dashboard`] | dashboard data (admin and share link), share links |
//! | [`channels`] | "Send test": a test message to one notification channel, and its answer |
//! | [`timeline`] | the timeline SVG (admin and embed) |
//! | [`zones`] | `GET /api/zones/{name}`: one time zone's TZif data, for the app |
//!
//! Nothing here returns `Err` to the runtime or panics on input: every failure becomes a JSON
//! answer with a 4xx (or 503 when KV fails), and every answer carries the security headers.

mod auth;
mod channels;
mod dashboard;
mod http;
mod instances;
mod preview;
mod timeline;
mod zones;

use worker::{Env, Method, Request, Response, Result};

pub use dashboard::web_host;
pub use http::Answer;
use http::ApiError;
pub use instances::{relist, relist_delay, Here, Relisted, RELIST_CHECK};

/// `n` random bytes as hex (an incarnation id); from the clock if no random source answers.
pub fn random_hex(n: u32) -> String {
    auth::random_bytes(n)
        .map(|b| auth::hex(&b))
        .unwrap_or_else(|_| format!("{:x}", js_sys::Date::now() as u64))
}

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
    ChannelTest(String, String),
    SharedDashboard(String),
    SharedTimeline(String),
    Zone(String),
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
            ["api", "instances", i, "channels", c, "test"] => Route::ChannelTest(id(i), id(c)),
            ["api", "zones", name @ ..] if !name.is_empty() => Route::Zone(name.join("/")),
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
            Route::Zone(_) => "GET",
            Route::SharedDashboard(_) | Route::SharedTimeline(_) => "GET",
            Route::Preview
            | Route::Import
            | Route::InstanceAction(..)
            | Route::TaskAction(..)
            | Route::ChannelTest(..) => "POST",
            Route::Instances | Route::Shares(_) => "GET, POST",
            Route::Instance(_) => "GET, PUT, DELETE",
            Route::Share(..) => "DELETE",
        }
    }

    fn public(&self) -> bool {
        matches!(
            self,
            Route::Health
                | Route::Preview
                | Route::Zone(_)
                | Route::SharedDashboard(_)
                | Route::SharedTimeline(_)
        )
    }
}

/// The path as an error repeats it: a segment long enough to be a token (a share link's, in a
/// mistyped share or embed URL) is left out, since answers never carry secrets.
fn path_for_error(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.len() >= 24 { "…" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// Parses the route and checks the method and, unless public, the admin token.
fn checked_route(req: &Request, env: &Env) -> std::result::Result<Route, ApiError> {
    let path = req.path();
    let Some(route) = Route::parse(&path) else {
        return Err(ApiError::not_found(format!(
            "no route for {}",
            truncate(&path_for_error(&path), 200)
        )));
    };
    let name = method_name(req);
    if !route.allow().split(", ").any(|m| m == name) {
        return Err(ApiError::method(route.allow()));
    }
    if !route.public() {
        auth::require_admin(req, env)?;
    }
    Ok(route)
}

fn method_name(req: &Request) -> &'static str {
    match req.method() {
        Method::Head | Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        _ => "OTHER",
    }
}

/// Longest URL the API takes (a forwarded request must fit the runtime's own limits).
const MAX_URL: usize = 4096;

async fn route(mut req: Request, env: &Env) -> Answer {
    if req.url().map_or(0, |u| u.as_str().len()) > MAX_URL {
        return Err(ApiError::new(
            414,
            "uri_too_long",
            format!("the URL is longer than {MAX_URL} characters; shorten the query"),
        ));
    }
    let route = checked_route(&req, env)?;
    let post = method_name(&req) == "POST";
    match route {
        Route::Health => health(&req, env).await,
        Route::Preview => preview::preview(&mut req).await,
        Route::Zone(name) => zones::tzif(&name),
        Route::Instances if post => {
            let id = auth::new_instance_id()?;
            crate::instance::forward(req, env, &id, Some(&id)).await
        }
        Route::Import => {
            let id = auth::new_instance_id()?;
            crate::instance::forward(req, env, &id, Some(&id)).await
        }
        Route::Instances => instances::list(env).await,
        Route::SharedDashboard(token) | Route::SharedTimeline(token) => {
            let id = dashboard::share_target(env, &token).await?;
            crate::instance::forward(req, env, &id, None).await
        }
        Route::Instance(id)
        | Route::InstanceAction(id, _)
        | Route::Export(id)
        | Route::Dashboard(id)
        | Route::Timeline(id)
        | Route::Shares(id)
        | Route::Share(id, _)
        | Route::ChannelTest(id, _)
        | Route::TaskAction(id, ..) => {
            if !auth::is_hex(&id, 32) {
                return Err(instances::no_instance());
            }
            crate::instance::forward(req, env, &id, None).await
        }
    }
}

/// In an instance's Durable Object: a request the worker forwarded (checked there already).
/// `create` is the id of an instance to create from the body.
pub async fn handle_in_instance(
    mut req: Request,
    here: &Here<'_>,
    create: Option<&str>,
) -> Response {
    let embed = req.path().starts_with("/embed/");
    let answer = match (create, Route::parse(&req.path())) {
        (Some(id), _) => instances::create(&mut req, here, id).await,
        (None, Some(route)) => instance_route(&mut req, here, route).await,
        (None, None) => Err(ApiError::not_found("no route")),
    };
    http::secure(answer.unwrap_or_else(ApiError::into_response), embed)
}

async fn instance_route(req: &mut Request, here: &Here<'_>, route: Route) -> Answer {
    let method = req.method();
    let post = method == Method::Post;
    match route {
        Route::Instance(_) => match method {
            Method::Put => instances::replace(req, here).await,
            Method::Delete => instances::delete(here).await,
            _ => instances::read(here),
        },
        Route::InstanceAction(_, action) => instances::set_paused(here, action == "pause").await,
        Route::TaskAction(_, item, "run") => instances::run_now(here, &item).await,
        Route::TaskAction(_, item, action) => {
            instances::set_task_enabled(here, &item, action == "resume").await
        }
        Route::Export(_) => instances::export(here),
        Route::ChannelTest(_, channel) => channels::test(here, &channel).await,
        Route::Dashboard(_) => dashboard::admin(req, here),
        Route::Timeline(_) => timeline::admin(here),
        Route::Shares(_) if post => dashboard::create_share(req, here).await,
        Route::Shares(_) => dashboard::list_shares(here),
        Route::Share(_, hash) => dashboard::revoke_share(here, &hash).await,
        Route::SharedDashboard(token) => dashboard::shared(req, here, &token),
        Route::SharedTimeline(token) => timeline::shared(here, &token),
        Route::Health | Route::Preview | Route::Zone(_) | Route::Instances | Route::Import => {
            Err(ApiError::not_found("not an instance route"))
        }
    }
}

/// `GET /api/health`: the version, the clock, the last tick and whether it is late;
/// `?strict=1` answers 503 when it is, for uptime monitors that read only the status.
async fn health(req: &Request, env: &Env) -> Answer {
    // Health must answer even when the Directory misbehaves: the heartbeat is then null (and
    // the tick reads as late: nothing says it ran).
    let heartbeat = crate::directory::ticker(env)
        .await
        .ok()
        .and_then(|t| t.heartbeat);
    let last_ran = heartbeat.as_ref().and_then(crate::heartbeat::ran_at);
    let tick = scheduler_core::health::tick_health(
        last_ran,
        http::now(),
        crate::heartbeat::late_after_seconds(env),
    );
    let status = if tick.late && http::query(req, "strict").as_deref() == Some("1") {
        503
    } else {
        200
    };
    let body = scheduler_core::api::Health {
        version: scheduler_core::VERSION.to_string(),
        time: crate::cron::now_iso(),
        heartbeat,
        tick,
    };
    Ok(http::json_response(status, &body))
}

/// At most `max` characters of `s` (for echoing user input into messages).
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
