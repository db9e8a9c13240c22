//! HTTP: the ClearML namespace (`/{service}.{action}`, `/v{X.Y}/{service}.{action}`) and the
//! stand-in's own admin routes under `/_standin/`.
//!
//! A ClearML call goes through the same steps as in clearml-server's `ServiceRepo.handle_call`:
//! parse the path (400), resolve the endpoint (404), authorise (401), load the data (400), run.
//! Faults are drawn right after the endpoint is resolved.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use regex::Regex;
use serde_json::{json, Map, Value};

use super::api::{envelope, ApiError, CallMeta, MAX_API_VERSION};
use super::clock::unix_secs;
use super::faults::{Fault, FaultConfig, FaultKind, ScriptedFault};
use super::jwt;
use super::model::new_id;
use super::records::CallRecord;
use super::service::{self, AuthMode, Ctx};
use super::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_standin/records", get(records))
        .route("/_standin/reset", post(reset))
        .route(
            "/_standin/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/_standin/faults/next", post(push_faults))
        .route("/_standin/expire_tokens", post(expire_tokens))
        .route("/_standin/tasks", get(tasks))
        .route(
            "/_standin/health",
            get(|| async { Json(json!({"ok": true})) }),
        )
        .fallback(clearml)
        .with_state(shared)
}

async fn records(AxState(s): AxState<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(&s.lock().records).unwrap_or_default())
}

async fn reset(AxState(s): AxState<Arc<Shared>>) -> Json<Value> {
    s.reset();
    Json(json!({"reset": true}))
}

async fn get_faults(AxState(s): AxState<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(&s.lock().faults.config).unwrap_or_default())
}

async fn set_faults(AxState(s): AxState<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultConfig>(&body) {
        Ok(cfg) => {
            s.lock().faults.set(cfg.clone());
            Json(serde_json::to_value(cfg).unwrap_or_default()).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("bad fault config: {e}")})),
        )
            .into_response(),
    }
}

async fn push_faults(AxState(s): AxState<Arc<Shared>>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Vec<ScriptedFault>>(&body)
        .or_else(|_| serde_json::from_slice::<ScriptedFault>(&body).map(|f| vec![f]));
    match parsed {
        Ok(list) => {
            let mut st = s.lock();
            for f in list {
                st.faults.push(f);
            }
            Json(serde_json::to_value(&st.faults.config).unwrap_or_default()).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("bad scripted fault: {e}")})),
        )
            .into_response(),
    }
}

async fn clear_faults(AxState(s): AxState<Arc<Shared>>) -> Json<Value> {
    s.lock().faults.set(FaultConfig::default());
    Json(json!({"cleared": true}))
}

async fn expire_tokens(AxState(s): AxState<Arc<Shared>>) -> Json<Value> {
    let mut st = s.lock();
    st.token_epoch += 1;
    Json(json!({"token_epoch": st.token_epoch}))
}

async fn tasks(AxState(s): AxState<Arc<Shared>>) -> Json<Value> {
    let st = s.lock();
    Json(Value::Array(
        st.tasks
            .iter()
            .map(|t| Value::Object(t.doc.clone()))
            .collect(),
    ))
}

fn path_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^/?(v(?P<version>\d+\.?\d+)/)?(?P<name>[a-zA-Z_]\w+\.[a-zA-Z_]\w+)/?$")
            .expect("static regex")
    })
}

/// werkzeug-style query parameter value conversion (clearml-server's `_apply_multi_dict`).
fn convert_query_value(v: &str) -> Value {
    let digits = v.replacen('.', "", 1);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        if v.contains('.') {
            if let Ok(f) = v.parse::<f64>() {
                return json!(f);
            }
        } else if let Ok(i) = v.parse::<i64>() {
            return json!(i);
        }
    }
    match v {
        "true" | "True" | "TRUE" => json!(true),
        "false" | "False" | "FALSE" => json!(false),
        _ => json!(v),
    }
}

fn nested_set(body: &mut Map<String, Value>, path: &[&str], v: Value) {
    match path {
        [] => {}
        [last] => {
            body.insert(last.to_string(), v);
        }
        [head, rest @ ..] => {
            let e = body
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !e.is_object() {
                *e = Value::Object(Map::new());
            }
            if let Value::Object(m) = e {
                nested_set(m, rest, v);
            }
        }
    }
}

/// The call's data: the JSON body (any method) with query parameters applied on top.
fn load_data(uri: &Uri, body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mut data = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(Value::Null) => Map::new(),
            Ok(_) => return Err(ApiError::validation("Data should be a dict")),
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "Failed to decode JSON object: {e}"
                )))
            }
        }
    };
    if let Some(q) = uri.query() {
        let mut grouped: Vec<(String, Vec<String>)> = vec![];
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (percent_decode(k), percent_decode(v));
            match grouped.iter_mut().find(|(gk, _)| *gk == k) {
                Some((_, vs)) => vs.push(v),
                None => grouped.push((k, vec![v])),
            }
        }
        for (k, vs) in grouped {
            let value = if vs.len() > 1 || k.ends_with("[]") {
                Value::Array(vs.iter().map(|v| convert_query_value(v)).collect())
            } else {
                convert_query_value(&vs[0])
            };
            let key = k.trim_end_matches(['[', ']']);
            let path: Vec<&str> = key.split('.').collect();
            nested_set(&mut data, &path, value);
        }
    }
    Ok(data)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Check the Authorization header like clearml-server's `validate_auth` + `get_auth_func`.
fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    else {
        return Err(ApiError::no_credentials());
    };
    let (kind, data) = auth.split_once(' ').unwrap_or((auth, ""));
    match kind {
        "Basic" => {
            let decoded = STANDARD
                .decode(data.trim())
                .map_err(|e| ApiError::bad_credentials(&e.to_string()))?;
            // latin-1, like the server
            let text: String = decoded.iter().map(|&b| b as char).collect();
            let (key, secret) = text.split_once(':').unwrap_or((text.as_str(), ""));
            if key == shared.access_key && secret == shared.secret_key {
                Ok(())
            } else {
                Err(ApiError::invalid_credentials())
            }
        }
        "Bearer" => {
            let claims = jwt::decode(
                data.trim(),
                &shared.token_secret,
                unix_secs(SystemTime::now()),
            )
            .map_err(|e| ApiError::invalid_token("invalid jwt token", Some(e.reason())))?;
            if claims.get("identity").is_none_or(|i| !i.is_object()) {
                return Err(ApiError::invalid_token("token missing identity", None));
            }
            let epoch = claims.get("standin_epoch").and_then(Value::as_u64);
            if epoch != Some(shared.lock().token_epoch) {
                // Tokens invalidated by expire_tokens look expired to the client.
                return Err(ApiError::invalid_token(
                    "invalid jwt token",
                    Some(jwt::JwtError::Expired.reason()),
                ));
            }
            Ok(())
        }
        _ => Err(ApiError::bad_auth_type()),
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::SERVER, header::HeaderValue::from_static("clearml"));
    resp
}

/// A response whose body breaks off: the client sees a dropped connection.
fn dropped_connection(body: &Value) -> Response {
    let text = body.to_string();
    let half = Bytes::from(text.as_bytes()[..text.len() / 2].to_vec());
    let stream = futures_util::stream::iter(vec![
        Ok(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault: drop_connection",
        )),
    ]);
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

async fn clearml(
    AxState(shared): AxState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = new_id();
    let trx = ["x-clearml-trx", "x-trains-trx"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(str::to_string)
        .unwrap_or_else(|| id.clone());
    let path = uri.path().to_string();

    let Some(caps) = path_regex().captures(&path) else {
        let meta = CallMeta {
            id,
            trx,
            endpoint: String::new(),
            requested_version: None,
            actual_version: None,
        };
        let result = Err(ApiError::bad_request(format!(
            "Invalid request path {path}"
        )));
        shared.record(&path, None, &method, &result, None, None);
        return json_response(400, &envelope(&meta, &result));
    };
    let name = caps["name"].to_string();
    let path_version = caps.name("version").map(|m| m.as_str().to_string());
    let requested = path_version
        .clone()
        .unwrap_or_else(|| MAX_API_VERSION.to_string());
    let mut meta = CallMeta {
        id,
        trx,
        endpoint: name.clone(),
        requested_version: Some(requested.clone()),
        actual_version: None,
    };

    let Some(endpoint) = service::lookup(&name, &requested) else {
        let result = Err(ApiError::endpoint_not_found(&name, &requested));
        shared.record(&name, path_version, &method, &result, None, None);
        return json_response(404, &envelope(&meta, &result));
    };
    meta.actual_version = Some(endpoint.min_version.to_string());

    let fault = shared.lock().faults.pick(&name);
    if let Some(Fault { kind, delay_ms }) = fault {
        match kind {
            FaultKind::Delay => tokio::time::sleep(Duration::from_millis(delay_ms)).await,
            FaultKind::ExpireTokens => shared.lock().token_epoch += 1,
            FaultKind::Http500 => {
                let result = Err(ApiError::server_error(
                    "general server error (injected fault: http500)",
                ));
                shared.record(&name, path_version, &method, &result, Some(kind), None);
                return json_response(500, &envelope(&meta, &result));
            }
            FaultKind::DropAfterClone
            | FaultKind::SlowAnswer
            | FaultKind::DropConnection
            | FaultKind::StalledBody
            | FaultKind::EnqueueEntryKept
            | FaultKind::AgentTakesFirst => {}
        }
    }

    let auth = match endpoint.auth {
        AuthMode::Required => authorize(&shared, &headers),
        AuthMode::None => Ok(()),
    };
    let data = auth.and_then(|()| load_data(&uri, &body));
    let task_field = data
        .as_ref()
        .ok()
        .and_then(|d| d.get("task"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut result = data.and_then(|data| {
        let ctx = Ctx::new(&requested, &shared.token_secret);
        let mut state = shared.lock();
        if let (Some(FaultKind::AgentTakesFirst), Some(task)) = (fault.map(|f| f.kind), &task_field)
        {
            super::agent::take(&mut state, task);
        }
        service::dispatch(&name, &mut state, &data, &ctx)
    });

    let mut drop_conn = false;
    match fault.map(|f| f.kind) {
        Some(FaultKind::DropAfterClone) if name == "tasks.clone" && result.is_ok() => {
            shared.mark_last_clone_dropped();
            result = Err(ApiError::server_error(
                "general server error (injected fault: drop_after_clone)",
            ));
        }
        Some(FaultKind::EnqueueEntryKept) if name == "tasks.enqueue" && result.is_ok() => {
            if let Some(task) = &task_field {
                let ctx = Ctx::new(&requested, &shared.token_secret);
                service::tasks::revert_enqueue(&mut shared.lock(), task, &ctx);
            }
            result = Err(ApiError::server_error(
                "general server error (injected fault: enqueue_entry_kept)",
            ));
        }
        Some(FaultKind::DropConnection) => {
            if name == "tasks.clone" && result.is_ok() {
                shared.mark_last_clone_dropped();
            }
            drop_conn = true;
        }
        _ => {}
    }
    shared.record(
        &name,
        path_version,
        &method,
        &result,
        fault.map(|f| f.kind),
        task_field,
    );
    let body = envelope(&meta, &result);
    if let Some(Fault {
        kind: FaultKind::SlowAnswer,
        delay_ms,
    }) = fault
    {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    if drop_conn {
        return dropped_connection(&body);
    }
    let status = result.as_ref().map_or_else(|e| e.code, |_| 200);
    if let Some(Fault {
        kind: FaultKind::StalledBody,
        delay_ms,
    }) = fault
    {
        return stalled_body(status, &body, Duration::from_millis(delay_ms));
    }
    json_response(status, &body)
}

/// An answer whose head and first half arrive at once, and the rest after `stall`.
fn stalled_body(status: u16, body: &Value, stall: Duration) -> Response {
    use futures_util::StreamExt;
    let text = body.to_string().into_bytes();
    let (first, rest) = text.split_at(text.len() / 2);
    let (first, rest) = (Bytes::from(first.to_vec()), Bytes::from(rest.to_vec()));
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(
        futures_util::stream::once(async move {
            tokio::time::sleep(stall).await;
            Ok(rest)
        }),
    );
    let mut resp = json_response(status, &Value::Null);
    *resp.body_mut() = Body::from_stream(stream);
    resp
}

impl Shared {
    fn record(
        &self,
        endpoint: &str,
        requested_version: Option<String>,
        method: &Method,
        result: &Result<Value, ApiError>,
        fault: Option<FaultKind>,
        task: Option<String>,
    ) {
        let (code, subcode) = match result {
            Ok(_) => (200, 0),
            Err(e) => (e.code, e.subcode),
        };
        let mut st = self.lock();
        let at_ms = st.elapsed_ms();
        st.records.push_call(CallRecord {
            seq: 0,
            endpoint: endpoint.to_string(),
            requested_version,
            method: method.to_string(),
            result_code: code,
            result_subcode: subcode,
            fault,
            at_ms,
            task,
        });
    }

    fn mark_last_clone_dropped(&self) {
        if let Some(c) = self.lock().records.clones.last_mut() {
            c.response_dropped = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_convert_like_werkzeug_handler() {
        assert_eq!(convert_query_value("3600"), json!(3600));
        assert_eq!(convert_query_value("1.5"), json!(1.5));
        assert_eq!(convert_query_value("true"), json!(true));
        assert_eq!(convert_query_value("abc"), json!("abc"));
        let uri: Uri = "/auth.login?expiration_sec=60&tags[]=a&x.y=%5Ea%24"
            .parse()
            .unwrap();
        let d = load_data(&uri, b"").unwrap();
        assert_eq!(
            Value::Object(d),
            json!({"expiration_sec": 60, "tags": ["a"], "x": {"y": "^a$"}})
        );
    }

    #[test]
    fn path_regex_accepts_versioned_and_plain() {
        let re = path_regex();
        assert_eq!(
            &re.captures("/v2.23/tasks.clone").unwrap()["version"],
            "2.23"
        );
        assert_eq!(&re.captures("/tasks.clone").unwrap()["name"], "tasks.clone");
        assert!(re.captures("/tasks").is_none());
    }
}
