//! Every call to the worker's API lives here, with the small serde types of its answers.
//!
//! [`Api`] is a `Copy` handle (two signals) provided as context by the app root: it holds the
//! admin token the user pasted (mirrored in sessionStorage) and, when the server answers 401,
//! forgets the token and leaves a notice for the sign-in screen.

use gloo_net::http::{Request, RequestBuilder};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

const TOKEN_KEY: &str = "scheduler-admin-token";

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

/// One problem with a configuration: where it is (`scheduled_tasks[1].times[0]`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FieldError {
    #[serde(default)]
    pub path: String,
    pub message: String,
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

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: Option<ErrorDetail>,
    #[serde(default)]
    errors: Vec<FieldError>,
}

#[derive(Deserialize, Default)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    field: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LastRun {
    pub status: String,
    #[serde(default)]
    pub started: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InstanceSummary {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub task_count: u32,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub next_run: Option<String>,
    #[serde(default)]
    pub last_run: Option<LastRun>,
}

#[derive(Deserialize)]
struct InstanceList {
    instances: Vec<InstanceSummary>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InstanceDetail {
    pub config: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Created {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Preview {
    #[serde(default)]
    pub next: Vec<String>,
    #[serde(default)]
    pub clearml: Vec<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct DashInstance {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub paused: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
pub struct ScheduledRow {
    pub item: String,
    #[serde(default)]
    pub base_task_id: String,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub queue: String,
    #[serde(default)]
    pub clearml: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub next_run: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Run {
    pub task_id: String,
    #[serde(default)]
    pub item: String,
    pub started: String,
    #[serde(default)]
    pub finished: Option<String>,
    pub status: String,
    #[serde(default)]
    pub duration_seconds: Option<f64>,
    #[serde(default)]
    pub late_seconds: Option<f64>,
    #[serde(default)]
    pub link: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LogItem {
    pub at: String,
    pub level: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub total: u64,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            total: 0,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Dashboard {
    pub instance: DashInstance,
    #[serde(default)]
    pub scheduled: Vec<ScheduledRow>,
    #[serde(default)]
    pub runs: Page<Run>,
    #[serde(default)]
    pub log: Page<LogItem>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewShare {
    pub token: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub embed_url: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ShareInfo {
    pub id: String,
    #[serde(default)]
    pub hint: String,
    #[serde(default)]
    pub created_at: String,
}

#[derive(Deserialize)]
struct ShareList {
    shares: Vec<ShareInfo>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Percent-encodes a path segment (ids and tokens are plain, but never trust that).
pub fn seg(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
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
    async fn send(
        self,
        method: &str,
        path: &str,
        body: Option<String>,
        auth: bool,
    ) -> Result<String, ApiError> {
        let token = if auth {
            self.token.get_untracked()
        } else {
            None
        };
        let result = send_raw(method, path, body, token.as_deref()).await;
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

    async fn json<T: DeserializeOwned>(
        self,
        method: &str,
        path: &str,
        body: Option<String>,
        auth: bool,
    ) -> Result<T, ApiError> {
        let text = self.send(method, path, body, auth).await?;
        parse(&text)
    }

    pub async fn health(self) -> Result<Health, ApiError> {
        self.json("GET", "/api/health", None, false).await
    }

    /// Checks a candidate token before keeping it: Err only when the server refuses it (401).
    pub async fn check_token(self, token: &str) -> Result<(), ApiError> {
        match send_raw("GET", "/api/instances", None, Some(token)).await {
            Err(e) if e.status == 401 || e.status == 0 => Err(e),
            _ => Ok(()),
        }
    }

    pub async fn instances(self) -> Result<Vec<InstanceSummary>, ApiError> {
        let list: InstanceList = self.json("GET", "/api/instances", None, true).await?;
        Ok(list.instances)
    }

    pub async fn instance(self, id: &str) -> Result<InstanceDetail, ApiError> {
        self.json("GET", &format!("/api/instances/{}", seg(id)), None, true)
            .await
    }

    /// Creates an instance from a configuration (or a ClearML SDK schedule list) as JSON text.
    pub async fn create(self, config: String) -> Result<Created, ApiError> {
        self.json("POST", "/api/instances", Some(config), true)
            .await
    }

    pub async fn update(self, id: &str, config: String) -> Result<(), ApiError> {
        self.send(
            "PUT",
            &format!("/api/instances/{}", seg(id)),
            Some(config),
            true,
        )
        .await
        .map(drop)
    }

    pub async fn delete(self, id: &str) -> Result<(), ApiError> {
        self.send("DELETE", &format!("/api/instances/{}", seg(id)), None, true)
            .await
            .map(drop)
    }

    /// `action` is `pause` or `resume`.
    pub async fn set_instance(self, id: &str, action: &str) -> Result<(), ApiError> {
        self.send(
            "POST",
            &format!("/api/instances/{}/{action}", seg(id)),
            None,
            true,
        )
        .await
        .map(drop)
    }

    /// `action` is `pause`, `resume` or `run`.
    pub async fn task_action(self, id: &str, item: &str, action: &str) -> Result<(), ApiError> {
        let path = format!("/api/instances/{}/tasks/{}/{action}", seg(id), seg(item));
        self.send("POST", &path, Some("{}".into()), true)
            .await
            .map(drop)
    }

    /// The configuration file as the server exports it.
    pub async fn export(self, id: &str) -> Result<String, ApiError> {
        self.send(
            "GET",
            &format!("/api/instances/{}/export", seg(id)),
            None,
            true,
        )
        .await
    }

    pub async fn preview(self, task: &Value) -> Result<Preview, ApiError> {
        let mut body = task.clone();
        if let Value::Object(m) = &mut body {
            m.insert("count".into(), 5.into());
        }
        self.json("POST", "/api/preview", Some(body.to_string()), false)
            .await
    }

    pub async fn dashboard(self, id: &str) -> Result<Dashboard, ApiError> {
        self.json(
            "GET",
            &format!("/api/instances/{}/dashboard", seg(id)),
            None,
            true,
        )
        .await
    }

    pub async fn shared_dashboard(self, token: &str) -> Result<Dashboard, ApiError> {
        self.json("GET", &format!("/api/share/{}", seg(token)), None, false)
            .await
    }

    /// The instance's timeline plot (SVG text).
    pub async fn timeline(self, id: &str) -> Result<String, ApiError> {
        self.send(
            "GET",
            &format!("/api/instances/{}/timeline.svg", seg(id)),
            None,
            true,
        )
        .await
    }

    pub async fn create_share(self, id: &str) -> Result<NewShare, ApiError> {
        self.json(
            "POST",
            &format!("/api/instances/{}/shares", seg(id)),
            Some("{}".into()),
            true,
        )
        .await
    }

    pub async fn shares(self, id: &str) -> Result<Vec<ShareInfo>, ApiError> {
        let list: ShareList = self
            .json(
                "GET",
                &format!("/api/instances/{}/shares", seg(id)),
                None,
                true,
            )
            .await?;
        Ok(list.shares)
    }

    pub async fn revoke_share(self, id: &str, share: &str) -> Result<(), ApiError> {
        self.send(
            "DELETE",
            &format!("/api/instances/{}/shares/{}", seg(id), seg(share)),
            None,
            true,
        )
        .await
        .map(drop)
    }
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError {
        status: 200,
        code: "bad_answer".into(),
        message: format!("The server's answer was not understood: {e}"),
        ..Default::default()
    })
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
    let body: ErrorBody = serde_json::from_str(&text).unwrap_or_default();
    let detail = body.error.unwrap_or_default();
    let message = if detail.message.is_empty() {
        match status {
            404 => format!("Not found (404): {path}"),
            _ => format!("The server answered {status} {}", resp.status_text()),
        }
    } else {
        detail.message
    };
    Err(ApiError {
        status,
        code: detail.code,
        message,
        field: detail.field,
        errors: body.errors,
    })
}
