//! Every call to the worker's API lives here, with the small types of its answers
//! (read from [`Json`] by hand: see the json module for why).
//!
//! [`Api`] is a `Copy` handle (two signals) provided as context by the app root: it holds the
//! admin token the user pasted (mirrored in sessionStorage) and, when the server answers 401,
//! forgets the token and leaves a notice for the sign-in screen.

use crate::json::Json;
use gloo_net::http::{Request, RequestBuilder};
use leptos::prelude::*;
use std::future::Future;

const TOKEN_KEY: &str = "scheduler-admin-token";

/// The most runs or log lines one dashboard answer holds (the server's page size limit).
pub const MAX_PAGE: usize = 500;

/// An answer type read from the API's JSON; `None` when a required field is missing.
pub trait FromJson: Sized {
    fn from_json(v: &Json) -> Option<Self>;
}

/// Every element of the array member `key` that reads as a `T` (others are skipped).
fn list<T: FromJson>(v: &Json, key: &str) -> Vec<T> {
    v.get(key)
        .map(|a| a.as_array().iter().filter_map(T::from_json).collect())
        .unwrap_or_default()
}

/// A required string member.
fn req(v: &Json, key: &str) -> Option<String> {
    v.opt_str(key)
}

#[derive(Debug, Clone)]
pub struct Health {
    pub version: String,
    pub time: String,
    /// The scheduled time of the last tick, if any.
    pub heartbeat: Option<String>,
}

impl FromJson for Health {
    fn from_json(v: &Json) -> Option<Self> {
        Some(Health {
            version: req(v, "version")?,
            time: req(v, "time")?,
            heartbeat: v.get("heartbeat").and_then(|h| h.opt_str("scheduled_time")),
        })
    }
}

/// One problem with a configuration: where it is (`scheduled_tasks[1].times[0]`) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FromJson for FieldError {
    fn from_json(v: &Json) -> Option<Self> {
        Some(FieldError {
            path: v.str("path"),
            message: req(v, "message")?,
        })
    }
}

/// A failed call: the HTTP status (0 when the server could not be reached) and the API's error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub errors: Vec<FieldError>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LastRun {
    pub status: String,
    pub started: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSummary {
    pub id: String,
    pub name: String,
    pub task_count: String,
    pub paused: bool,
    pub next_run: Option<String>,
    pub last_run: Option<LastRun>,
}

impl FromJson for InstanceSummary {
    fn from_json(v: &Json) -> Option<Self> {
        Some(InstanceSummary {
            id: req(v, "id")?,
            name: req(v, "name")?,
            task_count: v.number_text("task_count").unwrap_or("0").to_string(),
            paused: v.bool_or("paused", false),
            next_run: v.opt_str("next_run"),
            last_run: v.get("last_run").and_then(|r| {
                Some(LastRun {
                    status: req(r, "status")?,
                    started: r.opt_str("started"),
                })
            }),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
}

impl FromJson for Created {
    fn from_json(v: &Json) -> Option<Self> {
        Some(Created { id: req(v, "id")? })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub next: Vec<String>,
    pub clearml: Vec<String>,
    pub description: String,
}

fn strings(v: &Json, key: &str) -> Vec<String> {
    v.get(key)
        .map(|a| {
            a.as_array()
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl FromJson for Preview {
    fn from_json(v: &Json) -> Option<Self> {
        Some(Preview {
            next: strings(v, "next"),
            clearml: strings(v, "clearml"),
            description: v.str("description"),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DashInstance {
    pub id: String,
    pub name: String,
    pub paused: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScheduledRow {
    pub item: String,
    pub base_task_id: String,
    pub project: Option<String>,
    pub queue: String,
    /// ClearML's form of each time of the task (`minute=20, hour=6, day=1`), one a line.
    pub clearml: Vec<String>,
    pub description: String,
    pub next_run: Option<String>,
    pub enabled: bool,
    /// A Run now is waiting for the next tick.
    pub run_requested: bool,
}

impl FromJson for ScheduledRow {
    fn from_json(v: &Json) -> Option<Self> {
        Some(ScheduledRow {
            item: req(v, "item")?,
            base_task_id: v.str("base_task_id"),
            project: v.opt_str("project"),
            queue: v.str("queue"),
            clearml: match strings(v, "clearml_rows") {
                rows if rows.is_empty() => vec![v.str("clearml")],
                rows => rows,
            },
            description: v.str("description"),
            next_run: v.opt_str("next_run"),
            enabled: v.bool_or("enabled", true),
            run_requested: false,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub task_id: String,
    pub item: String,
    pub started: String,
    pub finished: Option<String>,
    pub status: String,
    /// The number as the server wrote it (the app does no float parsing of its own).
    pub duration_seconds: Option<String>,
    pub link: Option<String>,
}

impl FromJson for Run {
    fn from_json(v: &Json) -> Option<Self> {
        Some(Run {
            task_id: req(v, "task_id")?,
            item: v.str("item"),
            started: req(v, "started")?,
            finished: v.opt_str("finished"),
            status: req(v, "status")?,
            duration_seconds: v.number_text("duration_seconds").map(str::to_string),
            link: v.opt_str("link"),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogItem {
    pub at: String,
    pub level: String,
    pub message: String,
}

impl FromJson for LogItem {
    fn from_json(v: &Json) -> Option<Self> {
        Some(LogItem {
            at: req(v, "at")?,
            level: req(v, "level")?,
            message: req(v, "message")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many exist (the answer may hold only the newest).
    pub total: usize,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            total: 0,
        }
    }
}

fn page<T: FromJson>(v: &Json, key: &str) -> Page<T> {
    let Some(p) = v.get(key) else {
        return Page::default();
    };
    let items: Vec<T> = list(p, "items");
    let total = p
        .number_text("total")
        .and_then(|t| t.parse().ok())
        .unwrap_or(items.len());
    Page { items, total }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dashboard {
    pub instance: DashInstance,
    pub scheduled: Vec<ScheduledRow>,
    pub runs: Page<Run>,
    pub log: Page<LogItem>,
}

impl FromJson for Dashboard {
    fn from_json(v: &Json) -> Option<Self> {
        let i = v.get("instance")?;
        Some(Dashboard {
            instance: DashInstance {
                id: req(i, "id")?,
                name: req(i, "name")?,
                paused: i.bool_or("paused", false),
            },
            scheduled: {
                let pending: Vec<String> = v
                    .get("run_now_pending")
                    .map(|p| p.as_array().iter().map(|r| r.str("item")).collect())
                    .unwrap_or_default();
                let mut rows: Vec<ScheduledRow> = list(v, "scheduled");
                for r in &mut rows {
                    r.run_requested = pending.contains(&r.item);
                }
                rows
            },
            runs: page(v, "runs"),
            log: page(v, "log"),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewShare {
    pub token: String,
    pub url: String,
    pub embed_url: String,
}

impl FromJson for NewShare {
    fn from_json(v: &Json) -> Option<Self> {
        Some(NewShare {
            token: req(v, "token")?,
            url: v.str("url"),
            embed_url: v.str("embed_url"),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShareInfo {
    pub id: String,
    pub hint: String,
    pub created_at: String,
}

impl FromJson for ShareInfo {
    fn from_json(v: &Json) -> Option<Self> {
        Some(ShareInfo {
            id: req(v, "id")?,
            hint: v.str("hint"),
            created_at: v.str("created_at"),
        })
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Percent-encodes a path segment as `encodeURIComponent` does (ids and tokens are plain, but
/// never trust that).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The handle every component uses to reach the API.
#[derive(Clone, Copy)]
pub struct Api {
    /// The admin token; `None` means "show the sign-in screen".
    pub token: RwSignal<Option<String>>,
    /// Why the user was signed out (e.g. the server refused the token).
    pub notice: RwSignal<Option<String>>,
}

impl Api {
    /// Reads the token kept in sessionStorage, if any.
    pub fn new() -> Self {
        let saved = storage().and_then(|s| s.get_item(TOKEN_KEY).ok().flatten());
        Api {
            token: RwSignal::new(saved.filter(|t| !t.is_empty())),
            notice: RwSignal::new(None),
        }
    }

    pub fn sign_in(self, token: String) {
        if let Some(s) = storage() {
            let _ = s.set_item(TOKEN_KEY, &token);
        }
        self.notice.set(None);
        self.token.set(Some(token));
    }

    pub fn sign_out(self, notice: Option<String>) {
        if let Some(s) = storage() {
            let _ = s.remove_item(TOKEN_KEY);
        }
        self.notice.set(notice);
        self.token.set(None);
    }

    /// Sends a request; `auth` adds the Bearer token. Non-2xx answers become [`ApiError`]s,
    /// and a 401 on an authenticated call signs the user out with a notice.
    ///
    /// Every call goes through this one future (and [`Api::json`]): the endpoints below only
    /// build its arguments, and callers read the answer with [`read`], outside any future.
    /// One state machine for all calls instead of one per endpoint keeps the wasm small.
    pub async fn text(
        self,
        method: &'static str,
        path: String,
        body: Option<String>,
        auth: bool,
    ) -> Result<String, ApiError> {
        let token = if auth {
            self.token.get_untracked()
        } else {
            None
        };
        let result = send_raw(method, &path, body, token.as_deref()).await;
        if let Err(e) = &result {
            if auth && e.status == 401 {
                self.sign_out(Some(format!(
                    "The server refused the admin token (401: {}). Paste the ADMIN_TOKEN of this deployment.",
                    e.message
                )));
            }
        }
        result
    }

    /// [`Api::text`], read as JSON.
    pub async fn json(
        self,
        method: &'static str,
        path: String,
        body: Option<String>,
        auth: bool,
    ) -> Result<Json, ApiError> {
        let text = self.text(method, path, body, auth).await?;
        Json::parse(&text).map_err(|e| bad_answer(&e.to_string()))
    }

    pub fn health(self) -> impl Future<Output = Result<Json, ApiError>> {
        self.json("GET", "/api/health".into(), None, false)
    }

    /// Checks a candidate token before keeping it: Err only when the server refuses it (401).
    pub async fn check_token(self, token: &str) -> Result<(), ApiError> {
        match send_raw("GET", "/api/instances", None, Some(token)).await {
            Err(e) if e.status == 401 || e.status == 0 => Err(e),
            _ => Ok(()),
        }
    }

    /// `{"instances": [...]}`: read it with [`read_list`].
    pub fn instances(self) -> impl Future<Output = Result<Json, ApiError>> {
        self.json("GET", "/api/instances".into(), None, true)
    }

    /// The instance (its configuration is the `config` member).
    pub fn instance(self, id: &str) -> impl Future<Output = Result<Json, ApiError>> {
        self.json("GET", format!("/api/instances/{}", seg(id)), None, true)
    }

    /// Creates an instance from a configuration (or a ClearML SDK schedule list) as JSON text;
    /// the answer is the instance ([`Created`]).
    pub fn create(self, config: String) -> impl Future<Output = Result<Json, ApiError>> {
        self.json("POST", "/api/instances".into(), Some(config), true)
    }

    pub fn update(self, id: &str, config: String) -> impl Future<Output = Result<Json, ApiError>> {
        self.json(
            "PUT",
            format!("/api/instances/{}", seg(id)),
            Some(config),
            true,
        )
    }

    pub fn delete(self, id: &str) -> impl Future<Output = Result<String, ApiError>> {
        self.text("DELETE", format!("/api/instances/{}", seg(id)), None, true)
    }

    /// `action` is `pause` or `resume`.
    pub fn set_instance(
        self,
        id: &str,
        action: &str,
    ) -> impl Future<Output = Result<String, ApiError>> {
        let path = format!("/api/instances/{}/{action}", seg(id));
        self.text("POST", path, None, true)
    }

    /// `action` is `pause`, `resume` or `run`.
    pub fn task_action(
        self,
        id: &str,
        item: &str,
        action: &str,
    ) -> impl Future<Output = Result<String, ApiError>> {
        let path = format!("/api/instances/{}/tasks/{}/{action}", seg(id), seg(item));
        self.text("POST", path, Some("{}".into()), true)
    }

    /// The configuration file as the server exports it.
    pub fn export(self, id: &str) -> impl Future<Output = Result<String, ApiError>> {
        self.text(
            "GET",
            format!("/api/instances/{}/export", seg(id)),
            None,
            true,
        )
    }

    /// The task's next 5 runs, ClearML form and sentence ([`Preview`]).
    pub fn preview(self, task: &Json) -> impl Future<Output = Result<Json, ApiError>> {
        let mut body = task.clone();
        body.set("count", 5);
        self.json("POST", "/api/preview".into(), Some(body.to_string()), false)
    }

    /// The dashboard ([`Dashboard`]) of an instance, or through a share link, with the newest
    /// `runs` runs and `log` log lines (at most [`MAX_PAGE`] each).
    pub fn dashboard(
        self,
        source: DashboardOf,
        runs: usize,
        log: usize,
    ) -> impl Future<Output = Result<Json, ApiError>> {
        let query = format!("runs_page_size={runs}&log_page_size={log}");
        match source {
            DashboardOf::Instance(id) => self.json(
                "GET",
                format!("/api/instances/{}/dashboard?{query}", seg(id)),
                None,
                true,
            ),
            DashboardOf::Share(token) => self.json(
                "GET",
                format!("/api/share/{}?{query}", seg(token)),
                None,
                false,
            ),
        }
    }

    /// The instance's timeline plot (SVG text).
    pub fn timeline(self, id: &str) -> impl Future<Output = Result<String, ApiError>> {
        self.text(
            "GET",
            format!("/api/instances/{}/timeline.svg", seg(id)),
            None,
            true,
        )
    }

    /// A new share link ([`NewShare`]).
    pub fn create_share(self, id: &str) -> impl Future<Output = Result<Json, ApiError>> {
        let path = format!("/api/instances/{}/shares", seg(id));
        self.json("POST", path, Some("{}".into()), true)
    }

    /// `{"shares": [...]}`: read it with [`read_list`].
    pub fn shares(self, id: &str) -> impl Future<Output = Result<Json, ApiError>> {
        self.json(
            "GET",
            format!("/api/instances/{}/shares", seg(id)),
            None,
            true,
        )
    }

    pub fn revoke_share(
        self,
        id: &str,
        share: &str,
    ) -> impl Future<Output = Result<String, ApiError>> {
        let path = format!("/api/instances/{}/shares/{}", seg(id), seg(share));
        self.text("DELETE", path, None, true)
    }
}

/// Whose dashboard: the signed-in owner's instance, or a share link's.
pub enum DashboardOf<'a> {
    Instance(&'a str),
    Share(&'a str),
}

/// An answer read as a `T`; one that lacks what `T` needs is an error.
pub fn read<T: FromJson>(v: Json) -> Result<T, ApiError> {
    T::from_json(&v).ok_or_else(|| bad_answer("a field is missing"))
}

/// A list answer (`{"instances": [...]}`): the elements of its member `key`.
pub fn read_list<T: FromJson>(v: Json, key: &str) -> Result<Vec<T>, ApiError> {
    match v.get(key) {
        Some(_) => Ok(list(&v, key)),
        None => Err(bad_answer("a field is missing")),
    }
}

pub fn bad_answer(why: &str) -> ApiError {
    ApiError {
        status: 200,
        code: "bad_answer".into(),
        message: format!("The server's answer was not understood: {why}"),
        ..Default::default()
    }
}

async fn send_raw(
    method: &str,
    path: &str,
    body: Option<String>,
    token: Option<&str>,
) -> Result<String, ApiError> {
    let mut req: RequestBuilder = match method {
        "POST" => Request::post(path),
        "PUT" => Request::put(path),
        "DELETE" => Request::delete(path),
        _ => Request::get(path),
    };
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let unreachable = |e: gloo_net::Error| ApiError {
        status: 0,
        code: "network".into(),
        message: format!("Could not reach the server: {e}"),
        ..Default::default()
    };
    let resp = match body {
        Some(b) => {
            req.header("Content-Type", "application/json")
                .body(b)
                .map_err(unreachable)?
                .send()
                .await
        }
        None => req.send().await,
    }
    .map_err(unreachable)?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if resp.ok() {
        return Ok(text);
    }
    let body = Json::parse(&text).unwrap_or(Json::Null);
    let detail = body.get("error").cloned().unwrap_or(Json::Null);
    let message = detail.str("message");
    let message = if message.is_empty() {
        match status {
            404 => format!("Not found (404): {path}"),
            _ => format!("The server answered {status} {}", resp.status_text()),
        }
    } else {
        message
    };
    Err(ApiError {
        status,
        code: detail.str("code"),
        message,
        field: detail.opt_str("field"),
        errors: list(&body, "errors"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dashboard_answer_reads_each_times_clearml_form_and_waiting_run_nows() {
        let v = Json::parse(
            r#"{"instance": {"id": "i", "name": "N", "paused": false},
            "scheduled": [
              {"item": "a", "clearml": "x; y", "clearml_rows": ["x", "y"], "enabled": true},
              {"item": "b", "clearml": "z"}],
            "run_now_pending": [{"item": "b", "requested_at": "2026-11-26T06:20:00Z"}],
            "runs": {"items": [], "total": 0}, "log": {"items": [], "total": 0}}"#,
        )
        .unwrap();
        let d: Dashboard = read(v).unwrap();
        assert_eq!(d.scheduled[0].clearml, ["x", "y"]);
        assert_eq!(
            d.scheduled[1].clearml,
            ["z"],
            "an answer without clearml_rows"
        );
        assert_eq!(
            (d.scheduled[0].run_requested, d.scheduled[1].run_requested),
            (false, true)
        );
    }

    #[test]
    fn path_segments_are_encoded_like_encode_uri_component() {
        assert_eq!(seg("abc-1_2.x~!*'()"), "abc-1_2.x~!*'()");
        assert_eq!(seg("a b/c?d#é"), "a%20b%2Fc%3Fd%23%C3%A9");
    }
}
