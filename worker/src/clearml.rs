//! A small client for ClearML's REST API (clearml-server's contract).
//!
//! `auth.login` with HTTP Basic gives a token; every other call is
//! `POST {host}/{service}.{action}` with a JSON body and `Authorization: Bearer`.
//! Answers come in the `meta`/`data` envelope; a non-200 `result_code` becomes a
//! [`ClearMlError`] that says which call failed and why. The token is kept for
//! the isolate's life and renewed once on a 401.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use base64::Engine as _;

use serde_json::{json, Value};
use worker::{Env, Headers, Method, Request, RequestInit, RequestRedirect};

use crate::outbound::{fetch_text_within, NoAnswer};

/// How long one ClearML call may take before it counts as failed (`CLEARML_TIMEOUT_SECONDS`).
pub const DEFAULT_CALL_TIMEOUT_SECONDS: u64 = 20;

thread_local! {
    /// (host + access key, token): survives between events in one isolate.
    static TOKEN: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Why a ClearML call failed. Never carries the credentials.
#[derive(Debug, Clone)]
pub struct ClearMlError {
    pub endpoint: String,
    /// HTTP status / `meta.result_code`; 0 when no answer arrived.
    pub code: u16,
    pub subcode: u32,
    pub message: String,
}

impl ClearMlError {
    fn transport(endpoint: &str, message: String) -> Self {
        ClearMlError {
            endpoint: endpoint.into(),
            code: 0,
            subcode: 0,
            message,
        }
    }

    /// ClearML's error `code`/`subcode` (apierrors/errors.conf: a subcode means something only
    /// under its code, e.g. 400/101 "invalid task id" but 500/101 "inconsistent data").
    pub fn is(&self, code: u16, subcode: u32) -> bool {
        self.code == code && self.subcode == subcode
    }

    /// A 5xx, a 408 or 429, a timeout, a broken answer, a 401 (an expired session, or
    /// credentials being rotated) or a redirect (the address being moved): worth trying again
    /// later.
    pub fn is_transient(&self) -> bool {
        // 401 of any kind too: a key rotated or revoked is fixed by the admin, and the slots
        // due meanwhile are retried within their window rather than dropped one by one. The
        // same for a redirect: CLEARML_API_HOST is the admin's to correct.
        self.is_outage() || self.code == 401
    }

    /// ClearML as a whole failed the call, not the call's own request: no answer (or one that
    /// is not ClearML's), a 5xx, a 408 or 429, or a redirect (the address moved). Every other
    /// call would likely fail the same way right now.
    pub fn is_outage(&self) -> bool {
        self.code == 0
            || (300..400).contains(&self.code)
            || self.code == 408
            || self.code == 429
            || self.code >= 500
    }
}

impl std::fmt::Display for ClearMlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.code == 0 {
            write!(f, "{} failed: {}", self.endpoint, self.message)
        } else {
            write!(
                f,
                "{} failed: {}/{} {}",
                self.endpoint, self.code, self.subcode, self.message
            )
        }
    }
}

pub type CallResult = Result<Value, ClearMlError>;

/// Where ClearML is and how to sign in, from the worker's environment.
pub struct Credentials {
    pub host: String,
    access_key: String,
    secret_key: String,
}

impl Credentials {
    /// Reads CLEARML_API_HOST, CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY
    /// (secrets or plain vars); `None` names the first one missing.
    pub fn from_env(env: &Env) -> Result<Credentials, String> {
        let get = |name: &str| {
            crate::settings::get(env, name)
                .ok_or_else(|| format!("{name} is not set; see README \"Deploying to Cloudflare\""))
        };
        Ok(Credentials {
            host: get("CLEARML_API_HOST")?.trim_end_matches('/').to_string(),
            access_key: get("CLEARML_API_ACCESS_KEY")?,
            secret_key: get("CLEARML_API_SECRET_KEY")?,
        })
    }
}

/// A ClearML API session that counts its subrequests against a budget.
pub struct ClearMl {
    creds: Credentials,
    /// Subrequests made so far in this event.
    pub subrequests: Cell<u32>,
    /// Subrequests this event may make at most.
    pub budget: u32,
    /// Calls so far in this event that ClearML as a whole failed ([`ClearMlError::is_outage`],
    /// or a sign-in that failed): what tells an outage from one task's trouble.
    pub outages: Cell<u32>,
    /// One call's timeout.
    pub timeout: Duration,
}

impl ClearMl {
    pub fn new(creds: Credentials, budget: u32) -> Self {
        ClearMl {
            creds,
            subrequests: Cell::new(0),
            budget,
            outages: Cell::new(0),
            timeout: Duration::from_secs(DEFAULT_CALL_TIMEOUT_SECONDS),
        }
    }

    fn cache_key(&self) -> String {
        format!("{}|{}", self.creds.host, self.creds.access_key)
    }

    /// Calls `endpoint` (e.g. `tasks.clone`) and returns the envelope's `data`.
    pub async fn call(&self, endpoint: &str, body: Value) -> CallResult {
        let token = match self.cached_token() {
            Some(t) => t,
            None => self.login().await?,
        };
        match self
            .raw_call(endpoint, &body, &format!("Bearer {token}"))
            .await
        {
            Err(e) if e.code == 401 => {
                // Expired or revoked: sign in again, once. Calls in flight at the same time may
                // have signed in already: forget only the token that failed.
                TOKEN.with(|t| {
                    let mut t = t.borrow_mut();
                    if t.as_ref().is_some_and(|(_, v)| *v == token) {
                        t.take();
                    }
                });
                let token = match self.cached_token() {
                    Some(t) => t,
                    None => self.login().await?,
                };
                self.raw_call(endpoint, &body, &format!("Bearer {token}"))
                    .await
            }
            other => other,
        }
    }

    /// Signs in unless a token is cached (errors are left for the calls to meet and report).
    pub async fn sign_in(&self) {
        if self.cached_token().is_none() {
            let _ = self.login().await;
        }
    }

    fn cached_token(&self) -> Option<String> {
        let key = self.cache_key();
        TOKEN.with(|t| {
            t.borrow()
                .as_ref()
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        })
    }

    async fn login(&self) -> Result<String, ClearMlError> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.creds.access_key, self.creds.secret_key
        ));
        let data = self
            .raw_call("auth.login", &json!({}), &format!("Basic {basic}"))
            .await?;
        let token = data["token"]
            .as_str()
            .ok_or_else(|| {
                ClearMlError::transport("auth.login", "the answer has no data.token".into())
            })?
            .to_string();
        TOKEN.with(|t| *t.borrow_mut() = Some((self.cache_key(), token.clone())));
        Ok(token)
    }

    async fn raw_call(&self, endpoint: &str, body: &Value, authorization: &str) -> CallResult {
        if self.subrequests.get() >= self.budget {
            return Err(ClearMlError::transport(
                endpoint,
                "the subrequest budget of this tick is spent".into(),
            ));
        }
        self.subrequests.set(self.subrequests.get() + 1);
        let answer = self.send(endpoint, body, authorization).await;
        if let Err(e) = &answer {
            if e.is_outage() || endpoint == "auth.login" {
                self.outages.set(self.outages.get() + 1);
            }
        }
        answer
    }

    /// One request and its answer, read within the call's timeout.
    async fn send(&self, endpoint: &str, body: &Value, authorization: &str) -> CallResult {
        let fail = |m: String| ClearMlError::transport(endpoint, m);
        let headers = Headers::new();
        headers
            .set("Content-Type", "application/json")
            .map_err(|e| fail(e.to_string()))?;
        headers
            .set("Authorization", authorization)
            .map_err(|e| fail(e.to_string()))?;
        // Redirects are not followed: fetch would send a POST redirected by 301 or 302 again as
        // a GET without its body, and clearml-server reads a missing body as `{}` (every task
        // for `tasks.get_all`, say). A redirect is an error that names where it points.
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual)
            .with_body(Some(body.to_string().into()));
        let url = format!("{}/{endpoint}", self.creds.host);
        let request = Request::new_with_init(&url, &init).map_err(|e| fail(e.to_string()))?;
        let (status, location, text) = match fetch_text_within(request, self.timeout).await {
            Ok(answer) => answer,
            Err(NoAnswer::Failed(e)) => return Err(fail(format!("no answer ({e})"))),
            Err(NoAnswer::TimedOut) => {
                return Err(fail(format!(
                    "no answer within {}s",
                    self.timeout.as_secs()
                )))
            }
        };
        if (300..400).contains(&status) {
            return Err(ClearMlError {
                endpoint: endpoint.into(),
                code: status,
                subcode: 0,
                message: redirect_message(&self.creds.host, location.as_deref()),
            });
        }
        parse_envelope(endpoint, status, &text)
    }
}

/// What to do about a redirect: point CLEARML_API_HOST where it leads. The host alone is
/// named (a URL the operator configured), never a query that could carry a token.
fn redirect_message(host: &str, location: Option<&str>) -> String {
    let to = location
        .map(|l| l.split(['?', '#']).next().unwrap_or_default())
        .filter(|l| !l.is_empty())
        .map(|l| format!(" to {l}"))
        .unwrap_or_default();
    format!(
        "ClearML's address {host} answers with a redirect{to}; set CLEARML_API_HOST to the address the API is served at (the redirect is not followed: it would resend the call without its body)"
    )
}

/// Reads clearml-server's `{"meta": {...}, "data": {...}}` envelope.
fn parse_envelope(endpoint: &str, status: u16, text: &str) -> CallResult {
    let envelope: Value = serde_json::from_str(text).map_err(|_| ClearMlError {
        endpoint: endpoint.into(),
        code: if status == 200 { 0 } else { status },
        subcode: 0,
        message: format!("HTTP {status} with an answer that is not ClearML's JSON envelope"),
    })?;
    let meta = &envelope["meta"];
    let code = meta["result_code"]
        .as_u64()
        .map(|c| c as u16)
        .unwrap_or(status);
    if code != 200 || status != 200 {
        return Err(ClearMlError {
            endpoint: endpoint.into(),
            code: if code == 200 { status } else { code },
            subcode: meta["result_subcode"].as_u64().unwrap_or(0) as u32,
            message: meta["result_msg"]
                .as_str()
                .unwrap_or("no message")
                .to_string(),
        });
    }
    match envelope.get("data") {
        Some(data) if data.is_object() => Ok(data.clone()),
        _ => Err(ClearMlError::transport(
            endpoint,
            "the answer has no data object".into(),
        )),
    }
}

/// `^name$` with regex metacharacters escaped: ClearML's `name` filters are regexes.
pub fn anchored(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('^');
    for c in name.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}
