//! A stand-in for what the scheduler calls out to (uptime monitors, webhooks, Slack): an HTTP
//! server on loopback that records every request that reaches it and answers as told (success,
//! an error status, or a stall), so tests count what arrived instead of trusting our own logs.
//!
//! Given a signing secret, it checks webhook signatures the way a receiver should, written
//! here from the README's description and not with the product's code: HMAC-SHA256 over
//! `"{t}.{body}"`, compared in constant time, `t` within five minutes of its own clock. A
//! request failing the check is answered 401 and recorded with `signature_ok: Some(false)`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Router;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// With a signing secret: whether the signature checked out.
    pub signature_ok: Option<bool>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answer {
    Ok,
    Status(u16),
    /// Waits this long, then answers 200.
    Stall(Duration),
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    answer: Option<Answer>,
    /// Per path, answers to give first, in order, before `answer`.
    next: std::collections::HashMap<String, std::collections::VecDeque<Answer>>,
    /// Per path, the signing secret its requests must be signed with.
    secrets: std::collections::HashMap<String, String>,
}

/// The running receiver; it stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> std::io::Result<Receiver> {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new().fallback(record).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver { addr, inner, task })
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn answer_with(&self, answer: Answer) {
        self.inner.lock().unwrap().answer = Some(answer);
    }

    /// Gives these answers to the next requests at `path`, in order, then the usual one.
    pub fn answer_next(&self, path: &str, answers: &[Answer]) {
        self.inner
            .lock()
            .unwrap()
            .next
            .entry(path.to_string())
            .or_default()
            .extend(answers.iter().copied());
    }

    /// Checks the `X-Scheduler-Signature` of every request at `path` with `secret`.
    pub fn verify_with(&self, path: &str, secret: &str) {
        self.inner
            .lock()
            .unwrap()
            .secrets
            .insert(path.to_string(), secret.to_string());
    }

    /// What arrived at `path`, oldest first.
    pub fn received_at(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.uri == path)
            .collect()
    }

    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let answer = {
        let mut i = inner.lock().unwrap();
        let path = uri.path().to_string();
        let signature_ok = i.secrets.get(&path).map(|secret| {
            let header = headers
                .get("x-scheduler-signature")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            signature_is_valid(secret, header, &body)
        });
        i.received.push(Received {
            method: method.to_string(),
            uri: uri.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect(),
            body: body.to_vec(),
            signature_ok,
        });
        if signature_ok == Some(false) {
            return StatusCode::UNAUTHORIZED;
        }
        let queued = i.next.get_mut(&path).and_then(|q| q.pop_front());
        queued.or(i.answer).unwrap_or(Answer::Ok)
    };
    match answer {
        Answer::Ok => StatusCode::OK,
        Answer::Status(s) => StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Answer::Stall(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
    }
}

/// A receiver's check of `X-Scheduler-Signature: t=<unix seconds>,v1=<hex>`: the HMAC-SHA256
/// of `"{t}.{body}"` under `secret`, in constant time, with `t` within five minutes of now.
pub fn signature_is_valid(secret: &str, header: &str, body: &[u8]) -> bool {
    use hmac::{Hmac, Mac};
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex_bytes(x),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
