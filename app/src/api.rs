//! Every call to the worker's API. Answers are read as the core's contract types
//! ([`scheduler_core::api`]) with serde_json, the types the worker writes them with.
//!
//! [`Api`] is a `Copy` handle (three signals) provided as context by the app root: it holds the
//! admin token the user pasted (mirrored in sessionStorage) and, when the server answers 401,
//! forgets the token, marks the session expired and leaves a notice for the sign-in dialog. The
//! page stays as it was under that dialog (a form keeps what was typed into it), and the calls
//! it makes meanwhile fail at once rather than ask the server with no token.

use gloo_net::http::{Request, RequestBuilder};
use leptos::prelude::*;
use scheduler_core::api::{
    share_api_path, ChannelTest, Dashboard, ErrorBody, Health, InstanceDetail, InstanceList,
    NewShare, RunNowAccepted, ShareList,
};
use scheduler_core::ValidationError;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;

const TOKEN_KEY: &str = "scheduler-admin-token";

/// A failed call: the HTTP status (0 when the server could not be reached) and the API's error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub errors: Vec<ValidationError>,
}

impl ApiError {
    /// The answer's problems; a single message when the server named none.
    pub fn problems(&self) -> Vec<ValidationError> {
        if self.errors.is_empty() {
            vec![ValidationError {
                path: self.field.clone().unwrap_or_default(),
                message: self.message.clone(),
            }]
        } else {
            self.errors.clone()
        }
    }
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

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// Whose dashboard: the signed-in owner's instance, or a share link's.
#[derive(Clone, Debug, PartialEq)]
pub enum DashboardOf {
    Instance(String),
    Share(String),
}

/// The handle every component uses to reach the API.
#[derive(Clone, Copy)]
pub struct Api {
    /// The admin token; `None` means "show the sign-in screen".
    pub token: RwSignal<Option<String>>,
    /// Why the user was signed out (e.g. the server refused the token).
    pub notice: RwSignal<Option<String>>,
    /// The server refused the token of a signed-in session: the page is kept, under the sign-in
    /// dialog, until the user signs in again (or signs out).
    pub expired: RwSignal<bool>,
    /// Sign-ins so far: what a page loaded with the admin token tracks, so it loads again when
    /// the user signs in again under the dialog (its first load may have been refused).
    signed_in: RwSignal<u32>,
    /// Where the focus was when the session expired, given back when the dialog closes.
    focus_before: StoredValue<Option<web_sys::HtmlElement>, LocalStorage>,
}

impl Api {
    /// Reads the token kept in sessionStorage, if any.
    pub fn new() -> Self {
        let saved = storage().and_then(|s| s.get_item(TOKEN_KEY).ok().flatten());
        Api {
            token: RwSignal::new(saved.filter(|t| !t.is_empty())),
            notice: RwSignal::new(None),
            expired: RwSignal::new(false),
            signed_in: RwSignal::new(0),
            focus_before: StoredValue::new_local(None),
        }
    }

    pub fn sign_in(self, token: String) {
        if let Some(s) = storage() {
            let _ = s.set_item(TOKEN_KEY, &token);
        }
        self.notice.set(None);
        self.token.set(Some(token));
        self.signed_in.update(|n| *n += 1);
        if self.expired.get_untracked() {
            self.expired.set(false);
            // Once the dialog is gone and the page no longer inert.
            if let Some(el) = self.focus_before.try_update_value(Option::take).flatten() {
                request_animation_frame(move || {
                    if el.is_connected() {
                        let _ = el.focus();
                    }
                });
            }
        }
    }

    /// Tracks the sign-ins: a page's loads call this so they run again after a new sign-in.
    pub fn track_sign_in(self) {
        self.signed_in.track();
    }

    /// Signs out at the user's request: the page gives way to the sign-in screen.
    pub fn sign_out(self) {
        self.forget_token(None);
        self.expired.set(false);
    }

    /// The server refused the token: forgets it and keeps the page, under the sign-in dialog.
    fn expire(self, notice: String) {
        if !self.expired.get_untracked() {
            let focused = document()
                .active_element()
                .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
            self.focus_before.set_value(focused);
        }
        self.forget_token(Some(notice));
        self.expired.set(true);
    }

    fn forget_token(self, notice: Option<String>) {
        if let Some(s) = storage() {
            let _ = s.remove_item(TOKEN_KEY);
        }
        self.notice.set(notice);
        self.token.set(None);
    }

    /// Sends a request; `auth` adds the Bearer token. Non-2xx answers become [`ApiError`]s,
    /// and a 401 on an authenticated call expires the session (see the module's doc).
    pub async fn text(
        self,
        method: &'static str,
        path: &str,
        body: Option<String>,
        auth: bool,
    ) -> Result<String, ApiError> {
        self.call(method, path, body, auth, None).await
    }

    /// [`Api::text`], with `If-Match: "revision"` when given.
    async fn call(
        self,
        method: &'static str,
        path: &str,
        body: Option<String>,
        auth: bool,
        if_match: Option<u64>,
    ) -> Result<String, ApiError> {
        let token = self.token_for(auth)?;
        let result = send(method, path, body, token.as_deref(), if_match).await;
        if let Err(e) = &result {
            self.refused(auth, token, e);
        }
        result
    }

    /// The token a call sends: none when `auth` is off; when it is on and none is held (the
    /// session expired), the call fails here, with no request. Out of line, as `refused`: every
    /// async call's state machine would carry a copy.
    #[inline(never)]
    fn token_for(self, auth: bool) -> Result<Option<String>, ApiError> {
        match (auth, self.token.get_untracked()) {
            (false, _) => Ok(None),
            (true, Some(token)) => Ok(Some(token)),
            (true, None) => Err(ApiError {
                status: 401,
                code: "signed_out".into(),
                message: "Not signed in: sign in again, then try again.".into(),
                ..Default::default()
            }),
        }
    }

    /// A 401 to `sent` expires the session, but only while `sent` is still the token held: an
    /// answer to a call sent before a new sign-in must not expire the new token.
    #[inline(never)]
    fn refused(self, auth: bool, sent: Option<String>, e: &ApiError) {
        if auth && e.status == 401 && self.token.get_untracked() == sent {
            self.expire(format!(
                "The server refused the admin token (401: {}). Paste the ADMIN_TOKEN of this deployment; this page keeps what you typed.",
                e.message
            ));
        }
    }

    /// [`Api::text`], read as a `T` of the contract.
    pub async fn json<T: DeserializeOwned>(
        self,
        method: &'static str,
        path: &str,
        body: Option<String>,
        auth: bool,
    ) -> Result<T, ApiError> {
        let text = self.text(method, path, body, auth).await?;
        serde_json::from_str(&text).map_err(|e| bad_answer(&e.to_string()))
    }

    pub async fn health(self) -> Result<Health, ApiError> {
        self.json("GET", "/api/health", None, false).await
    }

    /// Checks a candidate token before keeping it: only a token the server accepted is kept
    /// (a server that could not answer, 5xx, has not checked it).
    pub async fn check_token(self, token: &str) -> Result<(), ApiError> {
        send("GET", "/api/instances", None, Some(token), None)
            .await
            .map(drop)
    }

    pub async fn instances(self) -> Result<InstanceList, ApiError> {
        self.json("GET", "/api/instances", None, true).await
    }

    pub async fn instance(self, id: &str) -> Result<InstanceDetail, ApiError> {
        let path = format!("/api/instances/{}", seg(id));
        self.json("GET", &path, None, true).await
    }

    /// Creates an instance from a configuration (or a ClearML SDK schedule list) as JSON text.
    pub async fn create(self, config: String) -> Result<InstanceDetail, ApiError> {
        self.json("POST", "/api/instances", Some(config), true)
            .await
    }

    /// Replaces the configuration; with `revision` (the one the form was loaded at), only if
    /// nobody saved it since (else a 412 `stale_revision`).
    pub async fn update(
        self,
        id: &str,
        config: String,
        revision: Option<u64>,
    ) -> Result<InstanceDetail, ApiError> {
        let path = format!("/api/instances/{}", seg(id));
        let text = self
            .call("PUT", &path, Some(config), true, revision)
            .await?;
        serde_json::from_str(&text).map_err(|e| bad_answer(&e.to_string()))
    }

    pub async fn delete(self, id: &str) -> Result<(), ApiError> {
        let path = format!("/api/instances/{}", seg(id));
        self.text("DELETE", &path, None, true).await.map(drop)
    }

    /// `action` is `pause` or `resume`.
    pub async fn set_instance(self, id: &str, action: &str) -> Result<InstanceDetail, ApiError> {
        let path = format!("/api/instances/{}/{action}", seg(id));
        self.json("POST", &path, None, true).await
    }

    /// `action` is `pause` or `resume`.
    pub async fn set_task(
        self,
        id: &str,
        item: &str,
        action: &str,
    ) -> Result<InstanceDetail, ApiError> {
        let path = format!("/api/instances/{}/tasks/{}/{action}", seg(id), seg(item));
        self.json("POST", &path, Some("{}".into()), true).await
    }

    /// Asks for a run of task `item` at the next tick.
    pub async fn run_now(self, id: &str, item: &str) -> Result<RunNowAccepted, ApiError> {
        let path = format!("/api/instances/{}/tasks/{}/run", seg(id), seg(item));
        self.json("POST", &path, Some("{}".into()), true).await
    }

    /// The configuration file as the server exports it.
    pub async fn export(self, id: &str) -> Result<String, ApiError> {
        let path = format!("/api/instances/{}/export", seg(id));
        self.text("GET", &path, None, true).await
    }

    /// The dashboard of an instance, or through a share link, with the newest `runs` runs and
    /// `log` log lines (at most [`MAX_PAGE_SIZE`] each).
    pub async fn dashboard(
        self,
        source: &DashboardOf,
        runs: usize,
        log: usize,
    ) -> Result<Dashboard, ApiError> {
        let query = format!("runs_page_size={runs}&log_page_size={log}");
        match source {
            DashboardOf::Instance(id) => {
                let path = format!("/api/instances/{}/dashboard?{query}", seg(id));
                self.json("GET", &path, None, true).await
            }
            DashboardOf::Share(token) => {
                let path = format!("{}?{query}", share_api_path(&seg(token)));
                self.json("GET", &path, None, false).await
            }
        }
    }

    /// The instance's timeline plot (SVG text).
    pub async fn timeline(self, id: &str) -> Result<String, ApiError> {
        let path = format!("/api/instances/{}/timeline.svg", seg(id));
        self.text("GET", &path, None, true).await
    }

    pub async fn create_share(self, id: &str) -> Result<NewShare, ApiError> {
        let path = format!("/api/instances/{}/shares", seg(id));
        self.json("POST", &path, Some("{}".into()), true).await
    }

    pub async fn shares(self, id: &str) -> Result<ShareList, ApiError> {
        let path = format!("/api/instances/{}/shares", seg(id));
        self.json("GET", &path, None, true).await
    }

    /// "Send test": a test message to a saved notification channel, and what it answered.
    pub async fn test_channel(self, id: &str, channel: &str) -> Result<ChannelTest, ApiError> {
        let path = format!("/api/instances/{}/channels/{}/test", seg(id), seg(channel));
        self.json("POST", &path, Some("{}".into()), true).await
    }

    pub async fn revoke_share(self, id: &str, share: &str) -> Result<String, ApiError> {
        let path = format!("/api/instances/{}/shares/{}", seg(id), seg(share));
        self.text("DELETE", &path, None, true).await
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

async fn send(
    method: &str,
    path: &str,
    body: Option<String>,
    token: Option<&str>,
    if_match: Option<u64>,
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
    if let Some(revision) = if_match {
        req = req.header("If-Match", &format!("\"{revision}\""));
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
    // A connection cut while the body arrives is the network's failure, not a broken answer.
    let text = resp.text().await.map_err(unreachable)?;
    if resp.ok() {
        return Ok(text);
    }
    Err(match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => ApiError {
            status,
            code: body.error.code,
            message: body.error.message,
            field: body.error.field,
            errors: body.errors.or(body.error.errors).unwrap_or_default(),
        },
        Err(_) => ApiError {
            status,
            code: String::new(),
            message: match status {
                404 => format!("Not found (404): {path}"),
                _ => format!("The server answered {status} {}", resp.status_text()),
            },
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded_like_encode_uri_component() {
        assert_eq!(seg("abc-1_2.x~!*'()"), "abc-1_2.x~!*'()");
        assert_eq!(seg("a b/c?d#é"), "a%20b%2Fc%3Fd%23%C3%A9");
    }
}
