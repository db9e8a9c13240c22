//! HTTP plumbing shared by the handlers: the one error shape, JSON answers, bounded body
//! reading, query parameters, pagination and the security headers.

use scheduler_core::api::{ErrorBody, ErrorDetail};
use scheduler_core::{Instant, ValidationError};
use serde::Serialize;
use serde_json::Value;
use worker::{Request, Response};

/// Largest request body accepted (1 MiB); bigger ones get 413.
pub const MAX_BODY: usize = 1024 * 1024;

/// What every handler returns: an answer, or an [`ApiError`] that becomes the JSON error shape.
pub type Answer = std::result::Result<Response, ApiError>;

/// An error answer: `{"error": {"code", "message", "field"?}, "errors"?: [{path, message}]}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub errors: Option<Vec<ValidationError>>,
    /// For 405: the methods the route accepts (the `Allow` header).
    pub allow: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            errors: None,
            allow: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "bad_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not_found", message)
    }
    pub fn method(allow: &'static str) -> ApiError {
        ApiError {
            allow: Some(allow),
            ..ApiError::new(
                405,
                "method_not_allowed",
                format!("this route accepts {allow}"),
            )
        }
    }
    pub fn field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }
    /// 400 `invalid_config` with the core's path-naming problems.
    pub fn invalid(errors: impl IntoIterator<Item = ValidationError>) -> ApiError {
        let errors: Vec<ValidationError> = errors.into_iter().collect();
        let first = errors.first();
        let field = first.map(|e| e.path.clone()).filter(|p| !p.is_empty());
        let message = match (first, errors.len()) {
            (None, _) => "the configuration is invalid".to_string(),
            (Some(e), 1) => e.to_string(),
            (Some(e), n) => format!("{e} (and {} more problems)", n - 1),
        };
        ApiError {
            field,
            errors: Some(errors),
            ..ApiError::new(400, "invalid_config", message)
        }
    }

    pub fn into_response(self) -> Response {
        let body = ErrorBody {
            errors: self.errors.clone(),
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
                errors: self.errors,
            },
        };
        let mut resp = json_response(self.status, &body);
        if let Some(allow) = self.allow {
            let _ = resp.headers_mut().set("Allow", allow);
        }
        if self.status == 401 {
            let _ = resp.headers_mut().set("WWW-Authenticate", "Bearer");
        }
        resp
    }
}

/// Storage (KV) and runtime failures: the request itself was fine, so 503 and "try again".
impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> ApiError {
        worker::console_error!("api: storage error: {e}");
        ApiError::new(
            503,
            "unavailable",
            "the storage is unavailable right now; try again in a moment",
        )
    }
}

/// A JSON answer with `status`. Never fails: a body that cannot be built becomes a bare status.
pub fn json_response(status: u16, body: &impl Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    text_response(status, text, "application/json; charset=utf-8")
}

pub fn text_response(status: u16, text: String, content_type: &str) -> Response {
    let mut resp = Response::from_bytes(text.into_bytes())
        .or_else(|_| Response::empty())
        .unwrap_or_else(|_| Response::error("", 500).expect("a bare response builds"))
        .with_status(status);
    let _ = resp.headers_mut().set("Content-Type", content_type);
    resp
}

pub fn ok_json(body: &impl Serialize) -> Answer {
    Ok(json_response(200, body))
}

pub fn no_content() -> Answer {
    Ok(Response::empty()?.with_status(204))
}

/// Reads the body as UTF-8 text: 413 above [`MAX_BODY`] (by Content-Length and by the bytes
/// actually received), 400 for invalid UTF-8.
pub async fn body_text(req: &mut Request) -> std::result::Result<String, ApiError> {
    let too_large = || {
        ApiError::new(
            413,
            "payload_too_large",
            format!("the body is larger than {MAX_BODY} bytes"),
        )
    };
    if let Ok(Some(len)) = req.headers().get("Content-Length") {
        match len.trim().parse::<u64>() {
            Ok(n) if n > MAX_BODY as u64 => return Err(too_large()),
            Ok(_) => {}
            Err(_) => return Err(ApiError::bad_request("Content-Length is not a number")),
        }
    }
    // Read as it arrives and cut off past the limit: a body sent without Content-Length
    // (chunked) is never buffered whole.
    let mut bytes = Vec::new();
    if let Ok(mut stream) = req.stream() {
        use futures_util::StreamExt as _;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| ApiError::bad_request("the body could not be read"))?;
            if bytes.len() + chunk.len() > MAX_BODY {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
    }
    String::from_utf8(bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not valid UTF-8 (bad byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The body as a JSON value (400 `invalid_json` naming line and column when it is not JSON).
pub async fn body_json(req: &mut Request) -> std::result::Result<Value, ApiError> {
    let text = body_text(req).await?;
    parse_json(&text)
}

pub fn parse_json(text: &str) -> std::result::Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            400,
            "invalid_json",
            format!(
                "the body is not valid JSON: {e}; check for a missing comma, quote or bracket there"
            ),
        )
    })
}

/// A query parameter.
pub fn query(req: &Request, name: &str) -> Option<String> {
    let url = req.url().ok()?;
    let value = url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned());
    value
}

/// A positive integer query parameter, `default` when absent, clamped to `1..=max`.
pub fn query_number(
    req: &Request,
    name: &str,
    default: usize,
    max: usize,
) -> std::result::Result<usize, ApiError> {
    match query(req, name) {
        None => Ok(default),
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n.min(max)),
            _ => Err(
                ApiError::bad_request(format!("{name} must be a whole number of at least 1"))
                    .field(name),
            ),
        },
    }
}

/// Now, from the isolate's clock.
pub fn now() -> Instant {
    Instant::from_unix_millis(js_sys::Date::now() as i64)
}

pub use scheduler_core::api::iso;

/// The Content-Security-Policy of the worker's own answers (the static app gets the same
/// from `public/_headers`).
const CSP_APP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// Embeds are meant to be framed and shown anywhere; they load nothing.
const CSP_EMBED: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors *";

/// Adds the security headers to every answer of the worker.
pub fn secure(mut resp: Response, embed: bool) -> Response {
    let h = resp.headers_mut();
    let _ = h.set("X-Content-Type-Options", "nosniff");
    let _ = h.set("Referrer-Policy", "no-referrer");
    if embed {
        let _ = h.set("Content-Security-Policy", CSP_EMBED);
        let _ = h.set("Cross-Origin-Resource-Policy", "cross-origin");
    } else {
        let _ = h.set("Content-Security-Policy", CSP_APP);
        let _ = h.set("X-Frame-Options", "DENY");
        if !h.has("Cache-Control").unwrap_or(false) {
            let _ = h.set("Cache-Control", "no-store");
        }
    }
    resp
}
